// The live meeting room: one WebSocket to the server, which sends a snapshot and then
// numbered events; on a dropped connection it reconnects and resumes after the last
// event it saw, so nothing is lost or applied twice.
import { NoKeyError, castBallot, drawChoice, drawResult, recordHallVote, usableKey } from "./ballot.js";
import { getJSON, postJSON } from "./http.js";
import { createVideoRoom } from "./video.js";

const root = document.getElementById("room");
const meetingId = Number(root.dataset.meeting);
const me = Number(root.dataset.member || 0);
const roles = new Set((root.dataset.roles || "").split(" ").filter(Boolean));
const text = JSON.parse(root.dataset.texts);
const $ = (role) => root.querySelector(`[data-role="${role}"]`);

let socket = null;
let lastSeq = 0;
let state = null; // the snapshot, kept current by events
let nextId = 1;
let retry = 0;
let countdown = null;

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

// Actions sent and the element that asked for each: a refusal is shown next to it, an
// acknowledgement may be shown there too ("Сохранено").
const pending = new Map(); // id -> { anchor, onAck }

// Sends an action; returns its id (undefined when the socket is not open).
function send(action, fields = {}, anchor = null, onAck = null) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return undefined;
  const id = nextId++;
  if (anchor) pending.set(id, { anchor, onAck });
  socket.send(JSON.stringify({ id, action, ...fields }));
  return id;
}

// A message in the panel of the element that caused it (or at the foot of the room when
// the element is gone): a refusal as an error, a success as a success.
function say(anchor, message, kind = "error") {
  const panel = anchor?.isConnected ? anchor.closest("section") : null;
  let line = panel ? panel.querySelector(":scope > [data-role=panel-message]") : $("error");
  if (panel && !line) {
    line = document.createElement("p");
    line.dataset.role = "panel-message";
    panel.append(line);
  }
  line.className = kind === "error" ? "field-error" : "success-message";
  line.setAttribute("role", kind === "error" ? "alert" : "status");
  line.textContent = message;
}

function clearSaid(anchor) {
  const panel = anchor?.closest("section");
  const line = panel?.querySelector(":scope > [data-role=panel-message]");
  if (line) line.textContent = "";
}

// The video room rides on this socket: it sends through send() and gets the media frames.
// (A closed meeting's page has no video panel.)
const videoPanel = document.getElementById("video");
const video = videoPanel ? createVideoRoom(videoPanel, { send, roles, me }) : null;

function person(memberId) {
  return state.people.find((p) => p.member === memberId);
}

// --- applying events -------------------------------------------------------------------

function apply(event) {
  const data = event.data || {};
  switch (event.kind) {
    case "presence.arrived":
    case "presence.left": {
      const here = event.kind === "presence.arrived";
      let p = person(data.member);
      if (!p) {
        p = { member: data.member, name: data.name, in_body: false, online: false, in_person: false };
        state.people.push(p);
      }
      if (data.mode === "in_person") p.in_person = here;
      else p.online = here;
      break;
    }
    case "quorum":
      state.quorum = data;
      break;
    case "floor.raised":
      if (!state.floor.some((r) => r.request === data.request)) {
        state.floor.push({ request: data.request, member: data.member, name: data.name, state: "waiting" });
      }
      break;
    case "floor.lowered":
    case "floor.ended":
      state.floor = state.floor.filter((r) => r.request !== data.request);
      break;
    case "floor.granted":
      for (const r of state.floor) if (r.state === "speaking") r.state = "done";
      state.floor = state.floor.filter((r) => r.state !== "done");
      for (const r of state.floor) {
        if (r.request === data.request) Object.assign(r, { state: "speaking", ends_at: data.ends_at });
      }
      break;
    case "agenda.current":
      state.current_item = data.item;
      fillNotes();
      break;
    case "meeting.state":
      state.state = data.to;
      if (data.current_item) {
        state.current_item = data.current_item;
        fillNotes();
      }
      if (data.to === "closed") video?.closed();
      break;
    case "agenda.changed":
      window.location.reload();
      break;
    case "vote.opened":
    case "vote.closed": {
      state.votes = (state.votes || []).filter((v) => v.vote !== data.vote);
      state.votes.push(data);
      break;
    }
    case "election.state": {
      // An election's secret vote opened or closed: no open vote while one is open.
      const open = new Set(state.secret_open || []);
      if (data.to === "open") open.add(data.election);
      else open.delete(data.election);
      state.secret_open = [...open];
      break;
    }
    case "vote.progress":
      for (const v of state.votes || []) if (v.vote === data.vote) v.cast = data.cast;
      break;
    default:
      break;
  }
}

// --- drawing ---------------------------------------------------------------------------------

function render() {
  if (!state) return;
  const q = state.quorum;
  const panel = $("quorum");
  $("quorum-line").textContent = format(text.present, q);
  $("quorum-verdict").textContent = q.met ? text.met : text.lost;
  panel.classList.toggle("quorum-ok", q.met);
  panel.classList.toggle("quorum-lost", !q.met);
  panel.dataset.met = q.met ? "yes" : "no";
  $("state").textContent = text[`state_${state.state}`] || state.state;
  $("state").dataset.state = state.state;
  root.dataset.state = state.state;
  const closed = state.state === "closed";
  const live = state.state === "registration" || state.state === "in_session";
  // Before the session and after it nothing is moved, noted or controlled: no empty panels.
  for (const button of root.querySelectorAll("[data-action=set-item]")) button.hidden = !live;
  const notesPanel = $("notes-panel");
  if (notesPanel) notesPanel.hidden = !live || !state.current_item;
  // The floor exists once the session is open; before it there is nobody to give it to.
  $("floor-panel").hidden = !live && !state.floor.length;

  for (const li of root.querySelectorAll("[data-role=agenda] li")) {
    const current = Number(li.dataset.item) === state.current_item;
    li.classList.toggle("current", current);
    if (current) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }

  const people = $("people");
  people.replaceChildren(
    ...state.people
      .filter((p) => p.in_body)
      .map((p) => {
        const li = document.createElement("li");
        const present = p.online || p.in_person;
        li.className = present ? "present" : "absent";
        li.dataset.member = p.member;
        const where = [p.online ? text.online : "", p.in_person ? text.in_person : ""].filter(Boolean);
        li.textContent = `${p.name} — ${where.length ? where.join(", ") : text.absent}`;
        if ((roles.has("secretary") || roles.has("chair")) && live) {
          const mark = document.createElement("button");
          mark.type = "button";
          mark.className = "btn btn-secondary btn-small";
          mark.textContent = p.in_person ? text.mark_out : text.mark_in;
          mark.addEventListener("click", () =>
            send("register", { member: p.member, present: !p.in_person }, mark),
          );
          li.append(" ", mark);
        }
        return li;
      }),
  );

  const queue = $("queue");
  queue.replaceChildren(
    ...state.floor
      .filter((r) => r.state === "waiting")
      .map((r) => {
        const li = document.createElement("li");
        li.textContent = `${r.name} — ${text.waiting}`;
        if (roles.has("chair")) {
          const give = document.createElement("button");
          give.type = "button";
          give.className = "btn btn-primary btn-small";
          give.textContent = text.give;
          give.addEventListener("click", () => send("give_floor", { request: r.request }, give));
          li.append(" ", give);
        }
        return li;
      }),
  );

  // Only the next step of the meeting's life is offered to the chair.
  const next = { registration: "in_session", in_session: "closed" }[state.state];
  for (const button of root.querySelectorAll("[data-action=transition]")) {
    button.hidden = button.dataset.target !== next;
  }
  const control = $("control-panel");
  if (control) control.hidden = !next;

  // "End the speech" only while somebody has the floor.
  const takeFloor = root.querySelector("[data-action=take-floor]");
  if (takeFloor) takeFloor.hidden = !state.floor.some((r) => r.state === "speaking") || closed;

  const mine = state.floor.find((r) => r.member === me && r.state === "waiting");
  const hand = root.querySelector("[data-action=hand]");
  hand.hidden = !me || state.state !== "in_session";
  hand.textContent = mine ? text.lower : text.raise;
  hand.dataset.raised = mine ? "yes" : "no";
  video?.floorQueue(state.floor);
  drawSpeaker();
  drawVote();
}

// --- the vote on the floor -------------------------------------------------------------------

let drawnVote = null; // "id:state" of the vote whose ballot form is on the page
const mine = new Map(); // vote id -> this member's current choice

function drawVote() {
  const vote = (state.votes || []).at(-1);
  const panel = $("vote-panel");
  panel.hidden = !vote;
  const opener = $("vote-open-panel");
  if (opener) {
    opener.hidden =
      state.state !== "in_session" || (vote && vote.state === "open") || (state.secret_open || []).length > 0;
  }
  if (!vote) return;
  panel.dataset.vote = String(vote.vote);
  panel.dataset.state = vote.state;
  $("vote-question").textContent = vote.question;
  $("vote-count").textContent = format(text.vote_cast_count, { cast: vote.cast, roll: vote.roll.length });
  $("vote-link").href = `/votes/${vote.vote}`;
  root.querySelector("[data-action=close-vote]").hidden = !(roles.has("chair") && vote.state === "open");
  const choice = mine.get(vote.vote);
  // While the vote is open: what this member chose (they may still change it). Once it
  // is closed the result says it; this page may never have learnt the choice (a reload).
  $("vote-mine").textContent =
    vote.state === "open" && vote.roll.includes(me)
      ? choice
        ? format(text.vote_your_choice, { choice: choice.map((n) => vote.options[n - 1]).join(", "), seq: "" })
        : text.vote_not_voted
      : "";
  const key = `${vote.vote}:${vote.state}`;
  if (drawnVote === key) return;
  drawnVote = key;
  drawHall(vote);
  $("vote-choices").replaceChildren();
  $("vote-result").replaceChildren();
  $("vote-no-key").hidden = true;
  if (vote.state === "closed") {
    // The receipt's "accepted" belonged to the open vote; the result says the rest.
    voteMessage("");
    if (vote.result) drawResult($("vote-result"), vote, text);
    return;
  }
  if (!vote.roll.includes(me)) {
    voteMessage(me ? text.vote_not_on_roll : "", "info");
    return;
  }
  voteMessage("");
  offerBallot(vote);
}

async function offerBallot(vote) {
  const drawing = drawnVote;
  try {
    await usableKey(vote, me);
  } catch (error) {
    if (!(error instanceof NoKeyError)) throw error;
    if (drawnVote !== drawing) return; // closed (or replaced) while the key was looked up
    $("vote-no-key").hidden = false;
    $("vote-no-key-text").textContent = error.reason === "no_key" ? text.vote_no_key : text.vote_key_not_listed;
    return;
  }
  // The key lookup is asynchronous: if the vote closed meanwhile, its result is on the
  // page and no ballot form may be drawn over it.
  if (drawnVote !== drawing) return;
  getJSON(`/api/v1/votes/${vote.vote}`)
    .then((fresh) => {
      if (fresh.mine) mine.set(vote.vote, fresh.mine.choice);
      render();
    })
    .catch(() => {});
  drawChoice($("vote-choices"), vote, text, async (choice) => {
    voteMessage(text.vote_sending, "info");
    try {
      const answer = await castBallot(vote, me, choice);
      mine.set(vote.vote, answer.choice);
      voteMessage(format(text.vote_accepted, { seq: answer.seq }), "success");
      root.dataset.voted = String(vote.vote);
      render();
    } catch (error) {
      voteMessage(format(text.vote_refused, { reason: error.message }), "error");
    }
  });
}

// --- the secretary's count in the hall ---------------------------------------------------------

// A mixed meeting: for each member marked «в зале» when the vote opened, the secretary
// records the choice shown by a show of hands, signed with the secretary's own key.
function drawHall(vote) {
  const box = $("vote-hall");
  if (!box) return;
  const hall = vote.state === "open" && vote.secretary === me ? vote.in_hall || [] : [];
  box.hidden = hall.length === 0;
  const rows = $("vote-hall-rows");
  rows.replaceChildren();
  const names = new Map((state.people || []).map((p) => [p.member, p.name]));
  const ordered = [...hall].sort((a, b) => (names.get(a) || "").localeCompare(names.get(b) || "", "ru"));
  for (const member of ordered) {
    const row = document.createElement("div");
    row.className = "hall-row";
    row.dataset.member = String(member);
    const name = document.createElement("span");
    name.className = "hall-name";
    name.textContent = names.get(member) || `№ ${member}`;
    const said = document.createElement("span");
    said.dataset.role = "hall-said";
    const buttons = document.createElement("span");
    buttons.className = "hall-buttons";
    vote.options.forEach((option, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-secondary btn-small";
      button.dataset.option = String(index + 1);
      button.textContent = option;
      button.addEventListener("click", () => recordHall(vote, member, [index + 1], said));
      buttons.append(button, " ");
    });
    if ((vote.recorded || []).includes(member)) said.textContent = text.hall_mark;
    row.append(name, " ", buttons, " ", said);
    rows.append(row);
  }
}

async function recordHall(vote, member, choice, said) {
  said.className = "hint";
  said.textContent = text.vote_sending;
  try {
    const answer = await recordHallVote(vote, me, member, choice);
    said.className = "success-message";
    said.setAttribute("role", "status");
    said.textContent = format(text.hall_recorded, { choice: answer.choice.map((n) => vote.options[n - 1]).join(", ") });
  } catch (error) {
    said.className = "field-error";
    said.setAttribute("role", "alert");
    const reason = error instanceof NoKeyError ? text.vote_no_key : error.message;
    said.textContent = error.code === "already_voted" ? text.hall_own : format(text.hall_refused, { reason });
  }
}

// The line under the ballot: a success, a refusal or a plain note, each in its own style.
function voteMessage(message, kind = "info") {
  const line = $("vote-message");
  line.textContent = message;
  line.className = { success: "success-message", error: "field-error", info: "hint" }[kind];
  line.setAttribute("role", kind === "error" ? "alert" : "status");
  line.dataset.kind = message ? kind : "";
}

// The notes form shows what was saved for the current item.
function fillNotes() {
  const form = $("notes");
  if (!form || !state) return;
  const saved = (state.notes || {})[String(state.current_item)] || { speeches: "", decision: "" };
  form.elements.speeches.value = saved.speeches;
  form.elements.decision.value = saved.decision;
  form.hidden = !state.current_item;
  clearSaid(form);
}

function drawSpeaker() {
  const speaker = state && state.floor.find((r) => r.state === "speaking");
  const line = $("speaker");
  clearInterval(countdown);
  if (!speaker) {
    line.textContent = "";
    return;
  }
  const tick = () => {
    const left = Math.max(0, Math.round((Date.parse(speaker.ends_at) - Date.now()) / 1000));
    const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    line.textContent = format(left > 0 ? text.speaking : text.time_up, { name: speaker.name, time });
    if (left === 0) clearInterval(countdown);
  };
  tick();
  countdown = setInterval(tick, 1000);
}

// --- the connection ----------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = lastSeq ? `?after=${lastSeq}` : "";
  socket = new WebSocket(`${scheme}://${location.host}/meetings/${meetingId}/ws${query}`);
  $("connection").textContent = retry ? text.reconnecting : text.connecting;
  socket.addEventListener("open", () => {
    retry = 0;
    $("connection").textContent = text.connected;
    root.dataset.connected = "yes";
    // Back after a drop (a resumed connection gets no new hello, only the events it
    // missed): a page that was in the video room joins it again.
    video?.connected();
  });
  socket.addEventListener("message", (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === "hello") {
      state = frame.snapshot;
      lastSeq = state.seq;
      render();
      fillNotes();
    } else if (frame.type === "media") {
      video?.message(frame);
    } else if (frame.type === "event") {
      if (frame.seq <= lastSeq || !state) return; // already applied
      apply(frame);
      lastSeq = frame.seq;
      render();
    } else if (frame.type === "ack") {
      const asked = pending.get(frame.id);
      pending.delete(frame.id);
      if (asked) {
        clearSaid(asked.anchor);
        asked.onAck?.();
      }
    } else if (frame.type === "error") {
      if (video?.error(frame)) return; // the video panel shows its own
      const asked = pending.get(frame.id);
      pending.delete(frame.id);
      say(asked?.anchor, frame.message || frame.detail || frame.code);
    }
  });
  socket.addEventListener("close", () => {
    root.dataset.connected = "no";
    video?.disconnected();
    $("connection").textContent = text.reconnecting;
    // Back off on a weak connection: 0.5 s, 1 s, 2 s … up to 15 s.
    const delay = Math.min(15000, 500 * 2 ** retry++);
    setTimeout(connect, delay);
  });
}

root.querySelector("[data-action=hand]").addEventListener("click", (e) => {
  const button = e.currentTarget;
  send(button.dataset.raised === "yes" ? "lower_hand" : "raise_hand", {}, button);
});
for (const button of root.querySelectorAll("[data-action=set-item]")) {
  button.addEventListener("click", () => send("set_item", { item: Number(button.dataset.item) }, button));
}
root
  .querySelector("[data-action=take-floor]")
  ?.addEventListener("click", (e) => send("take_floor", {}, e.currentTarget));
for (const button of root.querySelectorAll("[data-action=transition]")) {
  button.addEventListener("click", () => {
    // Closing ends the meeting for good: the chair confirms it.
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    send("transition", { target: button.dataset.target }, button);
  });
}
$("vote-open")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const element = e.currentTarget; // null once the handler has awaited
  const form = new FormData(element);
  const [numerator, denominator] = String(form.get("fraction")).split("/").map(Number);
  try {
    await postJSON(`/api/v1/meetings/${meetingId}/votes`, {
      question: form.get("question") || "",
      base: form.get("base"),
      numerator,
      denominator,
      strict: denominator === 2,
    });
    clearSaid(element);
    // Emptied for the next vote, which else would be put with this one's question.
    element.reset();
  } catch (error) {
    say(element, error.message);
  }
});
root.querySelector("[data-action=close-vote]").addEventListener("click", async () => {
  const vote = (state.votes || []).at(-1);
  if (!vote) return;
  try {
    await postJSON(`/api/v1/meetings/${meetingId}/votes/${vote.vote}/close`);
  } catch (error) {
    say($("vote-panel").querySelector("[data-action=close-vote]"), error.message);
  }
});
$("notes")?.addEventListener("submit", (e) => {
  e.preventDefault();
  const element = e.currentTarget;
  const form = new FormData(element);
  const item = state.current_item;
  const speeches = String(form.get("speeches") || "");
  const decision = String(form.get("decision") || "");
  send("notes", { item, speeches, decision }, element, () => {
    state.notes = { ...(state.notes || {}), [String(item)]: { speeches, decision } };
    say(element, text.saved, "success");
  });
});

connect();
