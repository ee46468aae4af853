"""A second, independent reading of docs/secret-ballots.md: the first ballot and
partial decryption of the vectors checked with plain Python integers (the slow
Edwards arithmetic of ``crypto._edwards``), the standard library's base64 and
hashlib, and nothing else from :mod:`crypto`. If the specification and the code
drifted apart, this fails."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from crypto import _edwards

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "secret.json").read_text("utf-8")
)
ELL = 2**252 + 27742317777372353535851937790883648493
G = _edwards.decode(bytes([0x58] + [0x66] * 31))[0]
Pt = tuple[int, int]


def raw(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=")


def point(text: str) -> Pt:
    decoded = _edwards.decode(raw(text))[0]
    assert decoded is not None
    return decoded


def scalar(text: str) -> int:
    value = int.from_bytes(raw(text), "little")
    assert value < ELL
    return value


def mul(k: int, p: Pt) -> Pt:
    return _edwards.multiply(k % ELL, p)


def add(p: Pt, q: Pt) -> Pt:
    return _edwards.add(p, q)


def enc(p: Pt) -> bytes:
    return _edwards.encode(p)


def lp(item: bytes) -> bytes:
    return len(item).to_bytes(4, "big") + item


def challenge(tag: str, items: list[bytes]) -> int:
    data = lp(tag.encode()) + b"".join(lp(i) for i in items)
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % ELL


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def test_a_ballot_by_the_specification() -> None:
    vector = VECTORS["ballots"][0]
    election = vector["election"]
    form = election["form"]
    h = point(election["key"])
    ballot = vector["ballot"]
    cts = [(point(c["alpha"]), point(c["beta"])) for c in ballot["choices"]]
    statement = [
        bytes.fromhex(election["fingerprint_hex"]),
        raw(election["key"]),
        raw(vector["voter_key"]),
        u32(form["options"]),
        u32(form["min_marks"]),
        u32(form["max_marks"]),
    ]
    for alpha, beta in cts:
        statement += [enc(alpha), enc(beta)]

    def disjunctive(alpha: Pt, beta: Pt, lo: int, proof: dict[str, list[str]]) -> list[bytes]:
        out = []
        for j, (c, v) in enumerate(zip(proof["c"], proof["v"], strict=True), start=lo):
            shifted = add(beta, mul(-j, G))
            out.append(enc(add(mul(scalar(v), G), mul(scalar(c), alpha))))
            out.append(enc(add(mul(scalar(v), h), mul(scalar(c), shifted))))
        return out

    for i, ((alpha, beta), choice) in enumerate(zip(cts, ballot["choices"], strict=True)):
        items = [*statement, u32(i), enc(alpha), enc(beta)]
        items += disjunctive(alpha, beta, 0, choice["proof"])
        assert sum(scalar(c) for c in choice["proof"]["c"]) % ELL == challenge(
            "kvorum/secret/v1/bit", items
        )
    big_a, big_b = cts[0]
    for alpha, beta in cts[1:]:
        big_a, big_b = add(big_a, alpha), add(big_b, beta)
    items = [*statement, enc(big_a), enc(big_b)]
    items += disjunctive(big_a, big_b, form["min_marks"], ballot["sum_proof"])
    assert sum(scalar(c) for c in ballot["sum_proof"]["c"]) % ELL == challenge(
        "kvorum/secret/v1/sum", items
    )
    # the opening re-encrypts to the ciphertexts
    opening = vector["opening"]
    for (alpha, beta), m, r in zip(cts, opening["marks"], opening["randomness"], strict=True):
        assert alpha == mul(scalar(r), G)
        assert beta == add(mul(m, G), mul(scalar(r), h))


def test_a_partial_decryption_and_the_key_by_the_specification() -> None:
    dkg = VECTORS["dkg"]
    t = dkg["threshold"]
    summed = [(0, 1)] * t
    for dealer in dkg["dealers"]:
        commitments = [point(c) for c in dealer["commitment"]["commitments"]]
        summed = [add(s, c) for s, c in zip(summed, commitments, strict=True)]
    assert enc(summed[0]) == raw(dkg["key"])
    count = VECTORS["count"]
    election = count["election"]
    totals = [(point(c["alpha"]), point(c["beta"])) for c in count["totals"]]
    item = count["partials"][0]["partial"]
    member = item["member"]
    k_i = (0, 1)
    for k, c in enumerate(summed):
        k_i = add(k_i, mul(pow(member, k, ELL), c))
    assert enc(k_i) == raw(dkg["verification_keys"][str(member)])
    for (big_a, big_b), part in zip(totals, item["partials"], strict=True):
        d = point(part["d"])
        c, v = scalar(part["proof"]["c"]), scalar(part["proof"]["v"])
        a = add(mul(v, G), mul(c, k_i))
        b = add(mul(v, big_a), mul(c, d))
        items = [
            bytes.fromhex(election["fingerprint_hex"]),
            raw(election["key"]),
            u32(member),
            enc(k_i),
            enc(big_a),
            enc(big_b),
            enc(d),
            enc(a),
            enc(b),
        ]
        assert challenge("kvorum/secret/v1/decryption", items) == c
