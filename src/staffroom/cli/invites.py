"""`staffroom invite import`: email invitations from a CSV file, with a per-row report."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import Progress

from staffroom.cli.checks import ready_settings
from staffroom.cli.console import console, with_progress


@click.group()
def invite() -> None:
    """Email invitations."""


@invite.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="The organisation's slug.")
@click.option("--dry-run", is_flag=True, help="Only report what would happen.")
def invite_import(file: Path, org_slug: str, dry_run: bool) -> None:
    """Invite staff from a CSV file (email, display_name, role, groups, employee_id).

    Runs with the powers of the organisation's first active owner; audited as such.
    """
    settings = ready_settings()
    from rich.table import Table

    from staffroom.core.context import RequestContext
    from staffroom.core.runtime import Runtime
    from staffroom.onboarding.service import importer

    body = file.read_bytes()

    async def run(progress: Progress) -> importer.ImportReport:
        rt = Runtime.build(settings)
        task = progress.add_task("inviting", total=None)
        try:
            principal = await importer.cli_principal(org_slug)
            return await importer.run_import(
                rt,
                principal,
                body,
                dry_run=dry_run,
                ctx=RequestContext(user_agent="staffroom-cli"),
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        finally:
            await rt.close()

    report = with_progress(run)
    table = Table(title="dry run: nothing changed" if dry_run else "import done")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for outcome, count in sorted(report.counts.items()):
        table.add_row(outcome, str(count))
    console.print(table)
    for row in report.rows:
        if row.outcome != "invite":
            console.print(
                f"line {row.line}: {row.email} [yellow]{row.outcome}[/yellow] {row.detail}"
            )
    if dry_run:
        click.echo(f"would invite {report.counts.get('invite', 0)} of {report.total} rows")
    else:
        click.echo(f"{report.invited} invited of {report.total} rows")
