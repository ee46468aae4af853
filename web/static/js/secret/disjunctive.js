// The disjunctive Chaum–Pedersen proof shared by the bit and sum proofs: the browser
// twin of crypto/_disjunctive.py (docs/secret-ballots.md §5.1).
//
// Statement: (α, β) under h encrypts some m in lo … hi. Stored as one (cⱼ, vⱼ) per
// branch; the verifier rebuilds aⱼ = g^vⱼ·α^cⱼ, bⱼ = h^vⱼ·(β·g⁻ʲ)^cⱼ and accepts when
// Σ cⱼ ≡ H(tag; items…, a_lo, b_lo, …, a_hi, b_hi).

import { challenge } from "./challenge.js";
import {
  L,
  SecretBallotError,
  base,
  encodeScalar,
  mod,
  mul,
  mulPublic,
  parseScalar,
  pointBytes,
  smallMultiple,
} from "./group.js";

/** [a_lo, b_lo, a_lo+1, b_lo+1, …] rebuilt from public challenges and responses. */
export function commitments(key, value, lo, challenges, responses) {
  const { alpha } = value;
  let shifted = value.beta.subtract(smallMultiple(lo));
  const minusG = base(-1n);
  const out = [];
  for (let j = 0; j < challenges.length; j++) {
    const c = challenges[j];
    const v = responses[j];
    out.push(pointBytes(base(v).add(mulPublic(alpha, c))));
    out.push(pointBytes(mulPublic(key, v).add(mulPublic(shifted, c))));
    shifted = shifted.add(minusG);
  }
  return out;
}

/**
 * Prove that `value` (randomness r) encrypts `message` in lo … hi. Draw order: w, then
 * for every other branch j ascending its cⱼ and then vⱼ. Returns {challenges, responses}.
 * Every multiplication runs in constant time: which branch is the real one is the secret.
 */
export async function prove(tag, items, key, value, lo, hi, message, randomness, draw) {
  if (!(lo <= message && message <= hi)) {
    throw new RangeError(`cannot prove ${message} is in ${lo}..${hi}`);
  }
  const w = draw();
  const branches = hi - lo + 1;
  const challenges = new Array(branches).fill(0n);
  const responses = new Array(branches).fill(0n);
  const made = [];
  for (let j = lo; j <= hi; j++) {
    if (j === message) {
      made.push(pointBytes(base(w)), pointBytes(mul(key, w)));
      continue;
    }
    const c = draw();
    const v = draw();
    challenges[j - lo] = c;
    responses[j - lo] = v;
    made.push(pointBytes(base(v).add(mul(value.alpha, c))));
    made.push(pointBytes(mul(key, v).add(mul(value.beta.subtract(smallMultiple(j)), c))));
  }
  const total = await challenge(tag, [...items, ...made]);
  const real = message - lo;
  challenges[real] = mod(total - challenges.reduce((a, b) => a + b, 0n));
  responses[real] = mod(w - challenges[real] * randomness);
  return { challenges, responses };
}

/** True when the proof verifies. */
export async function holds(tag, items, key, value, lo, challenges, responses) {
  const made = commitments(key, value, lo, challenges, responses);
  const sum = challenges.reduce((a, b) => a + b, 0n) % L;
  return sum === (await challenge(tag, [...items, ...made]));
}

function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True when `value` is a plain object with exactly these members. */
export function hasExactly(value, names) {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === names.length && names.every((name) => Object.hasOwn(value, name));
}

/** Read {"c": [...], "v": [...]} with exactly `branches` scalars in each (S-10, S-7, S-8). */
export function parseBranches(value, branches, what) {
  if (!hasExactly(value, ["c", "v"])) {
    throw new SecretBallotError(
      "S-10",
      "malformed_proof",
      `${what} must be an object with exactly 'c' and 'v'`,
    );
  }
  const out = [];
  for (const name of ["c", "v"]) {
    const items = value[name];
    if (!Array.isArray(items) || items.length !== branches) {
      throw new SecretBallotError(
        "S-10",
        "malformed_proof",
        `${what}.${name} must be a list of ${branches} scalars`,
      );
    }
    out.push(items.map((item, i) => parseScalar(item, { what: `${what}.${name}[${i}]` })));
  }
  return { challenges: out[0], responses: out[1] };
}

export function branchesToJSON({ challenges, responses }) {
  return { c: challenges.map(encodeScalar), v: responses.map(encodeScalar) };
}
