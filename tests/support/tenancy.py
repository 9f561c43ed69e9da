"""The tenancy matrix: every route with an id, called by another org's owner, answers 404.

Later domains extend FACTORIES (an object of org A for each path parameter name) and
BODIES (a valid body for each operation that needs one). A route with a parameter that
has no factory fails the test, so no new route can skip the check.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute
from piccolo.conf.apps import Finder

from staffroom.accounts.guards import PUBLIC
from staffroom.accounts.tables import ApiKey, AuthSession, Group, Role
from staffroom.chat.tables import Conversation, Member, Message
from staffroom.core import clock
from staffroom.feeds.tables import Channel, Comment, Media, Post
from staffroom.oauth.tables import OAuthClient, OAuthConsent
from staffroom.onboarding.tables import AccessCode, AccessCodeBatch, DomainBinding, Invite
from staffroom.sso.tables import IdentityProvider, SamlLoginState
from tests.support.world import World, assert_problem, login

Factory = Callable[[World, httpx.AsyncClient], Awaitable[str]]
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


async def _user(world: World, _: httpx.AsyncClient) -> str:
    return str(world.acme["member"].id)


async def _group(world: World, _: httpx.AsyncClient) -> str:
    gid = uuid.uuid4()
    await Group.insert(
        Group(id=gid, org=world.acme.id, name=f"Depot {gid.hex[:6]}", created_at=clock.utcnow())
    )
    return str(gid)


async def _session(world: World, client: httpx.AsyncClient) -> str:
    await login(client, "acme", "member@acme.example")
    row = await AuthSession.select(AuthSession.id).where(AuthSession.org == world.acme.id).first()
    return str(row["id"])


async def _role(world: World, _: httpx.AsyncClient) -> str:
    key = f"depot_{uuid.uuid4().hex[:6]}"
    await Role.insert(
        Role(
            id=uuid.uuid4(),
            org=world.acme.id,
            key=key,
            name="Depot lead",
            permissions=["feeds.read"],
            created_at=clock.utcnow(),
        )
    )
    return key


async def _invite(world: World, _: httpx.AsyncClient) -> str:
    now = clock.utcnow()
    invite_id = uuid.uuid4()
    await Invite.insert(
        Invite(
            id=invite_id,
            org=world.acme.id,
            email=f"{invite_id.hex[:8]}@acme.example",
            role="member",
            token_hash=invite_id.hex * 2,
            status="pending",
            expires_at=now + timedelta(days=7),
            created_at=now,
            last_sent_at=now,
        )
    )
    return str(invite_id)


async def _domain(world: World, _: httpx.AsyncClient) -> str:
    binding_id = uuid.uuid4()
    await DomainBinding.insert(
        DomainBinding(
            id=binding_id,
            org=world.acme.id,
            domain=f"{binding_id.hex[:8]}.acme.example",
            txt_value="staffroom-verification=x",
            created_at=clock.utcnow(),
        )
    )
    return str(binding_id)


async def _batch(world: World, _: httpx.AsyncClient) -> str:
    now = clock.utcnow()
    batch_id = uuid.uuid4()
    await AccessCodeBatch.insert(
        AccessCodeBatch(
            id=batch_id,
            org=world.acme.id,
            label="Gate",
            role="member",
            size=1,
            expires_at=now + timedelta(days=30),
            created_at=now,
        )
    )
    await AccessCode.insert(
        AccessCode(
            id=uuid.uuid4(),
            org=world.acme.id,
            batch=batch_id,
            seq=1,
            code_hash=batch_id.hex * 2,
            expires_at=now + timedelta(days=30),
            created_at=now,
        )
    )
    return str(batch_id)


async def _code(world: World, client: httpx.AsyncClient) -> str:
    batch_id = await _batch(world, client)
    row = await AccessCode.select(AccessCode.id).where(AccessCode.batch == batch_id).first()
    return str(row["id"])


async def _idp(world: World, _: httpx.AsyncClient) -> str:
    now = clock.utcnow()
    idp_id = uuid.uuid4()
    await IdentityProvider.insert(
        IdentityProvider(
            id=idp_id,
            org=world.acme.id,
            name="Acme IdP",
            entity_id=f"https://{idp_id.hex[:8]}.idp.test",
            sso_url="https://idp.test/sso",
            certificates=[],
            created_at=now,
            updated_at=now,
        )
    )
    return str(idp_id)


async def _sso_test(world: World, client: httpx.AsyncClient) -> str:
    now = clock.utcnow()
    test_id = uuid.uuid4()
    await SamlLoginState.insert(
        SamlLoginState(
            id=test_id,
            org=world.acme.id,
            idp=uuid.UUID(await _idp(world, client)),
            purpose="test",
            state_hash=test_id.hex * 2,
            request_id=f"_{test_id.hex}",
            link_user=world.acme["admin"].id,
            expires_at=now + timedelta(minutes=15),
            created_at=now,
        )
    )
    return str(test_id)


async def _channel(world: World, _: httpx.AsyncClient) -> str:
    channel_id = uuid.uuid4()
    await Channel.insert(
        Channel(id=channel_id, org=world.acme.id, name="News", created_at=clock.utcnow())
    )
    return str(channel_id)


async def _post(world: World, client: httpx.AsyncClient) -> str:
    now = clock.utcnow()
    post_id = uuid.uuid4()
    await Post.insert(
        Post(
            id=post_id,
            org=world.acme.id,
            channel=uuid.UUID(await _channel(world, client)),
            author=world.acme["editor"].id,
            title="Hello",
            body_md="Hi",
            body_html="<p>Hi</p>",
            publish_at=now,
            requires_ack=True,
            created_at=now,
        )
    )
    return str(post_id)


async def _comment(world: World, client: httpx.AsyncClient) -> str:
    comment_id = uuid.uuid4()
    await Comment.insert(
        Comment(
            id=comment_id,
            org=world.acme.id,
            post=uuid.UUID(await _post(world, client)),
            author=world.acme["member"].id,
            body="Nice",
            created_at=clock.utcnow(),
        )
    )
    return str(comment_id)


async def _media(world: World, _: httpx.AsyncClient) -> str:
    media_id = uuid.uuid4()
    await Media.insert(
        Media(
            id=media_id,
            org=world.acme.id,
            key=f"{world.acme.id}/{media_id}",
            filename="a.png",
            content_type="image/png",
            size=8,
            created_at=clock.utcnow(),
        )
    )
    return str(media_id)


async def _conversation(world: World, _: httpx.AsyncClient) -> str:
    conversation_id = uuid.uuid4()
    now = clock.utcnow()
    await Conversation.insert(
        Conversation(
            id=conversation_id,
            org=world.acme.id,
            kind="group",
            title="Depot",
            channel=f"staffroom.{world.acme.id}.chat.{conversation_id.hex}",
            cipher_key="sealed",
            last_seq=1,
            created_at=now,
        )
    )
    await Member.insert(
        *(
            Member(
                id=uuid.uuid4(),
                org=world.acme.id,
                conversation=conversation_id,
                user=world.acme[who].id,
                role="admin" if who == "admin" else "member",
                joined_at=now,
            )
            for who in ("admin", "member")
        )
    )
    return str(conversation_id)


async def _message(world: World, client: httpx.AsyncClient) -> str:
    message_id = uuid.uuid4()
    await Message.insert(
        Message(
            id=message_id,
            org=world.acme.id,
            conversation=uuid.UUID(await _conversation(world, client)),
            seq=1,
            sender=world.acme["member"].id,
            client_msg_id="m1",
            content_digest="x",
            body="sealed",
            created_at=clock.utcnow(),
        )
    )
    return str(message_id)


async def _api_key(world: World, _: httpx.AsyncClient) -> str:
    key_id = uuid.uuid4()
    await ApiKey.insert(
        ApiKey(
            id=key_id,
            org=world.acme.id,
            name="HRIS sync",
            prefix=f"sr_{key_id.hex[:10]}",
            secret_hash="x" * 64,
            scopes=["users:read"],
            created_by=world.acme["admin"].id,
            created_at=clock.utcnow(),
        )
    )
    return str(key_id)


async def _oauth_client(world: World, _: httpx.AsyncClient) -> str:
    """An acme app that acme's member allowed (so their connected app exists too)."""
    now = clock.utcnow()
    client_id = uuid.uuid4()
    await OAuthClient.insert(
        OAuthClient(
            id=client_id,
            org=world.acme.id,
            name="Rota planner",
            kind="confidential",
            secret_hash="x" * 64,
            redirect_uris=["https://rota.example/cb"],
            scopes=["users:read"],
            created_by=world.acme["admin"].id,
            created_at=now,
            updated_at=now,
        )
    )
    await OAuthConsent.insert(
        OAuthConsent(
            id=uuid.uuid4(),
            org=world.acme.id,
            user=world.acme["member"].id,
            client=client_id,
            scopes=["users:read"],
            created_at=now,
            updated_at=now,
        )
    )
    return str(client_id)


FACTORIES: dict[str, Factory] = {
    "user_id": _user,
    "group_id": _group,
    "session_id": _session,
    "key": _role,
    "invite_id": _invite,
    "domain_id": _domain,
    "batch_id": _batch,
    "code_id": _code,
    "idp_id": _idp,
    "test_id": _sso_test,
    "channel_id": _channel,
    "post_id": _post,
    "comment_id": _comment,
    "media_id": _media,
    "conversation_id": _conversation,
    "message_id": _message,
    "key_id": _api_key,
    "client_id": _oauth_client,
}

BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "update_user": lambda w: {"display_name": "Hijacked", "role": "owner"},
    "update_group": lambda w: {"name": "Hijacked"},
    "add_group_members": lambda w: {"user_ids": [str(w.globex["member"].id)]},
    "update_role": lambda w: {"name": "Hijacked", "permissions": ["audit.read"]},
    "update_domain": lambda w: {"allow_subdomains": True, "default_role": "admin"},
    "update_idp": lambda w: {"jit": True, "default_role": "admin"},
    "preview_sso_mapping": lambda w: {},
    "update_channel": lambda w: {"name": "Hijacked"},
    "create_post": lambda w: {"title": "Spam", "body": "spam"},
    "update_post": lambda w: {"title": "Hijacked"},
    "add_comment": lambda w: {"body": "spam"},
    "edit_comment": lambda w: {"body": "Hijacked"},
    "add_reaction": lambda w: {"emoji": "👍"},
    "update_conversation": lambda w: {"title": "Hijacked"},
    "add_conversation_members": lambda w: {"user_ids": [str(w.acme["guest"].id)]},
    "send_message": lambda w: {"client_msg_id": "spam-1", "body": "spam"},
    "mark_conversation_read": lambda w: {"seq": 1},
    "edit_message": lambda w: {"body": "Hijacked"},
    "erase_user": lambda w: {"reason": "cross-org attempt"},
    "update_oauth_client": lambda w: {"name": "Hijacked", "scopes": ["users:read"]},
}


# Query parameters a route needs to reach its tenancy check.
QUERIES: dict[str, dict[str, str]] = {"remove_reaction": {"emoji": "👍"}}


async def org_snapshot(org_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row the org owns, in every table with an `org` column."""
    snap: dict[str, list[dict[str, Any]]] = {}
    for table in Finder().get_table_classes():
        if "org" not in {c._meta.name for c in table._meta.columns}:
            continue
        rows = await table.select().where(table._meta.get_column_by_name("org") == org_id)
        snap[table._meta.tablename] = sorted(
            rows, key=lambda r: str(r[table._meta.primary_key._meta.name])
        )
    return snap


def id_routes(app: Litestar) -> list[tuple[str, str, str, list[str]]]:
    """(method, path template, operation id, parameter names) of every route with an id."""
    found = []
    for route in app.routes:
        # The OpenAPI pages are public documents, not org data.
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        params = _PARAM.findall(route.path)
        if not params:
            continue
        for handler in route.route_handlers:
            if handler.opt.get(PUBLIC):
                continue  # authorised by a secret token in the path, not by the caller's org
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path, handler.operation_id or handler.name, params))
    return found


async def assert_other_org_gets_404(app: Litestar, client: httpx.AsyncClient, world: World) -> int:
    """Run the matrix; returns how many calls were checked."""
    owner = await login(client, "globex", "owner@globex.example")
    headers = {"Authorization": f"Bearer {owner['access_token']}"}
    checked = 0
    for method, template, operation_id, params in id_routes(app):
        missing = [p for p in params if p not in FACTORIES]
        assert not missing, f"{method} {template}: add a tenancy factory for {missing}"
        values = {p: await FACTORIES[p](world, client) for p in params}
        path = _PARAM.sub(lambda m, v=values: v[m.group(1)], template)
        body = BODIES.get(str(operation_id), lambda w: None)(world)
        before = await org_snapshot(world.acme.id)
        params = QUERIES.get(str(operation_id))
        r = await client.request(method, path, headers=headers, json=body, params=params)
        assert_problem(r, 404)
        assert await org_snapshot(world.acme.id) == before, f"{method} {template} changed org A"
        checked += 1
    return checked
