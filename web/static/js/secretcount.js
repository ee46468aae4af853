// The count page of a counting-commission member, after the close. The browser reads the
// whole board itself — the chain, every signature against the roll's certificates, the key
// generation, every ballot's proofs, the spoilings (never counted), each voter's last
// ballot — sums the counted ballots homomorphically, and makes this member's partial
// decryption with its proof from the share kept in this browser (or restored from the
// backup file); it signs and sends it. Once t members have, the server combines them and
// the page shows the result, after combining the posted partials itself and comparing.
import { SecretApi, format, pageOf, poll, reasonOf, say, signingKey } from "./secretpage.js";
import { combine, partialDecrypt, partialToJSON } from "./secret/ballot.js";
import {
  DOCUMENT,
  RESULT_TYPE,
  documentPayload,
  readRegistrySigned,
  replayBoard,
  signDocument,
} from "./secret/board.js";
import { DiscreteLogTable } from "./secret/elgamal.js";
import { base, parseScalar } from "./secret/group.js";
import { importBackup, loadShare, storeShare } from "./secret/sharestore.js";

const page = pageOf("secret-count");
const { text, $ } = page;
const api = new SecretApi(page.election);
let checked = null; // {definition, board, key, totals}
let shown = "";
let busy = false;

const message = (m, kind) => say($("message"), m, kind);

async function checkBoard(state) {
  const definition = await api.definition(state.definition);
  const certificates = await api.certificates();
  const board = await replayBoard(definition, certificates, await api.entries());
  const list = $("problems");
  if (board.problems.length) {
    list.hidden = false;
    list.replaceChildren(
      ...board.problems.map((p) => {
        const li = document.createElement("li");
        li.textContent = p.message;
        return li;
      }),
    );
    page.root.dataset.board = "bad";
    throw new Error(format(text.board_bad, { count: board.problems.length }));
  }
  const key = await board.key();
  const totals = board.totals();
  page.root.dataset.board = "ok";
  $("board").textContent = format(text.board_ok, {
    length: board.length,
    counted: board.countedSeqs().length,
    spoiled: board.spoiled.size,
    voters: board.history.size,
  });
  return { definition, board, key, totals };
}

async function myShare(definition, key, me) {
  const held = await loadShare(definition.contextHex).catch(() => null);
  if (!held || held.member !== me) return null;
  const share = parseScalar(held.share);
  if (!base(share).equals(key.verificationKeys.get(me))) throw new Error(text.share_mismatch);
  return share;
}

function drawProgress(state) {
  const done = state.commission.filter((m) => m.decrypted);
  $("progress").textContent = format(text.progress, {
    done: done.length,
    t: state.threshold,
    n: state.commission.length,
    names: done.map((m) => m.name).join(", ") || "—",
  });
}

async function drawResult(state, definition, board, key, totals) {
  const keys = await api.registryKeys();
  const result = await readRegistrySigned(state.result, keys, RESULT_TYPE, "result");
  // The counts again, here: the posted partial decryptions combined in this browser.
  const counts = await combine(
    definition.election,
    key,
    totals,
    board.partials,
    new DiscreteLogTable(Math.max(new Set(definition.serials.values()).size, 1)),
  );
  const agrees =
    result.definition === definition.fingerprint &&
    counts.length === result.counts.length &&
    counts.every((c, i) => c === result.counts[i]) &&
    result.took_part === board.countedSeqs().length;
  const { form, options } = definition.payload;
  const took = result.took_part;
  const rows = options.map((option, i) => {
    const tr = document.createElement("tr");
    tr.dataset.option = String(i);
    const cells = [option, String(result.counts[i])];
    if (form === "approve_each") cells.push(String(took - result.counts[i]));
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  });
  $("result-rows").replaceChildren(...rows);
  $("against-head").hidden = form !== "approve_each";
  $("result-head").textContent = form === "approve_each" ? text.col_for : text.col_votes;
  const outcome = result.outcome;
  const lines = [format(text.took_part, { took, roll: new Set(definition.serials.values()).size })];
  if (form === "yes_no") {
    lines.push(outcome.adopted ? text.adopted : text.not_adopted);
  } else {
    if (!outcome.valid) lines.push(text.invalid);
    const names = (list) => list.map((i) => options[i]).join(", ");
    lines.push(outcome.elected.length ? format(text.elected, { names: names(outcome.elected) }) : text.none_elected);
    if (outcome.tied.length) {
      lines.push(format(text.tied, { names: names(outcome.tied), seats: outcome.tied_seats }));
    }
    if (outcome.vacant) lines.push(format(text.vacant, { seats: outcome.vacant }));
  }
  lines.push(agrees ? text.result_checked : text.result_differs);
  $("outcome").replaceChildren(
    ...lines.map((l) => {
      const p = document.createElement("p");
      p.textContent = l;
      return p;
    }),
  );
  $("result").hidden = false;
  $("result").dataset.checked = agrees ? "yes" : "no";
  page.root.dataset.counted = "yes";
}

async function tick() {
  if (busy) return;
  busy = true;
  try {
    const state = await api.state();
    page.root.dataset.phase = state.phase;
    $("phase").textContent = text[`phase_${state.phase}`] || state.phase;
    if (state.phase !== "closed" && state.phase !== "counted") {
      message(text.not_closed, "info");
      return;
    }
    drawProgress(state);
    const key = `${state.phase}:${state.length}:${state.commission.filter((m) => m.decrypted).length}`;
    if (key === shown) return;
    shown = key;
    checked = await checkBoard(state);
    const me = state.me.index;
    if (state.phase === "counted") {
      $("decrypt-box").hidden = true;
      await drawResult(state, checked.definition, checked.board, checked.key, checked.totals);
      message(text.counted, "success");
      return;
    }
    if (me === null) {
      message(text.not_member, "info");
      return;
    }
    if (state.commission.find((m) => m.index === me).decrypted) {
      $("decrypt-box").hidden = true;
      message(text.already, "success");
      return;
    }
    const share = await myShare(checked.definition, checked.key, me);
    $("decrypt-box").hidden = false;
    $("restore").hidden = share !== null;
    $("decrypt").hidden = share === null;
    message(share === null ? text.no_share : text.ready, share === null ? "error" : "info");
  } catch (error) {
    shown = "";
    message(format(text.failed, { reason: reasonOf(error, text) }), "error");
  } finally {
    busy = false;
  }
}

$("restore-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const line = $("restore-message");
  const file = $("backup-file").files[0];
  if (!file || !checked) return;
  say(line, text.restoring);
  try {
    const { payload } = await importBackup(await file.text(), $("restore-passphrase").value);
    if (payload.context_hex !== checked.definition.contextHex) throw new Error(text.other_election);
    await storeShare(payload.context_hex, payload);
    say(line, text.restored, "success");
    shown = "";
    await tick();
  } catch (error) {
    say(line, format(text.failed, { reason: reasonOf(error, text) }), "error");
  }
});

$("decrypt").addEventListener("click", async () => {
  if (!checked) return;
  message(text.decrypting);
  try {
    const state = await api.state();
    const me = state.me.index;
    const share = await myShare(checked.definition, checked.key, me);
    const stored = await signingKey(page.member);
    if (!stored) throw new Error(text.no_key);
    const partial = await partialDecrypt(checked.definition.election, me, share, checked.totals);
    const payload = documentPayload(DOCUMENT.partial, checked.definition.payload.vote, stored.serial, {
      definition: checked.definition.fingerprint,
      partial: partialToJSON(partial),
    });
    await api.post("partials", await signDocument(stored, payload));
    $("decrypt-box").hidden = true;
    message(text.sent, "success");
    shown = "";
    await tick();
  } catch (error) {
    message(format(text.failed, { reason: reasonOf(error, text) }), "error");
  }
});

poll(tick, 4);
