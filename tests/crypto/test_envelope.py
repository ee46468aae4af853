"""crypto.envelope: signed documents."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from crypto.canonical import CanonicalJSONError
from crypto.ed25519 import PublicKey, SigningKey
from crypto.encoding import b64u_encode
from crypto.envelope import SignedDocument, sign_document, trusted_key, verify_document
from crypto.errors import CredentialError
from tests.crypto.samples import REGISTRY, STRANGER, trusted_keys

PAYLOAD: dict[str, object] = {"type": "kvorum.test", "v": 1, "items": [1, {"b": "ж"}]}


def reason(error: pytest.ExceptionInfo[CredentialError]) -> str:
    return error.value.reason


def test_sign_and_verify() -> None:
    document = sign_document(PAYLOAD, REGISTRY)
    assert document.signer == REGISTRY.public_key.key_id
    assert document.canonical == b'{"items":[1,{"b":"\xd0\xb6"}],"type":"kvorum.test","v":1}'
    assert document.type == "kvorum.test"
    assert document.version == 1
    document.verify(trusted_keys(), expect_type="kvorum.test", expect_version=1)
    REGISTRY.public_key.verify(document.canonical, document.signature)


def test_payload_is_a_frozen_copy() -> None:
    payload = json.loads(json.dumps(PAYLOAD))
    document = sign_document(payload, REGISTRY)
    payload["items"].append(2)
    assert document.payload["items"] == (1, {"b": "ж"})
    with pytest.raises(TypeError):
        document.payload["v"] = 2  # type: ignore[index]
    document.verify(trusted_keys())


def test_json_round_trip() -> None:
    document = sign_document(PAYLOAD, REGISTRY)
    as_json = document.to_json()
    assert as_json == {
        "payload": {"items": [1, {"b": "ж"}], "type": "kvorum.test", "v": 1},
        "signer": REGISTRY.public_key.key_id,
        "signature": b64u_encode(document.signature),
    }
    assert SignedDocument.parse(as_json) == document
    assert SignedDocument.parse(bytes(document)) == document
    # The envelope may arrive in any JSON spelling: only the payload's canonical
    # bytes are signed.
    pretty = json.dumps(as_json, indent=4, ensure_ascii=True).encode()
    assert SignedDocument.parse(pretty) == document
    hash(document)


def test_verify_reasons() -> None:
    document = sign_document(PAYLOAD, REGISTRY)
    with pytest.raises(CredentialError) as info:
        document.verify(trusted_keys(), expect_type="kvorum.ballot")
    assert reason(info) == "wrong_type"
    assert str(info.value) == "signed document is of type 'kvorum.test', expected 'kvorum.ballot'"
    with pytest.raises(CredentialError) as info:
        document.verify(trusted_keys(), expect_version=2)
    assert reason(info) == "unsupported_version"
    assert str(info.value) == (
        "kvorum.test version 1 is not supported (this software reads version 2)"
    )
    with pytest.raises(CredentialError) as info:
        document.verify({})
    assert reason(info) == "unknown_signer"
    assert str(info.value) == f"key {document.signer} is not among the trusted keys (0 known)"
    forged = SignedDocument({**PAYLOAD, "v": 2}, document.signer, document.signature)
    with pytest.raises(CredentialError) as info:
        forged.verify(trusted_keys())
    assert reason(info) == "bad_signature"


def test_type_is_signed() -> None:
    # Domain separation: relabelling a document's type breaks its signature.
    document = sign_document(PAYLOAD, REGISTRY)
    relabelled = SignedDocument(
        {**PAYLOAD, "type": "kvorum.ballot"}, document.signer, document.signature
    )
    with pytest.raises(CredentialError) as info:
        relabelled.verify(trusted_keys(), expect_type="kvorum.ballot")
    assert reason(info) == "bad_signature"


def test_mislabelled_trusted_keys_are_a_bug() -> None:
    keys: Mapping[str, PublicKey] = {REGISTRY.public_key.key_id: STRANGER.public_key}
    with pytest.raises(ValueError, match="trusted keys map id") as info:
        trusted_key(keys, REGISTRY.public_key.key_id)
    assert not isinstance(info.value, CredentialError)


def test_verify_document_parses_bytes() -> None:
    document = sign_document(PAYLOAD, REGISTRY)
    assert (
        verify_document(
            bytes(document), trusted_keys(), expect_type="kvorum.test", expect_version=1
        )
        == document
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"v": 1}, "signed document: payload 'type' must be a non-empty string, got None"),
        ({"type": "", "v": 1}, "signed document: payload 'type' must be a non-empty string"),
        ({"type": "t"}, "signed document: payload 'v' must be a positive integer, got None"),
        ({"type": "t", "v": 0}, "signed document: payload 'v' must be a positive integer, got 0"),
        ({"type": "t", "v": True}, "signed document: payload 'v' must be a positive integer"),
    ],
)
def test_sign_document_requires_type_and_version(payload: dict[str, object], message: str) -> None:
    with pytest.raises(CredentialError) as info:
        sign_document(payload, REGISTRY)
    assert reason(info) == "malformed"
    assert str(info.value).startswith(message)


def test_sign_document_requires_the_signed_profile() -> None:
    with pytest.raises(CanonicalJSONError) as info:
        sign_document({"type": "t", "v": 1, "x": 0.5}, REGISTRY)
    assert info.value.reason == "float_not_allowed"


def envelope(**changes: object) -> dict[str, object]:
    base = sign_document(PAYLOAD, REGISTRY).to_json()
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[]", "signed document: expected a JSON object, got list"),
        (b'{"a":1,"a":2}', "signed document: duplicate object member name 'a'"),
        (b"{", "signed document: invalid JSON: Expecting property name enclosed in double quotes"),
        (envelope(signer=None), "signed document: missing field 'signer'"),
        (envelope(extra=1), "signed document: unknown field 'extra'"),
        (envelope(signature=5), "signed document: signature must be a string, got int"),
        (envelope(signature="AA=="), "signed document: signature: base64url: padding"),
        (envelope(signature="AAAA"), "signed document: signature: base64url: expected 64 bytes"),
        (envelope(signer="ABC"), "signed document: signer must be 32 lowercase hex digits"),
        (envelope(signer=7), "signed document: signer must be a string, got int"),
        (envelope(payload=[1]), "signed document: payload must be a JSON object, got list"),
        (
            envelope(payload={"type": "t", "v": 1, "x": 1.5}),
            "signed document: payload: $.x: 1.5: signed payloads hold integers only",
        ),
        (
            envelope(payload={"type": "t", "v": 1, "ключ": 1}),
            'signed document: payload: $["\\u043a\\u043b\\u044e\\u0447"]: member name',
        ),
    ],
)
def test_parse_rejects(data: bytes | dict[str, object], message: str) -> None:
    with pytest.raises(CredentialError) as info:
        SignedDocument.parse(data)
    assert reason(info) == "malformed"
    assert str(info.value).startswith(message)


def test_signature_size_checked_on_construction() -> None:
    with pytest.raises(CredentialError, match="signature must be 64 bytes, got 3"):
        SignedDocument(PAYLOAD, REGISTRY.public_key.key_id, b"abc")


def test_signed_by_a_fresh_key_is_unknown() -> None:
    document = sign_document(PAYLOAD, SigningKey.generate())
    with pytest.raises(CredentialError) as info:
        document.verify(trusted_keys())
    assert reason(info) == "unknown_signer"
