"""Who a session is, kept per worker (SECURITY.md rule 6, issue 22 decision 1).

Every request resolves its access token to a Principal (session, user, org, role,
permissions, MFA state): a statement on every request. This cache keeps that answer in the
worker, on these terms:

- an entry is dropped on every instance when the relay announces a change: a session that
  ended (`session.ended`), a change to what someone may read or do (`topics.changed`: groups,
  role) and the changes announced for the cache alone (`principals.changed`: a refreshed
  token, an MFA change, a custom role, an org's security settings). The instance making the
  change drops at once, in process (`realtime.on_control`); the others hear it through
  Redis (`core/realtime/watch.py`);
- with Redis configured, the cache is not used at all (neither read nor filled) unless the
  worker's subscription is connected and has answered its heartbeat lately: at start-up,
  during an outage and until a reconnect has subscribed again, every request goes to the
  database; a reconnect starts from an empty cache;
- an entry lives at most `principal_cache_seconds` (30 at most), and never past its
  session's or access token's own expiry;
- a look-up that raced an announcement (started before it, finished after) is not stored.

Without Redis (the embedded single process) announcements only ever happen in process.
Several workers without Redis (`serve --allow-without-redis`) turn the cache off.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from staffroom.core import clock
from staffroom.core.context import Principal

if TYPE_CHECKING:  # the runtime builds the cache: imported at run time, a cycle
    from staffroom.core.runtime import Runtime

# Announced for the cache alone, on a topic no socket listens to.
PRINCIPALS_TOPIC = "principals"
PRINCIPALS_CHANGED = "principals.changed"
# A bound on memory: the oldest entry goes first beyond it (an entry is ~1 KB).
MAX_ENTRIES = 50_000


class Watch(Protocol):
    """The worker's subscription to the announcements of the other instances."""

    @property
    def healthy(self) -> bool:
        """Subscribed, and heard from lately."""

    def start(self, cache: PrincipalCache) -> None:
        """Begin listening (idempotent); announcements go to `cache.heard`."""

    async def close(self) -> None:
        """Stop listening."""


class _Entry:
    __slots__ = ("principal", "until")

    def __init__(self, principal: Principal, until: float) -> None:
        self.principal, self.until = principal, until


class PrincipalCache:
    """Access-token digest → Principal, with indexes to drop by session, user and org.

    One per app, a part of its runtime (`of`); off (0 s) until `configure`d, which
    `Runtime.build` does from the settings."""

    def __init__(self, seconds: float = 0.0, watch: Watch | None = None) -> None:
        self.seconds = seconds
        self._watch = watch
        self._entries: dict[str, _Entry] = {}
        self._by: dict[uuid.UUID, set[str]] = {}  # session, user or org id -> keys
        # Bumped by every drop: a look-up that began before one does not store its answer.
        self._epoch = 0
        self.hits = self.misses = 0

    def configure(self, seconds: float, watch: Watch | None) -> None:
        """Set the lifetime and the subscription (before the app serves; starts empty)."""
        self.seconds, self._watch = seconds, watch
        self.clear()

    @property
    def usable(self) -> bool:
        """Whether the cache may be read and filled now."""
        if self.seconds <= 0:
            return False
        if self._watch is None:
            return True  # one process: every announcement is made in it
        self._watch.start(self)
        return self._watch.healthy

    @property
    def epoch(self) -> int:
        """Taken before a look-up, handed back to `put`."""
        return self._epoch

    def get(self, key: str) -> Principal | None:
        """The cached principal of an access-token digest, if usable and fresh."""
        if not self.usable:
            return None
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.until <= clock.now_ts():
            self._remove(key)
            self.misses += 1
            return None
        self.hits += 1
        return entry.principal

    def put(self, key: str, principal: Principal, epoch: int, expires: Iterable[datetime]) -> None:
        """Keep a principal looked up since `epoch`, until the earliest of the cache's own
        lifetime and `expires` (the token's and session's expiry times)."""
        if epoch != self._epoch or not self.usable or principal.session_id is None:
            return
        until = clock.now_ts() + self.seconds
        for moment in expires:
            until = min(until, moment.timestamp())
        if key in self._entries:
            self._remove(key)
        while len(self._entries) >= MAX_ENTRIES:
            self._remove(next(iter(self._entries)))
        self._entries[key] = _Entry(principal, until)
        for owner in (principal.session_id, principal.user_id, principal.org_id):
            self._by.setdefault(owner, set()).add(key)

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        p = entry.principal
        for owner in (p.session_id, p.user_id, p.org_id):
            keys = self._by.get(owner) if owner is not None else None
            if keys is not None and owner is not None:
                keys.discard(key)
                if not keys:
                    del self._by[owner]

    def drop(self, owners: Iterable[uuid.UUID]) -> None:
        """Forget every entry of these sessions, users or orgs."""
        self._epoch += 1
        for owner in owners:
            for key in list(self._by.get(owner, ())):
                self._remove(key)

    def clear(self) -> None:
        """Forget everything (a lost or new subscription, an announcement not understood)."""
        self._epoch += 1
        self._entries.clear()
        self._by.clear()

    def heard(self, topic: str, event: dict[str, Any]) -> None:
        """An announcement on a relay topic, from this process or another instance."""
        try:
            owners = _owners(topic, event)
        except (ValueError, TypeError, KeyError, AttributeError):
            owners = None
        if owners is None:
            self.clear()  # not understood: the safe answer is to forget
        else:
            self.drop(owners)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    async def close(self) -> None:
        """Stop the subscription."""
        if self._watch is not None:
            await self._watch.close()
        self.clear()


def of(rt: Runtime) -> PrincipalCache:
    """This app's principal cache."""
    return rt.part(PrincipalCache)


def _owners(topic: str, event: dict[str, Any]) -> list[uuid.UUID] | None:
    """Whose entries an announcement ends; None when it is not understood."""
    kind = event.get("type")
    if topic == PRINCIPALS_TOPIC and kind == PRINCIPALS_CHANGED:
        named = [uuid.UUID(str(i)) for i in event.get("session_ids") or ()]
        named += [uuid.UUID(str(i)) for i in event.get("user_ids") or ()]
        return named or [uuid.UUID(str(event["org_id"]))]
    # Control topics: org:{org}:control (anyone in the org) or org:{org}:control:{user}.
    parts = topic.split(":")
    if len(parts) not in (3, 4) or parts[0] != "org" or parts[2] != "control":
        return None
    if kind == "session.ended":
        return [uuid.UUID(str(i)) for i in event["session_ids"]]
    return [uuid.UUID(parts[3] if len(parts) == 4 else parts[1])]
