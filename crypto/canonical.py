"""Canonical JSON: the RFC 8785 JSON Canonicalization Scheme (JCS).

Signatures in Kvorum are made over canonical bytes, so that the browser
(``web/static/js/kvcrypto.js``) and this module produce *byte-identical* output
for the same JSON value. The shared vectors in ``tests/crypto/vectors/`` pin it.

The encoding, written down so other languages can match it byte for byte:

* ``null``, ``true``, ``false`` as such.
* Strings (RFC 8785 §3.2.2.2, ECMAScript ``JSON.stringify``): ``"`` and ``\\`` are
  escaped as ``\\"`` and ``\\\\``; U+0008, U+0009, U+000A, U+000C, U+000D as
  ``\\b \\t \\n \\f \\r``; the other code points below U+0020 as ``\\u00xx`` with
  lowercase hex; everything else literally. Output is UTF-8. Strings holding a
  surrogate code point (a lone surrogate, which has no UTF-8 form) are rejected.
* Numbers (§3.2.2.3) are IEEE 754 doubles written by the ECMAScript
  Number-to-String algorithm: shortest round-trip digits, plain notation for
  decimal exponents -7 < e < 21, otherwise ``d.ddde±x`` (``1e+30``, ``2e-7``); ``-0``
  is written ``0``. NaN and the infinities are rejected. A Python ``int`` is a
  double too: up to 2**53 in magnitude it is written in decimal; beyond that it is
  accepted only if it is exactly a double, and then written as that double
  (``10**21`` → ``1e+21``, as JavaScript would), otherwise rejected, because the
  browser could not hold it without silently rounding.
* Objects (§3.2.3): members sorted by their names compared as arrays of UTF-16
  code units; names must be strings; no whitespace anywhere.
* Arrays: ``list`` and ``tuple``; objects: any :class:`~collections.abc.Mapping`.
* Nesting deeper than :data:`MAX_DEPTH` containers is rejected (both sides), so
  that hostile input cannot exhaust the stack.

Parsing (:func:`parse_json`, :func:`parse_canonical`) reads numbers as RFC 8785
does, as doubles: integer literals beyond ±2**53 become ``float``.

Kvorum's own signed payloads use a stricter profile, :func:`canonicalize_signed`
(DESIGN.md: "object keys ASCII, numbers integers only"): no floats at all, integers
within ±(2**53-1), ASCII member names.

Errors are :class:`CanonicalJSONError` with a stable ``reason`` (one of
``unsupported_type``, ``non_string_key``, ``lone_surrogate``, ``non_finite_number``,
``integer_out_of_range``, ``float_not_allowed``, ``non_ascii_key``, ``too_deep``,
``cycle``, ``invalid_json``, ``duplicate_key``, ``not_canonical``, and the limits of
:mod:`crypto.jsonlimits`: ``number_too_long``, ``number_out_of_range``, ``string_too_long``,
``too_many_items``) and a ``path``
such as ``$.ballot.choices[2]``.

Not guaranteed: this is pure Python and runs in time that depends on the data,
so it must not be fed secrets whose length or content must stay hidden from a
timing observer. Unicode normalisation is *not* applied (RFC 8785 takes strings
as given), so two visually identical names in different normal forms produce
different bytes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import NoReturn

from crypto.errors import CredentialError
from crypto.jsonlimits import DOCUMENT_LIMITS, JSONLimitError, JSONLimits, check_text, check_value

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "CanonicalJSONError",
    "canonicalize",
    "canonicalize_signed",
    "format_number",
    "parse_canonical",
    "parse_canonical_signed",
    "parse_json",
]

#: Largest integer a signed payload may hold: ``Number.MAX_SAFE_INTEGER`` in JS.
MAX_SAFE_INTEGER = 2**53 - 1

#: Deepest nesting of arrays and objects accepted (the root container is depth 1).
#: The JavaScript twin enforces the same limit.
MAX_DEPTH = 100

# RFC 8785 §3.2.2.2: only these are escaped; the rest is written literally.
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEEDS_ESCAPE = re.compile('[\\x00-\\x1f"\\\\]')
_SURROGATE = re.compile("[\\ud800-\\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Beyond this magnitude not every integer is a double (2**53 + 1 is not).
_EXACT_INT_LIMIT = 2**53


class CanonicalJSONError(CredentialError, TypeError):
    """A value cannot be canonicalised, or bytes are not canonical JSON.

    It is both a :class:`ValueError` (through :class:`CredentialError`) and a
    :class:`TypeError`, since both bad values and bad types end up here.
    :attr:`path` locates the offending value (``$`` is the root), or is ``None``
    when the input is not JSON at all.
    """

    path: str | None

    def __init__(self, reason: str, message: str, *, path: str | None = None) -> None:
        super().__init__(reason, message if path is None else f"{path}: {message}")
        self.path = path


def canonicalize(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-like value.

    Accepts ``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples and
    mappings with ``str`` keys; raises :class:`CanonicalJSONError` otherwise.
    """
    fast = _fast_encode(value, _EXACT_INT_LIMIT)
    return fast if fast is not None else _Encoder(signed=False).encode(value)


def canonicalize_signed(value: object) -> bytes:
    """Canonicalise a Kvorum signed payload: :func:`canonicalize` plus the profile.

    Additionally rejects every ``float`` (even ``1.0``), integers outside
    ±(2**53-1), and object member names that are not ASCII.
    """
    fast = _fast_encode(value, MAX_SAFE_INTEGER)
    return fast if fast is not None else _Encoder(signed=True).encode(value)


# The common case, done by the standard library's C encoder: for JSON made only of
# dicts with ASCII member names, lists, tuples, strings, integers within ±2**53, booleans
# and null, ``json.dumps`` with sorted keys, no spaces and ``ensure_ascii=False`` writes
# exactly the RFC 8785 bytes (the same escapes, lowercase hex; ASCII names sort the same
# by code point as by UTF-16 unit). Anything else (a float, a non-ASCII name, another
# mapping type, a lone surrogate, deep nesting, a cycle) takes the general encoder,
# which also says what is wrong and where.
_FAST_DUMPS = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
).encode


def _fast_encode(value: object, limit: int) -> bytes | None:
    if not _plain(value, limit, 0):
        return None
    try:
        return _FAST_DUMPS(value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None


def _plain(value: object, limit: int, depth: int) -> bool:
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:  # also ends a cycle
            return False
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not key.isascii() or not _plain_item(item, limit, depth):
                return False
        return True
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            return False
        for item in value:  # type: ignore[attr-defined]  # noqa: SIM110 (all() is slower)
            if not _plain_item(item, limit, depth):
                return False
        return True
    if kind is str or kind is bool or value is None:
        return True
    return kind is int and -limit <= value <= limit  # type: ignore[operator]


def _plain_item(item: object, limit: int, depth: int) -> bool:
    # Scalars inline: a roll of 100,000 voters is 400,000 of them.
    kind = type(item)
    if kind is str or kind is bool or item is None:
        return True
    if kind is int:
        return -limit <= item <= limit  # type: ignore[operator]
    return (kind is dict or kind is list or kind is tuple) and _plain(item, limit, depth + 1)


def parse_json(data: bytes, *, limits: JSONLimits = DOCUMENT_LIMITS) -> object:
    """Parse UTF-8 JSON strictly, without requiring canonical form.

    Rejects invalid UTF-8, a byte order mark, duplicate member names,
    ``NaN``/``Infinity`` literals and trailing data (whitespace around the value is
    allowed, as in RFC 8259). Numbers with a fraction or exponent become ``float``,
    others ``int``, except integer literals beyond ±2**53, which become ``float``:
    RFC 8785 numbers are doubles, and JavaScript reads them so (the canonical form
    of a large double such as ``65332817718815540`` has no fraction).

    ``limits`` (:mod:`crypto.jsonlimits`) bound depth, number, string and array
    lengths; beyond them the reason is that of :class:`~crypto.jsonlimits.JSONLimitError`.
    """
    return _parse(data, exact_integers=False, limits=limits)


def _parse(data: bytes, *, exact_integers: bool, limits: JSONLimits = DOCUMENT_LIMITS) -> object:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CanonicalJSONError("invalid_json", f"expected bytes, got {type(data).__name__}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalJSONError("invalid_json", f"not valid UTF-8 at byte {exc.start}") from exc
    try:
        check_text(text, limits)
    except JSONLimitError as exc:
        raise CanonicalJSONError(exc.reason, str(exc)) from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_no_constants,
            parse_int=int if exact_integers else _integer_or_double,
        )
    except CanonicalJSONError:
        raise
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(
            "invalid_json", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise CanonicalJSONError("too_deep", "invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer literal beyond int_max_str_digits
        raise CanonicalJSONError("invalid_json", f"invalid JSON: {exc}") from exc
    try:
        check_value(value, limits)
    except JSONLimitError as exc:
        raise CanonicalJSONError(exc.reason, str(exc), path=None) from exc
    return value


def parse_canonical(data: bytes) -> object:
    """Parse JSON that must already be in RFC 8785 canonical form.

    This is how signed documents are accepted: if ``data`` parses but differs from
    the canonicalisation of what it parses to (extra whitespace, unsorted members,
    ``1.0`` for ``1``, an escaped ``/``...), :class:`CanonicalJSONError` with reason
    ``not_canonical`` says at which byte. Only one byte string can represent a
    given value, so a signature cannot be replayed over a re-encoding.
    """
    return _parse_and_check(data, signed=False)


def parse_canonical_signed(data: bytes) -> object:
    """:func:`parse_canonical` plus the rules of :func:`canonicalize_signed`."""
    return _parse_and_check(data, signed=True)


def _parse_and_check(data: bytes, *, signed: bool) -> object:
    # Signed payloads keep integers exact, so 2**53 is reported as out of range.
    value = _parse(data, exact_integers=signed)
    expected = _Encoder(signed=signed).encode(value)
    if expected != data:
        offset = next(
            (i for i, (a, b) in enumerate(zip(expected, data, strict=False)) if a != b),
            min(len(expected), len(data)),
        )
        raise CanonicalJSONError(
            "not_canonical",
            f"JSON is valid but not in canonical form (RFC 8785): first difference at "
            f"byte {offset}; expected {expected[offset : offset + 16]!r}, "
            f"got {bytes(data[offset : offset + 16])!r}",
        )
    return value


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        # I-JSON (RFC 7493 §2.3): names must be unique; parsers disagree on which
        # duplicate wins, which is a classic signature-confusion attack.
        seen: set[str] = set()
        for key, _item in pairs:
            if key in seen:
                raise CanonicalJSONError("duplicate_key", f"duplicate object member name {key!r}")
            seen.add(key)
    return result


def _integer_or_double(literal: str) -> int | float:
    value = int(literal)
    if len(literal) < 16:  # fewer than 16 digits: below 2**53 (16 digits)
        return value
    if abs(value) <= _EXACT_INT_LIMIT:
        return value
    try:
        return float(value)
    except OverflowError:  # 309 digits or more: beyond the largest double (RFC 8785 §3.2.2.3)
        raise CanonicalJSONError(
            "non_finite_number",
            f"the integer {literal[:20]}… ({len(literal)} digits) is beyond the largest "
            "JSON number (an IEEE 754 double)",
        ) from None


def _no_constants(name: str) -> NoReturn:
    raise CanonicalJSONError("non_finite_number", f"{name} is not a JSON number (RFC 8785)")


def _child_path(path: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def format_number(value: float) -> str:
    """Write a finite double by the ECMAScript Number-to-String algorithm.

    ECMA-262 §6.1.6.1.20 (Number::toString), as required by RFC 8785 §3.2.2.3.
    ``repr`` supplies the shortest digits that round-trip (closest to the value
    when several are as short), which is what the algorithm asks for.
    """
    if value == 0:
        return "0"  # covers -0.0
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)  # finite, so never 'n' / 'N' / 'F'
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    # ES notation: value = digits × 10**(n - k), k digits.
    k = len(digits)
    n = exponent + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    e = n - 1
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


class _Encoder:
    """One canonicalisation run; collects output pieces into a list."""

    def __init__(self, *, signed: bool) -> None:
        self.signed = signed
        self.out: list[str] = []
        self.open_containers: set[int] = set()

    def encode(self, value: object) -> bytes:
        self.value(value, "$", 0)
        # Lone surrogates were rejected, so strict UTF-8 encoding cannot fail.
        return "".join(self.out).encode("utf-8")

    def fail(self, reason: str, message: str, path: str) -> NoReturn:
        raise CanonicalJSONError(reason, message, path=path)

    def value(self, value: object, path: str, depth: int) -> None:
        if value is None:
            self.out.append("null")
        elif value is True:
            self.out.append("true")
        elif value is False:
            self.out.append("false")
        elif isinstance(value, str):
            self.string(value, path, "string")
        elif isinstance(value, int):
            self.integer(int(value), path)
        elif isinstance(value, float):
            self.floating(float(value), path)
        elif isinstance(value, Mapping | list | tuple):
            self.container(value, path, depth)
        else:
            self.fail(
                "unsupported_type",
                f"a value of type {type(value).__name__} has no JSON form",
                path,
            )

    def integer(self, value: int, path: str) -> None:
        if self.signed and abs(value) > MAX_SAFE_INTEGER:
            self.fail(
                "integer_out_of_range",
                f"integer {value} is outside ±(2**53-1), the range signed payloads allow",
                path,
            )
        if abs(value) <= _EXACT_INT_LIMIT:
            self.out.append(str(value))
            return
        try:
            as_double = float(value)
        except OverflowError:
            as_double = math.inf
        if as_double != value:  # int == float compares exactly in Python
            self.fail(
                "integer_out_of_range",
                f"integer {value} is not exactly representable as an IEEE 754 double "
                "(RFC 8785 §3.2.2.3); JavaScript would silently round it",
                path,
            )
        self.out.append(format_number(as_double))

    def floating(self, value: float, path: str) -> None:
        if not math.isfinite(value):
            self.fail("non_finite_number", f"{value!r} is not allowed (RFC 8785 §3.2.2.3)", path)
        if self.signed:
            self.fail(
                "float_not_allowed",
                f"{value!r}: signed payloads hold integers only (use int, not float)",
                path,
            )
        self.out.append(format_number(value))

    def string(self, value: str, path: str, what: str) -> None:
        lone = _SURROGATE.search(value)
        if lone is not None:
            self.fail(
                "lone_surrogate",
                f"{what} holds the surrogate code point U+{ord(lone.group()):04X} at index "
                f"{lone.start()}, which has no UTF-8 form (write astral characters as one "
                "code point)",
                path,
            )
        self.out.append('"')
        self.out.append(_NEEDS_ESCAPE.sub(_escape, value))
        self.out.append('"')

    def container(
        self,
        value: Mapping[object, object] | list[object] | tuple[object, ...],
        path: str,
        depth: int,
    ) -> None:
        if depth + 1 > MAX_DEPTH:
            self.fail("too_deep", f"nested deeper than {MAX_DEPTH} arrays/objects", path)
        marker = id(value)
        if marker in self.open_containers:
            self.fail("cycle", "the value contains itself", path)
        self.open_containers.add(marker)
        if isinstance(value, Mapping):
            self.mapping(value, path, depth + 1)
        else:
            self.array(value, path, depth + 1)
        self.open_containers.discard(marker)

    def array(self, value: list[object] | tuple[object, ...], path: str, depth: int) -> None:
        self.out.append("[")
        for index, item in enumerate(value):
            if index:
                self.out.append(",")
            self.value(item, f"{path}[{index}]", depth)
        self.out.append("]")

    def mapping(self, value: Mapping[object, object], path: str, depth: int) -> None:
        members: list[tuple[bytes, str, object]] = []
        for key, item in value.items():
            if not isinstance(key, str):
                self.fail(
                    "non_string_key",
                    f"object member name {key!r} is a {type(key).__name__}, not a string",
                    path,
                )
            child = _child_path(path, key)
            if _SURROGATE.search(key):
                self.string(key, child, "member name")  # raises lone_surrogate
            if self.signed and not key.isascii():
                self.fail(
                    "non_ascii_key",
                    f"member name {key!r} is not ASCII, which signed payloads require",
                    child,
                )
            # RFC 8785 §3.2.3: compare names as arrays of UTF-16 code units;
            # big-endian UTF-16 bytes compare in exactly that order.
            members.append((key.encode("utf-16-be"), key, item))
        members.sort(key=lambda member: member[0])
        self.out.append("{")
        for index, (_, key, item) in enumerate(members):
            if index:
                self.out.append(",")
            self.string(key, path, "member name")
            self.out.append(":")
            self.value(item, _child_path(path, key), depth)
        self.out.append("}")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"
