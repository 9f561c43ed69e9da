"""The realtime relay: events to open apps (feeds and chat), one adapter per system.

Embedded default: an in-process fan-out that the built-in WebSocket endpoint reads
(`LocalRelay`); with `STAFFROOM_REDIS_URL` the fan-out spans every API instance through
Redis pub/sub (`redis.RedisRelay`); PubNub delivers chat to devices (`pubnub.PubNubGateway`,
the only module importing the pubnub SDK). Topics always carry the org id, and a connection
subscribes only to topics its user may read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from staffroom.core.context import Principal
from staffroom.core.principal_cache import PRINCIPALS_CHANGED, PRINCIPALS_TOPIC

if TYPE_CHECKING:  # the runtime holds a relay: imported at run time, a cycle
    from staffroom.core.runtime import Runtime


class RelayUnavailable(Exception):
    """The relay could not take an event now; the caller keeps it and retries later."""


class RelayRejected(Exception):
    """The relay refused this event and would refuse it again (too large, malformed)."""


class PayloadTooLarge(RelayRejected):
    """The event is over the relay's size limit (PubNub: 32 KiB)."""


# A slow or stuck client loses its oldest events rather than holding memory forever.
QUEUE_SIZE = 256


# What hears a relay's control announcements in the process making them (the app's
# principal cache), before and whether or not the relay carries them to other instances.
ControlListener = Callable[[str, dict[str, Any]], None]


class Relay(Protocol):
    """Publishes events to topics and streams them to subscribers."""

    # Kept on the relay, which is the app's own (`on_control`), not in a module global.
    control_listeners: list[ControlListener]

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Send one event to everyone subscribed to the topic."""

    async def publish_many(self, topics: list[str], event: dict[str, Any]) -> None:
        """Send one event to several topics (a conversation's members) at once."""

    def subscribe(
        self, topics: list[str]
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Receive the events of these topics while the context is open."""

    async def close(self) -> None:
        """Release connections."""


class LocalRelay:
    """In-process fan-out for one API process (the embedded default)."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.control_listeners: list[ControlListener] = []

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.deliver(topic, event)

    def deliver(self, topic: str, event: dict[str, Any]) -> None:
        """Hand an event to this process's subscribers of a topic (never blocks)."""
        for queue in list(self._queues.get(topic, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait({**event, "topic": topic})  # the relay's topic, always

    async def publish_many(self, topics: list[str], event: dict[str, Any]) -> None:
        for topic in topics:
            await self.publish(topic, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topics: list[str]) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        for topic in topics:
            self._queues.setdefault(topic, set()).add(queue)

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            for topic in topics:
                subscribers = self._queues.get(topic)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._queues[topic]

    async def close(self) -> None:
        self._queues.clear()

    def subscriber_count(self, topic: str) -> int:
        """How many connections listen to a topic (for tests and metrics)."""
        return len(self._queues.get(topic, ()))


# Control events for open sockets, on a topic of each user and one of each org: sessions
# that end (sign-out, revocation, deactivation, a password or MFA change) close their
# sockets at once; a change to what someone may read (their groups or role, a channel's
# audience) makes their sockets check it at once. Only the server publishes there, and
# the socket never passes these events on.
SESSION_ENDED = "session.ended"
TOPICS_CHANGED = "topics.changed"
log = logging.getLogger("staffroom.realtime")


def user_control_topic(org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """Control events for one person's open sockets."""
    return f"org:{org_id}:control:{user_id}"


def org_control_topic(org_id: uuid.UUID) -> str:
    """Control events for every open socket of an org."""
    return f"org:{org_id}:control"


async def announce_topics_changed(
    relay: Relay, org_id: uuid.UUID, user_ids: list[uuid.UUID] | None
) -> None:
    """What these people (None: anyone in the org) may read may have changed: their open
    sockets check now rather than at their next re-check. Best effort, as below."""
    topics = (
        [org_control_topic(org_id)]
        if user_ids is None
        else [user_control_topic(org_id, u) for u in sorted(set(user_ids))]
    )
    await _control(relay, topics, {"type": TOPICS_CHANGED})


async def announce_sessions_ended(
    relay: Relay, org_id: uuid.UUID, user_id: uuid.UUID, session_ids: list[uuid.UUID]
) -> None:
    """Tell open sockets of these sessions to close. Best effort: the revocation is
    already stored, and a socket checks its session again before passing events on."""
    if session_ids:
        event = {"type": SESSION_ENDED, "session_ids": sorted(str(i) for i in session_ids)}
        await _control(relay, [user_control_topic(org_id, user_id)], event)


async def announce_principals_changed(
    relay: Relay,
    org_id: uuid.UUID,
    *,
    user_ids: list[uuid.UUID] | None = None,
    session_ids: list[uuid.UUID] | None = None,
) -> None:
    """Who these sessions or people are (None for both: anyone in the org) changed in a way
    the other announcements do not say (a refreshed token, an MFA change, a custom role, an
    org's security settings): every worker forgets what it cached of them. No socket
    listens on this topic."""
    event: dict[str, Any] = {"type": PRINCIPALS_CHANGED, "org_id": str(org_id)}
    if user_ids:
        event["user_ids"] = sorted({str(u) for u in user_ids})
    if session_ids:
        event["session_ids"] = sorted({str(s) for s in session_ids})
    await _control(relay, [PRINCIPALS_TOPIC], event)


def on_control(relay: Relay, listener: ControlListener) -> None:
    """Hear every control announcement made through this relay (one app's), in this
    process, once."""
    if listener not in relay.control_listeners:
        relay.control_listeners.append(listener)


async def _control(relay: Relay, topics: list[str], event: dict[str, Any]) -> None:
    # A relay down loses the announcement, not the change: sockets re-check on their own;
    # another instance's principal cache is off while its own subscription is down, and
    # keeps an entry 30 s at most if only this publish failed.
    if not topics:
        return
    for listener in relay.control_listeners:
        for topic in topics:
            listener(topic, event)
    try:
        await relay.publish_many(topics, event)
    except RelayUnavailable:
        log.warning("could not announce %s; open sockets re-check on their own", event["type"])


# What a connection listens to, per domain: feeds registers the channels a user may read,
# chat the user's own topic. Registered on the app's runtime (`staffroom/wiring.py`).
TopicProvider = Callable[[Principal], Awaitable[list[str]]]


class TopicProviders(list[TopicProvider]):
    """The topic providers of one app."""


def on_topics(rt: Runtime, provider: TopicProvider) -> None:
    """Register a provider of a user's topics once."""
    providers = rt.part(TopicProviders)
    if provider not in providers:
        providers.append(provider)


async def topics_for(rt: Runtime, principal: Principal) -> list[str]:
    """Every topic a user may receive, from every domain."""
    providers = rt.part(TopicProviders)
    return sorted({t for provider in providers for t in await provider(principal)})
