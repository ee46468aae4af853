"""The board under concurrent load: ballots sent at the same moment by many voters (over
HTTP to the real application), by two independent boards on one vote (two processes'
worth of state: their own engines, queues and appenders), and a voter's own ballots
racing each other. Every time: one chain, positions 1..n without gaps or repeats,
each entry naming the one before, the head on the vote row, a bundle that verifies."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.board import Board
from crypto.ed25519 import SigningKey
from registry.actor import Actor
from registry.credentials import CredentialService
from registry.errors import DomainError
from registry.models import Account, IssuedCredential, Member
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server import database
from server.keys import KEYRING
from tests.ballots.board_load import (
    LoadVoter,
    check_chain,
    check_receipts,
    close_and_verify,
    open_load_vote,
)

SYSTEM = Actor.system("tests")


async def test_a_hundred_voters_at_once(client: Any, db: AsyncSession) -> None:
    keyring: RegistryKeyring = client.server.app[KEYRING]
    load = await open_load_vote(db, keyring, 100)
    url = f"/api/v1/votes/{load.vote_id}/ballots"
    bodies = [load.ballot(voter, [1 + n % 3]) for n, voter in enumerate(load.voters)]

    async def cast(body: dict[str, object]) -> dict[str, Any]:
        response = await client.post(url, json=body)
        assert response.status == 201, await response.text()
        return dict(await response.json())

    receipts = await asyncio.gather(*(cast(body) for body in bodies))

    assert sorted(r["seq"] for r in receipts) == list(range(1, 101))
    entries = await check_chain(db, load, 100)
    check_receipts(receipts, entries, keyring)
    assert {e.member_id for e in entries} == {v.member_id for v in load.voters}
    await db.rollback()  # SQLite: the reader's BEGIN IMMEDIATE would hold off the close

    result = await close_and_verify(db, load, keyring)
    assert result["voters"] == 100
    assert result["counts"] == [34, 33, 33]


async def test_two_boards_append_to_one_chain(
    db_url: str, db: AsyncSession, tmp_path: Path
) -> None:
    """Two boards with engines of their own (as two server processes have) take
    ballots of one vote at once: the row lock gives each entry one position."""
    keyring = RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    load = await open_load_vote(db, keyring, 120)
    engines = [database.create_engine(db_url) for _ in range(2)]
    try:
        boards = [Board(database.make_sessionmaker(e), keyring) for e in engines]
        casts = [
            boards[n % 2].cast(load.vote_id, load.ballot_bytes(voter, [1 + n % 2]))
            for n, voter in enumerate(load.voters)
        ]
        receipts = await asyncio.gather(*casts)
    finally:
        for engine in engines:
            await engine.dispose()

    assert sorted(r["seq"] for r in receipts) == list(range(1, 121))
    entries = await check_chain(db, load, 120)
    check_receipts(receipts, entries, keyring)
    await db.rollback()
    await close_and_verify(db, load, keyring)


async def test_resent_ballots_keep_their_entry(
    db_url: str, db: AsyncSession, tmp_path: Path
) -> None:
    """A ballot sent again — to the same board or another, at the same moment or after
    it was appended — is one entry, and every answer is that entry's receipt."""
    keyring = RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    load = await open_load_vote(db, keyring, 40)
    first = [load.ballot_bytes(voter) for voter in load.voters[:20]]
    engines = [database.create_engine(db_url) for _ in range(2)]
    try:
        boards = [Board(database.make_sessionmaker(e), keyring) for e in engines]
        # Each ballot twice at once, through both boards.
        doubled = await asyncio.gather(
            *(board.cast(load.vote_id, body) for body in first for board in boards)
        )
        # Again after they are on the board, mixed with new ones.
        second = [load.ballot_bytes(voter) for voter in load.voters[20:]]
        mixed = await asyncio.gather(
            *(
                boards[n % 2].cast(load.vote_id, body)
                for n, body in enumerate(
                    b for pair in zip(first, second, strict=True) for b in pair
                )
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()

    for n in range(20):
        same = {(r["seq"], r["entry"]) for r in (doubled[2 * n], doubled[2 * n + 1], mixed[2 * n])}
        assert len(same) == 1, same
    entries = await check_chain(db, load, 40)
    check_receipts([*doubled, *mixed], entries, keyring, distinct=False)
    await db.rollback()
    await close_and_verify(db, load, keyring)


async def test_racing_revotes_the_last_entry_counts(client: Any, db: AsyncSession) -> None:
    """One voter's ballots sent at once land in some order; whatever the order, the
    one last in the chain is the one counted, and every one has a receipt."""
    keyring: RegistryKeyring = client.server.app[KEYRING]
    load = await open_load_vote(db, keyring, 10)
    url = f"/api/v1/votes/{load.vote_id}/ballots"
    racer, others = load.voters[0], load.voters[1:]
    bodies = [load.ballot(racer, [1 + n % 3]) for n in range(15)]
    bodies += [load.ballot(voter, [1]) for voter in others]
    bodies += [load.ballot(racer, [1 + n % 3]) for n in range(15)]

    async def cast(body: dict[str, object]) -> dict[str, Any]:
        response = await client.post(url, json=body)
        assert response.status == 201, await response.text()
        return dict(await response.json())

    receipts = await asyncio.gather(*(cast(body) for body in bodies))

    length = len(bodies)
    entries = await check_chain(db, load, length)
    check_receipts(receipts, entries, keyring)
    mine = [e for e in entries if e.member_id == racer.member_id]
    assert len(mine) == 30
    last_choice = json.loads(mine[-1].choice)
    assert json.loads(mine[-1].entry)["ballot"]["payload"]["choice"] == last_choice
    await db.rollback()

    result = await close_and_verify(db, load, keyring)
    counted = {row["member"]: row["choice"] for row in result["roll_call"]}
    assert counted[racer.member_id] == last_choice
    assert result["voters"] == 10
    expected = [9, 0, 0]
    expected[last_choice[0] - 1] += 1
    assert result["counts"] == expected


async def test_an_unknown_serial_is_not_remembered(
    db_url: str, db: AsyncSession, tmp_path: Path
) -> None:
    """A ballot naming a serial no certificate has yet is refused, and a key certified
    later under that serial (serials come in sequence) still votes."""
    keyring = RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    load = await open_load_vote(db, keyring, 3)
    last = int(await db.scalar(select(func.max(IssuedCredential.serial))) or 0)
    await db.rollback()
    voter, late = load.voters[0], load.voters[1]
    engine = database.create_engine(db_url)
    try:
        board = Board(database.make_sessionmaker(engine), keyring)
        for probe in range(last + 1, last + 4):
            forged = LoadVoter(voter.member_id, probe, voter.key)
            with pytest.raises(DomainError) as refused:
                await board.cast(load.vote_id, load.ballot_bytes(forged))
            assert refused.value.code == "unknown_key"

        # The late voter certifies a second key (an absentee vote takes late keys).
        member = await db.get(Member, late.member_id)
        account = await db.scalar(select(Account.id).where(Account.member_id == late.member_id))
        assert member is not None
        assert account is not None
        key = SigningKey.generate()
        device, _ = await CredentialService(db, SYSTEM, keyring).enrol_key(
            member, account, key.public_key, label="second", valid_days=30
        )
        await db.commit()
        assert last < device.serial <= last + 3  # one of the serials asked about

        answer = await board.cast(
            load.vote_id, load.ballot_bytes(LoadVoter(late.member_id, device.serial, key))
        )
        assert answer["seq"] == 1
    finally:
        await engine.dispose()
