"""A receipt is a promise: the server signs one only after the ballot's entry is
committed, so killing the server (SIGKILL, no chance to clean up) in the middle of a
burst of ballots loses no ballot that has a receipt.

The real server runs as a subprocess (``python -m server.cli serve``) on the test's
database and data directory (its registry key signed the voters' certificates).
Ballots are fired at it concurrently; once some receipts are back it is killed with
requests still in flight. After a restart on the same database every receipt's entry
is on the board with the receipt's hash, the chain is whole, and resending every
ballot (the same bytes, as a client retries after a lost answer) gives the ballots
that were committed but never acknowledged their first entry back and appends the
rest. The vote then closes and its bundle verifies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import BoardEntry
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from tests.ballots.board_load import check_chain, check_receipts, close_and_verify, open_load_vote

ROOT = Path(__file__).resolve().parents[2]
VOTERS = 300
ROUNDS = 3  # ballots per voter: the burst is 900 ballots
KILL_AFTER = 100  # receipts received before the kill
CONNECTIONS = 48
STARTUP_SECONDS = 120  # a shared, busy 2-core machine may take long to import and bind


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@contextlib.asynccontextmanager
async def running_server(data_dir: Path, db_url: str, log: Path) -> AsyncIterator[Any]:
    """``kvorum serve`` in a subprocess; yields (process, base URL) once it answers."""
    port = _free_port()
    # Only the settings given here: the test runner's own KVORUM_* must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVORUM_")}
    env.update(
        KVORUM_MIGRATE_ON_START="false",  # the fixtures migrated the database
        KVORUM_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--database-url",
            db_url,
            "--port",
            str(port),
            "--log-format",
            "text",
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
            while True:
                if process.returncode is not None:
                    raise AssertionError(
                        f"the server exited with {process.returncode}:\n{_tail(log)}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(base + "/healthz") as response:
                        if response.status == 200:
                            break
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"the server did not start:\n{_tail(log)}")
                await asyncio.sleep(0.1)
        yield process, base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


async def burst(
    base: str,
    vote_id: int,
    bodies: list[bytes],
    *,
    kill: Any = None,
    kill_after: int = 0,
) -> dict[int, dict[str, Any]]:
    """Send ``bodies`` over ``CONNECTIONS`` connections; body index → receipt. With
    ``kill``, SIGKILL that process as soon as ``kill_after`` receipts are back and
    stop at the first failed request of each connection."""
    receipts: dict[int, dict[str, Any]] = {}
    todo = iter(enumerate(bodies))
    url = f"{base}/api/v1/votes/{vote_id}/ballots"
    headers = {"Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=120)

    async def worker(http: aiohttp.ClientSession) -> None:
        for index, body in todo:
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    answer = await response.json()
                    assert response.status == 201, answer
            except (aiohttp.ClientError, OSError, TimeoutError):
                if kill is None:
                    raise
                return  # the server is gone: this ballot has no receipt
            receipts[index] = answer
            if kill is not None and len(receipts) >= kill_after and kill.returncode is None:
                kill.send_signal(signal.SIGKILL)

    connector = aiohttp.TCPConnector(limit=CONNECTIONS, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(worker(http) for _ in range(CONNECTIONS)))
    return receipts


async def test_receipts_survive_a_killed_server(
    db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    keyring = RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    load = await open_load_vote(db, keyring, VOTERS)
    bodies = [
        load.ballot_bytes(voter, [1 + (n + r) % 3])
        for r in range(ROUNDS)
        for n, voter in enumerate(load.voters)
    ]
    log = tmp_path / "server.log"

    async with running_server(tmp_path, db_url, log) as (process, base):
        before = await burst(base, load.vote_id, bodies, kill=process, kill_after=KILL_AFTER)
        assert await process.wait() == -signal.SIGKILL
    assert KILL_AFTER <= len(before) < len(bodies)

    # Every receipt issued before the kill is on the board, in one unbroken chain.
    db.expire_all()
    length = len(
        (await db.scalars(select(BoardEntry.seq).where(BoardEntry.vote_id == load.vote_id))).all()
    )
    entries = await check_chain(db, load, length)
    check_receipts(list(before.values()), entries, keyring)
    assert length >= len(before)
    await db.rollback()  # SQLite: the reader's BEGIN IMMEDIATE would hold off the server

    # Restarted on the same database: every ballot is sent again, as clients retry.
    async with running_server(tmp_path, db_url, log) as (_process, base):
        after = await burst(base, load.vote_id, bodies)
    assert len(after) == len(bodies)
    for index, receipt in before.items():
        # A ballot acknowledged before the kill keeps its entry and its receipt.
        assert (after[index]["seq"], after[index]["entry"]) == (receipt["seq"], receipt["entry"])
    # Ballots committed before the kill but never acknowledged were not appended twice.
    assert sorted(r["seq"] for r in after.values()) == list(range(1, len(bodies) + 1))

    entries = await check_chain(db, load, len(bodies))
    check_receipts(list(after.values()), entries, keyring)
    last = {e.member_id: json.loads(e.choice) for e in entries}  # in chain order
    await db.rollback()
    result = await close_and_verify(db, load, keyring)
    assert result["voters"] == VOTERS
    assert {row["member"]: row["choice"] for row in result["roll_call"]} == last
