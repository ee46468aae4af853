"""crypto.ed25519: keys, key ids and signatures (RFC 8032)."""

from __future__ import annotations

import hashlib

import nacl.bindings
import pytest

from crypto.ed25519 import PublicKey, SigningKey, check_key_id
from crypto.errors import CredentialError

# RFC 8032 §7.1, TEST 1-3: seed, public key, message, signature (all hex).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
        "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
        "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

IDENTITY = bytes.fromhex("01" + "00" * 31)
ORDER_2 = bytes.fromhex("ec" + "ff" * 30 + "7f")  # y = -1
NON_CANONICAL_IDENTITY = bytes.fromhex("ee" + "ff" * 30 + "7f")  # y = p + 1


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(seed: str, public: str, message: str, signature: str) -> None:
    key = SigningKey.from_seed(bytes.fromhex(seed))
    assert key.seed.hex() == seed
    assert key.public_key.raw.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    PublicKey(bytes.fromhex(public)).verify(bytes.fromhex(message), bytes.fromhex(signature))


def test_rfc8032_test1_empty_message_rejects_any_change() -> None:
    _, public, _, signature = RFC8032[0]
    key = PublicKey(bytes.fromhex(public))
    with pytest.raises(CredentialError) as info:
        key.verify(b"\x00", bytes.fromhex(signature))
    assert info.value.reason == "bad_signature"
    assert str(info.value) == f"the signature does not verify under key {key.key_id}"
    flipped = bytearray(bytes.fromhex(signature))
    flipped[0] ^= 1
    with pytest.raises(CredentialError, match="does not verify"):
        key.verify(b"", bytes(flipped))


def test_non_canonical_s_is_rejected() -> None:
    # S + ℓ verifies under a naive equation check; RFC 8032 §5.1.7 requires S < ℓ.
    _, public, _, signature = RFC8032[0]
    raw = bytes.fromhex(signature)
    ell = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(raw[32:], "little") + ell
    malleated = raw[:32] + s.to_bytes(32, "little")
    with pytest.raises(CredentialError) as info:
        PublicKey(bytes.fromhex(public)).verify(b"", malleated)
    assert info.value.reason == "bad_signature"


@pytest.mark.parametrize("size", [0, 63, 65])
def test_signature_length(size: int) -> None:
    key = SigningKey.from_seed(bytes(32)).public_key
    with pytest.raises(CredentialError, match=f"^signature must be 64 bytes, got {size}$"):
        key.verify(b"", bytes(size))


def test_key_id_is_the_first_16_bytes_of_sha256() -> None:
    key = PublicKey(bytes.fromhex(RFC8032[0][1]))
    assert key.key_id == hashlib.sha256(key.raw).hexdigest()[:32]
    assert check_key_id(key.key_id) == key.key_id


@pytest.mark.parametrize("value", ["A" * 32, "a" * 31, "a" * 33, 5, None, "g" * 32])
def test_check_key_id(value: object) -> None:
    with pytest.raises(CredentialError, match="key id must be 32 lowercase hex digits") as info:
        check_key_id(value)
    assert info.value.reason == "malformed"


def test_public_key_b64u_round_trip() -> None:
    key = SigningKey.generate().public_key
    assert PublicKey.from_b64u(key.b64u) == key
    assert PublicKey.parse(bytes(key)) == key
    assert repr(key) == f"PublicKey({key.b64u!r})"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (bytes(31), "public key must be 32 bytes, got 31"),
        (bytes(33), "public key must be 32 bytes, got 33"),
        (bytes(32), "public key is all zero bytes"),
        (
            IDENTITY,
            "public key is not a canonical point of the prime-order subgroup "
            "(non-canonical, off the curve or of small order)",
        ),
        (ORDER_2, "public key is not a canonical point of the prime-order subgroup"),
        (NON_CANONICAL_IDENTITY, "public key is not a canonical point of the prime-order subgroup"),
    ],
)
def test_invalid_public_keys(raw: bytes, message: str) -> None:
    with pytest.raises(CredentialError) as info:
        PublicKey(raw)
    assert info.value.reason == "bad_public_key"
    assert str(info.value).startswith(message)


def test_mixed_order_public_key_is_rejected() -> None:
    # A valid key plus a point of order 2: on the curve, but outside the subgroup.
    valid = SigningKey.from_seed(bytes(32)).public_key.raw
    mixed = nacl.bindings.crypto_core_ed25519_add(valid, ORDER_2)
    with pytest.raises(CredentialError, match="prime-order subgroup"):
        PublicKey(mixed)


def test_public_key_type() -> None:
    with pytest.raises(CredentialError, match="public key must be bytes, got str"):
        PublicKey("x" * 32)  # type: ignore[arg-type]
    with pytest.raises(CredentialError, match=r"^public key: base64url: expected 32 bytes"):
        PublicKey.from_b64u("AAAA")


def test_signing_key() -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    assert key.seed == bytes(range(32))
    assert SigningKey.from_seed(key.seed).public_key == key.public_key
    assert key.seed.hex() not in repr(key)
    assert repr(key) == f"SigningKey(public_key={key.public_key.b64u!r})"
    assert key.sign(b"x") == key.sign(b"x")  # deterministic (RFC 8032 §5.1.6)
    assert SigningKey.generate().public_key != SigningKey.generate().public_key
    with pytest.raises(ValueError, match="an Ed25519 seed must be 32 bytes, got 16"):
        SigningKey.from_seed(bytes(16))
