"""Several people in one meeting, each in their own Chromium page: members join and
leave, and every page sees the quorum flip; the chair gives the floor and moves the
agenda, and everyone's page follows."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Member, Role
from server.auth import COOKIE, open_session
from tests import factories as f
from tests.factories import LiveServer


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    # A short presence grace, so a departure shows quickly.
    return {"presence_grace_seconds": 0.5}


def session_cookie(token: str, same_site: str = "Lax") -> dict[str, Any]:
    """The session cookie as the browser keeps the __Host- cookie set by
    http://localhost: host-only, path "/" (``same_site``: "Lax" for Playwright, "lax"
    for WebDriver BiDi)."""
    return {
        "name": COOKIE,
        "value": token,
        "domain": "localhost",
        "path": "/",
        "secure": True,
        "httpOnly": True,
        "sameSite": same_site,
    }


async def open_room(
    browser: Any,
    live: LiveServer,
    db: AsyncSession,
    member: Member,
    meeting_id: int,
    *roles: Role,
) -> Any:
    account = await f.account(db, *(roles or (Role.MEMBER,)), member_obj=member)
    token, _row = await open_session(db, account, None, method="invitation")
    await db.commit()
    context = await browser.new_context(locale="ru-RU")
    await context.add_cookies([session_cookie(token)])
    page = await context.new_page()
    await page.goto(live.url(f"/meetings/{meeting_id}/room"))
    await page.wait_for_selector('#room[data-connected="yes"]')
    return page


async def quorum_is(page: Any, met: bool, present: int) -> None:
    # Locator assertions run outside the page's scripts, so the strict CSP (no eval)
    # stays on exactly as users get it.
    await expect(page.locator('[data-role="quorum"]')).to_have_attribute(
        "data-met", "yes" if met else "no"
    )
    await expect(page.locator('[data-role="quorum-line"]')).to_contain_text(
        f"Присутствуют {present} из 5"
    )


async def test_every_page_sees_the_quorum_and_the_floor(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5, items=2)
    mid = setup.meeting_id
    chair = await open_room(browser, live_server, db, setup.chair, mid, Role.CHAIR, Role.MEMBER)
    secretary = await open_room(
        browser, live_server, db, setup.secretary, mid, Role.SECRETARY, Role.MEMBER
    )
    pages = [chair, secretary]
    for page in pages:
        await quorum_is(page, met=False, present=2)

    alice = await open_room(browser, live_server, db, setup.members[2], mid)
    pages.append(alice)
    for page in pages:
        await quorum_is(page, met=True, present=3)

    await alice.close()
    pages.remove(alice)
    for page in pages:
        await quorum_is(page, met=False, present=2)

    # Bob joins online: the quorum is back everywhere.
    bob = await open_room(browser, live_server, db, setup.members[3], mid)
    pages.append(bob)
    for page in pages:
        await quorum_is(page, met=True, present=3)

    # The secretary registers the last member as present in the hall.
    hall = secretary.locator(f'[data-role="people"] li[data-member="{setup.members[4].id}"]')
    await hall.get_by_role("button", name="Отметить в зале").click()
    for page in pages:
        await quorum_is(page, met=True, present=4)

    # Bob asks for the floor; the chair sees him in the queue and gives it.
    await bob.get_by_role("button", name="Попросить слово").click()
    await chair.get_by_role("button", name="Дать слово").click()
    for page in pages:
        await expect(page.locator('[data-role="speaker"]')).to_contain_text("осталось")
    # The chair moves to the second item; every page follows.
    await chair.locator(f'[data-action="set-item"][data-item="{setup.item_ids[1]}"]').click()
    for page in pages:
        await page.wait_for_selector(f'li[data-item="{setup.item_ids[1]}"].current')
