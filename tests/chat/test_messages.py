"""Messages: idempotent sends, limits, history, edits, deletion and encryption at rest."""

from __future__ import annotations

import asyncio
import logging

import pytest

from staffroom.chat.tables import Message, Outbox
from staffroom.core.crypto import DecryptionFailed, rotate_data_key
from staffroom.core.tables import AuditEvent
from tests.chat.helpers import group, heads, say
from tests.support.queries import count_queries
from tests.support.world import World, assert_problem


async def test_a_retried_send_is_stored_once(client, world: World):
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    first = await say(client, member, conv["id"], "On my way", "phone-1")
    assert first.status_code == 201, first.text
    retry = await say(client, member, conv["id"], "On my way", "phone-1")
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    clash = await say(client, member, conv["id"], "Something else", "phone-1")
    assert_problem(clash, 409, "client_msg_id_reused")
    # Concurrent duplicates (a flaky network resending at once) still make one message.
    results = await asyncio.gather(
        *(say(client, member, conv["id"], "Twice", "phone-2") for _ in range(4))
    )
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in results}) == 1
    assert await Message.count() == 2
    # Another sender may use the same client id: ids are per sender. Retries and clashes
    # used no sequence numbers: this is the third message, numbered 3.
    ok = await say(client, admin, conv["id"], "Ok", "phone-1")
    assert ok.status_code == 201 and ok.json()["seq"] == first.json()["seq"] + 2


async def test_bad_messages_are_refused_and_nothing_is_stored(client, world: World, rt):
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    limit = rt.settings.chat_max_message_bytes
    url = f"/api/v1/conversations/{conv['id']}/messages"
    for body, status, code in (
        ({"client_msg_id": "a", "body": ""}, 422, "empty_message"),
        ({"client_msg_id": "a", "body": "   \n "}, 422, "empty_message"),
        ({"client_msg_id": "a", "body": "é" * (limit // 2 + 1)}, 422, "message_too_long"),
        ({"client_msg_id": "a", "body": "x" * 70000}, 400, None),
        ({"client_msg_id": "", "body": "x"}, 400, None),
        ({"client_msg_id": "bad id!", "body": "x"}, 400, None),
        ({"body": "x"}, 400, None),
        ({"client_msg_id": "a", "body": "x", "sender": str(world.acme["owner"].id)}, 400, None),
        (
            {"client_msg_id": "a", "body": "x", "attachment_id": "8c6d1a4e-0000-4000-8000-0"},
            400,
            None,
        ),
        (
            {
                "client_msg_id": "a",
                "body": "x",
                "attachment_id": "8c6d1a4e-0000-4000-8000-000000000000",
            },
            422,
            "unknown_media",
        ),
    ):
        assert_problem(await client.post(url, json=body, headers=member), status, code)
    assert_problem(
        await client.post(
            url, content=b"{not json", headers=member | {"content-type": "application/json"}
        ),
        400,
    )
    assert (await say(client, member, conv["id"], "x" * limit, "max")).status_code == 201
    unknown = "/api/v1/conversations/8c6d1a4e-0000-4000-8000-000000000000/messages"
    assert_problem(await say(client, member, unknown.split("/")[4], "hi", "u"), 404)
    assert await Message.count() == 1


async def test_history_pages_backwards_and_catches_up_forwards(client, world: World):
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    for i in range(1, 6):
        await say(client, admin, conv["id"], f"m{i}", f"c{i}")
    url = f"/api/v1/conversations/{conv['id']}/messages"
    page = (await client.get(url, params={"limit": 2}, headers=member)).json()
    assert [m["body"] for m in page["items"]] == ["m5", "m4"] and page["next_before"] == 4
    page = (
        await client.get(url, params={"limit": 2, "before": page["next_before"]}, headers=member)
    ).json()
    assert [m["body"] for m in page["items"]] == ["m3", "m2"]
    page = (await client.get(url, params={"limit": 2, "before": 2}, headers=member)).json()
    assert [m["body"] for m in page["items"]] == ["m1"] and page["next_before"] is None
    after = (await client.get(url, params={"after": 2}, headers=member)).json()
    assert [m["seq"] for m in after["items"]] == [3, 4, 5]
    assert_problem(await client.get(url, params={"after": 1, "before": 3}, headers=member), 422)
    assert_problem(await client.get(url, params={"limit": 0}, headers=member), 400)
    assert_problem(await client.get(url, params={"before": -1}, headers=member), 422)
    assert_problem(await client.get(url, params={"after": -5}, headers=member), 422)


async def test_edit_own_delete_own_and_moderators_delete_any(client, world: World):
    admin, member, editor, hr = await heads(client, world, "admin", "member", "editor", "hr_admin")
    conv = await group(client, world, admin, "member", "editor")
    mine = (await say(client, member, conv["id"], "Shift swap?", "s1")).json()
    r = await client.patch(
        f"/api/v1/messages/{mine['id']}", json={"body": "Swap Sat?"}, headers=member
    )
    assert r.status_code == 200 and r.json()["body"] == "Swap Sat?" and r.json()["edited_at"]
    r = await client.patch(f"/api/v1/messages/{mine['id']}", json={"body": "x"}, headers=editor)
    assert_problem(r, 403, "not_your_message")
    assert_problem(await client.delete(f"/api/v1/messages/{mine['id']}", headers=editor), 403)
    r = await client.patch(f"/api/v1/messages/{mine['id']}", json={"body": " "}, headers=member)
    assert_problem(r, 422, "empty_message")
    assert (
        await client.delete(f"/api/v1/messages/{mine['id']}", headers=member)
    ).status_code == 204
    history = (
        await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=editor)
    ).json()
    assert history["items"][0] | {"edited_at": None} == history["items"][0] | {
        "body": None,
        "deleted": True,
        "attachment_id": None,
        "edited_at": None,
    }
    r = await client.patch(f"/api/v1/messages/{mine['id']}", json={"body": "back"}, headers=member)
    assert_problem(r, 409, "message_deleted")
    # A moderator (HR) removes someone else's message, even without being in the conversation.
    rude = (await say(client, editor, conv["id"], "something rude", "r1")).json()
    assert (await client.delete(f"/api/v1/messages/{rude['id']}", headers=hr)).status_code == 204
    event = await AuditEvent.select().where(AuditEvent.action == "chat.message_moderated").first()
    assert event is not None and event["actor_id"] == world.acme["hr_admin"].id
    assert "rude" not in str(event)
    # A stranger in the same org learns nothing.
    (guest_like,) = await heads(client, world, "owner")
    other = (await say(client, member, conv["id"], "hi", "s2")).json()
    r = await client.patch(
        f"/api/v1/messages/{other['id']}", json={"body": "x"}, headers=guest_like
    )
    assert_problem(r, 404)


async def test_bodies_are_encrypted_at_rest_and_survive_key_rotation(
    client, world: World, rt, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    await say(client, member, conv["id"], "The safe code is Quokka-Zebra", "k1")
    row = await Message.select().first()
    # A secret no id, time or ciphertext can spell (digits turn up in random UUIDs).
    assert "Quokka-Zebra" not in str(row) and row["body"].startswith("v1.")
    assert row["key_id"] == rt.keys.active_key_id
    raw = await Message.raw("SELECT * FROM chat_message")
    assert "Quokka-Zebra" not in str(raw)
    assert "Quokka-Zebra" not in str(await Outbox.select())
    # Bound to its conversation and id: a ciphertext moved to another message does not open.
    with pytest.raises(DecryptionFailed):
        rt.keys.decrypt(row["body"], f"chat-message:{conv['id']}:{world.acme.id}".encode())
    rotate_data_key(rt.settings.effective_keys_file)
    from staffroom.core.crypto import load_keyring

    rt.keys = load_keyring(rt.settings.effective_keys_file)
    await say(client, member, conv["id"], "New key", "k2")
    rows = await Message.select(Message.key_id).order_by(Message.seq)
    assert rows[0]["key_id"] != rows[1]["key_id"] == rt.keys.active_key_id
    history = (
        await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=admin)
    ).json()
    assert [m["body"] for m in history["items"]] == ["New key", "The safe code is Quokka-Zebra"]
    assert "Quokka-Zebra" not in caplog.text


async def test_a_message_page_costs_the_same_queries_whatever_its_size(
    client, world: World, monkeypatch
):
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member", "editor")
    for i in range(30):
        sender = admin if i % 2 else member
        assert (await say(client, sender, conv["id"], f"Line {i}", f"c-{i}")).status_code == 201
    counted = count_queries(monkeypatch, Message)
    sizes = {}
    for limit in (2, 25):
        counted.clear()
        r = await client.get(
            f"/api/v1/conversations/{conv['id']}/messages", params={"limit": limit}, headers=member
        )
        assert r.status_code == 200 and len(r.json()["items"]) == limit, r.text
        sizes[limit] = len(counted)
    # Counted at all (membership and the page; the caller's session is kept by the
    # principal cache since sign-in), and no more for a longer page.
    assert sizes[2] == sizes[25] >= 2, sizes
