"""The demo meeting: the presidium's meeting on the digitalisation of union work, as in
the seed resolution, announced and ready for the chair to open."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import Meeting, MeetingState
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from registry.actor import Actor
from registry.models import Member, Role

__all__ = ["DEMO_MEETING_TITLE", "seed_demo_meeting"]

DEMO_MEETING_TITLE = "Заседание президиума Пермского крайсовпрофа"

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
    session: AsyncSession, body_id: int, chair_member_id: int, *, now: dt.datetime
) -> int:
    """Create (once) the demo meeting of the body, announced; returns its id."""
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
    for title, rapporteur, draft in _AGENDA:
        await service.add_item(
            meeting.id, AgendaItemIn(title=title, rapporteur=rapporteur, draft_resolution=draft)
        )
    await service.transition(meeting.id, MeetingState.ANNOUNCED)
    return meeting.id
