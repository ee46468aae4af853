"""Whole secret ballots: encrypt, verify (strict and fast paths agree), tally, count,
cast-or-audit, and the refusals a ballot box and a verifier rely on."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.dkg import DkgParameters, deal, joint_key, member_share, qualified_dealers
from crypto.elgamal import DiscreteLogTable
from crypto.encoding import b64u_encode
from crypto.errors import SecretBallotError
from crypto.group import IDENTITY, base, encode_scalar, parse_scalar, random_scalar
from crypto.secretballot import (
    BallotForm,
    BallotOpening,
    EncryptedBallot,
    PartialDecryption,
    SecretElection,
    check_ballot,
    combine,
    encrypt_ballot,
    open_ballot,
    partial_decrypt,
    tally,
    verify_ballot,
    verify_partial,
)
from tests.crypto.make_secret_vectors import cheating_ballot

FP = b"\x10" * 32
VOTER = b"\x11" * 32
OTHER = b"\x12" * 32
SECRET = 987654321
KEY = base(SECRET)
CHAIR = SecretElection(FP, KEY, BallotForm.one_of(3))
PRESIDIUM = SecretElection(FP, KEY, BallotForm.approve_reject(5, 3))


def refused(check: str, reason: str, call: object, *args: object) -> SecretBallotError:
    with pytest.raises(SecretBallotError) as info:
        call(*args)  # type: ignore[operator]
    assert (info.value.check, info.value.reason) == (check, reason), str(info.value)
    return info.value


def both_paths_refuse(election: SecretElection, voter: bytes, value: Any, reason: str) -> None:
    with pytest.raises(SecretBallotError) as fast:
        check_ballot(election, voter, value)
    with pytest.raises(SecretBallotError) as strict:
        verify_ballot(election, voter, EncryptedBallot.parse(value, election.form))
    assert fast.value.reason == strict.value.reason == reason


@st.composite
def approvals(draw: st.DrawFn) -> list[int]:
    marks = draw(st.lists(st.sampled_from([0, 1]), min_size=5, max_size=5))
    return marks if sum(marks) <= 3 else [0, 0, 0, 0, 0]


@settings(deadline=None, max_examples=10)
@given(approvals())
def test_honest_ballots_verify_on_both_paths(marks: list[int]) -> None:
    ballot, opening = encrypt_ballot(PRESIDIUM, VOTER, marks)
    verify_ballot(PRESIDIUM, VOTER, ballot)
    value = ballot.to_json()
    assert check_ballot(PRESIDIUM, VOTER, value) == ballot
    assert EncryptedBallot.parse(value, PRESIDIUM.form) == ballot
    assert open_ballot(PRESIDIUM, VOTER, ballot, opening) == tuple(marks)
    refused("S-11", "bad_bit_proof", verify_ballot, PRESIDIUM, OTHER, ballot)


@settings(deadline=None, max_examples=5)
@given(st.lists(st.integers(min_value=0, max_value=2), min_size=0, max_size=12))
def test_the_count_is_the_sum_of_the_ballots(choices: list[int]) -> None:
    ballots = [encrypt_ballot(CHAIR, VOTER, [int(c == k) for k in range(3)])[0] for c in choices]
    totals = tally(CHAIR, ballots)
    table = DiscreteLogTable(len(choices))
    counts = [table.lookup(t.beta - t.alpha * SECRET) for t in totals]
    assert counts == [choices.count(k) for k in range(3)]


def test_marks_outside_the_form_are_refused_by_the_proofs() -> None:
    cases = [
        ([2, -1, 0], [1, 0, 0], "bad_bit_proof"),  # a mark of 2
        ([-1, 1, 1], [0, 1, 1], "bad_bit_proof"),  # a mark of -1
        ([1, 1, 0], [1, 1, 0], "bad_sum_proof"),  # too many
        ([0, 0, 0], [0, 0, 0], "bad_sum_proof"),  # too few
        ([1, 0, 2], [1, 0, 1], "bad_bit_proof"),  # 2 on the last option
    ]
    for marks, claims, reason in cases:
        value = cheating_ballot(CHAIR, VOTER, marks, claims, f"test {marks}")
        both_paths_refuse(CHAIR, VOTER, value, reason)
    value = cheating_ballot(PRESIDIUM, VOTER, [1, 1, 1, 1, 0], [1, 1, 1, 1, 0], "four for")
    both_paths_refuse(PRESIDIUM, VOTER, value, "bad_sum_proof")


def test_the_encrypting_side_refuses_to_make_a_bad_ballot() -> None:
    with pytest.raises(ValueError, match="marks, the form allows"):
        encrypt_ballot(CHAIR, VOTER, [1, 1, 0])
    with pytest.raises(ValueError, match="must be 3 values"):
        encrypt_ballot(CHAIR, VOTER, [1, 0])


def test_a_ballot_cannot_move() -> None:
    ballot, _ = encrypt_ballot(CHAIR, VOTER, [0, 0, 1])
    value = ballot.to_json()
    for election, voter in (
        (SecretElection(b"\x13" * 32, KEY, CHAIR.form), VOTER),  # another election
        (SecretElection(FP, base(5), CHAIR.form), VOTER),  # another key
        (CHAIR, OTHER),  # another voter
    ):
        both_paths_refuse(election, voter, value, "bad_bit_proof")
    # the same options under another form: the form is in the statement
    other_form = SecretElection(FP, KEY, BallotForm(3, 0, 1))
    with pytest.raises(SecretBallotError) as info:
        check_ballot(
            other_form, VOTER, {**value, "sum_proof": {"c": ["A" * 43] * 2, "v": ["A" * 43] * 2}}
        )
    assert info.value.reason == "bad_bit_proof"


def test_fast_path_reports_the_strict_reason_for_bad_points() -> None:
    ballot, _ = encrypt_ballot(CHAIR, VOTER, [1, 0, 0])
    value = ballot.to_json()
    for field, text, reason in (
        ("alpha", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA", "noncanonical_point"),
        ("beta", b64u_encode((2**255 - 19).to_bytes(32, "little")), "noncanonical_point"),
        ("beta", b64u_encode(bytes([2] * 32)), "point_not_on_curve"),
        ("alpha", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "small_order_point"),
    ):
        bad = copy.deepcopy(value)
        bad["choices"][2][field] = text  # type: ignore[index]
        both_paths_refuse(CHAIR, VOTER, bad, reason)


def test_an_opening_reveals_the_choice_and_nothing_else_passes() -> None:
    ballot, opening = encrypt_ballot(CHAIR, VOTER, [0, 1, 0])
    parsed = BallotOpening.parse(opening.to_json(), CHAIR.form)
    assert open_ballot(CHAIR, VOTER, ballot, parsed) == (0, 1, 0)
    lie = BallotOpening((1, 0, 0), opening.randomness)
    refused("S-21", "audit_mismatch", open_ballot, CHAIR, VOTER, ballot, lie)
    for mark in (True, 1.0):  # equal to 1 in Python, but not a JSON integer mark
        refused(
            "S-21",
            "audit_mismatch",
            BallotOpening.parse,
            {"marks": [0, mark, 0], "randomness": opening.to_json()["randomness"]},
            CHAIR.form,
        )
    refused(
        "S-9",
        "wrong_option_count",
        BallotOpening.parse,
        {"marks": [0, 1], "randomness": ["A" * 43] * 2},
        CHAIR.form,
    )


def test_identity_ciphertexts_are_handled() -> None:
    """Randomness 0 gives α = identity (and β = identity for a 0): such a ballot is
    still well formed and its proofs verify."""
    draws = [0, 0, 0]

    def draw() -> int:
        return draws.pop() if draws else random_scalar()

    ballot, _ = encrypt_ballot(CHAIR, VOTER, [1, 0, 0], draw)
    assert ballot.ciphertexts[1].alpha == IDENTITY
    assert ballot.ciphertexts[1].beta == IDENTITY
    assert check_ballot(CHAIR, VOTER, ballot.to_json()) == ballot


def test_shapes_are_checked() -> None:
    ballot, _ = encrypt_ballot(CHAIR, VOTER, [1, 0, 0])
    value = ballot.to_json()
    refused("S-22", "malformed", EncryptedBallot.parse, [], CHAIR.form)
    refused("S-22", "malformed", EncryptedBallot.parse, {**value, "x": 1}, CHAIR.form)
    refused("S-22", "malformed", EncryptedBallot.parse, {**value, "choices": {}}, CHAIR.form)
    refused("S-9", "wrong_option_count", EncryptedBallot.parse, value, BallotForm.one_of(4))
    refused("S-10", "malformed_proof", EncryptedBallot.parse, value, BallotForm(3, 0, 1))
    refused("S-22", "malformed", verify_ballot, CHAIR, b"short", ballot)
    refused("S-23", "bad_parameters", BallotForm, 3, 2, 1)
    refused("S-23", "bad_parameters", BallotForm, 0, 0, 0)
    refused("S-23", "bad_parameters", SecretElection, b"x", KEY, CHAIR.form)
    refused("S-6", "identity_not_allowed", SecretElection, FP, IDENTITY, CHAIR.form)


def make_commission() -> tuple[Any, dict[int, int], SecretElection]:
    params = DkgParameters(b"\x14" * 32, 5, 3)
    dealt = [deal(params, j, random_scalar) for j in range(1, 6)]
    key = joint_key(params, qualified_dealers(params, [c for c, _ in dealt]))
    x = {i: member_share({c.dealer: s[i] for c, s in dealt}, key.qualified) for i in range(1, 6)}
    return key, x, SecretElection(FP, key.key, BallotForm.one_of(3))


def test_the_count_and_its_refusals() -> None:
    key, x, election = make_commission()
    ballots = [encrypt_ballot(election, bytes([v]) * 32, [0, 1, 0])[0] for v in range(4)]
    ballots.append(encrypt_ballot(election, b"\x09" * 32, [1, 0, 0])[0])
    totals = tally(election, ballots)
    partials = {i: partial_decrypt(election, i, x[i], totals) for i in range(1, 6)}
    table = DiscreteLogTable(5)
    assert combine(election, key, totals, [partials[i] for i in (5, 2, 1)], table) == (1, 4, 0)
    assert combine(election, key, totals, list(partials.values()), table) == (1, 4, 0)
    for p in partials.values():
        assert PartialDecryption.parse(p.to_json(), 3) == p
        verify_partial(election, key, totals, p)
    # a member's partial made with another member's share: named
    forged = partial_decrypt(election, 2, x[3], totals)
    error = refused(
        "S-16",
        "bad_decryption_proof",
        combine,
        election,
        key,
        totals,
        [partials[1], forged, partials[4]],
        table,
    )
    assert error.trustee == 2
    refused(
        "S-17",
        "duplicate_trustee",
        combine,
        election,
        key,
        totals,
        [partials[1], partials[1], partials[4]],
        table,
    )
    refused(
        "S-19",
        "not_enough_decryptions",
        combine,
        election,
        key,
        totals,
        [partials[1], partials[4]],
        table,
    )
    refused(
        "S-20",
        "count_out_of_range",
        combine,
        election,
        key,
        totals,
        [partials[1], partials[2], partials[4]],
        DiscreteLogTable(3),
    )
    # partials of another tally (one ballot fewer) do not verify for this one
    other = tally(election, ballots[:-1])
    stale = partial_decrypt(election, 4, x[4], other)
    refused("S-16", "bad_decryption_proof", verify_partial, election, key, totals, stale)
    stranger = PartialDecryption(6, partials[5].partials, partials[5].proofs)
    refused("S-18", "unknown_trustee", verify_partial, election, key, totals, stranger)
    short = PartialDecryption(3, partials[3].partials[:2], partials[3].proofs[:2])
    refused("S-9", "wrong_option_count", verify_partial, election, key, totals, short)
    other_election = SecretElection(FP, base(3), election.form)
    refused(
        "S-23",
        "bad_parameters",
        combine,
        other_election,
        key,
        totals,
        list(partials.values()),
        table,
    )
    value = partials[1].to_json()
    refused("S-18", "unknown_trustee", PartialDecryption.parse, {**value, "member": 0}, 3)
    refused("S-22", "malformed", PartialDecryption.parse, {"member": 1}, 3)
    refused("S-9", "wrong_option_count", PartialDecryption.parse, value, 2)


def test_fast_path_reports_the_first_problem_in_document_order() -> None:
    ballot, _ = encrypt_ballot(CHAIR, VOTER, [1, 0, 0])
    bad = copy.deepcopy(ballot.to_json())
    bad["choices"][0]["alpha"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # type: ignore[index]
    bad["choices"][1]["proof"]["c"][0] = "_" * 42 + "w"  # type: ignore[index]
    both_paths_refuse(CHAIR, VOTER, bad, "small_order_point")


TAMPER_BALLOT = encrypt_ballot(CHAIR, VOTER, [0, 0, 1])[0].to_json()


@settings(deadline=None, max_examples=25)
@given(
    st.integers(min_value=0, max_value=3),
    st.sampled_from(["c", "v"]),
    st.integers(min_value=0, max_value=1),
    st.integers(min_value=1, max_value=2**252),
)
def test_changing_any_scalar_is_refused(where: int, name: str, index: int, delta: int) -> None:
    value = copy.deepcopy(TAMPER_BALLOT)
    proof = value["sum_proof"] if where == 3 else value["choices"][where]["proof"]  # type: ignore[index]
    index = min(index, len(proof[name]) - 1)
    proof[name][index] = encode_scalar(parse_scalar(proof[name][index]) + delta)
    with pytest.raises(SecretBallotError) as info:
        check_ballot(CHAIR, VOTER, value)
    assert info.value.reason == ("bad_sum_proof" if where == 3 else "bad_bit_proof")


@settings(deadline=None, max_examples=25)
@given(
    st.integers(min_value=0, max_value=2),
    st.sampled_from(["alpha", "beta"]),
    st.binary(min_size=32, max_size=32),
)
def test_fast_and_strict_paths_agree_on_any_point(where: int, field: str, raw: bytes) -> None:
    value = copy.deepcopy(TAMPER_BALLOT)
    value["choices"][where][field] = b64u_encode(raw)  # type: ignore[index]
    verdicts = []
    for run in (
        lambda: check_ballot(CHAIR, VOTER, value),
        lambda: verify_ballot(CHAIR, VOTER, EncryptedBallot.parse(value, CHAIR.form)),
    ):
        try:
            run()
        except SecretBallotError as exc:
            verdicts.append((exc.check, exc.reason))
        else:  # pragma: no cover - a random point is never the right one
            verdicts.append(("accepted", ""))
    assert verdicts[0] == verdicts[1]
    assert verdicts[0][0] != "accepted"
