"""No file makes the document verifier crash: byte-level mutations of a signed PDF and
structured mutations of its embedded JSON files always end in a report (never an
exception), and the public page /documents/verify answers them without a 500."""

from __future__ import annotations

import functools
import json
import random
import re
from typing import Any

from aiohttp import FormData
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.canonical import CanonicalJSONError, canonicalize
from meetings.docverify import CHECK_IDS, DocReport
from meetings.signedpdf import embed, extract
from tests.meetings.test_docverify import check, parts
from tests.mutations import json_paths

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**53, 10**400, -(10**309)])
    | st.text(max_size=16)
    | st.sampled_from(["", "\ud800", "2026-02-30T10:00:00Z", "kvorum.document-record"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@functools.cache
def signed() -> bytes:
    return parts().signed()


def reported(report: DocReport) -> DocReport:
    assert {item.name for item in report.checks} <= set(CHECK_IDS)
    report.text()
    return report


def mutate_file(data: bytes, which: int, choice: int, value: Any) -> bytes:
    """The signed PDF with one value inside one embedded JSON file replaced, embedded
    again as the signing would (so only the checks of meaning can catch it)."""
    taken = extract(data)
    files = [(f.name, f.data, f.media_type) for f in taken.files]
    name, blob, media = files[which % len(files)]
    document = json.loads(blob)
    paths = json_paths(document)
    path = paths[choice % len(paths)]
    if not path:
        document = value
    else:
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
    try:
        blob = canonicalize(document)
    except (CanonicalJSONError, ValueError, TypeError):
        blob = json.dumps(document).encode()
    files[which % len(files)] = (name, blob, media)
    return embed(taken.original, files)


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    changed = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(changed))
        kind = rng.choice(["flip", "cut", "insert", "drop"])
        if kind == "flip":
            changed[at] ^= rng.randint(1, 255)
        elif kind == "cut":
            del changed[at:]
        elif kind == "insert":
            changed[at:at] = bytes([rng.randint(0, 255)])
        else:
            del changed[at]
        if not changed:
            break
    return bytes(changed)


@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_byte_mutations(seed: int) -> None:
    data = mutate_bytes(signed(), random.Random(seed))
    report = reported(check(data))
    assert not report.ok or data == signed()


@FUZZ
@given(which=st.integers(min_value=0), choice=st.integers(min_value=0), value=VALUES)
def test_structured_mutations_of_the_embedded_files(which: int, choice: int, value: Any) -> None:
    data = mutate_file(signed(), which, choice, value)
    reported(check(data))


def test_a_huge_number_in_an_embedded_file() -> None:
    data = embed(
        extract(signed()).original,
        [
            (f.name, f.data.replace(b'"v":1', b'"v":' + b"9" * 400, 1), f.media_type)
            for f in extract(signed()).files
        ],
    )
    report = reported(check(data))
    assert "file" in {item.name for item in report.failures}


async def test_the_verify_page_never_fails_with_500(client: Any) -> None:
    page = await (await client.get("/documents/verify")).text()
    token = re.search(r'name="_csrf" value="([^"]*)"', page)
    rng = random.Random(14)
    samples = [signed(), b"", b"%PDF-1.7\n", b"not a pdf"]
    samples += [mutate_bytes(signed(), rng) for _ in range(8)]
    samples += [mutate_file(signed(), n, rng.randrange(50), 10**400) for n in range(5)]
    for data in samples:
        form = FormData()
        form.add_field("_csrf", token[1] if token else "")
        form.add_field("file", data, filename="signed.pdf", content_type="application/pdf")
        answer = await client.post("/documents/verify", data=form)
        assert answer.status in (200, 413, 422), (answer.status, await answer.text())
