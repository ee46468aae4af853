"""The hall of a mixed meeting: the screen's QR code holds the meeting's stable vote
link, which takes a member to the open vote (or the room), and only the chair and the
secretary show the screen."""

from __future__ import annotations

import html as htmlmod
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Account, Role
from server.keys import SETTINGS
from server.views.hall import hall_qr
from tests import factories as f
from tests.ballots.votes_setup import voting_meeting
from tests.server.test_meeting_pages import page


async def test_hall_screen_and_vote_link(client: Any, db: AsyncSession) -> None:
    vm = await voting_meeting(db, client)
    mid = vm.setup.meeting_id
    link = f"{client.server.app[SETTINGS].effective_public_url}/meetings/{mid}/vote"

    html = await page(await vm.chair.get(f"/meetings/{mid}/hall"))
    assert hall_qr(link) in html  # the code holds exactly the stable link
    assert htmlmod.escape(link) in html
    assert "Сейчас голосования нет" in html
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', html)
    # No vote open: the link leads to the room.
    response = await vm.chair.get(f"/meetings/{mid}/vote", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/meetings/{mid}/room"
    room = await vm.chair.get(f"/meetings/{mid}/room")
    assert f'href="/meetings/{mid}/hall"' in await room.text()

    opened = await vm.chair.post(
        f"/api/v1/meetings/{mid}/votes", json={"question": "Утвердить план"}
    )
    assert opened.status == 201, await opened.text()
    vote_id = (await opened.json())["vote"]
    html = await page(await vm.chair.get(f"/meetings/{mid}/hall"))
    assert "Идёт голосование" in html
    assert f"Проголосовали: 0 из {len(vm.voters)}" in html
    response = await vm.chair.get(f"/meetings/{mid}/vote", allow_redirects=False)
    assert response.headers["Location"] == f"/votes/{vote_id}"

    # A member in the hall follows the link to the vote, but does not show the screen.
    hall_member = await db.scalar(
        select(Account).where(Account.member_id == vm.voters[2].member.id)
    )
    assert hall_member is not None
    member = await f.login(client, db, hall_member)
    response = await member.client.get(f"/meetings/{mid}/vote", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/votes/{vote_id}"
    assert (await member.client.get(f"/meetings/{mid}/hall")).status == 403
    room = await member.client.get(f"/meetings/{mid}/room")
    assert f'href="/meetings/{mid}/hall"' not in await room.text()

    # An outsider learns nothing; nobody logged in is asked to log in.
    root = await f.org(db, "Чужая организация")
    outsider = await f.login(
        client, db, await f.account(db, Role.MEMBER, member_obj=await f.member(db, root))
    )
    assert (await outsider.client.get(f"/meetings/{mid}/vote")).status == 404
    assert (await outsider.client.get(f"/meetings/{mid}/hall")).status == 404
    assert (await outsider.client.get("/meetings/999999/vote")).status == 404
    client.session.cookie_jar.clear()
    assert (await client.get(f"/meetings/{mid}/vote")).status == 401
    assert (await client.get(f"/meetings/{mid}/hall")).status == 401
