"""Operations commands of `staffroom`: retention run, audit verify/export, backup
create/list/verify/prune/restore (progress bars for each), and the chat relay's queue."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click
from rich.progress import Progress

from staffroom.cli.checks import ready_settings
from staffroom.cli.console import console, with_progress
from staffroom.settings import load_settings

T = TypeVar("T")


@click.group()
def retention() -> None:
    """Data retention."""


@retention.command("run")
def retention_run() -> None:
    """Delete chat messages, news posts and audit events older than each org's retention
    settings (also runs on a schedule inside `staffroom serve`)."""
    settings = ready_settings()
    from staffroom.compliance.service import retention as data_retention
    from staffroom.core.runtime import Runtime

    rt = Runtime.build(settings)

    async def run(progress: Progress) -> data_retention.RetentionReport:
        task = progress.add_task("applying retention", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return await data_retention.run(rt, advance)

    report = with_progress(run)
    console.print(
        f"[green]{report.messages_deleted}[/green] chat messages, "
        f"[green]{report.posts_deleted}[/green] posts and "
        f"[green]{report.audit_events_deleted}[/green] audit events deleted; "
        f"[green]{report.abandoned_uploads_deleted}[/green] abandoned uploads dropped."
    )


@click.group()
def audit() -> None:
    """The audit trail: verify its hash chains, export it."""


@audit.command("verify")
def audit_verify() -> None:
    """Check every org's audit chain; exit 1 if an event was edited, inserted or deleted."""
    settings = ready_settings()
    from staffroom.core import audit as core_audit
    from staffroom.core.runtime import Runtime

    rt = Runtime.build(settings)

    async def run(progress: Progress) -> core_audit.VerifyReport:
        task = progress.add_task("verifying audit chains", total=None)
        try:
            return await core_audit.verify(
                lambda done, total: progress.update(task, completed=done, total=total)
            )
        finally:
            await rt.close()

    report = with_progress(run)
    for found in report.breaks:
        console.print(
            f"[red]{found.problem}[/red] chain {found.chain} at #{found.chain_seq} "
            f"(event {found.event_id})"
        )
    colour = "red" if report.breaks else "green"
    console.print(
        f"[{colour}]{len(report.breaks)} problems[/{colour}] in {report.events} events "
        f"of {report.chains} chains."
    )
    sys.exit(1 if report.breaks else 0)


@audit.command("export")
@click.option("--since", type=click.DateTime(), default=None, help="From this time (UTC).")
@click.option("--org", "org_slug", default=None, help="One org's events (default: all).")
def audit_export(since: Any, org_slug: str | None) -> None:
    """Write audit events as JSON Lines to stdout, oldest first, with their chain MACs."""
    ready_settings()
    from datetime import UTC

    from staffroom.accounts.service.lookups import org_by_slug
    from staffroom.core import audit as core_audit

    async def run() -> int:
        org_id = None
        if org_slug:
            row = await org_by_slug(org_slug)
            if row is None:
                console.print(f"[red]no organisation {org_slug}[/red]")
                return 2
            org_id = row["id"]
        start = since.replace(tzinfo=UTC) if since else None
        async for line in core_audit.export(org_id, start):
            sys.stdout.write(line)
        return 0

    sys.exit(asyncio.run(run()))


@click.group()
def backup() -> None:
    """Encrypted backups of the database and media (STAFFROOM_BACKUP_*)."""


def _backup_job(
    job: Callable[[Any, Any], Coroutine[Any, Any, T]], needs_database: bool = False
) -> T:
    """Run a backup job under progress bars, one per stage; refusals exit with 2."""
    # Only a backup reads the database: listing, checking and pruning read the archive,
    # and a restore goes into an empty database.
    settings = ready_settings() if needs_database else load_settings()
    from staffroom.compliance.service.sealing import ArchiveRefused
    from staffroom.compliance.service.snapshots import RestoreRefused
    from staffroom.wiring import build_runtime

    # With the hooks: a restore erases again, ending what the person left elsewhere.
    rt = build_runtime(settings)

    async def run(progress: Progress) -> T:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            return await job(rt, report)
        finally:
            await rt.close()

    try:
        return with_progress(run)
    except (ArchiveRefused, RestoreRefused) as exc:
        console.print(f"[red]refused:[/red] {exc}")
        sys.exit(2)


@backup.command("create")
def backup_create() -> None:
    """Snapshot the database and media, encrypt and store them."""
    from staffroom.compliance.service import backups

    info = _backup_job(backups.create, needs_database=True)
    console.print(f"[green]backup {info.id}[/green]: {info.size:,} bytes, {info.media} media files")
    click.echo(info.id)


@backup.command("list")
def backup_list() -> None:
    """The stored backups, newest first."""
    from rich.table import Table

    from staffroom.compliance.service import backups

    found = _backup_job(lambda rt, report: backups.list_backups(rt))
    table = Table()
    # `verify` and `restore` take the id: it is never cut or wrapped, whatever the width
    # (the other columns give way).
    table.add_column("id", no_wrap=True, min_width=max((len(b.id) for b in found), default=2))
    for heading in ("created (UTC)", "engine", "size", "media", "tables"):
        table.add_column(heading)
    for b in found:
        table.add_row(
            b.id,
            f"{b.created_at:%Y-%m-%d %H:%M}",
            b.engine,
            f"{b.size:,}",
            str(b.media),
            str(b.tables),
        )
    console.print(table)


@backup.command("verify")
@click.argument("backup_id")
def backup_verify(backup_id: str) -> None:
    """Fetch, decrypt and check a backup against its manifest without restoring it."""
    from staffroom.compliance.service import backups

    manifest = _backup_job(lambda rt, report: backups.verify(rt, backup_id, report))
    rows, files = sum(manifest["tables"].values()), len(manifest["files"])
    console.print(f"[green]backup {backup_id} is intact[/green]: {rows:,} rows, {files} files")


@backup.command("prune")
def backup_prune() -> None:
    """Delete backups beyond the retention plan (7 daily, 4 weekly, 12 monthly by default)."""
    from staffroom.compliance.service import backups

    kept, deleted = _backup_job(backups.prune)
    console.print(f"kept {kept}, deleted {deleted} backups")


@backup.command("restore")
@click.argument("backup_id")
def backup_restore(backup_id: str) -> None:
    """Restore a backup into the configured, empty database (and the media store),
    then erase again everyone in the erasure ledger."""
    from staffroom.compliance.service import backups

    manifest = _backup_job(lambda rt, report: backups.restore(rt, backup_id, report))
    rows = sum(manifest["tables"].values())
    console.print(f"[green]restored {backup_id}[/green]: {rows:,} rows")


@click.group()
def keys() -> None:
    """Encryption keys: rotate the data key, rewrap the key file under KMS."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Start a new data key for new writes; older data stays readable."""
    from staffroom.core.crypto import rotate_data_key
    from staffroom.core.kms import master_for

    settings = load_settings()
    key_id = rotate_data_key(settings.effective_keys_file, master_for(settings))
    console.print(f"[green]new active data key {key_id}[/green]; restart the API to use it.")


@keys.command("rewrap")
def keys_rewrap() -> None:
    """Re-encrypt the stored keys under the newest KMS master key (a key file in the clear
    is moved under KMS)."""
    from staffroom.core.crypto import rewrap
    from staffroom.core.kms import master_for

    settings = load_settings()
    master = master_for(settings)
    if master is None:
        console.print("[red]set STAFFROOM_KMS_KEY_ID[/red]: rewrap puts the keys under KMS.")
        sys.exit(2)
    count = rewrap(settings.effective_keys_file, master)
    console.print(f"[green]{count} keys rewrapped[/green] under {master.key_id}.")


@click.group()
def relay() -> None:
    """The chat relay's queue of events (outbox)."""


@relay.command("status")
def relay_status() -> None:
    """Events waiting per target and those given up on, with their errors."""
    ready_settings()
    from rich.table import Table

    from staffroom.chat.service import outbox

    report = asyncio.run(outbox.status())
    table = Table("target", "waiting", "oldest waiting (UTC)", "abandoned (last 7 days)")
    for row in report:
        oldest = row["oldest_waiting"]
        table.add_row(
            row["target"],
            f"{row['waiting']:,}",
            f"{oldest:%Y-%m-%d %H:%M:%S}" if oldest else "-",
            f"{row['abandoned']:,}",
        )
    console.print(table)
    latest = [(row["target"], a) for row in report for a in row["latest_abandoned"]]
    if latest:
        errors = Table("target", "abandoned (UTC)", "event", "conversation", "last error")
        for target, a in latest:
            errors.add_row(
                target,
                f"{a['abandoned_at']:%Y-%m-%d %H:%M:%S}",
                a["event"],
                str(a["conversation"] or "-"),
                a["last_error"],
            )
        console.print(errors)


@relay.command("requeue")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=24.0,
    help="Events abandoned within this many hours (default 24).",
)
def relay_requeue(hours: float) -> None:
    """Relay again the events given up on recently (once their cause is fixed)."""
    ready_settings()
    from datetime import timedelta

    from staffroom.chat.service import outbox
    from staffroom.core import clock

    count = asyncio.run(outbox.requeue_abandoned(clock.utcnow() - timedelta(hours=hours)))
    console.print(f"[green]{count} events[/green] queued again; the dispatcher relays them.")
