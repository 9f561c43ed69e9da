"""`staffroom org create`: an organisation, its owner and the owner's one-time setup link."""

from __future__ import annotations

import asyncio
import sys

import click
from rich.panel import Panel

from staffroom.cli.checks import ready_settings
from staffroom.cli.console import console


@click.group()
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
