"""The secret vote of an election: issuing its draft definition for the commission's
key generation, the transport keys and dealings, finishing the key, opening (the
final definition), closing, counting at the t-th partial decryption, and the audit
bundle.

The board itself (what it takes, in which order, and the receipts) is
:class:`ballots.secretboard.SecretBoard`; this module decides who may do what and
moves the election through its states (``meetings/elections/lifecycle.py``), each move
in the meeting's record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote, VoteState
from ballots.secretboard import Hook, SecretBoard, certificates_of, refusal, second
from ballots.secretformats import (
    DEFINITION_TYPE,
    SECRET_BUNDLE_TYPE,
    chain_start,
    fingerprint,
    keygen_context,
    result_payload,
)
from ballots.secretmodels import (
    SecretEntry,
    SecretPhase,
    SecretShare,
    SecretTransportKey,
    SecretVote,
)
from ballots.secretverify import BoardReplay, Refused, _expected_outcome
from crypto.canonical import canonicalize
from crypto.ed25519 import PublicKey
from crypto.encoding import b64u_decode
from crypto.envelope import SignedDocument, sign_document
from crypto.errors import CredentialError
from crypto.hashing import content_address
from crypto.instant import format_instant
from meetings.access import composition_ids, roles_in
from meetings.elections.lifecycle import Mover, check_transition
from meetings.elections.models import (
    BallotForm,
    Commission,
    CommissionState,
    Election,
    ElectionKind,
    ElectionState,
)
from meetings.elections.services import ElectionAccess, ElectionService
from meetings.events import append_event
from meetings.models import Meeting, MeetingState, Presence
from meetings.votes import MeetingVote
from registry.actor import Actor
from registry.errors import Conflict
from registry.members import current_seat_clause
from registry.models import Body, DeviceKey, IssuedCredential, Member, Organisation, Seat
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring

__all__ = ["QUESTION_OPTIONS", "SecretVoteService"]

#: The options of a secret question, in ballot order (docs/ballots.md).
QUESTION_OPTIONS = ("за", "против", "воздержался")
TRANSPORT_TYPE = "kvorum.secret-transport-key"
_SECOND = dt.timedelta(seconds=1)
SHARE_TYPE = "kvorum.secret-share"


class SecretVoteService:
    def __init__(
        self,
        session: AsyncSession,
        actor: Actor,
        keyring: RegistryKeyring,
        board: SecretBoard,
    ) -> None:
        self.session = session
        self.actor = actor
        self.keyring = keyring
        self.board = board
        self.elections = ElectionService(session, actor, keyring)

    # --- the vote of an election ----------------------------------------------------------

    async def get(
        self, election_id: int, *, lock: bool = False
    ) -> tuple[Election, ElectionAccess, SecretVote]:
        """The election (which the caller may see) and its secret vote, whose draft is
        issued here the first time it is asked for once the commission is constituted:
        under the election row's lock, so two first requests make one vote."""
        election, access = await self.elections.get(election_id)
        if election.vote_id is None:
            if election.state in (ElectionState.DRAFT, ElectionState.CANDIDATES_CLOSED):
                raise refusal(
                    "no_secret_vote",
                    "the secret vote exists once the counting commission is constituted",
                )
            election, access = await self.elections.get(election_id, lock=True)
            if election.vote_id is None:
                await self._issue_draft(election)
        stmt = select(SecretVote).where(SecretVote.id == election.vote_id)
        if lock:  # the board's row: appends wait for this transaction
            stmt = stmt.with_for_update()
        vote = await self.session.scalar(stmt.execution_options(populate_existing=True))
        assert vote is not None
        return election, access, vote

    async def _issue_draft(self, election: Election) -> None:
        commission = await self._commission(election)
        keys = await self._keys([m.member_id for m in commission.members], utcnow())
        missing = [m.name for m in commission.members if not keys.get(m.member_id)]
        if missing:
            raise refusal(
                "commission_without_key",
                "a commission member has no certified key yet: " + ", ".join(missing),
            )
        vote = SecretVote(
            draft="",
            context="",
            threshold=commission.threshold,
            head="",
            closes_at=second(election.closes_at) if election.closes_at else None,
        )
        self.session.add(vote)
        await self.session.flush()
        members = [{"member": m.member_id, "index": m.position} for m in commission.members]
        roll = [
            {"member": m.member_id, "name": m.name, "keys": keys[m.member_id]}
            for m in sorted(commission.members, key=lambda m: m.member_id)
        ]
        payload = await self._payload(election, vote, commission, members, roll)
        vote.context = payload["commission"]["context"]
        vote.head = chain_start(vote.id, vote.context)
        vote.draft = json.dumps(
            sign_document(payload, self.keyring.current).to_json(), ensure_ascii=False
        )
        election.vote_id = vote.id
        await self.session.flush()
        await self._event(election, "secret.keygen", {"vote": vote.id, "context": vote.context})

    async def _payload(
        self,
        election: Election,
        vote: SecretVote,
        commission: Commission,
        members: list[dict[str, int]],
        roll: list[dict[str, Any]],
    ) -> dict[str, Any]:
        body = await self.session.get(Body, election.body_id)
        assert body is not None
        org = await self.session.get(Organisation, body.organisation_id)
        assert org is not None
        root = org
        if org.root_id is not None:
            found = await self.session.get(Organisation, org.root_id)
            assert found is not None
            root = found
        address = content_address(
            canonicalize(
                {
                    "type": "kvorum.election",
                    "election": election.id,
                    "body": election.body_id,
                    "meeting": election.meeting_id,
                    "office": election.office,
                }
            )
        )
        threshold = commission.threshold
        context = keygen_context(vote.id, address, {"members": members, "threshold": threshold})
        question = election.kind is ElectionKind.QUESTION
        options = list(QUESTION_OPTIONS) if question else [c.name for c in election.candidates]
        approve = election.form is BallotForm.APPROVE_EACH
        seats = 1 if not approve else election.seats
        title = (election.question or election.office) if question else election.office
        return {
            "type": DEFINITION_TYPE,
            "v": 1,
            "vote": vote.id,
            "org": root.id,
            "org_name": root.short_name or root.name,
            "election": address,
            "title": f"{body.name}: {title}"[:1000],
            "form": election.form.value,
            "options": options,
            "seats": seats,
            "min_marks": 0 if approve else 1,
            "max_marks": seats if approve else 1,
            "rule": {
                "base": election.rule_base,
                "numerator": election.rule_numerator,
                "denominator": election.rule_denominator,
                "strict": election.rule_strict,
                "turnout": None,
            },
            "composition": len(await self._composition(election)),
            "roll": roll,
            "commission": {"members": members, "threshold": threshold, "context": context},
            "key": "",
            "dealers": [],
            "opens_at": None,
            "closes_at": format_instant(second(election.closes_at)) if election.closes_at else None,
            "issuer": self.keyring.current_id,
        }

    # --- key generation -------------------------------------------------------------------

    async def publish_transport_key(self, election_id: int, document: Mapping[str, Any]) -> None:
        _election, _access, vote = await self.get(election_id)
        if vote.phase is not SecretPhase.KEYGEN:
            raise refusal("out_of_time", "key generation is over", "V-214")
        draft = json.loads(vote.draft)["payload"]
        payload, member, index = await self._commission_document(
            vote, draft, document, TRANSPORT_TYPE, {"vote", "serial", "context", "index", "key"}
        )
        if payload["index"] != index:
            raise refusal("not_yours", f"member {index} publishes only their own key", "V-213")
        try:
            b64u_decode(str(payload["key"]), length=32)
        except CredentialError as exc:
            raise refusal("malformed", f"the transport key: {exc}") from exc
        if await self.session.scalar(
            select(func.count()).where(SecretEntry.vote_id == vote.id, SecretEntry.kind == "dealer")
        ):
            raise refusal("dealing_started", "dealing has begun: the transport keys are fixed")
        if await self.session.get(SecretTransportKey, (vote.id, index)) is not None:
            raise refusal("already_published", f"member {index} has published their key")
        self.session.add(
            SecretTransportKey(
                vote_id=vote.id,
                position=index,
                member_id=member,
                document=json.dumps(document, ensure_ascii=False),
                received_at=utcnow(),
            )
        )
        await self.session.flush()

    async def _commission_document(
        self,
        vote: SecretVote,
        draft: Mapping[str, Any],
        document: Mapping[str, Any],
        kind: str,
        fields: set[str],
    ) -> tuple[dict[str, Any], int, int]:
        """A document signed by a commission member's certified key (of the draft's
        roll) for this key generation: its payload, the member and their index."""
        try:
            parsed = SignedDocument.parse(dict(document))
        except (CredentialError, TypeError, ValueError) as exc:
            raise refusal("malformed", f"not a signed document: {exc}") from exc
        payload = dict(parsed.payload)
        if set(payload) != fields | {"type", "v"} or payload["type"] != kind or payload["v"] != 1:
            raise refusal("malformed", f"not a {kind} v1 with exactly {sorted(fields)}")
        if payload["vote"] != vote.id or payload["context"] != vote.context:
            raise refusal("wrong_vote", "the document names another key generation", "V-215")
        serial = payload["serial"]
        certificates = {
            c["payload"]["serial"]: c["payload"] for c in await certificates_of(self.session, draft)
        }
        held = certificates.get(serial) if type(serial) is int else None
        indices = {m["member"]: m["index"] for m in draft["commission"]["members"]}
        if held is None or held["member"] not in indices:
            raise refusal("not_on_commission", f"key {serial!r:.20} is no commission member's")
        public = PublicKey.from_b64u(held["public_key"])
        try:
            parsed.verify({public.key_id: public}, expect_type=kind)
        except CredentialError as exc:
            raise refusal("bad_signature", f"{kind}: {exc}", "V-212") from exc
        if self.actor.member_id is not None and self.actor.member_id != held["member"]:
            raise refusal("not_yours", "a member sends only the documents they signed")
        return payload, held["member"], indices[held["member"]]

    async def prepare_deal(
        self, election_id: int, dealer: Mapping[str, Any], shares: Sequence[Mapping[str, Any]]
    ) -> tuple[int, Hook]:
        """Check a dealing's shares (every member's transport key published, one share
        for each other member, signed by the dealer); returns the vote and what stores
        the shares in the transaction that appends the dealer's commitment, so the two
        are all or nothing (:meth:`SecretBoard.append`, called after this transaction)."""
        _election, _access, vote = await self.get(election_id)
        draft = json.loads(vote.draft)["payload"]
        n = len(draft["commission"]["members"])
        published = await self.session.scalar(
            select(func.count()).where(SecretTransportKey.vote_id == vote.id)
        )
        if vote.phase is SecretPhase.KEYGEN and published != n:
            raise refusal(
                "transport_keys_missing",
                f"{published} of {n} commission members have published their transport key",
            )
        # The dealer's index, by the key that signed the dealer's message (a key of no
        # commission member: the board refuses the message, V-213).
        payload = dealer.get("payload")
        serial = payload.get("serial") if isinstance(payload, Mapping) else None
        indices = {m["member"]: m["index"] for m in draft["commission"]["members"]}
        owner = next((r["member"] for r in draft["roll"] if serial in r["keys"]), None)
        index = indices.get(owner) if owner is not None else None
        checked: dict[int, str] = {}
        for share in shares:
            share_payload, _member, signer = await self._commission_document(
                vote,
                draft,
                share,
                SHARE_TYPE,
                {"vote", "serial", "context", "dealer", "recipient", "envelope"},
            )
            if share_payload["dealer"] != signer or signer != index:
                raise refusal("not_yours", f"member {signer} sent shares of another dealer")
            checked[share_payload["recipient"]] = json.dumps(share, ensure_ascii=False)
        expected = sorted(set(range(1, n + 1)) - {index})
        if index is not None and sorted(checked) != expected:
            raise refusal(
                "malformed", f"one share for each other member {expected}, got {sorted(checked)}"
            )

        async def store(db: AsyncSession, stored: SecretVote, _replay: BoardReplay) -> None:
            for recipient, text in checked.items():
                db.add(
                    SecretShare(
                        vote_id=stored.id,
                        dealer=index,
                        recipient=recipient,
                        document=text,
                        received_at=utcnow(),
                    )
                )
            await db.flush()

        return vote.id, store

    async def vote_of(self, election_id: int) -> int:
        """The secret vote of an election the caller may see (its draft issued if due)."""
        _election, _access, vote = await self.get(election_id)
        return vote.id

    async def shares_for_me(self, election_id: int) -> list[Any]:
        _election, _access, vote = await self.get(election_id)
        draft = json.loads(vote.draft)["payload"]
        index = {m["member"]: m["index"] for m in draft["commission"]["members"]}.get(
            self.actor.member_id
        )
        if index is None:
            raise refusal("not_on_commission", "only commission members receive shares", "V-213")
        rows = await self.session.scalars(
            select(SecretShare.document)
            .where(SecretShare.vote_id == vote.id, SecretShare.recipient == index)
            .order_by(SecretShare.dealer)
        )
        return [json.loads(text) for text in rows.all()]

    async def finish_key(self, election_id: int) -> SecretVote:
        """Every member dealt and every complaint answered: the key is the board's."""
        election, access, vote = await self.get(election_id, lock=True)
        draft = json.loads(vote.draft)["payload"]
        if not (access.can_prepare or self._on_commission(draft)):
            raise refusal("not_yours", "a commission member or the meeting's officers finish it")
        if vote.phase is not SecretPhase.KEYGEN:
            raise refusal("election_state", f"the vote is {vote.phase.value}: the key is made")
        # Under the vote row's lock (get(lock=True)): appends wait for this.
        replay = await self.board.replay(self.session, vote)
        n = len(draft["commission"]["members"])
        missing = sorted(set(range(1, n + 1)) - set(replay.dealers))
        if missing:
            raise refusal("dealings_missing", f"members {missing} have not dealt yet")
        open_complaints = sorted(p for p, v in replay.complained.items() if v is None)
        if open_complaints:
            raise refusal(
                "complaints_unanswered",
                "complaints (dealer, recipient) not answered: " + str(open_complaints),
            )
        try:
            key = replay.key()
        except Refused as exc:  # pragma: no cover - key() raises _Stop
            raise refusal(exc.reason, exc.message, exc.check) from exc
        except Exception as exc:
            raise refusal("wrong_election_key", str(exc), "V-221") from exc
        document = canonicalize({"key": key.key.encode(), "dealers": list(key.qualified)})
        await self.elections.record_key(election.id, document.decode())
        vote.phase = SecretPhase.KEY_READY
        await self.session.flush()
        return vote

    # --- opening and closing --------------------------------------------------------------

    async def open(self, election_id: int) -> SecretVote:
        """The chair opens the vote: the registry signs the final definition."""
        election, access, vote = await self.get(election_id, lock=True)
        await self._require_chair(election, access)
        check_transition(election.state, ElectionState.OPEN, Mover.CHAIR)
        if election.meeting_id is not None:
            await self._require_meeting_free(election.meeting_id)
        now = second(utcnow())
        if election.closes_at is not None and election.closes_at <= now:
            raise refusal("closed", "the deadline has passed")
        draft = json.loads(vote.draft)["payload"]
        key = json.loads(str(election.election_key))
        # Under the vote row's lock (get(lock=True)): appends wait for this.
        used = set(
            (
                await self.session.scalars(
                    select(SecretEntry.serial).where(SecretEntry.vote_id == vote.id)
                )
            ).all()
        )
        payload = dict(draft)
        payload["roll"] = await self._roll(election, draft, used, now)
        payload["composition"] = len(await self._composition(election))
        payload["key"] = key["key"]
        payload["dealers"] = key["dealers"]
        # Key generation's entries are before the opening (V-214): a second after the
        # last of them at the earliest.
        if vote.board_time is not None and vote.board_time + _SECOND > now:
            now = vote.board_time + _SECOND
        payload["opens_at"] = format_instant(now)
        payload["issuer"] = self.keyring.current_id
        signed = sign_document(payload, self.keyring.current)
        vote.definition = json.dumps(signed.to_json(), ensure_ascii=False)
        vote.fingerprint = fingerprint(payload)
        vote.opens_at = now
        vote.phase = SecretPhase.OPEN
        self.board.forget(vote.id)
        # The final definition takes the key generation's entries again.
        await self.board.replay(self.session, vote)
        await self.session.flush()
        before = election.state
        election.state = ElectionState.OPEN
        await self.session.flush()
        await self._event(
            election,
            "election.state",
            {"from": before.value, "to": "open", "vote": vote.id, "definition": vote.fingerprint},
        )
        return vote

    async def _require_meeting_free(self, meeting_id: int) -> None:
        """At a meeting the secret vote opens as an open vote does: in session, and while
        no open vote of the meeting is under way (one vote at a time)."""
        meeting = await self.session.get(Meeting, meeting_id)
        if meeting is None or meeting.state is not MeetingState.IN_SESSION:
            raise Conflict("the meeting is not in session", key="not_in_session")
        under_way = await self.session.scalar(
            select(Vote.id)
            .join(MeetingVote, MeetingVote.vote_id == Vote.id)
            .where(MeetingVote.meeting_id == meeting_id, Vote.state == VoteState.OPEN)
        )
        if under_way is not None:
            raise Conflict(
                "an open vote of the meeting is under way: close it first",
                key="vote_already_open",
            )

    async def close(self, election_id: int, *, by_deadline: bool = False) -> SecretVote:
        election, access, locked = await self.get(election_id, lock=True)
        vote = locked
        if not by_deadline:
            await self._require_chair(election, access)
        check_transition(election.state, ElectionState.CLOSED, Mover.CHAIR)
        # Under the vote row's lock (get(lock=True)): appends wait for this.
        now = second(utcnow())
        # Ballots are before the close (V-214): a second after the last at the earliest.
        closed = max(now, (locked.board_time or now) + _SECOND)
        if locked.closes_at is not None:
            closed = min(closed, locked.closes_at)
        locked.closed_at = closed
        locked.phase = SecretPhase.CLOSED
        self.board.forget(vote.id)
        await self.session.flush()
        election.state = ElectionState.CLOSED
        await self.session.flush()
        cast = await self._voted(vote.id)
        await self._event(
            election,
            "election.state",
            {"from": "open", "to": "closed", "vote": vote.id, "voted": len(cast)},
        )
        return vote

    async def close_due(self) -> list[int]:
        """Close every secret vote whose deadline has passed (the sweeper calls this)."""
        rows = await self.session.scalars(
            select(Election.id)
            .join(SecretVote, SecretVote.id == Election.vote_id)
            .where(
                SecretVote.phase == SecretPhase.OPEN,
                SecretVote.closes_at.is_not(None),
                SecretVote.closes_at <= utcnow(),
            )
        )
        closed = []
        for election_id in rows.all():
            await self.close(election_id, by_deadline=True)
            closed.append(election_id)
        return closed

    # --- voting and counting --------------------------------------------------------------

    def counter(self) -> Hook:
        """What runs after a partial decryption is appended: the t-th valid one counts."""
        keyring, actor = self.keyring, self.actor

        async def count(db: AsyncSession, vote: SecretVote, replay: BoardReplay) -> None:
            if len(replay.partials) >= vote.threshold:
                await _count(db, vote, replay, keyring, actor)

        return count

    # --- reading --------------------------------------------------------------------------

    async def state(self, election_id: int) -> dict[str, Any]:
        election, _access, vote = await self.get(election_id)
        draft = json.loads(vote.draft)
        payload = draft["payload"]
        final = json.loads(vote.definition) if vote.definition else None
        roll = (final or draft)["payload"]["roll"]
        keys = {
            row.position: json.loads(row.document)
            for row in (
                await self.session.scalars(
                    select(SecretTransportKey).where(SecretTransportKey.vote_id == vote.id)
                )
            ).all()
        }
        kinds: dict[str, set[int]] = {"dealer": set(), "partial": set()}
        for kind, member in (
            await self.session.execute(
                select(SecretEntry.kind, SecretEntry.member_id).where(
                    SecretEntry.vote_id == vote.id, SecretEntry.kind.in_(("dealer", "partial"))
                )
            )
        ).tuples():
            kinds[kind].add(member)
        names = await self._names([m["member"] for m in payload["commission"]["members"]])
        serials = {r["member"]: r["keys"] for r in roll}
        commission = [
            {
                "index": m["index"],
                "member": m["member"],
                "name": names.get(m["member"], ""),
                "serial": (serials.get(m["member"]) or [None])[-1],
                "transport_key": keys.get(m["index"]),
                "dealt": m["member"] in kinds["dealer"],
                "decrypted": m["member"] in kinds["partial"],
            }
            for m in payload["commission"]["members"]
        ]
        me = self.actor.member_id
        index = {m["member"]: m["index"] for m in payload["commission"]["members"]}.get(me)
        voted = await self._voted(vote.id)
        spoiled = await self.session.scalar(
            select(func.count()).where(SecretEntry.vote_id == vote.id, SecretEntry.kind == "spoil")
        )
        return {
            "election": election.id,
            "vote": vote.id,
            "phase": vote.phase.value,
            "draft": draft,
            "definition": final,
            "threshold": vote.threshold,
            "context": vote.context,
            "commission": commission,
            "me": {
                "member": me,
                "index": index,
                "on_roll": me is not None and any(r["member"] == me for r in roll),
                "voted": me in voted,
            },
            "length": vote.length,
            "head": vote.head,
            "voted": [{"member": m, "name": n} for m, n in sorted(voted.items())],
            "spoiled": int(spoiled or 0),
            "result": json.loads(vote.result) if vote.result else None,
        }

    async def entries(self, election_id: int, after: int) -> list[Any]:
        _election, _access, vote = await self.get(election_id)
        rows = await self.session.scalars(
            select(SecretEntry.entry)
            .where(SecretEntry.vote_id == vote.id, SecretEntry.seq > after)
            .order_by(SecretEntry.seq)
            .limit(1000)
        )
        return [json.loads(text) for text in rows.all()]

    async def certificates(self, election_id: int) -> list[Any]:
        _election, _access, vote = await self.get(election_id)
        definition = json.loads(vote.definition or vote.draft)["payload"]
        return await certificates_of(self.session, definition)

    async def bundle(self, election_id: int) -> bytes:
        """The audit bundle (``kvorum.secret-audit-bundle``), once the vote is counted."""
        _election, _access, vote = await self.get(election_id)
        if vote.result is None or vote.definition is None:
            raise refusal("not_counted", "the bundle is made once the vote is counted")
        definition = json.loads(vote.definition)
        result = json.loads(vote.result)
        entries = [
            json.loads(text)
            for text in (
                await self.session.scalars(
                    select(SecretEntry.entry)
                    .where(SecretEntry.vote_id == vote.id)
                    .order_by(SecretEntry.seq)
                )
            ).all()
        ]
        certificates = await certificates_of(self.session, definition["payload"])
        signers = {definition["signer"], result["signer"]} | {c["signer"] for c in certificates}
        keys = self.keyring.public_keys()
        return canonicalize(
            {
                "type": SECRET_BUNDLE_TYPE,
                "v": 1,
                "registry_keys": {k: keys[k].b64u for k in sorted(signers)},
                "certificates": certificates,
                "definition": definition,
                "entries": entries,
                "result": result,
            }
        )

    # --- helpers --------------------------------------------------------------------------

    async def _commission(self, election: Election) -> Commission:
        commission = await self.session.scalar(
            select(Commission)
            .where(
                Commission.election_id == election.id,
                Commission.state == CommissionState.CONSTITUTED,
            )
            .order_by(Commission.id.desc())
        )
        if commission is None:
            raise refusal("election_state", "the counting commission is not constituted")
        await self.session.refresh(commission, ["members"])
        return commission

    def _on_commission(self, draft: Mapping[str, Any]) -> bool:
        return any(m["member"] == self.actor.member_id for m in draft["commission"]["members"])

    async def _require_chair(self, election: Election, access: ElectionAccess) -> None:
        if election.meeting_id is not None:
            meeting = await self.session.get(Meeting, election.meeting_id)
            assert meeting is not None
            if not (await roles_in(self.session, meeting, self.actor)).is_chair:
                raise refusal("not_yours", "only the meeting's chair opens and closes the vote")
        elif not access.can_prepare:
            raise refusal("not_yours", "only the body's officers open and close this vote")

    async def _composition(self, election: Election) -> set[int]:
        if election.meeting_id is not None:
            meeting = await self.session.get(Meeting, election.meeting_id)
            assert meeting is not None
            return await composition_ids(self.session, meeting)
        rows = await self.session.scalars(
            select(Seat.member_id).where(
                Seat.body_id == election.body_id, current_seat_clause(utcnow().date())
            )
        )
        return set(rows.all())

    async def _roll(
        self, election: Election, draft: Mapping[str, Any], used: set[int], now: dt.datetime
    ) -> list[dict[str, Any]]:
        """At a meeting, those present (in person or online) of the body, as an open
        roll-call vote of the meeting takes them; between meetings the body's
        composition. The commission's members are on it in any case, with the keys
        their key-generation messages were signed with."""
        composition = await self._composition(election)
        if election.meeting_id is not None:
            present = set(
                (
                    await self.session.scalars(
                        select(Presence.member_id).where(
                            Presence.meeting_id == election.meeting_id,
                            (Presence.online.is_(True)) | (Presence.in_person.is_(True)),
                        )
                    )
                ).all()
            )
            members = present & composition
        else:
            members = composition
        commission = {m["member"] for m in draft["commission"]["members"]}
        members |= commission
        keys = await self._keys(sorted(members), now)
        found = await self.session.execute(
            select(DeviceKey.serial, DeviceKey.member_id).where(DeviceKey.serial.in_(used))
        )
        used_by = {serial: member for serial, member in found.tuples().all()}
        for serial, member in used_by.items():
            if serial not in keys.setdefault(member, []):
                keys[member] = sorted([*keys[member], serial])
        names = await self._names(sorted(members))
        return [
            {"member": m, "name": names.get(m, ""), "keys": keys.get(m, [])}
            for m in sorted(members)
        ]

    async def _keys(self, members: Sequence[int], now: dt.datetime) -> dict[int, list[int]]:
        """Serials of the certificates each member holds, valid and unrevoked at ``now``."""
        keys: dict[int, list[int]] = {}
        rows = await self.session.execute(
            select(DeviceKey.member_id, DeviceKey.serial)
            .join(IssuedCredential, IssuedCredential.serial == DeviceKey.serial)
            .where(
                DeviceKey.member_id.in_(list(members)),
                IssuedCredential.revoked_at.is_(None),
                IssuedCredential.issued_at <= now,
                IssuedCredential.expires_at > now,
            )
            .order_by(DeviceKey.serial)
        )
        for member_id, serial in rows.tuples():
            keys.setdefault(member_id, []).append(serial)
        return keys

    async def _names(self, members: Sequence[int]) -> dict[int, str]:
        rows = await self.session.scalars(select(Member).where(Member.id.in_(list(members))))
        return {m.id: m.full_name for m in rows.all()}

    async def _voted(self, vote_id: int) -> dict[int, str]:
        """Who has a ballot on the board (never how they voted)."""
        members = (
            await self.session.scalars(
                select(SecretEntry.member_id)
                .where(SecretEntry.vote_id == vote_id, SecretEntry.kind == "ballot")
                .distinct()
            )
        ).all()
        return await self._names(list(members))

    async def _event(self, election: Election, kind: str, data: dict[str, object]) -> None:
        if election.meeting_id is None:
            return
        await append_event(
            self.session,
            election.meeting_id,
            kind,
            {"election": election.id, "office": election.office, **data},
            actor=self.actor.display_name,
        )


async def _count(
    db: AsyncSession,
    vote: SecretVote,
    replay: BoardReplay,
    keyring: RegistryKeyring,
    actor: Actor,
) -> None:
    """Combine the partial decryptions, sign the result, and move the election to
    counted (in the transaction that appends the t-th partial decryption)."""
    try:
        counts = replay.count()
    except Refused as exc:
        raise refusal(exc.reason, exc.message, exc.check) from exc
    counted = replay.counted()
    outcome = _expected_outcome(replay.definition, counts, len(counted))
    assert vote.closed_at is not None
    key = keyring.current
    payload = result_payload(
        vote=vote.id,
        definition=vote.fingerprint,
        length=vote.length,
        head=vote.head,
        closed_at=vote.closed_at,
        took_part=len(counted),
        counts=counts,
        decrypted_by=sorted(replay.decrypted),
        outcome=outcome,
        issuer=key.public_key.key_id,
    )
    signed = sign_document(payload, key).to_json()
    vote.result = json.dumps(signed, ensure_ascii=False)
    vote.phase = SecretPhase.COUNTED
    election = await db.scalar(
        select(Election).where(Election.vote_id == vote.id).with_for_update()
    )
    assert election is not None
    check_transition(election.state, ElectionState.COUNTED, Mover.COUNT)
    roll = len(replay.definition.payload["roll"])
    election.state = ElectionState.COUNTED
    election.counted_at = utcnow()
    election.result = canonicalize(
        {
            "result": signed,
            "roll": roll,
            "cast": len(counted),
            "spoiled": len(replay.spoiled),
        }
    ).decode()
    await db.flush()
    if election.meeting_id is not None:
        await append_event(
            db,
            election.meeting_id,
            "election.state",
            {
                "election": election.id,
                "office": election.office,
                "from": "closed",
                "to": "counted",
                "vote": vote.id,
                "counts": list(counts),
                "took_part": len(counted),
                "outcome": outcome,
                "decrypted_by": sorted(replay.decrypted),
            },
            actor=actor.display_name,
        )
