"""Benchmark: verifying secret ballots, and counting 1,000 of them with a 3-of-5
commission.

Measured in one run, on one core (one process):

* ``ed25519``: a one-of-three secret ballot as the board holds it: a signed document
  (canonical JSON holding the encrypted ballot, Ed25519 signature by the voter)
  checked end to end: the signature, ``json.loads``, then
  :func:`crypto.secretballot.check_ballot` (every point, three bit proofs, the sum
  proof). The strict path (``EncryptedBallot.parse`` with ``is_valid_point`` on every
  point, then ``verify_ballot``) is timed as well.
* ``baseline``: the same proofs, the same transcript layout and the same signed
  document over the 2048-bit MODP group of RFC 3526 (group 14, the subgroup of order
  q = (p − 1)/2, generator 2), with Python's ``pow``, as a Helios-style verifier does
  it: every received element checked to be in the subgroup (x^q = 1), challenges
  SHA-512 mod q, responses mod q.
* ``count``: 1,000 ballots of 1,000 voters: the commission's key from the five
  dealers' commitments (knowledge proofs), every ballot checked, the homomorphic tally,
  three members' partial decryptions with proofs, and their combination with every
  proof checked.

Targets: ≥ 400 ballots/s on one core; ≥ 20× the baseline; the count under 10 s.
Usage::

    .venv/bin/python bench/secret_verify.py [--ballots 1000] [--baseline 6]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import nacl.bindings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crypto.canonical import canonicalize
from crypto.challenge import u32
from crypto.dkg import (
    DealerCommitment,
    DkgParameters,
    deal,
    joint_key,
    member_share,
    qualified_dealers,
)
from crypto.ed25519 import PublicKey, SigningKey
from crypto.elgamal import DiscreteLogTable
from crypto.encoding import b64u_decode, b64u_encode
from crypto.group import random_scalar
from crypto.secretballot import (
    BallotForm,
    EncryptedBallot,
    PartialDecryption,
    SecretElection,
    check_ballot,
    combine,
    encrypt_ballot,
    partial_decrypt,
    tally,
    verify_ballot,
)

TARGET_RATE = 400
TARGET_RATIO = 20
TARGET_COUNT_SECONDS = 10.0

# --- the Helios-style baseline: RFC 3526 group 14 ---------------------------------------

MODP_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
    "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)
MODP_Q = (MODP_P - 1) // 2
MODP_G = 2
ELEMENT = 256  # bytes


def modp_bytes(x: int) -> bytes:
    return x.to_bytes(ELEMENT, "big")


def modp_challenge(tag: bytes, items: list[bytes]) -> int:
    parts = [len(tag).to_bytes(4, "big"), tag]
    for item in items:
        parts += [len(item).to_bytes(4, "big"), item]
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little") % MODP_Q


def modp_element(text: str) -> int:
    x = int(text, 16)
    # Membership of the order-q subgroup: what Ed25519's is_valid_point does here.
    if not 1 < x < MODP_P or pow(x, MODP_Q, MODP_P) != 1:
        raise ValueError("not an element of the subgroup")
    return x


def modp_scalar(text: str) -> int:
    x = int(text, 16)
    if not 0 <= x < MODP_Q:
        raise ValueError("scalar out of range")
    return x


def modp_commitments(
    h: int, alpha: int, beta: int, lo: int, cs: list[int], vs: list[int]
) -> list[bytes]:
    p = MODP_P
    out = []
    shifted = beta * pow(MODP_G, -lo, p) % p
    g_inv = pow(MODP_G, -1, p)
    for c, v in zip(cs, vs, strict=True):
        out.append(modp_bytes(pow(MODP_G, v, p) * pow(alpha, c, p) % p))
        out.append(modp_bytes(pow(h, v, p) * pow(shifted, c, p) % p))
        shifted = shifted * g_inv % p
    return out


def modp_prove(
    tag: bytes, items: list[bytes], h: int, alpha: int, beta: int, lo: int, hi: int, m: int, r: int
) -> dict[str, list[str]]:
    p, q = MODP_P, MODP_Q
    w = secrets.randbelow(q)
    cs = [0] * (hi - lo + 1)
    vs = [0] * (hi - lo + 1)
    commits: list[bytes] = []
    for index, j in enumerate(range(lo, hi + 1)):
        if j == m:
            commits += [modp_bytes(pow(MODP_G, w, p)), modp_bytes(pow(h, w, p))]
            continue
        cs[index], vs[index] = secrets.randbelow(q), secrets.randbelow(q)
        shifted = beta * pow(MODP_G, -j, p) % p
        commits += [
            modp_bytes(pow(MODP_G, vs[index], p) * pow(alpha, cs[index], p) % p),
            modp_bytes(pow(h, vs[index], p) * pow(shifted, cs[index], p) % p),
        ]
    total = modp_challenge(tag, items + commits)
    real = m - lo
    cs[real] = (total - sum(cs)) % q
    vs[real] = (w - cs[real] * r) % q
    return {"c": [f"{c:x}" for c in cs], "v": [f"{v:x}" for v in vs]}


def modp_holds(
    tag: bytes, items: list[bytes], h: int, alpha: int, beta: int, lo: int, proof: dict[str, Any]
) -> bool:
    cs = [modp_scalar(c) for c in proof["c"]]
    vs = [modp_scalar(v) for v in proof["v"]]
    commits = modp_commitments(h, alpha, beta, lo, cs, vs)
    return sum(cs) % MODP_Q == modp_challenge(tag, items + commits)


def modp_statement(fp: bytes, h: int, voter: bytes, cts: list[tuple[int, int]]) -> list[bytes]:
    items = [fp, modp_bytes(h), voter, u32(3), u32(1), u32(1)]
    for a, b in cts:
        items += [modp_bytes(a), modp_bytes(b)]
    return items


def modp_ballot(fp: bytes, h: int, voter: bytes, marks: list[int]) -> dict[str, Any]:
    p, q = MODP_P, MODP_Q
    rs = [secrets.randbelow(q - 1) + 1 for _ in marks]
    cts = [
        (pow(MODP_G, r, p), pow(MODP_G, m, p) * pow(h, r, p) % p)
        for m, r in zip(marks, rs, strict=True)
    ]
    statement = modp_statement(fp, h, voter, cts)
    choices = []
    for i, ((a, b), m, r) in enumerate(zip(cts, marks, rs, strict=True)):
        items = [*statement, u32(i), modp_bytes(a), modp_bytes(b)]
        proof = modp_prove(b"kvorum/secret/v1/bit", items, h, a, b, 0, 1, m, r)
        choices.append({"alpha": f"{a:x}", "beta": f"{b:x}", "proof": proof})
    big_a = big_b = 1
    for a, b in cts:
        big_a, big_b = big_a * a % p, big_b * b % p
    items = [*statement, modp_bytes(big_a), modp_bytes(big_b)]
    sum_proof = modp_prove(
        b"kvorum/secret/v1/sum", items, h, big_a, big_b, 1, 1, sum(marks), sum(rs) % q
    )
    return {"choices": choices, "sum_proof": sum_proof}


def modp_verify(fp: bytes, h: int, voter: bytes, ballot: dict[str, Any]) -> None:
    p = MODP_P
    cts = [(modp_element(c["alpha"]), modp_element(c["beta"])) for c in ballot["choices"]]
    statement = modp_statement(fp, h, voter, cts)
    for i, ((a, b), choice) in enumerate(zip(cts, ballot["choices"], strict=True)):
        items = [*statement, u32(i), modp_bytes(a), modp_bytes(b)]
        if not modp_holds(b"kvorum/secret/v1/bit", items, h, a, b, 0, choice["proof"]):
            raise ValueError(f"bit proof {i}")
    big_a = big_b = 1
    for a, b in cts:
        big_a, big_b = big_a * a % p, big_b * b % p
    items = [*statement, modp_bytes(big_a), modp_bytes(big_b)]
    if not modp_holds(b"kvorum/secret/v1/sum", items, h, big_a, big_b, 1, ballot["sum_proof"]):
        raise ValueError("sum proof")


# --- documents ------------------------------------------------------------------------


def signed(voter: SigningKey, fingerprint: bytes, ballot: dict[str, Any]) -> tuple[bytes, bytes]:
    """(canonical document bytes, signature): what the board stores for a ballot."""
    document = {
        "type": "kvorum.bench.secret_ballot",
        "definition": "sha256:" + fingerprint.hex(),
        "voter": b64u_encode(voter.public_key.raw),
        "ballot": ballot,
    }
    data = canonicalize(document)
    return data, voter.sign(data)


def check_document(election: SecretElection, data: bytes, signature: bytes) -> EncryptedBallot:
    document = json.loads(data)
    voter = PublicKey(b64u_decode(document["voter"], length=32))
    voter.verify(data, signature)
    return check_ballot(election, voter.raw, document["ballot"])


def check_document_strict(election: SecretElection, data: bytes, signature: bytes) -> None:
    document = json.loads(data)
    voter = PublicKey(b64u_decode(document["voter"], length=32))
    voter.verify(data, signature)
    ballot = EncryptedBallot.parse(document["ballot"], election.form)
    verify_ballot(election, voter.raw, ballot)


def check_modp_document(fp: bytes, h: int, data: bytes, signature: bytes) -> None:
    document = json.loads(data)
    voter = PublicKey(b64u_decode(document["voter"], length=32))
    voter.verify(data, signature)
    modp_verify(fp, h, voter.raw, document["ballot"])


def one_hot(i: int) -> list[int]:
    marks = [0, 0, 0]
    marks[i % 3] = 1
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=6, help="baseline ballots to time")
    args = parser.parse_args()

    params = DkgParameters(os.urandom(32), 5, 3)
    dealt = [deal(params, j, random_scalar) for j in range(1, 6)]
    published = [c.to_json() for c, _ in dealt]
    key = joint_key(params, qualified_dealers(params, [c for c, _ in dealt]))
    shares = {
        i: member_share({c.dealer: s[i] for c, s in dealt}, key.qualified) for i in range(1, 6)
    }
    fingerprint = os.urandom(32)
    election = SecretElection(fingerprint, key.key, BallotForm.one_of(3))

    started = time.perf_counter()
    documents = []
    for n in range(args.ballots):
        voter = SigningKey.generate()
        ballot, _ = encrypt_ballot(election, voter.public_key.raw, one_hot(n * 7 // 3))
        documents.append(signed(voter, fingerprint, ballot.to_json()))
    made = time.perf_counter() - started
    print(
        f"{args.ballots} one-of-three ballots made in {made:.1f} s "
        f"({len(documents[0][0])} bytes of canonical JSON each)",
        flush=True,
    )

    # libsodium's own speed in this run, for scale: a ballot costs 21 of these.
    scalar = secrets.randbelow(2**252).to_bytes(32, "little")
    point = key.key.raw
    started = time.process_time()
    for _ in range(2000):
        nacl.bindings.crypto_scalarmult_ed25519_noclamp(scalar, point)
    one_mul = (time.process_time() - started) / 2000

    # Our verifier, one core: CPU time of this process (the machine is shared).
    wall = time.perf_counter()
    started = time.process_time()
    for data, signature in documents:
        check_document(election, data, signature)
    ours = (time.process_time() - started) / len(documents)
    ours_wall = (time.perf_counter() - wall) / len(documents)
    sample = documents[: min(len(documents), 300)]
    started = time.process_time()
    for data, signature in sample:
        check_document_strict(election, data, signature)
    strict = (time.process_time() - started) / len(sample)

    # The baseline, same run.
    modp_secret = secrets.randbelow(MODP_Q - 1) + 1
    modp_key = pow(MODP_G, modp_secret, MODP_P)
    baseline_docs = []
    for n in range(args.baseline):
        voter = SigningKey.generate()
        ballot_json = modp_ballot(fingerprint, modp_key, voter.public_key.raw, one_hot(n))
        baseline_docs.append(signed(voter, fingerprint, ballot_json))
    started = time.process_time()
    for data, signature in baseline_docs:
        check_modp_document(fingerprint, modp_key, data, signature)
    baseline = (time.process_time() - started) / len(baseline_docs)

    # The count.
    started = time.perf_counter()
    cpu = time.process_time()
    dealers = [DealerCommitment.parse(c, params) for c in published]
    count_key = joint_key(params, qualified_dealers(params, dealers))
    after_key = time.perf_counter()
    ballots = [check_document(election, data, signature) for data, signature in documents]
    after_ballots = time.perf_counter()
    totals = tally(election, ballots)
    partial_docs = [partial_decrypt(election, i, shares[i], totals).to_json() for i in (1, 3, 5)]
    after_partials = time.perf_counter()
    partials = [PartialDecryption.parse(p, 3) for p in partial_docs]
    counts = combine(election, count_key, totals, partials, DiscreteLogTable(len(documents)))
    finished = time.perf_counter()
    expected = [sum(one_hot(n * 7 // 3)[k] for n in range(len(documents))) for k in range(3)]
    assert list(counts) == expected, (counts, expected)
    count_seconds = finished - started
    count_cpu = time.process_time() - cpu

    print(
        f"\nverifying one signed one-of-three ballot, CPU time of one core ({os.cpu_count()} CPUs)"
    )
    rows = [
        ("Ed25519 group, check_ballot", ours),
        ("Ed25519 group, strict parse + verify", strict),
        ("MODP 2048 (RFC 3526 group 14), Python pow", baseline),
    ]
    for name, seconds in rows:
        print(f"{name:44}{seconds * 1e3:9.2f} ms {1 / seconds:9.1f} ballots/s")
    print(f"(check_ballot by the wall clock: {ours_wall * 1e3:.2f} ms)")
    print(f"({len(baseline_docs)} baseline ballots timed)")
    print(
        f"one crypto_scalarmult_ed25519_noclamp: {one_mul * 1e6:.0f} us; 21 of them: "
        f"{21 * one_mul * 1e3:.2f} ms"
    )
    print(f"ratio baseline / ours: {baseline / ours:.0f}x")
    print(f"\ncount of {len(documents)} ballots, 3-of-5 commission, one core")
    print(f"  key from the five dealers' commitments  {after_key - started:6.2f} s")
    print(f"  every ballot checked                    {after_ballots - after_key:6.2f} s")
    print(f"  tally and 3 partial decryptions         {after_partials - after_ballots:6.2f} s")
    print(f"  proofs checked, combined, counts read   {finished - after_partials:6.2f} s")
    print(f"  total, wall clock                       {count_seconds:6.2f} s")
    print(f"  total, CPU time                         {count_cpu:6.2f} s   counts {list(counts)}")
    print(
        f"\ntargets: >= {TARGET_RATE}/s -> {'met' if 1 / ours >= TARGET_RATE else 'NOT met'}; "
        f">= {TARGET_RATIO}x -> {'met' if baseline / ours >= TARGET_RATIO else 'NOT met'}; "
        f"count < {TARGET_COUNT_SECONDS:.0f} s -> "
        f"{'met' if count_seconds < TARGET_COUNT_SECONDS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
