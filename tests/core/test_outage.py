"""A database (or other server) that cannot be reached is a 503 with Retry-After, not a 500."""

from __future__ import annotations

import asyncpg
import pytest

from staffroom.accounts.service import users
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
