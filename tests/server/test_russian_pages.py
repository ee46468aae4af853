"""Every page, as every role, in the states a union's meeting goes through, read in
Russian: no English sentence (a server's refusal, a verifier's line), no UTC and no tz
database name shown to a person; the same for the notices and e-mails they are sent.

The pages are found from the application's own routes, so a page added later is walked
too (or the test names the path parameter it cannot fill)."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.web import Application
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote
from meetings.blobs import BlobStore
from meetings.diagnosis.campaigns import CampaignService
from meetings.diagnosis.models import Campaign, Evidence
from meetings.diagnosis.schemas import CampaignIn
from meetings.elections.models import Election
from meetings.elections.schemas import AbsenteeElectionIn, CandidateIn, ElectionIn
from meetings.elections.services import ElectionService
from meetings.models import Document, Meeting, MeetingState, Notice
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from meetings.votes import AbsenteeVoteIn, VoteDesk
from registry.diagnosis.services import MethodologyService
from registry.models import Account, Body, Member, Organisation, OrgKind, Role, SeatRole
from server.app import create_app
from server.i18n import GENERIC_CODES
from server.keys import KEYRING, SETTINGS
from server.settings import Settings
from server.views.votes_api import send_vote_notice
from tests import factories as f
from tests.meetings.closed_meeting import held_meeting
from tests.samples import pdf_bytes
from tests.server.test_document_signing import finalise, sign_as, voter


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
async def client(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, mailer: RecordingMailer
) -> Any:
    from aiohttp import CookieJar

    server = await aiohttp_server(create_app(settings, mailer=mailer))
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


# --- what counts as untranslated ----------------------------------------------------------

# Latin words allowed on a Russian page: names of formats, standards and the product.
_ALLOWED_WORDS = {
    *("kvorum", "pdf", "docx", "png", "jpeg", "webp", "sha", "json", "qr", "utc", "id", "csv"),
    *("ru", "en"),
}
_SKIP_TAGS = {"script", "style", "code", "pre", "samp", "kbd", "textarea", "title"}
_URL = re.compile(r"(https?://|/)[\w./?=&%#~+-]*[\w/]|[\w.+-]+@[\w-]+(\.[\w-]+)+")
_WORD = re.compile(r"[A-Za-z]{2,}")
# Two Latin words in a row with nothing Russian between them: an English phrase.
_PHRASE = re.compile(r"\b[A-Za-z]{2,}\b[\s,:;'’()-]+\b[A-Za-z]{2,}\b")
_UTC = re.compile(r"\bUTC\b(?![+−-]\d)|\bGMT\b|\b(?:Europe|Asia|America)/[A-Z][a-z]+")


class _Text(HTMLParser):
    """The text a person sees: outside scripts, code and the folded-away details for the
    administrator (the server's own words, under a Russian heading)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._skip or tag in _SKIP_TAGS or "tech-detail" in classes:
            if tag not in {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}:
                self._skip.append(tag)
            return
        if tag in {"input", "button"}:
            values = dict(attrs)
            if values.get("type") in {"submit", "button"} and values.get("value"):
                self.parts.append(values["value"] or "")
        for name, value in attrs:
            if name in {"placeholder", "title", "aria-label", "alt"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(" ".join(p.split()) for p in parser.parts if p.strip())


def untranslated(text: str) -> list[str]:
    """English phrases in a text meant to be Russian (URLs, e-mails, allowed names aside)."""
    found = []
    for line in text.splitlines():
        line = _URL.sub(" ", line)
        words = [w for w in _WORD.findall(line) if w.lower() not in _ALLOWED_WORDS]
        if not words:
            continue
        cleaned = " ".join(
            "" if w.lower() in _ALLOWED_WORDS else w for w in re.split(r"(\W+)", line)
        )
        if _PHRASE.search(cleaned):
            found.append(line.strip()[:160])
    return found


def shows_utc(text: str) -> list[str]:
    return [line.strip()[:160] for line in text.splitlines() if _UTC.search(line)]


def test_the_detector_catches_what_it_is_for() -> None:
    assert untranslated("no quorum: 5 of 11 present, 6 needed")
    assert untranslated("FAILED: pdf: the document is 10 bytes long")
    assert untranslated("✔ a signed Kvorum PDF: protocol № 1")
    assert not untranslated("Подписанный PDF Kvorum: протокол № 1 (SHA-256 ab12)")
    assert not untranslated("Откройте https://kvorum.example.org/meetings/1 или ivan@mail.ru")
    assert shows_utc("Начало: 07.12.2026 17:00 UTC")
    assert shows_utc("Голосование до (Asia/Yekaterinburg)")
    assert not shows_utc("07.12.2026 22:00 (по пермскому времени, UTC+5)")
    assert (
        visible_text('<p>Да<details class="tech-detail"><p>no such thing</p></details></p>') == "Да"
    )


# --- the pages ----------------------------------------------------------------------------


async def _ids(db: AsyncSession) -> dict[str, list[str]]:
    """Values for each path parameter of the pages: the ids of what the states hold."""

    async def all_of(model: Any) -> list[str]:
        return [str(i) for i in (await db.scalars(select(model.id))).all()]

    meetings = await all_of(Meeting)
    return {
        "meeting_id": meetings,
        "vote_id": await all_of(Vote),
        "document_id": await all_of(Document),
        "member_id": (await all_of(Member))[:3],
        "org_id": (await all_of(Organisation))[:3],
        "body_id": await all_of(Body),
        "election_id": await all_of(Election),
        "campaign_id": await all_of(Campaign),
        "evidence_id": await all_of(Evidence),
    }


# Pages that are not HTML for a person, or take a secret from a link.
_NOT_PAGES = (
    "/healthz",
    "/favicon.ico",
    "/locale/",
    "/invite/",
    "/guest/",
    "/card/text",
    "/card/qr.svg",
    "/registry/keys.json",
    "/registry/revocations.json",
    "/registry/import/done",
    "/calendar.ics",
    "/ws",
    "/materials/",
    "{kind}{format}",
    "{which}.pdf",
    "/items/{item_id}",
)


def _pages(app: Application, ids: dict[str, list[str]]) -> list[str]:
    paths: list[str] = []
    for route in app.router.routes():
        if route.method != "GET" or route.resource is None:
            continue
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter") or ""
        if not path or path.startswith(("/api", "/static")) or any(n in path for n in _NOT_PAGES):
            continue
        names = re.findall(r"\{(\w+)\}", path)
        unknown = [n for n in names if n not in ids]
        assert not unknown, f"no values for {unknown} of {path}: add them to _ids"
        expanded = [path]
        for name in names:
            expanded = [p.replace(f"{{{name}}}", v) for p in expanded for v in ids[name]]
        paths += [p for p in expanded if p not in paths]
    return paths


async def _another_meeting(db: AsyncSession, setup: f.MeetingSetup, state: MeetingState) -> int:
    """A further meeting of the same body, taken as far as ``state``."""
    service = MeetingService(db, setup.actor(setup.chair, Role.CHAIR))
    meeting = await service.create(
        MeetingIn(
            body_id=setup.body.id,
            title=f"Заседание ({state.value})",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        )
    )
    await service.add_item(meeting.id, AgendaItemIn(title="Об итогах года"))
    path = [MeetingState.ANNOUNCED, MeetingState.REGISTRATION, MeetingState.IN_SESSION]
    for target in path[: path.index(state) + 1]:
        await service.transition(meeting.id, target)
    await db.commit()
    return meeting.id


async def test_every_page_reads_russian_for_every_role(
    db: AsyncSession, client: Any, mailer: RecordingMailer
) -> None:
    # A meeting held and closed, its protocol signed by both; another in session; one
    # announced (its notices sent); an absentee vote open.
    held = await held_meeting(db, client)
    secretary = await held.as_("secretary", db)
    response = await finalise(secretary, held)
    assert response.status == 303, await response.text()
    document_id = int(re.search(r"/documents/(\d+)", response.headers["Location"])[1])  # type: ignore[index]
    assert (await sign_as(secretary, document_id, voter(held, "secretary"))).status == 201
    chair = await held.as_("chair", db)
    assert (await sign_as(chair, document_id, voter(held, "chair"))).status == 201
    signed_pdf = await (await chair.get(f"/documents/{document_id}/signed.pdf")).read()

    setup = held.vm.setup
    await _another_meeting(db, setup, MeetingState.IN_SESSION)
    announced = await _another_meeting(db, setup, MeetingState.ANNOUNCED)
    # An absentee vote open, its notice sent by mail to members with an address.
    setup.members[2].email = "member@example.org"
    desk = VoteDesk(db, setup.actor(setup.chair, Role.CHAIR), client.server.app[KEYRING])
    _vote, notice = await desk.open_absentee(
        AbsenteeVoteIn(
            body_id=setup.body.id,
            title="Об утверждении плана",
            question="Утвердить план работы\nна 2027 год",
            closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
        )
    )
    # An election on the announced meeting's item with a candidate, and one between
    # meetings.
    elections = ElectionService(
        db, setup.actor(setup.chair, Role.CHAIR), client.server.app[KEYRING]
    )
    meeting = await MeetingService(db, setup.actor(setup.chair, Role.CHAIR)).get(announced)
    election = await elections.create_on_item(
        announced, ElectionIn(item_id=meeting[0].items[0].id, office="председатель")
    )
    await elections.nominate(
        election.id, CandidateIn(name="Кандидатова Анна", nominated_by="самовыдвижение")
    )
    await elections.create_absentee(
        AbsenteeElectionIn(
            body_id=setup.body.id,
            office="заместитель председателя",
            closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=5),
        )
    )
    await db.commit()
    await send_vote_notice(client.server.app, notice)
    # A self-diagnosis campaign of the union for a member organisation under it, whose
    # committee the member chairs (so they answer for it), with a draft and a file.
    union = await db.get(Organisation, setup.body.organisation_id)
    assert union is not None
    shop = await f.org(db, "Цеховая организация", kind=OrgKind.MEMBER_ORGANISATION, parent=union)
    committee = await f.body(db, shop, "Профком цеха")
    await f.seat(db, committee, setup.members[2], SeatRole.CHAIR)
    stored = await MethodologyService(db, f.SYSTEM).ensure_default(union.id)
    store = BlobStore(client.server.app[SETTINGS].data_dir / "diagnosis")
    campaign, _told = await CampaignService(db, f.SYSTEM, store).launch(
        CampaignIn(
            organisation_id=union.id,
            methodology_id=stored.id,
            title="Самодиагностика",
            deadline=dt.datetime.now(dt.UTC) + dt.timedelta(days=5),
            depth=1,
        )
    )
    responder = setup.actor(setup.members[2])
    await CampaignService(db, responder, store).save(campaign.id, shop.id, {"1.1": True})
    await CampaignService(db, responder, store).add_evidence(
        campaign.id, shop.id, "5.4", "charter.pdf", pdf_bytes("charter")
    )
    await db.commit()
    union = await db.get(Organisation, setup.body.organisation_id)
    assert union is not None
    registrar = await f.account(db, Role.REGISTRAR, member_obj=await f.member(db, union))
    auditor = await f.account(db, Role.AUDITOR, Role.MEMBER, member_obj=await f.member(db, union))
    member_account = await db.scalar(
        select(Account).where(Account.member_id == setup.members[2].id)
    )
    assert member_account is not None
    await db.commit()

    logins = {
        "registrar": lambda: f.login(client, db, registrar),
        "auditor": lambda: f.login(client, db, auditor),
        "member": lambda: f.login(client, db, member_account),
        "chair": lambda: held.as_("chair", db),
        "secretary": lambda: held.as_("secretary", db),
    }
    ids = await _ids(db)
    pages = _pages(client.server.app, ids)
    assert "/documents/verify" in pages
    assert f"/meetings/{held.meeting_id}/room" in pages
    problems: dict[str, list[str]] = {}
    seen = 0
    for role, log_in in logins.items():
        login = await log_in()
        for path in pages:
            response = await login.get(path)
            if response.content_type != "text/html":
                continue
            seen += 1
            text = visible_text(await response.text())
            for line in untranslated(text) + shows_utc(text):
                problems.setdefault(f"{role} {path} ({response.status})", []).append(line)
        # The verifier's report, passed and failed, as this role sees it.
        for name, data in (("signed", signed_pdf), ("broken", signed_pdf[:-40])):
            form = FormData()
            form.add_field("_csrf", login.csrf)
            form.add_field("file", data, filename=f"{name}.pdf", content_type="application/pdf")
            response = await login.post("/documents/verify", data=form)
            text = visible_text(await response.text())
            for line in untranslated(text) + shows_utc(text):
                problems.setdefault(f"{role} verify {name}", []).append(line)
        # A refusal said on the page that caused it: closing an announced meeting.
        response = await login.post(
            f"/meetings/{announced}/transition", data={"target": "closed", "_csrf": login.csrf}
        )
        text = visible_text(await response.text())
        for line in untranslated(text) + shows_utc(text):
            problems.setdefault(f"{role} refused transition ({response.status})", []).append(line)
    assert seen > 100
    assert not problems, "\n".join(f"{where}: {lines}" for where, lines in problems.items())

    # What members were sent: the notices and the e-mails.
    notices = (await db.scalars(select(Notice))).all()
    assert notices
    assert any("по пермскому времени, UTC+5" in n.body for n in notices)
    for notice in notices:
        assert not shows_utc(notice.subject)
        assert not shows_utc(notice.body), notice.body
    assert mailer.sent
    for _to, subject, body in mailer.sent:
        assert not shows_utc(subject)
        assert not shows_utc(body), body


def test_every_refusal_the_code_names_has_a_sentence_in_both_languages() -> None:
    """A code or catalogue key given to a domain error anywhere in the server's packages
    has its ``error.<key>`` in Russian and English: a new refusal cannot reach a page in
    English."""
    root = Path(__file__).resolve().parents[2]
    catalogues = {
        locale: json.loads((root / "web" / "i18n" / f"{locale}.json").read_text("utf-8"))
        for locale in ("ru", "en")
    }
    named: set[str] = set()
    for package in ("registry", "meetings", "ballots", "server"):
        for path in (root / package).rglob("*.py"):
            named |= set(re.findall(r'\b(?:code|key)="([a-z_]+)"', path.read_text("utf-8")))
    assert "no_quorum" in named
    missing = sorted(
        f"{locale}: error.{name}"
        for name in named - GENERIC_CODES
        for locale, messages in catalogues.items()
        if f"error.{name}" not in messages
    )
    assert not missing
