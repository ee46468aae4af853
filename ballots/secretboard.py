"""The bulletin board of secret votes: appending a member's signed document (a dealer's
message, a complaint, a ballot, a spoiling, a partial decryption) to a secret vote's
hash chain.

The board takes exactly what its audit accepts: the stored entries are replayed by
:class:`ballots.secretverify.BoardReplay` (kept in memory between appends, rebuilt
whenever the stored head is not the one it holds) and the new entry is applied with
``accepting=True`` before it is written. One append per vote at a time — an asyncio
lock in the process, the vote row's lock in the database (``SELECT … FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) across processes — so each entry has
exactly one place. The receipt is signed only after the commit returned; a document
sent again gets its entry's receipt again.

Proofs are the expensive part of a ballot (a few milliseconds); they are checked by
:func:`crypto.secretballot.check_ballot` in a worker thread before the lock is taken
(libsodium releases the GIL), and the replay, under the lock, takes the ballot it
checked (``BoardReplay.prechecked``) instead of checking the same bytes again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import json
import logging
import multiprocessing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ballots.secretformats import DOCUMENT_TYPES, entry_payload
from ballots.secretmodels import SecretEntry, SecretPhase, SecretVote
from ballots.secretverify import BoardReplay, Refused, open_replay
from crypto.encoding import b64u_encode
from crypto.envelope import sign_document
from crypto.errors import CredentialError, SecretBallotError
from crypto.group import parse_point, read_point_unchecked
from crypto.instant import format_instant
from crypto.secretballot import BallotForm, EncryptedBallot, SecretElection, check_ballot
from registry.credentials import KEY_CERTIFICATE
from registry.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from registry.models import IssuedCredential
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring

__all__ = [
    "RECEIPT_TYPE",
    "Appended",
    "Hook",
    "SecretBoard",
    "refusal",
    "secret_refusal",
]

log = logging.getLogger("kvorum.secretboard")

MAX_BATCH = 500

RECEIPT_TYPE = "kvorum.secret-receipt"

#: Reason code → the domain error it is answered with (the HTTP status follows).
_CLASSES: dict[str, type[DomainError]] = {
    "bad_signature": PermissionDenied,
    "not_on_roll": PermissionDenied,
    "not_on_commission": PermissionDenied,
    "revoked": PermissionDenied,
    "not_yours": PermissionDenied,
    "out_of_time": Conflict,
    "closed": Conflict,
    "not_open": Conflict,
    "counted": Conflict,
    "repeated_ballot": Conflict,
    "duplicate_trustee": Conflict,
    "already_published": Conflict,
    "dealing_started": Conflict,
    "transport_keys_missing": Conflict,
    "dealings_missing": Conflict,
    "complaints_unanswered": Conflict,
    "not_enough_decryptions": Conflict,
    "election_state": Conflict,
    "commission_without_key": Conflict,
    "no_secret_vote": Conflict,
    "not_counted": Conflict,
}


def refusal(reason: str, message: str, check: str | None = None) -> DomainError:
    """The domain error of a refusal: ``code`` the reason, ``check`` the check id (when
    one applies), the page's words under ``error.secret.<reason>``."""
    error = _CLASSES.get(reason, InvalidInput)(message, code=reason, key=f"secret.{reason}")
    error.check = check  # type: ignore[attr-defined]
    return error


def secret_refusal(exc: Refused) -> DomainError:
    """A :class:`Refused` of the replay as the domain error the API answers with."""
    return refusal(exc.reason, f"{exc.where}: {exc.message}", exc.check)


@dataclass(frozen=True)
class Appended:
    """Where a document went on the board, and its receipt."""

    seq: int
    hash: str
    received_at: dt.datetime
    receipt: dict[str, Any]
    resent: bool = False


#: What a caller does in the appending transaction, after the replay took the entry and
#: before the commit: store what goes with it (a dealer's shares), count.
Hook = Callable[[AsyncSession, SecretVote, BoardReplay], Awaitable[None]]


@dataclass(frozen=True)
class _Place:
    seq: int
    hash: str
    received_at: dt.datetime
    resent: bool


@dataclass
class _Pending:
    kind: str
    envelope: dict[str, Any]
    digest: str
    phases: tuple[SecretPhase, ...]
    hook: Hook | None
    checked: Any
    future: asyncio.Future[Appended] = field(repr=False)


@dataclass
class _Cached:
    key: tuple[str, bool, int, str]
    replay: BoardReplay


def _key(vote: SecretVote) -> tuple[str, bool, int, str]:
    """What a kept replay must match: the definition, closed or not, the head."""
    return (vote.fingerprint or "draft", vote.closed_at is not None, vote.length, vote.head)


def second(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


class SecretBoard:
    """One per process (``server.keys.SECRET_BOARD``): the per-vote locks and the
    replays kept between appends."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        keyring: RegistryKeyring,
        committed: Callable[[AsyncSession], Awaitable[None]] | None = None,
        *,
        workers: int = 0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.keyring = keyring
        # After an append committed (say, publish the meeting events it recorded).
        self.committed = committed
        self.workers = workers
        self._pool: concurrent.futures.Executor | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._queues: dict[int, list[_Pending]] = {}
        self._appenders: dict[int, asyncio.Task[None]] = {}
        #: election → its secret vote, for the routes that take a document without a
        #: session (an election's vote never changes once made).
        self.election_votes: dict[int, int] = {}
        self._replays: dict[int, _Cached] = {}

    def _checker(self) -> concurrent.futures.Executor:
        """Where ballots' proofs are checked: worker processes (a proof check is many
        small libsodium calls, each giving up and taking back the GIL: in threads they
        starved the event loop and the database's thread of it), or, with ``workers``
        0, the default thread pool."""
        if self._pool is None:
            if not self.workers:
                self._pool = concurrent.futures.ThreadPoolExecutor(2, "kvorum-secret-proofs")
            else:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn")
                )
        return self._pool

    def close(self) -> None:
        """Stop the proof checkers (the application's cleanup)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def lock(self, vote_id: int) -> asyncio.Lock:
        return self._locks.setdefault(vote_id, asyncio.Lock())

    def forget(self, vote_id: int) -> None:
        self._replays.pop(vote_id, None)

    # --- replaying ------------------------------------------------------------------------

    async def replay(self, db: AsyncSession, vote: SecretVote) -> BoardReplay:
        """The vote's board replayed up to its stored head (under the definition in
        force: the draft during key generation, the final one after the opening)."""
        draft = vote.definition is None
        key = _key(vote)
        cached = self._replays.get(vote.id)
        if cached is not None and cached.key == key:
            return cached.replay
        self._replays.pop(vote.id, None)
        definition = json.loads(vote.draft if draft else str(vote.definition))
        certificates = await certificates_of(db, definition["payload"])
        replay = open_replay(
            definition,
            certificates,
            self.keyring.public_keys(),
            vote.closed_at,
            draft=draft,
        )
        rows = await db.execute(
            select(SecretEntry.seq, SecretEntry.entry)
            .where(SecretEntry.vote_id == vote.id)
            .order_by(SecretEntry.seq)
        )
        for seq, text in rows.tuples():
            replay.apply(seq, json.loads(text))
            replay.unlinked.clear()
            replay.misdated.clear()
        self._replays[vote.id] = _Cached(key, replay)
        return replay

    # --- appending ------------------------------------------------------------------------

    async def append(
        self,
        vote_id: int,
        kind: str,
        document: Mapping[str, Any],
        *,
        phases: tuple[SecretPhase, ...],
        hook: Hook | None = None,
    ) -> Appended:
        """Append ``document`` (a member-signed envelope of ``kind``) to the board of
        ``vote_id`` if the vote is in one of ``phases`` and the replay accepts it;
        returns its place and receipt once committed. A resent document gets its
        entry's receipt again.

        Documents arriving together are appended in one transaction ("group commit",
        as the open board does): one durable commit for a burst of ballots. A document
        with a ``hook`` (a dealing's shares, a partial decryption that may count) is
        appended in a transaction of its own, so that what the hook refuses refuses
        that document only."""
        envelope = _envelope(document, kind)
        digest = hashlib.sha256(str(envelope["signature"]).encode()).hexdigest()
        checked = await self._precheck(vote_id, kind, envelope)
        pending = _Pending(
            kind,
            envelope,
            digest,
            phases,
            hook,
            checked,
            asyncio.get_running_loop().create_future(),
        )
        self._queues.setdefault(vote_id, []).append(pending)
        if vote_id not in self._appenders:
            self._appenders[vote_id] = asyncio.create_task(
                self._drain(vote_id), name=f"kvorum-secret-board-{vote_id}"
            )
        return await asyncio.shield(pending.future)

    async def _drain(self, vote_id: int) -> None:
        try:
            while self._queues.get(vote_id):
                queue = self._queues[vote_id]
                size = 1
                if queue[0].hook is None:
                    plain = (i for i, p in enumerate(queue) if p.hook is not None)
                    size = min(MAX_BATCH, next(plain, len(queue)))
                batch, self._queues[vote_id] = queue[:size], queue[size:]
                try:
                    async with self.lock(vote_id):
                        await self._write(vote_id, batch)
                except Exception as exc:  # nothing of the batch was written
                    # Whatever the replay took before the failure was never committed.
                    self.forget(vote_id)
                    if not isinstance(exc, DomainError):
                        log.exception(
                            "appending %d documents to secret vote %d", len(batch), vote_id
                        )
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
        finally:
            self._appenders.pop(vote_id, None)
            if not self._queues.get(vote_id):
                self._queues.pop(vote_id, None)

    async def _precheck(self, vote_id: int, kind: str, envelope: dict[str, Any]) -> Any:
        """A ballot's proofs checked outside the lock (in a thread; libsodium releases
        the GIL), against the replay as it stands: the same bytes are not checked again
        under the lock. Anything wrong here is left for the replay to refuse."""
        cached = self._replays.get(vote_id)
        if kind != "ballot" or cached is None:
            return None
        replay = cached.replay
        payload = envelope["payload"]
        serial = payload.get("serial") if isinstance(payload, dict) else None
        held = replay.certificates.get(serial) if type(serial) is int else None
        election = replay.definition.maybe_election
        if held is None or election is None or "ballot" not in payload:
            return None
        form = election.form
        try:
            good = await asyncio.get_running_loop().run_in_executor(
                self._checker(),
                _proofs_hold,
                (
                    election.fingerprint,
                    election.key.raw,
                    form.options,
                    form.min_marks,
                    form.max_marks,
                ),
                held[1],
                payload["ballot"],
            )
        except concurrent.futures.BrokenExecutor:
            # A worker died: the replay checks this ballot under the lock; new workers
            # for the next.
            log.exception("the secret ballots' proof checkers stopped; starting new ones")
            self._pool = None
            return None
        if not good:
            return None
        try:
            # The checker verified these very values (points and proofs): read them
            # without validating each point again.
            ballot = EncryptedBallot._read(payload["ballot"], form, read_point_unchecked)
        except (SecretBallotError, CredentialError, ValueError, TypeError, KeyError):
            return None
        return (election, held[1], str(envelope["signature"]), ballot)

    async def _write(self, vote_id: int, batch: list[_Pending]) -> None:
        """Append the batch in one transaction; answer each document once it committed."""
        answers: list[tuple[_Pending, _Place | None, DomainError | None]] = []
        async with self.sessionmaker() as db:
            async with db.begin():
                vote = await db.scalar(
                    select(SecretVote).where(SecretVote.id == vote_id).with_for_update()
                )
                if vote is None:
                    raise refusal("no_secret_vote", "no such secret vote")
                existing: dict[str, _Place] = {
                    digest: _Place(seq, address, received, True)
                    for digest, seq, address, received in (
                        await db.execute(
                            select(
                                SecretEntry.digest,
                                SecretEntry.seq,
                                SecretEntry.hash,
                                SecretEntry.received_at,
                            ).where(
                                SecretEntry.vote_id == vote.id,
                                SecretEntry.digest.in_({p.digest for p in batch}),
                            )
                        )
                    ).tuples()
                }
                serials = {p.envelope["payload"].get("serial") for p in batch}
                revoked = set(
                    (
                        await db.scalars(
                            select(IssuedCredential.serial).where(
                                IssuedCredential.serial.in_({s for s in serials if type(s) is int}),
                                IssuedCredential.revoked_at.is_not(None),
                            )
                        )
                    ).all()
                )
                now = second(utcnow())
                replay: BoardReplay | None = None
                rows: list[dict[str, Any]] = []
                for pending in batch:
                    known = existing.get(pending.digest)
                    if known is not None:  # a resend (its answer was lost): the same receipt
                        answers.append((pending, known, None))
                        continue
                    try:
                        _require_phase(vote, pending.kind, pending.phases, now)
                        if replay is None:
                            replay = await self.replay(db, vote)
                        row = self._apply(vote, replay, pending, now, revoked)
                    except DomainError as exc:
                        answers.append((pending, None, exc))
                        continue
                    rows.append(row)
                    place = _Place(row["seq"], row["hash"], row["received_at"], False)
                    existing[pending.digest] = place
                    answers.append((pending, place, None))
                if rows:
                    await db.execute(insert(_SECRET_ENTRY), rows)
                    await db.flush()
                    for pending in batch:
                        if pending.hook is not None and replay is not None:
                            await pending.hook(db, vote, replay)
                if replay is not None:
                    self._replays[vote.id] = _Cached(_key(vote), replay)
            # Committed (synchronously, on both backends): now the receipts.
            if rows and self.committed is not None:
                await self.committed(db)
        for pending, where, problem in answers:
            if pending.future.done():
                continue
            if problem is not None or where is None:
                pending.future.set_exception(problem or RuntimeError("no entry"))
                continue
            receipt = self.receipt(vote, where.seq, where.hash, where.received_at)
            pending.future.set_result(
                Appended(where.seq, where.hash, where.received_at, receipt, resent=where.resent)
            )

    def _apply(
        self,
        vote: SecretVote,
        replay: BoardReplay,
        pending: _Pending,
        now: dt.datetime,
        revoked: set[int],
    ) -> dict[str, Any]:
        """The replay takes the document as the next entry (or refuses it, leaving no
        trace); returns the entry's row."""
        kind, envelope = pending.kind, pending.envelope
        # Whole seconds: the opening is after the last key-generation entry and the
        # close after the last ballot (meetings/elections/secretvote.py), so an entry
        # of the next phase may be stamped up to a second ahead of the clock.
        floor = vote.closed_at if kind == "partial" else vote.opens_at
        received = max(now, vote.board_time or now, floor or now)
        seq = vote.length + 1
        entry = entry_payload(vote.id, seq, vote.head, kind, envelope, received)
        _require_roll(replay, kind, envelope)
        serial = envelope["payload"]["serial"]
        if serial in revoked:
            raise refusal("revoked", f"key certificate {serial} is revoked", "V-212")
        checked = pending.checked
        if checked is not None and checked[0] is replay.definition.maybe_election:
            replay.prechecked = {(checked[1], checked[2]): checked[3]}
        try:
            replay.apply(seq, entry, accepting=True)
        except Refused as exc:
            raise secret_refusal(exc) from exc
        finally:
            replay.prechecked = {}
        address = replay.prev  # the replay hashed the entry it took: entry_hash(entry)
        vote.length, vote.head, vote.board_time = seq, address, received
        return {
            "vote_id": vote.id,
            "seq": seq,
            "kind": kind,
            "member_id": replay.certificates[serial][0],
            "serial": serial,
            "entry": replay.entry_bytes.decode(),  # canonicalize(entry), as hashed
            "hash": address,
            "digest": pending.digest,
            "received_at": received,
        }

    def receipt(
        self, vote: SecretVote, seq: int, address: str, received: dt.datetime
    ) -> dict[str, Any]:
        """The registry's receipt for an entry (``docs/ballots.md``, "Secret votes")."""
        key = self.keyring.current
        payload = {
            "type": RECEIPT_TYPE,
            "v": 1,
            "vote": vote.id,
            "definition": vote.fingerprint or None,
            "seq": seq,
            "entry": address,
            "received_at": format_instant(received),
            "issuer": key.public_key.key_id,
        }
        return sign_document(payload, key).to_json()


async def certificates_of(db: AsyncSession, definition: Mapping[str, Any]) -> list[Any]:
    """The key certificates (signed documents) of a definition's roll, by serial."""
    serials = sorted({s for item in definition["roll"] for s in item["keys"]})
    out: list[Any] = []
    for start in range(0, len(serials), 5000):
        rows = await db.scalars(
            select(IssuedCredential.document)
            .where(
                IssuedCredential.serial.in_(serials[start : start + 5000]),
                IssuedCredential.kind == KEY_CERTIFICATE,
            )
            .order_by(IssuedCredential.serial)
        )
        out.extend(json.loads(document) for document in rows.all())
    return out


def _envelope(document: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The signed envelope, refused unless it has the shape of one of ``kind``'s type;
    its signature and fields are the replay's to check (V-210, V-212)."""
    value = dict(document)
    payload = value.get("payload")
    if (
        set(value) != {"payload", "signature", "signer"}
        or not isinstance(payload, dict)
        or not isinstance(value["signature"], str)
        or not isinstance(value["signer"], str)
    ):
        raise refusal("bad_entry", "not a signed document", "V-210")
    if payload.get("type") != DOCUMENT_TYPES[kind]:
        raise refusal("bad_entry", f"not a {DOCUMENT_TYPES[kind]}", "V-210")
    return value


def _proofs_hold(
    election: tuple[bytes, bytes, int, int, int], voter_key: bytes, ballot: object
) -> bool:
    """Whether a ballot keeps every check of ``check_ballot`` (run in a worker process:
    plain values in and out, as crypto objects do not cross processes)."""
    fingerprint, key, options, least, most = election
    try:
        made = SecretElection(
            fingerprint, parse_point(b64u_encode(key)), BallotForm(options, least, most)
        )
        check_ballot(made, voter_key, ballot)
    except Exception:  # any refusal: the replay, under the lock, says which
        return False
    return True


def _require_phase(
    vote: SecretVote, kind: str, phases: tuple[SecretPhase, ...], now: dt.datetime
) -> None:
    if vote.phase not in phases:
        if vote.phase is SecretPhase.COUNTED:
            raise refusal("counted", "the vote is counted: its board is complete")
        if kind in ("ballot", "spoil"):
            reason = (
                "not_open"
                if vote.phase in (SecretPhase.KEYGEN, SecretPhase.KEY_READY)
                else "closed"
            )
            raise refusal(reason, f"the vote is {vote.phase.value}: no ballots now", "V-214")
        raise refusal("out_of_time", f"the vote is {vote.phase.value}: no {kind} now", "V-214")
    if kind in ("ballot", "spoil") and vote.closes_at is not None and now >= vote.closes_at:
        raise refusal("closed", "the deadline has passed", "V-214")


def _require_roll(replay: BoardReplay, kind: str, envelope: Mapping[str, Any]) -> None:
    """A voter not on the roll (or a key not on it) is told so, before the replay
    would call it an unknown serial."""
    serial = envelope["payload"].get("serial")
    if type(serial) is int and serial in replay.certificates:
        return
    if kind in ("ballot", "spoil"):
        raise refusal("not_on_roll", f"key {serial!r:.20} is not on this vote's roll", "V-212")
    raise refusal("not_on_commission", f"key {serial!r:.20} is not a commission member's", "V-213")


_SECRET_ENTRY = cast(Table, SecretEntry.__table__)
