"""Signed documents (version 1): the record of a finished PDF, the signatures of the
secretary and the chair, recipients' acknowledgements, and the files attached to the PDF.

When the secretary finalises a protocol, a resolution or an extract, the server writes
a *record* naming the PDF by its SHA-256 and length, the meeting, the votes it reports
and who must sign it. The secretary, then the chair, sign a small payload naming the
record's digest with their device key (a :class:`~crypto.envelope.SignedDocument`,
certified by a :mod:`crypto.certificate`); the chair's payload names the digest of the
secretary's envelope, so the order is part of what is signed. The envelopes, the
certificates, the registry keys and the revocation lists are then attached to the PDF
(:func:`sign_pdf`, :mod:`meetings.signedpdf`), and :mod:`meetings.docverify` checks the
whole offline. ``docs/documents.md`` is the normative description.

Payloads (canonical JSON, :func:`crypto.canonical.canonicalize_signed`)::

    {"type": "kvorum.document-record", "v": 1, "org": <organisation id>,
     "org_name": str, "kind": "protocol" | "resolution" | "extract",
     "number": "№ 7" | "№ 7 – 2", "title": str, "date": "YYYY-MM-DD",
     "journal": "<registration number, e.g. 12/2026>",
     "meeting": {"id": int, "body": str, "number": int, "year": int},
     "pdf": {"sha256": "<64 lowercase hex>", "length": int},
     "votes": [{"vote": "sha256:…", "head": "sha256:…", "result": "sha256:…"}],
     "signers": [{"role": "secretary", "member": int, "name": str},
                 {"role": "chair", "member": int, "name": str}],
     "finalised_at": "YYYY-MM-DDTHH:MM:SSZ"}

    Version 2 of the record adds ``"zone": {"name": "Asia/Yekaterinburg", "offset": 300,
    "label": "по пермскому времени, UTC+5"}``: the zone the signing times are shown in
    on the visible marks (the offset in minutes east of UTC), so the marks follow from
    the files alone.

    {"type": "kvorum.document-signature", "v": 1, "record": "<record digest>",
     "role": "secretary" | "chair", "member": int, "serial": <certificate serial>,
     "previous": "" | "<digest of the secretary's envelope>", "signed_at": instant}

    {"type": "kvorum.document-acknowledgement", "v": 1, "record": "<record digest>",
     "journal": str, "member": int, "serial": int, "org": <organisation id, or 0>,
     "statement": "ознакомлен", "acknowledged_at": instant}

Digests are content addresses (``sha256:`` and 64 lowercase hex digits) as in
``docs/ballots.md``: the record's is of its canonical payload, an envelope's of the
envelope's canonical JSON. Unknown fields are rejected everywhere.

Failures are :class:`~crypto.errors.CredentialError` with a stable ``reason``: the
ones of :mod:`crypto` (``malformed``, ``wrong_type``, ``unsupported_version``,
``bad_signature``, ``not_yet_valid``, ``expired``) and ``wrong_key`` (signed by another
key than the certificate's), ``wrong_record``, ``wrong_role``, ``wrong_member`` and
``broken_chain`` (``previous`` is not the envelope signed before).

Not guaranteed: the checkers take a certificate the caller has already verified
(registry signature, revocation); that the members named held their office, that an
acknowledgement's ``org`` may be represented by its signer, and the time a signer
states are the server's and the signer's word, not checked here.

Pure: standard library, PyNaCl and :mod:`crypto`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self, TypeAlias

from crypto._fields import (
    check_fields,
    check_header,
    check_instant_field,
    check_int,
    check_text,
    malformed,
    read_date,
    read_instant,
)
from crypto.canonical import canonicalize, canonicalize_signed
from crypto.certificate import MAX_ORGANISATION_NAME_LENGTH, KeyCertificate
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.hashing import content_address, parse_content_address
from crypto.instant import format_date, format_instant
from meetings.pdfstamp import HEADING, overlay
from meetings.signedpdf import Overlay, embed

__all__ = [
    "ACKNOWLEDGEMENT_TYPE",
    "CERTIFICATES_FILE",
    "COMMISSION_KIND",
    "COMMISSION_ROLE",
    "FILES",
    "KINDS",
    "MEDIA_TYPE",
    "RECORD_FILE",
    "RECORD_TYPE",
    "RECORD_VERSION",
    "REGISTRY_KEYS_FILE",
    "REVOCATIONS_FILE",
    "ROLES",
    "SIGNATURES_FILE",
    "SIGNATURE_TYPE",
    "SIGNER_ROLES",
    "STATEMENT",
    "VERSION",
    "Acknowledgement",
    "DocumentRecord",
    "DocumentSignature",
    "EnvelopeLike",
    "MeetingRef",
    "PreviousLike",
    "RecordLike",
    "RecordZone",
    "Signer",
    "VoteRef",
    "acknowledgement_payload",
    "build_record",
    "check_acknowledgement",
    "check_signature",
    "envelope_digest",
    "record_digest",
    "sign_pdf",
    "signature_payload",
    "stamp",
    "stamp_lines",
]

VERSION = 1
RECORD_TYPE = "kvorum.document-record"
SIGNATURE_TYPE = "kvorum.document-signature"
ACKNOWLEDGEMENT_TYPE = "kvorum.document-acknowledgement"

KINDS = ("protocol", "resolution", "extract", "commission_protocol")
#: Who signs a meeting's document, in the order they sign.
ROLES = ("secretary", "chair")
#: The protocol of a counting commission is signed by its members who counted
#: (``commission``), in whatever order they come, each once.
COMMISSION_KIND = "commission_protocol"
COMMISSION_ROLE = "commission"
SIGNER_ROLES = (*ROLES, COMMISSION_ROLE)
#: At most this many commission members sign one protocol.
MAX_COMMISSION_SIGNERS = 20
#: The words of an acknowledgement («ознакомлен»: "has read it").
STATEMENT = "ознакомлен"

RECORD_FILE = "kvorum-record.json"
SIGNATURES_FILE = "kvorum-signatures.json"
CERTIFICATES_FILE = "kvorum-certificates.json"
REGISTRY_KEYS_FILE = "kvorum-registry-keys.json"
REVOCATIONS_FILE = "kvorum-revocations.json"
#: The files attached to a signed PDF, in the order they are embedded.
FILES = (RECORD_FILE, SIGNATURES_FILE, CERTIFICATES_FILE, REGISTRY_KEYS_FILE, REVOCATIONS_FILE)
MEDIA_TYPE = "application/json"

MAX_TITLE_LENGTH = 1000
MAX_NAME_LENGTH = 400
MAX_JOURNAL_LENGTH = 100
# "№ 7" for a meeting's protocol (and its extracts), "№ 7 – 2" for its second item's
# resolution (meetings.documents.meeting_number). [0-9]: no other scripts' digits.
_NUMBER = re.compile(r"№ [1-9][0-9]{0,8}(?: – [1-9][0-9]{0,8})?")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

#: A record as an object or as its JSON payload (what the server stores).
RecordLike: TypeAlias = "DocumentRecord | Mapping[str, object]"
#: A signed document as an object, as JSON bytes or as a parsed JSON object.
EnvelopeLike: TypeAlias = "SignedDocument | bytes | Mapping[str, object]"
#: The signature signed before: its envelope, its digest (``""`` for none), or ``None``.
PreviousLike: TypeAlias = "SignedDocument | str | None"


_RECORD = "document record"
_SIGNATURE = "document signature"
_ACKNOWLEDGEMENT = "document acknowledgement"
_RECORD_FIELDS = (
    "type",
    "v",
    "org",
    "org_name",
    "kind",
    "number",
    "title",
    "date",
    "journal",
    "meeting",
    "pdf",
    "votes",
    "signers",
    "finalised_at",
)
#: Version 2 of the record names the zone of the marks' times (RecordZone).
RECORD_VERSION = 2
_SIGNATURE_FIELDS = ("type", "v", "record", "role", "member", "serial", "previous", "signed_at")
_ACKNOWLEDGEMENT_FIELDS = (
    "type",
    "v",
    "record",
    "journal",
    "member",
    "serial",
    "org",
    "statement",
    "acknowledged_at",
)


def _address(value: object, name: str, what: str) -> str:
    """A content address (``sha256:`` + 64 lowercase hex), as ballots write them."""
    if not isinstance(value, str):
        raise malformed(what, f"{name} must be a string, got {type(value).__name__}")
    try:
        parse_content_address(value)
    except CredentialError as exc:
        raise malformed(what, f"{name}: {exc}") from exc
    return value


def _string(value: object, name: str, what: str) -> str:
    if not isinstance(value, str):
        raise malformed(what, f"{name} must be a string, got {type(value).__name__}")
    return value


def _object(value: object, name: str, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise malformed(what, f"{name} must be a JSON object, got {type(value).__name__}")
    return value


def _array(value: object, name: str, what: str) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        raise malformed(what, f"{name} must be an array, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class MeetingRef:
    """The meeting a document comes from: its id, the body, its number in the year."""

    meeting_id: int
    body: str
    number: int
    year: int

    def __post_init__(self) -> None:
        check_int(self.meeting_id, "meeting id", _RECORD)
        check_text(self.body, "meeting body", _RECORD, max_length=MAX_TITLE_LENGTH)
        check_int(self.number, "meeting number", _RECORD)
        check_int(self.year, "meeting year", _RECORD)
        if self.year > 9999:
            raise malformed(_RECORD, f"meeting year must be at most 9999, got {self.year}")

    def to_json(self) -> dict[str, object]:
        return {"id": self.meeting_id, "body": self.body, "number": self.number, "year": self.year}

    @classmethod
    def from_json(cls, value: object) -> Self:
        meeting = _object(value, "meeting", _RECORD)
        check_fields(meeting, _RECORD, required=("id", "body", "number", "year"))
        return cls(
            meeting_id=check_int(meeting["id"], "meeting id", _RECORD),
            body=check_text(meeting["body"], "meeting body", _RECORD, max_length=MAX_TITLE_LENGTH),
            number=check_int(meeting["number"], "meeting number", _RECORD),
            year=check_int(meeting["year"], "meeting year", _RECORD),
        )


@dataclass(frozen=True)
class VoteRef:
    """A vote the document reports: the definition's fingerprint, the board's head at
    the close and the digest of the signed result (all as in ``docs/ballots.md``)."""

    vote: str
    head: str
    result: str

    def __post_init__(self) -> None:
        _address(self.vote, "vote", _RECORD)
        _address(self.head, "vote head", _RECORD)
        _address(self.result, "vote result", _RECORD)

    def to_json(self) -> dict[str, object]:
        return {"vote": self.vote, "head": self.head, "result": self.result}

    @classmethod
    def from_json(cls, value: object) -> Self:
        vote = _object(value, "a vote", _RECORD)
        check_fields(vote, _RECORD, required=("vote", "head", "result"))
        return cls(
            vote=_address(vote["vote"], "vote", _RECORD),
            head=_address(vote["head"], "vote head", _RECORD),
            result=_address(vote["result"], "vote result", _RECORD),
        )


@dataclass(frozen=True)
class Signer:
    """Who must sign in a role: the member and their name as printed."""

    role: str
    member: int
    name: str

    def __post_init__(self) -> None:
        if self.role not in SIGNER_ROLES:
            raise malformed(_RECORD, f"signer role must be one of {', '.join(SIGNER_ROLES)}")
        check_int(self.member, f"{self.role} member", _RECORD)
        check_text(self.name, f"{self.role} name", _RECORD, max_length=MAX_NAME_LENGTH)

    def to_json(self) -> dict[str, object]:
        return {"role": self.role, "member": self.member, "name": self.name}

    @classmethod
    def from_json(cls, value: object) -> Self:
        signer = _object(value, "a signer", _RECORD)
        check_fields(signer, _RECORD, required=("role", "member", "name"))
        return cls(
            role=_string(signer["role"], "signer role", _RECORD),
            member=check_int(signer["member"], "signer member", _RECORD),
            name=check_text(signer["name"], "signer name", _RECORD, max_length=MAX_NAME_LENGTH),
        )


@dataclass(frozen=True)
class RecordZone:
    """Where the document's times are told (version 2 of the record): the zone's IANA
    name, its offset from UTC in minutes when the document was finalised, and its label
    as people say it. The marks add the offset to a signing time and print the label:
    nothing is looked up, so they rebuild byte for byte anywhere."""

    name: str
    offset: int
    label: str

    def __post_init__(self) -> None:
        w = _RECORD
        check_text(self.name, "zone name", w, max_length=64)
        if isinstance(self.offset, bool) or not isinstance(self.offset, int):
            raise malformed(w, "zone offset must be an integer (minutes east of UTC)")
        if not -18 * 60 <= self.offset <= 18 * 60:
            raise malformed(w, "zone offset must be within ±18 hours")
        check_text(self.label, "zone label", w, max_length=100)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "offset": self.offset, "label": self.label}

    @classmethod
    def from_json(cls, value: object) -> Self:
        zone = _object(value, "zone", _RECORD)
        check_fields(zone, _RECORD, required=("name", "offset", "label"))
        return cls(
            _string(zone["name"], "zone name", _RECORD),
            zone["offset"],  # type: ignore[arg-type]  # checked by __post_init__
            _string(zone["label"], "zone label", _RECORD),
        )

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` on the zone's clocks (naive: the label says where)."""
        return (moment.astimezone(dt.UTC) + dt.timedelta(minutes=self.offset)).replace(tzinfo=None)


@dataclass(frozen=True)
class DocumentRecord:
    """What the secretary finalised: the PDF by hash, what it is and who must sign it."""

    org: int
    org_name: str
    kind: str
    number: str
    title: str
    date: dt.date
    journal: str
    meeting: MeetingRef
    pdf_sha256: str
    pdf_length: int
    votes: tuple[VoteRef, ...]
    signers: tuple[Signer, ...]
    finalised_at: dt.datetime
    zone: RecordZone | None = None

    def __post_init__(self) -> None:
        w = _RECORD
        check_int(self.org, "org", w)
        check_text(self.org_name, "org_name", w, max_length=MAX_ORGANISATION_NAME_LENGTH)
        if self.kind not in KINDS:
            raise malformed(w, f"kind must be one of {', '.join(KINDS)}, got {self.kind!r:.40}")
        check_text(self.number, "number", w, max_length=40)
        if not _NUMBER.fullmatch(self.number):
            raise malformed(w, f"number must read «№ 7» or «№ 7 – 2», got {self.number!r:.40}")
        check_text(self.title, "title", w, max_length=MAX_TITLE_LENGTH)
        try:
            format_date(self.date)
        except CredentialError as exc:
            raise malformed(w, f"date: {exc}") from exc
        check_text(self.journal, "journal", w, max_length=MAX_JOURNAL_LENGTH)
        if not isinstance(self.meeting, MeetingRef):
            raise malformed(w, "meeting must be a MeetingRef")
        if not isinstance(self.pdf_sha256, str) or not _SHA256_HEX.fullmatch(self.pdf_sha256):
            raise malformed(w, "pdf sha256 must be 64 lowercase hex digits")
        check_int(self.pdf_length, "pdf length", w)
        if not isinstance(self.votes, tuple) or not all(isinstance(v, VoteRef) for v in self.votes):
            raise malformed(w, "votes must be a tuple of VoteRef")
        fingerprints = [vote.vote for vote in self.votes]
        if len(set(fingerprints)) != len(fingerprints):
            raise malformed(w, "a vote is listed twice")
        if not isinstance(self.signers, tuple) or not all(
            isinstance(s, Signer) for s in self.signers
        ):
            raise malformed(w, "signers must be a tuple of Signer")
        roles = tuple(signer.role for signer in self.signers)
        if self.kind == COMMISSION_KIND:
            if not roles or any(role != COMMISSION_ROLE for role in roles):
                raise malformed(
                    w, f"a commission's protocol is signed by its members only, got {roles}"
                )
            if len(roles) > MAX_COMMISSION_SIGNERS:
                raise malformed(w, f"at most {MAX_COMMISSION_SIGNERS} commission members sign")
        elif roles != ROLES:
            raise malformed(
                w, f"signers must be the {' and the '.join(ROLES)}, in that order, got {roles}"
            )
        if len({signer.member for signer in self.signers}) != len(self.signers):
            # Two signatures by one person would be one signature.
            raise malformed(
                w,
                "the commission's signers must be different members"
                if self.kind == COMMISSION_KIND
                else "the secretary and the chair must be different members",
            )
        check_instant_field(self.finalised_at, "finalised_at", w)
        if self.zone is not None and not isinstance(self.zone, RecordZone):
            raise malformed(w, "zone must be a RecordZone")

    def signer(self, role: str, member: int | None = None) -> Signer:
        """The signer the record names for ``role`` — for the commission's role, the
        one who is ``member`` (``KeyError`` for another role or member)."""
        for signer in self.signers:
            if signer.role == role and (member is None or signer.member == member):
                return signer
        raise KeyError(role)

    @property
    def by_commission(self) -> bool:
        """Signed by a counting commission's members (not the secretary and chair)."""
        return self.kind == COMMISSION_KIND

    def to_payload(self) -> dict[str, object]:
        """The payload (see the module docstring): version 2 where it names a zone."""
        payload: dict[str, object] = {
            "type": RECORD_TYPE,
            "v": VERSION if self.zone is None else RECORD_VERSION,
            "org": self.org,
            "org_name": self.org_name,
            "kind": self.kind,
            "number": self.number,
            "title": self.title,
            "date": format_date(self.date),
            "journal": self.journal,
            "meeting": self.meeting.to_json(),
            "pdf": {"sha256": self.pdf_sha256, "length": self.pdf_length},
            "votes": [vote.to_json() for vote in self.votes],
            "signers": [signer.to_json() for signer in self.signers],
            "finalised_at": format_instant(self.finalised_at),
        }
        if self.zone is not None:
            payload["zone"] = self.zone.to_json()
        return payload

    @property
    def canonical(self) -> bytes:
        """The canonical bytes of the payload: the record as it is embedded."""
        return canonicalize_signed(self.to_payload())

    @property
    def digest(self) -> str:
        """``sha256:`` of the canonical payload: what every signature names."""
        return content_address(self.canonical)

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        """Read a payload; raises ``CredentialError`` (``malformed``, ``wrong_type``,
        ``unsupported_version``)."""
        w = _RECORD
        payload = _object(payload, "the record", w)
        version = RECORD_VERSION if payload.get("v") == RECORD_VERSION else VERSION
        if type(payload.get("v")) is not int:
            version = VERSION  # check_header names the version found
        check_header(payload, w, RECORD_TYPE, version)
        zoned = version == RECORD_VERSION
        check_fields(payload, w, required=_RECORD_FIELDS + (("zone",) if zoned else ()))
        pdf = _object(payload["pdf"], "pdf", w)
        check_fields(pdf, w, required=("sha256", "length"))
        return cls(
            org=check_int(payload["org"], "org", w),
            org_name=check_text(
                payload["org_name"], "org_name", w, max_length=MAX_ORGANISATION_NAME_LENGTH
            ),
            kind=_string(payload["kind"], "kind", w),
            number=_string(payload["number"], "number", w),
            title=check_text(payload["title"], "title", w, max_length=MAX_TITLE_LENGTH),
            date=read_date(payload, "date", w),
            journal=check_text(payload["journal"], "journal", w, max_length=MAX_JOURNAL_LENGTH),
            meeting=MeetingRef.from_json(payload["meeting"]),
            pdf_sha256=_string(pdf["sha256"], "pdf sha256", w),
            pdf_length=check_int(pdf["length"], "pdf length", w),
            votes=tuple(VoteRef.from_json(v) for v in _array(payload["votes"], "votes", w)),
            signers=tuple(Signer.from_json(s) for s in _array(payload["signers"], "signers", w)),
            finalised_at=read_instant(payload, "finalised_at", w),
            zone=RecordZone.from_json(payload["zone"]) if zoned else None,
        )


def build_record(
    *,
    org: int,
    org_name: str,
    kind: str,
    number: str,
    title: str,
    date: dt.date,
    journal: str,
    meeting: MeetingRef | Mapping[str, object],
    pdf: bytes,
    votes: Sequence[VoteRef | Mapping[str, object]] = (),
    signers: Sequence[Signer | Mapping[str, object]],
    finalised_at: dt.datetime,
    zone: RecordZone | None = None,
) -> DocumentRecord:
    """The record of ``pdf`` (its SHA-256 and length are computed here).

    ``meeting``, each vote and each signer may also be given in their JSON form
    (``{"id", "body", "number", "year"}``, ``{"vote", "head", "result"}``,
    ``{"role", "member", "name"}``). Raises ``CredentialError("malformed")`` for a
    field out of shape.
    """
    if not isinstance(pdf, bytes) or not pdf:
        raise malformed(_RECORD, "pdf must be the non-empty bytes of the document")
    return DocumentRecord(
        org=org,
        org_name=org_name,
        kind=kind,
        number=number,
        title=title,
        date=date,
        journal=journal,
        meeting=meeting if isinstance(meeting, MeetingRef) else MeetingRef.from_json(meeting),
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        pdf_length=len(pdf),
        votes=tuple(v if isinstance(v, VoteRef) else VoteRef.from_json(v) for v in votes),
        signers=tuple(s if isinstance(s, Signer) else Signer.from_json(s) for s in signers),
        finalised_at=finalised_at,
        zone=zone,
    )


def record_digest(record: RecordLike) -> str:
    """``"sha256:"`` + hex of the record's canonical payload (what signatures name).

    A payload (JSON object) is read strictly first: only a valid record has a digest.
    """
    return _record(record).digest


def envelope_digest(envelope: SignedDocument) -> str:
    """``"sha256:"`` + hex of an envelope's canonical JSON (a signature's ``previous``)."""
    return content_address(bytes(envelope))


def _record(record: RecordLike) -> DocumentRecord:
    """The record itself, or read (strictly) from its payload."""
    return record if isinstance(record, DocumentRecord) else DocumentRecord.from_payload(record)


def _envelope(envelope: EnvelopeLike) -> SignedDocument:
    return envelope if isinstance(envelope, SignedDocument) else SignedDocument.parse(envelope)


def _previous_digest(previous: PreviousLike) -> str:
    """``""`` for the first signature, else the address of the envelope before."""
    if previous is None or previous == "":
        return ""
    if isinstance(previous, SignedDocument):
        return envelope_digest(previous)
    return _address(previous, "previous", _SIGNATURE)


# --- signatures -------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentSignature:
    """What a signer signed: the record, in a role, with a certificate, after whom."""

    record: str
    role: str
    member: int
    serial: int
    previous: str
    signed_at: dt.datetime

    def __post_init__(self) -> None:
        w = _SIGNATURE
        _address(self.record, "record", w)
        if self.role not in SIGNER_ROLES:
            raise malformed(
                w, f"role must be one of {', '.join(SIGNER_ROLES)}, got {self.role!r:.40}"
            )
        check_int(self.member, "member", w)
        check_int(self.serial, "serial", w)
        if self.previous != "":
            _address(self.previous, "previous", w)
        check_instant_field(self.signed_at, "signed_at", w)

    def to_payload(self) -> dict[str, object]:
        return {
            "type": SIGNATURE_TYPE,
            "v": VERSION,
            "record": self.record,
            "role": self.role,
            "member": self.member,
            "serial": self.serial,
            "previous": self.previous,
            "signed_at": format_instant(self.signed_at),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        """Read a payload; raises ``CredentialError`` (``malformed``, ``wrong_type``,
        ``unsupported_version``)."""
        w = _SIGNATURE
        payload = _object(payload, "the signature", w)
        check_header(payload, w, SIGNATURE_TYPE, VERSION)
        check_fields(payload, w, required=_SIGNATURE_FIELDS)
        return cls(
            record=_address(payload["record"], "record", w),
            role=_string(payload["role"], "role", w),
            member=check_int(payload["member"], "member", w),
            serial=check_int(payload["serial"], "serial", w),
            previous=_string(payload["previous"], "previous", w),
            signed_at=read_instant(payload, "signed_at", w),
        )


def signature_payload(
    record: RecordLike,
    role: str,
    *,
    serial: int,
    previous: PreviousLike,
    signed_at: dt.datetime,
    member: int | None = None,
) -> dict[str, object]:
    """The payload the signer in ``role`` signs (in the browser, with WebCrypto).

    The secretary signs first (``previous`` is ``None`` or ``""``), the chair second
    (``previous`` is the secretary's envelope or its digest). On a commission's
    protocol each ``member`` the record names signs in the role ``commission``, after
    whoever signed before (``previous``: ``""`` for the first). Raises ``ValueError`` if
    the order is not that, ``CredentialError("malformed")`` for a field out of shape.
    """
    record = _record(record)
    chained = _previous_digest(previous)
    if record.by_commission:
        if role != COMMISSION_ROLE or member is None:
            raise ValueError("a commission's protocol is signed by a named commission member")
        signer = record.signer(role, member).member
    else:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if (ROLES.index(role) == 0) != (chained == ""):
            raise ValueError(
                "the secretary signs first (no previous signature) and the chair after them"
            )
        signer = record.signer(role).member
    signature = DocumentSignature(
        record=record.digest,
        role=role,
        member=signer,
        serial=serial,
        previous=chained,
        signed_at=signed_at,
    )
    return signature.to_payload()


def _check_signed_by(
    envelope: SignedDocument, certificate: KeyCertificate, kind: str, what: str
) -> None:
    key = certificate.public_key
    if envelope.signer != key.key_id:
        raise CredentialError(
            "wrong_key",
            f"{what} is signed by key {envelope.signer}, but certificate "
            f"{certificate.serial} certifies key {key.key_id}",
        )
    envelope.verify({key.key_id: key}, expect_type=kind, expect_version=VERSION)


def _check_valid_at(certificate: KeyCertificate, moment: dt.datetime, what: str) -> None:
    if moment < certificate.issued_at:
        raise CredentialError(
            "not_yet_valid",
            f"{what} is dated {format_instant(moment)}, before certificate "
            f"{certificate.serial} was issued ({format_instant(certificate.issued_at)})",
        )
    if moment >= certificate.expires_at:
        raise CredentialError(
            "expired",
            f"{what} is dated {format_instant(moment)}, when certificate "
            f"{certificate.serial} had expired ({format_instant(certificate.expires_at)})",
        )


def check_signature(
    envelope: EnvelopeLike,
    record: RecordLike,
    certificate: KeyCertificate,
    role: str,
    previous: PreviousLike,
) -> DocumentSignature:
    """Check one signature of ``record`` in ``role`` and return what it says.

    ``certificate`` must already be verified by the caller (registry signature,
    revocation); this checks that the envelope is a ``kvorum.document-signature`` v1
    signed by the certificate's key, for this record, in this role, by the member the
    record names for it and whom the certificate is of, with the certificate's serial,
    after ``previous`` (the envelope signed before or its digest; ``None`` or ``""``
    for the secretary, who signs first), and dated within the certificate's validity.
    ``envelope`` and ``record`` may be given in their JSON forms. Raises
    :class:`~crypto.errors.CredentialError`, reasons in the module docstring.
    """
    document = _envelope(envelope)
    record = _record(record)
    what = f"the {role}'s signature"
    _check_signed_by(document, certificate, SIGNATURE_TYPE, what)
    signature = DocumentSignature.from_payload(document.payload)
    if signature.record != record.digest:
        raise CredentialError(
            "wrong_record",
            f"{what} is of record {signature.record}, not of this record ({record.digest})",
        )
    if signature.role != role:
        raise CredentialError("wrong_role", f"{what} is signed in the role {signature.role!r}")
    try:
        expected = record.signer(role, signature.member if record.by_commission else None).member
    except KeyError:
        raise CredentialError(
            "wrong_member",
            f"{what}: member {signature.member} is not among the signers the record names",
        ) from None
    if signature.member != expected or certificate.member_id != expected:
        raise CredentialError(
            "wrong_member",
            f"{what}: the record names member {expected} as the {role}; the signature names "
            f"member {signature.member} and certificate {certificate.serial} is of member "
            f"{certificate.member_id}",
        )
    if signature.serial != certificate.serial:
        raise CredentialError(
            "wrong_key",
            f"{what} names certificate {signature.serial}, not {certificate.serial}",
        )
    chained = _previous_digest(previous)
    if signature.previous != chained:
        raise CredentialError(
            "broken_chain",
            f"{what} names previous signature {signature.previous or '(none)'}, "
            f"expected {chained or '(none)'}",
        )
    _check_valid_at(certificate, signature.signed_at, what)
    return signature


# --- acknowledgements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    """A recipient's «ознакомлен»: they have read the document, on their own behalf
    (``org`` 0) or on behalf of an organisation."""

    record: str
    journal: str
    member: int
    serial: int
    org: int
    acknowledged_at: dt.datetime

    def __post_init__(self) -> None:
        w = _ACKNOWLEDGEMENT
        _address(self.record, "record", w)
        check_text(self.journal, "journal", w, max_length=MAX_JOURNAL_LENGTH)
        check_int(self.member, "member", w)
        check_int(self.serial, "serial", w)
        check_int(self.org, "org", w, minimum=0)
        check_instant_field(self.acknowledged_at, "acknowledged_at", w)

    def to_payload(self) -> dict[str, object]:
        return {
            "type": ACKNOWLEDGEMENT_TYPE,
            "v": VERSION,
            "record": self.record,
            "journal": self.journal,
            "member": self.member,
            "serial": self.serial,
            "org": self.org,
            "statement": STATEMENT,
            "acknowledged_at": format_instant(self.acknowledged_at),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        """Read a payload; raises ``CredentialError`` (``malformed``, ``wrong_type``,
        ``unsupported_version``)."""
        w = _ACKNOWLEDGEMENT
        payload = _object(payload, "the acknowledgement", w)
        check_header(payload, w, ACKNOWLEDGEMENT_TYPE, VERSION)
        check_fields(payload, w, required=_ACKNOWLEDGEMENT_FIELDS)
        if payload["statement"] != STATEMENT:
            raise malformed(w, f"statement must be {STATEMENT!r}")
        return cls(
            record=_address(payload["record"], "record", w),
            journal=check_text(payload["journal"], "journal", w, max_length=MAX_JOURNAL_LENGTH),
            member=check_int(payload["member"], "member", w),
            serial=check_int(payload["serial"], "serial", w),
            org=check_int(payload["org"], "org", w, minimum=0),
            acknowledged_at=read_instant(payload, "acknowledged_at", w),
        )


def acknowledgement_payload(
    record: RecordLike,
    *,
    member: int,
    serial: int,
    org: int,
    acknowledged_at: dt.datetime,
) -> dict[str, object]:
    """What a recipient signs to say «ознакомлен» (``org`` 0: on their own behalf)."""
    record = _record(record)
    return Acknowledgement(
        record=record.digest,
        journal=record.journal,
        member=member,
        serial=serial,
        org=org,
        acknowledged_at=acknowledged_at,
    ).to_payload()


def check_acknowledgement(
    envelope: EnvelopeLike,
    record: RecordLike,
    certificate: KeyCertificate,
) -> Acknowledgement:
    """Check an acknowledgement of ``record`` signed with ``certificate``'s key.

    As for :func:`check_signature`, ``certificate`` must already be verified. Checks
    the type, the key and signature, the record's digest and journal number, that the
    member and serial are the certificate's and that it was valid when acknowledged.
    """
    document = _envelope(envelope)
    record = _record(record)
    what = "the acknowledgement"
    _check_signed_by(document, certificate, ACKNOWLEDGEMENT_TYPE, what)
    acknowledgement = Acknowledgement.from_payload(document.payload)
    if acknowledgement.record != record.digest or acknowledgement.journal != record.journal:
        raise CredentialError(
            "wrong_record",
            f"{what} is of record {acknowledgement.record} ({acknowledgement.journal}), "
            f"not of this record ({record.digest}, {record.journal})",
        )
    if acknowledgement.member != certificate.member_id:
        raise CredentialError(
            "wrong_member",
            f"{what} names member {acknowledgement.member}, but certificate "
            f"{certificate.serial} is of member {certificate.member_id}",
        )
    if acknowledgement.serial != certificate.serial:
        raise CredentialError(
            "wrong_key",
            f"{what} names certificate {acknowledgement.serial}, not {certificate.serial}",
        )
    _check_valid_at(certificate, acknowledgement.acknowledged_at, what)
    return acknowledgement


# --- the signed PDF -----------------------------------------------------------------------


def sign_pdf(
    pdf: bytes,
    record: RecordLike,
    signatures: Sequence[EnvelopeLike],
    certificates: Sequence[EnvelopeLike],
    registry_keys: Sequence[Mapping[str, object]],
    revocations: Sequence[EnvelopeLike],
) -> bytes:
    """``pdf`` with the record and everything needed to check it attached (:data:`FILES`).

    ``signatures`` are the envelopes in signing order; ``certificates`` the signers'
    certificate envelopes; ``registry_keys`` the ``kvorum.registry-keys`` documents of
    the organisations that issued them; ``revocations`` their revocation lists dated at
    or after the last signature. The record and the envelopes may be given in their
    JSON forms. Each file is canonical JSON (the record: its canonical payload; the
    others: an array). The signatures are not verified here — run
    :func:`meetings.docverify.verify_pdf` on the result — but a record of another PDF,
    or a signature of another record, is a ``ValueError``; a malformed envelope a
    ``CredentialError``.
    """
    record = _record(record)
    digest = hashlib.sha256(pdf).hexdigest()
    if (digest, len(pdf)) != (record.pdf_sha256, record.pdf_length):
        raise ValueError(
            f"the record is of a PDF of {record.pdf_length} bytes with SHA-256 "
            f"{record.pdf_sha256}, not of this one ({len(pdf)} bytes, {digest})"
        )
    signed = [_envelope(s) for s in signatures]
    for envelope in signed:
        if envelope.payload.get("record") != record.digest:
            raise ValueError(f"a signature by key {envelope.signer} is not of this record")

    def array(documents: Sequence[EnvelopeLike]) -> bytes:
        return canonicalize([_envelope(d).to_json() for d in documents])

    files = [
        (RECORD_FILE, record.canonical),
        (SIGNATURES_FILE, canonicalize([s.to_json() for s in signed])),
        (CERTIFICATES_FILE, array(certificates)),
        (REGISTRY_KEYS_FILE, canonicalize(list(registry_keys))),
        (REVOCATIONS_FILE, array(revocations)),
    ]
    mark = stamp(record, signed, certificates)
    return embed(pdf, [(name, data, MEDIA_TYPE) for name, data in files], mark)


#: The role as the stamp names it, in the order the stamps stand (as the signature
#: lines of a protocol: the chair, then the secretary).
_STAMP_ROLES = (("chair", "Председатель"), ("secretary", "Секретарь"))
_COMMISSION_TITLE = "Член счётной комиссии"


def _stamp_date(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%d.%m.%Y")


def stamp_lines(
    record: RecordLike,
    signatures: Sequence[EnvelopeLike],
    certificates: Sequence[EnvelopeLike],
) -> tuple[tuple[str, ...], ...]:
    """The lines of the visible signature marks: one box per role, the chair's first.

    Each box: the heading, the role and the signer's name from the record, the serial
    and validity (UTC dates) of the certificate the signature names — the one of the
    key that made it, if several have that serial — and the signing time in UTC: the
    record and the embedded files say nothing of the organisation's zone, and a
    verifier must rebuild the mark from them alone.

    The marks show what the files say and vouch for nothing (the verifier's checks
    do): a role with no readable signature gets no box, a certificate that is not
    given is said to be missing. So any set of files has marks, and a file signed
    with a missing certificate still fails for that, not for its marks.
    """
    checked = _record(record)
    documents = [_envelope(c) for c in certificates]
    envelopes = [_envelope(s) for s in signatures]
    boxes: list[tuple[str, ...]] = []
    # On a commission's protocol, a box per member the record names, in its order.
    places: list[tuple[str, str, int | None]] = (
        [(s.role, _COMMISSION_TITLE, s.member) for s in checked.signers]
        if checked.by_commission
        else [(role, title, None) for role, title in _STAMP_ROLES]
    )
    for role, title, member in places:
        found = [
            e
            for e in envelopes
            if e.payload.get("role") == role
            and (member is None or e.payload.get("member") == member)
        ]
        try:
            signature = DocumentSignature.from_payload(found[0].payload) if found else None
        except CredentialError:
            signature = None
        if signature is None:
            continue
        candidates: list[tuple[bool, KeyCertificate]] = []
        for document in documents:
            try:
                certificate = KeyCertificate.from_payload(document.payload)
            except CredentialError:
                continue
            if certificate.serial == signature.serial:
                candidates.append((certificate.public_key.key_id != found[0].signer, certificate))
        if candidates:
            certificate = min(candidates, key=lambda pair: pair[0])[1]
            validity = (
                f"Действителен с {_stamp_date(certificate.issued_at)} "
                f"по {_stamp_date(certificate.expires_at)}"
            )
        else:
            validity = "Сертификат не приложен"
        head = (HEADING, f"{title}: {checked.signer(role, member).name}")
        serial = f"Сертификат № {signature.serial}"
        when: tuple[str, ...]
        if checked.zone is not None:
            # Version 2: on the organisation's clocks, the record giving offset and label.
            local = checked.zone.local(signature.signed_at)
            when = (f"Подписан {local:%d.%m.%Y %H:%M:%S}", f"({checked.zone.label})")
        else:
            signed_at = signature.signed_at.astimezone(dt.UTC)
            when = (f"Подписан {signed_at:%d.%m.%Y %H:%M:%S} UTC",)
        boxes.append((*head, serial, validity, *when))
    return tuple(boxes)


def stamp(
    record: RecordLike,
    signatures: Sequence[EnvelopeLike],
    certificates: Sequence[EnvelopeLike],
) -> Overlay:
    """The marks of :func:`stamp_lines`, drawn as :func:`sign_pdf` draws them."""
    return overlay(stamp_lines(record, signatures, certificates))
