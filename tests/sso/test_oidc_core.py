"""OpenID Connect sign-in, the protocol core: a code + PKCE + nonce round trip against a
local provider over plain HTTP, state and nonce single-use and bound to the browser,
key rotation, discovery, and the assertion the login pipeline provisions from.

The refusals of bent ID tokens are in test_oidc_attacks.py.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from staffroom.core import clock
from staffroom.sso import presets, saml
from staffroom.sso.oidc import config, discovery
from staffroom.sso.oidc.claims import CLAIMS, OidcAssertion
from staffroom.sso.oidc.config import OidcIdp
from staffroom.sso.oidc.errors import Rejected
from staffroom.sso.oidc.tables import OidcLoginState
from tests.support.oidc_op import OpenIdProvider
from tests.support.oidc_rp import CLIENT_ID, RelyingParty


@pytest.fixture(scope="module")
def op() -> Iterator[OpenIdProvider]:
    provider = OpenIdProvider(now=clock.now_ts).start()
    yield provider
    provider.stop()


@pytest.fixture
async def rp(rt: Any, op: OpenIdProvider) -> RelyingParty:
    op.reset()
    return await RelyingParty.create(rt)


@pytest.fixture
async def idp(rp: RelyingParty, op: OpenIdProvider) -> OidcIdp:
    return await rp.add_idp(op)


async def test_code_pkce_nonce_round_trip(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    started = await rp.begin(idp, next_url="/feed")
    query = dict(parse_qsl(urlsplit(started.url).query))
    assert started.url.startswith(f"{op.issuer}/authorize?")
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "https://staffroom.test/sso/acme/oidc/callback"
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256" and len(query["nonce"]) >= 43
    # The cookie binds the flow to this browser: sealed, for the callback only.
    cookie = started.cookie
    assert cookie.path == "/sso/acme/oidc/callback" and cookie.max_age == 600
    assert query["state"] not in cookie.value and query["nonce"] not in cookie.value

    params = await rp.authorize(started)
    assert params["state"] == query["state"]
    done = await rp.complete(params, {cookie.name: cookie.value})

    # The provider saw our PKCE verifier match the challenge, and its own client auth.
    verifier = op.token_requests[-1]["code_verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]
    assert done.state.purpose == "login" and done.state.next_url == "/feed"
    assert done.state.idp_id == idp.idp_id and done.state.org_id == rp.org_id
    a = done.assertion
    assert a.name_id == "00u-ada-4711" and a.issuer == op.issuer
    assert a.email_verified and a.require_verified_email() == "ada@acme.example"
    assert a.attributes["groups"] == ["staff", "engineering"]
    assert a.attributes["name"] == ["Ada Lovelace"]
    assert "nonce" not in a.attributes and "aud" not in a.attributes
    assert a.authn_contexts == ["amr:pwd", "amr:mfa"] and a.idp_mfa
    assert a.not_on_or_after is not None and a.assertion_id.startswith("sha256:")


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
async def test_ps256_and_es256_are_accepted(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp, alg: str
):
    op.bend.alg = alg
    assert (await rp.sign_in(idp)).assertion.name_id == "00u-ada-4711"


async def test_the_assertion_has_the_saml_assertion_shape(rp: RelyingParty, idp: OidcIdp):
    """Phase 2 hands it to the same provisioning as a SAML assertion."""
    saml_fields = {f.name for f in dataclasses.fields(saml.Assertion)}
    assert saml_fields <= {f.name for f in dataclasses.fields(OidcAssertion)}
    assert set(CLAIMS) == set(presets.FIELDS)


async def test_state_of_another_browser_is_refused(rp: RelyingParty, idp: OidcIdp):
    """Login CSRF: the attacker's own callback (code and state) planted in a victim's
    browser, which holds the cookie of its own sign-in, or none."""
    attacker = await rp.begin(idp)
    planted = await rp.authorize(attacker)
    victim = await rp.begin(idp)
    for cookies in ({victim.cookie.name: victim.cookie.value}, {}):
        with pytest.raises(Rejected) as caught:
            await rp.complete(planted, cookies)
        assert caught.value.reason == "state"
    # The attacker's sign-in is still unused: nothing was consumed by the refusals.
    assert await OidcLoginState.count().where(OidcLoginState.used_at.is_null()) == 2


async def test_state_mismatch_is_refused(rp: RelyingParty, idp: OidcIdp):
    started = await rp.begin(idp)
    params = await rp.authorize(started)
    other = await rp.begin(idp)
    # This browser's cookie for the other sign-in, renamed to match the answer's state.
    with pytest.raises(Rejected) as caught:
        await rp.complete(params, {started.cookie.name: other.cookie.value})
    assert caught.value.reason == "state"
    with pytest.raises(Rejected) as caught:
        await rp.complete(
            {**params, "state": "x" * 43}, {started.cookie.name: started.cookie.value}
        )
    assert caught.value.reason == "state"


async def test_replayed_state_is_refused(rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp):
    started = await rp.begin(idp)
    params = await rp.authorize(started)
    cookies = {started.cookie.name: started.cookie.value}
    await rp.complete(params, cookies)
    tokens_before = len(op.token_requests)
    with pytest.raises(Rejected) as caught:
        await rp.complete(params, cookies)
    assert caught.value.reason == "replay" and caught.value.idp_id == idp.idp_id
    assert len(op.token_requests) == tokens_before  # the code was not even sent again


async def test_tampered_cookie_is_refused(rp: RelyingParty, idp: OidcIdp):
    started = await rp.begin(idp)
    params = await rp.authorize(started)
    value = started.cookie.value
    tampered = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    with pytest.raises(Rejected) as caught:
        await rp.complete(params, {started.cookie.name: tampered})
    assert caught.value.reason == "state"


async def test_expired_state_is_refused(rp: RelyingParty, idp: OidcIdp):
    started = await rp.begin(idp)
    params = await rp.authorize(started)
    clock.travel(11 * 60)
    with pytest.raises(Rejected) as caught:
        await rp.complete(params, {started.cookie.name: started.cookie.value})
    assert caught.value.reason == "state" and "expired" in caught.value.detail


async def test_another_orgs_state_is_refused(rt: Any, rp: RelyingParty, idp: OidcIdp):
    """A sign-in started at acme's IdP, answered at globex's callback."""
    globex = await RelyingParty.create(rt, "globex")
    started = await rp.begin(idp)
    params = await rp.authorize(started)
    cookies = {started.cookie.name: started.cookie.value}
    with pytest.raises(Rejected) as caught:
        await rp.complete(params, cookies, org_id=globex.org_id)
    assert caught.value.reason == "state"
    assert (await rp.complete(params, cookies)).assertion.name_id == "00u-ada-4711"


async def test_a_key_rotated_at_the_idp_still_works(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    await rp.sign_in(idp)
    assert op.jwks_fetches == 1
    op.rotate()
    assert (await rp.sign_in(idp)).assertion.name_id == "00u-ada-4711"
    assert op.jwks_fetches == 2  # the unknown kid made us fetch the set again, once
    await rp.sign_in(idp)
    assert op.jwks_fetches == 2 and op.discovery_fetches == 1  # both cached


async def test_discovery_and_keys_are_refetched_after_their_max_age(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    await rp.sign_in(idp)
    clock.travel(3601)
    await rp.sign_in(idp)
    assert op.discovery_fetches == 2 and op.jwks_fetches == 2


async def test_discovery_naming_another_issuer_is_refused(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.discovery = {"issuer": op.issuer + "/"}
    with pytest.raises(Rejected) as caught:
        await rp.begin(idp)
    assert caught.value.reason == "issuer"
    assert await OidcLoginState.count() == 0  # nothing was started


async def test_idp_error_answer_is_refused(rp: RelyingParty, idp: OidcIdp):
    started = await rp.begin(idp)
    params = await rp.authorize(started)
    answer = {"state": params["state"], "error": "access_denied"}
    with pytest.raises(Rejected) as caught:
        await rp.complete(answer, {started.cookie.name: started.cookie.value})
    assert caught.value.reason == "idp_status" and not caught.value.from_idp


async def test_code_refused_at_the_token_endpoint(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.token_error = "invalid_grant"
    rejected = await rp.refused(idp, "token_endpoint")
    assert "invalid_grant" in rejected.detail and rejected.from_idp


async def test_a_mixed_up_issuer_on_the_answer_is_refused(
    rp: RelyingParty, op: OpenIdProvider, idp: OidcIdp
):
    op.bend.iss_param = "https://evil.example"
    await rp.refused(idp, "issuer")
    assert op.token_requests == []  # the code never went to any token endpoint


async def test_an_issuer_on_a_private_address_is_refused(rp: RelyingParty, idp: OidcIdp):
    """SSRF: an admin-typed issuer must not make the server fetch from inside its network."""
    rp.providers = discovery.Providers()  # as in production: private addresses refused
    with pytest.raises(Rejected) as caught:
        await rp.begin(idp)
    assert caught.value.reason == "private_address"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"issuer": "http://idp.example"}, "idp_not_ready"),  # http off loopback
        ({"scopes": ("email",)}, "idp_not_ready"),
        ({"preset": "google"}, "hosted_domain"),  # no Workspace domain
        ({"preset": "entra", "tenant_id": "t1"}, "tenant"),  # issuer without the tenant
    ],
)
async def test_configurations_that_cannot_be_checked_strictly_are_refused(
    idp: OidcIdp, overrides: dict[str, Any], reason: str
):
    with pytest.raises(Rejected) as caught:
        config.check(dataclasses.replace(idp, **overrides))
    assert caught.value.reason == reason


async def test_the_client_secret_stays_out_of_reprs(idp: OidcIdp):
    assert idp.client_secret not in repr(idp) and str(idp.idp_id) in repr(idp)


def test_entra_issuers_without_a_tenant_are_refused():
    idp = OidcIdp(
        org_id=uuid.uuid4(),
        idp_id=uuid.uuid4(),
        issuer="https://login.microsoftonline.com/common/v2.0",
        client_id="c",
        client_secret="s",
        redirect_uri="https://staffroom.test/sso/acme/oidc/callback",
        preset="entra",
        tenant_id="common",
    )
    with pytest.raises(Rejected) as caught:
        config.check(idp)
    assert caught.value.reason == "tenant"


def test_cache_lifetimes_follow_max_age_within_bounds():
    assert discovery.max_age("public, max-age=7200") == 7200
    assert discovery.max_age("max-age=5") == discovery.MIN_TTL
    assert discovery.max_age("max-age=99999999") == discovery.MAX_TTL
    assert discovery.max_age(None) == discovery.max_age("no-cache") == discovery.DEFAULT_TTL
