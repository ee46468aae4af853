"""A meeting's documents: drafts and their preview (HTML, PDF, DOCX), the secretary's
editor, finalising, the signatures of the secretary and the chair, the journal of
issued documents, and the public page that verifies a signed PDF."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings import docverify
from meetings.docx import extract_docx, protocol_docx, resolution_docx
from meetings.elections.protocol import CommissionProtocol, commission_protocol
from meetings.elections.services import ElectionService
from meetings.issuing import DocumentDesk, Draft
from meetings.models import Document, DocumentKind, DocumentState, MeetingState
from meetings.preparation import MeetingService
from meetings.schemas import DraftTextsIn
from registry.actor import Actor
from registry.credentials import CredentialService
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.localtime import LocalClock
from registry.models import Organisation
from server.api import ApiRoutes
from server.auth import read_form, unit
from server.docrender import DocumentRenderer
from server.docwords import said, summary
from server.forms import path_id, see_other
from server.keys import JINJA, KEYRING, MAILER, SETTINGS
from server.mailer import Letter, send_letters
from server.middlewares import upload
from server.pages import render, translator
from server.views import distribution_pages
from server.views.registry_api import read_upload

__all__ = [
    "DocumentOut",
    "document_out",
    "install",
    "issue_commission_protocol",
    "render_commission",
    "render_draft",
    "routes",
]

routes = ApiRoutes()

#: WeasyPrint lays out one document at a time, off the event loop.
_LAYOUT = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kvorum-pdf")

_DOWNLOAD_NAMES = {
    DocumentKind.PROTOCOL: "Протокол",
    DocumentKind.RESOLUTION: "Постановление",
    DocumentKind.EXTRACT: "Выписка",
    DocumentKind.COMMISSION_PROTOCOL: "Протокол-счётной-комиссии",
}


def _renderer(request: web.Request) -> DocumentRenderer:
    return DocumentRenderer(request.app[JINJA])


def draft_html(renderer: DocumentRenderer, draft: Draft, *, mark: bool) -> str:
    if draft.resolution is not None:
        return renderer.resolution_html(draft.resolution, draft=mark)
    assert draft.protocol is not None
    only = draft.item.position if draft.kind is DocumentKind.EXTRACT and draft.item else None
    return renderer.protocol_html(draft.protocol, draft=mark, only=only)


async def render_draft(renderer: DocumentRenderer, draft: Draft, *, mark: bool) -> bytes:
    """The draft's PDF, laid out off the event loop."""
    html = draft_html(renderer, draft, mark=mark)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_LAYOUT, renderer.pdf, html)


async def render_commission(renderer: DocumentRenderer, protocol: CommissionProtocol) -> bytes:
    """A counting commission's protocol as the PDF its members sign, laid out off the
    event loop."""
    html = renderer.commission_protocol_html(protocol, draft=False)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_LAYOUT, renderer.pdf, html)


async def issue_commission_protocol(
    request: web.Request, db: AsyncSession, actor: Actor, election_id: int
) -> Document:
    """Render a counted election's commission protocol and fix it (a member of the
    commission, or the meeting's secretary or chair)."""
    keyring = request.app[KEYRING]
    service = ElectionService(db, actor, keyring)
    election, access = await service.get(election_id, lock=True)
    commission = await service.commission(election)
    members = {m.member_id for m in commission.members} if commission else set()
    if "caller" not in access.names and actor.member_id not in members:
        raise PermissionDenied(
            "only a member of the counting commission, or the meeting's secretary or chair,"
            " issue the commission's protocol",
            code="not_yours",
        )
    protocol, result, signers = await commission_protocol(db, election, keyring)
    pdf = await render_commission(_renderer(request), protocol)
    desk = DocumentDesk(db, actor, keyring)
    return await desk.finalise_commission(election, protocol, result, signers, pdf)


def _docx(draft: Draft) -> bytes:
    if draft.resolution is not None:
        return resolution_docx(draft.resolution)
    assert draft.protocol is not None
    if draft.kind is DocumentKind.EXTRACT and draft.item is not None:
        return extract_docx(draft.protocol, draft.item.position)
    return protocol_docx(draft.protocol)


def _file_name(kind: DocumentKind, number: str, extension: str) -> str:
    digits = number.replace("№", "").replace(" ", "").replace("–", "-")
    return f"{_DOWNLOAD_NAMES[kind]}-{digits}.{extension}"


def _attachment(data: bytes, media_type: str, name: str, *, inline: bool) -> web.Response:
    disposition = "inline" if inline else "attachment"
    return web.Response(
        body=data,
        content_type=media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


def _kind_and_item(request: web.Request) -> tuple[DocumentKind, int | None]:
    kind = DocumentKind(request.match_info["kind"])
    item = path_id(request, "item_id") if "item_id" in request.match_info else None
    return kind, item


# --- drafts -----------------------------------------------------------------------------------


async def draft_view(request: web.Request) -> web.StreamResponse:
    """A draft as the standalone document page, as its PDF or as DOCX."""
    kind, item_id = _kind_and_item(request)
    form = request.match_info.get("format", "")
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        draft = await desk.draft(path_id(request, "meeting_id"), kind, item_id)
    renderer = _renderer(request)
    if form == ".pdf":
        pdf = await render_draft(renderer, draft, mark=True)
        return _attachment(
            pdf, "application/pdf", _file_name(kind, draft.number, "pdf"), inline=True
        )
    if form == ".docx":
        data = _docx(draft)
        return _attachment(
            data,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            _file_name(kind, draft.number, "docx"),
            inline=False,
        )
    html = draft_html(renderer, draft, mark=True)
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def _editor_context(desk: DocumentDesk, meeting_id: int) -> dict[str, Any]:
    draft = await desk.draft(meeting_id, DocumentKind.PROTOCOL, None)
    documents = await desk.of_meeting(meeting_id)
    _meeting, roles = await MeetingService(desk.session, desk.actor).get(meeting_id)
    live = {(d.kind, d.item_id): d for d in documents if d.state is not DocumentState.WITHDRAWN}
    base = f"/meetings/{meeting_id}"
    rows: list[dict[str, Any]] = [
        {
            "kind": "protocol",
            "item": None,
            "base": base + "/protocol",
            "issued": live.get((DocumentKind.PROTOCOL, None)),
        }
    ]
    for item in draft.meeting.items:
        for kind in (DocumentKind.RESOLUTION, DocumentKind.EXTRACT):
            issued = live.get((kind, item.id))
            # An item that decided nothing («Разное») has no resolution and no extract.
            if issued is None and not (item.decision.strip() or item.draft_resolution.strip()):
                continue
            rows.append(
                {
                    "kind": kind.value,
                    "item": item,
                    "base": f"{base}/items/{item.id}/{kind.value}",
                    "issued": issued,
                }
            )
    return {
        "rows": rows,
        "meeting": draft.meeting,
        "protocol": draft.protocol,
        "items": list(draft.meeting.items),
        "roles": roles,
        "can_edit": roles.is_secretary
        and draft.meeting.state in (MeetingState.IN_SESSION, MeetingState.CLOSED)
        and not any(
            d.kind is DocumentKind.PROTOCOL and d.state is not DocumentState.WITHDRAWN
            for d in documents
        ),
        "can_finalise": roles.is_secretary and draft.meeting.state is MeetingState.CLOSED,
    }


async def editor(request: web.Request) -> web.StreamResponse:
    """The secretary's desk: the item texts beside the protocol's preview, and the
    documents of the meeting with their state."""
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        context = await _editor_context(desk, path_id(request, "meeting_id"))
        return render(request, "documents/editor.html", actor=actor, **context)


async def _save_texts(request: web.Request, desk: DocumentDesk, meeting_id: int) -> None:
    posted = await read_form(request)
    item_id = str(posted.get("item", ""))
    if not item_id.isdigit():
        raise InvalidInput("choose the agenda item", fields={"item": "required"})
    texts = DraftTextsIn(
        **{
            name: str(posted[name])
            for name in ("heard", "speeches", "decision", "draft_resolution")
            if name in posted
        }
    )
    await desk.edit_texts(meeting_id, int(item_id), texts)


async def editor_save(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request, "meeting_id")
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        await _save_texts(request, desk, meeting_id)
    return see_other(f"/meetings/{meeting_id}/documents?done=texts_saved")


async def editor_preview(request: web.Request) -> web.StreamResponse:
    """The protocol's article with the posted texts, for the live preview. The texts
    are applied inside a transaction that is rolled back: nothing is saved."""
    meeting_id = path_id(request, "meeting_id")
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        async with db.begin_nested() as nested:
            await _save_texts(request, desk, meeting_id)
            draft = await desk.draft(meeting_id, DocumentKind.PROTOCOL, None)
            await nested.rollback()
        assert draft.protocol is not None
        html = (
            request.app[JINJA]
            .get_template("documents/_preview.html")
            .render(doc=draft.protocol, draft=True, only=None)
        )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


# --- finalising and signing ------------------------------------------------------------------


async def finalise(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request, "meeting_id")
    posted = await read_form(request)
    try:
        kind = DocumentKind(str(posted.get("kind", "")))
    except ValueError:
        raise InvalidInput("unknown document kind", fields={"kind": "unknown"}) from None
    item_text = str(posted.get("item", "") or "")
    item_id = int(item_text) if item_text.isdigit() else None
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        draft = await desk.draft(meeting_id, kind, item_id)
        pdf = await render_draft(_renderer(request), draft, mark=False)
        document = await desk.finalise(draft, pdf)
        location = f"/documents/{document.id}?done=finalised"
    return see_other(location)


async def withdraw(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        document = await desk.withdraw(path_id(request, "document_id"))
        location = f"/meetings/{document.meeting_id}/documents?done=withdrawn"
    return see_other(location)


async def document_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        document, roles = await desk.get(path_id(request, "document_id"))
        signatures = await desk.signatures(document)
        pending = desk.pending(document, signatures)
        mine = next((p for p in pending if p[1] == actor.member_id), None)
        step = mine or (pending[0] if pending else None)
        names = await desk.names({s.member_id for s in signatures})
        distribution = await distribution_pages.panel(request, db, actor, document)
        return render(
            request,
            "documents/document.html",
            actor=actor,
            doc=document,
            roles=roles,
            signatures=[(s, names.get(s.member_id, "")) for s in signatures],
            next_role=step[0] if step else None,
            my_turn=step is not None and step[1] == actor.member_id,
            distribution=distribution,
        )


async def document_pdf(request: web.Request) -> web.StreamResponse:
    """The signed PDF (with the signatures embedded) or, before that, the fixed one."""
    signed = request.match_info["which"] == "signed"
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        document, _roles = await desk.get(path_id(request, "document_id"))
        data = document.signed_pdf if signed else document.pdf
        if data is None:
            raise NotFound("the document is not signed yet")
        name = _file_name(document.kind, document.number, "pdf")
        if not signed:
            name = name.replace(".pdf", "-без-подписей.pdf")
        return _attachment(data, "application/pdf", name, inline=False)


async def journal(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        documents = await desk.journal()
        return render(request, "documents/journal.html", actor=actor, documents=documents)


class SignatureIn(BaseModel):
    """A signature envelope made in the browser: the payload, the key id, the signature."""

    model_config = ConfigDict(extra="forbid")
    payload: dict[str, Any]
    signer: str
    signature: str


class SigningOut(BaseModel):
    document: int
    record: dict[str, Any]
    record_digest: str
    role: str
    member: int
    previous: str
    pdf: str
    now: str


class DocumentOut(BaseModel):
    id: int
    kind: str
    state: str
    number: str
    journal: str
    title: str
    record_digest: str
    signatures: list[str]


def document_out(document: Document, roles: list[str]) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        kind=document.kind.value,
        state=document.state.value,
        number=document.number,
        journal=document.journal_number,
        title=document.title,
        record_digest=document.record_digest,
        signatures=roles,
    )


@routes.route(
    "GET",
    "/documents/{document_id}/signing",
    summary="What the caller signs now (the secretary, then the chair): the record, its "
    "digest, the role and the previous signature's digest",
    tag="documents",
    response=SigningOut,
)
async def signing_request(request: web.Request, document_id: int) -> SigningOut:
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        return SigningOut(**await desk.signing_request(document_id))


@routes.route(
    "POST",
    "/documents/{document_id}/signatures",
    summary="Add the caller's signature over the document's record; the chair's, the "
    "last, embeds both in the PDF",
    tag="documents",
    body=SignatureIn,
    response=DocumentOut,
    status=201,
)
async def add_signature(request: web.Request, document_id: int, body: SignatureIn) -> DocumentOut:
    async with unit(request) as (db, actor):
        desk = DocumentDesk(db, actor, request.app[KEYRING])
        document = await desk.sign(document_id, body.model_dump())
        signatures = await desk.signatures(document)
        next_signer = await desk.next_signer_address(document)
        out = DocumentOut(
            id=document.id,
            kind=document.kind.value,
            state=document.state.value,
            number=document.number,
            journal=document.journal_number,
            title=document.title,
            record_digest=document.record_digest,
            signatures=[s.role for s in signatures],
        )
    if next_signer is not None:
        name, email = next_signer
        url = f"{request.app[SETTINGS].effective_public_url}/documents/{document_id}"
        await send_letters(
            request.app[MAILER],
            [
                Letter(
                    email,
                    f"Документ ждёт вашей подписи: {out.title}"[:500],
                    f"{name},\n\nсекретарь подписал документ «{out.title}» "
                    f"(рег. № {out.journal}); теперь его подписываете вы:\n{url}\n",
                )
            ],
        )
    return out


# --- verifying --------------------------------------------------------------------------------


def _verify_page(
    request: web.Request,
    actor: Actor,
    *,
    report: docverify.DocReport | None = None,
    file_name: str = "",
    error: str = "",
    status: int = 200,
) -> web.Response:
    t = translator(request)
    lines = said(report, t, LocalClock(request.app[SETTINGS].timezone, t.locale)) if report else []
    return render(
        request,
        "documents/verify.html",
        actor=actor,
        status=status,
        report=report,
        lines=lines,
        summary=summary(report, t, lines) if report else "",
        self_vouched=bool(
            report
            and any(c.name == "trust" and c.ok and not c.params.get("given") for c in report.checks)
        ),
        file_name=file_name,
        error=error,
    )


async def verify_form(request: web.Request) -> web.StreamResponse:
    async with unit(request, anonymous=True) as (_db, actor):
        return _verify_page(request, actor)


@upload
async def verify_upload(request: web.Request) -> web.StreamResponse:
    """Check an uploaded signed PDF with the same verifier as ``kvorum docs verify``,
    trusting this server's registry keys and its current revocation lists. Anyone may:
    the file is checked, not kept."""
    t = translator(request)
    async with unit(request, anonymous=True) as (db, actor):
        try:
            file_name, data = await read_upload(request)
        except InvalidInput:
            return _verify_page(request, actor, error=t("documents.verify.no_file"), status=422)
        keyring = request.app[KEYRING]
        credentials = CredentialService(db, actor, keyring)
        unions = await db.scalars(select(Organisation.id).where(Organisation.parent_id.is_(None)))
        lists = [await credentials.revocation_list(union) for union in unions.all()]
        report = docverify.verify_pdf(data, keys=keyring.public_keys(), revocations=lists)
        return _verify_page(request, actor, report=report, file_name=file_name)


# --- routes -----------------------------------------------------------------------------------


def install(app: web.Application) -> None:
    r = app.router
    m = r"/meetings/{meeting_id:\d+}"
    fmt = r"{format:(\.pdf|\.docx)?}"
    r.add_get(m + "/documents", editor)
    r.add_post(m + "/documents/texts", editor_save)
    r.add_post(m + "/documents/preview", editor_preview)
    r.add_post(m + "/documents", finalise)
    r.add_get(m + r"/{kind:protocol}" + fmt, draft_view)
    r.add_get(m + r"/items/{item_id:\d+}/{kind:resolution|extract}" + fmt, draft_view)
    r.add_get("/documents", journal)
    r.add_get("/documents/verify", verify_form)
    r.add_post("/documents/verify", verify_upload)
    r.add_get(r"/documents/{document_id:\d+}", document_page)
    r.add_get(r"/documents/{document_id:\d+}/{which:signed|unsigned}.pdf", document_pdf)
    r.add_post(r"/documents/{document_id:\d+}/withdraw", withdraw)
