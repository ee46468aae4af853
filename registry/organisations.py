"""The organisation tree: regional council → member organisations → primary organisations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.contact import normalise_spaces
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Body, Member, MemberStatus, Organisation, OrgKind, Role
from registry.orm import utcnow
from registry.schemas import OrganisationIn, OrganisationPatch

__all__ = ["OrganisationService", "name_key"]

# Which kind of organisation may hang under which.
_CHILD_KINDS: dict[OrgKind, set[OrgKind]] = {
    OrgKind.REGIONAL_COUNCIL: {OrgKind.MEMBER_ORGANISATION, OrgKind.PRIMARY},
    OrgKind.MEMBER_ORGANISATION: {OrgKind.PRIMARY},
    OrgKind.PRIMARY: set(),
}


def name_key(name: str) -> str:
    """How names are compared: case, 'ё' and extra spaces ignored, quotes unified."""
    key = normalise_spaces(name).lower().replace("ё", "е")
    for quote in "«»\"“”„'":
        key = key.replace(quote, '"')
    return key


class OrganisationService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def get(self, org_id: int) -> Organisation:
        org = await self.session.get(Organisation, org_id)
        if org is None:
            raise NotFound(f"organisation {org_id} does not exist")
        return org

    async def all(self, *, include_retired: bool = False) -> Sequence[Organisation]:
        """Every organisation, parents before children, siblings by name."""
        stmt = select(Organisation)
        if not include_retired:
            stmt = stmt.where(Organisation.retired_at.is_(None))
        orgs = (await self.session.scalars(stmt)).all()
        return _tree_order(orgs)

    async def subtree_ids(self, root: Organisation) -> set[int]:
        """The ids of ``root`` and all organisations below it."""
        rows = (
            await self.session.execute(
                select(Organisation.id, Organisation.parent_id).where(
                    Organisation.root_id == (root.root_id or root.id)
                )
            )
        ).all()
        children: dict[int | None, list[int]] = {}
        for oid, parent in rows:
            children.setdefault(parent, []).append(oid)
        found, stack = set(), [root.id]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(children.get(current, ()))
        return found

    async def resolve(self, ref: str) -> Organisation:
        """Find an organisation by id, full name or short name (as the CLI takes it)."""
        ref = ref.strip()
        if ref.isdigit():
            return await self.get(int(ref))
        key = name_key(ref)
        matches = [
            o
            for o in (await self.session.scalars(select(Organisation))).all()
            if key in (name_key(o.name), name_key(o.short_name))
        ]
        if not matches:
            raise NotFound(f"no organisation is named '{ref}'")
        if len(matches) > 1:
            ids = ", ".join(str(o.id) for o in matches)
            raise Conflict(f"'{ref}' names several organisations ({ids}); give the id instead")
        return matches[0]

    async def create(self, data: OrganisationIn) -> Organisation:
        self.actor.require(Role.REGISTRAR)
        parent = None
        if data.parent_id is not None:
            parent = await self._parent(data.parent_id, data.kind)
        elif data.kind is not OrgKind.REGIONAL_COUNCIL:
            raise InvalidInput(
                "only a regional council may stand at the top of the tree",
                fields={"parent_id": "choose the organisation this one belongs to"},
            )
        await self._check_unique_name(data.name, parent, None)
        org = Organisation(
            name=data.name,
            short_name=data.short_name,
            kind=data.kind,
            city=data.city,
            parent_id=parent.id if parent else None,
        )
        self.session.add(org)
        await self.session.flush()
        org.root_id = parent.root_id if parent else org.id
        await self.session.flush()
        return org

    async def update(self, org_id: int, data: OrganisationPatch) -> Organisation:
        self.actor.require(Role.REGISTRAR)
        org = await self.get(org_id)
        changes = data.model_dump(exclude_unset=True)
        if "parent_id" in changes and changes["parent_id"] != org.parent_id:
            new_parent_id = changes["parent_id"]
            if new_parent_id is None:
                raise InvalidInput(
                    "an organisation cannot be moved to the top of the tree",
                    fields={"parent_id": "required"},
                )
            parent = await self._parent(new_parent_id, org.kind)
            if parent.root_id != org.root_id:
                raise InvalidInput(
                    "an organisation cannot move to another union's tree",
                    fields={"parent_id": "must be in the same tree"},
                )
            if parent.id in await self.subtree_ids(org):
                raise InvalidInput(
                    "an organisation cannot be placed under itself or its own descendant",
                    fields={"parent_id": "would make a cycle"},
                )
            org.parent_id = parent.id
        if changes.get("name") is not None and changes["name"] != org.name:
            current_parent = await self.get(org.parent_id) if org.parent_id else None
            await self._check_unique_name(changes["name"], current_parent, org.id)
            org.name = changes["name"]
        for field in ("short_name", "city"):
            if changes.get(field) is not None:
                setattr(org, field, changes[field])
        await self.session.flush()
        return org

    async def retire(self, org_id: int) -> Organisation:
        """Close an organisation; refused while it still has active members or bodies below."""
        self.actor.require(Role.REGISTRAR)
        org = await self.get(org_id)
        if org.retired_at is not None:
            raise Conflict(f"organisation {org_id} is already retired")
        children = await self.session.scalar(
            select(func.count())
            .select_from(Organisation)
            .where(Organisation.parent_id == org.id, Organisation.retired_at.is_(None))
        )
        if children:
            raise Conflict(f"retire the {children} organisation(s) under it first")
        members = await self.session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.organisation_id == org.id, Member.status == MemberStatus.ACTIVE)
        )
        if members:
            raise Conflict(f"it still has {members} active member(s); move or retire them first")
        bodies = await self.session.scalar(
            select(func.count())
            .select_from(Body)
            .where(Body.organisation_id == org.id, Body.retired_at.is_(None))
        )
        if bodies:
            raise Conflict(f"it still has {bodies} elected body(ies); retire them first")
        org.retired_at = utcnow()
        await self.session.flush()
        return org

    async def _parent(self, parent_id: int, kind: OrgKind) -> Organisation:
        try:
            parent = await self.get(parent_id)
        except NotFound:
            raise InvalidInput(
                f"organisation {parent_id} does not exist",
                fields={"parent_id": "no such organisation"},
            ) from None
        if parent.retired_at is not None:
            raise InvalidInput(
                "cannot attach to a retired organisation", fields={"parent_id": "retired"}
            )
        if kind not in _CHILD_KINDS[parent.kind]:
            raise InvalidInput(
                f"a {kind.value} cannot stand under a {parent.kind.value}",
                fields={"kind": "not allowed under this parent"},
            )
        return parent

    async def _check_unique_name(
        self, name: str, parent: Organisation | None, own_id: int | None
    ) -> None:
        stmt = select(Organisation).where(
            Organisation.parent_id == parent.id if parent else Organisation.parent_id.is_(None)
        )
        for sibling in (await self.session.scalars(stmt)).all():
            if sibling.id != own_id and name_key(sibling.name) == name_key(name):
                raise Conflict(
                    f"'{name}' already exists here (organisation {sibling.id})",
                    fields={"name": "already taken"},
                )


def _tree_order(orgs: Sequence[Organisation]) -> list[Organisation]:
    children: dict[int | None, list[Organisation]] = {}
    ids = {o.id for o in orgs}
    for org in orgs:
        parent = org.parent_id if org.parent_id in ids else None
        children.setdefault(parent, []).append(org)
    ordered: list[Organisation] = []

    def walk(parent: int | None) -> None:
        for org in sorted(children.get(parent, ()), key=lambda o: name_key(o.name)):
            ordered.append(org)
            walk(org.id)

    walk(None)
    return ordered
