"""ballots.verify: the offline verifier passes honest bundles and fails every tampering.

Two kinds of tampering are tried. Changed bytes (an edited entry, a swapped key): the
bundle is loaded, changed and written back in canonical form, so only the meaning
changed. A lying server (a revoked key's ballot accepted, a wrong count signed):
:mod:`tests.ballots.make_bundle` builds the bundle with every signature made properly
by the key that would make it. Each failure must name the part at fault.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ballots.formats import Rule, Turnout
from ballots.verify import Report, check_receipt, verify_bundle
from crypto.canonical import canonicalize, canonicalize_signed, parse_json
from crypto.encoding import b64u_encode
from crypto.errors import CredentialError
from crypto.hashing import content_address
from tests.ballots.make_bundle import (
    OPENS,
    Cast,
    Sample,
    assemble,
    build_vote,
    bundle_of,
    dump,
    load,
    make_key,
    make_voters,
    resign,
)

ROOT = Path(__file__).resolve().parents[2]
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)


def verify(data: bytes, **options: Any) -> Report:
    options.setdefault("jobs", 1)
    return verify_bundle(data, **options)


def passes(data: bytes, **options: Any) -> Report:
    report = verify(data, **options)
    assert report.ok, report.text()
    assert report.text().endswith(
        "OK: every hash, signature, certificate, count and verdict checks out"
    )
    return report


def fails(report: Report, where: str, message: str) -> None:
    """The report failed, with a problem of ``where`` that says ``message``."""
    assert not report.ok
    text = report.text()
    assert "FAILED" in text
    assert "OK:" not in text
    found = [
        f
        for f in report.failures
        if f.where == where and (message in f.message or message in f"{f.reason}: {f.message}")
    ]
    assert found, f"no problem of {where!r} saying {message!r} in:\n{text}"
    assert str(found[0]) in text


def tampered(sample: Sample | bytes, change: Callable[[Any], object]) -> bytes:
    """The bundle with ``change`` made to its JSON, written back canonically."""
    data = sample if isinstance(sample, bytes) else sample.bundle_bytes()
    bundle = load(data)
    change(bundle)
    return dump(bundle)


def entries(bundle: Any, vote: int = 0) -> list[Any]:
    entry_list: list[Any] = bundle["votes"][vote]["entries"]
    return entry_list


@pytest.fixture(scope="module")
def sample() -> Sample:
    return build_vote(5)


# --- the generator makes what the formats say ------------------------------------------


def test_generator_templates_are_canonical() -> None:
    sample = build_vote(4, ballots_per_voter=2, late=[3], kind="absentee", revoked={2: OPENS + DAY})
    for entry in sample.entries:
        assert canonicalize_signed(parse_json(entry)) == entry
    for voter in sample.voters:
        assert canonicalize(voter.certificate) == voter.certificate_bytes
    for name, document in sample.documents.items():
        assert canonicalize(parse_json(document)) == document, name
    assert sample.bundle_bytes() == sample.assemble()
    other = build_vote(sample.voters, vote_id=2, registry=sample.registry)
    assert bundle_of([sample, other]) == assemble([sample, other])


def test_generator_is_deterministic() -> None:
    assert build_vote(3, seed=9).bundle_bytes() == build_vote(3, seed=9).bundle_bytes()
    assert build_vote(3, seed=9).bundle_bytes() != build_vote(3, seed=8).bundle_bytes()


# --- honest bundles pass ---------------------------------------------------------------


def test_one_vote(sample: Sample) -> None:
    report = passes(sample.bundle_bytes())
    (summary,) = report.votes
    assert (summary.vote, summary.entries, summary.voters) == (1, 5, 5)
    assert summary.counts == sample.outcome.counts == (4, 1, 0)
    assert summary.adopted is True
    assert summary.head == sample.entry_hashes[-1]
    text = report.text()
    assert "trust anchor: the registry keys in the bundle" in text
    assert "counted: 5 voters; За 4, Против 1, Воздержался 0" in text
    assert "verdict: adopted" in text


def test_one_vote_with_trusted_keys(sample: Sample) -> None:
    report = passes(sample.bundle_bytes(), trusted=sample.trusted())
    assert "trust anchor: the keys given with --keys" in report.text()


def test_several_votes_of_a_meeting() -> None:
    first = build_vote(6)
    votes = [
        first,
        build_vote(first.voters, vote_id=2, registry=first.registry, choices=lambda v, r: [2]),
        build_vote(
            first.voters[:4],
            vote_id=3,
            registry=first.registry,
            rule=Rule("present", numerator=2, denominator=3, strict=False),
            choices=lambda voter, round_: [1] if voter < 2 else [2],
            opens=OPENS + DAY,
        ),
    ]
    report = passes(bundle_of(votes))
    assert [(v.vote, v.adopted) for v in report.votes] == [(1, True), (2, False), (3, False)]
    assert report.votes[1].counts == (0, 6, 0)


def test_the_last_ballot_counts() -> None:
    casts = [
        Cast(0, (1,)),
        Cast(1, (1,)),
        Cast(2, (2,)),
        Cast(0, (2,)),
        Cast(1, (3,)),
        Cast(0, (3,)),
        Cast(2, (2,)),
    ]
    sample = build_vote(3, casts=casts)
    (summary,) = passes(sample.bundle_bytes()).votes
    assert (summary.entries, summary.voters, summary.counts) == (7, 3, (0, 1, 2))
    assert summary.adopted is False


def test_many_rounds_of_revotes() -> None:
    sample = build_vote(7, ballots_per_voter=3, choices=lambda voter, round_: [1 + round_])
    (summary,) = passes(sample.bundle_bytes()).votes
    assert (summary.entries, summary.counts) == (21, (0, 0, 7))


def test_survey_with_several_choices() -> None:
    sample = build_vote(
        9,
        kind="survey",
        options=["Бассейн", "Санаторий", "Детский лагерь", "Экскурсии", "Спортзал"],
        min_choices=1,
        max_choices=3,
        rule=Rule("none"),
        publicity="counts",
    )
    report = passes(sample.bundle_bytes())
    (summary,) = report.votes
    assert summary.adopted is None
    assert sum(summary.counts) == sum(len(c.choice) for c in sample.casts) > 9
    assert "verdict: no decision (survey)" in report.text()


def test_absentee_vote_with_turnout() -> None:
    met = build_vote(
        10,
        kind="absentee",
        casts=[Cast(i, (1,)) for i in range(6)],
        turnout=Turnout(1, 2, strict=True),
        rule=Rule("composition", numerator=1, denominator=2, strict=True),
        composition=10,
    )
    (summary,) = passes(met.bundle_bytes()).votes
    assert (summary.voters, summary.adopted) == (6, True)
    assert met.outcome.turnout_met is True
    # Five of ten is not more than half: no quorum, so not adopted — and still verified.
    unmet = build_vote(
        10,
        kind="absentee",
        casts=[Cast(i, (1,)) for i in range(5)],
        turnout=Turnout(1, 2, strict=True),
        composition=10,
    )
    (summary,) = passes(unmet.bundle_bytes()).votes
    assert (summary.voters, summary.adopted, unmet.outcome.turnout_met) == (5, False, False)


def test_certificate_revoked_after_the_ballot_still_counts() -> None:
    # Voter 1's ballot is entry 2, received at OPENS + 2 s; the key is revoked later.
    sample = build_vote(4, revoked={1: OPENS + 10 * SECOND})
    (summary,) = passes(sample.bundle_bytes()).votes
    assert summary.voters == 4


def test_late_key_where_the_vote_allows_it() -> None:
    sample = build_vote(4, late=[2], kind="absentee")
    assert sample.definition.late_keys
    assert sample.definition.voter(sample.voters[2].member).keys == ()  # type: ignore[union-attr]
    passes(sample.bundle_bytes())


def test_certificates_signed_by_a_previous_registry_key() -> None:
    sample = build_vote(4, certificate_registry=make_key("registry before the rotation"))
    assert len(sample.registry_keys) == 2
    passes(sample.bundle_bytes(), trusted=sample.trusted())


def test_a_vote_opened_on_29_february() -> None:
    opens = dt.datetime(2028, 2, 29, 9, 30, tzinfo=dt.UTC)
    passes(build_vote(3, opens=opens).bundle_bytes())


def test_empty_board() -> None:
    sample = build_vote(3, casts=[])
    (summary,) = passes(sample.bundle_bytes()).votes
    assert (summary.entries, summary.voters, summary.head) == (0, 0, sample.definition.fingerprint)


def test_every_receipt_checks(sample: Sample) -> None:
    data = sample.bundle_bytes()
    for seq, receipt in enumerate(sample.receipts(), 1):
        report = passes(data)
        check_receipt(data, canonicalize(receipt), report, trusted=sample.trusted())
        assert report.ok, report.text()
        assert f"receipt: your ballot is entry {seq} of vote 1" in report.text()


def test_jobs_two_on_a_large_board(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2,000 certificates and 2,000 entries: both go through the worker processes.
    pools: list[str] = []
    get_context = multiprocessing.get_context

    def counting(method: str | None = None) -> Any:
        pools.append(str(method))
        return get_context(method)

    monkeypatch.setattr(multiprocessing, "get_context", counting)
    sample = build_vote(2000, seed="large")
    data = sample.bundle_bytes()
    serial = verify(data, jobs=1)
    assert pools == []
    parallel = verify(data, jobs=2)
    if "fork" in multiprocessing.get_all_start_methods():
        assert pools == ["fork", "fork"]  # certificates, and entries meanwhile
    assert serial.ok, serial.text()
    assert parallel.ok, parallel.text()
    assert serial.text() == parallel.text()
    assert parallel.votes[0].entries == 2000

    def change(bundle: Any) -> None:
        entries(bundle)[1234]["ballot"]["payload"]["choice"] = [3]

    bad = tampered(data, change)
    serial, parallel = verify(bad, jobs=1), verify(bad, jobs=2)
    fails(parallel, "vote 1, entry 1235", "bad_signature: the ballot's signature does not verify")
    assert serial.problems == parallel.problems


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_ballot_is_judged_by_the_certificate_that_counts(jobs: int) -> None:
    # Entries are checked in the workers against the first certificate claiming their
    # serial, while the certificates are checked elsewhere. Here that first one is a
    # forgery (another key, bad signature) and a genuine copy follows: the ballots of
    # that serial must be judged by the genuine one, the forgery reported alone.
    sample = build_vote(2000, seed="large")
    data = sample.bundle_bytes()

    def forge(bundle: Any) -> None:
        certificates = bundle["votes"][0]["certificates"]
        genuine = certificates[5]
        forged = json.loads(json.dumps(genuine))
        forged["payload"]["public_key"] = make_key("forger").public_key.b64u
        certificates.insert(5, forged)

    report = verify(tampered(data, forge), jobs=jobs)
    assert report.problems == [
        "vote 1, certificate #6: V-21 bad_signature: the signature does not verify under key "
        f"{sample.registry.public_key.key_id}"
    ]


def test_certificate_shortcut_agrees_with_the_general_checks(sample: Sample) -> None:
    # The workers read a well-formed certificate without the general parsers. Each
    # edit leaves that form and is signed again by the registry key, so only the
    # field checks (of the shortcut, then of the general path) can catch it.
    def edits() -> list[Callable[[dict[str, Any]], object]]:
        def payload(name: str, value: object) -> Callable[[dict[str, Any]], object]:
            def edit(c: dict[str, Any]) -> None:
                c["payload"][name] = value
                # Without a canonical form it stays unsigned, and must fail anyway.
                with contextlib.suppress(CredentialError):
                    c.update(resign(c, sample.registry))

            return edit

        return [
            payload("org_name", " Союз"),
            payload("org_name", "Союз\u202e"),
            payload("serial", 0),
            payload("serial", 2**53),
            payload("serial", True),
            payload("member", "7"),
            payload("v", 2),
            payload("issued_at", "2026-02-30T10:00:00Z"),
            payload("expires_at", "2020-01-01T00:00:00Z"),
            payload("issuer", "0" * 32),
            payload("public_key", "A" * 43),
            payload("extra", 1),
            lambda c: c["payload"].pop("org"),
            lambda c: c.__setitem__("signer", "f" * 32),
            lambda c: c.__setitem__("extra", 1),
        ]

    for edit in edits():

        def change(bundle: Any, edit: Callable[[dict[str, Any]], object] = edit) -> None:
            edit(bundle["votes"][0]["certificates"][0])

        report = verify(tampered(sample, change))
        assert report.problems, report.text()
        assert report.problems[0].startswith("vote 1, certificate #1: "), report.text()

    # Outside the shortcut's form but valid: the general path accepts it.
    def quoted(bundle: Any) -> None:
        certificate = bundle["votes"][0]["certificates"][0]
        certificate["payload"]["org_name"] = 'Профсоюз "Север"\\Юг'
        certificate.update(resign(certificate, sample.registry))

    report = verify(tampered(sample, quoted))
    assert report.problems == [], report.text()


# --- tampered bytes fail --------------------------------------------------------------


def test_deleted_entry(sample: Sample) -> None:
    report = verify(tampered(sample, lambda b: entries(b).pop(2)))
    fails(report, "vote 1, entry 3", "sequence number 4 out of place (expected 3)")
    fails(report, "vote 1, entry 3", "does not link to the entry before it")
    fails(report, "vote 1, checkpoint", "length is 5 but the board gives 4")


def test_deleted_last_entry(sample: Sample) -> None:
    report = verify(tampered(sample, lambda b: entries(b).pop()))
    fails(report, "vote 1, checkpoint", "head is")
    fails(report, "vote 1, result", "counts is [4, 1, 0] but the board gives")


def test_swapped_entries(sample: Sample) -> None:
    def swap(bundle: Any) -> None:
        board = entries(bundle)
        board[1], board[2] = board[2], board[1]

    report = verify(tampered(sample, swap))
    fails(report, "vote 1, entry 2", "sequence number 3 out of place (expected 2)")
    fails(report, "vote 1, entry 3", "sequence number 2 out of place (expected 3)")


def test_swapped_entries_renumbered(sample: Sample) -> None:
    def swap(bundle: Any) -> None:
        board = entries(bundle)
        board[1], board[2] = board[2], board[1]
        board[1]["seq"], board[2]["seq"] = 2, 3

    report = verify(tampered(sample, swap))
    fails(report, "vote 1, entry 2", "does not link to the entry before it")
    fails(report, "vote 1, entry 3", "received at 2025-03-03T10:00:02Z, before the entry")


def test_edited_choice(sample: Sample) -> None:
    def change(bundle: Any) -> None:
        entries(bundle)[3]["ballot"]["payload"]["choice"] = [2]

    report = verify(tampered(sample, change))
    fails(report, "vote 1, entry 4", "bad_signature: the ballot's signature does not verify")
    fails(report, "vote 1, entry 5", "does not link to the entry before it")


def test_edited_received_at(sample: Sample) -> None:
    def change(bundle: Any) -> None:
        entries(bundle)[1]["received_at"] = "2025-03-03T10:00:01Z"

    report = verify(tampered(sample, change))
    fails(report, "vote 1, entry 3", "does not link to the entry before it")
    assert not any(p.startswith("vote 1, entry 2:") for p in report.problems)


def test_edited_received_at_of_the_last_entry(sample: Sample) -> None:
    def change(bundle: Any) -> None:
        entries(bundle)[-1]["received_at"] = "2025-03-03T10:00:59Z"

    fails(verify(tampered(sample, change)), "vote 1, checkpoint", "head is")


@pytest.mark.parametrize(
    "at",
    [
        "2025-03-03T10:00:99Z",
        "2025-03-03T10:60:00Z",
        "2025-03-03T24:00:00Z",
        "2025-03-03T10:00:60Z",
        "2025-02-29T10:00:00Z",
        "2025-04-31T10:00:00Z",
        "2025-13-01T10:00:00Z",
        "0000-03-03T10:00:00Z",
    ],
)
def test_received_at_that_does_not_exist(at: str) -> None:
    def change(index: int, entry: dict[str, Any]) -> dict[str, Any]:
        return {**entry, "received_at": at} if index == 2 else entry

    fails(
        verify(build_vote(3, entry_hook=change).bundle_bytes()),
        "vote 1, entry 3",
        f"bad_entry: received_at {at} does not exist",
    )


@pytest.mark.parametrize("digit", ["٠", "０"])
def test_received_at_in_other_digits(digit: str) -> None:
    def change(index: int, entry: dict[str, Any]) -> dict[str, Any]:
        at = "2025-03-03T10:00:0" + digit + "Z"
        return {**entry, "received_at": at} if index == 0 else entry

    fails(
        verify(build_vote(3, entry_hook=change).bundle_bytes()),
        "vote 1, entry 1",
        "bad_entry: a field of the entry is not of its version 1 form",
    )


def test_changed_count_in_result_bytes(sample: Sample) -> None:
    def change(bundle: Any) -> None:
        bundle["votes"][0]["result"]["payload"]["counts"] = [3, 2, 0]

    fails(verify(tampered(sample, change)), "vote #1", "kvorum.vote-result: bad_signature")


def test_wrong_count_signed_by_the_server() -> None:
    def lie(result: dict[str, Any]) -> dict[str, Any]:
        return {**result, "counts": [3, 2, 0]}

    report = verify(build_vote(5, result_hook=lie).bundle_bytes())
    fails(report, "vote 1, result", "counts is [3, 2, 0] but the board gives [4, 1, 0]")
    assert report.votes[0].counts == (4, 1, 0)  # the report shows the board's count


def test_wrong_verdict_signed_by_the_server() -> None:
    def lie(result: dict[str, Any]) -> dict[str, Any]:
        return {**result, "adopted": False}

    report = verify(build_vote(5, result_hook=lie).bundle_bytes())
    fails(report, "vote 1, result", "adopted is False but the board gives True")
    assert len(report.problems) == 1


def test_changed_verdict_bytes(sample: Sample) -> None:
    def change(bundle: Any) -> None:
        bundle["votes"][0]["result"]["payload"]["adopted"] = False

    fails(verify(tampered(sample, change)), "vote #1", "kvorum.vote-result: bad_signature")


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("counts", [True, 1, 0], "[True, 1, 0]"),
        ("adopted", 1, "1"),
        ("voters", True, "True"),
    ],
)
def test_result_values_are_compared_as_json(name: str, value: object, shown: str) -> None:
    # In Python True == 1: a result claiming "counts": [true, …] must not pass.
    casts = [Cast(0, (1,)), Cast(1, (2,))] if name != "voters" else [Cast(0, (1,))]
    sample = build_vote(2, casts=casts, result_hook=lambda r: {**r, name: value})
    fails(verify(sample.bundle_bytes()), "vote 1, result", f"{name} is {shown} but the board")


def test_checkpoint_lies_about_the_head() -> None:
    def lie(checkpoint: dict[str, Any]) -> dict[str, Any]:
        return {**checkpoint, "head": content_address(b"another board")}

    fails(verify(build_vote(3, checkpoint_hook=lie).bundle_bytes()), "vote 1, checkpoint", "head")


def test_checkpoint_closed_before_a_ballot() -> None:
    sample = build_vote(4, closed_at=OPENS + 2 * SECOND)
    report = verify(sample.bundle_bytes())
    fails(report, "vote 1, entry 3", "after the board was closed")
    fails(report, "vote 1, entry 4", "after the board was closed")


def test_ballot_after_the_deadline() -> None:
    casts = [Cast(0), Cast(1, at=OPENS + 8 * DAY)]
    sample = build_vote(2, kind="absentee", casts=casts, closes=OPENS + 7 * DAY)
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", "after the deadline")


def test_ballot_before_the_opening() -> None:
    sample = build_vote(2, casts=[Cast(0, at=OPENS - SECOND), Cast(1)])
    fails(verify(sample.bundle_bytes()), "vote 1, entry 1", "before the entry or opening")


def test_swapped_registry_key(sample: Sample) -> None:
    stranger = make_key("stranger").public_key
    own = sample.registry.public_key.key_id

    def swap(bundle: Any) -> None:
        bundle["registry_keys"] = {stranger.key_id: stranger.b64u}

    report = verify(tampered(sample, swap))
    fails(report, "vote #1", f"unknown_signer: key {own} is not among the trusted keys")


def test_registry_key_filed_under_another_id(sample: Sample) -> None:
    stranger = make_key("stranger").public_key
    own = sample.registry.public_key.key_id

    def swap(bundle: Any) -> None:
        bundle["registry_keys"] = {own: stranger.b64u}

    fails(verify(tampered(sample, swap)), "registry_keys", f"key {own} is filed under the wrong id")


def test_extra_registry_key_that_signs_nothing() -> None:
    sample = build_vote(3, extra_registry_keys=[make_key("spare")])
    spare = make_key("spare").public_key.key_id
    fails(verify(sample.bundle_bytes()), "registry_keys", f"key {spare} signs nothing")


def test_swapped_certificate_key(sample: Sample) -> None:
    mallory = make_key("mallory").public_key

    def swap(bundle: Any) -> None:
        bundle["votes"][0]["certificates"][1]["payload"]["public_key"] = mallory.b64u

    report = verify(tampered(sample, swap))
    fails(report, "vote 1, certificate #2", "bad_signature")
    fails(report, "vote 1, entry 2", "unknown_key: certificate 10002 is not in the bundle")


def test_ballot_signed_with_another_members_key() -> None:
    # Voter 1's entry holds a ballot naming voter 1's certificate, signed by voter 0.
    sample = build_vote(3, casts=[Cast(0), Cast(1, key=0), Cast(2)])
    voters = sample.voters
    fails(
        verify(sample.bundle_bytes()),
        "vote 1, entry 2",
        f"bad_signature: signed by key {voters[0].key_id}, certificate 10002 is {voters[1].key_id}",
    )


def test_ballot_naming_another_members_certificate() -> None:
    # Voter 0 signs a ballot naming voter 1's certificate serial.
    sample = build_vote(3, casts=[Cast(0), Cast(0, serial=10002, choice=(2,)), Cast(2)])
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", "bad_signature: signed by key")


def test_copied_ballot_under_another_voter() -> None:
    sample = build_vote(3, casts=[Cast(0), Cast(1, copy_of=0), Cast(2)])
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", "repeats a ballot already on the board")


def test_repeated_ballot_overriding_a_revote() -> None:
    # Member 0 voted 1, then 2; the server replays the first ballot to make it count.
    casts = [Cast(0, (1,)), Cast(1), Cast(0, (2,)), Cast(0, copy_of=0)]
    sample = build_vote(2, casts=casts)
    fails(verify(sample.bundle_bytes()), "vote 1, entry 4", "repeats a ballot already on the board")


def test_replayed_ballot_with_a_respelled_signature() -> None:
    # base64url of 64 bytes leaves 4 bits unused in the last character: setting one
    # gives another spelling of the same signature. It must not pass as a new ballot.
    first = build_vote(2, casts=[Cast(0, (1,))])
    ballot = parse_json(first.entries[0])["ballot"]  # type: ignore[index]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    signature = ballot["signature"]
    ballot["signature"] = signature[:-1] + alphabet[alphabet.index(signature[-1]) | 1]
    casts = [Cast(0, (1,)), Cast(1), Cast(0, (2,)), Cast(0, (1,), envelope=ballot)]
    report = verify(build_vote(2, casts=casts).bundle_bytes())
    fails(report, "vote 1, entry 4", "bad_entry: a field of the entry is not of its version 1")


def test_one_key_certified_for_two_members() -> None:
    sample = build_vote(4, shared_keys={2: 1})
    key_id = sample.voters[1].key_id
    report = verify(sample.bundle_bytes())
    fails(report, "vote 1, certificate #3", f"key {key_id} is certified for member 102 already")
    fails(report, "vote 1, entry 3", "unknown_key: certificate 10003 is not in the bundle")


@pytest.mark.parametrize("size", [16, 18, 64])
def test_nonce_sizes(size: int) -> None:
    nonce = b64u_encode(bytes(range(size)))
    passes(build_vote(2, casts=[Cast(0, nonce=nonce), Cast(1)]).bundle_bytes())


@pytest.mark.parametrize(
    ("nonce", "message"),
    [
        ("A" * 25, "malformed: nonce must be 16 to 64 random bytes in base64url"),  # 4n+1
        ("A" * 21 + "B", "malformed: nonce must be 16 to 64 random bytes in base64url"),
        ("A" * 87, "bad_entry: a field of the entry is not of its version 1 form"),
        ("A" * 20, "bad_entry: a field of the entry is not of its version 1 form"),
    ],
)
def test_bad_nonce(nonce: str, message: str) -> None:
    sample = build_vote(2, casts=[Cast(0), Cast(1, nonce=nonce)])
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", message)


def test_ballot_of_another_vote_id() -> None:
    sample = build_vote(3, casts=[Cast(0), Cast(1, vote=2), Cast(2)])
    fails(
        verify(sample.bundle_bytes()),
        "vote 1, entry 2",
        "wrong_vote: the ballot is for vote 2, not vote 1",
    )


def test_ballot_for_another_definition() -> None:
    other = content_address(b"another definition of vote 1")
    sample = build_vote(3, casts=[Cast(0), Cast(1, definition=other), Cast(2)])
    fails(
        verify(sample.bundle_bytes()),
        "vote 1, entry 2",
        f"wrong_vote: the ballot names another definition of the vote ('{other}'",
    )


def test_ballot_taken_from_another_votes_board() -> None:
    vote_2 = build_vote(3, vote_id=2)
    ballot = parse_json(vote_2.entries[1])["ballot"]  # type: ignore[index]
    sample = build_vote(3, casts=[Cast(0), Cast(1, envelope=ballot), Cast(2)])
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", "wrong_vote")


def test_voter_not_on_the_roll() -> None:
    sample = build_vote(4, off_roll=[2])
    report = verify(sample.bundle_bytes())
    fails(report, "vote 1, entry 3", "not_on_roll: member 103 is not on the roll")
    fails(report, "vote 1", "certificate 10003 is neither on the roll nor used by a ballot")


def test_late_key_where_the_vote_does_not_allow_it() -> None:
    sample = build_vote(4, late=[2], late_keys=False)
    fails(
        verify(sample.bundle_bytes()),
        "vote 1, entry 3",
        "not_on_roll: certificate 10003 is not one the roll lists for 103",
    )


def test_certificate_revoked_before_the_ballot() -> None:
    sample = build_vote(4, revoked={1: OPENS + SECOND})
    fails(
        verify(sample.bundle_bytes()),
        "vote 1, entry 2",
        "revoked: certificate 10002 was revoked when the board held 0 entries",
    )
    sample = build_vote(4, revoked={1: OPENS + SECOND}, format_version=1)
    fails(
        verify(sample.bundle_bytes()),
        "vote 1, entry 2",
        "revoked: certificate 10002 was revoked at 2025-03-03T10:00:01Z",
    )


@pytest.mark.parametrize("version", [1, 2])
def test_certificate_revoked_as_the_ballot_arrived(version: int) -> None:
    # Placed before its ballot (version 2), or dated in its second (version 1).
    sample = build_vote(4, revoked={1: OPENS + 2 * SECOND}, format_version=version)
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", "revoked")


def test_a_revocation_placed_after_a_ballot_of_its_second_lets_it_count() -> None:
    # The race of a ballot and a revocation in one second: the board took the ballot
    # first, the server counted it, and version 2 says so.
    sample = build_vote(4, revoked={1: OPENS + 2 * SECOND}, places={1: 2})
    passes(sample.bundle_bytes())
    assert sample.outcome.voters == 4


def test_a_revocation_placed_before_its_date() -> None:
    # Placed after entry 0 but dated after entry 1 was received: misdated.
    casts = [Cast(0), Cast(1), Cast(2)]  # voter 3 does not vote
    sample = build_vote(4, casts=casts, revoked={3: OPENS + 2 * SECOND}, places={3: 0})
    report = verify(sample.bundle_bytes())
    assert report.checks == ["V-82"], report.text()


def test_expired_certificate() -> None:
    times = {1: (OPENS - 400 * DAY, OPENS + SECOND)}
    sample = build_vote(4, certificate_times=times)
    fails(
        verify(sample.bundle_bytes()),
        "vote 1, entry 2",
        "expired: certificate 10002 is not valid at 2025-03-03T10:00:02Z",
    )


def test_certificate_not_yet_valid() -> None:
    times = {1: (OPENS + 10 * SECOND, OPENS + 400 * DAY)}
    sample = build_vote(4, certificate_times=times, late=[1], kind="absentee")
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", "expired: certificate 10002")


def test_roll_lists_a_certificate_issued_after_the_opening() -> None:
    times = {1: (OPENS + SECOND, OPENS + 400 * DAY)}
    sample = build_vote(4, certificate_times=times)
    fails(
        verify(sample.bundle_bytes()),
        "vote 1",
        "certificate 10002 was not valid when the vote opened",
    )


def test_revocation_list_older_than_the_close() -> None:
    sample = build_vote(4)
    older = build_vote(4, crl_issued_at=sample.closed_at - SECOND)
    fails(
        verify(older.bundle_bytes()),
        "vote 1, revocation list",
        "before the vote closed: a later revocation could be missing",
    )


def test_revocation_list_of_another_number() -> None:
    sample = build_vote(3, result_hook=lambda r: {**r, "revocations": 2})
    fails(verify(sample.bundle_bytes()), "vote 1, result", "revocations is 2 but the board gives 1")


@pytest.mark.parametrize("version", [3, 0, True, "2", None])
def test_bundle_of_an_unknown_version(sample: Sample, version: object) -> None:
    report = verify(tampered(sample, lambda b: b.update(v=version)))
    fails(report, "bundle", f"version {version!r}; this verifier knows")
    assert report.checks == ["V-2"]
    assert "cannot check it" in report.text()


def test_secret_vote_fails_closed(sample: Sample) -> None:
    def secret(bundle: Any) -> None:
        vote = bundle["votes"][0]
        vote["definition"]["payload"]["secret"] = True
        vote["definition"] = resign(vote["definition"], sample.registry)

    fails(
        verify(tampered(sample, secret)),
        "vote #1",
        "definition: malformed: vote definition: secret ballots are not part of version 1",
    )


def test_definition_version_3_fails_closed(sample: Sample) -> None:
    def newer(bundle: Any) -> None:
        vote = bundle["votes"][0]
        vote["definition"]["payload"]["v"] = 3
        vote["definition"] = resign(vote["definition"], sample.registry)

    fails(verify(tampered(sample, newer)), "vote #1", "unsupported_version")


def test_definition_version_2_needs_its_secretary_and_hall_marks(sample: Sample) -> None:
    def bare(bundle: Any) -> None:
        vote = bundle["votes"][0]
        vote["definition"]["payload"]["v"] = 2
        vote["definition"] = resign(vote["definition"], sample.registry)

    fails(verify(tampered(sample, bare)), "vote #1", "missing field 'secretary'")


def _hall_vote(*casts: Cast, **options: Any) -> Sample:
    return build_vote(5, casts=list(casts), secretary=0, in_hall=[3, 4], **options)


def test_hall_records_count_for_the_member_named_and_own_ballots_replace_them() -> None:
    sample = _hall_vote(
        Cast(0),
        Cast(0, (2,), hall_for=3),
        Cast(0, (3,), hall_for=4),
        Cast(0, (1,), hall_for=4),  # the secretary corrects the count
        Cast(4, (2,)),  # the member's own ballot replaces the record
    )
    report = verify(sample.bundle_bytes())
    assert report.ok, report.text()
    summary = report.votes[0]
    assert (summary.voters, summary.counts, summary.hall) == (
        3,
        (1, 2, 0),
        (sample.voters[3].member,),
    )
    assert f"members {sample.voters[3].member}" in report.text()


def test_a_hall_record_signed_with_another_key_than_its_serials() -> None:
    sample = _hall_vote(Cast(0), Cast(0, hall_for=3, key=1, counted=False))
    fails(verify(sample.bundle_bytes()), "vote 1, entry 2", "signature")
    assert verify(sample.bundle_bytes()).checks == ["V-66"]


def test_a_survey_names_no_secretary() -> None:
    with pytest.raises(CredentialError, match="only a meeting vote names a secretary"):
        build_vote(3, kind="survey", secretary=0)


def test_unknown_field_fails_closed(sample: Sample) -> None:
    def extra(bundle: Any) -> None:
        bundle["votes"][0]["weights"] = [1, 1, 1]

    fails(verify(tampered(sample, extra)), "vote #1", "must be an object with exactly the fields")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.replace(b',"type"', b', "type"', 1), "bundle header"),
        (lambda d: d + b"\n", "bundle end"),
        (lambda d: b" " + d, "bundle header"),
        (lambda d: d.replace(b'"entries":[{', b'"entries":[ {', 1), "vote 1, entry 1"),
        (lambda d: d.replace(b'"roll":[', b'"roll": [', 1), "vote 1, definition"),
        (lambda d: d.replace(b'"v":1}', b'"v":1.0}', 1), "vote 1, certificate #1"),
    ],
)
def test_non_canonical_file(sample: Sample, change: Callable[[bytes], bytes], where: str) -> None:
    data = change(sample.bundle_bytes())
    assert parse_json(data) == parse_json(sample.bundle_bytes())
    fails(verify(data), where, "the bundle is not in canonical form at byte")


def test_pretty_printed_file(sample: Sample) -> None:
    data = json.dumps(load(sample.bundle_bytes()), ensure_ascii=False, indent=1).encode()
    fails(verify(data), "bundle header", "not in canonical form at byte 1")


def test_trusted_keys_without_the_signer(sample: Sample) -> None:
    stranger = make_key("stranger").public_key
    own = sample.registry.public_key.key_id
    report = verify(sample.bundle_bytes(), trusted={stranger.key_id: stranger})
    fails(report, "registry_keys", f"key {own} is not among the trusted keys")
    fails(report, "vote #1", "unknown_signer")


def test_trusted_key_of_the_same_id_but_another_key(sample: Sample) -> None:
    # Ids are truncated hashes; the trusted key itself must be the one in the bundle.
    own = sample.registry.public_key.key_id
    report = verify(sample.bundle_bytes(), trusted={own: make_key("stranger").public_key})
    fails(report, "registry_keys", f"key {own} differs from the trusted key of that id")
    fails(report, "vote #1", "unknown_signer")


def test_trusted_keys_without_the_previous_key() -> None:
    previous = make_key("registry before the rotation")
    sample = build_vote(3, certificate_registry=previous)
    current = sample.registry.public_key
    report = verify(sample.bundle_bytes(), trusted={current.key_id: current})
    fails(report, "registry_keys", f"key {previous.public_key.key_id} is not among the trusted")
    fails(report, "vote 1, certificate #1", "unknown_signer")


def test_not_json_at_all() -> None:
    fails(verify(b"\xff not json"), "bundle", "not valid JSON")
    fails(verify(b"[]"), "bundle", "not a JSON object")
    fails(verify(b""), "bundle", "not valid JSON")


def test_every_single_byte_change_fails() -> None:
    voters = make_voters(5, registry=make_key("registry"))
    first = build_vote(
        voters,
        casts=[Cast(0), Cast(1, (2,)), Cast(2), Cast(0, (3,)), Cast(3), Cast(4)],
        revoked={4: OPENS + DAY},
    )
    second = build_vote(
        voters,
        vote_id=2,
        kind="survey",
        options=["Бассейн", "Санаторий", "Лагерь"],
        max_choices=2,
        rule=Rule("none"),
        late=[1],
        opens=OPENS + DAY,
    )
    data = bundle_of([first, second])
    passes(data)
    step = max(1, len(data) // 400)
    positions = range(step // 2, len(data), step)
    assert len(positions) >= 350
    passed = []
    for count, position in enumerate(positions):
        old = data[position]
        new = (old + 1 + count * 37 % 255) % 256
        assert new != old
        variant = data[:position] + bytes([new]) + data[position + 1 :]
        report = verify(variant)
        if report.ok:
            passed.append((position, old, new))
    assert not passed


# --- purity: the verifier runs with PyNaCl alone ---------------------------------------

GUARD = """
import importlib
import importlib.abc
import json
import sys

ALLOWED = set(sys.stdlib_module_names) | {"nacl", "_cffi_backend", "cffi", "crypto", "ballots"}
# copy and pickle try "from org.python.core import PyStringMap" (for Jython) and go on.
HARMLESS = {"org"}
# Not packages but names in sys.modules: multiprocessing's alias of the main module,
# and the compiled module of PyNaCl (nacl._sodium) under its own name.
ALIASES = {"__mp_main__", "_sodium"}
refused = []


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in ALLOWED:
            refused.append(name)
            raise ImportError(f"refused by the test: {name}")
        return None


bundle, receipt, *modules = sys.argv[1:]
before = set(sys.modules)
sys.meta_path.insert(0, Refuse())
try:
    for module in modules:
        importlib.import_module(module)
except ImportError as exc:
    print("import failed:", exc)
    raise SystemExit(3)
import ballots.auditcli

status = ballots.auditcli.main(["verify", bundle, "--jobs", "1"])
status += ballots.auditcli.main(["receipt", bundle, receipt])
loaded = {name.partition(".")[0] for name in set(sys.modules) - before}
print(json.dumps({
    "refused": sorted(set(refused) - HARMLESS),
    "outside": sorted(loaded - ALLOWED - ALIASES),
}))
raise SystemExit(status)
"""


def run_guarded(sample: Sample, tmp_path: Path, *modules: str) -> subprocess.CompletedProcess[str]:
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(sample.bundle_bytes())
    receipt = tmp_path / "receipt.json"
    receipt.write_bytes(canonicalize(sample.receipt(2)))
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", GUARD, str(bundle), str(receipt), *modules],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "ru_RU.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_verifier_needs_pynacl_only(sample: Sample, tmp_path: Path) -> None:
    result = run_guarded(sample, tmp_path, "ballots.verify", "ballots.auditcli", "ballots")
    assert result.returncode == 0, result.stdout + result.stderr
    last = json.loads(result.stdout.splitlines()[-1])
    assert last == {"refused": [], "outside": []}
    assert "квитанция: ваш бюллетень — запись 2 голосования 1" in result.stdout


def test_the_import_guard_refuses_the_server_side(sample: Sample, tmp_path: Path) -> None:
    result = run_guarded(sample, tmp_path, "ballots.board")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "import failed: refused by the test:" in result.stdout


# --- receipts -------------------------------------------------------------------------


def test_receipt_of_a_dropped_ballot() -> None:
    # The server drops entry 2 and rebuilds the chain, the checkpoint and the result:
    # the bundle verifies, but the voter's receipt shows the ballot is gone.
    honest = build_vote(4)
    receipt = canonicalize(honest.receipt(2))
    dropped = build_vote(4, entry_hook=lambda i, e: None if i == 1 else e)
    data = dropped.bundle_bytes()
    report = passes(data)
    check_receipt(data, receipt, report)
    fails(report, "receipt", "entry 2 of vote 1 on the board has hash")
    assert "the board does not hold your ballot there" in report.text()
    last = canonicalize(honest.receipt(4))
    report = passes(data)
    check_receipt(data, last, report)
    fails(report, "receipt", "entry 4 is not on the board of vote 1 (3 entries)")


def test_receipt_signed_by_an_untrusted_key(sample: Sample) -> None:
    forged = resign(sample.receipt(1), make_key("stranger"))
    report = Report()
    check_receipt(sample.bundle_bytes(), canonicalize(forged), report)
    fails(report, "receipt", "unknown_signer")
    report = Report()
    stranger = make_key("stranger").public_key
    check_receipt(
        sample.bundle_bytes(),
        canonicalize(sample.receipt(1)),
        report,
        trusted={stranger.key_id: stranger},
    )
    fails(report, "receipt", "unknown_signer")


def test_receipt_of_another_vote(sample: Sample) -> None:
    other = build_vote(5, vote_id=4, registry=sample.registry)
    report = Report()
    check_receipt(sample.bundle_bytes(), canonicalize(other.receipt(1)), report)
    fails(report, "receipt", "vote 4 is not in the bundle")


def test_receipt_with_another_time(sample: Sample) -> None:
    payload = dict(sample.receipt(3)["payload"])
    payload["received_at"] = "2025-03-03T10:00:00Z"
    receipt = resign({"payload": payload}, sample.registry)
    report = Report()
    check_receipt(sample.bundle_bytes(), canonicalize(receipt), report)
    fails(report, "receipt", "received_at is '2025-03-03T10:00:00Z' but the board gives")


@pytest.mark.parametrize("receipt", [b"", b"{}", b"not json", b"[1]"])
def test_unreadable_receipt(sample: Sample, receipt: bytes) -> None:
    report = Report()
    check_receipt(sample.bundle_bytes(), receipt, report)
    fails(report, "receipt", "malformed")


@pytest.mark.parametrize("data", [b"", b"[]", b'{"votes": 3}', b'{"registry_keys": []}'])
def test_receipt_against_an_unreadable_bundle(sample: Sample, data: bytes) -> None:
    report = Report()
    check_receipt(data, canonicalize(sample.receipt(1)), report)
    assert not report.ok


def test_a_version_2_bundle_may_hold_votes_closed_before_version_2() -> None:
    old = build_vote(4, revoked={1: OPENS + DAY}, format_version=1)
    new = build_vote(old.voters, vote_id=2, registry=old.registry, revoked={1: OPENS + DAY})
    data = bundle_of([old, new])
    assert load(data)["v"] == 2
    passes(data)
    assert bundle_of([old]).count(b'"v":1,"votes"') == 1
    passes(bundle_of([old]))


def test_a_version_1_bundle_holds_no_version_2_checkpoint() -> None:
    data = build_vote(4).bundle_bytes().replace(b'"v":2,"votes"', b'"v":1,"votes"')
    report = verify(data)
    assert "V-20" in report.checks, report.text()


def test_the_server_assembles_the_version_its_checkpoints_say() -> None:
    old = build_vote(3, format_version=1)
    new = build_vote(old.voters, vote_id=2, registry=old.registry)
    assert old.assemble() == old.bundle_bytes()
    assert assemble([old, new]) == bundle_of([old, new])
