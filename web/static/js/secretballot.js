// The voter's secret ballot. The browser checks the vote's definition itself (the
// registry's signature, its fingerprint recomputed, the election key the board's key
// generation gives), then encrypts the choice under that key, proves it well formed,
// signs it with the member's key and casts it; the server sees only the signed
// encrypted ballot. Before casting, the voter may challenge the encryption (cast-or-
// audit, docs/secret-ballots.md §5.5): that ballot goes onto the board, its randomness is
// revealed in a spoiling, the page opens it from the board's copy and shows what it
// contained, and the choice is encrypted afresh. A member may vote again until the close;
// the last ballot not spoiled counts.
import { b64uDecode } from "./kvcrypto.js";
import { SecretApi, format, pageOf, poll, reasonOf, say, signingKey } from "./secretpage.js";
import { ballotToJSON, checkBallot, encryptBallot, openBallot, openingToJSON, parseOpening } from "./secret/ballot.js";
import {
  DOCUMENT,
  documentPayload,
  entryHash,
  keygenEntries,
  marksOf,
  newNonce,
  readRegistrySigned,
  replayBoard,
  signDocument,
} from "./secret/board.js";

const RECEIPT_TYPE = "kvorum.secret-receipt";

const page = pageOf("secret-ballot");
const { text, $ } = page;
const api = new SecretApi(page.election);
let definition = null;
let stored = null;
let voterKey = null;
let pending = null; // {marks, ballot, opening}: encrypted, not yet cast nor challenged
let phase = "";

const message = (m, kind) => say($("message"), m, kind);

function describe(marks) {
  const { form, options } = definition.payload;
  if (form === "approve_each") {
    return options.map((o, i) => `${o} — ${marks[i] ? text.yes : text.no}`).join("; ");
  }
  const chosen = marks.findIndex((m) => m === 1);
  return chosen < 0 ? text.nothing : options[chosen];
}

/** The chosen option indices from the form (one for one_of/yes_no, «за» ones otherwise). */
function chosen() {
  const form = $("choices");
  if (definition.payload.form === "approve_each") {
    return [...form.querySelectorAll('input[value="1"]:checked')].map((b) => Number(b.dataset.option));
  }
  const picked = form.querySelector("input:checked");
  return picked ? [Number(picked.value)] : [];
}

function drawChoices() {
  const { form, options, seats } = definition.payload;
  const box = $("choices");
  const parts = [];
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent =
    form === "approve_each" ? format(text.hint_approve_each, { seats }) : text[`hint_${form}`];
  parts.push(hint);
  options.forEach((option, i) => {
    const row = document.createElement("fieldset");
    row.className = "ballot-row";
    if (form === "approve_each") {
      const legend = document.createElement("legend");
      legend.textContent = option;
      row.append(legend);
      for (const [value, label] of [
        ["1", text.yes],
        ["0", text.no],
      ]) {
        const id = `c-${i}-${value}`;
        const input = document.createElement("input");
        Object.assign(input, { type: "radio", name: `c-${i}`, value, id });
        input.dataset.option = String(i);
        if (value === "0") input.checked = true;
        const lab = document.createElement("label");
        lab.htmlFor = id;
        lab.textContent = label;
        const wrap = document.createElement("span");
        wrap.className = "field-check";
        wrap.append(input, " ", lab);
        row.append(wrap, " ");
      }
    } else {
      const id = `c-${i}`;
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: "choice", value: String(i), id });
      const lab = document.createElement("label");
      lab.htmlFor = id;
      lab.textContent = option;
      row.className = "field-check";
      row.append(input, " ", lab);
    }
    parts.push(row);
  });
  box.replaceChildren(...parts);
}

async function setUp(state) {
  definition = await api.definition(state.definition);
  // The key is the one the commission made: the board's key generation gives it.
  const certificates = await api.certificates();
  const board = await replayBoard(definition, certificates, keygenEntries(await api.entries()));
  if (board.problems.length) throw new Error(board.problems[0].message);
  await board.key();
  $("checked").textContent = format(text.checked, { fingerprint: definition.fingerprint });
  $("checked").dataset.fingerprint = definition.fingerprint;
  stored = await signingKey(page.member);
  if (!stored) {
    $("no-key").hidden = false;
    message(text.no_key, "error");
    return false;
  }
  if (definition.serials.get(stored.serial) !== page.member) {
    $("no-key").hidden = false;
    message(text.key_not_listed, "error");
    return false;
  }
  voterKey = b64uDecode(stored.publicKey, 32);
  drawChoices();
  $("ballot").hidden = false;
  return true;
}

async function encrypt(marks) {
  const made = await encryptBallot(definition.election, voterKey, marks);
  pending = { marks, ...made };
  $("encrypted").hidden = false;
  $("ballot").hidden = true;
  $("encrypted-choice").textContent = format(text.your_choice, { choice: describe(marks) });
  $("encrypted-text").textContent = format(text.encrypted, {
    alpha: ballotToJSON(made.ballot).choices[0].alpha.slice(0, 16),
  });
}

async function castPending() {
  const payload = documentPayload(DOCUMENT.ballot, definition.payload.vote, stored.serial, {
    definition: definition.fingerprint,
    nonce: newNonce(),
    ballot: ballotToJSON(pending.ballot),
  });
  const document = await signDocument(stored, payload);
  const answer = await api.post("ballots", document);
  return { ...answer, signature: document.signature };
}

/**
 * The receipt holds when the registry signed it (kvorum.secret-receipt) for this vote's
 * definition, and the board has, at its seq, an entry of exactly its hash carrying this
 * ballot: what was cast is on the board.
 */
async function checkReceipt(receipt, sentSignature = null) {
  let payload;
  try {
    payload = await readRegistrySigned(receipt, await api.registryKeys(), RECEIPT_TYPE);
  } catch {
    return false;
  }
  if (definition && payload.definition !== definition.fingerprint) return false;
  const [entry] = await api.entries(payload.seq - 1);
  if (!entry || entry.seq !== payload.seq || (await entryHash(entry)) !== payload.entry) return false;
  return sentSignature === null || entry.document.signature === sentSignature;
}

function showReceipt(answer, ok) {
  $("receipt-box").hidden = false;
  $("receipt").textContent = JSON.stringify(answer.receipt, null, 1);
  $("receipt-check").textContent = ok ? text.receipt_ok : text.receipt_bad;
  $("receipt-check").dataset.ok = ok ? "yes" : "no";
  try {
    const { receipt, seq } = answer;
    localStorage.setItem(`kvorum-secret-receipt-${page.election}`, JSON.stringify({ receipt, seq }));
  } catch {
    // storage full or disabled: the receipt is still on the page
  }
}

$("encrypt").addEventListener("click", async () => {
  let marks;
  try {
    marks = marksOf(definition, chosen());
  } catch {
    message(
      definition.payload.form === "approve_each"
        ? format(text.too_many, { seats: definition.payload.seats })
        : text.choose_one,
      "error",
    );
    return;
  }
  message(text.encrypting);
  await encrypt(marks);
  message(text.encrypted_ready, "info");
});

$("change").addEventListener("click", () => {
  pending = null;
  $("encrypted").hidden = true;
  $("ballot").hidden = false;
  message("", "info");
});

$("cast").addEventListener("click", async () => {
  if (!pending) return;
  message(text.sending);
  try {
    const answer = await castPending();
    const choice = describe(pending.marks);
    pending = null;
    $("encrypted").hidden = true;
    $("ballot").hidden = false;
    $("again").hidden = false;
    page.root.dataset.voted = "yes";
    message(format(text.accepted, { seq: answer.seq, choice }), "success");
    showReceipt(answer, await checkReceipt(answer.receipt, answer.signature));
    await tick(); // my own ballot moves the count at once
  } catch (error) {
    message(format(text.refused, { reason: reasonOf(error, text) }), "error");
  }
});

$("challenge").addEventListener("click", async () => {
  if (!pending) return;
  message(text.challenging);
  try {
    const { seq } = await castPending();
    const opening = openingToJSON(pending.opening);
    const spoil = documentPayload(DOCUMENT.spoil, definition.payload.vote, stored.serial, {
      definition: definition.fingerprint,
      ballot_seq: seq,
      opening,
    });
    await api.post("spoils", await signDocument(stored, spoil));
    // Open the board's copy of the ballot, not this page's: what was stored is what counts.
    const [entry] = await api.entries(seq - 1);
    const ballot = await checkBallot(definition.election, voterKey, entry.document.payload.ballot);
    const marks = await openBallot(
      definition.election,
      voterKey,
      ballot,
      parseOpening(opening, definition.form),
    );
    const same = marks.every((m, i) => m === pending.marks[i]);
    const line = $("audit");
    line.hidden = false;
    line.dataset.same = same ? "yes" : "no";
    $("audit-text").textContent = format(same ? text.audit_ok : text.audit_differs, {
      seq,
      choice: describe(marks),
    });
    // Encrypted afresh: the challenged ballot is spoiled and never counted.
    await encrypt(pending.marks);
    message(text.reencrypted, "success");
  } catch (error) {
    message(format(text.refused, { reason: reasonOf(error, text) }), "error");
  }
});

async function tick() {
  try {
    const state = await api.state();
    $("voted-count").textContent = format(text.voted_count, { voted: state.voted.length });
    if (state.phase !== phase) {
      const was = phase;
      phase = state.phase;
      page.root.dataset.phase = phase;
      $("phase").textContent = text[`phase_${phase}`] || phase;
      if (phase === "open" && !definition) {
        if (!state.me.on_roll) {
          message(text.not_on_roll, "error");
          return;
        }
        if (state.me.voted) {
          $("again").hidden = false;
          message(text.voted_before, "info");
        }
        try {
          await setUp(state);
        } catch (error) {
          definition = null;
          phase = ""; // checked again at the next tick
          throw error;
        }
      } else if (phase !== "open" && was === "open") {
        $("ballot").hidden = true;
        $("encrypted").hidden = true;
        message(text.closed, "info");
      } else if (phase !== "open") {
        message(text[`not_open_${phase}`] || text.closed, "info");
      }
    }
  } catch (error) {
    message(format(text.failed, { reason: reasonOf(error, text) }), "error");
  }
}

const saved = localStorage.getItem(`kvorum-secret-receipt-${page.election}`);
if (saved) {
  const answer = JSON.parse(saved);
  showReceipt(answer, await checkReceipt(answer.receipt).catch(() => false));
}
poll(tick, 5);
