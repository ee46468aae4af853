// A secret vote as a member's browser reads and writes it (docs/ballots.md "Secret
// votes"): the registry-signed definition (its fingerprint and key-generation context
// recomputed here), the roll's certificates, the documents a member signs, and the board
// replayed entry by entry — chain, signatures, key generation, ballots with their proofs,
// spoilings, partial decryptions — so that a page trusts none of it to the server.
//
// The twin of ballots/secretformats.py and, for what a browser needs of it,
// ballots/secretverify.py's BoardReplay. A replay collects every problem instead of
// stopping at the first, so the count page can name them and refuse to decrypt.

import {
  b64uDecode,
  b64uEncode,
  canonicalize,
  canonicalizeSigned,
  keyId,
  sha256,
  signCanonical,
  utf8,
  verifyCanonical,
} from "../kvcrypto.js";
import {
  checkBallot,
  formFromJSON,
  openBallot,
  parseOpening,
  parsePartial,
  secretElection,
  tally,
} from "./ballot.js";
import {
  dkgParameters,
  jointKey,
  parseComplaint,
  parseDealerCommitment,
  qualifiedDealers,
  verifyDealer,
} from "./dkg.js";
import { SecretBallotError, parsePoint } from "./group.js";

export const DEFINITION_TYPE = "kvorum.secret-vote-definition";
export const RESULT_TYPE = "kvorum.secret-vote-result";
export const ENTRY_TYPE = "kvorum.secret-board-entry";
export const CERTIFICATE_TYPE = "kvorum.key-certificate";
/** What a member signs, by its use. */
export const DOCUMENT = Object.freeze({
  transport: "kvorum.secret-transport-key",
  share: "kvorum.secret-share",
  dealer: "kvorum.secret-dealer",
  complaint: "kvorum.secret-complaint",
  ballot: "kvorum.secret-ballot",
  spoil: "kvorum.secret-spoil",
  partial: "kvorum.secret-partial",
});
/** Board entry kind → the type of the document it carries. */
export const KIND_TYPES = Object.freeze({
  dealer: DOCUMENT.dealer,
  complaint: DOCUMENT.complaint,
  ballot: DOCUMENT.ballot,
  spoil: DOCUMENT.spoil,
  partial: DOCUMENT.partial,
});
const KEYGEN_KINDS = new Set(["dealer", "complaint"]);

/** A refused definition, certificate, document or entry: a reason code and what was found. */
export class BoardError extends Error {
  constructor(reason, message, where = "") {
    super(where ? `${where}: ${message}` : message);
    this.name = "BoardError";
    this.reason = reason;
    this.where = where;
  }
}

export function hexOf(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** "sha256:" and the hex SHA-256 of a text's UTF-8 bytes (crypto/hashing.py). */
export async function contentAddress(text) {
  return `sha256:${hexOf(await sha256(utf8(text)))}`;
}

/** A definition's fingerprint: the content address of its payload's signed canonical JSON. */
export const fingerprintOf = (payload) => contentAddress(canonicalizeSigned(payload));

/** The hash of an entry (its canonical JSON): the next entry's prev. */
export const entryHash = (entry) => contentAddress(canonicalize(entry));

/** The prev of entry 1: the chain starts from the vote and its key-generation context. */
export const chainStart = (vote, context) => contentAddress(canonicalize({ vote, context }));

/** The key-generation context (base64url) that the vote, its election and commission give. */
export async function keygenContext(vote, election, commission) {
  const data = canonicalize({
    type: "kvorum.secret-keygen-context",
    vote,
    election,
    members: commission.members.map((m) => ({ ...m })),
    threshold: commission.threshold,
  });
  return b64uEncode(await sha256(utf8(data)));
}

/**
 * The payload of a registry-signed envelope of `type`, after checking that its signer is
 * one of the published registry keys ({id, public_key} of /registry/keys.json), that it
 * names that key as its issuer, and that the signature verifies.
 */
export async function readRegistrySigned(envelope, keys, type, where = type) {
  const payload = envelope?.payload;
  if (!payload || typeof payload !== "object" || payload.type !== type || payload.v !== 1) {
    throw new BoardError("wrong_document", `not a ${type} v1`, where);
  }
  const key = (keys || []).find((k) => k.id === envelope.signer);
  if (!key) throw new BoardError("unknown_key", `signed by ${envelope.signer}, not a registry key`, where);
  if (payload.issuer !== envelope.signer) {
    throw new BoardError("bad_signature", "its issuer is not its signer", where);
  }
  if (!(await verifyCanonical(key.public_key, payload, envelope.signature))) {
    throw new BoardError("bad_signature", "the registry's signature does not verify", where);
  }
  return payload;
}

/**
 * A signed definition (the draft of the key generation, or the final one the vote opens
 * with), read and checked: the registry's signature, the commission's context recomputed,
 * and for the final one the election key. Returns what the pages need.
 */
export async function readDefinition(envelope, keys, { draft = false } = {}) {
  const where = draft ? "draft definition" : "definition";
  const payload = await readRegistrySigned(envelope, keys, DEFINITION_TYPE, where);
  const { commission } = payload;
  if (!commission || !Array.isArray(commission.members)) {
    throw new BoardError("bad_definition", "it has no commission", where);
  }
  commission.members.forEach((m, i) => {
    if (m.index !== i + 1) throw new BoardError("bad_definition", "commission indices run 1 … n", where);
  });
  if ((await keygenContext(payload.vote, payload.election, commission)) !== commission.context) {
    throw new BoardError(
      "bad_definition",
      "the commission's context is not the one its vote and members give",
      where,
    );
  }
  const context = b64uDecode(commission.context, 32);
  const params = dkgParameters(context, commission.members.length, commission.threshold);
  const form = formFromJSON({
    options: payload.options.length,
    min_marks: payload.min_marks,
    max_marks: payload.max_marks,
  });
  const fingerprint = await fingerprintOf(payload);
  const fingerprintBytes = Uint8Array.from(
    fingerprint.slice(7).match(/../g).map((h) => parseInt(h, 16)),
  );
  let election = null;
  if (draft) {
    if (payload.key !== "" || payload.dealers.length !== 0) {
      throw new BoardError("bad_definition", 'a draft has key "" and no dealers', where);
    }
  } else {
    const key = parsePoint(payload.key, { what: "election key", allowIdentity: false });
    election = secretElection(fingerprintBytes, key, form);
  }
  const serials = new Map(); // serial → member
  for (const item of payload.roll) for (const serial of item.keys) serials.set(serial, item.member);
  return {
    payload,
    fingerprint,
    fingerprintBytes,
    form,
    params,
    context,
    contextB64: commission.context,
    contextHex: hexOf(context),
    election,
    serials,
    indexOf: new Map(commission.members.map((m) => [m.member, m.index])),
    memberOf: new Map(commission.members.map((m) => [m.index, m.member])),
  };
}

/**
 * The certificates (registry-signed kvorum.key-certificate envelopes), each checked:
 * Map serial → {serial, member, publicKey, raw (32 bytes), keyId, payload}.
 */
export async function readCertificates(list, keys) {
  const out = new Map();
  for (const [n, envelope] of (list || []).entries()) {
    const payload = await readRegistrySigned(envelope, keys, CERTIFICATE_TYPE, `certificate #${n + 1}`);
    out.set(payload.serial, {
      serial: payload.serial,
      member: payload.member,
      publicKey: payload.public_key,
      raw: b64uDecode(payload.public_key, 32),
      keyId: await keyId(payload.public_key),
      payload,
    });
  }
  return out;
}

/** A ballot's nonce: 18 random bytes, base64url (24 characters). */
export function newNonce() {
  return b64uEncode(crypto.getRandomValues(new Uint8Array(18)));
}

/** {type, v: 1, vote, serial, …fields}: what a member signs. */
export function documentPayload(type, vote, serial, fields) {
  return { type, v: 1, vote, serial, ...fields };
}

/** Sign a payload with the member's stored key ({keyPair, publicKey}): the envelope. */
export async function signDocument(stored, payload) {
  return {
    payload,
    signature: await signCanonical(stored.keyPair.privateKey, payload),
    signer: await keyId(stored.publicKey),
  };
}

/**
 * A member-signed envelope of `type`, checked against its serial's certificate:
 * {payload, certificate}. BoardError unknown_key / bad_signature / wrong_document.
 */
export async function readMemberSigned(envelope, certificates, type, where = type) {
  const payload = envelope?.payload;
  if (!payload || typeof payload !== "object" || payload.type !== type || payload.v !== 1) {
    throw new BoardError("wrong_document", `not a ${type} v1`, where);
  }
  const certificate = certificates.get(payload.serial);
  if (!certificate) throw new BoardError("unknown_key", `no certificate ${payload.serial}`, where);
  if (envelope.signer !== certificate.keyId) {
    throw new BoardError("bad_signature", "signed by another key than its serial's", where);
  }
  if (!(await verifyCanonical(certificate.publicKey, payload, envelope.signature))) {
    throw new BoardError("bad_signature", "the member's signature does not verify", where);
  }
  return { payload, certificate };
}

/**
 * The marks (0/1 per option) of a choice: for one_of and yes_no the chosen option's
 * index; for approve_each the indices marked «за».
 */
export function marksOf(definition, chosen) {
  const n = definition.payload.options.length;
  const picked = new Set(Array.isArray(chosen) ? chosen : [chosen]);
  for (const i of picked) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`no option ${i}`);
  }
  const marks = Array.from({ length: n }, (_, i) => (picked.has(i) ? 1 : 0));
  const count = picked.size;
  const { min_marks: min, max_marks: max } = definition.payload;
  if (count < min || count > max) throw new RangeError(`${count} marks, ${min}..${max} allowed`);
  return marks;
}

/** A board replayed from its entries: what the key, the count and the pages need. */
export class Board {
  constructor(definition, certificates) {
    this.definition = definition;
    this.certificates = certificates;
    this.vote = definition.payload.vote;
    this.length = 0;
    this.prev = null;
    this.dealers = new Map(); // index → parsed commitment
    this.complaints = new Map(); // "j,i" → {dealer, recipient, revealed}
    this.ballots = new Map(); // seq → {member, ballot, voterKey, value}
    this.history = new Map(); // member → [seq]
    this.spoiled = new Map(); // seq → marks
    this.partials = []; // parsed partial decryptions
    this.decrypted = new Set();
    this.problems = []; // {seq, reason, message}
    this.signatures = new Set();
    this.nonces = new Set();
  }

  /** Read every entry (objects, or their canonical JSON text) after those already read. */
  async read(entries) {
    if (this.prev === null) {
      this.prev = await chainStart(this.vote, this.definition.contextB64);
    }
    for (const raw of entries) {
      const entry = typeof raw === "string" ? JSON.parse(raw) : raw;
      const seq = this.length + 1;
      try {
        await this.apply(seq, entry);
      } catch (error) {
        if (!(error instanceof BoardError || error instanceof SecretBallotError)) throw error;
        this.problems.push({ seq, reason: error.reason, message: error.message });
      }
    }
    return this;
  }

  async apply(seq, entry) {
    const where = `entry ${seq}`;
    this.length = seq;
    const prev = this.prev;
    this.prev = await entryHash(entry);
    if (entry?.type !== ENTRY_TYPE || entry.v !== 1 || entry.vote !== this.vote) {
      throw new BoardError("bad_entry", `not a ${ENTRY_TYPE} of vote ${this.vote}`, where);
    }
    if (entry.seq !== seq || entry.prev !== prev) {
      throw new BoardError("broken_chain", "not linked to the entry before", where);
    }
    const kind = entry.kind;
    const type = KIND_TYPES[kind];
    if (!type) throw new BoardError("bad_entry", `unknown kind ${String(kind).slice(0, 40)}`, where);
    const { payload, certificate } = await readMemberSigned(
      entry.document,
      this.certificates,
      type,
      where,
    );
    if (this.signatures.has(entry.document.signature)) {
      throw new BoardError("repeated_ballot", "the same signed document twice", where);
    }
    this.signatures.add(entry.document.signature);
    const member = certificate.member;
    const d = this.definition;
    if (payload.vote !== this.vote) throw new BoardError("wrong_vote", "another vote's", where);
    if (KEYGEN_KINDS.has(kind) ? payload.context !== d.contextB64 : payload.definition !== d.fingerprint) {
      throw new BoardError("wrong_vote", "another key generation's or definition's", where);
    }
    const index = d.indexOf.get(member);
    if ((KEYGEN_KINDS.has(kind) || kind === "partial") && index === undefined) {
      throw new BoardError("not_on_commission", `member ${member} is not on the commission`, where);
    }
    if (kind === "dealer") {
      const commitment = parseDealerCommitment(payload.commitment, d.params);
      if (commitment.dealer !== index || this.dealers.has(index)) {
        throw new BoardError("bad_keygen_message", `dealer ${commitment.dealer} signed by ${index}`, where);
      }
      await verifyDealer(d.params, commitment);
      this.dealers.set(index, commitment);
    } else if (kind === "complaint") {
      const complaint = parseComplaint(payload.complaint, d.params);
      const pair = `${complaint.dealer},${complaint.recipient}`;
      if (complaint.revealed === null && complaint.recipient === index) {
        if (!this.complaints.has(pair)) this.complaints.set(pair, complaint);
      } else if (complaint.revealed !== null && complaint.dealer === index && this.complaints.has(pair)) {
        this.complaints.set(pair, complaint);
      } else {
        throw new BoardError("bad_keygen_message", `member ${index} cannot sign this complaint`, where);
      }
    } else if (kind === "ballot") {
      if (d.election === null) throw new BoardError("out_of_time", "a ballot before the key", where);
      if (!d.serials.has(payload.serial) || d.serials.get(payload.serial) !== member) {
        throw new BoardError("not_on_roll", `serial ${payload.serial} is not on the roll`, where);
      }
      const ballot = await checkBallot(d.election, certificate.raw, payload.ballot);
      if (this.nonces.has(payload.nonce)) {
        throw new BoardError("repeated_ballot", "the ballot's nonce repeats an earlier one", where);
      }
      this.nonces.add(payload.nonce);
      this.ballots.set(seq, { member, ballot, voterKey: certificate.raw, value: payload.ballot });
      if (!this.history.has(member)) this.history.set(member, []);
      this.history.get(member).push(seq);
    } else if (kind === "spoil") {
      const target = this.ballots.get(payload.ballot_seq);
      if (!target || target.member !== member || this.spoiled.has(payload.ballot_seq)) {
        throw new BoardError("bad_opening", `no ballot of member ${member} to spoil`, where);
      }
      const opening = parseOpening(payload.opening, d.form);
      const marks = await openBallot(d.election, target.voterKey, target.ballot, opening);
      this.spoiled.set(payload.ballot_seq, marks);
    } else if (kind === "partial") {
      const partial = parsePartial(payload.partial, d.form.options);
      if (partial.member !== index || this.decrypted.has(index)) {
        throw new BoardError("bad_partial_decryption", `member ${index}'s partial`, where);
      }
      this.decrypted.add(index);
      this.partials.push(partial);
    }
  }

  /** The seqs of the counted ballots: each voter's last ballot not spoiled. */
  countedSeqs() {
    const out = [];
    for (const seqs of this.history.values()) {
      const kept = seqs.filter((s) => !this.spoiled.has(s));
      if (kept.length) out.push(kept[kept.length - 1]);
    }
    return out.sort((a, b) => a - b);
  }

  /** The homomorphic tally of the counted ballots, per option. */
  totals() {
    return tally(
      this.definition.election,
      this.countedSeqs().map((s) => this.ballots.get(s).ballot),
    );
  }

  /** The complaints and their answers, as the key's qualification reads them. */
  complaintList() {
    return [...this.complaints.values()];
  }

  /** The complaints against `dealer` not answered yet: the recipients. */
  unanswered(dealer) {
    return this.complaintList()
      .filter((c) => c.dealer === dealer && c.revealed === null)
      .map((c) => c.recipient);
  }

  /**
   * The election key the board's key generation gives ({key, threshold, qualified,
   * verificationKeys}); for a final definition, BoardError wrong_election_key unless it is
   * the definition's key with the definition's dealers.
   */
  async key() {
    const d = this.definition;
    const qualified = await qualifiedDealers(d.params, [...this.dealers.values()], this.complaintList());
    const key = jointKey(d.params, qualified);
    if (d.election !== null) {
      const named = d.payload.dealers;
      if (
        !key.key.equals(d.election.key) ||
        named.length !== key.qualified.length ||
        named.some((j, i) => j !== key.qualified[i])
      ) {
        throw new BoardError(
          "wrong_election_key",
          "the definition's key is not the one the board's key generation gives",
          "definition",
        );
      }
    }
    return key;
  }
}

/**
 * The key generation's part of a board: its entries up to the first that is not a dealer
 * message or a complaint (they all come before the vote opens).
 */
export function keygenEntries(entries) {
  const out = [];
  for (const raw of entries) {
    const entry = typeof raw === "string" ? JSON.parse(raw) : raw;
    if (!KEYGEN_KINDS.has(entry.kind)) break;
    out.push(raw);
  }
  return out;
}

/** Read a whole board: a Board with every entry applied. */
export async function replayBoard(definition, certificates, entries) {
  return new Board(definition, certificates).read(entries);
}
