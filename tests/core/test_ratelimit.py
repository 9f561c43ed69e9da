"""T13 (login parts): failed-login limits per account and per IP, proxies, Redis."""

from __future__ import annotations

import asyncio

import pytest

from staffroom.core import clock
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
async def test_backoff_doubles_the_wait_after_the_free_failures(kind: str, redis_server) -> None:
    store = MemoryStore() if kind == "memory" else RedisStore(redis_server.url, prefix="tbo:")
    limiter = RateLimiter(store)
    rule = Rule(limit=2, window=60)
    for _ in range(2):
        await limiter.fail_with_backoff("dev", rule)
        await limiter.check_backoff("dev")  # free
    for expected in (1, 2):
        await limiter.fail_with_backoff("dev", rule)
        with pytest.raises(RateLimited) as limited:
            await limiter.check_backoff("dev")
        assert limited.value.headers == {"Retry-After": str(expected)}
        await limiter.check_backoff("other-dev")  # nobody else waits
        if kind == "memory":
            clock.travel(expected)
        else:  # Redis expires keys by its own clock
            await asyncio.sleep(expected + 0.05)
        await limiter.check_backoff("dev")
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


class _Counted:
    """A store's bucket script, counting its round trips to Redis."""

    def __init__(self, store: RedisStore) -> None:
        self.script, self.calls = store._buckets, 0
        store._buckets = self  # type: ignore[assignment]

    async def __call__(self, **kwargs: object) -> object:
        self.calls += 1
        return await self.script(**kwargs)


def _instances(redis_server, prefix: str, n: int = 2) -> list[RedisStore]:
    return [RedisStore(redis_server.url, prefix=prefix) for _ in range(n)]


async def test_leased_tokens_never_exceed_the_shared_bucket(redis_server) -> None:
    """Two instances taking from one bucket of 40 (leases of 4) get 40 tokens between
    them, however their requests interleave, and both are refused after."""
    one, two = _instances(redis_server, "lease-total:")
    counted = _Counted(one)
    limiter = [RateLimiter(one), RateLimiter(two)]
    person = ("user:p", Bucket(rate=0.001, burst=40))
    given = refused = 0
    for i in range(60):
        try:
            await limiter[i % 3 == 0].take(person)
            given += 1
        except RateLimited:
            refused += 1
    assert given == 40 and refused == 20
    for each in limiter:
        with pytest.raises(RateLimited):
            await each.take(person)
    # The first instance asked Redis once per lease of 4, not once per request.
    assert counted.calls < 40 / 4 + 3
    for store in (one, two):
        await store.close()


async def test_a_lease_is_one_round_trip_for_several_requests(redis_server) -> None:
    (store,) = _instances(redis_server, "lease-trips:", 1)
    counted = _Counted(store)
    limiter = RateLimiter(store)
    address, person = ("ip:a", Bucket(50, 300)), ("user:p", Bucket(20, 200))
    for _ in range(60):
        await limiter.take(address, person)
    # Leases of 30 (the address's, at requests 1 and 31) and 20 tokens (the person's, at
    # 1, 21 and 41): 60 requests are four round trips, not sixty.
    assert counted.calls == 4
    await store.close()


async def test_a_refusal_is_remembered_until_the_bucket_refills(redis_server) -> None:
    (store,) = _instances(redis_server, "lease-refused:", 1)
    counted = _Counted(store)
    limiter = RateLimiter(store)
    person = ("user:p", Bucket(rate=0.1, burst=20))  # leases of 2; a token every 10 s
    for _ in range(20):
        await limiter.take(person)
    with pytest.raises(RateLimited) as first:
        await limiter.take(person)
    calls = counted.calls
    clock.travel(4)
    with pytest.raises(RateLimited) as again:
        await limiter.take(person)
    # Refused here without asking Redis, with what is left of the wait.
    assert counted.calls == calls
    assert again.value.extra["retry_after"] < first.value.extra["retry_after"]
    clock.travel(7)
    await limiter.take(person)  # a token has come back
    assert counted.calls == calls + 1
    await store.close()


async def test_a_leased_token_behind_an_empty_bucket_is_not_charged(redis_server) -> None:
    (store,) = _instances(redis_server, "lease-order:", 1)
    limiter = RateLimiter(store)
    person = ("user:p", Bucket(rate=0.001, burst=20))  # leases of 2
    await limiter.take(person)  # leased: one spent, one held
    empty = ("ip:x", Bucket(rate=0.001, burst=1))
    await limiter.take(empty)
    with pytest.raises(RateLimited):
        await limiter.take(empty, person)  # the address is empty: the person not charged
    for _ in range(19):
        await limiter.take(person)  # the held token and 18 more: 20 in all
    with pytest.raises(RateLimited):
        await limiter.take(person)
    await store.close()


async def test_small_buckets_are_never_leased(redis_server) -> None:
    """Below a burst of 20 every token comes from Redis itself: instances share strict
    limits (login-sized ones) exactly."""
    one, two = _instances(redis_server, "lease-small:")
    counted = _Counted(one)
    bucket = ("ip:s", Bucket(rate=0.001, burst=6))
    for _ in range(3):
        await RateLimiter(one).take(bucket)
        await RateLimiter(two).take(bucket)
    assert counted.calls == 3
    for store in (one, two):
        with pytest.raises(RateLimited):
            await RateLimiter(store).take(bucket)
        await store.close()


def test_leases_stay_bounded_when_many_addresses_come_at_once() -> None:
    """150,000 addresses within a lease's lifetime: a process keeps at most MAX_HELD keys,
    sweeping rarely (not on every new one), and holds the newest."""
    from staffroom.core.ratelimit import MAX_HELD, Leases

    leases, now = Leases(), clock.now_ts()
    for n in range(150_000):
        leases.lease(f"ip:{n}", 5, now)
    assert len(leases._held) <= MAX_HELD
    assert leases.spend("ip:149999", now)
    assert not leases.spend("ip:0", now)  # forgotten: its next request asks Redis


def test_a_long_forwarded_chain_is_walked_but_not_cached() -> None:
    from staffroom.core import net

    trusted = ("10.0.0.0/8",)
    chain = ", ".join(["6.6.6.6", "1.2.3.4"] + [f"10.0.{i}.1" for i in range(40)])
    before = net._cached_walk.cache_info().currsize
    assert client_ip("10.0.0.5", chain, trusted) == "1.2.3.4"
    assert net._cached_walk.cache_info().currsize == before
    assert client_ip("10.0.0.5", "198.51.100.23, 10.0.0.9", trusted) == "198.51.100.23"
    assert net._cached_walk.cache_info().currsize == before + 1
