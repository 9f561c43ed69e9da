"""Verified email-domain bindings and the org's email-domain policy (SECURITY.md rule 9).

Onboarding proves control of a domain (DNS) and then records the binding here; every
path that creates an identity or changes an address (signup, invites, code redemption,
SSO JIT) asks this module whether an address may belong to an org.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from staffroom.accounts.service.lookups import org_row
from staffroom.accounts.tables import OrgDomain
from staffroom.core.db.engine import unique_or
from staffroom.core.emails import domain_of
from staffroom.core.errors import Conflict, Invalid

_TAKEN = ("domain_taken", "Another organisation has verified this domain.")


def lineage(domain: str) -> list[str]:
    """The domain and each parent that has at least two labels (a.b.acme.com → …, acme.com)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def covers(bound: str, allow_subdomains: bool, domain: str) -> bool:
    """Whether a binding of `bound` covers `domain`: itself, or by whole labels below it.

    So `acme.com.evil.com` is never covered by `acme.com`.
    """
    return domain == bound or (allow_subdomains and domain.endswith("." + bound))


async def covering(domain: str) -> list[dict[str, Any]]:
    """Verified bindings that cover a domain, most specific first.

    Matching is by whole labels, so `acme.com.evil.com` is never covered by `acme.com`.
    """
    rows = await OrgDomain.select().where(
        OrgDomain.verified_at.is_not_null() & OrgDomain.domain.is_in(lineage(domain))
    )
    matches = [r for r in rows if covers(r["domain"], r["allow_subdomains"], domain)]
    return sorted(matches, key=lambda r: -len(r["domain"]))


async def binding_for(org_id: uuid.UUID, email: str) -> dict[str, Any] | None:
    """The org's most specific verified binding covering a normalised address, if any."""
    for row in await covering(domain_of(email)):
        if row["org"] == org_id:
            return row
    return None


@dataclass(frozen=True)
class EmailPolicy:
    """Which addresses may belong to one org: any, or only those in its verified domains."""

    restricted: bool
    bindings: tuple[tuple[str, bool], ...]  # (domain, allow_subdomains), verified only

    def allows(self, email: str) -> bool:
        """Whether a normalised address may be an org member's."""
        if not self.restricted:
            return True
        domain = domain_of(email)
        return any(covers(bound, subs, domain) for bound, subs in self.bindings)

    def check(self, email: str) -> None:
        """Raise a 422 for an address the policy refuses."""
        if not self.allows(email):
            raise Invalid(
                "email_domain_not_allowed",
                "This organisation only accepts addresses in its verified domains.",
            )


async def email_policy(org_id: uuid.UUID) -> EmailPolicy:
    """The org's email-domain policy, read once (bulk imports judge every row with it)."""
    org = await org_row(org_id)
    rows = await OrgDomain.select(OrgDomain.domain, OrgDomain.allow_subdomains).where(
        (OrgDomain.org == org_id) & OrgDomain.verified_at.is_not_null()
    )
    return EmailPolicy(
        restricted=bool(org["restrict_email_domains"]),
        bindings=tuple((r["domain"], bool(r["allow_subdomains"])) for r in rows),
    )


async def check_email_allowed(org_id: uuid.UUID, email: str) -> None:
    """Refuse an address outside the org's verified domains when the org restricts them."""
    (await email_policy(org_id)).check(email)


async def assert_available(org_id: uuid.UUID, domain: str) -> None:
    """409 when another org has verified this domain, or a parent covering it."""
    if any(row["org"] != org_id for row in await covering(domain)):
        raise Conflict(*_TAKEN)


async def bind(
    org_id: uuid.UUID,
    binding_id: uuid.UUID,
    domain: str,
    allow_subdomains: bool,
    verified_at: datetime,
) -> None:
    """Record a verified binding; a domain (or its tree) bound by another org is a 409."""
    await assert_available(org_id, domain)
    if allow_subdomains:
        await _refuse_foreign_subdomains(org_id, domain)
    with unique_or(Conflict(*_TAKEN)):
        await OrgDomain.insert(
            OrgDomain(
                id=binding_id,
                org=org_id,
                domain=domain,
                allow_subdomains=allow_subdomains,
                verified_at=verified_at,
                created_at=verified_at,
            )
        )


async def _refuse_foreign_subdomains(org_id: uuid.UUID, domain: str) -> None:
    # Covering a tree another org already holds a branch of would hand its staff over.
    foreign = await OrgDomain.exists().where(
        OrgDomain.domain.like(f"%.{domain}")
        & (OrgDomain.org != org_id)
        & OrgDomain.verified_at.is_not_null()
    )
    if foreign:
        raise Conflict(
            "subdomain_bound_elsewhere",
            "A subdomain of this domain belongs to another organisation.",
        )


async def set_allow_subdomains(
    org_id: uuid.UUID, binding_id: uuid.UUID, domain: str, allow: bool
) -> None:
    """Let a verified binding cover its subdomains, or stop it."""
    if allow:
        await _refuse_foreign_subdomains(org_id, domain)
    await OrgDomain.update({OrgDomain.allow_subdomains: allow}).where(
        (OrgDomain.id == binding_id) & (OrgDomain.org == org_id)
    )


async def unbind(org_id: uuid.UUID, binding_id: uuid.UUID) -> None:
    """Remove a verified binding (existing members keep their accounts)."""
    await OrgDomain.delete().where((OrgDomain.id == binding_id) & (OrgDomain.org == org_id))
