// A key-generation share sent from dealer j to member i, readable by member i alone:
// ephemeral-static X25519 (WebCrypto), HKDF-SHA-256, AES-256-GCM. The envelope's format
// is in docs/commission-keys.md.
//
// Each commission member has an X25519 transport key pair made in their browser (the
// private half non-extractable, kept with the share store); the public half is
// published with the member's Ed25519 signature by the layer above, which also signs
// the envelopes, so the server can neither read a share nor pass off its own. A share
// that does not match its dealer's commitments is refused afterwards by verifyShare
// (S-14) and leads to a public complaint (docs/secret-ballots.md §6).

import { CryptoError, b64uDecode, b64uEncode, canonicalize, utf8 } from "../kvcrypto.js";
import { u32 } from "./challenge.js";
import { L, bytesToScalarLE, scalarBytes } from "./group.js";

export const TRANSPORT_FORMAT = "kvorum-share-transport";
const INFO = "kvorum/share-transport/v1";

export class TransportError extends CryptoError {
  constructor(reason, message) {
    super(reason, message);
    this.name = "TransportError";
  }
}

/** A member's transport key pair; the private half cannot be exported. */
export function generateTransportKey() {
  return crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
}

/** The public half as unpadded base64url of its 32 raw bytes (RFC 7748). */
export async function exportTransportKey(publicKey) {
  return b64uEncode(new Uint8Array(await crypto.subtle.exportKey("raw", publicKey)));
}

function hexOf(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function envelopeKey(privateKey, peerPublic, context, ephemeral, recipientKey, usage) {
  let shared;
  try {
    const peer = await crypto.subtle.importKey("raw", peerPublic, { name: "X25519" }, false, []);
    // WebCrypto refuses an all-zero result (a small-order public key).
    shared = await crypto.subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256);
  } catch {
    throw new TransportError("bad_transport_key", "the transport key is not a usable X25519 key");
  }
  const material = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const info = new Uint8Array([...utf8(INFO), ...ephemeral, ...recipientKey]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: context, info },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

function head(context, dealer, recipient, ephemeral, iv) {
  return {
    format: TRANSPORT_FORMAT,
    version: 1,
    context: hexOf(context),
    dealer,
    recipient,
    ephemeral: b64uEncode(ephemeral),
    iv: b64uEncode(iv),
  };
}

/**
 * Encrypt dealer `dealer`'s share (a scalar) for member `recipient`, whose transport
 * public key is `recipientKeyB64u`, in the key generation `context` (32 bytes).
 */
export async function sealShareFor(recipientKeyB64u, { context, dealer, recipient, share }) {
  const recipientKey = b64uDecode(recipientKeyB64u, 32);
  const ephemeralPair = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const ephemeral = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeralPair.publicKey));
  const key = await envelopeKey(
    ephemeralPair.privateKey,
    recipientKey,
    context,
    ephemeral,
    recipientKey,
    "encrypt",
  );
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const header = head(context, dealer, recipient, ephemeral, iv);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(canonicalize(header)) },
    key,
    scalarBytes(share),
  );
  return { ...header, ciphertext: b64uEncode(new Uint8Array(sealed)) };
}

/**
 * The share in an envelope addressed to this member: `privateKey` and `publicKeyB64u`
 * are the member's transport key pair; `expected` = {context, dealer, recipient} must
 * match the envelope. TransportError bad_envelope / not_for_me / cannot_decrypt.
 */
export async function openShareEnvelope(privateKey, publicKeyB64u, envelope, expected) {
  const bad = (message) => new TransportError("bad_envelope", `share envelope: ${message}`);
  const names = [
    "format",
    "version",
    "context",
    "dealer",
    "recipient",
    "ephemeral",
    "iv",
    "ciphertext",
  ];
  if (
    typeof envelope !== "object" ||
    envelope === null ||
    Object.keys(envelope).sort().join() !== [...names].sort().join()
  ) {
    throw bad(`expected exactly the members ${names.join(", ")}`);
  }
  if (envelope.format !== TRANSPORT_FORMAT || envelope.version !== 1)
    throw bad("not a version 1 envelope");
  if (
    envelope.context !== hexOf(expected.context) ||
    envelope.dealer !== expected.dealer ||
    envelope.recipient !== expected.recipient
  ) {
    throw new TransportError(
      "not_for_me",
      `share envelope: addressed to member ${envelope.recipient} from dealer ${envelope.dealer} ` +
        "in another key generation, or not to this member",
    );
  }
  let ephemeral;
  let iv;
  let sealed;
  try {
    ephemeral = b64uDecode(envelope.ephemeral, 32);
    iv = b64uDecode(envelope.iv, 12);
    sealed = b64uDecode(envelope.ciphertext, 48);
  } catch (error) {
    throw bad(error.message);
  }
  const recipientKey = b64uDecode(publicKeyB64u, 32);
  const key = await envelopeKey(
    privateKey,
    ephemeral,
    expected.context,
    ephemeral,
    recipientKey,
    "decrypt",
  );
  const header = head(expected.context, envelope.dealer, envelope.recipient, ephemeral, iv);
  let plain;
  try {
    plain = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: utf8(canonicalize(header)) },
        key,
        sealed,
      ),
    );
  } catch {
    throw new TransportError(
      "cannot_decrypt",
      `share envelope from dealer ${envelope.dealer}: not encrypted to this member's key, or altered`,
    );
  }
  const value = bytesToScalarLE(plain);
  if (value >= L) throw bad("the share is not below ℓ");
  return value;
}
