"""The disjunctive Chaum–Pedersen proof shared by the bit and sum proofs (private).

Statement: the ciphertext (α, β) under key h encrypts some m ∈ {lo, …, hi}, i.e.
for one j in that range (g, h, α, β·g⁻ʲ) is a Diffie–Hellman tuple. It is the OR
composition of Chaum–Pedersen proofs (Chaum–Pedersen 1992) by
Cramer–Damgård–Schoenmakers (CRYPTO '94), made non-interactive by Fiat–Shamir.

Stored in challenge/response form: one (cⱼ, vⱼ) per branch. The verifier rebuilds

    aⱼ = g^vⱼ · α^cⱼ        bⱼ = h^vⱼ · (β·g⁻ʲ)^cⱼ

and accepts when c_lo + … + c_hi ≡ H(tag, statement, a_lo, b_lo, …, a_hi, b_hi)
(mod ℓ). The prover knows r with α = gʳ and β = gᵐ·hʳ: it picks w and, for each
j ≠ m, cⱼ and vⱼ at random (in that order, j ascending), sets aₘ = gʷ, bₘ = hʷ, and
then cₘ = c − Σⱼ≠ₘ cⱼ, vₘ = w − cₘ·r. Responses subtract, so the verifier's
equations need no inversion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crypto.challenge import challenge
from crypto.elgamal import Ciphertext
from crypto.errors import SecretBallotError
from crypto.group import L, Point, base, encode_scalar, minus_base, parse_scalar

Draw = Callable[[], int]


def commitments(
    key: Point, ciphertext: Ciphertext, lo: int, challenges: Sequence[int], responses: Sequence[int]
) -> list[bytes]:
    """[a_lo, b_lo, a_lo+1, b_lo+1, …] rebuilt from the challenges and responses."""
    alpha = ciphertext.alpha
    shifted = ciphertext.beta + minus_base(lo) if lo else ciphertext.beta
    minus_g = minus_base(1)
    out: list[bytes] = []
    last = len(challenges) - 1
    for j, (c, v) in enumerate(zip(challenges, responses, strict=True)):
        # α and β are multiplied first (branch lo): a point read without the group
        # checks is refused here by libsodium (crypto.secretballot.check_ballot).
        out.append((base(v) + alpha * c).raw)
        out.append((key * v + shifted * c).raw)
        if j != last:
            shifted = shifted + minus_g
    return out


def prove(
    tag: bytes,
    statement: list[bytes],
    key: Point,
    ciphertext: Ciphertext,
    lo: int,
    hi: int,
    message: int,
    randomness: int,
    draw: Draw,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(challenges, responses) for branches lo … hi; ``message`` must be in range."""
    if not lo <= message <= hi:
        raise ValueError(f"cannot prove {message} is in {lo}..{hi}")
    w = draw()
    challenges = [0] * (hi - lo + 1)
    responses = [0] * (hi - lo + 1)
    items: list[bytes] = []
    for index, j in enumerate(range(lo, hi + 1)):
        if j == message:
            items.append(base(w).raw)
            items.append((key * w).raw)
            continue
        c, v = draw(), draw()
        challenges[index], responses[index] = c, v
        items.append((base(v) + ciphertext.alpha * c).raw)
        items.append((key * v + (ciphertext.beta - base(j)) * c).raw)
    total = challenge(tag, statement + items)
    real = message - lo
    challenges[real] = (total - sum(challenges)) % L
    responses[real] = (w - challenges[real] * randomness) % L
    return tuple(challenges), tuple(responses)


def holds(
    tag: bytes,
    statement: list[bytes],
    key: Point,
    ciphertext: Ciphertext,
    lo: int,
    challenges: Sequence[int],
    responses: Sequence[int],
) -> bool:
    """True when the proof verifies."""
    items = commitments(key, ciphertext, lo, challenges, responses)
    return sum(challenges) % L == challenge(tag, statement + items)


def parse_branches(
    value: object, branches: int, what: str
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Read ``{"c": [...], "v": [...]}`` with exactly ``branches`` scalars in each."""
    if not isinstance(value, dict) or set(value) != {"c", "v"}:
        raise SecretBallotError(
            "S-10", "malformed_proof", f"{what} must be an object with exactly 'c' and 'v'"
        )
    out: list[tuple[int, ...]] = []
    for name in ("c", "v"):
        items = value[name]
        if not isinstance(items, list) or len(items) != branches:
            raise SecretBallotError(
                "S-10",
                "malformed_proof",
                f"{what}.{name} must be a list of {branches} scalars",
            )
        out.append(
            tuple(parse_scalar(item, what=f"{what}.{name}[{i}]") for i, item in enumerate(items))
        )
    return out[0], out[1]


def branches_json(challenges: Sequence[int], responses: Sequence[int]) -> dict[str, list[str]]:
    return {
        "c": [encode_scalar(c) for c in challenges],
        "v": [encode_scalar(v) for v in responses],
    }
