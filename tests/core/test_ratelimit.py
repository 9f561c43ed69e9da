"""T13 (login parts): failed-login limits per account and per IP, proxies, Redis."""

from __future__ import annotations

import pytest

from staffroom.core.errors import RateLimited, Unavailable
from staffroom.core.net import client_ip
from staffroom.core.ratelimit import Bucket, MemoryStore, RateLimiter, RedisStore, Rule
from tests.support.apps import app_client
from tests.support.flows import auth
from tests.support.world import PASSWORD, World, assert_problem, login


def _attempt(who: str, password: str = "Wrong-Password-000", org: str = "acme") -> dict:
    return {"org": org, "login": who, "password": password}


async def test_account_locks_after_five_failures_with_retry_after(client, world: World) -> None:
    for _ in range(5):
        assert_problem(
            await client.post("/api/v1/auth/login", json=_attempt("member@acme.example")), 401
        )
    r = await client.post("/api/v1/auth/login", json=_attempt("member@acme.example", PASSWORD))
    body = assert_problem(r, 429, "rate_limited")
    assert 0 < int(r.headers["retry-after"]) <= 900 and body["retry_after"] == int(
        r.headers["retry-after"]
    )
    # other accounts are unaffected
    await login(client, "acme", "admin@acme.example")


async def test_unknown_accounts_lock_the_same_way(client, world: World) -> None:
    for _ in range(5):
        assert_problem(
            await client.post("/api/v1/auth/login", json=_attempt("ghost@acme.example")), 401
        )
    assert_problem(
        await client.post("/api/v1/auth/login", json=_attempt("ghost@acme.example")), 429
    )


async def test_success_clears_the_account_counter(client, world: World) -> None:
    for _ in range(4):
        await client.post("/api/v1/auth/login", json=_attempt("member@acme.example"))
    await login(client, "acme", "member@acme.example")
    for _ in range(4):
        assert_problem(
            await client.post("/api/v1/auth/login", json=_attempt("member@acme.example")), 401
        )


async def test_one_ip_spraying_many_accounts_is_stopped(settings, world: World) -> None:
    async with app_client(settings, login_fail_limit_ip=6) as c:
        for i in range(6):
            assert_problem(
                await c.post("/api/v1/auth/login", json=_attempt(f"user{i}@acme.example")), 401
            )
        assert_problem(
            await c.post("/api/v1/auth/login", json=_attempt("admin@acme.example", PASSWORD)), 429
        )
    async with app_client(settings, peer="198.51.100.99", login_fail_limit_ip=6) as other:
        await login(other, "acme", "admin@acme.example")


async def test_forwarded_for_is_trusted_only_from_configured_proxies(
    settings, world: World
) -> None:
    # An untrusted peer cannot dodge the per-IP limit by inventing X-Forwarded-For.
    async with app_client(settings, login_fail_limit_ip=3) as c:
        for i in range(3):
            await c.post(
                "/api/v1/auth/login",
                json=_attempt(f"u{i}@acme.example"),
                headers={"X-Forwarded-For": f"10.0.0.{i}"},
            )
        r = await c.post(
            "/api/v1/auth/login",
            json=_attempt("u9@acme.example"),
            headers={"X-Forwarded-For": "10.0.0.200"},
        )
        assert_problem(r, 429)
    # Behind a trusted proxy, each real client has its own budget.
    async with app_client(
        settings, peer="10.1.2.3", login_fail_limit_ip=3, trusted_proxies=("10.0.0.0/8",)
    ) as c:
        for i in range(3):
            await c.post(
                "/api/v1/auth/login",
                json=_attempt(f"v{i}@acme.example"),
                headers={"X-Forwarded-For": "203.0.113.50"},
            )
        assert_problem(
            await c.post(
                "/api/v1/auth/login",
                json=_attempt("v9@acme.example"),
                headers={"X-Forwarded-For": "203.0.113.50"},
            ),
            429,
        )
        await login(c, "acme", "admin@acme.example", headers={"X-Forwarded-For": "203.0.113.51"})


def test_client_ip_walks_forwarded_for_from_the_right() -> None:
    trusted = ("10.0.0.0/8",)
    assert client_ip("10.0.0.5", "1.2.3.4, 10.0.0.9", trusted) == "1.2.3.4"
    assert client_ip("10.0.0.5", "6.6.6.6, 1.2.3.4", trusted) == "1.2.3.4"  # leftmost is spoofable
    assert client_ip("9.9.9.9", "1.2.3.4", trusted) == "9.9.9.9"
    assert client_ip("10.0.0.5", "garbage", trusted) == "10.0.0.5"
    assert client_ip("10.0.0.5", None, trusted) == "10.0.0.5"


async def test_redis_counters_are_shared_by_every_instance(
    settings, world: World, redis_server
) -> None:
    shared = {"redis_url": redis_server.url, "login_fail_limit_account": 4}
    async with app_client(settings, **shared) as one, app_client(settings, **shared) as two:
        for c in (one, two, one, two):
            assert_problem(
                await c.post("/api/v1/auth/login", json=_attempt("editor@acme.example")), 401
            )
        assert_problem(
            await one.post("/api/v1/auth/login", json=_attempt("editor@acme.example", PASSWORD)),
            429,
        )
        assert_problem(
            await two.post("/api/v1/auth/login", json=_attempt("editor@acme.example", PASSWORD)),
            429,
        )


async def test_redis_down_fails_closed(settings, world: World) -> None:
    from tests.support.servers import free_port

    async with app_client(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0") as c:
        r = await c.post("/api/v1/auth/login", json=_attempt("admin@acme.example", PASSWORD))
        assert_problem(r, 503, "rate_limit_store_down")


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_limiter_window_and_clear(kind: str, redis_server) -> None:
    store = (
        MemoryStore() if kind == "memory" else RedisStore(redis_server.url, prefix=f"t:{id(kind)}:")
    )
    limiter = RateLimiter(store)
    rule = Rule(limit=2, window=60)
    await limiter.hit("k", rule)
    await limiter.hit("k", rule)
    with pytest.raises(RateLimited):
        await limiter.hit("k", rule)
    with pytest.raises(RateLimited):
        await limiter.check("k", rule)
    await limiter.clear("k")
    await limiter.check("k", rule)
    await store.close()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_buckets_taken_together_stop_at_the_first_empty_one(kind: str, redis_server) -> None:
    store = (
        MemoryStore() if kind == "memory" else RedisStore(redis_server.url, prefix=f"tb:{kind}:")
    )
    limiter = RateLimiter(store)
    address, person = ("ip:a", Bucket(rate=0.01, burst=2)), ("user:p", Bucket(0.01, 3))
    await limiter.take(address, person)
    await limiter.take(address, person)
    with pytest.raises(RateLimited) as refused:
        await limiter.take(address, person)  # the address is empty: the person not charged
    assert refused.value.extra["retry_after"] >= 1
    await limiter.take(person)  # the person's third token was still there
    with pytest.raises(RateLimited):
        await limiter.take(("ip:b", Bucket(0.01, 5)), person)
    await store.close()


async def test_unreachable_redis_raises_unavailable() -> None:
    from tests.support.servers import free_port

    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(Unavailable):
        await store.incr("k", 10)
    await store.close()


async def test_wrong_current_passwords_are_limited(client, world: World) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))
    body = {"current_password": "Wrong-Password-000", "new_password": "Quartz-River-Bell-77"}
    for _ in range(5):
        assert_problem(await client.post("/api/v1/me/password", json=body, headers=h), 401)
    body["current_password"] = PASSWORD
    assert_problem(
        await client.post("/api/v1/me/password", json=body, headers=h), 429, "rate_limited"
    )


async def test_mfa_step_is_limited_per_ip(settings, world: World) -> None:
    async with app_client(settings, login_fail_limit_ip=3) as c:
        for _ in range(3):
            r = await c.post("/api/v1/auth/mfa", json={"mfa_token": "garbage", "code": "123456"})
            assert_problem(r, 401, "invalid_mfa_token")
        r = await c.post("/api/v1/auth/mfa", json={"mfa_token": "garbage", "code": "123456"})
        assert_problem(r, 429, "rate_limited")
