"""The registry UI in a real Chromium: log in with a demo link, search, add, see limits."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from server.demo import seed_with_logins
from server.settings import Settings
from tests.factories import LiveServer


async def demo_links(db: AsyncSession, settings: Settings) -> dict[str, str]:
    async with db.begin():
        links = (await seed_with_logins(db, settings)).links
    return {role: urlsplit(url).path for role, _name, url in links}


async def log_in(browser: Any, server: LiveServer, path: str) -> Any:
    page = await (await browser.new_context(locale="ru-RU")).new_page()
    await page.goto(server.url(path))
    await page.get_by_role("button", name="Войти", exact=True).click()
    await page.wait_for_url("**/account/security?welcome=1")
    return page


async def test_registrar_searches_and_adds_a_member(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    links = await demo_links(db, live_server.settings)
    page = await log_in(browser, live_server, links["регистратор"])
    assert "Мальцева Анна Олеговна" in await page.inner_text("header")

    await page.get_by_role("link", name="Члены профсоюза").first.click()
    await page.get_by_label("ФИО или № профбилета").fill("галайда")
    await page.get_by_role("button", name="Найти").click()
    table = page.locator("table")
    assert "Галайда Зинаида Ивановна" in await table.inner_text()
    assert await table.locator("tbody tr").count() == 1

    await page.goto(live_server.url("/registry/members/new"))
    await page.get_by_role("button", name="Добавить члена профсоюза").click()
    assert "Заполните это поле." in await page.inner_text("main")

    # The labels carry a required-field asterisk; the fields are found by their ids.
    await page.fill("#f-surname", "Новикова")
    await page.fill("#f-name", "Дарья")
    await page.fill("#f-patronymic", "Игоревна")
    await page.select_option("#f-organisation_id", label="Пермская краевая организация Профавиа")
    await page.fill("#f-card_number", "59-999001")
    await page.get_by_role("button", name="Добавить члена профсоюза").click()
    await page.wait_for_url("**/registry/members/*")
    assert "Новикова Дарья Игоревна" in await page.inner_text("main")


async def test_member_sees_only_their_bodies_and_english_switch(
    browser: Any, live_server: LiveServer, db: AsyncSession
) -> None:
    links = await demo_links(db, live_server.settings)
    page = await log_in(browser, live_server, links["член президиума"])
    await page.goto(live_server.url("/registry/members?q=&status=active"))
    names = await page.locator("table tbody tr").all_inner_texts()
    # The presidium (11) and the primary organisation's bodies he sits in: never the
    # whole union of about 60.
    assert 1 < len(names) < 30
    assert any("Иванов Михаил Геннадьевич" in row for row in names)

    await page.goto(live_server.url("/registry/access-log"))
    assert "Недостаточно прав" in await page.inner_text("main")

    await page.goto(live_server.url("/registry/members"))
    await page.get_by_role("link", name="EN").click()
    await page.wait_for_load_state()
    assert "Union members" in await page.inner_text("header")
    assert await page.get_attribute("html", "lang") == "en"
