"""Audit bundles made to order, for the verifier's tests and its benchmark.

Pure (standard library, :mod:`crypto` and :mod:`ballots`) and deterministic: every
key derives from ``seed`` and Ed25519 signatures are deterministic, so the same
arguments always give the same bytes.

By default the server that "built" the bundle is honest and every check of
:func:`ballots.verify.verify_bundle` holds. The parameters that make it lie
(``revoked``, ``off_roll``, ``certificate_times``, ``shared_keys``, a
:class:`Cast` with ``key``,
``serial``, ``vote``, ``definition``, ``envelope`` or ``copy_of``, and the hooks)
do so with every signature made properly by the key that would make it, so the
verifier has to find the lie by the meaning of what is signed, not by a broken
signature. Byte-level tampering is done by the tests on :meth:`Sample.bundle_bytes`.

Speed (100,000 voters with one ballot each in about 15 s on one core, a third of it
deriving their Ed25519 keys): the canonical bytes of certificates, ballots, board
entries, the roll and the roll call are composed from templates instead of going
through the general encoder (``tests/ballots/test_verify.py`` checks them
against :func:`crypto.canonical.canonicalize_signed`), entries are chained as bytes,
:meth:`Sample.bundle_bytes` joins the documents' canonical bytes in the layout of
:func:`ballots.bundle.assemble_bundle` (:meth:`Sample.assemble`; the tests check the
two agree), and receipts are signed only when asked for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ballots.bundle import VoteRecord, assemble_bundle
from ballots.formats import (
    BALLOT_TYPE,
    BUNDLE_TYPE,
    ENTRY_TYPE,
    HALL_RECORD_TYPE,
    Definition,
    Outcome,
    RollEntry,
    Rule,
    Secretary,
    Turnout,
    checkpoint_payload,
    decide,
    receipt_payload,
    result_payload,
)
from crypto.canonical import canonicalize, canonicalize_signed, parse_json
from crypto.ed25519 import PublicKey, SigningKey
from crypto.encoding import b64u_encode
from crypto.hashing import content_address
from crypto.instant import format_instant, parse_instant
from crypto.revocation import Revocation, RevocationList

__all__ = [
    "OPENS",
    "ORG",
    "ORG_NAME",
    "Cast",
    "Sample",
    "Voter",
    "assemble",
    "build_vote",
    "bundle_of",
    "dump",
    "load",
    "make_key",
    "make_voters",
    "resign",
    "sign",
]

ORG = 7
ORG_NAME = "Первичная профсоюзная организация ООО «Север»"
#: When the votes open, unless told otherwise.
OPENS = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)
OPTIONS = ("За", "Против", "Воздержался")
SECOND = dt.timedelta(seconds=1)

# Strings written between quotes as they are: nothing in them needs an escape.
_PLAIN = re.compile(r"[A-Za-z0-9:_.\-]*")

ChoiceFunction = Callable[[int, int], Sequence[int]]
EntryHook = Callable[[int, dict[str, Any]], Mapping[str, Any] | None]
DocumentHook = Callable[[dict[str, Any]], Mapping[str, Any]]


def make_key(label: str, seed: int | str = 0) -> SigningKey:
    """A key derived from ``seed`` and ``label``: the same every run."""
    return SigningKey.from_seed(hashlib.sha256(f"kvorum bundle {seed}: {label}".encode()).digest())


def _q(text: str) -> str:
    """A JSON string in canonical form."""
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    return canonicalize(text).decode()


def sign(payload: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """A signed envelope as a plain JSON object (what a bundle holds)."""
    return _sign(payload, canonicalize_signed(payload), key)[0]


def _sign(
    payload: Mapping[str, Any], canonical: bytes, key: SigningKey
) -> tuple[dict[str, Any], bytes]:
    """The envelope of a payload whose canonical bytes are known, and its own canonical
    bytes (members in order: payload, signature, signer)."""
    signature = b64u_encode(key.sign(canonical))
    signer = key.public_key.key_id
    envelope = {"payload": payload, "signer": signer, "signature": signature}
    return envelope, b'{"payload":%s,"signature":"%s","signer":"%s"}' % (
        canonical,
        signature.encode(),
        signer.encode(),
    )


def resign(envelope: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """The envelope's payload signed again (after a test changed it) by ``key``."""
    return sign(envelope["payload"], key)


def _canonical_with_list(payload: Mapping[str, Any], name: str) -> bytes:
    """``canonicalize_signed(payload)`` where ``payload[name]`` is a long array of
    small flat objects (a roll, a roll call): the array is composed without the
    general encoder, the rest goes through it."""
    items = payload.get(name)
    if not isinstance(items, list) or not items:
        return canonicalize_signed(payload)
    head = canonicalize_signed({**payload, name: 0})
    marker = b'"%s":0' % name.encode()
    if head.count(marker) != 1 or any(not isinstance(item, dict) for item in items):
        return canonicalize_signed(payload)
    parts = []
    for item in items:
        members = []
        for key in sorted(item):
            value = item[key]
            if isinstance(value, str):
                text = _q(value)
            elif isinstance(value, list) and all(type(n) is int for n in value):
                text = "[" + ",".join(map(str, value)) + "]"
            elif type(value) is int:
                text = str(value)
            else:
                return canonicalize_signed(payload)
            members.append(f'"{key}":{text}')
        parts.append("{" + ",".join(members) + "}")
    array = ("[" + ",".join(parts) + "]").encode()
    return head.replace(marker, b'"%s":%s' % (name.encode(), array))


def load(data: bytes) -> Any:
    """A bundle as JSON objects, to change."""
    return parse_json(data)


def dump(bundle: object) -> bytes:
    """A (changed) bundle back to canonical bytes."""
    return canonicalize(bundle)


@dataclass(frozen=True)
class Voter:
    """A member with a key and its certificate (``index`` counts from 0)."""

    index: int
    member: int
    name: str
    key: SigningKey
    key_id: str
    serial: int
    issued_at: dt.datetime
    expires_at: dt.datetime
    certificate: dict[str, Any]
    certificate_bytes: bytes = field(repr=False)


def make_voters(
    count: int,
    *,
    registry: SigningKey,
    seed: int | str = 0,
    opens: dt.datetime = OPENS,
    certificate_times: Mapping[int, tuple[dt.datetime, dt.datetime]] | None = None,
    first_member: int = 101,
    first_serial: int = 10_001,
    org: int = ORG,
    org_name: str = ORG_NAME,
    shared_keys: Mapping[int, int] | None = None,
) -> tuple[Voter, ...]:
    """``count`` members (ids from ``first_member``), each with a key and a certificate
    signed by ``registry``, valid from 30 days before ``opens`` for a year unless
    ``certificate_times`` (voter index → (issued_at, expires_at)) says otherwise.
    ``shared_keys`` (voter index → another voter's index): whose key a voter gets
    certified, which an honest registry never does."""
    shared = shared_keys or {}
    times = certificate_times or {}
    issuer = registry.public_key.key_id
    org_part = f'"org":{org},"org_name":{_q(org_name)}'
    default = (
        format_instant(opens - dt.timedelta(days=30)),
        format_instant(opens + dt.timedelta(days=365)),
    )
    voters = []
    for index in range(count):
        key = make_key(f"member {shared.get(index, index)}", seed)
        public = key.public_key
        member = first_member + index
        serial = first_serial + index
        if index in times:
            issued, expires = (format_instant(t) for t in times[index])
        else:
            issued, expires = default
        canonical = (
            f'{{"expires_at":"{expires}","issued_at":"{issued}","issuer":"{issuer}",'
            f'"member":{member},{org_part},"public_key":"{public.b64u}",'
            f'"serial":{serial},"type":"kvorum.key-certificate","v":1}}'
        ).encode()
        payload = {
            "type": "kvorum.key-certificate",
            "v": 1,
            "serial": serial,
            "member": member,
            "org": org,
            "org_name": org_name,
            "public_key": public.b64u,
            "issued_at": issued,
            "expires_at": expires,
            "issuer": issuer,
        }
        certificate, certificate_bytes = _sign(payload, canonical, registry)
        voters.append(
            Voter(
                index=index,
                member=member,
                name=_name(index),
                key=key,
                key_id=public.key_id,
                serial=serial,
                issued_at=parse_instant(issued),
                expires_at=parse_instant(expires),
                certificate=certificate,
                certificate_bytes=certificate_bytes,
            )
        )
    return tuple(voters)


_SURNAMES = ("Иванова", "Петров", "Сидорова", "Кузнецов", "Смирнова", "Попов", "Волкова")


def _name(index: int) -> str:
    return f"{_SURNAMES[index % len(_SURNAMES)]} {index + 1}"


@dataclass(frozen=True)
class Cast:
    """One ballot put on the board, by default the voter's own, signed properly.

    ``voter`` is an index into the voters; ``at`` the time the board received it
    (default: one second after the entry before). The rest make it wrong: ``key``
    (index of the voter whose key signs it), ``serial`` (the certificate it names),
    ``vote`` and ``definition`` (what the signed payload names), ``nonce``,
    ``envelope`` (put this signed ballot on the board instead), ``copy_of`` (the
    ballot of that earlier cast again, byte for byte). ``counted``: whether the
    server that made the bundle counted it in the result. ``hall_for``: the entry is
    instead a hall record signed by ``voter`` (the secretary) for the voter of that
    index, who is the one counted.
    """

    voter: int
    choice: tuple[int, ...] = (1,)
    at: dt.datetime | None = None
    key: int | None = None
    serial: int | None = None
    vote: int | None = None
    definition: str | None = None
    nonce: str | None = None
    envelope: Mapping[str, Any] | None = None
    copy_of: int | None = None
    counted: bool = True
    hall_for: int | None = None


@dataclass
class Sample:
    """One closed vote as its server would have signed it, and how to get its bundle."""

    registry: SigningKey
    registry_keys: tuple[PublicKey, ...]
    voters: tuple[Voter, ...]
    definition: Definition
    casts: tuple[Cast, ...]
    entries: list[bytes]
    entry_hashes: list[str]
    received: list[dt.datetime]
    outcome: Outcome
    closed_at: dt.datetime
    record: VoteRecord
    documents: dict[str, bytes] = field(repr=False)
    #: The checkpoint's version: 2 places revocations on the board, 1 dates them only.
    format_version: int = 2
    _receipts: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def members(self) -> dict[int, SigningKey]:
        """Member id → the member's signing key."""
        return {voter.member: voter.key for voter in self.voters}

    @property
    def head(self) -> str:
        return self.entry_hashes[-1] if self.entry_hashes else self.definition.fingerprint

    def trusted(self) -> dict[str, PublicKey]:
        """The registry keys, as an auditor would get them from keys.json."""
        return {key.key_id: key for key in self.registry_keys}

    def receipt(self, seq: int) -> dict[str, Any]:
        """The signed receipt the voter of entry ``seq`` (from 1) was given."""
        if seq not in self._receipts:
            payload = receipt_payload(
                self.definition.vote,
                self.definition.fingerprint,
                seq,
                self.entry_hashes[seq - 1],
                self.received[seq - 1],
                self.registry.public_key.key_id,
            )
            self._receipts[seq] = sign(payload, self.registry)
        return self._receipts[seq]

    def receipts(self) -> list[dict[str, Any]]:
        """Every entry's receipt, in board order."""
        return [self.receipt(seq) for seq in range(1, len(self.entries) + 1)]

    def bundle_bytes(self) -> bytes:
        """The audit bundle of this one vote (the bytes :meth:`assemble` makes, joined
        from the documents' canonical bytes without encoding anything again)."""
        return bundle_of([self])

    def assemble(self) -> bytes:
        """The audit bundle as :func:`ballots.bundle.assemble_bundle` makes it."""
        return assemble_bundle(self.registry_keys, [self.record])

    def vote_bytes(self) -> bytes:
        """This vote's object in a bundle, as ``assemble_bundle`` lays it out."""
        certificates = sorted(self.voters, key=lambda voter: voter.serial)
        return b"".join(
            [
                b'{"certificates":[',
                b",".join(voter.certificate_bytes for voter in certificates),
                b'],"checkpoint":',
                self.documents["checkpoint"],
                b',"definition":',
                self.documents["definition"],
                b',"entries":[',
                b",".join(self.entries),
                b'],"result":',
                self.documents["result"],
                b',"revocations":',
                self.documents["revocations"],
                b"}",
            ]
        )


def bundle_of(samples: Sequence[Sample]) -> bytes:
    """One bundle holding several votes (of one meeting, say)."""
    keys: dict[str, str] = {}
    for sample in samples:
        keys.update((key.key_id, key.b64u) for key in sample.registry_keys)
    return b"".join(
        [
            b'{"registry_keys":',
            canonicalize(keys),
            b',"type":"%s","v":%d,"votes":['
            % (BUNDLE_TYPE.encode(), max(sample.format_version for sample in samples)),
            b",".join(sample.vote_bytes() for sample in samples),
            b"]}",
        ]
    )


def assemble(samples: Sequence[Sample]) -> bytes:
    """:func:`bundle_of` made by :func:`ballots.bundle.assemble_bundle`."""
    keys: dict[str, PublicKey] = {}
    for sample in samples:
        keys.update(sample.trusted())
    return assemble_bundle(keys.values(), [sample.record for sample in samples])


def build_vote(
    voters: int | Sequence[Voter] = 5,
    ballots_per_voter: int = 1,
    choices: ChoiceFunction | None = None,
    *,
    casts: Sequence[Cast] | None = None,
    vote_id: int = 1,
    kind: str = "meeting",
    rule: Rule | None = None,
    turnout: Turnout | None = None,
    options: Sequence[str] = OPTIONS,
    min_choices: int = 1,
    max_choices: int = 1,
    publicity: str = "named",
    composition: int | None = None,
    present: int | None = None,
    opens: dt.datetime = OPENS,
    closes: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
    late: Collection[int] = (),
    late_keys: bool | None = None,
    off_roll: Collection[int] = (),
    certificate_times: Mapping[int, tuple[dt.datetime, dt.datetime]] | None = None,
    shared_keys: Mapping[int, int] | None = None,
    revoked: Mapping[int, dt.datetime] | None = None,
    places: Mapping[int, int] | None = None,
    format_version: int = 2,
    crl_number: int = 1,
    crl_issued_at: dt.datetime | None = None,
    registry: SigningKey | None = None,
    certificate_registry: SigningKey | None = None,
    extra_registry_keys: Iterable[SigningKey] = (),
    entry_hook: EntryHook | None = None,
    checkpoint_hook: DocumentHook | None = None,
    result_hook: DocumentHook | None = None,
    title: str | None = None,
    question: str = "Утвердить смету расходов профсоюзного бюджета на 2025 год?",
    seed: int | str = 0,
    secretary: int | None = None,
    in_hall: Collection[int] = (),
) -> Sample:
    """Make a closed vote and everything its bundle holds.

    ``voters``: how many (made here) or voters already made (shared by the votes
    of one meeting). Without ``casts`` each voter votes ``ballots_per_voter``
    times, round after round; ``choices(voter index, round)`` gives the option
    numbers (default: a fixed pattern in which option 1 wins). ``late``: voters
    whose certificate is issued after the opening and is not on the roll (the
    definition then allows late keys); ``off_roll``: voters with a certificate
    in the bundle who are not on the roll; ``revoked``: voter index → when their
    certificate was revoked; ``places``: voter index → the number of entries the
    board held when it took that revocation into account (version 2; by default the
    entries received before the revocation's second). ``format_version`` 1 makes the
    bundle of before version 2, whose checkpoint does not place revocations.
    ``certificate_registry`` signs the certificates (an
    older registry key, say); ``extra_registry_keys`` are listed but sign
    nothing. The hooks change a document before it is signed: ``entry_hook(cast
    index, entry)`` may return another entry or None to leave it off the board.
    """
    registry = registry or make_key("registry", seed)
    certificate_registry = certificate_registry or registry
    if isinstance(voters, int):
        times = dict(certificate_times or {})
        for index in late:
            times.setdefault(index, (opens + SECOND, opens + dt.timedelta(days=365)))
        voters = make_voters(
            voters,
            registry=certificate_registry,
            seed=seed,
            opens=opens,
            certificate_times=times,
            shared_keys=shared_keys,
        )
    voters = tuple(voters)
    issuer = registry.public_key.key_id

    if casts is None:
        choose = choices or _default_choices(len(options), min_choices, max_choices)
        casts = [
            Cast(voter.index, tuple(choose(voter.index, round_)))
            for round_ in range(ballots_per_voter)
            for voter in voters
        ]
    casts = tuple(casts)

    if closes is None and kind != "meeting":
        closes = opens + max(dt.timedelta(days=7), (len(casts) + 3600) * SECOND)
    roll = tuple(
        RollEntry(
            voter.member,
            voter.name,
            () if voter.index in late else (voter.serial,),
            in_hall=voter.index in in_hall,
        )
        for voter in voters
        if voter.index not in off_roll
    )
    if kind == "meeting":
        present = len(roll) if present is None else present
        composition = len(roll) + 3 if composition is None else composition
    else:
        composition = len(roll) if composition is None else composition
    definition = Definition(
        vote=vote_id,
        org=ORG,
        org_name=ORG_NAME,
        kind=kind,
        title=title or f"Голосование {vote_id}",
        question=question,
        options=tuple(options),
        min_choices=min_choices,
        max_choices=max_choices,
        secret=False,
        publicity=publicity,
        rule=rule or (Rule("none") if kind == "survey" else Rule("cast")),
        turnout=turnout,
        composition=composition,
        present=present,
        opens_at=opens,
        closes_at=closes,
        late_keys=bool(late) if late_keys is None else late_keys,
        roll=roll,
        issuer=issuer,
        secretary=None
        if secretary is None
        else Secretary(voters[secretary].member, voters[secretary].name),
    )
    fingerprint = definition.fingerprint
    definition_payload = definition.to_payload()
    definition_document, definition_bytes = _sign(
        definition_payload, _canonical_with_list(definition_payload, "roll"), registry
    )

    board = _Board(definition, voters, entry_hook, seed)
    for position, cast in enumerate(casts):
        board.add(position, cast, opens + (position + 1) * SECOND)

    outcome = decide(definition, board.last)
    if closed_at is None:
        closed_at = closes or (board.received[-1] if board.received else opens) + 60 * SECOND
    placed: dict[int, int] | None = None
    if format_version >= 2:
        placed = {}
        for index, when in (revoked or {}).items():
            default = sum(1 for received in board.received if received < when)
            placed[voters[index].serial] = (places or {}).get(index, default)
    checkpoint: dict[str, Any] = checkpoint_payload(
        definition, len(board.entries), board.head or fingerprint, closed_at, issuer, placed
    )
    if checkpoint_hook is not None:
        checkpoint = dict(checkpoint_hook(checkpoint))
    checkpoint_document, checkpoint_bytes = _sign(
        checkpoint, canonicalize_signed(checkpoint), registry
    )

    revocations = RevocationList(
        organisation_id=ORG,
        number=crl_number,
        issued_at=crl_issued_at or max([closed_at, *(revoked or {}).values()]) + 60 * SECOND,
        issuer=issuer,
        entries=tuple(
            Revocation(voters[index].serial, when, "key compromised: phone lost")
            for index, when in sorted((revoked or {}).items(), key=lambda i: voters[i[0]].serial)
        ),
    )
    crl_payload = revocations.to_payload()
    revocations_document, revocations_bytes = _sign(
        crl_payload, canonicalize_signed(crl_payload), registry
    )

    result: dict[str, Any] = result_payload(
        definition,
        outcome,
        checkpoint=content_address(checkpoint_bytes),
        length=len(board.entries),
        head=board.head or fingerprint,
        revocations=crl_number,
        issuer=issuer,
    )
    if result_hook is not None:
        result = dict(result_hook(result))
    result_document, result_bytes = _sign(
        result, _canonical_with_list(result, "roll_call"), registry
    )

    listed = {registry.public_key.key_id: registry.public_key}
    for key in (certificate_registry, *extra_registry_keys):
        listed[key.public_key.key_id] = key.public_key
    record = VoteRecord(
        definition=definition_document,
        certificates=[voter.certificate for voter in voters],
        revocations=revocations_document,
        entries=board.entries,
        checkpoint=checkpoint_document,
        result=result_document,
    )
    return Sample(
        registry=registry,
        registry_keys=tuple(listed.values()),
        voters=voters,
        definition=definition,
        casts=casts,
        entries=board.entries,
        entry_hashes=board.hashes,
        received=board.received,
        outcome=outcome,
        closed_at=closed_at,
        record=record,
        documents={
            "checkpoint": checkpoint_bytes,
            "definition": definition_bytes,
            "result": result_bytes,
            "revocations": revocations_bytes,
        },
        format_version=format_version,
    )


def _default_choices(options: int, least: int, most: int) -> ChoiceFunction:
    def choose(voter: int, round_: int) -> tuple[int, ...]:
        if most == 1:
            # Two of three for option 1, so that a majority rule adopts.
            return (1,) if (voter + round_) % 3 != 2 else (2 + (voter + round_) % (options - 1),)
        count = least + (voter + round_) % (most - least + 1)
        start = (voter + round_) % options
        return tuple(sorted((start + step) % options + 1 for step in range(count)))

    return choose


class _Board:
    """The bulletin board as the server appends to it: entries chained as bytes."""

    def __init__(
        self,
        definition: Definition,
        voters: Sequence[Voter],
        hook: EntryHook | None,
        seed: int | str,
    ) -> None:
        self.definition = definition
        self.voters = voters
        self.hook = hook
        self.seed = seed
        self.entries: list[bytes] = []
        self.hashes: list[str] = []
        self.received: list[dt.datetime] = []
        self.last: dict[int, tuple[int, ...]] = {}
        self.ballots: list[tuple[bytes, tuple[int, ...], int]] = []  # per cast
        self.head = ""

    def add(self, position: int, cast: Cast, default_time: dt.datetime) -> None:
        definition = self.definition
        voter = self.voters[cast.voter]
        if cast.copy_of is not None:
            ballot, choice, member = self.ballots[cast.copy_of]
        elif cast.hall_for is not None:
            member = self.voters[cast.hall_for].member
            ballot, choice = self._record(position, cast, voter, member), cast.choice
        else:
            ballot, choice = self._ballot(position, cast, voter), cast.choice
            member = voter.member
        self.ballots.append((ballot, choice, member))
        received = cast.at or default_time
        seq = len(self.entries) + 1
        prev = self.head or definition.fingerprint
        if self.hook is None:
            canonical = (
                f'{{"ballot":{ballot.decode()},"prev":"{prev}",'
                f'"received_at":"{format_instant(received)}","seq":{seq},'
                f'"type":"{ENTRY_TYPE}","v":1,"vote":{definition.vote}}}'
            ).encode()
        else:
            entry = {
                "type": ENTRY_TYPE,
                "v": 1,
                "vote": definition.vote,
                "seq": seq,
                "prev": prev,
                "ballot": parse_json(ballot),
                "received_at": format_instant(received),
            }
            changed = self.hook(position, entry)
            if changed is None:
                return
            canonical = canonicalize_signed(changed)
        self.head = content_address(canonical)
        self.entries.append(canonical)
        self.hashes.append(self.head)
        self.received.append(received)
        if cast.counted:
            self.last[member] = choice

    def _record(self, position: int, cast: Cast, secretary: Voter, member: int) -> bytes:
        """The canonical bytes of a hall record signed by ``secretary``."""
        label = f"nonce {self.seed} {self.definition.vote} {position}".encode()
        payload = {
            "type": HALL_RECORD_TYPE,
            "v": 1,
            "vote": self.definition.vote if cast.vote is None else cast.vote,
            "definition": cast.definition or self.definition.fingerprint,
            "serial": cast.serial or secretary.serial,
            "member": member,
            "choice": list(cast.choice),
            "nonce": cast.nonce or b64u_encode(hashlib.sha256(label).digest()[:16]),
        }
        signer = self.voters[cast.key] if cast.key is not None else secretary
        return canonicalize(sign(payload, signer.key))

    def _ballot(self, position: int, cast: Cast, voter: Voter) -> bytes:
        """The canonical bytes of the signed ballot envelope."""
        if cast.envelope is not None:
            return canonicalize(cast.envelope)
        signer = self.voters[cast.key] if cast.key is not None else voter
        nonce = cast.nonce
        if nonce is None:
            label = f"nonce {self.seed} {self.definition.vote} {position}".encode()
            nonce = b64u_encode(hashlib.sha256(label).digest()[:16])
        choice = ",".join(str(number) for number in cast.choice)
        vote = self.definition.vote if cast.vote is None else cast.vote
        payload = (
            f'{{"choice":[{choice}],'
            f'"definition":{_q(cast.definition or self.definition.fingerprint)},'
            f'"nonce":{_q(nonce)},"serial":{cast.serial or voter.serial},'
            f'"type":"{BALLOT_TYPE}","v":1,"vote":{vote}}}'
        )
        signature = b64u_encode(signer.key.sign(payload.encode()))
        return (
            f'{{"payload":{payload},"signature":"{signature}","signer":"{signer.key_id}"}}'
        ).encode()
