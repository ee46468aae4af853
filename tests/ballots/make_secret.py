"""Building the audit bundle of a secret vote as the server would, with Python-side key
generation among the commission (as the members' browsers do): deterministic, every
key and every random draw derived from a seed, so vectors are reproducible.

``SecretSample.bundle()`` gives the bundle's bytes; ``tamper`` hooks let a vector tell
a lie with every signature made by the key that would make it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ballots.secretformats import (
    DEFINITION_TYPE,
    DOCUMENT_TYPES,
    SECRET_BUNDLE_TYPE,
    chain_start,
    entry_hash,
    entry_payload,
    fingerprint,
    keygen_context,
    result_payload,
)
from crypto.canonical import canonicalize
from crypto.dkg import DkgParameters, deal, joint_key, member_share
from crypto.elgamal import DiscreteLogTable
from crypto.encoding import b64u_decode, b64u_encode
from crypto.group import L
from crypto.secretballot import (
    BallotForm,
    SecretElection,
    combine,
    encrypt_ballot,
    partial_decrypt,
    tally,
)
from tests.ballots.make_bundle import OPENS, ORG, ORG_NAME, make_key, make_voters, sign

SECOND = dt.timedelta(seconds=1)
CANDIDATES = ("Иванова А. П.", "Петров С. И.", "Сидорова Е. В.")
QUESTION = ("За", "Против", "Воздержался")
TITLES = {
    "one_of": "Выборы председателя",
    "approve_each": "Выборы в профком",
    "yes_no": "О выражении недоверия казначею",
}


class Draw:
    """A deterministic source of scalars in [1, ℓ)."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        digest = hashlib.sha512(f"{self.seed}/{self.count}".encode()).digest()
        return int.from_bytes(digest, "little") % (L - 1) + 1


def _instant(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SecretSample:
    """A closed secret vote: 7 voters, a commission of 5 (t = 3) among them."""

    form: str = "approve_each"
    seats: int = 2
    voters: int = 7
    commission: int = 5
    threshold: int = 3
    #: voter index → marks of each ballot cast, in order; "spoil" after a ballot
    #: (as a marks tuple prefixed with None) spoils that ballot.
    casts: Sequence[tuple[int, tuple[int, ...], bool]] = ()
    decrypting: Sequence[int] = (1, 2, 3)
    seed: str = "secret"
    #: hooks: (kind, payload) → payload changed before signing
    change: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    result_change: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    registry: Any = field(init=False)
    members: Any = field(init=False)

    def __post_init__(self) -> None:
        self.registry = make_key("registry", self.seed)
        self.members = make_voters(self.voters, registry=self.registry, seed=self.seed)
        if not self.casts:
            marks = [(1, 1, 0), (1, 0, 0), (0, 1, 1), (1, 0, 1), (0, 0, 0)]
            if self.form != "approve_each":
                marks = [(1, 0, 0), (0, 1, 0), (1, 0, 0), (0, 0, 1), (1, 0, 0)]
            self.casts = [(i, m, False) for i, m in enumerate(marks)]

    def definition_payload(self, key: str, dealers: list[int]) -> dict[str, Any]:
        commission = {
            "members": [
                {"member": self.members[i].member, "index": i + 1} for i in range(self.commission)
            ],
            "threshold": self.threshold,
        }
        election = "sha256:" + hashlib.sha256(f"election {self.seed}".encode()).hexdigest()
        context = keygen_context(1, election, commission)
        one_of = self.form != "approve_each"
        options = QUESTION if self.form == "yes_no" else CANDIDATES
        return {
            "type": DEFINITION_TYPE,
            "v": 1,
            "vote": 1,
            "org": ORG,
            "org_name": ORG_NAME,
            "election": election,
            "title": TITLES[self.form],
            "form": self.form,
            "options": list(options),
            "seats": 1 if one_of else self.seats,
            "min_marks": 1 if one_of else 0,
            "max_marks": 1 if one_of else self.seats,
            "rule": {
                "base": "took_part",
                "numerator": 1,
                "denominator": 2,
                "strict": True,
                "turnout": None,
            },
            "composition": self.voters,
            "roll": [
                {"member": v.member, "name": v.name, "keys": [v.serial]} for v in self.members
            ],
            "commission": {**commission, "context": context},
            "key": key,
            "dealers": dealers,
            "opens_at": _instant(OPENS),
            "closes_at": _instant(OPENS + 3600 * SECOND),
            "issuer": self.registry.public_key.key_id,
        }

    def bundle(self) -> bytes:
        draw = Draw(self.seed)
        draft = self.definition_payload("", [])
        context = draft["commission"]["context"]
        params = DkgParameters(b64u_decode(context, length=32), self.commission, self.threshold)
        entries: list[dict[str, Any]] = []
        prev = chain_start(1, context)
        clock = [OPENS - 600 * SECOND]

        def post(kind: str, voter: int, body: dict[str, Any], step: int = 1) -> None:
            nonlocal prev
            payload = {"type": DOCUMENT_TYPES[kind], "v": 1, "vote": 1}
            payload["serial"] = self.members[voter].serial
            payload.update(body)
            if self.change is not None:
                payload = self.change(kind, payload)
            document = sign(payload, self.members[voter].key)
            clock[0] += step * SECOND
            entry = entry_payload(1, len(entries) + 1, prev, kind, document, clock[0])
            entries.append(entry)
            prev = entry_hash(entry)

        dealt = []
        for dealer in range(1, self.commission + 1):
            commitment, shares = deal(params, dealer, draw)
            dealt.append((commitment, shares))
            post("dealer", dealer - 1, {"context": context, "commitment": commitment.to_json()})
        qualified = [c for c, _ in dealt]
        key = joint_key(params, qualified)
        payload = self.definition_payload(key.key.encode(), [c.dealer for c in qualified])
        self.definition = payload
        election = SecretElection(
            bytes.fromhex(fingerprint(payload).removeprefix("sha256:")),
            key.key,
            BallotForm(len(CANDIDATES), payload["min_marks"], payload["max_marks"]),
        )
        self.openings: list[tuple[int, tuple[int, ...]]] = []
        clock[0] = OPENS
        last: dict[int, Any] = {}
        for voter, marks, spoil in self.casts:
            ballot, opening = encrypt_ballot(
                election, bytes(self.members[voter].key.public_key), marks, draw
            )
            nonce = b64u_encode(
                hashlib.sha256(f"{self.seed} nonce {len(entries)}".encode()).digest()
            )
            post(
                "ballot",
                voter,
                {"definition": fingerprint(payload), "nonce": nonce, "ballot": ballot.to_json()},
            )
            if spoil:
                post(
                    "spoil",
                    voter,
                    {
                        "definition": fingerprint(payload),
                        "ballot_seq": len(entries),
                        "opening": opening.to_json(),
                    },
                )
                self.openings.append((voter, marks))
            else:
                last[voter] = ballot
        counted = list(last.values())
        totals = tally(election, counted)
        clock[0] = OPENS + 3600 * SECOND
        partials = []
        for index in self.decrypting:
            share = member_share(
                {j: s[index] for j, (_, s) in enumerate(dealt, 1)}, range(1, self.commission + 1)
            )
            partial = partial_decrypt(election, index, share, totals, draw)
            partials.append(partial)
            post(
                "partial",
                index - 1,
                {"definition": fingerprint(payload), "partial": partial.to_json()},
            )
        counts = (
            combine(
                election, key, totals, partials[: self.threshold], DiscreteLogTable(self.voters)
            )
            if len(partials) >= self.threshold
            else (0,) * len(CANDIDATES)
        )
        from ballots.secretverify import _definition, _expected_outcome

        outcome = _expected_outcome(_definition(payload), counts, len(counted))
        result = result_payload(
            vote=1,
            definition=fingerprint(payload),
            length=len(entries),
            head=prev,
            closed_at=OPENS + 3600 * SECOND,
            took_part=len(counted),
            counts=counts,
            decrypted_by=sorted(set(self.decrypting)),
            outcome=outcome,
            issuer=self.registry.public_key.key_id,
        )
        if self.result_change is not None:
            result = self.result_change(result)
        bundle = {
            "type": SECRET_BUNDLE_TYPE,
            "v": 1,
            "registry_keys": {self.registry.public_key.key_id: self.registry.public_key.b64u},
            "certificates": [v.certificate for v in self.members],
            "definition": sign(payload, self.registry),
            "entries": entries,
            "result": sign(result, self.registry),
        }
        return canonicalize(bundle)


def rechain(bundle: Any, sample: SecretSample, *, result: bool = True) -> None:
    """After a test changed entries: seq and prev made right again, and the result's
    length and head with them (re-signed by the registry), so only the lie told stays."""
    context = bundle["definition"]["payload"]["commission"]["context"]
    prev = chain_start(1, context)
    for seq, entry in enumerate(bundle["entries"], start=1):
        entry["seq"] = seq
        entry["prev"] = prev
        prev = entry_hash(entry)
    if result:
        payload = dict(bundle["result"]["payload"])
        payload["length"] = len(bundle["entries"])
        payload["head"] = prev
        bundle["result"] = sign(payload, sample.registry)
