// A secret vote's board as the pages read it (web/static/js/secret/board.js): a whole
// vote made in Node's WebCrypto — a registry key signing the definition and the
// certificates, three commission members dealing to each other through transport
// envelopes, two voters, a challenged (spoiled) ballot, a voter voting again, two of
// three partial decryptions — replayed and counted; then tampered boards, each refused
// naming what is wrong. Run from the repository root: node --test tests/web/
import assert from "node:assert/strict";
import { test } from "node:test";

import { canonicalize, exportPublicKey, generateSigningKey, keyId, signCanonical } from "../../web/static/js/kvcrypto.js";
import * as S from "../../web/static/js/secret.js";

async function registry() {
  const pair = await generateSigningKey();
  const publicKey = await exportPublicKey(pair.publicKey);
  const id = await keyId(publicKey);
  return {
    keys: [{ id, public_key: publicKey }],
    async sign(payload) {
      const full = { ...payload, issuer: id };
      return { payload: full, signature: await signCanonical(pair.privateKey, full), signer: id };
    },
  };
}

async function member(reg, id, serial) {
  const keyPair = await generateSigningKey();
  const publicKey = await exportPublicKey(keyPair.publicKey);
  const certificate = await reg.sign({
    type: "kvorum.key-certificate",
    v: 1,
    serial,
    member: id,
    org: 1,
    public_key: publicKey,
  });
  return { id, serial, stored: { keyPair, publicKey, serial }, certificate };
}

async function definitionPayload(reg, people, { key = "", dealers = [], threshold = 2 } = {}) {
  const commission = {
    members: people.slice(0, 3).map((p, i) => ({ member: p.id, index: i + 1 })),
    threshold,
  };
  commission.context = await S.keygenContext(7, "sha256:" + "ab".repeat(32), commission);
  return reg.sign({
    type: "kvorum.secret-vote-definition",
    v: 1,
    vote: 7,
    org: 1,
    org_name: "Профсоюз",
    election: "sha256:" + "ab".repeat(32),
    title: "Выборы председателя",
    form: "approve_each",
    options: ["Иванов", "Петрова", "Сидоров"],
    seats: 1,
    min_marks: 0,
    max_marks: 1,
    rule: { base: "took_part", numerator: 1, denominator: 2, strict: true, turnout: null },
    composition: people.length,
    roll: people.map((p) => ({ member: p.id, name: `Член ${p.id}`, keys: [p.serial] })),
    commission: { members: commission.members, threshold, context: commission.context },
    key,
    dealers,
    opens_at: key ? "2026-12-07T20:00:00Z" : null,
    closes_at: null,
  });
}

/** An append-only board, as the server keeps it. */
class Chain {
  constructor(vote, context) {
    this.vote = vote;
    this.context = context;
    this.entries = [];
  }
  async append(kind, document) {
    const prev = this.entries.length
      ? await S.entryHash(this.entries[this.entries.length - 1])
      : await S.chainStart(this.vote, this.context);
    const entry = {
      type: S.ENTRY_TYPE,
      v: 1,
      vote: this.vote,
      seq: this.entries.length + 1,
      prev,
      kind,
      document,
      received_at: "2026-12-07T20:00:00Z",
    };
    this.entries.push(entry);
    return entry.seq;
  }
}

async function world() {
  const reg = await registry();
  const people = [];
  for (let i = 0; i < 5; i++) people.push(await member(reg, 100 + i, 10 + i));
  const draft = await S.readDefinition(await definitionPayload(reg, people), reg.keys, { draft: true });
  const certificates = await S.readCertificates(
    people.map((p) => p.certificate),
    reg.keys,
  );
  const chain = new Chain(7, draft.contextB64);
  // Key generation: every member's transport key, then every dealing, shares opened.
  const commission = people.slice(0, 3);
  const transport = [];
  for (const p of commission) {
    const pair = await S.generateTransportKey();
    transport.push({ pair, public: await S.exportTransportKey(pair.publicKey) });
  }
  const envelopes = new Map(); // "j,i" → envelope
  const own = new Map();
  for (const [n, p] of commission.entries()) {
    const dealer = n + 1;
    const dealt = await S.deal(draft.params, dealer);
    own.set(dealer, dealt.shares.get(dealer));
    for (let i = 1; i <= 3; i++) {
      if (i === dealer) continue;
      envelopes.set(
        `${dealer},${i}`,
        await S.sealShareFor(transport[i - 1].public, {
          context: draft.context,
          dealer,
          recipient: i,
          share: dealt.shares.get(i),
        }),
      );
    }
    const payload = S.documentPayload(S.DOCUMENT.dealer, 7, p.serial, {
      context: draft.contextB64,
      commitment: S.dealerCommitmentToJSON(dealt.commitment),
    });
    await chain.append("dealer", await S.signDocument(p.stored, payload));
  }
  const keyBoard = await S.replayBoard(draft, certificates, chain.entries);
  assert.deepEqual(keyBoard.problems, []);
  const key = await keyBoard.key();
  const shares = new Map();
  for (let i = 1; i <= 3; i++) {
    const received = new Map([[i, own.get(i)]]);
    for (let j = 1; j <= 3; j++) {
      if (j === i) continue;
      const share = await S.openShareEnvelope(
        transport[i - 1].pair.privateKey,
        transport[i - 1].public,
        envelopes.get(`${j},${i}`),
        { context: draft.context, dealer: j, recipient: i },
      );
      S.verifyShare(draft.params, keyBoard.dealers.get(j), i, share);
      received.set(j, share);
    }
    shares.set(i, S.memberShare(received, key.qualified));
    assert.ok(S.base(shares.get(i)).equals(key.verificationKeys.get(i)));
  }
  const final = await S.readDefinition(
    await definitionPayload(reg, people, { key: S.encodePoint(key.key), dealers: key.qualified }),
    reg.keys,
  );
  return { reg, people, draft, final, certificates, chain, key, shares };
}

async function cast(w, voter, chosen) {
  const { ballot, opening } = await S.encryptBallot(
    w.final.election,
    w.certificates.get(voter.serial).raw,
    S.marksOf(w.final, chosen),
  );
  const payload = S.documentPayload(S.DOCUMENT.ballot, 7, voter.serial, {
    definition: w.final.fingerprint,
    nonce: S.newNonce(),
    ballot: S.ballotToJSON(ballot),
  });
  const seq = await w.chain.append("ballot", await S.signDocument(voter.stored, payload));
  return { seq, opening };
}

test("a whole secret vote replays, counts the last unspoiled ballots, and decrypts with 2 of 3", async () => {
  const w = await world();
  assert.equal(w.final.fingerprint.length, 71);
  const [a, b, c, d] = w.people;
  await cast(w, a, [0]);
  // d challenges a ballot for Петрова: spoiled, its contents shown, never counted.
  const challenged = await cast(w, d, [1]);
  const spoil = S.documentPayload(S.DOCUMENT.spoil, 7, d.serial, {
    definition: w.final.fingerprint,
    ballot_seq: challenged.seq,
    opening: S.openingToJSON(challenged.opening),
  });
  await w.chain.append("spoil", await S.signDocument(d.stored, spoil));
  await cast(w, d, [0]);
  await cast(w, b, [2]);
  await cast(w, b, []); // b votes again: «против» everyone, the last ballot counts
  await cast(w, c, [0]);

  const board = await S.replayBoard(w.final, w.certificates, w.chain.entries);
  assert.deepEqual(board.problems, []);
  assert.deepEqual([...board.spoiled.entries()], [[challenged.seq, [0, 1, 0]]]);
  // The key generation's part: the three dealer messages, not the ballots after them.
  assert.deepEqual(
    S.keygenEntries(w.chain.entries).map((e) => e.kind),
    ["dealer", "dealer", "dealer"],
  );
  assert.equal(board.countedSeqs().length, 4);
  const key = await board.key();
  const totals = board.totals();
  const partials = [];
  for (const [index, p] of [[1, w.people[0]], [3, w.people[2]]]) {
    const partial = S.partialToJSON(
      await S.partialDecrypt(w.final.election, index, w.shares.get(index), totals),
    );
    const payload = S.documentPayload(S.DOCUMENT.partial, 7, p.serial, {
      definition: w.final.fingerprint,
      partial,
    });
    await w.chain.append("partial", await S.signDocument(p.stored, payload));
    partials.push(S.parsePartial(partial, 3));
  }
  const counted = await S.replayBoard(w.final, w.certificates, w.chain.entries);
  assert.deepEqual(counted.problems, []);
  assert.equal(counted.partials.length, 2);
  const counts = await S.combine(
    w.final.election,
    key,
    counted.totals(),
    counted.partials,
    new S.DiscreteLogTable(5),
  );
  assert.deepEqual(counts, [3, 0, 0]);
});

test("a tampered board is refused entry by entry, naming why", async () => {
  const w = await world();
  const [a, b] = w.people;
  await cast(w, a, [0]);
  await cast(w, b, [1]);
  const good = w.chain.entries;
  const check = async (entries, seq, reason) => {
    const board = await S.replayBoard(w.final, w.certificates, entries);
    assert.ok(
      board.problems.some((p) => p.seq === seq && p.reason === reason),
      JSON.stringify(board.problems),
    );
  };
  const copy = () => JSON.parse(JSON.stringify(good));
  // A changed ciphertext: the voter's signature no longer verifies.
  let entries = copy();
  entries[3].document.payload.ballot.choices[0].alpha = entries[3].document.payload.ballot.choices[1].alpha;
  await check(entries, 4, "bad_signature");
  // Entries out of order: the chain breaks.
  entries = copy();
  [entries[3], entries[4]] = [entries[4], entries[3]];
  await check(entries, 4, "broken_chain");
  // b's ballot proofs signed under a's name: the proofs are bound to b's key.
  entries = copy();
  const moved = { ...entries[4].document.payload, serial: a.serial, nonce: "AAAAAAAAAAAAAAAAAAAAAAAA" };
  entries[4].document = await S.signDocument(a.stored, moved);
  await check(entries, 5, "bad_bit_proof");
  // A ballot from another definition (its fingerprint) is refused.
  entries = copy();
  const other = { ...entries[4].document.payload, definition: "sha256:" + "00".repeat(32) };
  entries[4].document = await S.signDocument(b.stored, other);
  await check(entries, 5, "wrong_vote");
  // Text entries (canonical JSON, as a server may send them) read the same.
  const texts = await S.replayBoard(w.final, w.certificates, good.map((e) => canonicalize(e)));
  assert.deepEqual(texts.problems, []);
  // A definition whose key is not the board's: wrong_election_key.
  const alien = await S.readDefinition(
    await definitionPayload(w.reg, w.people, { key: S.encodePoint(S.base(5n)), dealers: [1, 2, 3] }),
    w.reg.keys,
  );
  const board = await S.replayBoard(alien, w.certificates, good.slice(0, 3));
  await assert.rejects(board.key(), (e) => e.reason === "wrong_election_key");
  // A definition signed by another key is refused before anything is read.
  const stranger = await registry();
  await assert.rejects(
    S.readDefinition(await definitionPayload(stranger, w.people), w.reg.keys, { draft: true }),
    (e) => e.reason === "unknown_key",
  );
});

test("marks follow the form: one of, or «за» for at most seats candidates", () => {
  const definition = { payload: { options: ["а", "б", "в"], min_marks: 0, max_marks: 1 } };
  assert.deepEqual(S.marksOf(definition, []), [0, 0, 0]);
  assert.deepEqual(S.marksOf(definition, [2]), [0, 0, 1]);
  assert.throws(() => S.marksOf(definition, [0, 1]), RangeError);
  const oneOf = { payload: { options: ["а", "б"], min_marks: 1, max_marks: 1 } };
  assert.deepEqual(S.marksOf(oneOf, 1), [0, 1]);
  assert.throws(() => S.marksOf(oneOf, []), RangeError);
  assert.throws(() => S.marksOf(oneOf, 5), RangeError);
});
