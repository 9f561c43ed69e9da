"""`staffroom codes create`: printed one-time access codes, written to a new file."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click
from rich.panel import Panel
from rich.progress import Progress

from staffroom.cli.checks import ready_settings
from staffroom.cli.console import console, with_progress


@click.group()
def codes() -> None:
    """Printed one-time access codes for staff without email."""


@codes.command("create")
@click.option("--org", "org_slug", required=True, help="The organisation's slug.")
@click.option("--label", required=True, help="What the batch is for, e.g. 'Hall 3 night shift'.")
@click.option("--count", type=click.IntRange(1, 5000), default=None, help="Unbound codes.")
@click.option(
    "--people",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV (employee_id, display_name): one bound code per person.",
)
@click.option("--role", default="member", show_default=True)
@click.option("--expires-in-days", type=click.IntRange(1, 365), default=30, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "csv", "json"]), default="pdf", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="New file to write (never overwritten); the codes exist nowhere else.",
)
def codes_create(
    org_slug: str,
    label: str,
    count: int | None,
    people: Path | None,
    role: str,
    expires_in_days: int,
    fmt: str,
    out: Path,
) -> None:
    """Create a batch of access codes and write them as printable cards, CSV or JSON.

    Runs with the powers of the organisation's first active owner; audited as such.
    """
    if (count is None) == (people is None):
        raise click.UsageError("give either --count or --people")
    # The codes are shown nowhere else: a file they cannot be written to must stop the
    # command before the batch exists, and an existing file is never overwritten.
    problem = _unwritable(out)
    if problem:
        console.print(f"[red]{problem}[/red]: no codes were created.", soft_wrap=True)
        sys.exit(2)
    settings = ready_settings()
    import msgspec

    from staffroom.core.context import RequestContext
    from staffroom.core.runtime import Runtime
    from staffroom.onboarding.schemas import CodeBatchIn
    from staffroom.onboarding.service import code_delivery as code_service
    from staffroom.onboarding.service import codes as code_batches
    from staffroom.onboarding.service import importer

    people_csv = people.read_bytes() if people is not None else None
    cli_ctx = RequestContext(user_agent="staffroom-cli")

    async def run(progress: Progress) -> tuple[code_service.Delivery, OSError | None]:
        rt = Runtime.build(settings)
        task = progress.add_task("rendering cards" if fmt == "pdf" else "creating", total=None)
        try:
            principal = await importer.cli_principal(org_slug)
            if people_csv is not None:
                data = await code_service.batch_from_csv(
                    rt,
                    principal,
                    cli_ctx,
                    people_csv,
                    label=label,
                    role=role,
                    group_ids=[],
                    expires_in_days=expires_in_days,
                )
            else:
                data = CodeBatchIn(
                    label=label, count=count, role=role, expires_in_days=expires_in_days
                )
            delivery = await code_service.issue(
                rt,
                principal,
                data,
                cli_ctx,
                fmt,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
            body = delivery.file
            if body is None:
                body = msgspec.json.encode(delivery.created)
            try:
                await asyncio.to_thread(_write_new, out, body)
            except OSError as exc:
                # Written nowhere, so handed to nobody: withdrawn rather than left valid.
                await code_batches.revoke_batch(principal, delivery.created.batch.id, cli_ctx)
                return delivery, exc
            return delivery, None
        finally:
            await rt.close()

    delivery, failed = with_progress(run)
    batch = delivery.created.batch
    if failed is not None:
        reason = failed.strerror or type(failed).__name__
        console.print(
            f"[red]could not write {out} ({reason})[/red]: batch {batch.id} was revoked, "
            "no code from it works; run the command again with another --out.",
            soft_wrap=True,  # one line, however long the path: never folded
        )
        sys.exit(1)
    console.print(
        Panel.fit(
            f"{batch.size} codes in batch [bold]{batch.label}[/bold] ({batch.id}),\n"
            f"valid until {batch.expires_at:%Y-%m-%d}, written to {out} (mode 0600).\n"
            "They are stored nowhere else: print them, hand them out, then delete the file.",
            title="access codes created",
        )
    )
    click.echo(str(out))


def _unwritable(out: Path) -> str | None:
    """Why the codes could not be written to out, checked before any is created."""
    try:
        if out.exists() or out.is_symlink():
            return f"{out} already exists (the codes go to a new file only)"
        folder = out.parent
        if not folder.is_dir():
            return f"the folder {folder} does not exist"
    except OSError as exc:  # a name too long, a folder we may not look into
        return f"{out}: {exc.strerror}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None


def _write_new(out: Path, body: bytes) -> None:
    """Create out (never an existing file) with mode 0600 from the start, and write body;
    a partial file is removed."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
    except OSError:
        out.unlink(missing_ok=True)
        raise
