"""An election prepared in Chromium and its counting commission elected by the body's
open vote: the secretary prepares the election on the meeting page, nominates two
candidates and records their consent, closes the nomination and proposes the
commission, which opens the open vote in the meeting room; three members sign their
ballots in their own browsers, the chair closes the vote, and the election's page
shows the commission elected with that vote as its basis. Screenshots of the
election's page at 1280 and 360 px are saved for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Role
from tests import factories as f
from tests.factories import LiveServer
from tests.web.shots import shots
from tests.web.test_vote_browser import enrol_key, logged_in, open_room, quorum_met

FOR = 1


async def test_the_secretary_prepares_an_election_and_the_body_elects_its_commission(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    setup = await f.meeting(db, size=5, items=2)
    mid = setup.meeting_id
    chair_m, secretary_m, *others = setup.members
    candidate = others[2]  # the fifth member stands; the second, third and fourth count
    trustees = [secretary_m, others[0], others[1]]
    voters = [others[0], others[1], others[2]]

    secretary_context = await logged_in(browser, live_server, db, secretary_m)
    chair_context = await logged_in(browser, live_server, db, chair_m, Role.CHAIR, Role.MEMBER)
    voter_contexts = [await logged_in(browser, live_server, db, m) for m in voters]
    for context in voter_contexts:
        await enrol_key(context, live_server)

    # --- the secretary prepares the election on the meeting page -------------------------
    secretary = await secretary_context.new_page()
    await secretary.goto(live_server.url(f"/meetings/{mid}"))
    await secretary.get_by_role("link", name="Подготовить выборы").click()
    await secretary.wait_for_url(f"**/meetings/{mid}/elections/new")
    form = secretary.locator('[data-role="election-form"]')
    await form.get_by_label("Вопрос повестки").select_option(label="1. Вопрос 1")
    await form.get_by_label("Должность или орган").fill("председатель комитета")
    await form.get_by_label("Форма бюллетеня").select_option("one_of")
    await form.get_by_role("button", name="Подготовить выборы").click()
    await secretary.wait_for_url("**/elections/*?done=prepared")
    await expect(secretary.locator("h1")).to_have_text("Выборы: председатель комитета")
    state = secretary.locator('[data-role="election-state"]')
    await expect(state).to_have_attribute("data-state", "draft")

    # Two candidates: a member of the body, and a named person nominated at the meeting.
    nominate = secretary.locator('[data-role="nominate"]')
    await nominate.get_by_label("Член органа").select_option(label=candidate.full_name)
    await nominate.get_by_label("Краткая биография").fill(
        "Председатель профкома завода с 2019 года"
    )
    await nominate.get_by_label("Кем выдвинут").fill("Первичная организация завода")
    await nominate.get_by_role("button", name="Выдвинуть").click()
    await secretary.wait_for_url("**?done=nominated")
    nominate = secretary.locator('[data-role="nominate"]')
    await nominate.get_by_label("Фамилия, имя, отчество").fill("Лебедева Ольга Ивановна")
    await nominate.get_by_label("Кем выдвинут").fill("самовыдвижение")
    await nominate.get_by_label("Кандидат дал согласие").check()
    await nominate.get_by_label("Как дано согласие").fill("устно на заседании")
    await nominate.get_by_role("button", name="Выдвинуть").click()
    await secretary.wait_for_url("**?done=nominated")
    rows = secretary.locator("[data-candidate]")
    await expect(rows).to_have_count(2)
    await shots(secretary, tmp_path, "election-draft")
    await expect(rows.nth(0)).to_have_attribute("data-consent", "no")
    await expect(rows.nth(1)).to_have_attribute("data-consent", "yes")

    # Closing the nomination with a consent missing is refused, naming why.
    close = secretary.get_by_role("button", name="Закрыть выдвижение и утвердить бюллетень")
    await close.click()
    await expect(secretary.locator('[data-role="action-error"]')).to_contain_text(
        "Не у всех кандидатов записано согласие."
    )
    await expect(state).to_have_attribute("data-state", "draft")
    await rows.nth(0).get_by_label("Как дано согласие").fill("письменное заявление")
    await rows.nth(0).get_by_role("button", name="Записать согласие").click()
    await secretary.wait_for_url("**?done=consent")
    await expect(secretary.locator("[data-candidate]").nth(0)).to_have_attribute(
        "data-consent", "yes"
    )
    await secretary.get_by_role("button", name="Закрыть выдвижение и утвердить бюллетень").click()
    await secretary.wait_for_url("**?done=candidates_closed")
    await expect(state).to_have_attribute("data-state", "candidates_closed")
    await shots(secretary, tmp_path, "election-closed")

    # --- the members come to the room; the secretary proposes the commission -----------
    chair = await open_room(chair_context, live_server, mid)
    members = [await open_room(context, live_server, mid) for context in voter_contexts]
    for page in [chair, *members]:
        await quorum_met(page, present=4, of=5)

    commission_form = secretary.locator('[data-role="commission-form"]')
    # The candidate is not offered: those who count are not counted for.
    await expect(commission_form.get_by_label(candidate.full_name)).to_have_count(0)
    for m in trustees:
        await commission_form.get_by_label(m.full_name).check()
    await commission_form.get_by_role("button", name="Предложить и открыть голосование").click()
    await secretary.wait_for_url("**?done=proposed")
    commission = secretary.locator('[data-role="commission"]')
    await expect(commission).to_have_attribute("data-state", "proposed")
    await expect(commission.locator('[data-role="commission-members"] li')).to_have_text(
        sorted(m.full_name for m in trustees)  # in the order the form lists them
    )
    await expect(commission).to_contain_text("Подсчёт: не менее 2 из 3 членов комиссии.")

    # The open vote «Об избрании счётной комиссии» reaches the room; the members vote.
    for page in [chair, *members]:
        panel = page.locator('[data-role="vote-panel"]')
        await expect(panel).to_have_attribute("data-state", "open")
        await expect(page.locator('[data-role="vote-question"]')).to_contain_text(
            "Об избрании счётной комиссии (председатель комитета) в составе:"
        )
    for cast, page in enumerate(members, 1):
        await page.locator(f'.btn-vote[data-option="{FOR}"]').click()
        await expect(page.locator('[data-role="vote-message"]')).to_contain_text("Голос принят")
        await expect(chair.locator('[data-role="vote-count"]')).to_have_text(
            f"Проголосовали: {cast} из 4"
        )
    await chair.locator('[data-action="close-vote"]').click()
    await expect(chair.locator(".result-verdict")).to_have_text("Решение принято")

    # --- the commission is elected, the vote its basis ----------------------------------
    await secretary.goto(secretary.url.split("?")[0])
    await expect(state).to_have_attribute("data-state", "commission_constituted")
    await expect(commission).to_have_attribute("data-state", "constituted")
    await expect(secretary.locator('[data-role="commission-basis"]')).to_contain_text(
        "Избрана открытым голосованием"
    )
    vote_link = secretary.locator('[data-role="commission-basis"] a')
    href = await vote_link.get_attribute("href")
    assert href is not None
    assert href.startswith("/votes/")
    await expect(secretary.locator('[data-role="next"]')).to_contain_text(
        "Её члены создают ключ выборов"
    )
    await shots(secretary, tmp_path, "election-commission")

    # A member sees the candidates and the commission, and no forms.
    member_page = await voter_contexts[0].new_page()
    await member_page.goto(secretary.url.split("?")[0])
    await expect(member_page.locator("[data-candidate]")).to_have_count(2)
    await expect(member_page.locator('[data-role="nominate"]')).to_have_count(0)
    await expect(member_page.locator('[data-role="commission"]')).to_have_attribute(
        "data-state", "constituted"
    )

    # The meeting's record has it.
    await secretary.goto(live_server.url(f"/meetings/{mid}/record"))
    await expect(secretary.locator("table")).to_contain_text(
        "Избрана счётная комиссия (председатель комитета)"
    )
