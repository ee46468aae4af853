// "Signing keys" on the sign-in page: make this device's key and have it certified.
import { exportPublicKey, generateSigningKey, signCanonical } from "./kvcrypto.js";
import { postJSON } from "./http.js";
import { loadKey, saveKey } from "./keystore.js";

const panel = document.getElementById("signing-keys");
const message = panel.querySelector('[data-role="message"]');
const button = panel.querySelector('[data-action="create-key"]');
const member = Number(panel.dataset.member || 0);

/** Mark this device's row; true when this device holds a key that is still valid. */
async function markThisDevice() {
  const stored = member ? await loadKey(member) : undefined;
  if (!stored) return false;
  for (const row of panel.querySelectorAll("tr[data-public-key]")) {
    if (row.dataset.publicKey === stored.publicKey) {
      row.querySelector('[data-role="device-mark"]').textContent = panel.dataset.onDevice;
      return row.dataset.revoked !== "yes";
    }
  }
  return false;
}

/** Make a key pair, prove possession over the server's challenge, store the result. */
async function createKey() {
  const keyPair = await generateSigningKey(); // private key: non-extractable
  const publicKey = await exportPublicKey(keyPair.publicKey);
  const challenge = await postJSON("/api/v1/keys/challenge");
  // The same canonical object the server rebuilds in enrolment_message().
  const signature = await signCanonical(keyPair.privateKey, {
    type: challenge.type,
    v: 1,
    challenge: challenge.challenge,
    member: challenge.member_id,
    public_key: publicKey,
  });
  const answer = await postJSON("/api/v1/keys", {
    challenge_id: challenge.challenge_id,
    public_key: publicKey,
    signature,
    label: navigator.userAgentData?.platform || navigator.platform || "",
  });
  await saveKey({
    member: challenge.member_id,
    keyPair,
    publicKey,
    serial: answer.key.serial,
    certificate: answer.certificate,
  });
  return answer;
}

const hasValidKey = await markThisDevice().catch(() => false);
// One valid key per device: a new one is offered only when this device has none.
if (button && member && !hasValidKey && window.crypto?.subtle && window.indexedDB) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    message.textContent = "";
    try {
      await createKey();
      message.textContent = panel.dataset.created;
      window.location.reload();
    } catch (error) {
      message.textContent = panel.dataset.failed.replace("{reason}", error.message || error.name);
      button.disabled = false;
    }
  });
}
panel.dataset.hasKey = hasValidKey ? "yes" : "no";
