"""The PostgreSQL hub: events between hubs, large events fetched from the log, a lost
listener that reconnects and catches up, and two real server processes sharing one
database.

Runs only with ``KVORUM_TEST_PG_URL``; uses a database of its own on that server
(``kvorum_hub_test``), created and migrated here and dropped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

import meetings.models  # noqa: F401  (tables for the metadata)
from meetings.events import append_event, event_json
from meetings.models import MeetingState
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from registry.actor import Actor
from registry.models import Role, SeatRole
from registry.orm import Base, utcnow
from server import database
from server.auth import COOKIE, open_session
from server.hub import Event, Subscription
from server.pghub import MAX_PAYLOAD, PgHub, asyncpg_dsn, payload
from tests import factories as f

PG_URL = os.environ.get("KVORUM_TEST_PG_URL", "")
# One database per test process, so that runs side by side on one server do not collide.
HUB_DB = f"kvorum_hub_test_{os.getpid()}"
ROOT = Path(__file__).resolve().parents[2]
WAIT = 15.0

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set KVORUM_TEST_PG_URL"),
]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def hub_db() -> Iterator[str]:
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {HUB_DB} WITH (FORCE)"))
    asyncio.run(_admin(f"CREATE DATABASE {HUB_DB}"))
    url = make_url(PG_URL).set(database=HUB_DB).render_as_string(hide_password=False)
    try:
        database.upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {HUB_DB} WITH (FORCE)"))


_TABLES = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture
async def db(hub_db: str) -> AsyncIterator[AsyncSession]:
    engine = database.create_engine(hub_db)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        async with database.make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest.fixture
async def hubs(hub_db: str) -> AsyncIterator[tuple[PgHub, PgHub]]:
    """Two hubs, as two processes would have."""
    a, b = PgHub(hub_db, retry_delay=0.05), PgHub(hub_db, retry_delay=0.05)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def take(subscription: Subscription, count: int) -> list[Event]:
    return [await asyncio.wait_for(subscription.get(), WAIT) for _ in range(count)]


def fake_event(seq: int, meeting: int = 1, **data: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "meeting": meeting,
        "seq": seq,
        "at": "2026-11-24T10:00:00Z",
        "kind": "test",
        "actor": "",
        "data": data,
    }


async def in_session_meeting(db: AsyncSession) -> tuple[int, dict[str, str], Actor]:
    """A meeting in session; returns its id, a session token per person, and the chair."""
    o = await f.org(db)
    body = await f.body(db, o)
    chair = await f.member(db, o, "Председателев")
    member = await f.member(db, o, "Первов")
    await f.seat(db, body, chair, SeatRole.CHAIR)
    await f.seat(db, body, member, SeatRole.MEMBER)
    secretary = await f.member(db, o, "Секретарёв")
    await f.seat(db, body, secretary, SeatRole.SECRETARY)
    tokens = {}
    actor = None
    for who, person in (("chair", chair), ("member", member)):
        account = await f.account(db, Role.MEMBER, member_obj=person)
        tokens[who], _row = await open_session(db, account, None, method="invitation")
        if who == "chair":
            actor = Actor(account.id, person.full_name, frozenset({Role.MEMBER}), person.id)
    assert actor is not None
    service = MeetingService(db, actor)
    meeting = await service.create(
        MeetingIn(body_id=body.id, title="Заседание", starts_at=utcnow())
    )
    for title in ("Первый", "Второй", "Третий"):
        await service.add_item(meeting.id, AgendaItemIn(title=title))
    for target in (MeetingState.ANNOUNCED, MeetingState.REGISTRATION, MeetingState.IN_SESSION):
        await service.transition(meeting.id, target)
    meeting_id = meeting.id
    await db.commit()
    return meeting_id, tokens, actor


# --- the hub on its own -----------------------------------------------------------------------


async def test_events_reach_the_other_hub_once_and_in_order(hubs: tuple[PgHub, PgHub]) -> None:
    a, b = hubs
    async with a.subscribe(1) as on_a, b.subscribe(1) as on_b, b.subscribe(2) as other:
        await a.publish([fake_event(1), fake_event(2)])
        assert [e["seq"] for e in await take(on_b, 2)] == [1, 2]
        # B answers; by the time A has it, A's listener has also had its own
        # notifications of 1 and 2 (sent earlier) — and delivered neither again.
        await b.publish([fake_event(3)])
        assert [e["seq"] for e in await take(on_a, 3)] == [1, 2, 3]
        assert on_a.queue.empty()
        assert [e["seq"] for e in await take(on_b, 1)] == [3]
        assert other.queue.empty()  # another meeting's subscription hears nothing


async def test_a_large_event_travels_as_a_reference(
    hubs: tuple[PgHub, PgHub], db: AsyncSession
) -> None:
    meeting_id, _tokens, _chair = await in_session_meeting(db)
    big = await append_event(db, meeting_id, "test.big", {"text": "я" * MAX_PAYLOAD})
    wire = event_json(big)
    await db.commit()
    assert json.loads(payload(wire)) == {"meeting": meeting_id, "seq": big.seq, "fetch": True}

    a, b = hubs
    async with b.subscribe(meeting_id) as on_b:
        await a.publish([wire])
        (received,) = await take(on_b, 1)
    assert received == wire


async def test_a_lost_listener_reconnects_and_catches_up(
    hubs: tuple[PgHub, PgHub], db: AsyncSession
) -> None:
    meeting_id, _tokens, _chair = await in_session_meeting(db)
    a, b = hubs
    async with b.subscribe(meeting_id) as on_b:
        first = await append_event(db, meeting_id, "test.n", {"n": 0})
        await db.commit()
        await a.publish([event_json(first)])
        await take(on_b, 1)

        # Committed while B is deaf (never even notified): only the log has them.
        missed = [await append_event(db, meeting_id, "test.n", {"n": n}) for n in (1, 2)]
        await db.commit()
        await _admin_terminate(b._listener.get_server_pid())
        caught_up = await take(on_b, 2)
        assert [e["seq"] for e in caught_up] == [e.seq for e in missed]
        assert caught_up[0] == event_json(missed[0])
        assert b.reconnects == 1

        # And the new connection listens.
        later = await append_event(db, meeting_id, "test.n", {"n": 3})
        await db.commit()
        await a.publish([event_json(later)])
        assert [e["seq"] for e in await take(on_b, 1)] == [later.seq]


async def _admin_terminate(pid: int) -> None:
    await _admin(f"SELECT pg_terminate_backend({int(pid)})")


async def test_a_lost_publisher_connection_is_replaced(hubs: tuple[PgHub, PgHub]) -> None:
    a, b = hubs
    async with b.subscribe(1) as on_b:
        await _admin_terminate(a._publisher.get_server_pid())
        await a.publish([fake_event(1)])
        assert [e["seq"] for e in await take(on_b, 1)] == [1]


# --- two server processes ---------------------------------------------------------------------

# Builds the app as `kvorum serve` does, making sure it has the PostgreSQL hub and the
# meeting socket (create_app may already provide both).
RUNNER = """
import sys
from aiohttp import web
from server.app import create_app
from server.keys import HUB
from server.pghub import PgHub, hub_context
from server.settings import Settings
from server.views import meeting_ws

settings = Settings.from_env()
app = create_app(settings)
if not isinstance(app[HUB], PgHub):
    app[HUB] = PgHub(settings.effective_database_url)
    app.cleanup_ctx.append(hub_context)
meeting_ws.install(app)
web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def server_process(url: str, data_dir: Path) -> AsyncIterator[str]:
    port = _free_port()
    env = os.environ | {
        "KVORUM_DATABASE_URL": url,
        "KVORUM_DATA_DIR": str(data_dir),
        "KVORUM_PORT": str(port),
        "KVORUM_MIGRATE_ON_START": "false",
        "KVORUM_LOG_LEVEL": "WARNING",
        "KVORUM_LOG_FORMAT": "text",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", RUNNER, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            # Polled until it answers or exits: a loaded machine may take long to import
            # the app; the bound only keeps a hung process from hanging the suite.
            for _ in range(6000):
                assert process.returncode is None, "the server process exited"
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the server process did not start")
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), WAIT)
            except TimeoutError:
                process.kill()
                await process.wait()


async def frames_until(ws: Any, match: Any) -> list[dict[str, Any]]:
    seen = []
    while True:
        msg = await ws.receive(timeout=WAIT)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        seen.append(json.loads(msg.data))
        if match(seen[-1]):
            return seen


async def test_two_processes_share_one_meeting(
    hub_db: str, db: AsyncSession, tmp_path: Path
) -> None:
    meeting_id, tokens, _chair = await in_session_meeting(db)
    path = f"/meetings/{meeting_id}/ws"
    async with (
        server_process(hub_db, tmp_path / "a") as a,
        server_process(hub_db, tmp_path / "b") as b,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
    ):

        def headers(who: str, origin: str) -> dict[str, str]:
            return {"Cookie": f"{COOKIE}={tokens[who]}", "Origin": origin}

        # The member listens on A ...
        member = await http.ws_connect(a + path, headers=headers("member", a))
        hello = await frames_until(member, lambda fr: fr["type"] == "hello")
        start = hello[-1]["snapshot"]["seq"]

        # ... the chair arrives and acts on B.
        chair = await http.ws_connect(b + path, headers=headers("chair", b))
        await frames_until(chair, lambda fr: fr["type"] == "hello")
        items = [
            r[0]
            for r in (
                await db.execute(
                    text("SELECT id FROM agenda_item WHERE meeting_id = :m ORDER BY position"),
                    {"m": meeting_id},
                )
            ).all()
        ]
        await db.rollback()
        for n, item in enumerate(items * 2):
            await chair.send_str(json.dumps({"id": n, "action": "set_item", "item": item}))
            await frames_until(chair, lambda fr, n=n: fr.get("id") == n)
        last = (
            await db.execute(text("SELECT last_seq FROM meeting WHERE id = :m"), {"m": meeting_id})
        ).scalar_one()
        await db.rollback()

        frames = await frames_until(member, lambda fr: fr.get("seq") == last)
        assert [fr["type"] for fr in frames] == ["event"] * len(frames)
        assert [fr["seq"] for fr in frames] == list(range(start + 1, last + 1))
        kinds = [fr["kind"] for fr in frames]
        assert kinds[:2] == ["presence.arrived", "quorum"]
        assert kinds.count("agenda.current") == 2 * len(items)
        logged = (
            await db.execute(
                text(
                    "SELECT seq, kind FROM meeting_event WHERE meeting_id = :m AND seq > :s "
                    "ORDER BY seq"
                ),
                {"m": meeting_id, "s": start},
            )
        ).all()
        await db.rollback()
        assert [(fr["seq"], fr["kind"]) for fr in frames] == [tuple(r) for r in logged]

        # And the other way: the member's hand on A reaches the chair on B.
        await member.send_str(json.dumps({"id": 1, "action": "raise_hand"}))
        raised = await frames_until(chair, lambda fr: fr.get("kind") == "floor.raised")
        assert raised[-1]["seq"] == last + 1
        await member.close()
        await chair.close()


async def test_a_notification_arriving_as_the_hub_closes_does_not_keep_it_open() -> None:
    """The listener is cancelled at the moment a notification is handed over: the
    cancellation must win (with 3.11's wait_for it was lost, and close() hung)."""
    hub = PgHub("postgresql://nobody@127.0.0.1:1/none")
    listening = asyncio.create_task(hub._consume(None))
    await asyncio.sleep(0)  # it waits on the inbox
    hub._inbox.put_nowait((None, json.dumps({"meeting": 1, "seq": 1})))
    listening.cancel()
    for _ in range(20):  # a few turns of the loop, no clock
        await asyncio.sleep(0)
    assert listening.cancelled()
