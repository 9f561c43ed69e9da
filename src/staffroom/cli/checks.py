"""Checks the `staffroom` commands make before touching anything: a command run outside the
checkout or before `staffroom migrate` says so in one line and creates nothing (no empty
SQLite file, no key file)."""

from __future__ import annotations

import sys

from staffroom.cli.console import console
from staffroom.core.db.engine import database_problem
from staffroom.settings import Settings, load_settings


def require_database(settings: Settings) -> None:
    """End the command (exit 2, one line) when the database is not ready."""
    problem = database_problem(settings.effective_database_url)
    if problem:
        console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)


def ready_settings() -> Settings:
    """The settings, once the database they name is there and migrated; otherwise the
    command ends with one line saying so, before anything (a key file, an empty database
    file, its folder) is created."""
    settings = load_settings()
    require_database(settings)
    return settings
