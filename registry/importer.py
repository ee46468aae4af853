"""Applying a parsed member file to the registry, all or nothing, and exporting it back.

Parsing (:mod:`registry.memberfile`) knows nothing about the database; this module
matches organisations and union card numbers against the registry, collects every
problem row by row, and changes nothing unless the whole file is acceptable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accesslog import AccessAction, record_access
from registry.actor import Actor
from registry.memberfile import ExportRow, MemberFileRejected, MemberRecord, RowError
from registry.members import search_key
from registry.models import (
    Member,
    MemberStatus,
    Organisation,
    OrganisationAlias,
    OrgKind,
    Role,
)
from registry.organisations import OrganisationService, name_key
from registry.orgnames import Suggestion, closest
from registry.orm import utcnow
from registry.schemas import OrganisationIn

__all__ = ["ImportResult", "UnmatchedOrganisation", "export_members", "import_members"]

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
    aliases_added: int = 0


@dataclass(frozen=True)
class UnmatchedOrganisation:
    """A name the file gives that no organisation under the target answers to, the rows
    that give it, and the closest existing organisations (best first)."""

    name: str
    rows: tuple[int, ...]
    suggestions: tuple[Suggestion, ...]

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("an unmatched organisation has a name")


async def import_members(
    session: AsyncSession,
    actor: Actor,
    target: Organisation,
    records: Sequence[MemberRecord],
    *,
    create_orgs: bool = False,
    mapping: Mapping[str, int] | None = None,
    source: str = "",
) -> ImportResult:
    """Create or update the members of ``records`` under ``target``.

    Members are matched by union card number within the root organisation, so a
    second import of the same file creates nothing. An organisation is found by its
    name, short name or an alias; ``mapping`` names it for a name of the file
    (name as written → organisation id), and each such name is kept as an alias of
    that organisation when the import succeeds. Raises :class:`MemberFileRejected`
    listing every bad row (and, for names no organisation answers to, the closest
    organisations), before changing anything.
    """
    actor.require(Role.REGISTRAR)
    if target.retired_at is not None:
        raise MemberFileRejected(
            [RowError(None, None, "retired_organisation", f"'{target.name}' is retired")]
        )
    orgs = OrganisationService(session, actor)
    subtree = await orgs.subtree_ids(target)
    live = (
        await session.scalars(
            select(Organisation).where(
                Organisation.id.in_(subtree), Organisation.retired_at.is_(None)
            )
        )
    ).all()
    live_by_id = {org.id: org for org in live}
    aliases: dict[int, list[str]] = {}
    for alias in (
        await session.scalars(
            select(OrganisationAlias).where(OrganisationAlias.organisation_id.in_(list(live_by_id)))
        )
    ).all():
        aliases.setdefault(alias.organisation_id, []).append(alias.name)
    by_name: dict[str, list[Organisation]] = {}
    for org in live:
        names = {name_key(org.name), name_key(org.short_name)}
        names |= {name_key(a) for a in aliases.get(org.id, ())}
        for key in names - {""}:
            by_name.setdefault(key, []).append(org)

    errors: list[RowError] = []
    # The registrar's mapping wins over what the names say.
    mapped: dict[str, Organisation] = {}
    file_keys = {name_key(r.organisation) for r in records if r.organisation}
    for name, org_id in (mapping or {}).items():
        key = name_key(name)
        chosen = live_by_id.get(org_id)
        if chosen is None:
            errors.append(
                RowError(
                    None,
                    _ORG_COLUMN,
                    "map_target",
                    f"'{name}' is mapped to organisation {org_id}, which is not an active "
                    f"organisation under '{target.name}'",
                )
            )
        elif key not in file_keys:
            errors.append(
                RowError(
                    None,
                    _ORG_COLUMN,
                    "map_unused",
                    f"'{name}' is mapped to an organisation but the file never names it",
                )
            )
        else:
            mapped[key] = chosen
    unknown: dict[str, tuple[str, list[int]]] = {}  # key → (name as first written, rows)
    to_create: dict[str, str] = {}  # name key → name as first written in the file
    org_of_row: dict[int, int | str] = {}  # row → organisation id, or a key to create
    for record in records:
        if not record.organisation:
            org_of_row[record.row] = target.id
            continue
        key = name_key(record.organisation)
        found = [mapped[key]] if key in mapped else by_name.get(key, [])
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
            unknown.setdefault(key, (record.organisation, []))[1].append(record.row)
            hint = "" if create_orgs else " (map it to an organisation, or use --create-orgs)"
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
        candidates = [(o.id, o.name, (o.short_name, *aliases.get(o.id, ()))) for o in live]
        unmatched = [
            UnmatchedOrganisation(name, tuple(rows), tuple(closest(name, candidates)))
            for name, rows in unknown.values()
        ]
        raise MemberFileRejected(
            sorted(errors, key=lambda e: (e.row or 0, e.column or "")), unmatched=unmatched
        )

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
    added = await _keep_aliases(session, actor, target, mapping or {}, mapped)
    return ImportResult(len(inserts), len(updates), unchanged, len(to_create), added)


async def _keep_aliases(
    session: AsyncSession,
    actor: Actor,
    target: Organisation,
    mapping: Mapping[str, int],
    mapped: Mapping[str, Organisation],
) -> int:
    """Each mapped name becomes an alias of its organisation (the latest mapping of a
    name wins); a name the organisation already has needs none."""
    root_id = target.root_id or target.id
    added = 0
    for name in mapping:
        key = name_key(name)
        org = mapped[key]
        key = key[:500]
        if key in {name_key(org.name), name_key(org.short_name)}:
            continue
        alias = await session.scalar(
            select(OrganisationAlias).where(
                OrganisationAlias.root_id == root_id, OrganisationAlias.key == key
            )
        )
        if alias is None:
            session.add(
                OrganisationAlias(
                    organisation_id=org.id,
                    root_id=root_id,
                    name=name.strip()[:500],
                    key=key[:500],
                    created_by=actor.display_name,
                )
            )
            added += 1
        elif alias.organisation_id != org.id:
            alias.organisation_id = org.id
            alias.name = name.strip()[:500]
            added += 1
    await session.flush()
    return added


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
