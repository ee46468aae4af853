// The group of secret ballots: the prime-order subgroup of Ed25519, over @noble/curves.
// The browser twin of crypto/group.py; the specification is docs/secret-ballots.md §2.
//
// Points are @noble/curves Edwards points (never Ristretto). Scalars are BigInts in
// [0, ℓ). Every point read from outside goes through checkPoint (S-1 … S-6); points
// made by arithmetic here are valid by construction. Multiplications by secrets
// (randomness, shares, nonces) use noble's constant-time `multiply`; those by public
// values (verification) use `multiplyUnsafe`, which is faster.

import { ed25519 } from "../../vendor/noble.js";
import { CryptoError, b64uDecode, b64uEncode } from "../kvcrypto.js";

export const Point = ed25519.Point;

/** ℓ, the order of the prime-order subgroup (RFC 8032 §5.1). */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
/** p, the field of Ed25519. */
const P = 2n ** 255n - 19n;
export const POINT_SIZE = 32;
export const SCALAR_SIZE = 32;
export const GENERATOR = Point.BASE;
export const IDENTITY = Point.ZERO;
export const IDENTITY_ENCODING = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));

/**
 * A refused secret-ballot object: `check` ("S-11"), `reason` ("bad_bit_proof"), an English
 * message naming what is wrong, and `trustee` (the 1-based commission member or dealer to
 * blame, or null). The same fields as crypto.errors.SecretBallotError.
 */
export class SecretBallotError extends CryptoError {
  constructor(check, reason, message, trustee = null) {
    super(reason, message);
    this.name = "SecretBallotError";
    this.check = check;
    this.trustee = trustee;
  }
}

/** k mod ℓ, in [0, ℓ). */
export function mod(k) {
  const r = k % L;
  return r < 0n ? r + L : r;
}

/** gᵏ (k reduced mod ℓ; g⁰ is the identity), constant-time: for secret k. */
export function base(k) {
  const s = mod(k);
  return s === 0n ? IDENTITY : GENERATOR.multiply(s);
}

// g⁰, g¹, g², … built by additions: a mark or a count j costs the same whatever j is
// (base(0) would return at once and base(1) multiply, so the time to encrypt a ballot
// would count its «за»).
const SMALL = [IDENTITY];

/** gʲ for a small j ≥ 0 (a mark, a count, a branch of a proof), from a table. */
export function smallMultiple(j) {
  if (!Number.isInteger(j) || j < 0 || j > 1000) throw new RangeError(`${j} is not a small count`);
  while (SMALL.length <= j) SMALL.push(SMALL[SMALL.length - 1].add(GENERATOR));
  return SMALL[j];
}

/** Pᵏ (k reduced mod ℓ), constant-time in k: for secret k. */
export function mul(point, k) {
  const s = mod(k);
  return s === 0n || point.is0() ? IDENTITY : point.multiply(s);
}

/** Pᵏ for a public k (verification): variable-time, faster. */
export function mulPublic(point, k) {
  return point.multiplyUnsafe(mod(k));
}

// The 32-byte encoding of a point, cached: transcripts list the same points many times,
// and each encoding costs a field inversion.
const encodings = new WeakMap();

/** The canonical 32-byte encoding (RFC 8032 §5.1.2); the identity is 01 00 … 00. */
export function pointBytes(point) {
  let raw = encodings.get(point);
  if (raw === undefined) {
    raw = point.toBytes();
    encodings.set(point, raw);
  }
  return raw;
}

/** Unpadded base64url of the point's 32 bytes. */
export function encodePoint(point) {
  return b64uEncode(pointBytes(point));
}

export function isIdentity(point) {
  return point.is0();
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Little-endian bytes → BigInt. */
export function bytesToScalarLE(bytes) {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/**
 * Validate 32 bytes as a group element and return the point, or throw:
 * S-1 malformed_point, S-2 noncanonical_point (y ≥ p, or x = 0 with the sign bit),
 * S-3 point_not_on_curve, S-4 small_order_point, S-5 point_not_in_subgroup,
 * S-6 identity_not_allowed (the identity where allowIdentity is false).
 */
export function checkPoint(raw, { what = "point", allowIdentity = true } = {}) {
  if (!(raw instanceof Uint8Array) || raw.length !== POINT_SIZE) {
    const size = raw instanceof Uint8Array ? raw.length : typeof raw;
    throw new SecretBallotError(
      "S-1",
      "malformed_point",
      `${what}: expected 32 bytes, got ${size}`,
    );
  }
  if (bytesEqual(raw, IDENTITY_ENCODING)) {
    if (!allowIdentity) {
      throw new SecretBallotError(
        "S-6",
        "identity_not_allowed",
        `${what} is the identity, which is refused here`,
      );
    }
    return IDENTITY;
  }
  const noncanonical = () =>
    new SecretBallotError(
      "S-2",
      "noncanonical_point",
      `${what} is not a canonical encoding (RFC 8032 §5.1.2)`,
    );
  const sign = raw[31] >> 7;
  const y = bytesToScalarLE(raw) & ((1n << 255n) - 1n);
  if (y >= P) throw noncanonical();
  let point;
  try {
    // Strict RFC 8032 decoding (ZIP-215 off): y < p, and no sign bit when x = 0.
    point = Point.fromBytes(raw, false);
  } catch {
    // x = 0 exactly for y = ±1; with the sign bit set that is a second spelling.
    if (sign === 1 && (y === 1n || y === P - 1n)) throw noncanonical();
    throw new SecretBallotError("S-3", "point_not_on_curve", `${what} is not a point of Ed25519`);
  }
  if (point.isSmallOrder()) {
    throw new SecretBallotError(
      "S-4",
      "small_order_point",
      `${what} is a point of small order (order 2, 4 or 8)`,
    );
  }
  if (!point.isTorsionFree()) {
    throw new SecretBallotError(
      "S-5",
      "point_not_in_subgroup",
      `${what} is on the curve but not in the prime-order subgroup (it has a torsion part)`,
    );
  }
  if (!bytesEqual(point.toBytes(), raw)) throw noncanonical(); // never, by the checks above
  encodings.set(point, Uint8Array.from(raw));
  return point;
}

function b64(text, what, check, reason) {
  if (typeof text !== "string" || text.length !== 43) {
    const shown = typeof text === "string" ? `${text.length} characters` : typeof text;
    throw new SecretBallotError(
      check,
      reason,
      `${what}: expected 43 characters of base64url, got ${shown}`,
    );
  }
  try {
    return b64uDecode(text, 32);
  } catch (error) {
    throw new SecretBallotError(check, reason, `${what}: ${error.message}`);
  }
}

/** Read a point from unpadded base64url text and validate it (S-1 … S-6). */
export function parsePoint(text, { what = "point", allowIdentity = true } = {}) {
  return checkPoint(b64(text, what, "S-1", "malformed_point"), { what, allowIdentity });
}

/** Read a scalar: base64url of 32 bytes little-endian with a value below ℓ (S-7, S-8). */
export function parseScalar(text, { what = "scalar" } = {}) {
  const value = bytesToScalarLE(b64(text, what, "S-7", "malformed_scalar"));
  if (value >= L) {
    // Reducing would give one proof several spellings (malleability).
    throw new SecretBallotError("S-8", "noncanonical_scalar", `${what} is not below ℓ`);
  }
  return value;
}

/** The 32-byte little-endian encoding of a scalar (reduced mod ℓ first). */
export function scalarBytes(value) {
  let k = mod(value);
  const out = new Uint8Array(SCALAR_SIZE);
  for (let i = 0; i < SCALAR_SIZE; i++) {
    out[i] = Number(k & 0xffn);
    k >>= 8n;
  }
  return out;
}

/** Unpadded base64url of scalarBytes. */
export function encodeScalar(value) {
  return b64uEncode(scalarBytes(value));
}

/**
 * A uniformly random scalar in [1, ℓ) from crypto.getRandomValues, without bias: 253
 * random bits (ℓ < 2²⁵³) are drawn again until they fall in range (about two draws on
 * average), instead of reducing a larger number mod ℓ.
 */
export function randomScalar() {
  const bytes = new Uint8Array(32);
  for (;;) {
    crypto.getRandomValues(bytes);
    bytes[31] &= 0x1f;
    const value = bytesToScalarLE(bytes);
    if (value !== 0n && value < L) {
      bytes.fill(0);
      return value;
    }
  }
}

/** The modular inverse of a non-zero scalar (Lagrange coefficients). */
export function invert(k) {
  return Point.Fn.inv(mod(k));
}
