"""The published test vectors and the numbered checks of ``docs/ballots.md``: every
vector gets its verdict, every check id of the document has a vector failing it, and
the verifier fails with no id (nor reason) the document does not list."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ballots.auditcli import check
from ballots.checks import CHECKS
from tests.ballots.vectors.generate import HERE, generate

ROOT = Path(__file__).resolve().parents[2]
MANIFEST: dict[str, Any] = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = MANIFEST["vectors"]
# "- **V-12** `untrusted_key` — …" in the section "Verifying a bundle".
_CHECK_LINE = re.compile(r"^- \*\*(V-\d+)\*\* `([a-z_]+)` — ", re.MULTILINE)


def documented() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "ballots.md").read_text(encoding="utf-8")
    section = text[text.index("## Verifying a bundle") :]
    section = section[: section.index("\n## ", 5)]
    return _CHECK_LINE.findall(section)


def run(vector: dict[str, Any]) -> Any:
    argv = ["receipt" if vector["receipt"] else "verify", str(HERE / vector["file"])]
    if vector["receipt"]:
        argv.append(str(HERE / vector["receipt"]))
    if vector["keys"]:
        argv += ["--keys", str(HERE / vector["keys"])]
    return check([*argv, "--jobs", "1"])


@pytest.mark.parametrize(
    "vector", VECTORS, ids=[f"{v['file']}{'+receipt' if v['receipt'] else ''}" for v in VECTORS]
)
def test_vector(vector: dict[str, Any]) -> None:
    report = run(vector)
    if vector["verdict"] == "pass":
        assert report.ok, report.text()
    else:
        assert not report.ok
        assert vector["check"] in report.checks, report.text()
    for failure in report.failures:
        assert failure.reason == CHECKS[failure.check].reason


def test_the_document_lists_exactly_the_checks_of_the_verifier() -> None:
    listed = documented()
    ids = [id_ for id_, _reason in listed]
    assert len(ids) == len(set(ids)), "a check id is listed twice"
    assert listed == [(c.id, c.reason) for c in CHECKS.values()]


def test_every_documented_check_has_a_vector_that_fails_it() -> None:
    failing = {v["check"] for v in VECTORS if v["verdict"] == "fail"}
    missing = [id_ for id_, _reason in documented() if id_ not in failing]
    assert not missing, f"checks without a vector: {missing}"


def test_the_verifier_names_no_check_the_document_does_not_list() -> None:
    known = {id_ for id_, _reason in documented()}
    for module in ("ballots/verify.py", "ballots/auditcli.py", "ballots/checks.py"):
        named = set(re.findall(r'"(V-\d+)"', (ROOT / module).read_text(encoding="utf-8")))
        assert named <= known, (module, sorted(named - known))


def test_every_kind_of_honest_bundle_is_published() -> None:
    honest = {v["file"] for v in VECTORS if v["verdict"] == "pass"}
    for name in (
        "v2/meeting-vote.json",
        "v2/revotes.json",
        "v2/absentee-turnout.json",
        "v2/survey-named-several-choices.json",
        "v2/survey-counts.json",
        "v2/late-keys.json",
        "v2/revocation-after-voting.json",
        "v2/revocation-in-the-ballots-second.json",
        "v2/rotated-registry-key.json",
        "v2/meeting-of-several-votes.json",
        "v2/empty-board.json",
        "v2/hall-records.json",
        "v1/meeting-vote.json",
    ):
        assert name in honest


def test_the_vectors_are_what_the_generator_writes(tmp_path: Path) -> None:
    # Version 1 files are kept as issued and not compared: they are never rewritten.
    manifest = generate(tmp_path)
    assert manifest == MANIFEST
    for written in sorted(tmp_path.rglob("*.json")):
        relative = written.relative_to(tmp_path)
        if relative.parts[0] == "v1":
            continue
        assert written.read_bytes() == (HERE / relative).read_bytes(), relative
