"""Self-diagnosis campaigns over HTTP: launch, drafts, evidence, the signed submission,
refusals (with their codes, changing nothing), return, reminders, close and reopen,
results and their exports, and the agenda item made from them."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from aiohttp import FormData
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.diagnosis.models import Participant
from meetings.models import AgendaItem, Material, Notice
from meetings.preparation import MeetingService
from meetings.schemas import MeetingIn
from registry.actor import Actor
from registry.diagnosis.services import default_methodology
from registry.models import Body
from server.keys import SETTINGS
from server.outbox import OutboxMessage
from tests.samples import pdf_bytes, png_bytes
from tests.server.diagnosis_setup import Council, answers_for, council, signed

API = "/api/v1/diagnosis"
METHODOLOGY = default_methodology()


def _deadline(days: int = 14) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


async def _launch(c: Council, db: AsyncSession, client: Any, **extra: Any) -> dict[str, Any]:
    secretary = await c.as_("secretary", db, client)
    body = {
        "organisation_id": c.root_id,
        "methodology_id": c.methodology_id,
        "title": "Самодиагностика 2026 года",
        "deadline": _deadline(),
        "depth": 1,
    } | extra
    response = await secretary.post(f"{API}/campaigns", json=body)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _state(db: AsyncSession, campaign_id: int, org_id: int) -> tuple[str, str]:
    await db.rollback()
    row = await db.scalar(
        select(Participant).where(
            Participant.campaign_id == campaign_id, Participant.organisation_id == org_id
        )
    )
    assert row is not None
    state = row.state.value, row.answers
    await db.rollback()  # SQLite: hold no lock between requests
    return state


async def _attach(login: Any, path: str, question: str, data: bytes, name: str) -> Any:
    form = FormData()
    form.add_field("question", question)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await login.post(f"{path}/evidence", data=form)


async def _fill(login: Any, path: str, level: int = 2) -> dict[str, Any]:
    """Save every answer and attach a file to each file question; the questionnaire."""
    response = await login.post(
        f"{path}/answers", json={"answers": answers_for(METHODOLOGY, level)}
    )
    assert response.status == 200, await response.text()
    for code in ("5.4", "6.4"):
        response = await _attach(login, path, code, pdf_bytes(f"evidence {code}"), f"{code}.pdf")
        assert response.status == 201, await response.text()
    return dict(await (await login.get(path)).json())


async def test_a_campaign_from_launch_to_results(
    db: AsyncSession, client: Any, aiohttp_client: Any
) -> None:
    c = await council(db, client, aiohttp_client)
    campaign = await _launch(c, db, client)
    cid = campaign["id"]
    assert campaign["total"] == 3
    assert campaign["submitted"] == 0
    # The responders were told in the app and by mail.
    notices = (await db.scalars(select(Notice).where(Notice.member_id == c.responder_ids[0]))).all()
    assert [n.subject for n in notices] == ["Самодиагностика: Самодиагностика 2026 года"]
    assert "по пермскому времени" in notices[0].body
    letters = (await db.scalars(select(OutboxMessage))).all()
    assert sorted(m.recipient for m in letters) == [f"chair{n}@example.org" for n in range(3)]
    await db.rollback()

    # The first organisation's chair: a draft, refused answers change nothing.
    chair = await c.as_("chair0", db, client)
    org = c.org_ids[0]
    path = f"{API}/campaigns/{cid}/organisations/{org}"
    mine = await (await chair.get(f"{API}/campaigns")).json()
    assert [x["id"] for x in mine] == [cid]
    assert [p["organisation_id"] for p in mine[0]["participants"]] == [org]
    response = await chair.post(f"{path}/answers", json={"answers": {"1.1": True}})
    assert response.status == 200, await response.text()
    before = await _state(db, cid, org)
    assert before[0] == "draft"
    for bad, field in (
        ({"1.9": 101}, "scale"),
        ({"1.1": "да"}, "yes"),
        ({"9.9": True}, "no such question"),
        ({"1.1": False, "1.8": "ежечасно"}, "options"),
        ({"5.4": "0" * 64}, "attach"),
    ):
        response = await chair.post(f"{path}/answers", json={"answers": bad})
        assert response.status == 422, bad
        answer = await response.json()
        assert answer["error"] == "answer_invalid", answer
        assert field in answer["detail"], answer
        assert await _state(db, cid, org) == before
    # Evidence: a type that is not accepted is refused; a PDF is kept.
    response = await _attach(chair, path, "5.4", b"<html>not a pdf</html>", "x.pdf")
    assert (response.status, (await response.json())["error"]) == (422, "evidence_refused")
    response = await _attach(chair, path, "99", png_bytes(), "x.png")
    assert (response.status, (await response.json())["error"]) == (422, "unknown_question")
    questionnaire = await _fill(chair, path)
    assert questionnaire["answers"]["5.4"] == questionnaire["evidence"][0]["sha256"]
    evidence_id = questionnaire["evidence"][0]["id"]
    response = await chair.get(f"{API}/evidence/{evidence_id}")
    assert response.status == 200
    assert (await response.read()).startswith(b"%PDF-")

    # Another organisation's chair may neither read nor answer for it.
    other = await c.as_("chair1", db, client)
    response = await other.post(f"{path}/answers", json={"answers": {"1.1": False}})
    assert (response.status, (await response.json())["error"]) == (403, "not_responder")
    response = await other.get(f"{API}/evidence/{evidence_id}")
    assert response.status == 404

    # The signed submission: refused when forged, moved or stale; accepted when right.
    template = questionnaire["template"]
    voter = c.responders[0]
    stranger = c.responders[1]
    refusals = [
        (signed(stranger, template | {"member": c.responder_ids[1]}), 403),  # not theirs
        (signed(voter, template, org=c.org_ids[1]), 409),  # another organisation
        (signed(voter, template, answers={**template["answers"], "1.1": False}), 409),
        (signed(voter, template, submitted_at="2020-01-01T00:00:00Z"), 403),
    ]
    forged = signed(voter, template)
    forged["payload"]["answers"] = {**template["answers"], "1.2": False}
    refusals.append((forged, 403))
    for envelope, status in refusals:
        response = await chair.post(f"{path}/submission", json=envelope)
        answer = await response.json()
        assert response.status == status, answer
        assert answer["error"] in (
            "unknown_key",
            "not_as_saved",
            "bad_signature",
            "not_yet_valid",
            "clock",
        ), answer
        assert (await _state(db, cid, org))[0] == "draft"
    response = await chair.post(f"{path}/submission", json=signed(voter, template))
    assert response.status == 200, await response.text()
    done = await response.json()
    assert done["state"] == "submitted"
    assert done["statement"]["payload"]["answers"] == template["answers"]
    # Frozen: no more changes.
    response = await chair.post(f"{path}/answers", json={"answers": {"1.1": False}})
    assert (response.status, (await response.json())["error"]) == (409, "already_submitted")

    # The council returns it with a reason; the chair changes one answer and signs again.
    secretary = await c.as_("secretary", db, client)
    response = await secretary.post(f"{path}/return", json={"reason": "Приложите устав"})
    assert response.status == 200, await response.text()
    returned = await (await chair.get(path)).json()
    assert (returned["state"], returned["return_reason"]) == ("returned", "Приложите устав")
    response = await chair.post(f"{path}/answers", json={"answers": {"1.1": False}})
    assert response.status == 200
    template = (await response.json())["template"]
    response = await chair.post(f"{path}/submission", json=signed(voter, template))
    assert response.status == 200, await response.text()

    # Reminders: to the two that have not submitted, once an hour.
    response = await secretary.post(f"{API}/campaigns/{cid}/reminders")
    assert response.status == 200, await response.text()
    assert (await response.json())["told"] == 2
    response = await secretary.post(f"{API}/campaigns/{cid}/reminders")
    assert (response.status, (await response.json())["error"]) == (409, "nobody_to_remind")

    # The second organisation submits a weaker questionnaire.
    chair1 = await c.as_("chair1", db, client)
    path1 = f"{API}/campaigns/{cid}/organisations/{c.org_ids[1]}"
    q1 = await _fill(chair1, path1, level=1)
    response = await chair1.post(
        f"{path1}/submission", json=signed(c.responders[1], q1["template"])
    )
    assert response.status == 200, await response.text()

    # Closed early: the third can no longer answer, until reopened for it alone.
    response = await secretary.post(
        f"{API}/campaigns/{cid}/close", json={"reason": "Итоги к съезду"}
    )
    assert response.status == 200, await response.text()
    chair2 = await c.as_("chair2", db, client)
    path2 = f"{API}/campaigns/{cid}/organisations/{c.org_ids[2]}"
    response = await chair2.post(f"{path2}/answers", json={"answers": {"1.1": True}})
    assert (response.status, (await response.json())["error"]) == (409, "campaign_closed")
    response = await secretary.post(
        f"{API}/campaigns/{cid}/reopen",
        json={
            "reason": "Болел председатель",
            "deadline": _deadline(2),
            "organisation_id": c.org_ids[2],
        },
    )
    assert response.status == 200, await response.text()
    q2 = await _fill(chair2, path2, level=0)
    response = await chair2.post(
        f"{path2}/submission", json=signed(c.responders[2], q2["template"])
    )
    assert response.status == 200, await response.text()
    assert (await (await secretary.get(f"{API}/campaigns/{cid}")).json())["submitted"] == 3

    # Results: the council's alone.
    response = await chair.get(f"{API}/campaigns/{cid}/results")
    assert (response.status, (await response.json())["error"]) == (403, "diagnosis_not_officer")
    response = await secretary.get(f"{API}/campaigns/{cid}/results")
    assert response.status == 200, await response.text()
    results = await response.json()
    assert results["submitted"] == 3
    scores = [o["score"] for o in results["organisations"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] < scores[0]
    assert sum(level["count"] for level in results["levels"]) == 3
    assert len(results["sections"]) == len(METHODOLOGY.sections)
    weakest = results["organisations"][-1]
    assert weakest["below_target"]
    assert weakest["weakest"]

    response = await secretary.get(f"{API}/campaigns/{cid}/results.xlsx")
    assert response.status == 200
    book = load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames == ["Итоги", "Разделы", "Уровни", "Не представили"]
    assert book["Итоги"].max_row == 4
    response = await secretary.get(f"{API}/campaigns/{cid}/report.pdf")
    assert response.status == 200
    report = await response.read()
    assert report.startswith(b"%PDF-")
    # The report of a state of the campaign is made once, then served as it was made;
    # a change to the campaign (here: a reopening) makes the next one.
    reports = client.server.app[SETTINGS].data_dir / "diagnosis-reports"
    assert len(list(reports.iterdir())) == 1
    again = await (await secretary.get(f"{API}/campaigns/{cid}/report.pdf")).read()
    assert again == report
    response = await secretary.post(
        f"{API}/campaigns/{cid}/reopen", json={"reason": "Уточнить", "deadline": _deadline(1)}
    )
    assert response.status == 200, await response.text()
    assert (await secretary.get(f"{API}/campaigns/{cid}/report.pdf")).status == 200
    assert len(list(reports.iterdir())) == 2


async def test_refusals_of_the_wrong_people(
    db: AsyncSession, client: Any, aiohttp_client: Any
) -> None:
    c = await council(db, client, aiohttp_client, size=2)
    outsider = await c.as_("outsider", db, client)
    body = {
        "organisation_id": c.root_id,
        "methodology_id": c.methodology_id,
        "title": "Чужая кампания",
        "deadline": _deadline(),
        "depth": 1,
    }
    # The other union's secretary (application role: secretary) is nobody here.
    response = await outsider.post(f"{API}/campaigns", json=body)
    assert (response.status, (await response.json())["error"]) == (403, "diagnosis_not_officer")
    # A member organisation's chair is no officer of the council either.
    chair = await c.as_("chair0", db, client)
    response = await chair.post(f"{API}/campaigns", json=body)
    assert response.status == 403
    secretary = await c.as_("secretary", db, client)
    for bad, code in (
        (body | {"deadline": "2020-01-01T00:00:00+00:00"}, "deadline_past"),
        (body | {"depth": None, "organisation_ids": [c.root_id]}, "not_member_organisation"),
        (body | {"target_level": "L9"}, "unknown_level"),
        (body | {"methodology_id": c.methodology_id + 1000}, "unknown_methodology"),
    ):
        response = await secretary.post(f"{API}/campaigns", json=bad)
        assert response.status == 422, await response.text()
        assert (await response.json())["error"] == code
    assert await db.scalar(select(func.count()).select_from(Participant)) == 0
    await db.rollback()

    campaign = await _launch(c, db, client, organisation_ids=[c.org_ids[0]], depth=None)
    cid = campaign["id"]
    # Those who take no part: the campaign does not exist for them.
    assert (await outsider.get(f"{API}/campaigns/{cid}")).status == 404
    chair1 = await c.as_("chair1", db, client)
    assert (await chair1.get(f"{API}/campaigns/{cid}")).status == 404
    # The campaign's management is the council's officers' alone.
    chair = await c.as_("chair0", db, client)
    for path, payload in (
        ("reminders", None),
        ("close", {}),
        (f"organisations/{c.org_ids[0]}/return", {"reason": "нет"}),
    ):
        response = await chair.post(f"{API}/campaigns/{cid}/{path}", json=payload)
        assert response.status == 403, path
    # A submission after the deadline is refused.
    await db.execute(
        Participant.__table__.update().values(extended_until=None)  # type: ignore[attr-defined]
    )
    from meetings.diagnosis.models import Campaign

    await db.execute(
        Campaign.__table__.update()  # type: ignore[attr-defined]
        .where(Campaign.id == cid)
        .values(deadline=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    )
    await db.commit()
    path = f"{API}/campaigns/{cid}/organisations/{c.org_ids[0]}"
    response = await chair.post(f"{path}/answers", json={"answers": {"1.1": True}})
    assert (response.status, (await response.json())["error"]) == (409, "deadline_passed")


async def test_the_agenda_item_from_a_closed_campaign(
    db: AsyncSession, client: Any, aiohttp_client: Any
) -> None:
    c = await council(db, client, aiohttp_client, size=2)
    campaign = await _launch(c, db, client)
    cid = campaign["id"]
    for n in range(2):
        login = await c.as_(f"chair{n}", db, client)
        path = f"{API}/campaigns/{cid}/organisations/{c.org_ids[n]}"
        q = await _fill(login, path, level=(0, 2)[n])
        response = await login.post(
            f"{path}/submission", json=signed(c.responders[n], q["template"])
        )
        assert response.status == 200, await response.text()
    secretary = await c.as_("secretary", db, client)
    meeting = await MeetingService(
        db, Actor(None, "secretary", frozenset(), c.secretary_id)
    ).create(
        MeetingIn(
            body_id=c.presidium_id,
            title="Заседание президиума",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
        )
    )
    await db.commit()
    response = await secretary.post(
        f"{API}/campaigns/{cid}/agenda-items", json={"meeting_id": meeting.id}
    )
    assert (response.status, (await response.json())["error"]) == (409, "campaign_open")
    assert (await secretary.post(f"{API}/campaigns/{cid}/close", json={})).status == 200
    response = await secretary.post(
        f"{API}/campaigns/{cid}/agenda-items", json={"meeting_id": meeting.id}
    )
    assert response.status == 201, await response.text()
    made = await response.json()
    await db.rollback()
    item = await db.get(AgendaItem, made["item_id"])
    assert item is not None
    assert item.title == "О результатах самодиагностики цифровой зрелости членских организаций"
    assert "ПОСТАНОВЛЯЕТ" in item.draft_resolution
    assert "Первичная организация № 1" in item.draft_resolution  # below the target level
    material = await db.scalar(select(Material).where(Material.item_id == item.id))
    assert material is not None
    assert material.media_type == "application/pdf"

    # The first organisation's own presidium, on its own result; another organisation's
    # chair may not put it on that presidium's agenda.
    board = await db.scalar(select(Body).where(Body.organisation_id == c.org_ids[0]))
    assert board is not None
    own_meeting = await MeetingService(
        db, Actor(None, "chair", frozenset(), c.responder_ids[0])
    ).create(
        MeetingIn(
            body_id=board.id,
            title="Заседание президиума организации",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
        )
    )
    own_meeting_id = own_meeting.id
    await db.commit()
    other = await c.as_("chair1", db, client)
    response = await other.post(
        f"{API}/campaigns/{cid}/agenda-items", json={"meeting_id": own_meeting_id}
    )
    assert (response.status, (await response.json())["error"]) == (409, "other_organisation")
    chair = await c.as_("chair0", db, client)
    response = await chair.post(
        f"{API}/campaigns/{cid}/agenda-items", json={"meeting_id": own_meeting_id}
    )
    assert response.status == 201, await response.text()
    await db.rollback()
    own_item = await db.get(AgendaItem, (await response.json())["item_id"])
    assert own_item is not None
    assert own_item.title == "О результатах самодиагностики цифровой зрелости организации"
    assert "Президиум организации № 1 ПОСТАНОВЛЯЕТ" in own_item.draft_resolution
    assert "Разработать план развития" in own_item.draft_resolution
    assert await db.scalar(select(Material).where(Material.item_id == own_item.id))
    await db.rollback()
    # The same from the campaign's page.
    page = await (await chair.get(f"/diagnosis/campaigns/{cid}")).text()
    assert 'data-role="own-agenda"' in page
    response = await chair.post(
        f"/diagnosis/campaigns/{cid}/agenda-item",
        data={"_csrf": chair.csrf, "meeting_id": str(own_meeting_id)},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"].startswith(f"/meetings/{own_meeting_id}#item-")


@pytest.mark.parametrize("who", ["chair0", "outsider"])
async def test_methodology_changes_need_an_officer_of_its_organisation(
    db: AsyncSession, client: Any, aiohttp_client: Any, who: str
) -> None:
    from registry.diagnosis.services import MethodologyService
    from registry.errors import PermissionDenied
    from registry.models import Role

    c = await council(db, client, aiohttp_client, size=1)
    member_id = c.responder_ids[0] if who == "chair0" else c.outsider_id
    actor = Actor(1, "x", frozenset({Role.SECRETARY, Role.MEMBER}), member_id)
    with pytest.raises(PermissionDenied) as refused:
        await MethodologyService(db, actor).save(c.root_id, default_methodology())
    assert refused.value.code == "diagnosis_not_officer"
    secretary = Actor(1, "x", frozenset({Role.MEMBER}), c.secretary_id)
    stored = await MethodologyService(db, secretary).save(
        c.root_id,
        default_methodology().__class__.from_json(
            json.loads(json.dumps(default_methodology().to_json())) | {"code": "second"}
        ),
    )
    assert not stored.published


async def test_the_pages_launch_fill_and_show_results(
    db: AsyncSession, client: Any, aiohttp_client: Any
) -> None:
    c = await council(db, client, aiohttp_client, size=2)
    secretary = await c.as_("secretary", db, client)
    page = await secretary.get("/diagnosis")
    assert page.status == 200
    text = await page.text()
    assert "Начать самодиагностику" in text
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    # A refused launch says why on the page and changes nothing.
    response = await secretary.post(
        "/diagnosis/campaigns",
        data={
            "_csrf": secretary.csrf,
            "methodology_id": str(c.methodology_id),
            "title": "Т",
            "deadline": "2020-01-01",
        },
    )
    assert response.status == 422
    assert "Срок уже прошёл" in await response.text()
    response = await secretary.post(
        "/diagnosis/campaigns",
        data={
            "_csrf": secretary.csrf,
            "methodology_id": str(c.methodology_id),
            "title": "Самодиагностика",
            "deadline": day,
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    campaign_path = response.headers["Location"].split("?")[0]
    cid = int(campaign_path.rsplit("/", 1)[1])
    assert "представили 0 из 2" in await (await secretary.get(campaign_path)).text()

    # The chair finds it in «Мои дела» and saves a draft through the form.
    chair = await c.as_("chair0", db, client)
    home = await (await chair.get("/")).text()
    questionnaire = f"/diagnosis/campaigns/{cid}/organisations/{c.org_ids[0]}"
    assert questionnaire in home
    page = await chair.get(questionnaire)
    assert page.status == 200
    assert "Подписать и отправить" in await page.text()
    response = await chair.post(
        questionnaire,
        data={"_csrf": chair.csrf, "q:1.1": "yes", "q:1.9": "70", "q:1.8": "еженедельно"},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    state, answers = await _state(db, cid, c.org_ids[0])
    assert json.loads(answers) == {"1.1": True, "1.8": "еженедельно", "1.9": 70}
    assert state == "draft"
    response = await chair.post(questionnaire, data={"_csrf": chair.csrf, "q:1.9": "700"})
    assert response.status == 422
    assert "Вопрос 1.9" in await response.text()
    assert (await _state(db, cid, c.org_ids[0]))[1] == answers
    form = FormData()
    form.add_field("_csrf", chair.csrf)
    form.add_field("question", "5.4")
    form.add_field("file", pdf_bytes("charter"), filename="charter.pdf")
    response = await chair.post(f"{questionnaire}/evidence", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    shown = await (await chair.get(questionnaire)).text()
    assert "charter.pdf" in shown

    # The council's forms: remind, close; the results page shows the charts.
    response = await secretary.post(
        f"{campaign_path}/remind", data={"_csrf": secretary.csrf}, allow_redirects=False
    )
    assert response.status == 303
    response = await secretary.post(
        f"{campaign_path}/remind", data={"_csrf": secretary.csrf}, allow_redirects=False
    )
    assert response.status == 409
    assert "Напоминать некому" in await response.text()
    response = await secretary.post(
        f"{campaign_path}/close",
        data={"_csrf": secretary.csrf, "reason": "досрочно"},
        allow_redirects=False,
    )
    assert response.status == 303
    page = await secretary.get(f"{campaign_path}/results")
    assert page.status == 200
    text = await page.text()
    assert text.count('src="data:image/svg+xml;base64,') >= 2
    assert "Распределение по уровням" in text


async def test_the_change_since_the_previous_campaign(
    db: AsyncSession, client: Any, aiohttp_client: Any
) -> None:
    c = await council(db, client, aiohttp_client, size=1)
    secretary = await c.as_("secretary", db, client)
    chair = await c.as_("chair0", db, client)
    scores = []
    for level in (0, 2):
        cid = (await _launch(c, db, client))["id"]
        path = f"{API}/campaigns/{cid}/organisations/{c.org_ids[0]}"
        q = await _fill(chair, path, level=level)
        response = await chair.post(
            f"{path}/submission", json=signed(c.responders[0], q["template"])
        )
        assert response.status == 200, await response.text()
        assert (await secretary.post(f"{API}/campaigns/{cid}/close", json={})).status == 200
        results = await (await secretary.get(f"{API}/campaigns/{cid}/results")).json()
        scores.append(results["organisations"][0])
    first, second = scores
    assert first["previous_score"] is None
    assert second["previous_score"] == first["score"]
    assert second["change"] == pytest.approx(second["score"] - first["score"], abs=0.11)
    assert second["change"] > 0
    page = await (await secretary.get(f"/diagnosis/campaigns/{cid}/results")).text()
    assert "Сравнение с прошлой самодиагностикой" in page
    assert (
        page.count('src="data:image/svg+xml;base64,') == 4
    )  # levels, sections, comparison, profile
