"""Signed documents: a JSON payload, the id of the key that signed it, the signature.

Wire format (a JSON object; version 1 of the envelope has no version field of its
own, the payload carries ``v``)::

    {"payload": {"type": "kvorum.…", "v": 1, …},
     "signer": "<key id: 32 lowercase hex digits>",
     "signature": "<unpadded base64url of the 64-byte Ed25519 signature>"}

The signature is Ed25519 over ``canonicalize_signed(payload)``: RFC 8785 canonical
UTF-8 with integers only and ASCII member names. The envelope itself need not
arrive canonical (a browser may send it with ``JSON.stringify``); only the payload's
canonical bytes are signed, so two spellings of one payload have one signature.

The payload's ``type`` is inside the signed bytes. That is the domain separation
between document kinds: a signature over a key certificate can never be passed off
as a signature over a revocation list or a ballot, because their ``type`` differ.
Every Kvorum signature by a given key must therefore be over a typed payload.

Not guaranteed: :meth:`SignedDocument.verify` proves only who signed which bytes.
Validity periods, revocation and the meaning of the fields are checked by the
modules of the document kinds (:mod:`crypto.certificate`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Self

from crypto.canonical import CanonicalJSONError, canonicalize, canonicalize_signed, parse_json
from crypto.ed25519 import SIGNATURE_SIZE, PublicKey, SigningKey, check_key_id
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CredentialError

__all__ = ["SignedDocument", "sign_document", "trusted_key", "verify_document"]


def _malformed(message: str) -> CredentialError:
    return CredentialError("malformed", f"signed document: {message}")


@dataclass(frozen=True)
class SignedDocument:
    """A payload with its detached Ed25519 signature and the signer's key id.

    ``payload`` is stored as a deep read-only copy (mappings become
    :class:`~types.MappingProxyType`, arrays tuples), so a document cannot change
    after it was checked. :attr:`canonical` holds the signed bytes.
    """

    payload: Mapping[str, object] = field(hash=False)
    signer: str
    signature: bytes
    canonical: bytes = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.payload, Mapping):
            raise _malformed(f"payload must be a JSON object, got {type(self.payload).__name__}")
        try:
            canonical = canonicalize_signed(self.payload)
        except CanonicalJSONError as exc:
            raise _malformed(f"payload: {exc}") from exc
        frozen = _freeze(parse_json(canonical))
        assert isinstance(frozen, Mapping)
        _check_type_and_version(frozen)
        try:
            check_key_id(self.signer, "signer")
        except CredentialError as exc:
            raise _malformed(str(exc)) from exc
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_SIZE:
            size = (
                len(self.signature)
                if isinstance(self.signature, bytes)
                else type(self.signature).__name__
            )
            raise _malformed(f"signature must be {SIGNATURE_SIZE} bytes, got {size}")
        object.__setattr__(self, "payload", frozen)
        object.__setattr__(self, "canonical", canonical)

    @property
    def type(self) -> str:
        """The payload's ``type``."""
        value = self.payload["type"]
        assert isinstance(value, str)
        return value

    @property
    def version(self) -> int:
        """The payload's ``v``."""
        value = self.payload["v"]
        assert isinstance(value, int)
        return value

    @classmethod
    def parse(cls, data: bytes | Mapping[str, object]) -> Self:
        """Read an envelope from JSON bytes or from an already parsed JSON object.

        Raises :class:`~crypto.errors.CredentialError` with reason ``malformed``.
        The signature is *not* checked here; call :meth:`verify`.
        """
        if isinstance(data, bytes | bytearray | memoryview):
            try:
                parsed = parse_json(bytes(data))
            except CanonicalJSONError as exc:
                raise _malformed(str(exc)) from exc
        else:
            parsed = data
        if not isinstance(parsed, Mapping):
            raise _malformed(f"expected a JSON object, got {type(parsed).__name__}")
        for name in ("payload", "signer", "signature"):
            if name not in parsed:
                raise _malformed(f"missing field {name!r}")
        unknown = sorted(str(name) for name in parsed if name not in _ENVELOPE_FIELDS)
        if unknown:
            raise _malformed(f"unknown field {unknown[0]!r}")
        signature = parsed["signature"]
        if not isinstance(signature, str):
            raise _malformed(f"signature must be a string, got {type(signature).__name__}")
        try:
            raw_signature = b64u_decode(signature, length=SIGNATURE_SIZE)
        except CredentialError as exc:
            raise _malformed(f"signature: {exc}") from exc
        payload = parsed["payload"]
        if not isinstance(payload, Mapping):
            raise _malformed(f"payload must be a JSON object, got {type(payload).__name__}")
        signer = parsed["signer"]
        if not isinstance(signer, str):
            raise _malformed(f"signer must be a string, got {type(signer).__name__}")
        return cls(payload, signer, raw_signature)

    def to_json(self) -> dict[str, object]:
        """The envelope as a plain JSON object (fresh, mutable dicts and lists)."""
        return {
            "payload": _thaw(self.payload),
            "signer": self.signer,
            "signature": b64u_encode(self.signature),
        }

    def __bytes__(self) -> bytes:
        """The envelope as canonical JSON bytes."""
        return canonicalize(self.to_json())

    def verify(
        self,
        keys: Mapping[str, PublicKey],
        *,
        expect_type: str | None = None,
        expect_version: int | None = None,
    ) -> None:
        """Check the type, the version, that the signer is trusted and the signature.

        ``keys`` maps key ids to trusted public keys. Raises
        :class:`~crypto.errors.CredentialError` with reason ``wrong_type``,
        ``unsupported_version``, ``unknown_signer`` or ``bad_signature``, in that
        order of checking.
        """
        if expect_type is not None and self.type != expect_type:
            raise CredentialError(
                "wrong_type",
                f"signed document is of type {self.type!r}, expected {expect_type!r}",
            )
        if expect_version is not None and self.version != expect_version:
            raise CredentialError(
                "unsupported_version",
                f"{self.type} version {self.version} is not supported "
                f"(this software reads version {expect_version})",
            )
        trusted_key(keys, self.signer).verify(self.canonical, self.signature)


def sign_document(payload: Mapping[str, object], key: SigningKey) -> SignedDocument:
    """Sign ``canonicalize_signed(payload)`` with ``key``.

    ``payload`` must hold ``"type"`` (a non-empty string) and ``"v"`` (a positive
    integer). Raises :class:`~crypto.canonical.CanonicalJSONError` if it is not a
    valid signed payload.
    """
    canonical = canonicalize_signed(payload)
    _check_type_and_version(payload)
    return SignedDocument(payload, key.public_key.key_id, key.sign(canonical))


def trusted_key(keys: Mapping[str, PublicKey], key_id: str) -> PublicKey:
    """Look up a trusted key by id; ``CredentialError("unknown_signer")`` if absent.

    A mapping that files a key under another key's id is a programming error
    (``ValueError``), never a reason to accept a signature.
    """
    key = keys.get(key_id)
    if key is None:
        raise CredentialError(
            "unknown_signer", f"key {key_id} is not among the trusted keys ({len(keys)} known)"
        )
    if key.key_id != key_id:
        raise ValueError(f"trusted keys map id {key_id} to a key whose id is {key.key_id}")
    return key


_ENVELOPE_FIELDS = frozenset({"payload", "signer", "signature"})


def _check_type_and_version(payload: Mapping[str, object]) -> None:
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        raise _malformed(f"payload 'type' must be a non-empty string, got {kind!r:.60}")
    version = payload.get("v")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _malformed(f"payload 'v' must be a positive integer, got {version!r:.60}")


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: object) -> object:
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def verify_document(
    data: SignedDocument | bytes | Mapping[str, object],
    keys: Mapping[str, PublicKey],
    *,
    expect_type: str,
    expect_version: int,
) -> SignedDocument:
    """Parse (unless already parsed) and :meth:`~SignedDocument.verify` a document.

    Reasons: ``malformed``, ``wrong_type``, ``unsupported_version``,
    ``unknown_signer``, ``bad_signature``.
    """
    document = data if isinstance(data, SignedDocument) else SignedDocument.parse(data)
    document.verify(keys, expect_type=expect_type, expect_version=expect_version)
    return document
