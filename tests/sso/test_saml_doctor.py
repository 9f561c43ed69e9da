"""The SSO doctor's buckets: an IdP's real attempts (its signature on them) apart from the
unsigned posts anyone can make naming it, which are rate-limited and listed separately."""

from __future__ import annotations

import base64
from datetime import timedelta

from staffroom.core import clock
from staffroom.sso.tables import SsoAttempt
from tests.sso.conftest import admin, configure, post_acs, start
from tests.sso.test_saml_attacks import _edit, _set_times, _xml
from tests.support.idp import TestIdp
from tests.support.world import World

XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"


async def _doctor(client, idp_id: str, unsigned: bool = False) -> dict:
    r = await client.get(
        f"/api/v1/sso/idps/{idp_id}/attempts",
        params={"unsigned": "true"} if unsigned else {},
        headers=await admin(client),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_refusal_before_validation_is_filed_under_the_idp_it_names(
    client, world: World, idp: TestIdp
) -> None:
    row = await configure(client, idp, jit=True)
    request_id, relay = idp.read_request(await start(client))
    xml = _xml(idp.respond(request_id))
    # A forbidden transform is refused while the envelope is read, before any IdP lookup.
    hostile = xml.replace(
        b"http://www.w3.org/2000/09/xmldsig#enveloped-signature", XSLT.encode(), 1
    )
    await post_acs(client, base64.b64encode(hostile).decode(), relay)
    unknown = await client.get("/api/v1/sso/attempts/unknown-issuer", headers=await admin(client))
    assert unknown.json()["items"] == []
    listed = await _doctor(client, row["id"], unsigned=True)
    assert [(a["reason"], a["signed"]) for a in listed["items"]] == [("forbidden_transform", False)]
    assert (await _doctor(client, row["id"]))["unsigned_count"] == 1


async def test_anonymous_posts_cannot_push_the_idps_real_attempts_out(
    client, world: World, idp: TestIdp
) -> None:
    row = await configure(client, idp, jit=True)
    request_id, relay = idp.read_request(await start(client))
    assert "code=" in (await post_acs(client, idp.respond(request_id), relay)).headers["location"]
    # The real IdP's response, refused for clock skew, is signed: it belongs with the rest.
    request_id, relay = idp.read_request(await start(client))
    late = _edit(
        _xml(idp.respond(request_id, sign_response=False, sign_assertion=False)),
        lambda r: _set_times(r, -timedelta(minutes=30), -timedelta(minutes=20)),
    )
    await post_acs(client, idp.craft(late), relay)
    anonymous = idp.respond(None, sign_response=False, sign_assertion=False)
    for _ in range(60):
        r = await post_acs(client, anonymous, None)
        assert r.headers["location"].endswith("#reason=unsolicited")
    real = await _doctor(client, row["id"])
    assert [(a["outcome"], a["reason"], a["signed"]) for a in real["items"]] == [
        ("failure", "clock_skew", True),
        ("success", "", True),
    ]
    # Ten a minute are kept, listed apart and counted beside the real ones.
    assert real["unsigned_count"] == 10
    unsigned = await _doctor(client, row["id"], unsigned=True)
    assert len(unsigned["items"]) == 10
    assert {(a["reason"], a["signed"]) for a in unsigned["items"]} == {("unsolicited", False)}
    clock.travel(61)
    await post_acs(client, anonymous, None)
    assert (await _doctor(client, row["id"]))["unsigned_count"] == 11
    assert await SsoAttempt.count() == 13
