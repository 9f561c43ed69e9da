"""Hand-written statements (`core/db/sql.py::fetch`): numbered as Piccolo numbers them, part
of the transaction they run in (on PostgreSQL they bypass Piccolo's query object), and run
from that one module only."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

import staffroom
from staffroom.accounts.tables import Org
from staffroom.core import clock
from staffroom.core.db.engine import is_unique_violation, unique_or
from staffroom.core.db.sql import fetch, numbered, transaction
from staffroom.core.errors import Conflict
from tests.support.world import World


def test_placeholders_are_numbered_in_order_and_doubled_braces_stay_literal() -> None:
    assert numbered("SELECT {} , '{{x}}', {}") == "SELECT $1 , '{x}', $2"
    assert numbered("SELECT 1") == "SELECT 1"


class _Undo(Exception):
    pass


async def test_a_hand_written_statement_belongs_to_the_transaction_it_runs_in(
    app, world: World
) -> None:
    acme = world.acme.id
    before = await fetch(Org, "SELECT name FROM org WHERE id = {}", acme)
    with pytest.raises(_Undo):
        async with transaction(Org):
            await fetch(Org, "UPDATE org SET name = {} WHERE id = {}", "Renamed", acme)
            # Seen inside the transaction, by both kinds of statement…
            inside = await fetch(Org, "SELECT name FROM org WHERE id = {}", acme)
            assert inside == [{"name": "Renamed"}]
            assert (await Org.select(Org.name).where(Org.id == acme).first())["name"] == "Renamed"
            raise _Undo
    # …and gone with its rollback.
    assert before != [{"name": "Renamed"}]
    assert await fetch(Org, "SELECT name FROM org WHERE id = {}", acme) == before


async def test_unique_or_answers_a_unique_violation_and_lets_anything_else_through(
    app, world: World
) -> None:
    taken = world.acme.slug
    copy = Org(id=uuid.uuid4(), slug=taken, name="Copy", created_at=clock.utcnow())
    with pytest.raises(Conflict) as caught:
        with unique_or(Conflict("org_exists", "An organisation with this slug exists.")):
            await Org.insert(copy)
    assert caught.value.code == "org_exists"
    assert is_unique_violation(caught.value.__cause__)
    # None: the violation is swallowed and kept for the caller to answer.
    with unique_or(None) as clash:
        await Org.insert(copy)
    assert clash.violation is not None and is_unique_violation(clash.violation)
    with pytest.raises(_Undo), unique_or(Conflict("org_exists", "never raised")):
        raise _Undo
    assert await Org.count().where(Org.slug == taken) == 1


# Piccolo's internals and its raw() are used in one module; the backup's dump and restore
# (the whole database, with the engines' own tools) and nothing else talk to a driver.
_RAW = re.compile(r"\._meta\b|\.raw\(|^\s*(?:import|from) (?:asyncpg|sqlite3)\b", re.M)
_ALLOWED = {"core/db/sql.py", "core/db/engine.py", "compliance/service/snapshots.py"}


def test_raw_sql_and_piccolo_internals_stay_in_core_db() -> None:
    root = Path(staffroom.__file__).parent
    offenders = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "piccolo_migrations" not in path.parts
        and str(path.relative_to(root)) not in _ALLOWED
        and _RAW.search(path.read_text())
    )
    assert offenders == []
