"""Edge hardening for every response: security headers, a general per-IP rate limit and
the CORS allow-list (per-user limits are applied where the caller is known, at
authentication)."""

from __future__ import annotations

from typing import Any

from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from staffroom.core.net import client_ip
from staffroom.core.ratelimit import Bucket
from staffroom.settings import Settings

# JSON needs nothing from a browser; no page may frame us.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API docs page (Swagger UI from jsDelivr) and the SSO auto-submit forms.
HTML_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://cdn.jsdelivr.net; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action *"
)
_UNLIMITED = ("/health/",)


def ip_bucket(settings: Settings) -> Bucket:
    """The general per-IP limit."""
    return Bucket(settings.rate_ip_per_second, settings.rate_ip_burst)


def user_bucket(settings: Settings) -> Bucket:
    """The general per-user (and per-API-key) limit."""
    return Bucket(settings.rate_user_per_second, settings.rate_user_burst)


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook, so every response has them, errors and unknown routes too:
    HSTS (HTTPS deployments), nosniff, frame denial, referrer policy and a CSP."""
    if message["type"] != "http.response.start":
        return
    settings: Settings = scope["app"].state.settings
    headers = MutableScopeHeaders.from_message(message)
    html = headers.get("content-type", "").startswith("text/html")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Content-Security-Policy"] = HTML_CSP if html else API_CSP
    if settings.public_url.startswith("https://") and settings.hsts_seconds:
        headers["Strict-Transport-Security"] = f"max-age={settings.hsts_seconds}; includeSubDomains"
    if not html and "cache-control" not in headers:
        headers["Cache-Control"] = "no-store"


class IpRateLimitMiddleware:
    """A token bucket per client IP (behind trusted proxies, the forwarded one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_UNLIMITED):
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state
        settings: Settings = state.settings
        client = scope.get("client")
        peer = client[0] if client else ""
        forwarded = dict(scope["headers"]).get(b"x-forwarded-for", b"").decode("latin-1")
        ip = client_ip(peer, forwarded or None, settings.trusted_proxies)
        await state.runtime.limiter.take(f"ip:{ip}", ip_bucket(settings))
        await self.app(scope, receive, send)


def cors(settings: Settings) -> CORSConfig | None:
    """CORS for the web apps named in settings only; none when the list is empty."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"],
        allow_credentials=False,
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
