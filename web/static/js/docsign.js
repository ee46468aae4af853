// Signing a document's record in the browser, with the member's own key (which never
// leaves this device). Before signing, the browser checks for itself that the record
// it is shown names exactly the PDF it downloads: its SHA-256 and its length.
import { canonicalizeSigned, keyId, sha256, signCanonical, utf8 } from "./kvcrypto.js";
import { loadKey } from "./keystore.js";
import { getJSON, postJSON } from "./http.js";

const root = document.getElementById("sign");

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Sign the document's record as the role the server says is next; resolves with the answer. */
export async function signDocument(documentId, member) {
  const request = await getJSON(`/api/v1/documents/${documentId}/signing`);
  const digest = "sha256:" + hex(await sha256(utf8(canonicalizeSigned(request.record))));
  if (digest !== request.record_digest) throw Object.assign(new Error("record"), { code: "pdf_mismatch" });
  const pdf = new Uint8Array(await (await fetch(request.pdf, { credentials: "same-origin" })).arrayBuffer());
  if (pdf.length !== request.record.pdf.length || hex(await sha256(pdf)) !== request.record.pdf.sha256) {
    throw Object.assign(new Error("pdf"), { code: "pdf_mismatch" });
  }
  const stored = member && window.indexedDB ? await loadKey(member).catch(() => undefined) : undefined;
  if (!stored) throw Object.assign(new Error("no key"), { code: "no_key" });
  const payload = {
    type: "kvorum.document-signature",
    v: 1,
    record: request.record_digest,
    role: request.role,
    member: request.member,
    serial: stored.serial,
    previous: request.previous,
    signed_at: request.now, // the server's clock: a browser's may run ahead
  };
  const envelope = {
    payload,
    signer: await keyId(stored.publicKey),
    signature: await signCanonical(stored.keyPair.privateKey, payload),
  };
  return postJSON(`/api/v1/documents/${documentId}/signatures`, envelope);
}

if (root) {
  const text = JSON.parse(root.dataset.texts);
  const button = root.querySelector('[data-role="sign"]');
  const status = root.querySelector('[data-role="status"]');
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = text.signing;
    try {
      await signDocument(root.dataset.document, Number(root.dataset.member));
      status.textContent = text.signed;
      window.location.reload();
    } catch (error) {
      status.textContent = text[error.code] || `${text.refused} ${error.message}`;
      button.disabled = false;
    }
  });
}
