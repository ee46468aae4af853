"""Benchmark: one meeting event reaching 1,000 WebSocket clients.

Measures, in one run and on the same machine, with the clients in this process and
each server in a process of its own on 127.0.0.1:

* ``bare``: a minimal aiohttp app that, on request, stamps the time and sends one
  text frame to each of its 1,000 open WebSockets in a loop — the floor for the same
  work (the frame is serialised once);
* ``kvorum``: the real server (``/meetings/{id}/ws``) with 1,000 members of one
  meeting connected; one more member connects, which commits ``presence.arrived``
  (and ``quorum``) and broadcasts them.

For each client the latency runs from the moment the change was committed to the
moment that client has the frame. "Committed" is when the server hands the events to
its hub, which ``server.auth.unit`` does right after COMMIT returns; the benchmark's
server process wraps the hub to note that instant (``/_bench/committed``). The time
before it — from the event's ``at``, stamped inside the transaction, to the end of
COMMIT — is printed apart. For ``bare`` it runs from the stamp before the loop. Each
is repeated ``--rounds`` times; p50 and p99 are over all clients of all rounds.

The clients' process collects garbage only between rounds; the servers collect as
they normally do, and their collections that overlapped a round are reported
(on a small VM a full collection with 1,000 connections takes 100–300 ms and sets
the p99 of any round it lands in).

The 1,000 listening members are created present (so their own connections change
nothing) and connect with ``after=`` the meeting's last seq; a different member
triggers each round and stays connected (no departure during the run). On
PostgreSQL the server uses :class:`server.pghub.PgHub`.

Usage::

    .venv/bin/python bench/ws_broadcast.py [--clients 1000] [--rounds 20]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

With ``--database-url`` (PostgreSQL) the benchmark creates a scratch database
``kvorum_bench_ws`` on that server and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import json
import os
import resource
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meetings.models import Meeting, MeetingState, Presence
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from registry.actor import Actor
from registry.bodies import BodyService
from registry.models import (
    Account,
    AccountRole,
    BodyKind,
    Member,
    OrgKind,
    Role,
    Seat,
    SeatRole,
    Session,
)
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.schemas import BodyIn, OrganisationIn, QuorumIn
from server import database
from server.auth import COOKIE, digest
from server.hub import Event, Hub, Subscription

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_DB = "kvorum_bench_ws"
TARGET_P99 = 0.100
CONNECT_CONCURRENCY = 20
ARRIVED = '"presence.arrived"'


@dataclasses.dataclass
class Seeded:
    meeting_id: int
    listeners: list[str]  # session tokens
    triggers: list[tuple[int, str]]  # (member id, session token)


# --- the data -------------------------------------------------------------------------------


async def seed(url: str, listeners: int, rounds: int) -> Seeded:
    """One body of ``listeners + rounds`` members, each with an account and a session,
    and a meeting in session where the listeners are already present."""
    await asyncio.to_thread(database.upgrade, url)
    engine = database.create_engine(url)
    system = Actor.system("bench")
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            org = await OrganisationService(db, system).create(
                OrganisationIn(name="Краевой союз", kind=OrgKind.REGIONAL_COUNCIL)
            )
            body = await BodyService(db, system).create(
                BodyIn(
                    organisation_id=org.id,
                    kind=BodyKind.COUNCIL,
                    name="Пленум",
                    quorum=QuorumIn(),
                )
            )
            total = listeners + rounds
            members = [
                Member(
                    organisation_id=org.id,
                    root_organisation_id=org.id,
                    surname=f"Участник{n:05d}",
                    name="Иван",
                    patronymic="Петрович",
                    card_number=f"B-{n:06d}",
                )
                for n in range(total)
            ]
            db.add_all(members)
            await db.flush()
            roles = {0: SeatRole.CHAIR, 1: SeatRole.SECRETARY}
            db.add_all(
                Seat(
                    body_id=body.id,
                    member_id=m.id,
                    role=roles.get(n, SeatRole.MEMBER),
                    term_start=dt.date(2020, 1, 1),
                )
                for n, m in enumerate(members)
            )
            accounts = [
                Account(
                    member_id=m.id,
                    display_name=m.full_name,
                    role_rows=[AccountRole(role=Role.MEMBER)],
                )
                for m in members
            ]
            db.add_all(accounts)
            await db.flush()
            tokens = [secrets.token_urlsafe(16) for _ in accounts]
            db.add_all(
                Session(
                    token_hash=digest(token),
                    account_id=account.id,
                    csrf_token=secrets.token_urlsafe(24),
                    auth_method="invitation",
                )
                for token, account in zip(tokens, accounts, strict=True)
            )
            chair = Actor(
                accounts[0].id, members[0].full_name, frozenset({Role.MEMBER}), members[0].id
            )
            service = MeetingService(db, chair)
            meeting = await service.create(
                MeetingIn(body_id=body.id, title="Пленум", starts_at=utcnow())
            )
            await service.add_item(meeting.id, AgendaItemIn(title="Отчёт"))
            for target in (
                MeetingState.ANNOUNCED,
                MeetingState.REGISTRATION,
                MeetingState.IN_SESSION,
            ):
                await service.transition(meeting.id, target)
            # Present already: their connections then change nothing and announce nothing.
            db.add_all(
                Presence(
                    meeting_id=meeting.id,
                    member_id=m.id,
                    connections=0,
                    online=True,
                    in_person=False,
                    since=utcnow(),
                )
                for m in members[:listeners]
            )
            return Seeded(
                meeting.id,
                tokens[:listeners],
                [(m.id, t) for m, t in zip(members[listeners:], tokens[listeners:], strict=True)],
            )
    finally:
        await engine.dispose()


async def last_seq(url: str, meeting_id: int) -> int:
    engine = database.create_engine(url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            return int(await db.scalar(select(Meeting.last_seq).where(Meeting.id == meeting_id)))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def scratch_database(url: str | None, tmp: Path) -> AsyncIterator[str]:
    if not url:
        yield f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        return
    import asyncpg

    from server.pghub import asyncpg_dsn

    admin = asyncpg_dsn(url)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await run(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
    await run(f"CREATE DATABASE {SCRATCH_DB}")
    try:
        yield make_url(url).set(database=SCRATCH_DB).render_as_string(hide_password=False)
    finally:
        await run(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")


# --- the servers (each runs in a process of its own: `--serve kvorum|bare`) -----------------


class GcWatch:
    """Notes the server's garbage collections that take long enough to matter."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float, int]] = []  # (start, seconds, generation)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.time()
        elif (took := time.time() - self._started) > 0.005:
            self.pauses.append((self._started, took, info["generation"]))

    def install(self, app: web.Application) -> None:
        gc.callbacks.append(self)

        async def report(request: web.Request) -> web.Response:
            return web.json_response(self.pauses)

        app.router.add_get("/_bench/gc", report)


class StampingHub:
    """Wraps the server's hub to note when each event was handed over for broadcast:
    right after its transaction committed (server.auth.unit publishes then)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.stamps: dict[int, float] = {}

    async def start(self) -> None:
        await self.hub.start()

    async def publish(self, events: Iterable[Event]) -> None:
        events = list(events)
        now = time.time()
        for event in events:
            self.stamps[int(event["seq"])] = now
        await self.hub.publish(events)

    def subscribe(self, meeting_id: int) -> AbstractAsyncContextManager[Subscription]:
        return self.hub.subscribe(meeting_id)

    async def close(self) -> None:
        await self.hub.close()


def serve_kvorum(port: int, url: str, data_dir: Path) -> None:
    from server.app import create_app
    from server.keys import HUB
    from server.logs import configure_logging
    from server.pghub import PgHub, hub_context
    from server.settings import Settings
    from server.views import meeting_ws

    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        port=port,
        migrate_on_start=False,
        log_level="WARNING",
        log_format="text",
    )
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    # Until create_app does both itself: the hub the database calls for, and the socket.
    if make_url(url).get_backend_name() == "postgresql" and not isinstance(app[HUB], PgHub):
        app[HUB] = PgHub(url)
        app.cleanup_ctx.append(hub_context)
    stamping = StampingHub(app[HUB])
    app[HUB] = stamping
    meeting_ws.install(app)
    app[meeting_ws.REALTIME].grace = 3600.0  # no departure during the run

    async def committed(request: web.Request) -> web.Response:
        return web.Response(text=repr(stamping.stamps[int(request.query["seq"])]))

    app.router.add_get("/_bench/committed", committed)
    GcWatch().install(app)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def serve_bare(port: int) -> None:
    sockets: set[web.WebSocketResponse] = set()

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    async def fire(request: web.Request) -> web.Response:
        at = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        frame = json.dumps(
            {
                "type": "event",
                "kind": "presence.arrived",
                "at": at,
                "data": {"member": int(request.query["member"])},
            }
        )
        for ws in tuple(sockets):
            await ws.send_str(frame)
        return web.Response(text="sent")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    app.router.add_post("/fire", fire)
    app.router.add_get("/healthz", healthz)
    GcWatch().install(app)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def server_process(*args: str) -> AsyncIterator[str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", *args, "--port", str(port), cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if process.returncode is not None:
                    raise RuntimeError(f"server {args[0]} exited with {process.returncode}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"server {args[0]} did not start")
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- the clients ----------------------------------------------------------------------------


def _instant(at: str) -> float:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


class Listeners:
    """Many sockets; for each awaited member, when each socket had its arrival."""

    def __init__(self) -> None:
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.received: dict[int, list[float]] = defaultdict(list)
        self.frames: dict[int, dict[str, Any]] = {}
        self.complete: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self._readers: list[asyncio.Task[None]] = []

    async def connect(
        self, http: aiohttp.ClientSession, url: str, headers: Sequence[dict[str, str]]
    ) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(h: dict[str, str]) -> None:
            async with gate:
                ws = await http.ws_connect(url, headers=h, autoping=True)
            self.sockets.append(ws)
            self._readers.append(asyncio.create_task(self._read(ws)))

        await asyncio.gather(*(one(h) for h in headers))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            received = time.time()
            if ARRIVED not in msg.data:  # cheap filter: parse only what is measured
                continue
            frame = json.loads(msg.data)
            if frame.get("kind") != "presence.arrived":
                continue
            member = frame["data"]["member"]
            self.frames[member] = frame
            times = self.received[member]
            times.append(received)
            if len(times) == len(self.sockets):
                self.complete[member].set()

    async def wait_for(self, member: int) -> tuple[dict[str, Any], list[float]]:
        """The member's arrival frame, and when each socket received it."""
        await asyncio.wait_for(self.complete[member].wait(), 60)
        return self.frames[member], self.received[member]

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


@dataclasses.dataclass
class Result:
    name: str
    samples: list[float] = dataclasses.field(default_factory=list)
    # The server's collections of 5 ms or more that overlapped a round: (seconds, generation).
    pauses: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    windows: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    commit: list[float] = dataclasses.field(default_factory=list)  # kvorum: "at" → COMMIT

    def add_round(self, n: int, start: float, received: list[float], verbose: bool) -> None:
        latencies = [t - start for t in received]
        self.samples += latencies
        self.windows.append((start, max(received)))
        if verbose:
            print(
                f"  {self.name} round {n}: min {_ms(min(latencies))}  p50 "
                f"{_ms(statistics.median(latencies))}  max {_ms(max(latencies))}",
                flush=True,
            )

    async def fetch_pauses(self, http: aiohttp.ClientSession, base: str) -> None:
        async with http.get(base + "/_bench/gc") as resp:
            pauses = await resp.json()
        self.pauses = [
            (took, generation)
            for start, took, generation in pauses
            if any(start < end and start + took > begin for begin, end in self.windows)
        ]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _session() -> aiohttp.ClientSession:
    # No connection limit: every WebSocket holds its connection for the whole run.
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
    )


async def _between_rounds(pause: float) -> None:
    gc.collect()  # the clients' collection, while nothing is measured
    await asyncio.sleep(pause)


async def run_bare(args: argparse.Namespace) -> Result:
    result = Result("bare aiohttp loop")
    async with server_process("bare") as base, _session() as http:
        listeners = Listeners()
        await listeners.connect(http, base + "/ws", [{}] * args.clients)
        try:
            for member in range(1, args.rounds + 1):
                await _between_rounds(args.pause)
                async with http.post(base + "/fire", params={"member": str(member)}) as resp:
                    resp.raise_for_status()
                frame, received = await listeners.wait_for(member)
                result.add_round(member, _instant(frame["at"]), received, args.verbose)
            await result.fetch_pauses(http, base)
        finally:
            await listeners.close()
    return result


async def run_kvorum(args: argparse.Namespace, url: str, data_dir: Path, seeded: Seeded) -> Result:
    result = Result("kvorum presence.arrived")
    flags = ["--database-url", url, "--data-dir", str(data_dir)]
    async with server_process("kvorum", *flags) as base, _session() as http:
        path = f"/meetings/{seeded.meeting_id}/ws"

        def headers(token: str) -> dict[str, str]:
            return {"Cookie": f"{COOKIE}={token}", "Origin": base}

        listeners = Listeners()
        after = await last_seq(url, seeded.meeting_id)
        started = time.perf_counter()
        await listeners.connect(
            http, f"{base}{path}?after={after}", [headers(t) for t in seeded.listeners]
        )
        print(
            f"  kvorum: {len(seeded.listeners)} clients connected in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        triggers = []
        try:
            for member, token in seeded.triggers:
                await _between_rounds(args.pause)
                after = await last_seq(url, seeded.meeting_id)
                triggers.append(
                    await http.ws_connect(f"{base}{path}?after={after}", headers=headers(token))
                )
                frame, received = await listeners.wait_for(member)
                async with http.get(f"{base}/_bench/committed?seq={frame['seq']}") as resp:
                    committed = float(await resp.text())
                result.add_round(member, committed, received, args.verbose)
                result.commit.append(committed - _instant(frame["at"]))
            await result.fetch_pauses(http, base)
        finally:
            await asyncio.gather(*(ws.close() for ws in triggers), return_exceptions=True)
            await listeners.close()
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def main(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4 * args.clients + 256  # client and server ends, both benchmarks, margin
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database_url, Path(tmp)) as url:
            backend = make_url(url).get_backend_name()
            started = time.perf_counter()
            seeded = await seed(url, args.clients, args.rounds)
            print(
                f"seeded {args.clients + args.rounds} members in "
                f"{time.perf_counter() - started:.1f} s ({backend})",
                flush=True,
            )
            # This process (the clients) collects between rounds only: its pauses are
            # not what is measured.
            gc.disable()
            try:
                bare = await run_bare(args)
                kvorum = await run_kvorum(args, url, Path(tmp) / "data", seeded)
            finally:
                gc.enable()

    print(
        f"\n{args.clients} clients x {args.rounds} rounds, {backend}, {os.cpu_count()} CPUs; "
        "latency per client from commit (bare: from the send loop's start)"
    )
    print(f"{'':26}{'p50':>10}{'p99':>11}{'max':>11}   ratio p50 / p99")
    for result in (bare, kvorum):
        print(
            f"{result.name:26}{_ms(result.p50)}{_ms(result.p99):>11}"
            f"{_ms(max(result.samples)):>11}   "
            f"{result.p50 / bare.p50:5.2f}x / {result.p99 / bare.p99:5.2f}x"
        )
    print(
        f"kvorum before that, from the event's stamp to the end of COMMIT: "
        f"p50 {_ms(statistics.median(kvorum.commit)).strip()}, "
        f"max {_ms(max(kvorum.commit)).strip()}"
    )
    for result in (bare, kvorum):
        full = [took for took, generation in result.pauses if generation == 2]
        longest = f", longest {_ms(max(full)).strip()}" if full else ""
        print(f"{result.name}: server full collections during rounds: {len(full)}{longest}")
    verdict = "met" if kvorum.p99 < TARGET_P99 else "NOT met"
    print(f"target: kvorum p99 < {TARGET_P99 * 1000:.0f} ms -> {verdict}")


def cli(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between rounds")
    parser.add_argument("--database-url", help="PostgreSQL server (default: SQLite in a temp dir)")
    parser.add_argument("--verbose", action="store_true", help="print each round")
    # Internal: run one of the servers in this process.
    parser.add_argument("--serve", choices=["kvorum", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve == "kvorum":
        serve_kvorum(args.port, args.database_url, args.data_dir)
    elif args.serve == "bare":
        serve_bare(args.port)
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
