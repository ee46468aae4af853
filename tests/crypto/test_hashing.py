"""crypto.hashing: SHA-256 and content addresses."""

from __future__ import annotations

import pytest

from crypto.errors import CredentialError
from crypto.hashing import content_address, parse_content_address, sha256

ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2


def test_sha256() -> None:
    assert sha256(b"abc").hex() == ABC


def test_content_address_round_trip() -> None:
    assert content_address(b"abc") == "sha256:" + ABC
    assert parse_content_address("sha256:" + ABC) == bytes.fromhex(ABC)


@pytest.mark.parametrize(
    "text",
    [
        "sha256:" + ABC.upper(),
        "SHA256:" + ABC,
        "sha512:" + ABC,
        "sha256:" + ABC[:-1],
        "sha256:" + ABC + "0",
        " sha256:" + ABC,
        "sha256:" + ABC + "\n",
        ABC,
    ],
)
def test_only_one_spelling_is_accepted(text: str) -> None:
    with pytest.raises(CredentialError) as info:
        parse_content_address(text)
    assert info.value.reason == "bad_content_address"
    assert str(info.value).endswith("is not 'sha256:' followed by 64 lowercase hex digits")


def test_text_only() -> None:
    with pytest.raises(CredentialError, match="content address: expected text, got bytes"):
        parse_content_address(b"sha256:")  # type: ignore[arg-type]
