"""A vote in a meeting over HTTP: opened by the chair with quorum, ballots signed by the
members' own keys, refusals with their reasons, the close, the result and the bundle
that the offline verifier passes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import BoardEntry
from ballots.verify import verify_bundle
from crypto.envelope import SignedDocument
from server.keys import KEYRING
from tests.ballots.votes_setup import VotingMeeting, ballot, voting_meeting


async def _open(vm: VotingMeeting, **rule: Any) -> dict[str, Any]:
    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes", json={"question": "Утвердить план"} | rule
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _cast(client: Any, vote: dict[str, Any], body: Any) -> Any:
    return await client.post(f"/api/v1/votes/{vote['vote']}/ballots", json=body)


async def test_meeting_vote_end_to_end(client: Any, db: AsyncSession) -> None:
    vm = await voting_meeting(db, client)
    vote = await _open(vm)
    assert vote["state"] == "open"
    assert sorted(vote["roll"]) == sorted(v.member.id for v in vm.voters)

    receipts = []
    for voter, choice in zip(vm.voters, ([1], [1], [2], [3]), strict=True):
        response = await _cast(client, vote, ballot(voter, vote, choice))
        assert response.status == 201, await response.text()
        receipts.append(await response.json())
    keys = client.server.app[KEYRING].public_keys()
    for seq, answer in enumerate(receipts, 1):
        receipt = SignedDocument.parse(answer["receipt"])
        receipt.verify(keys, expect_type="kvorum.receipt", expect_version=1)
        assert receipt.payload["seq"] == seq

    # A change of mind: the last ballot counts, both stay on the board.
    response = await _cast(client, vote, ballot(vm.voters[3], vote, [1]))
    assert response.status == 201

    mine = await vm.chair.get(f"/api/v1/votes/{vote['vote']}")
    assert (await mine.json())["mine"]["choice"] == [1]

    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes/{vote['vote']}/close"
    )
    assert response.status == 200, await response.text()
    closed = await response.json()
    assert closed["result"]["counts"] == [3, 1, 0]
    assert closed["result"]["adopted"] is True
    assert [row["choice"] for row in closed["result"]["roll_call"]] == [[1], [1], [2], [1]]

    response = await vm.chair.get(f"/api/v1/votes/{vote['vote']}/bundle")
    assert response.status == 200
    data = await response.read()
    report = verify_bundle(data, jobs=1)
    assert report.ok, report.text()
    assert report.votes[0].entries == 5

    late = await _cast(client, vote, ballot(vm.voters[0], vote, [2]))
    assert late.status == 409
    assert (await late.json())["error"] == "closed"


async def test_refusals_name_the_reason(client: Any, db: AsyncSession) -> None:
    vm = await voting_meeting(db, client)
    vote = await _open(vm)
    voter = vm.voters[1]

    async def refused(body: Any, status: int, code: str) -> None:
        response = await _cast(client, vote, body)
        answer = await response.json()
        assert (response.status, answer["error"]) == (status, code), answer

    good = ballot(voter, vote, [1])
    forged = json.loads(json.dumps(good))
    forged["payload"]["choice"] = [2]
    await refused(forged, 403, "bad_signature")
    await refused(ballot(vm.absent, vote, [1]), 403, "not_on_roll")
    await refused(ballot(voter, vote, [1], serial=999_999), 403, "unknown_key")
    # Someone else's certificate under one's own signature: the signer is not its key.
    await refused(ballot(voter, vote, [1], serial=vm.voters[2].serial), 403, "bad_signature")
    other = dict(vote, fingerprint="sha256:" + "0" * 64)
    await refused(ballot(voter, other, [1]), 422, "wrong_vote")
    await refused(ballot(voter, dict(vote, vote=vote["vote"] + 1), [1]), 422, "wrong_vote")
    await refused(ballot(voter, vote, [4]), 422, "bad_choice")
    await refused(ballot(voter, vote, [1, 2]), 422, "bad_choice")
    await refused({"payload": {}, "signer": "x"}, 422, "malformed")
    response = await client.post(
        f"/api/v1/votes/{vote['vote']}/ballots",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 422
    response = await client.post(
        f"/api/v1/votes/{vote['vote']}/ballots",
        data=b"{" + b" " * 20000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await db.scalars(select(BoardEntry))).all() == []
    await db.rollback()  # SQLite: a reader's BEGIN IMMEDIATE would hold off the server

    # The same ballot sent twice (a retry on a weak connection): one entry, one receipt.
    first = await _cast(client, vote, good)
    again = await _cast(client, vote, good)
    assert first.status == again.status == 201
    assert (await first.json())["seq"] == (await again.json())["seq"] == 1
    await db.rollback()
    assert len((await db.scalars(select(BoardEntry))).all()) == 1


async def test_no_vote_without_quorum(client: Any, db: AsyncSession) -> None:
    vm = await voting_meeting(db, client, size=5, present=2)
    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes", json={"question": "Утвердить план"}
    )
    assert response.status == 409
    assert (await response.json())["error"] == "no_quorum"
