"""Revocation lists (version 1): the serials an organisation has withdrawn.

An organisation's registry key signs a numbered list of revoked serials. Serials
of key certificates (:mod:`crypto.certificate`) and of union cards
(:mod:`crypto.card`) are looked up in the *same* list, so an organisation must draw
both from one sequence: a serial names exactly one credential.

Payload (signed in a :class:`~crypto.envelope.SignedDocument`)::

    {"type": "kvorum.revocation-list", "v": 1,
     "org": <organisation id>, "number": <list number, increasing>,
     "issued_at": "YYYY-MM-DDTHH:MM:SSZ", "issuer": "<registry key id>",
     "entries": [{"serial": <int>, "revoked_at": "YYYY-MM-DDTHH:MM:SSZ",
                  "reason": "<text>"}, ...]}

``entries`` are sorted by serial, without duplicates; no entry is dated after the
list. Unknown fields are rejected.

Not guaranteed: freshness. A verifier given an old list will accept credentials
revoked since; it is the caller's job to fetch the newest list and to refuse one
whose ``number`` is lower than a list it has already seen. A listed serial is
treated as revoked whatever its ``revoked_at``; judging past use (say, a ballot
cast before the revocation) against a later list is the caller's policy.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from crypto._fields import (
    check_fields,
    check_header,
    check_instant_field,
    check_int,
    check_now,
    check_signing_key,
    check_text,
    malformed,
    read_instant,
)
from crypto.ed25519 import PublicKey, SigningKey, check_key_id
from crypto.envelope import SignedDocument, sign_document, verify_document
from crypto.errors import CredentialError
from crypto.instant import format_instant

__all__ = [
    "MAX_REASON_LENGTH",
    "REVOCATION_LIST_TYPE",
    "REVOCATION_LIST_VERSION",
    "Revocation",
    "RevocationList",
    "check_organisation",
    "issue_revocation_list",
    "verify_revocation_list",
]

REVOCATION_LIST_TYPE = "kvorum.revocation-list"
REVOCATION_LIST_VERSION = 1

_WHAT = "revocation list"
_ENTRY = "revocation entry"
_FIELDS = ("type", "v", "org", "number", "issued_at", "issuer", "entries")
_ENTRY_FIELDS = ("serial", "revoked_at", "reason")
MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class Revocation:
    """One withdrawn serial: when and why."""

    serial: int
    revoked_at: dt.datetime
    reason: str

    def __post_init__(self) -> None:
        check_int(self.serial, "serial", _ENTRY)
        check_instant_field(self.revoked_at, "revoked_at", _ENTRY)
        check_text(self.reason, "reason", _ENTRY, max_length=MAX_REASON_LENGTH)

    def to_payload(self) -> dict[str, object]:
        """The entry as it appears in the list's ``entries``."""
        return {
            "serial": self.serial,
            "revoked_at": format_instant(self.revoked_at),
            "reason": self.reason,
        }

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Read one entry; raises ``CredentialError("malformed")``."""
        if not isinstance(payload, Mapping):
            raise malformed(_ENTRY, f"expected a JSON object, got {type(payload).__name__}")
        check_fields(payload, _ENTRY, required=_ENTRY_FIELDS)
        return cls(
            serial=check_int(payload["serial"], "serial", _ENTRY),
            revoked_at=read_instant(payload, "revoked_at", _ENTRY),
            reason=check_text(payload["reason"], "reason", _ENTRY, max_length=MAX_REASON_LENGTH),
        )


@dataclass(frozen=True)
class RevocationList:
    """An organisation's signed list of revoked serials, numbered increasingly."""

    organisation_id: int
    number: int
    issued_at: dt.datetime
    issuer: str
    entries: tuple[Revocation, ...] = ()

    def __post_init__(self) -> None:
        check_int(self.organisation_id, "organisation_id", _WHAT)
        check_int(self.number, "number", _WHAT)
        check_instant_field(self.issued_at, "issued_at", _WHAT)
        try:
            check_key_id(self.issuer, "issuer")
        except CredentialError as exc:
            raise malformed(_WHAT, str(exc)) from exc
        if not isinstance(self.entries, tuple):
            raise malformed(_WHAT, f"entries must be a tuple, got {type(self.entries).__name__}")
        previous: Revocation | None = None
        for entry in self.entries:
            if not isinstance(entry, Revocation):
                raise malformed(_WHAT, f"entries must be Revocation, got {type(entry).__name__}")
            if previous is not None and entry.serial <= previous.serial:
                if entry.serial == previous.serial:
                    raise malformed(_WHAT, f"serial {entry.serial} is listed twice")
                raise malformed(
                    _WHAT,
                    f"entries must be sorted by serial: {entry.serial} follows {previous.serial}",
                )
            if entry.revoked_at > self.issued_at:
                raise malformed(
                    _WHAT,
                    f"serial {entry.serial} is revoked at {format_instant(entry.revoked_at)}, "
                    f"after the list was issued ({format_instant(self.issued_at)})",
                )
            previous = entry

    def is_revoked(self, serial: int) -> Revocation | None:
        """The entry revoking ``serial``, or ``None`` if it is not listed."""
        index = bisect.bisect_left(self.entries, serial, key=lambda entry: entry.serial)
        if index < len(self.entries) and self.entries[index].serial == serial:
            return self.entries[index]
        return None

    def to_payload(self) -> dict[str, object]:
        """The signed payload (see the module docstring)."""
        return {
            "type": REVOCATION_LIST_TYPE,
            "v": REVOCATION_LIST_VERSION,
            "org": self.organisation_id,
            "number": self.number,
            "issued_at": format_instant(self.issued_at),
            "issuer": self.issuer,
            "entries": [entry.to_payload() for entry in self.entries],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        """Read a payload; raises ``CredentialError`` (``malformed``, ``wrong_type``,
        ``unsupported_version``)."""
        check_header(payload, _WHAT, REVOCATION_LIST_TYPE, REVOCATION_LIST_VERSION)
        check_fields(payload, _WHAT, required=_FIELDS)
        entries = payload["entries"]
        if not isinstance(entries, list | tuple):
            raise malformed(_WHAT, f"entries must be an array, got {type(entries).__name__}")
        return cls(
            organisation_id=check_int(payload["org"], "org", _WHAT),
            number=check_int(payload["number"], "number", _WHAT),
            issued_at=read_instant(payload, "issued_at", _WHAT),
            issuer=_issuer(payload["issuer"]),
            entries=tuple(Revocation.from_payload(entry) for entry in entries),
        )


def issue_revocation_list(revocations: RevocationList, registry_key: SigningKey) -> SignedDocument:
    """Sign a revocation list with the organisation's registry key.

    ``registry_key`` must be the key named by ``revocations.issuer``
    (``CredentialError("issuer_mismatch")`` otherwise).
    """
    check_signing_key(_WHAT, revocations.issuer, registry_key.public_key.key_id)
    return sign_document(revocations.to_payload(), registry_key)


def verify_revocation_list(
    document: SignedDocument | bytes | Mapping[str, object],
    keys: Mapping[str, PublicKey],
    *,
    now: dt.datetime,
) -> RevocationList:
    """Check a signed revocation list and return it.

    ``keys`` maps key ids to the trusted registry keys; ``now`` is an aware
    datetime. Raises :class:`~crypto.errors.CredentialError` with reason
    ``malformed``, ``wrong_type``, ``unsupported_version``, ``unknown_signer``,
    ``bad_signature``, ``issuer_mismatch`` or ``not_yet_valid`` (issued after
    ``now``).
    """
    check_now(now)
    signed = verify_document(
        document, keys, expect_type=REVOCATION_LIST_TYPE, expect_version=REVOCATION_LIST_VERSION
    )
    revocations = RevocationList.from_payload(signed.payload)
    if revocations.issuer != signed.signer:
        raise CredentialError(
            "issuer_mismatch",
            f"{_WHAT} names issuer {revocations.issuer} but is signed by {signed.signer}",
        )
    if now < revocations.issued_at:
        raise CredentialError(
            "not_yet_valid",
            f"{_WHAT} number {revocations.number} is issued at "
            f"{format_instant(revocations.issued_at)}, after now",
        )
    return revocations


def check_organisation(revocations: RevocationList, organisation_id: int, what: str) -> None:
    """Refuse to check a credential against another organisation's list (a bug)."""
    if revocations.organisation_id != organisation_id:
        raise ValueError(
            f"the revocation list is of organisation {revocations.organisation_id}, "
            f"the {what} of organisation {organisation_id}"
        )


def _issuer(value: object) -> str:
    try:
        return check_key_id(value, "issuer")
    except CredentialError as exc:
        raise malformed(_WHAT, str(exc)) from exc
