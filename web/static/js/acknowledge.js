// «Ознакомлен»: the member states, signed with their own key on this device (it never
// leaves the browser), that they have read a document — for themselves or for the
// organisation they act for — and sends the statement. The server fixed everything in
// the payload but the key's serial and the moment, which only this device knows.
// The format is meetings/docsign.py's kvorum.document-acknowledgement, v1.
import { postJSON } from "./http.js";
import { keyId, signCanonical } from "./kvcrypto.js";
import { loadKey } from "./keystore.js";

// The server refuses a statement signed with a key it no longer accepts for these
// reasons: the member needs a fresh key, as when there is none.
const KEY_REASONS = new Set(["unknown_key", "wrong_key", "revoked", "expired", "not_yet_valid"]);

/** "YYYY-MM-DDTHH:MM:SSZ": the one spelling of an instant in signed payloads. */
function instant(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

/** This device's key for ``member``, or undefined (none, or no WebCrypto/IndexedDB). */
async function storedKey(member) {
  if (!member || !window.indexedDB || !window.crypto?.subtle) return undefined;
  return loadKey(member).catch(() => undefined);
}

/** Sign the statement with the stored key and post it; resolves with the server's answer. */
async function acknowledge(root, stored) {
  const payload = {
    ...JSON.parse(root.dataset.payload),
    serial: stored.serial,
    acknowledged_at: instant(new Date()),
  };
  const envelope = {
    payload,
    signer: await keyId(stored.publicKey),
    signature: await signCanonical(stored.keyPair.privateKey, payload),
  };
  return postJSON(root.dataset.url, envelope);
}

async function setUp(root) {
  const texts = JSON.parse(root.dataset.texts);
  const $ = (role) => root.querySelector(`[data-role="${role}"]`);
  const button = $("acknowledge");
  const message = $("message");
  const stored = await storedKey(Number(root.dataset.member || 0));
  if (!stored) {
    $("no-key").hidden = false;
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    message.textContent = texts.signing;
    try {
      const answer = await acknowledge(root, stored);
      button.hidden = true;
      root.dataset.state = "acknowledged";
      // The organisation's time, as the pages show every time, not this device's.
      const when = new Date(answer.acknowledged_at).toLocaleString("ru-RU", {
        timeZone: root.dataset.zone,
        dateStyle: "short",
        timeStyle: "short",
      });
      message.textContent = format(texts.done, { when: `${when} (${root.dataset.zoneLabel})` });
      message.className = "success-message";
    } catch (error) {
      const code = error.answer?.error;
      if (code === "already_acknowledged") {
        button.hidden = true;
        message.textContent = texts.already;
        return;
      }
      message.textContent = format(KEY_REASONS.has(code) ? texts.key_refused : texts.refused, {
        reason: error.message,
      });
      if (KEY_REASONS.has(code)) $("no-key").hidden = false;
      button.disabled = false;
    }
  });
}

for (const root of document.querySelectorAll("[data-acknowledge]")) {
  setUp(root).catch((error) => {
    root.querySelector('[data-role="message"]').textContent = error.message;
  });
}
