"""The bulletin board: accepting signed ballots onto a vote's hash chain.

A ballot is checked as far as it can be without the database (its shape, the vote
it names and, when this process already knows the key's certificate, the signature
and the roll) and then queued. One appender per vote and process takes everything
queued so far and appends it in a single transaction that holds the vote row's lock
(``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite): the chain
gets exactly one position per entry, across processes too, and a burst of ballots
costs one durable commit instead of one each ("group commit"). The same transaction
reads the batch's certificates (revoked or not, and those not known yet, whose
ballots are then checked there). Receipts are signed only after the commit returned.

The hot path avoids the general canonical JSON encoder where the bytes can be
composed exactly (a plain ballot, its entry, its receipt); see ``_read_ballot``.

The ballot carries its own authentication — a signature by a certified key of a
voter on the roll — so casting needs no session cookie.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import defer

from ballots.formats import (
    ENTRY_TYPE,
    HALL_RECORD_TYPE,
    RECEIPT_TYPE,
    VERSION,
    BallotRefused,
    Definition,
    ballot_fields,
    hall_record_fields,
    receipt_payload,
)
from ballots.models import BoardEntry, BoardRevocation, Vote, VoteState
from ballots.votes import definition_of, refusal, refused, second
from crypto.canonical import CanonicalJSONError, canonicalize_signed, parse_json
from crypto.certificate import KeyCertificate
from crypto.ed25519 import SigningKey
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.hashing import content_address
from crypto.instant import format_instant
from registry.credentials import KEY_CERTIFICATE
from registry.errors import NotFound
from registry.models import IssuedCredential
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring

__all__ = ["MAX_BATCH", "Board", "BoardHooks"]

log = logging.getLogger("kvorum.board")

MAX_BATCH = 1000
_CACHE_LIMIT = 200_000


@dataclass
class BoardHooks:
    """What a higher layer does around an append: inside the transaction (say, append a
    meeting event) and after it committed (say, publish that event)."""

    appended: Callable[[AsyncSession, Vote], Awaitable[None]] | None = None
    committed: Callable[[AsyncSession], Awaitable[None]] | None = None


@dataclass(frozen=True)
class _Certificate:
    member_id: int
    organisation_id: int
    key: Any  # crypto.ed25519.PublicKey
    issued_at: dt.datetime
    expires_at: dt.datetime


@dataclass
class _VoteContext:
    definition: Definition
    closed: bool = False


@dataclass(frozen=True)
class _Written:
    """Where a ballot is on the board: what its receipt says."""

    seq: int
    hash: str
    received_at: dt.datetime


@dataclass(frozen=True)
class _Ballot:
    """A signed ballot as received: its payload, the bytes signed, the signature."""

    payload: Mapping[str, object]
    canonical: bytes
    signature: bytes
    signer: str


@dataclass
class _Pending:
    document: _Ballot
    definition: Definition
    ballot: bytes  # the signed ballot's canonical bytes, as the entry holds it
    digest: str
    serial: int
    choice: tuple[int, ...]
    future: asyncio.Future[dict[str, Any]] = field(repr=False)
    # Known once the ballot is checked: in cast() if the certificate was known, else
    # by the appender, which reads the certificates it needs in its transaction.
    certificate: _Certificate | None = None
    # A secretary's hall record: the member it records (the one counted).
    recorded: int | None = None


class Board:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        keyring: RegistryKeyring,
        hooks: BoardHooks | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.keyring = keyring
        self.hooks = hooks or BoardHooks()
        self._votes: dict[int, _VoteContext] = {}
        self._loading: dict[int, asyncio.Future[_VoteContext]] = {}
        self._certificates: dict[int, _Certificate] = {}
        self._queues: dict[int, list[_Pending]] = {}
        self._appenders: dict[int, asyncio.Task[None]] = {}
        self._resent: set[int] = set()  # votes whose last batch held a resent ballot

    # --- accepting ------------------------------------------------------------------------

    async def cast(self, vote_id: int, body: bytes | Mapping[str, object]) -> dict[str, Any]:
        """Check a signed ballot, append it, and return its receipt once it is durable.

        Raises a :class:`~registry.errors.DomainError` whose ``code`` is the reason:
        ``malformed``, ``wrong_vote``, ``bad_choice``, ``unknown_key``,
        ``bad_signature``, ``not_on_roll``, ``expired``, ``not_yet_valid``,
        ``revoked`` or ``closed``; for a secretary's hall record (docs/ballots.md,
        "Hall records") also ``bad_hall_record``, ``hall_record_not_allowed``,
        ``not_secretary``, ``not_in_hall`` or ``already_voted``.
        """
        document = _read_ballot(body)
        context = await self._context(vote_id)
        definition = context.definition
        recorded: int | None = None
        try:
            if document.payload.get("type") == HALL_RECORD_TYPE:
                serial, recorded, choice = hall_record_fields(document.payload, definition)
            else:
                serial, choice = ballot_fields(document.payload, definition)
        except BallotRefused as exc:
            raise refused(exc) from exc
        pending = _Pending(
            document=document,
            definition=definition,
            ballot=_ballot_bytes(document),
            digest=hashlib.sha256(document.signature).hexdigest(),
            serial=serial,
            choice=choice,
            future=asyncio.get_running_loop().create_future(),
            recorded=recorded,
        )
        if serial in self._certificates:
            _check(pending, self._certificates[serial], utcnow())
        # Else the appender reads the certificate in the transaction that appends the
        # ballot (one query for the batch) and checks it there: a separate read for
        # each voter's first ballot cost a transaction each (on SQLite one holding the
        # write lock) and halved the batches.
        if context.closed:
            raise refusal("closed", "the vote is closed")
        self._queues.setdefault(vote_id, []).append(pending)
        if vote_id not in self._appenders:
            self._appenders[vote_id] = asyncio.create_task(
                self._drain(vote_id), name=f"kvorum-board-{vote_id}"
            )
        return await asyncio.shield(pending.future)

    async def _context(self, vote_id: int) -> _VoteContext:
        context = self._votes.get(vote_id)
        if context is not None:
            return context
        # One load per vote however many ballots arrive before it is done: reading a
        # definition with a roll of 10,000 takes about a second of CPU, and each of a
        # burst's first ballots reading it again stalled the server for minutes.
        loading = self._loading.get(vote_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load_context(vote_id))
            self._loading[vote_id] = loading
            loading.add_done_callback(lambda _done: self._loading.pop(vote_id, None))
        return await asyncio.shield(loading)

    async def _load_context(self, vote_id: int) -> _VoteContext:
        async with self.sessionmaker() as db:
            vote = await db.get(Vote, vote_id)
            if vote is None or not vote.definition:
                raise NotFound("no such vote")
            closed = vote.state is VoteState.CLOSED
        # Off the event loop: the other requests keep being served meanwhile.
        context = _VoteContext(await asyncio.to_thread(definition_of, vote), closed=closed)
        if len(self._votes) > 1000:
            self._votes.clear()
        self._votes[vote_id] = context
        return context

    def _known(self, serial: int, documents: Mapping[int, str]) -> _Certificate | None:
        """The certificate ``serial`` (None if there is no such key certificate), read
        from its stored document once and kept. A serial without one is not kept as
        such: serials are issued in sequence, and remembering that the next ones did
        not exist would refuse the ballots of keys certified later (a ballot naming
        them would have been enough to make it so)."""
        certificate = self._certificates.get(serial)
        if certificate is None:
            certificate = _parse_certificate(documents.get(serial))
            if certificate is not None:
                if len(self._certificates) >= _CACHE_LIMIT:
                    self._certificates.clear()
                self._certificates[serial] = certificate
        return certificate

    def forget(self, vote_id: int) -> None:
        """The vote closed (in this process): refuse further ballots at once."""
        context = self._votes.get(vote_id)
        if context is not None:
            context.closed = True

    # --- appending ------------------------------------------------------------------------

    async def _drain(self, vote_id: int) -> None:
        try:
            while self._queues.get(vote_id):
                queue = self._queues[vote_id]
                batch, self._queues[vote_id] = queue[:MAX_BATCH], queue[MAX_BATCH:]
                try:
                    await self._append(vote_id, batch)
                except Exception as exc:  # the whole batch failed: nothing was written
                    log.exception("appending %d ballots to vote %d failed", len(batch), vote_id)
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
        finally:
            self._appenders.pop(vote_id, None)
            if not self._queues.get(vote_id):
                self._queues.pop(vote_id, None)

    async def _append(self, vote_id: int, batch: list[_Pending]) -> None:
        # A ballot already on the board (a client resending it after its answer was
        # lost) gets its entry's receipt again. Rather than look every batch's ballots
        # up — a query whose plan PostgreSQL may fix while the table is new and small,
        # then scan the whole board with it — the batch is written as if none were
        # there, and the unique constraint says otherwise: then it is written again,
        # looking them up, as are the vote's batches until one finds none.
        lookup = vote_id in self._resent
        try:
            found = await self._write(vote_id, batch, lookup=lookup)
        except IntegrityError:
            if lookup:
                raise
            self._resent.add(vote_id)
            found = await self._write(vote_id, batch, lookup=True)
        if not found:
            self._resent.discard(vote_id)

    async def _write(self, vote_id: int, batch: list[_Pending], *, lookup: bool) -> bool:
        """Append the batch in one transaction; answer its ballots once it committed.
        With ``lookup``, find the ballots already on the board (returns whether any)."""
        answers: list[tuple[_Pending, _Written | None, Exception | None]] = []
        async with self.sessionmaker() as db:
            async with db.begin():
                # Not the definition (megabytes for a large roll) nor the closing
                # documents: every batch reads this row.
                vote = await db.scalar(
                    select(Vote).options(*_LARGE).where(Vote.id == vote_id).with_for_update()
                )
                assert vote is not None
                revoked: set[int] = set()
                documents: dict[int, str] = {}
                for serial, kind, document, revoked_at in (
                    await db.execute(
                        select(
                            IssuedCredential.serial,
                            IssuedCredential.kind,
                            IssuedCredential.document,
                            IssuedCredential.revoked_at,
                        ).where(IssuedCredential.serial.in_({p.serial for p in batch}))
                    )
                ).tuples():
                    if revoked_at is not None:
                        revoked.add(serial)
                    if kind == KEY_CERTIFICATE:
                        documents[serial] = document
                # The time is read after the revocations: a revocation this batch sees
                # was stamped before it committed, so before ``now`` — the version 2
                # checkpoint's promise that a revocation is not dated after the entry
                # that follows its place (docs/ballots.md, V-82).
                now = second(utcnow())
                if vote.state is VoteState.CLOSED or (
                    vote.closes_at is not None and now >= vote.closes_at
                ):
                    self.forget(vote_id)
                    error = refusal("closed", "the vote is closed")
                    for pending in batch:
                        pending.future.set_exception(error)
                    return False
                if revoked:
                    await _place_revocations(db, vote, revoked)
                existing: dict[str, _Written] = {}
                if lookup:
                    existing = {
                        digest: _Written(seq, entry_hash, received)
                        for digest, seq, entry_hash, received in (
                            await db.execute(
                                select(
                                    BoardEntry.ballot_digest,
                                    BoardEntry.seq,
                                    BoardEntry.hash,
                                    BoardEntry.received_at,
                                ).where(
                                    BoardEntry.vote_id == vote_id,
                                    BoardEntry.ballot_digest.in_({p.digest for p in batch}),
                                )
                            )
                        ).tuples()
                    }
                received_at = max(now, vote.board_time or now)
                received_instant = format_instant(received_at)
                rows: list[dict[str, Any]] = []
                fresh: dict[str, _Written] = {}
                # A member's own ballot takes precedence over the secretary's count:
                # a record after it is refused (read under the vote's lock).
                own = await _own_ballots(db, vote_id, batch)
                for pending in batch:
                    if pending.certificate is None:  # its certificate was not known yet
                        try:
                            _check(pending, self._known(pending.serial, documents), now)
                        except Exception as exc:
                            answers.append((pending, None, exc))
                            continue
                    certificate = pending.certificate
                    assert certificate is not None
                    if received_at >= certificate.expires_at:
                        answers.append(
                            (pending, None, refusal("expired", f"key {pending.serial} expired"))
                        )
                        continue
                    if pending.serial in revoked:
                        answers.append(
                            (pending, None, refusal("revoked", f"key {pending.serial} is revoked"))
                        )
                        continue
                    known = existing.get(pending.digest) or fresh.get(pending.digest)
                    if known is not None:  # a resent ballot: the same receipt again
                        answers.append((pending, known, None))
                        continue
                    counted = certificate.member_id
                    if pending.recorded is not None:
                        counted = pending.recorded
                        if counted in own:
                            answers.append(
                                (
                                    pending,
                                    None,
                                    refusal(
                                        "already_voted",
                                        f"member {counted} has cast a ballot of their own",
                                    ),
                                )
                            )
                            continue
                    else:
                        own.add(counted)
                    seq = vote.board_length + 1
                    canonical = _entry_bytes(
                        vote.id, seq, vote.board_head, pending.ballot, received_instant
                    )
                    digest = content_address(canonical)
                    rows.append(
                        {
                            "vote_id": vote.id,
                            "seq": seq,
                            "member_id": counted,
                            "serial": pending.serial,
                            "choice": json.dumps(list(pending.choice)),
                            "entry": canonical.decode(),
                            "hash": digest,
                            "ballot_digest": pending.digest,
                            "received_at": received_at,
                        }
                    )
                    written = _Written(seq, digest, received_at)
                    fresh[pending.digest] = written
                    vote.board_length, vote.board_head = seq, digest
                    answers.append((pending, written, None))
                if rows:
                    # Core, not the ORM's bulk insert: its bookkeeping cost more than
                    # the statement.
                    await db.execute(insert(_BOARD_ENTRY), rows)
                    vote.board_time = received_at
                    if self.hooks.appended is not None:
                        await self.hooks.appended(db, vote)
            # Committed (durably: synchronous commits on both backends) — now receipts.
            if rows and self.hooks.committed is not None:
                await self.hooks.committed(db)
        fingerprint = vote.fingerprint
        key = self.keyring.current
        for pending, place, problem in answers:
            if pending.future.done():
                continue
            if problem is not None or place is None:
                pending.future.set_exception(problem or RuntimeError("no entry"))
                continue
            pending.future.set_result(
                {
                    "vote": vote.id,
                    "seq": place.seq,
                    "entry": place.hash,
                    "received_at": format_instant(place.received_at),
                    "choice": list(pending.choice),
                    "receipt": _receipt(vote.id, fingerprint, place, key),
                }
            )
        return bool(existing)


async def _own_ballots(db: AsyncSession, vote_id: int, batch: list[_Pending]) -> set[int]:
    """The members a batch's hall records name who have a ballot of their own on the
    board. A meeting vote takes only its roll's keys, and a record is never signed by
    the member it names, so an own ballot is an entry of the member under one of the
    roll's serials for them."""
    wanted: dict[int, tuple[int, ...]] = {}
    for pending in batch:
        if pending.recorded is not None:
            voter = pending.definition.voter(pending.recorded)
            wanted[pending.recorded] = voter.keys if voter is not None else ()
    if not wanted:
        return set()
    rows = await db.execute(
        select(BoardEntry.member_id, BoardEntry.serial).where(
            BoardEntry.vote_id == vote_id, BoardEntry.member_id.in_(set(wanted))
        )
    )
    return {member for member, serial in rows.tuples() if serial in wanted[member]}


async def _place_revocations(db: AsyncSession, vote: Vote, revoked: set[int]) -> None:
    """Place on the board the revocations this append is the first to take into
    account: after the entries it holds now, before any it appends (which refuses
    the revoked certificates' ballots)."""
    placed = set(
        (
            await db.scalars(
                select(BoardRevocation.serial).where(
                    BoardRevocation.vote_id == vote.id, BoardRevocation.serial.in_(revoked)
                )
            )
        ).all()
    )
    for serial in sorted(revoked - placed):
        db.add(BoardRevocation(vote_id=vote.id, serial=serial, after=vote.board_length))
    await db.flush()


def _check(pending: _Pending, certificate: _Certificate | None, now: dt.datetime) -> None:
    """Check the ballot against its certificate and the roll (raises the refusal);
    on success, note the certificate on it."""
    document, definition, serial = pending.document, pending.definition, pending.serial
    if certificate is None or certificate.organisation_id != definition.org:
        raise refusal("unknown_key", f"no key certificate {serial} of this union")
    if document.signer != certificate.key.key_id:
        raise refusal(
            "bad_signature",
            f"the ballot is signed by key {document.signer}, "
            f"certificate {serial} certifies key {certificate.key.key_id}",
        )
    try:
        certificate.key.verify(document.canonical, document.signature)
    except CredentialError as exc:
        raise refusal("bad_signature", "the ballot's signature does not verify") from exc
    if pending.recorded is not None:
        # A hall record: signed by the definition's secretary (hall_record_fields
        # checked the member it names).
        secretary = definition.secretary
        if secretary is None or certificate.member_id != secretary.member:
            raise refusal(
                "not_secretary",
                "only the meeting's secretary records the votes of members in the hall",
            )
    else:
        _check_roll(definition, certificate, serial)
    if now < certificate.issued_at:
        raise refusal("not_yet_valid", f"key certificate {serial} is not valid yet")
    if now >= certificate.expires_at:
        raise refusal("expired", f"key certificate {serial} has expired")
    pending.certificate = certificate


def _check_roll(definition: Definition, certificate: _Certificate, serial: int) -> None:
    voter = definition.voter(certificate.member_id)
    if voter is None:
        raise refusal("not_on_roll", "the key's holder is not on this vote's roll")
    if serial not in voter.keys and not definition.late_keys:
        raise refusal(
            "not_on_roll",
            f"key {serial} was not certified when the vote opened; "
            "a meeting vote takes the keys of its roll only",
        )


_BOARD_ENTRY = cast(Table, BoardEntry.__table__)
_LARGE = tuple(
    defer(column, raiseload=True)
    for column in (Vote.definition, Vote.question, Vote.checkpoint, Vote.result, Vote.revocations)
)


def _parse_certificate(document: str | None) -> _Certificate | None:
    """A stored key certificate. The registry key signed it and the database is trusted
    with it (as everywhere in the server), so neither is its signature checked here nor
    its payload canonicalised again: that took half the time of a voter's first ballot.
    Its fields are checked as ever."""
    if document is None:
        return None
    envelope = parse_json(document.encode())
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    if not isinstance(payload, dict):
        raise CredentialError("malformed", "a stored key certificate is not a signed document")
    parsed = KeyCertificate.from_payload(payload)
    return _Certificate(
        parsed.member_id,
        parsed.organisation_id,
        parsed.public_key,
        parsed.issued_at,
        parsed.expires_at,
    )


# The canonical bytes (RFC 8785) of a ballot and of its board entry are composed here
# rather than by the general encoder, which took a fifth of the time of a ballot: the
# ballot's payload is already canonical (its signed bytes) and every other value is an
# integer or a string that needs no escaping (a key id, base64url, ``sha256:`` hex, an
# instant). Members are in sorted order. ``tests/ballots/test_board_concurrency.py``
# checks the entries against ``canonicalize_signed``; the verifier checks them too.


def _ballot_bytes(document: _Ballot) -> bytes:
    """``canonicalize_signed(SignedDocument.parse(body).to_json())``."""
    return b'{"payload":%s,"signature":"%s","signer":"%s"}' % (
        document.canonical,
        b64u_encode(document.signature).encode(),
        document.signer.encode(),
    )


def _entry_bytes(vote: int, seq: int, prev: str, ballot: bytes, received_at: str) -> bytes:
    """``canonicalize_signed(entry_payload(vote, seq, prev, ballot, received_at))``."""
    return b'{"ballot":%s,"prev":"%s","received_at":"%s","seq":%d,"type":"%s","v":%d,"vote":%d}' % (
        ballot,
        prev.encode(),
        received_at.encode(),
        seq,
        ENTRY_TYPE.encode(),
        VERSION,
        vote,
    )


def _receipt(vote: int, fingerprint: str, place: _Written, key: SigningKey) -> dict[str, object]:
    """``sign_document(receipt_payload(…), key).to_json()``, the signed bytes composed
    (every value is an integer or a string with nothing to escape)."""
    issuer = key.public_key.key_id
    received_at = format_instant(place.received_at)
    payload = receipt_payload(vote, fingerprint, place.seq, place.hash, place.received_at, issuer)
    if payload.keys() == _RECEIPT_FIELDS:
        canonical = (
            b'{"definition":"%s","entry":"%s","issuer":"%s","received_at":"%s",'
            b'"seq":%d,"type":"%s","v":%d,"vote":%d}'
            % (
                fingerprint.encode(),
                place.hash.encode(),
                issuer.encode(),
                received_at.encode(),
                place.seq,
                RECEIPT_TYPE.encode(),
                VERSION,
                vote,
            )
        )
    else:  # receipt_payload changed: this composition no longer applies
        canonical = canonicalize_signed(payload)
    return {"payload": payload, "signer": issuer, "signature": b64u_encode(key.sign(canonical))}


_RECEIPT_FIELDS = frozenset(
    ("definition", "entry", "issuer", "received_at", "seq", "type", "v", "vote")
)
_BALLOT_FIELDS = frozenset(("choice", "definition", "nonce", "serial", "type", "v", "vote"))
_ENVELOPE_FIELDS = frozenset(("payload", "signature", "signer"))
# Strings that are their own canonical form (nothing to escape), integers JSON numbers
# hold exactly.
_PLAIN = re.compile(r"[A-Za-z0-9:._-]{1,200}")
_KEY_ID = re.compile(r"[0-9a-f]{32}")
_MAX_INT = 2**53 - 1


def _read_ballot(body: bytes | Mapping[str, object]) -> _Ballot:
    """The ballot in ``body`` (``SignedDocument.parse``, refusing a malformed one).

    A ballot as browsers send it — the seven fields, integers, strings that need no
    escaping — has its canonical payload composed here; anything else goes through
    :class:`~crypto.envelope.SignedDocument`, whose general encoder took a tenth of
    the time of a ballot."""
    envelope: object = body
    if isinstance(body, bytes | bytearray):
        try:
            envelope = parse_json(bytes(body))
        except CanonicalJSONError:
            envelope = None  # SignedDocument.parse says what is wrong
    fast = _plain_ballot(envelope)
    if fast is not None:
        return fast
    try:
        document = SignedDocument.parse(body)
    except CredentialError as exc:
        raise refusal("malformed", str(exc)) from exc
    return _Ballot(document.payload, document.canonical, document.signature, document.signer)


def _plain_ballot(envelope: object) -> _Ballot | None:
    if not isinstance(envelope, dict) or envelope.keys() != _ENVELOPE_FIELDS:
        return None
    payload, signature, signer = envelope["payload"], envelope["signature"], envelope["signer"]
    if not isinstance(payload, dict) or payload.keys() != _BALLOT_FIELDS:
        return None
    if not (isinstance(signer, str) and _KEY_ID.fullmatch(signer) and isinstance(signature, str)):
        return None
    choice = payload["choice"]
    if not isinstance(choice, list):
        return None
    numbers = (*choice, payload["serial"], payload["v"], payload["vote"])
    if not all(type(n) is int and 0 <= n <= _MAX_INT for n in numbers):
        return None
    texts = (payload["definition"], payload["nonce"], payload["type"])
    if not all(isinstance(t, str) and _PLAIN.fullmatch(t) for t in texts):
        return None
    try:
        raw = b64u_decode(signature, length=64)
    except CredentialError:
        return None
    canonical = (
        b'{"choice":[%s],"definition":"%s","nonce":"%s","serial":%d,"type":"%s","v":%d,"vote":%d}'
        % (
            ",".join(map(str, choice)).encode(),
            payload["definition"].encode(),
            payload["nonce"].encode(),
            payload["serial"],
            payload["type"].encode(),
            payload["v"],
            payload["vote"],
        )
    )
    return _Ballot(payload, canonical, raw, signer)
