"""The Fiat–Shamir transcript: exact bytes, and no two item lists share a transcript."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.challenge import TAG_BIT, TAG_SUM, challenge, transcript, u32
from crypto.group import L


def test_exact_bytes() -> None:
    assert transcript(b"t", [b"ab", b""]) == bytes.fromhex("000000017400000002616200000000")
    assert u32(258) == b"\x00\x00\x01\x02"
    digest = hashlib.sha512(transcript(TAG_BIT, [b"x"])).digest()
    assert challenge(TAG_BIT, [b"x"]) == int.from_bytes(digest, "little") % L


@settings(deadline=None)
@given(st.lists(st.binary(max_size=6), max_size=5), st.lists(st.binary(max_size=6), max_size=5))
def test_different_item_lists_give_different_transcripts(a: list[bytes], b: list[bytes]) -> None:
    # Length prefixes: ["ab", "c"] and ["a", "bc"] are not the same statement.
    if a != b:
        assert transcript(TAG_BIT, a) != transcript(TAG_BIT, b)


def test_the_tag_separates_proof_kinds() -> None:
    assert challenge(TAG_BIT, [b"x"]) != challenge(TAG_SUM, [b"x"])
