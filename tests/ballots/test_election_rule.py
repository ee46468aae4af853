"""The election rule: worked examples, the refusals, and its algebra under hypothesis."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.election_rule import (
    CountsInvalid,
    ElectionCounts,
    ElectionOutcome,
    ElectionRule,
    QuestionCounts,
    decide_election,
    decide_question,
)


def approve(seats: int, took_part: int, yes: list[int], no: list[int] | None = None) -> Any:
    against = no if no is not None else [took_part - y for y in yes]
    return ElectionCounts("approve_each", seats, took_part, tuple(yes), tuple(against))


# --- worked examples (the ones docs/elections.md gives) -------------------------------------


def test_a_chair_by_one_of_three() -> None:
    # 11 took part: 6 is more than half, 5 is not.
    out = decide_election(ElectionCounts("one_of", 1, 11, (6, 3, 2)))
    assert out == ElectionOutcome(True, (0,), (0,), (), 0, 0)
    out = decide_election(ElectionCounts("one_of", 1, 11, (5, 4, 2)))
    assert (out.elected, out.vacant, out.passed) == ((), 1, ())


def test_more_passing_than_seats_the_most_votes_win() -> None:
    # Three seats of the presidium, 30 took part; four pass the half (16+), 15 does not.
    out = decide_election(approve(3, 30, [20, 16, 22, 17, 0, 15]))
    assert out.passed == (0, 1, 2, 3)
    assert out.elected == (2, 0, 3)
    assert out.complete


def test_a_tie_at_the_boundary_is_reported_not_broken() -> None:
    out = decide_election(approve(2, 20, [14, 12, 12, 2]))
    assert out.elected == (0,)
    assert out.tied == (1, 2)
    assert out.tied_seats == 1
    assert not out.complete


def test_a_tie_that_fits_the_seats_elects_all_tied() -> None:
    out = decide_election(approve(3, 20, [15, 12, 12, 3]))
    assert (out.elected, out.tied) == ((0, 1, 2), ())


def test_fewer_passing_than_seats_leaves_seats_vacant() -> None:
    out = decide_election(approve(3, 10, [6, 5, 9]))
    assert (out.elected, out.vacant) == ((2, 0), 1)


def test_exactly_half_is_not_more_than_half() -> None:
    assert decide_election(approve(1, 10, [5])).elected == ()
    at_least = ElectionRule(strict=False)
    assert decide_election(approve(1, 10, [5]), at_least).elected == (0,)


def test_the_composition_as_the_base() -> None:
    rule = ElectionRule(base="composition")
    counts = ElectionCounts("one_of", 1, 10, (6, 4), composition=15)
    assert decide_election(counts, rule).elected == ()  # 6 of 15 is not more than half
    counts = ElectionCounts("one_of", 1, 10, (8, 2), composition=15)
    assert decide_election(counts, rule).elected == (0,)


def test_two_thirds() -> None:
    rule = ElectionRule(numerator=2, denominator=3, strict=False)
    assert decide_election(approve(1, 9, [6]), rule).elected == (0,)
    assert decide_election(approve(1, 9, [5]), rule).elected == ()


def test_turnout_not_met_elects_nobody() -> None:
    rule = ElectionRule(turnout=(1, 2))
    counts = ElectionCounts("one_of", 1, 5, (5,), roll=10)
    out = decide_election(counts, rule)
    assert (out.valid, out.elected, out.vacant) == (False, (), 1)
    counts = ElectionCounts("one_of", 1, 6, (6,), roll=10)
    assert decide_election(counts, rule).elected == (0,)


def test_nobody_elected_without_a_vote_even_at_least_half_of_nobody() -> None:
    rule = ElectionRule(strict=False)
    assert decide_election(approve(2, 0, [0, 0]), rule).elected == ()
    assert decide_question(QuestionCounts(0, 0, 0, 0), rule) is False


def test_questions() -> None:
    assert decide_question(QuestionCounts(6, 4, 1, 11)) is True
    assert decide_question(QuestionCounts(5, 4, 2, 11)) is False  # abstentions count in the base
    assert decide_question(QuestionCounts(9, 1, 0, 10, composition=17), ElectionRule("composition"))
    assert not decide_question(
        QuestionCounts(9, 1, 0, 10, composition=17),
        ElectionRule("composition", numerator=2, denominator=3),
    )


# --- refused counts and rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ElectionRule(base="present"), "rule base must be one of"),
        (lambda: ElectionRule(numerator=3, denominator=2), "rule fraction must be in (0, 1]"),
        (lambda: ElectionRule(numerator=0), "rule fraction must be in (0, 1]"),
        (lambda: ElectionRule(numerator=1, denominator=1001), "denominator ≤ 1000"),
        (lambda: ElectionRule(turnout=(2, 1)), "turnout fraction"),
        (lambda: ElectionRule(numerator=True), "whole numbers"),  # type: ignore[arg-type]
        (lambda: ElectionCounts("ranked", 1, 3, (1,)), "form must be one of"),
        (lambda: ElectionCounts("one_of", 0, 3, (1,)), "seats must be at least 1"),
        (lambda: ElectionCounts("one_of", 1, -1, (0,)), "took_part must be a whole number"),
        (lambda: ElectionCounts("one_of", 1, 3, ()), "at least one candidate"),
        (lambda: ElectionCounts("one_of", 1, 3, (4,)), "candidate 1 has more «за» (4)"),
        (lambda: ElectionCounts("one_of", 1, 3, (2, 2)), "one mark per ballot"),
        (lambda: ElectionCounts("one_of", 1, 3, (1,), (1,)), "no «против»"),
        (lambda: ElectionCounts("one_of", 1, 3, (-1,)), "must be a whole number ≥ 0"),
        (lambda: ElectionCounts("approve_each", 1, 3, (1,)), "«против» count for every"),
        (lambda: ElectionCounts("approve_each", 1, 3, (1, 1), (1,)), "«против» count for every"),
        (lambda: ElectionCounts("approve_each", 1, 3, (2,), (2,)), "more marks (4)"),
        (lambda: ElectionCounts("approve_each", 1, 3, (3, 3), (0, 0)), "at most 1 «за» per"),
        (lambda: ElectionCounts("one_of", 1, 5, (1,), composition=4), "than the composition"),
        (lambda: QuestionCounts(1, 1, 1, 4), "must equal the number who took part"),
        (lambda: QuestionCounts(1, 1, 1, 3, roll=2), "roll must be a whole number ≥ took_part"),
    ],
)
def test_refused(make: Any, message: str) -> None:
    with pytest.raises(CountsInvalid) as caught:
        make()
    assert message in str(caught.value)


def test_a_base_or_a_roll_the_rule_needs_must_be_given() -> None:
    with pytest.raises(CountsInvalid, match="give the composition"):
        decide_election(approve(1, 3, [2]), ElectionRule("composition"))
    with pytest.raises(CountsInvalid, match="give the size of the roll"):
        decide_election(approve(1, 3, [2]), ElectionRule(turnout=(1, 2)))


# --- the algebra -------------------------------------------------------------------------------


@st.composite
def elections(draw: st.DrawFn) -> tuple[ElectionCounts, ElectionRule]:
    took_part = draw(st.integers(0, 40))
    seats = draw(st.integers(1, 5))
    n = draw(st.integers(1, 8))
    yes = [draw(st.integers(0, took_part)) for _ in range(n)]
    # Ballots are «за» at most ``seats`` times: cap the total as an honest count would.
    while sum(yes) > seats * took_part:
        yes[yes.index(max(yes))] -= 1
    no = [draw(st.integers(0, took_part - y)) for y in yes]
    numerator = draw(st.integers(1, 4))
    denominator = draw(st.integers(numerator, 5))
    rule = ElectionRule("took_part", numerator, denominator, draw(st.booleans()))
    return ElectionCounts("approve_each", seats, took_part, tuple(yes), tuple(no)), rule


@given(elections())
def test_seats_are_never_exceeded_and_tied_seats_add_up(case: Any) -> None:
    counts, rule = case
    out = decide_election(counts, rule)
    assert len(out.elected) + out.tied_seats + out.vacant == counts.seats
    assert len(out.elected) <= counts.seats
    assert set(out.elected) <= set(out.passed)
    assert set(out.tied) <= set(out.passed)
    assert not set(out.elected) & set(out.tied)
    if out.tied:
        assert len(out.tied) > out.tied_seats > 0


@given(elections())
def test_everyone_elected_has_more_votes_than_anyone_passed_over(case: Any) -> None:
    counts, rule = case
    out = decide_election(counts, rule)
    votes = counts.votes_for
    losers = [i for i in out.passed if i not in out.elected]
    for winner in out.elected:
        assert all(votes[winner] > votes[loser] for loser in losers)
    assert len({votes[i] for i in out.tied}) <= 1


@given(elections())
def test_passing_is_exactly_the_threshold(case: Any) -> None:
    counts, rule = case
    out = decide_election(counts, rule)
    for i, yes in enumerate(counts.votes_for):
        share = yes * rule.denominator - rule.numerator * counts.took_part
        reached = share > 0 if rule.strict else share >= 0
        assert (i in out.passed) == (reached and yes > 0)


@given(elections(), st.randoms(use_true_random=False))
def test_the_order_on_the_ballot_does_not_matter(case: Any, rnd: Any) -> None:
    counts, rule = case
    order = list(range(len(counts.votes_for)))
    rnd.shuffle(order)
    assert counts.votes_against is not None
    shuffled = ElectionCounts(
        "approve_each",
        counts.seats,
        counts.took_part,
        tuple(counts.votes_for[i] for i in order),
        tuple(counts.votes_against[i] for i in order),
    )
    a, b = decide_election(counts, rule), decide_election(shuffled, rule)
    assert {order[i] for i in b.elected} == set(a.elected)
    assert {order[i] for i in b.tied} == set(a.tied)
    assert (a.tied_seats, a.vacant) == (b.tied_seats, b.vacant)


@given(elections())
def test_with_distinct_votes_there_is_never_a_tie(case: Any) -> None:
    counts, rule = case
    if len(set(counts.votes_for)) == len(counts.votes_for):
        assert decide_election(counts, rule).tied == ()


@given(elections(), st.data())
def test_one_more_vote_for_a_winner_keeps_them_elected(case: Any, data: Any) -> None:
    counts, rule = case
    out = decide_election(counts, rule)
    if not out.elected:
        return
    winner = data.draw(st.sampled_from(out.elected))
    assert counts.votes_against is not None
    if counts.votes_against[winner] == 0:
        return
    # A voter who marked «против» marks «за» instead (took_part unchanged).
    yes = list(counts.votes_for)
    no = list(counts.votes_against)
    yes[winner] += 1
    no[winner] -= 1
    if sum(yes) > counts.seats * counts.took_part:
        return
    more = ElectionCounts("approve_each", counts.seats, counts.took_part, tuple(yes), tuple(no))
    assert winner in decide_election(more, rule).elected


@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.integers(1, 4), st.booleans())
def test_a_question_is_an_election_of_one_seat(
    yes: int, no: int, abstain: int, numerator: int, strict: bool
) -> None:
    took_part = yes + no + abstain
    rule = ElectionRule("took_part", numerator, 4, strict)
    adopted = decide_question(QuestionCounts(yes, no, abstain, took_part), rule)
    as_election = decide_election(approve(1, took_part, [yes], [no]), rule)
    assert adopted == (as_election.elected == (0,))
