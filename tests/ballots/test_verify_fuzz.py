"""No bundle makes the verifier crash: structured and byte-level mutations of real
bundles (the published vectors) always end in a report, and every failure in it names
a check of docs/ballots.md."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballots.checks import CHECKS
from ballots.verify import Report, check_receipt, verify_bundle
from crypto.canonical import CanonicalJSONError, canonicalize
from tests.ballots.vectors.generate import HERE
from tests.mutations import json_paths

SOURCES = [
    (HERE / "v2" / "meeting-vote.json").read_bytes(),
    (HERE / "v2" / "meeting-of-several-votes.json").read_bytes(),
    (HERE / "v1" / "revocation-after-voting.json").read_bytes(),
]
RECEIPT = (HERE / "v2" / "meeting-vote.receipt-3.json").read_bytes()
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

# JSON values of every kind, the awkward ones included: a 400-digit integer, floats,
# lone surrogates, control characters, deep nesting.
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, -1, 2**53, 10**400, -(10**309)])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["", " ", "\t", "\ud800", "2025-02-30T10:00:00Z", "sha256:" + "0" * 64]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def checked(report: Report) -> Report:
    for failure in report.failures:
        assert failure.check in CHECKS
    assert report.ok == (not report.failures)
    report.text()
    return report


def _encode(value: Any) -> bytes:
    try:
        return canonicalize(value)
    except (CanonicalJSONError, ValueError, TypeError):
        return json.dumps(value).encode()


@FUZZ
@given(
    source=st.sampled_from(range(len(SOURCES))),
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(["flip", "cut", "insert", "drop"])),
        min_size=1,
        max_size=4,
    ),
    byte=st.integers(min_value=0, max_value=255),
)
def test_byte_mutations(source: int, edits: list[tuple[int, str]], byte: int) -> None:
    data = bytearray(SOURCES[source])
    for position, kind in edits:
        at = position % len(data)
        if kind == "flip":
            data[at] ^= byte or 1
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = bytes([byte])
        else:
            del data[at]
        if not data:
            break
    report = checked(verify_bundle(bytes(data), jobs=1))
    assert not report.ok or bytes(data) == SOURCES[source]
    check_receipt(bytes(data), RECEIPT, report)
    checked(report)


@FUZZ
@given(
    source=st.sampled_from(range(len(SOURCES))),
    choice=st.integers(min_value=0),
    action=st.sampled_from(["replace", "delete", "add"]),
    value=VALUES,
)
def test_structured_mutations(source: int, choice: int, action: str, value: Any) -> None:
    bundle = json.loads(SOURCES[source])
    paths = json_paths(bundle)
    path = paths[choice % len(paths)]
    if not path:
        bundle = value
    else:
        parent = bundle
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[f"{last}_"] = value
        elif action == "add" and isinstance(parent, list):
            parent.insert(last, value)
        else:
            parent[last] = value
    data = _encode(bundle)
    checked(verify_bundle(data, jobs=1))


@FUZZ
@given(receipt=VALUES, flip=st.integers(min_value=0))
def test_receipts_of_any_shape(receipt: Any, flip: int) -> None:
    report = Report()
    check_receipt(SOURCES[0], _encode(receipt), report)
    data = bytearray(RECEIPT)
    data[flip % len(data)] ^= 0x04
    check_receipt(SOURCES[0], bytes(data), report)
    checked(report)
