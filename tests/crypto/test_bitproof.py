"""Bit proofs: honest ones verify for 0 and 1; a proof for any other mark, or moved
to another option or statement, does not (S-11)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import _disjunctive
from crypto.bitproof import BitProof, prove_bit, verify_bit
from crypto.challenge import TAG_BIT, u32
from crypto.elgamal import encrypt
from crypto.errors import SecretBallotError
from crypto.group import L, base, random_scalar

scalars = st.integers(min_value=1, max_value=L - 1)
KEY = base(424242)
STATEMENT = [b"\x01" * 32, KEY.raw, b"\x02" * 32]


def refused(check: str, reason: str, call: object, *args: object) -> None:
    with pytest.raises(SecretBallotError) as info:
        call(*args)  # type: ignore[operator]
    assert (info.value.check, info.value.reason) == (check, reason)


@settings(deadline=None, max_examples=20)
@given(st.sampled_from([0, 1]), scalars, st.integers(min_value=0, max_value=99))
def test_honest_proofs_verify(mark: int, r: int, index: int) -> None:
    c = encrypt(KEY, mark, r)
    proof = prove_bit(STATEMENT, KEY, index, c, mark, r, random_scalar)
    verify_bit(STATEMENT, KEY, index, c, proof)
    assert BitProof.parse(proof.to_json()) == proof
    refused("S-11", "bad_bit_proof", verify_bit, STATEMENT, KEY, index + 1, c, proof)
    refused("S-11", "bad_bit_proof", verify_bit, [b"x", *STATEMENT[1:]], KEY, index, c, proof)


@settings(deadline=None, max_examples=20)
@given(st.sampled_from([2, -1, 3, 7, -5]), st.sampled_from([0, 1]), scalars)
def test_no_proof_for_another_mark(mark: int, claim: int, r: int) -> None:
    """The prover runs the honest algorithm pretending ``claim``: it cannot verify."""
    c = encrypt(KEY, mark, r)
    items = [*STATEMENT, u32(0), c.alpha.raw, c.beta.raw]
    challenges, responses = _disjunctive.prove(
        TAG_BIT, items, KEY, c, 0, 1, claim, r, random_scalar
    )
    refused(
        "S-11", "bad_bit_proof", verify_bit, STATEMENT, KEY, 0, c, BitProof(challenges, responses)
    )


def test_a_mark_with_zero_randomness_still_proves() -> None:
    """r = 0: α is the identity and β = gᵐ; the proof handles the identity."""
    for mark in (0, 1):
        c = encrypt(KEY, mark, 0)
        proof = prove_bit(STATEMENT, KEY, 0, c, mark, 0, random_scalar)
        verify_bit(STATEMENT, KEY, 0, c, proof)


def test_swapping_the_challenges_fails() -> None:
    c = encrypt(KEY, 1, 99)
    proof = prove_bit(STATEMENT, KEY, 0, c, 1, 99, random_scalar)
    swapped = BitProof(proof.challenges[::-1], proof.responses[::-1])
    refused("S-11", "bad_bit_proof", verify_bit, STATEMENT, KEY, 0, c, swapped)


def test_shape_is_checked() -> None:
    refused("S-10", "malformed_proof", BitProof, (1, 2, 3), (1, 2, 3))
    refused("S-10", "malformed_proof", BitProof.parse, {"c": ["A" * 43]})
    refused("S-10", "malformed_proof", BitProof.parse, {"c": ["A" * 43], "v": ["A" * 43]})
    with pytest.raises(ValueError, match="cannot prove 2"):
        prove_bit(STATEMENT, KEY, 0, encrypt(KEY, 2, 5), 2, 5, random_scalar)
