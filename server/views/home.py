"""The home page — «Мои дела» for a logged-in member, the welcome page for others —
and the registrar's «Исходящая почта» (the outbox, when no mail server is set up)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from meetings.tasks import my_tasks
from registry.accounts import AccountService
from registry.localtime import LocalClock, zone_label
from registry.members import current_seat_clause
from registry.models import Body, Role, Seat
from registry.orm import utcnow
from server.api import parse_id
from server.auth import unit
from server.keys import MAILER, SETTINGS
from server.outbox import OutboxMailer, OutboxMessage, outbox_page
from server.pages import render, translator

__all__ = ["install"]

OUTBOX_PER_PAGE = 50


def _clock(request: web.Request) -> LocalClock:
    """The organisation's clocks, named in the page's language."""
    return LocalClock(request.app[SETTINGS].timezone, translator(request).locale)


async def home(request: web.Request) -> web.StreamResponse:
    async with unit(request, anonymous=True) as (db, actor):
        if actor.account_id is None:
            return render(request, "home.html", actor=actor)
        seats: list[tuple[Seat, Body]] = []
        if actor.member_id is not None:
            rows = await db.execute(
                select(Seat, Body)
                .join(Body, Body.id == Seat.body_id)
                .where(
                    Seat.member_id == actor.member_id,
                    current_seat_clause(utcnow().date()),
                    Body.retired_at.is_(None),
                )
                .order_by(Body.name)
            )
            seats = [(seat, body) for seat, body in rows.all()]
        outbox = None
        not_in: list[tuple[int, str, int]] = []
        if actor.has(Role.REGISTRAR):
            # Key certificates need no registrar's approval (the browser proves possession
            # and gets one at once), so what waits on the registrar is people to invite.
            not_in = await AccountService(db, actor).bodies_not_in(utcnow().date())
            if isinstance(request.app[MAILER], OutboxMailer):
                count = await db.scalar(select(func.count()).select_from(OutboxMessage))
                outbox = int(count or 0)
        return render(
            request,
            "home.html",
            actor=actor,
            roles=sorted(actor.roles),
            seats=seats,
            tasks=await my_tasks(db, actor),
            local=_clock(request),
            zone_of=lambda zone: zone_label(zone, translator(request).locale),
            outbox=outbox,
            not_in=not_in,
        )


async def outbox(request: web.Request) -> web.StreamResponse:
    """The letters kept instead of sent, newest first (the registrar's alone: they hold
    invitation links and login codes)."""
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        page = parse_id(request.query.get("page")) or 1
        rows, total = await outbox_page(db, page=min(page, 10**6), per_page=OUTBOX_PER_PAGE)
        pages = max(1, -(-total // OUTBOX_PER_PAGE))
        return render(
            request,
            "outbox.html",
            actor=actor,
            letters=rows,
            total=total,
            page=page,
            pages=pages,
            active=isinstance(request.app[MAILER], OutboxMailer),
            local=_clock(request),
            zone_label=_clock(request).label(),
        )


def install(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/registry/outbox", outbox)
