"""No table, log record or HTTP answer of the server holds how a member voted.

The method: a ballot's choice can be read only with its opening (the marks and the
encryption randomness rᵢ, which never leave the voter's browser unless the ballot is
challenged) or with the election's secret key (which no single party holds: the
members' shares xᵢ and the dealt shares s_{j,i} stay in the commission's browsers).
After a whole vote, every row of every table, every log record (captured at DEBUG)
and every byte the server answered are searched for each of those values — the
randomness of each counted ballot, each member's share and each dealt share, in the
encoding a document would carry them — and for openings ("marks") other than the
one challenged ballot's, which is published by design.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.dkg import member_share
from crypto.group import encode_scalar
from registry.orm import Base
from tests.ballots.secret_setup import secret_world
from tests.ballots.test_secret_server import keygen


class Recorder:
    """A member's client that keeps every answer's bytes."""

    def __init__(self, http: Any, answers: list[bytes]) -> None:
        self.http = http
        self.answers = answers

    async def get(self, path: str, **kw: Any) -> Any:
        response = await self.http.get(path, **kw)
        self.answers.append(await response.read())
        return response

    async def post(self, path: str, **kw: Any) -> Any:
        response = await self.http.post(path, **kw)
        self.answers.append(await response.read())
        return response


async def test_no_plaintext_choice_anywhere(
    client: Any, aiohttp_client: Any, db: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[bytes] = []
    world = await secret_world(db, client, aiohttp_client)
    for browser in world.browsers:
        browser.http = Recorder(browser.http, answers)
    await keygen(world, complain=False)
    response = await world.chair.http.post(world.path("open"))
    world.state = await response.json()
    secrets_: dict[str, str] = {}
    counted = []
    # Recognisable patterns: the first four choose candidate 1, the rest candidate 3.
    for index, browser in enumerate(world.browsers[:7]):
        marks = (1, 0, 0) if index < 4 else (0, 0, 1)
        if index == 2:  # one challenge: that ballot's opening is published, by design
            document, opening, _ = world.ballot(browser, (0, 1, 0))
            placed = await (await browser.http.post(world.path("ballots"), json=document)).json()
            spoil = world.spoil(browser, placed["seq"], opening)
            assert (await browser.http.post(world.path("spoils"), json=spoil)).status == 201
        document, opening, encrypted = world.ballot(browser, marks)
        assert (await browser.http.post(world.path("ballots"), json=document)).status == 201
        counted.append(encrypted)
        for r in opening.to_json()["randomness"]:
            secrets_[str(r)] = f"randomness of voter {index}'s counted ballot"
        await browser.http.get(world.path(""))
    await world.chair.http.post(world.path("close"))
    for member in world.commission:
        assert member.index is not None
        member.shares = {d.index: d.dealt[member.index] for d in world.commission}  # type: ignore[index]
        for dealer, share in member.shares.items():
            secrets_[encode_scalar(share)] = f"share of dealer {dealer} for {member.index}"
        own = member_share(member.shares, world.definition["dealers"])
        secrets_[encode_scalar(own)] = f"member {member.index}'s key share"
    for member in world.commission[:3]:
        response = await member.http.post(
            world.path("partials"), json=world.partial(member, counted)
        )
        assert response.status == 201
    for browser in world.browsers:
        await browser.http.get(world.path(""))
        await browser.http.get(world.path("entries"))
    bundle_response = await world.chair.http.get(world.path("bundle"))
    assert bundle_response.status == 200
    assert (await world.get())["result"]["payload"]["counts"] == [4, 0, 3]

    await db.rollback()
    rows: list[str] = []
    for table in Base.metadata.sorted_tables:
        result = await db.execute(select(table))
        rows.extend(repr(tuple(row)) for row in result.all())
    if db.bind.dialect.name == "sqlite":  # the whole file as stored, too
        dump = await db.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert {str(name) for (name,) in dump.all()} >= {"secret_entry", "secret_share"}
    await db.rollback()
    logs = caplog.text + "".join(
        json.dumps(getattr(r, "__dict__", {}), default=str) for r in caplog.records
    )
    places = {
        "tables": "\n".join(rows),
        "logs": logs,
        "answers": b"\n".join(answers).decode(errors="replace"),
    }
    assert len(secrets_) >= 21 + 20 + 5
    for where, content in places.items():
        for secret, what in secrets_.items():
            assert secret not in content, f"{what} found in the {where}"
    # Openings: only the challenged ballot's (marks 0, 1, 0: nobody's counted choice,
    # which are 1, 0, 0 and 0, 0, 1), on its board entry and wherever the board is.
    for where, content in places.items():
        found = re.findall(r'marks\\?"\s*:\s*\[([0-9, ]*)\]', content)
        assert {f.replace(" ", "") for f in found} <= {"0,1,0"}, where
        if where == "tables":
            assert found  # the search does see an opening where there is one
