"""The job engine (core/jobs): a claim holds a job for a lease, one backoff curve
configured per queue, giving up (final errors, tries, age; outages never), requeue,
expiry, purge, counts and metrics; and the runner that works queues and periodic jobs."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from staffroom.app import BACKGROUND
from staffroom.chat.service import outbox
from staffroom.core import clock
from staffroom.core.jobs import NOW, Backoff, Counts, JobQueue, JobTable, Outcome, Policy
from staffroom.core.jobs.metrics import observe
from staffroom.core.jobs.runner import Periodic, Worker, running
from staffroom.core.mail import queue as mail_queue
from staffroom.core.tables import MailMessage

# A queue of the engine's own, on the mail table (any table with the job columns will do).
TABLE = JobTable(
    name="test queue",
    table=MailMessage,
    open="status = 'pending'",
    given_up="status = 'failed'",
    done={"status": "sent", "sent_at": NOW},
    give_up={"status": "failed"},
    reopen={"status": "pending"},
    done_at="sent_at",
)
LEASE = timedelta(seconds=30)


def _queue(**policy: Any) -> JobQueue:
    return JobQueue(TABLE, Policy(backoff=policy.pop("backoff", Backoff(10, 60)), **policy))


async def _job(status: str = "pending") -> uuid.UUID:
    now = clock.utcnow()
    job_id = uuid.uuid4()
    await MailMessage.insert(
        MailMessage(
            id=job_id,
            to_address="x@acme.example",
            subject="s",
            template="t",
            status=status,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return job_id


async def _row(job_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] = await MailMessage.select().where(MailMessage.id == job_id).first()
    return row


def test_one_backoff_curve_configured_per_queue() -> None:
    mail = [mail_queue.BACKOFF.after(n).total_seconds() for n in range(1, 10)]
    assert mail == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]  # 30 s doubling to 1 h
    relay = [outbox.JOBS.policy.backoff.after(n).total_seconds() for n in range(1, 10)]
    assert relay == [1, 2, 4, 8, 16, 32, 60, 60, 60]  # 1 s doubling to a minute
    assert outbox.JOBS.policy.max_tries == outbox.MAX_ATTEMPTS == 8


async def test_a_job_is_claimed_once_and_comes_back_when_its_lease_ends() -> None:
    queue = _queue(lease=LEASE)
    job = await _job()
    claims = await asyncio.gather(*(queue.claim(job) for _ in range(5)))
    taken = [c for c in claims if c is not None]
    assert len(taken) == 1 and taken[0]["attempts"] == 1  # the try is counted at once
    assert await queue.claim(job) is None and await TABLE.due(10) == []  # held
    clock.travel(LEASE.total_seconds() + 1)  # the worker holding it died
    again = await queue.claim(job)
    assert again is not None and again["attempts"] == 2
    await queue.done(job)
    row = await _row(job)
    assert row["status"] == "sent" and row["sent_at"] is not None
    clock.travel(3600)
    assert await queue.claim(job) is None  # done is done


async def test_failures_back_off_on_the_curve_then_give_up_after_max_tries() -> None:
    queue = _queue(lease=LEASE, max_tries=3)
    job = await _job()
    for tries, wait in ((1, 10), (2, 20)):
        claimed = await queue.claim(job)
        assert claimed is not None
        assert await queue.failed(claimed, ValueError("boom")) is Outcome.RETRY
        row = await _row(job)
        assert row["attempts"] == tries and row["last_error"] == "ValueError: boom"
        clock.travel(wait - 1)
        assert await queue.claim(job) is None  # not yet
        clock.travel(2)
    claimed = await queue.claim(job)
    assert claimed is not None
    assert await queue.failed(claimed, ValueError("boom")) is Outcome.GIVEN_UP
    assert (await _row(job))["status"] == "failed"
    clock.travel(3600)
    assert await queue.claim(job) is None  # given up: never tried again
    assert await TABLE.counts() == Counts(open=0, given_up=1)


async def test_final_errors_give_up_at_once_outages_never_and_old_jobs_in_time() -> None:
    queue = _queue(
        backoff=Backoff(1, 1),
        lease=LEASE,
        max_tries=2,
        max_age=timedelta(hours=1),
        final=(KeyError,),
        outages=(ConnectionError,),
    )
    final, outage = await _job(), await _job()
    claimed = await queue.claim(final)
    assert claimed is not None and await queue.failed(claimed, KeyError("x")) is Outcome.GIVEN_UP
    for _ in range(5):  # well past max_tries
        claimed = await queue.claim(outage)
        assert claimed is not None
        assert await queue.failed(claimed, ConnectionError("down")) is Outcome.RETRY
        clock.travel(2)
    old = await _job()
    clock.travel(2 * 3600)
    claimed = await queue.claim(old)
    assert claimed is not None and claimed["attempts"] == 1
    assert await queue.failed(claimed, ValueError("late")) is Outcome.GIVEN_UP


async def test_requeue_expire_and_purge() -> None:
    queue = _queue(lease=LEASE)
    given_up, done, waiting = await _job(), await _job(), await _job()
    claimed = await queue.claim(given_up)
    assert claimed is not None
    await TABLE.abandon(given_up, RuntimeError("relay refused"))
    assert await queue.claim(done) is not None
    await queue.done(done)
    assert await TABLE.counts() == Counts(open=1, given_up=1)
    # Requeued as new: no tries, no error, due now.
    assert await TABLE.requeue(clock.utcnow() - timedelta(hours=1)) == 1
    row = await _row(given_up)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 0, "")
    assert sorted(await TABLE.due(10)) == sorted([given_up, waiting])
    # Jobs queued before a time are given up with a reason, then purged in their turn.
    clock.travel(60)
    assert await TABLE.expire(clock.utcnow(), "too old") == 2
    assert (await _row(waiting))["last_error"] == "too old"
    await TABLE.purge(done_before=clock.utcnow())
    assert await MailMessage.count() == 2
    await TABLE.purge(given_up_before=clock.utcnow() + timedelta(seconds=1))
    assert await MailMessage.count() == 0


async def test_tries_and_depths_are_metrics_by_queue() -> None:
    def tries(outcome: str) -> float:
        labels = {"queue": "test queue", "outcome": outcome}
        return REGISTRY.get_sample_value("staffroom_jobs_tries_total", labels) or 0.0

    before = {o: tries(o) for o in ("done", "retried", "given_up")}
    queue = _queue(lease=LEASE, max_tries=2)
    ok, bad = await _job(), await _job()
    assert await queue.claim(ok) is not None
    await queue.done(ok)
    for _ in range(2):
        claimed = await queue.claim(bad)
        assert claimed is not None
        await queue.failed(claimed, ValueError("x"))
        clock.travel(11)
    assert {o: tries(o) - before[o] for o in before} == {"done": 1, "retried": 1, "given_up": 1}
    await _job()
    await observe([TABLE])
    assert REGISTRY.get_sample_value("staffroom_jobs_open", {"queue": "test queue"}) == 1
    assert REGISTRY.get_sample_value("staffroom_jobs_given_up", {"queue": "test queue"}) == 1


async def test_mail_claimed_by_the_version_before_the_engine_is_still_delivered(rt) -> None:
    # A message an older worker marked "sending" when the upgrade stopped it: delivered
    # once its lease is over, like any other.
    job = await _job(status="sending")
    await MailMessage.update({MailMessage.sealed_body: ""}).where(MailMessage.id == job)
    assert await rt.mail.deliver_due() == 1
    assert (await _row(job))["status"] == "sent"


async def test_a_worker_drains_full_batches_then_sleeps_until_woken(rt, caplog) -> None:
    rounds: list[int] = []
    answers = iter([3, 3, 1, ValueError("a bug"), 0, 3, 2])
    wake = asyncio.Event()

    async def once(_rt: Any) -> int:
        answer = next(answers, 0)
        if isinstance(answer, Exception):
            raise answer
        rounds.append(answer)
        return answer

    worker = Worker(
        name="test round",
        logger="staffroom.test",
        once=once,
        wake=lambda _rt: wake,
        poll=lambda _s: 3600,
        enabled=lambda _s: True,
        batch=3,
    )
    with caplog.at_level(logging.ERROR, logger="staffroom.test"):
        async with running(rt, [worker]) as started:
            assert started == ["test round"]
            await asyncio.sleep(0.1)
            assert rounds == [3, 3, 1]  # full batches at once, then asleep (poll: an hour)
            wake.set()
            await asyncio.sleep(0.1)
            assert rounds == [3, 3, 1]  # that round failed: logged, the loop goes on
            wake.set()
            await asyncio.sleep(0.1)
            assert rounds == [3, 3, 1, 0]
            wake.set()
            await asyncio.sleep(0.1)
    assert rounds == [3, 3, 1, 0, 3, 2]
    assert "test round failed" in caplog.text and "a bug" in caplog.text


async def test_periodic_work_repeats_and_outlives_a_failing_round(rt, caplog) -> None:
    runs: list[int] = []

    async def run(_rt: Any) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ValueError("first round breaks")

    periodic = Periodic(
        name="test job",
        logger="staffroom.test",
        run=run,
        every=lambda _s: 0.01,
        enabled=lambda _s: True,
    )
    with caplog.at_level(logging.ERROR, logger="staffroom.test"):
        async with running(rt, [periodic]):
            for _ in range(100):
                if len(runs) >= 3:
                    break
                await asyncio.sleep(0.02)
    assert len(runs) >= 3 and "test job failed" in caplog.text


@pytest.mark.parametrize(
    ("mail_worker", "scheduler", "expected"),
    [
        (False, False, []),
        (True, False, ["mail worker pass"]),
        (
            True,
            True,
            [
                "mail worker pass",
                "chat outbox round",
                "announcing scheduled posts",
                "applying retention",
                "pruning OAuth codes and grants",
            ],
        ),
    ],
)
async def test_the_app_runs_every_domains_background_work_by_its_settings(
    rt, mail_worker: bool, scheduler: bool, expected: list[str]
) -> None:
    import msgspec

    rt.settings = msgspec.structs.replace(rt.settings, mail_worker=mail_worker, scheduler=scheduler)
    async with running(rt, BACKGROUND) as started:
        assert started == expected
