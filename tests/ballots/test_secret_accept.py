"""Accepting documents onto a secret vote's board (``BoardReplay.apply(accepting=True)``,
what the server runs before appending): an honest board is taken entry by entry, and
each refusal carries the check id and reason code an audit would report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ballots.secretformats import entry_payload, fingerprint
from ballots.secretverify import BoardReplay, Refused, open_replay
from crypto.ed25519 import PublicKey
from crypto.instant import parse_instant
from tests.ballots.make_bundle import load, resign, sign
from tests.ballots.make_secret import SecretSample

CASTS = [
    (0, (1, 1, 0), False),
    (1, (1, 0, 0), False),
    (1, (0, 1, 0), True),
    (2, (0, 1, 1), False),
    (2, (1, 0, 0), False),
    (3, (0, 0, 0), False),
]
SAMPLE = SecretSample(casts=CASTS, seed="accepting")
BUNDLE = load(SAMPLE.bundle())
CLOSED = parse_instant(BUNDLE["result"]["payload"]["closed_at"])
KEYS = {k: PublicKey.from_b64u(v) for k, v in BUNDLE["registry_keys"].items()}


def _replay(upto: int) -> BoardReplay:
    """The board replayed, accepting, up to (not including) entry ``upto``."""
    replay = open_replay(BUNDLE["definition"], BUNDLE["certificates"], KEYS, CLOSED)
    for seq, entry in enumerate(BUNDLE["entries"][: upto - 1], start=1):
        replay.apply(seq, entry, accepting=True)
    return replay


def _entry(replay: BoardReplay, kind: str, document: Any, at: dt.datetime) -> dict[str, Any]:
    return entry_payload(replay.vote, replay.length + 1, replay.prev, kind, document, at)


def _at(entry: Any) -> dt.datetime:
    return parse_instant(entry["received_at"])


def _first(kind: str, nth: int = 0) -> tuple[int, Any]:
    found = [(s, e) for s, e in enumerate(BUNDLE["entries"], 1) if e["kind"] == kind]
    return found[nth]


def _refused(replay: BoardReplay, entry: dict[str, Any]) -> Refused:
    before = (replay.length, replay.prev, len(replay.ballots), len(replay.partials))
    with pytest.raises(Refused) as caught:
        replay.apply(replay.length + 1, entry, accepting=True)
    # A refused document leaves no trace: the board goes on from the same head.
    assert (replay.length, replay.prev, len(replay.ballots), len(replay.partials)) == before
    return caught.value


def test_the_honest_board_is_accepted_and_counts() -> None:
    replay = _replay(len(BUNDLE["entries"]) + 1)
    assert replay.count() == tuple(BUNDLE["result"]["payload"]["counts"])
    assert replay.prev == BUNDLE["result"]["payload"]["head"]


def test_a_replayed_ballot_is_refused() -> None:
    seq, ballot = _first("ballot")
    replay = _replay(seq + 1)
    refused = _refused(replay, _entry(replay, "ballot", ballot["document"], _at(ballot)))
    assert (refused.check, refused.reason) == ("V-216", "repeated_ballot")


def test_a_ballot_copied_from_another_voter_is_refused() -> None:
    seq, ballot = _first("ballot")
    replay = _replay(seq + 1)
    other = SAMPLE.members[5]
    payload = {**ballot["document"]["payload"], "serial": other.serial, "nonce": "x" * 24}
    document = resign({"payload": payload}, other.key)
    refused = _refused(replay, _entry(replay, "ballot", document, _at(ballot)))
    # The proofs are bound to the first voter's key (docs/secret-ballots.md §4.1).
    assert (refused.check, refused.reason) == ("V-230", "bad_ballot")
    assert "S-11" in refused.message
    # Under the first voter's serial but another's signature: the signature fails.
    forged = resign({"payload": ballot["document"]["payload"]}, other.key)
    refused = _refused(replay, _entry(replay, "ballot", forged, _at(ballot)))
    assert (refused.check, refused.reason) == ("V-212", "bad_signature")


def test_a_ballot_of_another_election_or_fingerprint_is_refused() -> None:
    seq, ballot = _first("ballot")
    replay = _replay(seq)
    voter = SAMPLE.members[0]
    for change in ({"definition": "sha256:" + "2" * 64}, {"vote": 2}):
        payload = {**ballot["document"]["payload"], **change}
        document = resign({"payload": payload}, voter.key)
        refused = _refused(replay, _entry(replay, "ballot", document, _at(ballot)))
        assert (refused.check, refused.reason) == ("V-215", "wrong_vote")


def test_a_partial_decryption_with_a_wrong_proof_is_refused_naming_the_member() -> None:
    seq, partial = _first("partial", 1)
    replay = _replay(seq)
    payload = dict(partial["document"]["payload"])
    proof = payload["partial"]["partials"][0]["proof"]
    wrong = {**proof, "c": proof["v"], "v": proof["c"]}
    first, *rest = payload["partial"]["partials"]
    payload["partial"] = {
        **payload["partial"],
        "partials": [{**first, "proof": wrong}, *rest],
    }
    document = resign({"payload": payload}, SAMPLE.members[1].key)
    refused = _refused(replay, _entry(replay, "partial", document, _at(partial)))
    assert (refused.check, refused.reason) == ("V-240", "bad_partial_decryption")
    assert "member 2" in refused.message


def test_a_member_decrypting_twice_is_refused() -> None:
    seq, partial = _first("partial", 1)
    replay = _replay(seq + 1)
    again = resign({"payload": dict(partial["document"]["payload"])}, SAMPLE.members[1].key)
    # Ed25519 is deterministic: the same payload gives the same signature, a replay.
    refused = _refused(replay, _entry(replay, "partial", again, _at(partial)))
    assert refused.check in ("V-216", "V-241")


def test_a_count_with_fewer_than_t_is_refused() -> None:
    seq, _partial = _first("partial", 2)
    replay = _replay(seq)  # members 1 and 2 decrypted; t = 3
    with pytest.raises(Refused) as caught:
        replay.count()
    assert (caught.value.check, caught.value.reason) == ("V-242", "not_enough_decryptions")


def test_a_ballot_after_the_close_is_refused() -> None:
    seq, ballot = _first("ballot")
    replay = _replay(seq)
    refused = _refused(replay, _entry(replay, "ballot", ballot["document"], CLOSED))
    assert (refused.check, refused.reason) == ("V-214", "out_of_time")


def test_key_generation_runs_under_the_draft_and_gives_the_definitions_key() -> None:
    draft = SAMPLE.definition_payload("", [])
    draft["opens_at"] = None
    replay = open_replay(sign(draft, SAMPLE.registry), BUNDLE["certificates"], KEYS, draft=True)
    dealers = [e for e in BUNDLE["entries"] if e["kind"] == "dealer"]
    for seq, entry in enumerate(dealers, start=1):
        replay.apply(seq, entry, accepting=True)
    key = replay.key()
    final = BUNDLE["definition"]["payload"]
    assert key.key.encode() == final["key"]
    assert list(key.qualified) == final["dealers"]
    # Nothing is voted under a draft, not even a ballot naming the draft itself.
    _seq, ballot = _first("ballot")
    payload = {**ballot["document"]["payload"], "definition": fingerprint(draft)}
    document = resign({"payload": payload}, SAMPLE.members[0].key)
    refused = _refused(replay, _entry(replay, "ballot", document, _at(ballot)))
    assert (refused.check, refused.reason) == ("V-214", "out_of_time")
    # A dealer twice, or one not on the commission, is refused.
    later = _at(dealers[-1])
    refused = _refused(replay, _entry(replay, "dealer", dealers[0]["document"], later))
    assert refused.check == "V-216"
    outsider = SAMPLE.members[6]
    payload = {**dealers[0]["document"]["payload"], "serial": outsider.serial}
    document = resign({"payload": payload}, outsider.key)
    refused = _refused(replay, _entry(replay, "dealer", document, later))
    assert (refused.check, refused.reason) == ("V-213", "not_on_commission")
