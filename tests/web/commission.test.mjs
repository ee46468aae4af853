// A commission member's share in the browser: wrapped at rest, the backup file, and the
// transport envelope (web/static/js/secret/sharestore.js, transport.js; formats in
// docs/commission-keys.md). IndexedDB itself is exercised in Chromium
// (tests/web/test_secret_browser.py); here every cryptographic step runs in Node's WebCrypto.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as S from "../../web/static/js/secret.js";

const rejectsWith = (promise, reason) =>
  assert.rejects(promise, (error) => {
    assert.equal(error.reason, reason, error.message);
    return true;
  });

test("a sealed share opens with its key and id only", async () => {
  const key = await S.generateWrappingKey();
  assert.equal(key.extractable, false);
  await assert.rejects(crypto.subtle.exportKey("raw", key));
  const payload = {
    context_hex: "ab".repeat(32),
    member: 3,
    share: S.encodeScalar(S.randomScalar()),
  };
  const record = await S.sealShare(key, "vote-1", payload);
  assert.deepEqual(await S.openShare(key, record), payload);
  assert.ok(!JSON.stringify(record).includes(payload.share));
  await rejectsWith(S.openShare(key, { ...record, id: "vote-2" }), "bad_record");
  await rejectsWith(S.openShare(await S.generateWrappingKey(), record), "bad_record");
});

test("backup file: round trip, wrong passphrase, altered header, weak settings", async () => {
  const payload = {
    context_hex: "cd".repeat(32),
    member: 2,
    share: S.encodeScalar(S.randomScalar()),
  };
  const passphrase = "Счётная комиссия 2026";
  const text = await S.exportBackup("тайное голосование, член 2", payload, passphrase);
  const file = JSON.parse(text);
  assert.equal(file.format, "kvorum-commission-share-backup");
  assert.equal(file.kdf.iterations, S.BACKUP_ITERATIONS);
  assert.ok(!text.includes(payload.share));
  assert.deepEqual(await S.importBackup(text, passphrase), {
    label: "тайное голосование, член 2",
    payload,
  });
  // The same passphrase in decomposed form (NFD) is the same passphrase.
  assert.deepEqual((await S.importBackup(text, passphrase.normalize("NFD"))).payload, payload);
  await rejectsWith(S.importBackup(text, "Счётная комиссия 2025"), "wrong_passphrase");
  const relabelled = JSON.stringify({ ...file, label: "another vote" });
  await rejectsWith(S.importBackup(relabelled, passphrase), "wrong_passphrase");
  const weakened = JSON.stringify({ ...file, kdf: { ...file.kdf, iterations: 1000 } });
  await rejectsWith(S.importBackup(weakened, passphrase), "bad_backup");
  await rejectsWith(S.importBackup("not json", passphrase), "bad_backup");
  await rejectsWith(
    S.importBackup(JSON.stringify({ ...file, extra: 1 }), passphrase),
    "bad_backup",
  );
  await rejectsWith(S.exportBackup("x", payload, "short"), "weak_passphrase");
});

test("transport: only the recipient reads the share, bound to dealer, recipient, context", async () => {
  const context = crypto.getRandomValues(new Uint8Array(32));
  const member = await S.generateTransportKey();
  assert.equal(member.privateKey.extractable, false);
  const memberKey = await S.exportTransportKey(member.publicKey);
  const other = await S.generateTransportKey();
  const otherKey = await S.exportTransportKey(other.publicKey);
  const share = S.randomScalar();
  const envelope = await S.sealShareFor(memberKey, { context, dealer: 4, recipient: 2, share });
  const expected = { context, dealer: 4, recipient: 2 };
  assert.equal(await S.openShareEnvelope(member.privateKey, memberKey, envelope, expected), share);
  assert.ok(!JSON.stringify(envelope).includes(S.encodeScalar(share)));
  // Another member's key cannot open it.
  await rejectsWith(
    S.openShareEnvelope(other.privateKey, otherKey, envelope, expected),
    "cannot_decrypt",
  );
  // Relabelled to another dealer or key generation: refused before or by decryption.
  await rejectsWith(
    S.openShareEnvelope(
      member.privateKey,
      memberKey,
      { ...envelope, dealer: 5 },
      { ...expected, dealer: 5 },
    ),
    "cannot_decrypt",
  );
  await rejectsWith(
    S.openShareEnvelope(member.privateKey, memberKey, envelope, { ...expected, dealer: 5 }),
    "not_for_me",
  );
  const flipped = envelope.ciphertext.startsWith("A")
    ? `B${envelope.ciphertext.slice(1)}`
    : `A${envelope.ciphertext.slice(1)}`;
  await rejectsWith(
    S.openShareEnvelope(
      member.privateKey,
      memberKey,
      { ...envelope, ciphertext: flipped },
      expected,
    ),
    "cannot_decrypt",
  );
  // A small-order ephemeral key (all zeros) gives an all-zero secret, which WebCrypto refuses.
  await rejectsWith(
    S.openShareEnvelope(
      member.privateKey,
      memberKey,
      { ...envelope, ephemeral: "A".repeat(43) },
      expected,
    ),
    "bad_transport_key",
  );
  await rejectsWith(
    S.openShareEnvelope(member.privateKey, memberKey, { ...envelope, extra: 1 }, expected),
    "bad_envelope",
  );
});

test("a dealt share travels to its member and passes the share check there", async () => {
  const params = S.dkgParameters(crypto.getRandomValues(new Uint8Array(32)), 3, 2);
  const { commitment, shares } = await S.deal(params, 1, S.randomScalar);
  const published = S.parseDealerCommitment(S.dealerCommitmentToJSON(commitment), params);
  await S.verifyDealer(params, published);
  const member = await S.generateTransportKey();
  const memberKey = await S.exportTransportKey(member.publicKey);
  const envelope = await S.sealShareFor(memberKey, {
    context: params.context,
    dealer: 1,
    recipient: 3,
    share: shares.get(3),
  });
  const got = await S.openShareEnvelope(member.privateKey, memberKey, envelope, {
    context: params.context,
    dealer: 1,
    recipient: 3,
  });
  S.verifyShare(params, published, 3, got);
  assert.throws(
    () => S.verifyShare(params, published, 2, got),
    (e) => e.check === "S-14" && e.trustee === 1,
  );
});
