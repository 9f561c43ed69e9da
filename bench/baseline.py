"""The benchmark's baselines, served by granian exactly like `staffroom serve`:

- `GET /hello`: a bare Litestar JSON hello-world (the framework and server's ceiling);
- `GET /feed`: a hand-written handler on a raw asyncpg pool running the same SQL as the
  feed's first page (the app's own statements, imported: the session look-up, visible
  channels, the page with author names, comments, reads and acknowledgements, reactions,
  unread counts), answering the same JSON. The caller is named by `X-Access-Hash` (the digest of its
  token, which the harness computes): the key ring is not this handler's business.

Run: BENCH_DATABASE_URL=… granian --interface asgi --factory bench.baseline:create_app
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
from litestar import Litestar, Request, Response, get

from staffroom.accounts.service import sessions
from staffroom.core.db.sql import numbered
from staffroom.feeds.service import timeline_sql as sql
from staffroom.feeds.service.timeline import UNREAD_CAP


async def fetch(conn: asyncpg.Connection, statement: tuple[str, list[Any]]) -> list[Any]:
    """The app's statement, its `{}` placeholders numbered as the app numbers them."""
    text, args = statement
    return list(await conn.fetch(numbered(text), *args))


@get("/hello", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


@get("/feed")
async def feed(request: Request[Any, Any, Any]) -> Response[Any]:
    pool: asyncpg.Pool = request.app.state.pool
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        found = await fetch(
            conn, (sessions.AUTHENTICATE_SQL, [request.headers.get("x-access-hash", "")])
        )
        s = found[0] if found else None
        if s is None or s["revoked_at"] is not None or s["access_expires_at"] <= now:
            return Response({"detail": "invalid token"}, status_code=401)
        org, user = s["org"], s["user"]
        visible = sql.visible_channels(org, user, every_channel=False)
        channels = sorted(r["id"] for r in await fetch(conn, visible))
        rows = await fetch(conn, sql.page(org, user, channels, now, None, 21))
        posts = [r["id"] for r in rows[:20]]
        reactions: dict[Any, dict[str, int]] = defaultdict(dict)
        mine: dict[Any, list[str]] = defaultdict(list)
        for r in await fetch(conn, sql.reactions(user, posts)):
            reactions[r["post"]][r["emoji"]] = r["n"]
            if r["mine"]:
                mine[r["post"]].append(r["emoji"])
        counts = await fetch(conn, sql.unread_kept(org, user, channels, now, UNREAD_CAP))
        unread = {str(r["channel"]): r["n"] for r in counts}
    items = [
        {
            "id": str(r["id"]),
            "channel_id": str(r["channel"]),
            "author_id": str(r["author"]) if r["author"] else None,
            "author_name": r["author_display_name"],
            "title": r["title"],
            "body_md": r["body_md"],
            "body_html": r["body_html"],
            "attachment_ids": [],
            "publish_at": r["publish_at"].isoformat(),
            "expires_at": r["expires_at"].isoformat() if r["expires_at"] else None,
            "pinned": r["pinned"],
            "requires_ack": r["requires_ack"],
            "ack_due_at": r["ack_due_at"].isoformat() if r["ack_due_at"] else None,
            "created_at": r["created_at"].isoformat(),
            "edited_at": r["edited_at"].isoformat() if r["edited_at"] else None,
            "reactions": dict(sorted(reactions[r["id"]].items())),
            "my_reactions": sorted(mine[r["id"]]),
            "comment_count": r["comment_count"],
            "read": r["is_read"],
            "acknowledged": r["is_acked"],
        }
        for r in rows[:20]
    ]
    return Response({"items": items, "next_cursor": None, "unread_by_channel": unread})


async def _open(app: Litestar) -> None:
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_DATABASE_URL"], min_size=2, max_size=20
    )


async def _close(app: Litestar) -> None:
    await app.state.pool.close()


def create_app() -> Litestar:
    return Litestar([hello, feed], on_startup=[_open], on_shutdown=[_close], openapi_config=None)
