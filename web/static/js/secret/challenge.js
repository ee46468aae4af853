// Fiat–Shamir challenges: SHA-512 over a length-prefixed transcript, reduced mod ℓ.
// The browser twin of crypto/challenge.py (docs/secret-ballots.md §4), hashing with
// WebCrypto's SHA-512:
//
//   T = be32(len(tag)) ‖ tag ‖ be32(len(item₁)) ‖ item₁ ‖ … ‖ be32(len(itemₖ)) ‖ itemₖ
//   c = int_le(SHA-512(T)) mod ℓ

import { utf8 } from "../kvcrypto.js";
import { L, bytesToScalarLE } from "./group.js";

export const TAG_BIT = utf8("kvorum/secret/v1/bit");
export const TAG_SUM = utf8("kvorum/secret/v1/sum");
export const TAG_DECRYPTION = utf8("kvorum/secret/v1/decryption");
export const TAG_KNOWLEDGE = utf8("kvorum/secret/v1/knowledge");

/** A count or an index as 4 bytes big-endian. */
export function u32(value) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`u32: ${value} is not a 32-bit count`);
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/** The exact bytes hashed for a challenge. */
export function transcript(tag, items) {
  const size = 4 + tag.length + items.reduce((n, item) => n + 4 + item.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of [tag, ...items]) {
    out.set(u32(part.length), at);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/** SHA-512 of a transcript (WebCrypto). */
export async function transcriptDigest(tag, items) {
  return new Uint8Array(await crypto.subtle.digest("SHA-512", transcript(tag, items)));
}

/** c = SHA-512(transcript) read little-endian, mod ℓ (as RFC 8032 §5.1.7 reduces). */
export async function challenge(tag, items) {
  return bytesToScalarLE(await transcriptDigest(tag, items)) % L;
}
