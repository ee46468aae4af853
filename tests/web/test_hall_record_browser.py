"""A mixed meeting in Chromium: the secretary records, in the room, the vote a member
in the hall shows by a show of hands, signed with the secretary's own key made in the
secretary's browser; the count moves, the record is shown as a success, and the vote's
roll call says «в зале, по подсчёту секретаря»."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.room import RoomService
from registry.models import Role
from tests import factories as f
from tests.factories import LiveServer
from tests.web.shots import shots
from tests.web.test_vote_browser import FOR, enrol_key, logged_in, open_room, open_vote


async def test_the_secretary_records_a_hall_members_show_of_hands(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    setup = await f.meeting(db, size=3, items=1)
    mid = setup.meeting_id
    hall_member = setup.members[2]  # in the hall, with no key of their own

    chair_context = await logged_in(browser, live_server, db, setup.chair, Role.CHAIR, Role.MEMBER)
    secretary_context = await logged_in(
        browser, live_server, db, setup.secretary, Role.SECRETARY, Role.MEMBER
    )
    await enrol_key(chair_context, live_server)
    await enrol_key(secretary_context, live_server)
    secretary = setup.actor(setup.secretary, Role.SECRETARY)
    await RoomService(db, secretary).register_in_person(mid, hall_member.id, True)
    await db.commit()

    chair = await open_room(chair_context, live_server, mid)
    room = await open_room(secretary_context, live_server, mid)
    await expect(chair.locator('[data-role="quorum-line"]')).to_contain_text("Присутствуют 3 из 3")
    vote_id = await open_vote(chair, "Утвердить план работы")

    hall = room.locator('[data-role="vote-hall"]')
    await expect(hall).to_be_visible()
    await expect(hall).to_contain_text("Голоса в зале (по подсчёту секретаря)")
    row = hall.locator(f'.hall-row[data-member="{hall_member.id}"]')
    await expect(row).to_contain_text(hall_member.full_name)
    await shots(room, tmp_path, "hall-record-room")
    await row.locator(f'button[data-option="{FOR}"]').click()
    said = row.locator('[data-role="hall-said"]')
    await expect(said).to_have_text("Записано: за")
    await expect(said).to_have_class("success-message")
    await expect(chair.locator('[data-role="vote-count"]')).to_have_text("Проголосовали: 1 из 3")

    # Only the secretary has the section.
    assert await chair.locator('[data-role="vote-hall"]').is_hidden()

    await chair.locator(f'.btn-vote[data-option="{FOR}"]').click()
    await room.locator(f'[data-role="vote-choices"] .btn-vote[data-option="{FOR}"]').click()
    await expect(chair.locator('[data-role="vote-count"]')).to_have_text("Проголосовали: 3 из 3")
    await chair.locator('[data-action="close-vote"]').click()
    await expect(room.locator('[data-role="vote-hall"]')).to_be_hidden()

    page = await secretary_context.new_page()
    await page.goto(live_server.url(f"/votes/{vote_id}"))
    marked = page.locator(f'.roll-call tr[data-member="{hall_member.id}"]')
    await expect(marked).to_contain_text("в зале, по подсчёту секретаря")
    await expect(page.locator('[data-role="hall-recorded"]')).to_have_count(1)
    await shots(page, tmp_path, "hall-record-result")
