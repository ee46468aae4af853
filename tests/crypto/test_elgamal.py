"""Exponential ElGamal: the homomorphism (hypothesis), decryption and the table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.elgamal import Ciphertext, DiscreteLogTable, decrypt, encrypt
from crypto.errors import SecretBallotError
from crypto.group import IDENTITY, L, base

scalars = st.integers(min_value=1, max_value=L - 1)
counts = st.integers(min_value=0, max_value=50)


@settings(deadline=None, max_examples=30)
@given(scalars, counts, scalars, counts, scalars)
def test_adding_ciphertexts_adds_counts(x: int, m1: int, r1: int, m2: int, r2: int) -> None:
    key = base(x)
    total = encrypt(key, m1, r1) + encrypt(key, m2, r2)
    assert total == encrypt(key, m1 + m2, r1 + r2)
    assert decrypt(total, x) == base(m1 + m2)
    assert DiscreteLogTable(100).lookup(decrypt(total, x)) == m1 + m2


def test_zero_with_zero_randomness_is_the_identity_pair() -> None:
    key = base(12345)
    assert encrypt(key, 0, 0) == Ciphertext.zero() == Ciphertext(IDENTITY, IDENTITY)
    assert decrypt(Ciphertext.zero(), 12345) == IDENTITY
    assert DiscreteLogTable(0).lookup(IDENTITY) == 0


def test_a_count_of_zero_decrypts_to_the_identity() -> None:
    key = base(777)
    assert decrypt(encrypt(key, 0, 999), 777) == IDENTITY


def test_table_refuses_what_is_out_of_range() -> None:
    table = DiscreteLogTable(3)
    assert [table.lookup(base(k)) for k in range(4)] == [0, 1, 2, 3]
    for point in (base(4), base(-1), base(10**9)):
        with pytest.raises(SecretBallotError) as info:
            table.lookup(point)
        assert (info.value.check, info.value.reason) == ("S-20", "count_out_of_range")


def test_ciphertext_parse_validates() -> None:
    c = encrypt(base(5), 1, 6)
    assert Ciphertext.parse(c.alpha.encode(), c.beta.encode()) == c
    with pytest.raises(SecretBallotError) as info:
        Ciphertext.parse(c.alpha.encode(), "A" * 43)
    assert info.value.reason == "small_order_point"  # all zero bytes: a point of order 4
