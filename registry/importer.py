"""Applying a parsed member file to the registry, all or nothing, and exporting it back.

Parsing (:mod:`registry.memberfile`) knows nothing about the database; this module
matches organisations and union card numbers against the registry, collects every
problem row by row, and changes nothing unless the whole file is acceptable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accesslog import AccessAction, record_access
from registry.actor import Actor
from registry.memberfile import ExportRow, MemberFileRejected, MemberRecord, RowError
from registry.members import search_key
from registry.models import Member, MemberStatus, Organisation, OrgKind, Role
from registry.organisations import OrganisationService, name_key
from registry.orm import utcnow
from registry.schemas import OrganisationIn

__all__ = ["ImportResult", "export_members", "import_members"]

_ORG_COLUMN = "Организация"
_CARD_COLUMN = "№ профбилета"
# The kind of organisation --create-orgs makes under an organisation of each kind.
_CREATED_KIND = {
    OrgKind.REGIONAL_COUNCIL: OrgKind.MEMBER_ORGANISATION,
    OrgKind.MEMBER_ORGANISATION: OrgKind.PRIMARY,
}
_FIELDS = (
    "surname",
    "name",
    "patronymic",
    "organisation_id",
    "position",
    "phone",
    "email",
    "joined_on",
)


@dataclass(frozen=True)
class ImportResult:
    imported: int
    updated: int
    unchanged: int
    organisations_created: int


async def import_members(
    session: AsyncSession,
    actor: Actor,
    target: Organisation,
    records: Sequence[MemberRecord],
    *,
    create_orgs: bool = False,
    source: str = "",
) -> ImportResult:
    """Create or update the members of ``records`` under ``target``.

    Members are matched by union card number within the root organisation, so a
    second import of the same file creates nothing. Raises
    :class:`MemberFileRejected` listing every bad row, before changing anything.
    """
    actor.require(Role.REGISTRAR)
    if target.retired_at is not None:
        raise MemberFileRejected(
            [RowError(None, None, "retired_organisation", f"'{target.name}' is retired")]
        )
    orgs = OrganisationService(session, actor)
    subtree = await orgs.subtree_ids(target)
    by_name: dict[str, list[Organisation]] = {}
    for org in (
        await session.scalars(
            select(Organisation).where(
                Organisation.id.in_(subtree), Organisation.retired_at.is_(None)
            )
        )
    ).all():
        for key in {name_key(org.name), name_key(org.short_name)} - {""}:
            by_name.setdefault(key, []).append(org)

    errors: list[RowError] = []
    to_create: dict[str, str] = {}  # name key → name as first written in the file
    org_of_row: dict[int, int | str] = {}  # row → organisation id, or a key to create
    for record in records:
        if not record.organisation:
            org_of_row[record.row] = target.id
            continue
        key = name_key(record.organisation)
        found = by_name.get(key, [])
        if len(found) == 1:
            org_of_row[record.row] = found[0].id
        elif len(found) > 1:
            ids = ", ".join(str(o.id) for o in found)
            errors.append(
                RowError(
                    record.row,
                    _ORG_COLUMN,
                    "ambiguous_organisation",
                    f"'{record.organisation}' matches several organisations ({ids})",
                )
            )
        elif create_orgs and target.kind in _CREATED_KIND:
            to_create.setdefault(key, record.organisation)
            org_of_row[record.row] = key
        else:
            hint = "" if create_orgs else " (use --create-orgs to create it)"
            if create_orgs:
                hint = f" and a {target.kind.value} cannot have organisations under it"
            errors.append(
                RowError(
                    record.row,
                    _ORG_COLUMN,
                    "unknown_organisation",
                    f"no organisation '{record.organisation}' under '{target.name}'{hint}",
                )
            )

    root_id = target.root_id or target.id
    cards = [r.card_number for r in records]
    existing: dict[str, Member] = {}
    for chunk_start in range(0, len(cards), 5000):
        chunk = cards[chunk_start : chunk_start + 5000]
        for found_member in (
            await session.scalars(
                select(Member).where(
                    Member.root_organisation_id == root_id, Member.card_number.in_(chunk)
                )
            )
        ).all():
            existing[found_member.card_number] = found_member
    for record in records:
        holder = existing.get(record.card_number)
        if holder is not None and holder.organisation_id not in subtree:
            errors.append(
                RowError(
                    record.row,
                    _CARD_COLUMN,
                    "card_elsewhere",
                    f"card {record.card_number} belongs to {holder.full_name} of another "
                    f"organisation (id {holder.organisation_id}); transfer them first",
                )
            )
    if errors:
        raise MemberFileRejected(sorted(errors, key=lambda e: (e.row or 0, e.column or "")))

    created_ids: dict[str, int] = {}
    for key, name in to_create.items():
        org = await orgs.create(
            OrganisationIn(name=name, kind=_CREATED_KIND[target.kind], parent_id=target.id)
        )
        created_ids[key] = org.id

    now = utcnow()
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    unchanged = 0
    for record in records:
        where = org_of_row[record.row]
        values: dict[str, object] = {
            "surname": record.surname,
            "name": record.name,
            "patronymic": record.patronymic,
            "organisation_id": where if isinstance(where, int) else created_ids[where],
            "position": record.position,
            "phone": record.phone,
            "email": record.email,
            "joined_on": record.joined_on,
        }
        member = existing.get(record.card_number)
        if member is None:
            inserts.append(
                values
                | {
                    "card_number": record.card_number,
                    "root_organisation_id": root_id,
                    "status": MemberStatus.ACTIVE,
                    "search_key": search_key(
                        record.surname, record.name, record.patronymic, record.card_number
                    ),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif any(getattr(member, f) != values[f] for f in _FIELDS):
            updates.append(
                values
                | {
                    "id": member.id,
                    "search_key": search_key(
                        record.surname, record.name, record.patronymic, record.card_number
                    ),
                    "updated_at": now,
                }
            )
        else:
            unchanged += 1

    if inserts:
        await session.execute(insert(Member), inserts)
    if updates:
        # Bulk UPDATE by primary key: one executemany, not one round trip per row.
        await session.execute(update(Member), updates)
    touched = [int(u["id"]) for u in updates]  # type: ignore[call-overload]
    if inserts:
        new_cards = [str(i["card_number"]) for i in inserts]
        for chunk_start in range(0, len(new_cards), 5000):
            touched.extend(
                await session.scalars(
                    select(Member.id).where(
                        Member.root_organisation_id == root_id,
                        Member.card_number.in_(new_cards[chunk_start : chunk_start + 5000]),
                    )
                )
            )
    await record_access(session, actor, AccessAction.IMPORT, touched, source)
    return ImportResult(len(inserts), len(updates), unchanged, len(to_create))


async def export_members(
    session: AsyncSession, actor: Actor, target: Organisation
) -> list[ExportRow]:
    """The active members of ``target`` and everything under it, in file order."""
    actor.require(Role.REGISTRAR)
    subtree = await OrganisationService(session, actor).subtree_ids(target)
    names: dict[int, str] = {
        oid: name
        for oid, name in await session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(subtree))
        )
    }
    rows = (
        await session.execute(
            select(Member)
            .where(Member.organisation_id.in_(subtree), Member.status == MemberStatus.ACTIVE)
            .order_by(Member.surname, Member.name, Member.patronymic, Member.card_number)
        )
    ).scalars()
    out: list[ExportRow] = []
    ids: list[int] = []
    for m in rows:
        ids.append(m.id)
        out.append(
            ExportRow(
                surname=m.surname,
                name=m.name,
                patronymic=m.patronymic,
                card_number=m.card_number,
                # The target's own members get an empty cell: the file re-imports into
                # the same organisation whether it is given by name or by id.
                organisation="" if m.organisation_id == target.id else names[m.organisation_id],
                position=m.position,
                phone=m.phone,
                email=m.email,
                joined_on=m.joined_on,
            )
        )
    await record_access(session, actor, AccessAction.EXPORT, ids, f"organisation {target.id}")
    return out
