"""`EXPLAIN (ANALYZE, BUFFERS)` of the feed's unread counts on a seeded PostgreSQL (issue 22):
`python -m bench.unread_explain [--posts N] [--out FILE]`.

Starts a throw-away PostgreSQL 15, migrates, seeds the organisation of bench/seed.py at a
small scale, and adds one reader who has read every post they can see (a "caught-up"
reader; the seeded ones have read the newest 100 posts of the org each, so thousands of
visible posts are unread for them). Then, for both readers, it explains the statement a
feed page ran for its unread counts before issue 22 (the capped walk, `timeline_sql.unread`)
and the one it runs now (the kept counts, `timeline_sql.unread_kept`), checks that the
kept counts are each channel's unread posts up to the cap, and times 300 runs of each.
Prints Markdown (and writes it to --out).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.servers import PostgresServer


def _scale(posts: int) -> Any:
    from bench.seed import Scale

    return Scale(
        users=2_000,
        admins=20,
        groups=40,
        channels=30,
        posts=posts,
        reads=200_000,
        reactions=20_000,
        conversations=100,
        messages=2_000,
    )


async def _explain(conn: Any, sql: str, args: list[Any]) -> str:
    from staffroom.core.db.sql import numbered

    text = numbered(sql)
    for _ in range(3):  # warm: what a busy server has in its buffers
        await conn.fetch(text, *args)
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {text}", *args)
    return "\n".join(r[0] for r in rows)


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, uuid.UUID):
        return f"'{value}'::uuid"
    return f"'{value.isoformat()}'::timestamptz"


async def _generic(conn: Any, sql: str, args: list[Any]) -> str:
    """The plan PostgreSQL uses once it settles on a generic plan for a prepared statement
    (asyncpg prepares every statement): planned without the parameters' values."""
    from staffroom.core.db.sql import numbered

    await conn.execute(f"PREPARE kept AS {numbered(sql)}")
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        values = ", ".join(_literal(a) for a in args)
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE kept({values})")
    finally:
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("DEALLOCATE kept")
    return "\n".join(r[0] for r in rows)


async def _catch_up(conn: Any, org: uuid.UUID, user: uuid.UUID) -> int:
    """Make `user` a reader of every live post of the channels they can read."""
    from staffroom.core.db.sql import numbered
    from staffroom.feeds.service import timeline_sql

    channels_sql, args = timeline_sql.visible_channels(org, user, every_channel=False)
    channels = [r["id"] for r in await conn.fetch(numbered(channels_sql), *args)]
    done = await conn.execute(
        """INSERT INTO post_read (id, org, post, "user", read_at)
        SELECT gen_random_uuid(), $1, p.id, $2, now() FROM post p
        WHERE p.org = $1 AND p.channel = ANY($3::uuid[]) AND p.deleted_at IS NULL
        ON CONFLICT DO NOTHING""",
        org,
        user,
        channels,
    )
    return int(done.split()[-1])


async def _timed(conn: Any, statements: dict[str, tuple[str, list[Any]]]) -> dict[str, float]:
    """Median µs of each statement over 300 runs, interleaved (so the machine's other work
    weighs on each alike); asyncpg prepares and caches them, as the server's pool does."""
    import statistics
    import time

    from staffroom.core.db.sql import numbered

    took: dict[str, list[float]] = {label: [] for label in statements}
    for _ in range(300):
        for label, (sql, args) in statements.items():
            start = time.perf_counter()
            await conn.fetch(numbered(sql), *args)
            took[label].append((time.perf_counter() - start) * 1e6)
    return {label: statistics.median(values) for label, values in took.items()}


async def _run(posts: int) -> str:
    import asyncpg

    from bench.seed import rebuild_unread, seed
    from staffroom.core.db.sql import numbered
    from staffroom.feeds.service import timeline_sql
    from staffroom.feeds.service.timeline import UNREAD_CAP
    from staffroom.settings import load_settings

    seeded = await seed(_scale(posts), report=lambda line: print(f"  seeded {line}"))
    conn = await asyncpg.connect(load_settings().database_url)
    out: list[str] = []
    try:
        org = seeded.org_id
        over_cap, caught_up = seeded.users[100][0], seeded.users[101][0]
        read = await _catch_up(conn, org, caught_up)
        await rebuild_unread(conn)  # the kept counts follow what was just inserted
        await conn.execute("VACUUM ANALYZE")
        now = datetime.now(UTC)
        out.append(f"{posts} posts; the caught-up reader read {read} more.\n")
        for name, user in (("seeded reader", over_cap), ("caught-up reader", caught_up)):
            channels_sql, args = timeline_sql.visible_channels(org, user, every_channel=False)
            channels = [r["id"] for r in await conn.fetch(numbered(channels_sql), *args)]
            asked = (org, user, channels, now, UNREAD_CAP)
            statements = {
                "before: the capped walk": timeline_sql.unread(*asked),
                "after: the kept counts": timeline_sql.unread_kept(*asked),
            }
            results = {}
            for label, (sql, sql_args) in statements.items():
                rows = await conn.fetch(numbered(sql), *sql_args)
                results[label] = {str(r["channel"]): int(r["n"]) for r in rows}
            # Now each channel's unread posts, exact up to the cap (the walk without one).
            exact_sql, exact_args = timeline_sql.unread(org, user, channels, now, 10**9)
            exact = {
                str(r["channel"]): min(int(r["n"]), UNREAD_CAP)
                for r in await conn.fetch(numbered(exact_sql), *exact_args)
            }
            assert results["after: the kept counts"] == exact, (results, exact)
            counted = sum(exact.values())
            medians = await _timed(conn, statements)
            for label, (sql, sql_args) in statements.items():
                out.append(
                    f"### {name} ({len(channels)} channels, {counted} unread counted): {label}, "
                    f"median {medians[label]:.0f} µs a run over 300\n"
                )
                out.append("```\n" + await _explain(conn, sql, sql_args) + "\n```\n")
            # What a pooled connection may run after five executions: a generic plan.
            generic = await _generic(conn, *statements["after: the kept counts"])
            out.append(f"### {name}: the kept counts as a generic plan\n")
            out.append("```\n" + generic + "\n```\n")
    finally:
        await conn.close()
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=None)
    opts = parser.parse_args()
    pg = PostgresServer.start()
    data = tempfile.mkdtemp(prefix="staffroom-explain-")
    env = {
        "STAFFROOM_DATABASE_URL": pg.url,
        "STAFFROOM_DATA_DIR": data,
        "STAFFROOM_KEYS_FILE": "",
        "STAFFROOM_BCRYPT_ROUNDS": "4",
        "STAFFROOM_REDIS_URL": "",
        "STAFFROOM_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, "-m", "staffroom", "migrate"], check=True)
        text = asyncio.run(_run(opts.posts))
    finally:
        pg.stop()
    print(text)
    if opts.out:
        opts.out.write_text(text)


if __name__ == "__main__":
    main()
