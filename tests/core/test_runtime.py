"""Two apps in one process share no state: each runtime has its own hooks, topic
providers, fresh-message cache and audit key, and its own membership of the database pool."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
from litestar import Litestar

from staffroom.accounts.service import hooks as accounts_hooks
from staffroom.app import create_app, lifespan
from staffroom.chat.service.hooks import ChatHooks
from staffroom.chat.service.payloads import FreshMessages
from staffroom.core import audit, principal_cache
from staffroom.core.realtime import TopicProviders
from staffroom.core.tables import AuditEvent
from staffroom.feeds.service.media_access import MediaUses
from tests.chat.helpers import group, say
from tests.support.world import World, bearer


@contextlib.asynccontextmanager
async def _client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _failed_sign_in(client: httpx.AsyncClient) -> dict[str, Any]:
    """A failed sign-in (audited) through this client's app; its audit event."""
    attempt = {"org": "acme", "login": f"{uuid.uuid4().hex}@acme.example", "password": "x" * 12}
    assert (await client.post("/api/v1/auth/login", json=attempt)).status_code == 401
    row: dict[str, Any] = await (
        AuditEvent.select()
        .where(AuditEvent.action == "auth.login")
        .order_by(AuditEvent.created_at, ascending=False)
        .output(load_json=True)
        .first()
    )
    return row


async def test_two_apps_in_one_process_share_no_state(settings, world: World, tmp_path) -> None:
    # B has a key file of its own (a second deployment's): its audit MACs differ.
    app_a = create_app(settings)
    app_b = create_app(msgspec.structs.replace(settings, keys_file=str(tmp_path / "b.json")))
    rt_a, rt_b = app_a.state.runtime, app_b.state.runtime
    for part in (accounts_hooks.AccountsHooks, ChatHooks, MediaUses, TopicProviders):
        # The same hooks registered on each app, in lists of its own.
        assert rt_a.part(part) == rt_b.part(part) and rt_a.part(part) is not rt_b.part(part)
    assert len(rt_a.part(TopicProviders)) == 2
    spied: list[uuid.UUID] = []

    async def spy(org_id: uuid.UUID, user_id: uuid.UUID) -> None:
        spied.append(user_id)

    accounts_hooks.on_deactivation(rt_b, spy)
    async with lifespan(app_a), lifespan(app_b), _client(app_a) as a, _client(app_b) as b:
        admin = await bearer(a, world.acme, "admin")
        conv = await group(a, world, admin, "member")
        assert (await say(a, admin, conv["id"], "only in A", "a1")).status_code == 201
        # A's dispatcher may use what A sent without reading it back; B knows nothing of it.
        assert len(rt_a.part(FreshMessages)) == 1 and len(rt_b.part(FreshMessages)) == 0
        # Each app keeps who its callers are in a cache of its own, told by its own relay.
        assert len(principal_cache.of(rt_a)) >= 1 and len(principal_cache.of(rt_b)) == 0
        assert rt_a.relay.control_listeners == [principal_cache.of(rt_a).heard]
        assert rt_b.relay.control_listeners == [principal_cache.of(rt_b).heard]
        member = world.acme["member"].id
        r = await a.post(f"/api/v1/users/{member}/deactivate", headers=admin)
        assert r.status_code == 200, r.text
        assert spied == []  # B's hook is not called for what happens in A
        # Each app signs its audit events with its own key.
        in_a, in_b = await _failed_sign_in(a), await _failed_sign_in(b)
        audit.use_key(rt_a.keys.hmac_key)
        assert audit.mac(in_a) == in_a["hash"] and audit.mac(in_b) != in_b["hash"]
        audit.use_key(rt_b.keys.hmac_key)
        assert audit.mac(in_b) == in_b["hash"] and audit.mac(in_a) != in_a["hash"]
    # The database pool (one per process: Piccolo's engine) stays open while an app uses it.
    async with lifespan(app_a), _client(app_a) as a:
        await rt_b.start()
        await rt_b.close()
        await rt_b.close()  # an app leaves once, however often it closes
        assert (await a.get("/health/ready")).status_code == 200
