"""The OIDC sign-ins in flight: one row per authorization request, consumed once."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from staffroom.accounts.tables import Org, User
from staffroom.sso.tables import IdentityProvider


class OidcLoginState(Table, tablename="oidc_login_state"):
    """An authorization request we sent: digests of its state and nonce, where to go after.

    The PKCE verifier and the nonce themselves are not here but in the browser's sealed
    cookie (binding.py), so this row alone can complete nothing.
    """

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    idp = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=False)
    # login | link (a signed-in user links the IdP identity) | test (an admin's test
    # sign-in: validated like a login, nobody signed in), as for SAML
    purpose = Varchar(length=10, default="login")
    state_hash = Varchar(length=64, unique=True)
    nonce_hash = Varchar(length=64)
    next_url = Varchar(length=2000, default="")
    link_user = ForeignKey(User, on_delete=OnDelete.cascade, null=True, default=None)
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
