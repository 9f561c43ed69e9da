"""T8: email-domain binding by DNS TXT proof, and the domain rule on every path."""

from __future__ import annotations

from staffroom.accounts.tables import OrgDomain, User
from staffroom.core.tables import AuditEvent
from staffroom.onboarding.tables import DomainBinding
from tests.support.flows import auth, mailed_token
from tests.support.world import World, assert_problem, login


async def _it(client, org="acme"):
    return auth(await login(client, org, f"admin@{org}.example"))


async def claim(client, h, domain="acme.example", **extra):
    return await client.post("/api/v1/domains", json={"domain": domain, **extra}, headers=h)


async def bind(client, h, dns_zone, domain="acme.example", **extra) -> dict:
    """Claim, publish the TXT record, verify: a verified binding."""
    r = await claim(client, h, domain, **extra)
    assert r.status_code == 201, r.text
    record = r.json()["verification"]
    dns_zone.setdefault(record["name"], []).append(record["value"])
    r = await client.post(f"/api/v1/domains/{r.json()['id']}/verify", headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def orgs_for(client, email: str) -> list[str]:
    r = await client.post("/api/v1/auth/discover", json={"email": email})
    assert r.status_code == 200, r.text
    return [o["slug"] for o in r.json()["orgs"]]


async def test_claim_answers_with_the_txt_record_and_normalises_the_name(
    client, world: World
) -> None:
    h = await _it(client)
    r = await claim(client, h, "  ACME.Example. ")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["domain"] == "acme.example" and body["status"] == "pending"
    record = body["verification"]
    assert record["type"] == "TXT" and record["name"] == "acme.example"
    assert record["value"].startswith("staffroom-verification=") and len(record["value"]) > 40
    assert_problem(await claim(client, h, "acme.EXAMPLE"), 409, "domain_exists")
    # Unverified: nothing binds, discovery knows nothing.
    assert await orgs_for(client, "jane@acme.example") == []
    assert not await OrgDomain.exists().where(OrgDomain.domain == "acme.example")


async def test_verify_fails_clearly_without_the_record_and_binds_with_it(
    client, world: World, dns_zone
) -> None:
    h = await _it(client)
    claimed = (await claim(client, h)).json()
    r = await client.post(f"/api/v1/domains/{claimed['id']}/verify", headers=h)
    body = assert_problem(r, 422, "domain_not_verified")
    assert "acme.example" in body["detail"]
    assert body["reason"] == "missing" and body["found"] == []
    dns_zone["acme.example"] = ["v=spf1 -all", "staffroom-verification=someone-elses-value"]
    r = await client.post(f"/api/v1/domains/{claimed['id']}/verify", headers=h)
    body = assert_problem(r, 422, "domain_not_verified")
    assert "another value" in body["detail"]
    # A client shows the reason in its own words and what was found, without parsing detail.
    assert body["reason"] == "wrong_value"
    assert body["found"] == ["v=spf1 -all", "staffroom-verification=someone-elses-value"]
    shown = (await client.get(f"/api/v1/domains/{claimed['id']}", headers=h)).json()
    assert shown["status"] == "pending" and "another value" in shown["last_check_error"]
    assert await orgs_for(client, "jane@acme.example") == []
    dns_zone["acme.example"].append(claimed["verification"]["value"])
    r = await client.post(f"/api/v1/domains/{claimed['id']}/verify", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text
    assert r.json()["last_check_error"] == ""
    assert await orgs_for(client, "Jane@ACME.example") == ["acme"]
    outcomes = [
        e["outcome"]
        for e in await AuditEvent.select()
        .where(AuditEvent.action == "domain.verified")
        .order_by(AuditEvent.created_at)
    ]
    assert outcomes == ["failure", "failure", "success"]


async def test_free_mail_public_suffixes_and_non_domains_cannot_be_claimed(
    client, world: World
) -> None:
    h = await _it(client)
    for domain in ("gmail.com", "GMail.com", "mail.gmail.com", "outlook.de", "proton.me"):
        assert_problem(await claim(client, h, domain), 422, "freemail_domain")
    for domain in ("co.uk", "com", "github.io"):
        assert_problem(await claim(client, h, domain), 422)
    for domain in ("acme", "*.acme.com", "jane@acme.com", "https://acme.com", "a..b.com", "-x.com"):
        assert_problem(await claim(client, h, domain), 422, "invalid_domain")
    assert await DomainBinding.count() == 0


async def test_a_domain_belongs_to_one_org_the_first_to_prove_it(
    client, world: World, dns_zone
) -> None:
    acme, globex = await _it(client), await _it(client, "globex")
    # Both may claim (nobody can squat a name they do not control) …
    squatter = (await claim(client, globex)).json()
    await bind(client, acme, dns_zone)
    # … but only the one that proves it binds it; the other is told.
    r = await client.post(f"/api/v1/domains/{squatter['id']}/verify", headers=globex)
    assert_problem(r, 409, "domain_taken")
    assert_problem(await claim(client, globex, "acme.example"), 409)
    assert await orgs_for(client, "jane@acme.example") == ["acme"]
    # Nor can anyone bind a subdomain of a tree another org covers.
    await client.patch(
        f"/api/v1/domains/{(await _ids(acme, client))[0]}",
        json={"allow_subdomains": True},
        headers=acme,
    )
    assert_problem(await claim(client, globex, "eu.acme.example"), 409, "domain_taken")


async def _ids(h, client) -> list[str]:
    return [d["id"] for d in (await client.get("/api/v1/domains", headers=h)).json()["items"]]


async def test_subdomains_only_when_allowed_and_lookalikes_never(
    client, world: World, dns_zone
) -> None:
    h = await _it(client)
    bound = await bind(client, h, dns_zone)
    assert await orgs_for(client, "jane@eu.acme.example") == []
    for lookalike in (
        "jane@acme.example.evil.com",
        "jane@evilacme.example",
        "jane@acme.exampl",
        "jane@xn--cme-5cd.example",  # CYRILLIC SMALL LETTER A in place of the Latin a
        "jane@\u0430cme.example",
    ):
        assert await orgs_for(client, lookalike) == [], lookalike
    r = await client.patch(
        f"/api/v1/domains/{bound['id']}", json={"allow_subdomains": True}, headers=h
    )
    assert r.status_code == 200 and r.json()["allow_subdomains"] is True
    assert await orgs_for(client, "jane@eu.acme.example") == ["acme"]
    assert await orgs_for(client, "jane@a.b.acme.example") == ["acme"]
    assert await orgs_for(client, "jane@acme.example.evil.com") == []


async def test_a_branch_held_by_another_org_blocks_covering_the_tree(
    client, world: World, dns_zone
) -> None:
    acme, globex = await _it(client), await _it(client, "globex")
    await bind(client, globex, dns_zone, "labs.acme.example")
    bound = await bind(client, acme, dns_zone)
    r = await client.patch(
        f"/api/v1/domains/{bound['id']}", json={"allow_subdomains": True}, headers=acme
    )
    assert_problem(r, 409, "subdomain_bound_elsewhere")
    assert await orgs_for(client, "kim@labs.acme.example") == ["globex"]


async def test_a_homoglyph_domain_is_a_different_domain(client, world: World) -> None:
    h = await _it(client)
    r = await claim(client, h, "\u0430cme.example")  # CYRILLIC SMALL LETTER A
    assert r.status_code == 201 and r.json()["domain"] == "xn--cme-5cd.example"


async def test_removing_a_domain_unbinds_it_and_keeps_members(
    client, world: World, dns_zone
) -> None:
    h = await _it(client)
    bound = await bind(client, h, dns_zone)
    r = await client.delete(f"/api/v1/domains/{bound['id']}", headers=h)
    assert r.status_code == 204
    assert await orgs_for(client, "jane@acme.example") == []
    assert await OrgDomain.count() == 0
    me = await client.get(
        "/api/v1/me", headers=auth(await login(client, "acme", "member@acme.example"))
    )
    assert me.status_code == 200


async def test_dns_trouble_is_a_503_and_binds_nothing(client, world: World, settings) -> None:
    from tests.support.apps import app_client

    async with app_client(settings, dns_nameservers=("127.0.0.1:9",), dns_timeout=0.5) as other:
        h = auth(await login(other, "acme", "admin@acme.example"))
        claimed = (await claim(other, h)).json()
        r = await other.post(f"/api/v1/domains/{claimed['id']}/verify", headers=h)
        assert_problem(r, 503, "dns_unavailable")
    assert await OrgDomain.count() == 0


async def test_defaults_of_a_binding_are_checked_against_the_admins_powers(
    client, world: World
) -> None:
    hr_group = await client.post(
        "/api/v1/groups", json={"name": "Office"}, headers=await _it(client)
    )
    h = await _it(client)
    assert_problem(await claim(client, h, default_role="owner"), 403, "owner_only")
    assert_problem(await claim(client, h, default_role="nonsense"), 422, "unknown_role")
    globex_group = (
        await client.post("/api/v1/groups", json={"name": "G"}, headers=await _it(client, "globex"))
    ).json()
    r = await claim(client, h, default_group_ids=[globex_group["id"]])
    assert_problem(r, 422, "unknown_group")
    r = await claim(client, h, default_role="editor", default_group_ids=[hr_group.json()["id"]])
    assert r.status_code == 201 and r.json()["default_role"] == "editor"
    member = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(await claim(client, member, "other.example"), 403)
    assert await DomainBinding.count() == 1


async def test_a_restricted_org_takes_only_its_domains_on_every_path(
    client, world: World, dns_zone
) -> None:
    h = await _it(client)
    await bind(client, h, dns_zone)
    r = await client.post("/api/v1/invites", json={"email": "temp@gmail.com"}, headers=h)
    assert r.status_code == 201  # allowed before the org restricts itself
    early_token = await mailed_token("temp@gmail.com", "invite")
    r = await client.patch("/api/v1/org", json={"restrict_email_domains": True}, headers=h)
    assert r.status_code == 200 and r.json()["restrict_email_domains"] is True
    # Invite one by one.
    r = await client.post("/api/v1/invites", json={"email": "x@acme.example.evil.com"}, headers=h)
    assert_problem(r, 422, "email_domain_not_allowed")
    r = await client.post("/api/v1/invites", json={"email": "x@ACME.example"}, headers=h)
    assert r.status_code == 201
    # Invite from CSV: judged row by row.
    csv = b"email\nok@acme.example\nnope@gmail.com\nsub@eu.acme.example\n"
    r = await client.post(
        "/api/v1/invites/import", params={"dry_run": "true"}, content=csv, headers=h
    )
    assert [row["outcome"] for row in r.json()["rows"]] == [
        "invite",
        "domain_not_allowed",
        "domain_not_allowed",
    ]
    # Accept a link sent before the restriction.
    r = await client.post(
        f"/api/v1/public/invites/{early_token}/accept",
        json={"display_name": "Temp", "password": "Quarry-Meadow-Tinsel-58"},
    )
    assert_problem(r, 422, "email_domain_not_allowed")
    assert not await User.exists().where(User.email == "temp@gmail.com")
