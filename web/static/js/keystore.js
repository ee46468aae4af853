// The member's signing key in this browser: an Ed25519 CryptoKeyPair whose private half
// is non-extractable, kept in IndexedDB (structured clone keeps it non-extractable:
// script on this origin can use it to sign, nobody can read it out).

const DB_NAME = "kvorum";
const STORE = "signing-keys";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "member" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run(mode, action) {
  return open().then(
    (db) =>
      new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = action(tx.objectStore(STORE));
        tx.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        tx.onerror = () => reject(tx.error);
      }),
  );
}

/** The stored key of a member on this device: {member, keyPair, publicKey, serial, certificate}. */
export function loadKey(member) {
  return run("readonly", (store) => store.get(member));
}

export function saveKey(record) {
  return run("readwrite", (store) => store.put(record));
}

export function deleteKey(member) {
  return run("readwrite", (store) => store.delete(member));
}
