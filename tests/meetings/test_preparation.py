"""Preparing a meeting through the service: numbering, defaults, permissions, announcing,
notices, materials and the order of the agenda."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings import blobs
from meetings.blobs import DOCX, EXTENSIONS, BlobStore
from meetings.models import Material, MeetingState, Notice
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, AgendaItemPatch, GuestIn, MeetingIn, MeetingPatch
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.models import Body, Member, Role, SeatRole
from tests import factories as f
from tests import samples

PDF = samples.pdf_bytes()
PNG = samples.png_bytes()
WEBP = samples.webp_bytes()
JPEG = samples.jpeg_bytes()
DOCX_BYTES = samples.docx_bytes()
MAY = dt.datetime(2026, 5, 14, 5, 0, tzinfo=dt.UTC)  # 10:00 in Perm

REGISTRAR = Actor(100, "Регистратор", roles=frozenset({Role.REGISTRAR}))
AUDITOR = Actor(101, "Ревизор", roles=frozenset({Role.AUDITOR}))


@dataclass
class World:
    body: Body
    other: Body
    chair: Member
    deputy: Member
    secretary: Member
    plain: Member
    outsider: Member

    def actor(self, m: Member) -> Actor:
        return Actor(m.id + 1000, m.full_name, member_id=m.id)


async def world(db: AsyncSession) -> World:
    root = await f.org(db, "Пермский крайсовпроф")
    body = await f.body(db, root, "Президиум")
    other = await f.body(db, root, "Молодёжный совет")
    chair = await f.member(db, root, "Иванов", email="ivanov@example.ru")
    deputy = await f.member(db, root, "Шалаев", email="")
    secretary = await f.member(db, root, "Петрова", email="petrova@example.ru")
    plain = await f.member(db, root, "Сидоров", email="sidorov@example.ru")
    outsider = await f.member(db, root, "Волков")
    await f.seat(db, body, chair, SeatRole.CHAIR)
    await f.seat(db, body, deputy, SeatRole.DEPUTY_CHAIR)
    await f.seat(db, body, secretary, SeatRole.SECRETARY)
    await f.seat(db, body, plain)
    # Someone whose term ended before the meeting is not in the composition.
    gone = await f.member(db, root, "Зайцев")
    await f.seat(db, body, gone, start=dt.date(2020, 1, 1), end=dt.date(2025, 12, 31))
    await f.seat(db, other, outsider, SeatRole.CHAIR)
    await db.commit()
    return World(body, other, chair, deputy, secretary, plain, outsider)


def meeting_in(body: Body, **kw: Any) -> MeetingIn:
    return MeetingIn(body_id=body.id, title=kw.pop("title", "Заседание"), starts_at=MAY, **kw)


# --- the record ------------------------------------------------------------------------------


async def test_numbering_is_per_body_and_year(db: AsyncSession) -> None:
    w = await world(db)
    service = MeetingService(db, REGISTRAR)
    first = await service.create(meeting_in(w.body))
    second = await service.create(meeting_in(w.body))
    elsewhere = await service.create(meeting_in(w.other))
    next_year = await service.create(
        MeetingIn(body_id=w.body.id, title="Январь", starts_at=MAY.replace(year=2027))
    )
    assert (first.number, second.number, elsewhere.number, next_year.number) == (1, 2, 1, 1)
    assert first.code == "№ 1"
    assert (first.year, next_year.year) == (2026, 2027)
    chosen = await service.create(meeting_in(w.body, number=7))
    after = await service.create(meeting_in(w.body))
    assert (chosen.number, after.number) == (7, 8)
    with pytest.raises(Conflict) as caught:
        await service.create(meeting_in(w.body, number=7))
    assert caught.value.fields == {"number": "already taken"}


async def test_the_year_and_the_day_are_those_of_the_place(db: AsyncSession) -> None:
    """00:30 on 1 January in Perm is still 31 December in UTC: the meeting is the first
    of the new year, and its composition is that of 1 January."""
    w = await world(db)
    service = MeetingService(db, REGISTRAR)
    new_year = dt.datetime(2026, 12, 31, 19, 30, tzinfo=dt.UTC)
    perm = await service.create(
        MeetingIn(body_id=w.body.id, title="Новогоднее", starts_at=new_year)
    )
    assert (perm.year, perm.number, perm.timezone) == (2027, 1, "Asia/Yekaterinburg")
    moscow = await service.create(
        MeetingIn(
            body_id=w.body.id, title="Старый год", starts_at=new_year, timezone="Europe/Moscow"
        )
    )
    assert moscow.year == 2026
    with pytest.raises(ValueError, match="not a time zone"):
        MeetingIn(body_id=w.body.id, title="x", starts_at=new_year, timezone="Mars/Olympus")


async def test_chair_and_secretary_default_from_the_body(db: AsyncSession) -> None:
    w = await world(db)
    meeting = await MeetingService(db, REGISTRAR).create(meeting_in(w.body))
    assert meeting.chair_member_id == w.chair.id
    assert meeting.secretary_member_id == w.secretary.id
    named = await MeetingService(db, REGISTRAR).create(
        meeting_in(w.body, chair_member_id=w.deputy.id)
    )
    assert named.chair_member_id == w.deputy.id
    assert named.secretary_member_id == w.secretary.id
    # A body without a secretary leaves the seat empty (and announcing will say so).
    youth = await MeetingService(db, REGISTRAR).create(meeting_in(w.other))
    assert youth.chair_member_id == w.outsider.id
    assert youth.secretary_member_id is None
    with pytest.raises(InvalidInput) as caught:
        await MeetingService(db, REGISTRAR).create(meeting_in(w.body, chair_member_id=99999))
    assert caught.value.fields == {"chair_member_id": "no such member"}


async def test_who_may_convene_see_and_prepare(db: AsyncSession) -> None:
    w = await world(db)
    # Officers of the body (chair, deputy, secretary) and the registrar convene...
    for who in (w.chair, w.deputy, w.secretary):
        await MeetingService(db, w.actor(who)).create(meeting_in(w.body))
    # ...a plain member or an officer of another body does not.
    for who in (w.plain, w.outsider):
        with pytest.raises(PermissionDenied):
            await MeetingService(db, w.actor(who)).create(meeting_in(w.body))
    with pytest.raises(PermissionDenied):
        await MeetingService(db, AUDITOR).create(meeting_in(w.body))
    meeting = await MeetingService(db, REGISTRAR).create(meeting_in(w.body))
    await db.commit()
    # Members see it but do not prepare it; auditors see it; outsiders do not know it exists.
    _m, roles = await MeetingService(db, w.actor(w.plain)).get(meeting.id)
    assert roles.names == {"member"}
    with pytest.raises(PermissionDenied):
        await MeetingService(db, w.actor(w.plain)).add_item(meeting.id, AgendaItemIn(title="X"))
    _m, roles = await MeetingService(db, AUDITOR).get(meeting.id)
    assert roles.names == {"auditor"}
    with pytest.raises(NotFound):
        await MeetingService(db, w.actor(w.outsider)).get(meeting.id)
    visible = await MeetingService(db, w.actor(w.outsider)).visible()
    assert meeting.id not in {m.id for m in visible}
    assert meeting.id in {m.id for m in await MeetingService(db, w.actor(w.plain)).visible()}
    # The secretary of the meeting edits it.
    changed = await MeetingService(db, w.actor(w.secretary)).update(
        meeting.id, MeetingPatch(place="г. Пермь, зал 2")
    )
    assert changed.place == "г. Пермь, зал 2"


async def test_announcing_needs_items_and_officers_and_notifies_every_member(
    db: AsyncSession,
) -> None:
    w = await world(db)
    service = MeetingService(db, w.actor(w.chair))
    meeting = await service.create(meeting_in(w.body))
    with pytest.raises(Conflict, match="at least one agenda item"):
        await service.transition(meeting.id, MeetingState.ANNOUNCED)
    await service.add_item(meeting.id, AgendaItemIn(title="О цифровизации"))
    await db.commit()

    youth = await MeetingService(db, w.actor(w.outsider)).create(meeting_in(w.other))
    await MeetingService(db, w.actor(w.outsider)).add_item(youth.id, AgendaItemIn(title="X"))
    with pytest.raises(Conflict, match="chair and the secretary"):
        await MeetingService(db, w.actor(w.outsider)).transition(youth.id, MeetingState.ANNOUNCED)

    meeting, announcement = await service.transition(meeting.id, MeetingState.ANNOUNCED)
    await db.commit()
    assert meeting.state is MeetingState.ANNOUNCED
    assert meeting.announced_at is not None
    assert announcement is not None
    members = {w.chair.id, w.deputy.id, w.secretary.id, w.plain.id}
    assert {r[0] for r in announcement.recipients} == members
    assert "ivanov@example.ru" in {r[2] for r in announcement.recipients}
    notices = (await db.scalars(select(Notice).where(Notice.meeting_id == meeting.id))).all()
    assert sorted(n.member_id for n in notices) == sorted(members)
    assert all("О цифровизации" in n.body and n.read_at is None for n in notices)
    assert notices[0].subject == f"Заседание № 1: {meeting.title}"
    # Back to draft and announced again: everyone is told again; moving on tells nobody.
    await service.transition(meeting.id, MeetingState.DRAFT)
    _m, again = await service.transition(meeting.id, MeetingState.ANNOUNCED)
    assert again is not None
    _m, none = await service.transition(meeting.id, MeetingState.REGISTRATION)
    assert none is None
    total = await db.scalar(
        select(func.count()).select_from(Notice).where(Notice.meeting_id == meeting.id)
    )
    assert total == 2 * len(members)


async def test_the_record_freezes_once_in_session(db: AsyncSession) -> None:
    w = await world(db)
    service = MeetingService(db, w.actor(w.chair))
    meeting = await service.create(meeting_in(w.body))
    item = await service.add_item(meeting.id, AgendaItemIn(title="Первый"))
    await service.transition(meeting.id, MeetingState.ANNOUNCED)
    with pytest.raises(Conflict, match="only while the meeting is a draft"):
        await service.update(meeting.id, MeetingPatch(form="in_person"))  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="removed only while"):
        await service.remove_item(item.id)
    await service.transition(meeting.id, MeetingState.REGISTRATION)
    meeting, _a = await service.transition(meeting.id, MeetingState.IN_SESSION)
    assert meeting.current_item_id == item.id
    with pytest.raises(Conflict, match="can no longer be changed"):
        await service.update(meeting.id, MeetingPatch(title="Новое"))
    with pytest.raises(Conflict, match="can no longer be changed"):
        await service.add_item(meeting.id, AgendaItemIn(title="Второй"))
    with pytest.raises(Conflict, match="can no longer be changed"):
        await service.add_guest(meeting.id, GuestIn(name="Гость"))


# --- the agenda -------------------------------------------------------------------------------


async def test_items_are_numbered_inserted_moved_and_renumbered(db: AsyncSession) -> None:
    w = await world(db)
    service = MeetingService(db, REGISTRAR)
    meeting = await service.create(meeting_in(w.body))
    a = await service.add_item(meeting.id, AgendaItemIn(title="А"))
    b = await service.add_item(meeting.id, AgendaItemIn(title="Б"))
    c = await service.add_item(meeting.id, AgendaItemIn(title="В"))
    first = await service.add_item(meeting.id, AgendaItemIn(title="Первым", position=1))
    far = await service.add_item(meeting.id, AgendaItemIn(title="Далеко", position=99))
    await db.commit()

    async def order() -> list[str]:
        await db.refresh(meeting, ["items"])
        positions = [i.position for i in meeting.items]
        assert positions == list(range(1, len(positions) + 1))
        return [i.title for i in meeting.items]

    assert await order() == ["Первым", "А", "Б", "В", "Далеко"]
    await service.update_item(c.id, AgendaItemPatch(position=1))
    assert await order() == ["В", "Первым", "А", "Б", "Далеко"]
    await service.update_item(c.id, AgendaItemPatch(position=5))
    assert await order() == ["Первым", "А", "Б", "Далеко", "В"]
    await service.remove_item(first.id)
    assert await order() == ["А", "Б", "Далеко", "В"]
    await service.update_item(
        b.id,
        AgendaItemPatch(
            title="Б (уточнено)", quorum={"numerator": 2, "denominator": 3, "strict": False}
        ),
    )
    assert b.quorum_numerator == 2
    assert b.quorum_strict is False
    await service.update_item(b.id, AgendaItemPatch(clear_quorum=True))
    assert b.quorum_numerator is None
    assert (a.position, far.position) == (1, 3)


# --- materials ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (DOCX_BYTES, DOCX),
    ],
)
async def test_materials_are_typed_by_their_bytes(
    db: AsyncSession, tmp_path: Path, data: bytes, media_type: str
) -> None:
    w = await world(db)
    store = BlobStore(tmp_path / "materials")
    service = MeetingService(db, REGISTRAR)
    meeting = await service.create(meeting_in(w.body))
    item = await service.add_item(meeting.id, AgendaItemIn(title="Вопрос"))
    # The name and its extension say nothing: the bytes decide.
    material = await service.add_material(item.id, "../Проект/постановления.txt", data, store)
    assert material.media_type == media_type
    assert material.size == len(data)
    # Path separators go, and the name ends as the type the bytes are.
    assert material.filename == "_Проект_постановления.txt" + EXTENSIONS[media_type]
    assert store.read(material.sha256) == data
    assert (await service.material(material.id)).id == material.id


async def test_materials_refused_by_type_emptiness_and_size(
    db: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await world(db)
    store = BlobStore(tmp_path / "materials")
    service = MeetingService(db, REGISTRAR)
    meeting = await service.create(meeting_in(w.body))
    item = await service.add_item(meeting.id, AgendaItemIn(title="Вопрос"))
    for data, reason in (
        (b"<html><script>alert(1)</script></html>", "unsupported type"),
        (b"MZ\x90\x00 an executable", "unsupported type"),
        (b"PK\x03\x04 a zip that is not a document", "unsupported type"),
        (b"", "empty"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await service.add_material(item.id, "x.pdf", data, store)
        assert caught.value.fields == {"file": reason}
    monkeypatch.setattr(blobs, "MAX_MATERIAL_BYTES", 64)
    with pytest.raises(InvalidInput) as caught:
        await service.add_material(item.id, "big.pdf", PDF + b"0" * 64, store)
    assert caught.value.fields == {"file": "too large"}
    count = await db.scalar(select(func.count()).select_from(Material))
    assert count == 0
    assert [p for p in (tmp_path / "materials").rglob("*") if p.is_file()] == []
    # A member of the body may read materials but not attach them.
    await db.commit()
    with pytest.raises(PermissionDenied):
        await MeetingService(db, w.actor(w.plain)).add_material(item.id, "a.pdf", PDF, store)


async def test_guests_are_added_and_removed(db: AsyncSession) -> None:
    w = await world(db)
    service = MeetingService(db, w.actor(w.secretary))
    meeting = await service.create(meeting_in(w.body))
    guest = await service.add_guest(
        meeting.id, GuestIn(name="Галайда З. И.", affiliation="Профсоюз образования")
    )
    out = await service.out(meeting)
    assert [g.name for g in out.guests] == ["Галайда З. И."]
    with pytest.raises(NotFound):
        await service.remove_guest(meeting.id, guest.id + 100)
    await service.remove_guest(meeting.id, guest.id)
    assert (await service.out(meeting)).guests == []
