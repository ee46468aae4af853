"""Every page at a phone's width (360 px) in Chromium, as every role, in the states a
union's meeting goes through (the pages of tests/server/test_russian_pages.py): none
makes the page itself scroll sideways — a wide table scrolls inside its own box or
stacks its rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import MeetingState
from registry.models import Account, Organisation, Role
from server.auth import open_session
from tests import factories as f
from tests.factories import LiveServer
from tests.meetings.closed_meeting import held_meeting
from tests.server.test_document_signing import finalise, sign_as, voter
from tests.server.test_russian_pages import _another_meeting, _ids, _pages
from tests.web.shots import overflowing, shots
from tests.web.test_room_browser import session_cookie


async def _context(browser: Any, db: AsyncSession, account: Account) -> Any:
    token, _row = await open_session(db, account, None, method="invitation")
    await db.commit()
    context = await browser.new_context(locale="ru-RU", viewport={"width": 360, "height": 800})
    await context.add_cookies([session_cookie(token)])
    return context


async def test_no_page_is_wider_than_a_phone(
    browser: Any, live_server: LiveServer, client: Any, db: AsyncSession, tmp_path: Path
) -> None:
    # The states of the Russian pages' test: a meeting held and its protocol signed,
    # one in session, one announced; the registry with its bodies and members.
    held = await held_meeting(db, client)
    secretary = await held.as_("secretary", db)
    response = await finalise(secretary, held)
    assert response.status == 303, await response.text()
    document_id = int(re.search(r"/documents/(\d+)", response.headers["Location"])[1])  # type: ignore[index]
    assert (await sign_as(secretary, document_id, voter(held, "secretary"))).status == 201
    chair = await held.as_("chair", db)
    assert (await sign_as(chair, document_id, voter(held, "chair"))).status == 201
    setup = held.vm.setup
    await _another_meeting(db, setup, MeetingState.IN_SESSION)
    await _another_meeting(db, setup, MeetingState.ANNOUNCED)
    union = await db.get(Organisation, setup.body.organisation_id)
    assert union is not None
    registrar = await f.account(db, Role.REGISTRAR, member_obj=await f.member(db, union))
    auditor = await f.account(db, Role.AUDITOR, Role.MEMBER, member_obj=await f.member(db, union))
    accounts = {
        "registrar": registrar,
        "auditor": auditor,
        "member": await db.scalar(select(Account).where(Account.member_id == setup.members[2].id)),
        "chair": await db.scalar(select(Account).where(Account.member_id == setup.chair.id)),
        "secretary": await db.scalar(
            select(Account).where(Account.member_id == setup.secretary.id)
        ),
    }
    await db.commit()
    pages = _pages(live_server.server.app, await _ids(db))
    assert f"/registry/bodies/{setup.body.id}" in pages

    wide: dict[str, list[str]] = {}
    seen = 0
    for role, account in accounts.items():
        assert account is not None
        context = await _context(browser, db, account)
        page = await context.new_page()
        for path in pages:
            response = await page.goto(live_server.url(path), wait_until="load")
            if response is None or "text/html" not in (response.headers.get("content-type") or ""):
                continue
            seen += 1
            found = await overflowing(page)
            if found:
                wide[f"{role} {path}"] = found
        await context.close()
    assert seen > 100
    assert not wide, "\n".join(f"{where}: {what}" for where, what in wide.items())

    # The registry's body page, for a person to look at.
    context = await _context(browser, db, registrar)
    page = await context.new_page()
    await page.goto(live_server.url(f"/registry/bodies/{setup.body.id}"))
    await shots(page, tmp_path, "body-page")
    await context.close()
