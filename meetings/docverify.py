"""The offline verifier of signed PDF documents: trusts nothing the file says.

:func:`verify_pdf` takes the bytes of a PDF signed by :func:`meetings.docsign.sign_pdf`
and makes every check of ``docs/documents.md`` ("What the verifier checks"), each
reported as a named line that holds or fails:

``file``         a signed Kvorum PDF with exactly the five files, each canonical JSON
                 of its kind
``unchanged``    no byte was changed or added after signing (the update is rebuilt
                 byte for byte)
``pdf``          the document's length and SHA-256 are the ones the record states
``trust``        which registry keys are the anchor: the ones given, or — and the
                 report says so — the ones embedded in the file
``revocations``  every revocation list (embedded or supplied) is signed by a trusted
                 key, and one of each signer's organisation is dated at or after
                 that signature
``signatures``   exactly one signature per role, the secretary's first, the chair's
                 naming it as ``previous``, in time order after the finalisation
``secretary``,   the signature verifies with its certificate's key, for this record,
``chair``,       by the member the record names; the certificate is of that member,
``commission``   signed by a trusted registry key, valid at ``signed_at``, and not on
                 any revocation list (``commission``: a counting commission's
                 protocol, one line per member the record names, instead of the
                 secretary's and the chair's)

A check that cannot be made (a missing or unparsable part) is a failure, never a skip:
if the file cannot be read, the checks after it fail as "not checked".

Not guaranteed: without ``keys`` the anchor is the file's own key list, so a forger who
made their own registry key passes — compare the keys the report names with the
published ``/registry/keys.json`` or pass ``keys``. Freshness of the revocation lists
beyond the last signature is the caller's business (pass newer ones). The times in
signatures are the signers' word: a serial on any list is treated as revoked, whenever
it was revoked.

Pure: standard library, PyNaCl, :mod:`crypto`, :mod:`ballots.auditcli` (the key
document reader) and this package's pure modules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ballots.auditcli import KeysError, read_keys
from crypto._fields import check_now
from crypto.canonical import CanonicalJSONError, canonicalize, parse_json
from crypto.certificate import KeyCertificate, verify_certificate
from crypto.ed25519 import PublicKey
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.instant import format_date, format_instant
from crypto.revocation import RevocationList, verify_revocation_list
from meetings.docsign import (
    CERTIFICATES_FILE,
    COMMISSION_ROLE,
    FILES,
    MEDIA_TYPE,
    RECORD_FILE,
    REGISTRY_KEYS_FILE,
    REVOCATIONS_FILE,
    ROLES,
    SIGNATURES_FILE,
    DocumentRecord,
    DocumentSignature,
    check_signature,
    envelope_digest,
    stamp,
)
from meetings.signedpdf import Signed, SignedPdfError, check_unchanged, extract

__all__ = ["CHECKS", "CHECK_IDS", "Check", "DocReport", "verify_pdf"]

#: Every check there is, in order: a meeting's document is checked by all but the
#: last, a counting commission's protocol by all but the secretary's and the chair's.
CHECKS = ("file", "unchanged", "pdf", "trust", "revocations", "signatures", *ROLES, COMMISSION_ROLE)
#: Each check's id in docs/documents.md ("What the verifier checks"), printed with it.
#: Ids are never renumbered or reused; a later check takes the next free one.
CHECK_IDS = {name: f"D-{number}" for number, name in enumerate(CHECKS, 1)}
#: The checks a complete report of each sort of document holds.
MEETING_CHECKS = tuple(name for name in CHECKS if name != COMMISSION_ROLE)
COMMISSION_CHECKS = tuple(name for name in CHECKS if name not in ROLES)


def required_checks(record: DocumentRecord | None) -> tuple[str, ...]:
    """What a report on a document like ``record`` must hold (unknown: a meeting's)."""
    return COMMISSION_CHECKS if record is not None and record.by_commission else MEETING_CHECKS


@dataclass(frozen=True)
class Check:
    """One line of the report: the check's name, whether it held, and what was found
    (``message``, English, as the command line prints it). ``params`` hold the facts of
    a check that held, for saying the same in another language."""

    name: str
    ok: bool
    message: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass
class DocReport:
    """What the verifier found. :attr:`ok` only if every check of :data:`CHECKS` was
    made and none failed."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    record: DocumentRecord | None = None

    def passed(self, name: str, message: str, **params: object) -> None:
        self._add(Check(name, True, message, params))

    def failed(self, name: str, message: str) -> None:
        self._add(Check(name, False, message))

    def _add(self, check: Check) -> None:
        # Kept in the order of CHECKS, whatever order they were made in.
        at = len(self.checks)
        while at and _rank(self.checks[at - 1].name) > _rank(check.name):
            at -= 1
        self.checks.insert(at, check)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    @property
    def ok(self) -> bool:
        made = {check.name for check in self.checks}
        return not self.failures and made >= set(required_checks(self.record))

    def failed_checks(self, name: str) -> list[str]:
        """The messages of the failures of check ``name``."""
        return [check.message for check in self.failures if check.name == name]

    @property
    def summary(self) -> str:
        """One line: what the document is and who signed it, or the first failure."""
        if self.ok and self.record is not None:
            record = self.record
            signers = " and ".join(
                f"the {'commission member' if s.role == COMMISSION_ROLE else s.role} {s.name}"
                for s in record.signers
            )
            return (
                f"OK: {record.kind} {record.number} of {format_date(record.date)} "
                f"«{record.title}» ({record.org_name}, journal {record.journal}), "
                f"signed by {signers}; not changed since"
            )
        failures = self.failures
        if not failures:
            return "FAILED: not every check was made"
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"FAILED: {CHECK_IDS.get(first.name, '?')} {first.name}: {first.message}{more}"

    def text(self) -> str:
        """The report as printed: notes, one line per check, and the summary."""
        lines = list(self.notes)
        lines += [
            f"{'ok  ' if c.ok else 'FAIL'}  {CHECK_IDS.get(c.name, '?')} {c.name}: {c.message}"
            for c in self.checks
        ]
        lines.append(self.summary)
        return "\n".join(lines)


def _rank(name: str) -> int:
    return CHECKS.index(name) if name in CHECKS else len(CHECKS)


class _Stop(Exception):
    """The file cannot be checked further; the message says why."""


@dataclass
class _Contents:
    record: DocumentRecord
    signatures: list[SignedDocument]
    certificates: list[SignedDocument]
    registry_keys: dict[str, PublicKey]
    revocations: list[SignedDocument]


def verify_pdf(
    data: bytes,
    *,
    keys: Mapping[str, PublicKey] | None = None,
    revocations: Sequence[RevocationList | SignedDocument] = (),
    now: dt.datetime | None = None,
) -> DocReport:
    """Check a signed PDF (its exact bytes) and report every check (:data:`CHECKS`).

    ``keys``: the registry keys to trust, obtained apart from the file (the
    organisation's ``/registry/keys.json``); without them the keys embedded in the file
    are the anchor, and the report says so. ``revocations``: lists obtained apart from
    the file, in addition to the embedded ones — a :class:`RevocationList` is taken as
    already verified, a :class:`SignedDocument` is verified here against the anchor.
    ``now``: when the check is made (default: the clock), aware; nothing may be dated
    after it.
    """
    now = check_now(now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    report = DocReport()
    try:
        _verify(bytes(data), keys, revocations, now, report)
    except _Stop as exc:
        made = {check.name for check in report.checks}
        for name in required_checks(report.record):
            if name not in made:
                report.failed(name, f"not checked: {exc}")
    return report


def _verify(
    data: bytes,
    keys: Mapping[str, PublicKey] | None,
    supplied: Sequence[RevocationList | SignedDocument],
    now: dt.datetime,
    report: DocReport,
) -> None:
    try:
        signed = extract(data)
    except SignedPdfError as exc:
        report.failed("file", str(exc))
        raise _Stop("the file is not a signed Kvorum PDF") from exc
    try:
        contents = _contents(signed)
    except _Stop as exc:
        report.failed("file", str(exc))
        raise _Stop("the embedded files cannot be read") from exc
    record = report.record = contents.record
    report.passed(
        "file",
        f"a signed Kvorum PDF: {record.kind} {record.number} «{record.title}» of "
        f"{record.org_name}, journal number {record.journal}",
    )
    _check_unchanged(data, signed, contents, report)
    _check_pdf(signed.original, record, report)
    anchor = _trust(contents.registry_keys, keys, report)
    lists = _revocation_lists(contents.revocations, supplied, anchor, now, report)
    if record.by_commission:
        for envelope, signature, previous in _check_commission_order(
            contents.signatures, record, now, report
        ):
            _check_signer(
                COMMISSION_ROLE,
                envelope,
                signature,
                previous,
                record,
                contents,
                anchor,
                lists,
                report,
            )
        return
    signatures = _check_order(contents.signatures, record, now, report)
    for role in ROLES:
        found = signatures.get(role)
        if found is None:
            continue  # reported by _check_order
        envelope, signature, previous = found
        _check_signer(role, envelope, signature, previous, record, contents, anchor, lists, report)


def _check_unchanged(data: bytes, signed: Signed, contents: _Contents, report: DocReport) -> None:
    """D-2: the update, the signature marks on the last page included, is rebuilt."""
    try:
        # The marks are drawn from the record, signatures and certificates as found;
        # whether those are authentic is D-6 to D-8's business.
        mark = stamp(contents.record, contents.signatures, contents.certificates)
    except (ValueError, CredentialError) as exc:
        report.failed("unchanged", f"the signature marks cannot be rebuilt: {exc}")
        return
    try:
        check_unchanged(data, signed, mark)
    except SignedPdfError as exc:
        try:
            # Files signed before the marks were drawn: the same update without them.
            check_unchanged(data, signed)
        except SignedPdfError:
            report.failed("unchanged", str(exc))
            return
        marks = "signed without signature marks on its last page"
    else:
        marks = "the signature marks on its last page included"
    added = len(data) - len(signed.original)
    report.passed(
        "unchanged",
        f"no byte was changed or added after signing (the {added} bytes after the "
        f"document, {marks}, were rebuilt exactly)",
        added=added,
    )


# --- the embedded files -------------------------------------------------------------------


def _contents(signed: Signed) -> _Contents:
    names = [item.name for item in signed.files]
    for name in FILES:
        if name not in names:
            raise _Stop(f"the file {name} is not embedded")
    extra = [name for name in names if name not in FILES]
    if extra:
        raise _Stop(f"an unexpected file {extra[0]!r} is embedded (this verifier reads version 1)")
    values: dict[str, Any] = {}
    for item in signed.files:
        if item.media_type != MEDIA_TYPE:
            raise _Stop(f"{item.name} is of type {item.media_type}, not {MEDIA_TYPE}")
        try:
            value = parse_json(item.data)
            canonical = canonicalize(value)
        except CanonicalJSONError as exc:
            raise _Stop(f"{item.name} is not valid JSON: {exc}") from exc
        # Canonical bytes only: a file that could be re-spelled could hide a change.
        if canonical != item.data:
            raise _Stop(f"{item.name} is not canonical JSON (RFC 8785)")
        values[item.name] = value
    try:
        record = DocumentRecord.from_payload(_object(values[RECORD_FILE], RECORD_FILE))
    except CredentialError as exc:
        raise _Stop(f"{RECORD_FILE}: {exc}") from exc
    embedded = signed.file(RECORD_FILE)
    if embedded is None or record.canonical != embedded.data:
        raise _Stop(f"{RECORD_FILE} is not the record's canonical payload")
    registry_keys: dict[str, PublicKey] = {}
    for number, document in enumerate(_array(values[REGISTRY_KEYS_FILE], REGISTRY_KEYS_FILE), 1):
        try:
            found = read_keys(canonicalize(document))
        except KeysError as exc:
            raise _Stop(f"{REGISTRY_KEYS_FILE}: document #{number}: {exc}") from exc
        for key_id, key in found.items():
            if registry_keys.setdefault(key_id, key) != key:  # pragma: no cover - ids are hashes
                raise _Stop(f"{REGISTRY_KEYS_FILE}: two different keys have the id {key_id}")
    return _Contents(
        record=record,
        signatures=_envelopes(values[SIGNATURES_FILE], SIGNATURES_FILE),
        certificates=_envelopes(values[CERTIFICATES_FILE], CERTIFICATES_FILE),
        registry_keys=registry_keys,
        revocations=_envelopes(values[REVOCATIONS_FILE], REVOCATIONS_FILE),
    )


def _object(value: object, name: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _Stop(f"{name} must hold a JSON object")
    return value


def _array(value: object, name: str) -> list[object]:
    if not isinstance(value, list):
        raise _Stop(f"{name} must hold a JSON array")
    return value


def _envelopes(value: object, name: str) -> list[SignedDocument]:
    documents = []
    for number, item in enumerate(_array(value, name), 1):
        try:
            documents.append(SignedDocument.parse(_object(item, f"{name} #{number}")))
        except CredentialError as exc:
            raise _Stop(f"{name}: document #{number}: {exc}") from exc
    return documents


# --- the document, the anchor, the revocation lists ---------------------------------------


def _check_pdf(original: bytes, record: DocumentRecord, report: DocReport) -> None:
    digest = hashlib.sha256(original).hexdigest()
    stated = record.pdf_length
    if len(original) > stated and hashlib.sha256(original[:stated]).hexdigest() == (
        record.pdf_sha256
    ):
        # The signed document is there, followed by someone's later update (one that
        # imitates a Kvorum update, or the last update would have been this one).
        report.failed(
            "pdf",
            f"the signed document is the first {stated} bytes; {len(original) - stated} "
            f"bytes were added after signing at offset {stated}",
        )
    elif len(original) != stated:
        report.failed(
            "pdf",
            f"the document is {len(original)} bytes long, the record states "
            f"{record.pdf_length}: it is not the document that was signed",
        )
    elif digest != record.pdf_sha256:
        report.failed(
            "pdf",
            f"the document's SHA-256 is {digest}, the record states {record.pdf_sha256}: "
            "the document was changed after it was signed",
        )
    else:
        report.passed(
            "pdf",
            f"the document is the {len(original)} bytes the record names (SHA-256 {digest})",
            length=len(original),
            digest=digest,
        )


def _trust(
    embedded: dict[str, PublicKey], keys: Mapping[str, PublicKey] | None, report: DocReport
) -> Mapping[str, PublicKey]:
    if keys is not None:
        others = sorted(key_id for key_id in embedded if keys.get(key_id) != embedded[key_id])
        if others:
            report.notes.append(
                "registry keys embedded in the file but not among the trusted keys (ignored): "
                + ", ".join(others)
            )
        report.passed(
            "trust",
            "trust anchor: the registry keys given (" + ", ".join(sorted(keys)) + ")",
            keys=", ".join(sorted(keys)),
            given=True,
        )
        return keys
    if not embedded:
        report.failed("trust", "the file embeds no registry key and no keys were given")
        return {}
    # Security: the file vouches for itself here. Say so, loudly, and name the keys.
    message = (
        "trust anchor: the registry keys embedded in the file, "
        + ", ".join(sorted(embedded))
        + " — compare them with the published keys.json or pass --keys"
    )
    report.passed("trust", message, keys=", ".join(sorted(embedded)), given=False)
    return embedded


def _revocation_lists(
    embedded: list[SignedDocument],
    supplied: Sequence[RevocationList | SignedDocument],
    anchor: Mapping[str, PublicKey],
    now: dt.datetime,
    report: DocReport,
) -> list[RevocationList]:
    lists: list[RevocationList] = []
    problems = 0
    sources: list[tuple[str, RevocationList | SignedDocument]] = [
        (f"embedded revocation list #{number}", document)
        for number, document in enumerate(embedded, 1)
    ]
    sources += [
        (f"supplied revocation list #{number}", document)
        for number, document in enumerate(supplied, 1)
    ]
    for where, document in sources:
        if isinstance(document, RevocationList):
            lists.append(document)
            continue
        try:
            lists.append(verify_revocation_list(document, anchor, now=now))
        except CredentialError as exc:
            problems += 1
            report.failed("revocations", f"{where}: {exc}")
    if not problems:
        described = ", ".join(
            f"organisation {r.organisation_id} number {r.number} of {format_instant(r.issued_at)}"
            for r in lists
        )
        report.passed(
            "revocations",
            f"{len(lists)} revocation list(s) signed by trusted keys: {described or 'none'}",
            count=len(lists),
        )
    return lists


# --- the signatures -----------------------------------------------------------------------


def _check_order(
    envelopes: list[SignedDocument], record: DocumentRecord, now: dt.datetime, report: DocReport
) -> dict[str, tuple[SignedDocument, DocumentSignature, SignedDocument | None]]:
    """The signature of each role that signed once, with the envelope it must name as
    ``previous`` (the previous role's, if that role signed once)."""
    parsed: list[tuple[SignedDocument, DocumentSignature]] = []
    problems: list[str] = []
    for number, envelope in enumerate(envelopes, 1):
        try:
            parsed.append((envelope, DocumentSignature.from_payload(envelope.payload)))
        except CredentialError as exc:
            problems.append(f"signature #{number}: {exc}")
    roles = [signature.role for _, signature in parsed]
    once = {s.role: (e, s) for e, s in parsed if roles.count(s.role) == 1}
    for role in ROLES:
        count = roles.count(role)
        if count == 0:
            problems.append(f"the {role} has not signed")
            report.failed(role, f"the {role} has not signed")
        elif count > 1:
            problems.append(f"the {role} signed {count} times; a role signs once")
            report.failed(role, f"the {role} signed {count} times")
    if not problems and roles != list(ROLES):
        problems.append(
            f"the signatures are in the order {', '.join(roles)}; they must be {', '.join(ROLES)}"
        )
    by_role: dict[str, tuple[SignedDocument, DocumentSignature, SignedDocument | None]] = {}
    last, last_what = record.finalised_at, "the document was finalised"
    for index, role in enumerate(ROLES):
        if role not in once:
            continue
        envelope, signature = once[role]
        before = once.get(ROLES[index - 1]) if index else None
        previous = before[0] if before else None
        by_role[role] = (envelope, signature, previous)
        chained = "" if previous is None else envelope_digest(previous)
        if signature.previous != chained:
            problems.append(
                f"the {role}'s signature names previous {signature.previous or '(none)'}, "
                f"but the signature before it is {chained or '(none: it signs first)'}"
            )
        if signature.signed_at < last:
            problems.append(
                f"the {role} signed at {format_instant(signature.signed_at)}, before "
                f"{last_what} ({format_instant(last)})"
            )
        if signature.signed_at > now:
            problems.append(
                f"the {role}'s signature is dated {format_instant(signature.signed_at)}, "
                f"after now ({format_instant(now)})"
            )
        last, last_what = signature.signed_at, f"the {role} signed"
    for problem in problems:
        report.failed("signatures", problem)
    if not problems:
        report.passed(
            "signatures",
            " then ".join(
                f"the {s.role} signed at {format_instant(s.signed_at)}" for _, s in parsed
            )
            + "; each signature names the one before it",
            times={s.role: s.signed_at for _, s in parsed},
        )
    return by_role


def _check_commission_order(
    envelopes: list[SignedDocument], record: DocumentRecord, now: dt.datetime, report: DocReport
) -> list[tuple[SignedDocument, DocumentSignature, SignedDocument | None]]:
    """D-6 of a commission's protocol: every member the record names signed once, in the
    role ``commission``, nobody else; each signature names the one embedded before it
    (the first names none), in time order after the finalisation. Returns each readable
    signature of a named member with the envelope before it."""
    parsed: list[tuple[SignedDocument, DocumentSignature]] = []
    problems: list[str] = []
    for number, envelope in enumerate(envelopes, 1):
        try:
            parsed.append((envelope, DocumentSignature.from_payload(envelope.payload)))
        except CredentialError as exc:
            problems.append(f"signature #{number}: {exc}")
    named = {signer.member: signer for signer in record.signers}
    members = [signature.member for _, signature in parsed]
    for signer in record.signers:
        count = members.count(signer.member)
        if count == 0:
            problems.append(f"commission member {signer.name} has not signed")
            report.failed(COMMISSION_ROLE, f"commission member {signer.name} has not signed")
        elif count > 1:
            problems.append(f"commission member {signer.name} signed {count} times")
    out: list[tuple[SignedDocument, DocumentSignature, SignedDocument | None]] = []
    last, last_what = record.finalised_at, "the document was finalised"
    previous: SignedDocument | None = None
    for envelope, signature in parsed:
        if signature.role != COMMISSION_ROLE or signature.member not in named:
            problems.append(
                f"a signature in the role {signature.role} by member {signature.member}, "
                "whom the record does not name as a signer"
            )
        else:
            out.append((envelope, signature, previous))
        chained = "" if previous is None else envelope_digest(previous)
        if signature.previous != chained:
            problems.append(
                f"member {signature.member}'s signature names previous "
                f"{signature.previous or '(none)'}, but the signature before it is "
                f"{chained or '(none: it signs first)'}"
            )
        if signature.signed_at < last:
            problems.append(
                f"member {signature.member} signed at {format_instant(signature.signed_at)}, "
                f"before {last_what} ({format_instant(last)})"
            )
        if signature.signed_at > now:
            problems.append(
                f"member {signature.member}'s signature is dated "
                f"{format_instant(signature.signed_at)}, after now ({format_instant(now)})"
            )
        last, last_what = signature.signed_at, f"member {signature.member} signed"
        previous = envelope
    for problem in problems:
        report.failed("signatures", problem)
    if not problems:
        report.passed(
            "signatures",
            " then ".join(
                f"commission member {named[s.member].name} signed at {format_instant(s.signed_at)}"
                for _, s in parsed
            )
            + "; each signature names the one before it",
            times={named[s.member].name: s.signed_at for _, s in parsed},
        )
    return out


def _check_signer(
    role: str,
    envelope: SignedDocument,
    signature: DocumentSignature,
    previous: SignedDocument | None,
    record: DocumentRecord,
    contents: _Contents,
    anchor: Mapping[str, PublicKey],
    lists: list[RevocationList],
    report: DocReport,
) -> None:
    try:
        expected = record.signer(role, signature.member if record.by_commission else None)
    except KeyError:
        report.failed(role, f"member {signature.member} is not a signer the record names")
        return
    # The certificate the signature names (serial) for the key that made it (signer).
    candidates = []
    for document in contents.certificates:
        try:
            certificate = KeyCertificate.from_payload(document.payload)
        except CredentialError:
            continue  # checked below if it is the one named; others are not used
        if certificate.serial == signature.serial:
            candidates.append((document, certificate))
    if not candidates:
        report.failed(
            role, f"certificate {signature.serial} named by the signature is not embedded"
        )
        return
    matching = [c for c in candidates if c[1].public_key.key_id == envelope.signer]
    document, certificate = (matching or candidates)[0]
    if len(matching) > 1:
        report.failed(role, f"two embedded certificates have serial {signature.serial}")
        return
    try:
        verify_certificate(document, anchor, now=signature.signed_at, revocations=None)
    except CredentialError as exc:
        report.failed(role, _certificate_problem(exc, certificate, anchor))
        return
    try:
        check_signature(envelope, record, certificate, role, previous)
    except CredentialError as exc:
        report.failed(role, f"{exc.reason}: {exc}")
        return
    problems = _revoked(certificate, signature, role, lists)
    for problem in problems:
        report.failed(role, problem)
    if not problems:
        report.passed(
            role,
            f"{expected.name} (member {expected.member}) signed at "
            f"{format_instant(signature.signed_at)} with certificate {certificate.serial} of "
            f"{certificate.organisation}, issued by registry key {certificate.issuer}; "
            "not revoked",
            signer=expected.name,
            signed_at=signature.signed_at,
            serial=certificate.serial,
            valid_from=certificate.issued_at,
            valid_to=certificate.expires_at,
        )


def _certificate_problem(
    error: CredentialError, certificate: KeyCertificate, anchor: Mapping[str, PublicKey]
) -> str:
    serial = certificate.serial
    if error.reason == "unknown_signer":
        return (
            f"certificate {serial} is signed by registry key {certificate.issuer}, which is "
            f"not trusted (trusted: {', '.join(sorted(anchor)) or 'none'})"
        )
    if error.reason == "bad_signature":
        return f"certificate {serial}: the registry's signature does not verify: {error}"
    if error.reason in ("not_yet_valid", "expired"):
        return f"certificate {serial} was not valid when the document was signed: {error}"
    return f"certificate {serial}: {error.reason}: {error}"


def _revoked(
    certificate: KeyCertificate,
    signature: DocumentSignature,
    role: str,
    lists: list[RevocationList],
) -> list[str]:
    own = [r for r in lists if r.organisation_id == certificate.organisation_id]
    problems = []
    for revocations in own:
        entry = revocations.is_revoked(certificate.serial)
        if entry is not None:
            # A signature's date is its signer's word, so a key revoked at any time
            # voids it: a thief could backdate what they sign.
            problems.append(
                f"key revoked on {format_date(entry.revoked_at.date())} (certificate "
                f"{certificate.serial}, revoked at {format_instant(entry.revoked_at)}: "
                f"{entry.reason}; revocation list number {revocations.number} of "
                f"organisation {revocations.organisation_id})"
            )
            break
    if not any(r.issued_at >= signature.signed_at for r in own):
        problems.append(
            f"no revocation list of organisation {certificate.organisation_id} is dated at "
            f"or after the {role}'s signature ({format_instant(signature.signed_at)}): "
            f"cannot tell whether certificate {certificate.serial} was revoked"
        )
    return problems
