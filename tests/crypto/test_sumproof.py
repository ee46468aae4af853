"""Sum proofs over any range: counts inside verify, counts outside cannot (S-12)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import _disjunctive
from crypto.challenge import TAG_SUM
from crypto.elgamal import encrypt
from crypto.errors import SecretBallotError
from crypto.group import L, base, random_scalar
from crypto.sumproof import SumProof, prove_sum, verify_sum

KEY = base(31337)
STATEMENT = [b"\x05" * 32, KEY.raw]
scalars = st.integers(min_value=1, max_value=L - 1)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[int, int, int]:
    lo = draw(st.integers(min_value=0, max_value=4))
    hi = draw(st.integers(min_value=lo, max_value=lo + 4))
    return lo, hi, draw(st.integers(min_value=lo, max_value=hi))


@settings(deadline=None, max_examples=15)
@given(ranges(), scalars)
def test_counts_in_range_verify(bounds: tuple[int, int, int], r: int) -> None:
    lo, hi, count = bounds
    total = encrypt(KEY, count, r)
    proof = prove_sum(STATEMENT, KEY, total, lo, hi, count, r, random_scalar)
    verify_sum(STATEMENT, KEY, total, lo, hi, proof)
    assert SumProof.parse(proof.to_json(), branches=hi - lo + 1) == proof
    with pytest.raises(SecretBallotError) as info:
        verify_sum(STATEMENT, KEY, encrypt(KEY, count, r + 1), lo, hi, proof)
    assert info.value.reason == "bad_sum_proof"


@settings(deadline=None, max_examples=15)
@given(ranges(), st.sampled_from([-1, 1]), scalars)
def test_counts_outside_cannot_prove(bounds: tuple[int, int, int], side: int, r: int) -> None:
    lo, hi, claim = bounds
    count = hi + 1 if side > 0 else lo - 1
    total = encrypt(KEY, count, r)
    items = [*STATEMENT, total.alpha.raw, total.beta.raw]
    challenges, responses = _disjunctive.prove(
        TAG_SUM, items, KEY, total, lo, hi, claim, r, random_scalar
    )
    with pytest.raises(SecretBallotError) as info:
        verify_sum(STATEMENT, KEY, total, lo, hi, SumProof(challenges, responses))
    assert (info.value.check, info.value.reason) == ("S-12", "bad_sum_proof")


def test_branch_count_must_match_the_form() -> None:
    total = encrypt(KEY, 1, 5)
    proof = prove_sum(STATEMENT, KEY, total, 1, 1, 1, 5, random_scalar)
    with pytest.raises(SecretBallotError) as info:
        verify_sum(STATEMENT, KEY, total, 0, 1, proof)
    assert info.value.reason == "malformed_proof"
