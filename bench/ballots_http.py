"""Benchmark: signed ballots accepted per second, end to end over HTTP, durably.

The real server (``python -m server.cli serve``, production settings: SQLite in WAL
with ``synchronous=FULL`` or PostgreSQL with ``synchronous_commit=on``, JSON request
log at INFO, aiohttp's access log off) runs in a process of its own on 127.0.0.1;
this process is the load generator. One open absentee vote has ``--voters`` voters,
each with a certified key; ``--ballots`` ballots are signed beforehand (signing is
the voter's cost, not the server's), round-robin over the voters, so each voter
votes ``ballots / voters`` times. They are sent over ``--connections`` keep-alive
connections at once, each connection sending its next ballot when the receipt for
the last one is back. A ballot counts as accepted when its ``201`` with the signed
receipt arrived — which the server sends only after the entry is committed.

The load generator writes prepared HTTP/1.1 requests on asyncio streams and reads
the answers with a minimal parser (no HTTP client library): on a 2-core machine it
must leave the server a core of its own. Its CPU time and the server's are printed.

Measured in the same run for the ratios:

* ``verify``: the bare PyNaCl rate, ``nacl.bindings.crypto_sign_open`` over the
  same ballots' canonical payloads, one core, no server;
* ``bare HTTP``: a minimal aiohttp server (same load generator, same bodies) that
  parses the JSON body, re-serialises the payload canonically (sorted compact
  ``json.dumps``, exact for a ballot), verifies the signature with PyNaCl and answers
  ``201`` with a small JSON — the floor of a Python server making the check, with
  no board, no database and no receipt.

Backends: SQLite always (a file in a temp dir); PostgreSQL when ``--database-url`` or
``KVORUM_TEST_PG_URL`` names a server: a scratch database ``kvorum_bench_ballots``
is created there and dropped at the end. Usage::

    .venv/bin/python bench/ballots_http.py [--ballots 30000] [--voters 30000]
        [--connections 64] [--database-url postgresql://postgres@127.0.0.1:5432/test]
        [--sqlite-only] [--profile DIR]

By default every ballot is its voter's first, the server's costliest case: the
key's certificate is read from the database (in the appending transaction) and
parsed. ``--profile DIR`` runs the Kvorum server under cProfile (slower: the figures
are then not the benchmark's) and prints where its main thread spent the time; a
sampling profiler attached to the server's pid (py-spy) disturbs it less.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import pstats
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import nacl.bindings
from sqlalchemy import select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ballots.models  # noqa: F401  (tables for the metadata)
import meetings.models
import meetings.votes  # noqa: F401
import registry.models  # noqa: F401
from ballots.models import Vote
from crypto.envelope import SignedDocument
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server import database
from tests.ballots.board_load import LoadVote, open_load_vote

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_DB = "kvorum_bench_ballots"
TARGET = 2000.0  # accepted ballots per second
WARMUP = 500  # ballots sent (and not timed) before the measured run


@dataclasses.dataclass
class Prepared:
    vote_id: int
    bodies: list[bytes]
    signed: list[tuple[bytes, bytes]]  # (signature + canonical payload, public key)


@dataclasses.dataclass
class Run:
    name: str
    count: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    client_cpu: float
    errors: list[str]
    sent: int = 0
    warmup: Run | None = None  # the untimed ballots sent first, with their answers

    @property
    def rate(self) -> float:
        return self.count / self.seconds


# --- the data -------------------------------------------------------------------------------


async def prepare(url: str, data_dir: Path, voters: int, ballots: int) -> Prepared:
    await asyncio.to_thread(database.upgrade, url)
    keyring = RegistryKeyring.open(data_dir / "keys", now=utcnow())
    engine = database.create_engine(url)
    try:
        async with database.make_sessionmaker(engine)() as db:
            load = await open_load_vote(db, keyring, voters)
    finally:
        await engine.dispose()
    return sign_ballots(load, ballots)


def sign_ballots(load: LoadVote, count: int) -> Prepared:
    bodies: list[bytes] = []
    signed: list[tuple[bytes, bytes]] = []
    voters = load.voters
    for n in range(count):
        voter = voters[n % len(voters)]
        envelope = load.ballot(voter, [1 + (n // len(voters) + n) % 3])
        document = SignedDocument.parse(envelope)
        bodies.append(json.dumps(envelope).encode())
        signed.append((document.signature + document.canonical, voter.key.public_key.raw))
    return Prepared(load.vote_id, bodies, signed)


async def board_length(url: str, vote_id: int) -> int:
    engine = database.create_engine(url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            return int(await db.scalar(select(Vote.board_length).where(Vote.id == vote_id)))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def scratch_database(url: str) -> AsyncIterator[str]:
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


# --- the verification floor -----------------------------------------------------------------


def verify_rate(signed: Sequence[tuple[bytes, bytes]]) -> float:
    open_ = nacl.bindings.crypto_sign_open
    started = time.perf_counter()
    for message, key in signed:
        open_(message, key)
    return len(signed) / (time.perf_counter() - started)


# --- the servers ----------------------------------------------------------------------------


def serve_bare(port: int) -> None:
    """aiohttp, the JSON body parsed, the signature verified, a small JSON answer."""
    from aiohttp import web

    from crypto.encoding import b64u_decode

    async def cast(request: web.Request) -> web.Response:
        envelope = json.loads(await request.read())
        payload = envelope["payload"]
        signature = b64u_decode(envelope["signature"], length=64)
        key = bytes.fromhex(request.headers["X-Key"])
        # A ballot's payload holds integers and ASCII strings only: sorted compact JSON
        # is its canonical form (RFC 8785) without the general encoder.
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        nacl.bindings.crypto_sign_open(signature + canonical, key)
        return web.json_response({"seq": 0, "signer": envelope["signer"]}, status=201)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/api/v1/votes/{vote_id}/ballots", cast)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def server_process(
    command: list[str], env: dict[str, str], log: Path
) -> AsyncIterator[tuple[int, int]]:
    port = free_port()
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            *command,
            "--port",
            str(port),
            cwd=ROOT,
            env=os.environ | env,
            stdout=sink,
            stderr=sink,
        )
    try:
        for _ in range(1200):
            if process.returncode is not None:
                raise RuntimeError(f"server exited with {process.returncode}; see {log}")
            with contextlib.suppress(OSError):
                status, _body = await one_request(
                    port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                )
                if status == 200:
                    break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"server did not start; see {log}")
        yield port, process.pid
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 120)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- the load generator ---------------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def one_request(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await read_response(reader)
    finally:
        writer.close()


def requests(prepared: Prepared, port: int, indices: range, bare: bool) -> Iterator[bytes]:
    path = f"/api/v1/votes/{prepared.vote_id}/ballots"
    for n in indices:
        body = prepared.bodies[n]
        extra = f"X-Key: {prepared.signed[n][1].hex()}\r\n" if bare else ""
        yield (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        ).encode() + body


async def load(port: int, pid: int, name: str, items: list[bytes], connections: int) -> Run:
    """Send every request over ``connections`` keep-alive connections at once."""
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    todo = iter(items)
    latencies: list[float] = []
    errors: list[str] = []
    accepted = 0

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        for request in todo:
            sent = time.perf_counter()
            writer.write(request)
            status, body = await read_response(reader)
            latencies.append(time.perf_counter() - sent)
            if status == 201:
                accepted += 1
            elif len(errors) < 5:
                errors.append(f"{status} {body[:300]!r}")

    server_before = cpu_seconds(pid)
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in streams))
    seconds = time.perf_counter() - started
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = cpu_seconds(pid) - server_before
    for _reader, writer in streams:
        writer.close()
    client_cpu = (client_after.ru_utime - client_before.ru_utime) + (
        client_after.ru_stime - client_before.ru_stime
    )
    return Run(name, accepted, seconds, latencies, server_cpu, client_cpu, errors, len(items))


async def run_server(
    name: str,
    command: list[str],
    env: dict[str, str],
    log: Path,
    prepared: Prepared,
    connections: int,
    bare: bool,
) -> Run:
    async with server_process(command, env, log) as (port, pid):
        total = len(prepared.bodies)
        warmup = list(requests(prepared, port, range(min(WARMUP, total // 10)), bare))
        first = await load(port, pid, "warm-up", warmup, connections)
        measured = list(requests(prepared, port, range(len(warmup), total), bare))
        run = await load(port, pid, name, measured, connections)
        run.warmup = first
        return run


# --- the benchmark --------------------------------------------------------------------------


def kvorum_command(url: str, data_dir: Path, profile: Path | None) -> list[str]:
    python = [sys.executable]
    if profile is not None:
        python += ["-m", "cProfile", "-o", str(profile)]
    return [
        *python,
        "-m",
        "server.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--database-url",
        url,
    ]


async def bench_backend(
    args: argparse.Namespace, url: str, tmp: Path, backend: str
) -> tuple[Run, Prepared]:
    data_dir = tmp / f"data-{backend}"
    started = time.perf_counter()
    prepared = await prepare(url, data_dir, args.voters, args.ballots)
    print(
        f"{backend}: seeded {args.voters} voters and signed {args.ballots} ballots in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    profile = Path(args.profile) / f"kvorum-{backend}.prof" if args.profile else None
    env = {
        "KVORUM_MIGRATE_ON_START": "false",
        "PYTHONPATH": str(ROOT),
    }
    run = await run_server(
        f"kvorum, {backend}",
        kvorum_command(url, data_dir, profile),
        env,
        tmp / f"server-{backend}.log",
        prepared,
        args.connections,
        bare=False,
    )
    failed = run.sent - run.count + (run.warmup.sent - run.warmup.count if run.warmup else 0)
    if failed:
        print(f"{backend}: {failed} ballots failed; the server logged:")
        for line in server_errors(tmp / f"server-{backend}.log"):
            print(f"  {line}")
    on_board = await board_length(url, prepared.vote_id)
    expected = (run.warmup.count if run.warmup else 0) + run.count
    if on_board != expected:
        raise RuntimeError(f"{backend}: {on_board} entries on the board, {expected} receipts")
    if profile is not None:
        print(f"\n--- cProfile of the server ({backend}), main thread, by own time ---")
        stats = pstats.Stats(str(profile))
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(45)
    return run, prepared


def server_errors(log: Path, limit: int = 5) -> list[str]:
    """The distinct errors in the server's JSON log (message and exception's last line)."""
    seen: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("level") in {"error", "critical"}:
                last = str(record.get("exc", "")).strip().splitlines()[-1:]
                text = f"{record.get('msg')} | {last[0] if last else ''}"[:300]
                seen[text] = seen.get(text, 0) + 1
    return [f"{count}x {text}" for text, count in list(seen.items())[:limit]]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms"


def report(runs: list[Run], verify: float, backends: list[str], args: argparse.Namespace) -> None:
    print(
        f"\n{args.ballots} ballots from {args.voters} voters ({WARMUP} warm-up not timed), "
        f"{args.connections} connections, {os.cpu_count()} CPUs; backends: {', '.join(backends)}"
    )
    print(f"bare PyNaCl verify (crypto_sign_open, one core): {verify:9.0f} /s   1.00x")
    header = f"{'':24}{'accepted/s':>11}{'of verify':>10}{'p50':>11}{'p99':>11}"
    print(header + f"{'server CPU':>12}{'client CPU':>12}")
    for run in runs:
        cuts = statistics.quantiles(run.latencies, n=100)
        print(
            f"{run.name:24}{run.rate:11.0f}{run.rate / verify:9.3f}x"
            f"{_ms(cuts[49]):>11}{_ms(cuts[98]):>11}"
            f"{run.server_cpu / run.seconds:11.0%}{run.client_cpu / run.seconds:12.0%}"
        )
        if run.warmup is not None:
            warm = run.warmup
            print(
                f"  warm-up (first ballots, untimed): {warm.count} of {warm.sent} accepted "
                f"in {warm.seconds:.1f} s"
            )
            for error in warm.errors:
                print(f"  warm-up error: {error}")
        if run.count < run.sent:
            print(f"  {run.sent - run.count} of {run.sent} timed ballots refused or failed")
        for error in run.errors:
            print(f"  error: {error}")
    for run in runs:
        if run.name.startswith("kvorum"):
            verdict = "met" if run.rate >= TARGET else "NOT met"
            print(f"target: {run.name} >= {TARGET:.0f} accepted ballots/s -> {verdict}")


async def main(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * args.connections + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4 * args.connections + 256, hard), hard))
    pg_url = "" if args.sqlite_only else (args.database_url or os.environ.get("KVORUM_TEST_PG_URL"))
    runs: list[Run] = []
    backends = ["SQLite (WAL, synchronous=FULL)"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sqlite_url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        run, prepared = await bench_backend(args, sqlite_url, tmp, "sqlite")
        runs.append(run)
        if pg_url:
            backends.append("PostgreSQL (synchronous_commit=on)")
            async with scratch_database(pg_url) as url:
                runs.append((await bench_backend(args, url, tmp, "postgresql"))[0])
        verify = verify_rate(prepared.signed)
        bare = await run_server(
            "bare HTTP + verify",
            [sys.executable, __file__, "--serve-bare"],
            {},
            tmp / "server-bare.log",
            prepared,
            args.connections,
            bare=True,
        )
        runs.append(bare)
    report(runs, verify, backends, args)


def cli(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=30_000)
    parser.add_argument("--voters", type=int, default=30_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--database-url", help="PostgreSQL server (default: KVORUM_TEST_PG_URL)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", help="directory: run the Kvorum server under cProfile")
    # Internal: run the bare server in this process.
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.port)
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
