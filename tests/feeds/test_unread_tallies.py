"""Kept unread counts (feeds/service/tallies.py, issue 22): publishing raises a channel's
count, reading lowers the reader's, deleting or unpublishing takes a post out for
everyone, an audience change needs no write, scheduled posts count once published; at
every step the page says what the capped walk over the timeline says, and the kept
counts equal a recount from the posts and reads."""

from __future__ import annotations

import asyncio
import importlib
import random
import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.tables import Org
from staffroom.compliance.service import retention
from staffroom.core import clock
from staffroom.core.db.sql import fetch
from staffroom.feeds.service import tallies, timeline_sql
from staffroom.feeds.tables import Channel, Post, ReadTally
from tests.support.flows import auth
from tests.support.world import World, login

BACKFILL = importlib.import_module(
    "staffroom.feeds.piccolo_migrations.feeds_2026_12_03t14_19_37_000000"
)


async def who(client: Any, name: str) -> dict[str, str]:
    return auth(await login(client, "acme", f"{name}@acme.example"))


async def channel(client: Any, h: dict[str, str], **body: Any) -> str:
    r = await client.post("/api/v1/channels", json={"name": "News", **body}, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def post(client: Any, h: dict[str, str], channel_id: str, **body: Any) -> str:
    body = {"title": "Hello", "body": "Welcome"} | body
    r = await client.post(f"/api/v1/channels/{channel_id}/posts", json=body, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def unread(client: Any, h: dict[str, str]) -> dict[str, int]:
    r = await client.get("/api/v1/feed", headers=h)
    assert r.status_code == 200, r.text
    counts: dict[str, int] = r.json()["unread_by_channel"]
    return counts


async def walked(world: World, name: str) -> dict[str, int]:
    """What the capped walk over the timeline counts (no cap reached), for a non-moderator."""
    org, user = world.acme.id, world.acme[name].id
    text, args = timeline_sql.visible_channels(org, user, every_channel=False)
    channels = [r["id"] for r in await fetch(Channel, text, *args)]
    if not channels:
        return {}
    text, args = timeline_sql.unread(org, user, channels, clock.utcnow(), 10**9)
    return {str(r["channel"]): int(r["n"]) for r in await fetch(Post, text, *args)}


async def kept_state() -> tuple[dict[str, int], dict[tuple[str, str], int], dict[str, bool]]:
    """Every kept count: per channel, per person and channel (non-zero), per post."""
    channels = {str(r["id"]): r["posts_counted"] for r in await Channel.select()}
    reads = {
        (str(r["user"]), str(r["channel"])): r["reads"]
        for r in await ReadTally.select()
        if r["reads"]
    }
    posts = {str(r["id"]): bool(r["counted"]) for r in await Post.select(Post.id, Post.counted)}
    return channels, reads, posts


async def assert_settled_equals_recount() -> None:
    await tallies.settle()
    kept = await kept_state()
    await tallies.rebuild()
    assert kept == await kept_state()


async def test_publishing_raises_and_reading_lowers(client, world: World) -> None:
    admin, editor = await who(client, "admin"), await who(client, "editor")
    member = await who(client, "member")
    news = await channel(client, admin)
    first = await post(client, editor, news)
    second = await post(client, editor, news, requires_ack=True)
    # Counted at once (a post waiting to be settled is counted as one whose time came)…
    assert await unread(client, member) == {news: 2} == await walked(world, "member")
    assert await Channel.select(Channel.posts_counted).where(Channel.id == news) == [
        {"posts_counted": 0}
    ]
    # …and kept once settled: one channel row, no row per person.
    assert await tallies.settle() == 2
    assert await Channel.select(Channel.posts_counted).where(Channel.id == news) == [
        {"posts_counted": 2}
    ]
    assert await ReadTally.count() == 0
    assert await unread(client, member) == {news: 2}
    for _ in range(2):  # a repeat changes nothing
        assert (await client.post(f"/api/v1/posts/{first}/read", headers=member)).status_code == 204
    assert await unread(client, member) == {news: 1} == await walked(world, "member")
    assert await ReadTally.select(ReadTally.reads) == [{"reads": 1}]
    # Acknowledging reads it too.
    r = await client.post(f"/api/v1/posts/{second}/acknowledge", headers=member)
    assert r.status_code == 204
    assert await unread(client, member) == {}
    assert await unread(client, editor) == {news: 2}  # everyone else's stays
    await assert_settled_equals_recount()


async def test_deleting_and_unpublishing_take_a_post_out_for_everyone(client, world: World):
    admin, editor = await who(client, "admin"), await who(client, "editor")
    member, hr = await who(client, "member"), await who(client, "hr_admin")
    news = await channel(client, admin)
    read, unread_one = await post(client, editor, news), await post(client, editor, news)
    await tallies.settle()
    await client.post(f"/api/v1/posts/{read}/read", headers=member)
    assert await unread(client, member) == {news: 1}
    # Deleting the post they read: the channel and their own count both lose it.
    assert (await client.delete(f"/api/v1/posts/{read}", headers=editor)).status_code == 204
    assert await unread(client, member) == {news: 1} == await walked(world, "member")
    assert await unread(client, hr) == {news: 1}
    assert (await client.delete(f"/api/v1/posts/{unread_one}", headers=editor)).status_code == 204
    assert await unread(client, member) == {} == await unread(client, hr)
    await assert_settled_equals_recount()
    # An expiry passing unpublishes a post, before and after the scheduler settles it.
    soon = (clock.utcnow() + timedelta(minutes=1)).isoformat()
    brief = await post(client, editor, news, expires_at=soon)
    await tallies.settle()
    assert await unread(client, hr) == {news: 1}
    clock.travel(61)
    hr = await who(client, "hr_admin")
    assert await unread(client, hr) == {} == await walked(world, "hr_admin")
    assert await tallies.settle() == 1
    assert await unread(client, hr) == {}
    # Moving its expiry out again publishes it again.
    later = (clock.utcnow() + timedelta(days=1)).isoformat()
    r = await client.patch(f"/api/v1/posts/{brief}", json={"expires_at": later}, headers=editor)
    assert r.status_code == 200, r.text
    assert await unread(client, hr) == {news: 1} == await walked(world, "hr_admin")
    await assert_settled_equals_recount()


async def test_audience_changes_write_nothing(client, world: World) -> None:
    admin, editor = await who(client, "admin"), await who(client, "editor")
    member = await who(client, "member")
    group = (await client.post("/api/v1/groups", json={"name": "Depot"}, headers=admin)).json()
    depot = await channel(
        client, admin, name="Depot", audience="groups", audience_group_ids=[group["id"]]
    )
    made = [await post(client, admin, depot) for _ in range(3)]
    await tallies.settle()
    assert await unread(client, member) == {}
    before = await kept_state()
    r = await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(world.acme["member"].id)]},
        headers=admin,
    )
    assert r.status_code in (200, 201), r.text
    assert await unread(client, member) == {depot: 3} == await walked(world, "member")
    await client.post(f"/api/v1/posts/{made[0]}/read", headers=member)
    assert await unread(client, member) == {depot: 2}
    r = await client.delete(
        f"/api/v1/groups/{group['id']}/members/{world.acme['member'].id}", headers=admin
    )
    assert r.status_code == 204, r.text
    assert await unread(client, member) == {} == await walked(world, "member")
    # Their read stays theirs: back in the audience, it still counts as read.
    await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(world.acme["member"].id)]},
        headers=admin,
    )
    assert await unread(client, member) == {depot: 2}
    channels, _, posts = await kept_state()
    assert (channels, posts) == (before[0], before[2])
    assert editor  # a moderator: sees every channel, audience or not
    assert await unread(client, editor) == {depot: 3}


async def test_scheduled_posts_count_only_once_published(client, world: World) -> None:
    admin, editor = await who(client, "admin"), await who(client, "editor")
    news = await channel(client, admin)
    at = (clock.utcnow() + timedelta(hours=1)).isoformat()
    await post(client, editor, news, publish_at=at)
    assert await tallies.settle() == 0
    member = await who(client, "member")
    assert await unread(client, member) == {} == await walked(world, "member")
    clock.travel(3601)
    member = await who(client, "member")
    # Published: counted at once, before the scheduler gets to it…
    assert await unread(client, member) == {news: 1} == await walked(world, "member")
    # …and kept from its next round.
    assert await tallies.settle() == 1
    assert await unread(client, member) == {news: 1}
    await assert_settled_equals_recount()


async def test_retention_takes_deleted_posts_out_of_the_counts(client, rt, world: World):
    admin, editor = await who(client, "admin"), await who(client, "editor")
    member = await who(client, "member")
    news = await channel(client, admin)
    old = await post(client, editor, news)
    await client.post(f"/api/v1/posts/{old}/read", headers=member)
    await tallies.settle()
    clock.travel(timedelta(days=31).total_seconds())
    await post(client, await who(client, "editor"), news)
    await Org.update({Org.post_retention_days: 30}).where(Org.id == world.acme.id)
    assert (await retention.run(rt)).posts_deleted == 1
    member = await who(client, "member")
    assert await unread(client, member) == {news: 1} == await walked(world, "member")
    assert await ReadTally.select(ReadTally.reads) == [{"reads": 0}]
    await assert_settled_equals_recount()


async def test_the_migration_fills_the_counts_of_existing_posts(client, world: World) -> None:
    admin, editor = await who(client, "admin"), await who(client, "editor")
    member = await who(client, "member")
    news, shifts = await channel(client, admin), await channel(client, admin, name="Shifts")
    made = [await post(client, editor, c) for c in (news, news, shifts)]
    await post(client, editor, news, publish_at=(clock.utcnow() + timedelta(days=1)).isoformat())
    await client.delete(f"/api/v1/posts/{made[1]}", headers=editor)
    await client.post(f"/api/v1/posts/{made[2]}/read", headers=member)
    await tallies.settle()
    expected = await kept_state()
    # As before the migration: nothing counted.
    await Post.update({Post.counted: False}, force=True)
    await Channel.update({Channel.posts_counted: 0}, force=True)
    await ReadTally.delete(force=True)
    now = clock.utcnow()
    await Post.raw(BACKFILL._BACKFILL[0], now, now)
    for statement in BACKFILL._BACKFILL[1:]:
        await Post.raw(statement)
    assert await kept_state() == expected
    assert await unread(client, member) == {news: 1} == await walked(world, "member")


async def test_kept_counts_follow_any_mix_of_changes(client, world: World) -> None:
    """Posts, reads, deletes, expiries and schedules in a seeded random order, some at
    once: after each round the page agrees with the walk for every reader, and the
    settled counts with a recount."""
    rng = random.Random(22)
    admin, editor = await who(client, "admin"), await who(client, "editor")
    readers = ["member", "hr_admin", "guest"]
    channels = [await channel(client, admin, name=f"C{i}") for i in range(3)]
    posts: list[str] = []
    for round_ in range(6):
        heads = {name: await who(client, name) for name in readers}
        jobs = []
        for _ in range(8):
            kind = rng.choice(["post", "post", "read", "read", "read", "delete", "brief"])
            if kind == "post" or not posts:
                posts.append(await post(client, editor, rng.choice(channels)))
            elif kind == "brief":
                soon = (clock.utcnow() + timedelta(seconds=rng.choice([30, 90]))).isoformat()
                posts.append(await post(client, editor, rng.choice(channels), expires_at=soon))
            elif kind == "read":
                h = heads[rng.choice(readers)]
                jobs.append(client.post(f"/api/v1/posts/{rng.choice(posts)}/read", headers=h))
            else:
                jobs.append(client.delete(f"/api/v1/posts/{rng.choice(posts)}", headers=editor))
        jobs.append(tallies.settle())
        await asyncio.gather(*jobs)
        clock.travel(60)
        heads = {name: await who(client, name) for name in readers}
        for name in readers:
            assert await unread(client, heads[name]) == await walked(world, name), (round_, name)
        if round_ % 2:
            await assert_settled_equals_recount()
    assert uuid.UUID(posts[0])
