"""A secret vote over HTTP, its whole life: the draft issued for the commission's key
generation, transport keys, dealings with one complaint answered, the key, the
opening, encrypted ballots (one re-vote, one challenged and spoiled), the close, three
partial decryptions and the count, the result and an audit bundle the offline
verifier passes — and fails, naming the check, once an entry is tampered with."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.auditcli import main as audit_main
from ballots.models import Vote
from ballots.secretmodels import SecretEntry, SecretShare, SecretTransportKey, SecretVote
from ballots.secretverify import verify_secret_bundle
from crypto.canonical import canonicalize
from crypto.dkg import DealerCommitment, verify_share
from crypto.envelope import SignedDocument
from crypto.secretballot import EncryptedBallot
from meetings.elections.models import Election, ElectionState
from meetings.models import MeetingEvent
from meetings.votes import room_snapshot
from registry.actor import Actor
from registry.models import Role
from registry.orm import utcnow
from server.keys import KEYRING
from server.views.secret_api import close_due_secret_votes
from tests.ballots.secret_setup import Browser, SecretWorld, secret_world


async def _post(who: Browser, path: str, body: Any, status: int = 201) -> dict[str, Any]:
    response = await who.http.post(path, json=body)
    text = await response.text()
    assert response.status == status, text
    return dict(json.loads(text)) if text else {}


async def keygen(world: SecretWorld, *, complain: bool = True) -> None:
    """Transport keys, five dealings (shares delivered in Python), a complaint of
    member 2 against dealer 1 answered with the share, the key."""
    await world.get(world.commission[0])
    for member in world.commission:
        await _post(member, world.path("transport-keys"), world.transport_key(member))
    dealings = {}
    for member in world.commission:
        dealings[member.index] = world.dealing(member)
        await _post(member, world.path("dealings"), dealings[member.index])
    for dealer in world.commission:
        for recipient in world.commission:
            assert recipient.index is not None
            assert dealer.index is not None
            recipient.shares[dealer.index] = dealer.dealt[recipient.index]
    params = world.params()
    for dealer in world.commission:
        commitment = DealerCommitment.parse(
            dealings[dealer.index]["dealer"]["payload"]["commitment"], params
        )
        for recipient in world.commission:
            assert recipient.index is not None
            verify_share(params, commitment, recipient.index, recipient.shares[dealer.index])
    if complain:
        one, two = world.commission[0], world.commission[1]
        await _post(two, world.path("complaints"), world.complaint(two, 1, 2, None))
        response = await two.http.post(world.path("key"))
        assert response.status == 409
        assert (await response.json())["error"] == "complaints_unanswered"
        await _post(one, world.path("complaints"), world.complaint(one, 1, 2, one.dealt[2]))
    await _post(world.commission[0], world.path("key"), None, status=200)


async def test_the_whole_life_of_a_secret_vote(
    client: Any,
    aiohttp_client: Any,
    db: AsyncSession,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = await secret_world(db, client, aiohttp_client)
    state = await world.get()
    assert state["phase"] == "keygen"
    assert state["threshold"] == 3
    assert [m["index"] for m in state["commission"]] == [1, 2, 3, 4, 5]
    assert state["draft"]["payload"]["key"] == ""
    # The draft is issued once: asked again, it is the same document.
    assert (await world.get(world.commission[2]))["draft"] == state["draft"]

    await keygen(world)
    state = await world.get()
    assert state["phase"] == "key_ready"
    assert all(m["dealt"] for m in state["commission"])
    election = await db.get(Election, world.election, populate_existing=True)
    assert election is not None
    assert election.state is ElectionState.KEY_READY
    await db.rollback()  # SQLite: a test's open transaction would hold the write lock
    # The shares addressed to member 3: one from each other dealer, as sent.
    shares = await (await world.commission[2].http.get(world.path("shares"))).json()
    assert sorted(s["payload"]["dealer"] for s in shares) == [1, 2, 4, 5]

    state = await _post(world.chair, world.path("open"), None, status=200)
    world.state = state
    assert state["phase"] == "open"
    roll = {r["member"] for r in world.definition["roll"]}
    assert roll == {b.member_id for b in world.browsers}

    # Seven ballots; voter 3 votes again (the last counts); voter 4 challenges hers.
    marks = {0: (1, 0, 0), 1: (0, 1, 0), 2: (1, 0, 0), 3: (0, 0, 1), 4: (1, 0, 0)}
    marks |= {5: (0, 1, 0), 6: (1, 0, 0)}
    counted: dict[int, EncryptedBallot] = {}
    receipts = []
    keys = client.server.app[KEYRING].public_keys()
    for index, choice in marks.items():
        who = world.browsers[index]
        if index == 4:
            document, opening, _ballot = world.ballot(who, (0, 1, 0))
            placed = await _post(who, world.path("ballots"), document)
            spoil = world.spoil(who, placed["seq"], opening)
            await _post(who, world.path("spoils"), spoil)
        document, _opening, encrypted = world.ballot(who, choice)
        placed = await _post(who, world.path("ballots"), document)
        receipt = SignedDocument.parse(placed["receipt"])
        receipt.verify(keys, expect_type="kvorum.secret-receipt", expect_version=1)
        assert receipt.payload["seq"] == placed["seq"]
        # Sent again (its answer lost): the same receipt, nothing appended.
        again = await _post(who, world.path("ballots"), document)
        assert again["seq"] == placed["seq"]
        receipts.append(placed)
        counted[index] = encrypted
    who = world.browsers[3]
    document, _opening, encrypted = world.ballot(who, (1, 0, 0))  # a change of mind
    await _post(who, world.path("ballots"), document)
    counted[3] = encrypted
    state = await world.get()
    assert state["spoiled"] == 1
    assert {v["member"] for v in state["voted"]} == {world.browsers[i].member_id for i in marks}

    await _post(world.chair, world.path("close"), None, status=200)
    ballots = list(counted.values())  # the tally is a product: order does not matter
    for member in world.commission[:2]:
        await _post(member, world.path("partials"), world.partial(member, ballots))
    state = await world.get()
    assert state["phase"] == "closed"
    assert state["result"] is None
    await _post(
        world.commission[3], world.path("partials"), world.partial(world.commission[3], ballots)
    )
    state = await world.get()
    assert state["phase"] == "counted"
    result = SignedDocument.parse(state["result"])
    result.verify(keys, expect_type="kvorum.secret-vote-result", expect_version=1)
    expected = [sum(m[k] for i, m in marks.items() if i != 3) + (k == 0) for k in range(3)]
    assert list(result.payload["counts"]) == expected == [5, 2, 0]
    assert result.payload["took_part"] == 7
    assert list(result.payload["decrypted_by"]) == [1, 2, 4]
    assert list(result.payload["outcome"]["elected"]) == [0]
    election = await db.get(Election, world.election, populate_existing=True)
    assert election is not None
    assert election.state is ElectionState.COUNTED
    stored = json.loads(str(election.result))
    assert (stored["roll"], stored["cast"], stored["spoiled"]) == (9, 7, 1)
    assert stored["result"] == state["result"]
    kinds = (
        await db.scalars(select(MeetingEvent.data).where(MeetingEvent.meeting_id == world.meeting))
    ).all()
    assert any('"to":"counted"' in k.replace(" ", "") for k in kinds)
    await db.rollback()

    response = await world.chair.http.get(world.path("bundle"))
    assert response.status == 200
    data = await response.read()
    report = verify_secret_bundle(data)
    assert report.ok, report.failures
    (tmp_path / "bundle.json").write_bytes(data)
    assert audit_main(["verify", str(tmp_path / "bundle.json")]) == 0
    bundle = json.loads(data)
    ballot_entry = next(e for e in bundle["entries"] if e["kind"] == "ballot")
    ballot_entry["document"]["payload"]["nonce"] = "tampered-nonce-0000000"
    report = verify_secret_bundle(canonicalize(bundle))
    assert not report.ok
    assert {f.check for f in report.failures} >= {"V-212"}
    (tmp_path / "tampered.json").write_bytes(canonicalize(bundle))
    assert audit_main(["verify", str(tmp_path / "tampered.json")]) == 1
    assert "V-212" in capsys.readouterr().out

    # Rows: the board as the bundle has it; shares and transport keys kept opaque.
    assert await db.scalar(select(func.count()).select_from(SecretEntry)) == len(
        json.loads(data)["entries"]
    )
    assert await db.scalar(select(func.count()).select_from(SecretShare)) == 20
    assert await db.scalar(select(func.count()).select_from(SecretTransportKey)) == 5
    assert await db.scalar(select(func.count()).select_from(SecretVote)) == 1


async def test_documents_sent_together_make_one_chain(
    client: Any, aiohttp_client: Any, db: AsyncSession
) -> None:
    """Ballots sent at once are appended together (one commit for a burst), each with
    its own place; partial decryptions sent at once count exactly once."""
    world = await secret_world(db, client, aiohttp_client)
    await keygen(world, complain=False)
    world.state = await _post(world.chair, world.path("open"), None, status=200)
    made = [world.ballot(who, (0, 0, 1)) for who in world.browsers[:8]]
    answers = await asyncio.gather(
        *(
            who.http.post(world.path("ballots"), json=document)
            for who, (document, _o, _b) in zip(world.browsers, made, strict=False)
        ),
        world.browsers[0].http.post(world.path("ballots"), json=made[0][0]),  # resent
    )
    placed = [await a.json() for a in answers]
    assert all(a.status == 201 for a in answers), placed
    seqs = [p["seq"] for p in placed[:8]]
    assert sorted(seqs) == list(range(6, 14))  # after the five dealers
    assert placed[8]["seq"] == placed[0]["seq"]
    await _post(world.chair, world.path("close"), None, status=200)
    counted = [b for _d, _o, b in made]
    for member in world.commission:
        assert member.index is not None
        member.shares = {d.index: d.dealt[member.index] for d in world.commission}  # type: ignore[index]
    answers = await asyncio.gather(
        *(
            m.http.post(world.path("partials"), json=world.partial(m, counted))
            for m in world.commission
        )
    )
    statuses = sorted(a.status for a in answers)
    assert statuses == [201, 201, 201, 409, 409]
    state = await world.get()
    assert list(state["result"]["payload"]["counts"]) == [0, 0, 8]
    response = await world.chair.http.get(world.path("bundle"))
    report = verify_secret_bundle(await response.read())
    assert report.ok, report.failures


async def test_an_absentee_secret_vote_closes_at_its_deadline(
    client: Any, aiohttp_client: Any, db: AsyncSession
) -> None:
    """Between meetings: the officers appoint the commission, the roll is the body's
    composition, and the vote sweeper closes the vote at its deadline."""
    world = await secret_world(db, client, aiohttp_client)
    chair = world.chair
    response = await chair.http.get(f"/api/v1/meetings/{world.meeting}")
    body_id = (await response.json())["body_id"]
    election = await _post(
        chair,
        "/api/v1/elections",
        {
            "body_id": body_id,
            "kind": "question",
            "office": "О недоверии казначею",
            "question": "Выразить недоверие казначею?",
            "form": "yes_no",
            "closes_at": (utcnow() + dt.timedelta(hours=2)).isoformat(),
        },
    )
    world.election = election["id"]
    await _post(
        chair,
        f"/api/v1/elections/{world.election}/transition",
        {"target": "candidates_closed"},
        status=200,
    )
    members = [b.member_id for b in world.commission]
    await _post(
        chair, f"/api/v1/elections/{world.election}/commission/appoint", {"member_ids": members}
    )
    await keygen(world, complain=False)
    world.state = await _post(chair, world.path("open"), None, status=200)
    roll = {r["member"] for r in world.definition["roll"]}
    assert len(roll) == 10  # the body's composition, present or not
    assert world.definition["options"] == ["за", "против", "воздержался"]
    counted = []
    for who, marks in ((world.browsers[6], (1, 0, 0)), (world.absent, (0, 1, 0))):
        document, _o, encrypted = world.ballot(who, marks)
        await _post(who, world.path("ballots"), document)
        counted.append(encrypted)
    # The deadline passes (moved to just after the last ballot), and the sweeper runs.
    await db.rollback()
    vote = await db.scalar(select(SecretVote).where(SecretVote.id == world.state["vote"]))
    assert vote is not None
    assert vote.board_time is not None
    vote.closes_at = deadline = vote.board_time + dt.timedelta(seconds=1)
    await db.commit()
    # Board times are whole seconds: the deadline is at most two seconds away.
    await asyncio.sleep(max(0.0, (deadline - utcnow()).total_seconds()) + 0.05)
    assert await close_due_secret_votes(client.server.app) == [world.election]
    state = await world.get()
    assert state["phase"] == "closed"
    late, _o, _b = world.ballot(world.browsers[7], (0, 0, 1))
    response = await world.browsers[7].http.post(world.path("ballots"), json=late)
    assert (await response.json())["error"] == "closed"
    for member in world.commission[2:]:
        assert member.index is not None
        member.shares = {d.index: d.dealt[member.index] for d in world.commission}  # type: ignore[index]
        await _post(member, world.path("partials"), world.partial(member, counted))
    state = await world.get()
    assert list(state["result"]["payload"]["counts"]) == [1, 1, 0]
    response = await chair.http.get(world.path("bundle"))
    report = verify_secret_bundle(await response.read())
    assert report.ok, report.failures


async def test_a_deadline_with_a_fraction_of_a_second_is_kept_to_the_second(
    client: Any, aiohttp_client: Any, db: AsyncSession
) -> None:
    """A deadline given with microseconds is kept in whole seconds, so the secret vote's
    first request issues its draft (whose instants are whole seconds) instead of failing."""
    world = await secret_world(db, client, aiohttp_client)
    chair = world.chair
    response = await chair.http.get(f"/api/v1/meetings/{world.meeting}")
    body_id = (await response.json())["body_id"]
    deadline = (utcnow() + dt.timedelta(hours=2)).replace(microsecond=654321)
    election = await _post(
        chair,
        "/api/v1/elections",
        {
            "body_id": body_id,
            "kind": "question",
            "office": "О недоверии казначею",
            "question": "Выразить недоверие казначею?",
            "form": "yes_no",
            "closes_at": deadline.isoformat(),
        },
    )
    whole = deadline.replace(microsecond=0)
    assert dt.datetime.fromisoformat(election["closes_at"]) == whole
    world.election = election["id"]
    await _post(
        chair,
        f"/api/v1/elections/{world.election}/transition",
        {"target": "candidates_closed"},
        status=200,
    )
    members = [b.member_id for b in world.commission]
    await _post(
        chair, f"/api/v1/elections/{world.election}/commission/appoint", {"member_ids": members}
    )
    response = await world.commission[0].http.get(f"/api/v1/elections/{world.election}/secret")
    assert response.status == 200, await response.text()
    draft = (await response.json())["draft"]["payload"]
    assert draft["closes_at"] == whole.strftime("%Y-%m-%dT%H:%M:%SZ")
    await db.rollback()
    row = await db.get(Election, world.election, populate_existing=True)
    assert row is not None
    assert row.closes_at == whole


async def test_no_open_vote_is_opened_while_a_secret_vote_of_the_meeting_is_open(
    client: Any, aiohttp_client: Any, db: AsyncSession
) -> None:
    """One vote at a time: while an open vote of the meeting is under way the secret vote
    does not open; while the secret vote is open the chair may not open an open vote (the
    room's snapshot says the secret vote is open, so the room does not offer one); once
    it is closed, the open vote is opened."""
    world = await secret_world(db, client, aiohttp_client)
    await world.get()
    await keygen(world, complain=False)
    await db.rollback()
    votes = f"/api/v1/meetings/{world.meeting}/votes"
    # The other way round too: while an open vote is under way, no secret vote opens.
    opened = await _post(world.chair, votes, {"question": "Объявить перерыв"})
    refused = await _post(world.chair, world.path("open"), None, status=409)
    assert "an open vote of the meeting is under way" in refused["detail"], refused
    assert (await world.get())["phase"] == "key_ready"
    await _post(world.chair, f"{votes}/{opened['vote']}/close", None, status=200)
    world.state = await _post(world.chair, world.path("open"), None, status=200)
    before = await db.scalar(select(func.count()).select_from(Vote))
    await db.rollback()
    refused = await _post(world.chair, votes, {"question": "Объявить перерыв"}, status=409)
    assert refused["error"] == "conflict", refused
    assert "a secret vote is open" in refused["detail"]
    assert refused["message"].startswith("Идёт тайное голосование")
    assert await db.scalar(select(func.count()).select_from(Vote)) == before
    await db.rollback()
    async with db.begin():
        chair = Actor(None, "Председатель", frozenset({Role.CHAIR}), world.chair.member_id)
        snapshot = await room_snapshot(db, chair, world.meeting)
    assert snapshot["secret_open"] == [world.election]
    await _post(world.chair, world.path("close"), None, status=200)
    opened = await _post(world.chair, votes, {"question": "Объявить перерыв"})
    assert opened["state"] == "open"
