"""Conversations: direct, group and announcement; members only from the caller's org."""

from __future__ import annotations

from staffroom.chat.service import conversations
from staffroom.chat.tables import Conversation, Member
from staffroom.core.tables import AuditEvent
from tests.chat.helpers import group, heads, say
from tests.support.queries import count_queries
from tests.support.world import World, add_user, assert_problem


async def test_a_direct_conversation_is_found_again_whoever_starts_it(client, world: World):
    member, editor = await heads(client, world, "member", "editor")
    first = await client.post(
        "/api/v1/conversations",
        json={"kind": "direct", "user_ids": [str(world.acme["editor"].id)]},
        headers=member,
    )
    assert first.status_code == 201, first.text
    again = await client.post(
        "/api/v1/conversations",
        json={"kind": "direct", "user_ids": [str(world.acme["member"].id)]},
        headers=editor,
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert {m["user_id"] for m in first.json()["members"]} == {
        str(world.acme["member"].id),
        str(world.acme["editor"].id),
    }
    assert await Conversation.count() == 1


async def test_members_come_from_the_callers_org_only(client, world: World):
    (member,) = await heads(client, world, "member")
    for user_ids in (
        [str(world.globex["member"].id)],  # another org's person
        [str(world.acme["editor"].id), str(world.globex["member"].id)],
        ["8c6d1a4e-0000-4000-8000-000000000000"],  # nobody
    ):
        r = await client.post(
            "/api/v1/conversations",
            json={"kind": "group", "title": "X", "user_ids": user_ids},
            headers=member,
        )
        assert_problem(r, 422, "unknown_user")
    for body, code in (
        ({"kind": "direct", "user_ids": []}, "direct_needs_one"),
        ({"kind": "direct", "user_ids": [str(world.acme["member"].id)]}, "direct_needs_one"),
        ({"kind": "group", "title": "  ", "user_ids": []}, "title_required"),
        ({"kind": "channel", "user_ids": []}, None),
        ({"kind": "group", "title": "x", "user_ids": [], "org": str(world.globex.id)}, None),
    ):
        r = await client.post("/api/v1/conversations", json=body, headers=member)
        assert_problem(r, 422 if code else 400, code)
    assert await Conversation.count() == 0


async def test_group_admins_manage_members_and_removed_people_lose_access(client, world: World):
    admin, member, editor = await heads(client, world, "admin", "member", "editor")
    conv = await group(client, world, admin, "member")
    cid = conv["id"]
    assert conv["my_role"] == "admin"
    # A plain member may not add or remove people, nor rename.
    r = await client.post(
        f"/api/v1/conversations/{cid}/members",
        json={"user_ids": [str(world.acme["editor"].id)]},
        headers=member,
    )
    assert_problem(r, 403, "not_conversation_admin")
    r = await client.patch(f"/api/v1/conversations/{cid}", json={"title": "Mine"}, headers=member)
    assert_problem(r, 403, "not_conversation_admin")
    # Not a member yet: 404 everywhere.
    for r in (
        await client.get(f"/api/v1/conversations/{cid}", headers=editor),
        await client.get(f"/api/v1/conversations/{cid}/messages", headers=editor),
        await say(client, editor, cid, "hi", "e-1"),
        await client.post(f"/api/v1/conversations/{cid}/read", json={"seq": 1}, headers=editor),
    ):
        assert_problem(r, 404, "conversation_not_found")
    r = await client.post(
        f"/api/v1/conversations/{cid}/members",
        json={"user_ids": [str(world.acme["editor"].id)]},
        headers=admin,
    )
    assert r.status_code == 200 and len(r.json()["members"]) == 3
    assert (await say(client, editor, cid, "hello", "e-2")).status_code == 201
    r = await client.delete(
        f"/api/v1/conversations/{cid}/members/{world.acme['editor'].id}", headers=admin
    )
    assert r.status_code == 204
    assert_problem(await client.get(f"/api/v1/conversations/{cid}", headers=editor), 404)
    assert_problem(await say(client, editor, cid, "still here?", "e-3"), 404)
    # Anyone may leave a group.
    r = await client.delete(
        f"/api/v1/conversations/{cid}/members/{world.acme['member'].id}", headers=member
    )
    assert r.status_code == 204
    assert await Member.count().where(Member.conversation == cid) == 1
    actions = {e["action"] for e in await AuditEvent.select(AuditEvent.action)}
    assert {"chat.conversation_created", "chat.members_added", "chat.member_removed"} <= actions


async def test_only_admins_write_in_an_announcement_conversation(client, world: World):
    member, hr = await heads(client, world, "member", "hr_admin")
    r = await client.post(
        "/api/v1/conversations",
        json={"kind": "announcement", "title": "All staff", "user_ids": []},
        headers=member,
    )
    assert_problem(r, 403)
    conv = await group(client, world, hr, "member", "editor", kind="announcement")
    assert (await say(client, hr, conv["id"], "Canteen closed Friday", "a-1")).status_code == 201
    assert_problem(await say(client, member, conv["id"], "why?", "m-1"), 403, "announcement_only")
    r = await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=member)
    assert [m["body"] for m in r.json()["items"]] == ["Canteen closed Friday"]


async def test_the_conversation_list_counts_unread_messages(client, world: World):
    admin, member = await heads(client, world, "admin", "member")
    busy = await group(client, world, admin, "member", title="Busy")
    quiet = await group(client, world, admin, "member", title="Quiet")
    for i in range(3):
        assert (await say(client, admin, busy["id"], f"news {i}", f"n-{i}")).status_code == 201
    listed = (await client.get("/api/v1/conversations", headers=member)).json()["items"]
    assert [(c["title"], c["unread"]) for c in listed] == [("Busy", 3), ("Quiet", 0)]
    # The sender's own messages are read.
    mine = (await client.get("/api/v1/conversations", headers=admin)).json()["items"]
    assert mine[0]["unread"] == 0
    r = await client.post(
        f"/api/v1/conversations/{busy['id']}/read", json={"seq": 2}, headers=member
    )
    assert r.json() == {"read_seq": 2, "unread": 1}
    # Never backwards, never past the end.
    r = await client.post(
        f"/api/v1/conversations/{busy['id']}/read", json={"seq": 1}, headers=member
    )
    assert r.json() == {"read_seq": 2, "unread": 1}
    r = await client.post(
        f"/api/v1/conversations/{busy['id']}/read", json={"seq": 999}, headers=member
    )
    assert r.json() == {"read_seq": 3, "unread": 0}
    page = (await client.get("/api/v1/conversations?limit=1", headers=member)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await client.get(
        "/api/v1/conversations", params={"cursor": page["next_cursor"]}, headers=member
    )
    assert [c["title"] for c in rest.json()["items"]] == ["Quiet"]
    assert quiet["id"] == rest.json()["items"][0]["id"]
    assert_problem(
        await client.get("/api/v1/conversations", params={"cursor": "garbage!"}, headers=member),
        422,
    )


async def test_guests_cannot_chat(client, world: World):
    (guest,) = await heads(client, world, "guest")
    assert_problem(await client.get("/api/v1/conversations", headers=guest), 403)


async def test_a_large_conversation_shows_its_first_members_and_pages_the_rest(
    client, world: World, rt
):
    hr, member, editor = await heads(client, world, "hr_admin", "member", "editor")
    staff = [
        await add_user(
            rt, world.acme.id, email=f"p{i}@acme.example", name=f"Person {i:02}", password=None
        )
        for i in range(60)
    ]
    everyone = [*staff, world.acme["member"].id]
    r = await client.post(
        "/api/v1/conversations",
        json={"kind": "announcement", "title": "All staff", "user_ids": [str(u) for u in everyone]},
        headers=hr,
    )
    assert r.status_code == 201, r.text
    conv = r.json()
    assert conv["member_count"] == 62 and len(conv["members"]) == conversations.MEMBERS_SHOWN
    # Listed the same way, with the caller's own role whether shown or not.
    listed = (await client.get("/api/v1/conversations", headers=member)).json()["items"]
    assert [(c["member_count"], len(c["members"]), c["my_role"]) for c in listed] == [
        (62, conversations.MEMBERS_SHOWN, "member")
    ]
    # Every member, once, page by page (61 joined at the same instant: ties keep order).
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 25, **({"cursor": cursor} if cursor else {})}
        r = await client.get(
            f"/api/v1/conversations/{conv['id']}/members", params=params, headers=member
        )
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        pages += 1
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 62
    assert {m["user_id"] for m in seen} == {str(u) for u in [*everyone, world.acme["hr_admin"].id]}
    names = {m["user_id"]: m["display_name"] for m in seen}
    assert names[str(staff[7])] == "Person 07"
    roles = {m["user_id"]: m["role"] for m in seen}
    assert roles[str(world.acme["hr_admin"].id)] == "admin"
    # The first page of members is what the conversation shows.
    first = (
        await client.get(
            f"/api/v1/conversations/{conv['id']}/members", params={"limit": 50}, headers=member
        )
    ).json()["items"]
    assert first == conv["members"]
    # Not a member: 404; a bad cursor or limit: refused.
    members_url = f"/api/v1/conversations/{conv['id']}/members"
    assert_problem(await client.get(members_url, headers=editor), 404, "conversation_not_found")
    assert_problem(
        await client.get(members_url, params={"cursor": "garbage!"}, headers=member), 422
    )
    assert_problem(await client.get(members_url, params={"limit": 0}, headers=member), 400)


async def test_the_conversation_list_costs_the_same_queries_whatever_its_length(
    client, world: World, monkeypatch
):
    admin, member = await heads(client, world, "admin", "member")
    for i in range(12):
        conv = await group(client, world, admin, "member", "editor", title=f"Team {i}")
        await say(client, admin, conv["id"], f"hello {i}", f"h{i}")
    counted = count_queries(monkeypatch, Conversation)
    sizes = {}
    for limit in (2, 12):
        counted.clear()
        r = await client.get("/api/v1/conversations", params={"limit": limit}, headers=member)
        items = r.json()["items"]
        assert r.status_code == 200 and len(items) == limit, r.text
        # Most recently active first, each with its unread message.
        assert [c["title"] for c in items] == [f"Team {i}" for i in range(11, 11 - limit, -1)]
        assert {c["unread"] for c in items} == {1}
        sizes[limit] = len(counted)
    assert sizes[2] == sizes[12] >= 3, sizes
