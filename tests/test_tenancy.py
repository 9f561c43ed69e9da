"""T6 (foundation part): tenant isolation on every id-bearing route; no mass assignment."""

from __future__ import annotations

from staffroom.accounts.tables import Org, User
from tests.support.flows import auth
from tests.support.tenancy import assert_other_org_gets_404, id_routes
from tests.support.world import World, assert_problem, login


async def test_every_route_with_an_id_answers_404_to_another_org(app, client, world: World) -> None:
    checked = await assert_other_org_gets_404(app, client, world)
    assert checked == len(id_routes(app)) >= 12


async def test_bodies_cannot_set_org_role_or_ids(client, world: World) -> None:
    member = world.acme["member"]
    h = auth(await login(client, "acme", member.login))
    before = await User.select().where(User.id == member.id).first()
    for body in (
        {"role": "owner"},
        {"org": str(world.globex.id)},
        {"id": str(world.acme["owner"].id)},
        {"status": "active", "display_name": "x"},
        {"email": "ceo@acme.example"},
    ):
        assert_problem(
            await client.patch("/api/v1/me", json=body, headers=h), 400, "invalid_request"
        )
    assert await User.select().where(User.id == member.id).first() == before
    admin = auth(await login(client, "acme", "admin@acme.example"))
    r = await client.post(
        "/api/v1/groups", json={"name": "Ops", "org": str(world.globex.id)}, headers=admin
    )
    assert_problem(r, 400, "invalid_request")
    r = await client.patch(
        "/api/v1/org", json={"slug": "taken", "id": str(world.globex.id)}, headers=admin
    )
    assert_problem(r, 400, "invalid_request")
    assert (await Org.select(Org.slug).where(Org.id == world.acme.id).first())["slug"] == "acme"


async def test_ids_of_another_org_in_bodies_are_refused(client, world: World) -> None:
    admin = auth(await login(client, "acme", "admin@acme.example"))
    group = (await client.post("/api/v1/groups", json={"name": "Warehouse"}, headers=admin)).json()
    r = await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(world.globex["member"].id)]},
        headers=admin,
    )
    assert_problem(r, 422, "unknown_user")
    globex_admin = auth(await login(client, "globex", "admin@globex.example"))
    foreign = (
        await client.post("/api/v1/groups", json={"name": "Foreign"}, headers=globex_admin)
    ).json()
    r = await client.patch(
        f"/api/v1/users/{world.acme['member'].id}",
        json={"group_ids": [foreign["id"]]},
        headers=admin,
    )
    assert_problem(r, 422, "unknown_group")


async def test_the_attention_list_shows_the_callers_org_only(
    client, world: World, tmp_path
) -> None:
    from tests.attention.test_attention import trouble

    await trouble(client, world, tmp_path, auth(await login(client, "acme", "admin@acme.example")))
    acme = auth(await login(client, "acme", "admin@acme.example"))
    assert len((await client.get("/api/v1/org/attention", headers=acme)).json()["items"]) >= 6
    # Globex's owner sees nothing of it, whatever the kind (all of them are org data).
    globex = auth(await login(client, "globex", "owner@globex.example"))
    r = await client.get("/api/v1/org/attention", headers=globex)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []
