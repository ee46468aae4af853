"""An open absentee vote with many voters holding certified keys, made in bulk (no
meeting, no accounts' logins): for the board's concurrency and durability tests and
for ``bench/ballots_http.py``.

Members, accounts, key certificates and device keys are inserted in bulk (a few
statements per 5,000 voters); the certificates are signed by the registry key exactly as
:meth:`registry.credentials.CredentialService.enrol_key` signs them, and the vote is
opened by :meth:`ballots.votes.VoteService.open`, so its roll lists every voter's key.
Ballots are signed here as the browser signs them. The checks at the end are the
tests' view of a board: one chain, receipts that match it, a bundle that verifies.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.formats import Turnout
from ballots.models import BoardEntry, Vote, VoteKind
from ballots.verify import verify_bundle
from ballots.votes import Voter, VoteService, VoteSpec, second
from crypto.canonical import canonicalize_signed
from crypto.certificate import KeyCertificate, issue_certificate
from crypto.ed25519 import SigningKey
from crypto.encoding import b64u_encode
from crypto.envelope import SignedDocument, sign_document
from crypto.hashing import content_address
from registry.actor import Actor
from registry.credentials import KEY_CERTIFICATE
from registry.models import Account, DeviceKey, IssuedCredential, Member, OrgKind
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from registry.schemas import OrganisationIn

__all__ = [
    "LoadVote",
    "LoadVoter",
    "check_chain",
    "check_receipts",
    "close_and_verify",
    "open_load_vote",
]

SYSTEM = Actor.system("board load")


@dataclass(frozen=True)
class LoadVoter:
    member_id: int
    serial: int
    key: SigningKey


@dataclass
class LoadVote:
    vote_id: int
    fingerprint: str
    voters: list[LoadVoter]

    def ballot(self, voter: LoadVoter, choice: Sequence[int] = (1,)) -> dict[str, object]:
        """A signed ballot (a fresh nonce each time) as the browser sends it."""
        payload = {
            "type": "kvorum.ballot",
            "v": 1,
            "vote": self.vote_id,
            "definition": self.fingerprint,
            "serial": voter.serial,
            "choice": list(choice),
            "nonce": b64u_encode(secrets.token_bytes(18)),
        }
        return sign_document(payload, voter.key).to_json()

    def ballot_bytes(self, voter: LoadVoter, choice: Sequence[int] = (1,)) -> bytes:
        return json.dumps(self.ballot(voter, choice)).encode()


async def open_load_vote(
    db: AsyncSession,
    keyring: RegistryKeyring,
    voters: int,
    *,
    closes_in: dt.timedelta = dt.timedelta(hours=6),
    chunk: int = 5000,
) -> LoadVote:
    """A union of ``voters`` members, each with one certified key, and an open absentee
    vote (a simple majority of the ballots cast) whose roll is all of them. Commits."""
    tag = secrets.token_hex(4)
    org = await OrganisationService(db, SYSTEM).create(
        OrganisationIn(name=f"Союз для нагрузки {tag}", kind=OrgKind.REGIONAL_COUNCIL)
    )
    issued_at = second(utcnow()) - dt.timedelta(minutes=1)
    expires_at = issued_at + dt.timedelta(days=30)
    made: list[LoadVoter] = []
    names: list[Voter] = []
    for start in range(0, voters, chunk):
        numbers = range(start, min(voters, start + chunk))
        cards = {f"L{tag}-{n:06d}": n for n in numbers}
        await db.execute(
            insert(Member),
            [
                {
                    "organisation_id": org.id,
                    "root_organisation_id": org.id,
                    "surname": f"Голосующий{n:06d}",
                    "name": "Иван",
                    "patronymic": "Петрович",
                    "card_number": card,
                }
                for card, n in cards.items()
            ],
        )
        members = sorted(
            (
                await db.execute(
                    select(Member.id, Member.card_number).where(
                        Member.root_organisation_id == org.id,
                        Member.card_number.in_(list(cards)),
                    )
                )
            ).all()
        )
        ids = [member_id for member_id, _card in members]
        await db.execute(
            insert(Account),
            [{"member_id": m, "display_name": f"Голосующий {m}"} for m in ids],
        )
        await db.execute(
            insert(IssuedCredential),
            [
                {
                    "kind": KEY_CERTIFICATE,
                    "member_id": m,
                    "organisation_id": org.id,
                    "issuer": keyring.current_id,
                    "issued_at": issued_at,
                    "expires_at": expires_at,
                    "document": "",
                }
                for m in ids
            ],
        )
        accounts: dict[int | None, int] = dict(
            (
                await db.execute(
                    select(Account.member_id, Account.id).where(Account.member_id.in_(ids))
                )
            )
            .tuples()
            .all()
        )
        serials: dict[int, int] = dict(
            (
                await db.execute(
                    select(IssuedCredential.member_id, IssuedCredential.serial).where(
                        IssuedCredential.member_id.in_(ids)
                    )
                )
            )
            .tuples()
            .all()
        )
        keys = {m: SigningKey.generate() for m in ids}
        documents = []
        for m in ids:
            certificate = KeyCertificate(
                serial=serials[m],
                member_id=m,
                organisation_id=org.id,
                organisation=org.short_name or org.name,
                public_key=keys[m].public_key,
                issued_at=issued_at,
                expires_at=expires_at,
                issuer=keyring.current_id,
            )
            document = issue_certificate(certificate, keyring.current)
            documents.append(
                {
                    "serial": serials[m],
                    "document": json.dumps(document.to_json(), ensure_ascii=False),
                }
            )
        await db.execute(update(IssuedCredential), documents)
        await db.execute(
            insert(DeviceKey),
            [
                {
                    "member_id": m,
                    "account_id": accounts[m],
                    "serial": serials[m],
                    "public_key": keys[m].public_key.b64u,
                    "label": "load",
                }
                for m in ids
            ],
        )
        made.extend(LoadVoter(m, serials[m], keys[m]) for m in ids)
        names.extend(Voter(m, f"Голосующий {m}") for m in ids)
    vote = await VoteService(db, SYSTEM, keyring).open(
        VoteSpec(
            kind=VoteKind.ABSENTEE,
            organisation_id=org.id,
            title="Нагрузка на доску",
            question="Утвердить план работы?",
            voters=names,
            composition=len(names),
            turnout=Turnout(1, 2, True),
            closes_at=utcnow() + closes_in,
        )
    )
    await db.commit()
    return LoadVote(vote.id, vote.fingerprint, made)


# --- checks, for the tests ----------------------------------------------------------------


async def check_chain(db: AsyncSession, load: LoadVote, length: int) -> list[BoardEntry]:
    """The vote's board is one chain of ``length`` entries ending at the vote's head."""
    db.expire_all()
    entries = list(
        (
            await db.scalars(
                select(BoardEntry)
                .where(BoardEntry.vote_id == load.vote_id)
                .order_by(BoardEntry.seq)
            )
        ).all()
    )
    assert [e.seq for e in entries] == list(range(1, length + 1))
    prev = load.fingerprint
    for entry in entries:
        body = json.loads(entry.entry)
        assert body["seq"] == entry.seq
        assert body["prev"] == prev, f"entry {entry.seq} does not follow entry {entry.seq - 1}"
        assert canonicalize_signed(body) == entry.entry.encode()
        assert content_address(entry.entry.encode()) == entry.hash
        prev = entry.hash
    vote = await db.get(Vote, load.vote_id)
    assert vote is not None
    assert (vote.board_length, vote.board_head) == (length, prev)
    assert len({e.ballot_digest for e in entries}) == length
    return entries


def check_receipts(
    receipts: list[dict[str, Any]],
    entries: list[BoardEntry],
    keyring: RegistryKeyring,
    *,
    distinct: bool = True,
) -> None:
    """Each receipt is signed, names a distinct position (unless ballots were sent
    more than once), and that entry's hash."""
    keys = keyring.public_keys()
    seqs = [r["seq"] for r in receipts]
    assert not distinct or len(set(seqs)) == len(seqs)
    by_seq = {e.seq: e for e in entries}
    for answer in receipts:
        receipt = SignedDocument.parse(answer["receipt"])
        receipt.verify(keys, expect_type="kvorum.receipt", expect_version=1)
        assert receipt.payload["seq"] == answer["seq"]
        assert receipt.payload["entry"] == answer["entry"] == by_seq[answer["seq"]].hash


async def close_and_verify(
    db: AsyncSession, load: LoadVote, keyring: RegistryKeyring
) -> dict[str, Any]:
    """Close the vote, check its bundle offline; return the signed result's payload."""
    service = VoteService(db, SYSTEM, keyring)
    vote = await service.close(load.vote_id)
    await db.commit()
    data = await service.bundle([vote])
    length, result = vote.board_length, vote.result or ""
    await db.rollback()
    report = verify_bundle(data, jobs=1)
    assert report.ok, report.text()
    assert report.votes[0].entries == length
    return dict(json.loads(result)["payload"])
