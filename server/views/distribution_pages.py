"""Paperless distribution of signed documents over HTTP: the secretary's send and remind
forms (posted from the document's page), the member's «Документы на ознакомление», the
signed acknowledgement the browser posts, and the same operations as a JSON API.

The document's page shows the panel with the macro ``distribution_panel`` of
``web/templates/documents/_distribution.html``; :func:`panel` gives it the
``status`` and ``candidates`` it takes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.distribution import (
    Acknowledged,
    Candidates,
    Distribution,
    DistributionStatus,
    InboxEntry,
    RemindIn,
    SendIn,
    SendNotice,
    statement_json,
)
from meetings.models import Document
from registry.actor import Actor
from registry.errors import Conflict, DomainError, InvalidInput
from server.api import ApiRoutes, parse_id
from server.auth import read_form, unit
from server.forms import path_id, refusal_status, see_other
from server.keys import MAILER, SETTINGS
from server.pages import render, translator

__all__ = [
    "install",
    "panel",
    "routes",
    "send_distribution_mail",
]

log = logging.getLogger("kvorum")
routes = ApiRoutes()

#: What ``?distribution=`` after a redirect may say above the panel (catalogue keys).
FLASHES = {
    "sent": "distribution.flash.sent",
    "reminded": "distribution.flash.reminded",
}


# --- the API's shapes -------------------------------------------------------------------------


class AcknowledgementIn(BaseModel):
    """The signed acknowledgement, as :class:`crypto.envelope.SignedDocument` writes it."""

    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any]
    signer: str = Field(max_length=64)
    signature: str = Field(max_length=128)


class AcknowledgementOut(BaseModel):
    document: int
    recipient: int
    organisation_id: int | None
    member_id: int | None
    acknowledged_at: dt.datetime
    acknowledged_by: int
    statement: dict[str, Any]  # the stored envelope
    first: bool  # false: the same acknowledgement had already been recorded


class RecipientOut(BaseModel):
    # Read off a RecipientState: it has every field, under the same names.
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str  # organisation | member
    organisation_id: int | None
    member_id: int | None
    name: str
    acting: list[str]  # for an organisation: who acts for it today
    sent_at: dt.datetime
    sent_by: str
    reminders: int
    reminded_at: dt.datetime | None
    acknowledged: bool
    acknowledged_at: dt.datetime | None
    acknowledged_by: int | None
    acknowledged_by_name: str
    can_remind: bool
    remind_after: dt.datetime | None


class DistributionOut(BaseModel):
    document: int
    journal: str
    signed: bool
    acknowledged: int
    recipients: list[RecipientOut]
    # Set by a send or a reminder: how many people were told, and the organisations
    # nobody could be told for (no chair or secretary today).
    told: int = 0
    unreachable: list[str] = []


class InboxOut(BaseModel):
    document: int
    kind: str
    journal: str
    number: str
    title: str
    signed_at: dt.datetime | None
    recipient: int
    organisation_id: int | None
    on_behalf: str
    sent_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by_name: str
    payload: dict[str, Any]  # what to sign, plus "serial" and "acknowledged_at"


def _distribution_out(
    status: DistributionStatus, notice: SendNotice | None = None
) -> DistributionOut:
    return DistributionOut(
        document=status.document_id,
        journal=status.journal,
        signed=status.signed,
        acknowledged=status.acknowledged_count,
        recipients=[RecipientOut.model_validate(r) for r in status.recipients],
        told=len(notice.addressees) if notice else 0,
        unreachable=list(notice.unreachable) if notice else [],
    )


def _acknowledgement_out(done: Acknowledged) -> AcknowledgementOut:
    return AcknowledgementOut(
        document=done.document_id,
        recipient=done.recipient_id,
        organisation_id=done.organisation_id,
        member_id=done.member_id,
        acknowledged_at=done.acknowledged_at,
        acknowledged_by=done.acknowledged_by,
        statement=statement_json(done),
        first=done.first,
    )


def _inbox_out(entry: InboxEntry) -> InboxOut:
    copy = entry.copy
    return InboxOut(
        document=entry.document_id,
        kind=entry.kind,
        journal=entry.journal,
        number=entry.number,
        title=entry.title,
        signed_at=entry.signed_at,
        recipient=copy.recipient_id,
        organisation_id=copy.organisation_id,
        on_behalf=copy.on_behalf,
        sent_at=copy.sent_at,
        acknowledged_at=copy.acknowledged_at,
        acknowledged_by_name=copy.acknowledged_by_name,
        payload=copy.payload,
    )


# --- mail -------------------------------------------------------------------------------------


async def send_distribution_mail(app: web.Application, notice: SendNotice) -> int:
    """Mail everyone told of a sending or a reminder (after it committed)."""
    url = f"{app[SETTINGS].effective_public_url}/documents/inbox"
    sent = 0
    for person in notice.addressees:
        if not person.email:
            continue
        lines = [f"{person.name},", ""]
        if notice.reminder:
            lines.append("напоминаем: вас просят ознакомиться с документом.")
        else:
            lines.append("вам направлен документ для ознакомления.")
        lines += ["", f"{notice.title} (рег. № {notice.journal})"]
        if person.personal:
            lines.append("Направлен вам лично.")
        if person.on_behalf:
            lines.append("Направлен организации: " + "; ".join(person.on_behalf) + ".")
        lines += [
            "",
            "Прочитайте документ и подтвердите ознакомление кнопкой «Ознакомлен»:",
            url,
            "",
        ]
        try:
            await app[MAILER].send(person.email, notice.subject, "\n".join(lines))
            sent += 1
        except Exception:  # one bad address must not stop the others
            log.exception("document notice to %s failed", person.email)
    return sent


# --- for the document's page ------------------------------------------------------------------


async def panel(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    document: Document | int,
) -> dict[str, Any] | None:
    """The keyword arguments of ``distribution_panel`` on the document's page —
    ``{"status": ..., "candidates": ...}`` — or None when the caller has nothing to see
    there (neither manages the distribution nor is a recipient).

    ``candidates`` is None unless the caller may send. A ``?distribution=`` flag left
    by a redirect from here becomes the panel's message."""
    document_id = document if isinstance(document, int) else document.id
    service = Distribution(db, actor)
    status = await service.panel(document_id)
    if not status.manage and not status.mine:
        return None
    flash = FLASHES.get(request.query.get("distribution", ""), "")
    if flash and status.manage:
        status = dataclasses.replace(status, flash=flash)
    candidates: Candidates | None = None
    if status.manage and status.signed:
        candidates = await service.candidates(document_id)
    return {"status": status, "candidates": candidates}


# --- pages ------------------------------------------------------------------------------------


def _form_ids(values: list[Any], field: str) -> list[int]:
    ids: list[int] = []
    for value in values:
        number = parse_id(value if isinstance(value, str) else None)
        if number is None:
            raise InvalidInput(
                f"{str(value)[:20]!r} is not a valid id", fields={field: "not an id"}
            )
        ids.append(number)
    return ids


def _refused(request: web.Request, actor: Actor, exc: DomainError) -> web.Response:
    """A refused send or reminder: the reason in the user's language, with its status."""
    t = translator(request)
    key = f"distribution.refused.{exc.code}"
    return render(
        request,
        "error.html",
        actor=actor,
        status=refusal_status(exc),
        code=exc.code,
        message=t(key) if t.has(key) else t("form.refused"),
        detail=exc.detail,
    )


async def _form_submit(
    request: web.Request,
    act: Callable[[Distribution, int, MultiDictProxy[Any]], Awaitable[SendNotice]],
    flash: str,
) -> web.StreamResponse:
    """A send or remind form: the refusal's page, or the mail (after the commit) and
    back to the document's panel with ``?distribution=<flash>``."""
    document_id = path_id(request, "document_id")
    async with unit(request) as (db, actor):
        form = await read_form(request)
        try:
            async with db.begin_nested():
                notice = await act(Distribution(db, actor), document_id, form)
        except (InvalidInput, Conflict) as exc:
            return _refused(request, actor, exc)
    await send_distribution_mail(request.app, notice)
    return see_other(f"/documents/{document_id}?distribution={flash}#distribution")


async def send_submit(request: web.Request) -> web.StreamResponse:
    return await _form_submit(
        request,
        lambda service, document_id, form: service.send(
            document_id,
            _form_ids(form.getall("organisation_id", []), "organisation_ids"),
            _form_ids(form.getall("member_id", []), "member_ids"),
        ),
        "sent",
    )


async def remind_submit(request: web.Request) -> web.StreamResponse:
    return await _form_submit(
        request,
        lambda service, document_id, form: service.remind(
            document_id, _form_ids(form.getall("recipient_id", []), "recipient_ids")
        ),
        "reminded",
    )


async def inbox_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        entries = await Distribution(db, actor).inbox()
        return render(
            request,
            "documents/inbox.html",
            actor=actor,
            entries=entries,
            pending=sum(1 for e in entries if not e.copy.acknowledged),
        )


def install(app: web.Application) -> None:
    """The pages. ``/documents/inbox`` must not be taken by the document route: declare
    that one as ``/documents/{id:\\d+}``."""
    app.router.add_get("/documents/inbox", inbox_page)
    app.router.add_post(r"/documents/{document_id:\d+}/send", send_submit)
    app.router.add_post(r"/documents/{document_id:\d+}/remind", remind_submit)


# --- the JSON API -----------------------------------------------------------------------------


@routes.route(
    "POST",
    "/documents/{document_id}/acknowledgements",
    summary="Acknowledge a document («ознакомлен») with a statement signed by a key of "
    "the caller's, for themselves (org 0) or an organisation they act for",
    tag="documents",
    body=AcknowledgementIn,
    response=AcknowledgementOut,
)
async def acknowledge_document(
    request: web.Request, document_id: int, body: AcknowledgementIn
) -> AcknowledgementOut:
    async with unit(request) as (db, actor):
        done = await Distribution(db, actor).acknowledge(document_id, body.model_dump())
        return _acknowledgement_out(done)


@routes.route(
    "GET",
    "/documents/{document_id}/recipients",
    summary="Whom a document was sent to, and who has acknowledged it (the secretary)",
    tag="documents",
    response=DistributionOut,
)
async def document_recipients(request: web.Request, document_id: int) -> DistributionOut:
    async with unit(request) as (db, actor):
        return _distribution_out(await Distribution(db, actor).status(document_id))


async def _told(
    request: web.Request,
    document_id: int,
    act: Callable[[Distribution], Awaitable[SendNotice]],
) -> DistributionOut:
    """Send or remind (``act``), answer with the distribution, mail after the commit."""
    async with unit(request) as (db, actor):
        service = Distribution(db, actor)
        notice = await act(service)
        out = _distribution_out(await service.status(document_id), notice)
    await send_distribution_mail(request.app, notice)
    return out


@routes.route(
    "POST",
    "/documents/{document_id}/recipients",
    summary="Send a signed document to member organisations and named members",
    tag="documents",
    body=SendIn,
    response=DistributionOut,
    status=201,
)
async def send_document(request: web.Request, document_id: int, body: SendIn) -> DistributionOut:
    return await _told(
        request,
        document_id,
        lambda service: service.send(document_id, body.organisation_ids, body.member_ids),
    )


@routes.route(
    "POST",
    "/documents/{document_id}/reminders",
    summary="Remind recipients who have not acknowledged (at most once an hour each)",
    tag="documents",
    body=RemindIn,
    response=DistributionOut,
)
async def remind_recipients(
    request: web.Request, document_id: int, body: RemindIn
) -> DistributionOut:
    return await _told(
        request, document_id, lambda service: service.remind(document_id, body.recipient_ids)
    )


@routes.route(
    "GET",
    "/inbox",
    summary="The documents sent to the caller or to organisations they act for",
    tag="documents",
    response=list[InboxOut],
)
async def document_inbox(request: web.Request) -> list[InboxOut]:
    async with unit(request) as (db, actor):
        return [_inbox_out(entry) for entry in await Distribution(db, actor).inbox()]
