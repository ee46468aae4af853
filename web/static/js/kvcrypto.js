// kvcrypto.js — canonical JSON (RFC 8785), strict base64url, SHA-256 and Ed25519
// (RFC 8032) for the browser; an ES module without dependencies that also runs in
// Node 20. It is the twin of the Python package `crypto/`: wherever a comment says
// BYTE-EXACT, this code and the Python code must produce identical bytes, and the
// shared vectors in tests/crypto/vectors/ (checked by tests/web/kvcrypto.test.mjs
// and tests/crypto/test_vectors.py) prove it.
//
// Members' private keys are made here with WebCrypto, non-extractable: the page
// can ask the browser to sign, but never read the key. Persisting the CryptoKey
// (IndexedDB) is the caller's job.
//
// Not guaranteed: this module does not check that a public key is a point of the
// prime-order subgroup (WebCrypto offers no such check; the server rejects such
// keys when it certifies them), and WebCrypto's Ed25519 verification may accept a
// few crafted edge-case signatures that libsodium on the server rejects. The
// server's verdict is authoritative. Timing of the pure-JS parts depends on data.

const subtle = globalThis.crypto.subtle;

/** Largest integer a signed payload may hold (as in crypto/canonical.py). */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER; // 2**53 - 1

/** Deepest nesting of arrays/objects accepted; the same limit as Python's MAX_DEPTH. */
export const MAX_DEPTH = 100;

const ED25519 = { name: "Ed25519" };

/** A rejected input; `reason` is the same stable code the Python side uses. */
export class CryptoError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "CryptoError";
    this.reason = reason;
  }
}

/** A value that cannot be canonicalised; `path` locates it (`$.a[2]`). */
export class CanonicalJSONError extends CryptoError {
  constructor(reason, message, path) {
    super(reason, `${path}: ${message}`);
    this.name = "CanonicalJSONError";
    this.path = path;
  }
}

// ---------------------------------------------------------------------------
// Canonical JSON (RFC 8785). BYTE-EXACT with crypto/canonical.py.

/**
 * Return the RFC 8785 canonical JSON text of a value (encode with utf8() for bytes).
 * Accepts null, booleans, finite numbers, well-formed strings, arrays and plain
 * objects; anything else (undefined, BigInt, Date, Map, lone surrogates, NaN,
 * Infinity, nesting beyond MAX_DEPTH, cycles) throws CanonicalJSONError.
 */
export function canonicalize(value) {
  const out = [];
  encodeValue(value, "$", 0, false, out, new Set());
  return out.join("");
}

/**
 * canonicalize() with Kvorum's signed-payload profile (DESIGN.md: "object keys
 * ASCII, numbers integers only"): numbers must be safe integers, member names ASCII.
 * Note: JavaScript cannot tell 2.0 from 2, so 2.0 passes here; Python rejects a
 * float 2.0 — build payloads from integers.
 */
export function canonicalizeSigned(value) {
  const out = [];
  encodeValue(value, "$", 0, true, out, new Set());
  return out.join("");
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function childPath(path, key) {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function loneSurrogateIndex(text) {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a proper pair: one astral code point
        continue;
      }
      return i;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return i;
  }
  return -1;
}

function encodeString(text, path, what, out) {
  const lone = loneSurrogateIndex(text);
  if (lone >= 0) {
    const hex = text.charCodeAt(lone).toString(16).toUpperCase();
    throw new CanonicalJSONError(
      "lone_surrogate",
      `${what} holds the unpaired surrogate U+${hex} at index ${lone}, which has no UTF-8 form`,
      path,
    );
  }
  // RFC 8785 §3.2.2.2 defines string escaping as ECMAScript's JSON.stringify:
  // \" \\ \b \t \n \f \r, other controls as \u00xx (lowercase), the rest literal.
  out.push(JSON.stringify(text));
}

function encodeNumber(value, path, signed, out) {
  if (!Number.isFinite(value)) {
    throw new CanonicalJSONError("non_finite_number", `${value} is not allowed (RFC 8785)`, path);
  }
  if (signed) {
    if (!Number.isInteger(value)) {
      throw new CanonicalJSONError(
        "float_not_allowed",
        `${value}: signed payloads hold integers only`,
        path,
      );
    }
    if (!Number.isSafeInteger(value)) {
      throw new CanonicalJSONError(
        "integer_out_of_range",
        `integer ${value} is outside ±(2**53-1), the range signed payloads allow`,
        path,
      );
    }
  }
  // RFC 8785 §3.2.2.3 *is* ECMAScript's Number-to-String; String(-0) === "0".
  out.push(String(value));
}

function encodeValue(value, path, depth, signed, out, open) {
  if (value === null) {
    out.push("null");
  } else if (value === true) {
    out.push("true");
  } else if (value === false) {
    out.push("false");
  } else if (typeof value === "string") {
    encodeString(value, path, "string", out);
  } else if (typeof value === "number") {
    encodeNumber(value, path, signed, out);
  } else if (typeof value === "object" && (Array.isArray(value) || isPlainObject(value))) {
    if (depth + 1 > MAX_DEPTH) {
      const message = `nested deeper than ${MAX_DEPTH} arrays/objects`;
      throw new CanonicalJSONError("too_deep", message, path);
    }
    if (open.has(value)) {
      throw new CanonicalJSONError("cycle", "the value contains itself", path);
    }
    open.add(value);
    if (Array.isArray(value)) {
      encodeArray(value, path, depth + 1, signed, out, open);
    } else {
      encodeObject(value, path, depth + 1, signed, out, open);
    }
    open.delete(value);
  } else {
    const kind = typeOf(value);
    const message = `a value of type ${kind} has no JSON form`;
    throw new CanonicalJSONError("unsupported_type", message, path);
  }
}

function typeOf(value) {
  if (value === undefined) return "undefined";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function encodeArray(value, path, depth, signed, out, open) {
  out.push("[");
  for (let i = 0; i < value.length; i++) {
    if (i) out.push(",");
    encodeValue(value[i], `${path}[${i}]`, depth, signed, out, open);
  }
  out.push("]");
}

function encodeObject(value, path, depth, signed, out, open) {
  if (Object.getOwnPropertySymbols(value).length) {
    throw new CanonicalJSONError("non_string_key", "an object member name is a Symbol", path);
  }
  const keys = Object.keys(value);
  for (const key of keys) {
    const child = childPath(path, key);
    if (loneSurrogateIndex(key) >= 0) encodeString(key, child, "member name", []); // throws
    if (signed && !/^[\x00-\x7f]*$/.test(key)) {
      throw new CanonicalJSONError(
        "non_ascii_key",
        `member name ${JSON.stringify(key)} is not ASCII, which signed payloads require`,
        child,
      );
    }
  }
  // RFC 8785 §3.2.3: sort names by UTF-16 code units — exactly what the default
  // Array.prototype.sort comparison does. BYTE-EXACT with Python's utf-16-be sort.
  keys.sort();
  out.push("{");
  keys.forEach((key, i) => {
    if (i) out.push(",");
    encodeString(key, path, "member name", out);
    out.push(":");
    encodeValue(value[key], childPath(path, key), depth, signed, out, open);
  });
  out.push("}");
}

// ---------------------------------------------------------------------------
// UTF-8 and base64url. BYTE-EXACT with crypto/encoding.py.

const ENCODER = new TextEncoder();

/** UTF-8 bytes of a string; a lone surrogate throws (TextEncoder would swap in U+FFFD). */
export function utf8(text) {
  if (typeof text !== "string") throw new TypeError("utf8() expects a string");
  const lone = loneSurrogateIndex(text);
  if (lone >= 0) {
    const message = `unpaired surrogate at index ${lone} has no UTF-8 form`;
    throw new CryptoError("lone_surrogate", message);
  }
  return ENCODER.encode(text);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DECODE = new Map([...ALPHABET].map((char, index) => [char, index]));

/** Unpadded base64url (RFC 4648 §5) of bytes. */
export function b64uEncode(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("b64uEncode() expects a Uint8Array");
  let text = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) text += ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return text;
}

/**
 * Strict unpadded base64url decoding: no '=', no other characters, no
 * non-zero unused bits (so each byte string has exactly one text form). With
 * `length`, the result must have that many bytes. Throws CryptoError("bad_base64").
 */
export function b64uDecode(text, length = undefined) {
  const fail = (message) => new CryptoError("bad_base64", `base64url: ${message}`);
  if (typeof text !== "string") throw fail(`expected text, got ${typeof text}`);
  if (text.includes("=")) throw fail("padding '=' is not allowed");
  for (const char of text) {
    if (!DECODE.has(char)) {
      throw fail(`character ${JSON.stringify(char)} is not in the base64url alphabet`);
    }
  }
  if (text.length % 4 === 1) throw fail(`length ${text.length} is impossible (a length of 4n+1)`);
  const bytes = new Uint8Array(Math.floor((text.length * 6) / 8));
  let buffer = 0;
  let bits = 0;
  let k = 0;
  for (const char of text) {
    buffer = (buffer << 6) | DECODE.get(char);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[k++] = (buffer >> bits) & 0xff;
      buffer &= (1 << bits) - 1;
    }
  }
  if (buffer !== 0) throw fail("the unused bits of the last character are not zero");
  if (length !== undefined && bytes.length !== length) {
    throw fail(`expected ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// SHA-256 and Ed25519 through WebCrypto.

/** SHA-256 digest (32 bytes). */
export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * A new Ed25519 key pair whose private key is NON-extractable: script can sign
 * with it but never read it, so it cannot leak through the page.
 */
export async function generateSigningKey() {
  return subtle.generateKey(ED25519, false, ["sign", "verify"]);
}

/** The raw 32-byte public key as unpadded base64url (the form certificates carry). */
export async function exportPublicKey(publicKey) {
  return b64uEncode(new Uint8Array(await subtle.exportKey("raw", publicKey)));
}

/**
 * Sign the canonical bytes of a signed payload: Ed25519 over
 * utf8(canonicalizeSigned(value)). BYTE-EXACT with crypto/envelope.py's
 * sign_document: the same value and seed give the same signature (Ed25519 is
 * deterministic). Values outside the signed profile throw rather than produce a
 * signature the server would refuse.
 */
export async function signCanonical(privateKey, value) {
  const message = utf8(canonicalizeSigned(value));
  return b64uEncode(new Uint8Array(await subtle.sign(ED25519, privateKey, message)));
}

function rawPublicKey(publicKeyB64u) {
  let raw;
  try {
    raw = b64uDecode(publicKeyB64u, 32);
  } catch (error) {
    throw new CryptoError("bad_public_key", `public key: ${error.message}`);
  }
  if (raw.every((byte) => byte === 0)) {
    throw new CryptoError("bad_public_key", "public key is all zero bytes");
  }
  return raw;
}

/**
 * Check a signature (unpadded base64url) over utf8(canonicalizeSigned(value))
 * under a raw public key (unpadded base64url). Resolves to false for a bad or
 * malformed signature; throws CryptoError("bad_public_key") for a malformed key.
 */
export async function verifyCanonical(publicKeyB64u, value, signatureB64u) {
  const raw = rawPublicKey(publicKeyB64u);
  let signature;
  try {
    signature = b64uDecode(signatureB64u, 64);
  } catch {
    return false;
  }
  let key;
  try {
    key = await subtle.importKey("raw", raw, ED25519, false, ["verify"]);
  } catch (error) {
    throw new CryptoError("bad_public_key", `public key rejected by WebCrypto: ${error.message}`);
  }
  return subtle.verify(ED25519, key, signature, utf8(canonicalizeSigned(value)));
}

/**
 * Key id: lowercase hex of the first 16 bytes of SHA-256 of the raw 32-byte key.
 * BYTE-EXACT with PublicKey.key_id in crypto/ed25519.py.
 */
export async function keyId(publicKeyB64u) {
  return hex((await sha256(rawPublicKey(publicKeyB64u))).subarray(0, 16));
}
