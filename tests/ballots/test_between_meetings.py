"""Absentee votes and surveys: opened without a meeting, members notified, ballots by
link until the deadline, closed by the sweeper, counted under the turnout rule."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.verify import verify_bundle
from meetings.models import Notice
from registry.models import Account, Role
from server.keys import KEYRING
from server.views.votes_api import close_due_votes
from tests.ballots.votes_setup import ballot, enrol
from tests.factories import account, body, login, member, org, seat


async def _people(
    db: AsyncSession, client: Any, size: int
) -> tuple[Any, list[Any], Any, list[Account]]:
    root = await org(db, "Союз для голосований")
    presidium = await body(db, root)
    keyring = client.server.app[KEYRING]
    voters = []
    accounts: list[Account] = []  # the voters' accounts, in the voters' order
    for _ in range(size):
        m = await member(db, root)
        await seat(db, presidium, m)
        acc = await account(db, Role.MEMBER, member_obj=m)
        voters.append(await enrol(db, keyring, m, acc.id))
        accounts.append(acc)
    registrar = await account(db, Role.REGISTRAR, Role.SECRETARY, name="Регистратор")
    auditor = await account(db, Role.AUDITOR, name="Ревизор")
    await db.commit()
    return (root, presidium), voters, (await login(client, db, registrar), auditor), accounts


def _soon(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()


async def _wait_and_sweep(client: Any, vote: dict[str, Any]) -> None:
    deadline = dt.datetime.fromisoformat(vote["closes_at"].replace("Z", "+00:00"))
    await asyncio.sleep(max(0.0, (deadline - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    assert vote["vote"] in await close_due_votes(client.server.app)


async def test_absentee_vote_closes_at_its_deadline(client: Any, db: AsyncSession) -> None:
    (_root, presidium), voters, (registrar, _auditor), _accounts = await _people(db, client, 5)
    response = await registrar.post(
        "/api/v1/votes/absentee",
        json={
            "body_id": presidium.id,
            "title": "О проведении конкурса",
            "question": "Провести конкурс «Лучший профорг»",
            "closes_at": _soon(3),
            "base": "composition",
        },
    )
    assert response.status == 201, await response.text()
    vote = await response.json()
    assert vote["kind"] == "absentee"
    assert len(vote["roll"]) == 5
    notices = (await db.scalars(select(Notice).where(Notice.vote_id == vote["vote"]))).all()
    assert len(notices) == 5
    await db.rollback()

    for voter, choice in zip(voters[:3], ([1], [1], [1]), strict=True):
        answer = await client.post(
            f"/api/v1/votes/{vote['vote']}/ballots", json=ballot(voter, vote, choice)
        )
        assert answer.status == 201, await answer.text()

    await _wait_and_sweep(client, vote)
    closed = await (await registrar.get(f"/api/v1/votes/{vote['vote']}")).json()
    assert closed["state"] == "closed"
    # 3 of 5 «за»: more than half of the full composition, turnout 3 of 5 is enough.
    assert closed["result"]["counts"] == [3, 0, 0]
    assert closed["result"]["turnout_met"] is True
    assert closed["result"]["adopted"] is True
    late = await client.post(
        f"/api/v1/votes/{vote['vote']}/ballots", json=ballot(voters[4], vote, [2])
    )
    assert late.status == 409
    data = await (await registrar.get(f"/api/v1/votes/{vote['vote']}/bundle")).read()
    assert verify_bundle(data, jobs=1).ok


async def test_absentee_vote_fails_without_turnout(client: Any, db: AsyncSession) -> None:
    (_root, presidium), voters, (registrar, _auditor), _accounts = await _people(db, client, 5)
    response = await registrar.post(
        "/api/v1/votes/absentee",
        json={
            "body_id": presidium.id,
            "title": "О плане",
            "question": "Утвердить план",
            "closes_at": _soon(2),
        },
    )
    vote = await response.json()
    for voter in voters[:2]:  # 2 of 5 took part: no turnout
        await client.post(f"/api/v1/votes/{vote['vote']}/ballots", json=ballot(voter, vote, [1]))
    await _wait_and_sweep(client, vote)
    closed = await (await registrar.get(f"/api/v1/votes/{vote['vote']}")).json()
    assert closed["result"]["turnout_met"] is False
    assert closed["result"]["adopted"] is False


async def test_bad_vote_definitions_are_refused_whole(client: Any, db: AsyncSession) -> None:
    (_root, presidium), _voters, (registrar, _auditor), _accounts = await _people(db, client, 3)
    cases = [
        {"body_id": presidium.id, "title": "x", "question": "q", "closes_at": _soon(-60)},
        {"body_id": presidium.id, "title": "x", "question": "q", "closes_at": "2030-01-01T10:00"},
        {
            "body_id": presidium.id,
            "title": "x",
            "question": "q",
            "closes_at": _soon(60),
            "options": ["за", "За"],
        },
        {
            "body_id": presidium.id,
            "title": "x",
            "question": "q",
            "closes_at": _soon(60),
            "base": "present",
        },
        {"body_id": 999999, "title": "x", "question": "q", "closes_at": _soon(60)},
    ]
    for case in cases:
        response = await registrar.post("/api/v1/votes/absentee", json=case)
        assert response.status in (404, 422), (case, await response.text())
    listed = await (await registrar.get("/api/v1/votes")).json()
    assert listed == []


async def test_anonymous_survey_shows_counts_only(client: Any, db: AsyncSession) -> None:
    (root, _presidium), voters, (registrar, auditor), accounts = await _people(db, client, 4)
    response = await registrar.post(
        "/api/v1/votes/surveys",
        json={
            "organisation_id": root.id,
            "title": "Темы обучения",
            "question": "Какие темы включить в план обучения?",
            "options": ["Охрана труда", "Правовая защита", "Цифровые сервисы"],
            "multiple": True,
            "anonymous": True,
            "closes_at": _soon(2),
        },
    )
    assert response.status == 201, await response.text()
    vote = await response.json()
    assert vote["max_choices"] == 3
    for voter, choice in zip(voters, ([1, 3], [3], [1, 2, 3], [2]), strict=True):
        answer = await client.post(
            f"/api/v1/votes/{vote['vote']}/ballots", json=ballot(voter, vote, choice)
        )
        assert answer.status == 201, await answer.text()
    await _wait_and_sweep(client, vote)

    member_view = await login(client, db, accounts[0])
    seen = await (await member_view.get(f"/api/v1/votes/{vote['vote']}")).json()
    assert seen["result"]["counts"] == [2, 2, 3]
    assert seen["result"]["adopted"] is None
    assert seen["result"]["roll_call"] is None
    assert seen["bundle"] is False
    refused = await member_view.get(f"/api/v1/votes/{vote['vote']}/bundle")
    assert refused.status == 403

    auditor_view = await login(client, db, auditor)
    data = await (await auditor_view.get(f"/api/v1/votes/{vote['vote']}/bundle")).read()
    report = verify_bundle(data, jobs=1)
    assert report.ok, report.text()
    assert report.votes[0].counts == (2, 2, 3)
