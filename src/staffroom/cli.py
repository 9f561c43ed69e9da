"""The `staffroom` command: serve, migrate, org create, invite import, codes create;
retention, audit and backup commands come from cli_ops."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from staffroom.settings import (
    PREFIX,
    Settings,
    default_public_url,
    load_settings,
    public_url_configured,
    unknown_settings,
)

console = Console(stderr=True)
T = TypeVar("T")


@click.group()
def main() -> None:
    """Staffroom: employee communications backend."""


def ready_settings() -> Settings:
    """The settings, once the database they name is there and migrated; otherwise the
    command ends with one line saying so, before anything (a key file, an empty database
    file, its folder) is created."""
    from staffroom.cli_checks import require_database

    settings = load_settings()
    require_database(settings)
    return settings


async def _migrate() -> bool:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    return bool(result.success)


@main.command()
def migrate() -> None:
    """Apply every pending database migration."""
    settings = load_settings()
    settings.data_path.mkdir(parents=True, exist_ok=True)
    if not asyncio.run(_migrate()):
        console.print("[red]migrations failed[/red]")
        sys.exit(1)
    console.print("[green]database is up to date[/green]")


SHUTDOWN_GRACE_SECONDS = 20


@main.command()
@click.option("--host", default=None, help="Address to bind (default STAFFROOM_HOST).")
@click.option("--port", type=int, default=None, help="Port (default STAFFROOM_PORT).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, help="Worker processes.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option(
    "--allow-without-redis",
    is_flag=True,
    help="Run several workers without STAFFROOM_REDIS_URL (each keeps its own limits and "
    "chat events; for trying things out only).",
)
def serve(
    host: str | None,
    port: int | None,
    workers: int,
    tls_cert: str | None,
    tls_key: str | None,
    allow_without_redis: bool,
) -> None:
    """Run the API with granian (TLS 1.2 as the floor when a certificate is given)."""
    from granian import Granian
    from granian.constants import Interfaces, SSLProtocols

    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    settings = ready_settings()
    if workers > 1 and not settings.redis_url and not allow_without_redis:
        # Without Redis each worker has its own rate-limit counters and its own relay: a
        # socket on one worker never hears of a message sent through another.
        console.print(
            f"[red]--workers {workers} needs STAFFROOM_REDIS_URL[/red]: without Redis the "
            "workers share neither rate limits nor chat events (pass --allow-without-redis "
            "to run them anyway, for trying things out only).",
            soft_wrap=True,
        )
        sys.exit(2)
    if workers > 1 and not settings.redis_url:
        # No worker would hear of another's sign-outs or role changes: no principal cache.
        os.environ[f"{PREFIX}PRINCIPAL_CACHE_SECONDS"] = "0"
    bind_host, bind_port = host or settings.host, port or settings.port
    scheme = "https" if tls_cert else "http"
    busy = _cannot_bind(bind_host, bind_port)
    if busy:
        console.print(
            f"[red]cannot listen on {bind_host}:{bind_port}[/red]: {busy} "
            "(choose another port with --port or STAFFROOM_PORT).",
            soft_wrap=True,
        )
        sys.exit(1)
    # The workers read their settings from the environment: they bind what was asked for,
    # and unless STAFFROOM_PUBLIC_URL says otherwise, the links they email follow it.
    os.environ[f"{PREFIX}HOST"], os.environ[f"{PREFIX}PORT"] = bind_host, str(bind_port)
    if not public_url_configured():
        os.environ[f"{PREFIX}PUBLIC_URL"] = default_public_url(bind_host, bind_port, scheme)
    base = default_public_url(bind_host, bind_port, scheme)
    console.print(
        Panel.fit(
            f"Staffroom on {base}\n"
            f"Web app:   {base}/\n"
            f"API docs:  {base}/schema/swagger\n"
            f"OpenAPI:   {base}/schema/openapi.json\n"
            "First organisation:\n"
            "  staffroom org create --slug acme --name Acme --owner-email it@acme.example \\\n"
            '    --owner-name "Ida Owner"',
            title="staffroom",
        )
    )
    server = Granian(
        "staffroom.app:create_app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address=bind_host,
        port=bind_port,
        workers=workers,
        ssl_cert=Path(tls_cert) if tls_cert else None,
        ssl_key=Path(tls_key) if tls_key else None,
        ssl_protocol_min=SSLProtocols.tls12,
        log_access=False,
        # A worker that dies (OOM, a crash, a kill) is replaced rather than leaving the
        # server with fewer workers until someone restarts it.
        respawn_failed_workers=True,
        respawn_interval=1.0,
        # A worker gets this long to finish its requests after SIGTERM, then it is killed:
        # granian otherwise waits for ever on one stuck in start-up or shutdown, and a
        # deploy's restart with it (seen once in the suite under load).
        workers_kill_timeout=SHUTDOWN_GRACE_SECONDS,
    )
    for key in unknown_settings():
        console.print(f"[yellow]ignored: {key} is not a setting (see .env.example)[/yellow]")
    assert ssl.HAS_TLSv1_2
    with _shared_metrics(settings):
        server.serve()


def _cannot_bind(host: str, port: int) -> str | None:
    """Why host:port cannot be listened on (taken, or an address not of this machine)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            # As granian binds: a port left in TIME_WAIT by the last run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


@contextlib.contextmanager
def _shared_metrics(settings: Settings) -> Iterator[None]:
    """With metrics on, one folder where every worker keeps its counts (prometheus_client's
    multiprocess mode), so a scrape answered by any worker covers them all. Set before the
    workers start (they read it on import); a fresh folder each start, removed at the end:
    counts from an earlier run would be added to this one's."""
    # Not imported from staffroom.metrics: prometheus_client must not be loaded here
    # before the variable is set (forked workers would inherit it without).
    variable = "PROMETHEUS_MULTIPROC_DIR"
    if not settings.metrics_token or os.environ.get(variable):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="staffroom-metrics-") as folder:
        os.environ[variable] = folder
        try:
            yield
        finally:
            del os.environ[variable]


@main.group()
def org() -> None:
    """Organisations."""


@org.command("create")
@click.option("--slug", required=True, help="Short name used at sign-in, e.g. acme.")
@click.option("--name", required=True, help="Display name.")
@click.option("--owner-email", required=True, help="The owner's email address.")
@click.option(
    "--owner-name",
    required=True,
    help="The owner's display name (the invitations they send are signed with it).",
)
def org_create(slug: str, name: str, owner_email: str, owner_name: str) -> None:
    """Create an organisation and its owner; prints a one-time setup link."""
    if not owner_name.strip():
        raise click.BadParameter("the owner's name cannot be empty", param_hint="--owner-name")
    settings = ready_settings()
    from staffroom.accounts.service import orgs
    from staffroom.core.errors import DomainError
    from staffroom.core.runtime import Runtime

    async def run() -> tuple[str, str]:
        rt = Runtime.build(settings)
        try:
            created, _, link = await orgs.create_org(rt, slug, name, owner_email, owner_name)
        finally:
            await rt.close()
        return created.slug, link

    try:
        created_slug, link = asyncio.run(run())
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red] ({exc.code})")
        sys.exit(2)
    console.print(
        Panel.fit(
            f"Organisation [bold]{created_slug}[/bold] created.\n"
            f"The owner opens this one-time link in a browser and chooses a password "
            f"(valid {settings.setup_token_ttl // 86400} days):\n\n{link}\n\n"
            "API: POST /api/v1/auth/password-reset/confirm {token, password}",
            title="org created",
        )
    )
    # The bare link on stdout, for scripts.
    click.echo(link)


def _with_progress(run: Callable[[Progress], Coroutine[Any, Any, T]]) -> T:
    """Run a long job under a progress bar; a domain error ends the command with exit 2."""
    from staffroom.core.errors import DomainError

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            return asyncio.run(run(progress))
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red] ({exc.code})")
        sys.exit(2)


@main.group()
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

    report = _with_progress(run)
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


# Access codes live in cli_codes, operations commands (retention, audit, backup, keys, relay)
# in cli_ops; registered here.
from staffroom.cli_codes import codes  # noqa: E402
from staffroom.cli_ops import audit, backup, keys, relay, retention  # noqa: E402

main.add_command(codes)
main.add_command(retention)
main.add_command(audit)
main.add_command(backup)
main.add_command(keys)
main.add_command(relay)
