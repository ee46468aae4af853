"""Limits on parsed JSON: how deep, how long a number, a string, an array or an object.

Every JSON text Kvorum reads from outside (an API body, a WebSocket message, an audit
bundle or an embedded file handed to a verifier) passes :func:`check_text` before it is
parsed and :func:`check_value` after, with one of the profiles below. Both raise
:class:`JSONLimitError`, a :class:`~crypto.errors.CredentialError` with a stable
``reason``:

``too_deep``          arrays and objects nested deeper than ``depth`` (the root is 1)
``number_too_long``   a number literal with more than ``digits`` digits
``string_too_long``   a string (or member name) longer than ``string`` characters
``number_out_of_range`` a number beyond a double's range (``1e999``)
``invalid_json``      (from :func:`loads`) the text is not UTF-8 or not JSON
``too_many_items``    an array with more than ``items`` elements or an object with more
                      than ``items`` members

Why before parsing as well as after: Python's parser recurses once per nesting level
(``RecursionError`` from a hundred thousand ``[``) and turns a digit string into an
integer in quadratic time, and a 309-digit integer overflows a double. The text check
refuses both from the raw text, in time linear in its length, before a value exists.
Strings and arrays are counted on the parsed value, where escapes are already undone.

Not guaranteed: limits bound work and memory per input, not the total over many inputs;
rates are the server's business.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from crypto.errors import CredentialError

__all__ = [
    "API_LIMITS",
    "DOCUMENT_LIMITS",
    "JSONLimitError",
    "JSONLimits",
    "check_text",
    "check_value",
    "loads",
]


class JSONLimitError(CredentialError):
    """A JSON text or value is beyond a :class:`JSONLimits` bound."""

    path: str | None

    def __init__(self, reason: str, message: str, *, path: str | None = None) -> None:
        super().__init__(reason, message if path is None else f"{path}: {message}")
        self.path = path


@dataclasses.dataclass(frozen=True)
class JSONLimits:
    """Bounds on one JSON input; each must be at least 1."""

    depth: int
    digits: int
    string: int
    items: int

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value < 1:
                raise ValueError(f"JSONLimits.{field.name} must be a positive int, got {value!r}")


#: Bodies of API requests and WebSocket messages (a video room's SDP answer, up to
#: 256 KiB, is the longest string; a vote's roll the longest array).
API_LIMITS = JSONLimits(depth=32, digits=32, string=256 * 1024, items=100_000)

#: Audit bundles, signed documents and their embedded files, read by the verifiers: a
#: board of a million ballots fits, a file of a hundred thousand brackets does not.
#: Depth matches :data:`crypto.canonical.MAX_DEPTH`, which the encoder enforces.
DOCUMENT_LIMITS = JSONLimits(depth=100, digits=32, string=16 * 1024 * 1024, items=2_000_000)

# A JSON string token, escapes included (RFC 8259 §7); what is outside them is
# structure, numbers and literals only.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def loads(data: bytes | str, limits: JSONLimits) -> object:
    """Parse a JSON text (UTF-8 bytes or str) within ``limits``.

    Raises :class:`JSONLimitError`: with a limit's reason, or ``invalid_json`` for a
    text that is not UTF-8 or not JSON (the message says where). ``NaN`` and
    ``Infinity`` are refused (RFC 8259 has no such numbers).
    """
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONLimitError("invalid_json", f"not valid UTF-8 at byte {exc.start}") from None
    check_text(data, limits)
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise JSONLimitError(
            "invalid_json", f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:  # unreachable after check_text, kept as a guard
        raise JSONLimitError("too_deep", "arrays and objects are nested too deeply") from None
    check_value(value, limits)
    return value


def _no_constant(name: str) -> object:
    raise JSONLimitError("invalid_json", f"{name} is not a JSON number")


def check_text(text: str, limits: JSONLimits) -> None:
    """Refuse a JSON text whose nesting or number literals are beyond ``limits``.

    Only what parsing itself would choke on is checked here; the text need not be
    valid JSON (the parser says what else is wrong).
    """
    if '"' in text:
        # Brackets and digits inside strings are not structure.
        text = _STRING.sub('""', text)
    long_number = re.search(rf"\d{{{limits.digits + 1}}}", text)
    if long_number is not None:
        raise JSONLimitError(
            "number_too_long",
            f"a number at character {long_number.start()} has more than {limits.digits} digits",
        )
    brackets = _NOT_BRACKET.sub("", text)
    if len(brackets) > limits.depth:  # fewer brackets cannot nest deeper
        deepest = max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)
        if deepest > limits.depth:
            raise JSONLimitError(
                "too_deep", f"arrays and objects are nested deeper than {limits.depth}"
            )


def check_value(value: object, limits: JSONLimits) -> None:
    """Refuse a parsed JSON value with strings, arrays or objects beyond ``limits``.

    Walks the value without recursion, so it is safe on any depth (though a value
    that passed :func:`check_text` is already shallow enough).
    """
    # Each entry: the item, its depth, and its trail (parent's trail, key) from which
    # the path is written only when something is refused.
    longest = limits.string
    stack: list[tuple[object, int, _Trail]] = [(value, 1, None)]
    while stack:
        item, depth, trail = stack.pop()
        if isinstance(item, str):
            if len(item) > limits.string:
                raise JSONLimitError(
                    "string_too_long",
                    f"a string of {len(item)} characters; at most {limits.string}",
                    path=_path(trail),
                )
        elif isinstance(item, list | tuple | Mapping):
            if depth > limits.depth:
                raise JSONLimitError(
                    "too_deep",
                    f"arrays and objects are nested deeper than {limits.depth}",
                    path=_path(trail),
                )
            if len(item) > limits.items:
                raise JSONLimitError(
                    "too_many_items",
                    f"{len(item)} items; at most {limits.items}",
                    path=_path(trail),
                )
            if isinstance(item, Mapping):
                for key, member in item.items():
                    if len(key) > longest:
                        raise JSONLimitError(
                            "string_too_long",
                            f"a member name of {len(key)} characters; at most {longest}",
                            path=_path(trail),
                        )
                    kind = type(member)
                    if kind is int or kind is bool or member is None:
                        continue
                    if kind is str and len(member) <= longest:
                        continue
                    stack.append((member, depth + 1, (trail, key)))
            else:
                for index, member in enumerate(item):
                    kind = type(member)
                    if kind is int or kind is bool or member is None:
                        continue
                    if kind is str and len(member) <= longest:
                        continue
                    stack.append((member, depth + 1, (trail, index)))
        elif isinstance(item, float) and not math.isfinite(item):
            # "1e999" is valid JSON that Python reads as infinity.
            raise JSONLimitError(
                "number_out_of_range", "a number beyond the range of a double", path=_path(trail)
            )


_Trail = tuple[Any, str | int] | None


def _path(trail: _Trail) -> str:
    keys: list[str | int] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in reversed(keys))
