"""T9: hostile and malformed SAML responses, each refused with no session, no user, and an
SSO doctor entry giving the reason. Signatures are genuine (pysaml2 or the IdP's own key)
unless the attack is about the signature."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from staffroom.accounts.tables import AuthSession, User
from staffroom.sso.service.provisioning import link
from staffroom.sso.tables import SsoAttempt
from tests.sso.conftest import admin, configure, exchange, post_acs, start
from tests.support.idp import TestIdp, acs
from tests.support.world import World, assert_problem, login

P = "urn:oasis:names:tc:SAML:2.0:protocol"
A = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


def _xml(b64: str) -> bytes:
    return base64.b64decode(b64)


def _edit(xml: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root)


def _stamp(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _set_times(root: etree._Element, not_before: timedelta, not_after: timedelta) -> None:
    conditions = root.find(f"{{{A}}}Assertion/{{{A}}}Conditions")
    conditions.set("NotBefore", _stamp(not_before))
    conditions.set("NotOnOrAfter", _stamp(not_after))
    for data in root.iter(f"{{{A}}}SubjectConfirmationData"):
        data.set("NotOnOrAfter", _stamp(not_after))


def _nameid(root: etree._Element) -> etree._Element:
    return root.find(f"{{{A}}}Assertion/{{{A}}}Subject/{{{A}}}NameID")


async def _counts() -> tuple[int, int]:
    return await AuthSession.count(), await User.count()


async def _refused(client, world, r, reason: str) -> None:
    """Redirected to the error page with the reason, doctor entry written."""
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith(f"/sso/error#reason={reason}"), r.headers["location"]
    assert "code=" not in r.headers["location"]
    attempt = await SsoAttempt.select().order_by(SsoAttempt.created_at, ascending=False).first()
    assert attempt["outcome"] == "failure" and attempt["reason"] == reason, attempt


@pytest.fixture
async def setup(client, world: World, idp: TestIdp):
    """An IdP for acme with JIT on; returns a function giving (request id, relay state)."""
    await configure(client, idp, jit=True)

    async def begin() -> tuple[str, str]:
        return idp.read_request(await start(client))

    return begin


async def _attack(client, world, begin, make: Callable[[str], str], reason: str) -> None:
    before = await _counts()
    request_id, relay = await begin()
    r = await post_acs(client, make(request_id), relay)
    await _refused(client, world, r, reason)
    assert await _counts() == before


CASES: dict[str, tuple[Callable[[TestIdp, TestIdp, str], str], str]] = {
    "unsigned": (
        lambda idp, _, rid: idp.respond(rid, sign_response=False, sign_assertion=False),
        "signature",
    ),
    "assertion_unsigned": (
        lambda idp, _, rid: idp.respond(rid, sign_assertion=False),
        "signature",
    ),
    "message_unsigned": (
        lambda idp, _, rid: idp.respond(rid, sign_response=False),
        "signature",
    ),
    "untrusted_certificate": (
        lambda idp, other, rid: other.craft(
            _xml(idp.respond(rid, sign_response=False, sign_assertion=False))
        ),
        "signature",
    ),
    "tampered_nameid": (
        lambda idp, _, rid: base64.b64encode(
            _edit(_xml(idp.respond(rid)), lambda r: setattr(_nameid(r), "text", "owner-1"))
        ).decode(),
        "signature",
    ),
    "tampered_email": (
        lambda idp, _, rid: base64.b64encode(
            _xml(idp.respond(rid)).replace(b"jane@acme.example", b"owner@acme.example")
        ).decode(),
        "signature",
    ),
    "sha1": (lambda idp, _, rid: idp.respond(rid, sha1=True), "deprecated_algorithm"),
    "wrong_audience": (
        lambda idp, _, rid: idp.respond(rid, audience_org="globex"),
        "audience",
    ),
    "missing_audience": (
        lambda idp, _, rid: idp.craft(
            _edit(
                _xml(idp.respond(rid, sign_response=False, sign_assertion=False)),
                lambda r: [c.getparent().remove(c) for c in r.iter(f"{{{A}}}AudienceRestriction")],
            )
        ),
        "audience",
    ),
    "wrong_destination": (
        lambda idp, _, rid: idp.craft(
            _edit(
                _xml(idp.respond(rid, sign_response=False, sign_assertion=False)),
                lambda r: r.set("Destination", acs("globex")),
            )
        ),
        "destination",
    ),
    "missing_destination": (
        lambda idp, _, rid: idp.craft(
            _edit(
                _xml(idp.respond(rid, sign_response=False, sign_assertion=False)),
                lambda r: r.attrib.pop("Destination"),
            )
        ),
        "destination",
    ),
    "wrong_recipient": (
        lambda idp, _, rid: idp.craft(
            _edit(
                _xml(idp.respond(rid, sign_response=False, sign_assertion=False)),
                lambda r: [
                    d.set("Recipient", "https://evil.example/acs")
                    for d in r.iter(f"{{{A}}}SubjectConfirmationData")
                ],
            )
        ),
        "subject_confirmation",
    ),
    "expired": (
        lambda idp, _, rid: idp.craft(
            _edit(
                _xml(idp.respond(rid, sign_response=False, sign_assertion=False)),
                lambda r: _set_times(r, -timedelta(hours=2), -timedelta(hours=1)),
            )
        ),
        "clock_skew",
    ),
    "not_yet_valid": (
        lambda idp, _, rid: idp.craft(
            _edit(
                _xml(idp.respond(rid, sign_response=False, sign_assertion=False)),
                lambda r: _set_times(r, timedelta(hours=1), timedelta(hours=2)),
            )
        ),
        "clock_skew",
    ),
    "idp_error_status": (
        lambda idp, _, rid: idp.craft(
            _edit(
                _xml(idp.respond(rid, sign_response=False, sign_assertion=False)),
                lambda r: r.find(f"{{{P}}}Status/{{{P}}}StatusCode").set(
                    "Value", "urn:oasis:names:tc:SAML:2.0:status:Responder"
                ),
            )
        ),
        "idp_status",
    ),
    "dtd_xxe": (
        lambda idp, _, rid: base64.b64encode(
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + _xml(idp.respond(rid)).split(b"?>", 1)[1]
        ).decode(),
        "dtd",
    ),
    "xslt_transform": (
        lambda idp, _, rid: base64.b64encode(
            _edit(
                _xml(idp.respond(rid)),
                lambda r: next(r.iter(f"{{{DS}}}Transforms")).append(
                    etree.Element(
                        f"{{{DS}}}Transform",
                        Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116",
                    )
                ),
            )
        ).decode(),
        "forbidden_transform",
    ),
    "unknown_issuer": (
        lambda idp, other, rid: base64.b64encode(
            _xml(idp.respond(rid)).replace(idp.entity_id.encode(), b"https://evil.idp.test/saml")
        ).decode(),
        "unknown_issuer",
    ),
    "other_idp_entity": (
        lambda idp, other, rid: other.respond(rid),
        "unknown_issuer",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_hostile_responses_are_refused(
    client, world: World, idp, other_idp, setup, case: str
) -> None:
    make, reason = CASES[case]
    await _attack(client, world, setup, lambda rid: make(idp, other_idp, rid), reason)


def _wrap(idp: TestIdp, rid: str, how: str) -> str:
    """XML signature wrapping: a forged assertion beside or around the genuine signed one."""
    root = etree.fromstring(_xml(idp.respond(rid)))
    signed = root.find(f"{{{A}}}Assertion")
    evil = copy.deepcopy(signed)
    evil.set("ID", "_evil")
    for sig in evil.findall(f"{{{DS}}}Signature"):
        evil.remove(sig)
    evil.find(f"{{{A}}}Subject/{{{A}}}NameID").text = "owner-1"
    if how == "evil_first":
        root.insert(list(root).index(signed), evil)
    elif how == "evil_last":
        root.append(evil)
    elif how == "signed_in_extensions":
        ext = etree.SubElement(root, f"{{{P}}}Extensions")
        root.remove(signed)
        ext.append(signed)
        root.append(evil)
    elif how == "signed_inside_evil":
        root.remove(signed)
        root.append(evil)
        advice = etree.SubElement(evil, f"{{{A}}}Advice")
        advice.append(signed)
    return base64.b64encode(etree.tostring(root)).decode()


@pytest.mark.parametrize(
    "how", ["evil_first", "evil_last", "signed_in_extensions", "signed_inside_evil"]
)
async def test_signature_wrapping_never_logs_in_the_forged_subject(
    client, world: World, idp, setup, how: str
) -> None:
    before = await _counts()
    request_id, relay = await setup()
    r = await post_acs(client, _wrap(idp, request_id, how), relay)
    assert r.status_code == 303 and "/sso/error#reason=" in r.headers["location"]
    assert await _counts() == before
    assert not await User.exists().where(User.email == "jane@acme.example")


async def test_a_comment_in_the_nameid_does_not_truncate_it(client, world: World, idp) -> None:
    # "owner-1" is linked; the attacker owns "owner-1.attacker" at the IdP and slips a
    # comment in after signing (exclusive c14n ignores comments, so the signature holds).
    row = await configure(client, idp, jit=False)
    await link(world.acme.id, row["id"], "owner-1", world.acme["owner"].id)
    request_id, relay = idp.read_request(await start(client))
    xml = _xml(idp.respond(request_id, name_id="owner-1.attacker"))
    forged = xml.replace(b">owner-1.attacker<", b">owner-1<!---->.attacker<")
    assert forged != xml
    sessions_before = await AuthSession.count()
    r = await post_acs(client, base64.b64encode(forged).decode(), relay)
    assert "code=" not in r.headers["location"]
    assert await AuthSession.count() == sessions_before


async def test_an_assertion_is_accepted_once(client, world: World, idp) -> None:
    row = await configure(client, idp, jit=True)
    await client.patch(
        f"/api/v1/sso/idps/{row['id']}", json={"idp_initiated": True}, headers=await admin(client)
    )
    response = idp.respond(None)
    first = await post_acs(client, response, None)
    assert (await exchange(client, first)).status_code == 200
    second = await post_acs(client, response, None)
    await _refused(client, world, second, "replay")


async def test_a_completed_login_state_cannot_be_reused(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    request_id, relay = idp.read_request(await start(client))
    assert "code=" in (await post_acs(client, idp.respond(request_id), relay)).headers["location"]
    r = await post_acs(client, idp.respond(request_id), relay)
    await _refused(client, world, r, "state_used")


async def test_in_response_to_must_match_the_stored_request(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    first_id, _ = idp.read_request(await start(client))
    _, second_relay = idp.read_request(await start(client))
    r = await post_acs(client, idp.respond(first_id), second_relay)
    await _refused(client, world, r, "in_response_to")
    # An unsolicited-looking response (no InResponseTo) cannot ride on a started login.
    r = await post_acs(client, idp.respond(None), second_relay)
    await _refused(client, world, r, "in_response_to")


async def test_unsolicited_responses_need_the_org_to_allow_them(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    await _refused(client, world, await post_acs(client, idp.respond(None), None), "unsolicited")
    r = await post_acs(client, idp.respond("_made_up_request"), None)
    await _refused(client, world, r, "unsolicited")


async def test_one_orgs_response_is_refused_at_another_orgs_acs(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    await configure(client, idp, org="globex", jit=True, idp_initiated=True)
    request_id, relay = idp.read_request(await start(client))
    acme_response = idp.respond(request_id)
    r = await post_acs(client, acme_response, relay, org="globex")
    assert "/sso/error#reason=" in r.headers["location"]  # unsolicited there
    r = await post_acs(client, idp.respond(None), None, org="globex")
    assert "/sso/error#reason=" in r.headers["location"]  # destination and audience are acme's
    assert not await User.exists().where(User.email == "jane@acme.example")


async def test_garbage_bodies_get_a_clear_answer(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    assert_problem(await client.post("/sso/acme/saml/acs", data={}), 422, "missing_saml_response")
    for junk, reason in (
        ("%%%not-base64%%%", "malformed"),
        (base64.b64encode(b"not xml at all").decode(), "malformed"),
        (base64.b64encode(b"<a>not saml</a>").decode(), "malformed"),
        ("A" * 600_000, "too_large"),
    ):
        r = await post_acs(client, junk, None)
        await _refused(client, world, r, reason)
    assert_problem(await post_acs(client, "x", None, org="nope"), 404)


async def test_the_host_header_is_never_trusted(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    request_id, relay = idp.read_request(await start(client))
    form = {"SAMLResponse": idp.respond(request_id), "RelayState": relay}
    spoofed = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    r = await client.post("/sso/acme/saml/acs", data=form, headers=spoofed)
    assert "code=" in r.headers["location"]  # validated against the configured public URL
    request_id, relay = idp.read_request(await start(client))
    evil = idp.craft(
        _edit(
            _xml(idp.respond(request_id, sign_response=False, sign_assertion=False)),
            lambda root: root.set("Destination", "https://evil.example/sso/acme/saml/acs"),
        )
    )
    r = await client.post(
        "/sso/acme/saml/acs", data={"SAMLResponse": evil, "RelayState": relay}, headers=spoofed
    )
    await _refused(client, world, r, "destination")


async def test_deactivated_people_and_disabled_idps_get_nowhere(client, world: World, idp) -> None:
    row = await configure(client, idp, jit=True)
    assert (await exchange(client, await _login(client, idp))).status_code == 200
    jane = await User.select().where(User.email == "jane@acme.example").first()
    h = await admin(client)
    await client.post(f"/api/v1/users/{jane['id']}/deactivate", headers=h)
    await _refused(client, world, await _login(client, idp), "user_inactive")
    await client.patch(f"/api/v1/sso/idps/{row['id']}", json={"enabled": False}, headers=h)
    assert_problem(await client.get("/sso/acme/saml/login"), 404, "sso_not_configured")


async def _login(client, idp):
    request_id, relay = idp.read_request(await start(client))
    return await post_acs(client, idp.respond(request_id), relay)


async def test_the_doctor_shows_skew_and_attributes_with_secrets_redacted(
    client, world: World, idp
) -> None:
    row = await configure(client, idp, jit=True)
    request_id, relay = idp.read_request(await start(client))
    late = idp.craft(
        _edit(
            _xml(
                idp.respond(
                    request_id,
                    sign_response=False,
                    sign_assertion=False,
                    extra={"api_token": ["s3cr3t-value"]},
                )
            ),
            lambda r: _set_times(r, -timedelta(minutes=30), -timedelta(minutes=20)),
        )
    )
    await post_acs(client, late, relay)
    r = await client.get(f"/api/v1/sso/idps/{row['id']}/attempts", headers=await admin(client))
    attempt = r.json()["items"][0]
    assert attempt["reason"] == "clock_skew"
    assert -1300 < attempt["skew_seconds"] < -1100  # about 20 minutes late
    ok_request, ok_relay = idp.read_request(await start(client))
    await post_acs(client, idp.respond(ok_request, extra={"api_token": ["s3cr3t-value"]}), ok_relay)
    r = await client.get(f"/api/v1/sso/idps/{row['id']}/attempts", headers=await admin(client))
    latest = r.json()["items"][0]
    assert latest["outcome"] == "success"
    assert latest["attributes"]["api_token"] == ["[redacted]"]
    assert "s3cr3t-value" not in r.text
    assert latest["expected"]["email"][0].endswith("/emailaddress")
    member = await login(client, "acme", "member@acme.example")
    r = await client.get(
        f"/api/v1/sso/idps/{row['id']}/attempts",
        headers={"Authorization": f"Bearer {member['access_token']}"},
    )
    assert_problem(r, 403)


async def test_control_a_re_signed_unchanged_response_is_accepted(
    client, world: World, idp, setup
) -> None:
    # The crafted cases above fail because of what they change, not because of crafting.
    request_id, relay = await setup()
    genuine = idp.craft(_xml(idp.respond(request_id, sign_response=False, sign_assertion=False)))
    r = await post_acs(client, genuine, relay)
    assert (await exchange(client, r)).status_code == 200
