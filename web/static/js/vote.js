// A vote's page: cast or change a ballot while the vote is open, see the receipt and
// check it against the board.
import { getJSON } from "./http.js";
import { NoKeyError, castBallot, checkReceipt, drawChoice, storedReceipt, usableKey } from "./ballot.js";

const root = document.getElementById("vote");
const text = JSON.parse(root.dataset.texts);
const member = Number(root.dataset.member || 0);
const $ = (role) => root.querySelector(`[data-role="${role}"]`);
let vote = JSON.parse(root.dataset.vote);

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function choiceText(choice) {
  return choice.map((n) => vote.options[n - 1]).join(", ");
}

function drawMine(mine) {
  const line = $("mine");
  if (!line) return;
  const template = vote.state === "open" ? text.your_choice : text.your_final_choice;
  line.textContent = mine ? format(template, { choice: choiceText(mine.choice), seq: mine.seq }) : text.not_voted;
  line.dataset.seq = mine ? String(mine.seq) : "";
  if (mine) root.dataset.voted = "yes";
}

// The line under the ballot: a success looks like one, a refusal like an error.
function say(message, kind) {
  const line = $("message");
  line.textContent = message;
  line.className = { success: "success-message", error: "field-error", info: "hint" }[kind];
  line.setAttribute("role", kind === "error" ? "alert" : "status");
  line.dataset.kind = kind;
}

async function cast(choice) {
  say(text.sending, "info");
  try {
    const answer = await castBallot(vote, member, choice);
    vote.mine = { seq: answer.seq, choice: answer.choice, receipt: answer.receipt };
    drawMine(vote.mine);
    say(format(text.accepted, { seq: answer.seq }), "success");
    $("receipt").textContent = JSON.stringify(answer.receipt, null, 1);
    await refresh(); // my own ballot moves the count at once
  } catch (error) {
    say(format(text.refused, { reason: error.message }), "error");
  }
}

async function setUp() {
  drawMine(vote.mine);
  if (vote.mine?.receipt) $("receipt").textContent = JSON.stringify(vote.mine.receipt, null, 1);
  if (vote.state !== "open" || !vote.on_roll || !$("choices")) return;
  try {
    await usableKey(vote, member);
    drawChoice($("choices"), vote, text, cast);
  } catch (error) {
    if (!(error instanceof NoKeyError)) throw error;
    $("no-key").hidden = false;
    $("no-key-text").textContent = error.reason === "no_key" ? text.no_key : text.key_not_listed;
  }
}

async function refresh() {
  if (vote.state !== "open") return;
  try {
    const fresh = await getJSON(`/api/v1/votes/${vote.vote}`);
    if (fresh.state !== vote.state) window.location.reload();
    $("cast").textContent = format(text.cast_count, { cast: fresh.cast, roll: fresh.roll.length });
    if (fresh.mine && !vote.mine) {
      vote.mine = fresh.mine;
      drawMine(vote.mine);
    }
  } catch {
    // offline for a moment: try again at the next tick
  }
}

$("check")?.addEventListener("click", async () => {
  const receipt = vote.mine?.receipt || storedReceipt(vote.vote);
  const line = $("check-result");
  if (!receipt) {
    line.textContent = text.no_receipt;
    return;
  }
  const verdict = await checkReceipt(receipt).catch((error) => ({ ok: false, reason: error.message }));
  // The checker's reason codes, said in the page's language.
  const reason = text[`receipt_${verdict.reason}`] || verdict.reason;
  line.textContent = verdict.ok ? text.receipt_ok : format(text.receipt_bad, { reason });
  line.dataset.ok = verdict.ok ? "yes" : "no";
});

await setUp();
setInterval(refresh, 10000);
