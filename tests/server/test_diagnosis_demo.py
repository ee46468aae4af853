"""The demo ships the regional council's self-diagnosis methodology, published, once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.diagnosis.models import MethodologyVersion
from registry.diagnosis.services import MethodologyService, default_methodology
from server.demo import seed_with_logins
from server.settings import Settings
from tests import factories


async def test_the_demo_seeds_the_default_methodology_once(
    db: AsyncSession, settings: Settings
) -> None:
    async with db.begin():
        await seed_with_logins(db, settings)
    async with db.begin():
        await seed_with_logins(db, settings)
    async with db.begin():
        assert await db.scalar(select(func.count()).select_from(MethodologyVersion)) == 1
        row = await db.scalar(select(MethodologyVersion))
        assert row is not None
        stored = await MethodologyService(db, factories.SYSTEM).get(row.id)
    assert stored.published
    assert stored.methodology == default_methodology()
