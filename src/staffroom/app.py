"""create_app(settings) -> Litestar: controllers, guards, handlers and lifespan."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from staffroom import __version__
from staffroom.accounts.controllers import ROUTER as ACCOUNTS
from staffroom.accounts.guards import PUBLIC, BearerAuthMiddleware, provide_principal
from staffroom.accounts.schemas import Input
from staffroom.attention.controllers import ROUTER as ATTENTION
from staffroom.chat import scheduled as chat_scheduled
from staffroom.chat.controllers import ROUTER as CHAT
from staffroom.compliance import scheduled as compliance_scheduled
from staffroom.compliance.controllers import ROUTER as COMPLIANCE
from staffroom.core import audit
from staffroom.core.jobs.runner import running
from staffroom.core.logs import configure_logging
from staffroom.core.mail import scheduled as mail_scheduled
from staffroom.core.middleware import (
    BodyGuardMiddleware,
    IpRateLimitMiddleware,
    PendingIpLimitMiddleware,
    cors,
    security_headers,
)
from staffroom.core.runtime import Runtime
from staffroom.core.web import (
    DATE_TIME_DECODERS,
    EXCEPTION_HANDLERS,
    DateTimeInSchema,
    RequestIdMiddleware,
    complete_options,
    provide_context,
    provide_runtime,
    request_done,
    strict_request_bodies,
)
from staffroom.endpoints.api_docs import DocsAssetsController, swagger_plugin
from staffroom.endpoints.health import HealthController
from staffroom.endpoints.metrics import MetricsController, forget_dead_workers, prometheus
from staffroom.endpoints.websocket import asyncapi_document, realtime_socket
from staffroom.feeds import scheduled as feeds_scheduled
from staffroom.feeds.controllers import ROUTER as FEEDS
from staffroom.oauth import scheduled as oauth_scheduled
from staffroom.oauth.controllers import ROUTER as OAUTH
from staffroom.oauth.controllers import WELL_KNOWN as OAUTH_WELL_KNOWN
from staffroom.onboarding.controllers import ROUTER as ONBOARDING
from staffroom.settings import Settings, load_settings
from staffroom.sso.controllers import BROWSER_CONTROLLERS as SSO_BROWSER
from staffroom.sso.controllers import ROUTER as SSO
from staffroom.sso.schemas import AttributeMap, GroupRule
from staffroom.webapp.routes import app_path, app_root
from staffroom.wiring import build_runtime

# The background work of every domain (each in its scheduled.py), run by one runner.
BACKGROUND = (
    *mail_scheduled.JOBS,
    *chat_scheduled.JOBS,
    *feeds_scheduled.JOBS,
    *compliance_scheduled.JOBS,
    *oauth_scheduled.JOBS,
)


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the database pool and run the background work (queues, periodic jobs)."""
    runtime: Runtime = app.state.runtime
    await runtime.start()
    # The background work records audit events with this app's key.
    audit.use_key(runtime.keys.hmac_key)
    try:
        async with running(runtime, BACKGROUND):
            yield
    finally:
        await runtime.close()


def create_app(settings: Settings) -> Litestar:
    """Build the API for these settings."""
    configure_logging(settings.log_level, settings.log_json)
    runtime = build_runtime(settings)  # with the hooks between the domains

    metrics = prometheus(settings)
    app = Litestar(
        route_handlers=[
            HealthController,
            # Each domain's API under /api/v1, one router each.
            ACCOUNTS,
            ONBOARDING,
            SSO,
            FEEDS,
            CHAT,
            COMPLIANCE,
            ATTENTION,
            OAUTH,
            # What browsers and other servers reach outside the API.
            *SSO_BROWSER,
            *OAUTH_WELL_KNOWN,
            MetricsController,
            DocsAssetsController,
            realtime_socket,
            asyncapi_document,
            app_root,
            app_path,
        ],
        middleware=[
            RequestIdMiddleware,
            *([metrics.middleware] if metrics else []),
            IpRateLimitMiddleware,
            BodyGuardMiddleware,
            DefineMiddleware(
                BearerAuthMiddleware,
                exclude_from_auth_key=PUBLIC,
                exclude=["^/schema", "^/metrics"],
            ),
            PendingIpLimitMiddleware,
        ],
        dependencies={
            "rt": Provide(provide_runtime, sync_to_thread=False),
            "ctx": Provide(provide_context, sync_to_thread=False),
            "me": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        type_decoders=DATE_TIME_DECODERS,
        plugins=[DateTimeInSchema()],
        request_max_body_size=settings.max_body_bytes,
        cors_config=cors(settings),
        before_send=[security_headers, request_done],
        lifespan=[lifespan],
        state=State({"settings": settings, "runtime": runtime}),
        # Our JSON logging (core/logs.py) is the only logging configuration.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Staffroom API",
            version=__version__,
            description="Employee communications: feeds, chat, onboarding, SSO and 2FA. "
            "Errors are RFC 9457 problem+json with a stable `code`. Request bodies reject "
            "unknown fields; text never contains NUL characters (400).",
            path="/schema",
            render_plugins=[swagger_plugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="Opaque access token"
                    )
                }
            ),
        ),
        debug=False,
    )
    strict_request_bodies(app, (Input, GroupRule, AttributeMap))
    complete_options(app)
    return app


def create_app_from_env() -> Litestar:
    """Factory for the ASGI server (each worker calls it): settings from the environment."""
    app = create_app(load_settings())
    forget_dead_workers()  # a respawned worker replaces one that died
    # What exists now (modules, routes, schemas: ~190,000 objects) lives as long as the
    # worker. Frozen, the garbage collector stops walking it on every full collection,
    # which was the long tail of a worker's latencies (A/B on the benchmark's organisation,
    # 32 connections: p99 of /me 150-220 -> 70-125 ms, of the feed 260-320 -> 200-245 ms).
    gc.collect()
    gc.freeze()
    return app
