"""What needs attention in an org, each item only for callers whose permissions reach it
and each read through its own domain's service (this module sits above them, as the
console's home is a view over all of them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from staffroom.accounts.service import mfa
from staffroom.accounts.service.lookups import org_row
from staffroom.attention.schemas import AttentionItem, AttentionList
from staffroom.chat.service import outbox
from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.core.errors import Forbidden
from staffroom.core.mail import queue
from staffroom.core.runtime import Runtime
from staffroom.onboarding.service import domain_proof
from staffroom.sso.service import doctor, idps

# The permission each kind of item needs: who can fix it, or (mail) who sends it.
NEEDS = {
    "domain_unverified": "domains.manage",
    "idp_certificate_expiring": "sso.manage",
    "sso_failures": "sso.manage",
    "relay_abandoned": "org.manage",
    "mfa_missing": "org.manage",
    "mail_failed": "users.invite",
    "mail_delayed": "users.invite",
}
RECENT = timedelta(days=1)
MAIL_FAILED_WINDOW = timedelta(days=7)
# Mail is retried with backoff for days: waiting this long means delivery is in trouble.
MAIL_DELAYED_AFTER = timedelta(minutes=30)


async def attention(rt: Runtime, principal: Principal) -> AttentionList:
    """The items this caller may see, the critical ones first."""
    if not any(principal.can(p) for p in NEEDS.values()):
        raise Forbidden("missing_permission", "This needs an administrator's permission.")
    now = clock.utcnow()
    items: list[AttentionItem] = []
    if principal.can(NEEDS["domain_unverified"]):
        items += await _domains(principal)
    if principal.can(NEEDS["sso_failures"]):
        items += await _sso(rt, principal, now - RECENT)
    if principal.can(NEEDS["mfa_missing"]):
        items += await _org(principal, now - RECENT)
    if principal.can(NEEDS["mail_failed"]):
        items += await _mail(principal, now)
    items.sort(key=lambda i: i.severity != "critical")
    return AttentionList(items=items, checked_at=now)


async def _domains(principal: Principal) -> list[AttentionItem]:
    return [
        AttentionItem(
            kind="domain_unverified",
            severity="warning",
            count=1,
            subject=d.domain,
            target_id=d.id,
            since=d.created_at,
            link="/admin/domains",
        )
        for d in (await domain_proof.list_domains(principal)).items
        if d.status != "verified"
    ]


async def _sso(rt: Runtime, principal: Principal, since: datetime) -> list[AttentionItem]:
    items = []
    listed = (await idps.list_idps(rt, principal)).items
    for idp in listed:
        for cert in idp.certificates:
            if cert.days_left <= idps.CERT_WARNING_DAYS:
                items.append(
                    AttentionItem(
                        kind="idp_certificate_expiring",
                        severity="critical" if cert.days_left < 0 else "warning",
                        count=1,
                        subject=idp.name,
                        target_id=idp.id,
                        days_left=cert.days_left,
                        since=cert.not_after,
                        link=f"/admin/sso/idps/{idp.id}",
                    )
                )
    names = {i.id: i.name for i in listed}
    for idp_id, count in (await doctor.failures_since(principal.org_id, since)).items():
        items.append(
            AttentionItem(
                kind="sso_failures",
                severity="warning",
                count=count,
                subject=names.get(idp_id, "") if idp_id else "",
                target_id=idp_id,
                link="/admin/sso/doctor",
            )
        )
    return items


async def _org(principal: Principal, since: datetime) -> list[AttentionItem]:
    items = []
    abandoned = await outbox.abandoned_since(principal.org_id, since)
    if abandoned:
        # Fixed on the server: `staffroom relay requeue` once the relay works again.
        items.append(
            AttentionItem(kind="relay_abandoned", severity="warning", count=abandoned, link=None)
        )
    if (await org_row(principal.org_id))["require_mfa"]:
        # The same count as the security settings' (where the admin acts on it).
        missing = (await mfa.enrolment(principal.org_id)).not_enrolled
        if missing:
            items.append(
                AttentionItem(
                    kind="mfa_missing", severity="warning", count=missing, link="/admin/security"
                )
            )
    return items


async def _mail(principal: Principal, now: datetime) -> list[AttentionItem]:
    failed, delayed, oldest = await queue.org_backlog(
        principal.org_id, now - MAIL_FAILED_WINDOW, now - MAIL_DELAYED_AFTER
    )
    items = []
    if failed:
        items.append(
            AttentionItem(
                kind="mail_failed", severity="critical", count=failed, link="/admin/invites"
            )
        )
    if delayed:
        items.append(
            AttentionItem(
                kind="mail_delayed",
                severity="warning",
                count=delayed,
                since=oldest,
                link="/admin/invites",
            )
        )
    return items
