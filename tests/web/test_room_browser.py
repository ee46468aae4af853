"""Several people in one meeting, each in their own Chromium page: members join and
leave, and every page sees the quorum flip; the chair gives the floor and moves the
agenda, and everyone's page follows."""

from __future__ import annotations

import asyncio
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


async def test_the_room_answers_next_to_the_action_and_closes_for_good(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5, items=2)
    mid = setup.meeting_id
    chair = await open_room(browser, live_server, db, setup.chair, mid, Role.CHAIR, Role.MEMBER)
    secretary = await open_room(
        browser, live_server, db, setup.secretary, mid, Role.SECRETARY, Role.MEMBER
    )
    await quorum_is(chair, met=False, present=2)
    # Nobody has the floor: nothing to end.
    await expect(chair.locator('[data-action="take-floor"]')).to_be_hidden()

    # A vote without a quorum is refused in Russian, in the panel of the form that asked.
    await chair.locator(f'[data-action="set-item"][data-item="{setup.item_ids[0]}"]').click()
    await chair.locator('[data-role="vote-open"] button[type="submit"]').click()
    refusal = chair.locator('[data-role="vote-open-panel"] [data-role="panel-message"]')
    await expect(refusal).to_have_text("Нет кворума: присутствуют 2 из 5, нужно 3.")
    await expect(refusal).to_have_class("field-error")
    await expect(chair.locator('#room > [data-role="error"]')).to_have_text("")

    # The secretary's notes: «Сохранено.» as a success, and the text back after a reload.
    await secretary.wait_for_selector(f'li[data-item="{setup.item_ids[0]}"].current')
    notes = secretary.locator('[data-role="notes"]')
    await notes.locator('textarea[name="speeches"]').fill(
        "Петрова А. А. — за.\nСидоров С. С. — против."
    )
    await notes.locator('textarea[name="decision"]').fill("Принять к сведению.")
    await notes.get_by_role("button", name="Сохранить").click()
    saved = secretary.locator('[data-role="notes-panel"] [data-role="panel-message"]')
    await expect(saved).to_have_text("Сохранено.")
    await expect(saved).to_have_class("success-message")
    await secretary.reload()
    await secretary.wait_for_selector('#room[data-connected="yes"]')
    await expect(notes.locator('textarea[name="speeches"]')).to_have_value(
        "Петрова А. А. — за.\nСидоров С. С. — против."
    )
    await expect(notes.locator('textarea[name="decision"]')).to_have_value("Принять к сведению.")

    # «Закрыть заседание» asks first: declined, the meeting goes on.
    close = chair.locator('[data-action="transition"][data-target="closed"]')
    chair.once("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
    await close.click()
    await expect(chair.locator('[data-role="state"]')).to_have_attribute("data-state", "in_session")
    chair.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await close.click()
    for page in (chair, secretary):
        state = page.locator('[data-role="state"]')
        await expect(state).to_have_attribute("data-state", "closed")
        await expect(state).to_have_text("закрыто")
        # Nothing the closed state forbids is offered, and the video is gone.
        await expect(page.locator('[data-action="set-item"]:visible')).to_have_count(0)
        await expect(page.locator('[data-role="people"] button')).to_have_count(0)
        await expect(page.locator('[data-role="floor-panel"]')).to_be_hidden()
        await expect(page.locator("#video")).to_be_hidden()
    # The closed state's colour is not the live one.
    colours = await chair.locator('[data-role="state"]').evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert colours != "rgb(230, 244, 234)"  # the green of a meeting in session
    # A reload of the closed room: no video panel, no controls, no notes form.
    await chair.reload()
    await chair.wait_for_selector('#room[data-connected="yes"]')
    assert await chair.locator("#video").count() == 0
    assert await chair.locator('[data-action="transition"]').count() == 0
