"""A meeting that has been held: members present, the secretary's texts written, a
guest, one open (named) vote on the first item, closed — the record a protocol is
assembled from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.issuing import DocumentDesk
from meetings.models import Guest, MeetingState
from meetings.preparation import MeetingService
from meetings.schemas import DraftTextsIn
from meetings.sfu import Identity
from meetings.video import record_moderation
from registry.actor import Actor
from registry.models import Account, Role
from server.keys import KEYRING
from tests.ballots.votes_setup import VotingMeeting, ballot, voting_meeting
from tests.factories import Login, login

__all__ = ["HeldMeeting", "held_meeting"]

HEARD = "Об итогах работы по цифровизации за 2025 год."
SPEECHES = "Петрова А. А. — предложила дополнить план.\nСидоров С. С. — поддержал проект."
DECISION = (
    "1. Принять информацию к сведению.\n2. Членским организациям:\n"
    "2.1. продолжить работу;\n2.2. провести самодиагностику."
)


@dataclass
class HeldMeeting:
    vm: VotingMeeting
    vote: dict[str, Any]

    @property
    def meeting_id(self) -> int:
        return self.vm.setup.meeting_id

    def actor(self, who: str) -> Actor:
        member = self.vm.setup.chair if who == "chair" else self.vm.setup.secretary
        role = Role.CHAIR if who == "chair" else Role.SECRETARY
        return Actor(None, member.full_name, frozenset({role}), member.id)

    async def as_(self, who: str, db: AsyncSession) -> Login:
        """Log the test client in as the chair or the secretary."""
        member = self.vm.setup.chair if who == "chair" else self.vm.setup.secretary
        account = await db.scalar(select(Account).where(Account.member_id == member.id))
        assert account is not None
        return await login(self.vm.chair.client, db, account)

    def desk(self, db: AsyncSession, who: str = "secretary") -> DocumentDesk:
        return DocumentDesk(db, self.actor(who), self.vm.chair.client.server.app[KEYRING])


async def held_meeting(db: AsyncSession, client: Any, *, close: bool = True) -> HeldMeeting:
    vm = await voting_meeting(db, client, size=5, present=4)
    came = Guest(
        meeting_id=vm.setup.meeting_id,
        name="Кузнецова Мария Ивановна",
        affiliation="правовой инспектор труда",
    )
    # Invited, never came: not in the protocol.
    absent = Guest(meeting_id=vm.setup.meeting_id, name="Орлов Пётр Ильич", affiliation="юрист")
    db.add_all([came, absent])
    await db.flush()
    # The chair let the guest in from the video room's lobby: the record says she came.
    await record_moderation(
        db,
        vm.setup.meeting_id,
        "video.admitted",
        Identity(key=f"g{came.id}", name=came.name, guest_id=came.id),
        vm.setup.chair.full_name,
    )
    await db.commit()
    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes",
        json={"question": "Принять постановление в целом"},
    )
    assert response.status == 201, await response.text()
    vote = dict(await response.json())
    for voter, choice in zip(vm.voters, ([1], [1], [1], [2]), strict=True):
        cast = await client.post(
            f"/api/v1/votes/{vote['vote']}/ballots", json=ballot(voter, vote, choice)
        )
        assert cast.status == 201, await cast.text()
    response = await vm.chair.post(
        f"/api/v1/meetings/{vm.setup.meeting_id}/votes/{vote['vote']}/close"
    )
    assert response.status == 200, await response.text()
    held = HeldMeeting(vm, vote)
    await held.desk(db).edit_texts(
        held.meeting_id,
        vm.setup.item_ids[0],
        DraftTextsIn(heard=HEARD, speeches=SPEECHES, decision=DECISION),
    )
    if close:
        await MeetingService(db, held.actor("chair")).transition(
            held.meeting_id, MeetingState.CLOSED
        )
    await db.commit()
    return held
