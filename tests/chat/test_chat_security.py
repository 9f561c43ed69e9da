"""T11/T12 odds and ends: other orgs' channels, secrets out of sight, unreadable rows,
attachments."""

from __future__ import annotations

import uuid

import pytest

from staffroom.chat.tables import Message
from staffroom.core import clock
from staffroom.feeds.tables import Media
from staffroom.settings import Settings
from tests.chat.helpers import group, heads, say
from tests.chat.test_pubnub import SECRET, credentials, pubnub_app
from tests.support.pubnub_standin import PubNubStandIn
from tests.support.world import World, assert_problem, bearer


async def test_another_orgs_conversations_are_never_granted(settings, world: World):
    standin = PubNubStandIn("pub-c-test", "sub-c-test", SECRET)
    await standin.start()
    try:
        async with pubnub_app(settings, standin) as (client, rt):
            admin = await bearer(client, world.acme, "admin")
            await group(client, world, admin, "member")
            outsider = await bearer(client, world.globex, "member")
            creds = (await credentials(client, outsider))["pubnub"]
            assert creds["channels"] == []
            granted = rt.pubnub._pn.parse_token(creds["token"])["resources"]["channels"]
            assert all(str(world.globex.id) in name for name in granted)
            assert not any(str(world.acme.id) in name for name in granted)
            assert SECRET not in repr(rt.pubnub) and SECRET not in repr(rt.settings)
    finally:
        await standin.stop()


def test_settings_never_print_secrets() -> None:
    shown = repr(Settings(pubnub_secret_key="s3cr3t-pn", smtp_password="s3cr3t-smtp"))
    assert "s3cr3t" not in shown and "***" in shown


async def test_an_unreadable_message_fails_closed_without_breaking_history(
    client, world: World, caplog: pytest.LogCaptureFixture
):
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    first = (await say(client, admin, conv["id"], "first", "a")).json()
    await say(client, admin, conv["id"], "second", "b")
    # A ciphertext moved onto another row (or a row sealed under a lost key).
    second = await Message.select().where(Message.seq == 2).first()
    await Message.update({Message.body: second["body"]}).where(Message.id == first["id"])
    history = (
        await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=member)
    ).json()
    assert [m["body"] for m in history["items"]] == ["second", None]
    assert "could not be decrypted" in caplog.text and "second" not in caplog.text


async def test_a_ready_file_of_ones_own_can_be_attached(client, world: World):
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    media_ids = {}
    for org, status in ((world.acme, "ready"), (world.globex, "ready"), (world.acme, "pending")):
        media_id = uuid.uuid4()
        await Media.insert(
            Media(
                id=media_id,
                org=org.id,
                uploader=org["member"].id,
                key=f"{org.id}/{media_id}",
                filename="rota.pdf",
                content_type="application/pdf",
                size=100,
                status=status,
                created_at=clock.utcnow(),
            )
        )
        media_ids[(org.slug, status)] = str(media_id)
    url = f"/api/v1/conversations/{conv['id']}/messages"
    ok = await client.post(
        url,
        json={"client_msg_id": "f1", "attachment_id": media_ids[("acme", "ready")]},
        headers=member,
    )
    assert ok.status_code == 201 and ok.json()["attachment_id"] == media_ids[("acme", "ready")]
    assert ok.json()["body"] == ""
    for key in (("globex", "ready"), ("acme", "pending")):
        r = await client.post(
            url,
            json={"client_msg_id": f"f-{key[0]}-{key[1]}", "attachment_id": media_ids[key]},
            headers=member,
        )
        assert_problem(r, 422, "unknown_media")
    assert await Message.count() == 1
