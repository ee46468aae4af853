from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.quorum import QuorumRule


@pytest.mark.parametrize(
    ("rule", "size", "needed"),
    [
        (QuorumRule(), 11, 6),  # more than half of 11
        (QuorumRule(), 10, 6),  # more than half of 10 is 6, not 5
        (QuorumRule(), 1, 1),
        (QuorumRule(2, 3, strict=False), 9, 6),  # at least two thirds of 9
        (QuorumRule(2, 3, strict=False), 10, 7),
        (QuorumRule(2, 3, strict=True), 9, 7),  # more than two thirds of 9
        (QuorumRule(1, 1, strict=False), 5, 5),
        (QuorumRule(), 0, 1),  # an empty body never decides
    ],
)
def test_required(rule: QuorumRule, size: int, needed: int) -> None:
    assert rule.required(size) == needed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 2, True), "quorum fraction must be within (0, 1], got 0/2"),
        ((3, 2, False), "quorum fraction must be within (0, 1], got 3/2"),
        ((1, 0, True), "quorum denominator must be positive, got 0"),
        ((2, 2, True), "'more than the whole body' can never be met"),
    ],
)
def test_invalid_rules(args: tuple[int, int, bool], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        QuorumRule(*args)


rules = st.integers(2, 12).flatmap(
    lambda d: st.one_of(
        st.builds(QuorumRule, st.integers(1, d - 1), st.just(d), st.just(True)),
        st.builds(QuorumRule, st.integers(1, d), st.just(d), st.just(False)),
    )
)


@given(rules, st.integers(1, 500))
def test_required_is_the_exact_threshold(rule: QuorumRule, size: int) -> None:
    needed = rule.required(size)
    share = Fraction(rule.numerator, rule.denominator) * size

    def meets(present: int) -> bool:
        return present > share if rule.strict else present >= share

    assert meets(needed)
    assert not meets(needed - 1)
    assert 1 <= needed <= size or (rule.strict and needed == size + 1 and not meets(size))


@given(rules, st.integers(1, 300), st.integers(0, 300))
def test_is_met_is_monotonic(rule: QuorumRule, size: int, present: int) -> None:
    if rule.is_met(present, size):
        assert rule.is_met(present + 1, size)
