"""The `staffroom` command. Each group of subcommands lives in its own module and is
registered here; the modules import only `console` and `checks`, never this package."""

from __future__ import annotations

import click

from staffroom.cli import codes, invites, ops, orgs, server


@click.group()
def main() -> None:
    """Staffroom: employee communications backend."""


for command in (
    server.migrate,
    server.serve,
    orgs.org,
    invites.invite,
    codes.codes,
    ops.retention,
    ops.audit,
    ops.backup,
    ops.keys,
    ops.relay,
):
    main.add_command(command)
