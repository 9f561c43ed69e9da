"""The middleware (core/middleware.py): security headers, CORS allow-list, general per-IP
and per-user limits (token buckets; shared through Redis across instances)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from staffroom.core import clock
from tests.support.apps import app_client
from tests.support.world import World, assert_problem, bearer


async def test_every_response_carries_the_security_headers(client, world: World):
    for r in (
        await client.get("/health/live"),
        await client.get("/api/v1/me"),  # a 401 problem
        await client.get("/api/v1/me", headers=await bearer(client, world.acme, "member")),
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    docs = await client.get("/schema/swagger")
    assert docs.headers["content-type"].startswith("text/html")
    csp = docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp


async def test_no_hsts_over_plain_http(settings):
    async with app_client(settings, public_url="http://127.0.0.1:8000") as c:
        r = await c.get("/health/live")
        assert "strict-transport-security" not in r.headers
        assert r.headers["x-frame-options"] == "DENY"


async def test_cors_answers_only_listed_origins(settings):
    allowed = "https://app.acme.example"
    async with app_client(settings, cors_origins=(allowed,)) as c:
        pre = await c.options(
            "/api/v1/auth/login",
            headers={"Origin": allowed, "Access-Control-Request-Method": "POST"},
        )
        assert pre.status_code in (200, 204)
        assert pre.headers["access-control-allow-origin"] == allowed
        evil = await c.options(
            "/api/v1/auth/login",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert evil.headers.get("access-control-allow-origin") != "https://evil.example"
        plain = await c.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in plain.headers


async def test_the_general_per_ip_limit_answers_429_with_retry_after(settings):
    async with app_client(settings, rate_ip_per_second=1.0, rate_ip_burst=5) as c:
        codes = [(await c.get("/api/v1/me")).status_code for _ in range(7)]
        assert codes[:5] == [401] * 5
        r = await c.get("/api/v1/me")
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        # Health probes of the load balancer are never limited.
        assert (await c.get("/health/live")).status_code == 200
        clock.travel(10)
        assert (await c.get("/api/v1/me")).status_code == 401


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_every_request_pays_its_address_once_signed_in_or_not(
    settings, world: World, store: str, redis_server
):
    """The per-IP token of an authenticated request is taken together with the caller's
    (one round trip); a public route, a missing and a wrong token each pay it too, once."""
    changes: dict[str, Any] = {"rate_ip_per_second": 0.01, "rate_ip_burst": 8}
    if store == "redis":
        changes["redis_url"] = redis_server.url
    async with app_client(settings, peer=f"192.0.2.{80 + len(store)}", **changes) as c:
        headers = await bearer(c, world.acme, "member")  # a sign-in: one token
        assert (await c.get("/api/v1/me", headers=headers)).status_code == 200
        assert (await c.get("/api/v1/feed", headers=headers)).status_code == 200
        assert (await c.get("/api/v1/me")).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert (await c.get("/api/v1/me", headers=bad)).status_code == 401
        # A public route (an invite link) with a token that is not an invite's.
        assert (await c.get("/api/v1/public/invites/nope", headers=headers)).status_code < 500
        assert (await c.get("/api/v1/me", headers=headers)).status_code == 200
        assert (await c.get("/api/v1/me", headers=headers)).status_code == 200
        # Eight paid: the ninth request from this address is refused, whoever sends it.
        assert_problem(await c.get("/api/v1/me", headers=headers), 429)
        assert_problem(await c.get("/api/v1/me", headers=bad), 429)


async def test_the_per_ip_limit_sees_the_client_behind_a_trusted_proxy(settings):
    changes = {"rate_ip_per_second": 1.0, "rate_ip_burst": 2, "trusted_proxies": ("198.51.100.7",)}
    async with app_client(settings, **changes) as c:
        for _ in range(2):
            await c.get("/api/v1/me", headers={"X-Forwarded-For": "203.0.113.50"})
        limited = await c.get("/api/v1/me", headers={"X-Forwarded-For": "203.0.113.50"})
        assert_problem(limited, 429)
        # Another client behind the same proxy has its own bucket.
        other = await c.get("/api/v1/me", headers={"X-Forwarded-For": "203.0.113.51"})
        assert other.status_code == 401


async def test_the_per_user_limit_follows_the_user_across_addresses(settings, world: World):
    async with app_client(settings, rate_user_per_second=0.5, rate_user_burst=3) as c:
        headers = await bearer(c, world.acme, "member")
        assert [(await c.get("/api/v1/me", headers=headers)).status_code for _ in range(3)] == [
            200
        ] * 3
        assert_problem(await c.get("/api/v1/me", headers=headers), 429)
        # Someone else is not affected.
        other = await bearer(c, world.acme, "editor")
        assert (await c.get("/api/v1/me", headers=other)).status_code == 200


async def test_limits_are_shared_across_instances_through_redis(settings, redis_server):
    shared = msgspec.structs.replace(
        settings, redis_url=redis_server.url, rate_ip_per_second=0.1, rate_ip_burst=3
    )
    async with (
        app_client(shared, peer="192.0.2.77") as a,
        app_client(shared, peer="192.0.2.77") as b,
    ):
        assert (await a.get("/api/v1/me")).status_code == 401
        assert (await b.get("/api/v1/me")).status_code == 401
        assert (await a.get("/api/v1/me")).status_code == 401
        assert_problem(await b.get("/api/v1/me"), 429)


async def test_general_limits_fail_open_when_redis_is_down(settings, world: World):
    from tests.support.servers import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with app_client(settings, redis_url=dead, rate_ip_burst=1) as c:
        # No limiter store: the API still answers (the login limits would fail closed).
        assert (await c.get("/api/v1/me")).status_code == 401
        assert (await c.get("/api/v1/me")).status_code == 401
        r = await c.post(
            "/api/v1/auth/login",
            json={"org": "acme", "login": "member@acme.example", "password": "x" * 12},
        )
        assert_problem(r, 503)
