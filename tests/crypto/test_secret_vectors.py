"""The shared secret-ballot vectors (vectors/secret.json): Python must reproduce every
byte from the listed nonces, accept every valid item and refuse every invalid one
with the named check and reason. The JavaScript twin runs the same file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crypto.challenge import challenge, transcript
from crypto.dkg import (
    DealerCommitment,
    DkgParameters,
    deal,
    joint_key,
    lagrange_at_zero,
    qualified_dealers,
    verify_dealer,
    verify_share,
)
from crypto.elgamal import Ciphertext, DiscreteLogTable, decrypt, encrypt
from crypto.encoding import b64u_decode
from crypto.errors import SecretBallotError
from crypto.group import GENERATOR, IDENTITY, L, base, parse_point, parse_scalar
from crypto.secretballot import (
    BallotForm,
    BallotOpening,
    EncryptedBallot,
    PartialDecryption,
    SecretElection,
    check_ballot,
    combine,
    encrypt_ballot,
    open_ballot,
    partial_decrypt,
    tally,
    verify_ballot,
    verify_partial,
)
from tests.crypto import make_secret_vectors

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "secret.json").read_text("utf-8")
)


def replay(nonces: list[str]) -> Callable[[], int]:
    """A draw function that hands out the listed scalars in order, and no more."""
    values = [parse_scalar(n) for n in nonces]
    values.reverse()
    return values.pop


def election(value: dict[str, Any]) -> SecretElection:
    form = value["form"]
    return SecretElection(
        bytes.fromhex(value["fingerprint_hex"]),
        parse_point(value["key"], allow_identity=False),
        BallotForm(form["options"], form["min_marks"], form["max_marks"]),
    )


def dkg_params() -> DkgParameters:
    dkg = VECTORS["dkg"]
    return DkgParameters(bytes.fromhex(dkg["context_hex"]), dkg["members"], dkg["threshold"])


def election_key() -> Any:
    params = dkg_params()
    commitments = [
        DealerCommitment.parse(d["commitment"], params) for d in VECTORS["dkg"]["dealers"]
    ]
    return joint_key(params, qualified_dealers(params, commitments))


def named(items: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(item, id=item["name"]) for item in items]


def test_file_is_current() -> None:
    text = make_secret_vectors.files()[make_secret_vectors.NAME]
    stored = (Path(__file__).parent / "vectors" / make_secret_vectors.NAME).read_text("utf-8")
    assert stored == text, (
        "vectors/secret.json is stale: run python -m tests.crypto.make_secret_vectors"
    )


def test_group() -> None:
    group = VECTORS["group"]
    assert int(group["l"]) == L
    assert group["generator"] == GENERATOR.encode()
    assert group["identity"] == IDENTITY.encode() == "AQ" + "A" * 41
    assert [base(k).encode() for k in range(6)] == group["multiples"]
    assert base(L - 1).encode() == group["minus_one"] == (-GENERATOR).encode()
    for item in group["products"]:
        assert base(parse_scalar(item["scalar"])).encode() == item["point"]
        assert (GENERATOR * parse_scalar(item["scalar"])).encode() == item["point"]
    for item in group["sums"]:
        assert (parse_point(item["a"]) + parse_point(item["b"])).encode() == item["sum"]


@pytest.mark.parametrize("item", named(VECTORS["points"]))
def test_points(item: dict[str, Any]) -> None:
    allow = item.get("allow_identity", True)
    if item.get("valid"):
        assert parse_point(item["text"], allow_identity=allow).encode() == item["text"]
        return
    with pytest.raises(SecretBallotError) as info:
        parse_point(item["text"], allow_identity=allow)
    assert (info.value.check, info.value.reason) == (item["check"], item["reason"])


@pytest.mark.parametrize("item", named(VECTORS["scalars"]))
def test_scalars(item: dict[str, Any]) -> None:
    if "value" in item:
        assert parse_scalar(item["text"]) == int(item["value"])
        return
    with pytest.raises(SecretBallotError) as info:
        parse_scalar(item["text"])
    assert (info.value.check, info.value.reason) == (item["check"], item["reason"])


@pytest.mark.parametrize("item", named(VECTORS["challenges"]))
def test_challenges(item: dict[str, Any]) -> None:
    tag = item["tag"].encode()
    items = [bytes.fromhex(x) for x in item["items_hex"]]
    assert transcript(tag, items).hex() == item["transcript_hex"]
    assert challenge(tag, items) == parse_scalar(item["challenge"])
    assert int.from_bytes(bytes.fromhex(item["sha512_hex"]), "little") % L == challenge(tag, items)


def test_encryptions() -> None:
    for item in VECTORS["encryptions"]:
        key = parse_point(item["key"])
        secret = parse_scalar(item["secret"])
        assert base(secret) == key
        c = encrypt(key, item["message"], parse_scalar(item["randomness"]))
        assert c.to_json() == {"alpha": item["alpha"], "beta": item["beta"]}
        assert decrypt(c, secret).encode() == item["decrypted"] == base(item["message"]).encode()


def test_dkg() -> None:
    dkg = VECTORS["dkg"]
    params = dkg_params()
    for dealer in dkg["dealers"]:
        commitment, shares = deal(params, dealer["dealer"], replay(dealer["nonces"]))
        assert commitment.to_json() == dealer["commitment"]
        assert {str(i): s for i, s in shares.items()} == {
            i: parse_scalar(s) for i, s in dealer["shares"].items()
        }
        parsed = DealerCommitment.parse(dealer["commitment"], params)
        verify_dealer(params, parsed)
        for i, share in dealer["shares"].items():
            verify_share(params, parsed, int(i), parse_scalar(share))
        assert bytes.fromhex(dealer["knowledge_transcript_hex"]) == transcript(
            b"kvorum/secret/v1/knowledge",
            [params.context, *(x.to_bytes(4, "big") for x in (5, 3, dealer["dealer"]))]
            + [parse_point(c).raw for c in dealer["commitment"]["commitments"]]
            + [base(parse_scalar(dealer["nonces"][3])).raw],
        )
    key = election_key()
    assert list(key.qualified) == dkg["qualified"]
    assert key.key.encode() == dkg["key"]
    assert {str(i): k.encode() for i, k in key.verification_keys.items()} == dkg[
        "verification_keys"
    ]
    for i, share in dkg["member_shares"].items():
        assert base(parse_scalar(share)) == key.verification_keys[int(i)]
    for item in dkg["lagrange"]:
        members = item["members"]
        for i, value in item["coefficients"].items():
            assert lagrange_at_zero(members, int(i)) == parse_scalar(value)


@pytest.mark.parametrize("item", named(VECTORS["ballots"]))
def test_ballots(item: dict[str, Any]) -> None:
    el = election(item["election"])
    voter = b64u_decode(item["voter_key"])
    ballot, opening = encrypt_ballot(el, voter, item["marks"], replay(item["nonces"]))
    assert ballot.to_json() == item["ballot"]
    assert opening.to_json() == item["opening"]
    assert ballot.total().to_json() == item["total"]
    parsed = EncryptedBallot.parse(item["ballot"], el.form)
    verify_ballot(el, voter, parsed)
    assert check_ballot(el, voter, item["ballot"]).to_json() == item["ballot"]
    assert open_ballot(el, voter, parsed, BallotOpening.parse(item["opening"], el.form)) == tuple(
        item["marks"]
    )
    assert [t["proof"] for t in item["transcripts"]] == [
        *(f"bit {i}" for i in range(el.form.options)),
        "sum",
    ]
    proofs = [*parsed.bit_proofs, parsed.sum_proof]
    for expected, proof in zip(item["transcripts"], proofs, strict=True):
        # the challenge of the transcript is the sum of the proof's branch challenges
        data = bytes.fromhex(expected["transcript_hex"])
        got = int.from_bytes(hashlib.sha512(data).digest(), "little") % L
        assert got == parse_scalar(expected["challenge"]) == sum(proof.challenges) % L


def test_count() -> None:
    count = VECTORS["count"]
    el = election(count["election"])
    key = election_key()
    ballots = []
    for item in count["ballots"]:
        voter = b64u_decode(item["voter_key"])
        ballot = EncryptedBallot.parse(item["ballot"], el.form)
        verify_ballot(el, voter, ballot)
        ballots.append(ballot)
    totals = tally(el, ballots)
    assert [t.to_json() for t in totals] == count["totals"]
    partials = {}
    for item in count["partials"]:
        partial = PartialDecryption.parse(item["partial"], el.form.options)
        verify_partial(el, key, totals, partial)
        again = partial_decrypt(
            el, partial.member, parse_scalar(item["share"]), totals, replay(item["nonces"])
        )
        assert again.to_json() == item["partial"]
        partials[partial.member] = partial
    table = DiscreteLogTable(len(ballots))
    for item in count["combine"]:
        chosen = [partials[m] for m in item["members"]]
        assert list(combine(el, key, totals, chosen, table)) == item["counts"]
    empty = count["empty_tally"]
    empty_totals = tally(el, [])
    assert [t.to_json() for t in empty_totals] == empty["totals"]
    assert all(t == Ciphertext(IDENTITY, IDENTITY) for t in empty_totals)
    chosen = [PartialDecryption.parse(p, 3) for p in empty["partials"]]
    assert list(combine(el, key, empty_totals, chosen, table)) == empty["counts"]


def run_invalid(item: dict[str, Any]) -> None:
    kind = item["kind"]
    if kind == "ballot":
        el = election(item["election"])
        voter = b64u_decode(item["voter_key"])
        # The fast path (points checked by use) must give the strict path's verdict.
        with pytest.raises(SecretBallotError) as fast:
            check_ballot(el, voter, item["ballot"])
        assert (fast.value.check, fast.value.reason) == (item["check"], item["reason"])
        verify_ballot(el, voter, EncryptedBallot.parse(item["ballot"], el.form))
    elif kind == "opening":
        el = election(item["election"])
        voter = b64u_decode(item["voter_key"])
        ballot = EncryptedBallot.parse(item["ballot"], el.form)
        open_ballot(el, voter, ballot, BallotOpening.parse(item["opening"], el.form))
    elif kind == "dealer":
        params = dkg_params()
        verify_dealer(params, DealerCommitment.parse(item["commitment"], params))
    elif kind == "share":
        params = dkg_params()
        commitment = DealerCommitment.parse(item["commitment"], params)
        verify_share(params, commitment, item["recipient"], parse_scalar(item["share"]))
    elif kind == "combine":
        el = election(VECTORS["count"]["election"])
        ballots = [EncryptedBallot.parse(b["ballot"], el.form) for b in VECTORS["count"]["ballots"]]
        partials = [PartialDecryption.parse(p, el.form.options) for p in item["partials"]]
        combine(
            el, election_key(), tally(el, ballots), partials, DiscreteLogTable(item["roll_size"])
        )
    else:  # pragma: no cover - a new kind must be handled here
        raise AssertionError(kind)


@pytest.mark.parametrize("item", named(VECTORS["invalid"]))
def test_invalid(item: dict[str, Any]) -> None:
    with pytest.raises(SecretBallotError) as info:
        run_invalid(item)
    assert (info.value.check, info.value.reason) == (item["check"], item["reason"]), str(info.value)
    assert info.value.trustee == item.get("trustee")


def test_there_are_enough_refused_cases() -> None:
    refused = [p for p in VECTORS["points"] if not p.get("valid")]
    refused += [s for s in VECTORS["scalars"] if "check" in s]
    refused += VECTORS["invalid"]
    assert len(refused) >= 30
    assert len({(c["check"], c["reason"]) for c in refused}) >= 18
