"""Hand-written statements (`core/db/sql.py::fetch`): numbered as Piccolo numbers them, part
of the transaction they run in (on PostgreSQL they bypass Piccolo's query object), and run
from that one module only."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path

import msgspec
import pytest

import staffroom
from staffroom.accounts.tables import Org, User
from staffroom.core import clock
from staffroom.core.db.engine import is_unique_violation, unique_or
from staffroom.core.db.rows import row_as
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


class _Person(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    org: uuid.UUID
    created_at: datetime
    last_login_at: datetime | None
    require_mfa: bool
    session_idle_hours: int | None


async def test_a_joined_row_reads_as_its_typed_struct_on_either_database(app, world: World) -> None:
    member = world.acme["member"].id
    found = await fetch(
        User,
        "SELECT u.*, o.require_mfa, o.session_idle_hours"
        " FROM app_user u JOIN org o ON o.id = u.org WHERE u.id = {}",
        member,
    )
    row = row_as(_Person, found[0])  # the columns it names; the others are left
    assert (row.id, row.org) == (member, world.acme.id)
    assert type(row.require_mfa) is bool and row.session_idle_hours is None
    assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
    with pytest.raises(AttributeError):
        row.org = uuid.uuid4()  # type: ignore[misc]  # frozen: read, never changed


def test_a_row_converts_text_ids_and_refuses_a_wrong_type_where_it_is_read() -> None:
    row_id, now = uuid.uuid4(), clock.utcnow()
    # SQLite gives ids as text where it cannot see the column's type.
    values = {"id": str(row_id), "org": row_id, "created_at": now, "last_login_at": None}
    row = row_as(_Person, values | {"require_mfa": False, "session_idle_hours": 8})
    assert row.id == row_id and row.session_idle_hours == 8
    with pytest.raises(msgspec.ValidationError, match="session_idle_hours"):
        row_as(_Person, values | {"require_mfa": False, "session_idle_hours": "8"})
    with pytest.raises(msgspec.ValidationError, match="require_mfa"):
        row_as(_Person, values | {"session_idle_hours": 8})
