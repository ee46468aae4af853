"""Meeting events between server processes: PostgreSQL LISTEN/NOTIFY.

Every process keeps one :class:`~server.hub.LocalHub` for its own connections and two
asyncpg connections of its own (outside the SQLAlchemy pool): one that sends
``NOTIFY kvorum_meeting`` and one that ``LISTEN``\\ s.

Delivery, exactly once per process from the hub:

* the publishing process hands its events to its own LocalHub at once (no round
  trip through the database for its own clients), then queues them for NOTIFY;
* its listener ignores notifications whose sending backend is its own publishing
  connection (the pid PostgreSQL reports with each notification), so they are not
  delivered twice; every other process delivers them from its listener. (Just after
  the publishing connection was replaced, a notification of the old one may still
  come in and be delivered again; consumers drop it by its seq.)

A payload is the event's wire form (:func:`meetings.events.event_json`) when it
fits in :data:`MAX_PAYLOAD` bytes — PostgreSQL refuses payloads of 8000 bytes or
more — otherwise ``{"meeting": id, "seq": n, "fetch": true}`` and each listener
reads the event from ``meeting_event``.

What this does not guarantee:

* order across processes: NOTIFY order is the order of the NOTIFY calls, not of
  the seq. Consumers reorder by seq and fill gaps from the log.
* that a notification survives an outage: while a listener is disconnected it
  misses what is sent. After reconnecting it reads ``meeting_event`` past the last
  seq it delivered for each meeting with subscribers (or, where it delivered none,
  tells their subscriptions to resync themselves).
* working behind a transaction-pooling proxy (PgBouncer in transaction mode):
  LISTEN needs a session of its own, so point the database URL at PostgreSQL or at
  a session-mode pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url

from meetings.events import MAX_BACKLOG, event_json
from meetings.models import MeetingEvent
from server.hub import Event, Hub, LocalHub, Subscription
from server.keys import HUB
from server.settings import Settings

__all__ = ["CHANNEL", "MAX_PAYLOAD", "PgHub", "asyncpg_dsn", "hub_context", "make_hub"]

log = logging.getLogger("kvorum.hub")

CHANNEL = "kvorum_meeting"
# PostgreSQL's limit is 8000 bytes in the default build; keep a margin.
MAX_PAYLOAD = 7000
# Events waiting for NOTIFY; past this (PostgreSQL unreachable for long) new events
# are dropped from the cross-process feed, and other processes fill the gap from the log.
OUTBOX_LIMIT = 10_000
BATCH = 200
SEND_ATTEMPTS = 10
_SELECT_EVENTS = (
    "SELECT meeting_id, seq, at, kind, actor, data FROM meeting_event "
    "WHERE meeting_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
)
_SELECT_EVENT = (
    "SELECT meeting_id, seq, at, kind, actor, data FROM meeting_event "
    "WHERE meeting_id = $1 AND seq = $2"
)


def asyncpg_dsn(database_url: str) -> str:
    """The libpq-style URL asyncpg takes, from a SQLAlchemy one (``postgresql+asyncpg://``)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"PgHub needs a PostgreSQL URL, not {url.get_backend_name()!r}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def payload(event: Event) -> str:
    """The NOTIFY payload for one event: the event itself, or where to fetch it."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) < MAX_PAYLOAD:
        return text
    return json.dumps({"meeting": int(event["meeting"]), "seq": int(event["seq"]), "fetch": True})


def _wire(row: Any) -> dict[str, object]:
    """A ``meeting_event`` row in the wire form, by the same function the publisher used."""
    return event_json(
        MeetingEvent(
            meeting_id=row["meeting_id"],
            seq=row["seq"],
            at=row["at"],
            kind=row["kind"],
            actor=row["actor"],
            data=row["data"],
        )
    )


class PgHub:
    """A hub shared by every server process on one PostgreSQL database."""

    def __init__(
        self, database_url: str, *, keepalive: float = 30.0, retry_delay: float = 1.0
    ) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.local = LocalHub()
        self.keepalive = keepalive
        self.retry_delay = retry_delay
        # How often the listener had to reconnect (for logs and tests).
        self.reconnects = 0
        self._outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_LIMIT)
        # (the listening connection it came from, payload or None for "connection lost")
        self._inbox: asyncio.Queue[tuple[Any, str | None]] = asyncio.Queue()
        self._publisher: Any = None
        self._publisher_pid: int | None = None
        self._listener: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sender: asyncio.Task[None] | None = None

    # --- the Hub interface ----------------------------------------------------------------

    async def start(self) -> None:
        """Connect and LISTEN; raises if PostgreSQL cannot be reached at startup."""
        self._listener = await self._listen()
        try:
            await self._connect_publisher()
        except BaseException:
            await self._close_quietly(self._listener)
            self._listener = None
            raise
        self._sender = asyncio.create_task(self._send_loop(), name="kvorum-hub-notify")
        self._tasks = [
            asyncio.create_task(self._listen_loop(), name="kvorum-hub-listen"),
            self._sender,
        ]

    async def publish(self, events: Iterable[Event]) -> None:
        events = list(events)
        self.local.deliver(events)
        for event in events:
            try:
                self._outbox.put_nowait(payload(event))
            except asyncio.QueueFull:
                log.warning(
                    "NOTIFY backlog full; event not sent to other processes",
                    extra={"meeting": event["meeting"], "seq": event["seq"]},
                )

    def subscribe(self, meeting_id: int) -> AbstractAsyncContextManager[Subscription]:
        return self.local.subscribe(meeting_id)

    async def close(self) -> None:
        # Give queued notifications a moment to go out: other processes would
        # otherwise learn of them only at the next event of the same meeting.
        if self._sender is not None and not self._sender.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), 2.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._sender = None
        for conn in (self._listener, self._publisher):
            await self._close_quietly(conn)
        self._listener = self._publisher = None
        await self.local.close()

    # --- sending --------------------------------------------------------------------------

    async def _connect_publisher(self) -> Any:
        conn = await asyncpg.connect(self.dsn)
        self._publisher = conn
        self._publisher_pid = conn.get_server_pid()
        return conn

    async def _send_loop(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            await self._notify(batch)
            for _sent in batch:
                self._outbox.task_done()

    async def _notify(self, batch: list[str]) -> None:
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                conn = self._publisher
                if conn is None or conn.is_closed():
                    conn = await self._connect_publisher()
                # One pipelined round trip; notifications keep the order sent.
                await conn.executemany("SELECT pg_notify($1, $2)", [(CHANNEL, p) for p in batch])
                return
            # Any failure, asyncpg's internal ones included: this task must outlive it.
            except Exception:
                log.warning("NOTIFY failed (attempt %d)", attempt, exc_info=True)
                await self._close_quietly(self._publisher)
                self._publisher = None
                await asyncio.sleep(self.retry_delay)
        # Other processes read these from the log at the meeting's next event.
        log.error("NOTIFY gave up; %d events not sent to other processes", len(batch))

    # --- listening ------------------------------------------------------------------------

    async def _listen(self) -> Any:
        conn = await asyncpg.connect(self.dsn)
        try:
            conn.add_termination_listener(self._on_lost)
            await conn.add_listener(CHANNEL, self._on_notify)
        except BaseException:
            await self._close_quietly(conn)
            raise
        return conn

    def _on_notify(self, conn: Any, pid: int, channel: str, text: str) -> None:
        if pid == self._publisher_pid:
            return  # ours: already delivered here when published
        self._inbox.put_nowait((conn, text))

    def _on_lost(self, conn: Any) -> None:
        self._inbox.put_nowait((conn, None))

    async def _listen_loop(self) -> None:
        while True:
            conn = self._listener
            try:
                await self._consume(conn)
            except Exception:  # whatever broke, the listener must come back
                log.warning("hub listener failed", exc_info=True)
            await self._close_quietly(conn)
            self._listener = None
            while self._listener is None:
                try:
                    self._listener = await self._listen()
                    await self._resync(self._listener)
                except Exception:
                    log.warning("hub listener cannot reconnect yet", exc_info=True)
                    await self._close_quietly(self._listener)
                    self._listener = None
                    await asyncio.sleep(self.retry_delay)
            self.reconnects += 1
            log.info("hub listener reconnected", extra={"reconnects": self.reconnects})

    async def _consume(self, conn: Any) -> None:
        """Deliver notifications until ``conn`` is lost (returns) or fails (raises)."""
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
            # that arrives as the queue hands over an item, and close() then waits forever.
            try:
                async with asyncio.timeout(self.keepalive):
                    source, text = await self._inbox.get()
            except TimeoutError:
                # Quiet for a while: make sure the connection is still alive.
                async with asyncio.timeout(self.keepalive):
                    await conn.fetchval("SELECT 1")
                continue
            if text is None:
                if source is conn:
                    return
                continue  # the end of an earlier connection, already replaced
            event = await self._decode(conn, text)
            if event is not None:
                self.local.deliver([event])

    async def _decode(self, conn: Any, text: str) -> Event | None:
        try:
            data = json.loads(text)
            meeting_id, seq = int(data["meeting"]), int(data["seq"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed notification", extra={"payload": text[:200]})
            return None
        if not self.local.connections(meeting_id):
            return None  # nobody here follows that meeting
        if not data.get("fetch"):
            event: Event = data
            return event
        row = await conn.fetchrow(_SELECT_EVENT, meeting_id, seq)
        if row is None:  # cannot happen (published after commit); the gap heals itself
            log.warning("notified event not found", extra={"meeting": meeting_id, "seq": seq})
            return None
        return _wire(row)

    async def _resync(self, conn: Any) -> None:
        """After a reconnection: deliver what was committed while nobody listened.

        LISTEN is already in place, so anything committed after the read below is
        notified; anything before it is in the read.
        """
        for meeting_id in self.local.meetings():
            seen = self.local.seen(meeting_id)
            if seen is None:
                self.local.invalidate(meeting_id)
                continue
            rows = await conn.fetch(_SELECT_EVENTS, meeting_id, seen, MAX_BACKLOG)
            if len(rows) >= MAX_BACKLOG:
                self.local.invalidate(meeting_id)  # too far behind: let each catch up
                continue
            self.local.deliver([_wire(row) for row in rows])

    @staticmethod
    async def _close_quietly(conn: Any) -> None:
        if conn is None or conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), 5.0)
        except Exception:  # already broken: drop it
            conn.terminate()


def make_hub(settings: Settings) -> Hub:
    """PgHub on PostgreSQL (several processes may serve one database), else LocalHub."""
    url = settings.effective_database_url
    if make_url(url).get_backend_name() == "postgresql":
        return PgHub(url)
    return LocalHub()


async def hub_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start ``app[HUB]`` after the database is ready, close it at the end."""
    hub = app[HUB]
    await hub.start()
    try:
        yield
    finally:
        await hub.close()
