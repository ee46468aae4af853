"""Whole secret ballots: encrypt with every proof, verify, tally, decrypt by shares,
and open a challenged ballot (cast-or-audit).

A ballot has one ciphertext per option, encrypting a mark 0 or 1, a bit proof per
option (:mod:`crypto.bitproof`) and a sum proof that the number of marks is within
the form's [min, max] (:mod:`crypto.sumproof`). Forms: one of N (min = max = 1), or
«за»/«против» per candidate with at most ``seats`` «за» (min = 0, max = seats).

Every proof of a ballot hashes the *ballot statement*, in this order:

    fingerprint (32 bytes) ‖ h ‖ voter key (32 bytes) ‖ u32(N) ‖ u32(min) ‖ u32(max)
    ‖ α₀ ‖ β₀ ‖ … ‖ α_{N−1} ‖ β_{N−1}

(each item length-prefixed, :mod:`crypto.challenge`), so a ballot cannot be moved to
another voter or election, nor an option's proof to another option or ballot.

The count: the product of the ballots' ciphertexts per option, partial decryptions
by at least t commission members with proofs (:mod:`crypto.decryptionproof`),
combined with Lagrange coefficients, and the count read from a table up to the
roll's size. The full specification and its checks S-1 … are in
``docs/secret-ballots.md``.

Not guaranteed: this module does not know the board, the roll or who may vote;
"the last ballot counts", replays and eligibility are the ballot box's checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from crypto.bitproof import BitProof, prove_bit, verify_bit
from crypto.challenge import u32
from crypto.decryptionproof import DecryptionProof, prove_decryption, verify_decryption
from crypto.dkg import ElectionKey, lagrange_at_zero
from crypto.elgamal import Ciphertext, DiscreteLogTable, encrypt
from crypto.errors import SecretBallotError
from crypto.group import (
    IDENTITY,
    L,
    Point,
    check_point,
    encode_scalar,
    parse_point,
    parse_scalar,
    random_scalar,
    read_point_unchecked,
)
from crypto.sumproof import SumProof, prove_sum, verify_sum

__all__ = [
    "BallotForm",
    "BallotOpening",
    "EncryptedBallot",
    "PartialDecryption",
    "SecretElection",
    "check_ballot",
    "combine",
    "encrypt_ballot",
    "open_ballot",
    "partial_decrypt",
    "tally",
    "verify_ballot",
    "verify_partial",
]

MAX_OPTIONS = 100

Draw = Callable[[], int]


def _malformed(message: str) -> SecretBallotError:
    return SecretBallotError("S-22", "malformed", message)


@dataclass(frozen=True, slots=True)
class BallotForm:
    """``options`` N, and the allowed number of marks ``min_marks`` … ``max_marks``."""

    options: int
    min_marks: int
    max_marks: int

    def __post_init__(self) -> None:
        if not 1 <= self.options <= MAX_OPTIONS:
            raise SecretBallotError(
                "S-23", "bad_parameters", f"a ballot has 1..{MAX_OPTIONS} options"
            )
        if not 0 <= self.min_marks <= self.max_marks <= self.options:
            raise SecretBallotError(
                "S-23",
                "bad_parameters",
                f"marks {self.min_marks}..{self.max_marks} do not fit {self.options} options",
            )

    @classmethod
    def one_of(cls, options: int) -> BallotForm:
        """Exactly one mark among ``options`` (a chair, yes/no/abstain)."""
        return cls(options, 1, 1)

    @classmethod
    def approve_reject(cls, candidates: int, seats: int) -> BallotForm:
        """«за» (1) or «против» (0) per candidate, at most ``seats`` «за»."""
        return cls(candidates, 0, seats)


@dataclass(frozen=True, slots=True)
class SecretElection:
    """What every proof is bound to: the vote's fingerprint (the 32-byte SHA-256
    digest of its definition), the election key h and the ballot form."""

    fingerprint: bytes
    key: Point
    form: BallotForm

    def __post_init__(self) -> None:
        if not isinstance(self.fingerprint, bytes) or len(self.fingerprint) != 32:
            raise SecretBallotError("S-23", "bad_parameters", "the fingerprint must be 32 bytes")
        if self.key.is_identity:
            raise SecretBallotError(
                "S-6", "identity_not_allowed", "the election key is the identity"
            )

    def statement(self, voter_key: bytes, ciphertexts: Sequence[Ciphertext]) -> list[bytes]:
        """The ballot statement's items (see the module docstring)."""
        if not isinstance(voter_key, bytes) or len(voter_key) != 32:
            raise _malformed("the voter's key must be 32 bytes")
        form = self.form
        items = [
            self.fingerprint,
            self.key.raw,
            voter_key,
            u32(form.options),
            u32(form.min_marks),
            u32(form.max_marks),
        ]
        for ciphertext in ciphertexts:
            items.append(ciphertext.alpha.raw)
            items.append(ciphertext.beta.raw)
        return items


@dataclass(frozen=True, slots=True)
class EncryptedBallot:
    """Ciphertexts (one per option), their bit proofs, and the sum proof."""

    ciphertexts: tuple[Ciphertext, ...]
    bit_proofs: tuple[BitProof, ...]
    sum_proof: SumProof

    def total(self) -> Ciphertext:
        """(Παᵢ, Πβᵢ): the encryption of the number of marks."""
        total = Ciphertext.zero()
        for ciphertext in self.ciphertexts:
            total = total + ciphertext
        return total

    def to_json(self) -> dict[str, object]:
        return {
            "choices": [
                {**c.to_json(), "proof": p.to_json()}
                for c, p in zip(self.ciphertexts, self.bit_proofs, strict=True)
            ],
            "sum_proof": self.sum_proof.to_json(),
        }

    @classmethod
    def parse(cls, value: object, form: BallotForm) -> EncryptedBallot:
        """Read a ballot's JSON value; every point and scalar is validated (S-1 … S-10,
        S-9 ``wrong_option_count``, S-22 ``malformed``)."""
        return cls._read(value, form, parse_point)

    @classmethod
    def _read(
        cls, value: object, form: BallotForm, read_point: Callable[..., Point]
    ) -> EncryptedBallot:
        if not isinstance(value, dict) or set(value) != {"choices", "sum_proof"}:
            raise _malformed("a secret ballot is an object with exactly choices and sum_proof")
        choices = value["choices"]
        if not isinstance(choices, list):
            raise _malformed("choices must be a list")
        if len(choices) != form.options:
            raise SecretBallotError(
                "S-9",
                "wrong_option_count",
                f"the ballot has {len(choices)} choices, the form {form.options}",
            )
        ciphertexts = []
        proofs = []
        for i, choice in enumerate(choices):
            if not isinstance(choice, dict) or set(choice) != {"alpha", "beta", "proof"}:
                raise _malformed(f"choice {i} is an object with exactly alpha, beta and proof")
            ciphertexts.append(
                Ciphertext(
                    read_point(choice["alpha"], what=f"choice {i} alpha"),
                    read_point(choice["beta"], what=f"choice {i} beta"),
                )
            )
            proofs.append(BitProof.parse(choice["proof"], what=f"choice {i} proof"))
        sum_proof = SumProof.parse(value["sum_proof"], branches=form.max_marks - form.min_marks + 1)
        return cls(tuple(ciphertexts), tuple(proofs), sum_proof)


@dataclass(frozen=True, slots=True)
class BallotOpening:
    """What a challenged ballot reveals: the marks and the randomness rᵢ per option."""

    marks: tuple[int, ...]
    randomness: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "marks": list(self.marks),
            "randomness": [encode_scalar(r) for r in self.randomness],
        }

    @classmethod
    def parse(cls, value: object, form: BallotForm) -> BallotOpening:
        if not isinstance(value, dict) or set(value) != {"marks", "randomness"}:
            raise _malformed("an opening is an object with exactly marks and randomness")
        marks, randomness = value["marks"], value["randomness"]
        if not isinstance(marks, list) or not isinstance(randomness, list):
            raise _malformed("marks and randomness must be lists")
        if len(marks) != form.options or len(randomness) != form.options:
            raise SecretBallotError(
                "S-9", "wrong_option_count", f"an opening has {form.options} marks and scalars"
            )
        for mark in marks:
            # type() is int, not isinstance: 1.0 == 1 and True == 1, but neither is a mark.
            if type(mark) is not int or mark not in (0, 1):
                raise SecretBallotError(
                    "S-21", "audit_mismatch", f"an opened mark must be 0 or 1, got {mark!r:.20}"
                )
        return cls(
            tuple(marks),
            tuple(parse_scalar(r, what=f"randomness {i}") for i, r in enumerate(randomness)),
        )


def encrypt_ballot(
    election: SecretElection,
    voter_key: bytes,
    marks: Sequence[int],
    draw: Draw = random_scalar,
) -> tuple[EncryptedBallot, BallotOpening]:
    """Encrypt ``marks`` (0/1 per option) with every proof.

    Draw order (for reproducible vectors): r₁ … r_N, then each option's bit proof
    (w, then c, v of the other branch), then the sum proof (w, then c, v of every
    other branch in ascending order).
    """
    form = election.form
    if len(marks) != form.options or any(m not in (0, 1) for m in marks):
        raise ValueError(f"marks must be {form.options} values 0 or 1")
    if not form.min_marks <= sum(marks) <= form.max_marks:
        raise ValueError(f"{sum(marks)} marks, the form allows {form.min_marks}..{form.max_marks}")
    randomness = tuple(draw() for _ in marks)
    ciphertexts = tuple(encrypt(election.key, m, r) for m, r in zip(marks, randomness, strict=True))
    statement = election.statement(voter_key, ciphertexts)
    proofs = tuple(
        prove_bit(statement, election.key, i, c, m, r, draw)
        for i, (c, m, r) in enumerate(zip(ciphertexts, marks, randomness, strict=True))
    )
    total = Ciphertext.zero()
    for ciphertext in ciphertexts:
        total = total + ciphertext
    sum_proof = prove_sum(
        statement,
        election.key,
        total,
        form.min_marks,
        form.max_marks,
        sum(marks),
        sum(randomness) % L,
        draw,
    )
    return (
        EncryptedBallot(ciphertexts, proofs, sum_proof),
        BallotOpening(tuple(marks), randomness),
    )


def verify_ballot(election: SecretElection, voter_key: bytes, ballot: EncryptedBallot) -> None:
    """Every proof of the ballot, in order: S-9, S-11 per option, S-12."""
    form = election.form
    if len(ballot.ciphertexts) != form.options or len(ballot.bit_proofs) != form.options:
        raise SecretBallotError(
            "S-9", "wrong_option_count", f"the ballot does not have {form.options} choices"
        )
    statement = election.statement(voter_key, ballot.ciphertexts)
    for i, (ciphertext, proof) in enumerate(
        zip(ballot.ciphertexts, ballot.bit_proofs, strict=True)
    ):
        verify_bit(statement, election.key, i, ciphertext, proof)
    verify_sum(
        statement, election.key, ballot.total(), form.min_marks, form.max_marks, ballot.sum_proof
    )


def check_ballot(election: SecretElection, voter_key: bytes, value: object) -> EncryptedBallot:
    """Read a ballot's JSON value and verify it: the same verdict as
    :meth:`EncryptedBallot.parse` followed by :func:`verify_ballot`, faster.

    The ciphertexts' points are not put through ``is_valid_point`` first: the first
    branch of every bit proof multiplies αᵢ and βᵢ by c₀ in libsodium, which refuses
    every point S-2 … S-5 refuses; when c₀ = 0 the points are checked explicitly. If
    anything fails, every point is checked in order before the failure is reported, so
    the reason is the one the strict path gives.
    """
    form = election.form
    try:
        ballot = EncryptedBallot._read(value, form, read_point_unchecked)
    except SecretBallotError:
        # A shape or scalar error: report what the strict reader meets first (a bad
        # point may come before it in the document).
        EncryptedBallot.parse(value, form)
        raise
    try:
        for ciphertext, proof in zip(ballot.ciphertexts, ballot.bit_proofs, strict=True):
            if proof.challenges[0] == 0:  # no multiplication by c₀ to check the points
                check_point(ciphertext.alpha.raw)
                check_point(ciphertext.beta.raw)
        verify_ballot(election, voter_key, ballot)
    except SecretBallotError:
        for i, ciphertext in enumerate(ballot.ciphertexts):
            check_point(ciphertext.alpha.raw, what=f"choice {i} alpha")
            check_point(ciphertext.beta.raw, what=f"choice {i} beta")
        raise
    return ballot


def open_ballot(
    election: SecretElection, voter_key: bytes, ballot: EncryptedBallot, opening: BallotOpening
) -> tuple[int, ...]:
    """The marks of a challenged ballot, after checking it (S-11, S-12) and that the
    opening re-encrypts to exactly its ciphertexts (S-21 ``audit_mismatch``)."""
    verify_ballot(election, voter_key, ballot)
    for i, (ciphertext, mark, r) in enumerate(
        zip(ballot.ciphertexts, opening.marks, opening.randomness, strict=True)
    ):
        if encrypt(election.key, mark, r) != ciphertext:
            raise SecretBallotError(
                "S-21",
                "audit_mismatch",
                f"option {i}: mark {mark} with the revealed randomness does not give the "
                "ballot's ciphertext",
            )
    return opening.marks


def tally(election: SecretElection, ballots: Iterable[EncryptedBallot]) -> tuple[Ciphertext, ...]:
    """Per option, the product of the ballots' ciphertexts ((identity, identity) if none)."""
    totals = [Ciphertext.zero()] * election.form.options
    for ballot in ballots:
        totals = [t + c for t, c in zip(totals, ballot.ciphertexts, strict=True)]
    return tuple(totals)


@dataclass(frozen=True, slots=True)
class PartialDecryption:
    """Member ``member``'s Dᵢ per option with its decryption proof."""

    member: int
    partials: tuple[Point, ...]
    proofs: tuple[DecryptionProof, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "member": self.member,
            "partials": [
                {"d": d.encode(), "proof": p.to_json()}
                for d, p in zip(self.partials, self.proofs, strict=True)
            ],
        }

    @classmethod
    def parse(cls, value: object, options: int) -> PartialDecryption:
        if not isinstance(value, dict) or set(value) != {"member", "partials"}:
            raise _malformed("a partial decryption is an object with exactly member and partials")
        member = value["member"]
        if isinstance(member, bool) or not isinstance(member, int) or not 1 <= member <= 255:
            raise SecretBallotError(
                "S-18", "unknown_trustee", f"member {member!r:.20} is not a member index"
            )
        items = value["partials"]
        if not isinstance(items, list) or len(items) != options:
            raise SecretBallotError(
                "S-9", "wrong_option_count", f"member {member}: {options} partials expected"
            )
        partials = []
        proofs = []
        for k, item in enumerate(items):
            if not isinstance(item, dict) or set(item) != {"d", "proof"}:
                raise _malformed(f"member {member} partial {k} has exactly d and proof")
            partials.append(parse_point(item["d"], what=f"member {member} partial {k}"))
            proofs.append(DecryptionProof.parse(item["proof"], what=f"member {member} proof {k}"))
        return cls(member, tuple(partials), tuple(proofs))


def partial_decrypt(
    election: SecretElection,
    member: int,
    share: int,
    totals: Sequence[Ciphertext],
    draw: Draw = random_scalar,
) -> PartialDecryption:
    """Member ``member``'s partial decryption of every option's total, with proofs."""
    made = [
        prove_decryption(election.fingerprint, election.key, member, share, total, draw)
        for total in totals
    ]
    return PartialDecryption(member, tuple(d for d, _ in made), tuple(p for _, p in made))


def verify_partial(
    election: SecretElection,
    key: ElectionKey,
    totals: Sequence[Ciphertext],
    partial: PartialDecryption,
) -> None:
    """S-18 for an unknown member, S-9 for a wrong count, S-16 for a wrong proof."""
    verification_key = key.verification_keys.get(partial.member)
    if verification_key is None:
        raise SecretBallotError(
            "S-18",
            "unknown_trustee",
            f"member {partial.member} is not on the counting commission",
            trustee=partial.member,
        )
    if len(partial.partials) != len(totals) or len(partial.proofs) != len(totals):
        raise SecretBallotError(
            "S-9", "wrong_option_count", f"member {partial.member}: {len(totals)} partials expected"
        )
    for k, (total, d, proof) in enumerate(
        zip(totals, partial.partials, partial.proofs, strict=True)
    ):
        verify_decryption(
            election.fingerprint,
            election.key,
            partial.member,
            verification_key,
            total,
            d,
            proof,
            what=f"partial decryption of option {k}",
        )


def combine(
    election: SecretElection,
    key: ElectionKey,
    totals: Sequence[Ciphertext],
    partials: Sequence[PartialDecryption],
    table: DiscreteLogTable,
) -> tuple[int, ...]:
    """The counts per option from at least t verified partial decryptions.

    S-17 ``duplicate_trustee`` (a member twice), S-19 ``not_enough_decryptions``
    (fewer than t), then every proof (S-16) and the table look-up (S-20). With more
    than t partials all are used (any t would give the same counts).
    """
    if key.key != election.key:
        raise SecretBallotError("S-23", "bad_parameters", "the key set is not this election's")
    seen: set[int] = set()
    for partial in partials:
        if partial.member in seen:
            raise SecretBallotError(
                "S-17",
                "duplicate_trustee",
                f"member {partial.member} submitted a partial decryption twice",
                trustee=partial.member,
            )
        seen.add(partial.member)
    if len(partials) < key.threshold:
        raise SecretBallotError(
            "S-19",
            "not_enough_decryptions",
            f"{len(partials)} partial decryptions, at least {key.threshold} are needed",
        )
    for partial in partials:
        verify_partial(election, key, totals, partial)
    members = sorted(seen)
    coefficients = {i: lagrange_at_zero(members, i) for i in members}
    counts = []
    for k, total in enumerate(totals):
        combined = IDENTITY
        for partial in partials:
            combined = combined + partial.partials[k] * coefficients[partial.member]
        counts.append(table.lookup(total.beta - combined, what=f"the count of option {k}"))
    return tuple(counts)
