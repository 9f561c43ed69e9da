"""Feeds: channels and audiences, posts, timeline, comments, reactions, reads, stats."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from staffroom.core import clock
from staffroom.feeds.tables import Post, PostRead
from tests.support.flows import auth
from tests.support.queries import count_queries
from tests.support.world import World, assert_problem, login


async def who(client, name: str, org: str = "acme") -> dict[str, str]:
    return auth(await login(client, org, f"{name}@{org}.example"))


async def channel(client, h, **body) -> dict:
    r = await client.post("/api/v1/channels", json={"name": "News", **body}, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def post(client, h, channel_id: str, **body) -> dict:
    body = {"title": "Hello", "body": "**Welcome** to the team"} | body
    r = await client.post(f"/api/v1/channels/{channel_id}/posts", json=body, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_an_all_company_post_reaches_everyone(client, world: World) -> None:
    admin = await who(client, "admin")
    news = await channel(client, admin)
    editor_h, member_h = await who(client, "editor"), await who(client, "member")
    made = await post(client, editor_h, news["id"], requires_ack=True)
    assert made["body_html"] == "<p><strong>Welcome</strong> to the team</p>"
    feed = (await client.get("/api/v1/feed", headers=member_h)).json()
    assert [p["id"] for p in feed["items"]] == [made["id"]]
    assert feed["unread_by_channel"] == {news["id"]: 1}
    assert await PostRead.count() == 0  # no per-user rows are written by posting
    assert (
        await client.post(f"/api/v1/posts/{made['id']}/read", headers=member_h)
    ).status_code == 204
    assert (
        await client.post(f"/api/v1/posts/{made['id']}/read", headers=member_h)
    ).status_code == 204
    r = await client.post(f"/api/v1/posts/{made['id']}/acknowledge", headers=member_h)
    assert r.status_code == 204
    got = (await client.get(f"/api/v1/posts/{made['id']}", headers=member_h)).json()
    assert got["read"] is True and got["acknowledged"] is True
    feed = (await client.get("/api/v1/feed", headers=member_h)).json()
    assert feed["unread_by_channel"] == {}


async def test_outside_the_audience_a_post_does_not_exist(client, world: World) -> None:
    admin = await who(client, "admin")
    group = (await client.post("/api/v1/groups", json={"name": "Depot"}, headers=admin)).json()
    await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(world.acme["editor"].id)]},
        headers=admin,
    )
    depot = await channel(
        client, admin, name="Depot", audience="groups", audience_group_ids=[group["id"]]
    )
    made = await post(client, await who(client, "editor"), depot["id"], requires_ack=True)
    outsider = await who(client, "member")
    pid = made["id"]
    for method, path, body in (
        ("GET", f"/api/v1/channels/{depot['id']}", None),
        ("GET", f"/api/v1/channels/{depot['id']}/posts", None),
        ("POST", f"/api/v1/channels/{depot['id']}/posts", {"title": "x", "body": "y"}),
        ("GET", f"/api/v1/posts/{pid}", None),
        ("POST", f"/api/v1/posts/{pid}/read", None),
        ("POST", f"/api/v1/posts/{pid}/acknowledge", None),
        ("GET", f"/api/v1/posts/{pid}/comments", None),
        ("POST", f"/api/v1/posts/{pid}/comments", {"body": "hi"}),
        ("POST", f"/api/v1/posts/{pid}/reactions", {"emoji": "👍"}),
        ("PATCH", f"/api/v1/posts/{pid}", {"title": "x"}),
        ("DELETE", f"/api/v1/posts/{pid}", None),
    ):
        r = await client.request(method, path, json=body, headers=outsider)
        assert_problem(r, 404)
    r = await client.get(f"/api/v1/posts/{pid}/stats", headers=await who(client, "hr_admin"))
    assert_problem(r, 404)
    assert (await client.get("/api/v1/feed", headers=outsider)).json()["items"] == []
    channels = (await client.get("/api/v1/channels", headers=outsider)).json()["items"]
    assert depot["id"] not in [c["id"] for c in channels]
    assert await PostRead.count() == 0


async def test_scheduled_and_expired_posts_are_invisible(client, world: World) -> None:
    editor = await who(client, "editor")
    news = await channel(client, await who(client, "admin"))
    later = await post(
        client,
        editor,
        news["id"],
        title="Later",
        publish_at=(clock.utcnow() + timedelta(hours=2)).isoformat(),
    )
    brief = await post(
        client,
        editor,
        news["id"],
        title="Brief",
        expires_at=(clock.utcnow() + timedelta(hours=1)).isoformat(),
    )
    member = await who(client, "member")
    assert [
        p["title"] for p in (await client.get("/api/v1/feed", headers=member)).json()["items"]
    ] == ["Brief"]
    assert_problem(await client.get(f"/api/v1/posts/{later['id']}", headers=member), 404)
    assert (await client.get(f"/api/v1/posts/{later['id']}", headers=editor)).status_code == 200
    clock.travel(timedelta(hours=1, minutes=30).total_seconds())
    member = await who(client, "member")
    titles = [
        p["title"] for p in (await client.get("/api/v1/feed", headers=member)).json()["items"]
    ]
    assert titles == []
    clock.travel(timedelta(hours=1).total_seconds())
    member = await who(client, "member")
    titles = [
        p["title"] for p in (await client.get("/api/v1/feed", headers=member)).json()["items"]
    ]
    assert titles == ["Later"]
    assert_problem(await client.get(f"/api/v1/posts/{brief['id']}", headers=member), 404)


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<a href=x onmouseover=alert(1)>x</a>",
    '<object data="javascript:alert(1)"></object>',
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<input autofocus onfocus=alert(1)>",
    "[x](vbscript:msgbox(1))",
    "<details open ontoggle=alert(1)>",
    '<base href="javascript:alert(1)//">',
]


SAFE_TAGS = {
    "a",
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "div",  # div: the fragment wrapper lxml adds
}


def assert_harmless(html: str) -> None:
    """Every element is allowed, no event handler, no script-capable URL."""
    from lxml import html as lxml_html

    root = lxml_html.fragment_fromstring(html or "<p></p>", create_parent="div")
    for element in root.iter():
        assert element.tag in SAFE_TAGS, (element.tag, html)
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (name, html)
            assert name in {"href", "src", "alt", "title", "rel", "start"}, (name, html)
            if name in {"href", "src"}:
                scheme = value.strip().split(":", 1)[0].lower() if ":" in value else ""
                assert scheme in {"", "http", "https", "mailto"}, (value, html)


@pytest.mark.parametrize("payload", XSS)
async def test_classic_xss_vectors_come_out_harmless(client, world: World, payload: str) -> None:
    from staffroom.feeds.markdown import render

    assert_harmless(render(payload))
    assert_harmless(render(f"Some **text** then {payload} and [a link](https://ok.example)"))


async def test_xss_is_sanitised_on_write_through_the_api(client, world: World) -> None:
    editor = await who(client, "editor")
    news = await channel(client, await who(client, "admin"))
    made = await post(client, editor, news["id"], body="\n\n".join(XSS))
    assert_harmless(made["body_html"])

    assert made["body_md"].startswith("<script>")  # the author's text is kept as written


async def test_markdown_bombs_and_bad_input_are_refused(client, world: World) -> None:
    editor = await who(client, "editor")
    news = await channel(client, await who(client, "admin"))
    url = f"/api/v1/channels/{news['id']}/posts"
    bodies = [
        ({"title": "x", "body": "> " * 500 + "deep"}, 422),
        ({"title": "x", "body": "- " * 200 + "deep"}, 422),
        ({"title": "x", "body": "a" * 50_001}, 400),
        ({"title": "", "body": "x"}, 400),
        ({"title": "   ", "body": "x"}, 422),
        ({"title": "x", "body": "y", "channel": "other"}, 400),
        ({"title": "x", "body": "y", "publish_at": "2030-01-01T00:00:00"}, 422),
        ({"title": "x", "body": "y", "expires_at": "2000-01-01T00:00:00Z"}, 422),
    ]
    for body, status in bodies:
        assert_problem(await client.post(url, json=body, headers=editor), status)
    assert_problem(
        await client.post(
            "/api/v1/channels/00000000-0000-4000-8000-000000000000/posts",
            json={"title": "x", "body": "y"},
            headers=editor,
        ),
        404,
    )
    r = await client.post(
        "/api/v1/channels",
        json={
            "name": "x",
            "audience": "groups",
            "audience_group_ids": ["00000000-0000-4000-8000-000000000000"],
        },
        headers=await who(client, "admin"),
    )
    assert_problem(r, 422, "unknown_group")
    assert await Post.count() == 0


async def test_who_may_post(client, world: World) -> None:
    admin = await who(client, "admin")
    group = (await client.post("/api/v1/groups", json={"name": "Comms"}, headers=admin)).json()
    await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(world.acme["member"].id)]},
        headers=admin,
    )
    news = await channel(client, admin)
    member = await who(client, "member")
    r = await client.post(
        f"/api/v1/channels/{news['id']}/posts", json={"title": "x", "body": "y"}, headers=member
    )
    assert_problem(r, 403, "cannot_post")
    comms = await channel(
        client, admin, name="Comms", posting="groups", poster_group_ids=[group["id"]]
    )
    assert comms["poster_group_ids"] == [group["id"]]
    await post(client, member, comms["id"])
    r = await client.post(
        f"/api/v1/channels/{comms['id']}/posts",
        json={"title": "x", "body": "y"},
        headers=await who(client, "hr_admin"),
    )
    assert_problem(r, 403, "cannot_post")


async def test_comments_replies_reactions_and_moderation(client, world: World) -> None:
    admin, editor = await who(client, "admin"), await who(client, "editor")
    member = await who(client, "member")
    news = await channel(client, admin)
    made = await post(client, editor, news["id"])
    url = f"/api/v1/posts/{made['id']}"
    top = (await client.post(f"{url}/comments", json={"body": "Great!"}, headers=member)).json()
    reply = await client.post(
        f"{url}/comments", json={"body": "Thanks", "parent_id": top["id"]}, headers=editor
    )
    assert reply.status_code == 201
    deeper = await client.post(
        f"{url}/comments", json={"body": "x", "parent_id": reply.json()["id"]}, headers=member
    )
    assert_problem(deeper, 422, "reply_depth")
    r = await client.patch(f"/api/v1/comments/{top['id']}", json={"body": "Hijack"}, headers=editor)
    assert_problem(r, 403)
    r = await client.patch(
        f"/api/v1/comments/{top['id']}", json={"body": "Great!!"}, headers=member
    )
    assert r.json()["body"] == "Great!!" and r.json()["edited_at"]
    for emoji in ("👍", "👍", "🎉"):
        r = await client.post(f"{url}/reactions", json={"emoji": emoji}, headers=member)
    assert r.json()["reactions"] == {"🎉": 1, "👍": 1} and r.json()["my_reactions"] == ["🎉", "👍"]
    assert_problem(await client.post(f"{url}/reactions", json={"emoji": "💩"}, headers=member), 400)
    r = await client.delete(f"{url}/reactions", params={"emoji": "🎉"}, headers=member)
    assert r.json()["reactions"] == {"👍": 1}
    r = await client.delete(f"/api/v1/comments/{top['id']}", headers=admin)  # moderator
    assert r.status_code == 204
    items = (await client.get(f"{url}/comments", headers=member)).json()["items"]
    tomb = next(i for i in items if i["id"] == top["id"])
    assert tomb["deleted"] is True and tomb["body"] == "" and tomb["author_id"] is None
    assert (await client.get(url, headers=member)).json()["comment_count"] == 1
    await client.patch(
        f"/api/v1/channels/{news['id']}",
        json={"comments_enabled": False, "reactions_enabled": False},
        headers=admin,
    )
    r = await client.post(f"{url}/comments", json={"body": "x"}, headers=member)
    assert_problem(r, 403, "comments_disabled")
    assert_problem(await client.post(f"{url}/reactions", json={"emoji": "👍"}, headers=member), 403)


async def test_pinned_first_newest_first_in_stable_pages(client, world: World) -> None:
    editor = await who(client, "editor")
    news = await channel(client, await who(client, "admin"))
    ids = []
    for i in range(7):
        clock.travel(60)
        ids.append((await post(client, editor, news["id"], title=f"P{i}", pinned=(i == 2)))["id"])
    member = await who(client, "member")
    seen, cursor = [], None
    while True:
        r = await client.get(
            "/api/v1/feed",
            params={"limit": 3, **({"cursor": cursor} if cursor else {})},
            headers=member,
        )
        seen += [p["title"] for p in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == ["P2", "P6", "P5", "P4", "P3", "P1", "P0"]
    assert_problem(
        await client.get("/api/v1/feed", params={"cursor": "garbage!"}, headers=member), 422
    )
    await client.delete(f"/api/v1/posts/{ids[6]}", headers=editor)
    titles = [
        p["title"] for p in (await client.get("/api/v1/feed", headers=member)).json()["items"]
    ]
    assert "P6" not in titles


async def test_stats_count_the_audience_and_export_safely(client, world: World) -> None:
    admin = await who(client, "admin")
    group = (await client.post("/api/v1/groups", json={"name": "Floor"}, headers=admin)).json()
    people = [world.acme[n].id for n in ("member", "guest", "frontline")]
    await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(p) for p in people]},
        headers=admin,
    )
    await client.patch(
        f"/api/v1/users/{world.acme['guest'].id}",
        json={"display_name": '=HYPERLINK("http://evil")'},
        headers=admin,
    )
    floor = await channel(
        client, admin, name="Floor", audience="groups", audience_group_ids=[group["id"]]
    )
    made = await post(client, await who(client, "editor"), floor["id"], requires_ack=True)
    member = await who(client, "member")
    await client.post(f"/api/v1/posts/{made['id']}/acknowledge", headers=member)
    frontline = auth(await login(client, "acme", "floor-acme"))
    await client.post(f"/api/v1/posts/{made['id']}/read", headers=frontline)
    editor = await who(client, "editor")
    stats = (await client.get(f"/api/v1/posts/{made['id']}/stats", headers=editor)).json()
    assert stats["audience_size"] == 3 and stats["reads"] == 2 and stats["acknowledgements"] == 1
    assert stats["read_pct"] == 66.7 and stats["ack_pct"] == 33.3
    assert {p["login"] for p in stats["not_acknowledged"]} == {"guest@acme.example", "floor-acme"}
    r = await client.get(f"/api/v1/posts/{made['id']}/stats.csv", headers=editor)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    guest = next(row for row in rows if row["login"] == "guest@acme.example")
    assert guest["display_name"].startswith("'=")
    assert_problem(await client.get(f"/api/v1/posts/{made['id']}/stats", headers=member), 403)


async def test_a_feed_page_costs_the_same_queries_whatever_its_size(
    client, world: World, monkeypatch
) -> None:
    editor = await who(client, "editor")
    news = await channel(client, await who(client, "admin"))
    for i in range(30):
        made = await post(client, editor, news["id"], title=f"P{i}")
        await client.post(
            f"/api/v1/posts/{made['id']}/reactions", json={"emoji": "👍"}, headers=editor
        )
        await client.post(
            f"/api/v1/posts/{made['id']}/comments", json={"body": "x"}, headers=editor
        )
    member = await who(client, "member")
    counted = count_queries(monkeypatch, Post)
    sizes = {}
    for limit in (2, 25):
        counted.clear()
        r = await client.get("/api/v1/feed", params={"limit": limit}, headers=member)
        assert len(r.json()["items"]) == limit
        sizes[limit] = len(counted)
    # Counted at all (auth included), and no more for a longer page.
    assert sizes[2] == sizes[25] >= 3, sizes


async def test_each_channel_counts_its_unread_posts_up_to_the_cap(
    client, world: World, monkeypatch
) -> None:
    """A quiet channel keeps its badge when a busy one is over the cap (before issue 22's
    decision only the channels holding the newest 1,000 unread posts were counted)."""
    from staffroom.feeds.service import timeline

    monkeypatch.setattr(timeline, "UNREAD_CAP", 4)
    admin, editor = await who(client, "admin"), await who(client, "editor")
    news, shifts = await channel(client, admin), await channel(client, admin, name="Shifts")
    made = [await post(client, editor, news["id"], title=f"N{i}") for i in range(2)]
    made += [await post(client, editor, shifts["id"], title=f"S{i}") for i in range(6)]
    member = await who(client, "member")
    # Shifts is over the cap and says so; News, older and quieter, still shows its two.
    feed = (await client.get("/api/v1/feed", headers=member)).json()
    assert feed["unread_by_channel"] == {shifts["id"]: 4, news["id"]: 2}
    listed = (await client.get("/api/v1/channels", headers=member)).json()["items"]
    assert {c["id"]: c["unread"] for c in listed} == {shifts["id"]: 4, news["id"]: 2}
    for p in made[3:6]:
        await client.post(f"/api/v1/posts/{p['id']}/read", headers=member)
    feed = (await client.get("/api/v1/feed", headers=member)).json()
    assert feed["unread_by_channel"] == {shifts["id"]: 3, news["id"]: 2}
    for p in made[:3]:
        await client.post(f"/api/v1/posts/{p['id']}/read", headers=member)
    feed = (await client.get("/api/v1/feed", headers=member)).json()
    assert feed["unread_by_channel"] == {shifts["id"]: 2}
