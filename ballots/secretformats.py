"""The documents of a secret vote on the bulletin board (``docs/ballots.md``, "Secret
votes"): the registry-signed definition and result, the board entry, the documents
voters and commission members sign, and the audit bundle's kind.

The cryptographic objects they embed (encrypted ballots, openings, dealer
commitments, complaints, partial decryptions) are those of ``docs/secret-ballots.md``
(:mod:`crypto.secretballot`, :mod:`crypto.dkg`); this module fixes what is around
them. Pure: standard library and :mod:`crypto` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from crypto.canonical import canonicalize, canonicalize_signed
from crypto.encoding import b64u_encode
from crypto.hashing import content_address, sha256
from crypto.instant import format_instant

__all__ = [
    "DEFINITION_TYPE",
    "DOCUMENT_TYPES",
    "ENTRY_TYPE",
    "FORMS",
    "KINDS",
    "RESULT_TYPE",
    "SECRET_BUNDLE_TYPE",
    "VERSION",
    "chain_start",
    "entry_hash",
    "entry_payload",
    "fingerprint",
    "keygen_context",
    "result_payload",
]

VERSION = 1
DEFINITION_TYPE = "kvorum.secret-vote-definition"
ENTRY_TYPE = "kvorum.secret-board-entry"
RESULT_TYPE = "kvorum.secret-vote-result"
SECRET_BUNDLE_TYPE = "kvorum.secret-audit-bundle"  # noqa: S105 (a type name, no secret)

#: The ballot's forms (``ballots/election_rule.py``): one mark among the options;
#: «за» (1) / «против» (0) for each candidate with at most ``seats`` «за»; a question's
#: one mark among «за», «против», «воздержался».
FORMS = ("one_of", "approve_each", "yes_no")

#: Board entry kind → the type of the document it carries (signed by a member's
#: certified key: a commission member for key generation and partial decryptions,
#: a voter for ballots and spoilings).
DOCUMENT_TYPES: dict[str, str] = {
    "dealer": "kvorum.secret-dealer",
    "complaint": "kvorum.secret-complaint",
    "ballot": "kvorum.secret-ballot",
    "spoil": "kvorum.secret-spoil",
    "partial": "kvorum.secret-partial",
}
KINDS = tuple(DOCUMENT_TYPES)


def fingerprint(definition_payload: Mapping[str, object]) -> str:
    """The definition's content address (``sha256:…``), as for open votes; its 32 raw
    bytes are the F every proof of the vote is bound to."""
    return content_address(canonicalize_signed(definition_payload))


def keygen_context(vote: int, election: str, commission: Mapping[str, Any]) -> str:
    """The 32-byte key-generation context (base64url): SHA-256 of the canonical JSON of
    the vote, its election and its commission without the context itself. Dealers'
    knowledge proofs are bound to it, so a commitment made for one vote or one
    commission does not verify for another."""
    members = [dict(m) for m in commission["members"]]
    data = canonicalize(
        {
            "type": "kvorum.secret-keygen-context",
            "vote": vote,
            "election": election,
            "members": members,
            "threshold": commission["threshold"],
        }
    )
    return b64u_encode(sha256(data))


def entry_payload(
    vote: int,
    seq: int,
    prev: str,
    kind: str,
    document: Mapping[str, object],
    received_at: dt.datetime,
) -> dict[str, object]:
    """A board entry of a secret vote; the first ``prev`` is the fingerprint of the
    definition's draft (``keygen_context`` base), later ones the hash of the entry
    before (:func:`entry_hash`)."""
    if kind not in DOCUMENT_TYPES:
        raise ValueError(f"unknown entry kind {kind!r}")
    return {
        "type": ENTRY_TYPE,
        "v": VERSION,
        "vote": vote,
        "seq": seq,
        "prev": prev,
        "kind": kind,
        "document": dict(document),
        "received_at": format_instant(received_at),
    }


def entry_hash(entry: Mapping[str, object]) -> str:
    """The content address of an entry's canonical JSON: the next entry's ``prev``."""
    return content_address(canonicalize(entry))


def chain_start(vote: int, context: str) -> str:
    """The ``prev`` of entry 1: key generation starts before the definition carries
    the key, so the chain starts from the context, which names vote and commission."""
    return content_address(canonicalize({"vote": vote, "context": context}))


def result_payload(
    *,
    vote: int,
    definition: str,
    length: int,
    head: str,
    closed_at: dt.datetime,
    took_part: int,
    counts: Sequence[int],
    decrypted_by: Sequence[int],
    outcome: Mapping[str, object],
    issuer: str,
) -> dict[str, object]:
    """The signed result: counts per option (the «за» of each candidate), who took
    part, which commission members' partial decryptions were combined, and the
    election rule's outcome (``elected``, ``passed``, ``tied``, ``tied_seats``,
    ``vacant``, ``valid``)."""
    return {
        "type": RESULT_TYPE,
        "v": VERSION,
        "vote": vote,
        "definition": definition,
        "length": length,
        "head": head,
        "closed_at": format_instant(closed_at),
        "took_part": took_part,
        "counts": list(counts),
        "decrypted_by": list(decrypted_by),
        "outcome": dict(outcome),
        "issuer": issuer,
    }
