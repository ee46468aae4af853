"""Getting in: invitations, passkeys, e-mail codes, logout; the registrar's invitations."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accesslog import AccessAction, record_access
from registry.accounts import AccountService, BodyInvitees
from registry.actor import Actor
from registry.credentials import CredentialService
from registry.errors import NotAuthenticated, NotFound, PermissionDenied, RateLimited
from registry.models import Account, Passkey, Role, Session
from registry.orm import utcnow
from registry.schemas import StrictIn
from server import codes, passkeys
from server.api import ApiRoutes, parse_id
from server.auth import (
    clear_session_cookie,
    current_session,
    open_session,
    read_form,
    set_session_cookie,
    unit,
)
from server.authevents import LOGIN_FAILED, check_rate, record_event, record_failure
from server.invitations import Issued, consume_invitation, issue_for, peek_invitation
from server.keys import KEYRING, MAILER, SESSIONMAKER, SETTINGS
from server.mailer import delivers, send_letters
from server.outbox import OutboxMailer
from server.pages import render, translator
from server.throttle import THROTTLE
from server.views.signing_keys import session_is_fresh

__all__ = ["install", "routes"]

routes = ApiRoutes()


# --- API models ------------------------------------------------------------------------------


class CeremonyOut(BaseModel):
    """Options for the browser's WebAuthn call, and the server's id of its challenge."""

    challenge_id: int
    options: dict[str, Any]


class PasskeyIn(StrictIn):
    challenge_id: int = Field(ge=1, le=2**31 - 1)
    credential: dict[str, Any]
    label: str = Field(default="", max_length=200)


class PasskeyLoginIn(StrictIn):
    challenge_id: int = Field(ge=1, le=2**31 - 1)
    credential: dict[str, Any]


class PasskeyOut(BaseModel):
    id: int
    label: str
    created_at: Any
    last_used_at: Any


class LoginOut(BaseModel):
    redirect: str


class InvitationIn(StrictIn):
    roles: list[Role] = Field(default_factory=lambda: [Role.MEMBER])
    send: bool = Field(default=True, description="e-mail it when mail is configured")


class InvitationOut(BaseModel):
    url: str
    sent_to: str
    expires_in_hours: int


class BodyInvitationOut(BaseModel):
    member_id: int
    name: str
    url: str | None = Field(description="the link; null unless the caller is the registrar")
    sent_to: str = Field(description="the address it was mailed to; empty when not mailed")


class BodyInvitationsOut(BaseModel):
    body_id: int
    invited: list[BodyInvitationOut]
    already_in: int = Field(description="current members who have logged in before")
    expires_in_hours: int


# --- passkeys (API: the browser's navigator.credentials talks JSON) -------------------------------


async def _caller(request: web.Request, db: AsyncSession, actor: Actor) -> tuple[Session, Account]:
    session = current_session(request)
    account = await db.get(Account, actor.account_id)
    if session is None or account is None:
        raise NotAuthenticated("log in to continue")
    return session, account


@routes.route(
    "POST",
    "/auth/passkeys/options",
    summary="Start registering a passkey",
    tag="auth",
    response=CeremonyOut,
)
async def passkey_options(request: web.Request) -> CeremonyOut:
    async with unit(request) as (db, actor):
        session, account = await _caller(request, db, actor)
        challenge_id, options = await passkeys.start_registration(
            db, request.app[SETTINGS], account, session
        )
        return CeremonyOut(challenge_id=challenge_id, options=json.loads(options))


@routes.route(
    "POST",
    "/auth/passkeys",
    summary="Register a passkey",
    tag="auth",
    body=PasskeyIn,
    response=PasskeyOut,
    status=201,
)
async def passkey_register(request: web.Request, body: PasskeyIn) -> PasskeyOut:
    async with unit(request) as (db, actor):
        session, account = await _caller(request, db, actor)
        passkey = await passkeys.finish_registration(
            db,
            request.app[SETTINGS],
            account,
            session,
            body.challenge_id,
            body.credential,
            body.label or request.headers.get("User-Agent", "")[:60],
        )
        await record_event(db, request, "passkey_registered", account_id=account.id)
        return PasskeyOut(
            id=passkey.id, label=passkey.label, created_at=passkey.created_at, last_used_at=None
        )


@routes.route(
    "POST",
    "/auth/login/options",
    summary="Start logging in with a passkey",
    tag="auth",
    response=CeremonyOut,
    public=True,
)
async def login_options(request: web.Request) -> CeremonyOut:
    # Anonymous and it stores a row: throttled per address, capped in all (passkeys).
    request.app[THROTTLE].take(request, "login_options")
    async with request.app[SESSIONMAKER]() as db, db.begin():
        await check_rate(db, request, None)
        challenge_id, options = await passkeys.start_login(db, request.app[SETTINGS])
        return CeremonyOut(challenge_id=challenge_id, options=json.loads(options))


@routes.route(
    "POST",
    "/auth/login",
    summary="Log in with a passkey (sets the session cookie)",
    tag="auth",
    body=PasskeyLoginIn,
    response=LoginOut,
    public=True,
)
async def login_passkey(request: web.Request, body: PasskeyLoginIn) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    claimed: int | None = None
    try:
        async with request.app[SESSIONMAKER]() as db, db.begin():
            passkey = await passkeys.credential_account(db, body.credential)
            claimed = passkey.account_id if passkey else None
            await check_rate(db, request, claimed)
            if passkey is None:
                raise passkeys.PasskeyRejected("this passkey is not registered here")
            account = await passkeys.finish_login(
                db, settings, body.challenge_id, body.credential, passkey
            )
            token, _row = await open_session(db, account, request, method="passkey")
            await record_event(db, request, "login", account_id=account.id, detail="passkey")
    except passkeys.PasskeyRejected as exc:
        # Counted after the refused transaction has ended (it held the write lock).
        await record_failure(request, account_id=claimed, detail=f"passkey: {exc.detail}")
        raise
    response = web.json_response({"redirect": "/"})
    set_session_cookie(response, settings, token)
    return response


# --- invitations issued by the registrar ------------------------------------------------------


@routes.route(
    "POST",
    "/members/{member_id}/invitations",
    summary="Invite a member (creates their account if needed)",
    tag="auth",
    body=InvitationIn,
    response=InvitationOut,
    status=201,
)
async def invite_member(request: web.Request, member_id: int, body: InvitationIn) -> InvitationOut:
    async with unit(request) as (db, actor):
        issued = await _invite(request, db, actor, member_id, body.roles, send=body.send)
    await _mail(request, [issued])
    return InvitationOut(
        url=issued.url,
        sent_to=issued.sent_to,
        expires_in_hours=request.app[SETTINGS].invitation_hours,
    )


async def _invite(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    member_id: int,
    roles: list[Role],
    *,
    send: bool,
) -> Issued:
    settings = request.app[SETTINGS]
    account = await AccountService(db, actor).for_member(member_id, roles)
    mail = send and delivers(settings, request.app[MAILER])
    issued = await issue_for(db, account, settings, actor, mail=mail)
    await record_event(
        db, request, "invitation_issued", account_id=account.id, detail=f"by {actor.display_name}"
    )
    await record_access(db, actor, AccessAction.UPDATE, [member_id], "invitation issued")
    return issued


async def _mail(request: web.Request, issued: list[Issued]) -> None:
    """The invitations' letters, after the transaction that made the links committed."""
    await send_letters(request.app[MAILER], [i.letter for i in issued if i.letter is not None])


async def _invite_body(
    request: web.Request, db: AsyncSession, actor: Actor, body_id: int
) -> tuple[list[Issued], BodyInvitees]:
    """Invitations for every current member of the body who has not yet got in."""
    settings = request.app[SETTINGS]
    found = await AccountService(db, actor).body_invitees(body_id, utcnow().date())
    mail = delivers(settings, request.app[MAILER])
    issued = []
    for account in found.accounts:
        issued.append(await issue_for(db, account, settings, actor, mail=mail))
        await record_event(
            db,
            request,
            "invitation_issued",
            account_id=account.id,
            detail=f"by {actor.display_name}, body {body_id}",
        )
    members = [i.member_id for i in issued if i.member_id is not None]
    if members:
        await record_access(db, actor, AccessAction.UPDATE, members, f"body {body_id} invited")
    return issued, found


@routes.route(
    "POST",
    "/bodies/{body_id}/invitations",
    summary="Invite every current member of a body who has not yet logged in (links shown "
    "to the registrar; the body's officers may only have them e-mailed)",
    tag="auth",
    response=BodyInvitationsOut,
    status=201,
)
async def invite_body(request: web.Request, body_id: int) -> BodyInvitationsOut:
    async with unit(request) as (db, actor):
        issued, found = await _invite_body(request, db, actor, body_id)
    await _mail(request, issued)
    show = found.show_links
    return BodyInvitationsOut(
        body_id=body_id,
        invited=[
            BodyInvitationOut(
                member_id=i.member_id or 0,
                name=i.name,
                url=i.url if show else None,
                sent_to=i.sent_to,
            )
            for i in issued
        ],
        already_in=found.settled,
        expires_in_hours=request.app[SETTINGS].invitation_hours,
    )


class AccountOut(BaseModel):
    id: int
    display_name: str
    member_id: int | None
    roles: list[Role]
    disabled: bool


def _account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        display_name=account.display_name,
        member_id=account.member_id,
        roles=sorted(account.roles),
        disabled=account.disabled_at is not None,
    )


@routes.route(
    "POST",
    "/accounts/{account_id}/disable",
    summary="Disable an account: no more logins, its sessions end now",
    tag="auth",
    response=AccountOut,
)
async def disable_account(request: web.Request, account_id: int) -> AccountOut:
    async with unit(request) as (db, actor):
        account = await AccountService(db, actor).disable(account_id)
        await record_event(
            db,
            request,
            "account_disabled",
            account_id=account.id,
            detail=f"by {actor.display_name}",
        )
        return _account_out(account)


@routes.route(
    "POST",
    "/accounts/{account_id}/enable",
    summary="Enable a disabled account",
    tag="auth",
    response=AccountOut,
)
async def enable_account(request: web.Request, account_id: int) -> AccountOut:
    async with unit(request) as (db, actor):
        account = await AccountService(db, actor).enable(account_id)
        await record_event(
            db, request, "account_enabled", account_id=account.id, detail=f"by {actor.display_name}"
        )
        return _account_out(account)


async def invite_page(request: web.Request) -> web.StreamResponse:
    """The registrar's button on a member's page: the link is shown (and mailed if set up)."""
    member_id = parse_id(request.match_info["member_id"])
    if member_id is None:
        raise NotFound("no such member")
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        issued = await _invite(request, db, actor, member_id, [Role.MEMBER], send=True)
    await _mail(request, [issued])
    return render(
        request,
        "invitation_issued.html",
        actor=actor,
        member_id=member_id,
        name=issued.name,
        url=issued.url,
        sent_to=issued.sent_to,
        outbox=isinstance(request.app[MAILER], OutboxMailer),
        hours=request.app[SETTINGS].invitation_hours,
    )


async def invite_body_page(request: web.Request) -> web.StreamResponse:
    """«Пригласить всех членов органа» on a body's page: the list of links is shown once."""
    body_id = parse_id(request.match_info["body_id"])
    if body_id is None:
        raise NotFound("no such body")
    async with unit(request) as (db, actor):
        issued, found = await _invite_body(request, db, actor, body_id)
    await _mail(request, issued)
    return render(
        request,
        "invitations_issued.html",
        actor=actor,
        body_id=body_id,
        body_name=found.body.name,
        issued=issued,
        settled=found.settled,
        show_links=found.show_links,
        outbox=isinstance(request.app[MAILER], OutboxMailer),
        hours=request.app[SETTINGS].invitation_hours,
    )


# --- pages ---------------------------------------------------------------------------------------


async def invitation(request: web.Request) -> web.StreamResponse:
    """GET shows whom the invitation is for (link scanners in mail clients only GET);
    POST spends it and opens a session."""
    token = request.match_info["token"]
    settings = request.app[SETTINGS]
    if request.method == "GET":
        async with request.app[SESSIONMAKER]() as db:
            account = await peek_invitation(db, token)
        if account is None:
            raise NotFound("this invitation is unknown, used or expired", code="invitation_invalid")
        return render(request, "invite.html", token=token, name=account.display_name)
    try:
        async with request.app[SESSIONMAKER]() as db, db.begin():
            await check_rate(db, request, None)
            account = await consume_invitation(db, token)
            session_token, _row = await open_session(db, account, request, method="invitation")
            await record_event(db, request, "login", account_id=account.id, detail="invitation")
    except (NotFound, PermissionDenied) as exc:
        await record_failure(request, account_id=None, detail=f"invitation: {exc.code}")
        raise
    response = web.HTTPSeeOther("/account/security?welcome=1")
    set_session_cookie(response, settings, session_token)
    raise response


async def login_page(request: web.Request) -> web.StreamResponse:
    return render(request, "login.html", step="start", email="", error="")


async def login_code_request(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    email = str(form.get("email", "")).strip()[:254]
    # Anonymous, and each known address gets a row and a mail: throttled per address.
    request.app[THROTTLE].take(request, "login_code")
    letters = []
    async with request.app[SESSIONMAKER]() as db, db.begin():
        await check_rate(db, request, None)
        account = await codes.account_for_email(db, email)
        if account is not None:
            letters.append(await codes.issue_code(db, request.app[SETTINGS], account))
            await record_event(db, request, "code_sent", account_id=account.id)
    await send_letters(request.app[MAILER], letters)
    # The same answer whether or not the address is known: no account enumeration.
    return render(request, "login.html", step="code", email=email, error="")


async def login_code_verify(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    email = str(form.get("email", "")).strip()[:254]
    code = str(form.get("code", ""))[:20]
    settings = request.app[SETTINGS]
    t = translator(request)
    account_id: int | None = None  # kept as a plain id: the row dies with its session
    try:
        async with request.app[SESSIONMAKER]() as db, db.begin():
            account = await codes.account_for_email(db, email)
            account_id = account.id if account else None
            await check_rate(db, request, account_id)
            if account is None:
                raise codes.CodeRejected("no valid code")
            await codes.redeem_code(db, account, code)
            token, _row = await open_session(db, account, request, method="code")
            await record_event(db, request, "login", account_id=account.id, detail="code")
    except codes.CodeRejected as exc:
        # After the refused transaction: a wrong guess uses up the code and counts.
        async with request.app[SESSIONMAKER]() as db, db.begin():
            if account_id is not None:
                await codes.count_guess(db, account_id)
            await record_event(
                db,
                request,
                LOGIN_FAILED,
                account_id=account_id,
                detail=f"code: {exc.detail}",
            )
        return render(
            request, "login.html", step="code", email=email, error=t("login.code_wrong"), status=401
        )
    except RateLimited as exc:
        response = render(
            request,
            "login.html",
            step="code",
            email=email,
            error=t("login.too_many", minutes=-(-exc.retry_after // 60)),
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = web.HTTPSeeOther("/")
    set_session_cookie(response, settings, token)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    async with unit(request, anonymous=True) as (db, actor):
        session = current_session(request)
        if session is not None:
            session.ended_at = utcnow()
            await record_event(db, request, "logout", account_id=actor.account_id)
    response = web.HTTPSeeOther("/")
    clear_session_cookie(response)
    raise response


async def security_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        rows = (
            await db.scalars(
                select(Passkey).where(Passkey.account_id == actor.account_id).order_by(Passkey.id)
            )
        ).all()
        devices = (
            await CredentialService(db, actor, request.app[KEYRING]).device_keys(actor.member_id)
            if actor.member_id is not None
            else []
        )
        return render(
            request,
            "security.html",
            devices=devices,
            fresh=session_is_fresh(request),
            actor=actor,
            passkeys=rows,
            welcome=request.query.get("welcome") == "1",
        )


async def remove_passkey(request: web.Request) -> web.StreamResponse:
    passkey_id = parse_id(request.match_info["passkey_id"])
    async with unit(request) as (db, actor):
        row = await db.get(Passkey, passkey_id) if passkey_id else None
        if row is None or row.account_id != actor.account_id:
            raise NotFound("no such passkey")
        await db.delete(row)
        await record_event(db, request, "passkey_removed", account_id=actor.account_id)
    raise web.HTTPSeeOther("/account/security")


def install(app: web.Application) -> None:
    r = app.router
    r.add_route("GET", "/invite/{token}", invitation)
    r.add_route("POST", "/invite/{token}", invitation)
    r.add_get("/login", login_page)
    r.add_post("/login/code", login_code_request)
    r.add_post("/login/code/verify", login_code_verify)
    r.add_post("/logout", logout)
    r.add_get("/account/security", security_page)
    r.add_post(r"/account/passkeys/{passkey_id:\d+}/remove", remove_passkey)
    r.add_post(r"/registry/members/{member_id:\d+}/invite", invite_page)
    r.add_post(r"/registry/bodies/{body_id:\d+}/invite-all", invite_body_page)
