"""The offline verifier of audit bundles: trusts nothing but the signatures it checks.

It needs the standard library, PyNaCl and the pure modules :mod:`crypto` and
:mod:`ballots.formats` — no server, no database, no network. Every check listed in
``docs/ballots.md`` ("Verifying a bundle") is made; a check that cannot be made (a
missing part, an unknown version, an unreadable field) is a failure, never a skip.

Per-entry work (canonical bytes, hashes, ballot and certificate signatures) is spread
over worker processes where the platform can fork; the chain, the last-ballot rule,
the counts and the verdict are then checked in order in the main process.
"""

from __future__ import annotations

import base64
import datetime as dt
import gc
import hashlib
import multiprocessing
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings
import nacl.exceptions

from ballots.formats import (
    BALLOT_TYPE,
    BUNDLE_TYPE,
    CHECKPOINT_TYPE,
    DEFINITION_TYPE,
    ENTRY_TYPE,
    NONCE,
    RECEIPT_TYPE,
    RESULT_TYPE,
    VERSION,
    BallotRefused,
    Definition,
    ballot_fields,
    decide,
    result_payload,
)
from crypto.canonical import CanonicalJSONError, canonicalize, canonicalize_signed, parse_json
from crypto.certificate import KeyCertificate
from crypto.ed25519 import PublicKey
from crypto.encoding import b64u_encode
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.instant import format_instant, parse_instant
from crypto.revocation import RevocationList, verify_revocation_list

__all__ = ["Report", "check_receipt", "verify_bundle"]

_HASH = re.compile(r"sha256:[0-9a-f]{64}")
# [0-9], not \d, which also matches other scripts' digits; that an instant exists
# (no 2025-02-30, no 10:00:99) is checked by parse_instant where one is read.
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# 64 bytes in unpadded base64url: 86 characters, the last one's 4 low bits unused and
# zero. Without that rule one signature has 16 spellings, and a replayed ballot with a
# re-spelled signature would look like a new one (see the repeat check).
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{85}[AQgw]")
_KEY_ID = re.compile(r"[0-9a-f]{32}")
_MAX_INT = 2**53 - 1
_BALLOT_FIELDS = frozenset({"choice", "definition", "nonce", "serial", "type", "v", "vote"})
_END_OF_TIME = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
_VOTE_FIELDS = ("certificates", "checkpoint", "definition", "entries", "result", "revocations")


@dataclass
class VoteSummary:
    vote: int
    title: str
    question: str
    options: tuple[str, ...]
    entries: int = 0
    voters: int = 0
    counts: tuple[int, ...] = ()
    adopted: bool | None = None
    head: str = ""


@dataclass
class Report:
    """What the verifier found: ``problems`` empty means every check held."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    votes: list[VoteSummary] = field(default_factory=list)
    signers: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self) -> str:
        lines = list(self.notes)
        for vote in self.votes:
            lines.append(f"vote {vote.vote}: {vote.title}")
            lines.append(f"  question: {vote.question.splitlines()[0][:200]}")
            lines.append(f"  board: {vote.entries} entries, head {vote.head}")
            counts = ", ".join(
                f"{name} {count}" for name, count in zip(vote.options, vote.counts, strict=False)
            )
            lines.append(f"  counted: {vote.voters} voters; {counts}")
            verdict = {True: "adopted", False: "not adopted", None: "no decision (survey)"}
            lines.append(f"  verdict: {verdict[vote.adopted]}")
        if self.problems:
            lines.append(f"FAILED: {len(self.problems)} problem(s)")
            lines.extend(f"  - {p}" for p in self.problems[:200])
            if len(self.problems) > 200:
                lines.append(f"  … and {len(self.problems) - 200} more")
        else:
            lines.append("OK: every hash, signature, certificate, count and verdict checks out")
        return "\n".join(lines)


class _Stop(Exception):
    """A failure that makes the rest of a part uncheckable."""


# --- worker side --------------------------------------------------------------------------

# Set in the parent before the pool forks: (definition, entries, cert keys, revoked).
_STATE: dict[str, Any] = {}


def _b64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _entry_canonical(entry: Any) -> bytes | None:
    """The canonical bytes of a well-shaped entry, composed without the general encoder
    (every string in it is checked to need no escaping); None if it is not well shaped."""
    try:
        if set(entry) != {"ballot", "prev", "received_at", "seq", "type", "v", "vote"}:
            return None
        ballot = entry["ballot"]
        if set(ballot) != {"payload", "signature", "signer"}:
            return None
        p = ballot["payload"]
        if set(p) != _BALLOT_FIELDS:
            return None
        ints = (entry["seq"], entry["vote"], entry["v"], p["serial"], p["vote"], p["v"])
        choice = p["choice"]
        if not isinstance(choice, list):
            return None
        for n in (*ints, *choice):
            if type(n) is not int or not 0 <= n <= _MAX_INT:
                return None
        texts = (
            (entry["prev"], _HASH),
            (entry["received_at"], _INSTANT),
            (ballot["signature"], _SIGNATURE),
            (ballot["signer"], _KEY_ID),
            (p["definition"], _HASH),
            (p["nonce"], NONCE),
        )
        for text, pattern in texts:
            if type(text) is not str or not pattern.fullmatch(text):
                return None
        if entry["type"] != ENTRY_TYPE or p["type"] != BALLOT_TYPE:
            return None
    except (TypeError, KeyError):
        return None
    choices = ",".join(str(n) for n in choice)
    payload = (
        f'{{"choice":[{choices}],"definition":"{p["definition"]}","nonce":"{p["nonce"]}",'
        f'"serial":{p["serial"]},"type":"{BALLOT_TYPE}","v":{p["v"]},"vote":{p["vote"]}}}'
    )
    return (
        f'{{"ballot":{{"payload":{payload},"signature":"{ballot["signature"]}",'
        f'"signer":"{ballot["signer"]}"}},"prev":"{entry["prev"]}",'
        f'"received_at":"{entry["received_at"]}","seq":{entry["seq"]},'
        f'"type":"{ENTRY_TYPE}","v":{entry["v"]},"vote":{entry["vote"]}}}'
    ).encode()


def _payload_canonical(canonical_entry: bytes) -> bytes:
    # The payload object is the first one nested in the composed entry.
    start = canonical_entry.index(b'{"choice"')
    end = canonical_entry.index(b"}", start) + 1
    return canonical_entry[start:end]


def _check_entries(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
    """Per entry: (hash, canonical bytes, seq, prev, received_at, member, serial, choice,
    signature, problem or None)."""
    definition: Definition = _STATE["definition"]
    entries: Sequence[Any] = _STATE["entries"]
    certs: Mapping[int, tuple[int, bytes, str, str, str]] = _STATE["certs"]
    revoked: Mapping[int, str] = _STATE["revoked"]
    out: list[tuple[Any, ...]] = []
    for index in range(*bounds):
        entry = entries[index]
        out.append(_check_entry(entry, definition, certs, revoked))
    return out


def _check_entry(
    entry: Any,
    definition: Definition,
    certs: Mapping[int, tuple[int, bytes, str, str, str]],
    revoked: Mapping[int, str],
) -> tuple[Any, ...]:
    canonical = _entry_canonical(entry) if isinstance(entry, dict) else None
    if canonical is None:
        try:
            digest = "sha256:" + hashlib.sha256(canonicalize_signed(entry)).hexdigest()
        except CanonicalJSONError:
            digest = ""
        return (digest, None, None, None, None, None, None, None, None, _shape_problem(entry))
    digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
    ballot = entry["ballot"]
    payload = ballot["payload"]
    received = entry["received_at"]
    base = (digest, canonical, entry["seq"], entry["prev"], received)
    problem = None
    member = serial = choice = None
    try:
        if entry["vote"] != definition.vote or entry["v"] != VERSION:
            raise BallotRefused("malformed", f"the entry is for vote {entry['vote']}")
        try:
            parse_instant(received)
        except CredentialError:
            raise BallotRefused("malformed", f"received_at {received} does not exist") from None
        serial, choice = ballot_fields(payload, definition)
        cert = certs.get(serial)
        if cert is None:
            raise BallotRefused("unknown_key", f"certificate {serial} is not in the bundle")
        member, public, signer, issued, expires = cert
        if ballot["signer"] != signer:
            raise BallotRefused(
                "bad_signature",
                f"signed by key {ballot['signer']}, certificate {serial} is {signer}",
            )
        try:
            nacl.bindings.crypto_sign_open(
                _b64u(ballot["signature"]) + _payload_canonical(canonical), public
            )
        except (nacl.exceptions.BadSignatureError, ValueError):
            raise BallotRefused("bad_signature", "the ballot's signature does not verify") from None
        voter = definition.voter(member)
        if voter is None:
            raise BallotRefused("not_on_roll", f"member {member} is not on the roll")
        # A certificate the roll does not list counts only where the vote allows keys
        # issued after it opened (and then only one of a voter on the roll).
        if serial not in voter.keys and not definition.late_keys:
            raise BallotRefused(
                "not_on_roll", f"certificate {serial} is not one the roll lists for {member}"
            )
        if not issued <= received < expires:
            raise BallotRefused(
                "expired", f"certificate {serial} is not valid at {received} ({issued}..{expires})"
            )
        when = revoked.get(serial)
        if when is not None and when <= received:
            raise BallotRefused("revoked", f"certificate {serial} was revoked at {when}")
    except BallotRefused as exc:
        problem = f"{exc.reason}: {exc.message}"
    return (*base, member, serial, choice, ballot["signature"], problem)


def _shape_problem(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "malformed: an entry must be a JSON object"
    try:
        keys = sorted(entry)
        ballot = entry.get("ballot")
        payload = ballot.get("payload") if isinstance(ballot, dict) else None
        if (
            keys == ["ballot", "prev", "received_at", "seq", "type", "v", "vote"]
            and isinstance(ballot, dict)
            and sorted(ballot) == ["payload", "signature", "signer"]
            and isinstance(payload, dict)
            and sorted(payload) == sorted(_BALLOT_FIELDS)
        ):
            return (
                "malformed: a field of the entry is not of its version 1 form (the types, "
                "a hash, an instant, a key id, a 64-byte signature in canonical "
                "base64url, a nonce)"
            )
        return (
            "malformed: the entry does not have the shape of a version 1 board entry "
            f"(fields {keys}; ballot fields "
            f"{sorted(ballot) if isinstance(ballot, dict) else None}; payload fields "
            f"{sorted(payload) if isinstance(payload, dict) else None})"
        )
    except Exception:
        return "malformed: the entry is not a version 1 board entry"


_Checked = tuple[str | None, bytes | None, str | None]


def _check_certificates(bounds: tuple[int, int]) -> list[_Checked]:
    """Per certificate: (problem or None, canonical bytes of the envelope, key id)."""
    documents: Sequence[Any] = _STATE["certificates"]
    keys: Mapping[str, PublicKey] = _STATE["keys"]
    out: list[_Checked] = []
    for index in range(*bounds):
        try:
            signed = SignedDocument.parse(documents[index])
            signed.verify(keys, expect_type="kvorum.key-certificate", expect_version=1)
            certificate = KeyCertificate.from_payload(signed.payload)
            if certificate.issuer != signed.signer:
                raise CredentialError("issuer_mismatch", "issuer is not the signer")
            out.append((None, _envelope_bytes(signed), certificate.public_key.key_id))
        except CredentialError as exc:
            out.append((f"{exc.reason}: {exc}", None, None))
    return out


def _parallel(func: Any, count: int, jobs: int) -> list[Any]:
    if count == 0:
        return []
    if jobs <= 1 or count < 2000 or "fork" not in multiprocessing.get_all_start_methods():
        return list(func((0, count)))
    step = -(-count // (jobs * 4))
    chunks = [(start, min(count, start + step)) for start in range(0, count, step)]
    # Freeze the parsed bundle out of the cyclic collector's reach: a collection in a
    # forked worker would otherwise write to every object's header, copying the whole
    # heap page by page into each worker, which made two workers no faster than one.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(func, chunks)
    finally:
        gc.unfreeze()
    return [item for chunk in results for item in chunk]


# --- the bundle ---------------------------------------------------------------------------


def _canon(value: object) -> bytes:
    try:
        return canonicalize(value)
    except CanonicalJSONError as exc:
        raise _Stop(f"not canonical JSON: {exc}") from exc


def verify_bundle(
    data: bytes, *, trusted: Mapping[str, PublicKey] | None = None, jobs: int | None = None
) -> Report:
    """Check an audit bundle (its exact bytes). ``trusted``: registry keys obtained
    independently of the bundle; without it the bundle's own keys are the anchor and
    the report says so."""
    report = Report()
    jobs = jobs or os.cpu_count() or 1
    try:
        bundle = parse_json(data)
    except CanonicalJSONError as exc:
        report.fail("bundle", f"not valid JSON: {exc}")
        return report
    if not isinstance(bundle, dict):
        report.fail("bundle", "not a JSON object")
        return report
    if bundle.get("type") != BUNDLE_TYPE or bundle.get("v") != VERSION:
        report.fail(
            "bundle",
            f"not a {BUNDLE_TYPE} version {VERSION} (type {bundle.get('type')!r:.60}, "
            f"v {bundle.get('v')!r:.10}); this verifier cannot check it",
        )
        return report
    if set(bundle) != {"registry_keys", "type", "v", "votes"}:
        report.fail("bundle", f"unexpected top-level fields {sorted(bundle)}")
        return report
    keys = _registry_keys(bundle["registry_keys"], trusted, report)
    votes = bundle["votes"]
    if not isinstance(votes, list) or not votes:
        report.fail("bundle", "votes must be a non-empty array")
        return report
    pieces: list[tuple[str, bytes]] = [
        ("bundle header", b'{"registry_keys":' + _canon(bundle["registry_keys"])),
        ("bundle header", b',"type":"' + BUNDLE_TYPE.encode() + b'","v":1,"votes":['),
    ]
    seen: set[int] = set()
    for index, vote in enumerate(votes):
        where = f"vote #{index + 1}"
        if index:
            pieces.append((where, b","))
        try:
            pieces.extend(_verify_vote(vote, where, keys, report, jobs, seen))
        except _Stop as exc:
            report.fail(where, str(exc))
            return report
    pieces.append(("bundle end", b"]}"))
    _check_canonical(data, pieces, report)
    unused = sorted(set(keys) - report.signers)
    for key_id in unused:
        report.fail("registry_keys", f"key {key_id} signs nothing in the bundle")
    return report


def _registry_keys(
    value: object, trusted: Mapping[str, PublicKey] | None, report: Report
) -> dict[str, PublicKey]:
    if not isinstance(value, dict) or not value:
        raise_or = "registry_keys must be a non-empty object of key id → public key"
        report.fail("registry_keys", raise_or)
        return {}
    keys: dict[str, PublicKey] = {}
    for key_id, text in value.items():
        try:
            public = PublicKey.from_b64u(str(text))
        except CredentialError as exc:
            report.fail("registry_keys", f"key {key_id}: {exc}")
            continue
        if public.key_id != key_id:
            report.fail("registry_keys", f"key {key_id} is filed under the wrong id")
            continue
        keys[key_id] = public
    if trusted is None:
        report.notes.append(
            "trust anchor: the registry keys in the bundle, "
            + ", ".join(sorted(keys))
            + " — compare them with the published keys.json or pass --keys"
        )
        return keys
    anchored: dict[str, PublicKey] = {}
    for key_id in sorted(keys):
        # The trusted key itself is the anchor, not the bundle's key that has its id:
        # an id is a truncated hash, and two keys could share one.
        if key_id not in trusted:
            report.fail("registry_keys", f"key {key_id} is not among the trusted keys")
        elif trusted[key_id] != keys[key_id]:
            report.fail("registry_keys", f"key {key_id} differs from the trusted key of that id")
        else:
            anchored[key_id] = trusted[key_id]
    report.notes.append("trust anchor: the keys given with --keys")
    return anchored


def _signed(
    value: object, keys: Mapping[str, PublicKey], kind: str, report: Report
) -> tuple[Any, bytes]:
    """A registry-signed document's payload (plain JSON objects) and its envelope's
    canonical bytes."""
    try:
        document = SignedDocument.parse(value if isinstance(value, dict) else b"")
        document.verify(keys, expect_type=kind, expect_version=VERSION)
    except CredentialError as exc:
        raise _Stop(f"{kind}: {exc.reason}: {exc}") from exc
    payload = document.payload
    if payload.get("issuer") != document.signer:
        raise _Stop(
            f"{kind}: names issuer {payload.get('issuer')!r:.40}, signed by {document.signer}"
        )
    report.signers.add(document.signer)
    return json_copy(payload), _envelope_bytes(document)


def _envelope_bytes(document: SignedDocument) -> bytes:
    """The canonical bytes of a parsed envelope, from its payload's: parse() accepted
    exactly these three fields, the signature in strict base64url (so re-encoding
    gives the text it was read from) and the signer as a key id — nothing to escape."""
    return b'{"payload":%s,"signature":"%s","signer":"%s"}' % (
        document.canonical,
        b64u_encode(document.signature).encode(),
        document.signer.encode(),
    )


def json_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [json_copy(v) for v in value]
    return value


def _verify_vote(
    vote: object,
    where: str,
    keys: Mapping[str, PublicKey],
    report: Report,
    jobs: int,
    seen: set[int],
) -> list[tuple[str, bytes]]:
    if not isinstance(vote, dict) or set(vote) != set(_VOTE_FIELDS):
        raise _Stop(f"must be an object with exactly the fields {', '.join(_VOTE_FIELDS)}")
    signed_definition, definition_bytes = _signed(vote["definition"], keys, DEFINITION_TYPE, report)
    try:
        definition = Definition.from_payload(signed_definition)
    except CredentialError as exc:
        raise _Stop(f"definition: {exc.reason}: {exc}") from exc
    where = f"vote {definition.vote}"
    if definition.vote in seen:
        raise _Stop("the bundle holds this vote twice")
    seen.add(definition.vote)
    summary = VoteSummary(
        definition.vote, definition.title, definition.question, definition.options
    )
    report.votes.append(summary)

    checkpoint, checkpoint_bytes = _signed(vote["checkpoint"], keys, CHECKPOINT_TYPE, report)
    result, result_bytes = _signed(vote["result"], keys, RESULT_TYPE, report)
    crl = _revocations(vote["revocations"], keys, definition, checkpoint, where, report)
    certs, certificate_bytes = _certificates(
        vote["certificates"], definition, keys, where, report, jobs
    )
    revoked = {e.serial: format_instant(e.revoked_at) for e in crl.entries}

    entries = vote["entries"]
    if not isinstance(entries, list):
        raise _Stop("entries must be an array")
    _STATE.update(definition=definition, entries=entries, certs=certs, revoked=revoked)
    try:
        checked = _parallel(_check_entries, len(entries), jobs)
    finally:
        _STATE.clear()

    prev = definition.fingerprint
    last_time = format_instant(definition.opens_at)
    limit = format_instant(definition.closes_at) if definition.closes_at else None
    closed_at = checkpoint.get("closed_at")
    last: dict[int, tuple[int, ...]] = {}
    used: set[int] = set()
    signatures: set[str] = set()
    entry_pieces: list[tuple[str, bytes]] = []
    for index, row in enumerate(checked):
        seq = index + 1
        name = f"{where}, entry {seq}"
        (
            digest,
            canonical,
            entry_seq,
            entry_prev,
            received,
            member,
            serial,
            choice,
            signature,
            problem,
        ) = row
        if problem:
            report.fail(name, problem)
        if canonical is None:
            entry_pieces.append((name, _canon(entries[index])))
            prev = digest
            continue
        entry_pieces.append((name, canonical))
        if entry_seq != seq:
            report.fail(name, f"sequence number {entry_seq} out of place (expected {seq})")
        if entry_prev != prev:
            report.fail(
                name, f"does not link to the entry before it (prev {entry_prev}, expected {prev})"
            )
        if received < last_time:
            report.fail(name, f"received at {received}, before the entry or opening before it")
        if limit is not None and received > limit:
            report.fail(name, f"received at {received}, after the deadline {limit}")
        if isinstance(closed_at, str) and received > closed_at:
            report.fail(name, f"received at {received}, after the board was closed")
        # A replayed ballot would override the voter's later one (the last counts).
        # Signatures are deterministic and spelled one way only (_SIGNATURE), so a
        # replay has the signature of the original; the server refuses a ballot
        # with the signature of one on the board (board.py, ballot_digest).
        if signature in signatures:
            report.fail(name, "repeats a ballot already on the board")
        signatures.add(signature)
        last_time = max(last_time, received)
        prev = digest
        if problem is None and member is not None:
            last[member] = choice
            used.add(serial)
    summary.entries = len(entries)
    summary.head = prev
    _check_unused_certificates(certs, definition, used, where, report)

    expected_checkpoint = {
        "type": CHECKPOINT_TYPE,
        "v": VERSION,
        "vote": definition.vote,
        "definition": definition.fingerprint,
        "length": len(entries),
        "head": prev,
        "closed_at": closed_at,
        "issuer": checkpoint.get("issuer"),
    }
    _compare(checkpoint, expected_checkpoint, f"{where}, checkpoint", report)
    if not _is_instant(closed_at):
        report.fail(f"{where}, checkpoint", "closed_at is not an instant")
    elif closed_at < format_instant(definition.opens_at):
        report.fail(f"{where}, checkpoint", "closed before the vote opened")

    outcome = decide(definition, last)
    summary.voters, summary.counts, summary.adopted = (
        outcome.voters,
        outcome.counts,
        outcome.adopted,
    )
    expected_result = result_payload(
        definition,
        outcome,
        checkpoint="sha256:" + hashlib.sha256(checkpoint_bytes).hexdigest(),
        length=len(entries),
        head=prev,
        revocations=crl.number,
        issuer=str(result.get("issuer")),
    )
    _compare(result, expected_result, f"{where}, result", report)

    pieces: list[tuple[str, bytes]] = [(where, b'{"certificates":[')]
    for number, document in enumerate(vote["certificates"]):
        blob = certificate_bytes[number] or _canon(document)
        pieces.append((f"{where}, certificate #{number + 1}", (b"," if number else b"") + blob))
    pieces.append((where, b'],"checkpoint":'))
    pieces.append((f"{where}, checkpoint", checkpoint_bytes))
    pieces.append((where, b',"definition":'))
    pieces.append((f"{where}, definition", definition_bytes))
    pieces.append((where, b',"entries":['))
    for number, (name, blob) in enumerate(entry_pieces):
        pieces.append((name, (b"," if number else b"") + blob))
    pieces.append((where, b'],"result":'))
    pieces.append((f"{where}, result", result_bytes))
    pieces.append((where, b',"revocations":'))
    pieces.append((f"{where}, revocation list", _canon(vote["revocations"])))
    pieces.append((where, b"}"))
    return pieces


def _is_instant(value: object) -> bool:
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        return False
    try:
        parse_instant(value)
    except CredentialError:
        return False
    return True


def _compare(
    actual: Mapping[str, Any], expected: Mapping[str, Any], where: str, report: Report
) -> None:
    for name in sorted(set(actual) | set(expected)):
        # Compared as JSON, not as Python values: in Python true == 1 and 1 == 1.0, so
        # a result claiming "counts": [true, 0] or "adopted": 1 would pass.
        if not _same(actual.get(name, "<missing>"), expected.get(name, "<absent>")):
            report.fail(
                where,
                f"{name} is {_short(actual.get(name, '<missing>'))} "
                f"but the board gives {_short(expected.get(name, '<absent>'))}",
            )


def _same(a: object, b: object) -> bool:
    """Equal as JSON values (of plain dicts and lists): in Python True == 1 == 1.0."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "…"


def _revocations(
    value: object,
    keys: Mapping[str, PublicKey],
    definition: Definition,
    checkpoint: Mapping[str, Any],
    where: str,
    report: Report,
) -> RevocationList:
    try:
        document = SignedDocument.parse(value if isinstance(value, dict) else b"")
        # Any list issued after the close will do, so "now" is the end of time (not
        # opens_at.replace(year=9999), which fails for a vote opened on 29 February).
        crl = verify_revocation_list(document, keys, now=_END_OF_TIME)
    except CredentialError as exc:
        raise _Stop(f"revocation list: {exc.reason}: {exc}") from exc
    report.signers.add(document.signer)
    if crl.organisation_id != definition.org:
        raise _Stop(f"the revocation list is of organisation {crl.organisation_id}")
    closed_at = checkpoint.get("closed_at")
    if not isinstance(closed_at, str) or format_instant(crl.issued_at) < closed_at:
        report.fail(
            f"{where}, revocation list",
            f"issued at {format_instant(crl.issued_at)}, before the vote closed: "
            "a later revocation could be missing",
        )
    return crl


def _certificates(
    value: object,
    definition: Definition,
    keys: Mapping[str, PublicKey],
    where: str,
    report: Report,
    jobs: int,
) -> tuple[dict[int, tuple[int, bytes, str, str, str]], list[bytes | None]]:
    """The valid certificates by serial: (member, public key, key id, issued_at,
    expires_at); and each certificate's canonical bytes where it could be read."""
    if not isinstance(value, list):
        raise _Stop("certificates must be an array")
    _STATE.update(certificates=value, keys=keys)
    try:
        checked: list[_Checked] = _parallel(_check_certificates, len(value), jobs)
    finally:
        _STATE.clear()
    certs: dict[int, tuple[int, bytes, str, str, str]] = {}
    holders: dict[str, int] = {}
    for index, (problem, _, key_id) in enumerate(checked):
        name = f"{where}, certificate #{index + 1}"
        if problem:
            report.fail(name, problem)
            continue
        document = value[index]
        payload = document["payload"]
        report.signers.add(document["signer"])
        serial = payload["serial"]
        if payload["org"] != definition.org:
            report.fail(name, f"certificate {serial} is of organisation {payload['org']}")
            continue
        if serial in certs:
            report.fail(name, f"certificate {serial} appears twice")
            continue
        # One device key certified for two members would let one person vote twice;
        # the registry never certifies a key twice (registry/credentials.py).
        holder = holders.setdefault(str(key_id), payload["member"])
        if holder != payload["member"]:
            report.fail(name, f"key {key_id} is certified for member {holder} already")
            continue
        certs[serial] = (
            payload["member"],
            _b64u(payload["public_key"]),
            str(key_id),
            payload["issued_at"],
            payload["expires_at"],
        )
    opened = format_instant(definition.opens_at)
    for voter in definition.roll:
        for serial in voter.keys:
            cert = certs.get(serial)
            if cert is None:
                report.fail(
                    where, f"the roll lists certificate {serial}, which is not in the bundle"
                )
            elif cert[0] != voter.member:
                report.fail(
                    where, f"certificate {serial} is member {cert[0]}'s, not {voter.member}'s"
                )
            elif cert[3] > opened:
                report.fail(where, f"certificate {serial} was issued after the vote opened")
    return certs, [blob for _, blob, _ in checked]


def _check_unused_certificates(
    certs: Mapping[int, tuple[int, bytes, str, str, str]],
    definition: Definition,
    used: set[int],
    where: str,
    report: Report,
) -> None:
    listed = {serial for voter in definition.roll for serial in voter.keys}
    for serial in sorted(set(certs) - listed - used):
        report.fail(where, f"certificate {serial} is neither on the roll nor used by a ballot")


def _check_canonical(data: bytes, pieces: list[tuple[str, bytes]], report: Report) -> None:
    """The file must be exactly the canonical form of what it holds: then no byte of it
    can change without a check failing."""
    expected = b"".join(blob for _name, blob in pieces)
    if expected == data:
        return
    limit = min(len(expected), len(data))
    offset = next((i for i in range(limit) if expected[i] != data[i]), limit)
    position = 0
    for name, blob in pieces:
        if position + len(blob) > offset:
            report.fail(name, f"the bundle is not in canonical form at byte {offset}")
            return
        position += len(blob)
    report.fail("bundle end", f"the bundle is not in canonical form at byte {offset}")


# --- receipts -----------------------------------------------------------------------------


def check_receipt(
    data: bytes,
    receipt: bytes,
    report: Report,
    *,
    trusted: Mapping[str, PublicKey] | None = None,
) -> None:
    """Check a voter's receipt against a bundle: signed by a registry key (one of
    ``trusted`` if given, else one of the bundle's), naming a vote of the bundle and
    its definition, and the entry at its place on that vote's board with its hash and
    time. A receipt proves its entry is on the board; a server that dropped or
    rewrote the ballot and then rebuilt the chain and re-signed the checkpoint would
    pass :func:`verify_bundle`, but not this.

    Meaningful once :func:`verify_bundle` passed on the same bytes; an unreadable
    bundle or receipt is reported as a failure, never raised."""
    try:
        document = SignedDocument.parse(receipt)
        bundle = parse_json(data)
    except CredentialError as exc:  # CanonicalJSONError is one
        report.fail("receipt", f"{exc.reason}: {exc}")
        return
    if not isinstance(bundle, dict):
        report.fail("receipt", "the bundle is not a JSON object")
        return
    keys = dict(trusted) if trusted is not None else _bundle_keys(bundle.get("registry_keys"))
    try:
        document.verify(keys, expect_type=RECEIPT_TYPE, expect_version=VERSION)
    except CredentialError as exc:
        report.fail("receipt", f"{exc.reason}: {exc}")
        return
    payload = json_copy(document.payload)
    vote_id = payload.get("vote")
    votes = bundle.get("votes")
    for vote in votes if isinstance(votes, list) else []:
        definition = vote.get("definition") if isinstance(vote, dict) else None
        signed = definition.get("payload") if isinstance(definition, dict) else None
        if not isinstance(signed, dict) or not _same(signed.get("vote"), vote_id):
            continue
        _check_receipt_entry(payload, document.signer, signed, vote.get("entries"), report)
        return
    report.fail("receipt", f"vote {_short(vote_id)} is not in the bundle")


def _bundle_keys(value: object) -> dict[str, PublicKey]:
    keys: dict[str, PublicKey] = {}
    for key_id, text in value.items() if isinstance(value, dict) else ():
        try:
            public = PublicKey.from_b64u(text)
        except CredentialError:
            continue
        if public.key_id == key_id:
            keys[key_id] = public
    return keys


def _check_receipt_entry(
    receipt: dict[str, Any],
    signer: str,
    definition: dict[str, Any],
    entries: object,
    report: Report,
) -> None:
    seq = receipt.get("seq")
    vote_id = definition.get("vote")
    if not isinstance(entries, list):
        report.fail("receipt", f"vote {vote_id} has no board")
        return
    if type(seq) is not int or not 1 <= seq <= len(entries):
        report.fail(
            "receipt",
            f"entry {_short(seq)} is not on the board of vote {vote_id} "
            f"({len(entries)} entries): your ballot is missing",
        )
        return
    entry = entries[seq - 1]
    try:
        fingerprint = "sha256:" + hashlib.sha256(canonicalize_signed(definition)).hexdigest()
        digest = "sha256:" + hashlib.sha256(canonicalize_signed(entry)).hexdigest()
    except CanonicalJSONError as exc:
        report.fail("receipt", f"vote {vote_id} cannot be read: {exc}")
        return
    if digest != receipt.get("entry"):
        report.fail(
            "receipt",
            f"entry {seq} of vote {vote_id} on the board has hash {digest}, the receipt "
            f"{_short(receipt.get('entry'))}: the board does not hold your ballot there",
        )
        return
    expected = {
        "type": RECEIPT_TYPE,
        "v": VERSION,
        "vote": vote_id,
        "definition": fingerprint,
        "seq": seq,
        "entry": digest,
        "received_at": entry.get("received_at") if isinstance(entry, dict) else None,
        "issuer": signer,
    }
    problems = len(report.problems)
    _compare(receipt, expected, "receipt", report)
    if len(report.problems) == problems:
        report.notes.append(
            f"receipt: your ballot is entry {seq} of vote {vote_id}, "
            f"received at {receipt.get('received_at')}"
        )
