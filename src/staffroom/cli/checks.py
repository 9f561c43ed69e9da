"""Checks the `staffroom` commands make before touching anything: a command run outside the
checkout or before `staffroom migrate` says so in one line and creates nothing (no empty
SQLite file, no key file)."""

from __future__ import annotations

import sys

from staffroom.core.db.engine import database_problem
from staffroom.settings import Settings


def require_database(settings: Settings) -> None:
    """End the command (exit 2, one line) when the database is not ready."""
    from staffroom.cli import console

    problem = database_problem(settings.effective_database_url)
    if problem:
        console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)
