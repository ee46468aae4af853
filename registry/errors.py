"""Domain errors shared by every domain package.

Each error carries a stable machine-readable ``code``, a human-readable ``detail``
(English, for the API and the logs), optional per-field reasons, and what a page needs
to say the same in the user's language: a catalogue ``key`` (the code unless given: a
refusal may say more than its API code, which stays stable) and its ``params``. The
edge looks up ``error.<key>`` in its catalogues and fills it with ``params``.
The HTTP layer maps the error *class* to a status code in one middleware; domain code
never thinks about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "Conflict",
    "DomainError",
    "InvalidInput",
    "NotAuthenticated",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
]


class DomainError(Exception):
    """Base class of every error a domain service raises on purpose."""

    code: str = "domain_error"

    def __init__(
        self,
        detail: str,
        *,
        fields: Mapping[str, str] | None = None,
        code: str | None = None,
        params: Mapping[str, str | int] | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields: dict[str, str] = dict(fields or {})
        self.params: dict[str, str | int] = dict(params or {})
        self._key = key
        if code is not None:
            self.code = code

    @property
    def key(self) -> str:
        """The catalogue key of what a person is told: ``error.<key>``."""
        return self._key or self.code


class InvalidInput(DomainError):
    """The request is well formed but its content breaks a rule."""

    code = "invalid_input"


class NotFound(DomainError):
    """The object asked for does not exist (or the caller may not know it does)."""

    code = "not_found"


class Conflict(DomainError):
    """The change would break a uniqueness or state rule."""

    code = "conflict"


class PermissionDenied(DomainError):
    """The caller is known but their roles do not allow this action."""

    code = "forbidden"


class NotAuthenticated(DomainError):
    """No valid session accompanies the request."""

    code = "not_authenticated"


class RateLimited(DomainError):
    """Too many attempts; the caller may try again after ``retry_after`` seconds."""

    code = "too_many_requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)
