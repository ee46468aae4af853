"""JSON API of self-diagnosis campaigns: launching, the questionnaires (drafts, evidence,
the signed submission), returns, reminders, closing and reopening, the results and
their XLSX and PDF forms, and the agenda item made from them."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.blobs import EXTENSIONS, BlobStore, clean_filename
from meetings.diagnosis.campaigns import CampaignService, Notify
from meetings.diagnosis.decision import put_on_agenda
from meetings.diagnosis.models import Evidence
from meetings.diagnosis.report import (
    REPORT_PROFILES,
    XLSX,
    Charts,
    charts_of,
    results_workbook,
)
from meetings.diagnosis.results import campaign_results
from meetings.diagnosis.schemas import (
    AgendaFromCampaignIn,
    AnswersIn,
    CampaignIn,
    CampaignOut,
    EvidenceOut,
    QuestionnaireOut,
    ReopenIn,
    ResultsOut,
)
from meetings.models import AgendaItem
from registry.actor import Actor
from registry.errors import InvalidInput, PermissionDenied
from registry.localtime import LocalClock
from registry.models import Organisation
from registry.orm import utcnow
from server.api import ApiRoutes
from server.auth import read_form, unit
from server.docrender import DocumentRenderer
from server.keys import CATALOGUES, JINJA, MAILER, SETTINGS
from server.views.meetings_api import content_disposition, material_store

__all__ = [
    "RESULTS_CACHE",
    "ResultsCache",
    "chart_words",
    "evidence_store",
    "mail_notify",
    "render_report",
    "results_cache",
    "routes",
    "service_of",
]

log = logging.getLogger("kvorum.diagnosis")
routes = ApiRoutes()
TAG = "diagnosis"


class SubmissionIn(BaseModel):
    """The signed submission, as :class:`crypto.envelope.SignedDocument` writes it."""

    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any]
    signer: str = Field(max_length=64)
    signature: str = Field(max_length=128)


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=1000)


class RemindedOut(BaseModel):
    told: int = Field(description="people given a notice")


class AgendaItemMadeOut(BaseModel):
    meeting_id: int
    item_id: int


def evidence_store(request: web.Request) -> BlobStore:
    """Evidence files live beside meeting materials, by content address."""
    return BlobStore(request.app[SETTINGS].data_dir / "diagnosis")


def service_of(request: web.Request, db: AsyncSession, actor: Actor) -> CampaignService:
    return CampaignService(db, actor, evidence_store(request), zone=request.app[SETTINGS].timezone)


async def mail_notify(app: web.Application, notify: Notify) -> int:
    """Mail everyone a notice went to (after the commit)."""
    url = app[SETTINGS].effective_public_url + "/diagnosis"
    sent = 0
    for person in notify.addressees:
        if not person.email:
            continue
        body = f"{person.name},\n\n{notify.body.replace('/diagnosis', url, 1)}\n"
        try:
            await app[MAILER].send(person.email, notify.subject, body)
            sent += 1
        except Exception:  # one bad address must not stop the others
            log.exception("self-diagnosis notice to %s failed", person.email)
    return sent


def chart_words(t: Any) -> dict[str, str]:
    return {
        name: t(f"diagnosis.chart.{name}")
        for name in ("levels", "sections", "comparison", "previous", "current", "average")
    }


def render_report(
    request: web.Request, results: ResultsOut, owner: str, charts: Charts, when: str
) -> bytes:
    renderer = DocumentRenderer(request.app[JINJA])
    html = (
        request.app[JINJA]
        .get_template("documents/diagnosis_report.html")
        .render(results=results, owner=owner, charts=charts, when=when)
    )
    return renderer.pdf(html)


class ResultsCache:
    """The results and charts of campaigns as of their latest journal entry.

    Results change only with a journal entry (a submission, a return, a reopening, a
    closing), so ``(campaign, latest entry)`` names a state that never changes: what was
    computed for it is kept (the few most recent, in memory; the PDF report on disk,
    where every server process finds it). Access is checked on every request before the
    cache is looked at.
    """

    SIZE = 16

    def __init__(self) -> None:
        self._results: OrderedDict[tuple[int, int], ResultsOut] = OrderedDict()
        self._charts: OrderedDict[tuple[int, int, str, int], Charts] = OrderedDict()

    def _keep(self, table: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.SIZE:
            table.popitem(last=False)

    async def results(self, service: CampaignService, campaign_id: int) -> tuple[ResultsOut, int]:
        campaign, access = await service.get(campaign_id)
        if not access.manage:
            raise PermissionDenied(
                "the campaign's results are for the officers of the organisation running it",
                code="diagnosis_not_officer",
            )
        revision = await service.revision(campaign)
        key = (campaign_id, revision)
        if key not in self._results:
            self._keep(self._results, key, await campaign_results(service, campaign_id))
        return self._results[key], revision

    def charts(
        self, results: ResultsOut, revision: int, words: dict[str, str], locale: str, n: int
    ) -> Charts:
        key = (results.campaign_id, revision, locale, n)
        if key not in self._charts:
            self._keep(self._charts, key, charts_of(results, words, profiles=n))
        return self._charts[key]


RESULTS_CACHE = web.AppKey("diagnosis_results", ResultsCache)


def results_cache(app: web.Application) -> ResultsCache:
    if RESULTS_CACHE not in app:
        raise RuntimeError("the diagnosis pages were not installed")
    return app[RESULTS_CACHE]


async def _report_pdf(
    request: web.Request, db: AsyncSession, actor: Actor, campaign_id: int
) -> bytes:
    service = service_of(request, db, actor)
    cache = results_cache(request.app)
    results, revision = await cache.results(service, campaign_id)
    stored = request.app[SETTINGS].data_dir / "diagnosis-reports" / f"{campaign_id}-{revision}.pdf"
    if stored.is_file():
        return await asyncio.to_thread(stored.read_bytes)
    campaign, _access = await service.get(campaign_id)
    owner = await db.get(Organisation, campaign.organisation_id)
    assert owner is not None
    # The report is a document: in Russian, whatever the reader's page language.
    words = chart_words(request.app[CATALOGUES].translator("ru"))
    charts = cache.charts(results, revision, words, "ru", REPORT_PROFILES)
    when = LocalClock(request.app[SETTINGS].timezone).labelled(utcnow())
    data = await asyncio.to_thread(render_report, request, results, owner.name, charts, when)
    await asyncio.to_thread(_keep_file, stored, data)
    return data


def _keep_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(path)  # atomic: another process never reads half a report


@routes.route(
    "GET",
    "/diagnosis/campaigns",
    summary="Self-diagnosis campaigns the caller runs or answers in, newest first",
    tag=TAG,
    response=list[CampaignOut],
)
async def list_campaigns(request: web.Request) -> list[CampaignOut]:
    async with unit(request) as (db, actor):
        service = service_of(request, db, actor)
        return [await service.out(c, a) for c, a in await service.visible()]


@routes.route(
    "POST",
    "/diagnosis/campaigns",
    summary="Launch a campaign on a published methodology (the owner's officers)",
    tag=TAG,
    body=CampaignIn,
    response=CampaignOut,
    status=201,
    creates="campaign_id",
)
async def launch_campaign(request: web.Request, body: CampaignIn) -> CampaignOut:
    async with unit(request) as (db, actor):
        service = service_of(request, db, actor)
        campaign, notify = await service.launch(body)
        out = await service.out(campaign, await service.access(campaign))
    await mail_notify(request.app, notify)
    return out


@routes.route(
    "GET",
    "/diagnosis/campaigns/{campaign_id}",
    summary="A campaign: its state and, for its officers, every organisation's progress",
    tag=TAG,
    response=CampaignOut,
)
async def get_campaign(request: web.Request, campaign_id: int) -> CampaignOut:
    async with unit(request) as (db, actor):
        service = service_of(request, db, actor)
        campaign, access = await service.get(campaign_id)
        return await service.out(campaign, access)


@routes.route(
    "GET",
    "/diagnosis/campaigns/{campaign_id}/organisations/{org_id}",
    summary="An organisation's questionnaire: answers, evidence and what to sign",
    tag=TAG,
    response=QuestionnaireOut,
)
async def get_questionnaire(
    request: web.Request, campaign_id: int, org_id: int
) -> QuestionnaireOut:
    async with unit(request) as (db, actor):
        return await service_of(request, db, actor).questionnaire(campaign_id, org_id)


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/organisations/{org_id}/answers",
    summary="Save answers into the draft (null clears one); all or nothing",
    tag=TAG,
    body=AnswersIn,
    response=QuestionnaireOut,
)
async def save_answers(
    request: web.Request, campaign_id: int, org_id: int, body: AnswersIn
) -> QuestionnaireOut:
    async with unit(request) as (db, actor):
        return await service_of(request, db, actor).save(campaign_id, org_id, body.answers)


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/organisations/{org_id}/evidence",
    summary="Attach a file (PDF, DOCX, PNG, JPEG, WebP; at most 10 MiB) to a question",
    tag=TAG,
    response=EvidenceOut,
    status=201,
    upload=True,
    media_type="multipart/form-data",
)
async def attach_evidence(request: web.Request, campaign_id: int, org_id: int) -> EvidenceOut:
    async with unit(request) as (db, actor):
        question, filename, data = await read_evidence(request)
        item = await service_of(request, db, actor).add_evidence(
            campaign_id, org_id, question, filename, data
        )
        return _evidence_out(item)


async def read_evidence(request: web.Request) -> tuple[str, str, bytes]:
    """The question code and the single file of a multipart upload."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput(
            "send the file as multipart/form-data in the field 'file'", fields={"file": "required"}
        )
    form = await read_form(request)
    question = form.get("question")
    item = form.get("file")
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput("name the question the file is for", fields={"question": "required"})
    if not isinstance(item, web.FileField):
        raise InvalidInput("no file was sent in the field 'file'", fields={"file": "required"})
    data = item.file.read()
    if not data:
        raise InvalidInput("the file is empty", fields={"file": "empty"})
    return question.strip(), item.filename or "file", data


def _evidence_out(item: Evidence) -> EvidenceOut:
    return EvidenceOut(
        id=item.id,
        question=item.question,
        filename=item.filename,
        media_type=item.media_type,
        size=item.size,
        sha256=item.sha256,
        uploaded_at=item.uploaded_at,
    )


@routes.route(
    "GET",
    "/diagnosis/evidence/{evidence_id}",
    summary="Download an evidence file",
    tag=TAG,
    media_type=tuple(EXTENSIONS),
)
async def download_evidence(request: web.Request, evidence_id: int) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        item = await service_of(request, db, actor).evidence(evidence_id)
    return await evidence_response(request, item)


async def evidence_response(request: web.Request, item: Evidence) -> web.Response:
    data = await asyncio.to_thread(evidence_store(request).read, item.sha256)
    # The address is the proof of the content: a damaged or swapped file is not served.
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise RuntimeError(f"evidence {item.id}: stored bytes do not match their sha256")
    name = clean_filename(item.filename, item.media_type)
    fallback = f"evidence-{item.id}{EXTENSIONS[item.media_type]}"
    return web.Response(
        body=data,
        content_type=item.media_type,
        headers={"Content-Disposition": content_disposition(name, fallback)},
    )


@routes.route(
    "DELETE",
    "/diagnosis/evidence/{evidence_id}",
    summary="Remove an evidence file from a draft",
    tag=TAG,
)
async def remove_evidence(request: web.Request, evidence_id: int) -> None:
    async with unit(request) as (db, actor):
        await service_of(request, db, actor).remove_evidence(evidence_id)


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/organisations/{org_id}/submission",
    summary="Submit the saved answers with a statement signed by the responder's key",
    tag=TAG,
    body=SubmissionIn,
    response=QuestionnaireOut,
)
async def submit_questionnaire(
    request: web.Request, campaign_id: int, org_id: int, body: SubmissionIn
) -> QuestionnaireOut:
    async with unit(request) as (db, actor):
        return await service_of(request, db, actor).submit(campaign_id, org_id, body.model_dump())


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/organisations/{org_id}/return",
    summary="Return a submitted questionnaire for changes, with the reason",
    tag=TAG,
    body=ReasonBody,
    response=CampaignOut,
)
async def return_questionnaire(
    request: web.Request, campaign_id: int, org_id: int, body: ReasonBody
) -> CampaignOut:
    reason = body.reason.strip()
    if not reason:
        raise InvalidInput("give the reason", fields={"reason": "required"})
    async with unit(request) as (db, actor):
        service = service_of(request, db, actor)
        notify = await service.return_submission(campaign_id, org_id, reason)
        campaign, access = await service.get(campaign_id)
        out = await service.out(campaign, access)
    await mail_notify(request.app, notify)
    return out


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/reminders",
    summary="Remind the organisations that have not submitted (each once an hour at most)",
    tag=TAG,
    response=RemindedOut,
)
async def remind_campaign(request: web.Request, campaign_id: int) -> RemindedOut:
    async with unit(request) as (db, actor):
        notify = await service_of(request, db, actor).remind(campaign_id)
    await mail_notify(request.app, notify)
    return RemindedOut(told=len(notify.addressees))


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/close",
    summary="Close the campaign (early, if need be)",
    tag=TAG,
    body=CloseIn,
    response=CampaignOut,
)
async def close_campaign(request: web.Request, campaign_id: int, body: CloseIn) -> CampaignOut:
    async with unit(request) as (db, actor):
        service = service_of(request, db, actor)
        campaign = await service.close(campaign_id, body.reason.strip())
        return await service.out(campaign, await service.access(campaign))


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/reopen",
    summary="Reopen the campaign, or for one organisation, until a new deadline",
    tag=TAG,
    body=ReopenIn,
    response=CampaignOut,
)
async def reopen_campaign(request: web.Request, campaign_id: int, body: ReopenIn) -> CampaignOut:
    async with unit(request) as (db, actor):
        service = service_of(request, db, actor)
        notify = await service.reopen(campaign_id, body)
        campaign, access = await service.get(campaign_id)
        out = await service.out(campaign, access)
    await mail_notify(request.app, notify)
    return out


@routes.route(
    "GET",
    "/diagnosis/campaigns/{campaign_id}/results",
    summary="The results: each organisation by section, the levels and section averages",
    tag=TAG,
    response=ResultsOut,
)
async def get_results(request: web.Request, campaign_id: int) -> ResultsOut:
    async with unit(request) as (db, actor):
        results, _revision = await results_cache(request.app).results(
            service_of(request, db, actor), campaign_id
        )
        return results


@routes.route(
    "GET",
    "/diagnosis/campaigns/{campaign_id}/results.xlsx",
    summary="The results as an XLSX workbook",
    tag=TAG,
    media_type=XLSX,
)
async def results_xlsx(request: web.Request, campaign_id: int) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        results, _revision = await results_cache(request.app).results(
            service_of(request, db, actor), campaign_id
        )
    data = await asyncio.to_thread(results_workbook, results)
    return web.Response(
        body=data,
        content_type=XLSX,
        headers={
            "Content-Disposition": content_disposition(
                f"Итоги самодиагностики {campaign_id}.xlsx", f"diagnosis-{campaign_id}.xlsx"
            )
        },
    )


@routes.route(
    "GET",
    "/diagnosis/campaigns/{campaign_id}/report.pdf",
    summary="The results as a PDF report, with the charts",
    tag=TAG,
    media_type="application/pdf",
)
async def report_pdf(request: web.Request, campaign_id: int) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        data = await _report_pdf(request, db, actor, campaign_id)
    return web.Response(
        body=data,
        content_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(
                f"Итоги самодиагностики {campaign_id}.pdf", f"diagnosis-{campaign_id}.pdf"
            )
        },
    )


@routes.route(
    "POST",
    "/diagnosis/campaigns/{campaign_id}/agenda-items",
    summary="Put a closed campaign's results on a meeting's agenda, with the report and a "
    "draft resolution",
    tag=TAG,
    body=AgendaFromCampaignIn,
    response=AgendaItemMadeOut,
    status=201,
)
async def campaign_agenda_item(
    request: web.Request, campaign_id: int, body: AgendaFromCampaignIn
) -> AgendaItemMadeOut:
    async with unit(request) as (db, actor):
        item = await make_agenda_item(request, db, actor, campaign_id, body.meeting_id)
        return AgendaItemMadeOut(meeting_id=item.meeting_id, item_id=item.id)


async def make_agenda_item(
    request: web.Request, db: AsyncSession, actor: Actor, campaign_id: int, meeting_id: int
) -> AgendaItem:
    service = service_of(request, db, actor)

    async def report(results: ResultsOut, own: int | None) -> bytes:
        if own is None:  # every organisation's results: the kept report
            return await _report_pdf(request, db, actor, campaign_id)
        # One organisation's own result, for its own body: made for this item.
        org = await db.get(Organisation, own)
        assert org is not None
        words = chart_words(request.app[CATALOGUES].translator("ru"))
        charts = charts_of(results, words, profiles=1)
        when = LocalClock(request.app[SETTINGS].timezone).labelled(utcnow())
        return await asyncio.to_thread(render_report, request, results, org.name, charts, when)

    return await put_on_agenda(
        service, campaign_id, meeting_id, report, material_store(request.app[SETTINGS])
    )
