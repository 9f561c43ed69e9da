"""The bad-input catalogue, sent to every write route of the route table (a new route is
covered without anyone writing a test for it): a clear 4xx problem, never a 500.

Stored-value safety for the same inputs (sanitised HTML, formula-safe CSV, file names
that never become paths, confusable addresses) is tested where each is stored: feeds
(nh3), CSV exports and imports, media and access-code sheets, email normalisation.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.support.tenancy import FACTORIES
from tests.support.world import World, login

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
JSON = {"content-type": "application/json"}

# "admin" whose first letter is the Cyrillic U+0430: it looks like the real address.
CONFUSABLE = "\u0430dmin@acme.example"
CATALOGUE: list[tuple[str, bytes, dict[str, str]]] = [
    ("malformed JSON", b'{"name": "x",', JSON),
    ("truncated JSON", b'{"name": "Dep', JSON),
    ("not an object", b"[1, 2, 3]", JSON),
    ("a bare string", b'"hello"', JSON),
    ("null body", b"null", JSON),
    (
        "nulls everywhere",
        json.dumps(
            {
                k: None
                for k in (
                    "name",
                    "email",
                    "title",
                    "body",
                    "org",
                    "login",
                    "password",
                    "role",
                    "user_ids",
                    "scopes",
                )
            }
        ).encode(),
        JSON,
    ),
    (
        "wrong types",
        json.dumps(
            {
                "name": 5,
                "email": ["a"],
                "title": {},
                "body": True,
                "user_ids": "x",
                "count": "many",
                "org": 1,
            }
        ).encode(),
        JSON,
    ),
    ("huge string", json.dumps({"name": "x" * 1_100_000}).encode(), JSON),
    ("deep nesting", b"[" * 5_000 + b"]" * 5_000, JSON),
    ("invalid UTF-8", b'{"name": "\xff\xfe\xfd", "title": "\xc3\x28"}', JSON),
    (
        "NUL bytes",
        json.dumps(
            {
                "name": "a\u0000b",
                "email": "x\u0000@acme.example",
                "title": "\u0000",
                "body": "\u0000",
                "org": "acme\u0000",
                "login": "\u0000",
            }
        ).encode(),
        JSON,
    ),
    (
        "confusable email",
        json.dumps({"email": CONFUSABLE, "login": CONFUSABLE, "org": "acme"}).encode(),
        JSON,
    ),
    (
        "path traversal",
        json.dumps(
            {
                "filename": "../../../etc/passwd",
                "name": "../../x",
                "content_type": "image/png",
                "size": 10,
            }
        ).encode(),
        JSON,
    ),
    (
        "formula cells",
        b'email,display_name\n=HYPERLINK("http://evil"),@SUM(1)\n',
        {"content-type": "text/csv"},
    ),
    (
        "xss",
        json.dumps(
            {
                "name": "<script>alert(1)</script>",
                "title": "<img src=x onerror=alert(1)>",
                "body": "<svg onload=alert(1)>",
                "display_name": '"><script>',
            }
        ).encode(),
        JSON,
    ),
    (
        "wrong content type",
        b"name=x&title=y",
        {"content-type": "application/x-www-form-urlencoded"},
    ),
    ("no content type", b'{"name": "x"}', {}),
]

# Routes that take a body (DELETE routes read none).
WRITES = {"POST", "PUT", "PATCH"}
# The OAuth protocol endpoints answer errors as RFC 6749 requires: JSON with `error`.
RFC_6749 = {"/api/v1/oauth/token", "/api/v1/oauth/revoke", "/api/v1/oauth/introspect"}


def _write_routes(app: Litestar) -> list[tuple[str, str, list[str]]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods & WRITES):
                found.append((method, route.path, _PARAM.findall(route.path)))
    return found


# Once per make test, on the SQLite run (the PostgreSQL run does the contract fuzzing).
pytestmark = pytest.mark.skipif(
    os.environ.get("STAFFROOM_TEST_DB", "sqlite") != "sqlite",
    reason="the bad-input sweep runs once per make test, on the SQLite run",
)


async def _session(client) -> dict[str, str]:
    owner = await login(client, "acme", "owner@acme.example")
    return {"Authorization": f"Bearer {owner['access_token']}"}


async def test_no_write_route_answers_bad_input_with_a_server_error(
    app: Litestar, client, world: World
):
    routes = _write_routes(app)
    assert len(routes) > 50
    failures = []
    for method, template, params in routes:
        values = {
            p: await FACTORIES[p](world, client) if p in FACTORIES else "acme" for p in params
        }
        path = _PARAM.sub(lambda m, v=values: v[m.group(1)], template)
        auth = await _session(client)
        for name, body, headers in CATALOGUE:
            r = await client.request(method, path, content=body, headers=headers | auth)
            if r.status_code == 401 and template != "/api/v1/auth/logout":
                # The route logged the caller out (logout, session revocation): again.
                auth = await _session(client)
                r = await client.request(method, path, content=body, headers=headers | auth)
            if r.status_code >= 500:
                failures.append(f"{method} {template} [{name}] -> {r.status_code} {r.text[:200]}")
            elif r.status_code >= 400 and template in RFC_6749:
                # (The edge guard's refusals, before any route, stay problem+json.)
                kind = r.headers["content-type"]
                assert kind.startswith(("application/json", "application/problem+json")), kind
                assert r.json().get("error") or r.json().get("code"), (template, name)
            elif r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), (
                    method,
                    template,
                    name,
                    r.headers["content-type"],
                )
    assert not failures, "\n".join(failures)
