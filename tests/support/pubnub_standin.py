"""A local stand-in of PubNub's HTTP API: publish, Access Manager v3 grant and revoke, and
subscribe long-poll. The real pubnub SDK talks to it on both sides (STACK_NOTES.md).

It checks what PubNub checks: signed requests for publish/grant/revoke (the secret key),
and on subscribe a token that is live, not revoked, issued to this uuid and granting read
on every channel. Tokens are CBOR like PubNub's, so `PubNub.parse_token` reads them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import cbor2
from aiohttp import web
from pubnub.utils import prepare_pam_arguments

READ = 1
# PubNub refuses a message over 32 KiB (channel name included) with a 400.
MAX_MESSAGE_BYTES = 32 * 1024


@dataclass
class Grant:
    token: str
    uuid: str
    channels: dict[str, int]
    ttl_minutes: int
    issued: float
    revoked: bool = False

    def allows(self, uuid: str, channels: list[str], now: float) -> bool:
        live = not self.revoked and now < self.issued + self.ttl_minutes * 60
        readable = all(self.channels.get(c, 0) & READ for c in channels)
        return live and uuid == self.uuid and readable


@dataclass
class PubNubStandIn:
    publish_key: str
    subscribe_key: str
    secret_key: str
    port: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)
    grant_requests: list[dict[str, Any]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    # While set, publish answers this HTTP status (a PubNub outage).
    failing: int | None = None
    failed_publishes: int = 0
    rejected_publishes: int = 0
    unsigned_requests: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    _last_tt: int = 0
    _closing: bool = False

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/publish/{pub}/{sub}/0/{channel}/0", self._publish)
        app.router.add_route("GET", "/publish/{pub}/{sub}/0/{channel}/0/{message}", self._publish)
        app.router.add_post("/v3/pam/{sub}/grant", self._grant)
        app.router.add_delete("/v3/pam/{sub}/grant/{token}", self._revoke)
        app.router.add_get("/v2/subscribe/{sub}/{channels}/0", self._subscribe)
        app.router.add_route("*", "/v2/presence/{tail:.*}", self._presence)
        app.router.add_get("/time/0", self._time)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        # Restarted on its old port after an outage (bench/faults.py), so clients find it.
        self._closing = False
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        # End open long-polls now rather than at their 20 s deadline.
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    def published_on(self, channel: str) -> list[Any]:
        return [m["d"] for m in self.messages if m["c"] == channel]

    # --- requests -------------------------------------------------------------------

    def _signed(self, request: web.Request, body: str) -> bool:
        params = {k: v for k, v in request.query.items() if k != "signature"}
        query = prepare_pam_arguments(params)
        path = request.raw_path.split("?", 1)[0]
        if request.path.startswith("/publish") and request.method == "POST":
            signed = f"{self.subscribe_key}\n{self.publish_key}\n{path}\n{query}"
            expected = _sign(self.secret_key, signed)
        else:
            signed = f"{request.method}\n{self.publish_key}\n{path}\n{query}\n{body}"
            expected = "v2." + _sign(self.secret_key, signed).rstrip("=")
        ok = hmac.compare_digest(expected, request.query.get("signature", ""))
        if not ok:
            self.unsigned_requests += 1
        return ok

    def _timetoken(self) -> int:
        self._last_tt = max(self._last_tt + 1, time.time_ns() // 100)
        return self._last_tt

    async def _publish(self, request: web.Request) -> web.Response:
        body = await request.text() if request.method == "POST" else ""
        if request.match_info["sub"] != self.subscribe_key or not self._signed(request, body):
            return _forbidden()
        if self.failing is not None:
            self.failed_publishes += 1
            return web.json_response([0, "Service Unavailable", "0"], status=self.failing)
        raw = body or urllib.parse.unquote(request.match_info["message"])
        channel = urllib.parse.unquote(request.match_info["channel"])
        tt = self._timetoken()
        if len(raw.encode()) + len(channel) > MAX_MESSAGE_BYTES:  # as PubNub answers it
            self.rejected_publishes += 1
            return web.json_response([0, "Message Too Large", str(tt)], status=400)
        self.messages.append(
            {
                "a": "1",
                "f": 0,
                "i": request.query.get("uuid", ""),
                "p": {"t": str(tt), "r": 1},
                "k": self.subscribe_key,
                "c": channel,
                "d": json.loads(raw),
                "tt": tt,
            }
        )
        async with self._changed:
            self._changed.notify_all()
        return web.json_response([1, "Sent", str(tt)])

    async def _grant(self, request: web.Request) -> web.Response:
        body = await request.text()
        if request.match_info["sub"] != self.subscribe_key or not self._signed(request, body):
            return _forbidden()
        doc = json.loads(body)
        self.grant_requests.append(doc)
        perms = doc["permissions"]
        channels = perms["resources"].get("channels", {})
        issued = time.time()
        token_doc = {
            "v": 2,
            "t": int(issued),
            "ttl": doc["ttl"],
            "res": {"chan": channels, "grp": {}, "uuid": {}, "usr": {}, "spc": {}},
            "pat": {"chan": {}, "grp": {}, "uuid": {}, "usr": {}, "spc": {}},
            "meta": perms.get("meta", {}),
            "uuid": perms.get("uuid"),
            "sig": secrets.token_bytes(32),
        }
        token = base64.b64encode(cbor2.dumps(token_doc)).decode()
        token = token.replace("/", "_").replace("+", "-")
        self.grants[token] = Grant(token, perms.get("uuid"), channels, doc["ttl"], issued)
        data = {"message": "Success", "token": token}
        return web.json_response({"status": 200, "data": data, "service": "Access Manager"})

    async def _revoke(self, request: web.Request) -> web.Response:
        if request.match_info["sub"] != self.subscribe_key or not self._signed(request, ""):
            return _forbidden()
        token = urllib.parse.unquote(request.match_info["token"])
        grant = self.grants.get(token)
        if grant is None:
            return web.json_response(
                {"status": 400, "error": {"message": "Invalid token"}}, status=400
            )
        grant.revoked = True
        self.revoked.append(token)
        async with self._changed:
            self._changed.notify_all()
        data = {"message": "Success"}
        return web.json_response({"status": 200, "data": data, "service": "Access Manager"})

    def _authorised(self, request: web.Request, channels: list[str]) -> bool:
        grant = self.grants.get(request.query.get("auth", ""))
        uuid = request.query.get("uuid", "")
        return grant is not None and grant.allows(uuid, channels, time.time())

    async def _subscribe(self, request: web.Request) -> web.Response:
        channels = [
            c
            for c in urllib.parse.unquote(request.match_info["channels"]).split(",")
            if c and not c.endswith("-pnpres")
        ]
        if request.match_info["sub"] != self.subscribe_key or not self._authorised(
            request, channels
        ):
            return _forbidden(channels)
        since = int(request.query.get("tt", "0") or 0)
        if since == 0:  # handshake: where the stream starts
            return web.json_response({"t": {"t": str(self._timetoken()), "r": 1}, "m": []})
        deadline = time.monotonic() + 20
        while True:
            if not self._authorised(request, channels):
                return _forbidden(channels)
            fresh = [m for m in self.messages if m["tt"] > since and m["c"] in channels]
            if fresh or self._closing or time.monotonic() > deadline:
                break
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    pass
        last = max([m["tt"] for m in fresh], default=since)
        out = [{k: v for k, v in m.items() if k != "tt"} for m in fresh]
        return web.json_response({"t": {"t": str(last), "r": 1}, "m": out})

    async def _presence(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"status": 200, "message": "OK", "action": "leave", "service": "Presence"}
        )

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response([self._timetoken()])


def _sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _forbidden(channels: list[str] | None = None) -> web.Response:
    return web.json_response(
        {
            "message": "Forbidden",
            "payload": {"channels": channels or []},
            "error": True,
            "service": "Access Manager",
            "status": 403,
        },
        status=403,
    )
