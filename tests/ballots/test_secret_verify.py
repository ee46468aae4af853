"""The verifier of secret votes' bundles beyond the published vectors: which ballot
counts, what ``kvorum audit challenge`` shows, and that neither kind of bundle is
taken for the other."""

from __future__ import annotations

from pathlib import Path

from ballots.auditcli import check, main
from ballots.secretverify import challenged_ballots, verify_secret_bundle
from tests.ballots.make_secret import SecretSample
from tests.ballots.vectors.generate import HERE


def _counts(data: bytes) -> list[int]:
    from tests.ballots.make_bundle import load

    counts: list[int] = load(data)["result"]["payload"]["counts"]
    return counts


def test_the_last_ballot_not_spoiled_counts() -> None:
    # Voter 0 votes, votes again, then spoils the second ballot: the first counts.
    sample = SecretSample(
        casts=[(0, (1, 0, 0), False), (0, (0, 1, 0), True), (1, (0, 1, 1), False)],
        seed="last not spoiled",
    )
    data = sample.bundle()
    report = verify_secret_bundle(data)
    assert report.ok, report.text()
    assert _counts(data) == [1, 1, 1]
    assert [(c.member, c.marks) for c in challenged_ballots(data)] == [
        (sample.members[0].member, (0, 1, 0))
    ]


def test_audit_challenge_prints_what_the_spoiled_ballot_held(capsys: object) -> None:
    assert main(["challenge", str(HERE / "secret" / "approve-each.json")]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "spoiled ballot at entry 8 of member 102" in out
    assert "Иванова А. П.: 0, Петров С. И.: 1, Сидорова Е. В.: 0" in out


def test_audit_challenge_of_an_open_vote_is_refused() -> None:
    report = check(["challenge", str(HERE / "v2" / "meeting-vote.json")])
    assert report.checks == ["V-2"]


def test_a_tampered_secret_bundle_shows_no_challenge(tmp_path: Path) -> None:
    path = HERE / "tampered" / "V-231-secret-lying-opening.json"
    report = check(["challenge", str(path)])
    assert "V-231" in report.checks
    assert not any("spoiled ballot at" in note for note in report.notes)


def test_trusted_keys_apply_to_secret_bundles(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_bytes((HERE / "v2" / "keys.json").read_bytes())
    report = check(["verify", str(HERE / "secret" / "one-of.json"), "--keys", str(keys)])
    # Not the bundle's registry key: untrusted, so nothing it signed is accepted.
    assert report.checks[:2] == ["V-12", "V-21"]
