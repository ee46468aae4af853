"""Pure cryptographic primitives: standard library and PyNaCl only.

Nothing here may touch a clock, a network, a database or a web framework; the
auditor's offline verifier depends on this package alone.
"""

from crypto.canonical import (
    CanonicalJSONError,
    canonicalize,
    canonicalize_signed,
    parse_canonical,
    parse_canonical_signed,
    parse_json,
)
from crypto.card import DecodedCard, UnionCard, decode_card, encode_card, verify_card
from crypto.certificate import KeyCertificate, issue_certificate, verify_certificate
from crypto.ed25519 import PublicKey, SigningKey
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import SignedDocument, sign_document, verify_document
from crypto.errors import CredentialError
from crypto.hashing import content_address, parse_content_address, sha256
from crypto.instant import format_date, format_instant, parse_date, parse_instant
from crypto.revocation import (
    Revocation,
    RevocationList,
    issue_revocation_list,
    verify_revocation_list,
)

__all__ = [
    "CanonicalJSONError",
    "CredentialError",
    "DecodedCard",
    "KeyCertificate",
    "PublicKey",
    "Revocation",
    "RevocationList",
    "SignedDocument",
    "SigningKey",
    "UnionCard",
    "b64u_decode",
    "b64u_encode",
    "canonicalize",
    "canonicalize_signed",
    "content_address",
    "decode_card",
    "encode_card",
    "format_date",
    "format_instant",
    "issue_certificate",
    "issue_revocation_list",
    "parse_canonical",
    "parse_canonical_signed",
    "parse_content_address",
    "parse_date",
    "parse_instant",
    "parse_json",
    "sha256",
    "sign_document",
    "verify_card",
    "verify_certificate",
    "verify_document",
    "verify_revocation_list",
]
