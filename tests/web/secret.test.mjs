// The browser's secret-ballot modules checked against the SAME vectors as Python
// (tests/crypto/vectors/secret.json, written by tests/crypto/make_secret_vectors.py):
// every encryption, proof, challenge and decryption is reproduced byte for byte from
// the listed nonces, every valid object accepted and every invalid one refused with
// its check and reason. Run from the repository root: node --test tests/web/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { b64uDecode } from "../../web/static/js/kvcrypto.js";
import * as S from "../../web/static/js/secret.js";

const V = JSON.parse(
  readFileSync(new URL("../crypto/vectors/secret.json", import.meta.url), "utf8"),
);

const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** A draw function handing out the listed scalars in order, and failing past them. */
function replay(nonces) {
  const values = nonces.map((n) => S.parseScalar(n));
  let at = 0;
  return () => {
    assert.ok(at < values.length, "more draws than the vector lists");
    return values[at++];
  };
}

function election(value) {
  return S.secretElection(
    fromHex(value.fingerprint_hex),
    S.parsePoint(value.key, { allowIdentity: false }),
    S.formFromJSON(value.form),
  );
}

const dkgParams = () => S.dkgParameters(fromHex(V.dkg.context_hex), V.dkg.members, V.dkg.threshold);

async function electionKey() {
  const params = dkgParams();
  const commitments = V.dkg.dealers.map((d) => S.parseDealerCommitment(d.commitment, params));
  return S.jointKey(params, await S.qualifiedDealers(params, commitments));
}

async function refused(promiseOrFn, item) {
  let error;
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof S.SecretBallotError, `${item.name}: not refused (${error})`);
  assert.deepEqual(
    [error.check, error.reason],
    [item.check, item.reason],
    `${item.name}: ${error.message}`,
  );
  assert.equal(error.trustee, item.trustee ?? null, item.name);
}

test("group: ℓ, g, the identity, multiples, products, sums", () => {
  const g = V.group;
  assert.equal(S.L, BigInt(g.l));
  assert.equal(S.encodePoint(S.GENERATOR), g.generator);
  assert.equal(S.encodePoint(S.IDENTITY), g.identity);
  g.multiples.forEach((text, k) => assert.equal(S.encodePoint(S.base(BigInt(k))), text));
  assert.equal(S.encodePoint(S.base(-1n)), g.minus_one);
  for (const { scalar, point } of g.products) {
    assert.equal(S.encodePoint(S.base(S.parseScalar(scalar))), point);
    assert.equal(S.encodePoint(S.mul(S.GENERATOR, S.parseScalar(scalar))), point);
    assert.equal(S.encodePoint(S.mulPublic(S.GENERATOR, S.parseScalar(scalar))), point);
  }
  for (const { a, b, sum } of g.sums) {
    assert.equal(S.encodePoint(S.parsePoint(a).add(S.parsePoint(b))), sum);
  }
  // The identity's arithmetic (§2): P·identity = P, identity^k = identity, g^0 = identity.
  assert.ok(S.mul(S.IDENTITY, 5n).is0());
  assert.ok(S.mulPublic(S.IDENTITY, 5n).is0());
  assert.ok(S.mul(S.GENERATOR, S.L).is0());
  assert.equal(S.encodePoint(S.GENERATOR.add(S.IDENTITY)), g.generator);
});

for (const item of V.points) {
  test(`point: ${item.name}`, async () => {
    const options = { allowIdentity: item.allow_identity ?? true };
    if (item.valid) {
      assert.equal(S.encodePoint(S.parsePoint(item.text, options)), item.text);
    } else {
      await refused(() => S.parsePoint(item.text, options), item);
    }
  });
}

for (const item of V.scalars) {
  test(`scalar: ${item.name}`, async () => {
    if ("value" in item) {
      assert.equal(S.parseScalar(item.text), BigInt(item.value));
      assert.equal(S.encodeScalar(BigInt(item.value)), item.text);
    } else {
      await refused(() => S.parseScalar(item.text), item);
    }
  });
}

for (const item of V.challenges) {
  test(`challenge: ${item.name}`, async () => {
    const tag = new TextEncoder().encode(item.tag);
    const items = item.items_hex.map(fromHex);
    assert.equal(toHex(S.transcript(tag, items)), item.transcript_hex);
    assert.equal(toHex(await S.transcriptDigest(tag, items)), item.sha512_hex);
    assert.equal(S.encodeScalar(await S.challenge(tag, items)), item.challenge);
  });
}

test("encryptions with given randomness, and decryption", () => {
  for (const item of V.encryptions) {
    const key = S.parsePoint(item.key);
    const secret = S.parseScalar(item.secret);
    assert.ok(S.base(secret).equals(key));
    const c = S.encrypt(key, item.message, S.parseScalar(item.randomness));
    assert.deepEqual(S.ciphertextToJSON(c), { alpha: item.alpha, beta: item.beta });
    assert.equal(S.encodePoint(S.decrypt(c, secret)), item.decrypted);
    assert.equal(item.decrypted, S.encodePoint(S.base(BigInt(item.message))));
  }
});

test("dkg: every dealer's commitment, proof and shares; the key, Kᵢ, xᵢ, Lagrange", async () => {
  const params = dkgParams();
  const shareMatrix = new Map();
  for (const dealer of V.dkg.dealers) {
    const made = await S.deal(params, dealer.dealer, replay(dealer.nonces));
    assert.deepEqual(S.dealerCommitmentToJSON(made.commitment), dealer.commitment);
    assert.deepEqual(
      Object.fromEntries([...made.shares].map(([i, s]) => [String(i), S.encodeScalar(s)])),
      dealer.shares,
    );
    const parsed = S.parseDealerCommitment(dealer.commitment, params);
    await S.verifyDealer(params, parsed);
    for (const [i, share] of Object.entries(dealer.shares)) {
      S.verifyShare(params, parsed, Number(i), S.parseScalar(share));
    }
    const u = S.base(S.parseScalar(dealer.nonces[3]));
    const transcript = S.transcript(S.TAG_KNOWLEDGE, [
      params.context,
      S.u32(5),
      S.u32(3),
      S.u32(dealer.dealer),
      ...parsed.commitments.map(S.pointBytes),
      S.pointBytes(u),
    ]);
    assert.equal(toHex(transcript), dealer.knowledge_transcript_hex);
    shareMatrix.set(dealer.dealer, made.shares);
  }
  const key = await electionKey();
  assert.deepEqual(key.qualified, V.dkg.qualified);
  assert.equal(S.encodePoint(key.key), V.dkg.key);
  assert.deepEqual(
    Object.fromEntries([...key.verificationKeys].map(([i, k]) => [String(i), S.encodePoint(k)])),
    V.dkg.verification_keys,
  );
  for (const [i, share] of Object.entries(V.dkg.member_shares)) {
    const mine = new Map([...shareMatrix].map(([j, shares]) => [j, shares.get(Number(i))]));
    assert.equal(S.encodeScalar(S.memberShare(mine, key.qualified)), share);
    assert.ok(S.base(S.parseScalar(share)).equals(key.verificationKeys.get(Number(i))));
  }
  for (const item of V.dkg.lagrange) {
    for (const [i, value] of Object.entries(item.coefficients)) {
      assert.equal(S.encodeScalar(S.lagrangeAtZero(item.members, Number(i))), value);
    }
  }
});

for (const item of V.ballots) {
  test(`ballot: ${item.name}`, async () => {
    const el = election(item.election);
    const voter = b64uDecode(item.voter_key, 32);
    const { ballot, opening } = await S.encryptBallot(el, voter, item.marks, replay(item.nonces));
    assert.deepEqual(S.ballotToJSON(ballot), item.ballot);
    assert.deepEqual(S.openingToJSON(opening), item.opening);
    assert.deepEqual(S.ciphertextToJSON(S.ballotTotal(ballot)), item.total);
    const parsed = await S.checkBallot(el, voter, item.ballot);
    assert.deepEqual(
      await S.openBallot(el, voter, parsed, S.parseOpening(item.opening, el.form)),
      item.marks,
    );
    assert.deepEqual(
      item.transcripts.map((t) => t.proof),
      [...item.marks.map((_, i) => `bit ${i}`), "sum"],
    );
    const proofs = [...parsed.bitProofs, parsed.sumProof];
    const statement = S.statement(el, voter, parsed.ciphertexts);
    item.transcripts.forEach((expected, k) => {
      // The transcript rebuilt here from the parsed ballot is the vector's, byte for byte.
      const proof = proofs[k];
      const lo = k < item.marks.length ? 0 : el.form.minMarks;
      const value = k < item.marks.length ? parsed.ciphertexts[k] : S.ballotTotal(parsed);
      const head =
        k < item.marks.length
          ? [...statement, S.u32(k), S.pointBytes(value.alpha), S.pointBytes(value.beta)]
          : [...statement, S.pointBytes(value.alpha), S.pointBytes(value.beta)];
      const made = S.commitments(el.key, value, lo, proof.challenges, proof.responses);
      const tag = k < item.marks.length ? S.TAG_BIT : S.TAG_SUM;
      assert.equal(toHex(S.transcript(tag, [...head, ...made])), expected.transcript_hex);
      const sum = proof.challenges.reduce((a, b) => a + b, 0n) % S.L;
      assert.equal(S.encodeScalar(sum), expected.challenge);
    });
  });
}

test("count: tally, partial decryptions with given nonces, combination by three sets", async () => {
  const count = V.count;
  const el = election(count.election);
  const key = await electionKey();
  const ballots = [];
  for (const item of count.ballots) {
    ballots.push(await S.checkBallot(el, b64uDecode(item.voter_key, 32), item.ballot));
  }
  const totals = S.tally(el, ballots);
  assert.deepEqual(totals.map(S.ciphertextToJSON), count.totals);
  const partials = new Map();
  for (const item of count.partials) {
    const partial = S.parsePartial(item.partial, el.form.options);
    await S.verifyPartial(el, key, totals, partial);
    const again = await S.partialDecrypt(
      el,
      partial.member,
      S.parseScalar(item.share),
      totals,
      replay(item.nonces),
    );
    assert.deepEqual(S.partialToJSON(again), item.partial);
    const vk = key.verificationKeys.get(partial.member);
    item.transcripts_hex.forEach((hex, k) => {
      const { challenge, response } = partial.proofs[k];
      const a = S.base(response).add(S.mulPublic(vk, challenge));
      const b = S.mulPublic(totals[k].alpha, response).add(
        S.mulPublic(partial.partials[k], challenge),
      );
      const items = [
        el.fingerprint,
        S.pointBytes(el.key),
        S.u32(partial.member),
        S.pointBytes(vk),
        S.pointBytes(totals[k].alpha),
        S.pointBytes(totals[k].beta),
        S.pointBytes(partial.partials[k]),
        S.pointBytes(a),
        S.pointBytes(b),
      ];
      assert.equal(toHex(S.transcript(S.TAG_DECRYPTION, items)), hex);
    });
    partials.set(partial.member, partial);
  }
  const table = new S.DiscreteLogTable(ballots.length);
  for (const item of count.combine) {
    const chosen = item.members.map((m) => partials.get(m));
    assert.deepEqual(await S.combine(el, key, totals, chosen, table), item.counts);
  }
  const empty = count.empty_tally;
  const emptyTotals = S.tally(el, []);
  assert.deepEqual(emptyTotals.map(S.ciphertextToJSON), empty.totals);
  const chosen = empty.partials.map((p) => S.parsePartial(p, 3));
  assert.deepEqual(await S.combine(el, key, emptyTotals, chosen, table), empty.counts);
});

async function runInvalid(item) {
  if (item.kind === "ballot") {
    await S.checkBallot(election(item.election), b64uDecode(item.voter_key, 32), item.ballot);
  } else if (item.kind === "opening") {
    const el = election(item.election);
    const ballot = S.parseBallot(item.ballot, el.form);
    await S.openBallot(
      el,
      b64uDecode(item.voter_key, 32),
      ballot,
      S.parseOpening(item.opening, el.form),
    );
  } else if (item.kind === "dealer") {
    const params = dkgParams();
    await S.verifyDealer(params, S.parseDealerCommitment(item.commitment, params));
  } else if (item.kind === "share") {
    const params = dkgParams();
    const commitment = S.parseDealerCommitment(item.commitment, params);
    S.verifyShare(params, commitment, item.recipient, S.parseScalar(item.share));
  } else if (item.kind === "combine") {
    const el = election(V.count.election);
    const ballots = V.count.ballots.map((b) => S.parseBallot(b.ballot, el.form));
    const partials = item.partials.map((p) => S.parsePartial(p, el.form.options));
    await S.combine(
      el,
      await electionKey(),
      S.tally(el, ballots),
      partials,
      new S.DiscreteLogTable(item.roll_size),
    );
  } else {
    assert.fail(`a new kind of invalid case: ${item.kind}`);
  }
}

for (const item of V.invalid) {
  test(`refused (${item.check} ${item.reason}): ${item.name}`, () =>
    refused(() => runInvalid(item), item));
}

test("every invalid kind of the vectors is exercised, and enough of them", () => {
  assert.deepEqual([...new Set(V.invalid.map((i) => i.kind))].sort(), [
    "ballot",
    "combine",
    "dealer",
    "opening",
    "share",
  ]);
  assert.ok(V.invalid.length >= 30);
});

test("fresh ballots of both forms verify, and a tampered one does not", async () => {
  const el = S.secretElection(
    new Uint8Array(32).fill(7),
    S.base(S.randomScalar()),
    S.approveEach(10, 3),
  );
  const voter = new Uint8Array(32).fill(9);
  const marks = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0];
  const { ballot, opening } = await S.encryptBallot(el, voter, marks);
  const json = S.ballotToJSON(ballot);
  const parsed = await S.checkBallot(el, voter, json);
  assert.deepEqual(
    await S.openBallot(el, voter, parsed, S.parseOpening(S.openingToJSON(opening), el.form)),
    marks,
  );
  const other = new Uint8Array(32).fill(8);
  await refused(S.checkBallot(el, other, json), {
    name: "another voter",
    check: "S-11",
    reason: "bad_bit_proof",
  });
  await assert.rejects(S.encryptBallot(el, voter, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]), RangeError);
  const one = S.secretElection(el.fingerprint, el.key, S.oneOf(3));
  const made = await S.encryptBallot(one, voter, [0, 0, 1]);
  await S.checkBallot(one, voter, S.ballotToJSON(made.ballot));
});

test("random scalars are in [1, ℓ) and differ", () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const k = S.randomScalar();
    assert.ok(k >= 1n && k < S.L);
    seen.add(k);
  }
  assert.equal(seen.size, 200);
});

test("complaints: an upheld one disqualifies its dealer, an answered one does not", async () => {
  const params = dkgParams();
  const commitments = V.dkg.dealers.map((d) => S.parseDealerCommitment(d.commitment, params));
  const dealer1 = V.dkg.dealers[0];
  const complaints = [
    { dealer: 1, recipient: 2, revealed: dealer1.shares["2"] }, // answered with the right share
    { dealer: 2, recipient: 3, revealed: null }, // not answered
    { dealer: 3, recipient: 4, revealed: dealer1.shares["4"] }, // answered with a wrong share
  ].map((c) => S.parseComplaint(c, params));
  assert.deepEqual(S.complaintToJSON(complaints[1]), { dealer: 2, recipient: 3, revealed: null });
  const kept = await S.qualifiedDealers(params, commitments, complaints);
  assert.deepEqual(
    kept.map((c) => c.dealer),
    [1, 4, 5],
  );
  assert.throws(
    () => S.parseComplaint({ dealer: 1, recipient: 9, revealed: null }, params),
    (e) => e.check === "S-18",
  );
  assert.throws(
    () => S.parseComplaint({ dealer: 1, recipient: 2 }, params),
    (e) => e.check === "S-22",
  );
});
