"""A database (or other server) that cannot be reached is a 503 with Retry-After, not a 500."""

from __future__ import annotations

import logging
import os

import asyncpg
import pytest

from staffroom.accounts.service import users
from staffroom.core.logs import round_failed
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_an_outage_is_a_503_the_client_can_retry(
    client, world: World, monkeypatch, error: BaseException
) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))

    async def down(*_: object) -> None:
        raise error

    monkeypatch.setattr(users, "me", down)
    r = await client.get("/api/v1/me", headers=h)
    body = assert_problem(r, 503, "service_unavailable")
    assert int(r.headers["retry-after"]) >= 1 and body["retry_after"] >= 1
    assert "connection" not in body["detail"].lower()


async def test_a_programming_error_is_still_a_500(client, world: World, monkeypatch) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))

    async def broken(*_: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(users, "me", broken)
    assert_problem(await client.get("/api/v1/me", headers=h), 500, "internal_error")


@pytest.mark.skipif(
    os.environ.get("STAFFROOM_TEST_DB", "sqlite") != "postgres", reason="PostgreSQL's pool"
)
async def test_a_pooled_connection_whose_protocol_broke_is_closed_not_reused(
    client, world: World, monkeypatch
) -> None:
    # What a session terminated mid-operation leaves behind (PostgreSQL stopping): asyncpg
    # believes an operation is still in progress on that connection.
    h = auth(await login(client, "acme", "member@acme.example"))
    original = asyncpg.Connection.fetch
    broken: list[asyncpg.Connection] = []

    async def breaks_once(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not broken:
            broken.append(self)
            raise asyncpg.exceptions.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress"
            )
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetch", breaks_once)
    r = await client.get("/api/v1/me", headers=h)
    assert_problem(r, 503, "service_unavailable")
    assert int(r.headers["retry-after"]) >= 1
    # Closed, so the pool replaces it rather than handing it out again.
    assert broken and broken[0].is_closed()
    for _ in range(3):
        assert (await client.get("/api/v1/me", headers=h)).status_code == 200


def test_a_background_round_logs_an_outage_as_one_line_and_a_fault_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The dispatcher, mail worker, scheduler and retention loops retry every round: an
    # outage must not bury the log in tracebacks, a bug must keep its traceback.
    log = logging.getLogger("staffroom.test.rounds")
    with caplog.at_level(logging.WARNING, logger=log.name):
        round_failed(log, "chat outbox round failed", ConnectionRefusedError(111, "refused"))
        try:
            raise KeyError("bug")
        except KeyError as exc:
            round_failed(log, "chat outbox round failed", exc)
    outage, fault = caplog.records
    assert outage.levelname == "WARNING" and outage.exc_info is None
    assert outage.getMessage() == (
        "chat outbox round failed: unreachable (ConnectionRefusedError), retrying"
    )
    assert fault.levelname == "ERROR" and fault.exc_info is not None
    assert fault.exc_info[0] is KeyError
