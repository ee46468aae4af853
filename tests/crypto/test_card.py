"""crypto.card: electronic union cards, against the stored samples in data/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crypto.card import (
    CARD_PREFIX,
    MAX_CARD_TEXT_LENGTH,
    UnionCard,
    decode_card,
    encode_card,
    verify_card,
)
from crypto.encoding import b64u_decode
from crypto.errors import CredentialError
from tests.crypto import samples
from tests.crypto.samples import NOW, REGISTRY, STRANGER, trusted_keys, utc

DATA = Path(__file__).parent / "data"
REGISTRY_ID = REGISTRY.public_key.key_id
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def load(name: str) -> str:
    return (DATA / name).read_text("utf-8")


def verify(text: str, *, now: dt.datetime = NOW) -> UnionCard:
    return verify_card(text, trusted_keys(), now=now, revocations=samples.revocation_list())


def reason_of(text: str) -> str:
    with pytest.raises(CredentialError) as info:
        verify(text)
    return info.value.reason


def test_valid_sample() -> None:
    text = load("card.txt")
    assert text.endswith("\n")  # whitespace around the text is ignored
    card = verify(text)
    assert card == samples.card()
    assert card.full_name == "Иванова Мария Петровна"
    assert card.joined_on == dt.date(2012, 9, 3)
    assert card.key_serial == 1001


def test_sample_round_trip() -> None:
    assert encode_card(samples.card(), REGISTRY) + "\n" == load("card.txt")
    decoded = decode_card(load("card.txt"))
    assert decoded.card == samples.card()
    assert decoded.signer == REGISTRY_ID
    REGISTRY.public_key.verify(decoded.canonical, decoded.signature)
    assert decoded.canonical == b64u_decode(load("card.txt").strip().split(".")[1])
    assert UnionCard.from_payload(samples.card().to_payload()) == samples.card()


def test_payload_format() -> None:
    assert samples.card().to_payload() == {
        "type": "kvorum.union-card",
        "v": 1,
        "serial": 5001,
        "org": 7,
        "org_name": "ППО «Север»",
        "card": "77-000123",
        "name": "Иванова Мария Петровна",
        "joined": "2012-09-03",
        "iat": "2025-01-20T10:00:00Z",
        "exp": "2027-01-20T10:00:00Z",
        "key": 1001,
        "issuer": REGISTRY_ID,
    }


def test_optional_fields_are_absent_when_unknown() -> None:
    card = verify(load("card_unbound.txt"))
    assert (card.joined_on, card.key_serial) == (None, None)
    payload = card.to_payload()
    assert "joined" not in payload
    assert "key" not in payload
    assert UnionCard.from_payload(payload) == card


def test_fits_a_qr_code() -> None:
    # Version 40-L QR codes hold 2953 bytes; a realistic card stays far below.
    assert len(load("card.txt").strip()) < 700


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        (
            "card_key_revoked.txt",
            "key_revoked",
            "union card 77-000123 is bound to key certificate 1002, which was revoked at "
            "2025-02-11T08:30:00Z (key compromised: phone lost; revocation list number 3)",
        ),
        (
            "card_revoked.txt",
            "revoked",
            "union card 77-000123 (serial 5003) was revoked at 2025-02-19T16:45:00Z "
            "(card reissued; revocation list number 3)",
        ),
        (
            "card_expired.txt",
            "expired",
            "union card 77-000123 (serial 4001) expired at 2024-01-20T10:00:00Z",
        ),
        (
            "card_unknown_signer.txt",
            "unknown_signer",
            f"key {STRANGER.public_key.key_id} is not among the trusted keys (2 known)",
        ),
        (
            "card_noncanonical.txt",
            "malformed",
            "union card: payload: JSON is valid but not in canonical form (RFC 8785): first "
            'difference at byte 8; expected b\'"77-000123","exp\', got b\' "77-000123", "e\'',
        ),
        ("card_unknown_field.txt", "malformed", "union card: unknown field 'photo'"),
        (
            "card_v2.txt",
            "unsupported_version",
            "union card: version 2 is not supported (this software reads version 1)",
        ),
        (
            "card_wrong_type.txt",
            "wrong_type",
            "union card: type is 'kvorum.key-certificate', expected 'kvorum.union-card'",
        ),
    ],
)
def test_invalid_samples(name: str, reason: str, message: str) -> None:
    with pytest.raises(CredentialError) as info:
        verify(load(name))
    assert (info.value.reason, str(info.value)) == (reason, message)


def test_every_one_character_change_is_rejected() -> None:
    text = load("card.txt").strip()
    payload_end = text.index(".", len(CARD_PREFIX))
    seen: set[str] = set()
    for index, char in enumerate(text):
        replacement = ALPHABET[(ALPHABET.index(char) + 1) % 64] if char in ALPHABET else "A"
        tampered = text[:index] + replacement + text[index + 1 :]
        reason = reason_of(tampered)
        seen.add(reason)
        if index > payload_end:
            assert reason in {"bad_signature", "malformed"}, (index, reason)
        else:
            # Only the issuer is read before the signature is checked, so a change
            # there can also name a key nobody trusts.
            assert reason in {"bad_signature", "malformed", "unknown_signer"}, (index, reason)
    assert {"bad_signature", "malformed"} <= seen


def test_unknown_signer_is_checked_before_the_fields() -> None:
    # A card by an untrusted key is refused before any of its fields is believed.
    assert reason_of(load("card_unknown_signer.txt")) == "unknown_signer"
    decoded = decode_card(load("card_unknown_signer.txt"))  # decoding alone does not verify
    assert decoded.signer == STRANGER.public_key.key_id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "union card: text does not start with 'KVC1.'"),
        ("kvc1.AAAA.AAAA", "union card: text does not start with 'KVC1.'"),
        (
            "KVC1.AAAA",
            "union card: text must be 'KVC1.' followed by two base64url parts "
            "separated by '.', found 1 part(s)",
        ),
        (
            "KVC1.AAAA.AAAA.AAAA",
            "union card: text must be 'KVC1.' followed by two base64url "
            "parts separated by '.', found 3 part(s)",
        ),
        (
            "KVC1.AA AA.AAAA",
            "union card: payload part: base64url: character ' ' is not in the base64url alphabet",
        ),
        ("KVC1.AAAA.AAAA", "union card: signature part: base64url: expected 64 bytes, got 3"),
        (
            "KVC1." + "A" * MAX_CARD_TEXT_LENGTH,
            "union card: text is 4101 characters long, at most 4096",
        ),
    ],
)
def test_text_structure(text: str, message: str) -> None:
    with pytest.raises(CredentialError) as info:
        decode_card(text)
    assert (info.value.reason, str(info.value)) == ("malformed", message)


def test_surrounding_whitespace_only() -> None:
    text = load("card.txt").strip()
    assert verify(" \t\r\n" + text + "\r\n ") == samples.card()
    middle = len(CARD_PREFIX) + 10
    assert reason_of(text[:middle] + "\n" + text[middle:]) == "malformed"


def test_payload_must_be_an_object() -> None:
    text = samples._card_text(b"[1]").strip()
    with pytest.raises(
        CredentialError, match="union card: payload must be a JSON object, got list"
    ):
        decode_card(text)
    with pytest.raises(CredentialError, match="union card: issuer must be 32 lowercase hex digits"):
        verify(samples._card_text(b'{"issuer":"x"}'))


def test_validity_boundaries() -> None:
    text = load("card.txt")
    verify(text, now=utc("2025-01-20 10:00:00"))
    verify(text, now=utc("2027-01-20 09:59:59"))
    with pytest.raises(CredentialError, match="expired at 2027-01-20T10:00:00Z"):
        verify(text, now=utc("2027-01-20 10:00:00"))
    with pytest.raises(CredentialError) as info:
        verify(text, now=utc("2025-01-20 09:59:59"))
    assert info.value.reason == "not_yet_valid"
    assert str(info.value) == (
        "union card 77-000123 (serial 5001) is valid from 2025-01-20T10:00:00Z"
    )


def test_revocation_check_is_explicit() -> None:
    text = load("card_key_revoked.txt")
    assert verify_card(text, trusted_keys(), now=NOW, revocations=None).serial == 5002
    with pytest.raises(ValueError, match="revocation list is of organisation 9, the union card"):
        verify_card(
            text, trusted_keys(), now=NOW, revocations=samples.revocation_list(organisation_id=9)
        )
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        verify_card(text, trusted_keys(), now=dt.datetime(2025, 1, 1), revocations=None)


def test_encode_requires_the_named_key() -> None:
    with pytest.raises(CredentialError) as info:
        encode_card(samples.card(), STRANGER)
    assert info.value.reason == "issuer_mismatch"
    assert str(info.value) == (
        f"union card names issuer {REGISTRY_ID} but the signing key is {STRANGER.public_key.key_id}"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"serial": -5}, "union card: serial must be between 1 and 2**53-1, got -5"),
        ({"card_number": ""}, "union card: card_number must not be empty"),
        ({"card_number": "1" * 33}, "union card: card_number is 33 characters long, at most 32"),
        (
            {"full_name": "Иванова\tМария"},
            "union card: full_name holds the control/format character U+0009 at 7",
        ),
        (
            {"organisation": "x" * 101},
            "union card: organisation is 101 characters long, at most 100",
        ),
        (
            {"joined_on": utc("2012-09-03 00:00:00")},
            "union card: joined_on must be a date or None, got datetime",
        ),
        ({"key_serial": 0}, "union card: key_serial must be between 1 and 2**53-1, got 0"),
        (
            {"issued_at": utc("2027-01-20 10:00:00")},
            "union card: expires_at "
            "(2027-01-20T10:00:00Z) must be after issued_at (2027-01-20T10:00:00Z)",
        ),
        (
            {"expires_at": NOW.replace(microsecond=5)},
            "union card: expires_at must be whole seconds, got 5 microseconds",
        ),
    ],
)
def test_construction_rules(changes: dict[str, object], message: str) -> None:
    with pytest.raises(CredentialError) as info:
        samples.card(**changes)
    assert (info.value.reason, str(info.value)) == ("malformed", message)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"joined": "3.9.2012"},
            "union card: joined: date '3.9.2012' is not in the form YYYY-MM-DD",
        ),
        ({"joined": None}, None),
        ({"key": "1001"}, "union card: key must be an integer, got str"),
        ({"iat": None}, "union card: missing field 'iat'"),
        ({"name": 5}, "union card: name must be a string, got int"),
    ],
)
def test_payload_rules(changes: dict[str, object], message: str | None) -> None:
    payload = samples.card().to_payload()
    payload.update(changes)
    payload = {name: value for name, value in payload.items() if value is not None}
    if message is None:
        assert UnionCard.from_payload(payload).joined_on is None
        return
    with pytest.raises(CredentialError) as info:
        UnionCard.from_payload(payload)
    assert (info.value.reason, str(info.value)) == ("malformed", message)
