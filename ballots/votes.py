"""Votes: opening one with its roll fixed and its definition signed, counting it at the
close, and the questions pages ask (my current choice, the live count, the bundle)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.bundle import VoteRecord, assemble_bundle
from ballots.formats import (
    BallotRefused,
    Definition,
    RollEntry,
    Rule,
    Secretary,
    Turnout,
    checkpoint_payload,
    decide,
    receipt_payload,
    result_payload,
)
from ballots.models import BoardEntry, BoardRevocation, Vote, VoteKind, VoteState
from crypto.canonical import canonicalize
from crypto.ed25519 import PublicKey
from crypto.envelope import SignedDocument, sign_document
from crypto.hashing import content_address
from registry.actor import Actor
from registry.credentials import KEY_CERTIFICATE, CredentialService
from registry.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from registry.models import DeviceKey, IssuedCredential, Organisation
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring

__all__ = [
    "DEFAULT_OPTIONS",
    "VoteService",
    "VoteSpec",
    "Voter",
    "count_voters",
    "definition_of",
    "recorded_in_hall",
    "refusal",
    "second",
]

DEFAULT_OPTIONS = ("за", "против", "воздержался")


def second(moment: dt.datetime) -> dt.datetime:
    """Board times are whole seconds (the instants of the signed formats)."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


_REFUSALS: dict[str, type[DomainError]] = {
    "malformed": InvalidInput,
    "bad_choice": InvalidInput,
    "wrong_vote": InvalidInput,
    "bad_signature": PermissionDenied,
    "unknown_key": PermissionDenied,
    "not_on_roll": PermissionDenied,
    "revoked": PermissionDenied,
    "expired": PermissionDenied,
    "not_yet_valid": PermissionDenied,
    "closed": Conflict,
    "bad_hall_record": InvalidInput,
    "hall_record_not_allowed": Conflict,
    "not_secretary": PermissionDenied,
    "not_in_hall": PermissionDenied,
    "already_voted": Conflict,
}


def refusal(reason: str, message: str) -> DomainError:
    """The domain error a refused ballot is answered with: its code is the reason."""
    return _REFUSALS.get(reason, InvalidInput)(message, code=reason)


def refused(exc: BallotRefused) -> DomainError:
    return refusal(exc.reason, exc.message)


@dataclass(frozen=True)
class Voter:
    member_id: int
    name: str
    in_hall: bool = False


@dataclass(frozen=True)
class VoteSpec:
    """What the caller decides; the service adds the roll's keys, the id and the time."""

    kind: VoteKind
    organisation_id: int  # the union (root organisation) whose registry key signs
    title: str
    question: str
    voters: Sequence[Voter]
    composition: int
    options: Sequence[str] = DEFAULT_OPTIONS
    min_choices: int = 1
    max_choices: int = 1
    publicity: str = "named"
    rule: Rule = field(default_factory=lambda: Rule("cast"))
    turnout: Turnout | None = None
    present: int | None = None
    closes_at: dt.datetime | None = None
    body_id: int | None = None
    audience_id: int | None = None
    # A meeting's secretary, who may record the votes of the voters in the hall
    # (a version 2 definition).
    secretary: Secretary | None = None


async def count_voters(session: AsyncSession, vote_id: int) -> int:
    """How many members have a ballot on the board (not how they voted)."""
    count = await session.scalar(
        select(func.count(func.distinct(BoardEntry.member_id))).where(BoardEntry.vote_id == vote_id)
    )
    return int(count or 0)


async def recorded_in_hall(
    session: AsyncSession, vote_id: int, definition: Mapping[str, Any]
) -> set[int]:
    """The members whose counting (last) entry is the secretary's hall record
    («в зале, по подсчёту секретаря»). Only a version 2 definition takes records, and
    a meeting vote only its roll's keys: an entry under another serial than the
    member's own is the secretary's."""
    if definition.get("v") != 2:
        return set()
    keys = {entry["member"]: set(entry["keys"]) for entry in definition["roll"]}
    last: dict[int, int] = {}
    rows = await session.execute(
        select(BoardEntry.member_id, BoardEntry.serial)
        .where(BoardEntry.vote_id == vote_id)
        .order_by(BoardEntry.seq)
    )
    for member, serial in rows.tuples():
        last[member] = serial
    return {member for member, serial in last.items() if serial not in keys.get(member, ())}


def definition_of(vote: Vote) -> Definition:
    document = SignedDocument.parse(vote.definition.encode())
    return Definition.from_payload(document.payload)


class VoteService:
    def __init__(self, session: AsyncSession, actor: Actor, keyring: RegistryKeyring) -> None:
        self.session = session
        self.actor = actor
        self.keyring = keyring

    async def get(self, vote_id: int) -> Vote:
        vote = await self.session.get(Vote, vote_id)
        if vote is None:
            raise NotFound("no such vote", key="no_vote")
        return vote

    # --- opening --------------------------------------------------------------------------

    async def open(self, spec: VoteSpec, *, now: dt.datetime | None = None) -> Vote:
        """Fix the roll (with each voter's valid key certificates), sign the definition
        and open the vote. Bad specs are refused whole (``InvalidInput``)."""
        opens_at = second(now or utcnow())
        org = await self.session.get(Organisation, spec.organisation_id)
        if org is None:
            raise NotFound("no such organisation")
        if not spec.voters:
            raise InvalidInput("nobody would vote: the roll is empty", fields={"roll": "empty"})
        if spec.closes_at is not None and second(spec.closes_at) <= opens_at:
            raise InvalidInput(
                "the deadline must be in the future", fields={"closes_at": "in the past"}
            )
        keys = await self._roll_keys([v.member_id for v in spec.voters], opens_at)
        roll = tuple(
            RollEntry(v.member_id, v.name, tuple(keys.get(v.member_id, ())), in_hall=v.in_hall)
            for v in sorted(spec.voters, key=lambda v: v.member_id)
        )
        vote = Vote(
            kind=spec.kind,
            state=VoteState.OPEN,
            organisation_id=org.id,
            body_id=spec.body_id,
            audience_id=spec.audience_id,
            title=spec.title,
            question=spec.question,
            roll_size=len(roll),
            opens_at=opens_at,
            closes_at=second(spec.closes_at) if spec.closes_at else None,
            created_by=self.actor.display_name,
        )
        self.session.add(vote)
        await self.session.flush()
        try:
            definition = Definition(
                vote=vote.id,
                org=org.id,
                org_name=org.short_name or org.name,
                kind=spec.kind.value,
                title=spec.title.strip(),
                question=spec.question.strip(),
                options=tuple(o.strip() for o in spec.options),
                min_choices=spec.min_choices,
                max_choices=spec.max_choices,
                secret=False,
                publicity=spec.publicity,
                rule=spec.rule,
                turnout=spec.turnout,
                composition=spec.composition,
                present=spec.present,
                opens_at=opens_at,
                closes_at=vote.closes_at,
                late_keys=spec.kind is not VoteKind.MEETING,
                roll=roll,
                issuer=self.keyring.current_id,
                secretary=spec.secretary,
            )
        except Exception as exc:  # CredentialError("malformed") names the field
            raise InvalidInput(f"the vote cannot be opened: {exc}") from exc
        signed = sign_document(definition.to_payload(), self.keyring.current)
        vote.definition = json.dumps(signed.to_json(), ensure_ascii=False)
        vote.fingerprint = definition.fingerprint
        vote.board_head = definition.fingerprint
        await self.session.flush()
        return vote

    async def _roll_keys(self, members: Sequence[int], now: dt.datetime) -> dict[int, list[int]]:
        """Serials of the certificates each member holds, valid and unrevoked at ``now``."""
        keys: dict[int, list[int]] = {}
        for start in range(0, len(members), 5000):
            rows = await self.session.execute(
                select(DeviceKey.member_id, DeviceKey.serial)
                .join(IssuedCredential, IssuedCredential.serial == DeviceKey.serial)
                .where(
                    DeviceKey.member_id.in_(members[start : start + 5000]),
                    IssuedCredential.revoked_at.is_(None),
                    IssuedCredential.issued_at <= now,
                    IssuedCredential.expires_at > now,
                )
                .order_by(DeviceKey.serial)
            )
            for member_id, serial in rows.all():
                keys.setdefault(member_id, []).append(serial)
        return keys

    # --- closing --------------------------------------------------------------------------

    async def close(self, vote_id: int, *, now: dt.datetime | None = None) -> Vote:
        """Checkpoint the board, count the last ballot of each voter, sign the result.

        Takes the vote row's lock, so no ballot lands after the checkpoint."""
        vote = await self.session.scalar(select(Vote).where(Vote.id == vote_id).with_for_update())
        if vote is None:
            raise NotFound("no such vote", key="no_vote")
        if vote.state is VoteState.CLOSED:
            raise Conflict("the vote is already closed", code="closed")
        closed_at = second(now or utcnow())
        if vote.board_time is not None and vote.board_time > closed_at:
            closed_at = vote.board_time
        if vote.closes_at is not None and closed_at > vote.closes_at:
            # Closed late by the sweeper: the board stopped taking ballots at the deadline.
            closed_at = max(vote.closes_at, vote.board_time or vote.opens_at)
        definition = definition_of(vote)
        key = self.keyring.current
        crl = await CredentialService(
            self.session, self.actor, self.keyring
        ).publish_revocation_list(definition.org)
        checkpoint = sign_document(
            checkpoint_payload(
                definition,
                vote.board_length,
                vote.board_head,
                closed_at,
                key.public_key.key_id,
                revoked=await self._places(vote, definition, crl),
            ),
            key,
        )
        outcome = decide(definition, await self.last_choices(vote.id))
        crl_number = crl.payload["number"]
        assert isinstance(crl_number, int)
        result = sign_document(
            result_payload(
                definition,
                outcome,
                checkpoint=content_address(bytes(checkpoint)),
                length=vote.board_length,
                head=vote.board_head,
                revocations=crl_number,
                issuer=key.public_key.key_id,
            ),
            key,
        )
        vote.state = VoteState.CLOSED
        vote.closed_at = closed_at
        vote.checkpoint = json.dumps(checkpoint.to_json(), ensure_ascii=False)
        vote.result = json.dumps(result.to_json(), ensure_ascii=False)
        vote.revocations = json.dumps(crl.to_json(), ensure_ascii=False)
        await self.session.flush()
        return vote

    async def _places(
        self, vote: Vote, definition: Definition, crl: SignedDocument
    ) -> dict[int, int]:
        """Serial → place on the board of each revocation in ``crl`` (the list the vote
        closes with) of a certificate the bundle holds: where an append first took it
        into account, else here, after the last entry. Under the vote's lock."""
        entries = crl.payload.get("entries")
        listed = {
            item["serial"]
            for item in (entries if isinstance(entries, list | tuple) else ())
            if isinstance(item, Mapping) and isinstance(item.get("serial"), int)
        }
        on_roll = {serial for voter in definition.roll for serial in voter.keys}
        used = set(
            (
                await self.session.scalars(
                    select(BoardEntry.serial).where(BoardEntry.vote_id == vote.id).distinct()
                )
            ).all()
        )
        places = {
            serial: after
            for serial, after in (
                await self.session.execute(
                    select(BoardRevocation.serial, BoardRevocation.after).where(
                        BoardRevocation.vote_id == vote.id
                    )
                )
            ).tuples()
        }
        revoked = listed & (on_roll | used)
        for serial in sorted(revoked - set(places)):
            places[serial] = vote.board_length
            self.session.add(
                BoardRevocation(vote_id=vote.id, serial=serial, after=vote.board_length)
            )
        return {serial: places[serial] for serial in sorted(revoked)}

    async def due(self, now: dt.datetime | None = None) -> list[int]:
        """Open votes whose deadline has passed."""
        rows = await self.session.scalars(
            select(Vote.id).where(
                Vote.state == VoteState.OPEN,
                Vote.closes_at.is_not(None),
                Vote.closes_at <= (now or utcnow()),
            )
        )
        return list(rows.all())

    # --- reading --------------------------------------------------------------------------

    async def last_choices(self, vote_id: int) -> dict[int, tuple[int, ...]]:
        """Member → the choice of their last ballot (board order: the last counts)."""
        rows = await self.session.execute(
            select(BoardEntry.member_id, BoardEntry.choice)
            .where(BoardEntry.vote_id == vote_id)
            .order_by(BoardEntry.seq)
        )
        return {member: tuple(json.loads(choice)) for member, choice in rows.all()}

    async def voters_count(self, vote_id: int) -> int:
        return await count_voters(self.session, vote_id)

    async def my_ballot(self, vote: Vote, member_id: int) -> dict[str, Any] | None:
        """The member's counting ballot (their last) with its receipt, or None."""
        entry = await self.session.scalar(
            select(BoardEntry)
            .where(BoardEntry.vote_id == vote.id, BoardEntry.member_id == member_id)
            .order_by(BoardEntry.seq.desc())
            .limit(1)
        )
        if entry is None:
            return None
        return {
            "seq": entry.seq,
            "choice": json.loads(entry.choice),
            "received_at": entry.received_at,
            "receipt": self.receipt(vote, entry).to_json(),
        }

    def receipt(self, vote: Vote, entry: BoardEntry) -> SignedDocument:
        payload = receipt_payload(
            vote.id,
            vote.fingerprint,
            entry.seq,
            entry.hash,
            entry.received_at,
            self.keyring.current_id,
        )
        return sign_document(payload, self.keyring.current)

    async def entry(self, vote_id: int, seq: int) -> BoardEntry:
        entry = await self.session.get(BoardEntry, (vote_id, seq))
        if entry is None:
            raise NotFound(f"entry {seq} is not on the board of vote {vote_id}")
        return entry

    async def record(self, vote: Vote) -> VoteRecord:
        """The closed vote as the audit bundle holds it."""
        if vote.state is not VoteState.CLOSED or not (
            vote.checkpoint and vote.result and vote.revocations
        ):
            raise Conflict(
                "the vote is still open: its bundle is made at the close", key="vote_still_open"
            )
        definition = definition_of(vote)
        entries = (
            await self.session.execute(
                select(BoardEntry.entry, BoardEntry.serial)
                .where(BoardEntry.vote_id == vote.id)
                .order_by(BoardEntry.seq)
            )
        ).all()
        serials = {s for voter in definition.roll for s in voter.keys} | {s for _, s in entries}
        certificates: list[dict[str, Any]] = []
        ordered = sorted(serials)
        for start in range(0, len(ordered), 5000):
            rows = await self.session.scalars(
                select(IssuedCredential.document).where(
                    IssuedCredential.serial.in_(ordered[start : start + 5000]),
                    IssuedCredential.kind == KEY_CERTIFICATE,
                )
            )
            certificates.extend(json.loads(document) for document in rows.all())
        return VoteRecord(
            definition=json.loads(vote.definition),
            certificates=certificates,
            revocations=json.loads(vote.revocations),
            entries=[text.encode() for text, _serial in entries],
            checkpoint=json.loads(vote.checkpoint),
            result=json.loads(vote.result),
        )

    async def bundle(self, votes: Sequence[Vote]) -> bytes:
        """The audit bundle of closed votes (one, or a meeting's)."""
        records = [await self.record(vote) for vote in votes]
        signers: set[str] = set()
        for record in records:
            for document in (
                record.definition,
                record.checkpoint,
                record.result,
                record.revocations,
            ):
                signers.add(str(document["signer"]))
            signers.update(str(c["signer"]) for c in record.certificates)
        keys: dict[str, PublicKey] = self.keyring.public_keys()
        missing = signers - set(keys)
        if missing:
            raise Conflict(f"the registry key {sorted(missing)[0]} is no longer in the keyring")
        return assemble_bundle([keys[k] for k in sorted(signers)], records)


def result_json(vote: Vote) -> dict[str, Any] | None:
    if not vote.result:
        return None
    payload: dict[str, Any] = json.loads(vote.result)["payload"]
    return payload


def canonical_text(value: object) -> str:
    return canonicalize(value).decode()
