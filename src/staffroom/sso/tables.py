"""SSO tables: identity providers, linked identities, login state, replay cache, doctor log."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from staffroom.accounts.tables import AuthSession, Org, User


class IdentityProvider(Table, tablename="identity_provider"):
    """One IdP of an org (Entra ID, Okta, Google, Keycloak, ADFS …), by SAML or OpenID
    Connect (`kind`): the SAML columns are empty for an OIDC IdP and the OIDC ones for a
    SAML IdP; everything after sign-in (JIT, group rules, MFA, the doctor) is shared."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=100)
    kind = Varchar(length=10, default="saml")  # saml | oidc
    entity_id = Varchar(length=500)
    sso_url = Varchar(length=1000)
    slo_url = Varchar(length=1000, default="")
    # PEM certificates, all trusted at once: rollover adds the new one, then drops the old.
    certificates = JSON(default="[]")
    signs_messages = Boolean(default=True)
    idp_initiated = Boolean(default=False)
    jit = Boolean(default=False)
    default_role = Varchar(length=64, default="member")
    preset = Varchar(length=20, default="generic")
    attribute_map = JSON(default="{}")
    # [{"value": "...", "effect": "allow"|"deny"|"map", "group_id": …, "role": …}]
    group_rules = JSON(default="[]")
    enforces_mfa = Boolean(default=False)
    email_domains = JSON(default="[]")
    enabled = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # OpenID Connect: the issuer (its discovery document is fetched from it), who we are
    # to it, what we ask for, and the preset's pins (Google's hd, Entra ID's tenant).
    issuer = Varchar(length=500, default="")
    client_id = Varchar(length=300, default="")
    # Sealed with the data key (core/crypto), the IdP's id as associated data: never
    # returned, only whether it is set.
    client_secret = Text(default="")
    scopes = JSON(default='["openid", "email", "profile"]')
    hosted_domain = Varchar(length=253, default="")
    tenant_id = Varchar(length=64, default="")


class SsoIdentity(Table, tablename="sso_identity"):
    """A user's identity at one IdP, keyed by (org, IdP, NameID); never by email."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    idp = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=False, index=True)
    name_id = Varchar(length=500)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)


class SamlLoginState(Table, tablename="saml_login_state"):
    """A request we sent to an IdP: its ID, where to go after, consumed once (RelayState)."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    idp = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=False)
    # login | link (a signed-in user links the IdP identity) | logout | test (an admin's
    # test sign-in: validated like a login, nobody signed in)
    purpose = Varchar(length=10, default="login")
    state_hash = Varchar(length=64, unique=True)
    request_id = Varchar(length=100)
    next_url = Varchar(length=2000, default="")
    # Set when a signed-in user links this IdP identity to their account.
    link_user = ForeignKey(User, on_delete=OnDelete.cascade, null=True, default=None)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class SeenAssertion(Table, tablename="saml_seen_assertion"):
    """Assertion IDs already accepted, kept until they expire, so none is replayed."""

    id = UUID(primary_key=True)
    idp = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=False)
    assertion_id = Varchar(length=200)
    keep_until = Timestamptz(index=True)


class SsoCode(Table, tablename="sso_code"):
    """The one-time code the ACS hands the app; exchanged for tokens once."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    idp = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=False)
    code_hash = Varchar(length=64, unique=True)
    mfa_satisfied = Boolean(default=False)
    name_id = Varchar(length=500)
    session_index = Varchar(length=200, default="")
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class SsoSession(Table, tablename="sso_session"):
    """Which Staffroom session came from which SAML session, so Single Logout can end it."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    idp = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=False, index=True)
    name_id = Varchar(length=500)
    session_index = Varchar(length=200, default="")
    auth_session = ForeignKey(AuthSession, on_delete=OnDelete.cascade, null=False)
    created_at = Timestamptz()


class SsoAttempt(Table, tablename="sso_attempt"):
    """The SSO doctor's log: every ACS attempt with its outcome and precise reason."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    idp = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=True, default=None)
    outcome = Varchar(length=20)
    reason = Varchar(length=60, default="")
    detail = Text(default="")
    skew_seconds = Integer(null=True, default=None)
    name_id = Varchar(length=500, default="")
    attributes = JSON(default="{}")
    expected = JSON(default="{}")
    user = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(index=True)
    # False when nothing in the response was signed by the IdP: anyone can post one naming
    # the IdP, so these are kept apart (and rate-limited) from the IdP's real attempts.
    signed = Boolean(default=True)
    # The admin's test sign-in (its SamlLoginState id) this attempt answered, if any: the
    # console waits for it, and a test never signs anyone in.
    test_id = UUID(null=True, default=None)
