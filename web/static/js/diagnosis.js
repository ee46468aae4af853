// The self-diagnosis questionnaire: «Подписать и отправить» saves what is typed, signs
// the saved answers with the responder's own key on this device (it never leaves the
// browser) and sends the statement, as a ballot is sent. The format is
// meetings/diagnosis/statement.py's kvorum.diagnosis-submission, v1: the server gives
// everything but the key's serial and the moment of signing.
import { postJSON } from "./http.js";
import { keyId, signCanonical } from "./kvcrypto.js";
import { loadKey } from "./keystore.js";

/** "YYYY-MM-DDTHH:MM:SSZ": the one spelling of an instant in signed payloads. */
function instant(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The answers typed in the form, as the API takes them (null clears one). */
function answersOf(form) {
  const answers = {};
  for (const field of form.querySelectorAll("[data-question]")) {
    const code = field.dataset.question;
    const type = field.dataset.type;
    const name = `q:${code}`;
    if (type === "file") continue;
    if (type === "yes_no") {
      const checked = form.querySelector(`input[name="${CSS.escape(name)}"]:checked`);
      answers[code] = checked ? checked.value === "yes" : null;
      continue;
    }
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const raw = input ? input.value.trim() : "";
    if (!raw) answers[code] = null;
    else if (type === "scale" || type === "number") answers[code] = Number.parseInt(raw, 10);
    else answers[code] = raw;
  }
  return answers;
}

async function setUp(form) {
  const texts = JSON.parse(form.dataset.texts);
  const $ = (role) => form.querySelector(`[data-role="${role}"]`);
  const button = $("submit");
  const message = $("message");
  if (!button) return;
  const member = Number(form.dataset.member || 0);
  const stored =
    member && window.indexedDB && window.crypto?.subtle
      ? await loadKey(member).catch(() => undefined)
      : undefined;
  if (!stored) {
    $("no-key").hidden = false;
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    message.className = "";
    message.textContent = texts.saving;
    try {
      const saved = await postJSON(form.dataset.saveUrl, { answers: answersOf(form) });
      message.textContent = texts.signing;
      const payload = {
        ...saved.template,
        serial: stored.serial,
        submitted_at: instant(new Date()),
      };
      const envelope = {
        payload,
        signer: await keyId(stored.publicKey),
        signature: await signCanonical(stored.keyPair.privateKey, payload),
      };
      await postJSON(form.dataset.submitUrl, envelope);
      message.textContent = texts.done;
      message.className = "success-message";
      form.dataset.state = "submitted";
      window.location.assign(`${window.location.pathname}?done=submitted`);
    } catch (error) {
      message.textContent = texts.refused.replace("{reason}", error.message);
      message.className = "field-error";
      button.disabled = false;
    }
  });
}

for (const form of document.querySelectorAll("[data-diagnosis]")) {
  setUp(form).catch((error) => {
    const message = form.querySelector('[data-role="message"]');
    if (message) message.textContent = error.message;
  });
}
