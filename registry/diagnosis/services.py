"""Keeping methodologies: drafts, publication (which freezes a version) and new versions.

A methodology is identified by its owner organisation and its code; each change to
a published version is saved as the next version, a draft, until it is published in
turn. A draft may be replaced freely; a published version never changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.diagnosis.access import require_officer
from registry.diagnosis.methodology import Methodology
from registry.diagnosis.models import MethodologyVersion
from registry.errors import Conflict, NotFound
from registry.models import Organisation
from registry.orm import utcnow

__all__ = ["MethodologyService", "StoredMethodology", "default_methodology"]


def default_methodology() -> Methodology:
    """The methodology Kvorum ships (``registry/diagnosis/data/default_ru.json``)."""
    text = resources.files("registry.diagnosis").joinpath("data/default_ru.json").read_text("utf-8")
    return Methodology.from_json(json.loads(text))


@dataclass(frozen=True)
class StoredMethodology:
    """A stored version with its parsed content."""

    id: int
    organisation_id: int
    version: int
    published: bool
    methodology: Methodology


def _stored(row: MethodologyVersion) -> StoredMethodology:
    return StoredMethodology(
        id=row.id,
        organisation_id=row.organisation_id,
        version=row.version,
        published=row.published_at is not None,
        methodology=Methodology.from_json(json.loads(row.content)),
    )


class MethodologyService:
    """Methodologies of an organisation; changes need an officer of that organisation
    (:mod:`registry.diagnosis.access`) or the registrar."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def get(self, methodology_id: int) -> StoredMethodology:
        row = await self.session.get(MethodologyVersion, methodology_id)
        if row is None:
            raise NotFound(f"methodology {methodology_id} not found")
        return _stored(row)

    async def versions(self, organisation_id: int) -> list[StoredMethodology]:
        """Every version of every methodology of the organisation, newest first per code."""
        rows = await self.session.scalars(
            select(MethodologyVersion)
            .where(MethodologyVersion.organisation_id == organisation_id)
            .order_by(MethodologyVersion.code, MethodologyVersion.version.desc())
        )
        return [_stored(row) for row in rows]

    async def save(self, organisation_id: int, methodology: Methodology) -> StoredMethodology:
        """Save ``methodology`` as the draft of its code: replace the open draft, or start
        the next version when the latest one is published (it stays as it was)."""
        if await self.session.get(Organisation, organisation_id) is None:
            raise NotFound(f"organisation {organisation_id} not found")
        await require_officer(self.session, self.actor, organisation_id)
        latest = await self.session.scalar(
            select(MethodologyVersion)
            .where(
                MethodologyVersion.organisation_id == organisation_id,
                MethodologyVersion.code == methodology.code,
            )
            .order_by(MethodologyVersion.version.desc())
            .limit(1)
            .with_for_update()
        )
        content = json.dumps(methodology.to_json(), ensure_ascii=False, sort_keys=True)
        if latest is not None and latest.published_at is None:
            latest.title = methodology.title
            latest.content = content
            latest.created_at = utcnow()
            latest.created_by = self.actor.display_name
            await self.session.flush()
            return _stored(latest)
        row = MethodologyVersion(
            organisation_id=organisation_id,
            code=methodology.code,
            version=(latest.version + 1) if latest is not None else 1,
            title=methodology.title,
            content=content,
            created_by=self.actor.display_name,
        )
        self.session.add(row)
        await self.session.flush()
        return _stored(row)

    async def publish(self, methodology_id: int) -> StoredMethodology:
        """Freeze a draft; from now on a change makes the next version."""
        row = await self.session.get(MethodologyVersion, methodology_id, with_for_update=True)
        if row is None:
            raise NotFound(f"methodology {methodology_id} not found")
        await require_officer(self.session, self.actor, row.organisation_id)
        if row.published_at is not None:
            raise Conflict(
                f"version {row.version} of {row.code} is already published",
                code="methodology_published",
            )
        row.published_at = utcnow()
        await self.session.flush()
        return _stored(row)

    async def latest_published(self, organisation_id: int, code: str) -> StoredMethodology | None:
        row = await self.session.scalar(
            select(MethodologyVersion)
            .where(
                MethodologyVersion.organisation_id == organisation_id,
                MethodologyVersion.code == code,
                MethodologyVersion.published_at.is_not(None),
            )
            .order_by(MethodologyVersion.version.desc())
            .limit(1)
        )
        return _stored(row) if row is not None else None

    async def ensure_default(self, organisation_id: int) -> StoredMethodology:
        """Store and publish the shipped methodology for the organisation unless some
        version of it is already there (the demo calls this on every start); an existing
        one, published or a draft being edited, is left as it is."""
        methodology = default_methodology()
        existing = await self.session.scalar(
            select(MethodologyVersion)
            .where(
                MethodologyVersion.organisation_id == organisation_id,
                MethodologyVersion.code == methodology.code,
            )
            .order_by(MethodologyVersion.published_at.is_(None), MethodologyVersion.version.desc())
            .limit(1)
        )
        if existing is not None:
            return _stored(existing)
        stored = await self.save(organisation_id, methodology)
        return await self.publish(stored.id)
