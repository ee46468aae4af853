"""The append-only log of reads and changes of members' personal data."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.models import AccessLogEntry
from registry.orm import utcnow

__all__ = ["AccessAction", "record_access"]


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
