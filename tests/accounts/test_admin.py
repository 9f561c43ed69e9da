"""Users, groups, roles and org settings: what HR and IT admins do."""

from __future__ import annotations

import uuid

from staffroom.accounts.tables import OrgDomain, User
from staffroom.core import clock
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login


async def _as(client, org: str, who: str) -> dict[str, str]:
    return auth(await login(client, org, f"{who}@{org}.example"))


async def test_directory_search_filters_and_pages(client, world: World) -> None:
    h = await _as(client, "acme", "member")
    r = await client.get("/api/v1/users", params={"q": "floor"}, headers=h)
    assert [u["username"] for u in r.json()["items"]] == ["floor-acme"]
    r = await client.get("/api/v1/users", params={"role": "editor"}, headers=h)
    assert [u["email"] for u in r.json()["items"]] == ["editor@acme.example"]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/users", params=params, headers=h)).json()
        seen += [u["id"] for u in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == len(set(seen)) == len(world.acme.people)
    globex_ids = {str(p.id) for p in world.globex.people.values()}
    assert not set(seen) & globex_ids


async def test_directory_search_finds_an_employee_id(client, world: World) -> None:
    # HR looks up frontline staff by the number on their badge, not only by name.
    await User.update({User.employee_id: "W-40417"}).where(User.id == world.acme["frontline"].id)
    h = await _as(client, "acme", "hr_admin")
    r = await client.get("/api/v1/users", params={"q": "w-4041"}, headers=h)
    assert [u["username"] for u in r.json()["items"]] == ["floor-acme"]
    assert r.json()["items"][0]["employee_id"] == "W-40417"
    # Another org's staff with the same number stay out of sight.
    await User.update({User.employee_id: "W-40417"}).where(User.id == world.globex["frontline"].id)
    r = await client.get("/api/v1/users", params={"q": "W-40417"}, headers=h)
    assert [u["id"] for u in r.json()["items"]] == [str(world.acme["frontline"].id)]


async def test_guest_cannot_see_the_directory(client, world: World) -> None:
    assert_problem(
        await client.get("/api/v1/users", headers=await _as(client, "acme", "guest")),
        403,
        "missing_permission",
    )


async def test_role_changes_respect_the_actors_powers(client, world: World) -> None:
    hr = await _as(client, "acme", "hr_admin")
    member = world.acme["member"]
    assert_problem(
        await client.patch(f"/api/v1/users/{member.id}", json={"role": "admin"}, headers=hr),
        403,
        "role_exceeds_own",
    )
    assert_problem(
        await client.patch(f"/api/v1/users/{member.id}", json={"role": "owner"}, headers=hr),
        403,
        "owner_only",
    )
    assert_problem(
        await client.patch(f"/api/v1/users/{member.id}", json={"role": "wizard"}, headers=hr),
        422,
        "unknown_role",
    )
    r = await client.patch(f"/api/v1/users/{member.id}", json={"role": "guest"}, headers=hr)
    assert r.status_code == 200 and r.json()["role"] == "guest"
    assert_problem(
        await client.patch(
            f"/api/v1/users/{world.acme['hr_admin'].id}", json={"role": "member"}, headers=hr
        ),
        403,
        "own_role",
    )
    member_h = await _as(client, "acme", "editor")
    assert_problem(
        await client.patch(f"/api/v1/users/{member.id}", json={"role": "member"}, headers=member_h),
        403,
        "missing_permission",
    )


async def test_last_owner_stays_and_only_owners_touch_owners(client, world: World) -> None:
    owner = world.acme["owner"]
    admin = await _as(client, "acme", "admin")
    assert_problem(
        await client.post(f"/api/v1/users/{owner.id}/deactivate", headers=admin), 403, "owner_only"
    )
    owner_h = await _as(client, "acme", "owner")
    assert_problem(
        await client.post(f"/api/v1/users/{owner.id}/deactivate", headers=owner_h),
        403,
        "deactivate_self",
    )
    r = await client.patch(
        f"/api/v1/users/{world.acme['admin'].id}", json={"role": "owner"}, headers=owner_h
    )
    assert r.json()["role"] == "owner"
    new_owner = await _as(client, "acme", "admin")
    r = await client.patch(f"/api/v1/users/{owner.id}", json={"role": "member"}, headers=new_owner)
    assert r.status_code == 200
    assert_problem(
        await client.post(f"/api/v1/users/{world.acme['admin'].id}/deactivate", headers=new_owner),
        403,
        "deactivate_self",
    )


async def test_me_lists_every_group_of_the_caller_and_only_theirs(client, world: World) -> None:
    hr = await _as(client, "acme", "hr_admin")
    gids = []
    for name in ("Night shift", "Berlin depot", "Forklift licence"):
        r = await client.post("/api/v1/groups", json={"name": name}, headers=hr)
        gids.append(r.json()["id"])
    member, frontline = str(world.acme["member"].id), str(world.acme["frontline"].id)
    for gid in gids[:2]:
        r = await client.post(
            f"/api/v1/groups/{gid}/members", json={"user_ids": [member]}, headers=hr
        )
        assert r.status_code in (200, 201), r.text
    r = await client.post(
        f"/api/v1/groups/{gids[2]}/members", json={"user_ids": [frontline]}, headers=hr
    )
    assert r.status_code in (200, 201), r.text
    me = (await client.get("/api/v1/me", headers=await _as(client, "acme", "member"))).json()
    # Each group once (one row per group comes back), the caller's only, in id order.
    assert me["group_ids"] == sorted(gids[:2])
    assert me["email"] == "member@acme.example" and me["org"]["slug"] == "acme"
    editor = (await client.get("/api/v1/me", headers=await _as(client, "acme", "editor"))).json()
    assert editor["group_ids"] == [] and editor["email"] == "editor@acme.example"


async def test_groups_crud_and_members(client, world: World) -> None:
    hr = await _as(client, "acme", "hr_admin")
    r = await client.post(
        "/api/v1/groups", json={"name": "Berlin depot", "kind": "location"}, headers=hr
    )
    assert r.status_code == 201
    gid = r.json()["id"]
    assert_problem(
        await client.post("/api/v1/groups", json={"name": "Berlin depot"}, headers=hr),
        409,
        "group_exists",
    )
    assert_problem(
        await client.post("/api/v1/groups", json={"name": "X", "kind": "planet"}, headers=hr), 400
    )
    ids = [str(world.acme["member"].id), str(world.acme["frontline"].id)]
    r = await client.post(f"/api/v1/groups/{gid}/members", json={"user_ids": ids}, headers=hr)
    assert r.json()["member_count"] == 2
    r = await client.post(f"/api/v1/groups/{gid}/members", json={"user_ids": ids[:1]}, headers=hr)
    assert r.json()["member_count"] == 2  # adding again changes nothing
    members = (await client.get(f"/api/v1/groups/{gid}/members", headers=hr)).json()["items"]
    assert sorted(m["id"] for m in members) == sorted(ids)
    user = (await client.get(f"/api/v1/users/{ids[0]}", headers=hr)).json()
    assert user["group_ids"] == [gid]
    r = await client.get("/api/v1/users", params={"group_id": gid}, headers=hr)
    assert len(r.json()["items"]) == 2
    assert (
        await client.delete(f"/api/v1/groups/{gid}/members/{ids[0]}", headers=hr)
    ).status_code == 204
    assert_problem(await client.delete(f"/api/v1/groups/{gid}/members/{ids[0]}", headers=hr), 404)
    r = await client.patch(f"/api/v1/groups/{gid}", json={"name": "Berlin hub"}, headers=hr)
    assert r.json()["name"] == "Berlin hub"
    r = await client.get("/api/v1/groups", params={"kind": "location"}, headers=hr)
    assert [g["name"] for g in r.json()["items"]] == ["Berlin hub"]
    assert (await client.delete(f"/api/v1/groups/{gid}", headers=hr)).status_code == 204
    assert_problem(await client.get(f"/api/v1/groups/{gid}", headers=hr), 404, "group_not_found")
    member_h = await _as(client, "acme", "member")
    assert_problem(
        await client.post("/api/v1/groups", json={"name": "Mine"}, headers=member_h), 403
    )


async def test_user_groups_can_be_replaced_by_patch(client, world: World) -> None:
    hr = await _as(client, "acme", "hr_admin")
    a = (await client.post("/api/v1/groups", json={"name": "A"}, headers=hr)).json()["id"]
    b = (await client.post("/api/v1/groups", json={"name": "B"}, headers=hr)).json()["id"]
    uid = world.acme["member"].id
    r = await client.patch(f"/api/v1/users/{uid}", json={"group_ids": [a, b]}, headers=hr)
    assert sorted(r.json()["group_ids"]) == sorted([a, b])
    r = await client.patch(f"/api/v1/users/{uid}", json={"group_ids": [b]}, headers=hr)
    assert r.json()["group_ids"] == [b]
    assert_problem(
        await client.patch(
            f"/api/v1/users/{uid}", json={"group_ids": [str(uuid.uuid4())]}, headers=hr
        ),
        422,
        "unknown_group",
    )
    assert (await client.get(f"/api/v1/users/{uid}", headers=hr)).json()["group_ids"] == [b]


async def test_custom_roles(client, world: World) -> None:
    admin = await _as(client, "acme", "admin")
    body = {
        "key": "shift_lead",
        "name": "Shift lead",
        "permissions": ["feeds.read", "feeds.publish"],
    }
    r = await client.post("/api/v1/roles", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["builtin"] is False
    assert_problem(await client.post("/api/v1/roles", json=body, headers=admin), 409, "role_exists")
    assert_problem(
        await client.post(
            "/api/v1/roles", json=body | {"key": "x2", "permissions": ["root"]}, headers=admin
        ),
        422,
        "unknown_permission",
    )
    assert_problem(
        await client.post("/api/v1/roles", json=body | {"key": "owner"}, headers=admin), 409
    )
    assert_problem(
        await client.post("/api/v1/roles", json=body | {"key": "Bad Key"}, headers=admin), 400
    )
    uid = world.acme["member"].id
    assert (
        await client.patch(f"/api/v1/users/{uid}", json={"role": "shift_lead"}, headers=admin)
    ).status_code == 200
    lead = await _as(client, "acme", "member")
    me = (await client.get("/api/v1/me", headers=lead)).json()
    assert me["role"] == "shift_lead" and me["permissions"] == ["feeds.publish", "feeds.read"]
    assert_problem(
        await client.delete("/api/v1/roles/shift_lead", headers=admin), 409, "role_in_use"
    )
    r = await client.patch(
        "/api/v1/roles/shift_lead", json={"permissions": ["feeds.read"]}, headers=admin
    )
    assert r.json()["permissions"] == ["feeds.read"]
    assert (await client.get("/api/v1/me", headers=lead)).json()["permissions"] == ["feeds.read"]
    keys = [r["key"] for r in (await client.get("/api/v1/roles", headers=admin)).json()["items"]]
    assert (
        keys[:6] == ["owner", "admin", "hr_admin", "editor", "member", "guest"]
        and "shift_lead" in keys
    )
    hr = await _as(client, "acme", "hr_admin")
    assert_problem(await client.post("/api/v1/roles", json=body | {"key": "hr2"}, headers=hr), 403)


async def test_org_settings(client, world: World) -> None:
    member = await _as(client, "acme", "member")
    assert (await client.get("/api/v1/org", headers=member)).json()["slug"] == "acme"
    assert_problem(
        await client.patch("/api/v1/org", json={"require_mfa": True}, headers=member), 403
    )
    owner = await _as(client, "acme", "owner")
    r = await client.patch(
        "/api/v1/org", json={"name": "Acme GmbH", "default_locale": "de"}, headers=owner
    )
    assert r.json()["name"] == "Acme GmbH" and r.json()["default_locale"] == "de"
    assert_problem(
        await client.patch("/api/v1/org", json={"default_locale": "xx"}, headers=owner), 400
    )


async def test_me_profile(client, world: World) -> None:
    h = await _as(client, "acme", "member")
    r = await client.patch(
        "/api/v1/me", json={"display_name": "  Mia Member  ", "locale": "de"}, headers=h
    )
    assert r.json()["display_name"] == "Mia Member" and r.json()["locale"] == "de"
    assert_problem(await client.patch("/api/v1/me", json={"display_name": ""}, headers=h), 400)
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert me["org"]["slug"] == "acme" and "chat.use" in me["permissions"]


async def test_discovery_by_verified_domain_only(client, world: World) -> None:
    now = clock.utcnow()
    await OrgDomain.insert(
        OrgDomain(
            id=uuid.uuid4(),
            org=world.acme.id,
            domain="acme.example",
            verified_at=now,
            created_at=now,
        ),
        OrgDomain(
            id=uuid.uuid4(),
            org=world.globex.id,
            domain="globex.example",
            verified_at=None,
            created_at=now,
        ),
    )
    known = (
        await client.post("/api/v1/auth/discover", json={"email": "member@ACME.example"})
    ).json()
    unknown = (
        await client.post("/api/v1/auth/discover", json={"email": "stranger@acme.example"})
    ).json()
    assert (
        known["orgs"]
        == unknown["orgs"]
        == [{"slug": "acme", "name": "Acme", "methods": ["password"]}]
    )
    assert (await client.post("/api/v1/auth/discover", json={"email": "x@globex.example"})).json()[
        "orgs"
    ] == []
    assert (
        await client.post("/api/v1/auth/discover", json={"email": "x@sub.acme.example"})
    ).json()["orgs"] == []
    assert (
        await client.post("/api/v1/auth/discover", json={"email": "x@acme.example.evil.com"})
    ).json()["orgs"] == []
    assert_problem(
        await client.post("/api/v1/auth/discover", json={"email": "not-an-address"}),
        422,
        "invalid_email",
    )


async def test_blank_names_are_refused(client, world: World) -> None:
    h = await _as(client, "acme", "hr_admin")
    assert_problem(
        await client.patch("/api/v1/me", json={"display_name": "   "}, headers=h),
        422,
        "invalid_display_name",
    )
    assert_problem(
        await client.post("/api/v1/groups", json={"name": " \t "}, headers=h), 422, "invalid_name"
    )
    r = await client.patch("/api/v1/me", json={"display_name": "  Hana   Rossi "}, headers=h)
    assert r.json()["display_name"] == "Hana Rossi"
