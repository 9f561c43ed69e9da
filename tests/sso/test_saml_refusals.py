"""T9, continued: genuinely signed responses that used to crash the ACS. Each is a
refusal (303 to the error page) with its doctor reason, no session and no user, on SQLite
and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from staffroom.sso.tables import SeenAssertion, SsoIdentity
from tests.sso.conftest import configure, post_acs, start
from tests.sso.test_saml_attacks import A, _counts, _edit, _nameid, _refused, _xml
from tests.support.idp import TestIdp
from tests.support.world import World

Make = Callable[[TestIdp, str], str]


def _unsigned(idp: TestIdp, request_id: str, **respond: object) -> bytes:
    return _xml(idp.respond(request_id, sign_response=False, sign_assertion=False, **respond))


def _drop_nameid(root: etree._Element) -> None:
    name_id = _nameid(root)
    name_id.getparent().remove(name_id)


def _set_assertion_id(root: etree._Element, value: str) -> None:
    root.find(f"{{{A}}}Assertion").set("ID", value)


CASES: dict[str, tuple[Make, str]] = {
    "no_nameid": (
        lambda idp, rid: idp.craft(_edit(_unsigned(idp, rid), _drop_nameid)),
        "missing_nameid",
    ),
    "empty_nameid": (
        lambda idp, rid: idp.craft(
            _edit(_unsigned(idp, rid), lambda r: setattr(_nameid(r), "text", ""))
        ),
        "missing_nameid",
    ),
    "blank_nameid": (
        lambda idp, rid: idp.craft(
            _edit(_unsigned(idp, rid), lambda r: setattr(_nameid(r), "text", "   "))
        ),
        "missing_nameid",
    ),
    # JIT is on: the NameID would be stored in a 500-character column.
    "nameid_over_500": (lambda idp, rid: idp.respond(rid, name_id="n" * 501), "name_id_too_long"),
    "assertion_id_over_200": (
        lambda idp, rid: idp.craft(
            _edit(_unsigned(idp, rid), lambda r: _set_assertion_id(r, "_" + "a" * 200))
        ),
        "assertion_id_too_long",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_signed_responses_that_cannot_be_used_are_refused_with_their_reason(
    client, world: World, idp: TestIdp, case: str
) -> None:
    await configure(client, idp, jit=True)
    make, reason = CASES[case]
    before = await _counts()
    request_id, relay = idp.read_request(await start(client))
    r = await post_acs(client, make(idp, request_id), relay)
    await _refused(client, world, r, reason)
    assert await _counts() == before
    assert await SsoIdentity.count() == 0 and await SeenAssertion.count() == 0


async def test_the_longest_accepted_identifiers_still_sign_in(
    client, world: World, idp: TestIdp
) -> None:
    # The limits are the columns' own: exactly 500 and 200 characters are stored whole.
    await configure(client, idp, jit=True)
    request_id, relay = idp.read_request(await start(client))
    xml = _edit(
        _unsigned(idp, request_id, name_id="n" * 500),
        lambda r: _set_assertion_id(r, "_" + "a" * 199),
    )
    r = await post_acs(client, idp.craft(xml), relay)
    assert "code=" in r.headers["location"], r.headers["location"]
    assert (await SsoIdentity.select(SsoIdentity.name_id).first())["name_id"] == "n" * 500
