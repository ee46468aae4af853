"""Pages of self-diagnosis: the campaigns (launching one), a campaign's progress and its
officers' actions, an organisation's questionnaire, and the results with their charts.

Forms post here and answer with a redirect, or with the page and the refusal in the
reader's language; the signed submission is made in the browser (diagnosis.js) and
sent to the JSON API, as ballots are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.diagnosis.models import Campaign, Participant
from meetings.diagnosis.schemas import CampaignIn, ReopenIn
from meetings.models import Meeting, MeetingState
from registry.actor import Actor
from registry.diagnosis.access import OFFICER_SEATS, organisations_seated
from registry.diagnosis.methodology import AnswerType
from registry.diagnosis.models import MethodologyVersion
from registry.errors import DomainError, InvalidInput
from registry.localtime import LocalClock
from registry.models import Body, Organisation, Role
from server.api import parse_id
from server.auth import read_form, unit
from server.forms import path_id, see_other
from server.keys import SETTINGS
from server.middlewares import STATUS_OF, upload
from server.pages import refusal_message, render, translator
from server.views.diagnosis_api import (
    RESULTS_CACHE,
    ResultsCache,
    chart_words,
    mail_notify,
    make_agenda_item,
    read_evidence,
    results_cache,
    service_of,
)

__all__ = ["install"]


def _clock(request: web.Request) -> LocalClock:
    return LocalClock(request.app[SETTINGS].timezone, translator(request).locale)


def _status(exc: DomainError) -> int:
    """The status the API would answer with: 403 for a refusal of the right, and so on."""
    return next(status for cls, status in STATUS_OF.items() if isinstance(exc, cls))


def _refusal(request: web.Request, exc: DomainError) -> str:
    return refusal_message(request, exc.key, exc.params)


def _deadline(request: web.Request, text: str) -> dt.datetime:
    """A day typed in a form: the end of that day where the organisation is."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            "give the deadline as a date", fields={"deadline": "not a date"}, code="bad_date"
        ) from None
    zone = ZoneInfo(request.app[SETTINGS].timezone)
    return dt.datetime.combine(day, dt.time(23, 59), zone).astimezone(dt.UTC)


# --- the list and launching ------------------------------------------------------------


async def _launchable(db: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    """The caller's organisations with published methodologies, and their member
    organisations: what the launch form offers."""
    if actor.has(Role.REGISTRAR):
        owners = set((await db.scalars(select(MethodologyVersion.organisation_id))).all())
    else:
        owners = await organisations_seated(db, actor.member_id, OFFICER_SEATS)
    out = []
    for org_id in sorted(owners):
        versions = (
            await db.scalars(
                select(MethodologyVersion)
                .where(
                    MethodologyVersion.organisation_id == org_id,
                    MethodologyVersion.published_at.is_not(None),
                )
                .order_by(MethodologyVersion.code, MethodologyVersion.version.desc())
            )
        ).all()
        if not versions:
            continue
        org = await db.get(Organisation, org_id)
        children = (
            await db.scalars(
                select(Organisation)
                .where(Organisation.parent_id == org_id, Organisation.retired_at.is_(None))
                .order_by(Organisation.name)
            )
        ).all()
        if org is not None and children:
            out.append({"org": org, "versions": versions, "children": children})
    return out


async def _list_page(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    *,
    error: str = "",
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    service = service_of(request, db, actor)
    campaigns = [await service.out(c, a) for c, a in await service.visible()]
    return render(
        request,
        "diagnosis.html",
        actor=actor,
        campaigns=campaigns,
        waiting=await service.waiting_for_me(),
        launchable=await _launchable(db, actor),
        local=_clock(request),
        error=error,
        values=values or {},
        status=status,
    )


async def campaigns_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        return await _list_page(request, db, actor)


async def launch_submit(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        form = await read_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            version = await db.get(
                MethodologyVersion, parse_id(str(form.get("methodology_id", ""))) or 0
            )
            if version is None:
                raise InvalidInput(
                    "choose a methodology",
                    fields={"methodology_id": "required"},
                    code="unknown_methodology",
                )
            chosen = [
                parse_id(v) for v in form.getall("organisation_ids", []) if isinstance(v, str)
            ]
            data = CampaignIn(
                organisation_id=version.organisation_id,
                methodology_id=version.id,
                title=str(form.get("title", "")).strip() or "—",
                deadline=_deadline(request, str(form.get("deadline", ""))),
                organisation_ids=[i for i in chosen if i is not None],
                depth=None if chosen else 1,
            )
            async with db.begin_nested():
                campaign, notify = await service_of(request, db, actor).launch(data)
        except DomainError as exc:
            return await _list_page(
                request,
                db,
                actor,
                error=_refusal(request, exc),
                values=values,
                status=_status(exc),
            )
    await mail_notify(request.app, notify)
    return see_other(f"/diagnosis/campaigns/{campaign.id}?done=launched")


# --- a campaign --------------------------------------------------------------------------


async def _campaign_page(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    campaign_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> web.Response:
    service = service_of(request, db, actor)
    campaign, access = await service.get(campaign_id)
    out = await service.out(campaign, access)
    meetings = await _meetings_of(db, {campaign.organisation_id}) if access.manage else []
    # A participating organisation's own bodies, for its own result.
    own_meetings = await _meetings_of(db, set(access.responding))
    return render(
        request,
        "diagnosis_campaign.html",
        actor=actor,
        campaign=out,
        events=await service.events(campaign) if access.manage else [],
        meetings=meetings,
        own_meetings=own_meetings,
        local=_clock(request),
        error=error,
        done=request.query.get("done", ""),
        status=status,
    )


async def _meetings_of(db: AsyncSession, org_ids: set[int]) -> list[tuple[Meeting, str]]:
    """Meetings being prepared of the organisations' bodies, with the body's name."""
    if not org_ids:
        return []
    rows = await db.execute(
        select(Meeting, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            Body.organisation_id.in_(org_ids),
            Meeting.state.in_((MeetingState.DRAFT, MeetingState.ANNOUNCED)),
        )
        .order_by(Meeting.starts_at)
    )
    return [(m, name) for m, name in rows.tuples().all()]


async def campaign_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        return await _campaign_page(request, db, actor, path_id(request, "campaign_id"))


async def _manage(request: web.Request, act: str) -> web.StreamResponse:
    """An officer's form on the campaign page: remind, close, reopen, return, agenda."""
    campaign_id = path_id(request, "campaign_id")
    notify = None
    target = f"/diagnosis/campaigns/{campaign_id}?done={act}"
    async with unit(request) as (db, actor):
        form = await read_form(request)
        reason = str(form.get("reason", "")).strip()
        service = service_of(request, db, actor)
        try:
            async with db.begin_nested():
                if act == "reminded":
                    notify = await service.remind(campaign_id)
                elif act == "closed":
                    await service.close(campaign_id, reason)
                elif act == "reopened":
                    org = parse_id(str(form.get("organisation_id", "")))
                    notify = await service.reopen(
                        campaign_id,
                        ReopenIn(
                            reason=reason or "—",
                            deadline=_deadline(request, str(form.get("deadline", ""))),
                            organisation_id=org,
                        ),
                    )
                elif act == "returned":
                    if not reason:
                        raise InvalidInput(
                            "give the reason", fields={"reason": "required"}, code="reason_required"
                        )
                    notify = await service.return_submission(
                        campaign_id, path_id(request, "org_id"), reason
                    )
                else:  # the agenda item
                    meeting_id = parse_id(str(form.get("meeting_id", ""))) or 0
                    item = await make_agenda_item(request, db, actor, campaign_id, meeting_id)
                    target = f"/meetings/{item.meeting_id}#item-{item.id}"
        except DomainError as exc:
            return await _campaign_page(
                request,
                db,
                actor,
                campaign_id,
                error=_refusal(request, exc),
                status=_status(exc),
            )
    if notify is not None:
        await mail_notify(request.app, notify)
    return see_other(target)


async def remind_submit(request: web.Request) -> web.StreamResponse:
    return await _manage(request, "reminded")


async def close_submit(request: web.Request) -> web.StreamResponse:
    return await _manage(request, "closed")


async def reopen_submit(request: web.Request) -> web.StreamResponse:
    return await _manage(request, "reopened")


async def return_submit(request: web.Request) -> web.StreamResponse:
    return await _manage(request, "returned")


async def agenda_submit(request: web.Request) -> web.StreamResponse:
    return await _manage(request, "agenda")


# --- the questionnaire ----------------------------------------------------------------------


async def _questionnaire_page(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    campaign_id: int,
    org_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> web.Response:
    service = service_of(request, db, actor)
    questionnaire = await service.questionnaire(campaign_id, org_id)
    campaign = await db.get(Campaign, campaign_id)
    assert campaign is not None
    methodology = await service.methodology(campaign)
    t = translator(request)
    return render(
        request,
        "diagnosis_questionnaire.html",
        actor=actor,
        q=questionnaire,
        campaign=campaign,
        methodology=methodology,
        evidence_by_question={
            code: [e for e in questionnaire.evidence if e.question == code]
            for code in methodology.questions_by_code
        },
        texts={
            "signing": t("diagnosis.js.signing"),
            "saving": t("diagnosis.js.saving"),
            "done": t("diagnosis.js.done"),
            "refused": t("diagnosis.js.refused"),
            "no_key": t("diagnosis.js.no_key"),
        },
        local=_clock(request),
        error=error,
        done=request.query.get("done", ""),
        status=status,
    )


async def questionnaire_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        return await _questionnaire_page(
            request, db, actor, path_id(request, "campaign_id"), path_id(request, "org_id")
        )


def answers_from_form(form: Any, methodology: Any) -> dict[str, bool | int | str | None]:
    """The answers typed in the questionnaire form (an empty field clears the answer)."""
    out: dict[str, bool | int | str | None] = {}
    for code, question in methodology.questions_by_code.items():
        name = f"q:{code}"
        if name not in form or question.type is AnswerType.FILE:
            continue
        raw = str(form.get(name, "")).strip()
        if not raw:
            out[code] = None
        elif question.type is AnswerType.YES_NO:
            out[code] = raw == "yes"
        elif question.type in (AnswerType.SCALE, AnswerType.NUMBER):
            try:
                out[code] = int(raw)
            except ValueError:
                out[code] = raw  # refused by the service, naming the question
        else:
            out[code] = raw
    return out


async def questionnaire_submit(request: web.Request) -> web.StreamResponse:
    campaign_id, org_id = path_id(request, "campaign_id"), path_id(request, "org_id")
    async with unit(request) as (db, actor):
        form = await read_form(request)
        service = service_of(request, db, actor)
        campaign = await db.get(Campaign, campaign_id)
        try:
            if campaign is None:
                await service.get(campaign_id)  # says "no such campaign"
            assert campaign is not None
            answers = answers_from_form(form, await service.methodology(campaign))
            async with db.begin_nested():
                await service.save(campaign_id, org_id, answers)
        except DomainError as exc:
            return await _questionnaire_page(
                request,
                db,
                actor,
                campaign_id,
                org_id,
                error=_refusal(request, exc),
                status=_status(exc),
            )
    return see_other(f"/diagnosis/campaigns/{campaign_id}/organisations/{org_id}?done=saved")


@upload
async def evidence_submit(request: web.Request) -> web.StreamResponse:
    campaign_id, org_id = path_id(request, "campaign_id"), path_id(request, "org_id")
    async with unit(request) as (db, actor):
        try:
            question, filename, data = await read_evidence(request)
            async with db.begin_nested():
                await service_of(request, db, actor).add_evidence(
                    campaign_id, org_id, question, filename, data
                )
        except DomainError as exc:
            return await _questionnaire_page(
                request,
                db,
                actor,
                campaign_id,
                org_id,
                error=_refusal(request, exc),
                status=_status(exc),
            )
    return see_other(f"/diagnosis/campaigns/{campaign_id}/organisations/{org_id}?done=attached")


async def evidence_remove(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        service = service_of(request, db, actor)
        item = await service.evidence(path_id(request, "evidence_id"))
        row = await db.get(Participant, item.participant_id)
        assert row is not None
        target = f"/diagnosis/campaigns/{row.campaign_id}/organisations/{row.organisation_id}"
        try:
            async with db.begin_nested():
                await service.remove_evidence(item.id)
        except DomainError as exc:
            return await _questionnaire_page(
                request,
                db,
                actor,
                row.campaign_id,
                row.organisation_id,
                error=_refusal(request, exc),
                status=_status(exc),
            )
    return see_other(f"{target}?done=removed")


# --- the results ------------------------------------------------------------------------


async def results_page(request: web.Request) -> web.StreamResponse:
    campaign_id = path_id(request, "campaign_id")
    async with unit(request) as (db, actor):
        cache = results_cache(request.app)
        results, revision = await cache.results(service_of(request, db, actor), campaign_id)
        t = translator(request)
        charts = cache.charts(results, revision, chart_words(t), t.locale, PAGE_PROFILES)
        return render(
            request,
            "diagnosis_results.html",
            actor=actor,
            results=results,
            charts=charts,
            local=_clock(request),
        )


#: Radar profiles the results page draws: the organisations with the lowest scores.
PAGE_PROFILES = 30


def install(app: web.Application) -> None:
    app[RESULTS_CACHE] = ResultsCache()
    r = app.router
    c = r"/diagnosis/campaigns/{campaign_id:\d+}"
    r.add_get("/diagnosis", campaigns_page)
    r.add_post("/diagnosis/campaigns", launch_submit)
    r.add_get(c, campaign_page)
    r.add_post(c + "/remind", remind_submit)
    r.add_post(c + "/close", close_submit)
    r.add_post(c + "/reopen", reopen_submit)
    r.add_post(c + "/agenda-item", agenda_submit)
    r.add_get(c + "/results", results_page)
    r.add_get(c + r"/organisations/{org_id:\d+}", questionnaire_page)
    r.add_post(c + r"/organisations/{org_id:\d+}", questionnaire_submit)
    r.add_post(c + r"/organisations/{org_id:\d+}/return", return_submit)
    r.add_post(c + r"/organisations/{org_id:\d+}/evidence", evidence_submit)
    r.add_post(r"/diagnosis/evidence/{evidence_id:\d+}/remove", evidence_remove)
