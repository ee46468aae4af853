"""The JSON limits: refusals before parsing (depth, numbers) and after (strings, arrays)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.canonical import CanonicalJSONError, parse_json
from crypto.jsonlimits import (
    API_LIMITS,
    DOCUMENT_LIMITS,
    JSONLimitError,
    JSONLimits,
    check_text,
    loads,
)

SMALL = JSONLimits(depth=3, digits=4, string=5, items=3)


@pytest.mark.parametrize(
    ("text", "reason", "message"),
    [
        ("[[[[1]]]]", "too_deep", "nested deeper than 3"),
        ('{"a":{"b":{"c":{}}}}', "too_deep", "nested deeper than 3"),
        ("[12345]", "number_too_long", "a number at character 1 has more than 4 digits"),
        ("[1.23456]", "number_too_long", "more than 4 digits"),
        ('["abcdef"]', "string_too_long", "$[0]: a string of 6 characters; at most 5"),
        ('{"abcdef":1}', "string_too_long", "$: a member name of 6 characters"),
        ("[1,2,3,4]", "too_many_items", "$: 4 items; at most 3"),
        ('{"a":[1,2,3,4]}', "too_many_items", "$.a: 4 items; at most 3"),
        ("[1e999]", "number_out_of_range", "$[0]: a number beyond the range of a double"),
        ("[NaN]", "invalid_json", "NaN is not a JSON number"),
        ("[1,", "invalid_json", "Expecting value"),
        (b'"\xff"', "invalid_json", "not valid UTF-8 at byte 1"),
    ],
)
def test_refusals_say_what_and_where(text: str | bytes, reason: str, message: str) -> None:
    with pytest.raises(JSONLimitError) as info:
        loads(text, SMALL)
    assert info.value.reason == reason
    assert message in str(info.value)


def test_what_is_inside_strings_is_not_structure() -> None:
    # Brackets and digits inside a string are characters, not nesting or numbers.
    assert loads('["[[[[", "12345"]', JSONLimits(depth=1, digits=1, string=5, items=2)) == [
        "[[[[",
        "12345",
    ]
    assert loads('["a\\"[[[[["]', JSONLimits(depth=1, digits=1, string=10, items=1)) == ['a"[[[[[']


def test_a_hundred_thousand_brackets_are_refused_without_recursion() -> None:
    for limits in (API_LIMITS, DOCUMENT_LIMITS):
        with pytest.raises(JSONLimitError) as info:
            loads("[" * 100_000 + "]" * 100_000, limits)
        assert info.value.reason == "too_deep"


def test_canonical_parser_applies_the_document_limits() -> None:
    for data, reason in (
        (b'{"vote":' + b"9" * 400 + b"}", "number_too_long"),
        (b"[" * 100_000, "too_deep"),
        (b"[" + b"9" * 5000 + b"]", "number_too_long"),
    ):
        with pytest.raises(CanonicalJSONError) as info:
            parse_json(data)
        assert info.value.reason == reason


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"JSONLimits\.depth must be a positive int"):
        JSONLimits(depth=0, digits=1, string=1, items=1)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(_json, st.integers(1, 6))
def test_accepted_exactly_when_within_the_depth(value: object, depth: int) -> None:
    """The text check and the walk agree with a direct count of the nesting."""
    limits = JSONLimits(depth=depth, digits=7, string=8, items=4)
    text = json.dumps(value, ensure_ascii=False)
    if _depth(value) <= depth:
        assert loads(text, limits) == value
    else:
        with pytest.raises(JSONLimitError) as info:
            loads(text, limits)
        assert info.value.reason == "too_deep"


@given(st.text())
def test_check_text_never_fails_otherwise(text: str) -> None:
    """Any text at all: refused with a limit's reason, or passed to the parser."""
    reason = None
    try:
        check_text(text, SMALL)
    except JSONLimitError as exc:
        reason = exc.reason
    assert reason in {None, "too_deep", "number_too_long"}
