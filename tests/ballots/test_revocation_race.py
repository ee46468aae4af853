"""Ballots and key revocations interleaved in the same second: whatever the server
decided for each ballot, the bundle it issues shows the one order of board and
revocations (version 2 checkpoint) and passes the offline audit with that decision."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ballots.auditcli import main as audit
from ballots.verify import verify_bundle
from crypto.canonical import parse_json
from registry.actor import Actor
from registry.credentials import CredentialService
from server.keys import KEYRING, SESSIONMAKER
from server.views.votes_api import close_due_votes
from tests.ballots.test_between_meetings import _people
from tests.ballots.votes_setup import Voter, ballot

VOTERS = 8
RACING = 6  # the voters whose revote races their key's revocation


async def test_revocations_racing_ballots_pass_the_audit(
    client: Any, db: AsyncSession, tmp_path: Path, capsys: Any
) -> None:
    (_root, presidium), voters, (registrar, _auditor), _accounts = await _people(db, client, VOTERS)
    await db.rollback()
    app = client.server.app
    closes = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    response = await registrar.post(
        "/api/v1/votes/absentee",
        json={
            "body_id": presidium.id,
            "title": "О смете",
            "question": "Утвердить смету",
            "closes_at": closes.isoformat(),
            "base": "cast",
        },
    )
    assert response.status == 201, await response.text()
    vote = await response.json()
    url = f"/api/v1/votes/{vote['vote']}/ballots"

    async def cast(voter: Voter, choice: list[int]) -> int:
        answer = await client.post(url, json=ballot(voter, vote, choice))
        if answer.status != 201:
            assert (await answer.json())["error"] == "revoked", await answer.text()
        return answer.status

    # Revocations race the ballots and each other (each publishes a numbered list).
    async def revoke(voter: Voter) -> None:
        async with app[SESSIONMAKER]() as session, session.begin():
            await CredentialService(session, Actor.system(), app[KEYRING]).revoke(
                voter.serial, "key compromised"
            )

    # Everyone votes «за»; then each racing voter revotes «против» while their key is
    # revoked, all at once, ballots and revocations alternating in one burst.
    assert await asyncio.gather(*(cast(v, [1]) for v in voters)) == [201] * VOTERS
    racing = voters[:RACING]
    tasks: list[Any] = []
    for voter in racing:
        tasks += [cast(voter, [2]), revoke(voter)]
    outcome = await asyncio.gather(*tasks)
    revotes = dict(zip((v.serial for v in racing), outcome[0::2], strict=True))
    # Once revoked, always refused.
    assert await asyncio.gather(*(cast(v, [3]) for v in racing)) == [403] * RACING

    deadline = dt.datetime.fromisoformat(vote["closes_at"].replace("Z", "+00:00"))
    await asyncio.sleep(max(0.0, (deadline - dt.datetime.now(dt.UTC)).total_seconds()) + 0.3)
    await close_due_votes(app)
    closed = await (await registrar.get(f"/api/v1/votes/{vote['vote']}")).json()
    assert closed["state"] == "closed"
    against = sum(1 for status in revotes.values() if status == 201)
    assert closed["result"]["counts"] == [VOTERS - against, against, 0]

    data = await (await registrar.get(f"/api/v1/votes/{vote['vote']}/bundle")).read()
    bundle: Any = parse_json(data)
    assert bundle["v"] == 2
    checkpoint = bundle["votes"][0]["checkpoint"]["payload"]
    places = {item["serial"]: item["after"] for item in checkpoint["revoked"]}
    assert sorted(places) == sorted(revotes)
    for serial, status in revotes.items():
        # A revote the server took lies at or before its key's revocation on the board.
        entries = bundle["votes"][0]["entries"]
        seqs = [e["seq"] for e in entries if e["ballot"]["payload"]["serial"] == serial]
        assert (max(seqs) <= places[serial]) is True
        assert len(seqs) == (2 if status == 201 else 1)

    report = verify_bundle(data, jobs=1)
    assert report.ok, report.text()
    assert report.votes[0].counts == tuple(closed["result"]["counts"])
    assert report.votes[0].adopted == closed["result"]["adopted"]
    path = tmp_path / "bundle.json"
    path.write_bytes(data)
    assert audit(["verify", str(path)]) == 0, capsys.readouterr().out
