"""The offline verifier of audit bundles: trusts nothing but the signatures it checks.

It needs the standard library, PyNaCl and the pure modules :mod:`crypto`,
:mod:`ballots.formats` and :mod:`ballots.checks` — no server, no database, no network.
Every check listed in ``docs/ballots.md`` ("Verifying a bundle") is made, and every
failure names its check id (V-1 …) and reason code; a check that cannot be made (a
missing part, an unknown version, an unreadable field) is a failure, never a skip.
Bundles of version 1 and 2 are read: they differ in how a revoked key's ballots are
judged (by the revocation's instant, or by its place on the board).

Per-entry work (canonical bytes, hashes, ballot and certificate signatures) is spread
over worker processes where the platform can fork; the chain, the last-ballot rule,
the counts and the verdict are then checked in order in the main process.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gc
import hashlib
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings
import nacl.exceptions

from ballots.checks import CHECKS
from ballots.formats import (
    BALLOT_TYPE,
    BUNDLE_TYPE,
    BUNDLE_VERSION,
    CHECKPOINT_TYPE,
    CHECKPOINT_VERSION,
    DEFINITION_TYPE,
    ENTRY_TYPE,
    HALL_RECORD_TYPE,
    NONCE,
    RECEIPT_TYPE,
    RESULT_TYPE,
    VERSION,
    BallotRefused,
    Definition,
    ballot_fields,
    decide,
    hall_record_fields,
    result_payload,
)
from ballots.reportwords import RU_CHECKS, place, translate_note
from crypto._fields import check_text
from crypto.canonical import CanonicalJSONError, canonicalize, canonicalize_signed, parse_json
from crypto.certificate import CERTIFICATE_TYPE, MAX_ORGANISATION_NAME_LENGTH, KeyCertificate
from crypto.ed25519 import PublicKey
from crypto.encoding import b64u_encode
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.instant import format_instant, parse_instant
from crypto.revocation import REVOCATION_LIST_TYPE, RevocationList, verify_revocation_list

__all__ = ["Failure", "Report", "check_receipt", "verify_bundle"]

_HASH = re.compile(r"sha256:[0-9a-f]{64}")
# [0-9], not \d, which also matches other scripts' digits; that an instant exists
# (no 2025-02-30, no 10:00:99) is checked by parse_instant where one is read.
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# 64 bytes in unpadded base64url: 86 characters, the last one's 4 low bits unused and
# zero. Without that rule one signature has 16 spellings, and a replayed ballot with a
# re-spelled signature would look like a new one (see the repeat check).
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{85}[AQgw]")
_KEY_ID = re.compile(r"[0-9a-f]{32}")
# 32 bytes: 43 characters, the last one's 2 low bits unused and zero.
_PUBLIC_KEY = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
_ENVELOPE_KEYS = frozenset({"payload", "signature", "signer"})
_CERTIFICATE_KEYS = frozenset(
    {
        "expires_at",
        "issued_at",
        "issuer",
        "member",
        "org",
        "org_name",
        "public_key",
        "serial",
        "type",
        "v",
    }
)
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
    # Members whose counted vote is the secretary's hall record (a show of hands).
    hall: tuple[int, ...] = ()


@dataclass(frozen=True)
class Failure:
    """A check that failed: its id (``docs/ballots.md``), where, and what was found."""

    check: str
    where: str
    message: str

    @property
    def reason(self) -> str:
        return CHECKS[self.check].reason

    def __str__(self) -> str:
        return f"{self.where}: {self.check} {self.reason}: {self.message}"


@dataclass
class Report:
    """What the verifier found: ``problems`` empty means every check held."""

    problems: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    votes: list[VoteSummary] = field(default_factory=list)
    signers: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def checks(self) -> list[str]:
        """The ids of the checks that failed, in the order they were found."""
        return list(dict.fromkeys(failure.check for failure in self.failures))

    def fail(self, check: str, where: str, message: str) -> None:
        """Record a failure of ``check``; an id the list does not hold is a bug."""
        if check not in CHECKS:
            raise ValueError(f"{check!r} is not a check of docs/ballots.md")
        reason = CHECKS[check].reason
        if message.startswith(f"{reason}: "):  # a CredentialError's own reason, once
            message = message[len(reason) + 2 :]
        failure = Failure(check, where, message)
        self.failures.append(failure)
        self.problems.append(str(failure))

    def text(self, lang: str = "en") -> str:
        """The report as printed: in English, or in Russian with ``lang="ru"`` (the
        check ids, reason codes and the verifier's findings kept as they are)."""
        if lang == "ru":
            return self._text_ru()
        lines = list(self.notes)
        for vote in self.votes:
            lines.append(f"vote {vote.vote}: {vote.title}")
            lines.append(f"  question: {vote.question.splitlines()[0][:200]}")
            lines.append(f"  board: {vote.entries} entries, head {vote.head}")
            counts = ", ".join(
                f"{name} {count}" for name, count in zip(vote.options, vote.counts, strict=False)
            )
            lines.append(f"  counted: {vote.voters} voters; {counts}")
            if vote.hall:
                members = ", ".join(str(member) for member in vote.hall)
                lines.append(f"  in the hall, counted by the secretary: members {members}")
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

    def _text_ru(self) -> str:
        lines = [translate_note(note) for note in self.notes]
        for vote in self.votes:
            lines.append(f"голосование {vote.vote}: {vote.title}")
            lines.append(f"  вопрос: {vote.question.splitlines()[0][:200]}")
            lines.append(f"  журнал: записей {vote.entries}, вершина {vote.head}")
            counts = ", ".join(
                f"{name} — {count}" for name, count in zip(vote.options, vote.counts, strict=False)
            )
            lines.append(f"  учтено голосов: {vote.voters}; {counts}")
            if vote.hall:
                members = ", ".join(str(member) for member in vote.hall)
                lines.append(f"  в зале, по подсчёту секретаря: члены органа № {members}")
            verdict = {
                True: "решение принято",
                False: "решение не принято",
                None: "опрос: решение не принимается",
            }
            lines.append(f"  итог: {verdict[vote.adopted]}")
        if self.failures:
            lines.append(f"ПРОВЕРКА НЕ ПРОЙДЕНА: нарушений {len(self.failures)}")
            for failure in self.failures[:200]:
                meaning = RU_CHECKS.get(failure.check, "")
                lines.append(
                    f"  - {place(failure.where)}: {failure.check} {failure.reason} — "
                    f"{meaning} ({failure.message})"
                )
            if len(self.failures) > 200:
                lines.append(f"  … и ещё {len(self.failures) - 200}")
        else:
            lines.append(
                "ВСЁ ВЕРНО: все хеши, подписи, сертификаты, подсчёт и итоги проверены и сходятся"
            )
        return "\n".join(lines)


class _Stop(Exception):
    """A failure that makes the rest of a part uncheckable."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


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


# A certificate as a ballot check needs it: (member, public key, key id, issued_at,
# expires_at), the instants as their canonical text.
_Cert = tuple[int, bytes, str, str, str]


def _work(task: tuple[str, int, int]) -> list[Any]:
    """One chunk of a vote's certificates ("c") or board entries ("e")."""
    kind, start, end = task
    if kind == "c":
        return _check_certificates(start, end)
    return _check_entries(start, end)


def _check_entries(start: int, end: int) -> list[tuple[Any, ...]]:
    """Per entry: (hash, canonical bytes, seq, prev, received_at, member, serial, choice,
    signature, problem or None).

    The ballot is checked against the certificate of its serial as the bundle claims
    it (the first one with that serial), while other workers check the certificates
    themselves; the main process redoes an entry whose certificate turns out not to
    be the one it was checked against (see _verify_vote)."""
    definition: Definition = _STATE["definition"]
    entries: Sequence[Any] = _STATE["entries"]
    revoked: Mapping[int, str | int] = _STATE["revoked"]
    return [
        _check_entry(entries[index], index + 1, definition, _claimed_certificate, revoked)
        for index in range(start, end)
    ]


def _claimed_certificate(serial: int) -> _Cert | None:
    index = _STATE["claimed"].get(serial)
    if index is None:
        return None
    try:
        payload = _STATE["certificates"][index]["payload"]
        member, issued, expires = payload["member"], payload["issued_at"], payload["expires_at"]
        public = _b64u(payload["public_key"])
    except (TypeError, KeyError, ValueError, AttributeError):  # binascii.Error is one
        return None
    if type(member) is not int or type(issued) is not str or type(expires) is not str:
        return None
    return member, public, hashlib.sha256(public).digest()[:16].hex(), issued, expires


def _check_entry(
    entry: Any,
    position: int,
    definition: Definition,
    certificate: Callable[[int], _Cert | None],
    revoked: Mapping[int, str | int],
) -> tuple[Any, ...]:
    """The checks of one entry at ``position`` (from 1) that need no other entry.
    ``revoked``: serial → its revocation's instant (version 1: the ballot must be
    received before it) or the number of entries the board held when it took the
    revocation into account (version 2: the ballot must be at or before it)."""
    if _is_hall_record(entry):
        return _check_hall_entry(entry, position, definition, certificate, revoked)
    canonical = _entry_canonical(entry) if isinstance(entry, dict) else None
    if canonical is None:
        try:
            digest = "sha256:" + hashlib.sha256(canonicalize_signed(entry)).hexdigest()
        except CanonicalJSONError:
            digest = ""
        shape = ("V-60", _shape_problem(entry))
        return (digest, None, None, None, None, None, None, None, None, shape, False)
    digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
    ballot = entry["ballot"]
    payload = ballot["payload"]
    received = entry["received_at"]
    base = (digest, canonical, entry["seq"], entry["prev"], received)
    problem: tuple[str, str] | None = None
    member = serial = choice = None
    try:
        if entry["vote"] != definition.vote or entry["v"] != VERSION:
            raise BallotRefused("bad_entry", f"the entry is for vote {entry['vote']}")
        if not _real(received):
            raise BallotRefused("bad_entry", f"received_at {received} does not exist")
        serial, choice = ballot_fields(payload, definition)
        cert = certificate(serial)
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
        if isinstance(when, str) and when <= received:
            raise BallotRefused("revoked", f"certificate {serial} was revoked at {when}")
        if isinstance(when, int) and position > when:
            raise BallotRefused(
                "revoked",
                f"certificate {serial} was revoked when the board held {when} entries",
            )
    except BallotRefused as exc:
        problem = (_ENTRY_CHECKS.get(exc.reason, "V-62"), exc.message)
    return (*base, member, serial, choice, ballot["signature"], problem, False)


def _is_hall_record(entry: Any) -> bool:
    ballot = entry.get("ballot") if isinstance(entry, dict) else None
    payload = ballot.get("payload") if isinstance(ballot, dict) else None
    return isinstance(payload, dict) and payload.get("type") == HALL_RECORD_TYPE


_ENTRY_FIELDS = frozenset({"ballot", "prev", "received_at", "seq", "type", "v", "vote"})


def _check_hall_entry(
    entry: dict[str, Any],
    position: int,
    definition: Definition,
    certificate: Callable[[int], _Cert | None],
    revoked: Mapping[int, str | int],
) -> tuple[Any, ...]:
    """An entry carrying a secretary's hall record (docs/ballots.md, "Hall records"):
    the checks of a ballot's entry, with the secretary's certificate in the voter's
    place and the member the record names counted."""
    try:
        canonical: bytes | None = canonicalize_signed(entry)
    except CanonicalJSONError:
        canonical = None
    ballot = entry["ballot"]
    well_formed = (
        canonical is not None
        and entry.keys() == _ENTRY_FIELDS
        and ballot.keys() == _ENVELOPE_KEYS
        and entry["type"] == ENTRY_TYPE
        and type(entry["seq"]) is int
        and type(entry["vote"]) is int
        and type(entry["v"]) is int
        and isinstance(entry["prev"], str)
        and bool(_HASH.fullmatch(entry["prev"]))
        and _is_instant(entry["received_at"])
        and isinstance(ballot["signature"], str)
        and bool(_SIGNATURE.fullmatch(ballot["signature"]))
        and isinstance(ballot["signer"], str)
        and bool(_KEY_ID.fullmatch(ballot["signer"]))
    )
    if not well_formed or canonical is None:
        digest = "sha256:" + hashlib.sha256(canonical).hexdigest() if canonical else ""
        shape = ("V-60", "the entry holding a hall record is not of its version 1 form")
        return (digest, None, None, None, None, None, None, None, None, shape, True)
    digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
    received = entry["received_at"]
    base = (digest, canonical, entry["seq"], entry["prev"], received)
    problem: tuple[str, str] | None = None
    member = serial = choice = None
    try:
        if entry["vote"] != definition.vote or entry["v"] != VERSION:
            raise BallotRefused("bad_entry", f"the entry is for vote {entry['vote']}")
        payload = ballot["payload"]
        serial, recorded, choice = hall_record_fields(payload, definition)
        cert = certificate(serial)
        if cert is None:
            raise BallotRefused("unknown_key", f"certificate {serial} is not in the bundle")
        holder, public, signer, issued, expires = cert
        if ballot["signer"] != signer:
            raise BallotRefused(
                "bad_signature",
                f"signed by key {ballot['signer']}, certificate {serial} is {signer}",
            )
        try:
            nacl.bindings.crypto_sign_open(
                _b64u(ballot["signature"]) + canonicalize_signed(payload), public
            )
        except (nacl.exceptions.BadSignatureError, ValueError, CanonicalJSONError):
            raise BallotRefused("bad_signature", "the record's signature does not verify") from None
        assert definition.secretary is not None  # hall_record_fields refused it otherwise
        if holder != definition.secretary.member:
            raise BallotRefused(
                "not_secretary",
                f"certificate {serial} is member {holder}'s, the secretary is "
                f"member {definition.secretary.member}",
            )
        if not issued <= received < expires:
            raise BallotRefused(
                "expired", f"certificate {serial} is not valid at {received} ({issued}..{expires})"
            )
        when = revoked.get(serial)
        if isinstance(when, str) and when <= received:
            raise BallotRefused("revoked", f"certificate {serial} was revoked at {when}")
        if isinstance(when, int) and position > when:
            raise BallotRefused(
                "revoked",
                f"certificate {serial} was revoked when the board held {when} entries",
            )
        member = recorded
    except BallotRefused as exc:
        problem = (_ENTRY_CHECKS.get(exc.reason, "V-120"), exc.message)
    return (*base, member, serial, choice, ballot["signature"], problem, True)


# The reason of a refused entry → the check it fails (docs/ballots.md, "Entries").
_ENTRY_CHECKS = {
    "bad_entry": "V-60",
    "malformed": "V-62",
    "wrong_vote": "V-63",
    "bad_choice": "V-64",
    "unknown_key": "V-65",
    "bad_signature": "V-66",
    "not_on_roll": "V-67",
    "expired": "V-68",
    "revoked": "V-69",
    "bad_hall_record": "V-120",
    "hall_record_not_allowed": "V-121",
    "not_secretary": "V-122",
    "not_in_hall": "V-123",
}


def _shape_problem(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "an entry must be a JSON object"
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
                "a field of the entry is not of its version 1 form (the types, "
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
        return "the entry is not a version 1 board entry"


_Checked = tuple[tuple[str, str] | None, bytes | None, str | None]


def _check_certificates(start: int, end: int) -> list[_Checked]:
    """Per certificate: (problem or None, canonical bytes of the envelope, key id)."""
    documents: Sequence[Any] = _STATE["certificates"]
    keys: Mapping[str, PublicKey] = _STATE["keys"]
    raw_keys = {key_id: key.raw for key_id, key in keys.items()}
    names: dict[str, bool] = {}
    out: list[_Checked] = []
    for index in range(start, end):
        fast = _certificate_fast(documents[index], raw_keys, names)
        if fast is not None:
            out.append((None, *fast))
            continue
        # The general path: the same checks, and a message saying which one failed.
        try:
            signed = SignedDocument.parse(documents[index])
            signed.verify(keys, expect_type="kvorum.key-certificate", expect_version=1)
            certificate = KeyCertificate.from_payload(signed.payload)
            if certificate.issuer != signed.signer:
                raise CredentialError("issuer_mismatch", "issuer is not the signer")
            out.append((None, _envelope_bytes(signed), certificate.public_key.key_id))
        except CredentialError as exc:
            check = signature_check(exc)
            if exc.reason == "malformed":
                check = "V-50"
            out.append(((check, f"{exc.reason}: {exc}"), None, None))
    return out


def _certificate_fast(
    document: Any, raw_keys: Mapping[str, bytes], names: dict[str, bool]
) -> tuple[bytes, str] | None:
    """(envelope bytes, the member key's id) of a certificate in the exact form an
    honest registry writes, checked without the general encoder and parsers: every
    field's type and spelling, the registry's signature over the composed canonical
    payload, the public key, the validity period. None if anything differs from that
    form, for the general path to check and describe."""
    try:
        if type(document) is not dict or document.keys() != _ENVELOPE_KEYS:
            return None
        p = document["payload"]
        if type(p) is not dict or p.keys() != _CERTIFICATE_KEYS:
            return None
        if p["type"] != CERTIFICATE_TYPE or type(p["v"]) is not int or p["v"] != 1:
            return None
        for n in (p["serial"], p["member"], p["org"]):
            if type(n) is not int or not 1 <= n <= _MAX_INT:
                return None
        texts = (
            (p["public_key"], _PUBLIC_KEY),
            (p["issued_at"], _INSTANT),
            (p["expires_at"], _INSTANT),
            (p["issuer"], _KEY_ID),
            (document["signer"], _KEY_ID),
            (document["signature"], _SIGNATURE),
        )
        for text, pattern in texts:
            if type(text) is not str or not pattern.fullmatch(text):
                return None
        name = p["org_name"]
        if type(name) is not str:
            return None
    except (TypeError, KeyError, AttributeError):
        return None
    registry = raw_keys.get(document["signer"])
    if registry is None or p["issuer"] != document["signer"]:
        return None
    plain = names.get(name)
    if plain is None:
        plain = names[name] = _plain_name(name)
    if not plain:
        return None
    issued, expires = p["issued_at"], p["expires_at"]
    if not issued < expires:  # fixed-width instants compare as text
        return None
    if not (_real(issued) and _real(expires)):
        return None
    canonical = (
        f'{{"expires_at":"{expires}","issued_at":"{issued}","issuer":"{p["issuer"]}",'
        f'"member":{p["member"]},"org":{p["org"]},"org_name":"{name}",'
        f'"public_key":"{p["public_key"]}","serial":{p["serial"]},'
        f'"type":"{CERTIFICATE_TYPE}","v":1}}'
    ).encode()
    try:
        nacl.bindings.crypto_sign_open(_b64u(document["signature"]) + canonical, registry)
        public = PublicKey(_b64u(p["public_key"]))  # a point of the prime-order subgroup
    except (nacl.exceptions.BadSignatureError, ValueError):  # CredentialError is one
        return None
    return _envelope(canonical, document["signature"], document["signer"]), public.key_id


def _plain_name(name: str) -> bool:
    """An organisation name a certificate may hold that canonical JSON writes as is."""
    try:
        check_text(name, "org_name", "key certificate", max_length=MAX_ORGANISATION_NAME_LENGTH)
    except CredentialError:
        return False
    return '"' not in name and "\\" not in name


def _tasks(kind: str, count: int, jobs: int) -> list[tuple[str, int, int]]:
    step = max(1, -(-count // (jobs * 4)))
    return [(kind, start, min(count, start + step)) for start in range(0, count, step)]


@contextlib.contextmanager
def _started(tasks: list[tuple[str, int, int]], jobs: int) -> Iterator[Callable[[], list[Any]]]:
    """Run the tasks (on the state in _STATE) in forked workers where it pays, while the
    caller goes on; yields the function that waits for their rows, in task order."""
    size = sum(end - start for _kind, start, end in tasks)
    if jobs <= 1 or size < 2000 or "fork" not in multiprocessing.get_all_start_methods():
        yield lambda: [row for task in tasks for row in _work(task)]
        return
    # The cyclic collector is off (see verify_bundle): a collection in a forked worker
    # would write to every object's header, copying the whole heap page by page into
    # each worker, which made two workers no faster than one.
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pending = pool.map_async(_work, tasks, chunksize=1)
        yield lambda: [row for chunk in pending.get() for row in chunk]


# --- the bundle ---------------------------------------------------------------------------


def _canon(value: object) -> bytes:
    try:
        return canonicalize(value)
    except CanonicalJSONError as exc:
        raise _Stop("V-4", f"not canonical JSON: {exc}") from exc


def verify_bundle(
    data: bytes, *, trusted: Mapping[str, PublicKey] | None = None, jobs: int | None = None
) -> Report:
    """Check an audit bundle (its exact bytes). ``trusted``: registry keys obtained
    independently of the bundle; without it the bundle's own keys are the anchor and
    the report says so."""
    # A bundle is millions of small acyclic objects: the cyclic collector, run again
    # and again as they are made, only costs time (a third of the parse).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _verify_bundle(data, trusted, jobs or os.cpu_count() or 1)
    finally:
        if collecting:
            gc.enable()


def _verify_bundle(data: bytes, trusted: Mapping[str, PublicKey] | None, jobs: int) -> Report:
    report = Report()
    try:
        bundle = parse_json(data)
    except CanonicalJSONError as exc:
        report.fail("V-1", "bundle", f"not valid JSON: {exc}")
        return report
    if not isinstance(bundle, dict):
        report.fail("V-2", "bundle", "not a JSON object, so not a kvorum.audit-bundle")
        return report
    version = bundle.get("v")
    if bundle.get("type") != BUNDLE_TYPE or type(version) is not int or version not in _VERSIONS:
        # A version this verifier does not know is refused, naming it: its rules may
        # differ in any check (docs/ballots.md, "Versions").
        report.fail(
            "V-2",
            "bundle",
            f"a {_short(bundle.get('type'))[:60]} version {_short(version)[:20]}; this "
            f"verifier knows {BUNDLE_TYPE} versions "
            f"{', '.join(map(str, _VERSIONS))} and cannot check it",
        )
        return report
    if set(bundle) != {"registry_keys", "type", "v", "votes"}:
        report.fail("V-3", "bundle", f"unexpected top-level fields {sorted(bundle)}")
        return report
    keys = _registry_keys(bundle["registry_keys"], trusted, report)
    votes = bundle["votes"]
    if not isinstance(votes, list) or not votes:
        report.fail("V-3", "bundle", "votes must be a non-empty array")
        return report
    pieces: list[tuple[str, bytes]] = [
        ("bundle header", b'{"registry_keys":' + _canon(bundle["registry_keys"])),
        ("bundle header", b',"type":"%s","v":%d,"votes":[' % (BUNDLE_TYPE.encode(), version)),
    ]
    seen: set[int] = set()
    serials: dict[int, bytes] = {}
    for index, vote in enumerate(votes):
        where = f"vote #{index + 1}"
        if index:
            pieces.append((where, b","))
        try:
            pieces.extend(_verify_vote(vote, where, keys, report, jobs, seen, version, serials))
        except _Stop as exc:
            report.fail(exc.check, where, str(exc))
            return report
    pieces.append(("bundle end", b"]}"))
    _check_canonical(data, pieces, report)
    unused = sorted(set(keys) - report.signers)
    for key_id in unused:
        report.fail("V-11", "registry_keys", f"key {key_id} signs nothing in the bundle")
    return report


def _registry_keys(
    value: object, trusted: Mapping[str, PublicKey] | None, report: Report
) -> dict[str, PublicKey]:
    if not isinstance(value, dict) or not value:
        raise_or = "registry_keys must be a non-empty object of key id → public key"
        report.fail("V-10", "registry_keys", raise_or)
        return {}
    keys: dict[str, PublicKey] = {}
    for key_id, text in value.items():
        try:
            public = PublicKey.from_b64u(str(text))
        except CredentialError as exc:
            report.fail("V-10", "registry_keys", f"key {key_id}: {exc}")
            continue
        if public.key_id != key_id:
            report.fail("V-10", "registry_keys", f"key {key_id} is filed under the wrong id")
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
            report.fail("V-12", "registry_keys", f"key {key_id} is not among the trusted keys")
        elif trusted[key_id] != keys[key_id]:
            report.fail(
                "V-12", "registry_keys", f"key {key_id} differs from the trusted key of that id"
            )
        else:
            anchored[key_id] = trusted[key_id]
    report.notes.append("trust anchor: the keys given with --keys")
    return anchored


def signature_check(exc: CredentialError) -> str:
    """The check a signed part fails with ``exc``: V-21 for its signature or signer,
    V-20 for its form, type or version."""
    return "V-21" if exc.reason in _SIGNATURE_REASONS else "V-20"


_SIGNATURE_REASONS = frozenset({"unknown_signer", "bad_signature", "issuer_mismatch"})


def _signed(
    value: object,
    keys: Mapping[str, PublicKey],
    kind: str,
    report: Report,
    version: int = VERSION,
) -> tuple[Any, bytes]:
    """A registry-signed document's payload (plain JSON objects) and its envelope's
    canonical bytes."""
    fast = _signed_fast(value, keys, kind, version)
    if fast is not None:
        report.signers.add(fast[2])
        return fast[0], fast[1]
    try:
        document = SignedDocument.parse(value if isinstance(value, dict) else b"")
        document.verify(keys, expect_type=kind, expect_version=version)
    except CredentialError as exc:
        raise _Stop(signature_check(exc), f"{kind}: {exc.reason}: {exc}") from exc
    payload = document.payload
    if payload.get("issuer") != document.signer:
        raise _Stop(
            "V-21",
            f"{kind}: names issuer {payload.get('issuer')!r:.40}, signed by {document.signer}",
        )
    report.signers.add(document.signer)
    return json_copy(payload), _envelope_bytes(document)


def _signed_fast(
    value: object, keys: Mapping[str, PublicKey], kind: str, version: int
) -> tuple[dict[str, Any], bytes, str] | None:
    """The payload, envelope bytes and signer of a document in the form the registry
    writes, checked without copying its payload (a definition holds the whole roll);
    None where anything differs, for SignedDocument to check and describe."""
    if type(value) is not dict or value.keys() != _ENVELOPE_KEYS:
        return None
    payload, signer, signature = value["payload"], value["signer"], value["signature"]
    if (
        type(payload) is not dict
        or type(signer) is not str
        or type(signature) is not str
        or not _SIGNATURE.fullmatch(signature)
        or signer not in keys
        or payload.get("type") != kind
        or type(payload.get("v")) is not int
        or payload.get("v") != version
        or payload.get("issuer") != signer
    ):
        return None
    try:
        canonical = canonicalize_signed(payload)
        nacl.bindings.crypto_sign_open(_b64u(signature) + canonical, keys[signer].raw)
    except (CanonicalJSONError, nacl.exceptions.BadSignatureError, ValueError):
        return None
    return payload, _envelope(canonical, signature, signer), signer


def _envelope_bytes(document: SignedDocument) -> bytes:
    """The canonical bytes of a parsed envelope, from its payload's: parse() accepted
    exactly these three fields, the signature in strict base64url (so re-encoding
    gives the text it was read from) and the signer as a key id — nothing to escape."""
    return _envelope(document.canonical, b64u_encode(document.signature), document.signer)


def _envelope(canonical: bytes, signature: str, signer: str) -> bytes:
    """An envelope's canonical bytes from its payload's, where the signature (strict
    base64url) and the signer (a key id) need no escaping."""
    return b'{"payload":%s,"signature":"%s","signer":"%s"}' % (
        canonical,
        signature.encode(),
        signer.encode(),
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
    version: int,
    serials: dict[int, bytes],
) -> list[tuple[str, bytes]]:
    if not isinstance(vote, dict) or set(vote) != set(_VOTE_FIELDS):
        raise _Stop("V-3", f"must be an object with exactly the fields {', '.join(_VOTE_FIELDS)}")
    certificates, entries = vote["certificates"], vote["entries"]
    if not isinstance(certificates, list):
        raise _Stop("V-3", "certificates must be an array")
    if not isinstance(entries, list):
        raise _Stop("V-3", "entries must be an array")
    # Certificates are checked in worker processes from here on, and ballots in others
    # once the definition and revocations are read, each against the certificate its
    # serial claims (rechecked below where that is not the one that counts); the
    # signed parts are checked here meanwhile.
    claimed = _claims(certificates)
    _STATE.update(certificates=certificates, keys=keys, claimed=claimed)
    try:
        with _started(_tasks("c", len(certificates), jobs), jobs) as certificate_rows:
            definition, definition_bytes = _definition(vote["definition"], keys, seen, report)
            where = f"vote {definition.vote}"
            summary = VoteSummary(
                definition.vote, definition.title, definition.question, definition.options
            )
            report.votes.append(summary)
            checkpoint, checkpoint_bytes = _signed(
                vote["checkpoint"],
                keys,
                CHECKPOINT_TYPE,
                report,
                _checkpoint_version(vote["checkpoint"], version),
            )
            crl = _revocations(vote["revocations"], keys, definition, checkpoint, where, report)
            revoked: dict[int, str | int]
            if checkpoint.get("v") == 1:
                # Version 1: by the instants alone (a revocation in the second of a
                # ballot voids it).
                revoked = {e.serial: format_instant(e.revoked_at) for e in crl.entries}
            else:
                # Version 2: by the board position the checkpoint gives each revocation.
                revoked = dict(_places(checkpoint, where, report))
            _STATE.update(definition=definition, entries=entries, revoked=revoked)
            with _started(_tasks("e", len(entries), jobs), jobs) as entry_rows:
                result, result_bytes = _signed(vote["result"], keys, RESULT_TYPE, report)
                checked = entry_rows()
            certificate_checks = certificate_rows()
    finally:
        _STATE.clear()
    accepted, certificate_bytes = _certificates(
        certificates, certificate_checks, definition, where, report
    )
    certs = {serial: cert for serial, (_index, cert) in accepted.items()}
    for serial, (index, _cert) in accepted.items():
        # One serial names one credential (crypto/revocation.py): the votes of a
        # meeting's bundle hold the same certificate under it, byte for byte.
        blob = certificate_bytes[index]
        if blob is not None and serials.setdefault(serial, blob) != blob:
            report.fail(
                "V-55",
                f"{where}, certificate #{index + 1}",
                f"certificate {serial} differs from the one of that serial in an earlier vote",
            )
    for index, row in enumerate(checked):
        serial = row[6]
        taken = accepted.get(serial) if serial is not None else None
        if serial is not None and claimed.get(serial) != (taken[0] if taken else None):
            # Checked against a certificate other than the one that counts.
            checked[index] = _check_entry(entries[index], index + 1, definition, certs.get, revoked)

    prev = definition.fingerprint
    last_time = format_instant(definition.opens_at)
    limit = format_instant(definition.closes_at) if definition.closes_at else None
    closed_at = checkpoint.get("closed_at")
    last: dict[int, tuple[int, ...]] = {}
    used: set[int] = set()
    own: set[int] = set()  # members with a counted ballot of their own
    recorded: dict[int, bool] = {}  # members whose counted entry is a hall record
    signatures: set[str] = set()
    entry_pieces: list[tuple[str, bytes]] = []
    times: list[str | None] = []
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
            hall,
        ) = row
        times.append(received)
        if problem:
            report.fail(problem[0], name, problem[1])
        if canonical is None:
            entry_pieces.append((name, _canon(entries[index])))
            prev = digest
            continue
        entry_pieces.append((name, canonical))
        if entry_seq != seq:
            report.fail("V-61", name, f"sequence number {entry_seq} out of place (expected {seq})")
        if entry_prev != prev:
            report.fail(
                "V-61",
                name,
                f"does not link to the entry before it (prev {entry_prev}, expected {prev})",
            )
        if received < last_time:
            report.fail(
                "V-70", name, f"received at {received}, before the entry or opening before it"
            )
        if limit is not None and received > limit:
            report.fail("V-70", name, f"received at {received}, after the deadline {limit}")
        if isinstance(closed_at, str) and received > closed_at:
            report.fail("V-70", name, f"received at {received}, after the board was closed")
        # A replayed ballot would override the voter's later one (the last counts).
        # Signatures are deterministic and spelled one way only (_SIGNATURE), so a
        # replay has the signature of the original; the server refuses a ballot
        # with the signature of one on the board (board.py, ballot_digest).
        if signature in signatures:
            report.fail("V-71", name, "repeats a ballot already on the board")
        signatures.add(signature)
        last_time = max(last_time, received)
        prev = digest
        if problem is None and member is not None:
            # A member's own ballot outranks the secretary's count: a record after
            # it is not counted (one before it is replaced, the last entry counting).
            if hall and member in own:
                report.fail(
                    "V-124", name, f"member {member} had cast a ballot of their own before it"
                )
                continue
            last[member] = choice
            used.add(serial)
            if hall:
                recorded[member] = True
            else:
                own.add(member)
                recorded.pop(member, None)
    summary.entries = len(entries)
    summary.head = prev
    summary.hall = tuple(sorted(recorded))
    _check_unused_certificates(certs, definition, used, where, report)

    expected_checkpoint = {
        "type": CHECKPOINT_TYPE,
        "v": checkpoint.get("v"),
        "vote": definition.vote,
        "definition": definition.fingerprint,
        "length": len(entries),
        "head": prev,
        "closed_at": closed_at,
        "issuer": checkpoint.get("issuer"),
    }
    if checkpoint.get("v") != 1:
        expected_checkpoint["revoked"] = checkpoint.get("revoked")
        _check_places(revoked, crl, accepted, claimed, times, where, report)
    _compare(checkpoint, expected_checkpoint, f"{where}, checkpoint", report, check="V-80")
    if not _is_instant(closed_at):
        report.fail("V-80", f"{where}, checkpoint", "closed_at is not an instant")
    elif closed_at < format_instant(definition.opens_at):
        report.fail("V-80", f"{where}, checkpoint", "closed before the vote opened")

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
    _compare(result, expected_result, f"{where}, result", report, signed=result_bytes, check="V-90")

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


def _definition(
    value: object, keys: Mapping[str, PublicKey], seen: set[int], report: Report
) -> tuple[Definition, bytes]:
    payload = value.get("payload") if isinstance(value, dict) else None
    # Version 2 names the secretary and the roll's members in the hall.
    stated = payload.get("v") if isinstance(payload, dict) else None
    version = 2 if type(stated) is int and stated == 2 else VERSION
    signed, envelope = _signed(value, keys, DEFINITION_TYPE, report, version)
    try:
        definition = Definition.from_payload(signed)
    except CredentialError as exc:
        check = "V-20" if exc.reason in {"wrong_type", "unsupported_version"} else "V-30"
        raise _Stop(check, f"definition: {exc.reason}: {exc}") from exc
    if definition.vote in seen:
        raise _Stop("V-31", f"vote {definition.vote}: the bundle holds this vote twice")
    if seen and definition.vote < max(seen):
        raise _Stop("V-31", f"vote {definition.vote} follows vote {max(seen)}: not in id order")
    seen.add(definition.vote)
    return definition, envelope


def _is_instant(value: object) -> bool:
    return isinstance(value, str) and bool(_INSTANT.fullmatch(value)) and _real(value)


_DAYS: dict[str, bool] = {}


def _real(instant: str) -> bool:
    """Whether an instant of the _INSTANT pattern names a real time (no 2025-02-30, no
    24:00:00, no leap second, as parse_instant), with each day looked up once."""
    day = _DAYS.get(instant[:10])
    if day is None:
        try:
            parse_instant(instant[:10] + "T00:00:00Z")
            day = True
        except CredentialError:
            day = False
        _DAYS[instant[:10]] = day
    # The pattern allows digits only, which compare as text.
    return day and instant[11:13] <= "23" and instant[14:16] <= "59" and instant[17:19] <= "59"


def _compare(
    actual: Mapping[str, Any],
    expected: Mapping[str, Any],
    where: str,
    report: Report,
    *,
    signed: bytes | None = None,
    check: str,
) -> None:
    """Report each field where ``actual`` differs from ``expected`` as JSON. ``signed``:
    the envelope ``actual`` is the payload of, whose canonical bytes are known."""
    try:
        # Equal canonical bytes are equal JSON (true is "true", 1 is "1"): the usual case,
        # decided without walking a roll call of every voter in Python.
        wanted = b'{"payload":' + canonicalize(expected) + b',"signature":"'
        if signed is not None and signed.startswith(wanted):
            return
        if canonicalize(actual) == wanted[11:-14]:
            return
    except CanonicalJSONError:
        pass
    for name in sorted(set(actual) | set(expected)):
        # Compared as JSON, not as Python values: in Python true == 1 and 1 == 1.0, so
        # a result claiming "counts": [true, 0] or "adopted": 1 would pass.
        if not _same(actual.get(name, "<missing>"), expected.get(name, "<absent>")):
            report.fail(
                check,
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
        check = signature_check(exc)
        if exc.reason == "malformed" and isinstance(value, dict):
            try:  # an envelope of the right type and version, its content wrong
                SignedDocument.parse(value).verify(
                    keys, expect_type=REVOCATION_LIST_TYPE, expect_version=1
                )
                check = "V-40"
            except CredentialError:
                pass
        raise _Stop(check, f"revocation list: {exc.reason}: {exc}") from exc
    report.signers.add(document.signer)
    if crl.organisation_id != definition.org:
        raise _Stop("V-40", f"the revocation list is of organisation {crl.organisation_id}")
    closed_at = checkpoint.get("closed_at")
    if not isinstance(closed_at, str) or format_instant(crl.issued_at) < closed_at:
        report.fail(
            "V-41",
            f"{where}, revocation list",
            f"issued at {format_instant(crl.issued_at)}, before the vote closed: "
            "a later revocation could be missing",
        )
    return crl


_VERSIONS = (1, BUNDLE_VERSION)


def _checkpoint_version(value: object, bundle_version: int) -> int:
    """The checkpoint version a vote of a bundle of ``bundle_version`` must have: 1 in
    a version 1 bundle; 2 in a version 2 bundle, or 1 for a vote closed before
    version 2 (its revocations are then judged by their instants)."""
    if bundle_version == 1:
        return 1
    payload = value.get("payload") if isinstance(value, dict) else None
    claimed = payload.get("v") if isinstance(payload, dict) else None
    return 1 if type(claimed) is int and claimed == 1 else CHECKPOINT_VERSION


def _places(checkpoint: Mapping[str, Any], where: str, report: Report) -> dict[int, int]:
    """A version 2 checkpoint's ``revoked``: serial → the entries before the revocation
    took effect (V-81 for its form; what it must hold is checked in _check_places)."""
    name = f"{where}, checkpoint"
    value = checkpoint.get("revoked")
    length = checkpoint.get("length")
    if not isinstance(value, list):
        report.fail("V-81", name, "revoked must be an array")
        return {}
    places: dict[int, int] = {}
    previous = 0
    for number, item in enumerate(value, 1):
        if not isinstance(item, dict) or set(item) != {"after", "serial"}:
            report.fail("V-81", name, f"revoked #{number} must be {{after, serial}}")
            return {}
        serial, after = item["serial"], item["after"]
        if type(serial) is not int or not 1 <= serial <= _MAX_INT:
            report.fail("V-81", name, f"revoked #{number}: serial must be a positive integer")
            return {}
        if type(after) is not int or not 0 <= after <= (length if type(length) is int else -1):
            report.fail(
                "V-81",
                name,
                f"revoked #{number}: after must be a number of entries from 0 to the length",
            )
            return {}
        if serial <= previous:
            report.fail("V-81", name, "revoked must be sorted by serial without repeats")
            return {}
        previous = serial
        places[serial] = after
    return places


def _check_places(
    revoked: Mapping[int, str | int],
    crl: RevocationList,
    accepted: Mapping[int, tuple[int, _Cert]],
    claimed: Mapping[int, int],
    times: Sequence[str | None],
    where: str,
    report: Report,
) -> None:
    """Version 2: the checkpoint places exactly the revocations of the list that concern
    a certificate of the bundle (V-81), and none is dated after the first entry the
    board took after it (V-82): the board took it into account once it was made."""
    name = f"{where}, checkpoint"
    in_bundle = set(claimed)
    listed = {entry.serial for entry in crl.entries}
    for serial in sorted(revoked):
        if serial not in in_bundle:
            report.fail("V-81", name, f"revoked names {serial}, not a certificate of the bundle")
        elif serial not in listed:
            report.fail("V-81", name, f"revoked names {serial}, which the list does not revoke")
    for serial in sorted((listed & in_bundle) - set(revoked)):
        report.fail(
            "V-81", name, f"certificate {serial} is revoked by the list but not placed on the board"
        )
    for serial, after in sorted(revoked.items()):
        entry = crl.is_revoked(serial)
        if entry is None or not isinstance(after, int) or after >= len(times):
            continue
        following = times[after]
        when = format_instant(entry.revoked_at)
        if isinstance(following, str) and when > following:
            report.fail(
                "V-82",
                name,
                f"certificate {serial} is revoked at {when}, after entry {after + 1} "
                f"({following}) which the board took after the revocation",
            )


def _claims(certificates: list[Any]) -> dict[int, int]:
    """Serial → index of the first certificate in the list claiming that serial."""
    claimed: dict[int, int] = {}
    for index, document in enumerate(certificates):
        try:
            serial = document["payload"]["serial"]
        except (TypeError, KeyError):
            continue
        if type(serial) is int:
            claimed.setdefault(serial, index)
    return claimed


def _certificates(
    value: list[Any],
    checked: list[_Checked],
    definition: Definition,
    where: str,
    report: Report,
) -> tuple[dict[int, tuple[int, _Cert]], list[bytes | None]]:
    """The valid certificates by serial: (index in the list, (member, public key, key
    id, issued_at, expires_at)); and each certificate's canonical bytes where it could
    be read."""
    certs: dict[int, tuple[int, _Cert]] = {}
    holders: dict[str, int] = {}
    previous = 0
    for index, (problem, _, key_id) in enumerate(checked):
        name = f"{where}, certificate #{index + 1}"
        if problem:
            report.fail(problem[0], name, problem[1])
            continue
        document = value[index]
        payload = document["payload"]
        report.signers.add(document["signer"])
        serial = payload["serial"]
        if payload["org"] != definition.org:
            report.fail("V-50", name, f"certificate {serial} is of organisation {payload['org']}")
            continue
        if serial in certs:
            report.fail("V-51", name, f"certificate {serial} appears twice")
            continue
        if serial < previous:
            # One order, so that the file has one spelling (docs/ballots.md).
            report.fail("V-51", name, f"certificate {serial} comes after {previous}")
        previous = max(previous, serial)
        # One device key certified for two members would let one person vote twice;
        # the registry never certifies a key twice (registry/credentials.py).
        holder = holders.setdefault(str(key_id), payload["member"])
        if holder != payload["member"]:
            report.fail("V-52", name, f"key {key_id} is certified for member {holder} already")
            continue
        certs[serial] = (
            index,
            (
                payload["member"],
                _b64u(payload["public_key"]),
                str(key_id),
                payload["issued_at"],
                payload["expires_at"],
            ),
        )
    opened = format_instant(definition.opens_at)
    for voter in definition.roll:
        for serial in voter.keys:
            _index, cert = certs.get(serial, (None, None))
            if cert is None:
                report.fail(
                    "V-53",
                    where,
                    f"the roll lists certificate {serial}, which is not in the bundle",
                )
            elif cert[0] != voter.member:
                report.fail(
                    "V-53",
                    where,
                    f"certificate {serial} is member {cert[0]}'s, not {voter.member}'s",
                )
            elif not cert[3] <= opened < cert[4]:
                report.fail(
                    "V-53", where, f"certificate {serial} was not valid when the vote opened"
                )
            # Its revocation is not held against the roll: one stamped before the
            # opening may have committed after the roll was fixed. Its ballots are
            # judged by V-69 like any other's.
    return certs, [blob for _, blob, _ in checked]


def _check_unused_certificates(
    certs: Mapping[int, _Cert],
    definition: Definition,
    used: set[int],
    where: str,
    report: Report,
) -> None:
    listed = {serial for voter in definition.roll for serial in voter.keys}
    for serial in sorted(set(certs) - listed - used):
        report.fail(
            "V-54", where, f"certificate {serial} is neither on the roll nor used by a ballot"
        )


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
            report.fail("V-4", name, f"the bundle is not in canonical form at byte {offset}")
            return
        position += len(blob)
    report.fail("V-4", "bundle end", f"the bundle is not in canonical form at byte {offset}")


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
        report.fail("V-100", "receipt", f"{exc.reason}: {exc}")
        return
    if not isinstance(bundle, dict):
        report.fail("V-101", "receipt", "the bundle is not a JSON object")
        return
    keys = dict(trusted) if trusted is not None else _bundle_keys(bundle.get("registry_keys"))
    try:
        document.verify(keys, expect_type=RECEIPT_TYPE, expect_version=VERSION)
    except CredentialError as exc:
        report.fail("V-100", "receipt", f"{exc.reason}: {exc}")
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
    report.fail("V-101", "receipt", f"vote {_short(vote_id)} is not in the bundle")


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
        report.fail("V-101", "receipt", f"vote {vote_id} has no board")
        return
    if type(seq) is not int or not 1 <= seq <= len(entries):
        report.fail(
            "V-101",
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
        report.fail("V-101", "receipt", f"vote {vote_id} cannot be read: {exc}")
        return
    if digest != receipt.get("entry"):
        report.fail(
            "V-101",
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
    _compare(receipt, expected, "receipt", report, check="V-101")
    if len(report.problems) == problems:
        report.notes.append(
            f"receipt: your ballot is entry {seq} of vote {vote_id}, "
            f"received at {receipt.get('received_at')}"
        )
