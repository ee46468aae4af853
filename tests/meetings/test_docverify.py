"""meetings.docverify (and the formats of meetings.docsign): real WeasyPrint PDFs signed
with real certificates, and every lie — a changed byte, a wrong key, a revoked key, a
missing or misplaced signature — reported by name.

The factory here is also what ``test_docscli.py`` signs with. The member keys stand in
for the browser's WebCrypto keys; every key derives from a fixed seed, so the files are
the same on every run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from crypto.canonical import canonicalize
from crypto.certificate import KeyCertificate, issue_certificate
from crypto.ed25519 import PublicKey, SigningKey
from crypto.envelope import SignedDocument, sign_document
from crypto.errors import CredentialError
from crypto.hashing import content_address, sha256
from crypto.revocation import Revocation, RevocationList, issue_revocation_list
from meetings import docsign, docverify
from meetings.docsign import (
    DocumentRecord,
    MeetingRef,
    Signer,
    VoteRef,
    acknowledgement_payload,
    build_record,
    check_acknowledgement,
    check_signature,
    envelope_digest,
    record_digest,
    sign_pdf,
    signature_payload,
)
from meetings.docverify import MEETING_CHECKS, DocReport, verify_pdf
from meetings.signedpdf import embed, extract

ROOT = Path(__file__).resolve().parents[2]
ORG = 7
ORG_NAME = "Первичная профсоюзная организация ООО «Север»"
SECRETARY, CHAIR, OUTSIDER = 17, 21, 33


def key(label: str) -> SigningKey:
    return SigningKey.from_seed(sha256(f"kvorum docs test key: {label}".encode()))


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


REGISTRY = key("registry of organisation 7")
FORGER_REGISTRY = key("a registry nobody trusts")
KEYS = {
    "secretary": key("secretary laptop"),
    "chair": key("chair phone"),
    "thief": key("a stolen-looking key"),
    "outsider": key("member 33"),
    "counter1": key("commission member 51"),
    "counter2": key("commission member 52"),
    "counter3": key("commission member 53"),
}
SERIALS = {
    "secretary": 1001,
    "chair": 1002,
    "thief": 1003,
    "outsider": 1004,
    "counter1": 1051,
    "counter2": 1052,
    "counter3": 1053,
}
#: The members of a counting commission who counted (and sign its protocol).
COUNTERS = {"counter1": 51, "counter2": 52, "counter3": 53}
CERTIFIED = utc("2026-01-10 08:00:00")
CERTIFICATE_EXPIRES = utc("2027-01-10 08:00:00")
FINALISED = utc("2026-03-02 10:00:00")
SECRETARY_SIGNS = utc("2026-03-02 10:30:00")
CHAIR_SIGNS = utc("2026-03-02 11:15:00")
LIST_ISSUED = utc("2026-03-02 11:16:00")
NOW = utc("2026-03-05 09:00:00")

TEXT = "Протокол заседания профсоюзного комитета"
HTML = f"""<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>Протокол № 7</title></head><body><h1>{TEXT} № 7</h1>
<p>г. Архангельск, 2 марта 2026 года. Присутствовали 13 из 15 членов комитета.</p>
<p>СЛУШАЛИ: о смете расходов. ПОСТАНОВИЛИ: утвердить смету на 2026 год.</p>
<p>Голосовали: за — 12, против — 1, воздержались — 0.</p>
<p>Председатель ______ Петров П. П. Секретарь ______ Иванова М. П.</p></body></html>"""


@functools.cache
def weasyprint_pdf(uncompressed: bool = False, html: str = HTML) -> bytes:
    import weasyprint

    return bytes(weasyprint.HTML(string=html).write_pdf(uncompressed_pdf=uncompressed))


def certificate(
    role: str,
    *,
    member: int | None = None,
    registry: SigningKey = REGISTRY,
    issued_at: dt.datetime = CERTIFIED,
    expires_at: dt.datetime = CERTIFICATE_EXPIRES,
) -> SignedDocument:
    members = {
        "secretary": SECRETARY,
        "chair": CHAIR,
        "thief": CHAIR,
        "outsider": OUTSIDER,
        **COUNTERS,
    }
    return issue_certificate(
        KeyCertificate(
            serial=SERIALS[role],
            member_id=members[role] if member is None else member,
            organisation_id=ORG,
            organisation=ORG_NAME,
            public_key=KEYS[role].public_key,
            issued_at=issued_at,
            expires_at=expires_at,
            issuer=registry.public_key.key_id,
        ),
        registry,
    )


def keys_document(*registries: SigningKey) -> dict[str, object]:
    """The organisation's ``/registry/keys.json``."""
    registries = registries or (REGISTRY,)
    return {
        "type": "kvorum.registry-keys",
        "v": 1,
        "org": ORG,
        "org_name": ORG_NAME,
        "current": registries[0].public_key.key_id,
        "keys": [
            {
                "id": r.public_key.key_id,
                "public_key": r.public_key.b64u,
                "created_at": "2025-01-01T00:00:00Z",
                "status": "current" if index == 0 else "retired",
            }
            for index, r in enumerate(registries)
        ],
    }


def revocation_list(
    revoked: Sequence[tuple[int, dt.datetime]] = (),
    *,
    number: int = 4,
    issued_at: dt.datetime = LIST_ISSUED,
    registry: SigningKey = REGISTRY,
) -> SignedDocument:
    return issue_revocation_list(
        RevocationList(
            organisation_id=ORG,
            number=number,
            issued_at=issued_at,
            issuer=registry.public_key.key_id,
            entries=tuple(Revocation(s, at, "ключ скомпрометирован") for s, at in revoked),
        ),
        registry,
    )


def record_of(pdf: bytes, **changes: Any) -> DocumentRecord:
    fields: dict[str, Any] = {
        "org": ORG,
        "org_name": ORG_NAME,
        "kind": "protocol",
        "number": "№ 7",
        "title": "Протокол заседания профсоюзного комитета",
        "date": dt.date(2026, 3, 2),
        "journal": "12/2026",
        "meeting": MeetingRef(meeting_id=41, body="Профсоюзный комитет", number=7, year=2026),
        "pdf": pdf,
        "votes": (
            VoteRef(
                vote=content_address(b"definition"),
                head=content_address(b"head"),
                result=content_address(b"result"),
            ),
        ),
        "signers": (
            Signer("secretary", SECRETARY, "Иванова Мария Петровна"),
            Signer("chair", CHAIR, "Петров Пётр Петрович"),
        ),
        "finalised_at": FINALISED,
    }
    fields.update(changes)
    return build_record(**fields)


def sign(
    record: DocumentRecord,
    role: str,
    previous: SignedDocument | None,
    *,
    key_of: str | None = None,
    signed_at: dt.datetime | None = None,
    serial: int | None = None,
    payload: Mapping[str, object] | None = None,
) -> SignedDocument:
    """The envelope the browser makes: the payload signed by the member's device key."""
    payload = payload or signature_payload(
        record,
        role,
        serial=SERIALS[role] if serial is None else serial,
        previous=previous,
        signed_at=signed_at or {"secretary": SECRETARY_SIGNS, "chair": CHAIR_SIGNS}[role],
    )
    return sign_document(payload, KEYS[key_of or role])


@dataclasses.dataclass
class Parts:
    """Everything sign_pdf attaches, to be altered by a test before assembling."""

    pdf: bytes
    record: DocumentRecord
    signatures: list[SignedDocument]
    certificates: list[SignedDocument]
    registry_keys: list[dict[str, object]]
    revocations: list[SignedDocument]

    def signed(self) -> bytes:
        return sign_pdf(
            self.pdf,
            self.record,
            self.signatures,
            self.certificates,
            self.registry_keys,
            self.revocations,
        )


def parts(pdf: bytes | None = None) -> Parts:
    """An honest signed document: secretary, then chair, with a fresh revocation list."""
    pdf = weasyprint_pdf() if pdf is None else pdf
    record = record_of(pdf)
    secretary = sign(record, "secretary", None)
    chair = sign(record, "chair", secretary)
    return Parts(
        pdf=pdf,
        record=record,
        signatures=[secretary, chair],
        certificates=[certificate("secretary"), certificate("chair")],
        registry_keys=[keys_document()],
        revocations=[revocation_list()],
    )


def trusted(*registries: SigningKey) -> dict[str, PublicKey]:
    return {r.public_key.key_id: r.public_key for r in registries or (REGISTRY,)}


def check(data: bytes, **options: Any) -> DocReport:
    options.setdefault("now", NOW)
    return verify_pdf(data, **options)


def failures(report: DocReport) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in report.failures:
        found.setdefault(item.name, []).append(item.message)
    return found


# --- an honest document -------------------------------------------------------------------


@pytest.mark.parametrize("uncompressed", [False, True], ids=["weasyprint", "uncompressed"])
def test_an_honest_document_passes_every_check(uncompressed: bool) -> None:
    data = parts(weasyprint_pdf(uncompressed)).signed()
    report = check(data)
    assert report.ok, report.text()
    assert [c.name for c in report.checks] == list(MEETING_CHECKS)
    assert all(c.ok for c in report.checks)
    assert report.summary.startswith("OK: protocol № 7 of 2026-03-02")
    assert "the secretary Иванова Мария Петровна and the chair Петров Пётр Петрович" in (
        report.summary
    )
    # Without keys the file vouches for itself, and the report says so.
    trust = next(c for c in report.checks if c.name == "trust")
    assert trust.message == (
        f"trust anchor: the registry keys embedded in the file, {REGISTRY.public_key.key_id}"
        " — compare them with the published keys.json or pass --keys"
    )


def test_with_the_organisations_keys_the_anchor_is_those_keys() -> None:
    report = check(parts().signed(), keys=trusted())
    assert report.ok, report.text()
    trust = next(c for c in report.checks if c.name == "trust")
    assert trust.message == f"trust anchor: the registry keys given ({REGISTRY.public_key.key_id})"
    assert not report.notes


def test_a_signed_pdf_still_reads_as_the_document() -> None:
    data = parts().signed()
    taken = extract(data)
    assert taken.original == weasyprint_pdf()
    assert [f.name for f in taken.files] == list(docsign.FILES)


# --- what must fail, and how it is said ---------------------------------------------------


def test_a_changed_byte_in_the_document_is_reported() -> None:
    data = parts().signed()
    at = data.index(b"stream\n") + 30  # inside the first content stream
    changed = data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :]
    report = check(changed)
    assert not report.ok
    (message,) = report.failed_checks("pdf")
    assert "the record states" in message
    assert "the document was changed after it was signed" in message
    assert report.summary.startswith("FAILED: D-3 pdf: the document's SHA-256 is ")


def test_bytes_added_after_signing_are_reported_with_their_offset() -> None:
    data = parts().signed()
    report = check(data + b"1 0 obj\n<<>>\nendobj\n")
    assert report.failed_checks("unchanged") == [
        f"bytes were added after signing at offset {len(data)} (20 bytes, for example "
        "another incremental update)"
    ]
    assert set(failures(report)) == {"unchanged"}


def test_a_changed_byte_in_the_update_is_reported_with_its_offset() -> None:
    data = parts().signed()
    at = data.rindex(b"/AFRelationship /Data") + len(b"/AFRelationship /D")
    changed = data[:at] + b"e" + data[at + 1 :]
    report = check(changed)
    assert report.failed_checks("unchanged") == [
        f"bytes were added or changed after signing at offset {at}"
    ]


def test_a_changed_embedded_signature_is_reported() -> None:
    data = parts().signed()
    chair = parts().signatures[1].to_json()["signature"]
    assert isinstance(chair, str)
    forged = chair[:10] + ("A" if chair[10] != "A" else "B") + chair[11:]
    report = check(data.replace(chair.encode(), forged.encode()))
    assert not report.ok
    assert report.failed_checks("chair") == [
        f"bad_signature: the signature does not verify under key {KEYS['chair'].public_key.key_id}"
    ]
    assert not report.failed_checks("secretary")


def test_a_signature_by_another_key_is_reported() -> None:
    honest = parts()
    honest.signatures[1] = sign(honest.record, "chair", honest.signatures[0], key_of="thief")
    report = check(honest.signed())
    assert report.failed_checks("chair") == [
        f"wrong_key: the chair's signature is signed by key {KEYS['thief'].public_key.key_id}, "
        f"but certificate 1002 certifies key {KEYS['chair'].public_key.key_id}"
    ]
    assert report.summary.startswith("FAILED: D-8 chair: wrong_key")


def test_a_certificate_from_an_untrusted_registry_is_reported() -> None:
    forged = parts()
    forged.certificates[1] = certificate("chair", registry=FORGER_REGISTRY)
    forged.registry_keys = [keys_document(REGISTRY, FORGER_REGISTRY)]
    # The file's own keys vouch for the forger's certificate...
    assert check(forged.signed()).ok
    # ...the organisation's published keys do not.
    report = check(forged.signed(), keys=trusted())
    assert report.failed_checks("chair") == [
        f"certificate 1002 is signed by registry key {FORGER_REGISTRY.public_key.key_id}, "
        f"which is not trusted (trusted: {REGISTRY.public_key.key_id})"
    ]
    assert any(FORGER_REGISTRY.public_key.key_id in note for note in report.notes)


def test_a_revoked_key_is_reported_with_its_date() -> None:
    revoked = parts()
    revoked.revocations = [revocation_list([(1002, utc("2026-02-27 16:05:00"))])]
    report = check(revoked.signed())
    assert report.failed_checks("chair") == [
        "key revoked on 2026-02-27 (certificate 1002, revoked at 2026-02-27T16:05:00Z: "
        "ключ скомпрометирован; revocation list number 4 of organisation 7)"
    ]
    assert report.failed_checks("secretary") == []


def test_a_key_revoked_after_signing_is_reported_from_a_supplied_list() -> None:
    honest = parts().signed()
    newer = revocation_list([(1001, utc("2026-03-04 12:00:00"))], number=5, issued_at=NOW)
    report = check(honest, revocations=[newer], keys=trusted())
    assert report.failed_checks("secretary") == [
        "key revoked on 2026-03-04 (certificate 1001, revoked at 2026-03-04T12:00:00Z: "
        "ключ скомпрометирован; revocation list number 5 of organisation 7)"
    ]
    # Supplied already verified, as a RevocationList: the same verdict.
    parsed = RevocationList.from_payload(newer.payload)
    assert check(honest, revocations=[parsed]).failed_checks("secretary")


def test_a_revocation_list_by_an_untrusted_key_is_reported() -> None:
    honest = parts().signed()
    forged = revocation_list(number=9, issued_at=NOW, registry=FORGER_REGISTRY)
    report = check(honest, revocations=[forged])
    (message,) = report.failed_checks("revocations")
    assert message.startswith("supplied revocation list #1: key ")
    assert "is not among the trusted keys" in message


def test_a_stale_revocation_list_is_reported() -> None:
    stale = parts()
    stale.revocations = [revocation_list(issued_at=utc("2026-03-02 11:00:00"))]
    report = check(stale.signed())
    assert report.failed_checks("chair") == [
        "no revocation list of organisation 7 is dated at or after the chair's signature "
        "(2026-03-02T11:15:00Z): cannot tell whether certificate 1002 was revoked"
    ]
    assert report.failed_checks("secretary") == []
    nothing = parts()
    nothing.revocations = []
    assert set(failures(check(nothing.signed()))) == {"secretary", "chair"}


def test_a_missing_signature_is_named() -> None:
    unsigned = parts()
    unsigned.signatures = unsigned.signatures[:1]
    report = check(unsigned.signed())
    assert report.failed_checks("chair") == ["the chair has not signed"]
    assert report.failed_checks("signatures") == ["the chair has not signed"]
    assert report.failed_checks("secretary") == []
    assert not report.ok
    nobody = parts()
    nobody.signatures = []
    report = check(nobody.signed())
    assert report.failed_checks("secretary") == ["the secretary has not signed"]
    assert report.failed_checks("chair") == ["the chair has not signed"]


def test_signatures_out_of_order_or_unchained_are_reported() -> None:
    swapped = parts()
    swapped.signatures.reverse()
    report = check(swapped.signed())
    assert report.failed_checks("signatures") == [
        "the signatures are in the order chair, secretary; they must be secretary, chair"
    ]
    # The chair's payload must name the secretary's envelope.
    unchained = parts()
    payload = dict(unchained.signatures[1].payload)
    payload["previous"] = ""
    unchained.signatures[1] = sign(unchained.record, "chair", None, payload=payload)
    report = check(unchained.signed())
    digest = envelope_digest(unchained.signatures[0])
    assert report.failed_checks("signatures") == [
        f"the chair's signature names previous (none), but the signature before it is {digest}"
    ]
    assert report.failed_checks("chair") == [
        f"broken_chain: the chair's signature names previous signature (none), expected {digest}"
    ]


def test_a_signature_twice_and_a_chair_before_the_secretary_are_reported() -> None:
    twice = parts()
    twice.signatures.append(twice.signatures[1])
    assert check(twice.signed()).failed_checks("chair") == ["the chair signed 2 times"]
    early = parts()
    early.signatures[1] = sign(
        early.record, "chair", early.signatures[0], signed_at=utc("2026-03-02 10:20:00")
    )
    assert check(early.signed()).failed_checks("signatures") == [
        "the chair signed at 2026-03-02T10:20:00Z, before the secretary signed "
        "(2026-03-02T10:30:00Z)"
    ]
    future = parts()
    later = utc("2026-04-01 00:00:00")
    future.signatures[1] = sign(future.record, "chair", future.signatures[0], signed_at=later)
    future.revocations = [revocation_list(issued_at=later)]
    report = check(future.signed())
    assert (
        "the chair's signature is dated 2026-04-01T00:00:00Z, after now (2026-03-05T09:00:00Z)"
        in report.failed_checks("signatures")
    )


def test_a_certificate_of_another_member_is_reported() -> None:
    other = parts()
    other.certificates[0] = certificate("outsider")
    other.signatures[0] = sign(other.record, "secretary", None, key_of="outsider", serial=1004)
    other.signatures[1] = sign(other.record, "chair", other.signatures[0])
    report = check(other.signed())
    assert report.failed_checks("secretary") == [
        "wrong_member: the secretary's signature: the record names member 17 as the secretary; "
        "the signature names member 17 and certificate 1004 is of member 33"
    ]


def test_an_expired_certificate_is_reported() -> None:
    expired = parts()
    expired.certificates[0] = certificate("secretary", expires_at=utc("2026-03-01 00:00:00"))
    report = check(expired.signed())
    assert report.failed_checks("secretary") == [
        "certificate 1001 was not valid when the document was signed: key certificate 1001 "
        "expired at 2026-03-01T00:00:00Z"
    ]


def test_a_missing_certificate_is_reported() -> None:
    missing = parts()
    missing.certificates = missing.certificates[:1]
    report = check(missing.signed())
    assert report.failed_checks("chair") == [
        "certificate 1002 named by the signature is not embedded"
    ]


def test_a_record_of_another_pdf_is_reported() -> None:
    """Signed the record of one PDF, attached to another."""
    honest = parts()
    other = weasyprint_pdf(html=HTML.replace("за — 12", "за — 2"))
    files = [(f.name, f.data, f.media_type) for f in extract(honest.signed()).files]
    marks = docsign.stamp(honest.record, honest.signatures, honest.certificates)
    report = check(embed(other, files, marks))
    (message,) = report.failed_checks("pdf")
    assert message.startswith(f"the document is {len(other)} bytes long, the record states")
    assert report.failed_checks("unchanged") == []


def test_an_update_that_imitates_a_kvorum_update_is_reported() -> None:
    """Whoever appends a second "Kvorum update" makes the signed PDF its original: the
    record's hash still names the first part, and the report says where the rest began."""
    honest = parts()
    signed = honest.signed()
    report = DocReport()
    docverify._check_pdf(signed + b"%% more\n", honest.record, report)
    assert report.failed_checks("pdf") == [
        f"the signed document is the first {len(honest.pdf)} bytes; "
        f"{len(signed) + 8 - len(honest.pdf)} bytes were added after signing at offset "
        f"{len(honest.pdf)}"
    ]


# --- files that are not what they should be -----------------------------------------------


def test_files_that_cannot_be_read_fail_closed() -> None:
    report = check(b"%PDF-1.7\nnot really")
    assert report.failed_checks("file") == [
        "no Kvorum signatures embedded (the PDF has no Kvorum update)"
    ]
    for name in MEETING_CHECKS[1:]:
        assert report.failed_checks(name) == ["not checked: the file is not a signed Kvorum PDF"]
    assert report.summary == (
        "FAILED: D-1 file: no Kvorum signatures embedded (the PDF has no Kvorum update) "
        f"(and {len(MEETING_CHECKS) - 1} more)"
    )
    assert check(b"GIF89a").failed_checks("file") == ["not a PDF (it does not start with %PDF-)"]
    assert check(weasyprint_pdf()).failed_checks("file")


def _with_files(files: Sequence[tuple[str, bytes]]) -> DocReport:
    return check(embed(weasyprint_pdf(), [(n, d, "application/json") for n, d in files]))


def test_embedded_files_are_read_strictly() -> None:
    honest = {f.name: f.data for f in extract(parts().signed()).files}

    def without(name: str) -> list[tuple[str, bytes]]:
        return [(n, d) for n, d in honest.items() if n != name]

    assert _with_files(without("kvorum-certificates.json")).failed_checks("file") == [
        "the file kvorum-certificates.json is not embedded"
    ]
    assert _with_files([*honest.items(), ("extra.json", b"{}")]).failed_checks("file") == [
        "an unexpected file 'extra.json' is embedded (this verifier reads version 1)"
    ]
    spaced = [
        (n, d.replace(b'":', b'": ', 1) if n == "kvorum-signatures.json" else d)
        for n, d in honest.items()
    ]
    assert _with_files(spaced).failed_checks("file") == [
        "kvorum-signatures.json is not canonical JSON (RFC 8785)"
    ]
    record = parts().record.to_payload()
    record["colour"] = "red"
    unknown = [
        (n, canonicalize(record) if n == "kvorum-record.json" else d) for n, d in honest.items()
    ]
    assert _with_files(unknown).failed_checks("file") == [
        "kvorum-record.json: document record: unknown field 'colour'"
    ]
    broken = [(n, b"[{" if n == "kvorum-revocations.json" else d) for n, d in honest.items()]
    (message,) = _with_files(broken).failed_checks("file")
    assert message.startswith("kvorum-revocations.json is not valid JSON")
    not_keys = [(n, b"[{}]" if n == "kvorum-registry-keys.json" else d) for n, d in honest.items()]
    assert _with_files(not_keys).failed_checks("file") == [
        "kvorum-registry-keys.json: document #1: not a kvorum.registry-keys document"
    ]


# --- the formats (meetings.docsign) -------------------------------------------------------


def test_record_round_trip_and_digest() -> None:
    record = record_of(weasyprint_pdf())
    payload = record.to_payload()
    assert DocumentRecord.from_payload(payload) == record
    assert record_digest(record) == content_address(record.canonical)
    assert record.pdf_sha256 == sha256(weasyprint_pdf()).hex()
    assert payload["pdf"] == {"sha256": record.pdf_sha256, "length": len(weasyprint_pdf())}
    assert payload["meeting"] == {
        "id": 41,
        "body": "Профсоюзный комитет",
        "number": 7,
        "year": 2026,
    }
    assert payload["signers"] == [
        {"role": "secretary", "member": 17, "name": "Иванова Мария Петровна"},
        {"role": "chair", "member": 21, "name": "Петров Пётр Петрович"},
    ]
    assert list(payload) == [
        "type", "v", "org", "org_name", "kind", "number", "title", "date", "journal",
        "meeting", "pdf", "votes", "signers", "finalised_at",
    ]  # fmt: skip
    resolution = record_of(b"%PDF", kind="resolution", number="№ 7 – 2")
    assert resolution.digest != record.digest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "minutes"}, "kind must be one of protocol, resolution, extract"),
        ({"number": "7"}, "number must read «№ 7» or «№ 7 – 2»"),
        ({"number": "№ 7-2"}, "number must read"),
        ({"title": " Протокол"}, "title must not start or end with whitespace"),
        ({"journal": ""}, "journal must not be empty"),
        ({"date": "2026-03-02"}, "date: expected a date"),
        ({"org": 0}, "org must be between 1 and 2**53-1"),
        (
            {"signers": (Signer("chair", CHAIR, "П"), Signer("secretary", SECRETARY, "И"))},
            "signers must be the secretary and the chair, in that order",
        ),
        (
            {"signers": (Signer("secretary", 5, "И"), Signer("chair", 5, "И"))},
            "the secretary and the chair must be different members",
        ),
        (
            {"votes": (VoteRef(*[content_address(b"x")] * 3),) * 2},
            "a vote is listed twice",
        ),
        ({"finalised_at": utc("2026-03-02 10:00:00").replace(microsecond=5)}, "whole seconds"),
    ],
)
def test_bad_records_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(CredentialError, match=re.escape(message)) as caught:
        record_of(b"%PDF-1.7", **change)
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("extra",), 1, "unknown field 'extra'"),
        (("pdf", "sha256"), "ABC", "pdf sha256 must be 64 lowercase hex digits"),
        (("pdf", "md5"), "x", "unknown field 'md5'"),
        (("meeting", "id"), "41", "meeting id must be an integer"),
        (("votes",), [{"vote": "sha1:00", "head": "", "result": ""}], "vote: content address"),
        (("signers", 0, "role"), "clerk", "signer role must be one of secretary, chair"),
        (("date",), "2026-02-30", "does not exist"),
        (("type",), "kvorum.document-signature", "type is 'kvorum.document-signature'"),
    ],
)
def test_record_payloads_are_parsed_strictly(
    path: tuple[str | int, ...], value: object, message: str
) -> None:
    payload: Any = record_of(b"%PDF").to_payload()
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(CredentialError, match=message):
        DocumentRecord.from_payload(payload)


def test_signature_payloads_and_their_order() -> None:
    record = record_of(b"%PDF")
    secretary = sign(record, "secretary", None)
    payload = signature_payload(
        record, "chair", serial=1002, previous=secretary, signed_at=CHAIR_SIGNS
    )
    assert payload == {
        "type": "kvorum.document-signature",
        "v": 1,
        "record": record.digest,
        "role": "chair",
        "member": CHAIR,
        "serial": 1002,
        "previous": content_address(bytes(secretary)),
        "signed_at": "2026-03-02T11:15:00Z",
    }
    with pytest.raises(ValueError, match="the secretary signs first"):
        signature_payload(record, "chair", serial=1002, previous=None, signed_at=CHAIR_SIGNS)
    with pytest.raises(ValueError, match="the secretary signs first"):
        signature_payload(record, "secretary", serial=1, previous=secretary, signed_at=CHAIR_SIGNS)
    with pytest.raises(ValueError, match="role must be one of"):
        signature_payload(record, "treasurer", serial=1, previous=None, signed_at=CHAIR_SIGNS)


def _certificate(role: str, **changes: Any) -> KeyCertificate:
    return KeyCertificate.from_payload(certificate(role, **changes).payload)


def test_check_signature_reasons() -> None:
    record = record_of(b"%PDF")
    secretary = sign(record, "secretary", None)
    chair = sign(record, "chair", secretary)
    assert check_signature(secretary, record, _certificate("secretary"), "secretary", None)
    checked = check_signature(chair.to_json(), record, _certificate("chair"), "chair", secretary)
    assert checked.signed_at == CHAIR_SIGNS

    def reason(*args: Any) -> str:
        with pytest.raises(CredentialError) as caught:
            check_signature(*args)
        return caught.value.reason

    cert = _certificate("chair")
    assert reason(chair, record, _certificate("secretary"), "chair", secretary) == "wrong_key"
    assert reason(chair, record_of(b"%PDF-2"), cert, "chair", secretary) == "wrong_record"
    assert reason(chair, record, cert, "secretary", secretary) == "wrong_role"
    assert reason(chair, record, cert, "chair", None) == "broken_chain"
    assert reason(chair, record, _certificate("chair", member=99), "chair", secretary) == (
        "wrong_member"
    )
    late = _certificate("chair", issued_at=utc("2026-03-02 12:00:00"))
    assert reason(chair, record, late, "chair", secretary) == "not_yet_valid"
    assert reason(secretary, record, _certificate("secretary"), "chair", None) == "wrong_role"
    ack = sign_document(
        acknowledgement_payload(record, member=CHAIR, serial=1002, org=0, acknowledged_at=NOW),
        KEYS["chair"],
    )
    assert reason(ack, record, cert, "chair", secretary) == "wrong_type"


def test_acknowledgements() -> None:
    record = record_of(b"%PDF")
    payload = acknowledgement_payload(
        record, member=OUTSIDER, serial=1004, org=12, acknowledged_at=NOW
    )
    assert payload == {
        "type": "kvorum.document-acknowledgement",
        "v": 1,
        "record": record.digest,
        "journal": "12/2026",
        "member": OUTSIDER,
        "serial": 1004,
        "org": 12,
        "statement": "ознакомлен",
        "acknowledged_at": "2026-03-05T09:00:00Z",
    }
    envelope = sign_document(payload, KEYS["outsider"])
    acknowledged = check_acknowledgement(envelope, record, _certificate("outsider"))
    assert (acknowledged.member, acknowledged.org) == (OUTSIDER, 12)
    own = acknowledgement_payload(record, member=OUTSIDER, serial=1004, org=0, acknowledged_at=NOW)
    assert (
        check_acknowledgement(
            sign_document(own, KEYS["outsider"]).to_json(), record, _certificate("outsider")
        ).org
        == 0
    )

    def reason(payload: dict[str, object], signer: str = "outsider") -> str:
        with pytest.raises(CredentialError) as caught:
            check_acknowledgement(
                sign_document(payload, KEYS[signer]), record, _certificate("outsider")
            )
        return caught.value.reason

    assert reason({**payload, "statement": "прочитал"}) == "malformed"
    assert reason({**payload, "journal": "13/2026"}) == "wrong_record"
    assert reason({**payload, "member": SECRETARY}) == "wrong_member"
    assert reason({**payload, "serial": 1001}) == "wrong_key"
    assert reason(payload, signer="chair") == "wrong_key"
    assert reason({**payload, "acknowledged_at": "2027-02-01T00:00:00Z"}) == "expired"
    assert reason({**payload, "org": -1}) == "malformed"


def test_the_json_forms_the_server_stores_are_accepted() -> None:
    """What the server keeps in its tables: the record's payload, envelopes as JSON,
    the previous signature by its digest."""
    honest = parts()
    record = honest.record
    payload = json.loads(record.canonical)
    assert record_digest(payload) == record.digest
    rebuilt = build_record(
        **{
            **{k: getattr(record, k) for k in ("org", "org_name", "kind", "number", "title")},
            "date": record.date,
            "journal": record.journal,
            "meeting": payload["meeting"],
            "pdf": honest.pdf,
            "votes": payload["votes"],
            "signers": payload["signers"],
            "finalised_at": record.finalised_at,
        }
    )
    assert rebuilt == record
    secretary, chair = honest.signatures
    digest = envelope_digest(secretary)
    assert (
        check_signature(
            json.loads(bytes(chair)), payload, _certificate("chair"), "chair", digest
        ).previous
        == digest
    )
    assert check_signature(bytes(secretary), payload, _certificate("secretary"), "secretary", "")
    assert signature_payload(
        payload, "chair", serial=1002, previous=digest, signed_at=CHAIR_SIGNS
    ) == dict(chair.payload)
    with pytest.raises(CredentialError, match="previous: content address"):
        check_signature(chair, payload, _certificate("chair"), "chair", "sha256:AB")
    as_json = sign_pdf(
        honest.pdf,
        payload,
        [s.to_json() for s in honest.signatures],
        [bytes(c) for c in honest.certificates],
        honest.registry_keys,
        [r.to_json() for r in honest.revocations],
    )
    assert as_json == honest.signed()
    with pytest.raises(CredentialError, match="unknown field 'colour'"):
        record_digest({**payload, "colour": "red"})


def test_sign_pdf_refuses_a_record_of_another_pdf() -> None:
    honest = parts()
    with pytest.raises(ValueError, match="the record is of a PDF of"):
        sign_pdf(b"%PDF-1.7 other", honest.record, [], [], [], [])
    stranger = sign(record_of(b"%PDF-other"), "secretary", None)
    with pytest.raises(ValueError, match="is not of this record"):
        sign_pdf(honest.pdf, honest.record, [stranger], [], [], [])


# --- the numbered checks of docs/documents.md ------------------------------------------


def _unsigned_chair() -> bytes:
    signed = parts()
    signed.signatures = signed.signatures[:1]
    return signed.signed()


def _forged_secretary() -> bytes:
    signed = parts()
    record = signed.record
    secretary = sign(record, "secretary", None, key_of="thief")
    signed.signatures = [secretary, sign(record, "chair", secretary)]
    return signed.signed()


def _revoked_chair() -> bytes:
    signed = parts()
    signed.revocations = [revocation_list([(SERIALS["chair"], utc("2026-03-02 11:15:30"))])]
    return signed.signed()


def _untrusted_list() -> bytes:
    signed = parts()
    signed.revocations = [revocation_list(registry=FORGER_REGISTRY)]
    return signed.signed()


def _no_registry_key() -> bytes:
    signed = parts()
    signed.registry_keys = []
    return signed.signed()


def _changed_original() -> bytes:
    data = bytearray(parts().signed())
    data[data.index(b"stream\n") + 30] ^= 0x20  # inside the first content stream
    return bytes(data)


# --- a counting commission's protocol ------------------------------------------------------

COUNTER_NAMES = {
    "counter1": "Смирнова Ольга Ивановна",
    "counter2": "Орлов Денис Сергеевич",
    "counter3": "Ким Алла Борисовна",
}


def commission_parts(order: Sequence[str] = ("counter2", "counter1", "counter3")) -> Parts:
    """A commission's protocol signed by its three members who counted, in ``order``
    (any order: each names the signature before it)."""
    pdf = weasyprint_pdf()
    record = record_of(
        pdf,
        kind="commission_protocol",
        number="№ 1",
        title="Протокол счётной комиссии о результатах тайного голосования",
        signers=tuple(Signer("commission", COUNTERS[c], COUNTER_NAMES[c]) for c in COUNTERS),
    )
    signatures: list[SignedDocument] = []
    for minute, who in enumerate(order):
        payload = signature_payload(
            record,
            "commission",
            serial=SERIALS[who],
            previous=signatures[-1] if signatures else None,
            signed_at=SECRETARY_SIGNS + dt.timedelta(minutes=minute),
            member=COUNTERS[who],
        )
        signatures.append(sign_document(payload, KEYS[who]))
    return Parts(
        pdf=pdf,
        record=record,
        signatures=signatures,
        certificates=[certificate(c) for c in COUNTERS],
        registry_keys=[keys_document()],
        revocations=[revocation_list()],
    )


def test_a_commission_protocol_signed_by_its_members_passes() -> None:
    report = check(commission_parts().signed(), keys=trusted())
    assert report.ok, report.text()
    assert [c.name for c in report.checks if c.name != "commission"] == [
        "file",
        "unchanged",
        "pdf",
        "trust",
        "revocations",
        "signatures",
    ]
    signed = [c.params["signer"] for c in report.checks if c.name == "commission"]
    assert sorted(signed) == sorted(COUNTER_NAMES.values())
    assert "D-9 commission" in report.text()
    assert "the commission member Смирнова Ольга Ивановна" in report.summary
    # The marks: a box per member who counted, «Член счётной комиссии».
    lines = docsign.stamp_lines(
        commission_parts().record, commission_parts().signatures, commission_parts().certificates
    )
    assert [box[1] for box in lines] == [
        f"Член счётной комиссии: {COUNTER_NAMES[c]}" for c in COUNTERS
    ]


def test_a_commission_protocol_missing_a_member_fails_naming_them() -> None:
    signed = commission_parts(("counter1", "counter2"))
    report = check(signed.signed(), keys=trusted())
    assert not report.ok
    found = failures(report)
    assert any("Ким Алла Борисовна has not signed" in m for m in found["commission"])
    assert "signatures" in found


def test_a_commission_protocol_signed_by_an_outsider_fails() -> None:
    signed = commission_parts()
    record = signed.record
    # The outsider signs as if a member: the record does not name them.
    payload = dict(signed.signatures[-1].payload)
    payload.update(member=OUTSIDER, serial=SERIALS["outsider"])
    payload["previous"] = envelope_digest(signed.signatures[-1])
    signed.signatures.append(sign_document(payload, KEYS["outsider"]))
    signed.certificates.append(certificate("outsider"))
    report = check(signed.signed(), keys=trusted())
    assert not report.ok
    assert any("does not name" in m for m in failures(report)["signatures"])
    with pytest.raises(KeyError):
        record.signer("commission", OUTSIDER)


def _forged_counter() -> bytes:
    signed = commission_parts()
    payload = dict(signed.signatures[0].payload)
    signed.signatures[0] = sign_document(payload, KEYS["thief"])
    # The chain is re-made so only the forged key is wrong.
    for index in range(1, len(signed.signatures)):
        later = dict(signed.signatures[index].payload)
        later["previous"] = envelope_digest(signed.signatures[index - 1])
        member = next(c for c, m in COUNTERS.items() if m == later["member"])
        signed.signatures[index] = sign_document(later, KEYS[member])
    return signed.signed()


def test_a_commission_record_is_checked() -> None:
    pdf = weasyprint_pdf()
    with pytest.raises(CredentialError, match="signed by its members only"):
        record_of(pdf, kind="commission_protocol")
    with pytest.raises(CredentialError, match="must be different members"):
        record_of(
            pdf,
            kind="commission_protocol",
            signers=(Signer("commission", 51, "А"), Signer("commission", 51, "Б")),
        )
    with pytest.raises(CredentialError, match="secretary and the chair"):
        record_of(pdf, signers=(Signer("commission", 51, "А"),))


#: A file failing each check of "What the verifier checks".
FAILING = {
    "D-1": lambda: weasyprint_pdf(),
    "D-2": lambda: parts().signed() + b"\n%extra\n",
    "D-3": _changed_original,
    "D-4": _no_registry_key,
    "D-5": _untrusted_list,
    "D-6": _unsigned_chair,
    "D-7": _forged_secretary,
    "D-8": _revoked_chair,
    "D-9": _forged_counter,
}


def test_the_document_lists_the_checks_of_the_verifier() -> None:
    text = (ROOT / "docs" / "documents.md").read_text(encoding="utf-8")
    section = text[text.index("## What the verifier checks") :]
    section = section[: section.index("\n## ", 5)]
    listed = re.findall(r"\*\*(D-\d+)\*\* `([a-z]+)`", section)
    assert listed == [(id_, name) for name, id_ in docverify.CHECK_IDS.items()]
    assert sorted(FAILING) == sorted(id_ for id_, _name in listed)


@pytest.mark.parametrize("check_id", sorted(FAILING, key=lambda i: int(i[2:])))
def test_every_numbered_check_has_a_file_that_fails_it(check_id: str) -> None:
    report = check(FAILING[check_id]())
    assert not report.ok
    failed = {docverify.CHECK_IDS[item.name] for item in report.failures}
    assert check_id in failed, report.text()
    assert f"FAIL  {check_id} " in report.text()
