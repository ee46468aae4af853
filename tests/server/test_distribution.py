"""Paperless distribution end to end: the secretary sends a signed protocol to member
organisations and members (notices and mail go out), recipients acknowledge it with a
signature by their own certified key, refused statements change nothing, reminders
are counted and spaced an hour apart, and only the meeting's officers manage it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.envelope import sign_document
from crypto.instant import format_instant
from meetings import docsign
from meetings.distribution import Distribution
from meetings.models import Document, DocumentKind, DocumentRecipient, DocumentState, Notice
from registry.actor import Actor
from registry.credentials import CredentialService
from registry.models import Member, Organisation, OrgKind, Role, SeatRole
from server.api import openapi_document
from server.app import create_app
from server.i18n import Catalogues
from server.keys import JINJA, KEYRING, SESSIONMAKER
from server.settings import Settings
from server.views import distribution_pages
from tests import factories as f
from tests import samples
from tests.ballots.votes_setup import Voter, enrol
from tests.factories import LiveServer
from tests.server.test_meeting_pages import count, page, post_form
from tests.server.test_meetings_api import FakeMailer, make_client

ROOT = Path(__file__).resolve().parents[2]
PDF = samples.pdf_bytes()


def distribution_app(settings: Settings, mailer: FakeMailer) -> web.Application:
    """The application with the distribution's routes (added here until app.py wires them)."""
    app = create_app(settings, mailer=mailer)
    if "acknowledge_document" not in app.router.named_resources():
        distribution_pages.routes.install(app)
        distribution_pages.install(app)
    return app


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
async def web_client(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, mailer: FakeMailer
) -> Any:
    return await make_client(aiohttp_client, aiohttp_server, distribution_app(settings, mailer))


# --- the world --------------------------------------------------------------------------------


@dataclass
class World:
    """A presidium's meeting with its signed protocol; a member organisation with a trade
    union committee (chair, secretary, deputy); an organisation with nobody in office;
    members holding certified keys; everyone with an account and an address."""

    client: Any
    db: AsyncSession
    setup: f.MeetingSetup
    root: Organisation
    plant: Organisation  # has a committee: its chair and secretary act for it
    school: Organisation  # nobody holds an office there
    people: dict[str, Member]
    accounts: dict[str, Any]
    keys: dict[str, Voter]
    document: Document

    async def as_(self, who: str) -> f.Login:
        return await f.login(self.client, self.db, self.accounts[who])

    def actor(self, who: str) -> Actor:
        return Actor(self.accounts[who].id, self.people[who].full_name, member_id=self.member(who))

    def member(self, who: str) -> int:
        return self.people[who].id

    async def recipient(self, **where: Any) -> DocumentRecipient:
        row = await self.db.scalar(
            select(DocumentRecipient).filter_by(document_id=self.document.id, **where)
        )
        assert row is not None
        await self.db.refresh(row)
        await self.db.commit()
        return row


async def signed_document(
    db: AsyncSession,
    setup: f.MeetingSetup,
    root: Organisation,
    *,
    seq: int = 1,
    state: DocumentState = DocumentState.SIGNED,
) -> Document:
    """A protocol as issuing leaves it: the fixed PDF, its record and the record's digest
    (the signatures themselves are not needed here)."""
    record = docsign.build_record(
        org=root.id,
        org_name=root.name,
        kind="protocol",
        number="№ 1",
        title="Протокол заседания президиума",
        date=dt.date(2026, 5, 14),
        journal=f"{seq}/2026",
        meeting=docsign.MeetingRef(setup.meeting_id, setup.body.name, 1, 2026),
        pdf=PDF,
        signers=(
            docsign.Signer("secretary", setup.secretary.id, setup.secretary.full_name),
            docsign.Signer("chair", setup.chair.id, setup.chair.full_name),
        ),
        finalised_at=dt.datetime(2026, 5, 14, 12, 0, tzinfo=dt.UTC),
    )
    signed = state is DocumentState.SIGNED
    document = Document(
        organisation_id=root.id,
        meeting_id=setup.meeting_id,
        kind=DocumentKind.PROTOCOL,
        state=state,
        journal_year=2026,
        journal_seq=seq,
        number="№ 1",
        title="Протокол заседания президиума",
        record=record.canonical.decode(),
        record_digest=record.digest,
        pdf=PDF,
        pdf_sha256=hashlib.sha256(PDF).hexdigest(),
        signed_pdf=PDF if signed else None,
        signed_at=dt.datetime.now(dt.UTC) if signed else None,
    )
    db.add(document)
    await db.flush()
    return document


async def world(
    client: Any, db: AsyncSession, *, state: DocumentState = DocumentState.SIGNED
) -> World:
    setup = await f.meeting(db, size=4, items=1)
    root = await db.get(Organisation, setup.body.organisation_id)
    assert root is not None
    plant = await f.org(db, "Профорганизация завода", kind=OrgKind.PRIMARY, parent=root)
    school = await f.org(db, "Профорганизация школы", kind=OrgKind.PRIMARY, parent=root)
    committee = await f.body(db, plant, "Профком завода")
    people = {
        "chair": setup.chair,
        "secretary": setup.secretary,
        "member": setup.members[2],
        "colleague": setup.members[3],
        "plant_chair": await f.member(db, plant, "Заводов", name="Иван"),
        "plant_secretary": await f.member(db, plant, "Цехова", name="Мария"),
        "plant_deputy": await f.member(db, plant, "Сменов", name="Олег"),
        "outsider": await f.member(db, school, "Учителев", name="Пётр"),
    }
    await f.seat(db, committee, people["plant_chair"], SeatRole.CHAIR)
    await f.seat(db, committee, people["plant_secretary"], SeatRole.SECRETARY)
    await f.seat(db, committee, people["plant_deputy"], SeatRole.DEPUTY_CHAIR)
    accounts: dict[str, Any] = {}
    keys: dict[str, Voter] = {}
    keyring = client.server.app[KEYRING]
    for name, person in people.items():
        person.email = f"{name}@example.org"
        accounts[name] = await f.account(db, Role.MEMBER, member_obj=person)
        keys[name] = await enrol(db, keyring, person, accounts[name].id)
    accounts["registrar"] = await f.account(db, Role.REGISTRAR, name="Регистратор")
    document = await signed_document(db, setup, root, state=state)
    await db.commit()
    return World(client, db, setup, root, plant, school, people, accounts, keys, document)


def statement(
    w: World,
    who: str,
    *,
    key: str | None = None,
    org: int = 0,
    member: int | None = None,
    serial: int | None = None,
    record: str | None = None,
    journal: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """A signed «ознакомлен» as the browser builds it (acknowledge.js)."""
    signer = w.keys[key or who]
    moment = (at or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    payload = {
        "type": "kvorum.document-acknowledgement",
        "v": 1,
        "record": record or w.document.record_digest,
        "journal": journal or w.document.journal_number,
        "member": member or w.member(who),
        "serial": serial or w.keys[who].serial,
        "org": org,
        "statement": "ознакомлен",
        "acknowledged_at": format_instant(moment),
    }
    return sign_document(payload, signer.key).to_json()


async def acknowledge(login: f.Login, w: World, envelope: dict[str, Any]) -> Any:
    return await login.post(f"/api/v1/documents/{w.document.id}/acknowledgements", json=envelope)


async def send(login: f.Login, w: World, orgs: list[int], members: list[int]) -> Any:
    data = [("_csrf", login.csrf)]
    data += [("organisation_id", str(o)) for o in orgs]
    data += [("member_id", str(m)) for m in members]
    return await login.client.post(
        f"/documents/{w.document.id}/send", data=data, allow_redirects=False
    )


async def panel_html(w: World, who: str) -> str:
    """The macro the document's page calls, rendered as that page renders it."""
    app = w.client.server.app
    async with app[SESSIONMAKER]() as db, db.begin():
        service = Distribution(db, w.actor(who))
        status = await service.panel(w.document.id)
        candidates = await service.candidates(w.document.id) if status.manage else None
        macro = app[JINJA].get_template("documents/_distribution.html").module.distribution_panel
        return str(macro(Catalogues().translator("ru"), w.document, status, "tok", candidates))


def mails_to(mailer: FakeMailer) -> list[str]:
    return sorted(to for to, _subject, _body in mailer.sent)


# --- sending, notices, mail and the status ----------------------------------------------------


async def test_send_notifies_members_and_the_people_acting_for_organisations(
    web_client: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    w = await world(web_client, db)
    secretary = await w.as_("secretary")
    resp = await send(secretary, w, [w.plant.id, w.school.id], [w.member("member")])
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == f"/documents/{w.document.id}?distribution=sent#distribution"
    assert await count(db, DocumentRecipient) == 3

    # The member by name; the plant's chair and secretary (not the deputy) for the plant;
    # nobody for the school, which has no one in office.
    assert mails_to(mailer) == [
        "member@example.org",
        "plant_chair@example.org",
        "plant_secretary@example.org",
    ]
    _to, subject, body = next(m for m in mailer.sent if m[0] == "plant_chair@example.org")
    assert subject == "Документ на ознакомление: Протокол заседания президиума"
    assert "Направлен организации: Профорганизация завода." in body
    assert "/documents/inbox" in body
    notices = (
        await db.scalars(select(Notice).where(Notice.subject.startswith("Документ на ознак")))
    ).all()
    await db.commit()
    assert sorted(n.member_id for n in notices) == sorted(
        [w.member("member"), w.member("plant_chair"), w.member("plant_secretary")]
    )
    assert all("/documents/inbox" in n.body for n in notices)

    # Sending again to the same recipients is "nothing to send"; a new one is added alone.
    mailer.sent.clear()
    html = await page(await send(secretary, w, [w.plant.id], [w.member("member")]), 422)
    assert "Всем выбранным документ уже направлен." in html
    assert await count(db, DocumentRecipient) == 3
    resp = await send(secretary, w, [w.plant.id], [w.member("member"), w.member("colleague")])
    assert resp.status == 303
    assert await count(db, DocumentRecipient) == 4
    assert mails_to(mailer) == ["colleague@example.org"]

    # Unknown ids are named, and nothing is sent (all or nothing).
    resp = await secretary.post(
        f"/api/v1/documents/{w.document.id}/recipients",
        json={"organisation_ids": [w.root.id, 999999], "member_ids": []},
    )
    assert resp.status == 422
    answer = await resp.json()
    assert answer["error"] == "unknown_recipient"
    assert answer["fields"] == {"organisation_ids": "no such organisation: 999999"}
    resp = await secretary.post(
        f"/api/v1/documents/{w.document.id}/recipients", json={"member_ids": [999999]}
    )
    assert (await resp.json())["fields"] == {"member_ids": "no such member: 999999"}
    resp = await secretary.post(f"/api/v1/documents/{w.document.id}/recipients", json={})
    assert (await resp.json())["error"] == "nothing_to_send"
    assert await count(db, DocumentRecipient) == 4

    status = await (await secretary.get(f"/api/v1/documents/{w.document.id}/recipients")).json()
    assert status["acknowledged"] == 0
    by_name = {r["name"]: r for r in status["recipients"]}
    assert set(by_name) == {
        "Профорганизация завода",
        "Профорганизация школы",
        w.people["member"].full_name,
        w.people["colleague"].full_name,
    }
    assert by_name["Профорганизация завода"]["acting"] == [
        w.people["plant_chair"].short_name,
        w.people["plant_secretary"].short_name,
    ]
    assert by_name["Профорганизация школы"]["acting"] == []
    assert not any(r["can_remind"] for r in status["recipients"])  # just told

    html = await panel_html(w, "secretary")
    assert "Ознакомились: 0 из 4" in html
    assert html.count("не ознакомлен") == 4
    assert "Сегодня у организации нет ни председателя, ни секретаря органа" in html
    assert f'name="organisation_id" type="checkbox" value="{w.plant.id}" checked disabled' in html
    assert "Напомнить можно после" in html


async def test_acknowledgement_is_signed_idempotent_and_shown(
    web_client: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    w = await world(web_client, db)
    secretary = await w.as_("secretary")
    assert (await send(secretary, w, [w.plant.id], [w.member("member")])).status == 303

    member = await w.as_("member")
    # The notice names the document once and links to the inbox.
    notices = await (await member.get("/notices")).text()
    assert '<a href="/documents/inbox">/documents/inbox</a>' in notices
    resp = await member.get("/documents/inbox")
    assert resp.status == 200
    html = await resp.text()
    assert "<h1>Документы на ознакомление</h1>" in html
    assert "Ждут вашего ознакомления: 1." in html
    assert f'href="/documents/{w.document.id}"' in html
    assert "data-acknowledge" in html
    assert '<script type="module" src="/static/js/acknowledge.js"></script>' in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline script (CSP)
    payload = json.loads(
        re.search(r'data-payload="([^"]*)"', html).group(1).replace("&#34;", '"')  # type: ignore[union-attr]
    )
    assert payload == {
        "type": "kvorum.document-acknowledgement",
        "v": 1,
        "record": w.document.record_digest,
        "journal": "1/2026",
        "member": w.member("member"),
        "org": 0,
        "statement": "ознакомлен",
    }

    envelope = statement(w, "member")
    resp = await acknowledge(member, w, envelope)
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert answer["first"] is True
    assert answer["acknowledged_by"] == w.member("member")
    assert answer["statement"]["payload"] == envelope["payload"]
    row = await w.recipient(member_id=w.member("member"))
    assert row.acknowledged_by == w.member("member")
    assert (
        row.acknowledged_at
        == docsign.Acknowledgement.from_payload(envelope["payload"]).acknowledged_at
    )
    assert row.statement is not None
    assert json.loads(row.statement)["signature"] == envelope["signature"]

    # The same statement again: the first answer. Another one: a conflict.
    resp = await acknowledge(member, w, envelope)
    assert resp.status == 200
    assert (await resp.json())["first"] is False
    later = statement(w, "member", at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    resp = await acknowledge(member, w, later)
    assert resp.status == 409
    assert (await resp.json())["error"] == "already_acknowledged"
    assert (await w.recipient(member_id=w.member("member"))).statement == row.statement

    # The plant's secretary acknowledges for the plant; its chair then finds it done.
    plant_secretary = await w.as_("plant_secretary")
    html = await (await plant_secretary.get("/documents/inbox")).text()
    assert "За организацию: Профорганизация завода" in html
    resp = await acknowledge(plant_secretary, w, statement(w, "plant_secretary", org=w.plant.id))
    assert resp.status == 200, await resp.text()
    plant_chair = await w.as_("plant_chair")
    resp = await acknowledge(plant_chair, w, statement(w, "plant_chair", org=w.plant.id))
    assert resp.status == 409
    inbox = await (await plant_chair.get("/api/v1/inbox")).json()
    assert inbox[0]["acknowledged_by_name"] == w.people["plant_secretary"].full_name
    html = await (await plant_chair.get("/documents/inbox")).text()
    assert "Ждут вашего ознакомления: 0." in html
    assert "acknowledge.js" not in html

    secretary = await w.as_("secretary")  # one browser: logging in replaced the session
    status = await (await secretary.get(f"/api/v1/documents/{w.document.id}/recipients")).json()
    assert status["acknowledged"] == 2
    html = await panel_html(w, "secretary")
    assert "Ознакомились: 2 из 2" in html
    assert w.people["plant_secretary"].full_name in html
    # The recipient's own view of the panel: acknowledged, no button.
    html = await panel_html(w, "member")
    assert "Ваше ознакомление" in html
    assert "data-acknowledge" not in html
    assert "Направить документ" not in html


async def test_refused_acknowledgements_change_nothing(
    web_client: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    w = await world(web_client, db)
    other = await signed_document(db, w.setup, w.root, seq=2)
    await db.commit()
    secretary = await w.as_("secretary")
    assert (await send(secretary, w, [w.plant.id], [w.member("member")])).status == 303
    member = await w.as_("member")

    async def refused(envelope: dict[str, Any], status: int, code: str) -> None:
        resp = await acknowledge(member, w, envelope)
        answer = await resp.json()
        assert (resp.status, answer["error"]) == (status, code), answer
        row = await w.recipient(member_id=w.member("member"))
        assert row.acknowledged_at is None
        assert row.statement is None

    # Signed with another key than the serial's (someone else's key, the member's serial).
    await refused(statement(w, "member", key="colleague"), 403, "wrong_key")
    # Another member's key and serial, for this member.
    await refused(
        statement(w, "member", key="colleague", serial=w.keys["colleague"].serial),
        403,
        "unknown_key",
    )
    # A statement naming another member.
    await refused(statement(w, "colleague"), 403, "not_yours")
    # A statement of another document (its record and journal number).
    await refused(
        statement(w, "member", record=other.record_digest, journal=other.journal_number),
        422,
        "wrong_document",
    )
    await refused(statement(w, "member", journal="2/2026"), 422, "wrong_document")
    # For an organisation the member does not act for.
    await refused(statement(w, "member", org=w.plant.id), 403, "not_recipient")
    # Dated an hour back.
    await refused(
        statement(w, "member", at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)), 422, "clock"
    )
    # Not a signed acknowledgement at all, or a tampered one.
    await refused(
        {"payload": {"type": "x", "v": 1}, "signer": "0" * 32, "signature": "A" * 86},
        422,
        "wrong_type",
    )
    tampered = statement(w, "member")
    tampered["payload"]["statement"] = "не читал"
    await refused(tampered, 422, "malformed")
    forged = statement(w, "member")
    forged["signature"] = statement(
        w, "member", at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    )["signature"]
    await refused(forged, 403, "bad_signature")

    # A revoked key.
    await CredentialService(db, Actor.system(), web_client.server.app[KEYRING]).revoke(
        w.keys["member"].serial, "lost"
    )
    await db.commit()
    await refused(statement(w, "member"), 403, "revoked")

    # Someone of the meeting the document was not sent to; someone not even of the meeting.
    colleague = await w.as_("colleague")
    resp = await acknowledge(colleague, w, statement(w, "colleague"))
    assert (resp.status, (await resp.json())["error"]) == (403, "not_recipient")
    outsider = await w.as_("outsider")
    resp = await acknowledge(outsider, w, statement(w, "outsider"))
    assert (resp.status, (await resp.json())["error"]) == (404, "not_found")


# --- reminders --------------------------------------------------------------------------------


async def test_remind_bumps_and_refuses_within_the_hour(
    web_client: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    w = await world(web_client, db)
    secretary = await w.as_("secretary")
    assert (await send(secretary, w, [w.plant.id], [w.member("member")])).status == 303
    plant = await w.recipient(organisation_id=w.plant.id)
    person = await w.recipient(member_id=w.member("member"))

    # Just sent: too soon, for one or for all.
    html = await page(
        await post_form(
            secretary, f"/documents/{w.document.id}/remind", {"recipient_id": str(plant.id)}
        ),
        409,
    )
    assert "Напоминание уже отправлялось меньше часа назад." in html
    resp = await secretary.post(f"/api/v1/documents/{w.document.id}/reminders", json={})
    assert (resp.status, (await resp.json())["error"]) == (409, "too_soon")

    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    await db.execute(
        update(DocumentRecipient)
        .where(DocumentRecipient.document_id == w.document.id)
        .values(sent_at=two_hours_ago)
    )
    await db.commit()
    mailer.sent.clear()
    resp = await post_form(
        secretary, f"/documents/{w.document.id}/remind", {"recipient_id": str(plant.id)}
    )
    assert resp.status == 303
    assert resp.headers["Location"].endswith("?distribution=reminded#distribution")
    plant = await w.recipient(organisation_id=w.plant.id)
    assert plant.reminders == 1
    assert plant.reminded_at is not None
    assert mails_to(mailer) == ["plant_chair@example.org", "plant_secretary@example.org"]
    assert mailer.sent[0][1].startswith("Напоминание: документ на ознакомление")
    assert (await w.recipient(member_id=w.member("member"))).reminders == 0

    # Again at once: refused, nothing bumped.
    resp = await post_form(
        secretary, f"/documents/{w.document.id}/remind", {"recipient_id": str(plant.id)}
    )
    assert resp.status == 409
    assert (await w.recipient(organisation_id=w.plant.id)).reminders == 1

    # "Remind all" skips whoever was told within the hour, and the acknowledged.
    member = await w.as_("member")
    assert (await acknowledge(member, w, statement(w, "member"))).status == 200
    secretary = await w.as_("secretary")
    resp = await secretary.post(f"/api/v1/documents/{w.document.id}/reminders", json={})
    assert (resp.status, (await resp.json())["error"]) == (409, "too_soon")
    resp = await secretary.post(
        f"/api/v1/documents/{w.document.id}/reminders", json={"recipient_ids": [person.id]}
    )
    assert (resp.status, (await resp.json())["error"]) == (409, "already_acknowledged")
    await db.execute(
        update(DocumentRecipient)
        .where(DocumentRecipient.id == plant.id)
        .values(reminded_at=two_hours_ago)
    )
    await db.commit()
    mailer.sent.clear()
    resp = await secretary.post(f"/api/v1/documents/{w.document.id}/reminders", json={})
    assert resp.status == 200
    answer = await resp.json()
    assert answer["told"] == 2
    assert {r["id"]: r["reminders"] for r in answer["recipients"]} == {plant.id: 2, person.id: 0}
    assert len(mailer.sent) == 2
    html = await panel_html(w, "secretary")
    assert "2 (последнее" in html


# --- who may ----------------------------------------------------------------------------------


async def test_only_the_secretary_chair_or_registrar_send_and_see_the_status(
    web_client: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    w = await world(web_client, db)
    member = await w.as_("member")  # of the body, but neither secretary nor chair
    assert (await send(member, w, [w.plant.id], [])).status == 403
    resp = await member.get(f"/api/v1/documents/{w.document.id}/recipients")
    assert resp.status == 403
    resp = await post_form(member, f"/documents/{w.document.id}/remind")
    assert resp.status == 403
    outsider = await w.as_("outsider")  # not of the meeting, not a recipient
    resp = await outsider.get(f"/api/v1/documents/{w.document.id}/recipients")
    assert resp.status == 404
    assert await count(db, DocumentRecipient) == 0
    assert mailer.sent == []
    assert "Рассылка" not in await panel_html(w, "member")

    chair = await w.as_("chair")
    assert (await send(chair, w, [w.plant.id], [])).status == 303
    registrar = await w.as_("registrar")
    assert (await send(registrar, w, [], [w.member("outsider")])).status == 303
    assert await count(db, DocumentRecipient) == 2
    # Now a recipient, the outsider still may not manage it.
    outsider = await w.as_("outsider")
    resp = await outsider.get(f"/api/v1/documents/{w.document.id}/recipients")
    assert resp.status == 403
    html = await (await outsider.get("/documents/inbox")).text()
    assert "Протокол № 1" in html


async def test_an_unsigned_document_is_not_sent(
    web_client: Any, db: AsyncSession, mailer: FakeMailer
) -> None:
    w = await world(web_client, db, state=DocumentState.SIGNING)
    secretary = await w.as_("secretary")
    html = await page(await send(secretary, w, [w.plant.id], [w.member("member")]), 409)
    assert "Документ ещё не подписан" in html
    resp = await secretary.post(
        f"/api/v1/documents/{w.document.id}/recipients", json={"organisation_ids": [w.plant.id]}
    )
    assert (resp.status, (await resp.json())["error"]) == (409, "not_signed")
    assert await count(db, DocumentRecipient) == 0
    assert mailer.sent == []
    html = await panel_html(w, "secretary")
    assert "Разослать документ можно после того" in html
    assert "Направить документ" not in html


async def test_inbox_without_a_member(web_client: Any, db: AsyncSession) -> None:
    w = await world(web_client, db)
    registrar = await w.as_("registrar")
    html = await page(await registrar.get("/documents/inbox"))
    assert "Учётная запись не связана с членом профсоюза" in html
    assert await (await registrar.get("/api/v1/inbox")).json() == []


# --- catalogues -------------------------------------------------------------------------------


def test_every_distribution_key_is_in_both_catalogues() -> None:
    ru = json.loads((ROOT / "web" / "i18n" / "ru.json").read_text("utf-8"))
    en = json.loads((ROOT / "web" / "i18n" / "en.json").read_text("utf-8"))
    mine = {k for k in ru if k.startswith("distribution.")}
    assert mine == {k for k in en if k.startswith("distribution.")}
    used: set[str] = set()
    for name in ("_distribution.html", "inbox.html"):
        text = (ROOT / "web" / "templates" / "documents" / name).read_text("utf-8")
        used |= set(re.findall(r"""\bt\(\s*["'](distribution\.[a-z_.]+[a-z_])["']""", text))
    used |= set(distribution_pages.FLASHES.values())
    used |= {f"distribution.kind.{k.value}" for k in DocumentKind}
    used |= {f"distribution.kind_of.{k}" for k in ("organisation", "member")}
    used |= {f"distribution.state.{k}" for k in ("acknowledged", "pending")}
    used |= {
        f"distribution.refused.{code}"
        for code in (
            *("nothing_to_send", "already_sent", "unknown_recipient", "not_signed"),
            *("too_soon", "already_acknowledged", "nothing_to_remind"),
        )
    }
    assert used - mine == set()


# --- in Chromium ------------------------------------------------------------------------------


@pytest.fixture
async def distribution_live(aiohttp_server: Any, settings: Settings) -> LiveServer:
    """conftest's live server, with the distribution's routes (until app.py wires them)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live = dataclasses.replace(settings, port=port, public_url=f"http://localhost:{port}")
    app = distribution_app(live, FakeMailer())
    return LiveServer(live, await aiohttp_server(app, host="127.0.0.1", port=port))


async def test_acknowledging_in_the_browser_with_the_members_own_key(
    browser: Any, distribution_live: LiveServer, db: AsyncSession
) -> None:
    from playwright.async_api import expect

    from tests.web.test_vote_browser import enrol_key, logged_in

    live = distribution_live
    setup = await f.meeting(db, size=4, items=1)
    root = await db.get(Organisation, setup.body.organisation_id)
    assert root is not None
    document = await signed_document(db, setup, root)
    reader, keyless = setup.members[2], setup.members[3]
    secretary = Actor(None, setup.secretary.full_name, member_id=setup.secretary.id)
    await Distribution(db, secretary).send(document.id, [], [reader.id, keyless.id])
    await db.commit()

    # Without a key on the device: no button, the way to make one.
    context = await logged_in(browser, live, db, keyless)
    page = await context.new_page()
    await page.goto(live.url("/documents/inbox"))
    box = page.locator("[data-acknowledge]")
    await expect(box.locator('[data-role="no-key"]')).to_be_visible()
    await expect(box.locator('[data-role="acknowledge"]')).to_be_hidden()
    await expect(box.get_by_role("link", name="Создать ключ подписи")).to_have_attribute(
        "href", "/account/security#signing-keys"
    )

    # With the key made on this device: signed in the browser, accepted by the server.
    context = await logged_in(browser, live, db, reader)
    await enrol_key(context, live)
    page = await context.new_page()
    await page.goto(live.url("/documents/inbox"))
    box = page.locator("[data-acknowledge]")
    await box.get_by_role("button", name="Ознакомлен").click()
    await expect(box).to_have_attribute("data-state", "acknowledged")
    await expect(box.locator('[data-role="message"]')).to_contain_text(
        "Ознакомление подтверждено подписью"
    )
    row = await db.scalar(select(DocumentRecipient).where(DocumentRecipient.member_id == reader.id))
    assert row is not None
    assert row.acknowledged_by == reader.id
    assert row.statement is not None
    assert json.loads(row.statement)["payload"]["statement"] == "ознакомлен"
    await db.commit()  # every SQLite transaction takes the write lock: let the server in
    await page.reload()
    await expect(page.locator(f"#inbox-{row.id}")).to_have_attribute("data-state", "acknowledged")
    await expect(page.locator("[data-acknowledge]")).to_have_count(0)


def test_the_api_is_described_in_openapi() -> None:
    document = openapi_document([distribution_pages.routes], title="Kvorum API", version="test")
    paths = document["paths"]
    assert set(paths) == {
        "/api/v1/documents/{document_id}/acknowledgements",
        "/api/v1/documents/{document_id}/recipients",
        "/api/v1/documents/{document_id}/reminders",
        "/api/v1/inbox",
    }
    assert set(paths["/api/v1/documents/{document_id}/recipients"]) == {"get", "post"}
    assert "AcknowledgementIn" in document["components"]["schemas"]
