"""A mixed meeting in Chromium: the chair votes online in the room, a member whom the
secretary marked in the hall scans the hall screen's QR link on a 360-px phone page and
votes there with the key made on that phone, and the count completes on every page."""

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


async def test_a_hall_member_votes_from_a_phone_through_the_hall_qr_link(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    setup = await f.meeting(db, size=3, items=1)
    mid = setup.meeting_id
    hall_member = setup.members[2]

    chair_context = await logged_in(browser, live_server, db, setup.chair, Role.CHAIR, Role.MEMBER)
    phone_context = await logged_in(browser, live_server, db, hall_member)
    await enrol_key(chair_context, live_server)
    await enrol_key(phone_context, live_server)
    # The secretary marks the member in the hall (no page of theirs is open).
    secretary = setup.actor(setup.secretary, Role.SECRETARY)
    await RoomService(db, secretary).register_in_person(mid, hall_member.id, True)
    await db.commit()

    chair = await open_room(chair_context, live_server, mid)
    await expect(chair.locator('[data-role="quorum-line"]')).to_contain_text("Присутствуют 2 из 3")
    vote_id = await open_vote(chair, "Утвердить смету конференции")
    await expect(chair.locator('[data-role="vote-count"]')).to_have_text("Проголосовали: 0 из 2")

    # The chair puts the hall's screen up from the room.
    screen = await chair_context.new_page()
    await screen.goto(live_server.url(f"/meetings/{mid}/room"))
    await screen.locator('[data-role="hall-screen"]').click()
    await screen.wait_for_url(f"**/meetings/{mid}/hall")
    await expect(screen.locator('[data-role="hall-qr"] svg')).to_be_visible()
    await expect(screen.locator('[data-role="hall-count"]')).to_have_text("Проголосовали: 0 из 2")
    await shots(screen, tmp_path, "hall-screen")
    link = await screen.locator('[data-role="hall-link"]').get_attribute("href")
    assert link == live_server.url(f"/meetings/{mid}/vote")

    # The member's phone follows the code's link straight to the open vote.
    phone = await phone_context.new_page()
    await phone.set_viewport_size({"width": 360, "height": 800})
    await phone.goto(link)
    await phone.wait_for_url(f"**/votes/{vote_id}")
    await expect(phone.locator('[data-role="cast"]')).to_have_text("Проголосовали: 0 из 2")
    await shots(phone, tmp_path, "hall-phone-ballot")
    await phone.set_viewport_size({"width": 360, "height": 800})
    button = phone.locator(f'.btn-vote[data-option="{FOR}"]')
    box = await button.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360  # the ballot's buttons fit the phone
    await button.click()
    message = phone.locator('[data-role="message"]')
    await expect(message).to_contain_text("Голос принят")
    await expect(message).to_have_class("success-message")
    await expect(phone.locator('[data-role="cast"]')).to_have_text("Проголосовали: 1 из 2")
    await expect(chair.locator('[data-role="vote-count"]')).to_have_text("Проголосовали: 1 из 2")

    # The chair votes online; the count completes.
    await chair.locator(f'.btn-vote[data-option="{FOR}"]').click()
    await expect(chair.locator('[data-role="vote-count"]')).to_have_text("Проголосовали: 2 из 2")
    await screen.reload()
    await expect(screen.locator('[data-role="hall-count"]')).to_have_text("Проголосовали: 2 из 2")

    # The room itself works on the phone too: the member sees the vote there.
    room = await open_room(phone_context, live_server, mid)
    await expect(room.locator('[data-role="vote-count"]')).to_have_text("Проголосовали: 2 из 2")
    await expect(room.locator('[data-role="vote-mine"]')).to_contain_text("Ваш выбор: за")
    await shots(room, tmp_path, "hall-phone-room")
    await chair.locator('[data-action="close-vote"]').click()
    await expect(room.locator(".result-verdict")).to_have_text("Решение принято")
    await shots(room, tmp_path, "hall-phone-result")
