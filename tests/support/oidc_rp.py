"""Our side of an OIDC sign-in in the tests: an org, its IdPs, and a browser's steps.

The browser is an httpx client speaking plain HTTP to the local provider
(tests/support/oidc_op.py); the callback's parameters are read from the provider's
redirect and handed to the protocol core with the cookie the start set, as the callback
route will.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from staffroom.accounts.service import orgs
from staffroom.core import clock
from staffroom.sso.oidc import flow
from staffroom.sso.oidc.config import OidcIdp, redirect_uri
from staffroom.sso.oidc.discovery import Providers
from staffroom.sso.oidc.errors import Rejected
from staffroom.sso.oidc.tables import OidcLoginState
from staffroom.sso.tables import IdentityProvider
from tests.support.oidc_op import OpenIdProvider

CLIENT_ID = "staffroom-acme"


@dataclass
class RelyingParty:
    """An org with OIDC IdPs, and the steps of signing in at them."""

    rt: Any
    org_id: uuid.UUID
    slug: str
    # The local provider listens on 127.0.0.1: private addresses allowed, as in development.
    providers: Providers = field(default_factory=lambda: Providers(allow_private=True))
    idps: dict[uuid.UUID, OidcIdp] = field(default_factory=dict)

    @classmethod
    async def create(cls, rt: Any, slug: str = "acme") -> RelyingParty:
        # The table joins the sso app's migrations with the integration; until then the
        # tests make it themselves.
        await OidcLoginState.create_table(if_not_exists=True)
        await OidcLoginState.delete(force=True)
        created, _, _ = await orgs.create_org(rt, slug, slug.title(), f"owner@{slug}.example")
        return cls(rt, created.id, slug)

    async def add_idp(self, op: OpenIdProvider, **overrides: Any) -> OidcIdp:
        """An IdP row (for the foreign keys) and its OIDC configuration; the provider
        knows us as CLIENT_ID with our callback."""
        idp_id, now = uuid.uuid4(), clock.utcnow()
        await IdentityProvider.insert(
            IdentityProvider(
                id=idp_id,
                org=self.org_id,
                name="OIDC",
                entity_id=op.issuer,
                sso_url=f"{op.issuer}/authorize",
                created_at=now,
                updated_at=now,
            )
        )
        config = OidcIdp(
            org_id=self.org_id,
            idp_id=idp_id,
            issuer=op.issuer,
            client_id=CLIENT_ID,
            client_secret="s3cret-" + idp_id.hex,
            redirect_uri=redirect_uri(self.rt.settings.public_url, self.slug),
        )
        config = replace(config, **overrides)
        op.register(config.client_id, config.client_secret, config.redirect_uri)
        self.idps[idp_id] = config
        return config

    async def idp_for(self, idp_id: uuid.UUID) -> OidcIdp:
        if idp_id not in self.idps:
            raise Rejected("idp_not_ready", "No such IdP.")
        return self.idps[idp_id]

    async def begin(self, idp: OidcIdp, **kw: Any) -> flow.Started:
        return await flow.begin(self.rt.keys, self.providers, idp, **kw)

    @staticmethod
    async def authorize(started: flow.Started) -> dict[str, str]:
        """The browser at the IdP: its redirect back to our callback, as parameters."""
        async with httpx.AsyncClient() as browser:
            r = await browser.get(started.url)
        assert r.status_code == 302, r.text
        location = r.headers["location"]
        assert location.split("?")[0].endswith("/oidc/callback"), location
        return dict(parse_qsl(urlsplit(location).query))

    async def complete(
        self, params: dict[str, str], cookies: dict[str, str], org_id: uuid.UUID | None = None
    ) -> flow.Completed:
        return await flow.complete(
            self.rt.keys,
            self.providers,
            org_id or self.org_id,
            params,
            cookies,
            self.idp_for,
        )

    async def sign_in(self, idp: OidcIdp) -> flow.Completed:
        """The whole round trip: start, the IdP, the callback with this browser's cookie."""
        started = await self.begin(idp)
        params = await self.authorize(started)
        return await self.complete(params, {started.cookie.name: started.cookie.value})

    async def refused(self, idp: OidcIdp, reason: str) -> Rejected:
        """A sign-in refused with this reason (the test asserts the rest)."""
        with pytest.raises(Rejected) as caught:
            await self.sign_in(idp)
        assert caught.value.reason == reason, caught.value
        return caught.value
