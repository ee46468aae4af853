"""The demo meeting: the presidium's meeting on the digitalisation of union work, as in
the seed resolution, announced and ready for the chair to open; on its agenda an
election of the youth council's chair by secret ballot, its two candidates nominated
with their consent and the ballot fixed, so that at the meeting the presidium elects the
counting commission, whose members make the key, and the members vote."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.elections.models import BallotForm, ElectionState
from meetings.elections.schemas import CandidateIn, ElectionIn
from meetings.elections.services import ElectionService
from meetings.models import Meeting, MeetingState
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from registry.actor import Actor
from registry.models import Member, Role
from registry.registrykey import RegistryKeyring

__all__ = ["DEMO_ELECTION_OFFICE", "DEMO_MEETING_TITLE", "seed_demo_meeting"]

DEMO_MEETING_TITLE = "Заседание президиума Пермского крайсовпрофа"
DEMO_ELECTION_OFFICE = "председатель Молодёжного совета Пермского крайсовпрофа"
_ELECTION_ITEM = (
    "Об избрании председателя Молодёжного совета Пермского крайсовпрофа",
    "Иванов М. Г.",
    "Избрать председателем Молодёжного совета Пермского крайсовпрофа по итогам тайного "
    "голосования.",
)
_CANDIDATES = (
    CandidateIn(
        name="Белова Дарья Андреевна",
        bio="Учитель информатики школы № 12 г. Перми; председатель первичной профсоюзной "
        "организации с 2021 года; ведёт школу профсоюзного актива.",
        nominated_by="Пермская краевая организация Профсоюза работников образования",
        consent=True,
        consent_note="письменное заявление",
    ),
    CandidateIn(
        name="Кудрявцев Игорь Олегович",
        bio="Инженер-технолог ПАО «Пермский моторный завод»; заместитель председателя "
        "Молодёжного совета с 2023 года.",
        nominated_by="Молодёжный совет Пермского крайсовпрофа",
        consent=True,
        consent_note="письменное заявление",
    ),
)

_AGENDA = (
    (
        "О цифровизации профсоюзной деятельности на опыте Пермской краевой организации "
        "Профессионального союза работников народного образования и науки Российской Федерации",
        "Галайда З. И.",
        "1. Принять к сведению информацию об опыте Пермской краевой организации "
        "Профессионального союза работников народного образования и науки Российской "
        "Федерации в сфере цифровизации профсоюзной деятельности.\n"
        "2. Считать приоритетными задачами в области информационной политики и "
        "цифровизации работы профсоюзов обеспечение выполнения Концепции информационной "
        "политики ФНПР.",
    ),
    (
        "Об увеличении подписки на центральную профсоюзную газету «Солидарность» и краевое "
        "еженедельное издание «Профсоюзный курьер»",
        "Эмир-Вели С. Р.",
        "Членским организациям активизировать работу по увеличению подписки.",
    ),
    ("Разное", "", ""),
)


async def seed_demo_meeting(
    session: AsyncSession,
    body_id: int,
    chair_member_id: int,
    *,
    now: dt.datetime,
    keyring: RegistryKeyring,
) -> int:
    """Create (once) the demo meeting of the body, announced, with its election of the
    youth council's chair ready for the counting commission's vote; returns its id."""
    existing = await session.scalar(
        select(Meeting.id).where(Meeting.body_id == body_id, Meeting.title == DEMO_MEETING_TITLE)
    )
    if existing is not None:
        return int(existing)
    chair = await session.get(Member, chair_member_id)
    assert chair is not None
    actor = Actor(None, chair.full_name, frozenset({Role.CHAIR}), chair.id)
    service = MeetingService(session, actor)
    starts = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    meeting = await service.create(
        MeetingIn(
            body_id=body_id,
            title=DEMO_MEETING_TITLE,
            starts_at=starts,
            place="г. Пермь, ул. Ленина, 51 (зал заседаний) и онлайн",
            number=7,
        )
    )
    election_item = 0
    for title, rapporteur, draft in (*_AGENDA[:-1], _ELECTION_ITEM, _AGENDA[-1]):
        item = await service.add_item(
            meeting.id, AgendaItemIn(title=title, rapporteur=rapporteur, draft_resolution=draft)
        )
        if title == _ELECTION_ITEM[0]:
            election_item = item.id
    await service.transition(meeting.id, MeetingState.ANNOUNCED)
    elections = ElectionService(session, actor, keyring)
    election = await elections.create_on_item(
        meeting.id,
        ElectionIn(item_id=election_item, office=DEMO_ELECTION_OFFICE, form=BallotForm.ONE_OF),
    )
    for candidate in _CANDIDATES:
        await elections.nominate(election.id, candidate)
    await elections.transition(election.id, ElectionState.CANDIDATES_CLOSED)
    return meeting.id
