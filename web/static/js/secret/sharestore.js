// A counting-commission member's share, kept in this browser: wrapped at rest under a
// non-extractable AES-GCM key in IndexedDB, and exported as a passphrase-protected
// backup file. The formats are in docs/commission-keys.md.
//
// The wrapping key is generated here with extractable = false and stored in IndexedDB by
// structured clone, which keeps it non-extractable: script on this origin can use it to
// unwrap, nobody can read it out (the pattern of keystore.js for the signing key). The
// backup file is the member's copy for a lost or replaced device: PBKDF2-SHA-256 with
// 600 000 iterations from the passphrase, then AES-256-GCM.

import { CryptoError, b64uDecode, b64uEncode, canonicalize, utf8 } from "../kvcrypto.js";

const DB_NAME = "kvorum-commission";
const WRAPPING = "wrapping-keys";
const SHARES = "shares";
const TRANSPORT = "transport-keys";
const WRAPPING_NAME = "shares";

export const BACKUP_FORMAT = "kvorum-commission-share-backup";
export const BACKUP_ITERATIONS = 600000;
/** A file asking for more than this is refused (it would hang the page). */
export const MAX_BACKUP_ITERATIONS = 10000000;
export const MIN_PASSPHRASE_LENGTH = 12;

/** A refused backup or share record: reason bad_backup, wrong_passphrase, weak_passphrase, … */
export class ShareStoreError extends CryptoError {
  constructor(reason, message) {
    super(reason, message);
    this.name = "ShareStoreError";
  }
}

const RECORD_AAD = (id) => utf8(`kvorum/commission-share/v1\n${id}`);

/** A new non-extractable AES-256-GCM key for wrapping shares at rest. */
export function generateWrappingKey() {
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/**
 * Seal `payload` (a JSON value, e.g. {context_hex, member, share}) under `key` for the
 * record `id`: {id, iv, sealed}. The id is the additional data, so a record cannot be
 * moved to another id.
 */
export async function sealShare(key, id, payload) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: RECORD_AAD(id) },
    key,
    utf8(canonicalize(payload)),
  );
  return { id, iv: b64uEncode(iv), sealed: b64uEncode(new Uint8Array(sealed)) };
}

/** The payload of a record made by sealShare; ShareStoreError("bad_record") if it fails. */
export async function openShare(key, record) {
  let plain;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: b64uDecode(record.iv, 12), additionalData: RECORD_AAD(record.id) },
      key,
      b64uDecode(record.sealed),
    );
  } catch {
    throw new ShareStoreError(
      "bad_record",
      `the stored share ${record.id} cannot be unwrapped with this browser's key`,
    );
  }
  return JSON.parse(new TextDecoder().decode(plain));
}

// ---------------------------------------------------------------------------
// IndexedDB: its own database, so that keystore.js's schema is left alone.

function openDb() {
  return new Promise((resolve, reject) => {
    // Version 2 adds the transport keys; a version 1 database keeps its stores.
    const request = indexedDB.open(DB_NAME, 2);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(WRAPPING)) db.createObjectStore(WRAPPING, { keyPath: "name" });
      if (!db.objectStoreNames.contains(SHARES)) db.createObjectStore(SHARES, { keyPath: "id" });
      if (!db.objectStoreNames.contains(TRANSPORT)) db.createObjectStore(TRANSPORT, { keyPath: "id" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(storeName, mode, action) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const request = action(tx.objectStore(storeName));
    tx.oncomplete = () => {
      db.close();
      resolve(request.result);
    };
    tx.onerror = () => reject(tx.error);
  });
}

/** This browser's wrapping key, made on first use. */
async function wrappingKey() {
  const found = await run(WRAPPING, "readonly", (store) => store.get(WRAPPING_NAME));
  if (found) return found.key;
  const key = await generateWrappingKey();
  await run(WRAPPING, "readwrite", (store) => store.add({ name: WRAPPING_NAME, key }));
  // Another tab may have stored its key first: use whichever is stored.
  return (await run(WRAPPING, "readonly", (store) => store.get(WRAPPING_NAME))).key;
}

/** Wrap and store a share record under `id` (e.g. the key generation's context in hex). */
export async function storeShare(id, payload) {
  const record = await sealShare(await wrappingKey(), id, payload);
  await run(SHARES, "readwrite", (store) => store.put(record));
}

/** The stored payload for `id`, or null. */
export async function loadShare(id) {
  const record = await run(SHARES, "readonly", (store) => store.get(id));
  return record ? openShare(await wrappingKey(), record) : null;
}

export function deleteShare(id) {
  return run(SHARES, "readwrite", (store) => store.delete(id));
}

/**
 * Keep this member's transport key pair for a key generation `id` (its context in hex):
 * {id, keyPair, publicKey}. The private half stays non-extractable (structured clone);
 * it is needed until every share addressed to the member has been opened.
 */
export function saveTransportKey(id, keyPair, publicKey) {
  return run(TRANSPORT, "readwrite", (store) => store.put({ id, keyPair, publicKey }));
}

/** The stored transport key pair {id, keyPair, publicKey} for `id`, or undefined. */
export function loadTransportKey(id) {
  return run(TRANSPORT, "readonly", (store) => store.get(id));
}

// ---------------------------------------------------------------------------
// The backup file.

async function passphraseKey(passphrase, salt, iterations) {
  // NFC, so that the same passphrase typed on another keyboard or system gives the same bytes.
  const material = await crypto.subtle.importKey(
    "raw",
    utf8(passphrase.normalize("NFC")),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function header(label, iterations, salt, iv) {
  return {
    format: BACKUP_FORMAT,
    version: 1,
    label,
    kdf: { name: "PBKDF2-SHA-256", iterations, salt: b64uEncode(salt) },
    cipher: { name: "AES-256-GCM", iv: b64uEncode(iv) },
  };
}

/**
 * The backup file's text (JSON) for `payload`, protected by `passphrase` (at least
 * MIN_PASSPHRASE_LENGTH characters). `label` is shown to the member and bound to the file.
 */
export async function exportBackup(label, payload, passphrase, iterations = BACKUP_ITERATIONS) {
  if (typeof passphrase !== "string" || [...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new ShareStoreError(
      "weak_passphrase",
      `the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const head = header(String(label), iterations, salt, iv);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(canonicalize(head)) },
    await passphraseKey(passphrase, salt, iterations),
    utf8(canonicalize(payload)),
  );
  return `${JSON.stringify({ ...head, ciphertext: b64uEncode(new Uint8Array(sealed)) }, null, 2)}\n`;
}

/**
 * {label, payload} from a backup file's text. ShareStoreError bad_backup (not such a
 * file, or altered), wrong_passphrase (or a file altered after writing: GCM cannot tell).
 */
export async function importBackup(text, passphrase) {
  const bad = (message) => new ShareStoreError("bad_backup", `backup file: ${message}`);
  let file;
  try {
    file = JSON.parse(text);
  } catch {
    throw bad("not JSON");
  }
  const keys = ["format", "version", "label", "kdf", "cipher", "ciphertext"];
  if (
    typeof file !== "object" ||
    file === null ||
    Object.keys(file).sort().join() !== keys.sort().join()
  ) {
    throw bad(`expected exactly the members ${keys.join(", ")}`);
  }
  if (file.format !== BACKUP_FORMAT || file.version !== 1)
    throw bad("not a version 1 share backup");
  const { kdf, cipher } = file;
  if (
    typeof kdf !== "object" ||
    kdf === null ||
    kdf.name !== "PBKDF2-SHA-256" ||
    Object.keys(kdf).length !== 3 ||
    !Number.isInteger(kdf.iterations) ||
    kdf.iterations < BACKUP_ITERATIONS ||
    kdf.iterations > MAX_BACKUP_ITERATIONS
  ) {
    throw bad(
      `kdf must be PBKDF2-SHA-256 with ${BACKUP_ITERATIONS}..${MAX_BACKUP_ITERATIONS} iterations`,
    );
  }
  if (
    typeof cipher !== "object" ||
    cipher === null ||
    cipher.name !== "AES-256-GCM" ||
    Object.keys(cipher).length !== 2
  ) {
    throw bad("cipher must be AES-256-GCM");
  }
  if (typeof file.label !== "string") throw bad("label must be text");
  let salt;
  let iv;
  let sealed;
  try {
    salt = b64uDecode(kdf.salt, 16);
    iv = b64uDecode(cipher.iv, 12);
    sealed = b64uDecode(file.ciphertext);
  } catch (error) {
    throw bad(error.message);
  }
  const head = header(file.label, kdf.iterations, salt, iv);
  let plain;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: utf8(canonicalize(head)) },
      await passphraseKey(String(passphrase), salt, kdf.iterations),
      sealed,
    );
  } catch {
    throw new ShareStoreError(
      "wrong_passphrase",
      "backup file: the passphrase is wrong, or the file was altered",
    );
  }
  return { label: file.label, payload: JSON.parse(new TextDecoder().decode(plain)) };
}
