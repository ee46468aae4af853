"""Authentication events: the append-only record, and login rate limiting counted from it.

Counting failures from the log (rather than in process memory) makes the limit hold
across several server processes and restarts.
"""

from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import RateLimited
from registry.models import AuthEvent
from registry.orm import utcnow
from server.keys import SESSIONMAKER, SETTINGS
from server.logs import REQUEST_ID

__all__ = ["LOGIN_FAILED", "check_rate", "client_address", "record_event", "record_failure"]

log = logging.getLogger("kvorum.auth")

LOGIN_FAILED = "login_failed"


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or, when the peer is a trusted reverse proxy,
    the last address that proxy appended to X-Forwarded-For."""
    peer = request.remote or ""
    if peer in request.app[SETTINGS].proxies:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1][:64]
    return peer[:64]


async def record_event(
    db: AsyncSession,
    request: web.Request | None,
    kind: str,
    *,
    account_id: int | None = None,
    detail: str = "",
) -> None:
    """Append an event in the caller's transaction (it commits with the action)."""
    db.add(
        AuthEvent(
            kind=kind,
            account_id=account_id,
            address=client_address(request) if request is not None else "",
            detail=detail,
            request_id=REQUEST_ID.get(),
        )
    )
    log.info("auth event %s", kind, extra={"event": kind, "account": account_id})


async def record_failure(
    request: web.Request, *, account_id: int | None, detail: str, kind: str = LOGIN_FAILED
) -> None:
    """Append a failed attempt in its own transaction: the request's own one is about to
    roll back, and the failure must still count towards the limit."""
    async with request.app[SESSIONMAKER]() as db, db.begin():
        await record_event(db, request, kind, account_id=account_id, detail=detail)


async def check_rate(db: AsyncSession, request: web.Request, account_id: int | None) -> None:
    """Refuse with 429 while the account or the address has too many recent failures."""
    settings = request.app[SETTINGS]
    window = dt.timedelta(minutes=settings.login_window_minutes)
    since = utcnow() - window
    checks: list[tuple[object, int, str]] = [
        (AuthEvent.address == client_address(request), settings.login_max_per_address, "address")
    ]
    if account_id is not None:
        checks.append(
            (AuthEvent.account_id == account_id, settings.login_max_per_account, "account")
        )
    for condition, limit, what in checks:
        count, oldest = (
            await db.execute(
                select(func.count(), func.min(AuthEvent.at)).where(
                    AuthEvent.kind == LOGIN_FAILED,
                    AuthEvent.at > since,
                    condition,  # type: ignore[arg-type]
                )
            )
        ).one()
        if count >= limit:
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            retry = int(((oldest or utcnow()) + window - utcnow()).total_seconds()) + 1
            raise RateLimited(
                f"too many failed attempts from this {what}; try again in {retry} s",
                retry_after=retry,
            )
