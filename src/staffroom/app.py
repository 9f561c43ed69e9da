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
from staffroom.accounts.controllers import CONTROLLERS
from staffroom.accounts.guards import PUBLIC, BearerAuthMiddleware, provide_principal
from staffroom.accounts.schemas import Input
from staffroom.accounts.service import api_keys
from staffroom.accounts.service import hooks as members_hooks
from staffroom.api_docs import DocsAssetsController, swagger_plugin
from staffroom.chat import scheduled as chat_scheduled
from staffroom.chat.controllers import CONTROLLERS as CHAT_CONTROLLERS
from staffroom.chat.service import access as chat_access
from staffroom.chat.service import credentials as chat_credentials
from staffroom.chat.service import hooks as chat_hooks
from staffroom.compliance import scheduled as compliance_scheduled
from staffroom.compliance.controllers import ComplianceController
from staffroom.core import realtime
from staffroom.core.db import close_pool, start_pool
from staffroom.core.edge import (
    BodyGuardMiddleware,
    IpRateLimitMiddleware,
    PendingIpLimitMiddleware,
    cors,
    security_headers,
)
from staffroom.core.jobs.runner import running
from staffroom.core.logs import configure_logging
from staffroom.core.mail import scheduled as mail_scheduled
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
from staffroom.feeds import scheduled as feeds_scheduled
from staffroom.feeds.controllers import ChannelsController, FeedController, MediaController
from staffroom.feeds.service import events as feed_events
from staffroom.feeds.service import media as feed_media
from staffroom.feeds.service import media_access as feed_media_access
from staffroom.health import HealthController
from staffroom.metrics import MetricsController, forget_dead_workers, prometheus
from staffroom.onboarding.controllers import CONTROLLERS as ONBOARDING_CONTROLLERS
from staffroom.onboarding.service import codes as onboarding_codes
from staffroom.onboarding.service import invites as onboarding_invites
from staffroom.realtime_ws import asyncapi_document, realtime_socket
from staffroom.settings import Settings, load_settings
from staffroom.sso.controllers import CONTROLLERS as SSO_CONTROLLERS
from staffroom.sso.schemas import AttributeMap, GroupRule
from staffroom.sso.service import login as sso_login
from staffroom.webapp.routes import app_path, app_root

# The background work of every domain (each in its scheduled.py), run by one runner.
BACKGROUND = (
    *mail_scheduled.JOBS,
    *chat_scheduled.JOBS,
    *feeds_scheduled.JOBS,
    *compliance_scheduled.JOBS,
)


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the database pool and run the background work (queues, periodic jobs)."""
    from staffroom.accounts.tables import Org

    settings: Settings = app.state.settings
    runtime: Runtime = app.state.runtime
    engine = Org._meta.db
    await start_pool(engine, settings.database_pool_max)
    try:
        async with running(runtime, BACKGROUND):
            yield
    finally:
        await runtime.close()
        await close_pool(engine)


def create_app(settings: Settings) -> Litestar:
    """Build the API for these settings."""
    configure_logging(settings.log_level, settings.log_json)
    runtime = Runtime.build(settings)
    members_hooks.on_deactivation(onboarding_invites.revoke_for_user)
    members_hooks.on_deactivation(onboarding_codes.revoke_for_user)
    members_hooks.on_login_methods(sso_login.has_sso)
    members_hooks.on_deactivation(chat_credentials.on_deactivation)
    members_hooks.on_deactivation(api_keys.revoke_for_user)
    realtime.on_topics(feed_events.topics_for)
    realtime.on_topics(chat_access.topics_for)
    chat_hooks.on_attachment_check(feed_media.check_attachments)
    # The reverse question: media asks chat whether the caller may read a message's file.
    feed_media_access.on_media_use(chat_access.media_use)

    metrics = prometheus(settings)
    app = Litestar(
        route_handlers=[
            HealthController,
            *CONTROLLERS,
            *ONBOARDING_CONTROLLERS,
            *SSO_CONTROLLERS,
            ChannelsController,
            FeedController,
            MediaController,
            *CHAT_CONTROLLERS,
            ComplianceController,
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
