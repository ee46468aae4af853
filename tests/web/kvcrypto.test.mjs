// The browser twin of crypto/ checked against the SAME vectors as Python
// (tests/crypto/vectors/, written by tests/crypto/make_vectors.py).
// Run from the repository root: node --test tests/web/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  CanonicalJSONError,
  CryptoError,
  MAX_DEPTH,
  b64uDecode,
  b64uEncode,
  canonicalize,
  canonicalizeSigned,
  exportPublicKey,
  generateSigningKey,
  keyId,
  sha256,
  signCanonical,
  utf8,
  verifyCanonical,
} from "../../web/static/js/kvcrypto.js";

const VECTORS = new URL("../crypto/vectors/", import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, VECTORS), "utf8"));

const canonicalVectors = load("canonical.json");
const invalidVectors = load("invalid.json");
const ed25519Vectors = load("ed25519.json");

function doubleFromBits(hex) {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

function inputOf(vector) {
  if ("input_json" in vector) return JSON.parse(vector.input_json);
  if ("input_ieee754" in vector) return doubleFromBits(vector.input_ieee754);
  if ("special" in vector) return { NaN, Infinity, "-Infinity": -Infinity }[vector.special];
  return vector.input;
}

const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410 §7): the fixed DER prefix.
const PKCS8_ED25519_PREFIX = fromHex("302e020100300506032b657004220420");

async function importSeed(seedHex) {
  const der = new Uint8Array([...PKCS8_ED25519_PREFIX, ...fromHex(seedHex)]);
  return crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
}

test("vector files are not empty", () => {
  assert.ok(canonicalVectors.length > 200);
  assert.ok(invalidVectors.length > 10);
  assert.ok(ed25519Vectors.length >= 20);
});

for (const vector of canonicalVectors) {
  test(`canonical: ${vector.name}`, () => {
    assert.equal(canonicalize(inputOf(vector)), vector.canonical);
  });
}

for (const vector of invalidVectors.filter((v) => v.mode !== "parse" && !v.python_only)) {
  test(`invalid (${vector.mode}): ${vector.name}`, () => {
    const encode = vector.mode === "signed" ? canonicalizeSigned : canonicalize;
    assert.throws(
      () => encode(inputOf(vector)),
      (error) => error instanceof CanonicalJSONError && error.reason === vector.reason,
    );
  });
}

test("canonicalize rejects values JSON cannot hold, naming the path", () => {
  const cases = [
    [undefined, "$"],
    [{ a: undefined }, "$.a"],
    [{ ballot: { choices: [1, 2, 10n] } }, "$.ballot.choices[2]"],
    [[new Date(0)], "$[0]"],
    [new Map(), "$"],
    [{ "a b": () => 1 }, '$["a b"]'],
  ];
  for (const [value, path] of cases) {
    assert.throws(
      () => canonicalize(value),
      (error) => error.reason === "unsupported_type" && error.path === path,
    );
  }
  const cycle = [];
  cycle.push(cycle);
  assert.throws(() => canonicalize(cycle), (error) => error.reason === "cycle");
  assert.throws(
    () => canonicalize({ [Symbol("s")]: 1 }),
    (error) => error.reason === "non_string_key",
  );
  assert.equal(canonicalize(Object.assign(Object.create(null), { b: 1, a: 2 })), '{"a":2,"b":1}');
});

test("the depth limit matches Python's", () => {
  assert.equal(MAX_DEPTH, 100);
  let deep = 1;
  for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
  assert.equal(canonicalize(deep).length, 2 * MAX_DEPTH + 1);
  assert.throws(() => canonicalize([deep]), (error) => error.reason === "too_deep");
});

test("utf8 refuses lone surrogates instead of writing U+FFFD", () => {
  assert.deepEqual(utf8("ж😀"), fromHex("d0b6f09f9880"));
  assert.throws(
    () => utf8("a\ud800"),
    (error) => error instanceof CryptoError && error.reason === "lone_surrogate",
  );
});

test("b64u round-trips every length and matches Node's base64url", () => {
  for (let n = 0; n < 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 73 + n * 29) & 0xff);
    const text = b64uEncode(bytes);
    assert.equal(text, Buffer.from(bytes).toString("base64url"));
    assert.deepEqual(b64uDecode(text), bytes);
  }
});

test("b64uDecode is strict", () => {
  const bad = {
    "AA==": "padding '=' is not allowed",
    "A A": "not in the base64url alphabet",
    "AA+/": "not in the base64url alphabet",
    "AAAAA": "impossible",
    AB: "unused bits",
    AAB: "unused bits",
  };
  for (const [text, message] of Object.entries(bad)) {
    assert.throws(
      () => b64uDecode(text),
      (error) => error.reason === "bad_base64" && error.message.includes(message),
      text,
    );
  }
  assert.throws(() => b64uDecode("AAAA", 4), /expected 4 bytes, got 3/);
  assert.deepEqual(b64uDecode("AAAA", 3), new Uint8Array(3));
});

test("sha256 of 'abc' (FIPS 180-2 example)", async () => {
  assert.equal(
    toHex(await sha256(utf8("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

for (const vector of ed25519Vectors) {
  test(`ed25519: ${vector.name}`, async () => {
    assert.equal(canonicalizeSigned(vector.payload), vector.canonical);
    const privateKey = await importSeed(vector.seed);
    // Ed25519 is deterministic: the browser must produce Python's exact signature.
    assert.equal(await signCanonical(privateKey, vector.payload), vector.signature);
    assert.equal(await verifyCanonical(vector.public_key, vector.payload, vector.signature), true);
    assert.equal(await keyId(vector.public_key), vector.key_id);
    const tampered = { ...vector.payload, v: vector.payload.v + 1 };
    assert.equal(await verifyCanonical(vector.public_key, tampered, vector.signature), false);
  });
}

test("RFC 8032 test 1: the empty message", async () => {
  const privateKey = await importSeed(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
  );
  const empty = new Uint8Array();
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, privateKey, empty);
  assert.equal(
    toHex(new Uint8Array(signature)),
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac" +
      "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  );
});

test("a generated key is non-extractable and its signatures verify", async () => {
  const pair = await generateSigningKey();
  assert.equal(pair.privateKey.extractable, false);
  await assert.rejects(crypto.subtle.exportKey("pkcs8", pair.privateKey));
  await assert.rejects(crypto.subtle.exportKey("jwk", pair.privateKey));
  const publicKey = await exportPublicKey(pair.publicKey);
  assert.equal(b64uDecode(publicKey).length, 32);
  assert.match(await keyId(publicKey), /^[0-9a-f]{32}$/);
  const payload = { type: "kvorum.test", v: 1, text: "Голосую «за»" };
  const signature = await signCanonical(pair.privateKey, payload);
  assert.equal(b64uDecode(signature).length, 64);
  assert.equal(await verifyCanonical(publicKey, payload, signature), true);
  assert.equal(await verifyCanonical(publicKey, { ...payload, text: "против" }, signature), false);
  assert.equal(await verifyCanonical(publicKey, payload, signature.slice(0, -2)), false);
  assert.equal(await verifyCanonical(publicKey, payload, "not base64url!"), false);
});

test("signing refuses what the server would refuse", async () => {
  const pair = await generateSigningKey();
  const reason = (code) => (error) => error.reason === code;
  await assert.rejects(signCanonical(pair.privateKey, { v: 1.5 }), reason("float_not_allowed"));
  await assert.rejects(signCanonical(pair.privateKey, { "тип": "t" }), reason("non_ascii_key"));
});

test("malformed public keys are errors, not false", async () => {
  const vector = ed25519Vectors[0];
  const badKey = (error) => error.reason === "bad_public_key";
  await assert.rejects(verifyCanonical("AAAA", vector.payload, vector.signature), badKey);
  await assert.rejects(keyId(b64uEncode(new Uint8Array(32))), badKey);
});
