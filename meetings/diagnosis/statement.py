"""The signed submission of a questionnaire: ``kvorum.diagnosis-submission``, version 1.

An organisation's responder states, with their own key on their own device (as a
ballot or an acknowledgement is signed), that these are the organisation's answers in
this campaign. The payload, canonical JSON (RFC 8785):

=============== =================================================================
``type``        ``"kvorum.diagnosis-submission"``
``v``           ``1``
``campaign``    the campaign's id
``methodology`` the id of the frozen methodology version answered
``org``         the organisation answered for
``member``      the signer (must be the key certificate's member)
``serial``      the signer's key certificate serial
``answers``     question code → answer (``true``/``false``, an integer, a text)
``evidence``    the attached files: ``[{"question": code, "sha256": hex}]``, sorted
``submitted_at`` the moment of signing, ``YYYY-MM-DDTHH:MM:SSZ``
=============== =================================================================

The server gives the browser everything but ``serial`` and ``submitted_at``
(:func:`template`); it accepts the statement only if the rest is exactly that — so
what is signed is what is stored, and a statement cannot be moved to another
campaign, organisation or set of answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from crypto.canonical import canonicalize
from crypto.certificate import KeyCertificate
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.instant import format_instant, parse_instant

__all__ = ["SUBMISSION_TYPE", "VERSION", "check_submission", "template"]

SUBMISSION_TYPE = "kvorum.diagnosis-submission"
VERSION = 1
_FIELDS = (
    "type",
    "v",
    "campaign",
    "methodology",
    "org",
    "member",
    "serial",
    "answers",
    "evidence",
    "submitted_at",
)


def template(
    *,
    campaign: int,
    methodology: int,
    org: int,
    member: int,
    answers: Mapping[str, Any],
    evidence: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """The payload less ``serial`` and ``submitted_at``, which the signer's device adds."""
    return {
        "type": SUBMISSION_TYPE,
        "v": VERSION,
        "campaign": campaign,
        "methodology": methodology,
        "org": org,
        "member": member,
        "answers": dict(answers),
        "evidence": [{"question": q, "sha256": h} for q, h in sorted(evidence)],
    }


def check_submission(
    signed: SignedDocument, expected: Mapping[str, Any], certificate: KeyCertificate
) -> dt.datetime:
    """Check a signed submission against the expected :func:`template` and the signer's
    (already trusted) certificate; returns the moment it was signed.

    Raises :class:`CredentialError`: ``malformed``, ``wrong_type``,
    ``unsupported_version``, ``wrong_key``, ``bad_signature``, ``not_as_saved`` (the
    statement differs from what is stored), ``wrong_member``, ``not_yet_valid``,
    ``expired``.
    """
    payload = signed.to_json()["payload"]
    assert isinstance(payload, dict)
    what = "the submission"
    missing = [name for name in _FIELDS if name not in payload]
    if missing:
        raise CredentialError("malformed", f"{what}: missing field {missing[0]!r}")
    unknown = sorted(str(name) for name in payload if name not in _FIELDS)
    if unknown:
        raise CredentialError("malformed", f"{what}: unknown field {unknown[0]!r}")
    key = certificate.public_key
    if signed.signer != key.key_id:
        raise CredentialError(
            "wrong_key",
            f"{what} is signed by key {signed.signer}, but certificate {certificate.serial} "
            f"certifies key {key.key_id}",
        )
    signed.verify({key.key_id: key}, expect_type=SUBMISSION_TYPE, expect_version=VERSION)
    for name, value in expected.items():
        # Compared as canonical JSON: true is not 1 there, as it is to Python's ==.
        if canonicalize(payload[name]) != canonicalize(value):
            raise CredentialError(
                "not_as_saved", f"{what}: {name} is not what is saved for this questionnaire"
            )
    if payload["member"] != certificate.member_id or payload["serial"] != certificate.serial:
        raise CredentialError(
            "wrong_member", f"{what} names a key that is not certificate {certificate.serial}"
        )
    moment = payload["submitted_at"]
    if not isinstance(moment, str):
        raise CredentialError("malformed", f"{what}: submitted_at must be a string")
    try:
        when = parse_instant(moment)
    except CredentialError as exc:
        raise CredentialError("malformed", f"{what}: submitted_at: {exc}") from None
    if when < certificate.issued_at:
        raise CredentialError("not_yet_valid", f"{what} is dated before its key was certified")
    if when >= certificate.expires_at:
        raise CredentialError(
            "expired",
            f"{what} is dated {format_instant(when)}, after key {certificate.serial} expired",
        )
    return when
