"""A meeting with an election whose counting commission is constituted, and the
members' browsers simulated in Python: real Ed25519 keys with registry certificates,
the commission's key generation (crypto.dkg), encrypted ballots and partial
decryptions (crypto.secretballot), each document signed by its member's key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ballots.secretformats import fingerprint
from crypto.dkg import DkgParameters, deal, member_share
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import sign_document
from crypto.group import parse_point
from crypto.secretballot import (
    BallotForm,
    EncryptedBallot,
    SecretElection,
    encrypt_ballot,
    partial_decrypt,
    tally,
)
from meetings.elections.models import Election, ElectionState
from meetings.elections.schemas import CandidateIn, CommissionIn, ElectionIn
from meetings.elections.services import ElectionService
from meetings.room import RoomService
from meetings.votes import VoteDesk
from registry.models import Role
from server.keys import BOARD, KEYRING
from tests import factories as f
from tests.ballots.votes_setup import Voter, ballot, enrol

__all__ = ["Browser", "SecretWorld", "secret_world"]


@dataclass
class Browser:
    """A member's browser: their key, their session, and what key generation left."""

    voter: Voter
    http: Any  # a logged-in client (tests.factories.Login)
    member_id: int  # a plain value: a rollback in the test cannot expire it
    index: int | None = None  # on the commission
    shares: dict[int, int] = field(default_factory=dict)  # dealer → share received
    dealt: dict[int, int] = field(default_factory=dict)  # recipient → share sent

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        return sign_document(payload, self.voter.key).to_json()


@dataclass
class SecretWorld:
    election: int
    meeting: int
    chair: Browser
    browsers: list[Browser]  # everyone present (the roll), chair first
    commission: list[Browser]  # indices 1 … 5
    absent: Browser  # a member of the body with a key, not present
    outsider: Any  # an anonymous client
    state: dict[str, Any] = field(default_factory=dict)

    async def get(self, who: Browser | None = None) -> dict[str, Any]:
        http = (who or self.chair).http
        response = await http.get(f"/api/v1/elections/{self.election}/secret")
        assert response.status == 200, await response.text()
        self.state = await response.json()
        return self.state

    def path(self, tail: str) -> str:
        return f"/api/v1/elections/{self.election}/secret/{tail}"

    @property
    def draft(self) -> dict[str, Any]:
        return dict(self.state["draft"]["payload"])

    @property
    def definition(self) -> dict[str, Any]:
        return dict(self.state["definition"]["payload"])

    def params(self) -> DkgParameters:
        draft = self.draft
        return DkgParameters(
            b64u_decode(draft["commission"]["context"], length=32),
            len(draft["commission"]["members"]),
            draft["commission"]["threshold"],
        )

    def election_crypto(self) -> SecretElection:
        definition = self.definition
        return SecretElection(
            bytes.fromhex(fingerprint(definition).removeprefix("sha256:")),
            parse_point(definition["key"], what="key", allow_identity=False),
            BallotForm(
                len(definition["options"]), definition["min_marks"], definition["max_marks"]
            ),
        )

    # --- documents as the browsers make them ----------------------------------------------

    def transport_key(self, who: Browser) -> dict[str, Any]:
        return who.sign(
            {
                "type": "kvorum.secret-transport-key",
                "v": 1,
                "vote": self.state["vote"],
                "serial": who.voter.serial,
                "context": self.state["context"],
                "index": who.index,
                "key": b64u_encode(secrets.token_bytes(32)),
            }
        )

    def dealing(self, who: Browser) -> dict[str, Any]:
        assert who.index is not None
        commitment, shares = deal(self.params(), who.index, _draw)
        who.dealt = dict(shares)
        dealer = who.sign(
            {
                "type": "kvorum.secret-dealer",
                "v": 1,
                "vote": self.state["vote"],
                "serial": who.voter.serial,
                "context": self.state["context"],
                "commitment": commitment.to_json(),
            }
        )
        docs = []
        for other in self.commission:
            if other is who:
                continue
            assert other.index is not None
            docs.append(
                who.sign(
                    {
                        "type": "kvorum.secret-share",
                        "v": 1,
                        "vote": self.state["vote"],
                        "serial": who.voter.serial,
                        "context": self.state["context"],
                        "dealer": who.index,
                        "recipient": other.index,
                        # The browser wraps the share to the recipient's transport key
                        # (docs/commission-keys.md §3); to the server it is opaque bytes.
                        "envelope": {"opaque": b64u_encode(secrets.token_bytes(48))},
                    }
                )
            )
        return {"dealer": dealer, "shares": docs}

    def complaint(
        self, who: Browser, dealer: int, recipient: int, revealed: int | None
    ) -> dict[str, Any]:
        from crypto.group import encode_scalar

        return who.sign(
            {
                "type": "kvorum.secret-complaint",
                "v": 1,
                "vote": self.state["vote"],
                "serial": who.voter.serial,
                "context": self.state["context"],
                "complaint": {
                    "dealer": dealer,
                    "recipient": recipient,
                    "revealed": None if revealed is None else encode_scalar(revealed),
                },
            }
        )

    def ballot(
        self, who: Browser, marks: tuple[int, ...], **change: Any
    ) -> tuple[dict[str, Any], Any, EncryptedBallot]:
        election = self.election_crypto()
        encrypted, opening = encrypt_ballot(election, bytes(who.voter.key.public_key), marks)
        payload = {
            "type": "kvorum.secret-ballot",
            "v": 1,
            "vote": self.state["vote"],
            "serial": who.voter.serial,
            "definition": self.state["definition"]["payload"] and fingerprint(self.definition),
            "nonce": b64u_encode(secrets.token_bytes(18)),
            "ballot": encrypted.to_json(),
        }
        payload.update(change)
        return who.sign(payload), opening, encrypted

    def spoil(self, who: Browser, seq: int, opening: Any) -> dict[str, Any]:
        return who.sign(
            {
                "type": "kvorum.secret-spoil",
                "v": 1,
                "vote": self.state["vote"],
                "serial": who.voter.serial,
                "definition": fingerprint(self.definition),
                "ballot_seq": seq,
                "opening": opening.to_json(),
            }
        )

    def partial(self, who: Browser, counted: list[EncryptedBallot]) -> dict[str, Any]:
        assert who.index is not None
        election = self.election_crypto()
        qualified = self.definition["dealers"]
        share = member_share({d: s for d, s in who.shares.items()}, qualified)
        made = partial_decrypt(election, who.index, share, tally(election, counted))
        return who.sign(
            {
                "type": "kvorum.secret-partial",
                "v": 1,
                "vote": self.state["vote"],
                "serial": who.voter.serial,
                "definition": fingerprint(self.definition),
                "partial": made.to_json(),
            }
        )


def _draw() -> int:
    from crypto.group import L

    return int.from_bytes(secrets.token_bytes(64), "little") % (L - 1) + 1


async def secret_world(
    db: AsyncSession, client: Any, aiohttp_client: Any, *, present: int = 9
) -> SecretWorld:
    """A presidium of 10 in session, ``present`` of them in the hall, all with keys; an
    election of the chair (one of 3 candidates: members 7, 8, 9) on the first item;
    a commission of members 1 … 5 (t = 3) elected by the body's open vote."""
    setup = await f.meeting(db, size=10, items=2)
    keyring = client.server.app[KEYRING]
    accounts = []
    voters = []
    for m in setup.members:
        acc = await f.account(db, Role.MEMBER, member_obj=m)
        accounts.append(acc)
        voters.append(await enrol(db, keyring, m, acc.id))
    secretary = setup.actor(setup.secretary, Role.MEMBER)
    room = RoomService(db, secretary)
    for voter in voters[:present]:
        await room.register_in_person(setup.meeting_id, voter.member.id, True)
    service = ElectionService(db, secretary, keyring)
    election = await service.create_on_item(
        setup.meeting_id,
        ElectionIn.model_validate(
            {"item_id": setup.item_ids[0], "office": "председатель", "seats": 1, "form": "one_of"}
        ),
    )
    for m in setup.members[6:9]:
        await service.nominate(
            election.id,
            CandidateIn(member_id=m.id, nominated_by="самовыдвижение", consent=True, bio="Стаж"),
        )
    await service.transition(election.id, ElectionState.CANDIDATES_CLOSED)
    election_id = election.id
    # Plain values: the commits below expire the objects.
    member_ids = [m.id for m in setup.members]
    chair = setup.actor(setup.chair, Role.MEMBER)
    browsers = []
    for index, (voter, acc) in enumerate(zip(voters, accounts, strict=True)):
        http_client = client if index == 0 else await aiohttp_client(client.server)
        http = await f.login(http_client, db, acc)
        browsers.append(Browser(voter, http, member_ids[index], index if 1 <= index <= 5 else None))
    # The commission of members 1 … 5 (t = 3), elected by the body's open vote.
    _commission, vote = await service.propose_commission(
        election_id, CommissionIn(member_ids=member_ids[1:6])
    )
    vote_id, print_ = vote.id, vote.fingerprint
    await db.commit()
    board = client.server.app[BOARD]
    for voter in voters[:present]:
        await board.cast(vote_id, ballot(voter, {"vote": vote_id, "fingerprint": print_}, [1]))
    async with db.begin():
        await VoteDesk(db, chair, keyring).close_meeting_vote(setup.meeting_id, vote_id)
    row = await db.get(Election, election_id, populate_existing=True)
    assert row is not None
    assert row.state is ElectionState.COMMISSION_CONSTITUTED
    await db.rollback()
    anonymous = await aiohttp_client(client.server)
    world = SecretWorld(
        election_id,
        setup.meeting_id,
        browsers[0],
        browsers[:present],
        browsers[1:6],
        browsers[present] if present < len(browsers) else browsers[-1],
        anonymous,
    )
    return world
