"""Edges of HTTP found from outside: OPTIONS on every path, problem titles, integer and
date-time query parameters beyond what the database or a date can hold, and documented
error statuses."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.chat.helpers import group, heads
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


@pytest.mark.parametrize("param", ["before", "after"])
async def test_history_positions_beyond_a_bigint_are_refused(
    client, world: World, param: str
) -> None:
    (owner,) = await heads(client, world, "member")
    conversation = await group(client, world, owner, "admin")
    where = f"/api/v1/conversations/{conversation['id']}"
    r = await client.get(f"{where}/messages", params={param: TOO_BIG}, headers=owner)
    assert_problem(r, 422, "invalid_position")
    largest = await client.get(f"{where}/messages", params={param: 2**53 - 1}, headers=owner)
    assert largest.status_code == 200, largest.text
    read = await client.post(
        f"{where}/read",
        json={"seq": int(TOO_BIG)},
        headers={**owner, "content-type": "application/json"},
    )
    assert_problem(read, 400, "invalid_request")
    spec = (await client.get("/schema/openapi.json")).json()
    params = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["get"]["parameters"]
    schema = next(p["schema"] for p in params if p["name"] == param)
    assert schema["oneOf"][0]["maximum"] == 2**53 - 1
    assert_problem(await client.get(f"{where}/messages", params={param: 2**53}, headers=owner), 422)


async def test_audit_times_must_be_iso_8601_date_times(client, world: World) -> None:
    admin = await bearer(client, world.acme, "owner")
    for path in ("/api/v1/audit-events/export", "/api/v1/audit-events"):
        for value in ("0.5", "1700000000", "yesterday", "2024-13-01T00:00:00Z"):
            r = await client.get(path, params={"since": value}, headers=admin)
            assert_problem(r, 400, "invalid_request")
        r = await client.get(path, params={"since": "2024-01-01T00:00:00Z"}, headers=admin)
        assert r.status_code == 200, r.text
    r = await client.get("/api/v1/audit-events", params={"until": "0.5"}, headers=admin)
    assert_problem(r, 400, "invalid_request")
    spec = (await client.get("/schema/openapi.json")).json()
    params = spec["paths"]["/api/v1/audit-events/export"]["get"]["parameters"]
    assert next(p for p in params if p["name"] == "since")["schema"]["format"] == "date-time"


async def test_reactivating_an_erased_person_is_a_documented_409(client, world: World) -> None:
    owner = await bearer(client, world.acme, "owner")
    gone = world.acme["guest"].id
    erased = await client.post(
        f"/api/v1/users/{gone}/erase", json={"reason": "left; asked to be erased"}, headers=owner
    )
    assert erased.status_code == 204, erased.text
    r = await client.post(f"/api/v1/users/{gone}/reactivate", headers=owner)
    assert_problem(r, 409, "user_erased")
    spec = (await client.get("/schema/openapi.json")).json()
    assert "409" in spec["paths"]["/api/v1/users/{user_id}/reactivate"]["post"]["responses"]


async def test_idempotent_creations_document_their_200(client) -> None:
    # Found by make fuzz: a retried send (same client_msg_id) answers 200, and so does
    # starting a direct conversation that exists; both were documented as 201 only.
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("/api/v1/conversations", "/api/v1/conversations/{conversation_id}/messages"):
        responses = paths[path]["post"]["responses"]
        assert {"200", "201"} <= set(responses), path
        assert responses["200"]["content"]["application/json"]["schema"], path


async def test_body_date_times_are_iso_8601_strings_only(client, world: World) -> None:
    """A number is no date-time (Litestar's lenient conversion read 0 as 1970; found by
    make fuzz as the admin), and nothing is created or changed by the refusal."""
    editor = await bearer(client, world.acme, "editor")
    channel = (await client.post("/api/v1/channels", json={"name": "News"}, headers=editor)).json()
    posts = f"/api/v1/channels/{channel['id']}/posts"
    for field in ("publish_at", "expires_at", "ack_due_at"):
        for bad in (0, 1764755000.5, "yesterday"):
            r = await client.post(
                posts, json={"title": "T", "body": "B", field: bad}, headers=editor
            )
            assert_problem(r, 400)
    assert (await client.get(posts, headers=editor)).json()["items"] == []
    r = await client.post(
        posts,
        json={
            "title": "T",
            "body": "B",
            "ack_due_at": "2031-01-02T03:04:05Z",
            "requires_ack": True,
        },
        headers=editor,
    )
    assert r.status_code == 201, r.text
    assert r.json()["ack_due_at"] == "2031-01-02T03:04:05Z"
    post = f"/api/v1/posts/{r.json()['id']}"
    assert_problem(await client.patch(post, json={"ack_due_at": 0}, headers=editor), 400)
    assert (await client.get(post, headers=editor)).json()["ack_due_at"] == "2031-01-02T03:04:05Z"
    r = await client.patch(post, json={"ack_due_at": "2032-01-01T00:00:00+01:00"}, headers=editor)
    assert r.status_code == 200, r.text
    assert r.json()["ack_due_at"] == "2031-12-31T23:00:00Z"
