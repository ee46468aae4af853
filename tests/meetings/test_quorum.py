from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meetings.quorum import quorum_status
from registry.quorum import QuorumRule


def test_only_the_composition_counts() -> None:
    status = quorum_status({1, 2, 3, 4, 5}, {1, 2, 3, 99, 100}, QuorumRule())
    assert (status.present, status.composition, status.required, status.met) == (3, 5, 3, True)
    lost = quorum_status({1, 2, 3, 4, 5}, {1, 2, 99}, QuorumRule())
    assert (lost.present, lost.met) == (2, False)


def test_a_stricter_item_rule() -> None:
    composition = set(range(1, 10))
    present = set(range(1, 6))  # 5 of 9
    assert quorum_status(composition, present, QuorumRule()).met
    assert not quorum_status(composition, present, QuorumRule(2, 3, strict=False)).met


@given(
    st.sets(st.integers(1, 60), max_size=40),
    st.sets(st.integers(1, 80), max_size=60),
)
def test_status_is_consistent(composition: set[int], present: set[int]) -> None:
    rule = QuorumRule()
    status = quorum_status(composition, present, rule)
    assert status.present == len(composition & present) <= status.composition
    assert status.met == (bool(composition) and status.present >= status.required)
    # One more member of the body arriving never loses the quorum.
    absent = sorted(composition - present)
    if absent:
        more = quorum_status(composition, present | {absent[0]}, rule)
        assert more.met or not status.met
