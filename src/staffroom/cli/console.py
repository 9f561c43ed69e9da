"""What every `staffroom` command prints with: the console (stderr) and a progress bar for
long jobs."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

console = Console(stderr=True)
T = TypeVar("T")


def with_progress(run: Callable[[Progress], Coroutine[Any, Any, T]]) -> T:
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
