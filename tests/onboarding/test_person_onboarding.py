"""A person's page: the codes bound to them, invitations to their address and how many
invitations they sent are still pending (what deactivating them withdraws)."""

from __future__ import annotations

from staffroom.accounts.tables import User
from tests.support.flows import auth
from tests.support.world import World, assert_problem, bearer, login


async def test_codes_bound_to_a_person_and_invitations_they_sent(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    r = await client.post(
        "/api/v1/access-codes",
        json={"label": "Depot", "people": [{"employee_id": "E-9", "display_name": "Nina Neu"}]},
        headers=hr,
    )
    assert r.status_code == 201, r.text
    nina = await User.select().where(User.employee_id == "E-9").first()
    for email in ("a@acme.example", "b@acme.example"):
        assert (await client.post("/api/v1/invites", json={"email": email}, headers=hr)).is_success

    body = (await client.get(f"/api/v1/users/{nina['id']}/onboarding", headers=hr)).json()
    assert body["invites"] == [] and body["invites_sent_pending"] == 0
    assert [(c["employee_id"], c["status"], c["seq"]) for c in body["codes"]] == [
        ("E-9", "unused", 1)
    ]
    hr_id = world.acme["hr_admin"].id
    body = (await client.get(f"/api/v1/users/{hr_id}/onboarding", headers=hr)).json()
    assert body["invites_sent_pending"] == 2 and body["codes"] == []
    # Deactivating Nina withdraws her card, as the page says it will.
    await client.post(f"/api/v1/users/{nina['id']}/deactivate", headers=hr)
    body = (await client.get(f"/api/v1/users/{nina['id']}/onboarding", headers=hr)).json()
    assert [c["status"] for c in body["codes"]] == ["revoked"]

    member = await bearer(client, world.acme, "member")
    r = await client.get(f"/api/v1/users/{nina['id']}/onboarding", headers=member)
    assert_problem(r, 403, "missing_permission")


async def test_invitations_to_a_persons_address(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    r = await client.post("/api/v1/invites", json={"email": "ola@acme.example"}, headers=hr)
    invite = r.json()
    member = world.acme["member"].id
    body = (await client.get(f"/api/v1/users/{member}/onboarding", headers=hr)).json()
    assert body["invites"] == []
    await User.update({User.email: "ola@acme.example"}).where(User.id == member)
    body = (await client.get(f"/api/v1/users/{member}/onboarding", headers=hr)).json()
    assert [(i["id"], i["status"]) for i in body["invites"]] == [(invite["id"], "pending")]
