// The sum proof: the number of marks on a ballot lies in [min, max]. The browser twin of
// crypto/sumproof.py (docs/secret-ballots.md §5.3): the disjunctive proof over
// j = min … max for (A, B) = (Παᵢ, Πβᵢ),
//
//   Σⱼ cⱼ ≡ H("kvorum/secret/v1/sum"; statement, A, B, a_min, b_min, …, a_max, b_max)

import { TAG_SUM } from "./challenge.js";
import { branchesToJSON, holds, parseBranches, prove } from "./disjunctive.js";
import { SecretBallotError, pointBytes } from "./group.js";

function items(statement, total) {
  return [...statement, pointBytes(total.alpha), pointBytes(total.beta)];
}

/** Prove `total` (randomness Σ rᵢ) encrypts `count` in lo … hi. */
export function proveSum(statement, key, total, lo, hi, count, randomness, draw) {
  return prove(TAG_SUM, items(statement, total), key, total, lo, hi, count, randomness, draw);
}

/** S-10 for a wrong number of branches, S-12 bad_sum_proof unless the proof verifies. */
export async function verifySum(statement, key, total, lo, hi, proof) {
  if (proof.challenges.length !== hi - lo + 1) {
    throw new SecretBallotError(
      "S-10",
      "malformed_proof",
      `the sum proof must have ${hi - lo + 1} branches`,
    );
  }
  const ok = await holds(
    TAG_SUM,
    items(statement, total),
    key,
    total,
    lo,
    proof.challenges,
    proof.responses,
  );
  if (!ok) {
    throw new SecretBallotError(
      "S-12",
      "bad_sum_proof",
      `the proof that the ballot has ${lo}..${hi} marks does not verify ` +
        "(too many or too few marks, or a proof made for another ballot)",
    );
  }
}

export function parseSumProof(value, branches, what = "sum proof") {
  return parseBranches(value, branches, what);
}

export const sumProofToJSON = branchesToJSON;
