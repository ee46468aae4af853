"""Fixed keys and credentials for the crypto tests, and the stored sample files.

Everything derives from fixed seeds, and Ed25519 is deterministic, so the files in
``tests/crypto/data/`` are reproducible: ``.venv/bin/python -m tests.crypto.samples``
rewrites them, and ``test_vectors.py`` fails if they drift from what this writes.

Serials: key certificates 9xx/10xx, union cards 50xx, drawn from one sequence per
organisation as :mod:`crypto.revocation` requires.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from crypto.canonical import canonicalize_signed
from crypto.card import UnionCard, encode_card
from crypto.certificate import KeyCertificate, issue_certificate
from crypto.ed25519 import PublicKey, SigningKey
from crypto.encoding import b64u_encode
from crypto.envelope import SignedDocument, sign_document
from crypto.hashing import sha256
from crypto.revocation import Revocation, RevocationList, issue_revocation_list

DATA = Path(__file__).parent / "data"


def _key(label: str) -> SigningKey:
    return SigningKey.from_seed(sha256(f"kvorum sample key: {label}".encode()))


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


#: The registry key of organisation 7, trusted.
REGISTRY = _key("registry of organisation 7")
#: The organisation's previous registry key, still trusted (key rotation).
PREVIOUS_REGISTRY = _key("previous registry of organisation 7")
#: A key nobody trusts.
STRANGER = _key("stranger")
MEMBER = _key("member 17 laptop")
MEMBER_REVOKED = _key("member 18 lost phone")

ORG_ID = 7
ORG_NAME = "Первичная профсоюзная организация ООО «Север»"
ORG_SHORT = "ППО «Север»"

#: The moment the samples are checked at.
NOW = utc("2025-03-01 12:00:00")


def trusted_keys() -> dict[str, PublicKey]:
    return {key.public_key.key_id: key.public_key for key in (REGISTRY, PREVIOUS_REGISTRY)}


def certificate(**changes: object) -> KeyCertificate:
    fields: dict[str, object] = {
        "serial": 1001,
        "member_id": 17,
        "organisation_id": ORG_ID,
        "organisation": ORG_NAME,
        "public_key": MEMBER.public_key,
        "issued_at": utc("2025-01-15 09:00:00"),
        "expires_at": utc("2026-01-15 09:00:00"),
        "issuer": REGISTRY.public_key.key_id,
    }
    fields.update(changes)
    return KeyCertificate(**fields)  # type: ignore[arg-type]


def revocation_list(**changes: object) -> RevocationList:
    fields: dict[str, object] = {
        "organisation_id": ORG_ID,
        "number": 3,
        "issued_at": utc("2025-02-20 10:00:00"),
        "issuer": REGISTRY.public_key.key_id,
        "entries": (
            Revocation(1002, utc("2025-02-11 08:30:00"), "key compromised: phone lost"),
            Revocation(5003, utc("2025-02-19 16:45:00"), "card reissued"),
        ),
    }
    fields.update(changes)
    return RevocationList(**fields)  # type: ignore[arg-type]


def card(**changes: object) -> UnionCard:
    fields: dict[str, object] = {
        "serial": 5001,
        "organisation_id": ORG_ID,
        "organisation": ORG_SHORT,
        "card_number": "77-000123",
        "full_name": "Иванова Мария Петровна",
        "joined_on": dt.date(2012, 9, 3),
        "issued_at": utc("2025-01-20 10:00:00"),
        "expires_at": utc("2027-01-20 10:00:00"),
        "key_serial": 1001,
        "issuer": REGISTRY.public_key.key_id,
    }
    fields.update(changes)
    return UnionCard(**fields)  # type: ignore[arg-type]


def _document_text(document: SignedDocument | dict[str, object]) -> str:
    obj = document.to_json() if isinstance(document, SignedDocument) else document
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def _resigned(payload: dict[str, object], key: SigningKey = REGISTRY) -> str:
    return _document_text(sign_document(payload, key))


def _card_text(payload_bytes: bytes, key: SigningKey = REGISTRY) -> str:
    return f"KVC1.{b64u_encode(payload_bytes)}.{b64u_encode(key.sign(payload_bytes))}\n"


_B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _with_unused_bit_set(text: str) -> str:
    """base64url of 64 bytes ends in a character whose low 4 bits are unused: set one."""
    return text[:-1] + _B64U[_B64U.index(text[-1]) | 1]


def files() -> dict[str, str]:
    """Every sample file name and its exact content."""
    out: dict[str, str] = {}

    # Key certificates.
    valid = issue_certificate(certificate(), REGISTRY)
    out["certificate.json"] = _document_text(valid)
    out["certificate_revoked.json"] = _document_text(
        issue_certificate(
            certificate(serial=1002, member_id=18, public_key=MEMBER_REVOKED.public_key),
            REGISTRY,
        )
    )
    out["certificate_expired.json"] = _document_text(
        issue_certificate(
            certificate(
                serial=901,
                issued_at=utc("2023-01-10 09:00:00"),
                expires_at=utc("2024-01-10 09:00:00"),
            ),
            REGISTRY,
        )
    )
    out["certificate_not_yet_valid.json"] = _document_text(
        issue_certificate(certificate(serial=1003, issued_at=utc("2025-06-01 00:00:00")), REGISTRY)
    )
    tampered = valid.to_json()
    payload = tampered["payload"]
    assert isinstance(payload, dict)
    payload["member"] = 99  # someone else's member id, signature left as it was
    out["certificate_tampered.json"] = _document_text(tampered)
    out["certificate_unknown_field.json"] = _resigned(
        {**certificate().to_payload(), "role": "chair"}
    )
    out["certificate_v2.json"] = _resigned({**certificate().to_payload(), "v": 2})
    out["certificate_unknown_signer.json"] = _document_text(
        issue_certificate(certificate(issuer=STRANGER.public_key.key_id), STRANGER)
    )
    # Signed by a trusted key, but claims to be issued by another trusted key.
    out["certificate_issuer_mismatch.json"] = _resigned(
        certificate().to_payload(), PREVIOUS_REGISTRY
    )
    out["certificate_zero_key.json"] = _resigned(
        {**certificate().to_payload(), "public_key": b64u_encode(bytes(32))}
    )
    bad_bits = valid.to_json()
    bad_bits["signature"] = _with_unused_bit_set(str(bad_bits["signature"]))
    out["certificate_signature_bits.json"] = _document_text(bad_bits)

    # Revocation lists.
    crl = issue_revocation_list(revocation_list(), REGISTRY)
    out["revocation_list.json"] = _document_text(crl)
    out["revocation_list_unknown_signer.json"] = _document_text(
        issue_revocation_list(revocation_list(issuer=STRANGER.public_key.key_id), STRANGER)
    )
    unsorted = revocation_list().to_payload()
    entries = unsorted["entries"]
    assert isinstance(entries, list)
    unsorted["entries"] = entries[::-1]
    out["revocation_list_unsorted.json"] = _resigned(unsorted)
    dropped = crl.to_json()
    payload = dropped["payload"]
    assert isinstance(payload, dict)
    payload["entries"] = payload["entries"][1:]  # quietly un-revoke serial 1002
    out["revocation_list_tampered.json"] = _document_text(dropped)

    # Union cards (text files end in a newline: surrounding whitespace is ignored).
    out["card.txt"] = encode_card(card(), REGISTRY) + "\n"
    out["card_unbound.txt"] = (
        encode_card(card(serial=5004, joined_on=None, key_serial=None), REGISTRY) + "\n"
    )
    out["card_key_revoked.txt"] = encode_card(card(serial=5002, key_serial=1002), REGISTRY) + "\n"
    out["card_revoked.txt"] = encode_card(card(serial=5003), REGISTRY) + "\n"
    out["card_expired.txt"] = (
        encode_card(
            card(
                serial=4001,
                issued_at=utc("2022-01-20 10:00:00"),
                expires_at=utc("2024-01-20 10:00:00"),
            ),
            REGISTRY,
        )
        + "\n"
    )
    out["card_unknown_signer.txt"] = (
        encode_card(card(issuer=STRANGER.public_key.key_id), STRANGER) + "\n"
    )
    payload_dict = card().to_payload()
    spaced = json.dumps(payload_dict, ensure_ascii=False, sort_keys=True).encode()
    out["card_noncanonical.txt"] = _card_text(spaced)
    out["card_unknown_field.txt"] = _card_text(
        canonicalize_signed({**payload_dict, "photo": "sha256:" + "0" * 64})
    )
    out["card_v2.txt"] = _card_text(canonicalize_signed({**payload_dict, "v": 2}))
    out["card_wrong_type.txt"] = _card_text(canonicalize_signed(certificate().to_payload()))
    return out


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, text in files().items():
        (DATA / name).write_text(text, encoding="utf-8")
        print(f"wrote {DATA / name}")


if __name__ == "__main__":
    main()
