"""`staffroom migrate` and `staffroom serve` (granian, its workers, TLS, shared metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
from rich.panel import Panel

from staffroom.cli.checks import ready_settings
from staffroom.cli.console import console
from staffroom.settings import (
    PREFIX,
    Settings,
    default_public_url,
    load_settings,
    public_url_configured,
    unknown_settings,
)


async def _migrate() -> bool:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    return bool(result.success)


@click.command()
def migrate() -> None:
    """Apply every pending database migration."""
    settings = load_settings()
    settings.data_path.mkdir(parents=True, exist_ok=True)
    if not asyncio.run(_migrate()):
        console.print("[red]migrations failed[/red]")
        sys.exit(1)
    console.print("[green]database is up to date[/green]")


SHUTDOWN_GRACE_SECONDS = 20


@click.command()
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
    # Not imported from staffroom.endpoints.metrics: prometheus_client must not be loaded here
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
