"""Storage: SQLite durability settings, migrations matching the models, append-only log."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.orm import Base
from server import database
from tests import factories as f


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}"
    engine = database.create_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(db: AsyncSession) -> None:
    conn = await db.connection()

    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return compare_metadata(context, Base.metadata)

    assert await conn.run_sync(diff) == []


async def test_access_log_is_append_only(db: AsyncSession) -> None:
    root = await f.org(db)
    await f.member(db, root)  # creating a member writes a log entry
    await db.commit()
    for statement in ("UPDATE access_log SET actor = 'someone else'", "DELETE FROM access_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(text(statement))
        await db.rollback()
    assert await db.scalar(text("SELECT count(*) FROM access_log")) == 1


async def test_foreign_keys_are_enforced(db: AsyncSession) -> None:
    insert = text(
        "INSERT INTO body (organisation_id, kind, name, quorum_numerator, "
        "quorum_denominator, quorum_strict, created_at) "
        "VALUES (999, 'council', 'x', 1, 2, true, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(DBAPIError):
        await db.execute(insert)


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    database.upgrade(url)
    command.downgrade(database.alembic_config(url), "base")
    database.upgrade(url)
