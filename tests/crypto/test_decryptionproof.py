"""Decryption proofs: honest partial decryptions verify; a wrong one names its member."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.decryptionproof import DecryptionProof, prove_decryption, verify_decryption
from crypto.elgamal import Ciphertext, encrypt
from crypto.errors import SecretBallotError
from crypto.group import IDENTITY, L, base, random_scalar

FP = b"\x07" * 32
KEY = base(99)
scalars = st.integers(min_value=1, max_value=L - 1)


@settings(deadline=None, max_examples=20)
@given(scalars, scalars, st.integers(min_value=1, max_value=255))
def test_honest_partials_verify_and_others_do_not(share: int, r: int, member: int) -> None:
    total = encrypt(KEY, 3, r)
    d, proof = prove_decryption(FP, KEY, member, share, total, random_scalar)
    assert d == total.alpha * share
    verify_decryption(FP, KEY, member, base(share), total, d, proof)
    assert DecryptionProof.parse(proof.to_json()) == proof
    for args in (
        (FP, KEY, member, base(share + 1), total, d, proof),  # another member's key
        (FP, KEY, member, base(share), total, d + base(1), proof),  # a wrong partial
        (b"\x08" * 32, KEY, member, base(share), total, d, proof),  # another election
    ):
        with pytest.raises(SecretBallotError) as info:
            verify_decryption(*args)  # type: ignore[arg-type]
        assert (info.value.check, info.value.reason, info.value.trustee) == (
            "S-16",
            "bad_decryption_proof",
            member,
        )
        assert f"member {member}" in str(info.value)


def test_the_empty_tally_decrypts_with_identities() -> None:
    d, proof = prove_decryption(FP, KEY, 2, 12345, Ciphertext.zero(), random_scalar)
    assert d == IDENTITY
    verify_decryption(FP, KEY, 2, base(12345), Ciphertext.zero(), d, proof)
