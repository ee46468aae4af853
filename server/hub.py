"""The realtime hub: meeting events fanned out to every connection of a meeting.

Events are written to the meeting's log in the database first; the hub only carries
them to connections, so a client that misses one (reconnecting, another process)
reads it back from the log by sequence number. :class:`LocalHub` serves one
process; :class:`server.pghub.PgHub` carries events between processes with
PostgreSQL's LISTEN/NOTIFY and hands them to a LocalHub in each.

What a hub does not guarantee: order (two requests that commit seq 5 and 6 may
publish 6 first) or completeness (a queue that overflows, a listener that
reconnects). A consumer keeps the last seq it passed on, drops what is not newer,
and fills gaps from the log (:mod:`server.views.meeting_ws` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import MappingProxyType
from typing import Any, Protocol

__all__ = ["WAKE", "Event", "Hub", "LocalHub", "Subscription"]

log = logging.getLogger("kvorum.hub")

Event = Mapping[str, Any]
QUEUE_LIMIT = 1000
# Put in a queue to wake its consumer when the subscription went stale with room to spare.
WAKE: Event = MappingProxyType({})


class Subscription:
    """One connection's view of one meeting's events."""

    def __init__(self, meeting_id: int, limit: int = QUEUE_LIMIT) -> None:
        self.meeting_id = meeting_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue(limit)
        # Set when events may have been lost (the queue overflowed, a listener
        # reconnected): the consumer must resync from the database.
        self.overflowed = False

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    def invalidate(self) -> None:
        """Events may have been lost: make the consumer resync, waking it if it waits."""
        self.overflowed = True
        # A full queue does not let its consumer sleep: no need to add to it.
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(WAKE)

    def reset(self) -> None:
        """The consumer is about to resync: forget the flag and everything queued."""
        self.overflowed = False
        while not self.queue.empty():
            self.queue.get_nowait()

    async def get(self) -> Event:
        return await self.queue.get()


class Hub(Protocol):
    async def start(self) -> None:
        """Open what the hub needs (connections, tasks); called once at startup."""

    async def publish(self, events: Iterable[Event]) -> None:
        """Deliver committed events (the wire form, with "meeting" and "seq")."""

    def subscribe(self, meeting_id: int) -> AbstractAsyncContextManager[Subscription]:
        """``async with hub.subscribe(id) as sub:`` — events of that meeting from now on."""
        ...

    async def close(self) -> None: ...


class LocalHub:
    """Fan-out within this process."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[Subscription]] = {}
        # The highest seq delivered per meeting that has subscribers: where a hub
        # that lost its feed for a while resumes reading the log.
        self._seen: dict[int, int] = {}

    async def start(self) -> None:
        return None

    def deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            meeting_id = int(event["meeting"])
            subscribers = self._subscribers.get(meeting_id)
            if not subscribers:
                continue
            seq = int(event["seq"])
            if seq > self._seen.get(meeting_id, 0):
                self._seen[meeting_id] = seq
            for subscription in tuple(subscribers):
                subscription.offer(event)

    async def publish(self, events: Iterable[Event]) -> None:
        self.deliver(events)

    @asynccontextmanager
    async def subscribe(self, meeting_id: int) -> AsyncIterator[Subscription]:
        subscription = Subscription(meeting_id)
        self._subscribers.setdefault(meeting_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(meeting_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[meeting_id]
                    self._seen.pop(meeting_id, None)

    def connections(self, meeting_id: int) -> int:
        return len(self._subscribers.get(meeting_id, ()))

    def meetings(self) -> list[int]:
        """Meetings with at least one subscription here."""
        return list(self._subscribers)

    def seen(self, meeting_id: int) -> int | None:
        """The highest seq delivered to the meeting's subscriptions, if any was."""
        return self._seen.get(meeting_id)

    def invalidate(self, meeting_id: int) -> None:
        """Tell every subscription of the meeting to resync from the database."""
        for subscription in tuple(self._subscribers.get(meeting_id, ())):
            subscription.invalidate()

    async def close(self) -> None:
        self._subscribers.clear()
        self._seen.clear()
