"""crypto.certificate: key certificates, against the stored samples in data/."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crypto.certificate import KeyCertificate, issue_certificate, verify_certificate
from crypto.ed25519 import SigningKey
from crypto.errors import CredentialError
from crypto.revocation import RevocationList
from tests.crypto import samples
from tests.crypto.samples import NOW, PREVIOUS_REGISTRY, REGISTRY, STRANGER, trusted_keys, utc

DATA = Path(__file__).parent / "data"
REGISTRY_ID = REGISTRY.public_key.key_id


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def crl() -> RevocationList:
    return samples.revocation_list()


def verify(data: object, *, now: dt.datetime = NOW) -> KeyCertificate:
    return verify_certificate(data, trusted_keys(), now=now, revocations=crl())  # type: ignore[arg-type]


def test_valid_sample() -> None:
    certificate = verify(load("certificate.json"))
    assert certificate == samples.certificate()
    assert certificate.public_key == samples.MEMBER.public_key
    assert certificate.organisation == "Первичная профсоюзная организация ООО «Север»"


def test_sample_round_trip() -> None:
    stored = json.loads(load("certificate.json"))
    assert issue_certificate(samples.certificate(), REGISTRY).to_json() == stored
    certificate = samples.certificate()
    assert KeyCertificate.from_payload(certificate.to_payload()) == certificate
    assert certificate.to_payload() == {
        "type": "kvorum.key-certificate",
        "v": 1,
        "serial": 1001,
        "member": 17,
        "org": 7,
        "org_name": "Первичная профсоюзная организация ООО «Север»",
        "public_key": samples.MEMBER.public_key.b64u,
        "issued_at": "2025-01-15T09:00:00Z",
        "expires_at": "2026-01-15T09:00:00Z",
        "issuer": REGISTRY_ID,
    }


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        (
            "certificate_revoked.json",
            "revoked",
            "key certificate 1002 was revoked at 2025-02-11T08:30:00Z "
            "(key compromised: phone lost; revocation list number 3)",
        ),
        (
            "certificate_expired.json",
            "expired",
            "key certificate 901 expired at 2024-01-10T09:00:00Z",
        ),
        (
            "certificate_not_yet_valid.json",
            "not_yet_valid",
            "key certificate 1003 is valid from 2025-06-01T00:00:00Z",
        ),
        (
            "certificate_tampered.json",
            "bad_signature",
            f"the signature does not verify under key {REGISTRY_ID}",
        ),
        ("certificate_unknown_field.json", "malformed", "key certificate: unknown field 'role'"),
        (
            "certificate_v2.json",
            "unsupported_version",
            "kvorum.key-certificate version 2 is not supported (this software reads version 1)",
        ),
        (
            "certificate_unknown_signer.json",
            "unknown_signer",
            f"key {STRANGER.public_key.key_id} is not among the trusted keys (2 known)",
        ),
        (
            "certificate_issuer_mismatch.json",
            "issuer_mismatch",
            f"key certificate 1001 names issuer {REGISTRY_ID} "
            f"but is signed by {PREVIOUS_REGISTRY.public_key.key_id}",
        ),
        (
            "certificate_zero_key.json",
            "malformed",
            "key certificate: public_key: public key is all zero bytes",
        ),
        (
            "certificate_signature_bits.json",
            "malformed",
            "signed document: signature: base64url: the unused bits of the last character "
            "are not zero",
        ),
        (
            "revocation_list.json",
            "wrong_type",
            "signed document is of type 'kvorum.revocation-list', "
            "expected 'kvorum.key-certificate'",
        ),
    ],
)
def test_invalid_samples(name: str, reason: str, message: str) -> None:
    with pytest.raises(CredentialError) as info:
        verify(load(name))
    assert (info.value.reason, str(info.value)) == (reason, message)


def test_validity_boundaries() -> None:
    data = load("certificate.json")
    verify(data, now=utc("2025-01-15 09:00:00"))  # issued_at is inclusive
    verify(data, now=utc("2026-01-15 08:59:59"))
    with pytest.raises(CredentialError) as info:
        verify(data, now=utc("2026-01-15 09:00:00"))  # expires_at is exclusive
    assert info.value.reason == "expired"
    with pytest.raises(CredentialError) as info:
        verify(data, now=utc("2025-01-15 08:59:59"))
    assert info.value.reason == "not_yet_valid"
    # Any aware now will do, with sub-second precision.
    verify(
        data, now=dt.datetime(2025, 6, 1, 15, 0, 0, 123, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    )


def test_revocation_check_is_explicit() -> None:
    data = load("certificate_revoked.json")
    certificate = verify_certificate(data, trusted_keys(), now=NOW, revocations=None)
    assert certificate.serial == 1002
    other = samples.revocation_list(organisation_id=8)
    with pytest.raises(
        ValueError, match="the revocation list is of organisation 8, the key"
    ) as info:
        verify_certificate(data, trusted_keys(), now=NOW, revocations=other)
    assert not isinstance(info.value, CredentialError)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        verify(load("certificate.json"), now=dt.datetime(2025, 3, 1))


def test_accepts_parsed_forms() -> None:
    document = issue_certificate(samples.certificate(), REGISTRY)
    assert verify(document) == verify(document.to_json()) == samples.certificate()


def test_issue_requires_the_named_key() -> None:
    with pytest.raises(CredentialError) as info:
        issue_certificate(samples.certificate(), STRANGER)
    assert info.value.reason == "issuer_mismatch"
    assert str(info.value) == (
        f"key certificate names issuer {REGISTRY_ID} but the signing key is "
        f"{STRANGER.public_key.key_id}"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"serial": 0}, "key certificate: serial must be between 1 and 2**53-1, got 0"),
        (
            {"serial": 2**53},
            "key certificate: serial must be between 1 and 2**53-1, got 9007199254740992",
        ),
        ({"serial": True}, "key certificate: serial must be an integer, got bool"),
        ({"member_id": "17"}, "key certificate: member_id must be an integer, got str"),
        ({"organisation_id": -1}, "key certificate: organisation_id must be between 1 and"),
        ({"organisation": ""}, "key certificate: organisation must not be empty"),
        ({"organisation": " ППО"}, "key certificate: organisation must not start or end with"),
        (
            {"organisation": "a\nb"},
            "key certificate: organisation holds the control/format character U+000A at 1",
        ),
        (
            {"organisation": "abc\u202e"},
            "key certificate: organisation holds the control/format character U+202E",
        ),
        (
            {"organisation": "x" * 301},
            "key certificate: organisation is 301 characters long, at most 300",
        ),
        ({"public_key": b"x" * 32}, "key certificate: public_key must be a PublicKey, got bytes"),
        (
            {"issued_at": dt.datetime(2025, 1, 1)},
            "key certificate: issued_at must be timezone-aware",
        ),
        (
            {"expires_at": utc("2025-01-15 09:00:00")},
            "key certificate: expires_at (2025-01-15T09:00:00Z) must be after issued_at "
            "(2025-01-15T09:00:00Z)",
        ),
        ({"issuer": "B" * 32}, "key certificate: issuer must be 32 lowercase hex digits"),
    ],
)
def test_construction_rules(changes: dict[str, object], message: str) -> None:
    with pytest.raises(CredentialError) as info:
        samples.certificate(**changes)
    assert info.value.reason == "malformed"
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        (
            {"type": "kvorum.union-card"},
            "wrong_type",
            "key certificate: type is 'kvorum.union-card'",
        ),
        ({"v": "1"}, "unsupported_version", "key certificate: version '1' is not supported"),
        ({"serial": None}, "malformed", "key certificate: missing field 'serial'"),
        ({"serial": "1001"}, "malformed", "key certificate: serial must be an integer, got str"),
        ({"member": 1.0}, "malformed", "key certificate: member must be an integer, got float"),
        (
            {"public_key": "AAAA"},
            "malformed",
            "key certificate: public_key: public key: base64url: expected 32 bytes, got 3",
        ),
        ({"public_key": 5}, "malformed", "key certificate: public_key must be a string, got int"),
        (
            {"issued_at": "2025-01-15T09:00:00+00:00"},
            "malformed",
            "key certificate: issued_at: instant '2025-01-15T09:00:00+00:00' is not in the form",
        ),
        ({"issuer": None}, "malformed", "key certificate: missing field 'issuer'"),
        ({"issuer": 5}, "malformed", "key certificate: issuer must be a string, got int"),
    ],
)
def test_payload_rules(changes: dict[str, object], reason: str, message: str) -> None:
    payload = samples.certificate().to_payload()
    payload.update(changes)
    payload = {name: value for name, value in payload.items() if value is not None}
    with pytest.raises(CredentialError) as info:
        KeyCertificate.from_payload(payload)
    assert info.value.reason == reason
    assert str(info.value).startswith(message)


def test_fresh_registry_key_round_trip() -> None:
    registry = SigningKey.generate()
    certificate = samples.certificate(issuer=registry.public_key.key_id)
    document = issue_certificate(certificate, registry)
    keys = {registry.public_key.key_id: registry.public_key}
    assert verify_certificate(bytes(document), keys, now=NOW, revocations=None) == certificate
