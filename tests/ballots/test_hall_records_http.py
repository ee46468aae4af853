"""A mixed meeting over HTTP: the secretary records the votes of members in the hall
from a show of hands, each record signed by the secretary's own key; the server's
refusals, a member's own ballot taking precedence, the roll call, the protocol's text
and the bundle the offline verifier passes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import BoardEntry
from ballots.verify import verify_bundle
from meetings.drafting import HALL_RECORDED, item_votes
from meetings.room import RoomService
from tests.ballots.votes_setup import VotingMeeting, ballot, hall_record, voting_meeting


async def _mixed(db: AsyncSession, client: Any) -> VotingMeeting:
    """Chair, secretary and member 2 in the hall; member 3 on line only."""
    vm = await voting_meeting(db, client, size=5, present=4)
    online = vm.voters[3].member
    room = RoomService(db, vm.setup.actor(online))
    await room.connect(vm.setup.meeting_id)
    secretary = vm.setup.actor(vm.setup.secretary)
    await RoomService(db, secretary).register_in_person(vm.setup.meeting_id, online.id, False)
    await db.commit()
    return vm


async def _open(vm: VotingMeeting) -> dict[str, Any]:
    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes", json={"question": "Утвердить план"}
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _send(client: Any, vote: dict[str, Any], body: Any) -> Any:
    return await client.post(f"/api/v1/votes/{vote['vote']}/ballots", json=body)


async def test_the_secretary_records_hall_votes(client: Any, db: AsyncSession) -> None:
    vm = await _mixed(db, client)
    chair, secretary, hall, online = vm.voters
    assert secretary.member.id == vm.setup.secretary.id
    vote = await _open(vm)
    # The definition names the secretary and marks who is in the hall.
    assert vote["secretary"] == secretary.member.id
    assert sorted(vote["in_hall"]) == sorted([chair.member.id, hall.member.id])

    answer = await _send(client, vote, hall_record(secretary, vote, hall.member.id, [2]))
    assert answer.status == 201, await answer.text()
    assert (await answer.json())["choice"] == [2]
    # A correction by the secretary replaces the first count.
    answer = await _send(client, vote, hall_record(secretary, vote, hall.member.id, [1]))
    assert answer.status == 201
    # The chair, in the hall, is counted by the secretary, then votes from a phone:
    # the member's own ballot replaces the record.
    assert (
        await _send(client, vote, hall_record(secretary, vote, chair.member.id, [3]))
    ).status == 201
    assert (await _send(client, vote, ballot(chair, vote, [1]))).status == 201
    assert (await _send(client, vote, ballot(secretary, vote, [1]))).status == 201
    assert (await _send(client, vote, ballot(online, vote, [2]))).status == 201

    state = await (await vm.chair.get(f"/api/v1/votes/{vote['vote']}")).json()
    assert state["cast"] == 4
    assert state["recorded"] == [hall.member.id]

    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes/{vote['vote']}/close"
    )
    assert response.status == 200, await response.text()
    closed = await response.json()
    assert closed["result"]["counts"] == [3, 1, 0]
    assert closed["recorded"] == [hall.member.id]

    data = await (await vm.chair.get(f"/api/v1/votes/{vote['vote']}/bundle")).read()
    report = verify_bundle(data, jobs=1)
    assert report.ok, report.text()
    assert report.votes[0].hall == (hall.member.id,)

    # The protocol's roll call says whose vote the secretary counted.
    lines = await item_votes(db, vm.setup.meeting_id, vm.setup.item_ids[0])
    roll = dict(lines[0][0].roll_call)
    marked = [name for name in roll if HALL_RECORDED in name]
    assert len(marked) == 1
    assert marked[0].startswith(hall.member.full_name.split()[0])
    assert roll[marked[0]] == "за"
    assert sum(HALL_RECORDED in name for name in roll) == 1


async def test_refusals_of_hall_records(client: Any, db: AsyncSession) -> None:
    vm = await _mixed(db, client)
    chair, secretary, hall, online = vm.voters
    ids = {v.member.id for v in vm.voters}
    hall_id, chair_id = hall.member.id, chair.member.id
    assert len(ids) == 4
    vote = await _open(vm)

    async def refused(body: Any, status: int, code: str) -> None:
        response = await _send(client, vote, body)
        answer = await response.json()
        assert (response.status, answer["error"]) == (status, code), answer

    # Not the secretary: the chair signs a record with the chair's own key.
    await refused(hall_record(chair, vote, hall.member.id, [1]), 403, "not_secretary")
    # A member on line, one not on the roll, the secretary themselves.
    await refused(hall_record(secretary, vote, online.member.id, [1]), 403, "not_in_hall")
    await refused(hall_record(secretary, vote, vm.absent.member.id, [1]), 403, "not_in_hall")
    await refused(hall_record(secretary, vote, secretary.member.id, [1]), 403, "not_in_hall")
    await refused(hall_record(secretary, vote, hall.member.id, [7]), 422, "bad_choice")
    bad = hall_record(secretary, vote, hall.member.id, [1])
    bad["payload"]["extra"] = 1
    await refused(bad, 422, "bad_hall_record")
    assert (await db.scalars(select(BoardEntry))).all() == []
    await db.rollback()

    # The member has voted from a phone: a record after it is refused.
    assert (await _send(client, vote, ballot(hall, vote, [2]))).status == 201
    await refused(hall_record(secretary, vote, hall_id, [1]), 409, "already_voted")

    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes/{vote['vote']}/close"
    )
    assert response.status == 200
    await refused(hall_record(secretary, vote, chair_id, [1]), 409, "closed")


async def test_without_members_in_the_hall_the_definition_stays_version_1(
    client: Any, db: AsyncSession
) -> None:
    vm = await voting_meeting(db, client, size=5, present=4)
    secretary = vm.setup.actor(vm.setup.secretary)
    room = RoomService(db, secretary)
    for voter in vm.voters:
        await RoomService(db, vm.setup.actor(voter.member)).connect(vm.setup.meeting_id)
        await room.register_in_person(vm.setup.meeting_id, voter.member.id, False)
    await db.commit()
    vote = await _open(vm)
    assert vote["secretary"] is None
    assert vote["in_hall"] == []
    await _send(client, vote, ballot(vm.voters[0], vote, [1]))
    response = await _send(
        client, vote, hall_record(vm.voters[1], vote, vm.voters[2].member.id, [1])
    )
    assert (response.status, (await response.json())["error"]) == (409, "hall_record_not_allowed")
