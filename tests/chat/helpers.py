"""Shared steps of the chat tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.world import World, bearer


async def heads(client: httpx.AsyncClient, world: World, *who: str) -> list[dict[str, str]]:
    return [await bearer(client, world.acme, w) for w in who]


async def group(
    client: httpx.AsyncClient, world: World, owner: dict[str, str], *members: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "kind": extra.pop("kind", "group"),
        "title": extra.pop("title", "Depot night shift"),
        "user_ids": [str(world.acme[m].id) for m in members],
    }
    r = await client.post("/api/v1/conversations", json=body, headers=owner)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def say(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str, body: str, cid: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"client_msg_id": cid, "body": body},
        headers=headers,
    )
