"""crypto.canonical: RFC 8785 canonical JSON, its signed profile and strict parsing."""

from __future__ import annotations

import json
import math
import struct
from collections import OrderedDict
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crypto.canonical as canonical_module
from crypto.canonical import (
    MAX_DEPTH,
    CanonicalJSONError,
    canonicalize,
    canonicalize_signed,
    format_number,
    parse_canonical,
    parse_canonical_signed,
    parse_json,
)
from crypto.errors import CredentialError


def rejects(reason: str, value: object, *, signed: bool = False) -> CanonicalJSONError:
    with pytest.raises(CanonicalJSONError) as info:
        (canonicalize_signed if signed else canonicalize)(value)
    assert info.value.reason == reason
    return info.value


# --- RFC 8785 examples --------------------------------------------------------------


def test_rfc8785_sample_object() -> None:
    # RFC 8785 §3.2.2, input exactly as printed there.
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    assert (
        canonicalize(json.loads(text))
        == (
            '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
        ).encode()
    )


def test_rfc8785_sorting_example() -> None:
    # RFC 8785 §3.2.3: names compared as UTF-16 code units.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = [key for key in json.loads(canonicalize(value))]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    ("bits", "expected"),
    [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ],
)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonicalize(value) == expected.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_rfc8785_appendix_b_non_finite_rejected(bits: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    error = rejects("non_finite_number", [value])
    assert error.path == "$[0]"
    assert str(error).endswith("is not allowed (RFC 8785 §3.2.2.3)")


# --- numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4.5, "4.5"),
        (2e-7, "2e-7"),
        (1e-6, "0.000001"),
        (1e30, "1e+30"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (123.456, "123.456"),
        (0.1, "0.1"),
        (5e-324, "5e-324"),
        (1.2345e-7, "1.2345e-7"),
        (1.2345e25, "1.2345e+25"),
    ],
)
def test_floats_follow_ecmascript(value: float, expected: str) -> None:
    assert format_number(value) == expected
    assert canonicalize(value) == expected.encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (-7, "-7"),
        (2**53 - 1, "9007199254740991"),
        (-(2**53 - 1), "-9007199254740991"),
        (2**53, "9007199254740992"),
        (10**21, "1e+21"),  # as JavaScript writes the same double
        (2**68, "295147905179352830000"),
    ],
)
def test_integers(value: int, expected: str) -> None:
    assert canonicalize(value) == expected.encode()


def test_integers_that_are_not_doubles_are_rejected() -> None:
    error = rejects("integer_out_of_range", {"n": 2**53 + 1})
    assert str(error) == (
        "$.n: integer 9007199254740993 is not exactly representable as an IEEE 754 double "
        "(RFC 8785 §3.2.2.3); JavaScript would silently round it"
    )
    rejects("integer_out_of_range", 10**400)


def test_bools_are_not_numbers() -> None:
    assert canonicalize([True, False, 1, 0]) == b"[true,false,1,0]"


def test_int_and_float_subclasses() -> None:
    class Count(int):
        pass

    class Ratio(float):
        pass

    assert canonicalize([Count(3), Ratio(0.5)]) == b"[3,0.5]"


# --- strings ------------------------------------------------------------------------


def test_string_escapes() -> None:
    controls = "".join(chr(c) for c in range(0x20))
    expected = (
        '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r'
        "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
        '\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"'
    )
    assert canonicalize(controls) == expected.encode()
    assert canonicalize('"\\/') == b'"\\"\\\\/"'
    assert canonicalize("\x7f\u2028\u2029") == '"\x7f\u2028\u2029"'.encode()


def test_unicode_is_literal_utf8() -> None:
    assert canonicalize("Профсоюз € 😀") == '"Профсоюз € 😀"'.encode()


@pytest.mark.parametrize(
    "text",
    # Built with chr(): a Python str may hold surrogates, source tools may not.
    [chr(0xD800), "a" + chr(0xDC00), chr(0xD83D) + chr(0xDE00), chr(0xDFFF)],
)
def test_surrogates_are_rejected(text: str) -> None:
    error = rejects("lone_surrogate", {"x": [text]})
    assert error.path == "$.x[0]"
    assert "which has no UTF-8 form" in str(error)


def test_surrogate_in_member_name() -> None:
    error = rejects("lone_surrogate", {"ok": 1, "\ud800": 2})
    assert error.path == '$["\\ud800"]'
    assert "member name holds the surrogate code point U+D800 at index 0" in str(error)


# --- containers ---------------------------------------------------------------------


def test_members_sorted_by_utf16_code_units_not_code_points() -> None:
    value = {"\uffff": 1, "\U00010000": 2, "\ue000": 3}
    assert canonicalize(value) == '{"\U00010000":2,"\ue000":3,"\uffff":1}'.encode()


def test_any_mapping_and_sequence_kind() -> None:
    value = MappingProxyType({"b": (1, 2), "a": OrderedDict(z=[], y={})})
    assert canonicalize(value) == b'{"a":{"y":{},"z":[]},"b":[1,2]}'


def test_non_string_key() -> None:
    error = rejects("non_string_key", {"ballot": {1: "x"}})
    assert str(error) == "$.ballot: object member name 1 is a int, not a string"


@pytest.mark.parametrize(
    ("value", "path", "kind"),
    [
        ({"ballot": {"choices": [1, 2, b"x"]}}, "$.ballot.choices[2]", "bytes"),
        ({1.5, 2.5}, "$", "set"),
        ({"a b": object()}, '$["a b"]', "object"),
        ([float], "$[0]", "type"),
    ],
)
def test_unsupported_types_name_the_path(value: object, path: str, kind: str) -> None:
    error = rejects("unsupported_type", value)
    assert error.path == path
    assert str(error) == f"{path}: a value of type {kind} has no JSON form"
    assert isinstance(error, TypeError)
    assert isinstance(error, ValueError)
    assert isinstance(error, CredentialError)


def test_depth_limit() -> None:
    value: object = 1
    for _ in range(MAX_DEPTH):
        value = [value]
    assert canonicalize(value) == b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH
    error = rejects("too_deep", {"a": value})
    assert str(error).endswith(f"nested deeper than {MAX_DEPTH} arrays/objects")


def test_cycles_are_rejected() -> None:
    loop: dict[str, object] = {}
    loop["self"] = [loop]
    error = rejects("cycle", loop)
    assert error.path == "$.self[0]"


def test_shared_subvalue_is_not_a_cycle() -> None:
    shared = [1]
    assert canonicalize([shared, shared]) == b"[[1],[1]]"


# --- the signed profile -------------------------------------------------------------


def test_signed_profile_accepts_kvorum_payloads() -> None:
    payload = {"type": "kvorum.test", "v": 1, "n": -(2**53 - 1), "name": "Иванова"}
    assert canonicalize_signed(payload) == canonicalize(payload)


def test_signed_profile_rejects_floats_even_integral() -> None:
    error = rejects("float_not_allowed", {"v": 1.0}, signed=True)
    assert str(error) == "$.v: 1.0: signed payloads hold integers only (use int, not float)"


@pytest.mark.parametrize("value", [2**53, -(2**53), 10**21])
def test_signed_profile_integer_range(value: int) -> None:
    error = rejects("integer_out_of_range", [value], signed=True)
    assert "is outside ±(2**53-1), the range signed payloads allow" in str(error)


def test_signed_profile_rejects_non_ascii_names() -> None:
    error = rejects("non_ascii_key", {"a": {"голос": 1}}, signed=True)
    assert str(error) == (
        "$.a[\"\\u0433\\u043e\\u043b\\u043e\\u0441\"]: member name 'голос' is not ASCII, "
        "which signed payloads require"
    )


# --- parsing ------------------------------------------------------------------------


def test_parse_canonical_accepts_canonical_bytes() -> None:
    data = '{"a":[1,2.5,"ж"],"b":null}'.encode()
    assert parse_canonical(data) == {"a": [1, 2.5, "ж"], "b": None}


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b'{"a": 1}', 5),
        (b'{"b":1,"a":2}', 2),
        (b"1.0", 1),
        (b'"\\/"', 1),
        (b"{}\n", 2),
    ],
)
def test_parse_canonical_reports_first_difference(data: bytes, offset: int) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        parse_canonical(data)
    assert info.value.reason == "not_canonical"
    assert str(info.value).startswith(
        f"JSON is valid but not in canonical form (RFC 8785): first difference at byte {offset};"
    )


def test_parse_json_rejects_duplicates_and_constants() -> None:
    with pytest.raises(CanonicalJSONError, match="duplicate object member name 'a'") as info:
        parse_json(b'{"a":1,"b":{"a":1},"a":2}')
    assert info.value.reason == "duplicate_key"
    with pytest.raises(CanonicalJSONError, match=r"^-Infinity is not a JSON number") as info:
        parse_json(b"[-Infinity]")
    assert info.value.reason == "non_finite_number"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{} x", "invalid JSON: Extra data (line 1, column 4)"),
        (b"", "invalid JSON: Expecting value (line 1, column 1)"),
        (b"\xef\xbb\xbf{}", "invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)"),
        (b'"\xff"', "not valid UTF-8 at byte 1"),
    ],
)
def test_parse_json_rejects_invalid(data: bytes, message: str) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        parse_json(data)
    assert info.value.reason == "invalid_json"
    assert str(info.value).startswith(message)


def test_parse_json_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(CanonicalJSONError) as info:
        parse_json(b"[" * 100_000 + b"]" * 100_000)
    assert info.value.reason == "too_deep"


def test_parse_json_requires_bytes() -> None:
    with pytest.raises(CanonicalJSONError, match="expected bytes, got str"):
        parse_json("{}")  # type: ignore[arg-type]


def test_parse_json_reads_large_integers_as_doubles() -> None:
    assert parse_json(b"[9007199254740992,9007199254740993]") == [2**53, 2**53]
    assert isinstance(parse_json(b"9007199254740993"), float)
    with pytest.raises(CanonicalJSONError) as info:
        parse_canonical(b"9007199254740993")
    assert info.value.reason == "not_canonical"
    assert parse_canonical(b"65332817718815540") == 6.533281771881554e16


@pytest.mark.parametrize("digits", [32, 33, 308, 309, 400, 4000])
def test_parse_json_refuses_integers_beyond_the_largest_double(digits: int) -> None:
    # A number is at most 32 digits long (a bound on the work one literal costs), far
    # below the largest double's 309: longer ones, finite as a double or not, are refused.
    literal = b"9" * digits
    if digits <= 32:
        assert parse_json(b"[%s]" % literal) == [float(int(literal))]
        return
    for data in (b"[%s]" % literal, b'{"n":-%s}' % literal):
        with pytest.raises(CanonicalJSONError) as info:
            parse_json(data)
        assert info.value.reason == "number_too_long"
    # Beyond the largest double by its exponent: not a finite number.
    with pytest.raises(CanonicalJSONError) as info:
        parse_json(b"[1e309]")
    assert info.value.reason == "number_out_of_range"


def test_parse_canonical_signed() -> None:
    assert parse_canonical_signed(b'{"v":1}') == {"v": 1}
    with pytest.raises(CanonicalJSONError) as info:
        parse_canonical_signed(b"[1.5]")
    assert info.value.reason == "float_not_allowed"
    with pytest.raises(CanonicalJSONError) as info:
        parse_canonical_signed(b"[9007199254740992]")
    assert info.value.reason == "integer_out_of_range"


# --- properties ---------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_canonical_form_is_a_fixed_point(value: object) -> None:
    canonical = canonicalize(value)
    assert canonicalize(parse_canonical(canonical)) == canonical


@given(json_values)
def test_canonical_form_reads_back_as_the_same_value(value: object) -> None:
    # Numbers are doubles (RFC 8785): 6.533281771881554e16 is written without a
    # fraction and read back as the same double; -0.0 == 0.0.
    assert parse_json(canonicalize(value)) == value


@given(st.dictionaries(st.text(max_size=6), st.integers(-(2**53), 2**53), max_size=8), st.randoms())
def test_member_order_does_not_matter(members: dict[str, int], rng: object) -> None:
    items = list(members.items())
    rng.shuffle(items)  # type: ignore[attr-defined]
    assert canonicalize(dict(items)) == canonicalize(members)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip_exactly(value: float) -> None:
    text = format_number(value)
    assert float(text) == value
    assert text != "-0"
    assert math.isfinite(float(text))


# --- the C fast path agrees with the general encoder ------------------------------------

_plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) - 2, 2**53 + 2)
    | st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


def _general(value: object, *, signed: bool) -> bytes | str:
    try:
        return canonical_module._Encoder(signed=signed).encode(value)
    except CanonicalJSONError as exc:
        return exc.reason


def _public(value: object, *, signed: bool) -> bytes | str:
    try:
        return (canonicalize_signed if signed else canonicalize)(value)
    except CanonicalJSONError as exc:
        return exc.reason


@given(_plain_values, st.booleans())
def test_fast_path_writes_what_the_general_encoder_writes(value: object, signed: bool) -> None:
    # Control characters, quotes, backslashes, non-ASCII and astral text, lone
    # surrogates, integers at the edges of both profiles, non-ASCII member names.
    assert _public(value, signed=signed) == _general(value, signed=signed)


@pytest.mark.parametrize(
    "value",
    [
        {"a": '\x00\x1f\x7f"\\/\b\t\n\f\r\u2028'},
        {"\U0001f600": 1, "\ufb01": 2},
        [2**53, -(2**53), 2**53 - 1],
        {"n": True, "m": False, "o": None, "p": ()},
        {"a": "\ud800"},
    ],
)
def test_fast_path_edge_cases(value: object) -> None:
    for signed in (False, True):
        assert _public(value, signed=signed) == _general(value, signed=signed)
