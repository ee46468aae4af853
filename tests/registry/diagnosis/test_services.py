"""Stored methodologies: drafts, publication freezes a version, a change makes the next."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.diagnosis.models import MethodologyVersion
from registry.diagnosis.services import MethodologyService, default_methodology
from registry.errors import Conflict, NotFound, PermissionDenied
from registry.models import Role
from tests import factories


async def test_publishing_freezes_and_a_change_makes_the_next_version(db: AsyncSession) -> None:
    council = await factories.org(db)
    service = MethodologyService(db, factories.SYSTEM)
    original = default_methodology()

    draft = await service.save(council.id, original)
    assert (draft.version, draft.published) == (1, False)
    retitled = dataclasses.replace(original, title="Методика 2027")
    again = await service.save(council.id, retitled)
    assert (again.id, again.version) == (draft.id, 1)  # a draft is replaced in place

    published = await service.publish(draft.id)
    assert published.published
    assert published.methodology == retitled
    with pytest.raises(Conflict):
        await service.publish(draft.id)

    changed = await service.save(council.id, original)
    assert (changed.version, changed.published) == (2, False)
    assert (await service.get(draft.id)).methodology == retitled  # version 1 untouched
    await db.commit()

    versions = await service.versions(council.id)
    assert [(v.version, v.published) for v in versions] == [(2, False), (1, True)]
    latest = await service.latest_published(council.id, original.code)
    assert latest is not None
    assert latest.id == draft.id


async def test_the_default_is_seeded_once(db: AsyncSession) -> None:
    council = await factories.org(db)
    service = MethodologyService(db, factories.SYSTEM)
    first = await service.ensure_default(council.id)
    second = await service.ensure_default(council.id)
    await db.commit()
    assert first.id == second.id
    assert first.published
    count = await db.scalar(select(func.count()).select_from(MethodologyVersion))
    assert count == 1


async def test_refusals_change_nothing(db: AsyncSession) -> None:
    council = await factories.org(db)
    member = Actor(account_id=1, display_name="Член", roles=frozenset({Role.MEMBER}))
    with pytest.raises(PermissionDenied):
        await MethodologyService(db, member).save(council.id, default_methodology())
    service = MethodologyService(db, factories.SYSTEM)
    with pytest.raises(NotFound):
        await service.save(council.id + 100, default_methodology())
    with pytest.raises(NotFound):
        await service.publish(12345)
    count = await db.scalar(select(func.count()).select_from(MethodologyVersion))
    assert count == 0


async def test_the_default_leaves_an_edited_version_alone(db: AsyncSession) -> None:
    council = await factories.org(db)
    service = MethodologyService(db, factories.SYSTEM)
    first = await service.ensure_default(council.id)
    edited = dataclasses.replace(default_methodology(), title="Редакция 2")
    draft = await service.save(council.id, edited)
    again = await service.ensure_default(council.id)
    await db.commit()
    assert again.id == first.id  # the published version, not the draft
    assert (await service.get(draft.id)).methodology == edited
