"""The electronic union card: the member's card with its QR code, the public
verification page, the registrar's issue and revoke, and the two public documents
an offline verifier downloads (``/registry/keys.json``, ``/registry/revocations.json``).

The QR code holds the card's compact text (``KVC1.…``); the page shows the same
text to copy. Verification here and in ``kvorum card verify`` is one function,
:func:`crypto.card.verify_card`, fed with this registry's public keys and its
newest signed revocation list.
"""

from __future__ import annotations

import io
import json
from typing import Any

import segno
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.card import MAX_CARD_TEXT_LENGTH, UnionCard, decode_card
from crypto.errors import CredentialError
from registry.accesslog import AccessAction, record_access
from registry.actor import Actor
from registry.cards import CardService, organisation_label
from registry.credentials import UNION_CARD, CredentialService
from registry.errors import NotFound
from registry.models import IssuedCredential, Member, Organisation, Role
from registry.orm import utcnow
from server.api import parse_id
from server.auth import read_form, unit
from server.keys import KEYRING, SESSIONMAKER, SETTINGS
from server.pages import render

__all__ = ["KEYS_PATH", "REVOCATIONS_PATH", "install", "qr_svg"]

KEYS_PATH = "/registry/keys.json"
REVOCATIONS_PATH = "/registry/revocations.json"
# What the result page echoes back of a pasted text: enough for any real card.
MAX_ECHO = MAX_CARD_TEXT_LENGTH + 100
# Module size in the SVG's own units; the page scales the image with CSS.
QR_SCALE = 4
QR_BORDER = 2


def qr_svg(text: str) -> bytes:
    """The card text as a QR code in SVG (byte mode, error correction M)."""
    # A card is ~500-700 bytes: version 15-20 at level M, easily read by a phone
    # camera from a screen or an A6 print. segno raises DataOverflowError if a text
    # would not fit at all, which a card of at most 4096 characters cannot reach.
    code = segno.make(text, micro=False, error="m")
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        scale=QR_SCALE,
        border=QR_BORDER,
        light="#fff",  # a white quiet zone whatever the page behind it
        xmldecl=False,
        title="KVC1",
    )
    return out.getvalue()


def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    # A card carries personal data: never kept by a shared cache or the back button.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _service(request: web.Request, db: AsyncSession, actor: Actor) -> CardService:
    return CardService(db, actor, request.app[KEYRING])


async def _current_text(
    request: web.Request, db: AsyncSession, actor: Actor, member_id: int
) -> str:
    service = _service(request, db, actor)
    now = utcnow()
    # A card is registry data (name, card number, organisation): its holder's own view
    # is logged like every other read of it.
    await record_access(db, actor, AccessAction.READ, [member_id], "union card")
    return await service.current_card(
        member_id,
        now=now,
        valid_days=request.app[SETTINGS].card_days,
        key_serial=await service.bound_key_serial(member_id, now=now),
    )


async def _primary_name(db: AsyncSession, member: Member, card: UnionCard) -> str:
    """The member's own organisation, when it is not the union the card names."""
    if member.organisation_id == card.organisation_id:
        return ""
    org = await db.get(Organisation, member.organisation_id)
    return (org.short_name or org.name) if org is not None else ""


def path_id(request: web.Request, name: str) -> int:
    found = parse_id(request.match_info[name])
    if found is None:
        raise NotFound(f"{request.match_info[name]} is not a valid id")
    return found


# --- the member's own card ----------------------------------------------------------------


async def card_page(request: web.Request) -> web.StreamResponse:
    """GET /card: the logged-in member's card, issued on first view."""
    async with unit(request) as (db, actor):
        if actor.member_id is None:
            return _no_store(render(request, "card.html", actor=actor, mode="own", card=None))
        text = await _current_text(request, db, actor, actor.member_id)
        member = await db.get(Member, actor.member_id)
        assert member is not None
        card = decode_card(text).card
        return _no_store(
            render(
                request,
                "card.html",
                actor=actor,
                mode="own",
                card=card,
                text=text,
                qr_url=f"/card/qr.svg?serial={card.serial}",
                primary=await _primary_name(db, member, card),
            )
        )


async def card_text(request: web.Request) -> web.StreamResponse:
    """GET /card/text: the compact text alone (for scripts and copying)."""
    async with unit(request) as (db, actor):
        if actor.member_id is None:
            raise NotFound("this account is not a union member's and holds no card")
        text = await _current_text(request, db, actor, actor.member_id)
    return _no_store(web.Response(text=text + "\n", content_type="text/plain", charset="utf-8"))


async def card_qr(request: web.Request) -> web.StreamResponse:
    """GET /card/qr.svg[?serial=N]: the QR code of the caller's current card, or of card
    N (the holder's own, or any for the registrar)."""
    wanted = request.query.get("serial")
    async with unit(request) as (db, actor):
        if wanted is not None:
            serial = parse_id(wanted)
            row = await db.get(IssuedCredential, serial) if serial is not None else None
            if (
                row is None
                or row.kind != UNION_CARD
                or (row.member_id != actor.member_id and not actor.has(Role.REGISTRAR))
            ):
                raise NotFound("no such union card")
            await record_access(
                db, actor, AccessAction.READ, [row.member_id], f"union card {row.serial}"
            )
            text = row.document
        elif actor.member_id is None:
            raise NotFound("this account is not a union member's and holds no card")
        else:
            text = await _current_text(request, db, actor, actor.member_id)
    return _no_store(web.Response(body=qr_svg(text), content_type="image/svg+xml"))


# --- verification (public) ---------------------------------------------------------------


async def verify_page(request: web.Request) -> web.StreamResponse:
    """GET /card/verify: paste a card's text (or scan its QR code) to check it."""
    async with unit(request, anonymous=True) as (_db, actor):
        return render(request, "card_verify.html", actor=actor, text="", result=None, error="")


async def verify_submit(request: web.Request) -> web.StreamResponse:
    """POST /card/verify: the verdict. Changes nothing (at most it makes the first
    revocation list, which exists by definition), so it needs no login."""
    form = await read_form(request)
    raw = form.get("card", "")
    text = raw.strip() if isinstance(raw, str) else ""
    async with unit(request, anonymous=True) as (db, actor):
        context: dict[str, Any] = {"actor": actor, "text": text[:MAX_ECHO], "error": ""}
        if not text:
            context["error"] = "card.verify.empty"
            return render(request, "card_verify.html", status=422, result=None, **context)
        try:
            check = await _service(request, db, actor).verify(text, now=utcnow())
        except CredentialError as exc:
            return render(
                request,
                "card_verify.html",
                result={"valid": False, "reason": exc.reason, "detail": str(exc)},
                **context,
            )
        return render(
            request,
            "card_verify.html",
            result={
                "valid": True,
                "card": check.card,
                "list_number": check.revocations.number,
                "list_issued_at": check.revocations.issued_at,
            },
            **context,
        )


# --- the registrar's view of a member's cards ----------------------------------------------


async def member_cards(request: web.Request) -> web.StreamResponse:
    """GET /registry/members/{id}/card: the registrar's view; never issues by itself."""
    member_id = path_id(request, "member_id")
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        service = _service(request, db, actor)
        history = await service.history(member_id)
        valid = await service.valid_card(member_id, now=utcnow())
        member = await db.get(Member, member_id)
        assert member is not None
        await record_access(db, actor, AccessAction.READ, [member_id], "union cards")
        card = decode_card(valid.document).card if valid is not None else None
        return _no_store(
            render(
                request,
                "card.html",
                actor=actor,
                mode="registrar",
                member=member,
                card=card,
                text=valid.document if valid is not None else "",
                qr_url=f"/card/qr.svg?serial={card.serial}" if card is not None else "",
                primary=await _primary_name(db, member, card) if card is not None else "",
                history=history,
                done=request.query.get("done", ""),
            )
        )


async def member_card_issue(request: web.Request) -> web.StreamResponse:
    """POST /registry/members/{id}/card/issue: make sure the member has a valid card."""
    member_id = path_id(request, "member_id")
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        text = await _current_text(request, db, actor, member_id)
        serial = decode_card(text).card.serial
        await record_access(db, actor, AccessAction.UPDATE, [member_id], f"union card {serial}")
    # Returned, not raised, after the block: the transaction has committed.
    return web.Response(
        status=303, headers={"Location": f"/registry/members/{member_id}/card?done=card_issued"}
    )


async def member_card_revoke(request: web.Request) -> web.StreamResponse:
    """POST /registry/members/{id}/card/revoke: revoke the member's valid card."""
    member_id = path_id(request, "member_id")
    form = await read_form(request)
    reason = str(form.get("reason", "")).strip()[:200] or "revoked by the registrar"
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        row = await _service(request, db, actor).revoke_current(member_id, reason, now=utcnow())
        await record_access(
            db, actor, AccessAction.UPDATE, [member_id], f"union card {row.serial} revoked"
        )
    return web.Response(
        status=303, headers={"Location": f"/registry/members/{member_id}/card?done=card_revoked"}
    )


# --- public documents for offline verifiers --------------------------------------------------


async def _union(db: AsyncSession, request: web.Request) -> Organisation:
    """The union asked for (``?org=ID``, a root organisation), else the first one."""
    stmt = select(Organisation).where(Organisation.parent_id.is_(None))
    if "org" in request.query:
        org_id = parse_id(request.query["org"])
        if org_id is None:
            raise NotFound("no such union")
        stmt = stmt.where(Organisation.id == org_id)
    union = await db.scalar(stmt.order_by(Organisation.id).limit(1))
    if union is None:
        raise NotFound("no such union")
    return union


def _public_json(body: bytes) -> web.Response:
    response = web.Response(body=body, content_type="application/json")
    # Revalidate every time: a verifier must not keep an old revocation list.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, no credentials
    return response


async def registry_keys(request: web.Request) -> web.StreamResponse:
    """GET /registry/keys.json: every registry public key, for ``kvorum card verify``."""
    async with request.app[SESSIONMAKER]() as db:
        union = await _union(db, request)
        document = request.app[KEYRING].document(union.id, organisation_label(union))
    return _public_json(json.dumps(document, ensure_ascii=False, indent=2).encode())


async def registry_revocations(request: web.Request) -> web.StreamResponse:
    """GET /registry/revocations.json: the union's newest signed revocation list."""
    async with request.app[SESSIONMAKER]() as db, db.begin():
        union = await _union(db, request)
        anonymous = Actor(account_id=None, display_name="anonymous")
        signed = await CredentialService(db, anonymous, request.app[KEYRING]).revocation_list(
            union.id
        )
    return _public_json(bytes(signed))


def _has_route(app: web.Application, method: str, path: str) -> bool:
    return any(
        route.method == method and route.resource is not None and route.resource.canonical == path
        for route in app.router.routes()
    )


def install(app: web.Application) -> None:
    r = app.router
    r.add_get("/card", card_page)
    r.add_get("/card/text", card_text)
    r.add_get("/card/qr.svg", card_qr)
    r.add_get("/card/verify", verify_page)
    r.add_post("/card/verify", verify_submit)
    r.add_get(r"/registry/members/{member_id:\d+}/card", member_cards)
    r.add_post(r"/registry/members/{member_id:\d+}/card/issue", member_card_issue)
    r.add_post(r"/registry/members/{member_id:\d+}/card/revoke", member_card_revoke)
    # The signing-keys module may serve these as well; one definition is enough.
    if not _has_route(app, "GET", KEYS_PATH):
        r.add_get(KEYS_PATH, registry_keys)
    if not _has_route(app, "GET", REVOCATIONS_PATH):
        r.add_get(REVOCATIONS_PATH, registry_revocations)
