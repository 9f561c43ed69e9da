"""JSON logs in UTC with the request id; never credentials (SECURITY.md rule 13)."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from staffroom.core.db.engine import outage_errors

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: object, **kwargs: object) -> logging.LogRecord:
    # Stamped when the record is made: formatting may happen later, outside the request.
    record = _base_factory(*args, **kwargs)
    if rid := request_id_var.get():
        record.request_id = rid
    return record


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    """Route every logger through one stderr handler."""
    logging.setLogRecordFactory(_record_with_request_id)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs come from our middleware, without query strings.
    # httpx logs whole URLs, which may carry secrets in query strings.
    for noisy in ("uvicorn.access", "granian.access", "aiosqlite", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def round_failed(log: logging.Logger, what: str, exc: BaseException) -> None:
    """A background loop's round failed and will be retried. An outage (the database or
    another server unreachable) is one warning line per round, expected while it lasts;
    anything else is an error with its traceback, so real faults are not buried."""
    if isinstance(exc, outage_errors()):
        log.warning("%s: unreachable (%s), retrying", what, type(exc).__name__)
    else:
        log.error("%s", what, exc_info=exc)
