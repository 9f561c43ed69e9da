"""Feed moderation through the API the admin console uses: a channel's scheduled posts,
the CSV of who has not acknowledged, and the channels a group is named in."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from staffroom.core import clock
from tests.feeds.test_feeds import channel, post, who
from tests.support.world import World, assert_problem


async def _titles(client, headers, channel_id: str, **query) -> list[str]:
    r = await client.get(f"/api/v1/channels/{channel_id}/posts", params=query, headers=headers)
    assert r.status_code == 200, r.text
    return [p["title"] for p in r.json()["items"]]


async def test_moderators_list_a_channels_scheduled_posts_others_do_not(
    client, world: World
) -> None:
    editor, member = await who(client, "editor"), await who(client, "member")
    news = await channel(client, await who(client, "admin"))
    soon = (clock.utcnow() + timedelta(hours=2)).isoformat()
    await post(client, editor, news["id"], title="Now")
    await post(client, editor, news["id"], title="Later", publish_at=soon, requires_ack=True)
    await post(client, editor, news["id"], title="Pinned", pinned=True)
    # The feed and the plain list: published posts only.
    assert await _titles(client, editor, news["id"]) == ["Pinned", "Now"]
    # A moderator's list: the scheduled post too, before the published ones it will follow.
    assert await _titles(client, editor, news["id"], include_scheduled="true") == [
        "Pinned",
        "Later",
        "Now",
    ]
    r = await client.get(
        f"/api/v1/channels/{news['id']}/posts",
        params={"include_scheduled": "true"},
        headers=member,
    )
    assert_problem(r, 403, "scheduled_forbidden")
    assert await _titles(client, member, news["id"]) == ["Pinned", "Now"]


async def test_scheduled_posts_page_with_the_cursor(client, world: World) -> None:
    editor = await who(client, "editor")
    news = await channel(client, await who(client, "admin"))
    for hours in range(5):
        at = (clock.utcnow() + timedelta(hours=hours + 1)).isoformat()
        await post(client, editor, news["id"], title=f"In {hours + 1} h", publish_at=at)
    await post(client, editor, news["id"], title="Now")
    seen: list[str] = []
    cursor = None
    while True:
        query = {"include_scheduled": "true", "limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await client.get(f"/api/v1/channels/{news['id']}/posts", params=query, headers=editor)
        seen += [p["title"] for p in r.json()["items"]]
        if not (cursor := r.json()["next_cursor"]):
            break
    assert seen == ["In 5 h", "In 4 h", "In 3 h", "In 2 h", "In 1 h", "Now"]


async def test_the_csv_of_who_has_not_acknowledged(client, world: World) -> None:
    admin, editor = await who(client, "admin"), await who(client, "editor")
    group = (await client.post("/api/v1/groups", json={"name": "Night"}, headers=admin)).json()
    await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(world.acme[n].id) for n in ("member", "guest")]},
        headers=admin,
    )
    night = await channel(
        client, admin, name="Night", audience="groups", audience_group_ids=[group["id"]]
    )
    made = await post(client, editor, night["id"], requires_ack=True)
    member = await who(client, "member")
    assert (
        await client.post(f"/api/v1/posts/{made['id']}/acknowledge", headers=member)
    ).status_code == 204
    url = f"/api/v1/posts/{made['id']}/stats.csv"
    r = await client.get(url, params={"not_acknowledged": "true"}, headers=editor)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(row["login"], row["acknowledged_at"]) for row in rows] == [("guest@acme.example", "")]
    # Without the filter: the whole audience, with when each acknowledged.
    rows = list(csv.DictReader(io.StringIO((await client.get(url, headers=editor)).text)))
    assert sorted(row["login"] for row in rows) == ["guest@acme.example", "member@acme.example"]
    assert_problem(await client.get(url, params={"not_acknowledged": "x"}, headers=editor), 400)
    assert_problem(await client.get(url, params={"not_acknowledged": "true"}, headers=member), 403)


async def test_the_channels_a_group_is_named_in(client, world: World) -> None:
    admin, hr = await who(client, "admin"), await who(client, "hr_admin")
    made = [
        (await client.post("/api/v1/groups", json={"name": n}, headers=hr)).json()
        for n in ("Depot", "Drivers", "Unused")
    ]
    depot, drivers, unused = (g["id"] for g in made)
    await channel(client, admin, name="Depot news", audience="groups", audience_group_ids=[depot])
    await channel(
        client,
        admin,
        name="Routes",
        audience="groups",
        audience_group_ids=[depot, drivers],
        posting="groups",
        poster_group_ids=[depot],
    )
    gone = await channel(client, admin, name="Old", audience="groups", audience_group_ids=[depot])
    await channel(client, admin, name="All hands")
    assert (await client.delete(f"/api/v1/channels/{gone['id']}", headers=admin)).status_code == 204

    # HR manages groups without moderating feeds: they still learn what a group is in.
    r = await client.get(f"/api/v1/groups/{depot}/channels", headers=hr)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [
        {
            "id": r.json()["items"][0]["id"],
            "name": "Depot news",
            "audience": True,
            "posting": False,
            "only_audience_group": True,
            "only_poster_group": False,
        },
        {
            "id": r.json()["items"][1]["id"],
            "name": "Routes",
            "audience": True,
            "posting": True,
            "only_audience_group": False,
            "only_poster_group": True,
        },
    ]
    drivers_in = (await client.get(f"/api/v1/groups/{drivers}/channels", headers=hr)).json()
    assert [(c["name"], c["only_audience_group"]) for c in drivers_in["items"]] == [
        ("Routes", False)
    ]
    assert (await client.get(f"/api/v1/groups/{unused}/channels", headers=hr)).json() == {
        "items": []
    }
    member, editor = await who(client, "member"), await who(client, "editor")
    for h in (member, editor):
        assert_problem(await client.get(f"/api/v1/groups/{depot}/channels", headers=h), 403)
    foreign = await who(client, "admin", org="globex")
    assert_problem(await client.get(f"/api/v1/groups/{depot}/channels", headers=foreign), 404)
