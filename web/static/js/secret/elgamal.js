// Exponential ElGamal over the prime-order subgroup of Ed25519: the browser twin of
// crypto/elgamal.py (docs/secret-ballots.md §3).
//
//   (α, β) = (gʳ, gᵐ·hʳ);  (α₁, β₁)·(α₂, β₂) encrypts m₁ + m₂;  gᵐ = β·α⁻ˣ
//
// A ciphertext is {alpha, beta} of points; its JSON is {"alpha": POINT, "beta": POINT}.

import {
  IDENTITY,
  SecretBallotError,
  base,
  encodePoint,
  mul,
  parsePoint,
  pointBytes,
  smallMultiple,
} from "./group.js";

export function ciphertext(alpha, beta) {
  return Object.freeze({ alpha, beta });
}

/** The encryption of 0 with randomness 0: (identity, identity), the empty sum. */
export const ZERO_CIPHERTEXT = ciphertext(IDENTITY, IDENTITY);

/** (gʳ, gᵐ·hʳ) for a small m ≥ 0; r is secret (constant-time multiplications). */
export function encrypt(key, message, randomness) {
  return ciphertext(base(randomness), smallMultiple(message).add(mul(key, randomness)));
}

/** gᵐ = β·α⁻ˣ with the whole secret x (tests: the commission decrypts by shares). */
export function decrypt(value, secret) {
  return value.beta.subtract(mul(value.alpha, secret));
}

/** Component-wise product: the encryption of the sum. */
export function addCiphertexts(a, b) {
  return ciphertext(a.alpha.add(b.alpha), a.beta.add(b.beta));
}

export function ciphertextEquals(a, b) {
  return a.alpha.equals(b.alpha) && a.beta.equals(b.beta);
}

export function ciphertextToJSON(value) {
  return { alpha: encodePoint(value.alpha), beta: encodePoint(value.beta) };
}

/** Read both components from base64url and validate them (S-1 … S-5). */
export function parseCiphertext(alpha, beta, what = "ciphertext") {
  return ciphertext(
    parsePoint(alpha, { what: `${what} alpha` }),
    parsePoint(beta, { what: `${what} beta` }),
  );
}

/** gᵏ → k for k = 0 … limit (the roll's size), built by repeated addition. */
export class DiscreteLogTable {
  constructor(limit) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError("limit must be ≥ 0");
    this.limit = limit;
    this.table = new Map();
    let point = IDENTITY;
    for (let k = 0; k <= limit; k++) {
      this.table.set(encodePoint(point), k);
      point = point.add(base(1n));
    }
  }

  /** k with gᵏ = point; S-20 count_out_of_range if k is not in 0 … limit. */
  lookup(point, what = "count") {
    const found = this.table.get(encodePoint(point));
    if (found === undefined) {
      throw new SecretBallotError(
        "S-20",
        "count_out_of_range",
        `${what} is not g^k for any k in 0..${this.limit} ` +
          "(wrong decryption shares, or more marks than ballots)",
      );
    }
    return found;
  }
}

export { pointBytes };
