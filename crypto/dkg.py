"""Distributed key generation for a t-of-n counting commission (Pedersen 1991,
with Feldman's verifiable secret sharing, Feldman 1987).

Members are numbered 1 … n. Every member j acts as a dealer:

1. picks a polynomial f_j(z) = a_{j,0} + a_{j,1}·z + … + a_{j,t−1}·z^{t−1} with random
   coefficients, and publishes the commitments C_{j,k} = g^{a_{j,k}} with a proof of
   knowledge of a_{j,0} (:mod:`crypto.knowledgeproof`);
2. sends member i the share s_{j,i} = f_j(i) mod ℓ, encrypted to i alone (in the
   browser; the transport is not part of what a verifier checks);
3. member i checks g^{s_{j,i}} = Π_k C_{j,k}^{(iᵏ)} (:func:`verify_share`) and,
   if it fails, complains; dealer j must then reveal s_{j,i} publicly, and anyone can
   check it with the same equation (:func:`complaint_upheld`). A dealer whose proof
   fails, or whose revealed share fails or who does not answer, is disqualified.

With QUAL the dealers left, the election key is h = Π_{j∈QUAL} C_{j,0}, member i's
secret share is xᵢ = Σ_{j∈QUAL} s_{j,i} and its public verification key is
Kᵢ = g^{xᵢ} = Π_k (Π_{j∈QUAL} C_{j,k})^{(iᵏ)}, computable by anyone. The election
secret x = Σ_{j∈QUAL} a_{j,0} is never assembled: any t members decrypt together
(:func:`lagrange_at_zero`), and a member who loses its share is simply left out:
any t of the others still decrypt.

Not guaranteed: Pedersen's protocol lets a dishonest dealer bias the distribution of
h slightly (Gennaro–Jarecki–Krawczyk–Rabin 1999); this does not help anyone decrypt
(the secret stays shared as long as fewer than t members collude), which is what an
election key needs. Shares held by a member are as safe as that member's browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from crypto.errors import SecretBallotError
from crypto.group import IDENTITY, L, Point, base, encode_scalar, parse_point, parse_scalar
from crypto.knowledgeproof import KnowledgeProof, prove_knowledge, verify_knowledge

__all__ = [
    "Complaint",
    "DealerCommitment",
    "DkgParameters",
    "ElectionKey",
    "complaint_upheld",
    "deal",
    "joint_key",
    "lagrange_at_zero",
    "member_share",
    "qualified_dealers",
    "verify_dealer",
    "verify_share",
]

MAX_MEMBERS = 255


@dataclass(frozen=True, slots=True)
class DkgParameters:
    """``context``: 32 bytes naming this key generation (the server's choice, e.g.
    the SHA-256 of the vote id and the commission's roster); ``members`` n;
    ``threshold`` t, 1 ≤ t ≤ n."""

    context: bytes
    members: int
    threshold: int

    def __post_init__(self) -> None:
        if not isinstance(self.context, bytes) or len(self.context) != 32:
            raise SecretBallotError("S-23", "bad_parameters", "the context must be 32 bytes")
        if not 1 <= self.members <= MAX_MEMBERS:
            raise SecretBallotError(
                "S-23", "bad_parameters", f"the commission has 1..{MAX_MEMBERS} members"
            )
        if not 1 <= self.threshold <= self.members:
            raise SecretBallotError(
                "S-23",
                "bad_parameters",
                f"threshold {self.threshold} is not within 1..{self.members}",
            )

    def check_member(self, index: object, what: str) -> int:
        """S-18 ``unknown_trustee`` unless ``index`` is an int in 1 … n."""
        if (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not (1 <= index <= self.members)
        ):
            raise SecretBallotError(
                "S-18",
                "unknown_trustee",
                f"{what}: {index!r:.20} is not a commission member (1..{self.members})",
            )
        return index


@dataclass(frozen=True, slots=True)
class DealerCommitment:
    """Dealer j's published commitments C_{j,0} … C_{j,t−1} and knowledge proof."""

    dealer: int
    commitments: tuple[Point, ...]
    proof: KnowledgeProof

    def to_json(self) -> dict[str, object]:
        return {
            "dealer": self.dealer,
            "commitments": [c.encode() for c in self.commitments],
            "proof": self.proof.to_json(),
        }

    @classmethod
    def parse(cls, value: object, params: DkgParameters) -> DealerCommitment:
        """Read and validate the structure (S-18, S-22, points S-1 … S-6)."""
        if not isinstance(value, dict) or set(value) != {"dealer", "commitments", "proof"}:
            raise SecretBallotError(
                "S-22",
                "malformed",
                "a dealer's commitment is an object with dealer, commitments and proof",
            )
        dealer = params.check_member(value["dealer"], "dealer")
        items = value["commitments"]
        if not isinstance(items, list) or len(items) != params.threshold:
            raise SecretBallotError(
                "S-22",
                "malformed",
                f"dealer {dealer} must publish {params.threshold} commitments",
            )
        commitments = tuple(
            # A zero coefficient is refused: C_{j,0} = identity would contribute
            # nothing to the key, and no honest dealer draws zero.
            parse_point(item, what=f"dealer {dealer} commitment {k}", allow_identity=False)
            for k, item in enumerate(items)
        )
        proof = KnowledgeProof.parse(value["proof"], what=f"dealer {dealer} proof")
        return cls(dealer, commitments, proof)


@dataclass(frozen=True, slots=True)
class Complaint:
    """Member ``recipient`` says dealer ``dealer``'s share is wrong; ``revealed`` is
    the share the dealer then published (None: the dealer did not answer)."""

    dealer: int
    recipient: int
    revealed: int | None

    def to_json(self) -> dict[str, object]:
        revealed = None if self.revealed is None else encode_scalar(self.revealed)
        return {"dealer": self.dealer, "recipient": self.recipient, "revealed": revealed}

    @classmethod
    def parse(cls, value: object, params: DkgParameters) -> Complaint:
        """``{"dealer": j, "recipient": i, "revealed": SCALAR or null}`` (S-22, S-18, S-7, S-8)."""
        if not isinstance(value, dict) or set(value) != {"dealer", "recipient", "revealed"}:
            raise SecretBallotError(
                "S-22",
                "malformed",
                "a complaint is an object with exactly dealer, recipient and revealed",
            )
        dealer = params.check_member(value["dealer"], "complaint dealer")
        recipient = params.check_member(value["recipient"], "complaint recipient")
        revealed = value["revealed"]
        if revealed is not None:
            revealed = parse_scalar(revealed, what=f"share revealed by dealer {dealer}")
        return cls(dealer, recipient, revealed)


@dataclass(frozen=True, slots=True)
class ElectionKey:
    """The joint key h, the qualified dealers and every member's Kᵢ."""

    key: Point
    threshold: int
    qualified: tuple[int, ...]
    verification_keys: Mapping[int, Point]


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    result = 0
    for a in reversed(coefficients):
        result = (result * x + a) % L
    return result


def deal(
    params: DkgParameters,
    dealer: int,
    draw: Callable[[], int],
) -> tuple[DealerCommitment, dict[int, int]]:
    """Dealer ``dealer``'s commitment and the shares {i: f(i)} for members 1 … n.

    Draws a_{j,0} … a_{j,t−1} first, then the knowledge proof's nonce.
    """
    params.check_member(dealer, "dealer")
    coefficients = [draw() for _ in range(params.threshold)]
    commitments = tuple(base(a) for a in coefficients)
    proof = prove_knowledge(
        params.context,
        params.members,
        params.threshold,
        dealer,
        commitments,
        coefficients[0],
        draw,
    )
    shares = {i: _evaluate(coefficients, i) for i in range(1, params.members + 1)}
    return DealerCommitment(dealer, commitments, proof), shares


def verify_dealer(params: DkgParameters, commitment: DealerCommitment) -> None:
    """S-13 unless the dealer's knowledge proof verifies."""
    verify_knowledge(
        params.context,
        params.members,
        params.threshold,
        commitment.dealer,
        commitment.commitments,
        commitment.proof,
    )


def _share_image(commitments: Sequence[Point], recipient: int) -> Point:
    """Π_k C_k^(iᵏ)."""
    total = IDENTITY
    power = 1
    for c in commitments:
        total = total + c * power
        power = power * recipient % L
    return total


def verify_share(
    params: DkgParameters, commitment: DealerCommitment, recipient: int, share: int
) -> None:
    """S-14 ``bad_share`` unless g^share = Π_k C_{j,k}^(iᵏ) for recipient i."""
    params.check_member(recipient, "recipient")
    if not 0 <= share < L or base(share) != _share_image(commitment.commitments, recipient):
        raise SecretBallotError(
            "S-14",
            "bad_share",
            f"key generation: dealer {commitment.dealer}'s share for member {recipient} "
            "does not match its commitments",
            trustee=commitment.dealer,
        )


def complaint_upheld(
    params: DkgParameters, commitment: DealerCommitment, complaint: Complaint
) -> bool:
    """True when the dealer must be disqualified: no answer, or a wrong revealed share."""
    if complaint.revealed is None:
        return True
    try:
        verify_share(params, commitment, complaint.recipient, complaint.revealed)
    except SecretBallotError:
        return True
    return False


def qualified_dealers(
    params: DkgParameters,
    commitments: Iterable[DealerCommitment],
    complaints: Iterable[Complaint] = (),
) -> tuple[DealerCommitment, ...]:
    """The dealers that stay: valid knowledge proof, every complaint answered.

    A dealer with a failed knowledge proof is dropped (its S-13 error is not
    raised: the key generation goes on without it). S-17 for a dealer listed twice.
    """
    by_dealer: dict[int, DealerCommitment] = {}
    for commitment in commitments:
        params.check_member(commitment.dealer, "dealer")
        if commitment.dealer in by_dealer:
            raise SecretBallotError(
                "S-17",
                "duplicate_trustee",
                f"key generation: dealer {commitment.dealer} published twice",
                trustee=commitment.dealer,
            )
        by_dealer[commitment.dealer] = commitment
    out = []
    disqualified = set()
    for complaint in complaints:
        params.check_member(complaint.recipient, "complaint recipient")
        found = by_dealer.get(params.check_member(complaint.dealer, "complaint dealer"))
        if found is not None and complaint_upheld(params, found, complaint):
            disqualified.add(complaint.dealer)
    for dealer in sorted(by_dealer):
        if dealer in disqualified:
            continue
        try:
            verify_dealer(params, by_dealer[dealer])
        except SecretBallotError:
            continue
        out.append(by_dealer[dealer])
    return tuple(out)


def joint_key(params: DkgParameters, qualified: Sequence[DealerCommitment]) -> ElectionKey:
    """h and every Kᵢ from the qualified dealers' commitments.

    S-15 ``not_enough_dealers`` with fewer than t qualified dealers (then fewer than
    t members could have dealt honestly); S-6 if h is the identity.
    """
    dealers = [c.dealer for c in qualified]
    if len(set(dealers)) != len(dealers):
        raise SecretBallotError("S-17", "duplicate_trustee", "key generation: a dealer twice")
    if len(qualified) < params.threshold:
        raise SecretBallotError(
            "S-15",
            "not_enough_dealers",
            f"key generation: {len(qualified)} qualified dealers, at least "
            f"{params.threshold} are needed",
        )
    summed = [IDENTITY] * params.threshold
    for commitment in qualified:
        summed = [s + c for s, c in zip(summed, commitment.commitments, strict=True)]
    if summed[0].is_identity:
        raise SecretBallotError("S-6", "identity_not_allowed", "the election key is the identity")
    keys = {i: _share_image(summed, i) for i in range(1, params.members + 1)}
    return ElectionKey(summed[0], params.threshold, tuple(sorted(dealers)), keys)


def member_share(shares: Mapping[int, int], qualified: Iterable[int]) -> int:
    """xᵢ = Σ_{j∈QUAL} s_{j,i}: member i's share of the election secret."""
    return sum(shares[j] for j in qualified) % L


def lagrange_at_zero(indices: Sequence[int], index: int) -> int:
    """λᵢ = Π_{j∈S, j≠i} j / (j − i) mod ℓ, so that Σ_{i∈S} λᵢ·f(i) = f(0)."""
    numerator = 1
    denominator = 1
    for j in indices:
        if j != index:
            numerator = numerator * j % L
            denominator = denominator * (j - index) % L
    return numerator * pow(denominator, -1, L) % L
