"""Domain claims and their proof: claim a domain, prove control by a DNS TXT record, then
bind it through accounts' email_domains (SECURITY.md rule 9; T8)."""

from __future__ import annotations

import secrets
import uuid
from functools import cache
from importlib import resources
from typing import Any

import idna
from msgspec import UNSET
from publicsuffixlist import PublicSuffixList

from staffroom.accounts.service import email_domains as bindings
from staffroom.accounts.service.users import assert_can_grant, check_groups
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.sql import column_name, transaction
from staffroom.core.errors import Conflict, Invalid, NotFound
from staffroom.core.limits import DOMAIN_VERIFY
from staffroom.core.runtime import Runtime
from staffroom.onboarding.schemas import DnsRecord, DomainIn, DomainList, DomainOut, DomainPatch
from staffroom.onboarding.tables import DomainBinding

TXT_PREFIX = "staffroom-verification="


@cache
def _freemail() -> frozenset[str]:
    text = resources.files("staffroom.onboarding").joinpath("data/freemail.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def is_freemail(domain: str) -> bool:
    """Whether the domain, or a domain above it, is a free or consumer mail provider."""
    return any(d in _freemail() for d in bindings.lineage(domain))


def normalize_domain(text: str) -> str:
    """Lower-case IDNA (punycode) form; refuse public suffixes, free mail and non-domains."""
    raw = text.strip().rstrip(".").lower()
    if raw.startswith("*.") or "@" in raw or "/" in raw or ":" in raw:
        raise Invalid("invalid_domain", "Give a bare domain name such as acme.com.")
    try:
        domain = idna.encode(raw, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise Invalid("invalid_domain", "This is not a valid domain name.") from exc
    if len(domain) > 253 or "." not in domain:
        raise Invalid("invalid_domain", "This is not a valid domain name.")
    if _psl().publicsuffix(domain) == domain or _psl().privatesuffix(domain) is None:
        raise Invalid("public_suffix", "A public suffix such as co.uk cannot be bound.")
    if is_freemail(domain):
        raise Invalid("freemail_domain", "Free mail domains cannot be bound to an organisation.")
    return domain


def _out(row: dict[str, Any]) -> DomainOut:
    return DomainOut(
        id=row["id"],
        domain=row["domain"],
        status="verified" if row["verified_at"] else "pending",
        verification=DnsRecord(name=row["domain"], value=row["txt_value"]),
        allow_subdomains=row["allow_subdomains"],
        default_role=row["default_role"],
        default_group_ids=[uuid.UUID(str(g)) for g in row["default_group_ids"]],
        verified_at=row["verified_at"],
        last_checked_at=row["last_checked_at"],
        last_check_error=row["last_check_error"],
        created_at=row["created_at"],
    )


async def _own(principal: Principal, binding_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await DomainBinding.select()
        .where((DomainBinding.id == binding_id) & (DomainBinding.org == principal.org_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("domain_not_found", "No such domain.")
    return row


async def add(principal: Principal, data: DomainIn, ctx: RequestContext) -> DomainOut:
    """Claim a domain; the answer says which TXT record proves control of it."""
    domain = normalize_domain(data.domain)
    await assert_can_grant(principal, data.default_role)
    await check_groups(principal.org_id, data.default_group_ids)
    if await DomainBinding.exists().where(
        (DomainBinding.org == principal.org_id) & (DomainBinding.domain == domain)
    ):
        raise Conflict("domain_exists", "This domain is already listed for your organisation.")
    await bindings.assert_available(principal.org_id, domain)
    row = DomainBinding(
        id=uuid.uuid4(),
        org=principal.org_id,
        domain=domain,
        txt_value=TXT_PREFIX + secrets.token_urlsafe(24),
        allow_subdomains=data.allow_subdomains,
        default_role=data.default_role,
        default_group_ids=[str(g) for g in data.default_group_ids],
        created_by=principal.user_id,
        created_at=clock.utcnow(),
    )
    await DomainBinding.insert(row)
    await audit.record(
        "domain.added",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="domain",
        target_id=row.id,
        details={"domain": domain},
    )
    return _out(await _own(principal, row.id))


async def list_domains(principal: Principal) -> DomainList:
    """The org's domains, verified and pending."""
    rows = (
        await DomainBinding.select()
        .where(DomainBinding.org == principal.org_id)
        .order_by(DomainBinding.domain)
        .output(load_json=True)
    )
    return DomainList(items=[_out(r) for r in rows])


async def get(principal: Principal, binding_id: uuid.UUID) -> DomainOut:
    """One domain of the caller's org."""
    return _out(await _own(principal, binding_id))


async def verify(
    rt: Runtime, principal: Principal, binding_id: uuid.UUID, ctx: RequestContext
) -> DomainOut:
    """Look the TXT record up; a match binds the domain to the org."""
    row = await _own(principal, binding_id)
    if row["verified_at"]:
        return _out(row)
    await rt.limiter.hit(*DOMAIN_VERIFY.at(rt.settings, principal.org_id))
    # Said before any look-up: no TXT record can win a domain another org already holds.
    await bindings.assert_available(principal.org_id, row["domain"])
    now = clock.utcnow()
    found = await rt.dns.txt(row["domain"])
    if row["txt_value"] not in [value.strip() for value in found]:
        ours = [v for v in found if v.startswith(TXT_PREFIX)]
        error = (
            f"TXT record at {row['domain']} has another value: {ours[0][:120]}"
            if ours
            else f"No TXT record {TXT_PREFIX}… found at {row['domain']}"
        )
        await DomainBinding.update(
            {DomainBinding.last_checked_at: now, DomainBinding.last_check_error: error}
        ).where(DomainBinding.id == binding_id)
        await _audit_verify(principal, ctx, row, "failure")
        raise Invalid(
            "domain_not_verified",
            error + ". DNS changes can take a while to appear.",
            extra={
                "reason": "wrong_value" if ours else "missing",
                "found": [v[:255] for v in found[:10]],
            },
        )
    await bindings.bind(principal.org_id, binding_id, row["domain"], row["allow_subdomains"], now)
    await DomainBinding.update(
        {
            DomainBinding.verified_at: now,
            DomainBinding.last_checked_at: now,
            DomainBinding.last_check_error: "",
        }
    ).where(DomainBinding.id == binding_id)
    await _audit_verify(principal, ctx, row, "success")
    return await get(principal, binding_id)


async def _audit_verify(
    principal: Principal, ctx: RequestContext, row: dict[str, Any], outcome: str
) -> None:
    await audit.record(
        "domain.verified",
        outcome=outcome,
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="domain",
        target_id=row["id"],
        details={"domain": row["domain"]},
    )


async def patch(
    principal: Principal, binding_id: uuid.UUID, data: DomainPatch, ctx: RequestContext
) -> DomainOut:
    """Change subdomain coverage and what people joining through the domain get."""
    row = await _own(principal, binding_id)
    values: dict[Any, Any] = {}
    if data.default_role is not UNSET:
        await assert_can_grant(principal, data.default_role)
        values[DomainBinding.default_role] = data.default_role
    if data.default_group_ids is not UNSET:
        await check_groups(principal.org_id, data.default_group_ids)
        values[DomainBinding.default_group_ids] = [str(g) for g in data.default_group_ids]
    if data.allow_subdomains is not UNSET and data.allow_subdomains != row["allow_subdomains"]:
        if row["verified_at"]:
            await bindings.set_allow_subdomains(
                principal.org_id, binding_id, row["domain"], data.allow_subdomains
            )
        values[DomainBinding.allow_subdomains] = data.allow_subdomains
    if values:
        await DomainBinding.update(values).where(DomainBinding.id == binding_id)
        await audit.record(
            "domain.changed",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="domain",
            target_id=binding_id,
            details={"domain": row["domain"], "fields": sorted(column_name(c) for c in values)},
        )
    return await get(principal, binding_id)


async def remove(principal: Principal, binding_id: uuid.UUID, ctx: RequestContext) -> None:
    """Unbind and forget a domain; members who joined through it keep their accounts."""
    row = await _own(principal, binding_id)
    async with transaction(DomainBinding):
        await bindings.unbind(principal.org_id, binding_id)
        await DomainBinding.delete().where(DomainBinding.id == binding_id)
    await audit.record(
        "domain.removed",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="domain",
        target_id=binding_id,
        details={"domain": row["domain"]},
    )


async def signup_binding(org_id: uuid.UUID, email: str) -> dict[str, Any] | None:
    """The org's verified binding (with its defaults) covering an address, if any."""
    verified = await bindings.binding_for(org_id, email)
    if verified is None:
        return None
    return (
        await DomainBinding.select()
        .where((DomainBinding.id == verified["id"]) & (DomainBinding.org == org_id))
        .output(load_json=True)
        .first()
    )
