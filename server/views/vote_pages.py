"""Pages of votes: the list (with the auditors' bundles), a vote's page where a member
casts and checks their ballot, and the forms that call an absentee vote or a survey."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.tasks import body_names, meeting_audits
from meetings.votes import AbsenteeVoteIn, SurveyIn, VoteDesk
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.localtime import LocalClock
from registry.models import Organisation, Role
from registry.orm import utcnow
from server.auth import unit
from server.forms import (
    domain_errors,
    path_id,
    read_fields,
    refusal_status,
    see_other,
    validate_form,
)
from server.keys import KEYRING, SETTINGS
from server.pages import render, translator
from server.views.meeting_pages import convenable_bodies, parse_local
from server.views.votes_api import send_vote_notice, vote_out

__all__ = ["install"]

_FIELDS = (
    "kind",
    "body_id",
    "organisation_id",
    "title",
    "question",
    "options",
    "closes_at",
    "base",
    "multiple",
    "anonymous",
)


async def votes_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        votes = [await vote_out(desk, vote, actor) for vote in await desk.visible()]
        # A meeting's whole bundle, beside the votes' own, for those who may take every
        # vote's (the bundle of a meeting holds all its closed votes).
        audits = (
            await meeting_audits(db, body_names(db))
            if actor.has(Role.AUDITOR) or actor.has(Role.REGISTRAR)
            else []
        )
        return render(
            request,
            "votes.html",
            actor=actor,
            votes=votes,
            audits=audits,
            can_call=bool(await convenable_bodies(db, actor)) or actor.has(Role.SECRETARY),
            auditor=actor.has(Role.AUDITOR),
        )


async def vote_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote = await desk.require_view(path_id(request, "vote_id"))
        out = await vote_out(desk, vote, actor)
        link = await desk.link(vote.id)
        clock = _clock(request)
        # Past its deadline a vote is over, whether or not the sweep has closed it yet.
        over = out.state == "closed" or (vote.closes_at is not None and vote.closes_at <= utcnow())
        return render(
            request,
            "vote.html",
            actor=actor,
            vote=out,
            over=over,
            meeting_id=link.meeting_id if link else None,
            closes_local=clock.labelled(vote.closes_at),
            closed_local=clock.labelled(vote.closed_at or vote.closes_at) if over else "",
        )


async def new_vote_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        kind = request.query.get("kind", "absentee")
        values = {name: "" for name in _FIELDS} | {
            "kind": kind if kind in ("absentee", "survey") else "absentee",
            "options": "за\nпротив\nвоздержался" if kind != "survey" else "",
            "base": "cast",
            "body_id": request.query.get("body", ""),
        }
        return await _form(request, db, actor, values, {})


async def new_vote_submit(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        values = await read_fields(request, _FIELDS)
        options = [line.strip() for line in values["options"].splitlines() if line.strip()]
        closes = parse_local(values["closes_at"], request.app[SETTINGS].timezone)
        errors: dict[str, str] = {}
        if closes is None:
            errors["closes_at"] = t("vote.form.error.deadline")
        data: dict[str, Any] = {
            "title": values["title"].strip(),
            "question": values["question"].strip(),
            "closes_at": closes or utcnow(),
        }
        model: AbsenteeVoteIn | SurveyIn | None
        if values["kind"] == "survey":
            data |= {
                "organisation_id": values["organisation_id"] or 0,
                "options": options,
                "multiple": values["multiple"] == "on",
                "anonymous": values["anonymous"] == "on",
            }
            model, invalid = validate_form(SurveyIn, data, t)
        else:
            data |= {
                "body_id": values["body_id"] or 0,
                "options": options or None,
                "base": values["base"] or "cast",
            }
            model, invalid = validate_form(AbsenteeVoteIn, data, t)
        errors = invalid | errors
        if model is None or errors:
            return await _form(request, db, actor, values, errors, status=422)
        desk = VoteDesk(db, actor, request.app[KEYRING], request.app[SETTINGS].timezone)
        try:
            async with db.begin_nested():
                if isinstance(model, SurveyIn):
                    vote, notice = await desk.open_survey(model)
                else:
                    vote, notice = await desk.open_absentee(model)
        except (InvalidInput, Conflict, PermissionDenied, NotFound) as exc:
            return await _form(
                request,
                db,
                actor,
                values,
                domain_errors(exc, t),
                status=refusal_status(exc),
            )
        vote_id = vote.id
    await send_vote_notice(request.app, notice)
    return see_other(f"/votes/{vote_id}")


async def _form(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    bodies = await convenable_bodies(db, actor)
    organisations: list[Organisation] = []
    if actor.has(Role.REGISTRAR) or actor.has(Role.SECRETARY):
        organisations = list(
            (
                await db.scalars(
                    select(Organisation)
                    .where(Organisation.retired_at.is_(None))
                    .order_by(Organisation.name)
                )
            ).all()
        )
    if not bodies and not organisations:
        raise PermissionDenied("only a body's officers, secretaries or the registrar call votes")
    return render(
        request,
        "vote_form.html",
        actor=actor,
        values=values,
        errors=errors,
        bodies=bodies,
        organisations=organisations,
        zone=_clock(request).label(),
        status=status,
    )


def _clock(request: web.Request) -> LocalClock:
    """The organisation's clocks, named in the page's language."""
    return LocalClock(request.app[SETTINGS].timezone, translator(request).locale)


def install(app: web.Application) -> None:
    app.router.add_get("/votes", votes_page)
    app.router.add_get("/votes/new", new_vote_page)
    app.router.add_post("/votes/new", new_vote_submit)
    app.router.add_get(r"/votes/{vote_id:\d+}", vote_page)
