// What the secret vote's three pages (key, ballot, count) share: reading the vote's state
// and board from /api/v1/elections/{id}/secret…, the registry's published keys, the
// member's signing key on this device, and saying things in the page's language.
import { getJSON, postJSON } from "./http.js";
import { loadKey } from "./keystore.js";
import { readCertificates, readDefinition } from "./secret/board.js";

/** The page's root element, its texts and its election. */
export function pageOf(id) {
  const root = document.getElementById(id);
  return {
    root,
    text: JSON.parse(root.dataset.texts),
    election: Number(root.dataset.election),
    member: Number(root.dataset.member || 0),
    $: (role) => root.querySelector(`[data-role="${role}"]`),
  };
}

export function format(template, values = {}) {
  return String(template ?? "").replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

/** Write a line of the page: a success, an error (an alert) or a hint. */
export function say(line, message, kind = "info") {
  if (!line) return;
  line.textContent = message;
  line.className = { success: "success-message", error: "field-error", info: "hint" }[kind];
  line.setAttribute("role", kind === "error" ? "alert" : "status");
  line.dataset.kind = kind;
}

/** A refusal in the reader's language: the server's Russian message, or the reason's text. */
export function reasonOf(error, text) {
  const reason = error?.answer?.reason || error?.answer?.error || error?.reason || "";
  return text[`reason_${reason}`] || error?.message || String(error);
}

export class SecretApi {
  constructor(election) {
    this.base = `/api/v1/elections/${election}/secret`;
    this.keys = null;
  }

  state() {
    return getJSON(this.base);
  }

  /** Every board entry after `after`, page by page (the server gives at most 1000 at once). */
  async entries(after = 0) {
    const out = [];
    for (;;) {
      const { entries } = await getJSON(`${this.base}/entries?after=${after + out.length}`);
      out.push(...entries);
      if (entries.length < 1000) return out;
    }
  }

  async registryKeys() {
    if (!this.keys) this.keys = (await getJSON("/registry/keys.json")).keys || [];
    return this.keys;
  }

  async certificates() {
    return readCertificates(await getJSON(`${this.base}/certificates`), await this.registryKeys());
  }

  async definition(envelope, draft = false) {
    return readDefinition(envelope, await this.registryKeys(), { draft });
  }

  shares() {
    return getJSON(`${this.base}/shares`);
  }

  post(path, body) {
    return postJSON(`${this.base}/${path}`, body);
  }
}

/** The member's signing key on this device, or null. */
export async function signingKey(member) {
  if (!member || !window.indexedDB) return null;
  return (await loadKey(member).catch(() => undefined)) || null;
}

/** Poll `tick` every `seconds` (the pages poll; the first tick runs now). */
export function poll(tick, seconds) {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await tick();
    } finally {
      running = false;
    }
  };
  run();
  return setInterval(run, seconds * 1000);
}
