"""Assembling an audit bundle: the canonical JSON file an auditor downloads.

Pure (standard library and :mod:`crypto`): the server feeds it the documents it
stored, tests and benchmarks feed it documents they made. Board entries are passed as
their stored canonical bytes and joined as they are, so a 100,000-entry bundle is
written without re-encoding a single entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ballots.formats import BUNDLE_TYPE, BUNDLE_VERSION
from crypto.canonical import canonicalize
from crypto.ed25519 import PublicKey

__all__ = ["VoteRecord", "assemble_bundle"]


@dataclass(frozen=True)
class VoteRecord:
    """One closed vote as signed JSON objects (envelopes) and canonical entry bytes."""

    definition: Mapping[str, object]
    certificates: Sequence[Mapping[str, object]]
    revocations: Mapping[str, object]
    entries: Sequence[bytes]
    checkpoint: Mapping[str, object]
    result: Mapping[str, object]


def assemble_bundle(registry_keys: Iterable[PublicKey], votes: Sequence[VoteRecord]) -> bytes:
    """The bundle's bytes: canonical JSON (RFC 8785) of
    ``{"registry_keys", "type", "v", "votes": [...]}``, certificates in serial order,
    votes in the order given (a meeting's: by vote id)."""
    keys = {key.key_id: key.b64u for key in registry_keys}
    # Version 2 once a vote holds a version 2 checkpoint; a bundle of votes closed
    # before that stays version 1, byte for byte what it was.
    version = max((_version(vote.checkpoint) for vote in votes), default=1)
    parts = [
        b'{"registry_keys":',
        canonicalize(keys),
        b',"type":"',
        BUNDLE_TYPE.encode(),
        b'","v":',
        str(BUNDLE_VERSION if version > 1 else 1).encode(),
        b',"votes":[',
    ]
    for index, vote in enumerate(votes):
        certificates = sorted(vote.certificates, key=_serial)
        parts += [
            b"," if index else b"",
            b'{"certificates":[',
            b",".join(canonicalize(c) for c in certificates),
            b'],"checkpoint":',
            canonicalize(vote.checkpoint),
            b',"definition":',
            canonicalize(vote.definition),
            b',"entries":[',
            b",".join(vote.entries),
            b'],"result":',
            canonicalize(vote.result),
            b',"revocations":',
            canonicalize(vote.revocations),
            b"}",
        ]
    parts.append(b"]}")
    return b"".join(parts)


def _serial(certificate: Mapping[str, object]) -> int:
    payload = certificate.get("payload")
    serial = payload.get("serial") if isinstance(payload, Mapping) else None
    return serial if isinstance(serial, int) else 0


def _version(checkpoint: Mapping[str, object]) -> int:
    payload = checkpoint.get("payload")
    version = payload.get("v") if isinstance(payload, Mapping) else None
    return version if isinstance(version, int) else 1
