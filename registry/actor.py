"""Who is asking: the caller every registry service call is made on behalf of."""

from __future__ import annotations

from dataclasses import dataclass, field

from registry.errors import PermissionDenied
from registry.models import Role

__all__ = ["Actor"]


@dataclass(frozen=True)
class Actor:
    """An authenticated caller (or the CLI operator) with their application roles.

    A meeting's invited guest has no account: they come in through their personal link
    and are this meeting's guest (``guest_id`` of ``guest_meeting_id``) and nothing
    else — no roles, no member, no other meeting.
    """

    account_id: int | None
    display_name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    member_id: int | None = None
    request_id: str = ""
    guest_id: int | None = None
    guest_meeting_id: int | None = None

    @classmethod
    def system(cls, name: str = "kvorum cli") -> Actor:
        """The operator at the server's console: a registrar without an account."""
        return cls(account_id=None, display_name=name, roles=frozenset({Role.REGISTRAR}))

    def has(self, role: Role) -> bool:
        return role in self.roles

    def require(self, *roles: Role) -> None:
        """Refuse unless the caller holds at least one of ``roles``."""
        if not self.roles.intersection(roles):
            names = ", ".join(r.value for r in roles)
            raise PermissionDenied(f"this action needs the role: {names}")
