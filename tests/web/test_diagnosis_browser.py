"""A member organisation's chair answers a self-diagnosis in Chromium: makes their
signing key on the security page, finds the questionnaire in «Мои дела», answers it,
attaches the evidence files, and signs and submits it with the key their browser made
(the server never sees it). The council's secretary then sees the results with their
charts. Every page is also looked at 360 px wide: nothing runs off the screen."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.envelope import SignedDocument
from meetings.blobs import BlobStore
from meetings.diagnosis.campaigns import CampaignService
from meetings.diagnosis.models import Participant, ParticipantState
from meetings.diagnosis.schemas import CampaignIn
from registry.diagnosis.services import MethodologyService, default_methodology
from registry.models import DeviceKey, Member, OrgKind, Role, SeatRole
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
    answers = answers_for(default_methodology(), 2)
    # One answer the way a person gives it, the rest filled in by script.
    await page.locator('[data-question="1.1"]').get_by_label("да").check()
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
