// The knowledge proof: a key-generation dealer knows the secret behind its first
// commitment (Schnorr). The browser twin of crypto/knowledgeproof.py
// (docs/secret-ballots.md §6):
//
//   u = g^z·C_{j,0}^c
//   c ≡ H("kvorum/secret/v1/knowledge"; context, u32(n), u32(t), u32(j), C_{j,0} … C_{j,t−1}, u)

import { TAG_KNOWLEDGE, challenge, u32 } from "./challenge.js";
import { SecretBallotError, base, mod, mulPublic, pointBytes } from "./group.js";

function items(context, members, threshold, dealer, commitments) {
  return [context, u32(members), u32(threshold), u32(dealer), ...commitments.map(pointBytes)];
}

/** {challenge, response} proving knowledge of `secret` = log_g commitments[0]. */
export async function proveKnowledge(
  context,
  members,
  threshold,
  dealer,
  commitments,
  secret,
  draw,
) {
  const w = draw();
  const c = await challenge(TAG_KNOWLEDGE, [
    ...items(context, members, threshold, dealer, commitments),
    pointBytes(base(w)),
  ]);
  return { challenge: c, response: mod(w - c * secret) };
}

/** S-13 bad_knowledge_proof (naming the dealer) unless the proof verifies. */
export async function verifyKnowledge(context, members, threshold, dealer, commitments, proof) {
  const u = base(proof.response).add(mulPublic(commitments[0], proof.challenge));
  const expected = await challenge(TAG_KNOWLEDGE, [
    ...items(context, members, threshold, dealer, commitments),
    pointBytes(u),
  ]);
  if (expected !== proof.challenge) {
    throw new SecretBallotError(
      "S-13",
      "bad_knowledge_proof",
      `key generation: dealer ${dealer}'s proof of knowledge of its secret does not verify`,
      dealer,
    );
  }
}
