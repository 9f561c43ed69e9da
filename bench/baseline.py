"""The benchmark's baselines, served by granian exactly like `staffroom serve`:

- `GET /hello`: a bare Litestar JSON hello-world (the framework and server's ceiling);
- `GET /feed`: a hand-written handler on a raw asyncpg pool running the same SQL as the
  feed's first page (the session look-up, visible channels, the page with author names,
  reactions, the caller's reactions, comments, reads, acknowledgements, unread counts),
  answering the same JSON. The caller is named by `X-Access-Hash` (the digest of its
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

SESSION = """
SELECT s.id, s.org, s."user", s.scope, s.mfa, s.access_expires_at, s.idle_expires_at,
       s.absolute_expires_at, s.revoked_at, s.last_used_at, u.role, u.status, o.require_mfa
FROM auth_session s JOIN app_user u ON u.id = s."user" JOIN org o ON o.id = s.org
WHERE s.access_hash = $1 LIMIT 1
"""
CHANNELS = """SELECT id FROM channel WHERE org = $1 AND archived_at IS NULL
AND (audience = 'everyone' OR id IN (SELECT channel FROM channel_group WHERE org = $1
AND role = 'audience' AND "group" IN (SELECT "group" FROM group_member
WHERE "user" = $2 AND org = $1)))"""
PAGE = """SELECT p.*, u.display_name AS author_display_name FROM post p
LEFT JOIN app_user u ON u.id = p.author
WHERE p.org = $4 AND p.channel = ANY($1) AND p.deleted_at IS NULL AND p.publish_at <= $2
AND (p.expires_at IS NULL OR p.expires_at > $2)
ORDER BY p.pinned DESC, p.publish_at DESC, p.id DESC LIMIT $3"""
REACTIONS = """SELECT post, emoji, count(*) FROM post_reaction WHERE post = ANY($1)
GROUP BY post, emoji"""
MINE = 'SELECT post, emoji FROM post_reaction WHERE post = ANY($1) AND "user" = $2'
COMMENTS = """SELECT post, count(*) FROM post_comment WHERE post = ANY($1)
AND deleted_at IS NULL GROUP BY post"""
READ = 'SELECT post FROM post_read WHERE post = ANY($1) AND "user" = $2'
ACKED = 'SELECT post FROM post_ack WHERE post = ANY($1) AND "user" = $2'
UNREAD = """SELECT channel, count(*) FROM post WHERE id IN (SELECT id FROM post
WHERE org = $4 AND channel = ANY($1) AND deleted_at IS NULL AND publish_at <= $2
AND (expires_at IS NULL OR expires_at > $2)
AND id NOT IN (SELECT post FROM post_read WHERE "user" = $3)
ORDER BY pinned DESC, publish_at DESC, id DESC LIMIT 1000) GROUP BY channel"""


@get("/hello", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


@get("/feed")
async def feed(request: Request[Any, Any, Any]) -> Response[Any]:
    pool: asyncpg.Pool = request.app.state.pool
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        s = await conn.fetchrow(SESSION, request.headers.get("x-access-hash", ""))
        if s is None or s["revoked_at"] is not None or s["access_expires_at"] <= now:
            return Response({"detail": "invalid token"}, status_code=401)
        channels = sorted(r["id"] for r in await conn.fetch(CHANNELS, s["org"], s["user"]))
        rows = await conn.fetch(PAGE, channels, now, 21, s["org"])
        posts = [r["id"] for r in rows[:20]]
        reactions: dict[Any, dict[str, int]] = defaultdict(dict)
        for r in await conn.fetch(REACTIONS, posts):
            reactions[r["post"]][r["emoji"]] = r["count"]
        mine: dict[Any, list[str]] = defaultdict(list)
        for r in await conn.fetch(MINE, posts, s["user"]):
            mine[r["post"]].append(r["emoji"])
        comments = {r["post"]: r["count"] for r in await conn.fetch(COMMENTS, posts)}
        read = {r["post"] for r in await conn.fetch(READ, posts, s["user"])}
        acked = {r["post"] for r in await conn.fetch(ACKED, posts, s["user"])}
        counts = await conn.fetch(UNREAD, channels, now, s["user"], s["org"])
        unread = {str(r["channel"]): r["count"] for r in counts}
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
            "comment_count": comments.get(r["id"], 0),
            "read": r["id"] in read,
            "acknowledged": r["id"] in acked,
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
