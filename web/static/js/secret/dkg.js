// Distributed key generation for a t-of-n counting commission (Pedersen over Feldman's
// verifiable secret sharing): the dealer's side, the share check, the joint key and the
// verification keys. The browser twin of crypto/dkg.py (docs/secret-ballots.md §6).
//
// Dealer j draws a_{j,0} … a_{j,t−1}, publishes C_{j,k} = g^{a_{j,k}} with a knowledge
// proof of a_{j,0}, and sends member i the share s_{j,i} = f_j(i) encrypted to i alone
// (transport.js). Member i checks g^{s_{j,i}} = Π_k C_{j,k}^{(iᵏ)} (S-14). With QUAL the
// dealers left, h = Π_{j∈QUAL} C_{j,0}, xᵢ = Σ_{j∈QUAL} s_{j,i}, Kᵢ = g^{xᵢ}.

import { hasExactly } from "./disjunctive.js";
import {
  IDENTITY,
  L,
  SecretBallotError,
  base,
  encodePoint,
  encodeScalar,
  invert,
  mod,
  mulPublic,
  parsePoint,
  parseScalar,
  randomScalar,
} from "./group.js";
import { proveKnowledge, verifyKnowledge } from "./knowledgeproof.js";

export const MAX_MEMBERS = 255;

const isIndex = (value) => Number.isInteger(value) && typeof value === "number";

/**
 * The parameters of one key generation: `context` (32 bytes fixed by the server),
 * `members` n and `threshold` t (1 ≤ t ≤ n); S-23 bad_parameters otherwise.
 */
export function dkgParameters(context, members, threshold) {
  if (!(context instanceof Uint8Array) || context.length !== 32) {
    throw new SecretBallotError("S-23", "bad_parameters", "the context must be 32 bytes");
  }
  if (!isIndex(members) || members < 1 || members > MAX_MEMBERS) {
    throw new SecretBallotError(
      "S-23",
      "bad_parameters",
      `the commission has 1..${MAX_MEMBERS} members`,
    );
  }
  if (!isIndex(threshold) || threshold < 1 || threshold > members) {
    throw new SecretBallotError(
      "S-23",
      "bad_parameters",
      `threshold ${threshold} is not within 1..${members}`,
    );
  }
  return Object.freeze({ context: Uint8Array.from(context), members, threshold });
}

/** S-18 unknown_trustee unless `index` is an integer in 1 … n. */
export function checkMember(params, index, what) {
  if (!isIndex(index) || index < 1 || index > params.members) {
    throw new SecretBallotError(
      "S-18",
      "unknown_trustee",
      `${what}: ${String(JSON.stringify(index)).slice(0, 20)} is not a commission member ` +
        `(1..${params.members})`,
    );
  }
  return index;
}

function evaluate(coefficients, x) {
  let result = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) {
    result = (result * BigInt(x) + coefficients[k]) % L;
  }
  return result;
}

/**
 * Dealer `dealer`'s commitment and shares: {commitment: {dealer, commitments, proof},
 * shares: Map(i → f(i)), coefficients}. Draws a₀ … a_{t−1} first, then the proof's nonce.
 * The coefficients are secret: forget them once the shares are sent. `draw` defaults to
 * randomScalar.
 */
export async function deal(params, dealer, draw = randomScalar) {
  checkMember(params, dealer, "dealer");
  const coefficients = [];
  for (let k = 0; k < params.threshold; k++) coefficients.push(draw());
  const commitments = coefficients.map((a) => base(a));
  const proof = await proveKnowledge(
    params.context,
    params.members,
    params.threshold,
    dealer,
    commitments,
    coefficients[0],
    draw,
  );
  const shares = new Map();
  for (let i = 1; i <= params.members; i++) shares.set(i, evaluate(coefficients, i));
  return { commitment: { dealer, commitments, proof }, shares, coefficients };
}

export function dealerCommitmentToJSON({ dealer, commitments, proof }) {
  return {
    dealer,
    commitments: commitments.map(encodePoint),
    proof: { c: encodeScalar(proof.challenge), z: encodeScalar(proof.response) },
  };
}

/** Read and validate a dealer's published commitment (S-18, S-22, S-10, points S-1 … S-6). */
export function parseDealerCommitment(value, params) {
  if (!hasExactly(value, ["dealer", "commitments", "proof"])) {
    throw new SecretBallotError(
      "S-22",
      "malformed",
      "a dealer's commitment is an object with dealer, commitments and proof",
    );
  }
  const dealer = checkMember(params, value.dealer, "dealer");
  const items = value.commitments;
  if (!Array.isArray(items) || items.length !== params.threshold) {
    throw new SecretBallotError(
      "S-22",
      "malformed",
      `dealer ${dealer} must publish ${params.threshold} commitments`,
    );
  }
  // The identity is refused: no honest dealer draws a zero coefficient.
  const commitments = items.map((item, k) =>
    parsePoint(item, { what: `dealer ${dealer} commitment ${k}`, allowIdentity: false }),
  );
  const proof = value.proof;
  const what = `dealer ${dealer} proof`;
  if (!hasExactly(proof, ["c", "z"])) {
    throw new SecretBallotError(
      "S-10",
      "malformed_proof",
      `${what} must be an object with exactly 'c' and 'z'`,
    );
  }
  return {
    dealer,
    commitments,
    proof: {
      challenge: parseScalar(proof.c, { what: `${what}.c` }),
      response: parseScalar(proof.z, { what: `${what}.z` }),
    },
  };
}

/**
 * Read a complaint with its answer, {"dealer": j, "recipient": i, "revealed": SCALAR or
 * null} (null: the dealer did not answer): S-22, S-18, S-7, S-8.
 */
export function parseComplaint(value, params) {
  if (!hasExactly(value, ["dealer", "recipient", "revealed"])) {
    throw new SecretBallotError(
      "S-22",
      "malformed",
      "a complaint is an object with exactly dealer, recipient and revealed",
    );
  }
  const dealer = checkMember(params, value.dealer, "complaint dealer");
  const recipient = checkMember(params, value.recipient, "complaint recipient");
  const revealed =
    value.revealed === null
      ? null
      : parseScalar(value.revealed, { what: `share revealed by dealer ${dealer}` });
  return { dealer, recipient, revealed };
}

export function complaintToJSON({ dealer, recipient, revealed }) {
  return { dealer, recipient, revealed: revealed === null ? null : encodeScalar(revealed) };
}

/** S-13 unless the dealer's knowledge proof verifies. */
export function verifyDealer(params, commitment) {
  return verifyKnowledge(
    params.context,
    params.members,
    params.threshold,
    commitment.dealer,
    commitment.commitments,
    commitment.proof,
  );
}

/** Π_k C_k^(iᵏ). */
function shareImage(commitments, recipient) {
  let total = IDENTITY;
  let power = 1n;
  for (const c of commitments) {
    total = total.add(mulPublic(c, power));
    power = (power * BigInt(recipient)) % L;
  }
  return total;
}

/** S-14 bad_share (naming the dealer) unless g^share = Π_k C_{j,k}^(iᵏ) for recipient i. */
export function verifyShare(params, commitment, recipient, share) {
  checkMember(params, recipient, "recipient");
  if (
    typeof share !== "bigint" ||
    share < 0n ||
    share >= L ||
    !base(share).equals(shareImage(commitment.commitments, recipient))
  ) {
    throw new SecretBallotError(
      "S-14",
      "bad_share",
      `key generation: dealer ${commitment.dealer}'s share for member ${recipient} ` +
        "does not match its commitments",
      commitment.dealer,
    );
  }
}

/**
 * The dealers that stay, in index order: a valid knowledge proof and no upheld complaint
 * ({dealer, recipient, revealed: bigint | null}). S-17 for a dealer listed twice.
 */
export async function qualifiedDealers(params, commitments, complaints = []) {
  const byDealer = new Map();
  for (const commitment of commitments) {
    checkMember(params, commitment.dealer, "dealer");
    if (byDealer.has(commitment.dealer)) {
      throw new SecretBallotError(
        "S-17",
        "duplicate_trustee",
        `key generation: dealer ${commitment.dealer} published twice`,
        commitment.dealer,
      );
    }
    byDealer.set(commitment.dealer, commitment);
  }
  const disqualified = new Set();
  for (const complaint of complaints) {
    checkMember(params, complaint.recipient, "complaint recipient");
    const found = byDealer.get(checkMember(params, complaint.dealer, "complaint dealer"));
    if (found === undefined) continue;
    let upheld = complaint.revealed === null || complaint.revealed === undefined;
    if (!upheld) {
      try {
        verifyShare(params, found, complaint.recipient, complaint.revealed);
      } catch (error) {
        if (!(error instanceof SecretBallotError)) throw error;
        upheld = true;
      }
    }
    if (upheld) disqualified.add(complaint.dealer);
  }
  const out = [];
  for (const dealer of [...byDealer.keys()].sort((a, b) => a - b)) {
    if (disqualified.has(dealer)) continue;
    try {
      await verifyDealer(params, byDealer.get(dealer));
    } catch (error) {
      if (!(error instanceof SecretBallotError)) throw error;
      continue;
    }
    out.push(byDealer.get(dealer));
  }
  return out;
}

/**
 * The election key {key: h, threshold, qualified, verificationKeys: Map(i → Kᵢ)} from the
 * qualified dealers' commitments. S-17, S-15 not_enough_dealers, S-6 if h is the identity.
 */
export function jointKey(params, qualified) {
  const dealers = qualified.map((c) => c.dealer);
  if (new Set(dealers).size !== dealers.length) {
    throw new SecretBallotError("S-17", "duplicate_trustee", "key generation: a dealer twice");
  }
  if (qualified.length < params.threshold) {
    throw new SecretBallotError(
      "S-15",
      "not_enough_dealers",
      `key generation: ${qualified.length} qualified dealers, at least ` +
        `${params.threshold} are needed`,
    );
  }
  let summed = new Array(params.threshold).fill(IDENTITY);
  for (const commitment of qualified) {
    summed = summed.map((s, k) => s.add(commitment.commitments[k]));
  }
  if (summed[0].is0()) {
    throw new SecretBallotError("S-6", "identity_not_allowed", "the election key is the identity");
  }
  const verificationKeys = new Map();
  for (let i = 1; i <= params.members; i++) verificationKeys.set(i, shareImage(summed, i));
  return Object.freeze({
    key: summed[0],
    threshold: params.threshold,
    qualified: [...dealers].sort((a, b) => a - b),
    verificationKeys,
  });
}

/** xᵢ = Σ_{j∈QUAL} s_{j,i}: member i's share of the election secret. */
export function memberShare(shares, qualified) {
  let total = 0n;
  for (const j of qualified) total += shares.get(j);
  return mod(total);
}

/** λᵢ = Π_{j∈S, j≠i} j / (j − i) mod ℓ, so that Σ_{i∈S} λᵢ·f(i) = f(0). */
export function lagrangeAtZero(indices, index) {
  let numerator = 1n;
  let denominator = 1n;
  for (const j of indices) {
    if (j !== index) {
      numerator = (numerator * BigInt(j)) % L;
      denominator = mod(denominator * BigInt(j - index));
    }
  }
  return (numerator * invert(denominator)) % L;
}
