"""Who an assertion is: mapped attributes, group rules, linked identity or JIT account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from staffroom.accounts.service import email_domains, members, people, sso_managed
from staffroom.accounts.service.lookups import role_exists, user_in_org
from staffroom.core import clock
from staffroom.core.db.engine import unique_or
from staffroom.core.db.sql import transaction
from staffroom.core.emails import domain_of, normalize_email
from staffroom.core.errors import Conflict, Invalid
from staffroom.sso.presets import FIELDS, field_names
from staffroom.sso.saml import Rejected
from staffroom.sso.tables import SsoIdentity

_SECRET_WORDS = ("password", "secret", "token", "key", "ssn", "social")


@dataclass
class Profile:
    """The mapped fields of an assertion."""

    values: dict[str, list[str]]

    def first(self, field: str) -> str:
        """The first non-blank value of a field ('' when absent)."""
        return next((v.strip() for v in self.values.get(field, []) if v.strip()), "")


def map_attributes(idp: dict[str, Any], attributes: dict[str, list[str]]) -> Profile:
    """Pick each field from the first attribute name of the mapping that is present."""
    mapping = field_names(idp)
    values: dict[str, list[str]] = {}
    for field in FIELDS:
        for name in mapping[field]:
            if attributes.get(name):
                values[field] = attributes[name]
                break
    return Profile(values)


def redact(attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Attributes as the SSO doctor may show them: secret-looking values hidden, sizes capped."""
    shown: dict[str, list[str]] = {}
    for name, values in list(attributes.items())[:50]:
        if any(word in name.lower() for word in _SECRET_WORDS):
            shown[name[:300]] = ["[redacted]"]
        else:
            shown[name[:300]] = [v[:200] for v in values[:20]]
    return shown


@dataclass
class RuleOutcome:
    """What the group rules say for one person."""

    group_ids: set[uuid.UUID]
    managed_group_ids: set[uuid.UUID]
    role: str | None


def apply_rules(idp: dict[str, Any], profile: Profile) -> RuleOutcome:
    """Deny rules keep people out; with allow rules only matching people get in; map rules
    give groups and the first matching role."""
    groups = set(profile.values.get("groups", []))
    rules = idp["group_rules"]
    for rule in rules:
        if rule["effect"] == "deny" and rule["value"] in groups:
            raise Rejected("denied_by_rule", f"IdP group {rule['value']!r} is denied access.")
    allows = [r for r in rules if r["effect"] == "allow"]
    if allows and not any(r["value"] in groups for r in allows):
        raise Rejected("not_allowed_by_rule", "None of the user's IdP groups is allowed in.")
    mapped = [r for r in rules if r["effect"] == "map"]
    managed = {uuid.UUID(str(r["group_id"])) for r in mapped if r.get("group_id")}
    matched = [r for r in mapped if r["value"] in groups]
    return RuleOutcome(
        group_ids={uuid.UUID(str(r["group_id"])) for r in matched if r.get("group_id")},
        managed_group_ids=managed,
        role=next((r["role"] for r in matched if r.get("role")), None),
    )


async def _display_name(profile: Profile, email: str) -> str:
    name = profile.first("display_name")
    if not name:
        name = " ".join(p for p in (profile.first("given_name"), profile.first("surname")) if p)
    return " ".join((name or email.split("@")[0]).split())[:200]


async def jit_email(org_id: uuid.UUID, profile: Profile) -> str:
    """The address a first SSO login would get an account for, or Rejected with the reason
    (no address, a domain the org does not allow, an existing account)."""
    raw = profile.first("email")
    if not raw:
        raise Rejected("missing_attribute", "The assertion has no email attribute.")
    try:
        email = normalize_email(raw)
    except Invalid as exc:
        raise Rejected(
            "missing_attribute", f"The email attribute is not an address: {raw[:80]}"
        ) from exc
    policy = await email_domains.email_policy(org_id)
    if not policy.allows(email):
        raise Rejected("domain_policy", f"{domain_of(email)} is not one of the org's domains.")
    if await members.existing_emails(org_id, [email]):
        # No silent linking by email: that account's owner links SSO after a password login.
        raise Rejected(
            "account_exists",
            f"An account with {email} exists; it must be linked by signing in with its password.",
        )
    return email


async def jit_user(
    org_id: uuid.UUID, idp: dict[str, Any], name_id: str, profile: Profile, role: str | None
) -> dict[str, Any]:
    """Create the account for a first SSO login; an existing address is never taken over."""
    email = await jit_email(org_id, profile)
    chosen = role if role and await role_exists(org_id, role) else idp["default_role"]
    verified = await email_domains.binding_for(org_id, email) is not None
    employee_id = profile.first("employee_id")[:64] or None
    if employee_id and await people.by_employee_ids(org_id, [employee_id]):
        employee_id = None  # someone else holds it; the account is still made
    try:
        # The account and its link, or neither: accounts' insert joins this transaction.
        async with transaction(SsoIdentity):
            user = await members.create_member(
                org_id,
                email=email,
                display_name=await _display_name(profile, email),
                password_hash=None,
                role=chosen,
                group_ids=[],
                email_verified=verified,
                employee_id=employee_id,
            )
            await link(org_id, idp["id"], name_id, user["id"])
    except Conflict as exc:
        raise Rejected("account_exists", exc.detail) from exc
    return user


async def link(org_id: uuid.UUID, idp_id: uuid.UUID, name_id: str, user_id: uuid.UUID) -> None:
    """Record that (IdP, NameID) is this user; a NameID already linked elsewhere is refused."""
    linked = Rejected("identity_linked_elsewhere", "This IdP identity belongs to another account.")
    with unique_or(linked):
        await SsoIdentity.insert(
            SsoIdentity(
                id=uuid.uuid4(),
                org=org_id,
                idp=idp_id,
                name_id=name_id,
                user=user_id,
                created_at=clock.utcnow(),
            )
        )


async def identity_user(
    org_id: uuid.UUID, idp_id: uuid.UUID, name_id: str
) -> dict[str, Any] | None:
    """The user linked to (IdP, NameID), if any."""
    row = (
        await SsoIdentity.select(SsoIdentity.user)
        .where(
            (SsoIdentity.org == org_id)
            & (SsoIdentity.idp == idp_id)
            & (SsoIdentity.name_id == name_id)
        )
        .first()
    )
    return await user_in_org(org_id, row["user"]) if row else None


async def sync(user: dict[str, Any], outcome: RuleOutcome) -> bool:
    """Apply the rules at every login: managed groups exactly as mapped, the mapped role.
    Whether that changed anything."""
    org_id, user_id = user["org"], user["id"]
    changed = await sso_managed.sync_managed_groups(
        org_id, user_id, outcome.managed_group_ids, outcome.group_ids
    )
    # Owners are never demoted by an IdP: that needs another owner.
    if outcome.role and user["role"] != "owner" and outcome.role != user["role"]:
        if await role_exists(org_id, outcome.role):
            await sso_managed.set_role(org_id, user_id, outcome.role)
            changed = True
    return changed
