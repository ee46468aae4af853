"""The vote pages: the list, the form that calls an absentee vote (bad input shows the
errors in Russian and opens nothing), and a vote's own page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote
from registry.models import Role
from tests import factories as f
from tests.server.test_meeting_pages import count, field_error, page, post_form


async def test_absentee_vote_form(client: Any, db: AsyncSession) -> None:
    root = await f.org(db, "Союз для страниц")
    presidium = await f.body(db, root)
    for _ in range(3):
        await f.seat(db, presidium, await f.member(db, root))
    registrar = await f.login(client, db, await f.account(db, Role.REGISTRAR, name="Регистратор"))

    html = await page(await registrar.get("/votes"))
    assert "Заочное голосование" in html
    html = await page(await registrar.get(f"/votes/new?kind=absentee&body={presidium.id}"))
    assert "за\nпротив\nвоздержался" in html

    data = {
        "kind": "absentee",
        "body_id": str(presidium.id),
        "title": "",
        "question": "Провести конкурс",
        "options": "за\nпротив\nвоздержался",
        "closes_at": "завтра",
        "base": "cast",
    }
    html = await page(await post_form(registrar, "/votes/new", data), 422)
    assert field_error(html, "closes_at") == "Укажите дату и время окончания."
    assert await count(db, Vote) == 0

    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = await post_form(
        registrar, "/votes/new", data | {"title": "О конкурсе", "closes_at": later}
    )
    assert response.status == 303
    location = response.headers["Location"]
    assert await count(db, Vote) == 1
    response = await registrar.get(location)  # its script signs ballots: no page() check
    assert response.status == 200
    html = await response.text()
    assert "Провести конкурс" in html
    assert "Проголосовали: 0 из 3" in html

    member = await f.login(
        client, db, await f.account(db, Role.MEMBER, member_obj=await f.member(db, root))
    )
    assert (await member.get("/votes/new")).status == 403
    assert (await member.get(location)).status == 404  # not on the roll, not an officer
