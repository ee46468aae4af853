"""JSON API of the member registry."""

from __future__ import annotations

import datetime as dt
import io
import re

from aiohttp import web
from aiohttp.web_request import FileField
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accesslog import AccessAction, list_access, record_access
from registry.actor import Actor
from registry.bodies import BodyService
from registry.errors import InvalidInput, PermissionDenied
from registry.importer import export_members, import_members
from registry.memberfile import ExportRow, parse_member_file, write_member_csv
from registry.members import MemberService, current_seat_clause
from registry.models import MemberStatus, Role, Seat
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.schemas import (
    MAX_PAGE,
    AccessLogOut,
    BodyIn,
    BodyOut,
    BodyPatch,
    CompositionOut,
    Id,
    ImportResultOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MemberRetire,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    Page,
    SeatEnd,
    SeatIn,
    SeatOut,
    StrictIn,
)
from server.api import ApiRoutes
from server.auth import read_form, unit

__all__ = ["routes"]

routes = ApiRoutes()


class _Query(StrictIn):
    pass


class MemberQuery(_Query):
    q: str = Field(default="", max_length=200, description="name or card number fragment")
    organisation_id: Id | None = Field(default=None, description="this organisation and below")
    status: MemberStatus | None = MemberStatus.ACTIVE
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=50, ge=1, le=200)


class BodyQuery(_Query):
    organisation_id: Id | None = None


class CompositionQuery(_Query):
    on: dt.date | None = Field(default=None, description="the day (default today)")

    @field_validator("on", mode="before")
    @classmethod
    def _iso_day(cls, value: object) -> object:
        # A day as the document states it (YYYY-MM-DD), not a number of seconds since 1970.
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("a day as YYYY-MM-DD")
        return value


class ImportQuery(_Query):
    create_orgs: bool = False


class AccessLogQuery(_Query):
    member_id: Id | None = None
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=100, ge=1, le=500)


class MeOut(BaseModel):
    account_id: int | None
    display_name: str
    roles: list[Role]
    member_id: int | None


# --- who am I -------------------------------------------------------------------------


@routes.route(
    "GET", "/me", summary="The logged-in account and its roles", tag="session", response=MeOut
)
async def get_me(request: web.Request) -> MeOut:
    async with unit(request) as (_db, actor):
        return MeOut(
            account_id=actor.account_id,
            display_name=actor.display_name,
            roles=sorted(actor.roles),
            member_id=actor.member_id,
        )


# --- organisations ----------------------------------------------------------------------


@routes.route(
    "GET",
    "/organisations",
    summary="The organisation tree, parents first",
    tag="organisations",
    response=list[OrganisationOut],
)
async def list_organisations(request: web.Request) -> list[OrganisationOut]:
    async with unit(request) as (db, actor):
        orgs = await OrganisationService(db, actor).all()
        return [OrganisationOut.model_validate(o) for o in orgs]


@routes.route(
    "POST",
    "/organisations",
    summary="Create an organisation",
    tag="organisations",
    body=OrganisationIn,
    response=OrganisationOut,
    status=201,
    creates="org_id",
)
async def create_organisation(request: web.Request, body: OrganisationIn) -> OrganisationOut:
    async with unit(request) as (db, actor):
        return OrganisationOut.model_validate(await OrganisationService(db, actor).create(body))


@routes.route(
    "GET",
    "/organisations/{org_id}",
    summary="One organisation",
    tag="organisations",
    response=OrganisationOut,
)
async def get_organisation(request: web.Request, org_id: int) -> OrganisationOut:
    async with unit(request) as (db, actor):
        return OrganisationOut.model_validate(await OrganisationService(db, actor).get(org_id))


@routes.route(
    "PATCH",
    "/organisations/{org_id}",
    summary="Edit an organisation",
    tag="organisations",
    body=OrganisationPatch,
    response=OrganisationOut,
)
async def update_organisation(
    request: web.Request, org_id: int, body: OrganisationPatch
) -> OrganisationOut:
    async with unit(request) as (db, actor):
        org = await OrganisationService(db, actor).update(org_id, body)
        return OrganisationOut.model_validate(org)


@routes.route(
    "POST",
    "/organisations/{org_id}/retire",
    summary="Close an organisation",
    tag="organisations",
    response=OrganisationOut,
)
async def retire_organisation(request: web.Request, org_id: int) -> OrganisationOut:
    async with unit(request) as (db, actor):
        return OrganisationOut.model_validate(await OrganisationService(db, actor).retire(org_id))


@routes.route(
    "POST",
    "/organisations/{org_id}/members/import",
    upload=True,
    summary="Import members from CSV or XLSX (all or nothing)",
    tag="members",
    query=ImportQuery,
    response=ImportResultOut,
)
async def import_organisation_members(
    request: web.Request, org_id: int, query: ImportQuery
) -> ImportResultOut:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        target = await OrganisationService(db, actor).get(org_id)
        filename, data = await read_upload(request)
        records = parse_member_file(data, filename, today=utcnow().date())
        result = await import_members(
            db, actor, target, records, create_orgs=query.create_orgs, source=filename
        )
        return ImportResultOut(
            imported=result.imported,
            updated=result.updated,
            unchanged=result.unchanged,
            organisations_created=result.organisations_created,
        )


@routes.route(
    "GET",
    "/organisations/{org_id}/members/export",
    summary="Export active members as CSV (re-importable)",
    tag="members",
    response=str,
    media_type="text/csv",
)
async def export_organisation_members(request: web.Request, org_id: int) -> web.Response:
    async with unit(request) as (db, actor):
        target = await OrganisationService(db, actor).get(org_id)
        rows = await export_members(db, actor, target)
    return csv_response(rows, f"members-{org_id}.csv")


def csv_response(rows: list[ExportRow], filename: str) -> web.Response:
    buffer = io.StringIO(newline="")
    write_member_csv(rows, buffer)
    return web.Response(
        body=buffer.getvalue().encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def read_upload(request: web.Request) -> tuple[str, bytes]:
    """The single file of a multipart upload, as (name, bytes)."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput(
            "send the file as multipart/form-data in the field 'file'", fields={"file": "required"}
        )
    form = await read_form(request)
    item = form.get("file")
    if not isinstance(item, FileField):
        raise InvalidInput("no file was sent in the field 'file'", fields={"file": "required"})
    data = item.file.read()
    if not data:
        raise InvalidInput("the file is empty", fields={"file": "empty"})
    return item.filename or "upload", data


# --- members ------------------------------------------------------------------------------


@routes.route(
    "GET",
    "/members",
    summary="Search members the caller may see",
    tag="members",
    query=MemberQuery,
    response=Page[MemberOut],
)
async def search_members(request: web.Request, query: MemberQuery) -> Page[MemberOut]:
    async with unit(request) as (db, actor):
        return await MemberService(db, actor).search(
            query=query.q,
            organisation_id=query.organisation_id,
            status=query.status,
            page=query.page,
            per_page=query.per_page,
        )


@routes.route(
    "POST",
    "/members",
    summary="Register a member",
    tag="members",
    body=MemberIn,
    response=MemberOut,
    status=201,
    creates="member_id",
)
async def create_member(request: web.Request, body: MemberIn) -> MemberOut:
    async with unit(request) as (db, actor):
        return await MemberService(db, actor).create(body)


@routes.route(
    "GET",
    "/members/{member_id}",
    summary="One member, as far as the caller may see",
    tag="members",
    response=MemberOut,
)
async def get_member(request: web.Request, member_id: int) -> MemberOut:
    async with unit(request) as (db, actor):
        return await MemberService(db, actor).get(member_id)


@routes.route(
    "PATCH",
    "/members/{member_id}",
    summary="Edit a member",
    tag="members",
    body=MemberPatch,
    response=MemberOut,
)
async def update_member(request: web.Request, member_id: int, body: MemberPatch) -> MemberOut:
    async with unit(request) as (db, actor):
        return await MemberService(db, actor).update(member_id, body)


@routes.route(
    "POST",
    "/members/{member_id}/retire",
    summary="Record that a member has left (ends their seats and sessions)",
    tag="members",
    body=MemberRetire,
    response=MemberOut,
)
async def retire_member(request: web.Request, member_id: int, body: MemberRetire) -> MemberOut:
    async with unit(request) as (db, actor):
        return await MemberService(db, actor).retire(member_id, body.left_on)


# --- bodies and seats ----------------------------------------------------------------------


@routes.route(
    "GET",
    "/bodies",
    summary="Elected bodies",
    tag="bodies",
    query=BodyQuery,
    response=list[BodyOut],
)
async def list_bodies(request: web.Request, query: BodyQuery) -> list[BodyOut]:
    async with unit(request) as (db, actor):
        service = BodyService(db, actor)
        return [await service.out(b) for b in await service.find(query.organisation_id)]


@routes.route(
    "POST",
    "/bodies",
    summary="Create an elected body",
    tag="bodies",
    body=BodyIn,
    response=BodyOut,
    status=201,
    creates="body_id",
)
async def create_body(request: web.Request, body: BodyIn) -> BodyOut:
    async with unit(request) as (db, actor):
        service = BodyService(db, actor)
        return await service.out(await service.create(body))


@routes.route(
    "GET", "/bodies/{body_id}", summary="One elected body", tag="bodies", response=BodyOut
)
async def get_body(request: web.Request, body_id: int) -> BodyOut:
    async with unit(request) as (db, actor):
        service = BodyService(db, actor)
        return await service.out(await service.get(body_id))


@routes.route(
    "PATCH",
    "/bodies/{body_id}",
    summary="Rename a body or change its quorum rule",
    tag="bodies",
    body=BodyPatch,
    response=BodyOut,
)
async def update_body(request: web.Request, body_id: int, body: BodyPatch) -> BodyOut:
    async with unit(request) as (db, actor):
        service = BodyService(db, actor)
        return await service.out(await service.update(body_id, body))


@routes.route(
    "POST",
    "/bodies/{body_id}/retire",
    summary="Dissolve a body (ends open terms)",
    tag="bodies",
    response=BodyOut,
)
async def retire_body(request: web.Request, body_id: int) -> BodyOut:
    async with unit(request) as (db, actor):
        service = BodyService(db, actor)
        return await service.out(await service.retire(body_id))


@routes.route(
    "GET",
    "/bodies/{body_id}/composition",
    summary="Who sits in the body on a day, and the quorum it needs",
    tag="bodies",
    query=CompositionQuery,
    response=CompositionOut,
)
async def get_composition(
    request: web.Request, body_id: int, query: CompositionQuery
) -> CompositionOut:
    async with unit(request) as (db, actor):
        await require_body_roster(db, actor, body_id)
        composition = await BodyService(db, actor).composition(body_id, query.on)
        await record_access(
            db,
            actor,
            AccessAction.LIST,
            [s.member_id for s in composition.seats],
            f"composition of body {body_id}",
        )
        return composition


@routes.route(
    "GET",
    "/bodies/{body_id}/seats",
    summary="Every seat the body ever had",
    tag="bodies",
    response=list[SeatOut],
)
async def list_seats(request: web.Request, body_id: int) -> list[SeatOut]:
    async with unit(request) as (db, actor):
        await require_body_roster(db, actor, body_id)
        seats = await BodyService(db, actor).history(body_id)
        await record_access(
            db,
            actor,
            AccessAction.LIST,
            sorted({s.member_id for s in seats}),
            f"seat history of body {body_id}",
        )
        return seats


@routes.route(
    "POST",
    "/bodies/{body_id}/seats",
    summary="Seat a member in a body",
    tag="bodies",
    body=SeatIn,
    response=SeatOut,
    status=201,
    creates="seat_id",
)
async def add_seat(request: web.Request, body_id: int, body: SeatIn) -> SeatOut:
    async with unit(request) as (db, actor):
        seat = await BodyService(db, actor).add_seat(body_id, body)
        await record_access(db, actor, AccessAction.UPDATE, [seat.member_id], f"seat {seat.id}")
        seats = await BodyService(db, actor).history(body_id)
        return next(s for s in seats if s.id == seat.id)


@routes.route(
    "POST",
    "/bodies/{body_id}/seats/{seat_id}/end",
    summary="End a term early",
    tag="bodies",
    body=SeatEnd,
    response=SeatOut,
)
async def end_seat(request: web.Request, body_id: int, seat_id: int, body: SeatEnd) -> SeatOut:
    async with unit(request) as (db, actor):
        seat = await BodyService(db, actor).end_seat(body_id, seat_id, body.term_end)
        await record_access(db, actor, AccessAction.UPDATE, [seat.member_id], f"seat {seat.id}")
        seats = await BodyService(db, actor).history(body_id)
        return next(s for s in seats if s.id == seat.id)


async def require_body_roster(db: AsyncSession, actor: Actor, body_id: int) -> None:
    """Names in a body are for the registrar, auditors and the body's own members."""
    await BodyService(db, actor).get(body_id)
    if actor.has(Role.REGISTRAR) or actor.has(Role.AUDITOR):
        return
    if actor.member_id is not None:
        seated = await db.scalar(
            select(func.count())
            .select_from(Seat)
            .where(
                Seat.body_id == body_id,
                Seat.member_id == actor.member_id,
                current_seat_clause(utcnow().date()),
            )
        )
        if seated:
            return
    raise PermissionDenied("only the body's members, auditors and the registrar see its roster")


# --- access log ----------------------------------------------------------------------------


@routes.route(
    "GET",
    "/access-log",
    summary="Who read or changed personal data (registrar)",
    tag="audit",
    query=AccessLogQuery,
    response=Page[AccessLogOut],
)
async def list_access_log(request: web.Request, query: AccessLogQuery) -> Page[AccessLogOut]:
    async with unit(request) as (db, actor):
        return await list_access(
            db, actor, member_id=query.member_id, page=query.page, per_page=query.per_page
        )
