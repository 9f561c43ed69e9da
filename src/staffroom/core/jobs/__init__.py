"""The job engine: work stored in the database, done by whichever worker claims it.

A job is a row of a queue's own table, written in the transaction of the change that
made it (a chat event with its message, a mail with its invitation), so nothing queued
is lost with a crashed process. Every job table has `id`, `attempts`, `next_attempt_at`,
`last_error` and `created_at`; how a row reads as open, done or given up is the queue's
(`JobTable`). The engine does the rest the same way for every queue:

- **claim with a lease**: one conditional UPDATE takes a due job, counts the try and
  pushes its `next_attempt_at` a lease ahead, so no other worker takes it meanwhile and
  a worker that dies lets it come back when the lease ends;
- **backoff**: a failed try waits `Backoff.after(tries)` (one curve: `first` seconds,
  doubling, at most `cap`), configured per queue;
- **give up**: an error the queue calls final gives up at once; an outage (the database
  or a relay unreachable) is retried for as long as it lasts; anything else gives up
  after `max_tries` tries or once the job is `max_age` old. A job given up is kept (with
  its last error) until the queue purges it, and `requeue` opens it again;
- **status**: open and given-up counts (`counts`), the Prometheus metrics of
  `core/jobs/metrics.py`;
- **the run loop**: `core/jobs/runner.py`.

Which jobs are due and in what order is the queue's: mail takes them oldest first
(`due`), the chat relay per conversation in order (`chat/service/outbox.py`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from piccolo.table import Table

from staffroom.core import clock
from staffroom.core.db.sql import fetch, table_name
from staffroom.core.jobs import metrics, sql


class _Now:
    """Stands for the time a statement runs, in a JobTable's column values."""

    def __repr__(self) -> str:
        return "NOW"


NOW: Any = _Now()


@dataclass(frozen=True)
class Backoff:
    """How long a failed job waits: `first` seconds after its first try, doubling after
    each further one, never more than `cap`."""

    first: float
    cap: float

    def after(self, tries: int) -> timedelta:
        """The wait after this many tries."""
        return timedelta(seconds=min(self.first * 2 ** max(tries - 1, 0), self.cap))


@dataclass(frozen=True)
class Policy:
    """How one queue retries: its backoff, lease and when it gives up."""

    backoff: Backoff
    lease: timedelta
    # Give up after this many tries (outages aside), or once a job is this old.
    max_tries: int | None = None
    max_age: timedelta | None = None
    # Errors that would fail again whatever the wait: given up at once.
    final: tuple[type[BaseException], ...] = ()
    # Something unreachable for now: retried for as long as it lasts.
    outages: tuple[type[BaseException], ...] = ()

    def gives_up(self, exc: BaseException, tries: int, age: timedelta) -> bool:
        """Whether a job that failed with `exc` after `tries` tries is given up."""
        if isinstance(exc, self.final):
            return True
        if isinstance(exc, self.outages):
            return False
        if self.max_tries is not None and tries >= self.max_tries:
            return True
        return self.max_age is not None and age > self.max_age


class Outcome(enum.Enum):
    """What became of one try."""

    DONE = "done"
    RETRY = "retried"
    GIVEN_UP = "given_up"


@dataclass(frozen=True)
class Counts:
    """A queue's jobs still to do (due or waiting for a retry) and those given up."""

    open: int
    given_up: int


def _assignments(values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return ", ".join(f"{column} = {{}}" for column in values), tuple(values.values())


def _bind(args: tuple[Any, ...], now: datetime) -> list[Any]:
    return [now if arg is NOW else arg for arg in args]


@dataclass(frozen=True)
class JobTable:
    """How one table holds a queue's jobs. `open` and `given_up` are SQL conditions on
    its columns (constants, never input); `done`, `give_up`, `reopen` and `retry` the
    columns set on success, on giving up, on a requeue and on a retry (`NOW`: the time)."""

    name: str  # in logs and metrics
    table: type[Table]
    open: str
    given_up: str
    done: Mapping[str, Any]
    give_up: Mapping[str, Any]
    reopen: Mapping[str, Any]
    retry: Mapping[str, Any] = field(default_factory=dict)
    # When a job was finished and when it was given up (requeue and purge go by them).
    done_at: str | None = None
    given_up_at: str = "created_at"
    error_length: int = 300
    # What a claim answers (the worker reads the job from it): at least `attempts` and
    # `created_at`.
    claim_returns: str = "*"

    @cached_property
    def _sql(self) -> dict[str, str]:
        return sql.statements(
            table_name(self.table),
            open_=self.open,
            given_up=self.given_up,
            done=_assignments(self.done)[0],
            give_up=_assignments(self.give_up)[0],
            reopen=_assignments(self.reopen)[0],
            retry=list(self.retry),
            given_up_at=self.given_up_at,
            done_at=self.done_at,
            claim_returns=self.claim_returns,
        )

    @cached_property
    def _values(self) -> dict[str, tuple[Any, ...]]:
        return {
            name: _assignments(values)[1]
            for name, values in (
                ("done", self.done),
                ("give_up", self.give_up),
                ("reopen", self.reopen),
                ("retry", self.retry),
            )
        }

    def _error(self, exc: BaseException | str) -> str:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        return text[: self.error_length]

    async def due(self, limit: int) -> list[Any]:
        """Ids of open jobs whose time has come, the longest waiting first."""
        rows = await fetch(self.table, self._sql["due"], clock.utcnow(), limit)
        return [row["id"] for row in rows]

    async def claim(
        self, job_id: Any, lease: timedelta, now: datetime | None = None
    ) -> dict[str, Any] | None:
        """Take a due open job for one try (counted), for `lease`; None if it is not due,
        not open, or another worker has it."""
        now = now or clock.utcnow()
        rows = await fetch(self.table, self._sql["claim"], now + lease, job_id, now)
        return rows[0] if rows else None

    async def finish(self, job_id: Any) -> None:
        """The job is done."""
        args = _bind(self._values["done"], clock.utcnow())
        await fetch(self.table, self._sql["done"], *args, job_id)
        metrics.tried(self.name, Outcome.DONE)

    async def retry_at(self, job_id: Any, when: datetime, exc: BaseException) -> None:
        """Try the job again at `when`."""
        args = _bind(self._values["retry"], clock.utcnow())
        await fetch(self.table, self._sql["retry"], when, self._error(exc), *args, job_id)
        metrics.tried(self.name, Outcome.RETRY)

    async def abandon(self, job_id: Any, exc: BaseException) -> None:
        """Give the job up (kept, with the error, until purged or requeued)."""
        args = _bind(self._values["give_up"], clock.utcnow())
        await fetch(self.table, self._sql["give_up"], *args, self._error(exc), job_id)
        metrics.tried(self.name, Outcome.GIVEN_UP)

    async def requeue(self, since: datetime) -> int:
        """Open again the jobs given up since then, as if new; returns how many."""
        now = clock.utcnow()
        args = _bind(self._values["reopen"], now)
        rows = await fetch(self.table, self._sql["requeue"], *args, now, since)
        return len(rows)

    async def expire(self, queued_before: datetime, reason: str) -> int:
        """Give up the open jobs queued before then; returns how many."""
        args = _bind(self._values["give_up"], clock.utcnow())
        rows = await fetch(self.table, self._sql["expire"], *args, reason, queued_before)
        metrics.tried(self.name, Outcome.GIVEN_UP, len(rows))
        return len(rows)

    async def purge(
        self, *, done_before: datetime | None = None, given_up_before: datetime | None = None
    ) -> None:
        """Delete the jobs done, and those given up, before these times."""
        if done_before is not None and self.done_at is not None:
            await fetch(self.table, self._sql["purge_done"], done_before)
        if given_up_before is not None:
            await fetch(self.table, self._sql["purge_given_up"], given_up_before)

    async def counts(self, where: str = "", *args: Any) -> Counts:
        """Open and given-up jobs (those matching `where`, a condition with `{}`s for
        `args`, when given)."""
        extra = f" AND ({where})" if where else ""
        opened = await fetch(self.table, self._sql["count_open"] + extra, *args)
        given_up = await fetch(self.table, self._sql["count_given_up"] + extra, *args)
        return Counts(int(opened[0]["n"]), int(given_up[0]["n"]))


@dataclass(frozen=True)
class JobQueue:
    """A job table worked under a retry policy."""

    table: JobTable
    policy: Policy

    async def claim(self, job_id: Any, now: datetime | None = None) -> dict[str, Any] | None:
        """Take a due job for one try, for the policy's lease (see JobTable.claim)."""
        return await self.table.claim(job_id, self.policy.lease, now)

    async def done(self, job_id: Any) -> None:
        """The claimed job succeeded."""
        await self.table.finish(job_id)

    async def failed(self, job: dict[str, Any], exc: BaseException) -> Outcome:
        """The claimed job (as the claim answered it) failed with `exc`: give it up or
        schedule its next try, by the policy."""
        tries = int(job["attempts"])
        age = clock.utcnow() - clock.as_utc(_when(job["created_at"]))
        if self.policy.gives_up(exc, tries, age):
            await self.table.abandon(job["id"], exc)
            return Outcome.GIVEN_UP
        await self.table.retry_at(job["id"], clock.utcnow() + self.policy.backoff.after(tries), exc)
        return Outcome.RETRY


def _when(value: Any) -> datetime:
    # SQLite hands back what it cannot see the declared type of as text.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
