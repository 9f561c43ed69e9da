"""The one error system: services raise DomainError, the app renders RFC 9457 problem+json."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar

import msgspec

# RFC 9110's names where Python 3.11's HTTPStatus still has the older ones.
_RFC_9110 = {413: "Content Too Large", 422: "Unprocessable Content"}


def reason(status: int) -> str:
    """A problem's title: the status's HTTP reason phrase ("Not Found"), never a class name."""
    try:
        return _RFC_9110.get(status) or HTTPStatus(status).phrase
    except ValueError:
        return "Client Error" if status < 500 else "Server Error"


class DomainError(Exception):
    """A failure a client can cause or must be told about, with a stable machine code."""

    status: ClassVar[int] = 400

    @property
    def title(self) -> str:
        """The status's reason phrase."""
        return reason(self.status)

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


class Invalid(DomainError):
    status = 422


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    status = 410


class RateLimited(DomainError):
    status = 429

    def __init__(
        self, retry_after: int, detail: str = "Too many attempts; try again later."
    ) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(
            "rate_limited",
            detail,
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )


class Unavailable(DomainError):
    """A dependency is down: the client should retry after a few seconds."""

    status = 503

    def __init__(self, code: str, detail: str, *, retry_after: int = 5) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(
            code,
            detail,
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details as sent to clients."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
    retry_after: int | None = None
    # Why a check failed, as a stable word a client can put in its own language, and what
    # was found instead (a domain's TXT values), so the client need not parse `detail`.
    reason: str | None = None
    found: list[str] | None = None


def problem_type(code: str) -> str:
    """A stable URI naming the kind of problem."""
    return f"https://staffroom.dev/problems/{code.replace('_', '-')}"
