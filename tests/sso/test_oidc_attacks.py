"""OpenID Connect sign-in refuses bent ID tokens, each with the SSO doctor's reason word
(SECURITY.md T18). The local provider (tests/support/oidc_op.py) signs what a test asks;
the whole round trip runs each time: start, the provider over HTTP, the callback.

State mismatch and replay (the browser's side) are in test_oidc_core.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from staffroom.core import clock
from staffroom.sso.oidc.config import OidcIdp
from staffroom.sso.oidc.errors import Rejected
from staffroom.sso.oidc.id_token import CLOCK_SKEW, MAX_TOKEN_BYTES
from tests.support.oidc_op import DROP, OpenIdProvider
from tests.support.oidc_rp import CLIENT_ID, RelyingParty

TENANT = "6f1c2b9e-0d7a-4c52-9a61-2f3e4d5c6b7a"


def _provider(prefix: str = "") -> Iterator[OpenIdProvider]:
    provider = OpenIdProvider(prefix, now=clock.now_ts).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def op() -> Iterator[OpenIdProvider]:
    yield from _provider()


@pytest.fixture(scope="module")
def other_op() -> Iterator[OpenIdProvider]:
    """Another org's IdP."""
    yield from _provider()


@pytest.fixture(scope="module")
def entra_op() -> Iterator[OpenIdProvider]:
    """An IdP with Entra ID's tenant-specific issuer shape."""
    yield from _provider(f"/{TENANT}/v2.0")


@pytest.fixture
async def rp(rt: Any, op: OpenIdProvider) -> RelyingParty:
    op.reset()
    return await RelyingParty.create(rt)


@pytest.fixture
async def idp(rp: RelyingParty, op: OpenIdProvider) -> OidcIdp:
    return await rp.add_idp(op)


async def test_alg_none_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.alg = "none"
    rejected = await rp.refused(idp, "algorithm")
    assert "'none'" in rejected.detail and rejected.from_idp


async def test_hs256_signed_with_the_public_key_is_refused(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.alg = "HS256-public"
    assert "'HS256'" in (await rp.refused(idp, "algorithm")).detail


async def test_wrong_audience_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.claims = {"aud": "someone-else"}
    await rp.refused(idp, "audience")


async def test_token_for_another_client_is_refused(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.claims = {"aud": ["other-app"], "azp": "other-app"}
    await rp.refused(idp, "audience")


async def test_several_audiences_need_our_azp(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.claims = {"aud": [CLIENT_ID, "other-app"]}
    await rp.refused(idp, "audience")  # no azp
    op.bend.claims = {"aud": [CLIENT_ID, "other-app"], "azp": "other-app"}
    assert "azp" in (await rp.refused(idp, "audience")).detail
    op.bend.claims = {"aud": [CLIENT_ID, "other-app"], "azp": CLIENT_ID}
    await rp.sign_in(idp)


async def test_wrong_issuer_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.claims = {"iss": op.issuer + "/"}  # one character off is another issuer
    assert (await rp.refused(idp, "issuer")).issuer == op.issuer + "/"


async def test_token_from_another_orgs_idp_is_refused(
    rp: RelyingParty, op: OpenIdProvider, other_op: OpenIdProvider, idp: OidcIdp
):
    """globex's IdP's token for the same client id, handed back by acme's IdP."""
    other_op.reset()
    op.bend.nonce = "sent"
    started = await rp.begin(idp)
    nonce = started.url.split("nonce=")[1].split("&")[0]
    op.bend.id_token = other_op.id_token(CLIENT_ID, nonce)
    params = await rp.authorize(started)
    with pytest.raises(Rejected) as caught:
        await rp.complete(params, {started.cookie.name: started.cookie.value})
    # Signed by globex's IdP: acme's key set has no such key, even after a refetch; the
    # doctor is told whose token it was.
    assert caught.value.reason == "unknown_key" and op.jwks_fetches == 2
    assert caught.value.issuer == other_op.issuer != op.issuer


async def test_expired_token_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    now = int(time.time())
    op.bend.claims = {"iat": now - 900, "exp": now - 600}
    rejected = await rp.refused(idp, "clock_skew")
    # Late by 600 s and the time the round trip took (negative: late).
    assert rejected.skew_seconds is not None
    assert -600 - (time.time() - now) - 1 <= rejected.skew_seconds <= -600


async def test_iat_in_the_future_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    now = int(time.time())
    op.bend.claims = {"iat": now + 600, "exp": now + 900}
    rejected = await rp.refused(idp, "clock_skew")
    # Early by 600 s less the time the round trip took (positive: early).
    assert rejected.skew_seconds is not None
    assert 600 - (time.time() - now) - 1 <= rejected.skew_seconds <= 600


async def test_skew_within_the_allowance_is_accepted(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    now = int(time.time())
    op.bend.claims = {"iat": now + CLOCK_SKEW - 60, "exp": now + 900}
    await rp.sign_in(idp)
    op.bend.claims = {"iat": now - 900, "exp": now - CLOCK_SKEW + 60}
    await rp.sign_in(idp)


async def test_missing_nonce_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.nonce = "drop"
    assert "no nonce" in (await rp.refused(idp, "nonce")).detail


async def test_replayed_nonce_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    await rp.sign_in(idp)
    op.bend.nonce = "replay"  # the token of the sign-in before, nonce and all
    await rp.refused(idp, "nonce")


async def test_unknown_kid_fails_after_one_refetch(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.key = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    await rp.refused(idp, "unknown_key")
    assert op.jwks_fetches == 2


async def test_signature_by_another_key_under_a_known_kid_is_refused(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.key = RSAKey.generate_key(2048)
    op.bend.header = {"kid": op.rsa.kid}
    await rp.refused(idp, "signature")


async def test_claims_changed_after_signing_are_refused(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.tamper = {"sub": "00u-admin-1"}
    await rp.refused(idp, "signature")


async def test_email_verified_false_never_provisions_by_email(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    for said in (False, "false", DROP):
        op.bend.claims = {"email_verified": said}
        assertion = (await rp.sign_in(idp)).assertion
        assert not assertion.email_verified
        # Not in the attributes: provisioning cannot find it, whatever it maps.
        assert "email" not in assertion.attributes
        assert assertion.unverified_email == "ada@acme.example"
        with pytest.raises(Rejected) as caught:
            assertion.require_verified_email()
        assert caught.value.reason == "email_unverified"


async def test_google_account_of_another_hosted_domain_is_refused(
    rp: RelyingParty, op: OpenIdProvider
):
    google = await rp.add_idp(op, preset="google", hosted_domain="acme.example")
    op.bend.claims = {"hd": "evil.example"}
    await rp.refused(google, "hosted_domain")
    op.bend.claims = {}  # a private Google account carries no hd at all
    await rp.refused(google, "hosted_domain")
    op.bend.claims = {"hd": "acme.example"}
    await rp.sign_in(google)
    assert "hd=acme.example" in (await rp.begin(google)).url  # the hint to Google's page


async def test_entra_token_of_another_tenant_is_refused(rt: Any, entra_op: OpenIdProvider):
    entra_op.reset()
    rp = await RelyingParty.create(rt)
    entra = await rp.add_idp(entra_op, preset="entra", tenant_id=TENANT)
    entra_op.bend.claims = {"tid": "0000aaaa-other-tenant"}
    await rp.refused(entra, "tenant")
    entra_op.bend.claims = {"tid": TENANT, "email_verified": DROP, "xms_edov": True}
    assertion = (await rp.sign_in(entra)).assertion
    assert assertion.email_verified  # the tenant verified the email's domain
    entra_op.bend.claims = {"tid": TENANT, "email_verified": DROP}
    assert not (await rp.sign_in(entra)).assertion.email_verified


async def test_oversized_token_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.pad = MAX_TOKEN_BYTES
    await rp.refused(idp, "token_too_large")


async def test_an_access_token_offered_as_id_token_is_refused(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.header = {"typ": "at+jwt"}
    await rp.refused(idp, "token_type")


async def test_garbage_id_token_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.id_token = "not.a-jwt"
    await rp.refused(idp, "malformed_token")


async def test_token_without_subject_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    op.bend.claims = {"sub": DROP}
    await rp.refused(idp, "missing_claim")


async def test_groups_left_out_of_the_token_are_reported(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    """Entra ID past 200 groups: group rules must not run on a token without them."""
    op.bend.claims = {"groups": DROP, "_claim_names": {"groups": "src1"}}
    assertion = (await rp.sign_in(idp)).assertion
    with pytest.raises(Rejected) as caught:
        assertion.require_groups()
    assert caught.value.reason == "groups_overage"
