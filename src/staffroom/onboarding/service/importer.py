"""Bulk invites from CSV: a dry run reports row by row; the real run is idempotent."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from staffroom.accounts.permissions import BUILTIN_ROLES
from staffroom.accounts.service import email_domains, members, people
from staffroom.accounts.service.lookups import org_row, permissions_for, require_org
from staffroom.core import audit
from staffroom.core.context import Principal, RequestContext
from staffroom.core.csvfiles import FORMULA_PREFIXES, read_table
from staffroom.core.emails import normalize_email
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime
from staffroom.onboarding.schemas import ImportOutcome, ImportReport, ImportRow

__all__ = ["ImportReport", "cli_principal", "parse_csv", "plan", "run_import"]
from staffroom.core.db.sql import bulk_insert, transaction
from staffroom.onboarding.service.invites import (
    check_daily_cap,
    mail_context,
    new_row,
    pending_emails,
)
from staffroom.onboarding.service.outcomes import refused
from staffroom.onboarding.tables import Invite

MAX_ROWS = 20_000
Progress = Callable[[int, int], None]


@dataclass
class Parsed:
    line: int
    email: str
    display_name: str
    role: str
    groups: list[str]
    employee_id: str
    raw_email: str = ""
    group_ids: list[uuid.UUID] = field(default_factory=list)


def parse_csv(body: bytes) -> list[Parsed]:
    """UTF-8 (with or without BOM), `,` or `;`, header names in any case."""
    table = read_table(body, "email", MAX_ROWS)
    group_sep = "," if table.delimiter == ";" else "|"
    parsed = []
    for number, cells in table.rows:
        groups = cells.get("groups", "").replace("|", group_sep).split(group_sep)
        parsed.append(
            Parsed(
                line=number,
                email="",
                raw_email=cells.get("email", ""),
                display_name=" ".join(cells.get("display_name", "").split()),
                role=cells.get("role", "").lower() or "member",
                groups=[g.strip() for g in groups if g.strip()],
                employee_id=cells.get("employee_id", ""),
            )
        )
    return parsed


async def cli_principal(org_slug: str) -> Principal:
    """The powers the CLI runs with: those of the org's first active owner."""
    org = await require_org(org_slug)
    owner = await people.first_active_owner(org["id"])
    if owner is None:
        raise Invalid("no_owner", "This organisation has no active owner.")
    return Principal(
        org_id=org["id"], user_id=owner, role="owner", permissions=BUILTIN_ROLES["owner"]
    )


async def _roles(principal: Principal) -> tuple[set[str], set[str]]:
    """(known role keys, keys the actor may grant)."""
    custom = await people.custom_role_keys(principal.org_id)
    known = set(BUILTIN_ROLES) | set(custom)
    grantable = set()
    for key in known:
        if key == "owner" and principal.role != "owner":
            continue
        if await permissions_for(principal.org_id, key) <= principal.permissions:
            grantable.add(key)
    return known, grantable


@dataclass
class _Known:
    """What every row of an import is judged against."""

    groups: dict[str, uuid.UUID]  # by lower-cased name
    roles: set[str]
    grantable: set[str]
    policy: email_domains.EmailPolicy
    members: set[str]
    invited: set[str]
    seen: set[str] = field(default_factory=set)  # addresses of the rows before


Judged = tuple[ImportOutcome, str]


def _address_problem(row: Parsed, known: _Known) -> Judged | None:
    if not row.email:
        return "invalid_email", row.raw_email[:80]
    if row.email in known.seen:
        return "duplicate_row", ""
    if row.email in known.members:
        return "already_member", ""
    if row.email in known.invited:
        return "already_invited", ""
    if not known.policy.allows(row.email):
        return "domain_not_allowed", row.email.rsplit("@", 1)[1]
    return None


def _content_problem(row: Parsed, known: _Known) -> Judged | None:
    if any(v.startswith(FORMULA_PREFIXES) for v in (row.display_name, row.employee_id)):
        return "formula_cell", "display_name or employee_id starts with = + - @"
    if row.role not in known.roles:
        return "unknown_role", row.role
    if row.role not in known.grantable:
        return "role_not_allowed", row.role
    unknown_groups = [g for g in row.groups if g.lower() not in known.groups]
    if unknown_groups:
        return "unknown_group", ", ".join(unknown_groups)[:200]
    return None


async def plan(principal: Principal, rows: list[Parsed]) -> list[ImportRow]:
    """Judge every row without changing anything."""
    roles, grantable = await _roles(principal)
    groups = await people.groups_by_name(principal.org_id)
    for row in rows:
        try:
            row.email = normalize_email(row.raw_email)
        except Invalid:
            row.email = ""
    emails = sorted({r.email for r in rows if r.email})
    known = _Known(
        groups=groups,
        roles=roles,
        grantable=grantable,
        policy=await email_domains.email_policy(principal.org_id),
        members=await members.existing_emails(principal.org_id, emails),
        invited=await pending_emails(principal.org_id, emails),
    )
    report = []
    for row in rows:
        outcome, detail = (
            _address_problem(row, known) or _content_problem(row, known) or ("invite", "")
        )
        if row.email:
            known.seen.add(row.email)
        row.group_ids = [groups[g.lower()] for g in row.groups if g.lower() in groups]
        report.append(
            ImportRow(
                line=row.line,
                email=row.email or row.raw_email[:320],
                outcome=outcome,
                detail=detail,
            )
        )
    return report


async def run_import(
    rt: Runtime,
    principal: Principal,
    body: bytes,
    *,
    dry_run: bool,
    ctx: RequestContext,
    progress: Progress | None = None,
) -> ImportReport:
    """Dry run: the report. Real run: invite every `invite` row in bulk and queue the mails."""
    try:
        rows = parse_csv(body)
    except Invalid as exc:
        raise await refused(
            rt, ctx, "invite.imported", exc, [], principal.org_id, actor_id=principal.user_id
        ) from None
    report = await plan(principal, rows)
    to_invite = [
        row for row, judged in zip(rows, report, strict=True) if judged.outcome == "invite"
    ]
    counts: dict[str, int] = dict(Counter(str(r.outcome) for r in report))
    if not dry_run and to_invite:
        org = await org_row(principal.org_id)
        await check_daily_cap(org, len(to_invite))
        await _create_all(rt, principal, org, to_invite, progress)
        await audit.record(
            "invite.imported",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="org",
            target_id=principal.org_id,
            details={"invited": len(to_invite), "rows": len(rows)},
        )
    return ImportReport(
        dry_run=dry_run,
        total=len(rows),
        invited=0 if dry_run else len(to_invite),
        counts=counts,
        rows=report,
    )


async def _create_all(
    rt: Runtime,
    principal: Principal,
    org: dict[str, Any],
    rows: list[Parsed],
    progress: Progress | None,
) -> None:
    chunk = 500
    done = 0
    # One mail context is built per chunk; only the token and name differ between rows.
    base = await mail_context(rt, org, principal, "", "")
    for start in range(0, len(rows), chunk):
        batch = rows[start : start + chunk]
        made = [
            new_row(rt, org, principal, r.email, r.role, r.group_ids, r.display_name, r.employee_id)
            for r in batch
        ]
        async with transaction(Invite):
            await bulk_insert(Invite, [invite for invite, _ in made])
            await rt.mail.enqueue_many(
                [
                    (
                        r.email,
                        "invite",
                        org["default_locale"],
                        base | {"link": base["link"] + token, "display_name": r.display_name},
                    )
                    for r, (_, token) in zip(batch, made, strict=True)
                ],
                org_id=org["id"],
            )
        done += len(batch)
        if progress:
            progress(done, len(rows))
