"""The meetings' HTML pages end to end: forms posted as a browser posts them, Russian
errors next to the fields, downloads, the event record and the notices."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import FormData
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import AgendaItem, Material, Meeting, MeetingState, Notice
from meetings.room import RoomService
from registry.actor import Actor
from registry.models import Role, SeatRole
from server.settings import Settings
from server.views import meeting_pages
from tests import factories as f
from tests import samples
from tests.server.test_meetings_api import FakeMailer, make_client, meetings_app

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "web" / "templates"
CATALOGUES = ROOT / "web" / "i18n"
MINE = [
    "meetings.html",
    "meeting.html",
    "meeting_form.html",
    "agenda_item_form.html",
    "notices.html",
]
PDF = samples.pdf_bytes()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
async def web_client(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, mailer: FakeMailer
) -> Any:
    return await make_client(aiohttp_client, aiohttp_server, meetings_app(settings, mailer))


# --- helpers ---


async def page(resp: Any, status: int = 200) -> str:
    """The page's HTML, after checking its status and that it obeys the CSP."""
    html = await resp.text()
    assert resp.status == status, html[:3000]
    assert resp.content_type == "text/html"
    assert "style=" not in html
    assert "<style" not in html
    assert "<script" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    return html


async def post_form(login: f.Login, path: str, data: dict[str, str] | None = None) -> Any:
    fields = {"_csrf": login.csrf} | (data or {})
    return await login.client.post(path, data=fields, allow_redirects=False)


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="f-{name}-error">([^<]*)</p>', html)
    assert match, f"no error shown for {name}"
    return match.group(1)


async def count(db: AsyncSession, model: Any, *where: Any) -> int:
    n = await db.scalar(select(func.count()).select_from(model).where(*where))
    await db.commit()
    return int(n or 0)


class World:
    def __init__(self, client: Any, db: AsyncSession) -> None:
        self.client = client
        self.db = db
        self.accounts: dict[str, Any] = {}
        self.members: dict[str, Any] = {}

    async def build(self) -> World:
        db = self.db
        root = await f.org(db, "Пермский крайсовпроф")
        self.body = await f.body(db, root, "Президиум Совета")
        self.other = await f.body(db, root, "Молодёжный совет")
        m = self.members
        m["chair"] = await f.member(db, root, "Иванов", name="Михаил", patronymic="Григорьевич")
        m["secretary"] = await f.member(db, root, "Петрова", name="Анна")
        m["member"] = await f.member(db, root, "Сидоров", name="Сидор")
        m["outsider"] = await f.member(db, root, "Волков", name="Пётр")
        await f.seat(db, self.body, m["chair"], SeatRole.CHAIR)
        await f.seat(db, self.body, m["secretary"], SeatRole.SECRETARY)
        await f.seat(db, self.body, m["member"])
        await f.seat(db, self.other, m["outsider"])
        for name, member in m.items():
            self.accounts[name] = await f.account(db, member_obj=member)
        self.accounts["registrar"] = await f.account(db, Role.REGISTRAR, name="Регистратор")
        self.accounts["auditor"] = await f.account(db, Role.AUDITOR, name="Ревизор")
        await db.commit()
        return self

    async def as_(self, who: str) -> f.Login:
        return await f.login(self.client, self.db, self.accounts[who])

    def actor(self, who: str) -> Actor:
        member = self.members[who]
        return Actor(self.accounts[who].id, member.full_name, member_id=member.id)

    async def meeting(self, login: f.Login, **values: str) -> int:
        data = {
            "body_id": str(self.body.id),
            "title": "Очередное заседание",
            "starts_at": "2026-05-14T10:00",
            "tz": "Asia/Yekaterinburg",
            "place": "г. Пермь, ул. Ленина, 51",
            "form": "mixed",
            "number": "",
            "chair_member_id": "",
            "secretary_member_id": "",
            "speaking_minutes": "5",
        } | values
        resp = await post_form(login, "/meetings/new", data)
        assert resp.status == 303, await resp.text()
        match = re.match(r"^/meetings/(\d+)\?done=created$", resp.headers["Location"])
        assert match, resp.headers["Location"]
        return int(match.group(1))

    async def item(self, login: f.Login, meeting_id: int, title: str, **values: str) -> None:
        data = {"title": title, "rapporteur": "", "draft_resolution": "", "position": ""}
        resp = await post_form(login, f"/meetings/{meeting_id}/items/new", data | values)
        assert resp.status == 303, await resp.text()


# --- the list and convening ---


async def test_anonymous_is_sent_to_log_in(web_client: Any) -> None:
    resp = await web_client.get("/meetings")
    assert resp.status == 401


async def test_list_groups_by_body_and_splits_upcoming_from_past(
    web_client: Any, db: AsyncSession
) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    html = await page(await chair.get("/meetings"))
    assert "Новое заседание" in html
    assert "Предстоящих заседаний нет." in html
    soon = await w.meeting(chair, title="Ближайшее", starts_at="2099-03-23T10:00")
    old = await w.meeting(chair, title="Давнее", starts_at="2020-02-01T10:00")
    html = await page(await chair.get("/meetings"))
    upcoming, past = html.split("Прошедшие", 1)
    assert f'href="/meetings/{soon}"' in upcoming
    assert f'href="/meetings/{old}"' in past
    assert "Президиум Совета" in upcoming
    assert "черновик" in html
    assert "23.03.2099 10:00" in html
    member = await w.as_("member")
    html = await page(await member.get("/meetings"))
    assert "Новое заседание" not in html
    assert "Ближайшее" in html
    outsider = await w.as_("outsider")
    html = await page(await outsider.get("/meetings"))
    assert "Ближайшее" not in html
    resp = await outsider.get("/meetings/new")
    assert resp.status == 403


async def test_new_meeting_form_chooses_body_and_defaults(
    web_client: Any, db: AsyncSession
) -> None:
    w = await World(web_client, db).build()
    registrar = await w.as_("registrar")
    html = await page(await registrar.get("/meetings/new"))  # two bodies: choose one first
    assert 'name="body_id"' in html
    assert "Молодёжный совет" in html
    html = await page(await registrar.get("/meetings/new?body_id=99999"), 422)
    assert field_error(html, "body_id") == "Выберите орган из списка."
    html = await page(await registrar.get(f"/meetings/new?body_id={w.body.id}"))
    chair_id = w.members["chair"].id
    secretary_id = w.members["secretary"].id
    assert re.search(rf'<option value="{chair_id}" selected>[^<]*Иванов', html)
    assert re.search(rf'<option value="{secretary_id}" selected>[^<]*Петрова', html)
    assert (
        '<option value="Asia/Yekaterinburg" selected>UTC+5 — Пермь, Екатеринбург</option>' in html
    )
    assert 'type="datetime-local"' in html
    assert "№ 1 в 20" in html  # the next number is offered
    assert "выбрать другой орган" in html
    # The chair of one body goes straight to its form, with nothing else to choose.
    chair = await w.as_("chair")
    html = await page(await chair.get("/meetings/new"))
    assert f'name="body_id" value="{w.body.id}"' in html
    assert "выбрать другой орган" not in html


async def test_invalid_meeting_form_shows_russian_errors_and_saves_nothing(
    web_client: Any, db: AsyncSession
) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    data = {
        "body_id": str(w.body.id),
        "title": "",
        "starts_at": "32.13.2026 10:00",
        "tz": "Mars/Olympus",
        "place": "",
        "form": "online",
        "number": "0",
        "chair_member_id": str(w.members["outsider"].id),
        "secretary_member_id": "abc",
        "speaking_minutes": "0",
    }
    html = await page(await post_form(chair, "/meetings/new", data), 422)
    assert field_error(html, "title") == "Заполните это поле."
    assert field_error(html, "starts_at") == "Введите дату и время в виде ДД.ММ.ГГГГ ЧЧ:ММ."
    assert field_error(html, "tz") == "Выберите часовой пояс из списка."
    assert field_error(html, "speaking_minutes") == "Введите целое число минут от 1 до 60."
    assert field_error(html, "number") == "Число должно быть не меньше 1."
    assert field_error(html, "secretary_member_id") == "Такой записи нет: укажите номер из списка."
    assert "Данные не сохранены" in html
    data |= {"title": "Заседание", "starts_at": "14.05.2026 10:00", "tz": "Asia/Yekaterinburg"}
    data |= {"number": "", "secretary_member_id": "", "speaking_minutes": "5"}
    html = await page(await post_form(chair, "/meetings/new", data), 422)
    assert field_error(html, "chair_member_id") == (
        "Этот человек не входит в состав органа на дату заседания."
    )
    assert await count(db, Meeting) == 0
    # The body of another: refused outright.
    resp = await post_form(chair, "/meetings/new", data | {"body_id": str(w.other.id)})
    assert resp.status == 403


async def test_convening_converts_the_chosen_zone_and_remembers_it(
    web_client: Any, db: AsyncSession
) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    data = {
        "body_id": str(w.body.id),
        "title": "Заседание Президиума",
        "starts_at": "14.05.2026 10:00",  # typed, as where the browser has no picker
        "tz": "Europe/Moscow",
        "place": "г. Пермь",
        "form": "in_person",
        "number": "7",
        "chair_member_id": "",
        "secretary_member_id": "",
        "speaking_minutes": "3",
    }
    resp = await post_form(chair, "/meetings/new", data)
    assert resp.status == 303
    assert "kvorum-tz=moscow;" in resp.headers["Set-Cookie"]
    meeting = await db.scalar(select(Meeting))
    await db.commit()
    assert meeting is not None
    assert meeting.starts_at == dt.datetime(2026, 5, 14, 7, 0, tzinfo=dt.UTC)
    assert (meeting.number, meeting.speaking_seconds) == (7, 180)
    assert meeting.chair_member_id == w.members["chair"].id
    html = await page(await chair.get(resp.headers["Location"]))
    assert "Запись создана." in html
    assert "<h1>Заседание № 7</h1>" in html
    assert "14.05.2026 10:00" in html  # shown in the zone chosen
    assert "по московскому времени, UTC+3" in html
    assert "очное" in html
    assert "3 мин." in html
    # The same number again is a clash, said at the number.
    html = await page(await post_form(chair, "/meetings/new", data), 409)
    assert field_error(html, "number") == "Заседание с таким номером в этом году у органа уже есть."


async def test_editing_the_meeting(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    secretary = await w.as_("secretary")
    mid = await w.meeting(secretary)
    html = await page(await secretary.get(f"/meetings/{mid}/edit"))
    assert 'value="2026-05-14T10:00"' in html
    assert 'value="Очередное заседание"' in html
    values = {
        "title": "Внеочередное заседание",
        "starts_at": "2026-05-15T11:30",
        "tz": "Asia/Yekaterinburg",
        "place": "онлайн",
        "form": "online",
        "chair_member_id": str(w.members["chair"].id),
        "secretary_member_id": str(w.members["secretary"].id),
        "speaking_minutes": "4",
    }
    resp = await post_form(secretary, f"/meetings/{mid}/edit", values)
    assert resp.status == 303
    html = await page(await secretary.get(f"/meetings/{mid}"))
    assert "Внеочередное заседание" in html
    assert "15.05.2026 11:30" in html
    html = await page(
        await post_form(secretary, f"/meetings/{mid}/edit", values | {"title": ""}), 422
    )
    assert field_error(html, "title") == "Заполните это поле."
    member = await w.as_("member")
    assert (await member.get(f"/meetings/{mid}/edit")).status == 403


# --- the card, the agenda, materials, guests ---


async def test_card_shows_agenda_and_only_allowed_buttons(
    web_client: Any, db: AsyncSession
) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair)
    html = await page(await chair.get(f"/meetings/{mid}"))
    assert "Чтобы объявить заседание:" in html
    assert "добавьте хотя бы один вопрос повестки дня" in html
    assert "Объявить заседание" in html
    assert "Открыть заседание" not in html
    assert "/room" not in html
    await w.item(
        chair,
        mid,
        "О цифровизации профсоюзной деятельности",
        rapporteur="Галайда З. И.",
        draft_resolution="1. Принять к сведению информацию.\r\n2. Считать приоритетными задачами…",
    )
    await w.item(chair, mid, "Разное")
    html = await page(await chair.get(f"/meetings/{mid}?done=item_added"))
    assert "Вопрос добавлен в повестку дня." in html
    assert "<h2>Повестка дня</h2>" in html
    assert "<h3>1. О цифровизации профсоюзной деятельности</h3>" in html
    assert "<h3>2. Разное</h3>" in html
    assert "Докладчик: Галайда З. И." in html
    assert "<p>1. Принять к сведению информацию.</p>" in html
    assert "Чтобы объявить заседание:" not in html
    member = await w.as_("member")
    html = await page(await member.get(f"/meetings/{mid}"))
    assert "Объявить заседание" not in html
    assert "/items/new" not in html
    assert 'type="file"' not in html
    outsider = await w.as_("outsider")
    assert (await outsider.get(f"/meetings/{mid}")).status == 404


async def test_item_forms_errors_move_and_remove(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair)
    html = await page(await chair.get(f"/meetings/{mid}/items/new"))
    assert "<textarea" in html
    empty = {"title": " ", "rapporteur": "", "draft_resolution": "", "position": ""}
    html = await page(await post_form(chair, f"/meetings/{mid}/items/new", empty), 422)
    assert field_error(html, "title") == "Заполните это поле."
    bad_rule = empty | {
        "title": "Об уставе",
        "quorum_mode": "custom",
        "quorum_numerator": "3",
        "quorum_denominator": "2",
        "quorum_strict": "false",
    }
    html = await page(await post_form(chair, f"/meetings/{mid}/items/new", bad_rule), 422)
    assert "Доля не может быть больше единицы" in html
    await w.item(chair, mid, "А")
    await w.item(chair, mid, "Б")
    await w.item(
        chair,
        mid,
        "Об уставе",
        position="1",
        quorum_mode="custom",
        quorum_numerator="2",
        quorum_denominator="3",
        quorum_strict="false",
    )
    items = (await db.scalars(select(AgendaItem).order_by(AgendaItem.position))).all()
    await db.commit()
    assert [i.title for i in items] == ["Об уставе", "А", "Б"]
    html = await page(await chair.get(f"/meetings/{mid}"))
    assert "Особый кворум: не менее 2/3 состава" in html
    statute, a, b = items
    resp = await post_form(chair, f"/meetings/{mid}/items/{statute.id}/move", {"direction": "down"})
    assert resp.status == 303
    resp = await post_form(chair, f"/meetings/{mid}/items/{a.id}/move", {"direction": "up"})
    assert resp.status == 303  # already first: nothing to do
    resp = await post_form(chair, f"/meetings/{mid}/items/{a.id}/move", {"direction": "sideways"})
    assert resp.status == 422
    html = await page(await chair.get(f"/meetings/{mid}/items/{b.id}/edit"))
    assert 'value="Б"' in html
    edit = {
        "title": "Б (уточнено)",
        "rapporteur": "Шалаев В. В.",
        "draft_resolution": "",
        "position": "1",
        "quorum_mode": "body",
    }
    resp = await post_form(chair, f"/meetings/{mid}/items/{b.id}/edit", edit)
    assert resp.status == 303
    resp = await post_form(chair, f"/meetings/{mid}/items/{statute.id}/remove")
    assert resp.status == 303
    rows = (
        await db.execute(
            select(AgendaItem.position, AgendaItem.title).order_by(AgendaItem.position)
        )
    ).all()
    await db.commit()
    assert [tuple(r) for r in rows] == [(1, "Б (уточнено)"), (2, "А")]
    # An item of another meeting is not found under this one.
    other = await w.meeting(chair, number="9")
    resp = await chair.get(f"/meetings/{other}/items/{b.id}/edit")
    assert resp.status == 404


async def test_material_upload_download_and_refusal(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    secretary = await w.as_("secretary")
    mid = await w.meeting(secretary)
    await w.item(secretary, mid, "О цифровизации")
    item = await db.scalar(select(AgendaItem))
    await db.commit()
    assert item is not None

    def form(data: bytes, name: str) -> FormData:
        fd = FormData(quote_fields=False)
        fd.add_field("_csrf", secretary.csrf)
        fd.add_field("file", data, filename=name, content_type="application/octet-stream")
        return fd

    path = f"/meetings/{mid}/items/{item.id}/materials"
    resp = await secretary.client.post(
        path, data=form(PDF, "Справка о цифровизации.pdf"), allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    html = await page(await secretary.client.post(path, data=form(b"GIF89a....", "a.pdf")), 422)
    assert "Можно приложить только PDF, DOCX, PNG, JPEG или WebP." in html
    material = await db.scalar(select(Material))
    await db.commit()
    assert material is not None
    html = await page(await secretary.get(f"/meetings/{mid}"))
    assert f'href="/materials/{material.id}"' in html
    assert "Справка о цифровизации.pdf" in html
    assert f"(PDF, {len(PDF)} Б)" in html

    member = await w.as_("member")
    resp = await member.get(f"/materials/{material.id}")
    assert resp.status == 200
    assert await resp.read() == PDF
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="material-{material.id}.pdf"; '
        f"filename*=UTF-8''{quote('Справка о цифровизации.pdf')}"
    )
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    outsider = await w.as_("outsider")
    resp = await outsider.get(f"/materials/{material.id}")
    assert resp.status == 404
    assert resp.content_type == "text/html"


async def test_guests_on_the_card(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair)
    bad = {"name": "", "affiliation": "", "email": "nobody"}
    html = await page(await post_form(chair, f"/meetings/{mid}/guests", bad), 422)
    assert field_error(html, "name") == "Заполните это поле."
    assert field_error(html, "email").startswith("Это не адрес электронной почты")
    good = {"name": "Галайда З. И.", "affiliation": "Профсоюз образования", "email": ""}
    resp = await post_form(chair, f"/meetings/{mid}/guests", good)
    assert resp.status == 303
    html = await page(await chair.get(f"/meetings/{mid}"))
    assert "Галайда З. И., Профсоюз образования" in html
    guest_id = re.search(rf"/meetings/{mid}/guests/(\d+)/remove", html)
    assert guest_id
    resp = await post_form(chair, f"/meetings/{mid}/guests/{guest_id.group(1)}/remove")
    assert resp.status == 303
    html = await page(await chair.get(f"/meetings/{mid}"))
    assert "Приглашённых нет." in html


# --- life, the record, notices ---


async def test_transitions_from_the_card(
    web_client: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair)
    html = await page(
        await post_form(chair, f"/meetings/{mid}/transition", {"target": "announced"}), 409
    )
    assert "Сначала добавьте в повестку дня хотя бы один вопрос." in html
    await w.item(chair, mid, "О цифровизации")
    resp = await post_form(chair, f"/meetings/{mid}/transition", {"target": "announced"})
    assert resp.status == 303
    assert resp.headers["Location"] == f"/meetings/{mid}?done=announced"
    assert await count(db, Notice, Notice.meeting_id == mid) == 3
    html = await page(await chair.get(resp.headers["Location"]))
    assert "Заседание объявлено. Члены органа получили уведомления." in html
    assert "Открыть регистрацию" in html
    assert "Отменить объявление" in html
    assert f"/meetings/{mid}/calendar.ics" in html
    member = await w.as_("member")
    resp = await post_form(member, f"/meetings/{mid}/transition", {"target": "registration"})
    assert resp.status == 403
    resp = await post_form(member, f"/meetings/{mid}/transition", {"target": "bogus"})
    assert resp.status == 422
    chair = await w.as_("chair")
    resp = await post_form(chair, f"/meetings/{mid}/transition", {"target": "registration"})
    assert resp.status == 303
    html = await page(await chair.get(f"/meetings/{mid}"))
    assert f'href="/meetings/{mid}/room"' in html
    assert "Перейти в зал заседания" in html
    assert "Открыть заседание" in html
    resp = await chair.get(f"/meetings/{mid}/calendar.ics")
    assert resp.status == 200
    assert resp.content_type == "text/calendar"
    ics = await resp.text()
    assert "METHOD:PUBLISH\r\n" in ics
    assert f"UID:meeting-{mid}@localhost\r\n" in ics


async def test_record_page_tells_the_meeting_in_russian(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair)
    await w.item(chair, mid, "О цифровизации")
    for target in ("announced", "registration", "in_session"):
        resp = await post_form(chair, f"/meetings/{mid}/transition", {"target": target})
        assert resp.status == 303
    item = await db.scalar(select(AgendaItem))
    assert item is not None
    # The live room (someone else's pages) records presence, quorum and the floor.
    await RoomService(db, w.actor("chair")).connect(mid)
    await RoomService(db, w.actor("secretary")).register_in_person(
        mid, w.members["secretary"].id, True
    )
    await RoomService(db, w.actor("chair")).set_current_item(mid, item.id)
    request = await RoomService(db, w.actor("member")).raise_hand(mid)
    await RoomService(db, w.actor("chair")).give_floor(mid, request.id)
    await RoomService(db, w.actor("chair")).take_floor(mid)
    await db.commit()
    await RoomService(db, w.actor("chair")).register_in_person(
        mid, w.members["secretary"].id, False
    )
    await db.commit()

    for who in ("member", "auditor", "registrar", "secretary"):
        login = await w.as_(who)
        html = await page(await login.get(f"/meetings/{mid}/record"))
        assert "<h1>Журнал заседания</h1>" in html
    assert "Заседание создано (черновик)" in html
    assert "Заседание объявлено, члены органа уведомлены" in html
    assert "Открыта регистрация участников" in html
    assert "<strong>Заседание открыто</strong>" in html
    assert "Прибыл(а): Иванов Михаил Григорьевич — онлайн" in html
    assert "Прибыл(а): Петрова Анна Сергеевна — в зале" in html
    assert "Выбыл(а): Петрова Анна Сергеевна — в зале" in html
    assert "Кворум есть: присутствуют 2 из 3 (нужно 2)" in html
    assert "Кворума нет: присутствуют 1 из 3 (нужно 2)" in html
    assert "Переход к вопросу 1: О цифровизации" in html
    assert f"Просит слова: {w.members['member'].full_name}" in html
    assert re.search(r"Слово предоставлено: [^<]+ \(до \d\d:\d\d:\d\d\)", html)
    assert "Выступление окончено:" in html
    card = await page(await login.get(f"/meetings/{mid}"))
    assert "Идёт заседание." in card
    outsider = await w.as_("outsider")
    assert (await outsider.get(f"/meetings/{mid}/record")).status == 404


async def test_notices_page_unread_first_and_marking(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    first = await w.meeting(chair, title="Первое")
    second = await w.meeting(chair, title="Второе")
    for mid in (first, second):
        await w.item(chair, mid, "Вопрос")
        resp = await post_form(chair, f"/meetings/{mid}/transition", {"target": "announced"})
        assert resp.status == 303
    member = await w.as_("member")
    html = await page(await member.get("/notices"))
    assert "Непрочитанных: 2." in html
    assert "Отметить все как прочитанные" in html
    notices = (
        await db.scalars(
            select(Notice).where(Notice.member_id == w.members["member"].id).order_by(Notice.id)
        )
    ).all()
    await db.commit()
    resp = await post_form(member, f"/notices/{notices[0].id}/read")
    assert resp.status == 303
    html = await page(await member.get("/notices?done=notice_read"))
    assert "Уведомление отмечено как прочитанное." in html
    assert "Непрочитанных: 1." in html
    # The unread one (the second meeting) comes first.
    assert html.index("Второе") < html.index("Первое")
    assert f'href="/meetings/{second}"' in html
    outsider = await w.as_("outsider")
    resp = await post_form(outsider, f"/notices/{notices[1].id}/read")
    assert resp.status == 404
    member = await w.as_("member")
    resp = await post_form(member, "/notices/read-all")
    assert resp.status == 303
    html = await page(await member.get("/notices"))
    assert "Непрочитанных: 0." in html
    registrar = await w.as_("registrar")
    html = await page(await registrar.get("/notices"))
    assert "не связана с членом профсоюза" in html


async def test_english_locale_renders(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair)
    web_client.session.cookie_jar.update_cookies(
        {"kvorum-locale": "en"}, response_url=web_client.server.make_url("/")
    )
    html = await page(await chair.get(f"/meetings/{mid}"))
    assert "Meeting № 1" in html
    assert "Announce the meeting" in html
    html = await page(await chair.get("/meetings/new"))
    assert "UTC+5 — Perm, Yekaterinburg" in html


# --- catalogues ---


def _keys_used() -> set[str]:
    views = ROOT / "server" / "views" / "meeting_pages.py"
    keys: set[str] = set()
    for path in [*(TEMPLATES / name for name in MINE), views]:
        text = path.read_text("utf-8")
        keys.update(re.findall(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""", text))
    # Keys the view keeps in tables (event kinds such as "meeting.state" are not keys).
    keys.update(
        re.findall(
            r'"((?:meeting\.(?:go|refused|error|missing)|record|tz|field)\.[a-z_.]*[a-z_])"',
            views.read_text("utf-8"),
        )
    )
    return keys


def test_every_key_is_in_both_catalogues() -> None:
    ru = json.loads((CATALOGUES / "ru.json").read_text("utf-8"))
    en = json.loads((CATALOGUES / "en.json").read_text("utf-8"))
    used = _keys_used()
    assert used - set(ru) == set()
    assert used - set(en) == set()
    for prefix, values in {
        "meeting.state": [s.value for s in MeetingState],
        "meeting.form": ["in_person", "online", "mixed", "absentee"],
        "meeting.go": [s.value for s in MeetingState] + ["closed_absentee"],
        "meeting.life_hint": [s.value for s in MeetingState],
        "record.field": ["title", "starts_at", "place", "form", "chair_member_id"],
    }.items():
        for value in values:
            assert f"{prefix}.{value}" in ru
            assert f"{prefix}.{value}" in en
    for _zone, key in meeting_pages.ZONES:
        assert key in ru
        assert key in en


def test_the_record_tells_a_votes_opening_ballots_and_close_in_words() -> None:
    from server.i18n import Catalogues
    from server.views.meeting_pages import describe_vote_event

    items = {7: (2, "О смете")}
    opened = {
        "vote": 3,
        "item": 7,
        "question": "Утвердить смету",
        "roll": [1, 2, 3],
        "result": None,
    }
    closed = opened | {
        "options": ["за", "против", "воздержался"],
        "result": {"voters": 3, "counts": [2, 1, 0], "adopted": True},
    }
    for locale, words in (
        (
            "ru",
            (
                "Открыто голосование по вопросу 2: «Утвердить смету»; в списке голосующих 3",
                "Проголосовали 1 из 3",
                "Голосование по вопросу 2 закрыто: «Утвердить смету». Проголосовали 3: "
                "за — 2, против — 1, воздержался — 0. Решение принято",
            ),
        ),
        (
            "en",
            (
                "A vote opened on item 2: “Утвердить смету”; 3 on the roll",
                "1 of 3 have voted",
                "The vote on item 2 closed: “Утвердить смету”. 3 voted: "
                "за — 2, против — 1, воздержался — 0. Adopted",
            ),
        ),
    ):
        t = Catalogues().translator(locale)
        said = [
            describe_vote_event("vote.opened", opened, t, items),
            describe_vote_event("vote.progress", {"cast": 1, "roll": 3}, t, items),
            describe_vote_event("vote.closed", closed, t, items),
        ]
        assert [text for text, _important in said] == list(words)
    assert describe_vote_event("floor.raised", {}, Catalogues().translator("ru"), items) is None


async def test_meeting_pages_show_the_meetings_zone_whatever_the_readers(
    web_client: Any, db: AsyncSession
) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair, starts_at="2026-05-14T10:00", tz="Asia/Yekaterinburg")
    # The reader last entered a time in Moscow's zone: pages still show Perm's clocks.
    chair.client.session.cookie_jar.update_cookies(
        {meeting_pages.TZ_COOKIE: "moscow"}, response_url=chair.client.server.make_url("/")
    )
    card = await page(await chair.get(f"/meetings/{mid}"))
    assert "14.05.2026 10:00" in card
    assert "08:00" not in card
    assert "по пермскому времени, UTC+5" in card or "по екатеринбургскому времени, UTC+5" in card
    listing = await page(await chair.get("/meetings"))
    assert "14.05.2026 10:00" in listing
    record = await page(await chair.get(f"/meetings/{mid}/record"))
    assert "UTC+5" in record
