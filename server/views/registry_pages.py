"""Pages of the member registry for registrars and members: HTML forms, no JavaScript.

Every page is a GET that renders; every change is a POST from a form that acts and
answers 303 to the page that shows the result (POST/redirect/GET). A form that does
not validate is shown again with status 422 (409 for a clash with existing data),
the values as typed and each field's error next to it, in the user's language.

The request's transaction (``unit``) commits when the handler returns, also when it
returns a form with errors, so every change is made inside a savepoint: a refused
change leaves nothing behind, while the access log of what was read stays.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accesslog import AccessAction, list_access, record_access
from registry.accounts import AccountService
from registry.actor import Actor
from registry.bodies import BodyService
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.importer import UnmatchedOrganisation, import_members
from registry.memberfile import MemberFileRejected, RowError, parse_member_file
from registry.members import MemberService
from registry.models import (
    Body,
    BodyKind,
    Member,
    MemberStatus,
    Organisation,
    OrgKind,
    Role,
    SeatRole,
)
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.quorum import QuorumRule
from registry.schemas import (
    MAX_PAGE,
    BodyIn,
    BodyPatch,
    MemberIn,
    MemberOut,
    MemberPatch,
    OrganisationIn,
    OrganisationPatch,
    SeatEnd,
    SeatIn,
)
from server.api import parse_id
from server.auth import read_form, unit
from server.forms import (
    FieldErrors,
    FormValues,
    domain_errors,
    id_errors,
    path_id,
    place_errors,
    read_fields,
    refusal_status,
    see_other,
    validate_form,
)
from server.i18n import Translator
from server.middlewares import upload
from server.pages import render, translator
from server.views.registry_api import read_upload, require_body_roster

__all__ = ["install"]


MEMBERS_PER_PAGE = 50
LOG_PER_PAGE = 50
# An import with thousands of bad rows still gets a page a browser can show.
MAX_SHOWN_FILE_ERRORS = 1000
# A refused file up to this size comes back in the page, so the registrar can map its
# organisations without choosing it again.
MAX_CARRIED_FILE = 4 * 1024 * 1024

_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")

# --- small helpers -------------------------------------------------------------------------


def _page_number(value: str | None) -> int:
    number = parse_id(value)
    return number if number is not None and number <= MAX_PAGE else 1


def _iso_date(value: str) -> str:
    """A date as typed: ISO from a date input, or dd.mm.yyyy where the browser has none."""
    value = value.strip()
    match = _RU_DATE.match(value)
    if match:
        return f"{match[3]}-{int(match[2]):02d}-{int(match[1]):02d}"
    return value


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(_iso_date(value))
    except ValueError:
        return None


def _today() -> dt.date:
    return utcnow().date()


def _url(path: str, params: Mapping[str, object]) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(clean)}" if clean else path


def _checked(values: Mapping[str, str], name: str) -> bool:
    return values.get(name, "") not in ("", "0", "false", "off")


# --- labels -------------------------------------------------------------------------------


def quorum_text(t: Translator, numerator: int, denominator: int, strict: bool) -> str:
    """ "более 1/2 состава", "не менее 2/3 состава"."""
    key = "quorum.more_than" if strict else "quorum.at_least"
    return t(key, fraction=f"{numerator}/{denominator}")


def _rule_text(t: Translator, body: Body) -> str:
    rule = QuorumRule(body.quorum_numerator, body.quorum_denominator, body.quorum_strict)
    return quorum_text(t, rule.numerator, rule.denominator, rule.strict)


@dataclass
class _Node:
    org: Organisation
    depth: int
    members: int = 0
    children: list[_Node] = field(default_factory=list)


def _tree(orgs: Sequence[Organisation], counts: Mapping[int, int]) -> list[_Node]:
    """Nest organisations already in tree order (parents before children)."""
    nodes: dict[int, _Node] = {}
    roots: list[_Node] = []
    for org in orgs:
        parent = nodes.get(org.parent_id) if org.parent_id is not None else None
        node = _Node(org, parent.depth + 1 if parent else 0, counts.get(org.id, 0))
        nodes[org.id] = node
        (parent.children if parent else roots).append(node)
    return roots


def _options(orgs: Sequence[Organisation]) -> list[tuple[str, str]]:
    """Organisations for a <select>, indented by depth so the tree stays readable."""
    depth: dict[int, int] = {}
    out: list[tuple[str, str]] = []
    for org in orgs:
        level = depth.get(org.parent_id, -1) + 1 if org.parent_id is not None else 0
        depth[org.id] = level
        out.append((str(org.id), "\u2003" * level + (org.short_name or org.name)))
    return out


async def _active_counts(db: AsyncSession) -> dict[int, int]:
    rows = await db.execute(
        select(Member.organisation_id, func.count())
        .where(Member.status == MemberStatus.ACTIVE)
        .group_by(Member.organisation_id)
    )
    return {org_id: count for org_id, count in rows.all()}


# --- organisations ----------------------------------------------------------------------------


async def organisation_list(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        orgs = await OrganisationService(db, actor).all()
        return render(
            request,
            "organisations.html",
            actor=actor,
            tree=_tree(orgs, await _active_counts(db)),
        )


_ORG_FIELDS = ("name", "short_name", "kind", "parent_id", "city")
_CHILD_KIND = {
    OrgKind.REGIONAL_COUNCIL: OrgKind.MEMBER_ORGANISATION,
    OrgKind.MEMBER_ORGANISATION: OrgKind.PRIMARY,
}


async def organisation_new(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        parent_id = parse_id(request.query.get("parent_id"))
        kind = OrgKind.REGIONAL_COUNCIL
        if parent_id is not None:
            parent = await db.get(Organisation, parent_id)
            if parent is not None:
                kind = _CHILD_KIND.get(parent.kind, OrgKind.PRIMARY)
        values = dict.fromkeys(_ORG_FIELDS, "") | {
            "kind": kind.value,
            "parent_id": str(parent_id or ""),
        }
        return await _organisation_form(request, db, actor, values, {})


async def organisation_create(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        values = await read_fields(request, _ORG_FIELDS)
        errors = id_errors(values, ["parent_id"], t)
        data = {k: v for k, v in values.items() if v.strip()}
        model, invalid = validate_form(OrganisationIn, data, t)
        errors = invalid | errors
        if model is None or errors:
            return await _organisation_form(request, db, actor, values, errors)
        try:
            async with db.begin_nested():
                org = await OrganisationService(db, actor).create(model)
        except (InvalidInput, Conflict) as exc:
            return await _organisation_form(
                request, db, actor, values, domain_errors(exc, t), status=refusal_status(exc)
            )
        return see_other(f"/registry/organisations/{org.id}?done=created")


async def _organisation_form(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    values: FormValues,
    errors: FieldErrors,
    *,
    org: Organisation | None = None,
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    orgs = await OrganisationService(db, actor).all()
    if org is not None:
        # A move stays inside the same union and never goes under itself.
        below = await OrganisationService(db, actor).subtree_ids(org)
        orgs = [o for o in orgs if o.id not in below and o.root_id == org.root_id]
    fields = ["name", "short_name", "city"]
    if org is None or org.parent_id is not None:
        fields.append("parent_id")
    if org is None:
        fields.append("kind")
    return render(
        request,
        "organisation_form.html",
        actor=actor,
        status=status or (422 if errors else 200),
        org=org,
        form=values,
        errors=place_errors(errors, fields, t),
        parents=_options(orgs),
        kinds=[k.value for k in OrgKind],
    )


async def organisation_detail(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        org = await OrganisationService(db, actor).get(path_id(request, "org_id"))
        return await _organisation_page(request, db, actor, org)


async def _organisation_page(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    org: Organisation,
    *,
    refused: str = "",
    refused_detail: str = "",
    status: int = 200,
) -> web.Response:
    service = OrganisationService(db, actor)
    subtree = await service.subtree_ids(org)
    children = (
        await db.scalars(
            select(Organisation)
            .where(Organisation.parent_id == org.id, Organisation.retired_at.is_(None))
            .order_by(Organisation.name)
        )
    ).all()
    active = (Member.status == MemberStatus.ACTIVE,)
    direct = await db.scalar(
        select(func.count()).select_from(Member).where(Member.organisation_id == org.id, *active)
    )
    total = await db.scalar(
        select(func.count()).select_from(Member).where(Member.organisation_id.in_(subtree), *active)
    )
    parent = await db.get(Organisation, org.parent_id) if org.parent_id else None
    bodies = await BodyService(db, actor).find(org.id)
    t = translator(request)
    return render(
        request,
        "organisation.html",
        actor=actor,
        status=status,
        org=org,
        parent=parent,
        children=children,
        bodies=[(b, _rule_text(t, b)) for b in bodies],
        members_direct=direct or 0,
        members_total=total or 0,
        refused=refused,
        refused_detail=refused_detail,
    )


async def organisation_edit(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        org = await OrganisationService(db, actor).get(path_id(request, "org_id"))
        values = {
            "name": org.name,
            "short_name": org.short_name,
            "city": org.city,
            "parent_id": str(org.parent_id or ""),
            "kind": org.kind.value,
        }
        return await _organisation_form(request, db, actor, values, {}, org=org)


async def organisation_update(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        org = await OrganisationService(db, actor).get(path_id(request, "org_id"))
        values = await read_fields(request, ("name", "short_name", "city", "parent_id"))
        values["kind"] = org.kind.value
        errors = id_errors(values, ["parent_id"], t)
        # Text fields are sent as typed ("" clears an optional one); an empty parent
        # choice means "leave where it is".
        data: dict[str, Any] = {k: values[k] for k in ("name", "short_name", "city")}
        if values["parent_id"].strip():
            data["parent_id"] = values["parent_id"]
        model, invalid = validate_form(OrganisationPatch, data, t)
        errors = invalid | errors
        if model is None or errors:
            return await _organisation_form(request, db, actor, values, errors, org=org)
        try:
            async with db.begin_nested():
                await OrganisationService(db, actor).update(org.id, model)
        except (InvalidInput, Conflict) as exc:
            await db.refresh(org)
            return await _organisation_form(
                request,
                db,
                actor,
                values,
                domain_errors(exc, t),
                org=org,
                status=refusal_status(exc),
            )
        return see_other(f"/registry/organisations/{org.id}?done=updated")


async def organisation_retire(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        service = OrganisationService(db, actor)
        org = await service.get(path_id(request, "org_id"))
        values = await read_fields(request, ("confirm",))
        if not _checked(values, "confirm"):
            return await _organisation_page(
                request, db, actor, org, refused=t("org.retire.confirm_missing"), status=422
            )
        try:
            async with db.begin_nested():
                await service.retire(org.id)
        except Conflict as exc:
            await db.refresh(org)
            return await _organisation_page(
                request,
                db,
                actor,
                org,
                refused=t("org.retire.refused"),
                refused_detail=exc.detail,
                status=409,
            )
        return see_other(f"/registry/organisations/{org.id}?done=retired")


# --- members ---------------------------------------------------------------------------------


_STATUS_FILTER: dict[str, MemberStatus | None] = {
    "active": MemberStatus.ACTIVE,
    "left": MemberStatus.LEFT,
    "all": None,
}


async def member_list(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        q = request.query.get("q", "").strip()[:200]
        status = request.query.get("status", "active")
        if status not in _STATUS_FILTER:
            status = "active"
        org_id = parse_id(request.query.get("organisation_id"))
        page = _page_number(request.query.get("page"))
        found = await MemberService(db, actor).search(
            query=q,
            organisation_id=org_id,
            status=_STATUS_FILTER[status],
            page=page,
            per_page=MEMBERS_PER_PAGE,
        )
        pages = max(1, -(-found.total // MEMBERS_PER_PAGE))
        params = {"q": q, "organisation_id": org_id or "", "status": status}
        return render(
            request,
            "members.html",
            actor=actor,
            found=found,
            form={k: str(v) for k, v in params.items()},
            organisations=_options(await OrganisationService(db, actor).all()),
            pager=_pager(page, pages, "/registry/members", params),
        )


def _pager(page: int, pages: int, path: str, params: Mapping[str, object]) -> dict[str, Any]:
    return {
        "page": page,
        "pages": pages,
        "prev": _url(path, {**params, "page": page - 1}) if page > 1 else "",
        "next": _url(path, {**params, "page": page + 1}) if page < pages else "",
    }


_MEMBER_FIELDS = (
    "organisation_id",
    "surname",
    "name",
    "patronymic",
    "card_number",
    "position",
    "email",
    "phone",
    "joined_on",
)
_MEMBER_TEXT = ("surname", "name", "patronymic", "card_number", "position", "email", "phone")


async def member_new(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        values = dict.fromkeys(_MEMBER_FIELDS, "")
        values["organisation_id"] = str(parse_id(request.query.get("organisation_id")) or "")
        return await _member_form(request, db, actor, values, {})


async def member_create(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        values = await read_fields(request, _MEMBER_FIELDS)
        errors = id_errors(values, ["organisation_id"], t)
        data = {k: v for k, v in values.items() if v.strip()}
        if "joined_on" in data:
            data["joined_on"] = _iso_date(data["joined_on"])
        model, invalid = validate_form(MemberIn, data, t)
        errors = invalid | errors
        if model is None or errors:
            return await _member_form(request, db, actor, values, errors)
        try:
            async with db.begin_nested():
                created = await MemberService(db, actor).create(model)
        except (InvalidInput, Conflict) as exc:
            return await _member_form(
                request, db, actor, values, domain_errors(exc, t), status=refusal_status(exc)
            )
        return see_other(f"/registry/members/{created.id}?done=created")


async def _member_form(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    values: FormValues,
    errors: FieldErrors,
    *,
    member_id: int | None = None,
    full_name: str = "",
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    return render(
        request,
        "member_form.html",
        actor=actor,
        status=status or (422 if errors else 200),
        member_id=member_id,
        full_name=full_name,
        form=values,
        errors=place_errors(errors, _MEMBER_FIELDS, t),
        organisations=_options(await OrganisationService(db, actor).all()),
    )


async def member_detail(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        member = await MemberService(db, actor).get(path_id(request, "member_id"))
        return _member_page(request, actor, member, {"left_on": _today().isoformat()}, {})


def _member_page(
    request: web.Request,
    actor: Actor,
    member: MemberOut,
    values: FormValues,
    errors: FieldErrors,
    *,
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    return render(
        request,
        "member.html",
        actor=actor,
        status=status or (422 if errors else 200),
        member=member,
        form=values,
        errors=place_errors(errors, ("left_on",), t),
        today=_today(),
    )


async def member_edit(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        member = await MemberService(db, actor).get(path_id(request, "member_id"))
        values = {
            "organisation_id": str(member.organisation_id),
            "surname": member.surname,
            "name": member.name,
            "patronymic": member.patronymic,
            "card_number": member.card_number or "",
            "position": member.position or "",
            "email": member.email or "",
            "phone": member.phone or "",
            "joined_on": member.joined_on.isoformat() if member.joined_on else "",
        }
        return await _member_form(
            request, db, actor, values, {}, member_id=member.id, full_name=member.full_name
        )


async def member_update(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        member_id = path_id(request, "member_id")
        current = await db.get(Member, member_id)
        if current is None:
            raise NotFound(f"member {member_id} does not exist")
        full_name = current.full_name
        values = await read_fields(request, _MEMBER_FIELDS)
        errors = id_errors(values, ["organisation_id"], t)
        # Text as typed ("" clears an optional field); an empty date clears it too.
        data: dict[str, Any] = {k: values[k] for k in _MEMBER_TEXT}
        data["joined_on"] = _iso_date(values["joined_on"]) or None
        if values["organisation_id"].strip():
            data["organisation_id"] = values["organisation_id"]
        model, invalid = validate_form(MemberPatch, data, t)
        errors = invalid | errors
        if model is None or errors:
            return await _member_form(
                request, db, actor, values, errors, member_id=member_id, full_name=full_name
            )
        try:
            async with db.begin_nested():
                await MemberService(db, actor).update(member_id, model)
        except (InvalidInput, Conflict) as exc:
            return await _member_form(
                request,
                db,
                actor,
                values,
                domain_errors(exc, t),
                member_id=member_id,
                full_name=full_name,
                status=refusal_status(exc),
            )
        return see_other(f"/registry/members/{member_id}?done=updated")


async def member_retire(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        member_id = path_id(request, "member_id")
        service = MemberService(db, actor)
        values = await read_fields(request, ("left_on",))
        left_on = _parse_date(values["left_on"]) if values["left_on"].strip() else _today()
        errors: FieldErrors = {}
        if left_on is None:
            errors = {"left_on": t("field.error.date_parsing")}
        else:
            try:
                async with db.begin_nested():
                    await service.retire(member_id, left_on)
            except (InvalidInput, Conflict) as exc:
                errors = domain_errors(exc, t)
                if "form" in errors:  # e.g. "has already left": say it at the date field
                    errors = {"left_on": errors["form"], "form_detail": errors["form_detail"]}
        if errors:
            member = await service.get(member_id)
            return _member_page(request, actor, member, values, errors)
        return see_other(f"/registry/members/{member_id}?done=retired")


# --- bodies and seats ----------------------------------------------------------------------------


async def body_list(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        bodies = await BodyService(db, actor).find()
        orgs = {o.id: o for o in await OrganisationService(db, actor).all(include_retired=True)}
        groups: dict[int, list[tuple[Body, str]]] = {}
        for b in bodies:
            groups.setdefault(b.organisation_id, []).append((b, _rule_text(t, b)))
        ordered = [(orgs[oid], groups[oid]) for oid in orgs if oid in groups]
        return render(request, "bodies.html", actor=actor, groups=ordered)


_BODY_FIELDS = (
    "organisation_id",
    "kind",
    "name",
    "quorum_numerator",
    "quorum_denominator",
    "quorum_strict",
)


def _quorum_data(values: Mapping[str, str]) -> dict[str, Any]:
    # Quorum numbers go to the model even when empty, so "" is an error, not a default.
    return {
        "numerator": values["quorum_numerator"].strip(),
        "denominator": values["quorum_denominator"].strip(),
        "strict": values["quorum_strict"] or "true",
    }


async def body_new(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        values = dict.fromkeys(_BODY_FIELDS, "") | {
            "organisation_id": str(parse_id(request.query.get("organisation_id")) or ""),
            "kind": BodyKind.PRESIDIUM.value,
            "quorum_numerator": "1",
            "quorum_denominator": "2",
            "quorum_strict": "true",
        }
        return await _body_form(request, db, actor, values, {})


async def body_create(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        values = await read_fields(request, _BODY_FIELDS)
        errors = id_errors(values, ["organisation_id"], t)
        data: dict[str, Any] = {
            k: values[k] for k in ("organisation_id", "kind", "name") if values[k].strip()
        }
        data["quorum"] = _quorum_data(values)
        model, invalid = validate_form(BodyIn, data, t)
        errors = invalid | errors
        if model is None or errors:
            return await _body_form(request, db, actor, values, errors)
        try:
            async with db.begin_nested():
                created = await BodyService(db, actor).create(model)
        except (InvalidInput, Conflict) as exc:
            return await _body_form(
                request, db, actor, values, domain_errors(exc, t), status=refusal_status(exc)
            )
        return see_other(f"/registry/bodies/{created.id}?done=created")


async def _body_form(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    values: FormValues,
    errors: FieldErrors,
    *,
    body: Body | None = None,
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    fields = ["name", "quorum", "quorum_numerator", "quorum_denominator", "quorum_strict"]
    if body is None:
        fields += ["organisation_id", "kind"]
    return render(
        request,
        "body_form.html",
        actor=actor,
        status=status or (422 if errors else 200),
        body=body,
        form=values,
        errors=place_errors(errors, fields, t),
        organisations=_options(await OrganisationService(db, actor).all()),
        kinds=[k.value for k in BodyKind],
    )


async def body_detail(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        body = await BodyService(db, actor).get(path_id(request, "body_id"))
        return await _body_page(request, db, actor, body)


@dataclass
class _SeatForms:
    """What the registrar typed into the seat forms of a body page, and what was wrong."""

    add: FormValues = field(default_factory=dict)
    add_errors: FieldErrors = field(default_factory=dict)
    end_values: dict[int, str] = field(default_factory=dict)
    end_errors: dict[int, str] = field(default_factory=dict)
    retire_error: str = ""


_SEAT_FIELDS = ("card_number", "member_id", "role", "term_start", "term_end")


async def _body_page(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    body: Body,
    forms: _SeatForms | None = None,
    *,
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    forms = forms or _SeatForms()
    today = _today()
    if not forms.add:
        forms.add = dict.fromkeys(_SEAT_FIELDS, "") | {
            "role": SeatRole.MEMBER.value,
            "term_start": today.isoformat(),
        }
    on_text = request.query.get("on", "").strip()
    on = _parse_date(on_text) if on_text else today
    on_error = "" if on is not None else t("field.error.date_parsing")
    try:
        await require_body_roster(db, actor, body.id)
        roster = True
    except PermissionDenied:
        roster = False
    composition = history = None
    if roster:
        service = BodyService(db, actor)
        composition = await service.composition(body.id, on or today)
        history = await service.history(body.id)
        seen = sorted({s.member_id for s in composition.seats} | {s.member_id for s in history})
        await record_access(db, actor, AccessAction.LIST, seen, f"body page {body.id}")
    org = await db.get(Organisation, body.organisation_id)
    can_invite = body.retired_at is None and await AccountService(db, actor).may_invite_body(
        body.id, today
    )
    failed = bool(on_error or forms.add_errors or forms.end_errors or forms.retire_error)
    return render(
        request,
        "body.html",
        actor=actor,
        status=status or (422 if failed else 200),
        body=body,
        org=org,
        rule=_rule_text(t, body),
        roster=roster,
        composition=composition,
        history=history or [],
        on=(on or today).isoformat(),
        on_value=on_text or today.isoformat(),
        on_error=on_error,
        today=today,
        seat_form=forms.add,
        seat_errors=place_errors(forms.add_errors, _SEAT_FIELDS, t),
        end_values=forms.end_values,
        end_errors=forms.end_errors,
        retire_error=forms.retire_error,
        roles=[r.value for r in SeatRole],
        can_invite=can_invite,
    )


async def body_edit(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        body = await BodyService(db, actor).get(path_id(request, "body_id"))
        values = {
            "name": body.name,
            "quorum_numerator": str(body.quorum_numerator),
            "quorum_denominator": str(body.quorum_denominator),
            "quorum_strict": "true" if body.quorum_strict else "false",
        }
        return await _body_form(request, db, actor, values, {}, body=body)


async def body_update(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        body = await BodyService(db, actor).get(path_id(request, "body_id"))
        values = await read_fields(
            request, ("name", "quorum_numerator", "quorum_denominator", "quorum_strict")
        )
        data = {"name": values["name"], "quorum": _quorum_data(values)}
        model, errors = validate_form(BodyPatch, data, t)
        if model is None or errors:
            return await _body_form(request, db, actor, values, errors, body=body)
        try:
            async with db.begin_nested():
                await BodyService(db, actor).update(body.id, model)
        except (InvalidInput, Conflict) as exc:
            await db.refresh(body)
            return await _body_form(
                request,
                db,
                actor,
                values,
                domain_errors(exc, t),
                body=body,
                status=refusal_status(exc),
            )
        return see_other(f"/registry/bodies/{body.id}?done=updated")


def _card_variants(text: str) -> set[str]:
    """A card number as the member form stores it and as the importer does ("12 34" / "1234")."""
    spaced = " ".join(text.split()).lstrip("№").strip()
    return {spaced, "".join(spaced.split())} - {""}


async def seat_add(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        body = await BodyService(db, actor).get(path_id(request, "body_id"))
        values = await read_fields(request, _SEAT_FIELDS)
        forms = _SeatForms(add=values)
        errors = id_errors(values, ["member_id"], t)
        data: dict[str, Any] = {"role": values["role"] or SeatRole.MEMBER.value}
        if values["term_start"].strip():
            data["term_start"] = _iso_date(values["term_start"])
        if values["term_end"].strip():
            data["term_end"] = _iso_date(values["term_end"])
        by_card = bool(values["card_number"].strip())
        if by_card:
            org = await db.get(Organisation, body.organisation_id)
            root_id = (org.root_id or org.id) if org else 0
            found = (
                await db.scalars(
                    select(Member.id).where(
                        Member.root_organisation_id == root_id,
                        Member.card_number.in_(_card_variants(values["card_number"])),
                    )
                )
            ).first()
            if found is None:
                errors["card_number"] = t("seat.error.card_not_found")
            else:
                data["member_id"] = found
        elif values["member_id"].strip():
            data["member_id"] = values["member_id"]
        else:
            errors["card_number"] = t("seat.error.who")
        model, invalid = validate_form(SeatIn, data, t)
        if "member_id" in invalid and "member_id" not in data:
            del invalid["member_id"]  # already said at the card number
        forms.add_errors = invalid | errors
        if model is None or forms.add_errors:
            return await _body_page(request, db, actor, body, forms)
        try:
            async with db.begin_nested():
                seat = await BodyService(db, actor).add_seat(body.id, model)
                await record_access(
                    db, actor, AccessAction.UPDATE, [seat.member_id], f"seat {seat.id}"
                )
        except (InvalidInput, Conflict) as exc:
            forms.add_errors = domain_errors(exc, t)
            if by_card and "member_id" in forms.add_errors:
                forms.add_errors["card_number"] = forms.add_errors.pop("member_id")
            return await _body_page(request, db, actor, body, forms, status=refusal_status(exc))
        return see_other(f"/registry/bodies/{body.id}?done=seat_added")


async def seat_end(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        body = await BodyService(db, actor).get(path_id(request, "body_id"))
        seat_id = path_id(request, "seat_id")
        values = await read_fields(request, ("term_end",))
        forms = _SeatForms(end_values={seat_id: values["term_end"]})
        typed = values["term_end"].strip()
        model, errors = validate_form(SeatEnd, {"term_end": _iso_date(typed)} if typed else {}, t)
        if model is not None:
            try:
                async with db.begin_nested():
                    seat = await BodyService(db, actor).end_seat(body.id, seat_id, model.term_end)
                    await record_access(
                        db, actor, AccessAction.UPDATE, [seat.member_id], f"seat {seat.id}"
                    )
            except (InvalidInput, Conflict) as exc:
                errors = domain_errors(exc, t)
        if errors:
            forms.end_errors = {seat_id: errors.get("term_end") or next(iter(errors.values()))}
            return await _body_page(request, db, actor, body, forms)
        return see_other(f"/registry/bodies/{body.id}?done=seat_ended")


async def body_retire(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        body = await BodyService(db, actor).get(path_id(request, "body_id"))
        values = await read_fields(request, ("confirm",))
        if not _checked(values, "confirm"):
            forms = _SeatForms(retire_error=t("body.retire.confirm_missing"))
            return await _body_page(request, db, actor, body, forms)
        await BodyService(db, actor).retire(body.id)
        return see_other(f"/registry/bodies/{body.id}?done=retired")


# --- import ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileError:
    row: int | None
    column: str
    reason: str
    detail: str
    value: str


def _file_errors(errors: Sequence[RowError], t: Translator) -> list[_FileError]:
    out = []
    for err in errors[:MAX_SHOWN_FILE_ERRORS]:
        key = f"import.error.{err.code}"
        value = getattr(err, "value", None)  # RowError gains the offending value soon
        out.append(
            _FileError(
                row=err.row,
                column=err.column or "",
                reason=t(key) if t.has(key) else err.detail,
                detail=err.detail,
                value="" if value is None else str(value),
            )
        )
    return out


async def import_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        values = {
            "organisation_id": str(parse_id(request.query.get("organisation_id")) or ""),
            "create_orgs": "",
        }
        return await _import_form(request, db, actor, values, {})


@dataclass(frozen=True)
class _Carried:
    """The file of a refused import, carried in the page so that the registrar can map
    the organisations and try again without choosing it anew (nothing kept on the
    server: the member list stays in the registrar's browser)."""

    name: str
    data: str  # base64


async def _import_form(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    values: FormValues,
    errors: FieldErrors,
    *,
    file_errors: Sequence[RowError] = (),
    unmatched: Sequence[UnmatchedOrganisation] = (),
    carried: _Carried | None = None,
    chosen: Mapping[str, str] | None = None,
) -> web.Response:
    t = translator(request)
    return render(
        request,
        "import.html",
        actor=actor,
        status=422 if errors or file_errors else 200,
        form=values,
        errors=place_errors(errors, ("organisation_id", "file"), t),
        organisations=_options(await OrganisationService(db, actor).all()),
        file_errors=_file_errors(file_errors, t),
        file_error_count=len(file_errors),
        unmatched=unmatched,
        carried=carried,
        chosen=chosen or {},
    )


def _posted_mapping(posted: MultiDictProxy[Any]) -> tuple[dict[str, int], dict[str, str]]:
    """The organisations the registrar chose for the file's unmatched names: pairs of
    fields ``map_name`` / ``map_org`` (an empty choice maps nothing)."""
    names = [v for v in posted.getall("map_name", []) if isinstance(v, str)]
    orgs = [v for v in posted.getall("map_org", []) if isinstance(v, str)]
    mapping: dict[str, int] = {}
    chosen: dict[str, str] = {}
    for name, org in zip(names, orgs, strict=False):
        org_id = parse_id(org)
        if name.strip() and org_id is not None:
            mapping[name] = org_id
            chosen[name] = str(org_id)
    return mapping, chosen


@upload
async def import_upload(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        values = await read_fields(
            request, ("organisation_id", "create_orgs", "carried_name", "carried_data")
        )
        errors: FieldErrors = {}
        target = None
        org_id = parse_id(values["organisation_id"])
        if org_id is not None:
            target = await db.get(Organisation, org_id)
        if target is None:
            errors["organisation_id"] = t("import.choose_organisation")
        posted = await read_form(request)
        mapping, chosen = _posted_mapping(posted)
        item = posted.get("file")
        fresh = not (item is None or isinstance(item, str) or not getattr(item, "filename", ""))
        carried = _carried(values) if not fresh else None
        if not fresh and carried is None:
            errors["file"] = t("import.choose_file")
        if errors or target is None:
            return await _import_form(request, db, actor, values, errors, chosen=chosen)
        if fresh:
            try:
                filename, data = await read_upload(request)
            except InvalidInput as exc:
                return await _import_form(request, db, actor, values, domain_errors(exc, t))
        else:
            assert carried is not None
            filename, data = carried.name, base64.b64decode(carried.data)
        try:
            records = parse_member_file(data, filename, today=_today())
            async with db.begin_nested():
                result = await import_members(
                    db,
                    actor,
                    target,
                    records,
                    create_orgs=_checked(values, "create_orgs"),
                    mapping=mapping,
                    source=filename,
                )
        except MemberFileRejected as exc:
            keep = (
                _Carried(filename[:200], base64.b64encode(data).decode())
                if len(data) <= MAX_CARRIED_FILE
                else None
            )
            return await _import_form(
                request,
                db,
                actor,
                values,
                {},
                file_errors=exc.errors,
                unmatched=exc.unmatched,
                carried=keep,
                chosen=chosen,
            )
        return see_other(
            _url(
                "/registry/import/done",
                {
                    "organisation_id": target.id,
                    "imported": result.imported,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "created": result.organisations_created,
                    "aliases": result.aliases_added,
                },
            )
        )


def _carried(values: FormValues) -> _Carried | None:
    """The file a refused import's page carried back, if it is one."""
    data = values["carried_data"].strip()
    if not data or len(data) > MAX_CARRIED_FILE * 4 // 3 + 4:
        return None
    try:
        base64.b64decode(data, validate=True)
    except (ValueError, binascii.Error):
        return None
    return _Carried(values["carried_name"].strip()[:200] or "upload.csv", data)


async def import_done(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        org_id = parse_id(request.query.get("organisation_id"))
        org = await db.get(Organisation, org_id) if org_id is not None else None

        def count(name: str) -> int:
            value = request.query.get(name, "0")
            return int(value) if value.isdigit() and len(value) < 10 else 0

        return render(
            request,
            "import_done.html",
            actor=actor,
            org=org,
            imported=count("imported"),
            updated=count("updated"),
            unchanged=count("unchanged"),
            created=count("created"),
            aliases=count("aliases"),
        )


# --- access log -------------------------------------------------------------------------------


# What the log's entries say (written in English when the access is recorded), as the
# registrar's page says it: pattern, catalogue key.
_LOG_DETAILS = (
    (re.compile(r"body page (?P<id>\d+)"), "log.detail.body_page"),
    (re.compile(r"union cards"), "log.detail.cards"),
    (re.compile(r"union card"), "log.detail.own_card"),
    (re.compile(r"body (?P<id>\d+) invited"), "log.detail.body_invited"),
    (re.compile(r"union card (?P<id>\d+) revoked"), "log.detail.card_revoked"),
    (re.compile(r"union card (?P<id>\d+)"), "log.detail.card"),
    (re.compile(r"invitation issued"), "log.detail.invitation"),
    (re.compile(r"seat (?P<id>\d+)"), "log.detail.seat"),
    (re.compile(r"search"), "log.detail.search"),
    (re.compile(r"composition of body (?P<id>\d+)"), "log.detail.composition"),
    (re.compile(r"seat history of body (?P<id>\d+)"), "log.detail.seat_history"),
    (re.compile(r"organisation (?P<id>\d+)"), "log.detail.organisation"),
)
_FIELD_LIST = re.compile(r"[a-z_]+(,[a-z_]+)*")


def _log_detail(t: Translator) -> Callable[[str], str]:
    def say(detail: str) -> str:
        for pattern, key in _LOG_DETAILS:
            found = pattern.fullmatch(detail)
            if found:
                return str(t(key, **found.groupdict()))
        if _FIELD_LIST.fullmatch(detail):  # a member's changed fields
            names = [t(f"member.{f}") if t.has(f"member.{f}") else f for f in detail.split(",")]
            return str(t("log.detail.fields", fields=", ".join(names)))
        return detail  # a file's name, as the registrar gave it

    return say


async def _to_registry(request: web.Request) -> web.StreamResponse:
    """``/bodies`` and its like: the registry's page of that name."""
    raise web.HTTPMovedPermanently(f"/registry{request.path}")


async def access_log(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        actor.require(Role.REGISTRAR)
        t = translator(request)
        member_text = request.query.get("member_id", "").strip()
        member_id = parse_id(member_text)
        error = t("field.error.bad_id") if member_text and member_id is None else ""
        page = _page_number(request.query.get("page"))
        found = await list_access(db, actor, member_id=member_id, page=page, per_page=LOG_PER_PAGE)
        rows, total = found.items, found.total
        ids = {r.member_id for r in rows if r.member_id is not None}
        names: dict[int, str] = {}
        if ids:
            for m in (await db.scalars(select(Member).where(Member.id.in_(ids)))).all():
                names[m.id] = m.full_name
        pages = max(1, -(-total // LOG_PER_PAGE))
        return render(
            request,
            "access_log.html",
            actor=actor,
            status=422 if error else 200,
            entries=rows,
            names=names,
            detail=_log_detail(t),
            total=total,
            member_value=member_text,
            member_error=error,
            pager=_pager(page, pages, "/registry/access-log", {"member_id": member_id or ""}),
        )


# --- routes ----------------------------------------------------------------------------------


def install(app: web.Application) -> None:
    r = app.router
    r.add_get("/registry/organisations", organisation_list)
    r.add_get("/registry/organisations/new", organisation_new)
    r.add_post("/registry/organisations/new", organisation_create)
    r.add_get(r"/registry/organisations/{org_id:\d+}", organisation_detail)
    r.add_get(r"/registry/organisations/{org_id:\d+}/edit", organisation_edit)
    r.add_post(r"/registry/organisations/{org_id:\d+}/edit", organisation_update)
    r.add_post(r"/registry/organisations/{org_id:\d+}/retire", organisation_retire)
    r.add_get("/registry/members", member_list)
    r.add_get("/registry/members/new", member_new)
    r.add_post("/registry/members/new", member_create)
    r.add_get(r"/registry/members/{member_id:\d+}", member_detail)
    r.add_get(r"/registry/members/{member_id:\d+}/edit", member_edit)
    r.add_post(r"/registry/members/{member_id:\d+}/edit", member_update)
    r.add_post(r"/registry/members/{member_id:\d+}/retire", member_retire)
    r.add_get("/registry/bodies", body_list)
    # The short addresses people type for the registry's lists.
    for short in ("/bodies", "/organisations", "/members"):
        r.add_get(short, _to_registry)
    r.add_get("/registry/bodies/new", body_new)
    r.add_post("/registry/bodies/new", body_create)
    r.add_get(r"/registry/bodies/{body_id:\d+}", body_detail)
    r.add_get(r"/registry/bodies/{body_id:\d+}/edit", body_edit)
    r.add_post(r"/registry/bodies/{body_id:\d+}/edit", body_update)
    r.add_post(r"/registry/bodies/{body_id:\d+}/retire", body_retire)
    r.add_post(r"/registry/bodies/{body_id:\d+}/seats", seat_add)
    r.add_post(r"/registry/bodies/{body_id:\d+}/seats/{seat_id:\d+}/end", seat_end)
    r.add_get("/registry/import", import_page)
    r.add_post("/registry/import", import_upload)
    r.add_get("/registry/import/done", import_done)
    r.add_get("/registry/access-log", access_log)
