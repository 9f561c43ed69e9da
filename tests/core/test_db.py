"""Hand-written statements (`core/db.fetch`): numbered as Piccolo numbers them, and part of
the transaction they run in (on PostgreSQL they bypass Piccolo's query object)."""

from __future__ import annotations

import pytest

from staffroom.accounts.tables import Org
from staffroom.core.db import fetch, numbered
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
        async with Org._meta.db.transaction():
            await fetch(Org, "UPDATE org SET name = {} WHERE id = {}", "Renamed", acme)
            # Seen inside the transaction, by both kinds of statement…
            inside = await fetch(Org, "SELECT name FROM org WHERE id = {}", acme)
            assert inside == [{"name": "Renamed"}]
            assert (await Org.select(Org.name).where(Org.id == acme).first())["name"] == "Renamed"
            raise _Undo
    # …and gone with its rollback.
    assert before != [{"name": "Renamed"}]
    assert await fetch(Org, "SELECT name FROM org WHERE id = {}", acme) == before
