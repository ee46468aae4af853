"""Electronic union cards (version 1): a membership credential that fits a QR code.

The organisation's registry key signs a short payload naming the member, the card
number and the validity; the member shows it as a QR code or pastes it as text,
and anyone holding the organisation's public registry key checks it offline.

Payload (RFC 8785 canonical, integers only; short names keep the QR code small)::

    {"type": "kvorum.union-card", "v": 1,
     "serial": <card serial>, "org": <organisation id>,
     "org_name": "<organisation short name>", "card": "<card number>",
     "name": "<member's full name>", "joined": "YYYY-MM-DD" (absent if unknown),
     "iat": "YYYY-MM-DDTHH:MM:SSZ", "exp": "YYYY-MM-DDTHH:MM:SSZ",
     "key": <serial of the holder's key certificate> (absent if not bound),
     "issuer": "<registry key id>"}

Compact text form::

    KVC1.<base64url(canonical payload bytes)>.<base64url(64-byte Ed25519 signature)>

base64url is unpadded and strict; the payload bytes must already be canonical, so
a card has exactly one text form and cannot be re-encoded into another one that
verifies. Whitespace around the whole text (a trailing newline from a paste) is
ignored; whitespace inside is not. The signer is the payload's ``issuer``; there
is no separate signer field.

Card serials and key-certificate serials are looked up in the same revocation list
(:mod:`crypto.revocation`), so an organisation draws both from one sequence.

Not guaranteed: that the person presenting the card is the member named on it. A
card bound to a device key (``key``) proves that only together with a fresh
signature by that key, which is the caller's protocol, not this module's. Cards
are readable by anyone who sees the QR code: the payload is signed, not encrypted.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple, Self

from crypto._fields import (
    check_fields,
    check_header,
    check_int,
    check_now,
    check_signing_key,
    check_text,
    check_validity,
    malformed,
    read_date,
    read_instant,
)
from crypto.canonical import CanonicalJSONError, canonicalize_signed, parse_canonical_signed
from crypto.ed25519 import SIGNATURE_SIZE, PublicKey, SigningKey, check_key_id
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import trusted_key
from crypto.errors import CredentialError
from crypto.instant import format_date, format_instant
from crypto.revocation import RevocationList, check_organisation

__all__ = [
    "CARD_PREFIX",
    "CARD_TYPE",
    "CARD_VERSION",
    "MAX_CARD_NUMBER_LENGTH",
    "MAX_CARD_TEXT_LENGTH",
    "MAX_FULL_NAME_LENGTH",
    "MAX_ORGANISATION_LENGTH",
    "DecodedCard",
    "UnionCard",
    "decode_card",
    "encode_card",
    "verify_card",
]

CARD_TYPE = "kvorum.union-card"
CARD_VERSION = 1
#: Text-form prefix; the digit is the version of the compact encoding.
CARD_PREFIX = "KVC1."
#: Longer texts are refused before decoding (a QR code holds < 3000 bytes).
MAX_CARD_TEXT_LENGTH = 4096

MAX_ORGANISATION_LENGTH = 100
MAX_CARD_NUMBER_LENGTH = 32
MAX_FULL_NAME_LENGTH = 200

_WHAT = "union card"
_REQUIRED = ("type", "v", "serial", "org", "org_name", "card", "name", "iat", "exp", "issuer")
_OPTIONAL = ("joined", "key")


@dataclass(frozen=True)
class UnionCard:
    """An electronic union card, as signed by the organisation's registry key."""

    serial: int
    organisation_id: int
    organisation: str
    card_number: str
    full_name: str
    joined_on: dt.date | None
    issued_at: dt.datetime
    expires_at: dt.datetime
    key_serial: int | None
    issuer: str

    def __post_init__(self) -> None:
        check_int(self.serial, "serial", _WHAT)
        check_int(self.organisation_id, "organisation_id", _WHAT)
        check_text(self.organisation, "organisation", _WHAT, max_length=MAX_ORGANISATION_LENGTH)
        check_text(self.card_number, "card_number", _WHAT, max_length=MAX_CARD_NUMBER_LENGTH)
        check_text(self.full_name, "full_name", _WHAT, max_length=MAX_FULL_NAME_LENGTH)
        if self.joined_on is not None and (
            not isinstance(self.joined_on, dt.date) or isinstance(self.joined_on, dt.datetime)
        ):
            raise malformed(
                _WHAT, f"joined_on must be a date or None, got {type(self.joined_on).__name__}"
            )
        check_validity(self.issued_at, self.expires_at, _WHAT)
        if self.key_serial is not None:
            check_int(self.key_serial, "key_serial", _WHAT)
        try:
            check_key_id(self.issuer, "issuer")
        except CredentialError as exc:
            raise malformed(_WHAT, str(exc)) from exc

    def to_payload(self) -> dict[str, object]:
        """The signed payload (see the module docstring)."""
        payload: dict[str, object] = {
            "type": CARD_TYPE,
            "v": CARD_VERSION,
            "serial": self.serial,
            "org": self.organisation_id,
            "org_name": self.organisation,
            "card": self.card_number,
            "name": self.full_name,
            "iat": format_instant(self.issued_at),
            "exp": format_instant(self.expires_at),
            "issuer": self.issuer,
        }
        if self.joined_on is not None:
            payload["joined"] = format_date(self.joined_on)
        if self.key_serial is not None:
            payload["key"] = self.key_serial
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        """Read a payload; raises ``CredentialError`` (``malformed``, ``wrong_type``,
        ``unsupported_version``)."""
        if not isinstance(payload, Mapping):
            raise malformed(_WHAT, f"expected a JSON object, got {type(payload).__name__}")
        check_header(payload, _WHAT, CARD_TYPE, CARD_VERSION)
        check_fields(payload, _WHAT, required=_REQUIRED, optional=_OPTIONAL)
        issuer = payload["issuer"]
        if not isinstance(issuer, str):
            raise malformed(_WHAT, f"issuer must be a string, got {type(issuer).__name__}")
        return cls(
            serial=check_int(payload["serial"], "serial", _WHAT),
            organisation_id=check_int(payload["org"], "org", _WHAT),
            organisation=check_text(
                payload["org_name"], "org_name", _WHAT, max_length=MAX_ORGANISATION_LENGTH
            ),
            card_number=check_text(
                payload["card"], "card", _WHAT, max_length=MAX_CARD_NUMBER_LENGTH
            ),
            full_name=check_text(payload["name"], "name", _WHAT, max_length=MAX_FULL_NAME_LENGTH),
            joined_on=read_date(payload, "joined", _WHAT) if "joined" in payload else None,
            issued_at=read_instant(payload, "iat", _WHAT),
            expires_at=read_instant(payload, "exp", _WHAT),
            key_serial=check_int(payload["key"], "key", _WHAT) if "key" in payload else None,
            issuer=issuer,
        )


class DecodedCard(NamedTuple):
    """What :func:`decode_card` read from a card text (signature not yet checked)."""

    card: UnionCard
    signer: str
    signature: bytes
    canonical: bytes


def encode_card(card: UnionCard, key: SigningKey) -> str:
    """Sign a card with the registry key and return its compact text form.

    ``key`` must be the key named by ``card.issuer``
    (``CredentialError("issuer_mismatch")`` otherwise).
    """
    check_signing_key(_WHAT, card.issuer, key.public_key.key_id)
    canonical = canonicalize_signed(card.to_payload())
    return f"{CARD_PREFIX}{b64u_encode(canonical)}.{b64u_encode(key.sign(canonical))}"


def decode_card(text: str) -> DecodedCard:
    """Read a card text strictly, *without* checking its signature.

    Raises :class:`~crypto.errors.CredentialError` with reason ``malformed``,
    ``wrong_type`` or ``unsupported_version``. Use :func:`verify_card` to accept
    a card.
    """
    payload, canonical, signature = _split(text)
    card = UnionCard.from_payload(payload)
    return DecodedCard(card, card.issuer, signature, canonical)


def _split(text: str) -> tuple[Mapping[str, object], bytes, bytes]:
    """The payload (parsed, canonical checked), its bytes and the signature."""
    if not isinstance(text, str):
        raise malformed(_WHAT, f"expected text, got {type(text).__name__}")
    text = text.strip(string.whitespace)
    if len(text) > MAX_CARD_TEXT_LENGTH:
        raise malformed(
            _WHAT, f"text is {len(text)} characters long, at most {MAX_CARD_TEXT_LENGTH}"
        )
    if not text.startswith(CARD_PREFIX):
        raise malformed(_WHAT, f"text does not start with {CARD_PREFIX!r}")
    parts = text[len(CARD_PREFIX) :].split(".")
    if len(parts) != 2:
        raise malformed(
            _WHAT,
            f"text must be {CARD_PREFIX!r} followed by two base64url parts separated by "
            f"'.', found {len(parts)} part(s)",
        )
    try:
        canonical = b64u_decode(parts[0])
    except CredentialError as exc:
        raise malformed(_WHAT, f"payload part: {exc}") from exc
    try:
        signature = b64u_decode(parts[1], length=SIGNATURE_SIZE)
    except CredentialError as exc:
        raise malformed(_WHAT, f"signature part: {exc}") from exc
    try:
        payload = parse_canonical_signed(canonical)
    except CanonicalJSONError as exc:
        raise malformed(_WHAT, f"payload: {exc}") from exc
    if not isinstance(payload, Mapping):
        raise malformed(_WHAT, f"payload must be a JSON object, got {type(payload).__name__}")
    return payload, canonical, signature


def verify_card(
    text: str,
    keys: Mapping[str, PublicKey],
    *,
    now: dt.datetime,
    revocations: RevocationList | None,
) -> UnionCard:
    """Check a card text at ``now`` and return the card.

    ``keys`` maps key ids to the trusted registry keys; ``now`` is an aware
    datetime; ``revocations`` is the organisation's *verified* revocation list, or
    ``None`` to skip the revocation check deliberately (a list of another
    organisation is a ``ValueError``).

    Raises :class:`~crypto.errors.CredentialError`, checking in this order:
    ``malformed`` (the text), ``unknown_signer``, ``bad_signature``, then, on the
    authenticated payload only, ``wrong_type``, ``unsupported_version``,
    ``malformed`` (the fields), ``not_yet_valid``, ``expired``, ``revoked`` (the
    card's serial is listed), ``key_revoked`` (the bound key certificate's serial
    is).
    """
    check_now(now)
    payload, canonical, signature = _split(text)
    # Only the issuer is read before the signature is checked: nothing else of
    # an unauthenticated payload is interpreted.
    issuer = payload.get("issuer")
    try:
        check_key_id(issuer, "issuer")
    except CredentialError as exc:
        raise malformed(_WHAT, str(exc)) from exc
    assert isinstance(issuer, str)
    trusted_key(keys, issuer).verify(canonical, signature)
    card = UnionCard.from_payload(payload)
    if now < card.issued_at:
        raise CredentialError(
            "not_yet_valid",
            f"{_WHAT} {card.card_number} (serial {card.serial}) is valid from "
            f"{format_instant(card.issued_at)}",
        )
    if now >= card.expires_at:
        raise CredentialError(
            "expired",
            f"{_WHAT} {card.card_number} (serial {card.serial}) expired at "
            f"{format_instant(card.expires_at)}",
        )
    if revocations is not None:
        check_organisation(revocations, card.organisation_id, _WHAT)
        entry = revocations.is_revoked(card.serial)
        if entry is not None:
            raise CredentialError(
                "revoked",
                f"{_WHAT} {card.card_number} (serial {card.serial}) was revoked at "
                f"{format_instant(entry.revoked_at)} ({entry.reason}; revocation list "
                f"number {revocations.number})",
            )
        if card.key_serial is not None:
            entry = revocations.is_revoked(card.key_serial)
            if entry is not None:
                raise CredentialError(
                    "key_revoked",
                    f"{_WHAT} {card.card_number} is bound to key certificate "
                    f"{card.key_serial}, which was revoked at "
                    f"{format_instant(entry.revoked_at)} ({entry.reason}; revocation list "
                    f"number {revocations.number})",
                )
    return card
