"""crypto.encoding: strict unpadded base64url."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CredentialError


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"\xfb\xff", "-_8"),
    ],
)
def test_known_values(data: bytes, text: str) -> None:
    # RFC 4648 §10 test vectors, without padding; the last one uses '-' and '_'.
    assert b64u_encode(data) == text
    assert b64u_decode(text) == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Zg==", "base64url: padding '=' is not allowed"),
        ("Zm9v\n", "base64url: character '\\n' is not in the base64url alphabet"),
        (" Zm9v", "base64url: character ' ' is not in the base64url alphabet"),
        ("+/8", "base64url: character '+' is not in the base64url alphabet"),
        ("Zm9vY", "base64url: length 5 is impossible (a length of 4n+1)"),
        ("Zh", "base64url: the unused bits of the last character are not zero"),
        ("Zm9", "base64url: the unused bits of the last character are not zero"),
        ("Zм9v", "base64url: character 'м' is not in the base64url alphabet"),
    ],
)
def test_strictness(text: str, message: str) -> None:
    with pytest.raises(CredentialError) as info:
        b64u_decode(text)
    assert info.value.reason == "bad_base64"
    assert str(info.value) == message


def test_length() -> None:
    assert b64u_decode("Zm9v", length=3) == b"foo"
    with pytest.raises(CredentialError, match=r"^base64url: expected 32 bytes, got 3$"):
        b64u_decode("Zm9v", length=32)


def test_text_only() -> None:
    with pytest.raises(CredentialError, match="base64url: expected text, got bytes"):
        b64u_decode(b"Zm9v")  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_round_trip_and_agreement_with_the_standard_library(data: bytes) -> None:
    text = b64u_encode(data)
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64u_decode(text, length=len(data)) == data


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
def test_every_accepted_text_is_the_only_encoding(text: str) -> None:
    try:
        data = b64u_decode(text)
    except CredentialError:
        return
    assert b64u_encode(data) == text
