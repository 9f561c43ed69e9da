"""Printed one-time access codes for frontline staff without email (rule 2; T7).

Codes are 80-bit Crockford base32, shown once at creation and stored only as HMAC
digests. Redemption is one conditional UPDATE, limited per IP and per org, audited.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count

from staffroom.accounts.service import members
from staffroom.accounts.service.common import clean_name, org_by_slug, org_row, role_exists
from staffroom.accounts.service.users import assert_can_grant, check_groups
from staffroom.accounts.tables import User
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.csvfiles import read_table
from staffroom.core.db import page_filter, page_of
from staffroom.core.errors import Conflict, Gone, Invalid, NotFound
from staffroom.core.ratelimit import Rule
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_code, normalize_code
from staffroom.onboarding.schemas import (
    AcceptedOut,
    BatchPage,
    CodeBatchCreated,
    CodeBatchIn,
    CodeBatchOut,
    CodePage,
    CodeStatusOut,
    IssuedCode,
    RedeemIn,
)
from staffroom.onboarding.service.common import refused, sign_in_new_member
from staffroom.onboarding.sheets import SheetInfo, codes_csv, codes_pdf
from staffroom.onboarding.tables import AccessCode, AccessCodeBatch

_CHUNK = 500
INVALID_CODE = "This code is not valid for this organisation."
REDEEMED = "access_code.redeemed"


def _digest(rt: Runtime, code: str) -> str:
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
        for row in await User.select(User.id, User.employee_id, User.status).where(
            (User.org == org_id) & User.employee_id.is_in(ids[start : start + _CHUNK])
        ):
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
    async with AccessCodeBatch._meta.db.transaction():
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
                code_hash=_digest(rt, code),
                bound_user=bound[people[seq - 1][0]] if people else None,
                expires_at=expires_at,
                created_at=now,
            )
            for seq, code in enumerate(codes, start=1)
        ]
        for start in range(0, len(rows), _CHUNK):
            await AccessCode.insert(*rows[start : start + _CHUNK])
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
) -> CodePage:
    """The org's codes (never the codes themselves), filterable by batch and status."""
    now = clock.utcnow()
    query = AccessCode.select().where(AccessCode.org == principal.org_id)
    if batch_id:
        query = query.where(AccessCode.batch == batch_id)
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
    people = {
        u["id"]: u
        for u in (
            await User.select(User.id, User.employee_id, User.display_name).where(
                (User.org == principal.org_id) & User.id.is_in(bound_ids)
            )
            if bound_ids
            else []
        )
    }
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
    async with AccessCode._meta.db.transaction():
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


async def redeem(rt: Runtime, data: RedeemIn, ctx: RequestContext) -> AcceptedOut:
    """Turn a code into an account (or activate the profile it is bound to) and sign in."""
    s = rt.settings
    ip = (f"redeem:ip:{ctx.ip}", Rule(s.redeem_fail_limit_ip, s.redeem_fail_window))
    await rt.limiter.check(*ip)
    org = await org_by_slug(data.org)
    if org is None:
        raise await refused(rt, ctx, REDEEMED, NotFound("invalid_code", INVALID_CODE), [ip])
    per_org = (f"redeem:org:{org['id']}", Rule(s.redeem_fail_limit_org, s.redeem_fail_window))
    await rt.limiter.check(*per_org)
    limits = [ip, per_org]
    row = (
        await AccessCode.select()
        .where((AccessCode.code_hash == _digest(rt, data.code)) & (AccessCode.org == org["id"]))
        .first()
    )
    if row is None:
        raise await refused(
            rt, ctx, REDEEMED, NotFound("invalid_code", INVALID_CODE), limits, org["id"]
        )
    status = code_status(row, clock.utcnow())
    if status != "unused":
        code = "code_used" if status == "redeemed" else f"code_{status}"
        gone = Gone(code, f"This code is {status}; ask HR for a new one.")
        raise await refused(rt, ctx, REDEEMED, gone, limits, org["id"], ("access_code", row["id"]))
    batch = (
        await AccessCodeBatch.select()
        .where(AccessCodeBatch.id == row["batch"])
        .output(load_json=True)
    )[0]
    bound = None
    if row["bound_user"]:
        bound = await User.select().where(User.id == row["bound_user"]).first()
        if bound is None or bound["status"] != "pending":
            gone = Gone("code_revoked", "This code no longer works; ask HR for a new one.")
            raise await refused(
                rt, ctx, REDEEMED, gone, limits, org["id"], ("access_code", row["id"])
            )
        name = bound["display_name"]
    else:
        name = clean_name(data.display_name, "display_name")
    await members.check_new_password(data.password, data.username, name)
    hashed = await members.hash_new_password(rt, data.password)
    user = await _claim(row, batch, bound, data.username, name, hashed)
    if bound is None:
        await members.join_existing_groups(org["id"], user["id"], batch["group_ids"])
    signed_in = await sign_in_new_member(rt, user, ctx)
    await audit.record(
        "access_code.redeemed",
        ctx=ctx,
        org_id=org["id"],
        actor_id=user["id"],
        target_type="access_code",
        target_id=row["id"],
        details={"batch_id": str(row["batch"]), "seq": row["seq"], "bound": bound is not None},
    )
    return signed_in


async def _claim(
    code: dict[str, Any],
    batch: dict[str, Any],
    bound: dict[str, Any] | None,
    username: str,
    name: str,
    password_hash: str,
) -> dict[str, Any]:
    """Use the code and create or activate the account, all or nothing."""
    now = clock.utcnow()
    used = Gone("code_used", "This code has already been used.")
    async with AccessCode._meta.db.transaction():
        # Atomic redemption: of concurrent attempts exactly one passes this UPDATE.
        won = (
            await AccessCode.update({AccessCode.redeemed_at: now})
            .where(
                (AccessCode.id == code["id"])
                & AccessCode.redeemed_at.is_null()
                & AccessCode.revoked_at.is_null()
                & (AccessCode.expires_at > now)
            )
            .returning(AccessCode.id)
        )
        if not won:
            raise used
        if bound is not None:
            user = await members.activate_pending(
                code["org"], bound["id"], username=username, password_hash=password_hash
            )
            if user is None:
                raise used
        else:
            role = batch["role"] if await role_exists(code["org"], batch["role"]) else "member"
            user = await members.create_member(
                code["org"],
                username=username,
                display_name=name,
                password_hash=password_hash,
                role=role,
                group_ids=[],
            )
        await AccessCode.update({AccessCode.redeemed_by: user["id"]}).where(
            AccessCode.id == code["id"]
        )
    return user


@dataclass(frozen=True)
class Delivery:
    """A new batch as the admin asked for it: JSON, or a CSV or PDF file."""

    created: CodeBatchCreated
    file: bytes | None = None
    media_type: str = "application/json"
    filename: str = ""


async def issue(
    rt: Runtime,
    principal: Principal,
    data: CodeBatchIn,
    ctx: RequestContext,
    fmt: str,
    progress: Callable[[int, int], None] | None = None,
) -> Delivery:
    """Create a batch and render it in the requested format (the only time codes are shown)."""
    created = await create_batch(rt, principal, data, ctx)
    if fmt == "json":
        return Delivery(created)
    org = await org_row(principal.org_id)
    batch = created.batch
    info = SheetInfo(
        org_name=org["name"],
        label=batch.label,
        expires_at=batch.expires_at,
        size=batch.size,
        redeem_hint=rt.settings.effective_app_url.split("://", 1)[-1] + "/redeem",
    )
    name = f"access-codes-{org['slug']}-{batch.created_at:%Y%m%d}-{str(batch.id)[:8]}.{fmt}"
    if fmt == "csv":
        return Delivery(created, codes_csv(info, created.codes), "text/csv; charset=utf-8", name)
    pdf = await asyncio.to_thread(codes_pdf, info, created.codes, progress)
    return Delivery(created, pdf, "application/pdf", name)


async def batch_from_csv(
    rt: Runtime,
    principal: Principal,
    ctx: RequestContext,
    body: bytes,
    *,
    label: str,
    role: str,
    group_ids: list[uuid.UUID],
    expires_in_days: int,
) -> CodeBatchIn:
    """A batch request with one code per person of a CSV (employee_id, display_name).

    An unreadable file is refused with a 422 and the attempt audited.
    """
    try:
        table = read_table(body, "employee_id", 5000)
        missing = [line for line, cells in table.rows if not cells.get("display_name")]
        if missing:
            lines = ", ".join(str(n) for n in missing[:20])
            raise Invalid("csv_missing_display_name", f"Lines without a display_name: {lines}.")
        raw = {
            "label": label,
            "role": role,
            "group_ids": [str(g) for g in group_ids],
            "expires_in_days": expires_in_days,
            "people": [
                {"employee_id": c.get("employee_id", ""), "display_name": c["display_name"]}
                for _, c in table.rows
            ],
        }
        try:
            return msgspec.convert(raw, CodeBatchIn)
        except msgspec.ValidationError as exc:
            raise Invalid("invalid_request", f"Invalid batch: {exc}.") from exc
    except Invalid as exc:
        raise await refused(
            rt, ctx, "access_codes.created", exc, [], principal.org_id, actor_id=principal.user_id
        ) from None
