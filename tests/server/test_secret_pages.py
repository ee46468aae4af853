"""The secret vote's controls on the election's page and in the meeting's room: the
chair is offered «Открыть тайное голосование» only when the key is ready and «Закрыть»
only while the vote is open; members get the ballot's link only while it is open; the
commission's members the key and count pages; nobody is offered what the state does not
allow. (The pages' scripts run in tests/web/test_secret_vote_browser.py.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.elections.models import (
    Commission,
    CommissionBasis,
    CommissionMember,
    CommissionState,
    Election,
    ElectionState,
)
from meetings.elections.schemas import CandidateIn, ElectionIn
from meetings.elections.services import ElectionService
from registry.models import Role
from registry.orm import utcnow
from server.keys import KEYRING
from tests import factories as f

OPEN = "Открыть тайное голосование"
CLOSE = "Закрыть тайное голосование"
BALLOT = "Перейти к бюллетеню"
KEY = "Создание ключа выборов"
COUNT = "Подсчёт голосов"


async def test_the_controls_follow_the_state_and_the_reader(client: Any, db: AsyncSession) -> None:
    setup = await f.meeting(db, size=6, items=1)
    chair_m, secretary_m, counter, other, member_m, _ = setup.members
    service = ElectionService(db, setup.actor(chair_m, Role.CHAIR), client.server.app[KEYRING])
    election = await service.create_on_item(
        setup.meeting_id, ElectionIn(item_id=setup.item_ids[0], office="председатель")
    )
    await service.nominate(
        election.id,
        CandidateIn(name="Кандидатова Анна", nominated_by="самовыдвижение", consent=True),
    )
    await service.transition(election.id, ElectionState.CANDIDATES_CLOSED)
    # The body elected the commission (its open vote is tests/web/test_election_browser.py).
    db.add(
        Commission(
            election_id=election.id,
            state=CommissionState.CONSTITUTED,
            basis=CommissionBasis.VOTE,
            threshold=2,
            constituted_at=utcnow(),
            members=[
                CommissionMember(position=n, member_id=m.id, name=m.full_name)
                for n, m in enumerate((secretary_m, counter, other), 1)
            ],
        )
    )
    await db.commit()
    # One client: each reader logs in just before reading.
    logins = {
        "chair": await f.account(db, Role.CHAIR, Role.MEMBER, member_obj=chair_m),
        "counter": await f.account(db, Role.MEMBER, member_obj=counter),
        "member": await f.account(db, Role.MEMBER, member_obj=member_m),
    }

    async def offered(who: str, path: str) -> set[str]:
        response = await (await f.login(client, db, logins[who])).get(path)
        assert response.status == 200
        html = await response.text()
        return {label for label in (OPEN, CLOSE, BALLOT, KEY, COUNT) if label in html}

    async def move(state: ElectionState) -> None:
        # The states are reached by the commission's vote, the key generation and the
        # chair's requests (their own tests); here only what each state offers is read.
        row = await db.get(Election, election.id, populate_existing=True)
        assert row is not None
        row.state = state
        await db.commit()

    page = f"/elections/{election.id}"
    room = f"/meetings/{setup.meeting_id}/room"
    # Before the commission is constituted nothing secret is offered.
    for who in logins:
        assert await offered(who, page) == set()
    await move(ElectionState.COMMISSION_CONSTITUTED)
    assert await offered("counter", page) == {KEY}
    assert await offered("chair", page) == {KEY}  # the chair prepares it: sees the progress
    assert await offered("member", page) == set()

    await move(ElectionState.KEY_READY)
    assert await offered("chair", page) == {KEY, OPEN}
    assert await offered("chair", room) >= {OPEN}
    assert CLOSE not in await offered("chair", room)
    assert await offered("member", page) == set()
    assert OPEN not in await offered("member", room)

    await move(ElectionState.OPEN)
    assert await offered("chair", page) == {CLOSE, BALLOT}
    assert await offered("member", page) == {BALLOT}
    assert await offered("counter", page) == {KEY, BALLOT}
    assert await offered("member", room) == {BALLOT}
    assert await offered("chair", room) == {BALLOT, CLOSE}

    await move(ElectionState.CLOSED)
    assert await offered("counter", page) == {KEY, COUNT}
    assert await offered("chair", page) == {COUNT}
    assert await offered("member", page) == set()
    assert await offered("member", room) == set()
