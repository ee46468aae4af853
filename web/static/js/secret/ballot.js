// Whole secret ballots: encrypt with every proof, verify, open a challenged ballot
// (cast-or-audit), tally, decrypt by shares. The browser twin of crypto/secretballot.py
// (docs/secret-ballots.md §4.1, §5.4, §5.5, §7).
//
// Every proof of a ballot hashes the ballot statement
//   F, h, V, u32(N), u32(min), u32(max), α₀, β₀, …, α_{N−1}, β_{N−1}
// so a ballot cannot be moved to another voter or election, nor an option's proof to
// another option or ballot.

import { proveBit, verifyBit, parseBitProof } from "./bitproof.js";
import { u32 } from "./challenge.js";
import { proveDecryption, verifyDecryption } from "./decryptionproof.js";
import { branchesToJSON, hasExactly } from "./disjunctive.js";
import { lagrangeAtZero } from "./dkg.js";
import {
  ZERO_CIPHERTEXT,
  addCiphertexts,
  ciphertext,
  ciphertextEquals,
  ciphertextToJSON,
  encrypt,
} from "./elgamal.js";
import {
  IDENTITY,
  SecretBallotError,
  encodePoint,
  encodeScalar,
  mod,
  mulPublic,
  parsePoint,
  parseScalar,
  pointBytes,
  randomScalar,
} from "./group.js";
import { parseSumProof, proveSum, verifySum } from "./sumproof.js";

export const MAX_OPTIONS = 100;

const malformed = (message) => new SecretBallotError("S-22", "malformed", message);
const isInt = (value) => typeof value === "number" && Number.isInteger(value);

/** N options with min … max marks; S-23 bad_parameters if they cannot be right. */
export function ballotForm(options, minMarks, maxMarks) {
  if (!isInt(options) || options < 1 || options > MAX_OPTIONS) {
    throw new SecretBallotError("S-23", "bad_parameters", `a ballot has 1..${MAX_OPTIONS} options`);
  }
  if (
    !isInt(minMarks) ||
    !isInt(maxMarks) ||
    !(0 <= minMarks && minMarks <= maxMarks && maxMarks <= options)
  ) {
    throw new SecretBallotError(
      "S-23",
      "bad_parameters",
      `marks ${minMarks}..${maxMarks} do not fit ${options} options`,
    );
  }
  return Object.freeze({ options, minMarks, maxMarks });
}

/** Exactly one mark among `options` (a chair, yes/no/abstain). */
export const oneOf = (options) => ballotForm(options, 1, 1);

/** «за» (1) or «против» (0) per candidate, at most `seats` «за». */
export const approveEach = (candidates, seats) => ballotForm(candidates, 0, seats);

/** The form of its JSON {"options", "min_marks", "max_marks"}. */
export const formFromJSON = (value) => ballotForm(value.options, value.min_marks, value.max_marks);

/**
 * What every proof is bound to: the vote's 32-byte fingerprint, the election key h (not
 * the identity, S-6) and the form.
 */
export function secretElection(fingerprint, key, form) {
  if (!(fingerprint instanceof Uint8Array) || fingerprint.length !== 32) {
    throw new SecretBallotError("S-23", "bad_parameters", "the fingerprint must be 32 bytes");
  }
  if (key.is0()) {
    throw new SecretBallotError("S-6", "identity_not_allowed", "the election key is the identity");
  }
  return Object.freeze({ fingerprint: Uint8Array.from(fingerprint), key, form });
}

/** The ballot statement's items. */
export function statement(election, voterKey, ciphertexts) {
  if (!(voterKey instanceof Uint8Array) || voterKey.length !== 32) {
    throw malformed("the voter's key must be 32 bytes");
  }
  const { form } = election;
  const items = [
    election.fingerprint,
    pointBytes(election.key),
    voterKey,
    u32(form.options),
    u32(form.minMarks),
    u32(form.maxMarks),
  ];
  for (const c of ciphertexts) items.push(pointBytes(c.alpha), pointBytes(c.beta));
  return items;
}

/** (Παᵢ, Πβᵢ): the encryption of the number of marks. */
export function ballotTotal(ballot) {
  return ballot.ciphertexts.reduce(addCiphertexts, ZERO_CIPHERTEXT);
}

/**
 * Encrypt `marks` (0/1 per option) with every proof: {ballot, opening}. Draw order (for
 * the vectors): r₀ … r_{N−1}, then each option's bit proof (w, then c and v of the other
 * branch), then the sum proof (w, then c, v of every other branch, ascending). `draw`
 * defaults to randomScalar (crypto.getRandomValues, no bias).
 */
export async function encryptBallot(election, voterKey, marks, draw = randomScalar) {
  const { form } = election;
  if (
    !Array.isArray(marks) ||
    marks.length !== form.options ||
    marks.some((m) => m !== 0 && m !== 1)
  ) {
    throw new RangeError(`marks must be ${form.options} values 0 or 1`);
  }
  const count = marks.reduce((a, b) => a + b, 0);
  if (count < form.minMarks || count > form.maxMarks) {
    throw new RangeError(`${count} marks, the form allows ${form.minMarks}..${form.maxMarks}`);
  }
  const randomness = marks.map(() => draw());
  const ciphertexts = marks.map((m, i) => encrypt(election.key, m, randomness[i]));
  const items = statement(election, voterKey, ciphertexts);
  const bitProofs = [];
  for (let i = 0; i < marks.length; i++) {
    bitProofs.push(
      await proveBit(items, election.key, i, ciphertexts[i], marks[i], randomness[i], draw),
    );
  }
  const total = ciphertexts.reduce(addCiphertexts, ZERO_CIPHERTEXT);
  const sumProof = await proveSum(
    items,
    election.key,
    total,
    form.minMarks,
    form.maxMarks,
    count,
    mod(randomness.reduce((a, b) => a + b, 0n)),
    draw,
  );
  return {
    ballot: { ciphertexts, bitProofs, sumProof },
    opening: { marks: [...marks], randomness },
  };
}

/** The JSON of docs/secret-ballots.md §5.4: {"choices": [...], "sum_proof": {...}}. */
export function ballotToJSON(ballot) {
  return {
    choices: ballot.ciphertexts.map((c, i) => ({
      ...ciphertextToJSON(c),
      proof: branchesToJSON(ballot.bitProofs[i]),
    })),
    sum_proof: branchesToJSON(ballot.sumProof),
  };
}

/** {"marks": [...], "randomness": [...]}: what a challenged ballot reveals. */
export function openingToJSON(opening) {
  return { marks: [...opening.marks], randomness: opening.randomness.map(encodeScalar) };
}

/** Read a ballot's JSON; every point and scalar validated as read (S-22, S-9, S-10, S-1 … S-8). */
export function parseBallot(value, form) {
  if (!hasExactly(value, ["choices", "sum_proof"])) {
    throw malformed("a secret ballot is an object with exactly choices and sum_proof");
  }
  const { choices } = value;
  if (!Array.isArray(choices)) throw malformed("choices must be a list");
  if (choices.length !== form.options) {
    throw new SecretBallotError(
      "S-9",
      "wrong_option_count",
      `the ballot has ${choices.length} choices, the form ${form.options}`,
    );
  }
  const ciphertexts = [];
  const bitProofs = [];
  choices.forEach((choice, i) => {
    if (!hasExactly(choice, ["alpha", "beta", "proof"])) {
      throw malformed(`choice ${i} is an object with exactly alpha, beta and proof`);
    }
    ciphertexts.push(
      ciphertext(
        parsePoint(choice.alpha, { what: `choice ${i} alpha` }),
        parsePoint(choice.beta, { what: `choice ${i} beta` }),
      ),
    );
    bitProofs.push(parseBitProof(choice.proof, `choice ${i} proof`));
  });
  const sumProof = parseSumProof(value.sum_proof, form.maxMarks - form.minMarks + 1);
  return { ciphertexts, bitProofs, sumProof };
}

/** Every proof of the ballot, in order: S-9, S-11 per option, S-12. */
export async function verifyBallot(election, voterKey, ballot) {
  const { form } = election;
  if (ballot.ciphertexts.length !== form.options || ballot.bitProofs.length !== form.options) {
    throw new SecretBallotError(
      "S-9",
      "wrong_option_count",
      `the ballot does not have ${form.options} choices`,
    );
  }
  const items = statement(election, voterKey, ballot.ciphertexts);
  for (let i = 0; i < form.options; i++) {
    await verifyBit(items, election.key, i, ballot.ciphertexts[i], ballot.bitProofs[i]);
  }
  await verifySum(
    items,
    election.key,
    ballotTotal(ballot),
    form.minMarks,
    form.maxMarks,
    ballot.sumProof,
  );
}

/** Read a ballot's JSON value and verify it; returns the parsed ballot. */
export async function checkBallot(election, voterKey, value) {
  const ballot = parseBallot(value, election.form);
  await verifyBallot(election, voterKey, ballot);
  return ballot;
}

/** Read an opening (S-22, S-9, S-21 for a mark other than 0/1, S-7/S-8). */
export function parseOpening(value, form) {
  if (!hasExactly(value, ["marks", "randomness"])) {
    throw malformed("an opening is an object with exactly marks and randomness");
  }
  const { marks, randomness } = value;
  if (!Array.isArray(marks) || !Array.isArray(randomness)) {
    throw malformed("marks and randomness must be lists");
  }
  if (marks.length !== form.options || randomness.length !== form.options) {
    throw new SecretBallotError(
      "S-9",
      "wrong_option_count",
      `an opening has ${form.options} marks and scalars`,
    );
  }
  for (const mark of marks) {
    if (mark !== 0 && mark !== 1) {
      throw new SecretBallotError(
        "S-21",
        "audit_mismatch",
        `an opened mark must be 0 or 1, got ${String(JSON.stringify(mark)).slice(0, 20)}`,
      );
    }
  }
  return {
    marks: [...marks],
    randomness: randomness.map((r, i) => parseScalar(r, { what: `randomness ${i}` })),
  };
}

/**
 * The marks of a challenged ballot, after checking its proofs (S-11, S-12) and that the
 * opening re-encrypts to exactly its ciphertexts (S-21 audit_mismatch).
 */
export async function openBallot(election, voterKey, ballot, opening) {
  await verifyBallot(election, voterKey, ballot);
  ballot.ciphertexts.forEach((c, i) => {
    const mark = opening.marks[i];
    if (!ciphertextEquals(encrypt(election.key, mark, opening.randomness[i]), c)) {
      throw new SecretBallotError(
        "S-21",
        "audit_mismatch",
        `option ${i}: mark ${mark} with the revealed randomness does not give the ` +
          "ballot's ciphertext",
      );
    }
  });
  return [...opening.marks];
}

/** Per option, the product of the ballots' ciphertexts ((identity, identity) if none). */
export function tally(election, ballots) {
  let totals = new Array(election.form.options).fill(ZERO_CIPHERTEXT);
  for (const ballot of ballots)
    totals = totals.map((t, k) => addCiphertexts(t, ballot.ciphertexts[k]));
  return totals;
}

/** Member `member`'s partial decryption of every option's total, with proofs. */
export async function partialDecrypt(election, member, share, totals, draw = randomScalar) {
  const partials = [];
  const proofs = [];
  for (const total of totals) {
    const made = await proveDecryption(
      election.fingerprint,
      election.key,
      member,
      share,
      total,
      draw,
    );
    partials.push(made.partial);
    proofs.push(made.proof);
  }
  return { member, partials, proofs };
}

export function partialToJSON({ member, partials, proofs }) {
  return {
    member,
    partials: partials.map((d, k) => ({
      d: encodePoint(d),
      proof: { c: encodeScalar(proofs[k].challenge), v: encodeScalar(proofs[k].response) },
    })),
  };
}

/** Read a partial decryption (S-22, S-18, S-9, S-10, points and scalars). */
export function parsePartial(value, options) {
  if (!hasExactly(value, ["member", "partials"])) {
    throw malformed("a partial decryption is an object with exactly member and partials");
  }
  const { member } = value;
  if (!isInt(member) || member < 1 || member > 255) {
    throw new SecretBallotError(
      "S-18",
      "unknown_trustee",
      `member ${String(JSON.stringify(member)).slice(0, 20)} is not a member index`,
    );
  }
  const items = value.partials;
  if (!Array.isArray(items) || items.length !== options) {
    throw new SecretBallotError(
      "S-9",
      "wrong_option_count",
      `member ${member}: ${options} partials expected`,
    );
  }
  const partials = [];
  const proofs = [];
  items.forEach((item, k) => {
    if (!hasExactly(item, ["d", "proof"])) {
      throw malformed(`member ${member} partial ${k} has exactly d and proof`);
    }
    partials.push(parsePoint(item.d, { what: `member ${member} partial ${k}` }));
    const what = `member ${member} proof ${k}`;
    if (!hasExactly(item.proof, ["c", "v"])) {
      throw new SecretBallotError(
        "S-10",
        "malformed_proof",
        `${what} must be an object with exactly 'c' and 'v'`,
      );
    }
    proofs.push({
      challenge: parseScalar(item.proof.c, { what: `${what}.c` }),
      response: parseScalar(item.proof.v, { what: `${what}.v` }),
    });
  });
  return { member, partials, proofs };
}

/** S-18 for an unknown member, S-9 for a wrong count, S-16 for a wrong proof. */
export async function verifyPartial(election, key, totals, partial) {
  const verificationKey = key.verificationKeys.get(partial.member);
  if (verificationKey === undefined) {
    throw new SecretBallotError(
      "S-18",
      "unknown_trustee",
      `member ${partial.member} is not on the counting commission`,
      partial.member,
    );
  }
  if (partial.partials.length !== totals.length || partial.proofs.length !== totals.length) {
    throw new SecretBallotError(
      "S-9",
      "wrong_option_count",
      `member ${partial.member}: ${totals.length} partials expected`,
    );
  }
  for (let k = 0; k < totals.length; k++) {
    await verifyDecryption(
      election.fingerprint,
      election.key,
      partial.member,
      verificationKey,
      totals[k],
      partial.partials[k],
      partial.proofs[k],
      `partial decryption of option ${k}`,
    );
  }
}

/**
 * The counts per option from at least t verified partial decryptions: S-23 for another
 * election's key set, S-17 duplicate_trustee, S-19 not_enough_decryptions, then every
 * proof (S-18, S-9, S-16) and the table look-up (S-20).
 */
export async function combine(election, key, totals, partials, table) {
  if (!key.key.equals(election.key)) {
    throw new SecretBallotError("S-23", "bad_parameters", "the key set is not this election's");
  }
  const seen = new Set();
  for (const partial of partials) {
    if (seen.has(partial.member)) {
      throw new SecretBallotError(
        "S-17",
        "duplicate_trustee",
        `member ${partial.member} submitted a partial decryption twice`,
        partial.member,
      );
    }
    seen.add(partial.member);
  }
  if (partials.length < key.threshold) {
    throw new SecretBallotError(
      "S-19",
      "not_enough_decryptions",
      `${partials.length} partial decryptions, at least ${key.threshold} are needed`,
    );
  }
  for (const partial of partials) await verifyPartial(election, key, totals, partial);
  const members = [...seen].sort((a, b) => a - b);
  const coefficients = new Map(members.map((i) => [i, lagrangeAtZero(members, i)]));
  return totals.map((total, k) => {
    let combined = IDENTITY;
    for (const partial of partials) {
      combined = combined.add(mulPublic(partial.partials[k], coefficients.get(partial.member)));
    }
    return table.lookup(total.beta.subtract(combined), `the count of option ${k}`);
  });
}
