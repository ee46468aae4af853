"""The meetings' JSON API end to end: real app, real database, real sessions."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import CookieJar, FormData, web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import Meeting, MeetingEvent, Notice
from registry.models import Account, Member, Role, SeatRole
from server.api import openapi_document
from server.app import create_app
from server.mailer import Mailer
from server.settings import Settings
from server.views import meeting_pages, meetings_api
from tests import factories as f

PDF = b"%PDF-1.4\n% a small test document\n%%EOF\n"
STARTS = "2026-05-14T10:00:00+05:00"


class FakeMailer:
    """Keeps letters instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


def meetings_app(settings: Settings, mailer: Mailer | None = None) -> web.Application:
    """The application with the meetings' routes (added here until app.py wires them)."""
    app = create_app(settings, mailer=mailer)
    named = app.router.named_resources()
    if "list_meetings" not in named:
        meetings_api.routes.install(app)
    if "meeting_list" not in named:
        meeting_pages.install(app)
    return app


async def make_client(aiohttp_client: Any, aiohttp_server: Any, app: web.Application) -> Any:
    server = await aiohttp_server(app)
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
async def api(aiohttp_client: Any, aiohttp_server: Any, settings: Settings, mailer: Any) -> Any:
    return await make_client(aiohttp_client, aiohttp_server, meetings_app(settings, mailer))


@dataclass
class People:
    db: AsyncSession
    client: Any
    body_id: int
    accounts: dict[str, Account]
    members: dict[str, Member]

    async def as_(self, who: str) -> f.Login:
        return await f.login(self.client, self.db, self.accounts[who])


async def people(client: Any, db: AsyncSession) -> People:
    root = await f.org(db, "Пермский крайсовпроф")
    body = await f.body(db, root, "Президиум")
    other = await f.body(db, root, "Молодёжный совет")
    members = {
        "chair": await f.member(db, root, "Иванов", name="Михаил", email="ivanov@example.ru"),
        "secretary": await f.member(db, root, "Петрова", email="petrova@example.ru"),
        "member": await f.member(db, root, "Сидоров", email=""),
        "outsider": await f.member(db, root, "Волков", email="volkov@example.ru"),
    }
    await f.seat(db, body, members["chair"], SeatRole.CHAIR)
    await f.seat(db, body, members["secretary"], SeatRole.SECRETARY)
    await f.seat(db, body, members["member"])
    await f.seat(db, other, members["outsider"], SeatRole.CHAIR)
    accounts = {name: await f.account(db, member_obj=m) for name, m in members.items()}
    accounts["registrar"] = await f.account(db, Role.REGISTRAR, name="Регистратор")
    accounts["auditor"] = await f.account(db, Role.AUDITOR, name="Ревизор")
    await db.commit()
    return People(db, client, body.id, accounts, members)


async def new_meeting(login: f.Login, body_id: int, **extra: Any) -> dict[str, Any]:
    resp = await login.post(
        "/api/v1/meetings",
        json={"body_id": body_id, "title": "Заседание Президиума", "starts_at": STARTS} | extra,
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def add_item(login: f.Login, meeting_id: int, title: str, **extra: Any) -> dict[str, Any]:
    resp = await login.post(f"/api/v1/meetings/{meeting_id}/items", json={"title": title} | extra)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def count(db: AsyncSession, model: Any, *where: Any) -> int:
    n = await db.scalar(select(func.count()).select_from(model).where(*where))
    await db.commit()
    return int(n or 0)


# --- the record ---------------------------------------------------------------------------------


async def test_anonymous_gets_401_in_error_shape(api: Any) -> None:
    resp = await api.get("/api/v1/meetings")
    assert resp.status == 401
    assert await resp.json() == {
        "error": "not_authenticated",
        "detail": "log in to continue",
        "fields": {},
        "message": "Вы не вошли в систему",
    }


async def test_chair_convenes_with_defaults(api: Any, db: AsyncSession) -> None:
    p = await people(api, db)
    chair = await p.as_("chair")
    meeting = await new_meeting(chair, p.body_id, place="г. Пермь", form="mixed")
    assert meeting["code"] == "№ 1"
    assert (meeting["year"], meeting["number"]) == (2026, 1)
    assert meeting["starts_at"] == "2026-05-14T05:00:00Z"
    assert meeting["state"] == "draft"
    assert meeting["chair_name"] == p.members["chair"].full_name
    assert meeting["secretary_member_id"] == p.members["secretary"].id
    assert meeting["body_name"] == "Президиум"
    assert meeting["roles"] == ["chair", "member"]
    assert meeting["transitions"] == ["announced"]
    second = await new_meeting(chair, p.body_id)
    assert second["number"] == 2

    resp = await chair.get(f"/api/v1/meetings?body_id={p.body_id}")
    assert resp.status == 200
    listed = await resp.json()
    assert sorted(m["number"] for m in listed) == [1, 2]
    assert set(listed[0]) >= {"id", "code", "title", "starts_at", "state", "form"}

    resp = await chair.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"title": "Внеочередное заседание"}
    )
    assert resp.status == 200
    assert (await resp.json())["title"] == "Внеочередное заседание"


async def test_invalid_input_is_refused_with_fields(api: Any, db: AsyncSession) -> None:
    p = await people(api, db)
    chair = await p.as_("chair")
    resp = await chair.post(
        "/api/v1/meetings",
        json={"body_id": p.body_id, "title": "", "starts_at": "2026-05-14T10:00:00"},
    )
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "invalid_input"
    assert set(body["fields"]) == {"title", "starts_at"}
    assert "UTC offset" in body["fields"]["starts_at"]
    resp = await chair.post(
        "/api/v1/meetings",
        json={"body_id": p.body_id, "title": "X", "starts_at": STARTS, "colour": "red"},
    )
    assert resp.status == 422
    assert "colour" in (await resp.json())["fields"]
    await new_meeting(chair, p.body_id, number=5)
    resp = await chair.post(
        "/api/v1/meetings",
        json={"body_id": p.body_id, "title": "X", "starts_at": STARTS, "number": 5},
    )
    assert resp.status == 409
    assert (await resp.json())["fields"] == {"number": "already taken"}
    assert await count(db, Meeting) == 1


async def test_forbidden_and_not_found(api: Any, db: AsyncSession) -> None:
    p = await people(api, db)
    meeting = await new_meeting(await p.as_("chair"), p.body_id)
    member = await p.as_("member")
    resp = await member.post(
        "/api/v1/meetings", json={"body_id": p.body_id, "title": "X", "starts_at": STARTS}
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "forbidden"
    resp = await member.get(f"/api/v1/meetings/{meeting['id']}")
    assert resp.status == 200
    assert (await resp.json())["transitions"] == []
    resp = await member.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "Моё"})
    assert resp.status == 403
    # An outsider cannot even learn that the meeting exists.
    outsider = await p.as_("outsider")
    for path in (f"/api/v1/meetings/{meeting['id']}", f"/api/v1/meetings/{meeting['id']}/events"):
        resp = await outsider.get(path)
        assert resp.status == 404
        assert (await resp.json())["error"] == "not_found"
    assert await (await outsider.get("/api/v1/meetings")).json() == []
    resp = await outsider.get("/api/v1/meetings/999999")
    assert resp.status == 404
    resp = await outsider.get("/api/v1/meetings/abc")
    assert resp.status in (404, 422)


# --- the agenda and materials ---------------------------------------------------------------------


async def test_agenda_items_move_and_go(api: Any, db: AsyncSession) -> None:
    p = await people(api, db)
    secretary = await p.as_("secretary")
    meeting = await new_meeting(secretary, p.body_id)
    a = await add_item(secretary, meeting["id"], "О цифровизации", rapporteur="Галайда З. И.")
    b = await add_item(secretary, meeting["id"], "Разное")
    c = await add_item(
        secretary,
        meeting["id"],
        "Об уставе",
        position=1,
        quorum={"numerator": 2, "denominator": 3, "strict": False},
    )
    assert (c["position"], c["quorum_numerator"], c["quorum_strict"]) == (1, 2, False)
    resp = await secretary.patch(f"/api/v1/items/{a['id']}", json={"position": 3})
    assert resp.status == 200
    got = await (await secretary.get(f"/api/v1/meetings/{meeting['id']}")).json()
    assert [i["title"] for i in got["items"]] == ["Об уставе", "Разное", "О цифровизации"]
    assert [i["position"] for i in got["items"]] == [1, 2, 3]
    resp = await secretary.post(f"/api/v1/items/{b['id']}/remove")
    assert resp.status == 204
    got = await (await secretary.get(f"/api/v1/meetings/{meeting['id']}")).json()
    assert [(i["position"], i["title"]) for i in got["items"]] == [
        (1, "Об уставе"),
        (2, "О цифровизации"),
    ]
    resp = await secretary.patch(
        f"/api/v1/items/{a['id']}",
        json={"quorum": {"numerator": 1, "denominator": 2}, "clear_quorum": True},
    )
    assert resp.status == 422
    member = await p.as_("member")
    resp = await member.patch(f"/api/v1/items/{a['id']}", json={"title": "Моё"})
    assert resp.status == 403
    resp = await member.post(f"/api/v1/items/{a['id']}/remove")
    assert resp.status == 403


async def test_materials_upload_and_download(api: Any, db: AsyncSession) -> None:
    p = await p_with_item(api, db)
    secretary = await p.people.as_("secretary")
    form = FormData(quote_fields=False)  # as browsers send it: the name in raw UTF-8
    form.add_field("file", PDF, filename="Проект постановления.pdf", content_type="text/plain")
    resp = await secretary.post(f"/api/v1/items/{p.item_id}/materials", data=form)
    assert resp.status == 201, await resp.text()
    material = await resp.json()
    assert material["media_type"] == "application/pdf"  # sniffed, not the claimed text/plain
    assert material["filename"] == "Проект постановления.pdf"
    assert material["size"] == len(PDF)

    member = await p.people.as_("member")
    resp = await member.get(f"/api/v1/materials/{material['id']}")
    assert resp.status == 200
    assert await resp.read() == PDF
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('Проект постановления.pdf')}" in disposition
    assert f'filename="material-{material["id"]}.pdf"' in disposition

    outsider = await p.people.as_("outsider")
    resp = await outsider.get(f"/api/v1/materials/{material['id']}")
    assert resp.status == 404

    secretary = await p.people.as_("secretary")
    bad = FormData()
    bad.add_field("file", b"<script>alert(1)</script>", filename="x.pdf")
    resp = await secretary.post(f"/api/v1/items/{p.item_id}/materials", data=bad)
    assert resp.status == 422
    assert (await resp.json())["fields"] == {"file": "unsupported type"}
    resp = await secretary.post(f"/api/v1/items/{p.item_id}/materials", json={"file": "x"})
    assert resp.status == 422
    member = await p.people.as_("member")
    again = FormData()
    again.add_field("file", PDF, filename="a.pdf")
    resp = await member.post(f"/api/v1/items/{p.item_id}/materials", data=again)
    assert resp.status == 403


@dataclass
class WithItem:
    people: People
    meeting_id: int
    item_id: int


async def p_with_item(api: Any, db: AsyncSession) -> WithItem:
    p = await people(api, db)
    secretary = await p.as_("secretary")
    meeting = await new_meeting(secretary, p.body_id)
    item = await add_item(secretary, meeting["id"], "О цифровизации профсоюзной деятельности")
    return WithItem(p, meeting["id"], item["id"])


async def test_guests(api: Any, db: AsyncSession) -> None:
    w = await p_with_item(api, db)
    secretary = await w.people.as_("secretary")
    resp = await secretary.post(
        f"/api/v1/meetings/{w.meeting_id}/guests",
        json={"name": "Галайда З. И.", "email": "Galaida@Example.RU"},
    )
    assert resp.status == 201
    guest = await resp.json()
    assert guest["email"] == "galaida@example.ru"
    resp = await secretary.post(
        f"/api/v1/meetings/{w.meeting_id}/guests", json={"name": "X", "email": "not-an-address"}
    )
    assert resp.status == 422
    assert "email" in (await resp.json())["fields"]
    resp = await secretary.post(f"/api/v1/meetings/{w.meeting_id}/guests/{guest['id']}/remove")
    assert resp.status == 204
    resp = await secretary.post(f"/api/v1/meetings/{w.meeting_id}/guests/{guest['id']}/remove")
    assert resp.status == 404


# --- life, the log, notices -----------------------------------------------------------------------


async def test_transitions_announce_notify_and_mail(
    api: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    p = await people(api, db)
    chair = await p.as_("chair")
    meeting = await new_meeting(chair, p.body_id)
    mid = meeting["id"]
    resp = await chair.post(f"/api/v1/meetings/{mid}/transition", json={"target": "announced"})
    assert resp.status == 409
    assert "agenda item" in (await resp.json())["detail"]
    await add_item(chair, mid, "О цифровизации")
    resp = await chair.post(f"/api/v1/meetings/{mid}/transition", json={"target": "closed"})
    assert resp.status == 409
    assert (await resp.json())["error"] == "bad_transition"
    resp = await chair.post(f"/api/v1/meetings/{mid}/transition", json={"target": "nowhere"})
    assert resp.status == 422
    assert mailer.sent == []

    resp = await chair.post(f"/api/v1/meetings/{mid}/transition", json={"target": "announced"})
    assert resp.status == 200, await resp.text()
    got = await resp.json()
    assert got["state"] == "announced"
    assert sorted(got["transitions"]) == ["draft", "registration"]
    # Every member of the body has a notice; those with an address got a letter.
    assert await count(db, Notice, Notice.meeting_id == mid) == 3
    assert sorted(to for to, _s, _b in mailer.sent) == ["ivanov@example.ru", "petrova@example.ru"]
    _to, subject, text = mailer.sent[0]
    assert subject == "Заседание № 1: Заседание Президиума"
    assert "14.05.2026 10:00 (UTC+5)" in text
    assert "1. О цифровизации" in text
    assert f"/meetings/{mid}" in text

    member = await p.as_("member")
    resp = await member.post(f"/api/v1/meetings/{mid}/transition", json={"target": "registration"})
    assert resp.status == 403
    secretary = await p.as_("secretary")
    resp = await secretary.post(
        f"/api/v1/meetings/{mid}/transition", json={"target": "registration"}
    )
    assert resp.status == 200
    resp = await secretary.post(f"/api/v1/meetings/{mid}/transition", json={"target": "in_session"})
    assert resp.status == 403
    chair = await p.as_("chair")
    resp = await chair.post(f"/api/v1/meetings/{mid}/transition", json={"target": "in_session"})
    assert resp.status == 200
    assert (await resp.json())["current_item_id"] == got["items"][0]["id"]
    resp = await chair.post(f"/api/v1/meetings/{mid}/transition", json={"target": "closed"})
    assert resp.status == 200
    assert len(mailer.sent) == 2  # only announcing mails


async def test_event_log_is_readable_by_participants_in_order(api: Any, db: AsyncSession) -> None:
    w = await p_with_item(api, db)
    chair = await w.people.as_("chair")
    resp = await chair.post(
        f"/api/v1/meetings/{w.meeting_id}/transition", json={"target": "announced"}
    )
    assert resp.status == 200
    for who in ("member", "auditor", "registrar", "chair"):
        login = await w.people.as_(who)
        resp = await login.get(f"/api/v1/meetings/{w.meeting_id}/events")
        assert resp.status == 200, who
        events = await resp.json()
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e["kind"] for e in events] == ["meeting.created", "agenda.changed", "meeting.state"]
        assert events[2]["data"] == {"from": "draft", "to": "announced", "current_item": None}
        assert events[2]["actor"] == w.people.members["chair"].full_name
        assert events[0]["v"] == 1
        assert events[0]["meeting"] == w.meeting_id
        assert events[0]["at"].endswith("Z")
    resp = await login.get(f"/api/v1/meetings/{w.meeting_id}/events?after=2")
    assert [e["seq"] for e in await resp.json()] == [3]
    resp = await login.get(f"/api/v1/meetings/{w.meeting_id}/events?after=-1")
    assert resp.status == 422
    assert "after" in (await resp.json())["fields"]
    resp = await login.get(f"/api/v1/meetings/{w.meeting_id}/events?after=1&limit=1")
    assert [e["seq"] for e in await resp.json()] == [2]
    assert await count(db, MeetingEvent, MeetingEvent.meeting_id == w.meeting_id) == 3


async def test_notices_are_the_callers_own(api: Any, db: AsyncSession) -> None:
    w = await p_with_item(api, db)
    chair = await w.people.as_("chair")
    await chair.post(f"/api/v1/meetings/{w.meeting_id}/transition", json={"target": "announced"})
    member = await w.people.as_("member")
    notices = await (await member.get("/api/v1/notices")).json()
    assert len(notices) == 1
    assert notices[0]["read_at"] is None
    assert notices[0]["meeting_id"] == w.meeting_id
    assert "Повестка дня" in notices[0]["body"]
    resp = await member.post(f"/api/v1/notices/{notices[0]['id']}/read")
    assert resp.status == 200
    assert (await resp.json())["read_at"] is not None
    outsider = await w.people.as_("outsider")
    assert await (await outsider.get("/api/v1/notices")).json() == []
    resp = await outsider.post(f"/api/v1/notices/{notices[0]['id']}/read")
    assert resp.status == 404
    registrar = await w.people.as_("registrar")  # no member behind the account
    assert await (await registrar.get("/api/v1/notices")).json() == []


async def test_announcement_by_smtp_carries_an_icalendar_invitation(
    aiohttp_client: Any,
    aiohttp_server: Any,
    settings: Settings,
    db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import aiosmtplib

    sent: list[tuple[Any, dict[str, Any]]] = []

    async def fake_send(message: Any, **kw: Any) -> None:
        if message["To"] == "petrova@example.ru":
            raise aiosmtplib.SMTPRecipientsRefused([])  # one bad address stops nobody else
        sent.append((message, kw))

    monkeypatch.setattr(aiosmtplib, "send", fake_send)
    smtp = dataclasses.replace(
        settings, smtp_host="smtp.example.ru", smtp_from="Кворум <kvorum@example.ru>"
    )
    client = await make_client(aiohttp_client, aiohttp_server, meetings_app(smtp))
    p = await people(client, db)
    chair = await p.as_("chair")
    meeting = await new_meeting(chair, p.body_id, place="г. Пермь, зал 2")
    await add_item(chair, meeting["id"], "О цифровизации; разное")
    resp = await chair.post(
        f"/api/v1/meetings/{meeting['id']}/transition", json={"target": "announced"}
    )
    assert resp.status == 200
    assert len(sent) == 1
    message, kw = sent[0]
    assert kw["hostname"] == "smtp.example.ru"
    assert message["To"] == "ivanov@example.ru"
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    parts = list(parsed.iter_attachments())
    assert len(parts) == 1
    cal = parts[0]
    assert cal.get_content_type() == "text/calendar"
    assert cal.get_param("method") == "REQUEST"
    assert cal.get_filename() == f"meeting-{meeting['id']}.ics"
    ics = cal.get_content()
    if isinstance(ics, bytes):
        ics = ics.decode("utf-8")
    assert f"UID:meeting-{meeting['id']}@localhost" in ics
    assert "DTSTART:20260514T050000Z" in ics
    assert "ORGANIZER" in ics
    assert "mailto:kvorum@example.ru" in ics
    assert "mailto:ivanov@example.ru" in ics
    assert "О цифровизации\\; разное" in ics.replace("\r\n ", "")
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Повестка дня" in body.get_content()


def test_openapi_describes_every_operation() -> None:
    doc = openapi_document([meetings_api.routes], title="t", version="v")
    paths = doc["paths"]
    expected = {
        ("/api/v1/meetings", "get"),
        ("/api/v1/meetings", "post"),
        ("/api/v1/meetings/{meeting_id}", "get"),
        ("/api/v1/meetings/{meeting_id}", "patch"),
        ("/api/v1/meetings/{meeting_id}/transition", "post"),
        ("/api/v1/meetings/{meeting_id}/events", "get"),
        ("/api/v1/meetings/{meeting_id}/items", "post"),
        ("/api/v1/items/{item_id}", "patch"),
        ("/api/v1/items/{item_id}/remove", "post"),
        ("/api/v1/items/{item_id}/materials", "post"),
        ("/api/v1/materials/{material_id}", "get"),
        ("/api/v1/meetings/{meeting_id}/guests", "post"),
        ("/api/v1/meetings/{meeting_id}/guests/{guest_id}/remove", "post"),
        ("/api/v1/notices", "get"),
        ("/api/v1/notices/{notice_id}/read", "post"),
    }
    assert {(path, method) for path, ops in paths.items() for method in ops} == expected
    upload = paths["/api/v1/items/{item_id}/materials"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    events = paths["/api/v1/meetings/{meeting_id}/events"]["get"]
    assert {p["name"] for p in events["parameters"]} == {"meeting_id", "after", "limit"}
    assert "MeetingIn" in doc["components"]["schemas"]
