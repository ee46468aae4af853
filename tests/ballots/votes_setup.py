"""A meeting in session with voters who hold certified keys, for the ballot tests: the
members' keys are made here in Python as a browser makes them in WebCrypto."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crypto.ed25519 import SigningKey
from crypto.encoding import b64u_encode
from crypto.envelope import sign_document
from meetings.room import RoomService
from registry.actor import Actor
from registry.credentials import CredentialService
from registry.models import Member, Role
from registry.registrykey import RegistryKeyring
from server.keys import KEYRING
from tests.factories import MeetingSetup, account, login, meeting

__all__ = ["Voter", "VotingMeeting", "ballot", "hall_record", "voting_meeting"]


@dataclass
class Voter:
    member: Member
    key: SigningKey
    serial: int


@dataclass
class VotingMeeting:
    setup: MeetingSetup
    voters: list[Voter]  # present, with keys (the chair first)
    absent: Voter  # a member of the body with a key, not present
    chair: Any  # a logged-in client


def ballot(
    voter: Voter, vote: dict[str, Any], choice: list[int], *, serial: int | None = None
) -> dict[str, Any]:
    """A signed ballot as the browser builds it."""
    payload = {
        "type": "kvorum.ballot",
        "v": 1,
        "vote": vote["vote"],
        "definition": vote["fingerprint"],
        "serial": serial if serial is not None else voter.serial,
        "choice": choice,
        "nonce": b64u_encode(secrets.token_bytes(18)),
    }
    return sign_document(payload, voter.key).to_json()


async def enrol(
    db: AsyncSession, keyring: RegistryKeyring, member: Member, account_id: int
) -> Voter:
    key = SigningKey.generate()
    device, _ = await CredentialService(db, Actor.system(), keyring).enrol_key(
        member, account_id, key.public_key, label="test", valid_days=30
    )
    return Voter(member, key, device.serial)


async def voting_meeting(
    db: AsyncSession, client: Any, *, size: int = 5, present: int = 4
) -> VotingMeeting:
    """A presidium of ``size`` in session, ``present`` of them in the hall (chair first),
    every member holding a certified key; the chair logged in on ``client``."""
    setup = await meeting(db, size=size)
    keyring: RegistryKeyring = client.server.app[KEYRING]
    voters = []
    chair_account = None
    for index, m in enumerate(setup.members):
        acc = await account(db, Role.MEMBER, member_obj=m)
        if index == 0:
            chair_account = acc
        voters.append(await enrol(db, keyring, m, acc.id))
    secretary = Actor(
        None, setup.secretary.full_name, frozenset({Role.SECRETARY}), setup.secretary.id
    )
    room = RoomService(db, secretary)
    for voter in voters[:present]:
        await room.register_in_person(setup.meeting_id, voter.member.id, True)
    await db.commit()
    assert chair_account is not None
    chair = await login(client, db, chair_account)
    return VotingMeeting(setup, voters[:present], voters[present], chair)


def hall_record(
    secretary: Voter, vote: dict[str, Any], member: int, choice: list[int]
) -> dict[str, Any]:
    """The secretary's signed record of a hall member's vote, as the room's page builds
    it (docs/ballots.md, "Hall records")."""
    payload = {
        "type": "kvorum.hall-record",
        "v": 1,
        "vote": vote["vote"],
        "definition": vote["fingerprint"],
        "serial": secretary.serial,
        "member": member,
        "choice": choice,
        "nonce": b64u_encode(secrets.token_bytes(18)),
    }
    return sign_document(payload, secretary.key).to_json()
