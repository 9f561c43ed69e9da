"""Edges of HTTP found from outside: OPTIONS on every path, problem titles, integer and
date-time query parameters beyond what the database or a date can hold, and documented
error statuses."""

from __future__ import annotations

import re
import uuid

from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.support.world import World, assert_problem, bearer

_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
TOO_BIG = "99999999999999999999999"  # over any bigint (2**53 - 1)


def _concrete(template: str) -> str:
    """A path of this template, with made-up values (nothing needs to exist)."""
    return _PARAM.sub(lambda m: str(uuid.uuid4()) if m.group(2) == "uuid" else "acme", template)


async def test_options_answers_every_method_of_every_path_anonymously(
    app: Litestar, client
) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    routes = [r for r in app.routes if isinstance(r, HTTPRoute)]
    assert len(routes) > 80
    wrong = []
    for route in routes:
        r = await client.options(_concrete(route.path))
        expected = ", ".join(sorted(route.methods))
        if r.status_code != 204 or r.headers.get("allow") != expected:
            wrong.append(f"{route.path}: {r.status_code} {r.headers.get('allow')} {r.text[:100]}")
    assert not wrong, "\n".join(wrong)
    # The documented methods, e.g. GET and POST on /api/v1/groups (it said OPTIONS, POST).
    allow = (await client.options("/api/v1/groups")).headers["allow"]
    assert allow == "GET, OPTIONS, POST"
    documented = {m.upper() for m in spec["paths"]["/api/v1/groups"]}
    assert documented <= set(allow.split(", "))


async def test_options_with_a_token_still_answers_the_methods(client, world: World) -> None:
    member = await bearer(client, world.acme, "member")
    r = await client.options("/api/v1/invites", headers=member)  # a route members may not use
    assert r.status_code == 204
    assert r.headers["allow"] == "GET, OPTIONS, POST"


async def test_problem_titles_are_http_reason_phrases(client, world: World) -> None:
    assert assert_problem(await client.get("/api/v1/nope"), 404)["title"] == "Not Found"
    put = await client.put("/api/v1/auth/login", json={})
    assert assert_problem(put, 405)["title"] == "Method Not Allowed"
    bad = await client.post("/api/v1/auth/login", json={"org": "acme"})
    assert assert_problem(bad, 400)["title"] == "Bad Request"
    assert assert_problem(await client.get("/api/v1/me"), 401)["title"] == "Unauthorized"
    admin = await bearer(client, world.acme, "admin")
    missing = await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=admin)
    assert assert_problem(missing, 404, "user_not_found")["title"] == "Not Found"
