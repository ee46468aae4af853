"""Key certificates (version 1): the registry vouches that a key is a member's.

An organisation's registry key signs, for one member, the public key that member
generated on their device. Ballots and signatures are accepted from that key
between ``issued_at`` (inclusive) and ``expires_at`` (exclusive), unless the serial
is on the organisation's revocation list.

Payload (signed in a :class:`~crypto.envelope.SignedDocument`)::

    {"type": "kvorum.key-certificate", "v": 1,
     "serial": <int > 0>, "member": <member id>, "org": <organisation id>,
     "org_name": "<organisation name>",
     "public_key": "<unpadded base64url of the 32-byte Ed25519 key>",
     "issued_at": "YYYY-MM-DDTHH:MM:SSZ", "expires_at": "YYYY-MM-DDTHH:MM:SSZ",
     "issuer": "<registry key id>"}

All integers are within 1..2**53-1. Unknown fields are rejected: a field this
version does not know could change what the certificate means.

Not guaranteed: that the member controls the private key (proof of possession is
checked by the registry when it issues, not here), nor that the revocation list a
caller passes is the newest one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from crypto._fields import (
    check_fields,
    check_header,
    check_int,
    check_now,
    check_signing_key,
    check_text,
    check_validity,
    malformed,
    read,
    read_instant,
)
from crypto.ed25519 import PublicKey, SigningKey, check_key_id
from crypto.envelope import SignedDocument, sign_document, verify_document
from crypto.errors import CredentialError
from crypto.instant import format_instant
from crypto.revocation import RevocationList, check_organisation

__all__ = [
    "CERTIFICATE_TYPE",
    "CERTIFICATE_VERSION",
    "MAX_ORGANISATION_NAME_LENGTH",
    "KeyCertificate",
    "issue_certificate",
    "verify_certificate",
]

CERTIFICATE_TYPE = "kvorum.key-certificate"
CERTIFICATE_VERSION = 1
MAX_ORGANISATION_NAME_LENGTH = 300

_WHAT = "key certificate"
_FIELDS = (
    "type",
    "v",
    "serial",
    "member",
    "org",
    "org_name",
    "public_key",
    "issued_at",
    "expires_at",
    "issuer",
)


@dataclass(frozen=True)
class KeyCertificate:
    """A member's Ed25519 public key, certified by the organisation's registry key."""

    serial: int
    member_id: int
    organisation_id: int
    organisation: str
    public_key: PublicKey
    issued_at: dt.datetime
    expires_at: dt.datetime
    issuer: str

    def __post_init__(self) -> None:
        check_int(self.serial, "serial", _WHAT)
        check_int(self.member_id, "member_id", _WHAT)
        check_int(self.organisation_id, "organisation_id", _WHAT)
        check_text(
            self.organisation, "organisation", _WHAT, max_length=MAX_ORGANISATION_NAME_LENGTH
        )
        if not isinstance(self.public_key, PublicKey):
            raise malformed(
                _WHAT, f"public_key must be a PublicKey, got {type(self.public_key).__name__}"
            )
        check_validity(self.issued_at, self.expires_at, _WHAT)
        try:
            check_key_id(self.issuer, "issuer")
        except CredentialError as exc:
            raise malformed(_WHAT, str(exc)) from exc

    def to_payload(self) -> dict[str, object]:
        """The signed payload (see the module docstring)."""
        return {
            "type": CERTIFICATE_TYPE,
            "v": CERTIFICATE_VERSION,
            "serial": self.serial,
            "member": self.member_id,
            "org": self.organisation_id,
            "org_name": self.organisation,
            "public_key": self.public_key.b64u,
            "issued_at": format_instant(self.issued_at),
            "expires_at": format_instant(self.expires_at),
            "issuer": self.issuer,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        """Read a payload; raises ``CredentialError`` (``malformed``, ``wrong_type``,
        ``unsupported_version``)."""
        if not isinstance(payload, Mapping):
            raise malformed(_WHAT, f"expected a JSON object, got {type(payload).__name__}")
        check_header(payload, _WHAT, CERTIFICATE_TYPE, CERTIFICATE_VERSION)
        check_fields(payload, _WHAT, required=_FIELDS)
        issuer = payload["issuer"]
        if not isinstance(issuer, str):
            raise malformed(_WHAT, f"issuer must be a string, got {type(issuer).__name__}")
        return cls(
            serial=check_int(payload["serial"], "serial", _WHAT),
            member_id=check_int(payload["member"], "member", _WHAT),
            organisation_id=check_int(payload["org"], "org", _WHAT),
            organisation=check_text(
                payload["org_name"], "org_name", _WHAT, max_length=MAX_ORGANISATION_NAME_LENGTH
            ),
            public_key=read(payload, "public_key", _WHAT, PublicKey.from_b64u),
            issued_at=read_instant(payload, "issued_at", _WHAT),
            expires_at=read_instant(payload, "expires_at", _WHAT),
            issuer=issuer,
        )


def issue_certificate(certificate: KeyCertificate, registry_key: SigningKey) -> SignedDocument:
    """Sign a certificate with the organisation's registry key.

    ``registry_key`` must be the key named by ``certificate.issuer``
    (``CredentialError("issuer_mismatch")`` otherwise).
    """
    check_signing_key(_WHAT, certificate.issuer, registry_key.public_key.key_id)
    return sign_document(certificate.to_payload(), registry_key)


def verify_certificate(
    document: SignedDocument | bytes | Mapping[str, object],
    keys: Mapping[str, PublicKey],
    *,
    now: dt.datetime,
    revocations: RevocationList | None,
) -> KeyCertificate:
    """Check a signed key certificate at ``now`` and return it.

    ``document`` is the envelope (parsed, as JSON bytes, or as a JSON object);
    ``keys`` maps key ids to the trusted registry keys; ``now`` is an aware
    datetime; ``revocations`` is the organisation's *verified* revocation list, or
    ``None`` to skip the revocation check deliberately (a list of another
    organisation is a ``ValueError``).

    Raises :class:`~crypto.errors.CredentialError`, checking in this order:
    ``malformed``, ``wrong_type``, ``unsupported_version``, ``unknown_signer``,
    ``bad_signature``, then (fields) ``malformed``, ``issuer_mismatch``,
    ``not_yet_valid``, ``expired``, ``revoked``.
    """
    check_now(now)
    signed = verify_document(
        document, keys, expect_type=CERTIFICATE_TYPE, expect_version=CERTIFICATE_VERSION
    )
    certificate = KeyCertificate.from_payload(signed.payload)
    if certificate.issuer != signed.signer:
        raise CredentialError(
            "issuer_mismatch",
            f"{_WHAT} {certificate.serial} names issuer {certificate.issuer} "
            f"but is signed by {signed.signer}",
        )
    if now < certificate.issued_at:
        raise CredentialError(
            "not_yet_valid",
            f"{_WHAT} {certificate.serial} is valid from {format_instant(certificate.issued_at)}",
        )
    if now >= certificate.expires_at:
        raise CredentialError(
            "expired",
            f"{_WHAT} {certificate.serial} expired at {format_instant(certificate.expires_at)}",
        )
    if revocations is not None:
        check_organisation(revocations, certificate.organisation_id, _WHAT)
        entry = revocations.is_revoked(certificate.serial)
        if entry is not None:
            raise CredentialError(
                "revoked",
                f"{_WHAT} {certificate.serial} was revoked at "
                f"{format_instant(entry.revoked_at)} ({entry.reason}; revocation list "
                f"number {revocations.number})",
            )
    return certificate
