"""The middleware every request passes: security headers and CSP (`security_headers`), the
general per-IP rate limit (`IpRateLimitMiddleware`, `PendingIpLimitMiddleware`; per-user
limits are applied where the caller is known, at authentication), the body guard
(`BodyGuardMiddleware`) and the CORS allow-list (`cors`)."""

from __future__ import annotations

import re
from typing import Any

from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.exceptions import ValidationException
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from staffroom.core.limits import PER_IP
from staffroom.core.net import client_ip
from staffroom.core.ratelimit import Bucket
from staffroom.settings import Settings

# JSON needs nothing from a browser; no page may frame us.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API docs page (Swagger UI, its files served by us: endpoints/api_docs.py; it starts from an
# inline script) and the SSO auto-submit forms (an inline script posting to the IdP or
# the app: form-action *). No other site.
HTML_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action *"
)
# The web app's pages (staffroom/webapp): same-origin code only, no inline script or style,
# no eval; images and uploads may also go to the media store (S3's presigned URLs).
APP_PAGE = "staffroom.app_page"
_UNLIMITED = ("/health/",)


def app_csp(settings: Settings) -> str:
    """The web app's CSP for these settings."""
    store = ""
    if settings.blob_backend == "s3":
        endpoint = settings.s3_endpoint_url.rstrip("/")
        store = " " + (endpoint or "https://*.amazonaws.com")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{store}; media-src 'self'{store}; "
        f"connect-src 'self'{store}; font-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


# The scope key of a per-IP limit not yet applied.
PENDING_IP = "staffroom.pending_ip"


_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_OURS = {name for name, _ in _ALWAYS} | {b"content-security-policy", b"strict-transport-security"}


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook, so every response has them, errors and unknown routes too:
    HSTS (HTTPS deployments), nosniff, frame denial, referrer policy and a CSP. Ours
    replace any a handler set; a handler's Cache-Control stays."""
    if message["type"] != "http.response.start":
        return
    settings: Settings = scope["app"].state.settings
    # Raw header pairs in one pass: Litestar's MutableScopeHeaders scans the list again
    # for every header set, a tenth of a small request's time.
    headers: list[tuple[bytes, bytes]] = []
    html = cache_control = False
    for name, value in message.get("headers", ()):
        lower = name.lower()
        if lower == b"content-type":
            html = value.startswith(b"text/html")
        elif lower == b"cache-control":
            cache_control = True
        if lower not in _OURS:
            headers.append((name, value))
    headers.extend(_ALWAYS)
    csp = (app_csp(settings) if scope.get(APP_PAGE) else HTML_CSP) if html else API_CSP
    headers.append((b"content-security-policy", csp.encode()))
    if settings.public_url.startswith("https://") and settings.hsts_seconds:
        hsts = f"max-age={settings.hsts_seconds}; includeSubDomains"
        headers.append((b"strict-transport-security", hsts.encode()))
    if not html and not cache_control:
        headers.append((b"cache-control", b"no-store"))
    message["headers"] = headers


class IpRateLimitMiddleware:
    """A token bucket per client IP (behind trusted proxies, the forwarded one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"].startswith(_UNLIMITED):
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state
        settings: Settings = state.settings
        client = scope.get("client")
        peer = client[0] if client else ""
        forwarded = dict(scope["headers"]).get(b"x-forwarded-for", b"").decode("latin-1")
        ip = client_ip(peer, forwarded or None, settings.trusted_proxies)
        # Taken further in, with the caller's own bucket where there is a caller (one round
        # trip to the limiter's store instead of two): see take_pending_ip.
        scope[PENDING_IP] = ip  # type: ignore[literal-required]
        await self.app(scope, receive, send)


def take_pending_ip(scope: Scope, settings: Settings) -> list[tuple[str, Bucket]]:
    """The per-IP bucket this request still owes, once (an empty list if none)."""
    ip = scope.pop(PENDING_IP, None)  # type: ignore[misc]
    return [PER_IP.at(settings, ip)] if ip is not None else []


class PendingIpLimitMiddleware:
    """Innermost: a route without authentication (sign-in, public pages) takes its per-IP
    token here; an authenticated one already took it with the caller's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: Any = scope["app"].state
        await state.runtime.limiter.take(*take_pending_ip(scope, state.settings))
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


# A JSON \u0000 escape (an odd number of backslashes before u0000) or a raw NUL.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")
_TEXT_BODIES = (b"application/json", b"application/x-www-form-urlencoded")
# Request bodies are flat: a few levels. Deeper ones are refused before decoding.
MAX_DEPTH = 32
# JSON and form bodies larger than this are not scanned (the app refuses them, 413).
MAX_SCANNED = 1024 * 1024


def replay_after(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """A receive that hands out what was read already, then reads on."""

    async def replay() -> ReceiveMessage:
        return messages.pop(0) if messages else await receive()

    return replay


def _too_deep(body: bytes) -> bool:
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            return True
    return False


class BodyGuardMiddleware:
    """Refuse with a 400 what would otherwise fail deep inside: NUL characters in paths,
    queries and JSON or form bodies (PostgreSQL cannot store them in text), bodies that
    are not UTF-8, and JSON nested deeper than any request needs. Binary uploads are not
    touched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            raise _nul_refused()
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        if not content_type.startswith(_TEXT_BODIES):
            await self.app(scope, receive, send)
            return
        messages: list[ReceiveMessage] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False) or len(body) > MAX_SCANNED:
                break  # beyond the JSON limit Litestar answers 413 anyway: no need to scan
        if len(body) > MAX_SCANNED:
            await self.app(scope, replay_after(messages, receive), send)
            return
        refused = _body_refused(body, content_type)
        if refused is not None:
            raise refused
        await self.app(scope, replay_after(messages, receive), send)


def _body_refused(body: bytes, content_type: bytes) -> ValidationException | None:
    """Why a JSON or form body is refused (NUL, not UTF-8, nested too deeply), if it is."""
    if _JSON_NUL.search(body) or (b"%00" in body and b"urlencoded" in content_type):
        return _nul_refused()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return ValidationException(detail="The body is not UTF-8.")
    if b"json" in content_type and _too_deep(body):
        return ValidationException(detail="The JSON is nested too deeply.")
    return None


def _nul_refused() -> ValidationException:
    return ValidationException(detail="NUL characters are not allowed in text.")
