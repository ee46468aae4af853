"""The append-only log of reads and changes of members' personal data."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.models import AccessLogEntry, Role
from registry.orm import utcnow
from registry.schemas import AccessLogOut, Page

__all__ = ["AccessAction", "list_access", "record_access"]


class AccessAction:
    READ = "read"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    RETIRE = "retire"
    IMPORT = "import"
    EXPORT = "export"


async def record_access(
    session: AsyncSession,
    actor: Actor,
    action: str,
    member_ids: Iterable[int | None],
    detail: str = "",
) -> None:
    """Append one entry per member touched (a single entry for ``[None]``, a bulk action).

    Written in the caller's transaction: if the read or change is rolled back, so is
    its record, and a change is never committed without its record.
    """
    now = utcnow()
    rows = [
        {
            "at": now,
            "account_id": actor.account_id,
            "actor": actor.display_name,
            "action": action,
            "member_id": member_id,
            "detail": detail,
            "request_id": actor.request_id,
        }
        for member_id in member_ids
    ]
    if rows:
        await session.execute(insert(AccessLogEntry), rows)


async def list_access(
    session: AsyncSession,
    actor: Actor,
    *,
    member_id: int | None = None,
    page: int = 1,
    per_page: int = 100,
) -> Page[AccessLogOut]:
    """The log, newest first, optionally for one member: for the registrar only."""
    actor.require(Role.REGISTRAR)
    stmt = select(AccessLogEntry)
    if member_id is not None:
        stmt = stmt.where(AccessLogEntry.member_id == member_id)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = (
        await session.scalars(
            stmt.order_by(AccessLogEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)
        )
    ).all()
    return Page[AccessLogOut](
        items=[AccessLogOut.model_validate(r) for r in rows],
        total=total or 0,
        page=page,
        per_page=per_page,
    )
