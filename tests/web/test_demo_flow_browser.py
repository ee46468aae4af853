"""The everyday flow of a mixed meeting, driven in Chromium as the people of a union
do it: the registrar invites the whole presidium from the body's page; the chair, the
secretary and two members join the room online; a member in the hall votes from a
360-px phone page and another's show of hands is recorded by the secretary; the chair
closes the vote and the meeting; the secretary finalises the protocol and signs it, the
chair signs it, the secretary sends it to a member who acknowledges it; an auditor
finds the meeting's audit bundle. Every page on the way is saved at 1280 and 360 px
and checked: Russian text only, times in the organisation's zone (never UTC), and
a success never styled as an error."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.verify import verify_bundle
from meetings.room import RoomService
from registry.models import Organisation, Role
from tests import factories as f
from tests.factories import LiveServer
from tests.server.test_russian_pages import shows_utc, untranslated, visible_text
from tests.web.shots import shots
from tests.web.test_document_browser import logged_in as member_login
from tests.web.test_document_browser import sign
from tests.web.test_vote_browser import FOR, enrol_key, logged_in, open_room, open_vote

AGAINST = 2
# Words of a success: a line holding one is never styled as an error.
_SUCCESS = re.compile(r"принят|Записано|Сохранено|подписан|Ознакомлен|отправлен", re.I)


class Walk:
    """The pages seen on the way, each checked and saved under a step's name."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.steps: list[str] = []

    async def check(self, page: Any, name: str) -> None:
        self.steps.append(name)
        await shots(page, self.tmp_path, name)
        text = visible_text(await page.content())
        # The camera and microphone lists hold the device's own names (Chromium's
        # test devices are "Fake Audio Input 1"…): not words of the page.
        english = [line for line in untranslated(text) if not line.startswith("Fake ")]
        assert not english, (name, english)
        assert not shows_utc(text), (name, shows_utc(text))
        errors = await page.locator(".field-error, .alert-error").all_inner_texts()
        assert not [e for e in errors if _SUCCESS.search(e)], (name, errors)


async def test_the_everyday_flow_of_a_mixed_meeting(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    live = live_server
    walk = Walk(tmp_path)
    setup = await f.meeting(db, size=6, items=1)
    mid = setup.meeting_id
    chair_m, secretary_m, online_a, online_b, phone_m, hands_m = setup.members
    union = await db.get(Organisation, setup.body.organisation_id)
    assert union is not None

    # The registrar invites the whole presidium from the body's page.
    registrar = await logged_in(
        browser, live, db, await f.member(db, union), Role.REGISTRAR, Role.MEMBER
    )
    page = await registrar.new_page()
    await page.goto(live.url(f"/registry/bodies/{setup.body.id}"))
    await walk.check(page, "01-body")
    await page.locator("#invite-all button[type=submit]").click()
    await page.wait_for_load_state()
    for m in setup.members:
        await expect(page.locator("main")).to_contain_text(m.full_name)
    await walk.check(page, "02-invitations")

    # Everyone signs in (the invitation's session) and makes a key on their device,
    # but the member whose hands the secretary counts, who has no key at all.
    # (The invitations made each member's account; the meeting's roles come from it.)
    chair = await member_login(browser, db, chair_m)
    secretary = await member_login(browser, db, secretary_m)
    member_a = await member_login(browser, db, online_a)
    member_b = await member_login(browser, db, online_b)
    phone = await member_login(browser, db, phone_m)
    for context in (chair, secretary, member_a, member_b, phone):
        await enrol_key(context, live)
    # The secretary marks the two in the hall.
    clerk = setup.actor(setup.secretary, Role.SECRETARY)
    for m in (phone_m, hands_m):
        await RoomService(db, clerk).register_in_person(mid, m.id, True)
    await db.commit()

    # «Мои дела» shows the member the meeting.
    home = await member_a.new_page()
    await home.goto(live.url("/"))
    await expect(home.locator("main")).to_contain_text("Мои дела")
    await walk.check(home, "03-my-tasks")

    rooms = {}
    for name, context in (
        ("chair", chair),
        ("secretary", secretary),
        ("a", member_a),
        ("b", member_b),
    ):
        rooms[name] = await open_room(context, live, mid)
    await expect(rooms["chair"].locator('[data-role="quorum-line"]')).to_contain_text(
        "Присутствуют 6 из 6"
    )
    await walk.check(rooms["chair"], "04-room-chair")
    vote_id = await open_vote(rooms["chair"], "Утвердить план работы\nна 2027 год")

    # Online ballots, and a change of mind.
    await rooms["a"].locator(f'.btn-vote[data-option="{FOR}"]').click()
    await rooms["b"].locator(f'.btn-vote[data-option="{AGAINST}"]').click()
    await rooms["b"].locator(f'.btn-vote[data-option="{FOR}"]').click()
    message = rooms["b"].locator('[data-role="vote-message"]')
    await expect(message).to_contain_text("Голос принят")
    await expect(message).to_have_class("success-message")
    await walk.check(rooms["b"], "05-room-member-voted")

    # The hall: one votes from a phone, the other by a show of hands.
    ballot = await phone.new_page()
    await ballot.set_viewport_size({"width": 360, "height": 800})
    await ballot.goto(live.url(f"/meetings/{mid}/vote"))
    await ballot.wait_for_url(f"**/votes/{vote_id}")
    await ballot.locator(f'.btn-vote[data-option="{FOR}"]').click()
    said = ballot.locator('[data-role="message"]')
    await expect(said).to_contain_text("Голос принят")
    await expect(said).to_have_class("success-message")
    await walk.check(ballot, "06-phone-ballot")
    row = rooms["secretary"].locator(f'.hall-row[data-member="{hands_m.id}"]')
    await row.locator(f'button[data-option="{AGAINST}"]').click()
    await expect(row.locator('[data-role="hall-said"]')).to_have_text("Записано: против")
    await expect(row.locator('[data-role="hall-said"]')).to_have_class("success-message")
    # The phone's member voted themselves: the secretary's count is refused for them.
    own = rooms["secretary"].locator(f'.hall-row[data-member="{phone_m.id}"]')
    await own.locator(f'button[data-option="{AGAINST}"]').click()
    await expect(own.locator('[data-role="hall-said"]')).to_have_text("проголосовал сам")
    await walk.check(rooms["secretary"], "07-room-secretary-hall")

    for name in ("chair", "secretary"):
        await (
            rooms[name]
            .locator(f'[data-role="vote-choices"] .btn-vote[data-option="{FOR}"]')
            .click()
        )
    count = rooms["chair"].locator('[data-role="vote-count"]')
    await expect(count).to_have_text("Проголосовали: 6 из 6")
    await rooms["chair"].locator('[data-action="close-vote"]').click()
    await expect(rooms["a"].locator(".result-verdict")).to_have_text("Решение принято")
    await walk.check(rooms["a"], "08-room-result")

    result = await secretary.new_page()
    await result.goto(live.url(f"/votes/{vote_id}"))
    await expect(result.locator('[data-role="hall-recorded"]')).to_have_count(1)
    await expect(result.locator(f'tr[data-member="{hands_m.id}"]')).to_contain_text(
        "в зале, по подсчёту секретаря"
    )
    await walk.check(result, "09-vote-page")

    # The chair closes the meeting (and confirms it).
    rooms["chair"].once("dialog", lambda dialog: dialog.accept())
    await rooms["chair"].locator('[data-action="transition"][data-target="closed"]').click()
    await expect(rooms["chair"].locator('[data-role="state"]')).to_have_attribute(
        "data-state", "closed"
    )
    await walk.check(rooms["chair"], "10-room-closed")
    record = await chair.new_page()
    await record.goto(live.url(f"/meetings/{mid}/record"))
    await expect(record.locator("main")).to_contain_text("Открыто голосование по вопросу 1")
    await expect(record.locator("main")).to_contain_text("Голосование по вопросу 1 закрыто")
    await walk.check(record, "11-meeting-record")

    # The protocol: finalised and signed by the secretary, then by the chair.
    docs = await secretary.new_page()
    await docs.goto(live.url(f"/meetings/{mid}/documents"))
    await walk.check(docs, "12-documents")
    await docs.locator('[data-role="finalise-protocol"]').click()
    await docs.wait_for_url(re.compile(r"/documents/\d+\?done=finalised$"))
    document_id = int(re.search(r"/documents/(\d+)\?", docs.url)[1])  # type: ignore[index]
    await sign(docs, "secretary", "Секретарь")
    await walk.check(docs, "13-protocol-signed-by-secretary")
    signing = await chair.new_page()
    await signing.goto(live.url(f"/documents/{document_id}"))
    await sign(signing, "chair", "Председатель")
    await expect(signing.locator('[data-role="state"]')).to_have_text("подписан")
    await walk.check(signing, "14-protocol-signed")

    # Sent to a member, who acknowledges it with their key.
    await docs.goto(live.url(f"/documents/{document_id}"))
    send = docs.locator('[data-role="send"]')
    await send.locator(f'input[name="member_id"][value="{online_a.id}"]').check()
    await send.locator("button[type=submit]").click()
    await docs.wait_for_load_state()
    await walk.check(docs, "15-protocol-sent")
    inbox = await member_a.new_page()
    await inbox.goto(live.url(f"/documents/{document_id}"))
    button = inbox.locator('[data-role="acknowledge"]')
    await expect(button).to_be_visible()
    await button.click()
    done = inbox.locator('[data-acknowledge] [data-role="message"]')
    await expect(done).to_have_class("success-message")
    await expect(inbox.locator("[data-acknowledge]")).to_have_attribute(
        "data-state", "acknowledged"
    )
    await walk.check(inbox, "16-protocol-acknowledged")
    await inbox.reload()
    await expect(inbox.locator('[data-role="acknowledged"]')).to_be_visible()

    # The auditor finds the meeting's whole audit bundle.
    auditor = await logged_in(
        browser, live, db, await f.member(db, union), Role.AUDITOR, Role.MEMBER
    )
    audit = await auditor.new_page()
    await audit.goto(live.url("/"))  # «Мои дела»: what waits on the auditor
    bundle = audit.locator(f'a[data-role="meeting-bundle"][href="/api/v1/meetings/{mid}/bundle"]')
    await expect(bundle).to_have_count(1)
    await walk.check(audit, "17-auditor-tasks")
    async with audit.expect_download() as waiting:
        await bundle.click()
    saved = Path(await (await waiting.value).path())
    report = verify_bundle(await asyncio.to_thread(saved.read_bytes), jobs=1)
    assert report.ok, report.text()
    assert report.votes[0].hall == (hands_m.id,)
    assert len(walk.steps) == 17
