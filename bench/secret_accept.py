"""Benchmark: encrypted secret ballots accepted per second, end to end over HTTP,
durably, beside the open ballots' figure of the same run.

The real server (``python -m server.cli serve``, production settings) runs in a process
of its own; this process is the load generator (``bench/ballots_http.py``'s: prepared
HTTP/1.1 requests on asyncio streams). One union of ``--voters`` members with
certified keys; on it

* an open absentee vote (``tests/ballots/board_load.py``) for the open figure, and
* an absentee election of a body made of the same members: 3 candidates, one of them
  to be chosen (``one_of``), a counting commission of 5 (t = 3) whose key generation
  runs here through the services as the members' browsers drive it (transport keys,
  dealings, the key), then opened.

``--ballots`` ballots of each kind are made beforehand (encrypting and proving is the
voter's browser's cost, not the server's), each voter's first, and sent over
``--connections`` keep-alive connections; the first tenth of each kind is sent
untimed (over 8 connections). A ballot counts as accepted when its ``201``
with the signed receipt arrived, which the server sends only after the entry is
committed and after the ballot's proofs were checked (``BoardReplay`` accepting it).
At the end the board's length is compared with the receipts. Usage::

    .venv/bin/python bench/secret_accept.py [--ballots 3000] [--voters 3000]
        [--connections 32] [--database-url postgresql://…] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ballots.models import Vote
from ballots.secretboard import SecretBoard
from ballots.secretformats import fingerprint
from ballots.secretmodels import SecretVote
from bench.ballots_http import (
    Run,
    kvorum_command,
    load,
    server_process,
)
from crypto.dkg import DkgParameters, deal
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import sign_document
from crypto.group import parse_point
from crypto.secretballot import BallotForm, SecretElection, encrypt_ballot
from meetings.elections.models import Election, ElectionState
from meetings.elections.schemas import AbsenteeElectionIn, CandidateIn, CommissionIn
from meetings.elections.secretvote import SecretVoteService
from meetings.elections.services import ElectionService
from registry.actor import Actor
from registry.models import Body, BodyKind, Seat
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server import database
from tests.ballots.board_load import LoadVote, open_load_vote

SECRET_TARGET = 300.0  # accepted encrypted ballots per second
SYSTEM = Actor.system("secret bench")


async def prepare(url: str, data_dir: Path, voters: int) -> tuple[LoadVote, int]:
    """The union, its open vote, and the election opened after key generation."""
    await asyncio.to_thread(database.upgrade, url)
    keyring = RegistryKeyring.open(data_dir / "keys", now=utcnow())
    engine = database.create_engine(url)
    maker = database.make_sessionmaker(engine)
    try:
        async with maker() as db:
            vote = await open_load_vote(db, keyring, voters)
            org = await db.scalar(select(Vote.organisation_id).where(Vote.id == vote.vote_id))
            body = Body(organisation_id=org, kind=BodyKind.COUNCIL, name="Совет (нагрузка)")
            db.add(body)
            await db.flush()
            start = utcnow().date() - dt.timedelta(days=1)
            await db.execute(
                insert(Seat),
                [
                    {"body_id": body.id, "member_id": v.member_id, "term_start": start}
                    for v in vote.voters
                ],
            )
            service = ElectionService(db, SYSTEM, keyring)
            election = await service.create_absentee(
                AbsenteeElectionIn(
                    body_id=body.id,
                    office="председатель совета",
                    seats=1,
                    form="one_of",
                    closes_at=utcnow() + dt.timedelta(hours=6),
                )
            )
            for name in ("Иванова Анна Петровна", "Петров Сергей Иванович", "Сидорова Елена"):
                await service.nominate(
                    election.id,
                    CandidateIn(name=name, nominated_by="самовыдвижение", consent=True),
                )
            await service.transition(election.id, ElectionState.CANDIDATES_CLOSED)
            commission = vote.voters[:5]
            await service.appoint_commission(
                election.id, CommissionIn(member_ids=[v.member_id for v in commission])
            )
            election_id = election.id
            await db.commit()
        board = SecretBoard(maker, keyring)
        await keygen(maker, keyring, board, election_id, vote)
    finally:
        await engine.dispose()
    return vote, election_id


async def keygen(
    maker: object, keyring: RegistryKeyring, board: SecretBoard, election_id: int, vote: LoadVote
) -> None:
    commission = vote.voters[:5]

    def service(db: object) -> SecretVoteService:
        return SecretVoteService(db, SYSTEM, keyring, board)  # type: ignore[arg-type]

    async with maker() as db, db.begin():  # type: ignore[operator]
        state = await service(db).state(election_id)
    context, vote_id = state["context"], state["vote"]
    params = DkgParameters(b64u_decode(context, length=32), 5, 3)
    for index, member in enumerate(commission, 1):
        document = sign_document(
            {
                "type": "kvorum.secret-transport-key",
                "v": 1,
                "vote": vote_id,
                "serial": member.serial,
                "context": context,
                "index": index,
                "key": b64u_encode(secrets.token_bytes(32)),
            },
            member.key,
        ).to_json()
        async with maker() as db, db.begin():  # type: ignore[operator]
            await service(db).publish_transport_key(election_id, document)
    for index, member in enumerate(commission, 1):
        commitment, _shares = deal(params, index, _draw)
        common = {"v": 1, "vote": vote_id, "serial": member.serial, "context": context}
        dealer = sign_document(
            {"type": "kvorum.secret-dealer", **common, "commitment": commitment.to_json()},
            member.key,
        ).to_json()
        shares = [
            sign_document(
                {
                    "type": "kvorum.secret-share",
                    **common,
                    "dealer": index,
                    "recipient": other,
                    "envelope": {"opaque": b64u_encode(secrets.token_bytes(48))},
                },
                member.key,
            ).to_json()
            for other in range(1, 6)
            if other != index
        ]
        async with maker() as db, db.begin():  # type: ignore[operator]
            _vote_id, store = await service(db).prepare_deal(election_id, dealer, shares)
        from ballots.secretmodels import SecretPhase

        await board.append(vote_id, "dealer", dealer, phases=(SecretPhase.KEYGEN,), hook=store)
    async with maker() as db, db.begin():  # type: ignore[operator]
        await service(db).finish_key(election_id)
    await asyncio.sleep(1.1)  # the opening is a second after key generation's last entry
    async with maker() as db, db.begin():  # type: ignore[operator]
        await service(db).open(election_id)


def _draw() -> int:
    from crypto.group import L

    return int.from_bytes(secrets.token_bytes(64), "little") % (L - 1) + 1


async def secret_ballots(url: str, election_id: int, vote: LoadVote, count: int) -> list[bytes]:
    engine = database.create_engine(url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            vote_id = await db.scalar(select(Election.vote_id).where(Election.id == election_id))
            row = await db.get(SecretVote, vote_id)
            assert row is not None
            assert row.definition
            definition = json.loads(row.definition)["payload"]
    finally:
        await engine.dispose()
    print_ = fingerprint(definition)
    election = SecretElection(
        bytes.fromhex(print_.removeprefix("sha256:")),
        parse_point(definition["key"], what="key", allow_identity=False),
        BallotForm(3, 1, 1),
    )
    bodies = []
    for n in range(count):
        voter = vote.voters[n % len(vote.voters)]
        marks = [0, 0, 0]
        marks[n % 3] = 1
        ballot, _opening = encrypt_ballot(election, bytes(voter.key.public_key), marks)
        envelope = sign_document(
            {
                "type": "kvorum.secret-ballot",
                "v": 1,
                "vote": definition["vote"],
                "serial": voter.serial,
                "definition": print_,
                "nonce": b64u_encode(secrets.token_bytes(18)),
                "ballot": ballot.to_json(),
            },
            voter.key,
        ).to_json()
        bodies.append(json.dumps(envelope).encode())
    return bodies


def open_ballots(vote: LoadVote, count: int) -> list[bytes]:
    return [
        json.dumps(vote.ballot(vote.voters[n % len(vote.voters)], [1 + n % 3])).encode()
        for n in range(count)
    ]


def http(port: int, path: str, bodies: Sequence[bytes]) -> list[bytes]:
    return [
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]


async def board_lengths(url: str, vote: LoadVote, election_id: int) -> tuple[int, int]:
    engine = database.create_engine(url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            open_length = await db.scalar(select(Vote.board_length).where(Vote.id == vote.vote_id))
            secret = await db.scalar(
                select(SecretVote.length)
                .join(Election, Election.vote_id == SecretVote.id)
                .where(Election.id == election_id)
            )
    finally:
        await engine.dispose()
    return int(open_length or 0), int(secret or 0)


async def bench_backend(args: argparse.Namespace, url: str, tmp: Path, backend: str) -> list[Run]:
    data_dir = tmp / f"data-{backend}"
    started = time.perf_counter()
    vote, election_id = await prepare(url, data_dir, args.voters)
    secret = await secret_ballots(url, election_id, vote, args.ballots)
    plain = open_ballots(vote, args.ballots)
    print(
        f"{backend}: seeded {args.voters} voters, key generation done, {args.ballots} "
        f"encrypted and {args.ballots} open ballots made in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    env = {"KVORUM_MIGRATE_ON_START": "false", "PYTHONPATH": str(Path(__file__).parent.parent)}
    runs = []
    async with server_process(
        kvorum_command(
            url, data_dir, Path(args.profile) / f"{backend}.prof" if args.profile else None
        ),
        env,
        tmp / f"server-{backend}.log",
    ) as (port, pid):
        # The first tenth of each kind untimed (the proof checkers start, the board's
        # replay and the certificates are read); every ballot is still counted below.
        warm = max(1, len(secret) // 10)
        for kind, path, bodies in (
            ("secret", f"/api/v1/elections/{election_id}/secret/ballots", secret),
            ("open", f"/api/v1/votes/{vote.vote_id}/ballots", plain),
        ):
            first = await load(port, pid, "warm-up", http(port, path, bodies[:warm]), 8)
            run = await load(
                port, pid, f"{kind}, {backend}", http(port, path, bodies[warm:]), args.connections
            )
            run.warmup = first
            runs.append(run)
    open_length, secret_length = await board_lengths(url, vote, election_id)
    # Five dealer entries precede the ballots on the secret board.
    receipts = [r.count + (r.warmup.count if r.warmup else 0) for r in runs]
    if [secret_length - 5, open_length] != receipts:
        raise RuntimeError(
            f"{backend}: boards hold {secret_length - 5} secret and {open_length} open "
            f"ballots; receipts: {receipts}"
        )
    return runs


def report(runs: list[Run]) -> None:
    print(f"\n{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    print(f"{'run':<22}{'accepted/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'server cpu s':>14}")
    for run in runs:
        latencies = sorted(run.latencies)
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
        p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0
        print(f"{run.name:<22}{run.rate:>12.0f}{p50:>10.1f}{p99:>10.1f}{run.server_cpu:>14.1f}")
        for error in run.errors:
            print(f"   error: {error}")
    secret = [r for r in runs if r.name.startswith("secret")]
    if secret:
        verdict = "meets" if min(r.rate for r in secret) >= SECRET_TARGET else "misses"
        print(f"secret ballots {verdict} the target of {SECRET_TARGET:.0f}/s")


async def main(args: argparse.Namespace) -> None:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="kvorum-secret-bench-") as name:
        tmp = Path(name)
        runs += await bench_backend(args, f"sqlite+aiosqlite:///{tmp / 'bench.db'}", tmp, "sqlite")
        pg = args.database_url or os.environ.get("KVORUM_TEST_PG_URL")
        if pg and not args.sqlite_only:
            # The given database itself (migrated here; the run adds a union to it).
            runs += await bench_backend(args, pg, tmp, "postgresql")
    report(runs)


def cli(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=3000)
    parser.add_argument("--voters", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url", help="PostgreSQL server (default: KVORUM_TEST_PG_URL)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", help="directory: run the server under cProfile")
    asyncio.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    cli()
