"""The realtime hub: meeting events fanned out to every connection of a meeting.

Events are written to the meeting's log in the database first; the hub only carries
them to connections, so a client that misses one (reconnecting, another process)
reads it back from the log by sequence number. :class:`LocalHub` serves one
process; a PostgreSQL LISTEN/NOTIFY hub carries events between processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

__all__ = ["Hub", "LocalHub", "Subscription"]

log = logging.getLogger("kvorum.hub")

Event = Mapping[str, Any]
QUEUE_LIMIT = 1000


class Subscription:
    """One connection's view of one meeting's events."""

    def __init__(self, meeting_id: int) -> None:
        self.meeting_id = meeting_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT)
        # Set when the queue overflowed: the consumer must resync from the database.
        self.overflowed = False

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    async def get(self) -> Event:
        return await self.queue.get()


class Hub(Protocol):
    async def publish(self, events: Iterable[Event]) -> None:
        """Deliver committed events (the wire form, with "meeting" and "seq")."""

    def subscribe(self, meeting_id: int) -> Any:
        """``async with hub.subscribe(id) as sub:`` — events of that meeting from now on."""

    async def close(self) -> None: ...


class LocalHub:
    """Fan-out within this process."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[Subscription]] = {}

    def deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            for subscription in tuple(self._subscribers.get(int(event["meeting"]), ())):
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

    def connections(self, meeting_id: int) -> int:
        return len(self._subscribers.get(meeting_id, ()))

    async def close(self) -> None:
        self._subscribers.clear()
