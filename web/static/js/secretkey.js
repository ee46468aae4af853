// The counting commission's key page: this member's browser makes the election key with
// the others' (Pedersen's key generation, docs/secret-ballots.md §6). In order: an X25519
// transport key (non-extractable) published signed; once every member has one, the
// dealing — commitments on the board and one share per other member, each sealed to its
// recipient and signed; the shares addressed to this member opened and checked against
// their dealers' commitments (a bad one draws a public complaint); complaints against
// this member answered; the member's share of the key combined, wrapped at rest and
// offered as a passphrase-protected backup file. Any member (or the meeting's secretary)
// finishes the key once every member has dealt. The page polls the vote's state every
// three seconds.
import { SecretApi, format, pageOf, poll, reasonOf, say, signingKey } from "./secretpage.js";
import {
  DOCUMENT,
  documentPayload,
  keygenEntries,
  readMemberSigned,
  replayBoard,
  signDocument,
} from "./secret/board.js";
import { dealerCommitmentToJSON, deal, memberShare, verifyShare, complaintToJSON } from "./secret/dkg.js";
import { base, encodeScalar, parseScalar } from "./secret/group.js";
import {
  exportBackup,
  loadShare,
  loadTransportKey,
  saveTransportKey,
  storeShare,
  MIN_PASSPHRASE_LENGTH,
} from "./secret/sharestore.js";
import {
  exportTransportKey,
  generateTransportKey,
  openShareEnvelope,
  sealShareFor,
} from "./secret/transport.js";

const page = pageOf("secret-key");
const { text, $ } = page;
const api = new SecretApi(page.election);
let cache = { draft: null, draftSignature: "", certificates: null };
let busy = false; // a step posting: the next tick waits for it
let finished = false;

const step = (message, kind = "info") => say($("step"), message, kind);
const backupDone = (hex) => localStorage.getItem(`kvorum-share-backup-${hex}`) === "yes";

function drawProgress(state) {
  const rows = state.commission.map((m) => {
    const tr = document.createElement("tr");
    tr.dataset.index = String(m.index);
    tr.dataset.transport = m.transport_key ? "yes" : "no";
    tr.dataset.dealt = m.dealt ? "yes" : "no";
    const cells = [
      `${m.index}. ${m.name}${m.member === state.me.member ? ` ${text.you}` : ""}`,
      m.transport_key ? text.transport_yes : text.transport_no,
      m.dealt ? text.dealt_yes : text.dealt_no,
    ];
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  });
  $("progress").replaceChildren(...rows);
  const dealt = state.commission.filter((m) => m.dealt).length;
  $("summary").textContent = format(text.summary, {
    dealt,
    n: state.commission.length,
    t: state.threshold,
  });
  $("phase").textContent = text[`phase_${state.phase}`] || state.phase;
  page.root.dataset.phase = state.phase;
}

async function definitionOf(state) {
  if (cache.draftSignature !== state.draft.signature) {
    cache.draft = await api.definition(state.draft, true);
    cache.draftSignature = state.draft.signature;
  }
  return cache.draft;
}

async function certificatesFor(serials) {
  if (!cache.certificates || serials.some((s) => s !== null && !cache.certificates.has(s))) {
    cache.certificates = await api.certificates();
  }
  return cache.certificates;
}

/** Every published transport key, checked: signed by its member's certified key, for this
 *  key generation and this member's index. Map index → public key. */
async function transportKeys(state, draft, certificates) {
  const out = new Map();
  for (const m of state.commission) {
    if (!m.transport_key) continue;
    const { payload, certificate } = await readMemberSigned(
      m.transport_key,
      certificates,
      DOCUMENT.transport,
      `${m.name}`,
    );
    if (
      certificate.member !== m.member ||
      payload.index !== m.index ||
      payload.context !== draft.contextB64 ||
      payload.vote !== draft.payload.vote
    ) {
      throw new Error(format(text.bad_transport, { name: m.name }));
    }
    out.set(m.index, payload.key);
  }
  return out;
}

async function tick() {
  if (busy || finished) return;
  busy = true;
  try {
    const state = await api.state();
    drawProgress(state);
    const allDealt = state.commission.every((m) => m.dealt);
    $("finish").hidden = !(state.phase === "keygen" && allDealt);
    if (state.me.index === null) {
      if (state.phase !== "keygen") step(text.key_ready, "success");
      return;
    }
    await myTurn(state);
  } catch (error) {
    step(format(text.failed, { reason: reasonOf(error, text) }), "error");
  } finally {
    busy = false;
  }
}

async function myTurn(state) {
  const me = state.me.index;
  const mine = state.commission.find((m) => m.index === me);
  const draft = await definitionOf(state);
  const hex = draft.contextHex;
  const stored = await signingKey(page.member);
  if (!stored) {
    $("no-key").hidden = false;
    step(text.no_key, "error");
    return;
  }
  if (mine.serial !== null && stored.serial !== mine.serial) {
    step(text.other_key, "error");
    return;
  }
  const certificates = await certificatesFor(state.commission.map((m) => m.serial));
  const held = await storedShare(hex, me);
  if (state.phase !== "keygen") {
    // The key is finished: what remains is this member's share and its backup. A share
    // kept before a late complaint changed the qualified dealers is made again (and its
    // backup asked for again): the one that counts fits the finished key.
    const board = await replayBoard(draft, certificates, keygenEntries(await api.entries()));
    const key = await board.key();
    if (held && !base(parseScalar(held.share)).equals(key.verificationKeys.get(me))) {
      localStorage.removeItem(`kvorum-share-backup-${hex}`);
      await combine(draft, certificates, stored, me);
    } else if (!held) {
      await combine(draft, certificates, stored, me);
    }
    return offerBackup(draft, me, true);
  }
  // 1. This member's transport key.
  let transport = await loadTransportKey(hex);
  if (!mine.transport_key) {
    if (!transport) {
      const keyPair = await generateTransportKey();
      transport = { keyPair, publicKey: await exportTransportKey(keyPair.publicKey) };
      await saveTransportKey(hex, transport.keyPair, transport.publicKey);
    }
    step(text.publishing_transport);
    const payload = documentPayload(DOCUMENT.transport, draft.payload.vote, stored.serial, {
      context: draft.contextB64,
      index: me,
      key: transport.publicKey,
    });
    await api.post("transport-keys", await signDocument(stored, payload));
    step(text.transport_published, "success");
    return;
  }
  if (!transport || transport.publicKey !== mine.transport_key.payload.key) {
    step(text.transport_elsewhere, "error");
    return;
  }
  const published = await transportKeys(state, draft, certificates);
  if (published.size < state.commission.length) {
    step(text.waiting_transport);
    return;
  }
  // 2. The dealing, once; kept wrapped so that a complaint can be answered later.
  if (!mine.dealt) {
    await dealOnce(draft, stored, me, published, hex);
    return;
  }
  // 3. The shares addressed to this member, and the complaints either way.
  const board = await replayBoard(draft, certificates, keygenEntries(await api.entries()));
  if (board.problems.length) {
    step(format(text.board_bad, { problem: board.problems[0].message }), "error");
    return;
  }
  const dealt = await loadShare(`dealt:${hex}`);
  for (const recipient of board.unanswered(me)) {
    if (!dealt) {
      step(text.cannot_answer, "error");
      return;
    }
    step(format(text.answering, { index: recipient }));
    const complaint = complaintToJSON({
      dealer: me,
      recipient,
      revealed: parseScalar(dealt.shares[String(recipient)]),
    });
    const payload = documentPayload(DOCUMENT.complaint, draft.payload.vote, stored.serial, {
      context: draft.contextB64,
      complaint,
    });
    await api.post("complaints", await signDocument(stored, payload));
  }
  if (!state.commission.every((m) => m.dealt)) {
    step(text.waiting_dealers);
    return;
  }
  const received = await receivedShares(draft, certificates, board, transport, me, stored);
  if (received === null) return;
  step(text.all_dealt, "success");
  await keepShare(board, draft, me, received, dealt);
  await offerBackup(draft, me, false);
}

async function dealOnce(draft, stored, me, published, hex) {
  let dealt = await loadShare(`dealt:${hex}`);
  if (!dealt) {
    step(text.dealing);
    const made = await deal(draft.params, me);
    const shares = [];
    for (const [recipient, key] of [...published.entries()].sort((a, b) => a[0] - b[0])) {
      if (recipient === me) continue;
      const envelope = await sealShareFor(key, {
        context: draft.context,
        dealer: me,
        recipient,
        share: made.shares.get(recipient),
      });
      const payload = documentPayload(DOCUMENT.share, draft.payload.vote, stored.serial, {
        context: draft.contextB64,
        dealer: me,
        recipient,
        envelope,
      });
      shares.push(await signDocument(stored, payload));
    }
    const dealer = await signDocument(
      stored,
      documentPayload(DOCUMENT.dealer, draft.payload.vote, stored.serial, {
        context: draft.contextB64,
        commitment: dealerCommitmentToJSON(made.commitment),
      }),
    );
    // Kept before it is sent: a lost answer is sent again with the same signatures, and a
    // complaint is answered from it. The coefficients themselves are forgotten here.
    dealt = {
      body: { dealer, shares },
      shares: Object.fromEntries([...made.shares].map(([i, s]) => [String(i), encodeScalar(s)])),
    };
    await storeShare(`dealt:${hex}`, dealt);
  }
  step(text.sending_dealing);
  await api.post("dealings", dealt.body);
  step(text.dealt, "success");
}

/** Map dealer → this member's share from that dealer, each checked; a bad one draws a
 *  complaint (once) and null is returned until the board has its answer. */
async function receivedShares(draft, certificates, board, transport, me, stored) {
  const out = new Map();
  const docs = await api.shares();
  let waiting = false;
  for (const document of docs) {
    const { payload, certificate } = await readMemberSigned(document, certificates, DOCUMENT.share);
    const dealer = draft.indexOf.get(certificate.member);
    if (payload.recipient !== me || payload.dealer !== dealer || payload.context !== draft.contextB64) {
      continue; // not for this member, or not signed by its dealer: not used
    }
    const answered = board.complaints.get(`${dealer},${me}`);
    if (answered) {
      if (answered.revealed !== null) out.set(dealer, answered.revealed);
      else waiting = true;
      continue;
    }
    let share = null;
    try {
      share = await openShareEnvelope(transport.keyPair.privateKey, transport.publicKey, payload.envelope, {
        context: draft.context,
        dealer,
        recipient: me,
      });
      verifyShare(draft.params, board.dealers.get(dealer), me, share);
      out.set(dealer, share);
    } catch (error) {
      step(format(text.complaining, { index: dealer }), "error");
      const complaint = complaintToJSON({ dealer, recipient: me, revealed: null });
      const doc = documentPayload(DOCUMENT.complaint, draft.payload.vote, stored.serial, {
        context: draft.contextB64,
        complaint,
      });
      await api.post("complaints", await signDocument(stored, doc));
      waiting = true;
    }
  }
  if (waiting) {
    step(text.waiting_answers);
    return null;
  }
  return out;
}

/** Combine and keep this member's share (wrapped under this browser's key). */
async function keepShare(board, draft, me, received, dealt) {
  const key = await board.key();
  const shares = new Map(received);
  shares.set(me, parseScalar(dealt.shares[String(me)]));
  const qualified = key.qualified.filter((j) => shares.has(j));
  const share = memberShare(shares, qualified);
  if (qualified.length !== key.qualified.length || !base(share).equals(key.verificationKeys.get(me))) {
    throw new Error(text.share_mismatch);
  }
  await storeShare(draft.contextHex, {
    context_hex: draft.contextHex,
    member: me,
    share: encodeScalar(share),
  });
}

async function storedShare(hex, me) {
  const payload = await loadShare(hex).catch(() => null);
  return payload && payload.member === me ? payload : null;
}

/** After the key is finished: combine from the board if this browser has not yet. */
async function combine(draft, certificates, stored, me) {
  const transport = await loadTransportKey(draft.contextHex);
  const dealt = await loadShare(`dealt:${draft.contextHex}`);
  if (!transport || !dealt) {
    step(text.no_share_here, "error");
    return;
  }
  const board = await replayBoard(draft, certificates, keygenEntries(await api.entries()));
  const received = await receivedShares(draft, certificates, board, transport, me, stored);
  if (received !== null) await keepShare(board, draft, me, received, dealt);
}

async function offerBackup(draft, me, keyReady) {
  const held = await storedShare(draft.contextHex, me);
  if (!held) return;
  $("stored").hidden = false;
  const done = backupDone(draft.contextHex);
  $("backup").hidden = done;
  $("backup-label").textContent = format(text.backup_label_text, {
    title: draft.payload.title,
    index: me,
  });
  if (done && keyReady) {
    finished = true;
    page.root.dataset.done = "yes";
    step(text.done, "success");
  } else if (done) {
    step(text.done_waiting, "success");
  } else {
    step(text.backup_needed);
  }
  page.backup = { draft, held, me };
}

$("backup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const line = $("backup-message");
  const first = $("passphrase").value;
  if (first.length < MIN_PASSPHRASE_LENGTH) {
    say(line, format(text.weak_passphrase, { n: MIN_PASSPHRASE_LENGTH }), "error");
    return;
  }
  if (first !== $("passphrase2").value) {
    say(line, text.passphrases_differ, "error");
    return;
  }
  if (!page.backup) return;
  const { draft, held, me } = page.backup;
  say(line, text.backup_making);
  const label = format(text.backup_label_text, { title: draft.payload.title, index: me });
  const file = await exportBackup(label, held, first);
  const url = URL.createObjectURL(new Blob([file], { type: "application/json" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = `kvorum-share-election-${page.election}-member-${me}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  $("passphrase").value = $("passphrase2").value = "";
  say(line, text.backup_saved, "success");
  $("acknowledge").hidden = false;
});

$("acknowledge").addEventListener("click", async () => {
  if (!page.backup) return;
  localStorage.setItem(`kvorum-share-backup-${page.backup.draft.contextHex}`, "yes");
  $("acknowledge").hidden = true;
  await tick();
});

$("finish").addEventListener("click", async () => {
  const line = $("finish-message");
  say(line, text.finishing);
  try {
    await api.post("key", {});
    say(line, text.finished, "success");
    await tick();
  } catch (error) {
    say(line, format(text.failed, { reason: reasonOf(error, text) }), "error");
  }
});

poll(tick, 3);
