"""A member organisation's chair answers a self-diagnosis in Chromium: makes their
signing key on the security page, finds the questionnaire in «Мои дела», answers it,
attaches the evidence files, and signs and submits it with the key their browser made
(the server never sees it). The council's secretary then sees the results with their
charts. Every page is also looked at 360 px wide: nothing runs off the screen."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.envelope import SignedDocument
from meetings.blobs import BlobStore
from meetings.diagnosis.campaigns import CampaignService
from meetings.diagnosis.models import Participant, ParticipantState
from meetings.diagnosis.schemas import CampaignIn
from meetings.models import AgendaItem
from registry.demo import seed_demo
from registry.diagnosis.services import MethodologyService, default_methodology
from registry.models import Account, DeviceKey, Member, OrgKind, Role, SeatRole
from server.demo import seed_with_logins
from tests import factories as f
from tests.factories import LiveServer
from tests.samples import pdf_bytes
from tests.server.diagnosis_setup import answers_for
from tests.web.test_document_browser import console_errors, logged_in


async def _no_overflow(page: Any, width: int) -> None:
    await page.set_viewport_size({"width": width, "height": 800})
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than {width}px"


async def answer_and_sign(page: Any, level: int = 2) -> None:
    """On an open questionnaire: attach the two files, answer everything (at ``level``),
    sign with this browser's key and submit; wait for the page to say it is submitted."""
    # Evidence first (each upload comes back to the page), then the answers.
    for code in ("5.4", "6.4"):
        await page.locator("#f-evidence-question").select_option(code)
        await page.locator("#f-evidence-file").set_input_files(
            files=[
                {
                    "name": f"{code}.pdf",
                    "mimeType": "application/pdf",
                    "buffer": pdf_bytes(f"evidence {code}"),
                }
            ]
        )
        await page.get_by_role("button", name="Приложить").click()
        await expect(page.locator(".alert-success")).to_have_text("Файл приложен.")
    answers = answers_for(default_methodology(), level)
    # One answer the way a person gives it, the rest filled in by script.
    await page.locator('[data-question="1.1"]').get_by_label("да" if level else "нет").check()
    await page.evaluate(
        """(answers) => {
          for (const [code, value] of Object.entries(answers)) {
            const name = `q:${code}`;
            if (typeof value === "boolean") {
              const radio = document.querySelector(
                `input[name="${CSS.escape(name)}"][value="${value ? "yes" : "no"}"]`);
              radio.checked = true;
            } else {
              document.querySelector(`[name="${CSS.escape(name)}"]`).value = String(value);
            }
          }
        }""",
        answers,
    )
    submit = page.locator('[data-role="submit"]')
    await expect(submit).to_be_visible()
    await submit.click()
    try:
        await expect(page.locator('[data-role="submitted"]')).to_be_visible()
    except AssertionError as error:
        said = await page.locator('[data-role="message"], [data-role="refusal"]').all_inner_texts()
        raise AssertionError(f"{error}\nthe page says: {said}") from None
    await expect(page.locator('[data-role="state"]')).to_have_text("подписана и отправлена")


async def test_a_chair_answers_and_signs_in_the_browser(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    live = live_server
    root = await f.org(db, "Краевой союз профсоюзов")
    presidium = await f.body(db, root, "Президиум краевого союза")
    secretary = await f.member(db, root, "Секретарёва")
    await f.seat(db, presidium, secretary, SeatRole.SECRETARY)
    await f.account(db, Role.MEMBER, member_obj=secretary)
    shop = await f.org(db, "Цеховая организация", kind=OrgKind.MEMBER_ORGANISATION, parent=root)
    committee = await f.body(db, shop, "Профком цеха")
    chair = await f.member(db, shop, "Председателева")
    await f.seat(db, committee, chair, SeatRole.CHAIR)
    await f.account(db, Role.MEMBER, member_obj=chair)
    stored = await MethodologyService(db, f.SYSTEM).ensure_default(root.id)
    store = BlobStore(live.settings.data_dir / "diagnosis")
    campaign, _notify = await CampaignService(db, f.SYSTEM, store).launch(
        CampaignIn(
            organisation_id=root.id,
            methodology_id=stored.id,
            title="Самодиагностика 2026 года",
            deadline=dt.datetime.now(dt.UTC) + dt.timedelta(days=10),
            depth=1,
        )
    )
    campaign_id, shop_id, chair_id = campaign.id, shop.id, chair.id
    secretary_id = secretary.id
    await db.commit()

    context = await logged_in(browser, db, chair)
    errors = console_errors(context)
    page = await context.new_page()
    # The key, made on this device.
    await page.goto(live.url("/account/security"))
    panel = page.locator("#signing-keys")
    await page.get_by_role("button", name="Создать ключ подписи на этом устройстве").click()
    await expect(panel).to_have_attribute("data-has-key", "yes")

    # «Мои дела» leads to the questionnaire.
    await page.goto(live.url("/"))
    link = page.locator("#my-diagnosis a")
    await expect(link).to_have_text("Самодиагностика 2026 года — Цеховая организация")
    await link.click()
    await expect(page.locator("h1")).to_have_text("Анкета самодиагностики: Цеховая организация")
    await _no_overflow(page, 360)
    await page.set_viewport_size({"width": 1280, "height": 900})

    await answer_and_sign(page)
    assert not errors, errors

    # Signed with the key this browser made: the only key the chair has.
    await db.rollback()
    row = await db.scalar(
        select(Participant).where(
            Participant.campaign_id == campaign_id, Participant.organisation_id == shop_id
        )
    )
    assert row is not None
    assert row.state is ParticipantState.SUBMITTED
    statement = SignedDocument.parse(row.statement.encode())
    keys = (await db.scalars(select(DeviceKey).where(DeviceKey.member_id == chair_id))).all()
    assert [k.serial for k in keys] == [statement.payload["serial"]]
    assert json.loads(row.answers) == {
        k: v for k, v in statement.to_json()["payload"]["answers"].items()
    }
    await db.rollback()

    # The council's secretary sees the results, with the charts, at 1280 and 360 px.
    officer_member = await db.get(Member, secretary_id)
    assert officer_member is not None
    officer = await logged_in(browser, db, officer_member)
    page = await officer.new_page()
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(live.url(f"/diagnosis/campaigns/{campaign_id}"))
    await expect(page.locator("#campaign-progress h2")).to_contain_text("представили 1 из 1")
    await page.locator('[data-role="results"]').click()
    charts = page.locator('img[data-role="chart"]')
    await expect(charts).to_have_count(2)
    for index in range(2):
        width = await charts.nth(index).evaluate("(img) => img.naturalWidth")
        assert width > 0  # the SVG was drawn
    await _no_overflow(page, 1280)
    await _no_overflow(page, 360)


async def _key(context: Any, live: LiveServer) -> None:
    page = await context.new_page()
    await page.goto(live.url("/account/security"))
    await page.get_by_role("button", name="Создать ключ подписи на этом устройстве").click()
    await expect(page.locator("#signing-keys")).to_have_attribute("data-has-key", "yes")
    await page.close()


async def test_the_demo_council_runs_a_campaign_to_the_agenda(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    """The demo: the council's secretary launches a campaign for its three member
    organisations; each one's chair answers and signs in their own browser; the
    secretary closes it, sees the results, downloads the report and puts the results on
    the presidium's agenda with the prefilled draft."""
    live = live_server
    demo = await seed_with_logins(db, live.settings)
    assert demo.created
    people = await seed_demo(db, today=dt.date.today())
    secretary = await db.get(Member, people[0].secretary_member_id)
    assert secretary is not None
    chairs = []
    for card in ("59-000101", "59-000201", "59-000301"):  # the member organisations' chairs
        chair = await db.scalar(select(Member).where(Member.card_number == card))
        assert chair is not None
        if await db.scalar(select(Account).where(Account.member_id == chair.id)) is None:
            await f.account(db, Role.MEMBER, member_obj=chair)
        chairs.append(chair)
    await db.commit()

    office = await logged_in(browser, db, secretary)
    errors = console_errors(office)
    page = await office.new_page()
    await page.goto(live.url("/diagnosis"))
    form = page.locator('form[data-role="launch"]')
    await form.locator('input[name="deadline"]').fill(
        (dt.date.today() + dt.timedelta(days=14)).isoformat()
    )
    await form.get_by_role("button", name="Начать кампанию").click()
    await expect(page.locator("#campaign-progress h2")).to_contain_text("представили 0 из 3")
    campaign_url = page.url.split("?")[0]

    for level, chair in zip((0, 1, 2), chairs, strict=True):
        context = await logged_in(browser, db, chair)
        chair_errors = console_errors(context)
        await _key(context, live)
        mine = await context.new_page()
        await mine.goto(live.url("/"))
        await mine.locator("#my-diagnosis a").click()
        await answer_and_sign(mine, level)
        assert not chair_errors, chair_errors
        await context.close()

    await page.goto(campaign_url)
    await expect(page.locator("#campaign-progress h2")).to_contain_text("представили 3 из 3")
    await page.locator('form[data-role="close"]').get_by_role("button").click()
    await expect(page.locator(".alert-success")).to_have_text("Кампания закрыта.")
    await page.locator('[data-role="results"]').click()
    await expect(page.locator('img[data-role="chart"]')).to_have_count(2)
    await expect(page.locator("#organisations tbody tr[data-organisation]")).to_have_count(3)
    async with page.expect_download() as download:
        await page.locator('[data-role="pdf"]').click()
    saved = Path(await (await download.value).path())
    report = await asyncio.to_thread(saved.read_bytes)
    assert report.startswith(b"%PDF-")

    # On the presidium's agenda (the demo's meeting № 7, announced), with the draft.
    await page.goto(campaign_url)
    agenda = page.locator('form[data-role="agenda"]')
    await agenda.locator("select").select_option(index=0)
    await agenda.get_by_role("button", name="Внести в повестку").click()
    await expect(page.locator("main")).to_contain_text(
        "О результатах самодиагностики цифровой зрелости членских организаций"
    )
    await db.rollback()
    item = await db.scalar(
        select(AgendaItem).where(AgendaItem.title.startswith("О результатах самодиагностики"))
    )
    assert item is not None
    assert "ПОСТАНОВЛЯЕТ" in item.draft_resolution
    assert "Пермская краевая организация Профсоюза образования" in item.draft_resolution
    assert not errors, errors
