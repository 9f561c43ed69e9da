"""Printed one-time access codes for frontline staff without email (rule 2; T7).

Codes are 80-bit Crockford base32, shown once at creation and stored only as HMAC
digests. Redemption is one conditional UPDATE, limited per IP and per org, audited.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count

from staffroom.accounts.service import members
from staffroom.accounts.service.lookups import org_row
from staffroom.accounts.service.people import by_employee_ids, by_ids
from staffroom.accounts.service.users import assert_can_grant, check_groups
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.pages import page_filter, page_of
from staffroom.core.db.sql import bulk_insert, transaction
from staffroom.core.errors import Conflict, Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name
from staffroom.core.tokens import new_code, normalize_code
from staffroom.onboarding.schemas import (
    BatchPage,
    CodeBatchCreated,
    CodeBatchIn,
    CodeBatchOut,
    CodePage,
    CodeStatusOut,
    IssuedCode,
)
from staffroom.onboarding.tables import AccessCode, AccessCodeBatch

_CHUNK = 500
INVALID_CODE = "This code is not valid for this organisation."
REDEEMED = "access_code.redeemed"


def code_digest(rt: Runtime, code: str) -> str:
    """How a code is stored and looked up: HMAC of its canonical form."""
    return rt.keys.digest(normalize_code(code), purpose="access_code")


def redeem_link(rt: Runtime, org_slug: str, code: str) -> str:
    """The link in a card's QR code; the code sits in the fragment, which reaches no log."""
    return f"{rt.settings.effective_app_url}/redeem?org={org_slug}#code={code}"


def code_status(row: dict[str, Any], now: datetime) -> str:
    """unused, redeemed, revoked or expired."""
    if row["redeemed_at"] is not None:
        return "redeemed"
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if row["expires_at"] <= now else "unused"


def _clean_people(data: CodeBatchIn) -> list[tuple[str, str]]:
    people = [
        (p.employee_id.strip(), clean_name(p.display_name, "display_name")) for p in data.people
    ]
    if any(not employee_id for employee_id, _ in people):
        raise Invalid("invalid_employee_id", "An employee id must not be blank.")
    twice = sorted(e for e, n in Counter(e for e, _ in people).items() if n > 1)
    if twice:
        raise Invalid("duplicate_employee_id", f"Listed twice: {', '.join(twice[:20])}.")
    return people


async def _split_known(
    org_id: uuid.UUID, people: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], dict[str, uuid.UUID]]:
    """(people to pre-provision, employee id → pending user to bind a new card to)."""
    ids = [e for e, _ in people]
    known: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        for row in await by_employee_ids(org_id, ids[start : start + _CHUNK]):
            known[row["employee_id"]] = row
    signed_up = sorted(e for e, row in known.items() if row["status"] != "pending")
    if signed_up:
        raise Conflict(
            "already_member",
            f"These employee ids already have accounts: {', '.join(signed_up[:20])}.",
        )
    # A pending person listed again lost their card: the new card replaces the old one.
    rebind = {e: row["id"] for e, row in known.items()}
    return [p for p in people if p[0] not in rebind], rebind


async def create_batch(
    rt: Runtime, principal: Principal, data: CodeBatchIn, ctx: RequestContext
) -> CodeBatchCreated:
    """Make a batch of codes (optionally one per listed person); the codes are shown once."""
    people = _clean_people(data)
    if people and data.count is not None and data.count != len(people):
        raise Invalid(
            "count_mismatch", "With a list of people, count must match it or be left out."
        )
    size = len(people) or data.count or 0
    if not size:
        raise Invalid("count_required", "Give a count (1-5000) or a list of people.")
    label = clean_name(data.label, "label")
    await assert_can_grant(principal, data.role)
    await check_groups(principal.org_id, data.group_ids)
    org = await org_row(principal.org_id)
    to_create, rebind = await _split_known(principal.org_id, people)
    codes = [new_code() for _ in range(size)]
    now = clock.utcnow()
    batch_id = uuid.uuid4()
    expires_at = now + timedelta(days=data.expires_in_days)
    async with transaction(AccessCodeBatch):
        await AccessCodeBatch.insert(
            AccessCodeBatch(
                id=batch_id,
                org=principal.org_id,
                label=label,
                role=data.role,
                group_ids=[str(g) for g in data.group_ids],
                size=size,
                expires_at=expires_at,
                created_by=principal.user_id,
                created_at=now,
            )
        )
        created = await members.create_pending(
            principal.org_id, to_create, role=data.role, group_ids=data.group_ids
        )
        bound = dict(zip([e for e, _ in to_create], created, strict=True)) | rebind
        if rebind:
            await AccessCode.update({AccessCode.revoked_at: now}).where(
                AccessCode.bound_user.is_in(list(rebind.values()))
                & AccessCode.redeemed_at.is_null()
                & AccessCode.revoked_at.is_null()
            )
        rows = [
            AccessCode(
                id=uuid.uuid4(),
                org=principal.org_id,
                batch=batch_id,
                seq=seq,
                code_hash=code_digest(rt, code),
                bound_user=bound[people[seq - 1][0]] if people else None,
                expires_at=expires_at,
                created_at=now,
            )
            for seq, code in enumerate(codes, start=1)
        ]
        for start in range(0, len(rows), _CHUNK):
            await bulk_insert(AccessCode, rows[start : start + _CHUNK])
    await audit.record(
        "access_codes.created",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="code_batch",
        target_id=batch_id,
        details={"count": size, "label": label, "role": data.role, "bound": bool(people)},
    )
    issued = [
        IssuedCode(
            id=row.id,
            seq=row.seq,
            code=code,
            redeem_link=redeem_link(rt, org["slug"], code),
            employee_id=people[row.seq - 1][0] if people else None,
            display_name=people[row.seq - 1][1] if people else None,
        )
        for row, code in zip(rows, codes, strict=True)
    ]
    return CodeBatchCreated(batch=await get_batch(principal, batch_id), codes=issued)


async def _batch_counts(batch_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Codes per status for each batch, in three grouped queries."""
    now = clock.utcnow()
    counts: dict[uuid.UUID, dict[str, int]] = {
        b: {"unused": 0, "redeemed": 0, "revoked": 0, "expired": 0} for b in batch_ids
    }
    if not batch_ids:
        return counts
    in_batches = AccessCode.batch.is_in(batch_ids)
    unredeemed = AccessCode.redeemed_at.is_null()
    for status, where in (
        ("redeemed", in_batches & AccessCode.redeemed_at.is_not_null()),
        ("revoked", in_batches & unredeemed & AccessCode.revoked_at.is_not_null()),
        (
            "unused",
            in_batches
            & unredeemed
            & AccessCode.revoked_at.is_null()
            & (AccessCode.expires_at > now),
        ),
    ):
        for row in (
            await AccessCode.select(AccessCode.batch, Count())
            .where(where)
            .group_by(AccessCode.batch)
        ):
            counts[row["batch"]][status] = row["count"]
    return counts


def _batch_out(row: dict[str, Any], counts: dict[str, int]) -> CodeBatchOut:
    counts = dict(counts)
    counts["expired"] = row["size"] - counts["unused"] - counts["redeemed"] - counts["revoked"]
    return CodeBatchOut(
        id=row["id"],
        label=row["label"],
        role=row["role"],
        group_ids=[uuid.UUID(str(g)) for g in row["group_ids"]],
        size=row["size"],
        counts=counts,
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


async def _own_batch(principal: Principal, batch_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await AccessCodeBatch.select()
        .where((AccessCodeBatch.id == batch_id) & (AccessCodeBatch.org == principal.org_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("batch_not_found", "No such batch of access codes.")
    return row


async def get_batch(principal: Principal, batch_id: uuid.UUID) -> CodeBatchOut:
    """One batch with its codes counted by status."""
    row = await _own_batch(principal, batch_id)
    return _batch_out(row, (await _batch_counts([batch_id]))[batch_id])


async def list_batches(principal: Principal, cursor: str | None, limit: int) -> BatchPage:
    """The org's batches, newest first."""
    query = AccessCodeBatch.select().where(AccessCodeBatch.org == principal.org_id)
    if (after := page_filter(AccessCodeBatch, cursor)) is not None:
        query = query.where(after)
    rows = await (
        query.order_by(AccessCodeBatch.created_at, AccessCodeBatch.id, ascending=False)
        .limit(limit + 1)
        .output(load_json=True)
    )
    rows, next_cursor = page_of(rows, limit)
    counts = await _batch_counts([r["id"] for r in rows])
    return BatchPage(items=[_batch_out(r, counts[r["id"]]) for r in rows], next_cursor=next_cursor)


async def list_codes(
    principal: Principal,
    batch_id: uuid.UUID | None,
    status: str | None,
    cursor: str | None,
    limit: int,
    bound_user: uuid.UUID | None = None,
) -> CodePage:
    """The org's codes (never the codes themselves), filterable by batch, status and the
    person a code is bound to."""
    now = clock.utcnow()
    query = AccessCode.select().where(AccessCode.org == principal.org_id)
    if batch_id:
        query = query.where(AccessCode.batch == batch_id)
    if bound_user:
        query = query.where(AccessCode.bound_user == bound_user)
    unredeemed, unrevoked = AccessCode.redeemed_at.is_null(), AccessCode.revoked_at.is_null()
    if status == "redeemed":
        query = query.where(AccessCode.redeemed_at.is_not_null())
    elif status == "revoked":
        query = query.where(unredeemed & AccessCode.revoked_at.is_not_null())
    elif status == "expired":
        query = query.where(unredeemed & unrevoked & (AccessCode.expires_at <= now))
    elif status == "unused":
        query = query.where(unredeemed & unrevoked & (AccessCode.expires_at > now))
    if (after := page_filter(AccessCode, cursor)) is not None:
        query = query.where(after)
    rows = await query.order_by(AccessCode.created_at, AccessCode.id, ascending=False).limit(
        limit + 1
    )
    rows, next_cursor = page_of(rows, limit)
    bound_ids = [r["bound_user"] for r in rows if r["bound_user"]]
    people = {u["id"]: u for u in await by_ids(principal.org_id, bound_ids)}
    return CodePage(
        items=[
            CodeStatusOut(
                id=r["id"],
                batch_id=r["batch"],
                seq=r["seq"],
                status=code_status(r, now),  # type: ignore[arg-type]
                bound_user_id=r["bound_user"],
                employee_id=people[r["bound_user"]]["employee_id"] if r["bound_user"] else None,
                display_name=people[r["bound_user"]]["display_name"] if r["bound_user"] else None,
                expires_at=r["expires_at"],
                redeemed_at=r["redeemed_at"],
                redeemed_by=r["redeemed_by"],
                created_at=r["created_at"],
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


async def revoke_code(principal: Principal, code_id: uuid.UUID, ctx: RequestContext) -> None:
    """Withdraw one unredeemed code (a lost card)."""
    row = (
        await AccessCode.select()
        .where((AccessCode.id == code_id) & (AccessCode.org == principal.org_id))
        .first()
    )
    if row is None:
        raise NotFound("code_not_found", "No such access code.")
    done = (
        await AccessCode.update({AccessCode.revoked_at: clock.utcnow()})
        .where(
            (AccessCode.id == code_id)
            & AccessCode.redeemed_at.is_null()
            & AccessCode.revoked_at.is_null()
        )
        .returning(AccessCode.id)
    )
    if not done:
        raise Conflict("code_not_revocable", f"This code is {code_status(row, clock.utcnow())}.")
    await audit.record(
        "access_code.revoked",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="access_code",
        target_id=code_id,
        details={"batch_id": str(row["batch"]), "seq": row["seq"]},
    )


async def revoke_batch(principal: Principal, batch_id: uuid.UUID, ctx: RequestContext) -> int:
    """Withdraw every unredeemed code of a batch; returns how many were withdrawn."""
    await _own_batch(principal, batch_id)
    now = clock.utcnow()
    async with transaction(AccessCode):
        await AccessCodeBatch.update({AccessCodeBatch.revoked_at: now}).where(
            (AccessCodeBatch.id == batch_id) & AccessCodeBatch.revoked_at.is_null()
        )
        revoked = (
            await AccessCode.update({AccessCode.revoked_at: now})
            .where(
                (AccessCode.batch == batch_id)
                & AccessCode.redeemed_at.is_null()
                & AccessCode.revoked_at.is_null()
            )
            .returning(AccessCode.id)
        )
    await audit.record(
        "access_codes.batch_revoked",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="code_batch",
        target_id=batch_id,
        details={"revoked": len(revoked)},
    )
    return len(revoked)


async def revoke_for_user(org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Offboarding: unredeemed codes bound to a deactivated person stop working."""
    await AccessCode.update({AccessCode.revoked_at: clock.utcnow()}).where(
        (AccessCode.org == org_id)
        & (AccessCode.bound_user == user_id)
        & AccessCode.redeemed_at.is_null()
        & AccessCode.revoked_at.is_null()
    )
