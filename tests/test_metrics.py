"""Prometheus metrics: off by default, behind a token, by route template, queue depths."""

from __future__ import annotations

from tests.chat.helpers import group, say
from tests.support.apps import app_client
from tests.support.world import World, assert_problem, bearer

TOKEN = "scrape-token-0123456789"


async def test_metrics_are_off_without_a_token(client):
    assert_problem(await client.get("/metrics"), 404)
    assert_problem(await client.get("/metrics", headers={"Authorization": "Bearer x"}), 404)


async def test_metrics_count_routes_and_show_queue_depths(settings, world: World):
    async with app_client(settings, metrics_token=TOKEN) as c:
        assert_problem(await c.get("/metrics"), 404)
        assert_problem(await c.get("/metrics", headers={"Authorization": "Bearer wrong"}), 404)
        admin = await bearer(c, world.acme, "admin")
        conv = await group(c, world, admin, "member")
        for i in range(3):
            await say(c, admin, conv["id"], f"m{i}", f"c{i}")
        await c.get(f"/api/v1/conversations/{conv['id']}", headers=admin)
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
        assert "staffroom_requests_total" in text
        # Route templates, never raw ids.
        assert "/api/v1/conversations/{conversation_id}" in text
        assert conv["id"] not in text
        assert 'staffroom_relay_outbox_depth{target="socket"} 3.0' in text
        assert "staffroom_mail_queue_depth" in text
        assert TOKEN not in text
