// The bit proof: option i's ciphertext encrypts 0 or 1 (disjunctive Chaum–Pedersen, two
// branches). The browser twin of crypto/bitproof.py (docs/secret-ballots.md §5.2):
//
//   c₀ + c₁ ≡ H("kvorum/secret/v1/bit"; statement, u32(i), αᵢ, βᵢ, a₀, b₀, a₁, b₁)

import { TAG_BIT, u32 } from "./challenge.js";
import { branchesToJSON, holds, parseBranches, prove } from "./disjunctive.js";
import { SecretBallotError, pointBytes } from "./group.js";

function items(statement, index, value) {
  return [...statement, u32(index), pointBytes(value.alpha), pointBytes(value.beta)];
}

/** {challenges: [c₀, c₁], responses: [v₀, v₁]} for option `index` with mark 0 or 1. */
export function proveBit(statement, key, index, value, mark, randomness, draw) {
  return prove(TAG_BIT, items(statement, index, value), key, value, 0, 1, mark, randomness, draw);
}

/** S-11 bad_bit_proof unless the proof verifies for option `index`. */
export async function verifyBit(statement, key, index, value, proof) {
  const ok = await holds(
    TAG_BIT,
    items(statement, index, value),
    key,
    value,
    0,
    proof.challenges,
    proof.responses,
  );
  if (!ok) {
    throw new SecretBallotError(
      "S-11",
      "bad_bit_proof",
      `option ${index}: the proof that its ciphertext encrypts 0 or 1 does not verify ` +
        "(a mark other than 0/1, or a proof made for another ballot, voter or election)",
    );
  }
}

export function parseBitProof(value, what = "bit proof") {
  return parseBranches(value, 2, what);
}

export const bitProofToJSON = branchesToJSON;
