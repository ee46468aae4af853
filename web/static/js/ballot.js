// Casting a ballot: the browser builds it, signs it with the member's own key (which
// never leaves this device), sends it, and keeps the signed receipt it gets back.
import { b64uEncode, canonicalize, keyId, sha256, signCanonical, utf8, verifyCanonical } from "./kvcrypto.js";
import { loadKey } from "./keystore.js";

export class NoKeyError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason; // "no_key": none on this device; "not_on_roll": not valid for this vote
  }
}

/** This device's key for ``member`` if it may sign ballots of ``vote``; else NoKeyError. */
export async function usableKey(vote, member) {
  const stored = member && window.indexedDB ? await loadKey(member).catch(() => undefined) : undefined;
  if (!stored) throw new NoKeyError("no_key");
  const listed = (vote.keys && vote.keys[String(member)]) || [];
  // A meeting vote takes only the keys its roll listed when it opened.
  if (vote.kind === "meeting" && !listed.includes(stored.serial)) throw new NoKeyError("not_on_roll");
  return stored;
}

/** Sign and send a ballot; resolves with the server's answer (seq, entry, receipt). */
export async function castBallot(vote, member, choice) {
  const stored = await usableKey(vote, member);
  const payload = {
    type: "kvorum.ballot",
    v: 1,
    vote: vote.vote,
    definition: vote.fingerprint,
    serial: stored.serial,
    choice: [...choice].sort((a, b) => a - b),
    nonce: b64uEncode(crypto.getRandomValues(new Uint8Array(18))),
  };
  return send(vote, stored, payload);
}

/**
 * The secretary's record of a hall member's vote from a show of hands
 * (docs/ballots.md, "Hall records"), signed by the secretary's own key on this device.
 */
export async function recordHallVote(vote, secretary, member, choice) {
  const stored = secretary && window.indexedDB ? await loadKey(secretary).catch(() => undefined) : undefined;
  if (!stored) throw new NoKeyError("no_key");
  const payload = {
    type: "kvorum.hall-record",
    v: 1,
    vote: vote.vote,
    definition: vote.fingerprint,
    serial: stored.serial,
    member,
    choice: [...choice].sort((a, b) => a - b),
    nonce: b64uEncode(crypto.getRandomValues(new Uint8Array(18))),
  };
  return send(vote, stored, payload, false);
}

async function send(vote, stored, payload, keep = true) {
  const envelope = {
    payload,
    signer: await keyId(stored.publicKey),
    signature: await signCanonical(stored.keyPair.privateKey, payload),
  };
  const response = await fetch(`/api/v1/votes/${vote.vote}/ballots`, {
    method: "POST",
    credentials: "omit", // the signature is the authentication
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(envelope),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(answer.message || answer.detail || `HTTP ${response.status}`);
    error.code = answer.error;
    throw error;
  }
  try {
    if (keep) localStorage.setItem(`kvorum-receipt-${vote.vote}`, JSON.stringify(answer.receipt));
  } catch {
    // storage full or disabled: the receipt is still shown on the page
  }
  return answer;
}

export function storedReceipt(voteId) {
  try {
    return JSON.parse(localStorage.getItem(`kvorum-receipt-${voteId}`) || "null");
  } catch {
    return null;
  }
}

/**
 * Check a receipt: signed by a published registry key, and naming an entry that is on
 * the board with exactly that hash. Resolves to {ok, reason}.
 */
export async function checkReceipt(receipt) {
  const keys = await fetch("/registry/keys.json").then((r) => r.json());
  const key = (keys.keys || []).find((k) => k.id === receipt.signer);
  if (!key) return { ok: false, reason: "unknown_key" };
  if (!(await verifyCanonical(key.public_key, receipt.payload, receipt.signature))) {
    return { ok: false, reason: "bad_signature" };
  }
  const { vote, seq, entry } = receipt.payload;
  const response = await fetch(`/api/v1/votes/${vote}/entries/${seq}`, { credentials: "same-origin" });
  if (!response.ok) return { ok: false, reason: "missing" };
  const found = await response.json();
  const digest = await sha256(utf8(found.entry));
  const address = "sha256:" + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  // The entry is canonical JSON: re-encoding it must give the same bytes.
  if (canonicalize(JSON.parse(found.entry)) !== found.entry) return { ok: false, reason: "not_canonical" };
  return address === entry ? { ok: true, reason: "" } : { ok: false, reason: "hash_differs" };
}

/** Draw the options as buttons (one choice) or checkboxes (several). */
export function drawChoice(container, vote, texts, onCast) {
  const form = document.createElement("form");
  const multiple = vote.max_choices > 1;
  // Several choices: one checkbox a line, the button under them.
  form.className = multiple ? "ballot ballot-multiple" : "ballot";
  vote.options.forEach((option, index) => {
    const number = index + 1;
    if (multiple) {
      const label = document.createElement("label");
      label.className = "check";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = String(number);
      box.name = "choice";
      label.append(box, " ", option);
      form.append(label);
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-secondary btn-vote";
      button.dataset.option = String(number);
      button.textContent = option;
      button.addEventListener("click", () => onCast([number]));
      form.append(button, " ");
    }
  });
  if (multiple) {
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.className = "btn btn-primary";
    submit.textContent = texts.cast;
    form.append(submit);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      onCast([...form.querySelectorAll("input:checked")].map((b) => Number(b.value)));
    });
  }
  container.replaceChildren(form);
}

/** The result: counts per option, the verdict and, for an open vote, who voted how. */
export function drawResult(container, vote, texts) {
  const result = vote.result;
  const parts = [];
  const list = document.createElement("ul");
  list.className = "result-counts";
  vote.options.forEach((option, index) => {
    const li = document.createElement("li");
    li.textContent = `${option}: ${result.counts[index]}`;
    list.append(li);
  });
  parts.push(list);
  const verdict = document.createElement("p");
  verdict.className = "result-verdict";
  verdict.dataset.adopted = String(result.adopted);
  verdict.textContent =
    result.adopted === null ? texts.no_decision : result.adopted ? texts.adopted : texts.rejected;
  parts.push(verdict);
  if (result.roll_call) {
    const table = document.createElement("table");
    table.className = "roll-call";
    const byName = [...result.roll_call].sort((a, b) => a.name.localeCompare(b.name, "ru"));
    for (const row of byName) {
      const tr = document.createElement("tr");
      const who = document.createElement("td");
      who.textContent = row.name;
      if ((vote.recorded || []).includes(row.member) && texts.hall_mark) {
        const mark = document.createElement("span");
        mark.className = "hint";
        mark.dataset.role = "hall-recorded";
        mark.textContent = ` (${texts.hall_mark})`;
        who.append(mark);
      }
      const how = document.createElement("td");
      how.textContent = row.choice.map((n) => vote.options[n - 1]).join(", ");
      tr.append(who, how);
      table.append(tr);
    }
    parts.push(table);
  }
  container.replaceChildren(...parts);
}
