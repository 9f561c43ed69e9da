"""Two orgs with users of every built-in role: the standard cast of the tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from staffroom.accounts.passwords import hash_password
from staffroom.accounts.service import members, orgs
from staffroom.accounts.tables import User

PASSWORD = "Plum-Harbour-Lantern-42"


@dataclass
class Person:
    id: uuid.UUID
    login: str
    role: str
    password: str = PASSWORD


@dataclass
class OrgCast:
    id: uuid.UUID
    slug: str
    people: dict[str, Person] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Person:
        return self.people[name]


@dataclass
class World:
    acme: OrgCast
    globex: OrgCast


async def add_user(
    rt: Any,
    org_id: uuid.UUID,
    *,
    email: str | None = None,
    username: str | None = None,
    role: str = "member",
    password: str | None = PASSWORD,
    name: str = "Test User",
) -> uuid.UUID:
    """Insert a user directly (bcrypt at the test cost)."""
    hashed = await members.hash_new_password(rt, password) if password else None
    row = await members.create_member(
        org_id,
        email=email,
        username=username,
        role=role,
        password_hash=hashed,
        display_name=name,
        group_ids=[],
        email_verified=email is not None,
    )
    return uuid.UUID(str(row["id"]))


async def _cast(rt: Any, slug: str) -> OrgCast:
    created, owner_id, _ = await orgs.create_org(rt, slug, slug.title(), f"owner@{slug}.example")
    hashed = await hash_password(rt.keys.pepper, PASSWORD, rt.settings.bcrypt_rounds)
    await User.update({User.password_hash: hashed}).where(User.id == owner_id)
    cast = OrgCast(id=created.id, slug=slug)
    cast.people["owner"] = Person(owner_id, f"owner@{slug}.example", "owner")
    for role in ("admin", "hr_admin", "editor", "member", "guest"):
        login = f"{role}@{slug}.example"
        cast.people[role] = Person(
            await add_user(rt, created.id, email=login, role=role, name=role.title()), login, role
        )
    cast.people["frontline"] = Person(
        await add_user(rt, created.id, username=f"floor-{slug}", role="member", name="Floor"),
        f"floor-{slug}",
        "member",
    )
    return cast


async def build_world(rt: Any) -> World:
    return World(acme=await _cast(rt, "acme"), globex=await _cast(rt, "globex"))


async def login(
    client: httpx.AsyncClient, org: str, login_: str, password: str = PASSWORD, **kw: Any
) -> dict[str, Any]:
    """Sign in and return the JSON body (asserting success)."""
    r = await client.post(
        "/api/v1/auth/login", json={"org": org, "login": login_, "password": password}, **kw
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def bearer(client: httpx.AsyncClient, org: OrgCast, who: str) -> dict[str, str]:
    """Authorization headers for one of the cast."""
    person = org[who]
    body = await login(client, org.slug, person.login, person.password)
    return {"Authorization": f"Bearer {body['access_token']}"}


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is problem+json with this status (and code)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    if code is not None:
        assert body["code"] == code, body
    return body
