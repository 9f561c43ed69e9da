"""OAuth tables. Every row carries `org`; secrets, codes and tokens are HMAC digests.

A grant is one authorisation of one client (by a person, or the client's own credentials)
and the family of its rotating refresh tokens, as a session is for a login: it holds the
current access token's digest, and presenting a refresh token twice revokes it.
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from staffroom.accounts.tables import Org, User


class OAuthClient(Table, tablename="oauth_client"):
    """An app an IT admin registered: confidential (has a secret) or public (PKCE only)."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=120)
    # confidential | public
    kind = Varchar(length=20)
    secret_hash = Varchar(length=64, null=True, default=None)
    redirect_uris = JSON(default="[]")
    scopes = JSON(default="[]")
    # Its client-credentials tokens act with at most this person's rights (and stop
    # with their account), as an API key does with its creator's.
    created_by = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)


class OAuthConsent(Table, tablename="oauth_consent"):
    """What a person allowed a client, remembered so they are not asked again."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    client = ForeignKey(OAuthClient, on_delete=OnDelete.cascade, null=False, index=True)
    scopes = JSON(default="[]")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class OAuthCode(Table, tablename="oauth_code"):
    """An authorization code: single use, short-lived, bound to client, redirect URI and
    PKCE challenge."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    client = ForeignKey(OAuthClient, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    code_hash = Varchar(length=64, unique=True)
    redirect_uri = Varchar(length=500)
    scopes = JSON(default="[]")
    code_challenge = Varchar(length=128, default="")
    code_challenge_method = Varchar(length=10, default="")
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class OAuthGrant(Table, tablename="oauth_grant"):
    """One authorisation of a client and the family of its tokens."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    client = ForeignKey(OAuthClient, on_delete=OnDelete.cascade, null=False, index=True)
    # The person who consented; none for a client-credentials grant (the client acts for
    # itself, with at most its creator's rights).
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=True, default=None, index=True)
    # The code it was issued for: a second use of that code revokes this grant.
    code = ForeignKey(OAuthCode, on_delete=OnDelete.set_null, null=True, default=None, index=True)
    grant_type = Varchar(length=30)
    # What the refresh tokens may ask for, and what the current access token holds
    # (a refresh may narrow it).
    scopes = JSON(default="[]")
    access_scopes = JSON(default="[]")
    access_hash = Varchar(length=64, unique=True)
    access_expires_at = Timestamptz()
    created_at = Timestamptz()
    last_used_at = Timestamptz()
    idle_expires_at = Timestamptz()
    absolute_expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoke_reason = Varchar(length=40, default="")


class OAuthRefreshToken(Table, tablename="oauth_refresh_token"):
    """Every refresh token issued, so that a reused one is recognised."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    grant = ForeignKey(OAuthGrant, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
