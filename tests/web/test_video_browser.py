"""The meeting's video room in real Chromium pages (a fake camera and a beeping fake
microphone): the chair opens the room, the members come in, and every page receives
and decodes the others' video and comes back after its connection drops; a member who
comes before the chair waits in the lobby until the chair arrives; the chair turns a
member's microphone off (their page says so and locks the toggle), removes them and
lets them in again; a shared screen and the floor switch to the speaker view; a page
whose link loses packets turns to sound only, and to video again when asked."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Member, Role
from server.views.meeting_media import MEDIA
from server.views.meeting_ws import REALTIME
from tests import factories as f
from tests.factories import LiveServer
from tests.web.test_room_browser import open_room

# Media takes longer than a page to get going: ICE, DTLS, the first keyframes.
MEDIA_TIMEOUT = 30_000
# How many half-second looks a statistic gets to move.
LOOKS = 60


async def join(page: Any) -> None:
    await page.get_by_role("button", name="Войти в видеозал").click()


async def status_is(page: Any, status: str) -> None:
    await expect(page.locator("#video")).to_have_attribute(
        "data-status", status, timeout=MEDIA_TIMEOUT
    )


def tile(page: Any, member: Member) -> Any:
    return page.locator(f'#video .tile[data-key="m{member.id}"]')


async def stats(page: Any) -> dict[str, Any]:
    # Playwright evaluates through the DevTools protocol, which the page's CSP (no eval)
    # does not govern; video.js exposes the receivers' statistics for it.
    return await page.evaluate("window.kvorumVideo.stats()")


def decoded(reading: dict[str, Any]) -> dict[str, int]:
    """Frames decoded per participant whose camera a video slot carries."""
    return {
        v["participant"]: v["framesDecoded"]
        for v in reading["video"]
        if v["participant"] and v["source"] == "camera"
    }


async def frames_keep_coming(page: Any, others: set[str]) -> None:
    """Each of ``others``' cameras reaches this page, and its decoded frames go on rising
    from one reading to the next."""
    first: dict[str, int] | None = None
    now: dict[str, int] = {}
    for _ in range(LOOKS):
        now = decoded(await stats(page))
        if first is None:
            if all(now.get(key, 0) > 0 for key in others):
                first = now
        elif all(now[key] > first[key] for key in others if key in now) and others <= set(now):
            return
        await page.wait_for_timeout(500)
    raise AssertionError(f"frames did not keep coming: first {first}, then {now}")


async def joined_again(page: Any, joins: int) -> None:
    """The page has asked to join the video room again since it had asked ``joins``
    times, and is in."""
    for _ in range(LOOKS):
        reading = await stats(page)
        if reading["joins"] > joins and reading["status"] == "in":
            await expect(page.locator("#room")).to_have_attribute("data-connected", "yes")
            return
        await page.wait_for_timeout(500)
    raise AssertionError(f"the page did not join again: {reading}")


async def sound_arrives(pages: list[Any]) -> None:
    """Some page receives another's microphone: the fake one beeps, which the room
    counts as speech and forwards in an audio slot."""
    for _ in range(LOOKS):
        for page in pages:
            reading = await stats(page)
            packets = sum(a["packetsReceived"] for a in reading["audio"] if a["participant"])
            if packets > 0 or reading["speaking"]:
                return
        await pages[0].wait_for_timeout(500)
    raise AssertionError("no page received anyone's sound")


async def test_three_pages_see_each_other(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5)
    mid = setup.meeting_id
    people = [setup.chair, setup.members[2], setup.members[3]]
    chair = await open_room(browser, live_server, db, setup.chair, mid, Role.CHAIR, Role.MEMBER)
    alice = await open_room(browser, live_server, db, setup.members[2], mid)
    bob = await open_room(browser, live_server, db, setup.members[3], mid)
    pages = [chair, alice, bob]

    # The chair opens the video room; the members come in after.
    await join(chair)
    await status_is(chair, "in")
    for page in (alice, bob):
        await join(page)
        await status_is(page, "in")

    for page, mine in zip(pages, people, strict=True):
        others = [p for p in people if p is not mine]
        await expect(page.locator("#video .tile")).to_have_count(3, timeout=MEDIA_TIMEOUT)
        await expect(tile(page, mine)).to_contain_text("(вы)")
        for other in others:
            await expect(tile(page, other)).to_have_attribute(
                "data-video", "yes", timeout=MEDIA_TIMEOUT
            )
        await frames_keep_coming(page, {f"m{o.id}" for o in others})
        await expect(page.locator("#video")).not_to_have_attribute("data-quality", "poor")
        await expect(page.locator("#video")).to_have_attribute("data-weak", "no")

    await sound_arrives(pages)

    # Every page's meeting connection drops: each reconnects, joins the video room again
    # on a new peer connection, and the pictures flow again.
    joins = [(await stats(page))["joins"] for page in pages]
    for ws in list(live_server.server.app[REALTIME].sockets):
        await ws.close()
    for page, before in zip(pages, joins, strict=True):
        await joined_again(page, before)
    for page, mine in zip(pages, people, strict=True):
        await frames_keep_coming(page, {f"m{o.id}" for o in people if o is not mine})

    # A member leaves: the others' pages drop the tile.
    await bob.get_by_role("button", name="Выйти из видеозала").click()
    await status_is(bob, "out")
    for page in (chair, alice):
        await expect(page.locator("#video .tile")).to_have_count(2, timeout=MEDIA_TIMEOUT)


async def test_lobby_hand_and_the_chair_muting(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5)
    mid = setup.meeting_id
    alice_member = setup.members[2]
    alice = await open_room(browser, live_server, db, alice_member, mid)
    chair = await open_room(browser, live_server, db, setup.chair, mid, Role.CHAIR, Role.MEMBER)

    # Alice is early: she waits until the chair opens the room.
    await join(alice)
    await status_is(alice, "lobby")
    await expect(alice.locator('[data-video-role="lobby-text"]')).to_have_text(
        "Ожидание: председатель ещё не открыл зал"
    )
    await join(chair)
    await status_is(chair, "in")
    await status_is(alice, "in")
    await expect(tile(chair, alice_member)).to_have_attribute(
        "data-video", "yes", timeout=MEDIA_TIMEOUT
    )

    # The chair shares the screen: it comes as a tile of its own, shown large, and goes
    # when the sharing stops.
    await chair.get_by_role("button", name="Показать экран").click()
    screen = alice.locator(f'#video .tile[data-key="m{setup.chair.id}:screen"]')
    await expect(screen).to_have_attribute("data-video", "yes", timeout=MEDIA_TIMEOUT)
    await expect(screen).to_have_class(re.compile(r"\btile-main\b"))
    await expect(alice.locator("#video")).to_have_attribute("data-view", "speaker")
    await chair.get_by_role("button", name="Остановить показ экрана").click()
    await expect(screen).to_have_count(0)
    await expect(alice.locator("#video")).to_have_attribute("data-view", "grid")

    # Her raised hand shows on her tile on the chair's page; given the floor, she is
    # shown large on every page, until the chair ends her speech.
    await alice.get_by_role("button", name="Попросить слово").click()
    await expect(tile(chair, alice_member)).to_have_attribute("data-hand", "yes")
    await expect(chair.locator("#video")).to_have_attribute("data-view", "grid")
    await chair.get_by_role("button", name="Дать слово").click()
    for page in (chair, alice):
        await expect(page.locator("#video")).to_have_attribute("data-view", "speaker")
        await expect(tile(page, alice_member)).to_have_class(re.compile(r"\btile-main\b"))
    await expect(tile(chair, alice_member)).to_have_attribute("data-hand", "no")
    await chair.get_by_role("button", name="Завершить выступление").click()
    for page in (chair, alice):
        await expect(page.locator("#video")).to_have_attribute("data-view", "grid")

    # The chair turns her microphone off: her page says so and locks the toggle.
    mic = alice.locator('#video [data-video-action="mic"]')
    await expect(mic).to_be_enabled()
    await tile(chair, alice_member).locator('[data-video-action="mute-audio"]').click()
    await expect(alice.get_by_text("Микрофон выключен председателем")).to_be_visible()
    await expect(mic).to_be_disabled()
    await expect(tile(chair, alice_member).locator(".tile-mic-off")).to_be_visible()

    # … and allows it again: the toggle is hers again (the microphone stays off until
    # she turns it on).
    await tile(chair, alice_member).locator('[data-video-action="release-audio"]').click()
    await expect(alice.get_by_text("Микрофон выключен председателем")).to_be_hidden()
    await expect(mic).to_be_enabled()
    await expect(mic).to_have_text("Включить микрофон")
    await mic.click()
    await expect(mic).to_have_text("Выключить микрофон")
    await expect(tile(chair, alice_member).locator(".tile-mic-off")).to_be_hidden()

    # The chair sends her out; she asks to come back and waits until let in.
    await tile(chair, alice_member).locator('[data-video-action="remove"]').click()
    await status_is(alice, "out")
    await expect(alice.get_by_text("Председатель удалил вас из видеозала.")).to_be_visible()
    await expect(tile(chair, alice_member)).to_have_count(0)
    await alice.get_by_role("button", name="Попросить войти снова").click()
    await status_is(alice, "lobby")
    await expect(alice.locator('[data-video-role="lobby-text"]')).to_have_text(
        "Ожидание допуска председателем"
    )
    waiting = chair.locator(f'[data-video-role="waiting"] li[data-key="m{alice_member.id}"]')
    await waiting.get_by_role("button", name="Впустить").click()
    await status_is(alice, "in")
    await expect(tile(chair, alice_member)).to_have_attribute(
        "data-video", "yes", timeout=MEDIA_TIMEOUT
    )

    # Every microphone off but the speaker's (and the chair's own).
    await chair.get_by_role("button", name="Выключить микрофоны всем, кроме выступающего").click()
    await expect(alice.get_by_text("Микрофон выключен председателем")).to_be_visible()
    await expect(chair.get_by_text("Микрофон выключен председателем")).to_be_hidden()


class LossyLink:
    """Loses every ``nth`` datagram the server sends one participant (SRTP and SRTCP, as
    a bad mobile link would), at the ICE transport under the encryption."""

    def __init__(self, live_server: LiveServer, meeting_id: int, key: str, nth: int) -> None:
        room = live_server.server.app[MEDIA].rooms[meeting_id]
        transceiver = room.participants[key].pc.getTransceivers()[0]
        self.ice = transceiver.sender.transport.transport
        self.send = self.ice._send
        self.nth = nth
        self.count = 0
        self.ice._send = self._send

    async def _send(self, data: bytes) -> None:
        self.count += 1
        if self.count % self.nth:
            await self.send(data)

    def mend(self) -> None:
        self.ice._send = self.send


async def test_a_weak_link_falls_back_to_audio_only(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5)
    mid = setup.meeting_id
    alice_member = setup.members[2]
    chair = await open_room(browser, live_server, db, setup.chair, mid, Role.CHAIR, Role.MEMBER)
    alice = await open_room(browser, live_server, db, alice_member, mid)
    await join(chair)
    await status_is(chair, "in")
    await join(alice)
    await status_is(alice, "in")
    await frames_keep_coming(alice, {f"m{setup.chair.id}"})
    await expect(tile(chair, alice_member)).to_have_attribute(
        "data-video", "yes", timeout=MEDIA_TIMEOUT
    )
    await expect(alice.locator("#video")).to_have_attribute("data-weak", "no")

    # A third of what the server sends Alice is lost: her page finds the link poor a
    # few readings running, turns to sound only, and stops sending her camera.
    key = f"m{alice_member.id}"
    link = LossyLink(live_server, mid, key, 3)
    await expect(alice.locator("#video")).to_have_attribute(
        "data-quality", "poor", timeout=MEDIA_TIMEOUT
    )
    await expect(alice.locator("#video")).to_have_attribute(
        "data-weak", "yes", timeout=MEDIA_TIMEOUT
    )
    await expect(alice.get_by_text("Слабая связь: только звук")).to_be_visible()
    participant = live_server.server.app[MEDIA].rooms[mid].participants[key]
    assert participant.audio_only
    await expect(tile(chair, alice_member)).to_have_attribute(
        "data-video", "no", timeout=MEDIA_TIMEOUT
    )
    # the server sends her no video meanwhile
    forwarded = sum(s.forwarded for s in participant.video_slots)
    await alice.wait_for_timeout(1500)
    assert sum(s.forwarded for s in participant.video_slots) == forwarded

    # The link mends; she asks for video again and gets it, and sends hers again.
    link.mend()
    await alice.get_by_role("button", name="Попробовать видео снова").click()
    await expect(alice.locator("#video")).to_have_attribute("data-weak", "no")
    for _ in range(LOOKS):
        if not participant.audio_only:
            break
        await alice.wait_for_timeout(100)
    assert not participant.audio_only
    await frames_keep_coming(alice, {f"m{setup.chair.id}"})
    await expect(tile(chair, alice_member)).to_have_attribute(
        "data-video", "yes", timeout=MEDIA_TIMEOUT
    )
