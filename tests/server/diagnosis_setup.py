"""A regional council with three member organisations, for self-diagnosis tests.

The council's presidium has a secretary (an officer: runs campaigns); each member
organisation has a presidium whose chair answers for it, with a certified signing key.
Beside them, another union whose secretary holds the application's secretary role but
is nobody to the council.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crypto.envelope import sign_document
from crypto.instant import format_instant
from registry.diagnosis.methodology import AnswerType
from registry.diagnosis.services import MethodologyService
from registry.models import Account, Member, Organisation, OrgKind, Role, SeatRole
from server.keys import KEYRING
from tests import factories as f
from tests.ballots.votes_setup import Voter, enrol
from tests.server.access_world import make_client_factory

__all__ = ["Council", "answers_for", "council", "signed"]


@dataclass
class Council:
    root: Organisation
    presidium_id: int
    secretary: Member
    orgs: list[Organisation]
    responders: list[Voter]  # the chair of each member organisation, with a key
    outsider: Member  # the other union's secretary
    methodology_id: int
    logins: dict[str, Any] = field(default_factory=dict)
    accounts: dict[str, Any] = field(default_factory=dict)
    # Plain ids, readable after the test's session is rolled back.
    root_id: int = 0
    org_ids: list[int] = field(default_factory=list)
    org_names: list[str] = field(default_factory=list)
    responder_ids: list[int] = field(default_factory=list)
    secretary_id: int = 0
    outsider_id: int = 0
    account_ids: dict[str, int] = field(default_factory=dict)
    make_client: Any = None

    async def as_(self, who: str, db: AsyncSession, _client: Any = None) -> Any:
        """``who`` logged in on a client of their own (a cookie jar each)."""
        if who not in self.logins:
            client = await self.make_client()
            account = await db.get(Account, self.account_ids[who])
            assert account is not None
            self.logins[who] = await f.login(client, db, account)
        return self.logins[who]


async def council(db: AsyncSession, client: Any, aiohttp_client: Any, *, size: int = 3) -> Council:
    root = await f.org(db, "Краевой союз профсоюзов")
    presidium = await f.body(db, root, "Президиум краевого союза")
    secretary = await f.member(db, root, "Секретарёва", email="secretary@example.org")
    await f.seat(db, presidium, secretary, SeatRole.SECRETARY)
    accounts = {"secretary": await f.account(db, Role.MEMBER, member_obj=secretary)}
    keyring = client.server.app[KEYRING]
    orgs, responders = [], []
    for n in range(size):
        org = await f.org(
            db, f"Первичная организация № {n + 1}", kind=OrgKind.MEMBER_ORGANISATION, parent=root
        )
        board = await f.body(db, org, f"Президиум организации № {n + 1}")
        chair = await f.member(
            db,
            org,
            ("Председателева", "Первова", "Вторникова", "Средина", "Четвергова")[n % 5],
            email=f"chair{n}@example.org",
        )
        await f.seat(db, board, chair, SeatRole.CHAIR)
        account = await f.account(db, Role.MEMBER, member_obj=chair)
        accounts[f"chair{n}"] = account
        orgs.append(org)
        responders.append(await enrol(db, keyring, chair, account.id))
    other = await f.org(db, "Другой союз")
    other_board = await f.body(db, other, "Президиум другого союза")
    outsider = await f.member(db, other, "Чужаков")
    await f.seat(db, other_board, outsider, SeatRole.SECRETARY)
    accounts["outsider"] = await f.account(db, Role.SECRETARY, Role.MEMBER, member_obj=outsider)
    stored = await MethodologyService(db, f.SYSTEM).ensure_default(root.id)
    made = Council(
        root,
        presidium.id,
        secretary,
        orgs,
        responders,
        outsider,
        stored.id,
        accounts=accounts,
        root_id=root.id,
        org_ids=[o.id for o in orgs],
        org_names=[o.name for o in orgs],
        responder_ids=[v.member.id for v in responders],
        secretary_id=secretary.id,
        outsider_id=outsider.id,
        account_ids={name: a.id for name, a in accounts.items()},
        make_client=make_client_factory(client.server, aiohttp_client),
    )
    await db.commit()
    return made


def answers_for(methodology: Any, level: int) -> dict[str, Any]:
    """Answers to every question but file ones: ``level`` 0 (nothing) .. 2 (everything)."""
    out: dict[str, Any] = {}
    for section in methodology.sections:
        for q in section.questions:
            if q.type is AnswerType.YES_NO:
                out[q.code] = level > 0
            elif q.type is AnswerType.SCALE:
                out[q.code] = [q.scale_min, (q.scale_min + q.scale_max) // 2, q.scale_max][level]
            elif q.type is AnswerType.NUMBER:
                out[q.code] = [0, q.target // 2, q.target][level]
            elif q.type is AnswerType.CHOICE:
                options = sorted(q.options, key=lambda o: o.points)
                out[q.code] = options[[0, len(options) // 2, -1][level]].label
            elif q.type is AnswerType.LINK:
                out[q.code] = "https://example.org/evidence"
    return out


def signed(voter: Voter, template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The responder's statement of ``template``, signed with their key."""
    payload = dict(template) | {
        "serial": voter.serial,
        "submitted_at": format_instant(dt.datetime.now(dt.UTC).replace(microsecond=0)),
    }
    payload |= changes
    return sign_document(payload, voter.key).to_json()
