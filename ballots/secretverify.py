"""Verifying the audit bundle of a secret vote (``kvorum.secret-audit-bundle`` v1),
check by check as ``docs/ballots.md`` ("Verifying a secret bundle", V-200 …) lists
them; the cryptographic checks inside are those of ``docs/secret-ballots.md`` (S-ids,
named in each message).

The verifier rebuilds everything from the board: the key generation (qualified
dealers, the election key h, the members' verification keys), the counted ballots
(each voter's last ballot that was not spoiled), the homomorphic tally, the
combination of the partial decryptions, the counts and the election rule's outcome,
and compares them with what the registry signed. Pure: standard library, PyNaCl
through :mod:`crypto`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ballots.checks import CHECKS
from ballots.election_rule import (
    CountsInvalid,
    ElectionCounts,
    ElectionRule,
    QuestionCounts,
    decide_election,
    decide_question,
)
from ballots.secretformats import (
    DEFINITION_TYPE,
    DOCUMENT_TYPES,
    ENTRY_TYPE,
    FORMS,
    RESULT_TYPE,
    SECRET_BUNDLE_TYPE,
    VERSION,
    chain_start,
    fingerprint,
    keygen_context,
)
from ballots.verify import Report, signature_check
from crypto._fields import read_instant
from crypto.canonical import canonicalize, parse_json
from crypto.certificate import KeyCertificate, verify_certificate
from crypto.dkg import (
    Complaint,
    DealerCommitment,
    DkgParameters,
    ElectionKey,
    joint_key,
    qualified_dealers,
    verify_dealer,
)
from crypto.ed25519 import PublicKey
from crypto.elgamal import DiscreteLogTable
from crypto.encoding import b64u_decode
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError, SecretBallotError
from crypto.group import parse_point
from crypto.hashing import content_address
from crypto.secretballot import (
    BallotForm,
    BallotOpening,
    EncryptedBallot,
    PartialDecryption,
    SecretElection,
    check_ballot,
    combine,
    open_ballot,
    tally,
    verify_partial,
)

__all__ = [
    "BoardReplay",
    "Challenged",
    "Refused",
    "challenged_ballots",
    "open_replay",
    "verify_secret_bundle",
]

_BUNDLE_FIELDS = {"type", "v", "registry_keys", "certificates", "definition", "entries", "result"}
_DEFINITION_FIELDS = {
    "type",
    "v",
    "vote",
    "org",
    "org_name",
    "election",
    "title",
    "form",
    "options",
    "seats",
    "min_marks",
    "max_marks",
    "rule",
    "composition",
    "roll",
    "commission",
    "key",
    "dealers",
    "opens_at",
    "closes_at",
    "issuer",
}
_ENTRY_FIELDS = {"type", "v", "vote", "seq", "prev", "kind", "document", "received_at"}
_DOCUMENT_FIELDS = {
    "dealer": {"type", "v", "vote", "serial", "context", "commitment"},
    "complaint": {"type", "v", "vote", "serial", "context", "complaint"},
    "ballot": {"type", "v", "vote", "serial", "definition", "nonce", "ballot"},
    "spoil": {"type", "v", "vote", "serial", "definition", "ballot_seq", "opening"},
    "partial": {"type", "v", "vote", "serial", "definition", "partial"},
}


class _Stop(Exception):
    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


@dataclass(frozen=True)
class _Definition:
    payload: dict[str, Any]
    fingerprint: str
    form: BallotForm
    params: DkgParameters
    # None for the draft a key generation runs under (no key yet, nothing to vote on).
    maybe_election: SecretElection | None
    members: dict[int, int]  # serial → member id (the roll)
    commission: dict[int, int]  # member id → commission index
    rule: ElectionRule

    @property
    def election(self) -> SecretElection:
        if self.maybe_election is None:
            raise Refused("V-214", "definition", "the vote is not open: its key is not ready")
        return self.maybe_election


@dataclass(frozen=True)
class Challenged:
    """A spoiled ballot and what it contained (the marks per option)."""

    seq: int
    member: int
    marks: tuple[int, ...]
    options: tuple[str, ...]

    def describe(self) -> str:
        """One line: where, whose, and each option with its mark."""
        marked = ", ".join(
            f"{option}: {mark}" for option, mark in zip(self.options, self.marks, strict=True)
        )
        return f"spoiled ballot at entry {self.seq} of member {self.member}: {marked}"


def _is_int(value: object) -> bool:
    return type(value) is int


def _definition(payload: Any, *, draft: bool = False) -> _Definition:
    def bad(message: str) -> _Stop:
        return _Stop("V-200", f"definition: {message}")

    if set(payload) != _DEFINITION_FIELDS:
        raise bad(f"fields {sorted(payload)}, expected {sorted(_DEFINITION_FIELDS)}")
    for name in ("vote", "org", "seats", "min_marks", "max_marks", "composition"):
        if not _is_int(payload[name]) or payload[name] < 0:
            raise bad(f"{name} must be a whole number")
    if payload["form"] not in FORMS:
        raise bad(f"form must be one of {', '.join(FORMS)}")
    options = payload["options"]
    if not isinstance(options, list) or not options or not all(isinstance(o, str) for o in options):
        raise bad("options must be a non-empty array of texts")
    try:
        form = BallotForm(len(options), payload["min_marks"], payload["max_marks"])
    except SecretBallotError as exc:
        raise bad(str(exc)) from exc
    if payload["form"] == "yes_no" and (len(options) != 3 or payload["seats"] != 1):
        raise bad("a yes_no question has 3 options («за», «против», «воздержался») and 1 seat")
    expected = (0, payload["seats"]) if payload["form"] == "approve_each" else (1, 1)
    if (form.min_marks, form.max_marks) != expected or payload["seats"] < 1:
        raise bad(f"min_marks/max_marks must be {expected[0]}/{expected[1]} for this form")
    rule = payload["rule"]
    try:
        if not isinstance(rule, dict) or set(rule) != {"base", "numerator", "denominator"} | {
            "strict",
            "turnout",
        }:
            raise CountsInvalid("rule has exactly base, numerator, denominator, strict, turnout")
        turnout = rule["turnout"]
        if turnout is not None and (not isinstance(turnout, list) or len(turnout) != 2):
            raise CountsInvalid("turnout is null or [numerator, denominator]")
        election_rule = ElectionRule(
            rule["base"],
            rule["numerator"],
            rule["denominator"],
            rule["strict"] is True,
            None if turnout is None else (turnout[0], turnout[1]),
        )
    except CountsInvalid as exc:
        raise bad(str(exc)) from exc
    roll = payload["roll"]
    members: dict[int, int] = {}
    if not isinstance(roll, list):
        raise bad("roll must be an array")
    for item in roll:
        if not isinstance(item, dict) or set(item) != {"member", "name", "keys"}:
            raise bad("a roll entry has exactly member, name and keys")
        if not _is_int(item["member"]) or not isinstance(item["keys"], list):
            raise bad("a roll entry's member is a number and keys an array of serials")
        for serial in item["keys"]:
            if not _is_int(serial) or serial in members:
                raise bad(f"serial {serial!r:.20} is not a serial or listed twice")
            members[serial] = item["member"]
    on_roll = set(members.values())
    commission = payload["commission"]
    if not isinstance(commission, dict) or set(commission) != {"members", "threshold", "context"}:
        raise bad("commission has exactly members, threshold and context")
    seats: dict[int, int] = {}
    listed = commission["members"]
    if not isinstance(listed, list) or not listed:
        raise bad("the commission's members must be a non-empty array")
    for position, item in enumerate(listed, start=1):
        if not isinstance(item, dict) or set(item) != {"member", "index"}:
            raise bad("a commission member has exactly member and index")
        if item["index"] != position or not _is_int(item["member"]) or item["member"] in seats:
            raise bad(f"commission member {position}: indices run 1 … n, each member once")
        if item["member"] not in on_roll:
            raise bad(f"commission member {item['member']} has no certified key on the roll")
        seats[item["member"]] = position
    try:
        context = b64u_decode(str(commission["context"]), length=32)
        params = DkgParameters(context, len(listed), commission["threshold"])
    except (SecretBallotError, CredentialError, ValueError, TypeError) as exc:
        raise bad(f"commission: {exc}") from exc
    if commission["context"] != keygen_context(payload["vote"], payload["election"], commission):
        raise bad("the commission's context is not the one its vote and members give")
    key = None
    if draft:
        if payload["key"] != "" or payload["dealers"] != []:
            raise bad('a key generation\'s draft has key "" and dealers []')
    else:
        try:
            key = parse_point(payload["key"], what="election key", allow_identity=False)
        except SecretBallotError as exc:
            raise bad(str(exc)) from exc
    for name in ("opens_at", "closes_at"):
        if payload[name] is None and (name == "closes_at" or draft):
            # closes_at: a meeting's vote, the chair closes it (the result says when);
            # opens_at: a key generation's draft, opened later.
            continue
        try:
            read_instant(payload, name, "definition")
        except CredentialError as exc:
            raise bad(str(exc)) from exc
    print_ = fingerprint(payload)
    election = (
        None
        if key is None
        else SecretElection(bytes.fromhex(print_.removeprefix("sha256:")), key, form)
    )
    return _Definition(payload, print_, form, params, election, members, seats, election_rule)


class Refused(Exception):
    """An entry the board must not hold: the check it fails (``docs/ballots.md``), where,
    and what was found. The verifier reports it and leaves the entry out; the server
    refuses the document with the check's reason code."""

    def __init__(self, check: str, where: str, message: str) -> None:
        super().__init__(message)
        self.check = check
        self.where = where
        self.message = message

    @property
    def reason(self) -> str:
        return CHECKS[self.check].reason


class BoardReplay:
    """A secret vote's board read entry by entry, keeping what the count needs: the
    key generation's messages, each voter's ballots and spoilings, the partial
    decryptions. The verifier replays a bundle's board with it; the server replays its
    stored board and applies a new entry before appending it, so the board never takes
    an entry its audit would refuse."""

    def __init__(
        self,
        definition: _Definition,
        certificates: Mapping[int, tuple[int, bytes, KeyCertificate]],
        closed_at: dt.datetime | None = None,
    ) -> None:
        self.definition = definition
        self.certificates = certificates
        self.vote: int = definition.payload["vote"]
        self.opens = (
            None
            if definition.payload["opens_at"] is None
            else read_instant(definition.payload, "opens_at", "definition")
        )
        # Ballots until the close (None while the vote is open), partial decryptions after.
        self.closes = closed_at
        self.prev = chain_start(self.vote, definition.payload["commission"]["context"])
        self.length = 0
        self.dealers: dict[int, DealerCommitment] = {}
        self.complained: dict[tuple[int, int], int | None] = {}
        # seq → (member, ballot, voter's key)
        self.ballots: dict[int, tuple[int, EncryptedBallot, bytes]] = {}
        self.history: dict[int, list[int]] = {}  # member → seqs of their ballots
        self.spoiled: set[int] = set()
        self.partials: list[PartialDecryption] = []
        self.decrypted: set[int] = set()
        self.signatures: set[str] = set()
        # (voter's key, document's signature) → the ballot as check_ballot parsed it:
        # the server checks a ballot's proofs before taking the board's lock and puts
        # the outcome here, so the same ballot is not checked twice. The signature,
        # verified over the whole payload before the ballot is read, names the bytes.
        self.prechecked: dict[tuple[bytes, str], EncryptedBallot] = {}
        self.nonces: set[str] = set()
        self.previous_time: dt.datetime | None = None
        self.unlinked: list[str] = []
        self.entry_bytes = b""
        self.misdated: list[tuple[str, str]] = []
        self._signature = ""

    def apply(self, seq: int, entry: Any, *, accepting: bool = False) -> None:
        """Read entry ``seq``; :class:`Refused` if the board must not hold it, ``_Stop``
        if it is not even an entry of this vote. A refused entry still holds its place
        when an audit reads a board (the next entry links to it); when ``accepting`` (the
        server deciding whether to append it) it leaves no trace, a misdated entry is
        refused too (V-214), and a partial decryption is checked against the tally at
        once (V-240, naming the member)."""
        saved = (self.prev, self.length, self.previous_time, len(self.unlinked))
        signatures = len(self.signatures)
        try:
            self._apply(seq, entry, accepting)
        except (Refused, _Stop) as exc:
            if not accepting:
                raise
            self.prev, self.length, self.previous_time = saved[:3]
            del self.unlinked[saved[3] :]
            self.misdated.clear()
            if len(self.signatures) > signatures:
                self.signatures.discard(self._signature)
            if isinstance(exc, _Stop):
                raise Refused(exc.check, f"entry {seq}", str(exc)) from exc
            raise

    def _apply(self, seq: int, entry: Any, accepting: bool) -> None:
        where = f"entry {seq}"
        if not isinstance(entry, dict) or set(entry) != _ENTRY_FIELDS:
            raise _Stop("V-210", f"{where}: not a board entry of this format")
        if entry["type"] != ENTRY_TYPE or entry["v"] != VERSION or entry["vote"] != self.vote:
            raise _Stop("V-210", f"{where}: not a {ENTRY_TYPE} v1 of vote {self.vote}")
        kind = entry["kind"]
        if not isinstance(kind, str) or kind not in DOCUMENT_TYPES:
            raise _Stop("V-210", f"{where}: unknown kind {kind!r:.40}")
        if entry["seq"] != seq or entry["prev"] != self.prev:
            if accepting:
                raise Refused("V-211", where, "not linked to the board's head")
            self.unlinked.append(where)
        # The entry's canonical bytes, kept for the server to store as it hashed them.
        self.entry_bytes = canonicalize(entry)
        self.prev = content_address(self.entry_bytes)  # entry_hash(entry)
        self.length = seq
        try:
            received = read_instant(entry, "received_at", "entry")
        except CredentialError as exc:
            raise _Stop("V-210", f"{where}: {exc}") from exc
        member, payload, signature = _member_document(
            entry["document"], kind, self.certificates, received, where
        )
        if signature in self.signatures:
            raise Refused("V-216", where, "the same signed document is already on the board")
        self.signatures.add(signature)
        self._signature = signature
        if payload["vote"] != self.vote:
            raise Refused("V-215", where, f"the document names vote {payload['vote']!r:.20}")
        keygen = kind in ("dealer", "complaint")
        if keygen and payload["context"] != self.definition.payload["commission"]["context"]:
            raise Refused("V-215", where, "the document names another key generation")
        if not keygen and payload["definition"] != self.definition.fingerprint:
            raise Refused("V-215", where, "the document names another definition (fingerprint)")
        late = self.previous_time is not None and received < self.previous_time
        window = {
            "dealer": self.opens is None or received < self.opens,
            "complaint": self.opens is None or received < self.opens,
            "ballot": self.opens is not None
            and self.opens <= received
            and (self.closes is None or received < self.closes),
            "spoil": self.opens is not None
            and self.opens <= received
            and (self.closes is None or received < self.closes),
            "partial": self.closes is not None and received >= self.closes,
        }[kind]
        self.previous_time = (
            received if self.previous_time is None else max(received, self.previous_time)
        )
        if accepting and (late or not window):
            raise Refused("V-214", where, f"a {kind} received at {entry['received_at']}")
        if late or not window:
            # Reported; the entry is still read, so one misdated entry does not change
            # the count the rest of the board gives.
            self.misdated.append((where, f"a {kind} received at {entry['received_at']}"))
        index = self.definition.commission.get(member)
        if kind in ("dealer", "complaint", "partial") and index is None:
            raise Refused("V-213", where, f"member {member} is not on the counting commission")
        try:
            if kind == "dealer":
                commitment = DealerCommitment.parse(payload["commitment"], self.definition.params)
                if commitment.dealer != index:
                    raise SecretBallotError(
                        "S-18",
                        "unknown_trustee",
                        f"member {index} signed dealer {commitment.dealer}",
                    )
                if commitment.dealer in self.dealers:
                    raise SecretBallotError(
                        "S-17", "duplicate_trustee", f"dealer {index} published twice"
                    )
                verify_dealer(self.definition.params, commitment)
                self.dealers[commitment.dealer] = commitment
            elif kind == "complaint":
                complaint = Complaint.parse(payload["complaint"], self.definition.params)
                pair = (complaint.dealer, complaint.recipient)
                if complaint.revealed is None and complaint.recipient == index:
                    self.complained.setdefault(pair, None)
                elif complaint.revealed is not None and complaint.dealer == index:
                    if pair not in self.complained:
                        raise SecretBallotError(
                            "S-22", "malformed", f"dealer {index} answers no complaint"
                        )
                    self.complained[pair] = complaint.revealed
                else:
                    raise SecretBallotError(
                        "S-18", "unknown_trustee", f"member {index} cannot sign this complaint"
                    )
        except SecretBallotError as exc:
            raise Refused("V-220", where, str(exc)) from exc
        if kind == "ballot":
            voter_key = self.certificates[payload["serial"]][1]
            try:
                ballot = self.prechecked.get((voter_key, signature)) or check_ballot(
                    self.definition.election, voter_key, payload["ballot"]
                )
            except SecretBallotError as exc:
                raise Refused("V-230", where, str(exc)) from exc
            if not isinstance(payload["nonce"], str) or payload["nonce"] in self.nonces:
                raise Refused("V-216", where, "the ballot's nonce repeats an earlier one")
            self.nonces.add(payload["nonce"])
            self.ballots[seq] = (member, ballot, voter_key)
            self.history.setdefault(member, []).append(seq)
        elif kind == "spoil":
            target = payload["ballot_seq"]
            found = self.ballots.get(target) if _is_int(target) else None
            if found is None or found[0] != member or target in self.spoiled:
                raise Refused("V-231", where, f"no ballot of member {member} at {target!r:.20}")
            try:
                opening = BallotOpening.parse(payload["opening"], self.definition.form)
                open_ballot(self.definition.election, found[2], found[1], opening)
            except SecretBallotError as exc:
                raise Refused("V-231", where, str(exc)) from exc
            self.spoiled.add(target)
        elif kind == "partial":
            try:
                partial = PartialDecryption.parse(payload["partial"], self.definition.form.options)
            except SecretBallotError as exc:
                raise Refused("V-240", where, str(exc)) from exc
            if partial.member != index:
                raise Refused("V-240", where, f"member {index} signed member {partial.member}'s")
            if index in self.decrypted:
                raise Refused("V-241", where, f"S-17 member {index} decrypted twice")
            if accepting:
                try:
                    verify_partial(
                        self.definition.election,
                        self.key(),
                        tally(self.definition.election, self.counted()),
                        partial,
                    )
                except SecretBallotError as exc:
                    raise Refused("V-240", where, str(exc)) from exc
            self.decrypted.add(index)
            self.partials.append(partial)

    def counted(self) -> list[EncryptedBallot]:
        """Each voter's last ballot not spoiled, in board order."""
        last = []
        for seqs in self.history.values():
            kept = [s for s in seqs if s not in self.spoiled]
            if kept:
                last.append(kept[-1])
        return [self.ballots[s][1] for s in sorted(last)]

    def count(self) -> tuple[int, ...]:
        """The counts per option: the counted ballots' tally combined by every partial
        decryption on the board. ``_Stop``: V-242 with fewer than t, V-240 for a partial
        that does not verify, V-250 for a count outside the table (S-20)."""
        key = self.key()
        totals = tally(self.definition.election, self.counted())
        if len(self.partials) < key.threshold:
            raise Refused(
                "V-242",
                "count",
                f"S-19 {len(self.partials)} partial decryptions on the board, "
                f"{key.threshold} needed",
            )
        roll_size = len(set(self.definition.members.values()))
        try:
            return combine(
                self.definition.election,
                key,
                totals,
                self.partials,
                DiscreteLogTable(max(roll_size, 1)),
            )
        except SecretBallotError as exc:
            check = "V-240" if exc.check in ("S-16", "S-18", "S-9") else "V-250"
            raise Refused(check, "count", str(exc)) from exc

    def key(self) -> ElectionKey:
        """The key the board's key generation gives; ``_Stop`` (V-221) unless it is the
        definition's, with the definition's dealers. Replaying a draft, it is the key the
        definition is to hold (``ElectionKey.qualified``: its ``dealers``)."""
        definition = self.definition
        complaints = [Complaint(d, r, v) for (d, r), v in sorted(self.complained.items())]
        try:
            qualified = qualified_dealers(definition.params, self.dealers.values(), complaints)
            key = joint_key(definition.params, qualified)
        except SecretBallotError as exc:
            raise _Stop("V-221", f"key generation: {exc}") from exc
        if definition.maybe_election is None:
            return key  # the draft: this is the key the definition will hold
        named = definition.payload["dealers"]
        if key.key != definition.election.key or named != [c.dealer for c in qualified]:
            raise _Stop(
                "V-221",
                "the definition's election key or dealers are not those the board's key "
                f"generation gives (qualified: {[c.dealer for c in qualified]})",
            )
        return key


def open_replay(
    definition: object,
    certificates: Sequence[object],
    keys: Mapping[str, PublicKey],
    closed_at: dt.datetime | None = None,
    *,
    draft: bool = False,
) -> BoardReplay:
    """A replay of an empty board for the signed definition (an envelope as JSON) and
    the roll's certificates, for the server to apply its stored entries and then each
    new one with ``accepting=True``. :class:`Refused` if either is not usable. With
    ``draft``, the definition is the key generation's (``key`` "", ``dealers`` []):
    only key-generation messages are taken, and :meth:`BoardReplay.key` gives the key
    and dealers for the definition the vote opens with, whose replay takes the same
    entries again (the chain starts from the context, which both share)."""
    report = Report()
    try:
        payload = _read_signed(definition, keys, DEFINITION_TYPE, report.signers)
        parsed = _definition(payload, draft=draft)
        held = _certificates(list(certificates), keys, parsed, report)
    except _Stop as exc:
        raise Refused(exc.check, "definition", str(exc)) from exc
    return BoardReplay(parsed, held, closed_at)


def _read_signed(
    value: object, keys: Mapping[str, PublicKey], kind: str, signers: set[str]
) -> dict[str, Any]:
    try:
        document = SignedDocument.parse(value if isinstance(value, dict) else b"")
        document.verify(keys, expect_type=kind, expect_version=VERSION)
    except CredentialError as exc:
        raise _Stop(signature_check(exc), f"{kind}: {exc.reason}: {exc}") from exc
    payload = parse_json(canonicalize(dict(document.payload)))
    assert isinstance(payload, dict)
    if payload.get("issuer") != document.signer:
        raise _Stop("V-21", f"{kind}: names issuer {payload.get('issuer')!r:.40}")
    signers.add(document.signer)
    return payload


def verify_secret_bundle(
    data: bytes, *, trusted: Mapping[str, PublicKey] | None = None, report: Report | None = None
) -> Report:
    """Check a secret vote's audit bundle (its exact bytes)."""
    report = report or Report()
    try:
        _verify(data, trusted, report)
    except _Stop as exc:
        report.fail(exc.check, "secret bundle", str(exc))
    return report


def _verify(data: bytes, trusted: Mapping[str, PublicKey] | None, report: Report) -> None:
    from ballots.verify import _registry_keys  # one reading of registry keys for both kinds

    try:
        bundle = parse_json(data)
    except CredentialError as exc:
        raise _Stop("V-1", f"not valid JSON: {exc}") from exc
    if not isinstance(bundle, dict) or bundle.get("type") != SECRET_BUNDLE_TYPE:
        raise _Stop("V-2", "not a kvorum.secret-audit-bundle")
    if bundle.get("v") != VERSION or type(bundle.get("v")) is not int:
        raise _Stop("V-2", f"{SECRET_BUNDLE_TYPE} version {bundle.get('v')!r:.20} is unknown")
    if set(bundle) != _BUNDLE_FIELDS:
        raise _Stop("V-3", f"top-level fields {sorted(bundle)}")
    if canonicalize(bundle) != data:
        report.fail("V-4", "secret bundle", "the file is not its canonical JSON")
    keys = _registry_keys(bundle["registry_keys"], trusted, report)
    definition = _definition(
        _read_signed(bundle["definition"], keys, DEFINITION_TYPE, report.signers)
    )
    vote = definition.payload["vote"]
    certificates = _certificates(bundle["certificates"], keys, definition, report)
    entries = bundle["entries"]
    if not isinstance(entries, list):
        raise _Stop("V-3", "entries must be an array")
    result = _read_signed(bundle["result"], keys, RESULT_TYPE, report.signers)
    closed_at = _closed_at(result, definition)
    replay = BoardReplay(definition, certificates, closed_at)
    for seq, entry in enumerate(entries, start=1):
        try:
            replay.apply(seq, entry)
        except Refused as refused:
            report.fail(refused.check, refused.where, refused.message)
        for where in replay.unlinked:
            report.fail("V-211", where, "seq and prev do not link it to the entry before")
        for where, message in replay.misdated:
            report.fail("V-214", where, message)
        replay.unlinked.clear()
        replay.misdated.clear()
    try:
        counts = replay.count()
    except Refused as refused:
        raise _Stop(refused.check, refused.message) from refused
    counted, spoiled, decrypted, prev = (
        replay.counted(),
        replay.spoiled,
        replay.decrypted,
        replay.prev,
    )
    for key_id in sorted(set(keys) - report.signers):
        report.fail("V-11", "registry_keys", f"key {key_id} signs nothing in the bundle")
    _check_result(result, definition, counts, len(counted), sorted(decrypted), entries, prev)
    report.notes.append(
        f"secret vote {vote}: {len(entries)} entries, {len(counted)} ballots counted, "
        f"{len(spoiled)} spoiled; counts "
        + ", ".join(f"{o} {c}" for o, c in zip(definition.payload["options"], counts, strict=True))
    )


def _instant(payload: Mapping[str, Any], name: str, what: str) -> dt.datetime:
    """An instant field, a missing one refused like a malformed one."""
    if name not in payload:
        raise CredentialError("malformed", f"{what} has no {name}")
    return read_instant(payload, name, what)


def _closed_at(result: Mapping[str, Any], definition: _Definition) -> dt.datetime:
    """The result's ``closed_at``: at or after the opening, not after the deadline."""
    try:
        closed = _instant(result, "closed_at", "result")
    except CredentialError as exc:
        raise _Stop("V-250", f"the result's closed_at: {exc}") from exc
    opens = read_instant(definition.payload, "opens_at", "definition")
    deadline = definition.payload["closes_at"]
    if closed < opens or (
        deadline is not None and closed > read_instant(definition.payload, "closes_at", "")
    ):
        raise _Stop("V-250", "the result's closed_at is before the opening or after the deadline")
    return closed


def _expected_outcome(definition: _Definition, counts: tuple[int, ...], took: int) -> Any:
    payload = definition.payload
    roll = len(set(definition.members.values()))
    if payload["form"] == "yes_no":
        yes, no, abstain = counts
        question = QuestionCounts(yes, no, abstain, took, payload["composition"], roll)
        return {
            "valid": definition.rule.turnout_met(took, roll),
            "adopted": decide_question(question, definition.rule),
        }
    one_of = payload["form"] == "one_of"
    election = ElectionCounts(
        payload["form"],
        payload["seats"],
        took,
        counts,
        None if one_of else tuple(took - c for c in counts),
        payload["composition"],
        len(set(definition.members.values())),
    )
    outcome = decide_election(election, definition.rule)
    return {
        "valid": outcome.valid,
        "passed": list(outcome.passed),
        "elected": list(outcome.elected),
        "tied": list(outcome.tied),
        "tied_seats": outcome.tied_seats,
        "vacant": outcome.vacant,
    }


def _check_result(
    result: Mapping[str, Any],
    definition: _Definition,
    counts: tuple[int, ...],
    took: int,
    decrypted: list[int],
    entries: list[Any],
    head: str,
) -> None:
    try:
        outcome = _expected_outcome(definition, counts, took)
    except CountsInvalid as exc:
        raise _Stop("V-250", f"the counts cannot be decided: {exc}") from exc
    expected = {
        "type": RESULT_TYPE,
        "v": VERSION,
        "vote": definition.payload["vote"],
        "definition": definition.fingerprint,
        "length": len(entries),
        "head": head,
        "closed_at": result.get("closed_at"),
        "took_part": took,
        "counts": list(counts),
        "decrypted_by": decrypted,
        "outcome": outcome,
        "issuer": result.get("issuer"),
    }
    if dict(result) != expected:
        differing = sorted(k for k in expected if result.get(k) != expected[k])
        raise _Stop("V-250", f"the signed result differs from the board's in {differing}")


def _certificates(
    value: object, keys: Mapping[str, PublicKey], definition: _Definition, report: Report
) -> dict[int, tuple[int, bytes, KeyCertificate]]:
    if not isinstance(value, list):
        raise _Stop("V-3", "certificates must be an array")
    out: dict[int, tuple[int, bytes, KeyCertificate]] = {}
    for item in value:
        try:
            document = SignedDocument.parse(item if isinstance(item, dict) else b"")
            payload = document.payload
            certificate = verify_certificate(
                document,
                keys,
                now=_instant(payload, "issued_at", "certificate"),
                revocations=None,
            )
        except CredentialError as exc:
            raise _Stop("V-50", f"certificate: {exc.reason}: {exc}") from exc
        report.signers.add(document.signer)
        if definition.members.get(certificate.serial) != certificate.member_id:
            raise _Stop("V-53", f"certificate {certificate.serial} is not on the roll")
        out[certificate.serial] = (
            certificate.member_id,
            bytes(certificate.public_key),
            certificate,
        )
    return out


def _member_document(
    value: object,
    kind: str,
    certificates: Mapping[int, tuple[int, bytes, KeyCertificate]],
    received: Any,
    where: str,
) -> tuple[int, dict[str, Any], str]:
    """The signer's member id, the payload and the signature of a member-signed document."""
    if not isinstance(value, dict) or not isinstance(value.get("payload"), dict):
        raise Refused("V-210", where, "the document is not a signed envelope")
    payload = value["payload"]
    if set(payload) != _DOCUMENT_FIELDS[kind] or payload.get("type") != DOCUMENT_TYPES[kind]:
        raise Refused("V-210", where, f"not a {DOCUMENT_TYPES[kind]} of its format")
    serial = payload["serial"]
    held = certificates.get(serial) if _is_int(serial) else None
    if held is None:
        raise Refused("V-212", where, f"serial {serial!r:.20} is no certificate of the bundle")
    member, raw, certificate = held
    public = PublicKey.parse(raw)
    if value.get("signer") != public.key_id:
        raise Refused(
            "V-212",
            where,
            f"signed by key {str(value.get('signer'))[:40]}, not by the key of "
            f"certificate {serial} (member {member})",
        )
    try:
        document = SignedDocument.parse(value)
        document.verify({public.key_id: public}, expect_type=DOCUMENT_TYPES[kind])
    except CredentialError as exc:
        raise Refused("V-212", where, f"{exc.reason}: {exc}") from exc
    if not certificate.issued_at <= received < certificate.expires_at:
        raise Refused("V-212", where, f"certificate {serial} is not valid at the entry's time")
    return member, payload, str(value["signature"])


def challenged_ballots(data: bytes) -> list[Challenged]:
    """The spoiled ballots of a (verified) secret bundle and what each contained."""
    bundle = parse_json(data)
    assert isinstance(bundle, dict)
    definition = _definition(dict(bundle["definition"]["payload"]))
    certificates = {
        c["payload"]["serial"]: (c["payload"]["member"], c["payload"]["public_key"])
        for c in bundle["certificates"]
    }
    ballots: dict[int, Any] = {}
    out = []
    for entry in bundle["entries"]:
        payload = entry["document"]["payload"]
        if entry["kind"] == "ballot":
            ballots[entry["seq"]] = payload
        elif entry["kind"] == "spoil":
            ballot_payload = ballots[payload["ballot_seq"]]
            member, key = certificates[payload["serial"]]
            voter_key = b64u_decode(key, length=32)
            ballot = EncryptedBallot.parse(ballot_payload["ballot"], definition.form)
            opening = BallotOpening.parse(payload["opening"], definition.form)
            marks = open_ballot(definition.election, voter_key, ballot, opening)
            options = tuple(definition.payload["options"])
            out.append(Challenged(payload["ballot_seq"], member, tuple(marks), options))
    return out
