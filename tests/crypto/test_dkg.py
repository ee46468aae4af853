"""Key generation and threshold decryption: any t of n members decrypt (hypothesis),
fewer cannot, bad dealers are caught and disqualified, a lost share does not matter."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.dkg import (
    Complaint,
    DealerCommitment,
    DkgParameters,
    complaint_upheld,
    deal,
    joint_key,
    lagrange_at_zero,
    member_share,
    qualified_dealers,
    verify_share,
)
from crypto.elgamal import DiscreteLogTable, encrypt
from crypto.errors import SecretBallotError
from crypto.group import IDENTITY, L, base, random_scalar
from crypto.knowledgeproof import KnowledgeProof
from crypto.secretballot import (
    BallotForm,
    SecretElection,
    combine,
    partial_decrypt,
)

CTX = b"\x0b" * 32


def refused(check: str, reason: str, call: object, *args: object) -> SecretBallotError:
    with pytest.raises(SecretBallotError) as info:
        call(*args)  # type: ignore[operator]
    assert (info.value.check, info.value.reason) == (check, reason), str(info.value)
    return info.value


def ceremony(
    n: int, t: int
) -> tuple[DkgParameters, list[DealerCommitment], dict[int, dict[int, int]]]:
    params = DkgParameters(CTX, n, t)
    commitments = []
    shares = {}
    for j in range(1, n + 1):
        commitment, dealt = deal(params, j, random_scalar)
        commitments.append(commitment)
        shares[j] = dealt
    return params, commitments, shares


@st.composite
def committees(draw: st.DrawFn) -> tuple[int, int, list[int], int]:
    n = draw(st.integers(min_value=1, max_value=6))
    t = draw(st.integers(min_value=1, max_value=n))
    members = draw(st.permutations(range(1, n + 1)))
    count = draw(st.integers(min_value=0, max_value=20))
    return n, t, sorted(members[: draw(st.integers(min_value=t, max_value=n))]), count


@settings(deadline=None, max_examples=15)
@given(committees())
def test_any_t_members_decrypt(setup: tuple[int, int, list[int], int]) -> None:
    n, t, chosen, count = setup
    params, commitments, shares = ceremony(n, t)
    for commitment in commitments:
        for i in range(1, n + 1):
            verify_share(params, commitment, i, shares[commitment.dealer][i])
    key = joint_key(params, qualified_dealers(params, commitments))
    x = {i: member_share({j: shares[j][i] for j in shares}, key.qualified) for i in range(1, n + 1)}
    for i, k in key.verification_keys.items():
        assert base(x[i]) == k
    # the joint secret is F(0), recovered from any t shares by Lagrange
    secret = sum(lagrange_at_zero(chosen, i) * x[i] for i in chosen) % L
    assert base(secret) == key.key
    election = SecretElection(b"\x0c" * 32, key.key, BallotForm.one_of(1))
    total = (encrypt(key.key, count, random_scalar()),)
    partials = [partial_decrypt(election, i, x[i], total) for i in chosen]
    assert combine(election, key, total, partials, DiscreteLogTable(20)) == (count,)


@settings(deadline=None, max_examples=8)
@given(st.integers(min_value=2, max_value=5))
def test_fewer_than_t_members_learn_nothing_and_are_refused(t: int) -> None:
    params, commitments, shares = ceremony(5, t)
    key = joint_key(params, qualified_dealers(params, commitments))
    x = {i: member_share({j: shares[j][i] for j in shares}, key.qualified) for i in range(1, 6)}
    few = list(range(1, t))
    wrong = sum(lagrange_at_zero(few, i) * x[i] for i in few) % L
    assert base(wrong) != key.key
    election = SecretElection(b"\x0c" * 32, key.key, BallotForm.one_of(1))
    total = (encrypt(key.key, 1, 5),)
    partials = [partial_decrypt(election, i, x[i], total) for i in few]
    refused(
        "S-19",
        "not_enough_decryptions",
        combine,
        election,
        key,
        total,
        partials,
        DiscreteLogTable(5),
    )


def test_a_lost_share_is_replaced_by_the_threshold() -> None:
    params, commitments, shares = ceremony(5, 3)
    key = joint_key(params, qualified_dealers(params, commitments))
    x = {i: member_share({j: shares[j][i] for j in shares}, key.qualified) for i in range(1, 6)}
    del x[1]  # member 1's browser and backup are gone
    election = SecretElection(b"\x0d" * 32, key.key, BallotForm.one_of(2))
    totals = (encrypt(key.key, 4, 11), encrypt(key.key, 2, 12))
    for chosen in ([2, 3, 4], [3, 4, 5], [2, 5, 4]):
        partials = [partial_decrypt(election, i, x[i], totals) for i in chosen]
        assert combine(election, key, totals, partials, DiscreteLogTable(10)) == (4, 2)


def test_a_bad_share_is_caught_and_its_dealer_disqualified() -> None:
    params, commitments, shares = ceremony(4, 2)
    bad = (shares[2][3] + 1) % L
    error = refused("S-14", "bad_share", verify_share, params, commitments[1], 3, bad)
    assert error.trustee == 2
    assert "dealer 2" in str(error)
    # member 3 complains; dealer 2 reveals the same bad share: upheld
    upheld = Complaint(dealer=2, recipient=3, revealed=bad)
    assert complaint_upheld(params, commitments[1], upheld)
    # a silent dealer is disqualified too; a good answer clears the dealer
    assert complaint_upheld(params, commitments[1], Complaint(2, 3, None))
    assert not complaint_upheld(params, commitments[1], Complaint(2, 3, shares[2][3]))
    assert Complaint.parse(upheld.to_json(), params) == upheld
    assert Complaint.parse(Complaint(2, 3, None).to_json(), params).revealed is None
    refused("S-18", "unknown_trustee", Complaint.parse, {**upheld.to_json(), "dealer": 5}, params)
    refused("S-22", "malformed", Complaint.parse, {"dealer": 2}, params)
    qualified = qualified_dealers(params, commitments, [upheld])
    assert [c.dealer for c in qualified] == [1, 3, 4]
    key = joint_key(params, qualified)
    assert (
        key.key
        == commitments[0].commitments[0]
        + commitments[2].commitments[0]
        + (commitments[3].commitments[0])
    )
    x = {i: member_share({j: shares[j][i] for j in shares}, key.qualified) for i in range(1, 5)}
    election = SecretElection(b"\x0e" * 32, key.key, BallotForm.one_of(1))
    totals = (encrypt(key.key, 3, 77),)
    partials = [partial_decrypt(election, i, x[i], totals) for i in (1, 4)]
    assert combine(election, key, totals, partials, DiscreteLogTable(5)) == (3,)


def test_a_dealer_with_a_bad_knowledge_proof_is_left_out() -> None:
    params, commitments, _ = ceremony(3, 2)
    forged = DealerCommitment(
        3, commitments[2].commitments, KnowledgeProof(commitments[2].proof.challenge, 1)
    )
    qualified = qualified_dealers(params, [commitments[0], commitments[1], forged])
    assert [c.dealer for c in qualified] == [1, 2]


def test_key_generation_refusals() -> None:
    params, commitments, _ = ceremony(3, 2)
    refused("S-15", "not_enough_dealers", joint_key, params, commitments[:1])
    refused(
        "S-17", "duplicate_trustee", qualified_dealers, params, [commitments[0], commitments[0]]
    )
    refused("S-18", "unknown_trustee", deal, params, 4, random_scalar)
    refused("S-18", "unknown_trustee", verify_share, params, commitments[0], 0, 5)
    refused("S-23", "bad_parameters", DkgParameters, CTX, 3, 4)
    refused("S-23", "bad_parameters", DkgParameters, CTX, 3, 0)
    refused("S-23", "bad_parameters", DkgParameters, b"short", 3, 2)
    refused("S-23", "bad_parameters", DkgParameters, CTX, 256, 2)
    value = commitments[0].to_json()
    assert DealerCommitment.parse(value, params) == commitments[0]
    refused("S-18", "unknown_trustee", DealerCommitment.parse, {**value, "dealer": 9}, params)
    refused("S-18", "unknown_trustee", DealerCommitment.parse, {**value, "dealer": True}, params)
    refused("S-22", "malformed", DealerCommitment.parse, {**value, "extra": 1}, params)
    identity_first = {**value, "commitments": [IDENTITY.encode(), *value["commitments"][1:]]}  # type: ignore[misc]
    refused("S-6", "identity_not_allowed", DealerCommitment.parse, identity_first, params)


def test_lagrange_coefficients_interpolate_at_zero() -> None:
    rng = random.Random(7)
    coefficients = [rng.randrange(L) for _ in range(4)]

    def f(z: int) -> int:
        return sum(a * z**k for k, a in enumerate(coefficients)) % L

    for members in ([1, 2, 3, 4], [2, 5, 7, 9], [1, 3, 4, 6, 8]):
        assert sum(lagrange_at_zero(members, i) * f(i) for i in members) % L == coefficients[0]
