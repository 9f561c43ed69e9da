"""GET /api/v1/org/attention: what needs an admin's attention (the console's home), each
item for whoever may fix it, with the console page where it is fixed; old news left out."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from staffroom.chat.tables import Outbox
from staffroom.core import clock
from staffroom.core.tables import MailMessage
from tests.support.certs import rsa_signing_pair
from tests.support.flows import auth, code_now, enrol_totp, mfa_login
from tests.support.world import PASSWORD, World, assert_problem, bearer, login


async def _idp(client: httpx.AsyncClient, h: dict[str, str], folder: Path, name: str, **cert: int):
    pem = rsa_signing_pair(folder, name, **cert)[0].read_text()
    r = await client.post(
        "/api/v1/sso/idps",
        json={
            "name": name.title(),
            "entity_id": f"https://{name}.idp.test/saml",
            "sso_url": f"https://{name}.idp.test/sso",
            "certificates": [pem],
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    return r.json()


def unsolicited(issuer: str, org: str = "acme") -> str:
    """A response naming an IdP that nobody asked for and nobody signed."""
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" '
        'IssueInstant="2026-01-01T00:00:00Z" '
        f'Destination="https://staffroom.test/sso/{org}/saml/acs">'
        f"<saml:Issuer>{issuer}</saml:Issuer></samlp:Response>"
    )
    return base64.b64encode(xml.encode()).decode()


async def trouble(
    client: httpx.AsyncClient,
    world: World,
    folder: Path,
    h: dict[str, str],
    org: str = "acme",
    mfa: bool = False,
) -> Any:
    """One of each kind of item in an org (2FA required only with `mfa`: everyone without
    it could then only enrol)."""
    cast = getattr(world, org)
    r = await client.post("/api/v1/domains", json={"domain": f"{org}-corp.example"}, headers=h)
    assert r.status_code == 201, r.text
    soon = await _idp(client, h, folder, f"soon-{org}", days=10)
    await _idp(client, h, folder, f"gone-{org}", days=1, days_ago=3)
    for issuer in (soon["entity_id"], "https://stranger.test/saml"):
        r = await client.post(f"/sso/{org}/saml/acs", data={"SAMLResponse": unsolicited(issuer)})
        assert r.status_code == 303, r.text
    now = clock.utcnow()
    await Outbox.insert(
        Outbox(
            id=uuid.uuid4(),
            org=cast.id,
            position=1,
            target="pubnub",
            event="message.created",
            next_attempt_at=now,
            abandoned_at=now,
            created_at=now,
        )
    )
    # Waiting for their next try an hour from now (a mail worker running meanwhile, as the
    # browser tests' server does, leaves them alone).
    mail = {
        "subject": "Invitation",
        "template": "invite",
        "next_attempt_at": now + timedelta(hours=1),
    }
    await MailMessage.insert(
        MailMessage(
            id=uuid.uuid4(),
            org=cast.id,
            to_address="a@x.example",
            status="failed",
            created_at=now - timedelta(hours=3),
            **mail,
        ),
        MailMessage(
            id=uuid.uuid4(),
            org=cast.id,
            to_address="b@x.example",
            status="pending",
            created_at=now - timedelta(hours=2),
            **mail,
        ),
        MailMessage(
            id=uuid.uuid4(),
            org=cast.id,
            to_address="c@x.example",
            status="pending",
            created_at=now - timedelta(minutes=5),
            **mail,
        ),
        # Old news: failed weeks ago.
        MailMessage(
            id=uuid.uuid4(),
            org=cast.id,
            to_address="d@x.example",
            status="failed",
            created_at=now - timedelta(days=20),
            **mail,
        ),
    )
    if mfa:
        owner = await bearer(client, cast, "owner")
        r = await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
        assert r.status_code == 200, r.text
    return soon


async def _items(client: httpx.AsyncClient, h: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/org/attention", headers=h)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_an_it_admin_sees_each_problem_with_where_to_fix_it(
    client, world: World, tmp_path: Path
) -> None:
    h = await bearer(client, world.acme, "admin")
    assert await _items(client, h) == []
    secret, _ = await enrol_totp(client, h)
    soon = await trouble(client, world, tmp_path, h, mfa=True)
    signed_in = await mfa_login(client, "acme", "admin@acme.example", PASSWORD, code_now(secret))
    h = auth(signed_in.json())
    items = await _items(client, h)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(item)
    assert set(by_kind) == {
        "domain_unverified",
        "idp_certificate_expiring",
        "sso_failures",
        "relay_abandoned",
        "mail_failed",
        "mail_delayed",
        "mfa_missing",
    }
    # Critical first: the expired certificate and the mail given up on.
    assert [i["kind"] for i in items[:2]] == ["idp_certificate_expiring", "mail_failed"]
    assert items[0]["days_left"] < 0 and items[0]["subject"] == "Gone-Acme"
    (domain,) = by_kind["domain_unverified"]
    assert (domain["subject"], domain["link"]) == ("acme-corp.example", "/admin/domains")
    expiring = {i["subject"]: i for i in by_kind["idp_certificate_expiring"]}
    assert 8 <= expiring["Soon-Acme"]["days_left"] <= 10
    assert expiring["Soon-Acme"]["severity"] == "warning"
    assert expiring["Soon-Acme"]["link"] == f"/admin/sso/idps/{soon['id']}"
    failures = {(i["subject"], i["count"], i["link"]) for i in by_kind["sso_failures"]}
    assert failures == {("Soon-Acme", 1, "/admin/sso/doctor"), ("", 1, "/admin/sso/doctor")}
    (relay,) = by_kind["relay_abandoned"]
    assert (relay["count"], relay["link"]) == (1, None)
    (failed,) = by_kind["mail_failed"]
    (delayed,) = by_kind["mail_delayed"]
    assert (failed["count"], delayed["count"]) == (1, 1)
    assert delayed["link"] == "/admin/invites" and delayed["since"] is not None
    (mfa,) = by_kind["mfa_missing"]
    # Every active person of the org but the admin, who has set up 2FA.
    assert (mfa["count"], mfa["link"]) == (len(world.acme.people) - 1, "/admin/security")

    # A day later the failed sign-ins and the relay's events are old news.
    clock.travel(25 * 3600)
    signed_in = await mfa_login(client, "acme", "admin@acme.example", PASSWORD, code_now(secret))
    h = auth(signed_in.json())
    kinds = {i["kind"] for i in await _items(client, h)}
    assert "sso_failures" not in kinds and "relay_abandoned" not in kinds
    assert "domain_unverified" in kinds


async def test_the_home_and_the_security_settings_count_the_same_people_without_2fa(
    client, world: World
) -> None:
    """The home's 2FA item and the security settings' figure are one count: active people
    only, an enrolled one not among them, another org's not either."""
    h = await bearer(client, world.acme, "admin")
    secret, _ = await enrol_totp(client, h)
    await enrol_totp(client, auth(await login(client, "acme", "member@acme.example")))
    r = await client.post(f"/api/v1/users/{world.acme['editor'].id}/deactivate", headers=h)
    assert r.status_code == 200, r.text
    owner = await bearer(client, world.acme, "owner")
    r = await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
    assert r.status_code == 200, r.text
    signed_in = await mfa_login(client, "acme", "admin@acme.example", PASSWORD, code_now(secret))
    h = auth(signed_in.json())
    (item,) = [i for i in await _items(client, h) if i["kind"] == "mfa_missing"]
    security = (await client.get("/api/v1/org/security", headers=h)).json()["mfa"]
    people = len(world.acme.people)
    assert security == {"active": people - 1, "enrolled": 2, "not_enrolled": people - 3}
    assert item["count"] == security["not_enrolled"]


async def test_each_role_sees_only_what_it_may_fix(client, world: World, tmp_path: Path) -> None:
    await trouble(client, world, tmp_path, await bearer(client, world.acme, "admin"))
    hr = await _items(client, await bearer(client, world.acme, "hr_admin"))
    assert {i["kind"] for i in hr} == {"mail_failed", "mail_delayed"}
    owner = await _items(client, await bearer(client, world.acme, "owner"))
    assert len({i["kind"] for i in owner}) == 6  # 2FA is not required here
    for role in ("editor", "member", "guest"):
        r = await client.get(
            "/api/v1/org/attention", headers=await bearer(client, world.acme, role)
        )
        assert_problem(r, 403, "missing_permission")
    r = await client.get("/api/v1/org/attention")
    assert_problem(r, 401)
