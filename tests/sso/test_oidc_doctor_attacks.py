"""The OIDC attacks of T18 through the product's sign-in: an org's OIDC IdP (made through
the admin API) at the tests' provider, bent one way per case; a browser starts at
`/sso/{org}/saml/login`, goes through the provider and comes back to
`/sso/{org}/oidc/callback`. Each is refused: nobody signed in (no one-time code, session,
account or link), the app's error page names the reason, and the SSO doctor's latest
attempt for the IdP (as the console reads it) shows the refusal with that reason. A key
rotated at the IdP still signs in.

The same bends against the protocol core alone are in test_oidc_attacks.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from staffroom.accounts.tables import AuthSession, User
from staffroom.core import clock
from staffroom.sso.oidc.id_token import MAX_TOKEN_BYTES
from staffroom.sso.tables import SsoCode, SsoIdentity
from tests.sso.conftest import admin
from tests.support import oidc_fixtures
from tests.support.oidc_browser import (
    add_oidc_idp,
    at_idp,
    attempts,
    callback,
    doctor,
    reason,
    sign_in,
    start,
    verified_domain,
)
from tests.support.oidc_op import OpenIdProvider
from tests.support.world import World

# The OIDC tests' settings (tests/support/oidc_fixtures.py), made this module's own so
# that they replace tests/conftest.py's.
settings = oidc_fixtures.settings


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[OpenIdProvider, OpenIdProvider]]:
    """acme's IdP, and globex's (another org's) with keys of its own."""
    started = [OpenIdProvider(now=clock.now_ts).start() for _ in range(2)]
    yield started[0], started[1]
    for provider in started:
        provider.stop()


@dataclass
class Scene:
    """What a case bends: acme's provider, globex's, and acme's IdP at the first."""

    client: httpx.AsyncClient
    op: OpenIdProvider
    other_op: OpenIdProvider
    idp: dict[str, Any]


# A case's set-up: bends the provider; or plays the browser itself and returns the callback.
Arrange = Callable[[Scene], Awaitable[httpx.Response | None]]


@dataclass(frozen=True)
class Case:
    arrange: Arrange
    reason: str
    # What the doctor's detail must say (given the scene), so an admin sees what was wrong.
    detail: Callable[[Scene], str] = lambda s: ""
    # The IdP's own (signed) attempts, or what any browser can send (unsigned).
    signed: bool = True
    idp: dict[str, Any] = field(default_factory=dict)  # the IdP's settings beyond the defaults


def bend(**fields: Any) -> Arrange:
    """Set these fields of the provider's Bend (values called with the scene if callable)."""

    async def arrange(s: Scene) -> None:
        for name, value in fields.items():
            setattr(s.op.bend, name, value(s) if callable(value) else value)

    return arrange


def _now() -> int:
    return int(clock.now_ts())


def times(iat: int, exp: int) -> Arrange:
    """iat and exp this many seconds from now (the tests' clock, which the provider reads)."""
    return bend(claims=lambda s: {"iat": _now() + iat, "exp": _now() + exp})


async def replayed_nonce(s: Scene) -> None:
    assert reason(await sign_in(s.client, idp=s.idp["id"])) == ""
    s.op.bend.nonce = "replay"  # this sign-in's token carries the one before's nonce


async def state_mismatch(s: Scene) -> httpx.Response:
    first = await start(s.client, idp=s.idp["id"])
    answer = await at_idp(first)
    second = await start(s.client, idp=s.idp["id"])
    # The browser holds the cookie of another sign-in than the answer's state.
    return await callback(s.client, answer, (first.cookie[0], second.cookie[1]))


async def unverified_email(s: Scene) -> None:
    s.op.user["email_verified"] = False


async def other_hosted_domain(s: Scene) -> None:
    s.op.user["hd"] = "evil.example"


async def other_orgs_idp(s: Scene) -> None:
    h = await admin(s.client, "globex")
    await add_oidc_idp(s.client, s.other_op, h, client_id="staffroom-globex")
    # A valid token of globex's IdP, handed back by acme's: acme's key set knows no such key.
    s.op.bend.id_token = s.other_op.id_token("staffroom-globex", "globex-nonce")


def says(text: str) -> Callable[[Scene], str]:
    """A detail that does not depend on the scene."""
    return lambda s: text


CASES = {
    "alg_none": Case(bend(alg="none"), "algorithm", says("'none'")),
    "hs256_with_the_public_key": Case(bend(alg="HS256-public"), "algorithm", says("'HS256'")),
    "wrong_aud": Case(bend(claims={"aud": "someone-else"}), "audience", says("someone-else")),
    "wrong_iss": Case(
        bend(claims=lambda s: {"iss": s.op.issuer + "/"}),
        "issuer",
        lambda s: repr(s.op.issuer + "/"),
    ),
    "expired": Case(times(iat=-900, exp=-600), "clock_skew", says("expired")),
    "iat_in_the_future": Case(times(iat=600, exp=900), "clock_skew", says("in the future")),
    "nonce_missing": Case(bend(nonce="drop"), "nonce", says("no nonce")),
    "nonce_replayed": Case(replayed_nonce, "nonce", says("not the one this sign-in sent")),
    "state_mismatch": Case(state_mismatch, "state", signed=False),
    "token_for_another_client": Case(
        bend(claims={"aud": ["other-app"], "azp": "other-app"}), "audience", says("other-app")
    ),
    "unknown_kid_after_the_refetch": Case(
        bend(key=lambda s: RSAKey.generate_key(2048, parameters={"kid": "not-published"})),
        "unknown_key",
        says("'not-published'"),
    ),
    "another_key_under_a_known_kid": Case(
        bend(key=lambda s: RSAKey.generate_key(2048), header=lambda s: {"kid": s.op.rsa.kid}),
        "signature",
    ),
    "claims_changed_after_signing": Case(bend(tamper={"sub": "00u-admin-1"}), "signature"),
    "email_verified_false": Case(unverified_email, "email_unverified"),
    "google_hd_of_another_domain": Case(
        other_hosted_domain,
        "hosted_domain",
        says("evil.example"),
        idp={"preset": "google", "hosted_domain": "acme.example"},
    ),
    # The doctor names whose token it was: another IdP's, not a key acme's IdP lost.
    "token_from_another_orgs_idp": Case(other_orgs_idp, "unknown_key", lambda s: s.other_op.issuer),
    "oversized_token": Case(bend(pad=MAX_TOKEN_BYTES), "token_too_large", says("bytes")),
}


async def _issued() -> tuple[int, ...]:
    """Everything a sign-in would leave: codes, sessions, accounts, links."""
    return (
        await SsoCode.count(),
        await AuthSession.count(),
        await User.count(),
        await SsoIdentity.count(),
    )


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_refused_with_the_doctors_reason(
    client: httpx.AsyncClient,
    world: World,
    providers: tuple[OpenIdProvider, OpenIdProvider],
    case: Case,
) -> None:
    op, other_op = providers
    op.reset()
    other_op.reset()
    if case.idp.get("hosted_domain"):
        await verified_domain(world.acme.id, case.idp["hosted_domain"])
    idp = await add_oidc_idp(client, op, await admin(client), **case.idp)
    scene = Scene(client, op, other_op, idp)
    answered = await case.arrange(scene)
    before = await _issued()

    r = answered or await sign_in(client, idp=idp["id"])

    assert reason(r) == case.reason, r.headers["location"]
    assert "code=" not in r.headers["location"]
    assert await _issued() == before  # nobody signed in, created or linked
    latest = (await attempts(client, idp["id"], unsigned=not case.signed))[0]
    assert (latest["outcome"], latest["reason"]) == ("failure", case.reason)
    assert latest["detail"] and case.detail(scene) in latest["detail"], latest["detail"]
    if case.reason == "clock_skew":  # as SAML's: positive early, negative late
        assert (latest["skew_seconds"] > 0) == ("future" in case.detail(scene))


async def test_unknown_kid_refetches_the_key_set_once(
    client: httpx.AsyncClient, world: World, providers: tuple[OpenIdProvider, OpenIdProvider]
) -> None:
    op = providers[0]
    op.reset()
    idp = await add_oidc_idp(client, op, await admin(client))
    op.bend.key = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    assert reason(await sign_in(client, idp=idp["id"])) == "unknown_key"
    assert op.jwks_fetches == 2  # the key set, then once more for the unknown kid


async def test_another_orgs_idp_records_nothing_for_that_org(
    client: httpx.AsyncClient, world: World, providers: tuple[OpenIdProvider, OpenIdProvider]
) -> None:
    op, other_op = providers
    op.reset()
    other_op.reset()
    idp = await add_oidc_idp(client, op, await admin(client))
    scene = Scene(client, op, other_op, idp)
    await other_orgs_idp(scene)
    assert reason(await sign_in(client, idp=idp["id"])) == "unknown_key"
    globex = (await client.get("/api/v1/sso/idps", headers=await admin(client, "globex"))).json()
    (globex_idp,) = globex["items"]
    # Filed under acme's IdP, whose sign-in it was; globex's doctor is untouched.
    assert await doctor(client, globex_idp["id"], org="globex") == []
    assert await doctor(client, globex_idp["id"], unsigned=True, org="globex") == []


async def test_a_key_rotated_at_the_idp_still_signs_in(
    client: httpx.AsyncClient, world: World, providers: tuple[OpenIdProvider, OpenIdProvider]
) -> None:
    op = providers[0]
    op.reset()
    idp = await add_oidc_idp(client, op, await admin(client))
    assert reason(await sign_in(client, idp=idp["id"])) == ""
    assert op.jwks_fetches == 1
    # The IdP rolls its key: the old one is gone from its key set, tokens carry the new kid.
    op.rotate()
    r = await sign_in(client, idp=idp["id"])
    assert reason(r) == "" and "/sso/callback#code=" in r.headers["location"]
    assert op.jwks_fetches == 2  # the new kid was unknown: one refetch found it
    assert await SsoCode.count() == 2
    assert await doctor(client, idp["id"]) == [("success", ""), ("success", "")]
