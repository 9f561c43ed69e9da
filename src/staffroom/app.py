"""create_app(settings) -> Litestar: controllers, guards, handlers and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
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
from staffroom.attention.controllers import AttentionController
from staffroom.chat.controllers import CONTROLLERS as CHAT_CONTROLLERS
from staffroom.chat.service import access as chat_access
from staffroom.chat.service import credentials as chat_credentials
from staffroom.chat.service import hooks as chat_hooks
from staffroom.chat.service import outbox as chat_outbox
from staffroom.compliance.controllers import ComplianceController
from staffroom.compliance.service import retention
from staffroom.core import realtime
from staffroom.core.db.engine import close_pool, start_pool
from staffroom.core.db.sql import engine_of
from staffroom.core.logs import configure_logging, round_failed
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
from staffroom.feeds.controllers import ChannelsController, FeedController, MediaController
from staffroom.feeds.service import events as feed_events
from staffroom.feeds.service import media as feed_media
from staffroom.feeds.service import media_access as feed_media_access
from staffroom.oauth.controllers import CONTROLLERS as OAUTH_CONTROLLERS
from staffroom.oauth.service import access as oauth_access
from staffroom.onboarding.controllers import CONTROLLERS as ONBOARDING_CONTROLLERS
from staffroom.onboarding.service import codes as onboarding_codes
from staffroom.onboarding.service import invites as onboarding_invites
from staffroom.settings import Settings, load_settings
from staffroom.sso.controllers import CONTROLLERS as SSO_CONTROLLERS
from staffroom.sso.schemas import AttributeMap, GroupRule
from staffroom.sso.service import identities as sso_identities
from staffroom.sso.service import login as sso_login
from staffroom.webapp.routes import app_path, app_root


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the database pool and run the background jobs (mail, scheduled posts)."""
    from staffroom.accounts.tables import Org

    settings: Settings = app.state.settings
    runtime: Runtime = app.state.runtime
    engine = engine_of(Org)
    await start_pool(engine, settings.database_pool_max)
    tasks = []
    if settings.mail_worker:
        tasks.append(asyncio.create_task(runtime.mail.run(settings.mail_poll_seconds)))
    if settings.scheduler:
        tasks.append(asyncio.create_task(_announce_scheduled(runtime)))
        tasks.append(asyncio.create_task(chat_outbox.run(runtime)))
        tasks.append(asyncio.create_task(_apply_retention(runtime)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runtime.close()
        await close_pool(engine)


async def _announce_scheduled(runtime: Runtime) -> None:
    """Announce scheduled posts when their time comes; a failed round is retried later."""
    log = logging.getLogger("staffroom.scheduler")
    while True:
        try:
            await feed_events.announce_due(runtime.relay)
        except Exception as exc:  # noqa: BLE001 (the loop outlives a failed round: logged, retried)
            round_failed(log, "announcing scheduled posts failed", exc)
        await asyncio.sleep(runtime.settings.scheduler_poll_seconds)


async def _apply_retention(runtime: Runtime) -> None:
    """Apply retention (chat, posts, audit) on a schedule; a failed round is retried later."""
    log = logging.getLogger("staffroom.retention")
    while True:
        try:
            report = await retention.run(runtime)
            log.info("retention applied: %s", report)
        except Exception as exc:  # noqa: BLE001 (the loop outlives a failed round: logged, retried)
            round_failed(log, "applying retention failed", exc)
        await asyncio.sleep(runtime.settings.retention_interval_seconds)


def create_app(settings: Settings) -> Litestar:
    """Build the API for these settings."""
    configure_logging(settings.log_level, settings.log_json)
    runtime = Runtime.build(settings)
    members_hooks.on_deactivation(onboarding_invites.revoke_for_user)
    members_hooks.on_deactivation(onboarding_codes.revoke_for_user)
    members_hooks.on_login_methods(sso_login.has_sso)
    members_hooks.on_sso_links(sso_identities.linked)
    members_hooks.on_deactivation(chat_credentials.on_deactivation)
    members_hooks.on_deactivation(api_keys.revoke_for_user)
    members_hooks.on_deactivation(oauth_access.revoke_for_user)
    members_hooks.on_bearer_token((oauth_access.is_access_token, oauth_access.authenticate))
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
            AttentionController,
            *OAUTH_CONTROLLERS,
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
