"""The formats of a vote (version 1): definition, ballot, board entry, receipt,
checkpoint and result, and the rule that turns counts into a decision.

Everything here is pure (standard library and :mod:`crypto` only): the server uses it
to accept ballots and the offline verifier uses the same definitions to check them.
``docs/ballots.md`` is the normative description; this module is one implementation.

All documents are JSON canonicalised per RFC 8785 with integers only
(:func:`crypto.canonical.canonicalize_signed`). Option numbers are 1-based, as on a
printed ballot. A definition's *fingerprint* is the content address (``sha256:…``) of
its canonical payload; a board entry's *hash* is the content address of the entry's
canonical bytes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from crypto._fields import check_fields, check_int, check_text, malformed, read_instant
from crypto.canonical import canonicalize_signed
from crypto.ed25519 import check_key_id
from crypto.encoding import b64u_decode
from crypto.errors import CredentialError
from crypto.hashing import content_address
from crypto.instant import format_instant

__all__ = [
    "BALLOT_TYPE",
    "BUNDLE_TYPE",
    "BUNDLE_VERSION",
    "CHECKPOINT_TYPE",
    "CHECKPOINT_VERSION",
    "DEFINITION_TYPE",
    "ENTRY_TYPE",
    "HALL_RECORD_TYPE",
    "KINDS",
    "RECEIPT_TYPE",
    "RESULT_TYPE",
    "VERSION",
    "BallotRefused",
    "Definition",
    "Outcome",
    "RollEntry",
    "Rule",
    "Secretary",
    "Turnout",
    "ballot_fields",
    "check_choice",
    "checkpoint_payload",
    "decide",
    "entry_payload",
    "hall_record_fields",
    "receipt_payload",
    "result_payload",
]

VERSION = 1
DEFINITION_TYPE = "kvorum.vote-definition"
BALLOT_TYPE = "kvorum.ballot"
# A hall member's open vote from a show of hands, recorded and signed by the meeting's
# secretary (definition version 2 only).
HALL_RECORD_TYPE = "kvorum.hall-record"
# Version 2 of the definition names the meeting's secretary and marks the roll's
# members present in the hall: those whose votes the secretary may record.
DEFINITION_VERSION = 2
ENTRY_TYPE = "kvorum.board-entry"
RECEIPT_TYPE = "kvorum.receipt"
CHECKPOINT_TYPE = "kvorum.board-checkpoint"
RESULT_TYPE = "kvorum.vote-result"
BUNDLE_TYPE = "kvorum.audit-bundle"
# Version 2 of the checkpoint (and so of the bundle) places each revocation on the
# board: the number of entries the board held when it took the revocation into
# account. Version 1 ordered ballots and revocations by their whole-second instants
# alone, which cannot tell apart a ballot and a revocation of the same second.
CHECKPOINT_VERSION = 2
BUNDLE_VERSION = 2

KINDS = ("meeting", "absentee", "survey")
BASES = ("cast", "present", "composition", "none")
PUBLICITY = ("named", "counts")
MAX_OPTIONS = 50
MAX_OPTION_LENGTH = 500
MAX_QUESTION_LENGTH = 4000
MAX_TITLE_LENGTH = 1000
MAX_NAME_LENGTH = 400
MAX_ROLL = 1_000_000
# 16 to 64 bytes in unpadded base64url are 22 to 86 characters; _nonce_ok checks the
# rest (no length 4n+1, unused bits zero).
NONCE = re.compile(r"[A-Za-z0-9_-]{22,86}")

_DEFINITION = "vote definition"
_BALLOT = "ballot"


class BallotRefused(Exception):
    """A ballot (or a board entry) breaks a rule; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Rule:
    """What counts as adopted: the votes for ``option`` compared with a fraction of a
    base — the ballots counted (``cast``), the members present when the vote opened
    (``present``), the body's full composition (``composition``); ``none`` for a
    survey, which decides nothing."""

    base: str
    option: int = 1
    numerator: int = 1
    denominator: int = 2
    strict: bool = True

    def to_json(self) -> dict[str, object]:
        if self.base == "none":
            return {"base": "none"}
        return {
            "base": self.base,
            "option": self.option,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "strict": self.strict,
        }

    @classmethod
    def from_json(cls, value: object, options: int) -> Self:
        if not isinstance(value, Mapping):
            raise malformed(_DEFINITION, "rule must be an object")
        base = value.get("base")
        if base not in BASES:
            raise malformed(_DEFINITION, f"rule base must be one of {', '.join(BASES)}")
        if base == "none":
            check_fields(value, _DEFINITION, required=("base",))
            return cls("none")
        check_fields(
            value, _DEFINITION, required=("base", "option", "numerator", "denominator", "strict")
        )
        numerator, denominator = _fraction(value, "rule")
        option = check_int(value["option"], "rule option", _DEFINITION)
        if option > options:
            raise malformed(_DEFINITION, f"rule option {option} is not one of the options")
        return cls(str(base), option, numerator, denominator, _bool(value, "strict", "rule"))


@dataclass(frozen=True)
class Turnout:
    """How many of the roll must have voted for the result to stand (the quorum of an
    absentee vote): ``voters / roll`` above (``strict``) or at least the fraction."""

    numerator: int
    denominator: int
    strict: bool

    def to_json(self) -> dict[str, object]:
        return {"numerator": self.numerator, "denominator": self.denominator, "strict": self.strict}

    @classmethod
    def from_json(cls, value: object) -> Self | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise malformed(_DEFINITION, "turnout must be an object or null")
        check_fields(value, _DEFINITION, required=("numerator", "denominator", "strict"))
        numerator, denominator = _fraction(value, "turnout")
        return cls(numerator, denominator, _bool(value, "strict", "turnout"))

    def met(self, voters: int, roll: int) -> bool:
        return _compare(voters, roll, self.numerator, self.denominator, self.strict)


def _compare(count: int, base: int, numerator: int, denominator: int, strict: bool) -> bool:
    # Integer arithmetic: "more than a half" of 7 is 4, never 3.5 rounded.
    if strict:
        return count * denominator > numerator * base
    return count * denominator >= numerator * base


def _fraction(value: Mapping[str, object], what: str) -> tuple[int, int]:
    numerator = check_int(value["numerator"], f"{what} numerator", _DEFINITION)
    denominator = check_int(value["denominator"], f"{what} denominator", _DEFINITION)
    if numerator > denominator or denominator > 1000:
        raise malformed(_DEFINITION, f"{what} fraction must be at most 1 with denominator ≤ 1000")
    return numerator, denominator


def _bool(value: Mapping[str, object], name: str, what: str) -> bool:
    flag = value[name]
    if not isinstance(flag, bool):
        raise malformed(_DEFINITION, f"{what} {name} must be true or false")
    return flag


@dataclass(frozen=True)
class RollEntry:
    """A voter: the member, their name as printed, and the serials of the key
    certificates they held when the vote opened."""

    member: int
    name: str
    keys: tuple[int, ...] = ()
    # Version 2: present in the hall when the vote opened (the secretary may record
    # their vote from a show of hands).
    in_hall: bool = False

    def to_json(self, version: int = VERSION) -> dict[str, object]:
        entry: dict[str, object] = {"member": self.member, "name": self.name}
        entry["keys"] = list(self.keys)
        if version >= 2:
            entry["in_hall"] = self.in_hall
        return entry


@dataclass(frozen=True)
class Secretary:
    """The meeting's secretary named by a version 2 definition: the only member whose
    key may sign hall records of the vote."""

    member: int
    name: str

    def to_json(self) -> dict[str, object]:
        return {"member": self.member, "name": self.name}


@dataclass(frozen=True)
class Definition:
    """A vote as it was opened: nothing in it can change afterwards."""

    vote: int
    org: int
    org_name: str
    kind: str
    title: str
    question: str
    options: tuple[str, ...]
    min_choices: int
    max_choices: int
    secret: bool
    publicity: str
    rule: Rule
    turnout: Turnout | None
    composition: int
    present: int | None
    opens_at: dt.datetime
    closes_at: dt.datetime | None
    late_keys: bool
    roll: tuple[RollEntry, ...]
    issuer: str
    secretary: Secretary | None = None
    _members: dict[int, RollEntry] = field(init=False, repr=False, compare=False)
    _payload: dict[str, object] = field(init=False, repr=False, compare=False)
    _fingerprint: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        w = _DEFINITION
        check_int(self.vote, "vote", w)
        check_int(self.org, "org", w)
        check_text(self.org_name, "org_name", w, max_length=MAX_TITLE_LENGTH)
        if self.kind not in KINDS:
            raise malformed(w, f"kind must be one of {', '.join(KINDS)}, got {self.kind!r:.40}")
        check_text(self.title, "title", w, max_length=MAX_TITLE_LENGTH)
        _check_long_text(self.question, "question", MAX_QUESTION_LENGTH)
        if not 2 <= len(self.options) <= MAX_OPTIONS:
            raise malformed(w, f"a vote has 2 to {MAX_OPTIONS} options, got {len(self.options)}")
        for index, option in enumerate(self.options, 1):
            check_text(option, f"option {index}", w, max_length=MAX_OPTION_LENGTH)
        folded = [o.casefold() for o in self.options]
        if len(set(folded)) != len(folded):
            raise malformed(w, "two options have the same text")
        check_int(self.min_choices, "min_choices", w)
        check_int(self.max_choices, "max_choices", w)
        if not self.min_choices <= self.max_choices <= len(self.options):
            raise malformed(w, "choices must satisfy 1 ≤ min_choices ≤ max_choices ≤ options")
        if self.secret:
            raise malformed(w, "secret ballots are not part of version 1")
        if self.publicity not in PUBLICITY:
            raise malformed(w, f"publicity must be one of {', '.join(PUBLICITY)}")
        if self.kind != "survey" and self.rule.base == "none":
            raise malformed(w, "a decision needs a rule; only a survey may have base 'none'")
        if self.kind != "survey" and self.max_choices != 1:
            raise malformed(w, "only a survey may allow several choices")
        if self.rule.base == "present" and self.present is None:
            raise malformed(w, "rule base 'present' needs the number present")
        check_int(self.composition, "composition", w, minimum=0)
        if self.present is not None:
            check_int(self.present, "present", w, minimum=0)
        if (self.kind == "meeting") != (self.present is not None):
            raise malformed(w, "present is given for a meeting vote and only for one")
        if self.closes_at is not None and self.closes_at <= self.opens_at:
            raise malformed(w, "closes_at must be after opens_at")
        if self.kind != "meeting" and self.closes_at is None:
            raise malformed(w, "an absentee vote or a survey needs a deadline (closes_at)")
        if not 1 <= len(self.roll) <= MAX_ROLL:
            raise malformed(w, f"the roll must list 1 to {MAX_ROLL} voters")
        members: dict[int, RollEntry] = {}
        previous = 0
        for entry in self.roll:
            check_int(entry.member, "roll member", w)
            if entry.member <= previous:
                raise malformed(
                    w, f"roll is not sorted by member without repeats at {entry.member}"
                )
            previous = entry.member
            check_text(entry.name, f"roll name of member {entry.member}", w, max_length=400)
            last = 0
            for serial in entry.keys:
                check_int(serial, f"key serial of member {entry.member}", w)
                if serial <= last:
                    raise malformed(w, f"key serials of member {entry.member} are not ascending")
                last = serial
            members[entry.member] = entry
        if self.present is not None and self.present != len(self.roll):
            raise malformed(w, "a meeting vote's roll is the members present: their numbers differ")
        if len(self.roll) > self.composition and self.kind != "survey":
            raise malformed(w, "the roll is larger than the composition")
        if self.kind == "survey" and self.composition != len(self.roll):
            raise malformed(w, "a survey's composition is the size of its roll")
        if self.kind == "meeting" and self.late_keys:
            # A meeting votes with the keys its roll fixed at the opening.
            raise malformed(w, "a meeting vote takes no late keys")
        if self.secretary is not None:
            if self.kind != "meeting":
                raise malformed(w, "only a meeting vote names a secretary")
            check_int(self.secretary.member, "secretary member", w)
            check_text(self.secretary.name, "secretary name", w, max_length=MAX_NAME_LENGTH)
        elif any(entry.in_hall for entry in self.roll):
            raise malformed(w, "a roll marks members in the hall only in version 2")
        check_key_id(self.issuer, "issuer")
        payload = self._build_payload()
        object.__setattr__(self, "_members", members)
        object.__setattr__(self, "_payload", payload)
        object.__setattr__(self, "_fingerprint", content_address(canonicalize_signed(payload)))

    @property
    def version(self) -> int:
        """2 where the definition names a secretary (hall records allowed), else 1."""
        return DEFINITION_VERSION if self.secretary is not None else VERSION

    def _build_payload(self) -> dict[str, object]:
        version = self.version
        payload: dict[str, object] = {
            "type": DEFINITION_TYPE,
            "v": version,
            "vote": self.vote,
            "org": self.org,
            "org_name": self.org_name,
            "kind": self.kind,
            "title": self.title,
            "question": self.question,
            "options": list(self.options),
            "min_choices": self.min_choices,
            "max_choices": self.max_choices,
            "secret": self.secret,
            "publicity": self.publicity,
            "rule": self.rule.to_json(),
            "turnout": self.turnout.to_json() if self.turnout else None,
            "composition": self.composition,
            "present": self.present,
            "opens_at": format_instant(self.opens_at),
            "closes_at": format_instant(self.closes_at) if self.closes_at else None,
            "late_keys": self.late_keys,
            "roll": [entry.to_json(version) for entry in self.roll],
            "issuer": self.issuer,
        }
        if self.secretary is not None:
            payload["secretary"] = self.secretary.to_json()
        return payload

    def to_payload(self) -> dict[str, object]:
        return self._build_payload()

    @property
    def fingerprint(self) -> str:
        """``sha256:`` of the canonical payload: what every ballot names."""
        return self._fingerprint

    def voter(self, member: int) -> RollEntry | None:
        return self._members.get(member)

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        w = _DEFINITION
        if not isinstance(payload, Mapping):
            raise malformed(w, "expected a JSON object")
        if payload.get("type") != DEFINITION_TYPE:
            raise CredentialError("wrong_type", f"{w}: type is {payload.get('type')!r:.60}")
        version = payload.get("v")
        if type(version) is not int or version not in (VERSION, DEFINITION_VERSION):
            raise CredentialError(
                "unsupported_version", f"{w}: version {payload.get('v')!r:.20} is not supported"
            )
        fields = _DEFINITION_FIELDS + (("secretary",) if version == DEFINITION_VERSION else ())
        check_fields(payload, w, required=fields)
        options = payload["options"]
        if not isinstance(options, Sequence) or isinstance(options, str):
            raise malformed(w, "options must be an array")
        roll = payload["roll"]
        if not isinstance(roll, Sequence) or isinstance(roll, str):
            raise malformed(w, "roll must be an array")
        present = payload["present"]
        closes = payload["closes_at"]
        for name in ("secret", "late_keys"):
            if not isinstance(payload[name], bool):
                raise malformed(w, f"{name} must be true or false")
        return cls(
            vote=check_int(payload["vote"], "vote", w),
            org=check_int(payload["org"], "org", w),
            org_name=_text(payload, "org_name"),
            kind=_text(payload, "kind"),
            title=_text(payload, "title"),
            question=_text(payload, "question"),
            options=tuple(_option(o, i) for i, o in enumerate(options, 1)),
            min_choices=check_int(payload["min_choices"], "min_choices", w),
            max_choices=check_int(payload["max_choices"], "max_choices", w),
            secret=bool(payload["secret"]),
            publicity=_text(payload, "publicity"),
            rule=Rule.from_json(payload["rule"], len(options)),
            turnout=Turnout.from_json(payload["turnout"]),
            composition=check_int(payload["composition"], "composition", w, minimum=0),
            present=None if present is None else check_int(present, "present", w, minimum=0),
            opens_at=read_instant(payload, "opens_at", w),
            closes_at=None if closes is None else read_instant(payload, "closes_at", w),
            late_keys=bool(payload["late_keys"]),
            roll=tuple(_roll_entry(item, version) for item in roll),
            issuer=_text(payload, "issuer"),
            secretary=_secretary(payload["secretary"]) if version == DEFINITION_VERSION else None,
        )


_DEFINITION_FIELDS = (
    "type",
    "v",
    "vote",
    "org",
    "org_name",
    "kind",
    "title",
    "question",
    "options",
    "min_choices",
    "max_choices",
    "secret",
    "publicity",
    "rule",
    "turnout",
    "composition",
    "present",
    "opens_at",
    "closes_at",
    "late_keys",
    "roll",
    "issuer",
)


def _text(payload: Mapping[str, object], name: str) -> str:
    value = payload[name]
    if not isinstance(value, str):
        raise malformed(_DEFINITION, f"{name} must be a string, got {type(value).__name__}")
    return value


def _option(value: object, index: int) -> str:
    if not isinstance(value, str):
        raise malformed(_DEFINITION, f"option {index} must be a string")
    return value


def _check_long_text(value: object, name: str, max_length: int) -> str:
    """Text that may span lines (a question): no other control characters."""
    if not isinstance(value, str) or not value.strip():
        raise malformed(_DEFINITION, f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise malformed(_DEFINITION, f"{name} is longer than {max_length} characters")
    if any(ord(c) < 32 and c != "\n" for c in value) or "\x7f" in value:
        raise malformed(_DEFINITION, f"{name} holds a control character other than a line break")
    return value


def _secretary(value: object) -> Secretary:
    if not isinstance(value, Mapping):
        raise malformed(_DEFINITION, "secretary must be an object")
    check_fields(value, _DEFINITION, required=("member", "name"))
    name = value["name"]
    if not isinstance(name, str):
        raise malformed(_DEFINITION, "secretary name must be a string")
    return Secretary(check_int(value["member"], "secretary member", _DEFINITION), name)


def _roll_entry(value: object, version: int = VERSION) -> RollEntry:
    if not isinstance(value, Mapping):
        raise malformed(_DEFINITION, "a roll entry must be an object")
    hall = ("in_hall",) if version >= 2 else ()
    check_fields(value, _DEFINITION, required=("member", "name", "keys", *hall))
    in_hall = value["in_hall"] if hall else False
    if not isinstance(in_hall, bool):
        raise malformed(_DEFINITION, "roll in_hall must be true or false")
    keys = value["keys"]
    if not isinstance(keys, Sequence) or isinstance(keys, str):
        raise malformed(_DEFINITION, "roll keys must be an array")
    name = value["name"]
    if not isinstance(name, str):
        raise malformed(_DEFINITION, "roll name must be a string")
    return RollEntry(
        member=check_int(value["member"], "roll member", _DEFINITION),
        name=name,
        keys=tuple(check_int(k, "roll key serial", _DEFINITION) for k in keys),
        in_hall=in_hall,
    )


# --- ballots ------------------------------------------------------------------------------

_BALLOT_FIELDS = frozenset({"type", "v", "vote", "definition", "serial", "choice", "nonce"})


def ballot_fields(
    payload: Mapping[str, Any], definition: Definition
) -> tuple[int, tuple[int, ...]]:
    """Check a ballot payload against the vote; return (certificate serial, choice).

    Raises :class:`BallotRefused`: ``malformed``, ``wrong_vote`` (a ballot of another
    vote, or for another definition of this one) or ``bad_choice``.
    """
    if not isinstance(payload, Mapping):
        raise BallotRefused("malformed", "the ballot payload must be a JSON object")
    if payload.get("type") != BALLOT_TYPE or payload.get("v") != VERSION:
        raise BallotRefused("malformed", f"the payload is not a {BALLOT_TYPE} version {VERSION}")
    names = set(payload)
    if names != _BALLOT_FIELDS:
        missing = sorted(_BALLOT_FIELDS - names)
        extra = sorted(names - _BALLOT_FIELDS)
        detail = f"missing field {missing[0]!r}" if missing else f"unknown field {extra[0]!r}"
        raise BallotRefused("malformed", f"ballot: {detail}")
    vote = payload["vote"]
    if vote != definition.vote or isinstance(vote, bool):
        raise BallotRefused(
            "wrong_vote", f"the ballot is for vote {vote!r:.20}, not vote {definition.vote}"
        )
    if payload["definition"] != definition.fingerprint:
        raise BallotRefused(
            "wrong_vote",
            "the ballot names another definition of the vote "
            f"({str(payload['definition'])[:80]!r}, expected {definition.fingerprint})",
        )
    serial = payload["serial"]
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 1:
        raise BallotRefused("malformed", "serial must be a positive integer")
    nonce = payload["nonce"]
    if not isinstance(nonce, str) or not NONCE.fullmatch(nonce) or not _nonce_ok(nonce):
        raise BallotRefused("malformed", "nonce must be 16 to 64 random bytes in base64url")
    return serial, check_choice(payload["choice"], definition)


_HALL_RECORD_FIELDS = frozenset(
    {"type", "v", "vote", "definition", "serial", "member", "choice", "nonce"}
)


def hall_record_fields(
    payload: Mapping[str, Any], definition: Definition
) -> tuple[int, int, tuple[int, ...]]:
    """Check a hall record's payload against the vote; return (the secretary's
    certificate serial, the member recorded, their choice).

    Raises :class:`BallotRefused`: ``bad_hall_record`` (its form),
    ``hall_record_not_allowed`` (a definition of version 1 names no secretary),
    ``wrong_vote``, ``bad_choice`` or ``not_in_hall`` (the member is not on the roll
    marked in the hall, or is the secretary, who votes with a ballot of their own).
    That the secretary's key signed it is checked against the certificate."""
    if not isinstance(payload, Mapping):
        raise BallotRefused("bad_hall_record", "the hall record's payload must be a JSON object")
    if payload.get("type") != HALL_RECORD_TYPE or payload.get("v") != VERSION:
        raise BallotRefused(
            "bad_hall_record", f"the payload is not a {HALL_RECORD_TYPE} version {VERSION}"
        )
    names = set(payload)
    if names != _HALL_RECORD_FIELDS:
        missing = sorted(_HALL_RECORD_FIELDS - names)
        extra = sorted(names - _HALL_RECORD_FIELDS)
        detail = f"missing field {missing[0]!r}" if missing else f"unknown field {extra[0]!r}"
        raise BallotRefused("bad_hall_record", f"hall record: {detail}")
    for name in ("serial", "member"):
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BallotRefused("bad_hall_record", f"{name} must be a positive integer")
    nonce = payload["nonce"]
    if not isinstance(nonce, str) or not NONCE.fullmatch(nonce) or not _nonce_ok(nonce):
        raise BallotRefused("bad_hall_record", "nonce must be 16 to 64 random bytes in base64url")
    if definition.secretary is None:
        raise BallotRefused(
            "hall_record_not_allowed",
            "the vote's definition (version 1) names no secretary: it takes no hall records",
        )
    vote = payload["vote"]
    if vote != definition.vote or isinstance(vote, bool):
        raise BallotRefused(
            "wrong_vote", f"the record is for vote {vote!r:.20}, not vote {definition.vote}"
        )
    if payload["definition"] != definition.fingerprint:
        raise BallotRefused(
            "wrong_vote",
            "the record names another definition of the vote "
            f"({str(payload['definition'])[:80]!r}, expected {definition.fingerprint})",
        )
    choice = check_choice(payload["choice"], definition)
    member = payload["member"]
    voter = definition.voter(member)
    if voter is None or not voter.in_hall:
        raise BallotRefused(
            "not_in_hall", f"member {member} is not on the roll as present in the hall"
        )
    if member == definition.secretary.member:
        raise BallotRefused(
            "not_in_hall", "the secretary votes with a ballot of their own, not a hall record"
        )
    return payload["serial"], member, choice


def _nonce_ok(nonce: str) -> bool:
    try:
        return 16 <= len(b64u_decode(nonce)) <= 64
    except CredentialError:
        return False


def check_choice(choice: object, definition: Definition) -> tuple[int, ...]:
    """A list of option numbers, ascending without repeats, as many as the vote allows."""
    if not isinstance(choice, Sequence) or isinstance(choice, str):
        raise BallotRefused("bad_choice", "choice must be an array of option numbers")
    last = 0
    for number in choice:
        if isinstance(number, bool) or not isinstance(number, int):
            raise BallotRefused("bad_choice", "choice must hold option numbers (integers)")
        if not 1 <= number <= len(definition.options):
            raise BallotRefused(
                "bad_choice", f"option {number} does not exist (1..{len(definition.options)})"
            )
        if number <= last:
            raise BallotRefused("bad_choice", "option numbers must be ascending without repeats")
        last = number
    if not definition.min_choices <= len(choice) <= definition.max_choices:
        if definition.min_choices == definition.max_choices:
            wanted = f"exactly {definition.min_choices}"
        else:
            wanted = f"{definition.min_choices} to {definition.max_choices}"
        raise BallotRefused("bad_choice", f"choose {wanted} option(s), not {len(choice)}")
    return tuple(choice)


# --- board, receipts, checkpoint, result --------------------------------------------------


def entry_payload(
    vote: int, seq: int, prev: str, ballot: Mapping[str, object], received_at: dt.datetime
) -> dict[str, object]:
    """A board entry; its hash (``content_address(canonicalize_signed(entry))``) is the
    next entry's ``prev``. The first entry's ``prev`` is the definition's fingerprint."""
    return {
        "type": ENTRY_TYPE,
        "v": VERSION,
        "vote": vote,
        "seq": seq,
        "prev": prev,
        "ballot": dict(ballot),
        "received_at": format_instant(received_at),
    }


def receipt_payload(
    vote: int,
    fingerprint: str,
    seq: int,
    entry_hash: str,
    received_at: dt.datetime,
    issuer: str,
) -> dict[str, object]:
    """What the registry key signs for a voter once their entry is durable."""
    return {
        "type": RECEIPT_TYPE,
        "v": VERSION,
        "vote": vote,
        "definition": fingerprint,
        "seq": seq,
        "entry": entry_hash,
        "received_at": format_instant(received_at),
        "issuer": issuer,
    }


def checkpoint_payload(
    definition: Definition,
    length: int,
    head: str,
    closed_at: dt.datetime,
    issuer: str,
    revoked: Mapping[int, int] | None = None,
) -> dict[str, object]:
    """The board as it was closed. ``revoked`` (certificate serial → the number of
    entries the board held when it took that certificate's revocation into account)
    makes a version 2 checkpoint; without it the payload is version 1."""
    payload: dict[str, object] = {
        "type": CHECKPOINT_TYPE,
        "v": 1 if revoked is None else CHECKPOINT_VERSION,
        "vote": definition.vote,
        "definition": definition.fingerprint,
        "length": length,
        "head": head,
        "closed_at": format_instant(closed_at),
        "issuer": issuer,
    }
    if revoked is not None:
        payload["revoked"] = [
            {"serial": serial, "after": after} for serial, after in sorted(revoked.items())
        ]
    return payload


@dataclass(frozen=True)
class Outcome:
    """The count of a closed vote: the last ballot of each voter counts."""

    voters: int
    counts: tuple[int, ...]
    turnout_met: bool | None
    adopted: bool | None
    roll_call: tuple[tuple[int, str, tuple[int, ...]], ...] | None


def decide(definition: Definition, last_choice: Mapping[int, tuple[int, ...]]) -> Outcome:
    """Count the last choice of each voter (member id → option numbers) under the rule."""
    counts = [0] * len(definition.options)
    for choice in last_choice.values():
        for number in choice:
            counts[number - 1] += 1
    voters = len(last_choice)
    turnout_met = (
        definition.turnout.met(voters, len(definition.roll)) if definition.turnout else None
    )
    rule = definition.rule
    adopted: bool | None
    if rule.base == "none":
        adopted = None
    else:
        base = {
            "cast": voters,
            "present": definition.present or 0,
            "composition": definition.composition,
        }[rule.base]
        adopted = turnout_met is not False and _compare(
            counts[rule.option - 1], base, rule.numerator, rule.denominator, rule.strict
        )
    roll_call = None
    if definition.publicity == "named":
        roll_call = tuple(
            (member, entry.name, last_choice[member])
            for member in sorted(last_choice)
            if (entry := definition.voter(member)) is not None
        )
    return Outcome(voters, tuple(counts), turnout_met, adopted, roll_call)


def result_payload(
    definition: Definition,
    outcome: Outcome,
    *,
    checkpoint: str,
    length: int,
    head: str,
    revocations: int,
    issuer: str,
) -> dict[str, object]:
    """The signed result: counts, verdict and (open, named votes) who voted how."""
    return {
        "type": RESULT_TYPE,
        "v": VERSION,
        "vote": definition.vote,
        "definition": definition.fingerprint,
        "checkpoint": checkpoint,
        "length": length,
        "head": head,
        "voters": outcome.voters,
        "counts": list(outcome.counts),
        "turnout_met": outcome.turnout_met,
        "adopted": outcome.adopted,
        "roll_call": None
        if outcome.roll_call is None
        else [
            {"member": member, "name": name, "choice": list(choice)}
            for member, name, choice in outcome.roll_call
        ],
        "revocations": revocations,
        "issuer": issuer,
    }
