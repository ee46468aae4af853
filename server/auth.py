"""Server-side sessions, the CSRF check and single-use login links; and the cookie
with which a meeting's invited guest, who has no account, enters its room.

A session cookie carries 128 random bits; the database keeps only their SHA-256,
so a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import FileField
from multidict import MultiDictProxy
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.events import event_json, take_pending
from meetings.models import Guest
from meetings.preparation import MeetingService
from registry.actor import Actor
from registry.errors import InvalidInput, NotAuthenticated, PermissionDenied
from registry.models import Account, AuthChallenge, Invitation, OneTimeCode, Session
from registry.orm import utcnow
from server.authevents import client_address
from server.keys import HUB, SESSIONMAKER, SETTINGS
from server.logs import REQUEST_ID
from server.settings import Settings

__all__ = [
    "COOKIE",
    "GUEST_COOKIE",
    "SAFE_METHODS",
    "clear_session_cookie",
    "cookie_name",
    "cookie_token",
    "digest",
    "open_session",
    "set_guest_cookie",
    "set_session_cookie",
    "sweep",
    "unit",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "_csrf"
SESSION_KEY = web.RequestKey("session", Session)
# Plain values copied out of the session row: still readable when an error page is
# rendered after the transaction (and with it the row) was rolled back.
CSRF_KEY = web.RequestKey("csrf_token", str)
ACTOR_KEY = web.RequestKey("actor", Actor)


# The __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only
# and for path "/": no sibling subdomain or plain-http page can plant or overwrite it.
# Browsers accept Secure cookies from http://localhost, the one plain-http origin
# Kvorum serves (Settings.check_transport refuses any other).
COOKIE = "__Host-kvorum-session"


# A guest's link token, sent back only to that one meeting's pages (its Path), so it
# is not offered anywhere else. It cannot take the __Host- prefix, which needs path "/".
GUEST_COOKIE = "kvorum_guest"


def cookie_name(settings: Settings) -> str:
    return COOKIE


def digest(token: str) -> bytes:
    """How every bearer secret (session, invitation, code) is stored: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


async def open_session(
    db: AsyncSession, account: Account, request: web.Request | None, *, method: str
) -> tuple[str, Session]:
    """Start a session for ``account`` with a brand-new token.

    Any session this browser already had ends first, so a token planted before login
    (session fixation) is worthless after it. Returns the cookie token (never stored).
    """
    if request is not None:
        previous = cookie_token(request, COOKIE)
        if previous:
            await db.execute(
                update(Session)
                .where(Session.token_hash == digest(previous), Session.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
    token = secrets.token_urlsafe(16)  # 128 bits
    row = Session(
        token_hash=digest(token),
        account_id=account.id,
        csrf_token=secrets.token_urlsafe(24),
        auth_method=method,
        address=client_address(request) if request is not None else "",
        user_agent=request.headers.get("User-Agent", "")[:300] if request is not None else "",
    )
    db.add(row)
    await db.flush()
    return token, row


def set_session_cookie(response: web.StreamResponse, settings: Settings, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
        max_age=settings.session_absolute_hours * 3600,
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Tell the browser to drop the session cookie.

    With exactly the attributes it was set with: a browser ignores a deletion of a
    ``__Host-`` cookie that lacks ``Secure`` (the prefix requires it on every write).
    """
    response.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Lax")


def cookie_token(request: web.Request, name: str) -> str | None:
    """A bearer token from a cookie, or None unless it looks like one of ours.

    Every token Kvorum issues is URL-safe base64 (``secrets.token_urlsafe``): ASCII
    letters, digits, ``-`` and ``_``. Anything else (a non-UTF-8 cookie arrives as
    surrogate escapes, which cannot even be hashed) is simply no token.
    """
    token = request.cookies.get(name)
    if not token or len(token) > 64 or _TOKEN.fullmatch(token) is None:
        return None
    return token


def set_guest_cookie(
    response: web.StreamResponse, settings: Settings, token: str, meeting_id: int
) -> None:
    """Remember a guest's link token for the meeting's room and its WebSocket."""
    response.set_cookie(
        GUEST_COOKIE,
        token,
        path=f"/meetings/{meeting_id}/",
        # Secure as the session cookie is (browsers accept it from http://localhost, the
        # one plain-http origin Kvorum serves); HttpOnly: no script reads the token.
        secure=True,
        httponly=True,
        samesite="Lax",
        max_age=settings.session_absolute_hours * 3600,
    )


async def sweep(db: AsyncSession, settings: Settings) -> tuple[int, int]:
    """End sessions past their idle or absolute limit; delete spent or expired invitations,
    challenges and codes. Returns (sessions ended, rows deleted)."""
    now = utcnow()
    ended = await db.execute(
        update(Session)
        .where(
            Session.ended_at.is_(None),
            (Session.last_seen_at < now - dt.timedelta(minutes=settings.session_idle_minutes))
            | (Session.created_at < now - dt.timedelta(hours=settings.session_absolute_hours)),
        )
        .values(ended_at=now)
    )
    dropped = 0
    for table in (Invitation, AuthChallenge, OneTimeCode):
        result = await db.execute(
            delete(table).where((table.used_at.is_not(None)) | (table.expires_at < now))
        )
        dropped += result.rowcount or 0  # type: ignore[attr-defined]
    return ended.rowcount or 0, dropped  # type: ignore[attr-defined]


async def _session_of(request: web.Request, db: AsyncSession) -> Session | None:
    settings = request.app[SETTINGS]
    token = cookie_token(request, cookie_name(settings))
    if token is None:
        return None
    row = await db.scalar(
        select(Session).where(Session.token_hash == digest(token), Session.ended_at.is_(None))
    )
    if row is None:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    absolute = dt.timedelta(hours=settings.session_absolute_hours)
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        row.ended_at = now
        return None
    if row.account.disabled_at is not None:
        row.ended_at = now
        return None
    row.last_seen_at = now
    return row


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """The request's form, or a clear error for a malformed one (not a 500)."""
    try:
        return await request.post()
    except (ValueError, HttpProcessingError) as exc:  # aiohttp's parsers on broken bodies
        raise InvalidInput(f"the form data is malformed: {exc}", code="malformed_form") from None


async def _check_csrf(request: web.Request, session: Session) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await read_form(request)
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    # Constant-time comparison: the token is a secret.
    if not sent or not hmac.compare_digest(sent, session.csrf_token):
        raise PermissionDenied(
            "the form has expired or did not come from this site; reload the page and retry",
            code="csrf_failed",
        )


async def _guest_of(request: web.Request, db: AsyncSession) -> Guest | None:
    """The guest whose (current, open meeting's) link cookie this request carries."""
    token = cookie_token(request, GUEST_COOKIE)
    if token is None:
        return None
    anonymous = Actor(account_id=None, display_name="guest link", request_id=REQUEST_ID.get())
    return await MeetingService(db, anonymous).guest_by_token(token)


def actor_of(session: Session) -> Actor:
    account = session.account
    return Actor(
        account_id=account.id,
        display_name=account.display_name,
        roles=account.roles,
        member_id=account.member_id,
        request_id=REQUEST_ID.get(),
    )


@asynccontextmanager
async def unit(
    request: web.Request, *, anonymous: bool = False, guest_meeting: int | None = None
) -> AsyncIterator[tuple[AsyncSession, Actor]]:
    """One database transaction for one request, with the authenticated caller.

    With ``guest_meeting`` (a meeting's room and its WebSocket only), a guest's link
    cookie also lets the caller in. Without a session they are that guest: an actor
    with no account, no roles and no member, who sees their own meeting only (any
    other is "not found", as for every outsider). With a session, the account is also
    this meeting's guest if the link is for it. Only for reading requests: a guest has
    no CSRF token, so nothing they could be tricked into sending may change anything.

    Commits when the block ends normally; rolls back everything (including the
    access log entries written inside it) when it raises.
    """
    async with request.app[SESSIONMAKER]() as db:
        async with db.begin():
            session = await _session_of(request, db)
            guest = None
            if guest_meeting is not None and request.method in SAFE_METHODS:
                guest = await _guest_of(request, db)
            if session is None:
                if guest is not None:
                    actor = Actor(
                        account_id=None,
                        display_name=guest.name,
                        request_id=REQUEST_ID.get(),
                        guest_id=guest.id,
                        guest_meeting_id=guest.meeting_id,
                    )
                    request[ACTOR_KEY] = actor
                elif not anonymous:
                    raise NotAuthenticated("log in to continue", code="not_authenticated")
                else:
                    actor = Actor(
                        account_id=None, display_name="anonymous", request_id=REQUEST_ID.get()
                    )
            else:
                await _check_csrf(request, session)
                actor = actor_of(session)
                if guest is not None and guest.meeting_id == guest_meeting:
                    actor = dataclasses.replace(
                        actor, guest_id=guest.id, guest_meeting_id=guest.meeting_id
                    )
                request[SESSION_KEY] = session
                request[CSRF_KEY] = session.csrf_token
                request[ACTOR_KEY] = actor
            yield db, actor

        # Meeting events appended in the transaction go out only once it committed.
        events = take_pending(db)
        if events:
            await request.app[HUB].publish([event_json(e) for e in events])


def current_session(request: web.Request) -> Session | None:
    """The session row found by :func:`unit` in this request, if any."""
    return request.get(SESSION_KEY)
