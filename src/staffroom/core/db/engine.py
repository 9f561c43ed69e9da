"""The database engine: which one a URL names, whether that database is there yet, its
connection pool, and what its errors mean (an outage, a unique constraint) on either
engine."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine


def engine_for(url: str) -> Engine[Any]:
    """Build the Piccolo engine for a database URL (sqlite:///path or postgresql://…)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path))
    if url.startswith(("postgresql://", "postgres://")):
        return SharedPoolEngine(config={"dsn": url})
    raise SystemExit(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


MIGRATE = "run `staffroom migrate`"


def _sqlite_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"no database at {path.resolve()}, {MIGRATE}"
    try:
        # Read-only: opening must not create or change the file.
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration'"
            ).fetchone()
    except sqlite3.Error as exc:
        return f"the database at {path.resolve()} cannot be read ({exc})"
    if found is None:
        return f"no database set up at {path.resolve()}, {MIGRATE}"
    return None


async def _postgres_problem(url: str) -> str | None:
    import asyncpg

    parts = urlsplit(url)
    # Never the password: the line may end up in a log.
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"cannot reach the database at {where} ({type(exc).__name__}: {exc})"
    try:
        found = await conn.fetchval("SELECT to_regclass('migration')")
    finally:
        await conn.close()
    if found is None:
        return f"no database set up at {where}, {MIGRATE}"
    return None


def database_problem(url: str) -> str | None:
    """Why the database at `url` cannot be used yet (missing, never migrated,
    unreachable), or None. Checked before Piccolo's engine is built: opening SQLite
    through it would create an empty file."""
    if url.startswith("sqlite:///"):
        return _sqlite_problem(Path(url.removeprefix("sqlite:///")))
    return asyncio.run(_postgres_problem(url))


def is_unique_violation(exc: BaseException) -> bool:
    """True when the error is a unique-constraint violation on either engine."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg ships with the postgres extra
        return False
    return isinstance(exc, asyncpg.UniqueViolationError)


class UniqueGuard:
    """The block of `unique_or`: `violation` is the unique violation it caught, if any."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.violation: BaseException | None = None

    def __enter__(self) -> UniqueGuard:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None or not is_unique_violation(exc):
            return False
        self.violation = exc
        if self.error is not None:
            raise self.error from exc
        return True


def unique_or(error: BaseException | None) -> UniqueGuard:
    """A unique-constraint violation inside the block becomes `error` (raised from it):
    `with unique_or(Conflict("group_exists", …)): await Group.insert(…)`. With None it is
    swallowed (a repeat changes nothing) and kept in the guard's `violation` for a caller
    that answers it otherwise. Any other error passes through."""
    return UniqueGuard(error)


def outage_errors() -> tuple[type[Exception], ...]:
    """Errors meaning the database (or another server) cannot be reached right now: a lost
    or refused connection, a server shutting down or starting up, a pool that timed out.
    The API answers them with a 503 and Retry-After; the client's write did not happen."""
    import asyncpg

    return (
        ConnectionError,
        TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.OperatorInterventionError,
    )


class SharedPoolEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine, counting the apps that use its pool. Piccolo binds
    every table to one engine (and so one pool) at import: apps in one process (the tests
    make several) share it, and the last one to leave closes it. Each app's runtime joins
    and leaves once (`Runtime.start`, `Runtime.close`)."""

    __slots__ = ("pool_users",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_users = 0


class BrokenConnection(ConnectionError):
    """A pooled connection whose protocol state broke (an outage is a ConnectionError)."""


def _guarded_connection_class() -> type:
    """asyncpg's connection, closed for good when its protocol state breaks. A session the
    server terminates mid-operation (PostgreSQL stopping, a killed backend) can leave
    asyncpg's protocol believing an operation is still in progress; with our no-op reset
    on release, nothing else would notice, and the pool would hand that connection out
    again and again ("cannot switch to state …; another operation is in progress", seen as
    500s in the fault run). Closed, the pool replaces it; the request gets a 503."""
    import asyncpg

    # asyncpg ships no types: to mypy its Connection is Any.
    class GuardedConnection(asyncpg.Connection):  # type: ignore[misc]
        async def _guarded(self, operation: Awaitable[Any]) -> Any:
            try:
                return await operation
            except asyncpg.exceptions.InternalClientError as exc:
                self.terminate()
                raise BrokenConnection(str(exc)) from exc

        async def fetch(self, *args: Any, **kwargs: Any) -> Any:
            return await self._guarded(super().fetch(*args, **kwargs))

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            return await self._guarded(super().execute(*args, **kwargs))

    return GuardedConnection


async def _keep_session(_: Any) -> None:
    """Piccolo takes a pooled connection per query; asyncpg's default reset on release
    (unlock advisory locks, CLOSE ALL, UNLISTEN, RESET ALL) is one more round trip each
    time for session state this code never sets. asyncpg still rolls back an open
    transaction before calling this."""


async def start_pool(engine: Engine[Any], max_size: int) -> None:
    """Open the PostgreSQL pool, or join the one already open (SQLite has none)."""
    if not isinstance(engine, PostgresEngine):
        return
    if not isinstance(engine, SharedPoolEngine):
        raise TypeError("the engine must come from engine_for")
    if engine.pool_users == 0:
        await engine.start_connection_pool(
            max_size=max_size, reset=_keep_session, connection_class=_guarded_connection_class()
        )
    engine.pool_users += 1


async def close_pool(engine: Engine[Any]) -> None:
    """Leave the PostgreSQL pool; the last user closes it."""
    if not isinstance(engine, PostgresEngine):
        return
    if not isinstance(engine, SharedPoolEngine):
        raise TypeError("the engine must come from engine_for")
    engine.pool_users = max(engine.pool_users - 1, 0)
    if engine.pool_users == 0 and engine.pool is not None:
        await engine.close_connection_pool()
