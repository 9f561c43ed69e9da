"""A new batch of codes as the admin asked for it (JSON, CSV or printable PDF), and
batches built from a CSV of people."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from staffroom.accounts.service.lookups import org_row
from staffroom.core.context import Principal, RequestContext
from staffroom.core.csvfiles import read_table
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime
from staffroom.onboarding.schemas import CodeBatchCreated, CodeBatchIn
from staffroom.onboarding.service.codes import create_batch
from staffroom.onboarding.service.outcomes import refused
from staffroom.onboarding.sheets import SheetInfo, codes_csv, codes_pdf


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
