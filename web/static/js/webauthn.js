// WebAuthn ceremonies: the server sends options as JSON (binary fields base64url),
// the browser's navigator.credentials works with ArrayBuffers; these convert both ways.
import { postJSON } from "./http.js";

function fromB64u(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
}

function toB64u(buffer) {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function supported() {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

function descriptors(list) {
  return (list || []).map((d) => ({ ...d, id: fromB64u(d.id) }));
}

/** Create a passkey for the logged-in account and register it with the server. */
export async function registerPasskey(label) {
  const { challenge_id: challengeId, options } = await postJSON("/api/v1/auth/passkeys/options");
  const credential = await navigator.credentials.create({
    publicKey: {
      ...options,
      challenge: fromB64u(options.challenge),
      user: { ...options.user, id: fromB64u(options.user.id) },
      excludeCredentials: descriptors(options.excludeCredentials),
    },
  });
  const response = credential.response;
  return postJSON("/api/v1/auth/passkeys", {
    challenge_id: challengeId,
    label: label || "",
    credential: {
      id: credential.id,
      rawId: toB64u(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toB64u(response.clientDataJSON),
        attestationObject: toB64u(response.attestationObject),
        transports: response.getTransports ? response.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment,
    },
  });
}

/** Log in with any passkey of this site; resolves with where to go next. */
export async function loginWithPasskey() {
  const { challenge_id: challengeId, options } = await postJSON("/api/v1/auth/login/options");
  const credential = await navigator.credentials.get({
    publicKey: {
      ...options,
      challenge: fromB64u(options.challenge),
      allowCredentials: descriptors(options.allowCredentials),
    },
  });
  const response = credential.response;
  return postJSON("/api/v1/auth/login", {
    challenge_id: challengeId,
    credential: {
      id: credential.id,
      rawId: toB64u(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toB64u(response.clientDataJSON),
        authenticatorData: toB64u(response.authenticatorData),
        signature: toB64u(response.signature),
        userHandle: response.userHandle ? toB64u(response.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment,
    },
  });
}
