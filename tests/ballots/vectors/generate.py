"""Write the published test vectors of audit bundles: ``python -m tests.ballots.vectors.generate``.

Honest bundles of every kind of vote (and one of each released format version) and
tampered ones, each listed in ``manifest.json`` with the verdict a verifier must reach
and, for a failing one, the check id of ``docs/ballots.md`` that must be among its
failures. Deterministic: every key derives from a fixed seed and Ed25519 signatures are
deterministic, so a run writes the same bytes. A lie is told with every signature made
properly by the key that would make it, so a verifier finds it by what is signed.

A vector already written for a format version that is no longer issued (``v1/``) is
kept as it is: an old bundle must verify forever, so its files are never rewritten.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ballots.formats import Rule, Turnout
from ballots.verify import json_copy
from crypto.canonical import canonicalize
from tests.ballots.make_bundle import (
    OPENS,
    Cast,
    Sample,
    build_vote,
    bundle_of,
    dump,
    load,
    make_key,
    make_voters,
    resign,
    sign,
)
from tests.ballots.make_secret import SecretSample, rechain

HERE = Path(__file__).resolve().parent
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)
MANIFEST = "manifest.json"

Vector = dict[str, Any]


def _keys_document(sample: Sample, keys: list[Any] | None = None) -> bytes:
    listed = keys if keys is not None else list(sample.registry_keys)
    return canonicalize(
        {
            "type": "kvorum.registry-keys",
            "v": 1,
            "org": 7,
            "org_name": "Первичная профсоюзная организация ООО «Север»",
            "current": listed[0].key_id,
            "keys": [
                {
                    "id": key.key_id,
                    "public_key": key.b64u,
                    "created_at": "2025-01-01T00:00:00Z",
                    "status": "current" if index == 0 else "retired",
                }
                for index, key in enumerate(listed)
            ],
        }
    )


def _tamper(sample: Sample, change: Callable[[Any], object]) -> bytes:
    bundle = load(sample.bundle_bytes())
    change(bundle)
    return dump(bundle)


def _vote(bundle: Any, index: int = 0) -> Any:
    return bundle["votes"][index]


def honest() -> dict[str, tuple[bytes, str]]:
    """name → (bundle bytes, what it shows)."""
    meeting = build_vote(5, seed="vectors")
    voters = meeting.voters
    registry = meeting.registry
    old = make_key("registry, before the rotation", "vectors")
    rotated_voters = make_voters(4, registry=old, seed="vectors rotated")
    second = build_vote(
        voters, vote_id=2, registry=registry, seed="vectors", opens=OPENS + 3600 * SECOND
    )
    third = build_vote(
        voters,
        vote_id=3,
        registry=registry,
        seed="vectors",
        opens=OPENS + 7200 * SECOND,
        rule=Rule("composition", 1, 2, 3, False),
    )
    return {
        "meeting-vote": (meeting.bundle_bytes(), "a meeting vote, simple majority of the cast"),
        "revotes": (
            build_vote(5, ballots_per_voter=3, seed="vectors").bundle_bytes(),
            "each member votes three times; the last ballot counts",
        ),
        "absentee-turnout": (
            build_vote(
                7,
                casts=[Cast(0), Cast(1), Cast(2, (2,)), Cast(3), Cast(4)],
                kind="absentee",
                rule=Rule("composition"),
                turnout=Turnout(1, 2, True),
                seed="vectors",
            ).bundle_bytes(),
            "an absentee vote with a turnout rule, 5 of 7 voting",
        ),
        "absentee-turnout-not-met": (
            build_vote(
                7,
                casts=[Cast(0), Cast(1), Cast(2)],
                kind="absentee",
                rule=Rule("cast"),
                turnout=Turnout(1, 2, True),
                seed="vectors",
            ).bundle_bytes(),
            "an absentee vote whose turnout is not met: not adopted",
        ),
        "survey-named-several-choices": (
            build_vote(
                4,
                kind="survey",
                options=["Бассейн", "Санаторий", "Лагерь", "Экскурсия"],
                min_choices=1,
                max_choices=3,
                seed="vectors",
            ).bundle_bytes(),
            "a named survey, one to three choices, deciding nothing",
        ),
        "survey-counts": (
            build_vote(4, kind="survey", publicity="counts", seed="vectors").bundle_bytes(),
            "a survey showing counts only (no roll call)",
        ),
        "late-keys": (
            build_vote(4, late=[2, 3], kind="absentee", seed="vectors").bundle_bytes(),
            "an absentee vote where two members vote with keys certified after it opened",
        ),
        "revocation-after-voting": (
            build_vote(4, revoked={1: OPENS + DAY}, kind="absentee", seed="vectors").bundle_bytes(),
            "a key revoked after its ballot: the ballot counts",
        ),
        "revocation-in-the-ballots-second": (
            build_vote(
                4, revoked={1: OPENS + 2 * SECOND}, places={1: 2}, seed="vectors"
            ).bundle_bytes(),
            "a key revoked in the second of its ballot, the board took the ballot first",
        ),
        "revocation-refused-later-ballot": (
            build_vote(
                4,
                casts=[Cast(0), Cast(1), Cast(2), Cast(3)],
                revoked={3: OPENS + 2 * SECOND},
                places={3: 4},
                seed="vectors",
            ).bundle_bytes(),
            "a key revoked while the vote was open, after its only ballot",
        ),
        "rotated-registry-key": (
            build_vote(
                rotated_voters, registry=registry, certificate_registry=old, seed="vectors"
            ).bundle_bytes(),
            "certificates signed by a registry key since rotated, the vote by the new one",
        ),
        "meeting-of-several-votes": (
            bundle_of([meeting, second, third]),
            "a meeting's bundle: three votes, one set of certificates",
        ),
        "empty-board": (
            build_vote(3, casts=[], seed="vectors").bundle_bytes(),
            "a vote closed with no ballot",
        ),
        "hall-records": (
            build_vote(
                5,
                casts=[
                    Cast(0),
                    Cast(1, (2,)),
                    Cast(0, (1,), hall_for=3),
                    Cast(0, (3,), hall_for=4),
                    Cast(0, (1,), hall_for=4),
                    Cast(4, (2,)),
                ],
                secretary=0,
                in_hall=[3, 4],
                seed="vectors",
            ).bundle_bytes(),
            "a mixed meeting: the secretary records two members in the hall from a show "
            "of hands, corrects one record, and that member's own later ballot replaces it",
        ),
    }


def tampered() -> list[tuple[str, str, bytes, str, dict[str, bytes]]]:
    """(name, check id, bundle bytes, what was done, extra files)."""
    base = build_vote(5, seed="vectors")
    registry = base.registry
    key_id = registry.public_key.key_id
    other = make_key("another registry", "vectors")
    out: list[tuple[str, str, bytes, str, dict[str, bytes]]] = []
    data = base.bundle_bytes()

    def add(check: str, name: str, blob: bytes, note: str, **files: bytes) -> None:
        out.append((name, check, blob, note, files))

    add("V-1", "truncated", data[: len(data) // 2], "the file cut in half")
    add(
        "V-1",
        "huge-integer",
        data.replace(b'"v":2,', b'"v":' + b"9" * 400 + b","),
        "a 400-digit number",
    )
    add("V-2", "version-3", data.replace(b'"v":2,"votes"', b'"v":3,"votes"'), "bundle version 3")
    add(
        "V-3",
        "extra-field",
        _tamper(base, lambda b: b.update(extra=1)),
        "an unknown top-level field",
    )
    add("V-4", "not-canonical", data.replace(b'"votes":[', b'"votes": [', 1), "a space added")

    def misfiled(bundle: Any) -> None:
        bundle["registry_keys"] = {"0" * 32: bundle["registry_keys"][key_id]}

    add("V-10", "key-filed-wrongly", _tamper(base, misfiled), "the registry key under another id")
    add(
        "V-11",
        "unused-key",
        build_vote(5, seed="vectors", extra_registry_keys=[other]).bundle_bytes(),
        "a registry key that signs nothing",
    )
    add(
        "V-12",
        "untrusted-key",
        data,
        "an honest bundle checked against a keys.json without its key",
        keys=_keys_document(base, [other.public_key]),
    )

    def retyped(bundle: Any) -> None:
        vote = _vote(bundle)
        vote["checkpoint"]["payload"]["v"] = 3
        vote["checkpoint"] = resign(vote["checkpoint"], registry)

    add("V-20", "checkpoint-version-3", _tamper(base, retyped), "a checkpoint of version 3")

    def forged(bundle: Any) -> None:
        vote = _vote(bundle)
        vote["result"]["signature"] = sign(vote["result"]["payload"], other)["signature"]

    add("V-21", "result-forged", _tamper(base, forged), "the result signed by another key")

    def late_meeting(bundle: Any) -> None:
        vote = _vote(bundle)
        vote["definition"]["payload"]["late_keys"] = True
        vote["definition"] = resign(vote["definition"], registry)

    add("V-30", "meeting-late-keys", _tamper(base, late_meeting), "a meeting vote with late_keys")
    second = build_vote(base.voters, vote_id=2, registry=registry, seed="vectors")
    add("V-31", "votes-out-of-order", bundle_of([second, base]), "vote 2 before vote 1")

    def crl_org(bundle: Any) -> None:
        vote = _vote(bundle)
        vote["revocations"]["payload"]["org"] = 8
        vote["revocations"] = resign(vote["revocations"], registry)

    add("V-40", "revocations-of-another-org", _tamper(base, crl_org), "another union's list")
    add(
        "V-41",
        "revocations-before-close",
        build_vote(5, seed="vectors", crl_issued_at=OPENS + 10 * SECOND).bundle_bytes(),
        "a revocation list issued before the close",
    )

    def cert_org(bundle: Any) -> None:
        certificates = _vote(bundle)["certificates"]
        certificates[4]["payload"]["org"] = 8
        certificates[4] = resign(certificates[4], registry)

    add(
        "V-50",
        "certificate-of-another-org",
        _tamper(base, cert_org),
        "a certificate of another union",
    )

    def swap(bundle: Any) -> None:
        certificates = _vote(bundle)["certificates"]
        certificates[0], certificates[1] = certificates[1], certificates[0]

    add("V-51", "certificates-swapped", _tamper(base, swap), "two certificates out of order")
    add(
        "V-52",
        "shared-key",
        build_vote(5, shared_keys={1: 0}, seed="vectors").bundle_bytes(),
        "one key certified for two members",
    )
    add(
        "V-53",
        "roll-key-issued-late",
        build_vote(
            5, certificate_times={1: (OPENS + SECOND, OPENS + 400 * DAY)}, seed="vectors"
        ).bundle_bytes(),
        "the roll lists a certificate issued after the opening",
    )
    add(
        "V-54",
        "unneeded-certificate",
        build_vote(
            5, off_roll=[4], casts=[Cast(0), Cast(1), Cast(2), Cast(3)], seed="vectors"
        ).bundle_bytes(),
        "a certificate neither on the roll nor used",
    )
    others = make_voters(5, registry=registry, seed="vectors, other keys")
    add(
        "V-55",
        "one-serial-two-certificates",
        bundle_of([base, build_vote(others, vote_id=2, registry=registry, seed="vectors")]),
        "two votes hold different certificates under one serial",
    )

    def bad_time(position: int, entry: dict[str, Any]) -> dict[str, Any]:
        if position == 2:
            entry["received_at"] = "2025-03-03T10:00:60Z"
        return entry

    add(
        "V-60",
        "entry-time-that-does-not-exist",
        build_vote(5, entry_hook=bad_time, seed="vectors").bundle_bytes(),
        "received_at 10:00:60",
    )

    def renumbered(position: int, entry: dict[str, Any]) -> dict[str, Any]:
        if position == 2:
            entry["seq"] = 9
        return entry

    add(
        "V-61",
        "entry-renumbered",
        build_vote(5, entry_hook=renumbered, seed="vectors").bundle_bytes(),
        "an entry with the wrong seq",
    )

    def ballots(*casts: Cast, **options: Any) -> bytes:
        return build_vote(5, casts=[*casts], seed="vectors", **options).bundle_bytes()

    honest = [Cast(0), Cast(1), Cast(2)]
    add(
        "V-62",
        "nonce-bits",
        ballots(*honest, Cast(3, nonce="A" * 21 + "B", counted=False)),
        "a nonce whose unused bits are not zero",
    )
    add(
        "V-63",
        "ballot-of-vote-2",
        ballots(*honest, Cast(3, vote=2, counted=False)),
        "a ballot naming vote 2",
    )
    add("V-64", "option-4", ballots(*honest, Cast(3, (4,), counted=False)), "option 4 of 3")
    add("V-65", "unknown-serial", ballots(*honest, Cast(3, serial=99, counted=False)), "serial 99")
    add(
        "V-66",
        "signed-by-another-member",
        ballots(*honest, Cast(3, key=4, counted=False)),
        "another member's key signs",
    )
    add(
        "V-67",
        "not-on-roll",
        ballots(*honest, Cast(4, counted=False), off_roll=[4]),
        "a member not on the roll votes",
    )
    add(
        "V-68",
        "expired-key",
        ballots(
            *honest,
            Cast(3, counted=False),
            certificate_times={3: (OPENS - DAY, OPENS + 2 * SECOND)},
        ),
        "a ballot after its certificate expired",
    )
    add(
        "V-69",
        "revoked-key",
        ballots(*honest, Cast(3, counted=False), revoked={3: OPENS + SECOND}),
        "a ballot of a key revoked before it",
    )
    add(
        "V-69",
        "v1-revoked-key",
        ballots(*honest, Cast(3, counted=False), revoked={3: OPENS + SECOND}, format_version=1),
        "version 1: a ballot dated after its key's revocation",
    )
    add(
        "V-70",
        "before-opening",
        ballots(Cast(0, at=OPENS - SECOND), Cast(1)),
        "a ballot before the opening",
    )
    add(
        "V-71",
        "replayed-ballot",
        ballots(Cast(0), Cast(0, (2,)), Cast(0, copy_of=0)),
        "a ballot replayed",
    )
    add(
        "V-80",
        "checkpoint-length",
        build_vote(5, checkpoint_hook=lambda c: {**c, "length": 6}, seed="vectors").bundle_bytes(),
        "a checkpoint with one entry too many",
    )
    add(
        "V-81",
        "revocation-not-placed",
        build_vote(
            5,
            revoked={4: OPENS + DAY},
            checkpoint_hook=lambda c: {**c, "revoked": []},
            seed="vectors",
        ).bundle_bytes(),
        "a revoked certificate the checkpoint does not place",
    )
    add(
        "V-82",
        "revocation-placed-before-its-date",
        ballots(*honest, revoked={4: OPENS + 2 * SECOND}, places={4: 0}),
        "a revocation placed before entries received before its date",
    )
    add(
        "V-90",
        "result-counts",
        build_vote(
            5, result_hook=lambda r: {**r, "counts": [1, 3, 1]}, seed="vectors"
        ).bundle_bytes(),
        "a signed result with other counts",
    )
    hall = {"secretary": 0, "in_hall": [3, 4]}
    add(
        "V-120",
        "hall-record-short-nonce",
        ballots(*honest, Cast(0, hall_for=3, nonce="AAAA", counted=False), **hall),
        "a hall record whose nonce is four characters",
    )
    add(
        "V-121",
        "hall-record-in-version-1-definition",
        ballots(*honest, Cast(0, hall_for=3, counted=False)),
        "a hall record on the board of a vote whose definition names no secretary",
    )
    add(
        "V-122",
        "hall-record-by-another-member",
        ballots(*honest, Cast(1, hall_for=3, counted=False), **hall),
        "a hall record signed by a member who is not the secretary",
    )
    add(
        "V-123",
        "hall-record-for-member-not-in-hall",
        ballots(Cast(0), Cast(1), Cast(0, (2,), hall_for=2, counted=False), **hall),
        "a hall record for a member the roll does not mark in the hall",
    )
    add(
        "V-124",
        "hall-record-after-own-ballot",
        ballots(*honest, Cast(3, (1,)), Cast(0, (2,), hall_for=3, counted=False), **hall),
        "a hall record after the member's own ballot",
    )
    receipt = base.receipt(3)
    add(
        "V-100",
        "receipt-unsigned",
        data,
        "a receipt signed by a key that is not the registry's",
        receipt=canonicalize(resign(receipt, other)),
    )
    add(
        "V-101",
        "receipt-missing-ballot",
        data,
        "a receipt for entry 9 of a 5-entry board",
        receipt=canonicalize(sign({**receipt["payload"], "seq": 9}, registry)),
    )
    add("V-110", "keys-file-not-json", data, "a --keys file that is not JSON", keys=b"keys")
    return out


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def generate(root: Path = HERE) -> dict[str, Any]:
    """Write every vector under ``root`` and return the manifest (also written)."""
    vectors: list[Vector] = []
    meeting = build_vote(5, seed="vectors")
    for name, (data, note) in honest().items():
        _write(root / "v2" / f"{name}.json", data)
        vectors.append(_entry(f"v2/{name}.json", "pass", None, note))
    _write(root / "v2" / "keys.json", _keys_document(meeting))
    vectors.append(_entry("v2/meeting-vote.json", "pass", None, "with --keys", keys="v2/keys.json"))
    _write(root / "v2" / "meeting-vote.receipt-3.json", canonicalize(meeting.receipt(3)))
    vectors.append(
        _entry(
            "v2/meeting-vote.json",
            "pass",
            None,
            "a voter's receipt for entry 3",
            receipt="v2/meeting-vote.receipt-3.json",
        )
    )
    # Version 1, as issued before version 2: kept, never rewritten.
    v1 = root / "v1"
    old = {
        "meeting-vote": build_vote(5, seed="vectors", format_version=1),
        "revocation-after-voting": build_vote(
            4, revoked={1: OPENS + DAY}, kind="absentee", seed="vectors", format_version=1
        ),
    }
    for name, sample in old.items():
        path = v1 / f"{name}.json"
        if not path.exists():
            _write(path, sample.bundle_bytes())
        vectors.append(_entry(f"v1/{name}.json", "pass", None, f"version 1: {name}"))
    for name, check, data, note, files in tampered():
        file = f"tampered/{check}-{name}.json"
        _write(root / file, data)
        extra: dict[str, str] = {}
        for kind, blob in files.items():
            extra[kind] = f"tampered/{check}-{name}.{kind}.json"
            _write(root / extra[kind], blob)
        vectors.append(_entry(file, "fail", check, note, **extra))
    vectors.append(
        _entry("tampered/V-111-missing.json", "fail", "V-111", "a bundle file that does not exist")
    )
    for file, check, data, note in secret_vectors():
        _write(root / file, data)
        vectors.append(_entry(file, "fail" if check else "pass", check, note))
    manifest = {
        "type": "kvorum.audit-vectors",
        "v": 1,
        "about": (
            "Run your verifier on each file (with --keys and the receipt where given, "
            "paths relative to this file): 'pass' must pass every check, 'fail' must "
            "fail with the check id 'check' (docs/ballots.md) among its failures."
        ),
        "vectors": vectors,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    (root / MANIFEST).write_text(text, encoding="utf-8")
    return manifest


def _entry(
    file: str,
    verdict: str,
    check: str | None,
    note: str,
    *,
    keys: str | None = None,
    receipt: str | None = None,
) -> Vector:
    return {
        "file": file,
        "keys": keys,
        "receipt": receipt,
        "verdict": verdict,
        "check": check,
        "note": note,
    }


def secret_vectors() -> list[tuple[str, str | None, bytes, str]]:
    """Secret votes' bundles: (file, failing check or None, bytes, what it shows)."""
    casts = [
        (0, (1, 1, 0), False),
        (1, (1, 0, 0), False),
        (1, (0, 1, 0), True),
        (2, (0, 1, 1), False),
        (2, (1, 0, 0), False),
        (3, (0, 0, 0), False),
    ]
    out: list[tuple[str, str | None, bytes, str]] = []
    base = SecretSample(casts=casts)
    honest = base.bundle()
    out.append(
        (
            "secret/approve-each.json",
            None,
            honest,
            "an election of 2 among 3, «за»/«против» each; a revote and a spoiled ballot",
        )
    )
    out.append(
        (
            "secret/one-of.json",
            None,
            SecretSample(form="one_of", seed="secret one").bundle(),
            "a chair elected among 3, one mark; decrypted by members 1, 2, 3 of 5 (t = 3)",
        )
    )
    out.append(
        (
            "secret/yes-no.json",
            None,
            SecretSample(form="yes_no", seed="secret question", decrypting=(5, 2, 4, 1)).bundle(),
            "a secret question, «за»/«против»/«воздержался»; decrypted by 4 members of 5",
        )
    )

    def edited(name: str, check: str, note: str, change: Callable[[Any], object]) -> None:
        bundle = load(honest)
        change(bundle)
        out.append((f"tampered/{check}-secret-{name}.json", check, dump(bundle), note))

    def hooked(name: str, check: str, note: str, sample: SecretSample) -> None:
        out.append((f"tampered/{check}-secret-{name}.json", check, sample.bundle(), note))

    def entry_of(bundle: Any, kind: str, nth: int = 0) -> Any:
        return [e for e in bundle["entries"] if e["kind"] == kind][nth]

    def redefine(bundle: Any, field: str, value: object) -> None:
        payload = dict(bundle["definition"]["payload"])
        payload[field] = value
        bundle["definition"] = resign({"payload": payload}, base.registry)

    def resign_document(bundle: Any, entry: Any, voter: int, **fields: object) -> None:
        payload = {**entry["document"]["payload"], **fields}
        entry["document"] = resign({"payload": payload}, base.members[voter].key)
        rechain(bundle, base)

    edited(
        "marks-of-form",
        "V-200",
        "the definition allows 3 «за» with 2 seats",
        lambda b: redefine(b, "max_marks", 3),
    )
    edited(
        "unknown-kind",
        "V-210",
        "an entry of a kind the board does not have",
        lambda b: entry_of(b, "ballot").update(kind="vote"),
    )
    edited(
        "broken-chain",
        "V-211",
        "an entry's prev is not the hash of the entry before",
        lambda b: b["entries"][6].update(prev="sha256:" + "0" * 64),
    )
    edited(
        "copied-ballot",
        "V-212",
        "a voter's ballot signed by another voter's key, under the first one's serial",
        lambda b: resign_document(b, entry_of(b, "ballot"), 6),
    )

    def outsider_partial(bundle: Any) -> None:
        entry = entry_of(bundle, "partial")
        resign_document(bundle, entry, 6, serial=base.members[6].serial)

    edited(
        "partial-by-outsider",
        "V-213",
        "a partial decryption signed by a member not on the commission",
        outsider_partial,
    )

    def late_ballot(bundle: Any) -> None:
        entry = entry_of(bundle, "ballot", 5)
        entry["received_at"] = "2025-03-03T11:00:00Z"
        rechain(bundle, base)

    edited("late-ballot", "V-214", "a ballot received at the close", late_ballot)
    edited(
        "other-election",
        "V-215",
        "a ballot naming another vote's definition (copied from another election)",
        lambda b: resign_document(b, entry_of(b, "ballot"), 0, definition="sha256:" + "1" * 64),
    )

    def replayed(bundle: Any) -> None:
        entry = entry_of(bundle, "ballot")
        bundle["entries"].insert(bundle["entries"].index(entry) + 1, json_copy(entry))
        rechain(bundle, base)

    edited("replayed-ballot", "V-216", "a ballot replayed on the board", replayed)

    def bad_dealer(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        if kind == "dealer" and payload["commitment"]["dealer"] == 2:
            proof = payload["commitment"]["proof"]
            payload["commitment"]["proof"] = {"c": proof["z"], "z": proof["c"]}
        return payload

    hooked(
        "dealer-proof",
        "V-220",
        "dealer 2's knowledge proof does not verify",
        SecretSample(casts=casts, change=bad_dealer),
    )
    edited(
        "key-of-fewer-dealers",
        "V-221",
        "the definition names dealers 1 to 4 while all 5 qualified",
        lambda b: redefine(b, "dealers", [1, 2, 3, 4]),
    )

    def swapped(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        if kind == "ballot" and payload["serial"] == base.members[3].serial:
            choices = payload["ballot"]["choices"]
            choices[0]["proof"], choices[1]["proof"] = choices[1]["proof"], choices[0]["proof"]
        return payload

    hooked(
        "ballot-proof",
        "V-230",
        "a ballot whose bit proofs are swapped between options",
        SecretSample(casts=casts, change=swapped),
    )

    def lying_opening(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        if kind == "spoil":
            payload["opening"]["marks"] = [1, 0, 0]
        return payload

    hooked(
        "lying-opening",
        "V-231",
        "a spoiled ballot shown with marks it did not contain",
        SecretSample(casts=casts, change=lying_opening),
    )

    def wrong_partial(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        if kind == "partial" and payload["partial"]["member"] == 2:
            proof = payload["partial"]["partials"][0]["proof"]
            proof["c"], proof["v"] = proof["v"], proof["c"]
        return payload

    hooked(
        "partial-proof",
        "V-240",
        "member 2's partial decryption with a wrong proof",
        SecretSample(casts=casts, change=wrong_partial),
    )
    hooked(
        "decrypted-twice",
        "V-241",
        "member 2 posts a partial decryption twice",
        SecretSample(casts=casts, decrypting=(1, 2, 3, 2)),
    )
    hooked(
        "two-decryptions",
        "V-242",
        "2 partial decryptions where 3 are needed",
        SecretSample(casts=casts, decrypting=(1, 2)),
    )

    def more_votes(result: dict[str, Any]) -> dict[str, Any]:
        result["counts"] = [3, 2, 1]
        return result

    hooked(
        "counts",
        "V-250",
        "the signed result gives Петров 2 «за» where the board gives 1",
        SecretSample(casts=casts, result_change=more_votes),
    )
    return out


if __name__ == "__main__":
    manifest = generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"{len(manifest['vectors'])} vectors written")
