"""A realistic organisation written straight into PostgreSQL, fast: users in groups,
channels with group audiences, posts, reads, reactions, conversations and messages.

The org and its owner come from the service (audit chain, settings); the bulk rows are
INSERT … SELECT over generate_series, and chat rows (sealed bodies, keyed digests, sealed
cipher keys: made with the server's own key ring) go in with COPY. Every simulated user
has the same password, hashed once.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

PASSWORD = "Bench-Harbour-Lantern-42"
ORG = "bench"


@dataclass(frozen=True)
class Scale:
    users: int
    admins: int
    groups: int
    channels: int
    posts: int
    reads: int
    reactions: int
    conversations: int
    messages: int


LOAD = Scale(
    users=300,
    admins=10,
    groups=12,
    channels=12,
    posts=3_000,
    reads=30_000,
    reactions=8_000,
    conversations=300,
    messages=15_000,
)
FULL = Scale(
    users=20_000,
    admins=50,
    groups=200,
    channels=60,
    posts=200_000,
    reads=2_000_000,
    reactions=500_000,
    conversations=10_000,
    messages=1_000_000,
)


@dataclass
class Seeded:
    org_id: uuid.UUID
    users: list[tuple[uuid.UUID, str, str]]  # id, email, role
    all_company_channel: uuid.UUID
    conversations: dict[uuid.UUID, list[uuid.UUID]]  # conversation -> members


def email(i: int) -> str:
    return f"user{i}@bench.example"


async def seed(scale: Scale, report: Callable[[str], None] = print) -> Seeded:
    """Create the org `bench` at this scale in the database of the environment's settings."""
    from staffroom.accounts.passwords import hash_password
    from staffroom.accounts.service import orgs
    from staffroom.core.runtime import Runtime
    from staffroom.settings import load_settings

    settings = load_settings()
    rt = Runtime.build(settings)
    org, owner_id, _ = await orgs.create_org(rt, ORG, "Bench Corp", "owner@bench.example")
    hashed = await hash_password(rt.keys.pepper, PASSWORD, settings.bcrypt_rounds)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await _people(conn, org.id, owner_id, hashed, scale)
        report(f"{scale.users} users in {scale.groups} groups")
        everyone = await _feeds(conn, org.id, scale)
        await rebuild_unread(conn)  # the rows above went in by hand, past the service
        report(f"{scale.channels} channels, {scale.posts} posts, {scale.reads} reads")
        users = [
            (r["id"], r["email"], r["role"])
            for r in await conn.fetch(
                "SELECT id, email, role FROM app_user WHERE org = $1 AND email LIKE 'user%%' "
                "ORDER BY created_at, email",
                org.id,
            )
        ]
        conversations = await _chat(conn, rt, org.id, [u[0] for u in users], scale)
        report(f"{scale.conversations} conversations, {scale.messages} messages")
        # A live database has been vacuumed by now (autovacuum): visibility maps set, so
        # index-only scans are what they are in production, not heap visits after a load.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
        await rt.close()
    return Seeded(org.id, users, everyone, conversations)


async def rebuild_unread(conn: asyncpg.Connection) -> None:
    """The kept unread counts (feeds/service/tallies.py) of posts and reads inserted here."""
    from staffroom.core.db.sql import numbered
    from staffroom.feeds.service import tallies_sql

    now = datetime.now(UTC)
    async with conn.transaction():
        for statement in tallies_sql.REBUILD:
            await conn.execute(numbered(statement), *tallies_sql.rebuild_args(statement, now))


async def _people(
    conn: asyncpg.Connection, org: uuid.UUID, owner: uuid.UUID, hashed: str, scale: Scale
) -> None:
    await conn.execute("UPDATE app_user SET password_hash = $1 WHERE id = $2", hashed, owner)
    # Users are numbered 1..N; the first `admins` are admins, created a second apart so
    # "ORDER BY created_at" gives the numbering back.
    await conn.execute(
        """
        INSERT INTO app_user (id, org, email, email_verified_at, display_name, role, status,
            password_hash, locale, created_at, updated_at, sso_break_glass)
        SELECT gen_random_uuid(), $1, 'user' || i || '@bench.example', now(),
            'Employee ' || i, CASE WHEN i <= $3 THEN 'admin' ELSE 'member' END, 'active',
            $2, 'en', now() - make_interval(secs => $4 - i), now(), false
        FROM generate_series(1, $4) AS i
        """,
        org,
        hashed,
        scale.admins,
        scale.users,
    )
    await conn.execute(
        """
        INSERT INTO user_group (id, org, name, kind, description, created_at)
        SELECT gen_random_uuid(), $1, 'Team ' || g, 'team', '', now()
        FROM generate_series(1, $2) AS g
        """,
        org,
        scale.groups,
    )
    # Everyone is in one team (by number) and every fifth person in a second one.
    await conn.execute(
        """
        WITH u AS (SELECT id, row_number() OVER (ORDER BY created_at) - 1 AS n
                   FROM app_user WHERE org = $1 AND email LIKE 'user%'),
             g AS (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n
                   FROM user_group WHERE org = $1)
        INSERT INTO group_member (id, org, "group", "user", created_at)
        SELECT gen_random_uuid(), $1, g.id, u.id, now() FROM u JOIN g ON g.n = u.n % $2
        UNION ALL
        SELECT gen_random_uuid(), $1, g.id, u.id, now() FROM u
            JOIN g ON g.n = (u.n * 7 + 3) % $2 WHERE u.n % 5 = 0 AND (u.n * 7 + 3) % $2 <> u.n % $2
        """,
        org,
        scale.groups,
    )


async def _feeds(conn: asyncpg.Connection, org: uuid.UUID, scale: Scale) -> uuid.UUID:
    everyone = uuid.uuid4()
    await conn.execute(
        "INSERT INTO channel (id, org, name, description, audience, posting, comments_enabled, "
        "reactions_enabled, created_at) VALUES ($1, $2, 'All company', '', 'everyone', "
        "'everyone', true, true, now())",
        everyone,
        org,
    )
    # The other channels each reach three teams.
    await conn.execute(
        """
        INSERT INTO channel (id, org, name, description, audience, posting, comments_enabled,
            reactions_enabled, created_at)
        SELECT gen_random_uuid(), $1, 'Channel ' || c, '', 'groups', 'editors', true, true, now()
        FROM generate_series(2, $2) AS c
        """,
        org,
        scale.channels,
    )
    await conn.execute(
        """
        WITH c AS (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM channel
                   WHERE org = $1 AND audience = 'groups'),
             g AS (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM user_group
                   WHERE org = $1)
        INSERT INTO channel_group (id, org, channel, "group", role)
        SELECT gen_random_uuid(), $1, c.id, g.id, 'audience' FROM c JOIN g
            ON g.n IN (c.n % $2, (c.n + 1) % $2, (c.n + 2) % $2)
        """,
        org,
        scale.groups,
    )
    # Posts over the last year, a quarter in the all-company channel, by the admins.
    await conn.execute(
        """
        WITH c AS (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM channel
                   WHERE org = $1),
             a AS (SELECT id, row_number() OVER (ORDER BY created_at) - 1 AS n FROM app_user
                   WHERE org = $1 AND role = 'admin')
        INSERT INTO post (id, org, channel, author, title, body_md, body_html, publish_at,
            announced_at, pinned, attachment_ids, requires_ack, created_at)
        SELECT gen_random_uuid(), $1, c.id, a.id, 'Update ' || i,
            'News number ' || i || ' for **everyone** in the team.',
            '<p>News number ' || i || ' for <strong>everyone</strong> in the team.</p>',
            now() - make_interval(secs => i * (31536000.0 / $3)), now(), i % 997 = 0, '[]',
            i % 50 = 0, now()
        FROM generate_series(1, $3) AS i
        JOIN c ON c.n = CASE WHEN i % 4 = 0 THEN 0 ELSE i % $2 END
        JOIN a ON a.n = i % $4
        """,
        org,
        scale.channels,
        scale.posts,
        scale.admins,
    )
    # Reads on the newest posts (each read by everyone), reactions 40 a post on the newer
    # ones; (post, user) pairs are distinct.
    numbered = """
        WITH p AS (SELECT id, row_number() OVER (ORDER BY publish_at DESC) - 1 AS n FROM post
                   WHERE org = $1),
             u AS (SELECT id, row_number() OVER (ORDER BY created_at) - 1 AS n FROM app_user
                   WHERE org = $1 AND email LIKE 'user%')
    """
    await conn.execute(
        numbered
        + """
        INSERT INTO post_read (id, org, post, "user", read_at)
        SELECT gen_random_uuid(), $1, p.id, u.id, now() FROM generate_series(0, $2 - 1) AS i
        JOIN u ON u.n = i % $3 JOIN p ON p.n = (i / $3) % $4
        """,
        org,
        scale.reads,
        scale.users,
        scale.posts,
    )
    await conn.execute(
        numbered
        + """
        INSERT INTO post_reaction (id, org, post, "user", emoji, created_at)
        SELECT gen_random_uuid(), $1, p.id, u.id,
            (ARRAY['👍', '🎉', '❤️', '😂'])[1 + i % 4], now()
        FROM generate_series(0, $2 - 1) AS i
        JOIN u ON u.n = (i * 7) % $3 JOIN p ON p.n = (i / 40) % $4
        """,
        org,
        scale.reactions,
        scale.users,
        scale.posts,
    )
    return everyone


async def _chat(
    conn: asyncpg.Connection,
    rt: Any,
    org: uuid.UUID,
    users: list[uuid.UUID],
    scale: Scale,
) -> dict[uuid.UUID, list[uuid.UUID]]:
    from staffroom.chat.service import access, render
    from staffroom.chat.service.messages import _digest

    now = datetime.now(UTC)
    n = len(users)
    conversations: dict[uuid.UUID, list[uuid.UUID]] = {}
    conv_rows, member_rows = [], []
    for c in range(scale.conversations):
        a = c % n
        if c % 10 < 7:  # most conversations are between two people
            b = (a + 1 + c // n) % n
            people = [users[a], users[b]]
            kind, title = "direct", ""
            key: str | None = ":".join(sorted(str(p) for p in people))
        else:
            people = [users[(a + k * 13) % n] for k in range(5)]
            kind, title, key = "group", f"Shift team {c}", None
        people = list(dict.fromkeys(people))
        cid = uuid.uuid4()
        channel = access.channel_name(org)
        conversations[cid] = people
        conv_rows.append(
            (cid, org, kind, title, key, channel, access.new_cipher_key(rt.keys, org, channel))
        )
        for i, p in enumerate(people):
            role = "admin" if kind == "group" and i == 0 else "member"
            member_rows.append((uuid.uuid4(), org, cid, p, role, 0, now))
    per = max(1, scale.messages // max(1, scale.conversations))
    message_rows = []
    last: dict[uuid.UUID, int] = {}
    start = now - timedelta(days=30)
    for cid, people in conversations.items():
        for seq in range(1, per + 1):
            mid = uuid.uuid4()
            body = f"Message {seq}: can you cover the late shift on Friday?"
            message_rows.append(
                (
                    mid,
                    org,
                    cid,
                    seq,
                    people[seq % len(people)],
                    secrets.token_hex(8),
                    _digest(rt, cid, body, None),
                    render.seal_body(rt, cid, mid, body),
                    rt.keys.active_key_id,
                    start + timedelta(seconds=seq * 60),
                )
            )
        last[cid] = per
    await conn.copy_records_to_table(
        "chat_conversation",
        records=[(*r, None, last[r[0]], 0, now, now - timedelta(days=31)) for r in conv_rows],
        columns=[
            "id",
            "org",
            "kind",
            "title",
            "direct_key",
            "channel",
            "cipher_key",
            "created_by",
            "last_seq",
            "last_event",
            "last_message_at",
            "created_at",
        ],
    )
    await conn.copy_records_to_table(
        "chat_member",
        records=member_rows,
        columns=["id", "org", "conversation", "user", "role", "read_seq", "joined_at"],
    )
    await conn.copy_records_to_table(
        "chat_message",
        records=message_rows,
        columns=[
            "id",
            "org",
            "conversation",
            "seq",
            "sender",
            "client_msg_id",
            "content_digest",
            "body",
            "key_id",
            "created_at",
        ],
    )
    return conversations
