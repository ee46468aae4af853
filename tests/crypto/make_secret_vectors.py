"""Write ``tests/crypto/vectors/secret.json``: the shared vectors of secret ballots.

Run ``.venv/bin/python -m tests.crypto.make_secret_vectors`` after a deliberate
change; ``tests/crypto/test_secret_vectors.py`` fails if the stored file drifts from
what this writes, and checks every vector against :mod:`crypto`. The JavaScript
twin reads the same file. The format is described in ``docs/secret-ballots.md``
("Test vectors"); in short:

* every random scalar is listed, in the order the algorithm draws it (``nonces``),
  so another implementation reproduces every byte;
* points and scalars are unpadded base64url, byte strings that are not points or
  scalars are lowercase hex (``*_hex``);
* every challenge lists its transcript in hex;
* ``invalid`` cases name the check and reason code a verifier must give.

The nonces are derived, for reproducibility only, as
SHA-512("kvorum/secret/v1/test-vector" ‖ label ‖ u32(i)) mod ℓ; nothing in Kvorum
draws real randomness like this.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crypto import _disjunctive, _edwards
from crypto.bitproof import BitProof
from crypto.challenge import (
    TAG_BIT,
    TAG_DECRYPTION,
    TAG_KNOWLEDGE,
    TAG_SUM,
    challenge,
    transcript,
    u32,
)
from crypto.dkg import DkgParameters, deal, joint_key, member_share, qualified_dealers
from crypto.elgamal import Ciphertext, DiscreteLogTable, decrypt, encrypt
from crypto.encoding import b64u_encode
from crypto.group import GENERATOR, IDENTITY, L, base, encode_scalar
from crypto.secretballot import (
    BallotForm,
    EncryptedBallot,
    SecretElection,
    combine,
    encrypt_ballot,
    partial_decrypt,
    tally,
)
from crypto.sumproof import SumProof

VECTORS = Path(__file__).parent / "vectors"
NAME = "secret.json"


class Nonces:
    """Deterministic "random" scalars for one labelled computation, recorded."""

    def __init__(self, label: str) -> None:
        self.label = label.encode()
        self.drawn: list[int] = []

    def __call__(self) -> int:
        digest = hashlib.sha512(
            b"kvorum/secret/v1/test-vector" + self.label + u32(len(self.drawn))
        ).digest()
        value = int.from_bytes(digest, "little") % L
        self.drawn.append(value)
        return value

    def json(self) -> list[str]:
        return [encode_scalar(k) for k in self.drawn]


def scalar_from(label: str) -> int:
    return Nonces(label)()


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def b64(raw: bytes) -> str:
    return b64u_encode(raw)


# --- group -----------------------------------------------------------------------


def group_vectors() -> dict[str, object]:
    return {
        "l": str(L),
        "generator": GENERATOR.encode(),
        "identity": IDENTITY.encode(),
        "multiples": [base(k).encode() for k in range(6)],
        "minus_one": base(L - 1).encode(),
        "products": [
            {"scalar": encode_scalar(k), "point": base(k).encode()}
            for k in (scalar_from("product 1"), scalar_from("product 2"), L - 2)
        ],
        "sums": [
            {"a": base(a).encode(), "b": base(b).encode(), "sum": base(a + b).encode()}
            for a, b in ((1, L - 1), (5, 7), (scalar_from("sum a"), scalar_from("sum b")))
        ],
    }


def _off_curve() -> bytes:
    y = 2
    while True:
        raw = y.to_bytes(32, "little")
        if _edwards.decode(raw)[1] == "not_on_curve":
            return raw
        y += 1


def point_vectors() -> list[dict[str, object]]:
    torsion = _edwards.small_order_points()
    good = _edwards.decode(base(5).raw)[0]
    assert good is not None
    mixed = _edwards.encode(_edwards.add(good, torsion[1]))
    p = _edwards.P

    def case(name: str, raw: bytes, check: str, reason: str, **extra: object) -> dict[str, object]:
        return {"name": name, "text": b64(raw), "check": check, "reason": reason, **extra}

    cases = [
        {"name": "generator", "text": GENERATOR.encode(), "valid": True},
        {"name": "identity", "text": IDENTITY.encode(), "valid": True},
        {"name": "g^5", "text": base(5).encode(), "valid": True},
        case(
            "identity where refused (an election key)",
            IDENTITY.raw,
            "S-6",
            "identity_not_allowed",
            allow_identity=False,
        ),
        case("off the curve", _off_curve(), "S-3", "point_not_on_curve"),
        case("order 2: (0, -1)", _edwards.encode(torsion[4]), "S-4", "small_order_point"),
        case("order 4", _edwards.encode(torsion[2]), "S-4", "small_order_point"),
        case("order 8", _edwards.encode(torsion[1]), "S-4", "small_order_point"),
        case("all zero bytes (order 4)", bytes(32), "S-4", "small_order_point"),
        case("mixed order: g^5 plus a point of order 8", mixed, "S-5", "point_not_in_subgroup"),
        case(
            "identity spelt y = p + 1", (p + 1).to_bytes(32, "little"), "S-2", "noncanonical_point"
        ),
        case(
            "identity with the sign bit set",
            IDENTITY.raw[:31] + b"\x80",
            "S-2",
            "noncanonical_point",
        ),
        case(
            "y = p (order 4 spelt non-canonically)",
            p.to_bytes(32, "little"),
            "S-2",
            "noncanonical_point",
        ),
        case("y = 2^255 - 1", bytes([255] * 31 + [127]), "S-2", "noncanonical_point"),
        {
            "name": "31 bytes",
            "text": b64(base(5).raw[:31]),
            "check": "S-1",
            "reason": "malformed_point",
        },
        {
            "name": "padding",
            "text": GENERATOR.encode() + "=",
            "check": "S-1",
            "reason": "malformed_point",
        },
        {
            "name": "standard base64 alphabet",
            "text": "+" + GENERATOR.encode()[1:],
            "check": "S-1",
            "reason": "malformed_point",
        },
    ]
    return cases


def scalar_vectors() -> list[dict[str, object]]:
    def text(value: int) -> str:
        return b64(value.to_bytes(32, "little"))

    return [
        {"name": "zero", "text": text(0), "value": "0"},
        {"name": "l - 1", "text": text(L - 1), "value": str(L - 1)},
        {"name": "l", "text": text(L), "check": "S-8", "reason": "noncanonical_scalar"},
        {"name": "l + 1", "text": text(L + 1), "check": "S-8", "reason": "noncanonical_scalar"},
        {
            "name": "2^256 - 1",
            "text": text(2**256 - 1),
            "check": "S-8",
            "reason": "noncanonical_scalar",
        },
        {"name": "33 bytes", "text": b64(bytes(33)), "check": "S-7", "reason": "malformed_scalar"},
        {"name": "not a string", "text": 5, "check": "S-7", "reason": "malformed_scalar"},
    ]


def challenge_vectors() -> list[dict[str, object]]:
    out = []
    for name, tag, items in (
        ("empty transcript", TAG_BIT, []),
        ("one item", TAG_SUM, [b"abc"]),
        ("points and counts", TAG_DECRYPTION, [GENERATOR.raw, u32(3), IDENTITY.raw, b""]),
    ):
        data = transcript(tag, items)
        out.append(
            {
                "name": name,
                "tag": tag.decode(),
                "items_hex": [item.hex() for item in items],
                "transcript_hex": data.hex(),
                "sha512_hex": hashlib.sha512(data).hexdigest(),
                "challenge": encode_scalar(challenge(tag, items)),
            }
        )
    return out


# --- ElGamal -----------------------------------------------------------------------


def encryption_vectors() -> list[dict[str, object]]:
    secret = scalar_from("election secret")
    key = base(secret)
    out = []
    for m, r in ((0, scalar_from("r0")), (1, scalar_from("r1")), (7, scalar_from("r7")), (0, 0)):
        c = encrypt(key, m, r)
        out.append(
            {
                "secret": encode_scalar(secret),
                "key": key.encode(),
                "message": m,
                "randomness": encode_scalar(r),
                **c.to_json(),
                "decrypted": decrypt(c, secret).encode(),
            }
        )
    return out


# --- key generation ------------------------------------------------------------------

CONTEXT = sha256("kvorum test: key generation of the counting commission")
MEMBERS, THRESHOLD = 5, 3


def dkg_vectors() -> tuple[dict[str, Any], Any, dict[int, int]]:
    params = DkgParameters(CONTEXT, MEMBERS, THRESHOLD)
    dealers = []
    commitments = []
    shares: dict[int, dict[int, int]] = {}
    for j in range(1, MEMBERS + 1):
        nonces = Nonces(f"dealer {j}")
        commitment, dealt = deal(params, j, nonces)
        commitments.append(commitment)
        shares[j] = dealt
        dealers.append(
            {
                "dealer": j,
                "nonces": nonces.json(),
                "coefficients": nonces.json()[:THRESHOLD],
                "commitment": commitment.to_json(),
                "knowledge_transcript_hex": transcript(
                    TAG_KNOWLEDGE,
                    [CONTEXT, u32(MEMBERS), u32(THRESHOLD), u32(j)]
                    + [c.raw for c in commitment.commitments]
                    + [base(nonces.drawn[THRESHOLD]).raw],
                ).hex(),
                "shares": {str(i): encode_scalar(s) for i, s in dealt.items()},
            }
        )
    qualified = qualified_dealers(params, commitments)
    key = joint_key(params, qualified)
    member_shares = {
        i: member_share({j: shares[j][i] for j in shares}, key.qualified)
        for i in range(1, MEMBERS + 1)
    }
    data = {
        "context_hex": CONTEXT.hex(),
        "members": MEMBERS,
        "threshold": THRESHOLD,
        "dealers": dealers,
        "qualified": list(key.qualified),
        "key": key.key.encode(),
        "verification_keys": {str(i): k.encode() for i, k in key.verification_keys.items()},
        "member_shares": {str(i): encode_scalar(s) for i, s in member_shares.items()},
        "lagrange": [
            {
                "members": members,
                "coefficients": {
                    str(i): encode_scalar(lag) for i, lag in _lagrange(members).items()
                },
            }
            for members in ([1, 2, 3], [2, 4, 5], [1, 3, 4, 5])
        ],
    }
    return data, key, member_shares


def _lagrange(members: list[int]) -> dict[int, int]:
    from crypto.dkg import lagrange_at_zero

    return {i: lagrange_at_zero(members, i) for i in members}


# --- ballots -------------------------------------------------------------------------

FINGERPRINT = sha256("kvorum test: the definition of the election of a chair")
OTHER_FINGERPRINT = sha256("kvorum test: another election")
VOTER = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
OTHER_VOTER = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")


def form_json(form: BallotForm) -> dict[str, int]:
    return {"options": form.options, "min_marks": form.min_marks, "max_marks": form.max_marks}


def election_json(election: SecretElection) -> dict[str, object]:
    return {
        "fingerprint_hex": election.fingerprint.hex(),
        "key": election.key.encode(),
        "form": form_json(election.form),
    }


def ballot_transcripts(
    election: SecretElection, voter: bytes, ballot: EncryptedBallot
) -> list[dict[str, str]]:
    statement = election.statement(voter, ballot.ciphertexts)
    out = []
    for i, (c, p) in enumerate(zip(ballot.ciphertexts, ballot.bit_proofs, strict=True)):
        items = [*statement, u32(i), c.alpha.raw, c.beta.raw]
        items += _disjunctive.commitments(election.key, c, 0, p.challenges, p.responses)
        out.append(
            {
                "proof": f"bit {i}",
                "transcript_hex": transcript(TAG_BIT, items).hex(),
                "challenge": encode_scalar(challenge(TAG_BIT, items)),
            }
        )
    total = ballot.total()
    form = election.form
    items = [*statement, total.alpha.raw, total.beta.raw]
    items += _disjunctive.commitments(
        election.key,
        total,
        form.min_marks,
        ballot.sum_proof.challenges,
        ballot.sum_proof.responses,
    )
    out.append(
        {
            "proof": "sum",
            "transcript_hex": transcript(TAG_SUM, items).hex(),
            "challenge": encode_scalar(challenge(TAG_SUM, items)),
        }
    )
    return out


def ballot_vector(
    name: str, election: SecretElection, voter: bytes, marks: list[int]
) -> tuple[dict[str, object], EncryptedBallot]:
    nonces = Nonces(name)
    ballot, opening = encrypt_ballot(election, voter, marks, nonces)
    return {
        "name": name,
        "election": election_json(election),
        "voter_key": b64(voter),
        "marks": marks,
        "nonces": nonces.json(),
        "ballot": ballot.to_json(),
        "opening": opening.to_json(),
        "total": ballot.total().to_json(),
        "transcripts": ballot_transcripts(election, voter, ballot),
    }, ballot


def cheating_ballot(
    election: SecretElection, voter: bytes, marks: list[int], claims: list[int], label: str
) -> dict[str, object]:
    """A ballot of arbitrary ``marks`` whose proofs claim ``claims`` (and a sum in range):
    what a dishonest client would send. Its proofs cannot verify."""
    nonces = Nonces(label)
    rs = [nonces() for _ in marks]
    cts = tuple(encrypt(election.key, m, r) for m, r in zip(marks, rs, strict=True))
    statement = election.statement(voter, cts)
    proofs = []
    for i, (c, claim, r) in enumerate(zip(cts, claims, rs, strict=True)):
        ch, re = _disjunctive.prove(
            TAG_BIT,
            [*statement, u32(i), c.alpha.raw, c.beta.raw],
            election.key,
            c,
            0,
            1,
            claim,
            r,
            nonces,
        )
        proofs.append(BitProof(ch, re))
    total = Ciphertext.zero()
    for c in cts:
        total = total + c
    form = election.form
    claimed_sum = min(max(sum(marks), form.min_marks), form.max_marks)
    ch, re = _disjunctive.prove(
        TAG_SUM,
        [*statement, total.alpha.raw, total.beta.raw],
        election.key,
        total,
        form.min_marks,
        form.max_marks,
        claimed_sum,
        sum(rs) % L,
        nonces,
    )
    return EncryptedBallot(cts, tuple(proofs), SumProof(ch, re)).to_json()


def invalid_ballots(
    election: SecretElection, good: dict[str, Any], approve: SecretElection
) -> list[dict[str, object]]:
    ballot = good["ballot"]
    torsion = _edwards.small_order_points()

    def case(
        name: str,
        value: object,
        check: str,
        reason: str,
        *,
        el: SecretElection = election,
        voter: bytes = VOTER,
    ) -> dict[str, object]:
        return {
            "name": name,
            "kind": "ballot",
            "election": election_json(el),
            "voter_key": b64(voter),
            "ballot": value,
            "check": check,
            "reason": reason,
        }

    def edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        value = copy.deepcopy(ballot)
        change(value)
        return value

    def set_choice(i: int, field: str, text: str) -> Callable[[dict[str, Any]], None]:
        def change(value: dict[str, Any]) -> None:
            value["choices"][i][field] = text

        return change

    other_key = SecretElection(FINGERPRINT, base(scalar_from("another key")), election.form)
    other_election = SecretElection(OTHER_FINGERPRINT, election.key, election.form)
    good_point = _edwards.decode(base(9).raw)[0]
    assert good_point is not None
    mixed = b64(_edwards.encode(_edwards.add(good_point, torsion[3])))
    v0 = good["ballot"]["choices"][0]["proof"]["v"][0]
    bumped = encode_scalar(int.from_bytes(_b64d(v0), "little") + 1)
    another, _ = ballot_vector("another ballot, same voter", election, VOTER, [0, 0, 1])

    def both_bad(value: dict[str, Any]) -> None:
        value["choices"][0]["alpha"] = b64(_edwards.encode(torsion[2]))
        value["choices"][1]["proof"]["v"][1] = b64(L.to_bytes(32, "little"))

    def swap(value: dict[str, Any]) -> None:
        value["choices"][0], value["choices"][1] = value["choices"][1], value["choices"][0]

    return [
        case(
            "a mark of 2 (and -1 to keep the sum)",
            cheating_ballot(election, VOTER, [2, -1, 0], [1, 0, 0], "mark 2"),
            "S-11",
            "bad_bit_proof",
        ),
        case(
            "a mark of -1",
            cheating_ballot(election, VOTER, [-1, 1, 1], [0, 1, 1], "mark -1"),
            "S-11",
            "bad_bit_proof",
        ),
        case(
            "two marks on a one-of-three ballot",
            cheating_ballot(election, VOTER, [1, 1, 0], [1, 1, 0], "two marks"),
            "S-12",
            "bad_sum_proof",
        ),
        case(
            "no mark on a one-of-three ballot",
            cheating_ballot(election, VOTER, [0, 0, 0], [0, 0, 0], "no mark"),
            "S-12",
            "bad_sum_proof",
        ),
        case(
            "three «за» with two seats",
            cheating_ballot(approve, VOTER, [1, 1, 1, 0], [1, 1, 1, 0], "three for"),
            "S-12",
            "bad_sum_proof",
            el=approve,
        ),
        case(
            "copied under another voter's key", ballot, "S-11", "bad_bit_proof", voter=OTHER_VOTER
        ),
        case(
            "moved to another election (fingerprint)",
            ballot,
            "S-11",
            "bad_bit_proof",
            el=other_election,
        ),
        case("checked against another election key", ballot, "S-11", "bad_bit_proof", el=other_key),
        case("two choices swapped", edit(swap), "S-11", "bad_bit_proof"),
        case(
            "a response changed",
            edit(lambda v: v["choices"][0]["proof"]["v"].__setitem__(0, bumped)),
            "S-11",
            "bad_bit_proof",
        ),
        case(
            "the sum proof of another ballot",
            edit(lambda v: v.__setitem__("sum_proof", another["ballot"]["sum_proof"])),  # type: ignore[index]
            "S-12",
            "bad_sum_proof",
        ),
        case(
            "a ciphertext of another ballot with its proof",
            edit(lambda v: v["choices"].__setitem__(0, another["ballot"]["choices"][0])),  # type: ignore[index]
            "S-11",
            "bad_bit_proof",
        ),
        case(
            "alpha off the curve",
            edit(set_choice(1, "alpha", b64(_off_curve()))),
            "S-3",
            "point_not_on_curve",
        ),
        case(
            "beta of order 8",
            edit(set_choice(2, "beta", b64(_edwards.encode(torsion[1])))),
            "S-4",
            "small_order_point",
        ),
        case(
            "alpha of mixed order",
            edit(set_choice(0, "alpha", mixed)),
            "S-5",
            "point_not_in_subgroup",
        ),
        case(
            "beta not canonical (y = p + 1)",
            edit(set_choice(0, "beta", b64((_edwards.P + 1).to_bytes(32, "little")))),
            "S-2",
            "noncanonical_point",
        ),
        case(
            "a challenge of l",
            edit(lambda v: v["sum_proof"]["c"].__setitem__(0, b64(L.to_bytes(32, "little")))),
            "S-8",
            "noncanonical_scalar",
        ),
        case(
            "two choices for three options",
            edit(lambda v: v["choices"].pop()),
            "S-9",
            "wrong_option_count",
        ),
        case(
            "three branches in a bit proof",
            edit(lambda v: v["choices"][0]["proof"]["c"].append(v0)),
            "S-10",
            "malformed_proof",
        ),
        case("an unknown field", edit(lambda v: v.__setitem__("note", "x")), "S-22", "malformed"),
        case(
            "a bad point in choice 0 comes before a bad scalar in choice 1",
            edit(both_bad),
            "S-4",
            "small_order_point",
        ),
    ]


def _b64d(text: str) -> bytes:
    from crypto.encoding import b64u_decode

    return b64u_decode(text)


# --- the count -------------------------------------------------------------------------


def count_vectors(
    key: Any, member_shares: dict[int, int]
) -> tuple[dict[str, object], list[dict[str, object]]]:
    election = SecretElection(FINGERPRINT, key.key, BallotForm.one_of(3))
    voters = [bytes([v]) * 32 for v in range(1, 6)]
    marks = [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]]
    ballots = []
    for v, (voter, m) in enumerate(zip(voters, marks, strict=True)):
        nonces = Nonces(f"count ballot {v}")
        ballot, _ = encrypt_ballot(election, voter, m, nonces)
        ballots.append(
            {
                "voter_key": b64(voter),
                "nonces": nonces.json(),
                "ballot": ballot.to_json(),
                "_obj": ballot,
            }
        )
    totals = tally(election, [b.pop("_obj") for b in ballots])  # type: ignore[misc]
    partials = {}
    partial_json = []
    for member in (1, 3, 4, 5):
        nonces = Nonces(f"partial {member}")
        partial = partial_decrypt(election, member, member_shares[member], totals, nonces)
        partials[member] = partial
        items_per_option = []
        for total, d, proof in zip(totals, partial.partials, partial.proofs, strict=True):
            vk = key.verification_keys[member]
            items = [
                FINGERPRINT,
                key.key.raw,
                u32(member),
                vk.raw,
                total.alpha.raw,
                total.beta.raw,
                d.raw,
                (base(proof.response) + vk * proof.challenge).raw,
                (total.alpha * proof.response + d * proof.challenge).raw,
            ]
            items_per_option.append(transcript(TAG_DECRYPTION, items).hex())
        partial_json.append(
            {
                "share": encode_scalar(member_shares[member]),
                "nonces": nonces.json(),
                "partial": partial.to_json(),
                "transcripts_hex": items_per_option,
            }
        )
    table = DiscreteLogTable(len(ballots))
    counts = combine(election, key, totals, [partials[m] for m in (1, 3, 4)], table)
    assert counts == (3, 1, 1)
    assert combine(election, key, totals, [partials[m] for m in (3, 4, 5)], table) == counts
    empty = tally(election, [])
    empty_partials = [
        partial_decrypt(election, m, member_shares[m], empty, Nonces(f"e{m}")) for m in (1, 2, 3)
    ]
    assert combine(election, key, empty, empty_partials, table) == (0, 0, 0)
    data = {
        "election": election_json(election),
        "ballots": ballots,
        "totals": [t.to_json() for t in totals],
        "partials": partial_json,
        "combine": [
            {"members": [1, 3, 4], "counts": list(counts)},
            {"members": [3, 4, 5], "counts": list(counts)},
            {"members": [1, 3, 4, 5], "counts": list(counts)},
        ],
        "empty_tally": {
            "totals": [t.to_json() for t in empty],
            "partials": [p.to_json() for p in empty_partials],
            "counts": [0, 0, 0],
        },
    }
    pj = {m: partials[m].to_json() for m in partials}

    def bad(
        name: str,
        members: list[Any],
        check: str,
        reason: str,
        trustee: int | None = None,
        limit: int = len(ballots),
    ) -> dict[str, object]:
        out: dict[str, object] = {
            "name": name,
            "kind": "combine",
            "partials": members,
            "roll_size": limit,
            "check": check,
            "reason": reason,
        }
        if trustee is not None:
            out["trustee"] = trustee
        return out

    wrong_proof = copy.deepcopy(pj[4])
    wrong_proof["partials"][1]["proof"]["v"] = pj[4]["partials"][0]["proof"]["v"]
    wrong_d = copy.deepcopy(pj[3])
    wrong_d["partials"][0]["d"] = pj[1]["partials"][0]["d"]
    small_partial = copy.deepcopy(pj[3])
    small_partial["partials"][2]["d"] = b64(_edwards.encode(_edwards.small_order_points()[1]))
    identity_partial = copy.deepcopy(pj[1])
    identity_partial["partials"][0]["d"] = IDENTITY.encode()
    stranger = copy.deepcopy(pj[5])
    stranger["member"] = 7
    invalid = [
        bad(
            "member 4's proof of option 1 altered",
            [pj[1], pj[3], wrong_proof],
            "S-16",
            "bad_decryption_proof",
            4,
        ),
        bad(
            "member 3 submits member 1's partial for option 0",
            [pj[1], wrong_d, pj[4]],
            "S-16",
            "bad_decryption_proof",
            3,
        ),
        bad(
            "two partials for a threshold of three",
            [pj[1], pj[3]],
            "S-19",
            "not_enough_decryptions",
        ),
        bad("member 3 twice", [pj[1], pj[3], pj[3]], "S-17", "duplicate_trustee", 3),
        bad(
            "a member 7 on a commission of five",
            [pj[1], pj[3], stranger],
            "S-18",
            "unknown_trustee",
            7,
        ),
        bad(
            "a roll smaller than the count",
            [pj[1], pj[3], pj[4]],
            "S-20",
            "count_out_of_range",
            limit=2,
        ),
        bad(
            "member 3's partial of option 2 is a point of order 8",
            [pj[1], small_partial, pj[4]],
            "S-4",
            "small_order_point",
        ),
        bad(
            "member 1 gives the identity as its partial of option 0",
            [identity_partial, pj[3], pj[4]],
            "S-16",
            "bad_decryption_proof",
            1,
        ),
    ]
    return data, invalid


def dkg_invalid(dkg: dict[str, Any]) -> list[dict[str, object]]:
    d1 = dkg["dealers"][0]
    out: list[dict[str, object]] = []
    wrong = copy.deepcopy(d1["commitment"])
    wrong["proof"]["z"] = dkg["dealers"][1]["commitment"]["proof"]["z"]
    out.append(
        {
            "name": "dealer 1's knowledge proof altered",
            "kind": "dealer",
            "commitment": wrong,
            "check": "S-13",
            "reason": "bad_knowledge_proof",
            "trustee": 1,
        }
    )
    zero = copy.deepcopy(d1["commitment"])
    zero["commitments"][1] = IDENTITY.encode()
    out.append(
        {
            "name": "a commitment is the identity",
            "kind": "dealer",
            "commitment": zero,
            "check": "S-6",
            "reason": "identity_not_allowed",
        }
    )
    short = copy.deepcopy(d1["commitment"])
    short["commitments"].pop()
    out.append(
        {
            "name": "two commitments for a threshold of three",
            "kind": "dealer",
            "commitment": short,
            "check": "S-22",
            "reason": "malformed",
        }
    )
    out.append(
        {
            "name": "dealer 1's share for member 2 given to member 3",
            "kind": "share",
            "commitment": d1["commitment"],
            "recipient": 3,
            "share": d1["shares"]["2"],
            "check": "S-14",
            "reason": "bad_share",
            "trustee": 1,
        }
    )
    out.append(
        {
            "name": "a share of l",
            "kind": "share",
            "commitment": d1["commitment"],
            "recipient": 2,
            "share": b64(L.to_bytes(32, "little")),
            "check": "S-8",
            "reason": "noncanonical_scalar",
        }
    )
    return out


def opening_invalid(vector: dict[str, Any]) -> list[dict[str, object]]:
    flipped = copy.deepcopy(vector["opening"])
    flipped["marks"] = [1, 0, 0] if flipped["marks"] != [1, 0, 0] else [0, 1, 0]
    shifted = copy.deepcopy(vector["opening"])
    shifted["randomness"] = shifted["randomness"][1:] + shifted["randomness"][:1]
    two = copy.deepcopy(vector["opening"])
    two["marks"][0] = 2
    base_case = {
        "kind": "opening",
        "election": vector["election"],
        "voter_key": vector["voter_key"],
        "ballot": vector["ballot"],
    }
    return [
        {
            **base_case,
            "name": "an opening claiming another choice",
            "opening": flipped,
            "check": "S-21",
            "reason": "audit_mismatch",
        },
        {
            **base_case,
            "name": "an opening with the randomness shuffled",
            "opening": shifted,
            "check": "S-21",
            "reason": "audit_mismatch",
        },
        {
            **base_case,
            "name": "an opening with a mark of 2",
            "opening": two,
            "check": "S-21",
            "reason": "audit_mismatch",
        },
    ]


def build() -> dict[str, object]:
    dkg, key, member_shares = dkg_vectors()
    chair = SecretElection(FINGERPRINT, key.key, BallotForm.one_of(3))
    presidium = SecretElection(FINGERPRINT, key.key, BallotForm.approve_reject(4, 2))
    one, _ = ballot_vector("one of three, the second", chair, VOTER, [0, 1, 0])
    approve, _ = ballot_vector(
        "four candidates, two seats: for, against, for, against", presidium, VOTER, [1, 0, 1, 0]
    )
    blank, _ = ballot_vector(
        "four candidates, two seats: all against", presidium, VOTER, [0, 0, 0, 0]
    )
    question = SecretElection(FINGERPRINT, key.key, BallotForm.one_of(1))
    single, _ = ballot_vector("a single option", question, OTHER_VOTER, [1])
    count, count_invalid = count_vectors(key, member_shares)
    invalid: list[dict[str, object]] = []
    invalid += invalid_ballots(chair, one, presidium)
    invalid += opening_invalid(one)
    invalid += dkg_invalid(dkg)
    invalid += count_invalid
    return {
        "about": "Kvorum secret ballots, version 1: see docs/secret-ballots.md",
        "group": group_vectors(),
        "points": point_vectors(),
        "scalars": scalar_vectors(),
        "challenges": challenge_vectors(),
        "encryptions": encryption_vectors(),
        "dkg": dkg,
        "ballots": [one, approve, blank, single],
        "count": count,
        "invalid": invalid,
    }


def files() -> dict[str, str]:
    return {NAME: json.dumps(build(), ensure_ascii=False, indent=1) + "\n"}


def main() -> None:
    for name, text in files().items():
        (VECTORS / name).write_text(text, "utf-8")


if __name__ == "__main__":
    main()
