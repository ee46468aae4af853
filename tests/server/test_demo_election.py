"""The demo meeting has an election of the youth council's chair on its agenda, ready
for the counting commission's vote at the meeting: two candidates with their consent,
the ballot fixed; seeding twice makes one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.demo import DEMO_ELECTION_OFFICE, DEMO_MEETING_TITLE
from meetings.elections.models import BallotForm, Election, ElectionState
from meetings.models import AgendaItem, Meeting
from server.demo import seed_with_logins
from server.settings import Settings


async def test_the_demo_meeting_carries_an_election_ready_for_its_commission(
    db: AsyncSession, settings: Settings
) -> None:
    async with db.begin():
        await seed_with_logins(db, settings)
    async with db.begin():
        await seed_with_logins(db, settings)
    async with db.begin():
        meeting = await db.scalar(select(Meeting).where(Meeting.title == DEMO_MEETING_TITLE))
        assert meeting is not None
        elections = (
            await db.scalars(select(Election).where(Election.meeting_id == meeting.id))
        ).all()
        assert len(elections) == 1
        election = elections[0]
        assert election.office == DEMO_ELECTION_OFFICE
        assert election.state is ElectionState.CANDIDATES_CLOSED
        assert election.form is BallotForm.ONE_OF
        assert [c.name for c in election.candidates] == [
            "Белова Дарья Андреевна",
            "Кудрявцев Игорь Олегович",
        ]
        assert all(c.consent_at is not None and c.bio for c in election.candidates)
        items = (
            await db.scalars(
                select(AgendaItem)
                .where(AgendaItem.meeting_id == meeting.id)
                .order_by(AgendaItem.position)
            )
        ).all()
        assert [i.title for i in items][-2:] == [
            "Об избрании председателя Молодёжного совета Пермского крайсовпрофа",
            "Разное",
        ]
        assert election.item_id == items[-2].id
