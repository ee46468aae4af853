"""Benchmark: a self-diagnosis campaign over 300 organisations, from answers to results.

Everything is made by the application's own services in a freshly migrated SQLite
database (a temp dir): a regional council with a presidium (its secretary runs the
campaign) and ``--orgs`` member organisations, each with a committee whose chair holds a
certified signing key; a published methodology of 60 questions (the shipped one, its
sections repeated under new codes: 16 sections, 64 questions, every answer type). The
campaign is launched for all of them; each chair saves the answers (a mix of levels)
and submits them signed with their key, through :class:`CampaignService`, each in a
transaction of its own.

Measured:

* ``respond``: the saves and signed submissions of all organisations (one-off, total
  and per organisation);
* warm (after one untimed run), ``--repeat`` times, median and range:
  ``results`` — :func:`meetings.diagnosis.results.campaign_results` in a fresh
  session; ``page`` — the results page's work: results, the charts it shows (levels,
  sections, 30 profiles) and the template; ``pdf`` — the report of all organisations:
  results, every chart, the HTML and WeasyPrint's PDF.

Then the same two as a repeated view does them, the campaign unchanged (the server keeps
results and charts per state of the campaign, and the PDF on disk): ``page_cached`` —
access, the latest journal entry, the kept results and charts, the template;
``pdf_cached`` — access, the latest journal entry, the kept file.

Baselines, same run: ``score only`` — :func:`registry.diagnosis.scoring.score` over the
same 300 answer sets in memory (no database, no output: the floor of ``results``); and
``one-page PDF`` — WeasyPrint laying out one page of text with the same stylesheet
through the same renderer (the fixed cost of any PDF). The target (issue 18): the
council's results page and the PDF report within 2 s warm. Usage::

    .venv/bin/python bench/diagnosis.py [--orgs 300] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crypto.ed25519 import SigningKey
from crypto.envelope import sign_document
from crypto.instant import format_instant
from meetings.blobs import BlobStore
from meetings.diagnosis.campaigns import CampaignService
from meetings.diagnosis.report import REPORT_PROFILES, charts_of
from meetings.diagnosis.results import campaign_results
from meetings.diagnosis.schemas import CampaignIn
from registry.actor import Actor
from registry.bodies import BodyService
from registry.credentials import CredentialService
from registry.diagnosis.methodology import AnswerType, Methodology
from registry.diagnosis.scoring import score
from registry.diagnosis.services import MethodologyService, default_methodology
from registry.members import MemberService
from registry.models import Account, BodyKind, Member, OrgKind, Role, SeatRole
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from registry.schemas import BodyIn, MemberIn, OrganisationIn, QuorumIn, SeatIn
from server import database
from server.docrender import DocumentRenderer
from server.i18n import Catalogues
from server.pages import make_jinja
from server.views.diagnosis_api import ResultsCache, chart_words
from tests.samples import pdf_bytes

SYSTEM = Actor.system("bench")
PDF = pdf_bytes("evidence")  # a valid one-page PDF: the evidence of the file questions


def sixty_questions() -> Methodology:
    """The shipped methodology with its sections repeated under new codes: 64 questions."""
    data = default_methodology().to_json()
    copies = []
    for section in data["sections"]:
        twin = json.loads(json.dumps(section))
        twin["code"] = f"{section['code']}b"
        twin["title"] = f"{section['title']} (продолжение)"
        for question in twin["questions"]:
            question["code"] = f"{question['code']}b"
        copies.append(twin)
    data["sections"] = data["sections"] + copies
    data["code"] = "digital-maturity-64"
    return Methodology.from_json(data)


def answers(methodology: Methodology, n: int) -> dict[str, Any]:
    """A varied, complete answer set (file questions are answered by evidence)."""
    out: dict[str, Any] = {}
    for i, q in enumerate(methodology.questions_by_code.values()):
        level = (n + i) % 3
        if q.type is AnswerType.YES_NO:
            out[q.code] = level > 0
        elif q.type is AnswerType.SCALE:
            out[q.code] = [q.scale_min, (q.scale_min + q.scale_max) // 2, q.scale_max][level]
        elif q.type is AnswerType.NUMBER:
            out[q.code] = [0, q.target // 2, q.target][level]
        elif q.type is AnswerType.CHOICE:
            options = sorted(q.options, key=lambda o: o.points)
            out[q.code] = options[[0, len(options) // 2, -1][level]].label
        elif q.type is AnswerType.LINK:
            out[q.code] = "https://example.org/evidence"
    return out


async def build(
    sessions: async_sessionmaker[AsyncSession], keyring: RegistryKeyring, store: BlobStore, n: int
) -> tuple[int, float, Methodology]:
    """The council, ``n`` organisations and the campaign; returns (campaign id, seconds
    the answering took, the methodology)."""
    methodology = sixty_questions()
    people = []
    async with sessions() as db, db.begin():
        orgs = OrganisationService(db, SYSTEM)
        root = await orgs.create(OrganisationIn(name="Краевой союз", kind=OrgKind.REGIONAL_COUNCIL))
        stored = await MethodologyService(db, SYSTEM).save(root.id, methodology)
        await MethodologyService(db, SYSTEM).publish(stored.id)
        for i in range(n):
            org = await orgs.create(
                OrganisationIn(
                    name=f"Первичная организация № {i + 1}",
                    kind=OrgKind.MEMBER_ORGANISATION,
                    parent_id=root.id,
                )
            )
            body = await BodyService(db, SYSTEM).create(
                BodyIn(
                    organisation_id=org.id, kind=BodyKind.OTHER, name="Профком", quorum=QuorumIn()
                )
            )
            member = await MemberService(db, SYSTEM).create(
                MemberIn(
                    organisation_id=org.id,
                    surname="Председателева",
                    name="Анна",
                    patronymic="Сергеевна",
                    card_number=f"59-{i:06d}",
                )
            )
            await BodyService(db, SYSTEM).add_seat(
                body.id,
                SeatIn(member_id=member.id, role=SeatRole.CHAIR, term_start=dt.date(2020, 1, 1)),
            )
            row = await db.get(Member, member.id)
            assert row is not None
            account = Account(member_id=row.id, display_name=row.full_name)
            db.add(account)
            await db.flush()
            key = SigningKey.generate()
            device, _ = await CredentialService(db, SYSTEM, keyring).enrol_key(
                row, account.id, key.public_key, label="bench", valid_days=30
            )
            people.append((org.id, member.id, key, device.serial))
        campaign, _notify = await CampaignService(db, SYSTEM, store).launch(
            CampaignIn(
                organisation_id=root.id,
                methodology_id=stored.id,
                title="Самодиагностика",
                deadline=utcnow() + dt.timedelta(days=10),
                depth=1,
            )
        )
        campaign_id = campaign.id
    file_questions = [
        q.code for q in methodology.questions_by_code.values() if q.type is AnswerType.FILE
    ]
    start = time.perf_counter()
    for n_org, (org_id, member_id, key, serial) in enumerate(people):
        actor = Actor(None, "chair", frozenset({Role.MEMBER}), member_id)
        async with sessions() as db, db.begin():
            service = CampaignService(db, actor, store)
            q = await service.save(campaign_id, org_id, answers(methodology, n_org))
            for code in file_questions:
                await service.add_evidence(campaign_id, org_id, code, "устав.pdf", PDF)
            q = await service.questionnaire(campaign_id, org_id)
            assert q.template is not None
            payload = q.template | {
                "serial": serial,
                "submitted_at": format_instant(utcnow().replace(microsecond=0)),
            }
            await service.submit(campaign_id, org_id, sign_document(payload, key).to_json())
    return campaign_id, time.perf_counter() - start, methodology


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def _timed(repeat: int, work: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await work()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    return _stats(times)


async def run(n: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await asyncio.to_thread(database.upgrade, url)
        keyring = RegistryKeyring.open(Path(tmp) / "keys", now=utcnow())
        store = BlobStore(Path(tmp) / "diagnosis")
        engine = database.create_engine(url)
        try:
            sessions = database.make_sessionmaker(engine)
            campaign_id, respond, methodology = await build(sessions, keyring, store, n)
            jinja = make_jinja()
            renderer = DocumentRenderer(jinja)
            words = chart_words(Catalogues().translator("ru"))

            async def results() -> Any:
                async with sessions() as db, db.begin():
                    return await campaign_results(CampaignService(db, SYSTEM, store), campaign_id)

            async def page() -> str:
                found = await results()
                charts = charts_of(found, words, profiles=30)
                t = Catalogues().translator("ru")
                from registry.localtime import LocalClock

                return jinja.get_template("diagnosis_results.html").render(
                    t=t,
                    locale="ru",
                    actor=None,
                    csrf_token="",
                    path="/",
                    query={},
                    results=found,
                    charts=charts,
                    local=LocalClock("Asia/Yekaterinburg"),
                )

            pages: list[int] = []

            async def pdf() -> bytes:
                found = await results()
                charts = charts_of(found, words, profiles=REPORT_PROFILES)
                html = jinja.get_template("documents/diagnosis_report.html").render(
                    results=found, owner="Краевой союз", charts=charts, when="сегодня"
                )
                data = renderer.pdf(html)
                pages.append(data.count(b"/Type /Page\n") or data.count(b"/Type /Page"))
                return data

            cache = ResultsCache()
            report_file = Path(tmp) / "report.pdf"
            report_file.write_bytes(await pdf())

            async def page_cached() -> str:
                # What a repeated view does: check access, read the campaign's latest
                # journal entry, take the kept results and charts, fill the template.
                async with sessions() as db, db.begin():
                    service = CampaignService(db, SYSTEM, store)
                    found, revision = await cache.results(service, campaign_id)
                charts = cache.charts(found, revision, words, "ru", 30)
                t = Catalogues().translator("ru")
                from registry.localtime import LocalClock

                return jinja.get_template("diagnosis_results.html").render(
                    t=t,
                    locale="ru",
                    actor=None,
                    csrf_token="",
                    path="/",
                    query={},
                    results=found,
                    charts=charts,
                    local=LocalClock("Asia/Yekaterinburg"),
                )

            async def pdf_cached() -> bytes:
                async with sessions() as db, db.begin():
                    service = CampaignService(db, SYSTEM, store)
                    await cache.results(service, campaign_id)
                return report_file.read_bytes()

            scored = [answers(methodology, i) for i in range(n)]

            async def score_only() -> None:
                for each in scored:
                    score(methodology, each)

            async def one_page() -> bytes:
                return renderer.pdf(
                    "<html><head><link rel='stylesheet' href='/static/css/document.css'></head>"
                    "<body class='document'><p>Одна страница текста.</p></body></html>"
                )

            out = {
                "orgs": n,
                "questions": len(methodology.questions_by_code),
                "respond_s": respond,
                "respond_per_org_ms": respond / n * 1000,
                "results": await _timed(repeat, results),
                "page": await _timed(repeat, page),
                "pdf": await _timed(max(1, repeat // 2), pdf),
                "page_cached": await _timed(repeat, page_cached),
                "pdf_cached": await _timed(repeat, pdf_cached),
                "score_only": await _timed(repeat, score_only),
                "one_page_pdf": await _timed(repeat, one_page),
                "pdf_bytes": len(await pdf()),
                "python": platform.python_version(),
            }
            return out
        finally:
            await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.orgs, args.repeat))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['orgs']} organisations, {result['questions']} questions")
    print(
        f"respond (save + evidence + signed submit): {result['respond_s']:.1f} s, "
        f"{result['respond_per_org_ms']:.0f} ms per organisation"
    )
    for name in (
        "results",
        "page",
        "pdf",
        "page_cached",
        "pdf_cached",
        "score_only",
        "one_page_pdf",
    ):
        s = result[name]
        low, high = s["min"] * 1000, s["max"] * 1000
        print(f"{name:>14}: {s['median'] * 1000:8.0f} ms  (range {low:.0f}–{high:.0f})")
    ratio = result["results"]["median"] / result["score_only"]["median"]
    pdf_ratio = result["pdf"]["median"] / result["one_page_pdf"]["median"]
    print(
        f"results / score only: {ratio:.1f}×; pdf / one-page pdf: {pdf_ratio:.1f}×; "
        f"PDF {result['pdf_bytes'] // 1024} KiB"
    )


if __name__ == "__main__":
    main()
