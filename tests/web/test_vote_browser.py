"""A vote in the meeting room end to end in Chromium: the chair and three members, each
in their own browser (their own IndexedDB), the members' signing keys made in their
browsers on the security page; the chair opens a vote, the members sign their ballots
with WebCrypto, every page follows the count and shows the result, a member checks
their receipt, and an auditor downloads the bundle that the offline verifier passes —
and fails, naming the entry, once one byte of a ballot is changed."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote
from ballots.verify import verify_bundle
from meetings.room import RoomService
from meetings.votes import AbsenteeVoteIn, SurveyIn, VoteDesk
from registry.actor import Actor
from registry.models import Member, Role
from server.auth import open_session
from server.keys import KEYRING
from tests import factories as f
from tests.factories import LiveServer
from tests.web.test_room_browser import session_cookie

FOR, AGAINST = 1, 2  # the options «за», «против» (then «воздержался»)


async def logged_in(
    browser: Any, live: LiveServer, db: AsyncSession, member: Member | None, *roles: Role
) -> Any:
    """A browser context of its own (cookies, IndexedDB, localStorage) with a fresh
    invitation-login session of a new account of ``member``."""
    account = await f.account(
        db, *(roles or (Role.MEMBER,)), member_obj=member, name="" if member else "Ревизор"
    )
    token, _row = await open_session(db, account, None, method="invitation")
    await db.commit()
    context = await browser.new_context(locale="ru-RU")
    await context.add_cookies([session_cookie(token)])
    return context


async def enrol_key(context: Any, live: LiveServer) -> str:
    """Make this device's signing key through the security page, as a member does;
    returns its public key (the private half never leaves the browser)."""
    page = await context.new_page()
    await page.goto(live.url("/account/security"))
    panel = page.locator("#signing-keys")
    await expect(panel).to_have_attribute("data-has-key", "no")
    await page.get_by_role("button", name="Создать ключ подписи на этом устройстве").click()
    # The page reloads with the certified key listed and marked as this device's.
    await expect(panel).to_have_attribute("data-has-key", "yes")
    row = panel.locator("tr[data-public-key]")
    await expect(row).to_have_count(1)
    await expect(row.locator('[data-role="device-mark"]')).not_to_have_text("")
    public_key = await row.get_attribute("data-public-key")
    await page.close()
    assert public_key
    return str(public_key)


async def open_room(context: Any, live: LiveServer, meeting_id: int) -> Any:
    page = await context.new_page()
    await page.goto(live.url(f"/meetings/{meeting_id}/room"))
    await page.wait_for_selector('#room[data-connected="yes"]')
    return page


async def quorum_met(page: Any, present: int, of: int) -> None:
    await expect(page.locator('[data-role="quorum"]')).to_have_attribute("data-met", "yes")
    await expect(page.locator('[data-role="quorum-line"]')).to_contain_text(
        f"Присутствуют {present} из {of}"
    )


async def open_vote(chair: Any, question: str) -> int:
    form = chair.locator('[data-role="vote-open"]')
    await form.get_by_label("Формулировка").fill(question)
    await form.get_by_role("button", name="Открыть голосование").click()
    panel = chair.locator('[data-role="vote-panel"]')
    await expect(panel).to_have_attribute("data-state", "open")
    return int(await panel.get_attribute("data-vote") or 0)


async def test_meeting_vote_in_the_browsers_of_its_members(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    setup = await f.meeting(db, size=5, items=2)
    mid = setup.meeting_id
    voters = setup.members[2:]  # the three members; the secretary stays away

    chair_context = await logged_in(browser, live_server, db, setup.chair, Role.CHAIR, Role.MEMBER)
    contexts = [await logged_in(browser, live_server, db, m) for m in voters]
    public_keys = {
        m.id: await enrol_key(c, live_server) for m, c in zip(voters, contexts, strict=True)
    }

    chair = await open_room(chair_context, live_server, mid)
    members = [await open_room(context, live_server, mid) for context in contexts]
    pages = [chair, *members]
    for page in pages:
        await quorum_met(page, present=4, of=5)
        await expect(page.locator('[data-role="vote-panel"]')).to_be_hidden()

    vote_id = await open_vote(chair, "Утвердить план работы на полугодие")
    assert vote_id > 0
    for page in pages:
        panel = page.locator('[data-role="vote-panel"]')
        await expect(panel).to_be_visible()
        await expect(panel).to_have_attribute("data-vote", str(vote_id))
        await expect(page.locator('[data-role="vote-question"]')).to_have_text(
            "Утвердить план работы на полугодие"
        )
        await expect(page.locator('[data-role="vote-count"]')).to_have_text("Проголосовали: 0 из 4")
    # The chair is on the roll (present when the vote opened) with no key in this browser:
    # told how to make one, offered no ballot.
    await expect(chair.locator('[data-role="vote-no-key"]')).to_be_visible()
    await expect(chair.locator(".btn-vote")).to_have_count(0)
    # Only the chair may close it; the opening form waits for the next vote.
    await expect(chair.locator('[data-action="close-vote"]')).to_be_visible()
    await expect(chair.locator('[data-role="vote-open-panel"]')).to_be_hidden()
    for page in members:
        await expect(page.locator('[data-action="close-vote"]')).to_be_hidden()
        await expect(page.locator('[data-role="vote-no-key"]')).to_be_hidden()
        await expect(page.locator('[data-role="vote-mine"]')).to_have_text("Вы ещё не голосовали.")

    # Each member signs a ballot in their browser: за, за, против.
    choices = [FOR, FOR, AGAINST]
    for cast, (page, option) in enumerate(zip(members, choices, strict=True), 1):
        button = page.locator(f'.btn-vote[data-option="{option}"]')
        await expect(button).to_have_count(1)
        await button.click()
        await expect(page.locator("#room")).to_have_attribute("data-voted", str(vote_id))
        await expect(page.locator('[data-role="vote-message"]')).to_contain_text("Голос принят")
        # A success looks like one, not like an error.
        await expect(page.locator('[data-role="vote-message"]')).to_have_class("success-message")
        label = ["за", "против", "воздержался"][option - 1]
        await expect(page.locator('[data-role="vote-mine"]')).to_contain_text(
            f"Ваш выбор: {label}."
        )
        # The live count (how many, never how) reaches every page.
        for other in pages:
            await expect(other.locator('[data-role="vote-count"]')).to_have_text(
                f"Проголосовали: {cast} из 4"
            )

    await chair.locator('[data-action="close-vote"]').click()
    names = [m.full_name for m in voters]
    for page in pages:
        await expect(page.locator('[data-role="vote-panel"]')).to_have_attribute(
            "data-state", "closed"
        )
        result = page.locator('[data-role="vote-result"]')
        verdict = result.locator(".result-verdict")
        await expect(verdict).to_have_attribute("data-adopted", "true")
        await expect(verdict).to_have_text("Решение принято")
        await expect(result.locator(".result-counts li")).to_have_text(
            ["за: 2", "против: 1", "воздержался: 0"]
        )
        rows = result.locator("table.roll-call tr")
        await expect(rows).to_have_count(3)
        # The roll call by name, whatever order the ballots came in.
        await expect(rows.locator("td:first-child")).to_have_text(sorted(names))
        for name, how in zip(names, ["за", "за", "против"], strict=True):
            row = rows.filter(has_text=name)
            await expect(row.locator("td")).to_have_text([name, how])
        await expect(page.locator(".btn-vote")).to_have_count(0)
        await expect(page.locator('[data-action="close-vote"]')).to_be_hidden()
        # "You may change it until the close" no longer holds: the result says it all,
        # and the receipt's «Голос принят» is not left under it.
        await expect(page.locator('[data-role="vote-mine"]')).to_have_text("")
        await expect(page.locator('[data-role="vote-message"]')).to_have_text("")
    # A member who reloads the room finds the same result (and is not told that they
    # have not voted: the reloaded page never learnt their choice).
    await members[0].reload()
    await members[0].wait_for_selector('#room[data-connected="yes"]')
    await expect(members[0].locator(".result-verdict")).to_have_text("Решение принято")
    await expect(members[0].locator(".result-counts li")).to_have_text(
        ["за: 2", "против: 1", "воздержался: 0"]
    )
    await expect(members[0].locator('[data-role="vote-mine"]')).to_have_text("")
    # The vote is over: the chair may open the next one.
    await expect(chair.locator('[data-role="vote-open-panel"]')).to_be_visible()
    # The form is empty again: the next vote is not put with this one's question.
    await expect(chair.get_by_label("Формулировка")).to_have_value("")

    # A member follows the link to the vote's page and checks the receipt there.
    await members[2].locator('[data-role="vote-link"]').click()
    await members[2].wait_for_url(f"**/votes/{vote_id}")
    await expect(members[2].locator('[data-role="mine"]')).to_contain_text(
        "Ваш учтённый голос: против"
    )
    await members[2].get_by_text("Квитанция", exact=True).click()
    await expect(members[2].locator('[data-role="receipt"]')).to_contain_text("kvorum.receipt")
    await members[2].locator('[data-role="check"]').click()
    check = members[2].locator('[data-role="check-result"]')
    await expect(check).to_have_attribute("data-ok", "yes")
    await expect(check).to_contain_text("Квитанция подписана реестром")

    # The auditor downloads the bundle from the vote's page...
    auditor = await (await logged_in(browser, live_server, db, None, Role.AUDITOR)).new_page()
    await auditor.goto(live_server.url(f"/votes/{vote_id}"))
    async with auditor.expect_download() as waiting:
        await auditor.locator('[data-role="bundle"]').click()
    download = await waiting.value
    target = tmp_path / "bundle.json"
    await download.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b'{"registry_keys":')

    # ... and the offline verifier passes it, anchored in the registry's own keys.
    trusted = live_server.server.app[KEYRING].public_keys()
    report = verify_bundle(data, trusted=trusted, jobs=1)
    assert report.ok, report.text()
    (summary,) = report.votes
    assert summary.vote == vote_id
    assert summary.entries == 3
    assert list(summary.counts) == [2, 1, 0]
    assert summary.adopted is True
    # The ballots were signed by the keys the members' browsers made.
    bundle = json.loads(data)
    certified = {
        c["payload"]["member"]: c["payload"]["public_key"]
        for c in bundle["votes"][0]["certificates"]
    }
    assert certified == public_keys

    # One byte changed inside a ballot (the first entry's «за» made «против»): the
    # verifier fails and names that entry.
    entries = data.index(b'"entries":[')
    at = data.index(b'"choice":[1]', entries) + len(b'"choice":[')
    tampered = data[:at] + b"2" + data[at + 1 :]
    assert len(tampered) == len(data)
    broken = verify_bundle(tampered, trusted=trusted, jobs=1)
    assert not broken.ok
    first = f"vote {vote_id}, entry 1: "
    assert any(p.startswith(first + "V-66 bad_signature") for p in broken.problems), broken.text()
    assert not any(
        re.match(rf"vote {vote_id}, entry [23]: V-66 bad_signature", p) for p in broken.problems
    )

    for context in [chair_context, *contexts, auditor.context]:
        await context.close()


async def test_a_member_without_a_key_is_told_how_to_enrol(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5, items=1)
    mid = setup.meeting_id
    member = setup.members[2]
    # The member is in the hall (the secretary registered them), so on the roll.
    secretary = setup.actor(setup.secretary, Role.SECRETARY)
    await RoomService(db, secretary).register_in_person(mid, member.id, True)
    await RoomService(db, secretary).register_in_person(mid, setup.secretary.id, True)
    await db.commit()

    chair_context = await logged_in(browser, live_server, db, setup.chair, Role.CHAIR, Role.MEMBER)
    chair = await open_room(chair_context, live_server, mid)
    await quorum_met(chair, present=3, of=5)
    vote_id = await open_vote(chair, "Утвердить смету")

    # The member opens the room during the vote on a device that holds no key of theirs.
    context = await logged_in(browser, live_server, db, member)
    page = await open_room(context, live_server, mid)
    panel = page.locator('[data-role="vote-panel"]')
    await expect(panel).to_have_attribute("data-vote", str(vote_id))
    no_key = page.locator('[data-role="vote-no-key"]')
    await expect(no_key).to_be_visible()
    await expect(no_key).to_contain_text("На этом устройстве нет вашего ключа подписи")
    link = no_key.get_by_role("link", name="Создать ключ подписи")
    await expect(link).to_have_attribute("href", re.compile(r"^/account/security"))
    await expect(page.locator(".btn-vote")).to_have_count(0)

    # The link opens the security page (in a new tab, the room stays), with the button.
    async with context.expect_page() as opening:
        await link.click()
    security = await opening.value
    await security.wait_for_load_state()
    assert security.url.startswith(live_server.url("/account/security"))
    await expect(
        security.get_by_role("button", name="Создать ключ подписи на этом устройстве")
    ).to_be_visible()

    for c in (chair_context, context):
        await c.close()


async def test_an_absentee_vote_page_counts_my_ballot_and_remembers_it(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=3, items=1)
    member = setup.members[2]
    context = await logged_in(browser, live_server, db, member)
    await enrol_key(context, live_server)
    desk = VoteDesk(db, setup.actor(setup.chair, Role.CHAIR), live_server.server.app[KEYRING])
    vote, _notice = await desk.open_absentee(
        AbsenteeVoteIn(
            body_id=setup.body.id,
            title="О плане работы",
            question="Утвердить план работы:\n1) на первое полугодие;\n2) на второе полугодие.",
            closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        )
    )
    await db.commit()
    vote_id = vote.id

    page = await context.new_page()
    await page.goto(live_server.url(f"/votes/{vote_id}"))
    # The question keeps its lines; the deadline is local time, named as people name it.
    question = page.locator(".question")
    assert (await question.inner_text()).count("\n") == 2
    deadline = page.locator('[data-role="deadline"]')
    await expect(deadline).to_contain_text("по пермскому времени, UTC+5")
    await expect(page.locator("body")).not_to_contain_text("Asia/")
    await expect(page.locator('[data-role="cast"]')).to_have_text("Проголосовали: 0 из 3")

    await page.locator(f'.btn-vote[data-option="{FOR}"]').click()
    message = page.locator('[data-role="message"]')
    await expect(message).to_contain_text("Голос принят")
    await expect(message).to_have_class("success-message")
    # My own ballot moves the count at once (not at the next poll).
    await expect(page.locator('[data-role="cast"]')).to_have_text("Проголосовали: 1 из 3")
    # After a reload the page still shows what I chose.
    await page.reload()
    await expect(page.locator('[data-role="mine"]')).to_contain_text("Ваш выбор: за")

    # Past its deadline the vote reads closed, not «открыто до…».
    stored = await db.get(Vote, vote_id)
    assert stored is not None
    stored.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await db.commit()
    await page.reload()
    await expect(page.locator('[data-role="state"]')).to_have_text("Завершено")
    await expect(deadline).to_contain_text("Голосование завершено")
    await expect(page.locator(".btn-vote")).to_have_count(0)


async def test_a_survey_lays_its_checkboxes_out_one_a_line(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=3, items=1)
    member = setup.members[2]
    context = await logged_in(browser, live_server, db, member)
    await enrol_key(context, live_server)
    registrar = Actor(None, "Регистратор", frozenset({Role.REGISTRAR}), None)
    desk = VoteDesk(db, registrar, live_server.server.app[KEYRING])
    survey, _notice = await desk.open_survey(
        SurveyIn(
            organisation_id=setup.body.organisation_id,
            title="Опрос о цифровизации",
            question="Какие сервисы вам нужны?",
            options=["Электронный профбилет", "Онлайн-заседания", "Опросы"],
            multiple=True,
            closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
        )
    )
    await db.commit()
    page = await context.new_page()
    await page.set_viewport_size({"width": 360, "height": 800})
    await page.goto(live_server.url(f"/votes/{survey.id}"))
    boxes = page.locator(".ballot-multiple label.check")
    await expect(boxes).to_have_count(3)
    tops = [(await boxes.nth(i).bounding_box() or {})["y"] for i in range(3)]
    assert tops == sorted(tops)
    assert len(set(tops)) == 3  # one a line, not squeezed together
    submit = page.locator('.ballot-multiple button[type="submit"]')
    last = await boxes.nth(2).bounding_box()
    below = await submit.bounding_box()
    assert last is not None
    assert below is not None
    assert below["y"] >= last["y"] + last["height"]  # the button under the options
    await boxes.nth(0).click()
    await boxes.nth(2).click()
    await submit.click()
    await expect(page.locator('[data-role="message"]')).to_have_class("success-message")
