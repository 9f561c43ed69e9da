"""The web app's sessions: its refresh token travels in an HttpOnly cookie instead of the
JSON body, so no script on the page can read it (SECURITY.md rule 15). Mobile apps and
integrations keep bearer refresh tokens in the body; a request opts in to the cookie with
the header `X-Staffroom-Client: web`."""

from __future__ import annotations

from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response
from litestar.datastructures import Cookie

from staffroom.accounts.schemas import MfaChallenge, TokenPair
from staffroom.core.errors import Forbidden, Unauthorized
from staffroom.settings import Settings

COOKIE = "staffroom_refresh"
REFRESH_PATH = "/api/v1/auth/refresh"
CLIENT_HEADER = "x-staffroom-client"
T = TypeVar("T", bound=TokenPair)


def wants_cookie(request: Request[Any, Any, Any]) -> bool:
    """Whether the caller is the web app (it asked for the cookie)."""
    return request.headers.get(CLIENT_HEADER, "") == "web"


def _cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        path=REFRESH_PATH,
        max_age=max_age,
        httponly=True,
        secure=True,
        samesite="strict",
    )


@overload
def respond(request: Request[Any, Any, Any], result: T) -> Response[T]: ...


@overload
def respond(
    request: Request[Any, Any, Any], result: T | MfaChallenge
) -> Response[T | MfaChallenge]: ...


def respond(request: Request[Any, Any, Any], result: TokenPair | MfaChallenge) -> Response[Any]:
    """The tokens as the caller wants them: for the web app the refresh token moves into
    the cookie and the body carries `refresh_token: null`."""
    if not isinstance(result, TokenPair) or not wants_cookie(request):
        return Response(result)
    settings: Settings = request.app.state.settings
    cookie = _cookie(result.refresh_token or "", settings.session_absolute_ttl)
    return Response(msgspec.structs.replace(result, refresh_token=None), cookies=[cookie])


def cleared() -> Cookie:
    """A Set-Cookie that removes the web app's refresh cookie (sign-out)."""
    return _cookie("", 0)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def refresh_token_from_cookie(request: Request[Any, Any, Any]) -> str:
    """The cookie's refresh token, from a request of the app's own origin only: a cookie
    is sent by the browser whoever asks, so the Origin proves the page is ours."""
    settings: Settings = request.app.state.settings
    allowed = {
        _origin(settings.effective_app_url),
        _origin(settings.public_url),
        *(o.rstrip("/").lower() for o in settings.cors_origins),
    }
    if request.headers.get("origin", "").rstrip("/").lower() not in allowed:
        raise Forbidden("origin_refused", "Cookie sign-in is only for the web app's own pages.")
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise Unauthorized("invalid_refresh_token", "The refresh token is not valid.")
    return token
