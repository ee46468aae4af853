// The decryption proof: a commission member's partial decryption is honest (Chaum–
// Pedersen). The browser twin of crypto/decryptionproof.py (docs/secret-ballots.md §7):
//
//   Dᵢ = A^xᵢ;  a = g^v·Kᵢ^c,  b = A^v·Dᵢ^c
//   c ≡ H("kvorum/secret/v1/decryption"; F, h, u32(i), Kᵢ, A, B, Dᵢ, a, b)

import { TAG_DECRYPTION, challenge, u32 } from "./challenge.js";
import { SecretBallotError, base, mod, mul, mulPublic, pointBytes } from "./group.js";

function items(fingerprint, key, member, verificationKey, total, partial) {
  return [
    fingerprint,
    pointBytes(key),
    u32(member),
    pointBytes(verificationKey),
    pointBytes(total.alpha),
    pointBytes(total.beta),
    pointBytes(partial),
  ];
}

/** {partial: Dᵢ, proof: {challenge, response}} for member `member` holding `share`. */
export async function proveDecryption(fingerprint, key, member, share, total, draw) {
  const verificationKey = base(share);
  const partial = mul(total.alpha, share);
  const w = draw();
  const c = await challenge(TAG_DECRYPTION, [
    ...items(fingerprint, key, member, verificationKey, total, partial),
    pointBytes(base(w)),
    pointBytes(mul(total.alpha, w)),
  ]);
  return { partial, proof: { challenge: c, response: mod(w - c * share) } };
}

/** S-16 bad_decryption_proof (naming the member) unless the proof verifies. */
export async function verifyDecryption(
  fingerprint,
  key,
  member,
  verificationKey,
  total,
  partial,
  proof,
  what = "partial decryption",
) {
  const { challenge: c, response: v } = proof;
  const a = base(v).add(mulPublic(verificationKey, c));
  const b = mulPublic(total.alpha, v).add(mulPublic(partial, c));
  const expected = await challenge(TAG_DECRYPTION, [
    ...items(fingerprint, key, member, verificationKey, total, partial),
    pointBytes(a),
    pointBytes(b),
  ]);
  if (expected !== c) {
    throw new SecretBallotError(
      "S-16",
      "bad_decryption_proof",
      `${what} of commission member ${member}: the proof does not verify`,
      member,
    );
  }
}
