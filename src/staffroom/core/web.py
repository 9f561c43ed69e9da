"""HTTP glue shared by every controller: problem+json, request ids, request context."""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal, cast

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIFormat, OpenAPIType, Schema
from litestar.params import Parameter
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, ExceptionHandlersMap, Message, Receive, Scope, Send

from staffroom.core import audit
from staffroom.core.context import RequestContext
from staffroom.core.db.engine import outage_errors
from staffroom.core.errors import DomainError, Problem, Unavailable, problem_type, reason
from staffroom.core.logs import request_id_var
from staffroom.core.net import client_ip
from staffroom.core.runtime import Runtime

log = logging.getLogger("staffroom.http")
access_log = logging.getLogger("staffroom.access")

PROBLEM_JSON = "application/problem+json"
_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Path segments that carry secret tokens are masked before a path is logged.
_SECRET_PATH = re.compile(r"(/public/invites/)[^/]+")

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def problem_response(
    status: int,
    title: str,
    detail: str,
    code: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[Problem]:
    """Render one problem+json response."""
    body = Problem(
        type=problem_type(code), title=title, status=status, detail=detail, code=code, **extra
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    """DomainError -> problem+json with its code."""
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        exc.code,
        headers=exc.headers,
        retry_after=exc.extra.get("retry_after"),
        reason=exc.extra.get("reason"),
        found=exc.extra.get("found"),
    )


def validation_error_handler(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    """Malformed JSON, wrong types, missing fields -> 400 with the field errors."""
    errors = exc.extra if isinstance(exc.extra, list) else None
    return problem_response(
        400, reason(400), "The request is not valid.", "invalid_request", errors=errors
    )


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    """Framework errors (404 route, 405, 413 …) in the same shape."""
    status = exc.status_code
    if status >= 500:
        log.error("server error", exc_info=exc)
    code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
    detail = exc.detail if status < 500 else "Something went wrong on our side."
    return problem_response(status, reason(status), str(detail), code, headers=exc.headers)


def internal_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Anything unexpected: logged with its request id, never leaked to the client."""
    log.exception("unhandled error", exc_info=exc)
    return problem_response(500, reason(500), "Something went wrong on our side.", "internal_error")


def outage_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """The database or another server is unreachable: a 503 the client can retry, not a 500."""
    log.warning("dependency unavailable: %s: %s", type(exc).__name__, exc)
    return domain_error_handler(
        _, Unavailable("service_unavailable", "A server we depend on is unavailable; retry.")
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    **dict.fromkeys(outage_errors(), outage_handler),
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


class Accepted(msgspec.Struct, kw_only=True):
    """The body of a 202: the request was taken; what follows happens out of band."""

    status: Literal["accepted"] = "accepted"


ACCEPTED = Accepted()


def strict_request_bodies(app: Any, strict: tuple[type, ...]) -> None:
    """Say in the OpenAPI document what the request structs enforce: no unknown fields
    (msgspec's forbid_unknown_fields is not carried into the schema by Litestar)."""
    names = set()
    pending = list(strict)
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    for name, schema in (app.openapi_schema.components.schemas or {}).items():
        if name in names or getattr(schema, "title", None) in names:
            schema.additional_properties = False


def complete_options(app: Any) -> None:
    """Make every automatic OPTIONS answer name all the methods of its path.

    Litestar 2 (issue 4169, fixed in 3) registers a controller's handlers one by one and
    makes the OPTIONS handler with the path's first one: its `Allow` closes over that
    first, partial route. Point each at the route that finally serves the path."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.handler_name != "options_handler" or handler.include_in_schema:
                continue
            for cell in handler.fn.__closure__ or ():
                stale = cell.cell_contents
                if isinstance(stale, HTTPRoute) and stale is not route:
                    cell.cell_contents = route


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries for the problem statuses a route can answer."""
    described = {
        400: "The request is malformed.",
        401: "Missing, invalid or expired credentials.",
        403: "The caller lacks the permission.",
        404: "No such object in the caller's organisation.",
        409: "The request conflicts with the current state.",
        410: "The link or token has been used or has expired.",
        413: "The request body is too large.",
        422: "The request is well-formed but not acceptable.",
        429: "Too many attempts; see Retry-After.",
        503: "A server we depend on is unavailable; retry after Retry-After.",
    }
    # Any route can meet an outage of the database: every route says so. Each status gets
    # its own example: generated ones would show a random status (e.g. 5595).
    codes = _HTTP_CODES | {409: "conflict", 410: "gone", 422: "invalid", 503: "service_unavailable"}

    def example(s: int) -> Example:
        body = Problem(problem_type(codes[s]), HTTPStatus(s).phrase, s, described[s], codes[s])
        return Example(summary=HTTPStatus(s).phrase, value=msgspec.to_builtins(body))

    return {
        s: ResponseSpec(
            data_container=Problem,
            description=described[s],
            media_type=PROBLEM_JSON,
            generate_examples=False,
            examples=[example(s)],
        )
        for s in sorted({400, 503, *statuses})
    }


# A query parameter naming a moment: an ISO-8601 date-time only. Litestar reads a
# `datetime` query parameter leniently (`?since=0.5` was the epoch plus half a second);
# this one is a string of that shape, checked by Litestar and read by `instant`.
ISO_8601 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?$"
Instant = Annotated[
    str | None, Parameter(pattern=ISO_8601, max_length=40, schema_extra={"format": "date-time"})
]


def instant(value: str | None, name: str) -> datetime | None:
    """An `Instant` query parameter as a datetime; an impossible date is a 400."""
    if value is None:
        return None
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        raise ValidationException(
            detail=f"{name} must be an ISO-8601 date-time.",
            extra=[{"key": name, "message": "not a valid date-time", "source": "query"}],
        ) from None


def provide_context(request: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    """Dependency `ctx`: network facts of the current request (trusted-proxy aware)."""
    trusted: tuple[str, ...] = request.app.state.settings.trusted_proxies
    peer = request.client.host if request.client else ""
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), trusted)
    return RequestContext(
        ip=ip,
        user_agent=request.headers.get("user-agent", "")[:300],
        request_id=request_id_var.get(),
    )


# Scope keys of a request's id and start: the response hook below reads them.
_REQUEST_ID = "staffroom.request_id"
_STARTED = "staffroom.started"


def _request_id(scope: Scope) -> str:
    """The request's id: the client's X-Request-ID if well-formed, else a new one."""
    rid = cast("str | None", scope.get(_REQUEST_ID))
    if rid is None:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _RID.match(incoming) else uuid.uuid4().hex
        scope[_REQUEST_ID] = rid  # type: ignore[literal-required]
    return rid


class RequestIdMiddleware:
    """Gives every request an id, for its log lines and its response (see `request_done`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Whatever this request (or socket) records is signed with its own app's key.
        audit.use_key(scope["app"].state.runtime.keys.hmac_key)
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        scope[_STARTED] = time.perf_counter()  # type: ignore[literal-required]
        token = request_id_var.set(_request_id(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            request_id_var.reset(token)


async def request_done(message: Message, scope: Scope) -> None:
    """A `before_send` hook: echo the request's id as X-Request-ID and write the access log
    line. A hook, not the middleware, so that it also sees what is answered outside our
    middleware: errors raised in middleware (401, 403, 429) and unknown routes."""
    if message["type"] != "http.response.start":
        return
    rid = _request_id(scope)
    message["headers"] = [
        *(h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"),
        (b"x-request-id", rid.encode("latin-1")),
    ]
    if access_log.isEnabledFor(logging.INFO):
        started = cast("float | None", scope.get(_STARTED))
        token = request_id_var.set(rid)
        try:
            # Path only: query strings may carry things that must not be logged.
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": _SECRET_PATH.sub(r"\1***", scope.get("path", "")),
                    "status": message["status"],
                    "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                },
            )
        finally:
            request_id_var.reset(token)


def provide_runtime(request: Request[Any, Any, Any]) -> Runtime:
    """Dependency `rt`: the app's runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


class DateTimeIn(datetime):
    """A date-time in a request body: an ISO-8601 string and nothing else. Litestar converts
    bodies leniently (msgspec strict=False), which reads a number as a Unix time; msgspec
    hands a subclass of datetime to `_decode_date_time` instead. Request structs turn it back
    into a plain datetime (`plain_date_times`): database drivers adapt datetime itself."""


def _decode_date_time(kind: type[DateTimeIn], value: object) -> DateTimeIn:
    if not isinstance(value, str):
        raise TypeError("Expected an ISO-8601 date-time string")
    return kind.fromisoformat(value)


DATE_TIME_DECODERS = [(lambda kind: kind is DateTimeIn, _decode_date_time)]


def plain_date_times(body: Any) -> None:
    """Replace a request struct's DateTimeIn values by plain datetimes."""
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if type(value) is DateTimeIn:
            setattr(body, name, datetime.fromisoformat(value.isoformat()))


class DateTimeInSchema(OpenAPISchemaPlugin):
    """DateTimeIn is documented as what it accepts: a date-time string."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is DateTimeIn

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME)
