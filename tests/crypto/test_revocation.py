"""crypto.revocation: revocation lists, against the stored samples in data/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crypto.envelope import sign_document
from crypto.errors import CredentialError
from crypto.revocation import (
    Revocation,
    RevocationList,
    issue_revocation_list,
    verify_revocation_list,
)
from tests.crypto import samples
from tests.crypto.samples import NOW, REGISTRY, STRANGER, trusted_keys, utc

DATA = Path(__file__).parent / "data"
REGISTRY_ID = REGISTRY.public_key.key_id


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_valid_sample() -> None:
    revocations = verify_revocation_list(load("revocation_list.json"), trusted_keys(), now=NOW)
    assert revocations == samples.revocation_list()
    assert revocations.is_revoked(1002) == Revocation(
        1002, utc("2025-02-11 08:30:00"), "key compromised: phone lost"
    )
    assert revocations.is_revoked(5003) is not None
    for serial in (1, 1001, 1003, 5002, 5004, 10**9):
        assert revocations.is_revoked(serial) is None


def test_sample_round_trip() -> None:
    stored = json.loads(load("revocation_list.json"))
    assert issue_revocation_list(samples.revocation_list(), REGISTRY).to_json() == stored
    assert stored["payload"] == {
        "type": "kvorum.revocation-list",
        "v": 1,
        "org": 7,
        "number": 3,
        "issued_at": "2025-02-20T10:00:00Z",
        "issuer": REGISTRY_ID,
        "entries": [
            {
                "serial": 1002,
                "revoked_at": "2025-02-11T08:30:00Z",
                "reason": "key compromised: phone lost",
            },
            {"serial": 5003, "revoked_at": "2025-02-19T16:45:00Z", "reason": "card reissued"},
        ],
    }
    revocations = samples.revocation_list()
    assert RevocationList.from_payload(revocations.to_payload()) == revocations


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        (
            "revocation_list_unknown_signer.json",
            "unknown_signer",
            f"key {STRANGER.public_key.key_id} is not among the trusted keys (2 known)",
        ),
        (
            "revocation_list_unsorted.json",
            "malformed",
            "revocation list: entries must be sorted by serial: 1002 follows 5003",
        ),
        (
            "revocation_list_tampered.json",
            "bad_signature",
            f"the signature does not verify under key {REGISTRY_ID}",
        ),
        (
            "certificate.json",
            "wrong_type",
            "signed document is of type 'kvorum.key-certificate', "
            "expected 'kvorum.revocation-list'",
        ),
    ],
)
def test_invalid_samples(name: str, reason: str, message: str) -> None:
    with pytest.raises(CredentialError) as info:
        verify_revocation_list(load(name), trusted_keys(), now=NOW)
    assert (info.value.reason, str(info.value)) == (reason, message)


def test_not_yet_valid() -> None:
    with pytest.raises(CredentialError) as info:
        verify_revocation_list(
            load("revocation_list.json"), trusted_keys(), now=utc("2025-02-20 09:59:59")
        )
    assert info.value.reason == "not_yet_valid"
    assert str(info.value) == (
        "revocation list number 3 is issued at 2025-02-20T10:00:00Z, after now"
    )


def test_issuer_must_sign() -> None:
    with pytest.raises(CredentialError) as info:
        issue_revocation_list(samples.revocation_list(), STRANGER)
    assert info.value.reason == "issuer_mismatch"
    payload = samples.revocation_list().to_payload()
    document = sign_document(payload, samples.PREVIOUS_REGISTRY)
    with pytest.raises(CredentialError) as info:
        verify_revocation_list(document, trusted_keys(), now=NOW)
    assert info.value.reason == "issuer_mismatch"


def test_empty_list() -> None:
    revocations = samples.revocation_list(entries=())
    document = issue_revocation_list(revocations, REGISTRY)
    assert verify_revocation_list(bytes(document), trusted_keys(), now=NOW) == revocations
    assert revocations.is_revoked(1) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"number": 0}, "revocation list: number must be between 1 and 2**53-1, got 0"),
        ({"organisation_id": "7"}, "revocation list: organisation_id must be an integer, got str"),
        ({"issuer": "x"}, "revocation list: issuer must be 32 lowercase hex digits, got 'x'"),
        ({"entries": []}, "revocation list: entries must be a tuple, got list"),
        ({"entries": (1002,)}, "revocation list: entries must be Revocation, got int"),
        (
            {
                "entries": (
                    Revocation(5, utc("2025-01-01 00:00:00"), "a"),
                    Revocation(5, utc("2025-01-02 00:00:00"), "b"),
                )
            },
            "revocation list: serial 5 is listed twice",
        ),
        (
            {"entries": (Revocation(5, utc("2025-02-20 10:00:01"), "a"),)},
            "revocation list: serial 5 is revoked at 2025-02-20T10:00:01Z, after the list was "
            "issued (2025-02-20T10:00:00Z)",
        ),
    ],
)
def test_construction_rules(changes: dict[str, object], message: str) -> None:
    with pytest.raises(CredentialError) as info:
        samples.revocation_list(**changes)
    assert info.value.reason == "malformed"
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"serial": 1, "revoked_at": "2025-01-01T00:00:00Z"},
            "revocation entry: missing field 'reason'",
        ),
        (
            {"serial": 1, "revoked_at": "2025-01-01T00:00:00Z", "reason": "x", "by": "me"},
            "revocation entry: unknown field 'by'",
        ),
        (
            {"serial": 1, "revoked_at": "2025-01-01", "reason": "x"},
            "revocation entry: revoked_at: instant '2025-01-01' is not in the form "
            "YYYY-MM-DDTHH:MM:SSZ",
        ),
        (
            {"serial": 1, "revoked_at": "2025-01-01T00:00:00Z", "reason": ""},
            "revocation entry: reason must not be empty",
        ),
        ([1], "revocation entry: expected a JSON object, got list"),
    ],
)
def test_entry_payload_rules(entry: object, message: str) -> None:
    payload = samples.revocation_list().to_payload()
    payload["entries"] = [entry]
    with pytest.raises(CredentialError) as info:
        RevocationList.from_payload(payload)
    assert info.value.reason == "malformed"
    assert str(info.value) == message


def test_entries_must_be_an_array() -> None:
    payload = samples.revocation_list().to_payload()
    payload["entries"] = {"1002": "lost"}
    with pytest.raises(
        CredentialError, match="revocation list: entries must be an array, got dict"
    ):
        RevocationList.from_payload(payload)
