"""Errors, OpenAPI, health and logs: what every client and operator relies on."""

from __future__ import annotations

import json
import logging

from tests.support.flows import auth
from tests.support.world import World, assert_problem, login


async def test_malformed_json_wrong_types_and_missing_fields_are_400(client, world: World) -> None:
    cases = [
        dict(content=b'{"org": "acme", "login": ', headers={"content-type": "application/json"}),
        dict(json={"org": "acme", "login": 5, "password": "x"}),
        dict(json={"org": "acme"}),
        dict(json=["not", "an", "object"]),
        dict(content=b"\xff\xfe\x00", headers={"content-type": "application/json"}),
    ]
    for kwargs in cases:
        assert_problem(await client.post("/api/v1/auth/login", **kwargs), 400, "invalid_request")


async def test_body_over_one_mebibyte_is_413(client, world: World) -> None:
    big = {"org": "acme", "login": "a@b.example", "password": "x" * (1024 * 1024 + 10)}
    assert_problem(await client.post("/api/v1/auth/login", json=big), 413, "body_too_large")


async def test_unknown_route_and_method_are_problems(client, world: World) -> None:
    assert_problem(await client.get("/api/v1/nope"), 404)
    assert_problem(await client.put("/api/v1/auth/login", json={}), 405)
    h = auth(await login(client, "acme", "admin@acme.example"))
    assert_problem(await client.get("/api/v1/users/not-a-uuid", headers=h), 404)
    assert_problem(await client.get("/api/v1/users", params={"limit": 0}, headers=h), 400)
    assert_problem(await client.get("/api/v1/users", params={"limit": "many"}, headers=h), 400)


async def test_every_list_takes_pages_of_at_most_200(client, world: World) -> None:
    # One bound for every list (they had drifted to 100, 200 and 500).
    h = auth(await login(client, "acme", "admin@acme.example"))
    for url in (
        "/api/v1/users",
        "/api/v1/feed",
        "/api/v1/access-codes/batches",
        "/api/v1/conversations",
        "/api/v1/audit-events",
    ):
        assert (await client.get(url, params={"limit": 200}, headers=h)).status_code == 200, url
        assert_problem(await client.get(url, params={"limit": 201}, headers=h), 400)
        assert_problem(await client.get(url, params={"cursor": "x" * 301}, headers=h), 400)


async def test_health_probes(client) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    assert (await client.get("/health/ready")).json() == {"status": "ok"}


async def test_every_operation_is_documented(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    seen_ids = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            where = f"{method.upper()} {path}"
            assert op.get("operationId"), where
            assert op.get("summary"), where
            assert op["operationId"] not in seen_ids, where
            seen_ids.add(op["operationId"])
            problems = [s for s in op["responses"] if s.startswith("4")]
            assert problems, f"{where} documents no error response"
            for status in problems:
                assert "application/problem+json" in op["responses"][status]["content"], where
    assert "bearer" in spec["components"]["securitySchemes"]
    assert not spec["paths"]["/api/v1/auth/login"]["post"].get("security")
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]
    assert spec["paths"]["/api/v1/auth/logout"]["post"]["security"] == [{"bearer": []}]


async def test_request_id_is_echoed_and_logs_are_json_without_secrets(
    client, world: World, caplog
) -> None:
    from staffroom.core.logs import JsonFormatter

    caplog.set_level(logging.INFO)
    r = await client.post(
        "/api/v1/auth/login",
        headers={"X-Request-ID": "abcdef0123456789"},
        json={"org": "acme", "login": "member@acme.example", "password": "Secret-Guess-123"},
    )
    assert r.headers["x-request-id"] == "abcdef0123456789"
    body = await login(client, "acme", "member@acme.example")
    r = await client.get(
        "/api/v1/me",
        params={"t": body["access_token"]},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert len(r.headers["x-request-id"]) >= 16
    formatter = JsonFormatter()
    lines = [formatter.format(rec) for rec in caplog.records]
    assert lines and all(json.loads(line)["time"].endswith("+00:00") for line in lines)
    access = [json.loads(line) for line in lines if json.loads(line)["message"] == "request"]
    assert any(a.get("request_id") == "abcdef0123456789" and a["status"] == 401 for a in access)
    text = "\n".join(lines)
    assert "Secret-Guess-123" not in text and body["access_token"] not in text


async def test_answers_from_outside_the_handlers_carry_the_request_id_and_are_logged(
    client, world: World, caplog
) -> None:
    from staffroom.core.logs import JsonFormatter

    caplog.set_level(logging.INFO)
    # Refused by the authentication middleware, and a route that does not exist.
    cases = [
        ("/api/v1/me", {"Authorization": "Bearer not-a-token"}, 401),
        ("/api/v1/no-such-route", {}, 404),
    ]
    for n, (path, headers, status) in enumerate(cases):
        rid = f"outside-{n}-0123456789"
        r = await client.get(path, headers={**headers, "X-Request-ID": rid})
        assert r.status_code == status, r.text
        assert r.headers["x-request-id"] == rid
        assert r.headers["x-frame-options"] == "DENY"
        lines = [json.loads(JsonFormatter().format(rec)) for rec in caplog.records]
        access = [a for a in lines if a["message"] == "request" and a.get("request_id") == rid]
        assert [(a["path"], a["status"]) for a in access] == [(path, status)]
    # A malformed id is replaced by one of ours.
    r = await client.get("/api/v1/me", headers={"X-Request-ID": "bad id!"})
    assert r.status_code == 401 and r.headers["x-request-id"] != "bad id!"
    assert len(r.headers["x-request-id"]) >= 16


async def test_unexpected_errors_are_a_generic_500_problem(
    app, client, world: World, monkeypatch
) -> None:
    from staffroom.accounts.service import users

    async def boom(*a, **k):
        raise RuntimeError("database exploded: password=hunter2")

    monkeypatch.setattr(users, "me", boom)
    h = auth(await login(client, "acme", "member@acme.example"))
    r = await client.get("/api/v1/me", headers=h)
    body = assert_problem(r, 500, "internal_error")
    assert "hunter2" not in r.text and "exploded" not in body["detail"]
