"""The video room with Firefox in it: the chair in Chromium, two members in Firefox ESR
(Debian's, driven over WebDriver BiDi by tests/web/bidi.py, a fake camera and a beeping
fake microphone). The Firefox pages come in, show everyone and decode both others'
cameras and hear sound; the Chromium page decodes the Firefox cameras (Firefox's VP8
through the forwarding unit); a Firefox member turns the microphone off and on and
leaves, and the other pages drop the tile. No page script logs an error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Member, Role
from server.auth import open_session
from tests import factories as f
from tests.factories import LiveServer
from tests.web.bidi import Firefox, Page, launch_firefox
from tests.web.test_room_browser import open_room, session_cookie
from tests.web.test_video_browser import (
    MEDIA_TIMEOUT,
    frames_keep_coming,
    join,
    sound_arrives,
    status_is,
    tile,
)


@pytest.fixture
async def firefox(firefox_path: str) -> AsyncIterator[Firefox]:
    async with launch_firefox(firefox_path) as browser:
        yield browser


async def open_room_firefox(
    firefox: Firefox, live: LiveServer, db: AsyncSession, member: Member, meeting_id: int
) -> Page:
    """The member's room page in a Firefox window of its own, with cookies of its own."""
    account = await f.account(db, Role.MEMBER, member_obj=member)
    token, _row = await open_session(db, account, None, method="invitation")
    await db.commit()
    people = await firefox.new_user_context()
    await firefox.set_cookie(people, session_cookie(token, same_site="lax"))
    page = await firefox.new_page(people)
    await page.navigate(live.url(f"/meetings/{meeting_id}/room"))
    await page.wait_for("document.querySelector('#room').dataset.connected === 'yes'")
    return page


def q(selector: str) -> str:
    """A JavaScript expression for the first element matching a CSS selector."""
    return f"document.querySelector({json.dumps(selector)})"


async def fx_status_is(page: Page, status: str) -> None:
    await page.wait_for(f"{q('#video')}.dataset.status === {json.dumps(status)}")


def fx_tile(member: Member) -> str:
    return q(f'#video .tile[data-key="m{member.id}"]')


async def fx_tiles_are(page: Page, count: int) -> None:
    await page.wait_for(f"document.querySelectorAll('#video .tile').length === {count}")


async def page_text_is(page: Page, selector: str, text: str) -> None:
    await page.wait_for(f"{q(selector)}.textContent.trim() === {json.dumps(text)}")


async def signs_with_ed25519(page: Page) -> bool:
    """The page's own crypto module makes an Ed25519 key in Firefox's WebCrypto and
    signs and verifies with it (as a vote or a document signature would)."""
    return bool(
        await page.evaluate(
            """import("/static/js/kvcrypto.js").then(async (kv) => {
              const keys = await kv.generateSigningKey();
              const signature = await kv.signCanonical(keys.privateKey, {vote: "за"});
              const key = await kv.exportPublicKey(keys.publicKey);
              return kv.verifyCanonical(key, {vote: "за"}, signature);
            })"""
        )
    )


def no_errors(pages: list[Page]) -> None:
    errors = [str(e) for page in pages for e in page.errors()]
    assert not errors, "Firefox pages logged errors:\n" + "\n".join(errors)


async def test_firefox_and_chromium_in_one_video_room(
    browser: Any, firefox: Firefox, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5)
    mid = setup.meeting_id
    alice_member, bob_member = setup.members[2], setup.members[3]
    people = [setup.chair, alice_member, bob_member]
    chair = await open_room(browser, live_server, db, setup.chair, mid, Role.CHAIR, Role.MEMBER)
    alice = await open_room_firefox(firefox, live_server, db, alice_member, mid)
    bob = await open_room_firefox(firefox, live_server, db, bob_member, mid)
    foxes = [alice, bob]
    for page in foxes:
        assert await signs_with_ed25519(page)
    no_errors(foxes)

    # The chair opens the video room; the Firefox members come in after.
    await join(chair)
    await status_is(chair, "in")
    for page in foxes:
        await page.click('#video [data-video-action="join"]')
        await fx_status_is(page, "in")

    # Each Firefox page shows all three, with both others' pictures, and keeps decoding.
    for page, mine in ((alice, alice_member), (bob, bob_member)):
        others = [p for p in people if p is not mine]
        await fx_tiles_are(page, 3)
        await page.wait_for(f"{fx_tile(mine)}.textContent.includes('(вы)')")
        for other in others:
            await page.wait_for(f"{fx_tile(other)}?.dataset.video === 'yes'")
        await frames_keep_coming(page, {f"m{o.id}" for o in others})
        await sound_arrives([page])

    # Chromium decodes both Firefox cameras.
    await expect(chair.locator("#video .tile")).to_have_count(3, timeout=MEDIA_TIMEOUT)
    for member in (alice_member, bob_member):
        await expect(tile(chair, member)).to_have_attribute(
            "data-video", "yes", timeout=MEDIA_TIMEOUT
        )
    await frames_keep_coming(chair, {f"m{alice_member.id}", f"m{bob_member.id}"})

    # Alice turns her microphone off: the chair's page marks her tile; and on again.
    mic = '#video [data-video-action="mic"]'
    await page_text_is(alice, mic, "Выключить микрофон")
    await alice.click(mic)
    await page_text_is(alice, mic, "Включить микрофон")
    await expect(tile(chair, alice_member).locator(".tile-mic-off")).to_be_visible()
    await alice.click(mic)
    await page_text_is(alice, mic, "Выключить микрофон")
    await expect(tile(chair, alice_member).locator(".tile-mic-off")).to_be_hidden()

    # Alice leaves: her page is out, and the others' pages drop her tile.
    await alice.click('#video [data-video-action="leave"]')
    await fx_status_is(alice, "out")
    await expect(chair.locator("#video .tile")).to_have_count(2, timeout=MEDIA_TIMEOUT)
    await expect(tile(chair, alice_member)).to_have_count(0)
    await fx_tiles_are(bob, 2)
    assert await bob.evaluate(f"{fx_tile(alice_member)} === null")
    no_errors(foxes)
