"""T9, continued: genuinely signed responses that used to crash the ACS or be reported
under the wrong reason. Each is a refusal (303 to the error page) with its doctor reason,
no session and no user, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable

import pytest
import xmlsec
from lxml import etree

from staffroom.sso import saml
from staffroom.sso.tables import SeenAssertion, SsoAttempt, SsoIdentity
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


def _whole_document_signature(idp: TestIdp, xml: bytes) -> str:
    """Sign the assertion with Reference URI="" (the whole document), then the message."""
    root = etree.fromstring(xml)
    assertion = root.find(f"{{{A}}}Assertion")
    signature = xmlsec.template.create(
        assertion, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256
    )
    assertion.insert(1, signature)  # after the Issuer, as the schema wants
    reference = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri="")
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(idp.key, xmlsec.constants.KeyDataFormatPem)
    context.key.load_cert_from_memory(idp.cert, xmlsec.constants.KeyDataFormatPem)
    context.sign(signature)
    return idp.craft(etree.tostring(root), sign_assertion=False)


def _utf16_with_doctype(xml: bytes) -> str:
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]>'
    return base64.b64encode((text + body.decode()).encode("utf-16")).decode()


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
    "utf16_doctype": (lambda idp, rid: _utf16_with_doctype(_xml(idp.respond(rid))), "dtd"),
    "reference_uri_empty": (
        lambda idp, rid: _whole_document_signature(idp, _unsigned(idp, rid)),
        "signature",
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


async def test_the_uri_refusal_names_the_real_cause(client, world: World, idp: TestIdp) -> None:
    await configure(client, idp, jit=True)
    request_id, relay = idp.read_request(await start(client))
    await post_acs(client, _whole_document_signature(idp, _unsigned(idp, request_id)), relay)
    attempt = await SsoAttempt.select().order_by(SsoAttempt.created_at, ascending=False).first()
    assert "Reference URI is ''" in attempt["detail"], attempt
    assert "Conditions" not in attempt["detail"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_dtd_is_refused_in_any_encoding_by_every_entry_point(encoding: str) -> None:
    declaration = f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
    doc = (declaration + '<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>').encode(encoding)
    if encoding == "utf-16-be":
        doc = b"\xfe\xff" + doc
    deflated = base64.b64encode(zlib.compress(doc)[2:-4]).decode()
    for read in (
        lambda: saml.open_envelope(base64.b64encode(doc).decode(), 1_000_000),
        lambda: saml.logout_issuer(deflated),
    ):
        with pytest.raises(saml.Rejected) as refused:
            read()
        assert refused.value.reason == "dtd"
