"""«Мои дела» and «Пригласить всех членов органа» in a real Chromium, at 1280 and 360 px:
the registrar invites the whole presidium, copies a link, a member comes in with it and
finds the meeting on their home page, the room's link appearing once registration opens.
Screenshots of each step go to KVORUM_TEST_SCREENSHOTS (or the test's temporary dir)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.demo import DEMO_MEETING_TITLE
from meetings.models import Meeting, MeetingState
from meetings.preparation import MeetingService
from registry.actor import Actor
from registry.models import Body, Member, Role
from server.demo import seed_with_logins
from tests.factories import LiveServer

WIDTHS = {"desktop": (1280, 900), "phone": (360, 740)}


def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("KVORUM_TEST_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def snap(page: Any, directory: Path, name: str, *, fits: bool = True) -> None:
    """The page at each width, whole; and (``fits``) nothing wider than 360 px there."""
    for label, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(directory / f"{name}-{label}.png"), full_page=True)
        if fits and label == "phone":
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name}: {overflow} px wider than a 360-px screen"
    await page.set_viewport_size({"width": 1280, "height": 900})


async def enter(browser: Any, server: LiveServer, path: str) -> Any:
    context = await browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url(""))
    page = await context.new_page()
    await page.goto(server.url(path))
    await page.get_by_role("button", name="Войти", exact=True).click()
    await page.wait_for_url("**/account/security?welcome=1")
    return page


async def test_invite_the_presidium_and_find_the_meeting_in_my_tasks(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    out = shots(tmp_path)
    async with db.begin():
        demo = await seed_with_logins(db, live_server.settings)
    links = {role: urlsplit(url).path for role, _name, url in demo.links}
    presidium_id = await db.scalar(select(Body.id).where(Body.name.like("Президиум%")))
    meeting = await db.scalar(select(Meeting).where(Meeting.title == DEMO_MEETING_TITLE))
    assert meeting is not None
    assert presidium_id is not None
    meeting_id, local_start = meeting.id, meeting.local_start.strftime("%d.%m.%Y %H:%M")
    await db.commit()

    # The registrar: «Мои дела» points at the outbox (the demo has no mail server).
    registrar = await enter(browser, live_server, links["регистратор"])
    await registrar.goto(live_server.url("/"))
    main = await registrar.inner_text("main")
    assert "Мои дела" in main
    assert "Исходящая почта" in main
    await snap(registrar, out, "01-registrar-tasks")

    # The presidium's page: one button invites everyone who has not got in yet.
    await registrar.goto(live_server.url(f"/registry/bodies/{presidium_id}"))
    button = registrar.get_by_role("button", name="Пригласить всех членов органа")
    # (The body page's wide tables are the registry's own, not this test's to judge.)
    await snap(registrar, out, "02-presidium", fits=False)
    await button.click()
    await registrar.wait_for_load_state()
    main = await registrar.inner_text("main")
    assert "Приглашения выданы" in main
    # Nobody of the presidium has logged in: all eleven get a link, by name.
    assert "Выдано приглашений: 11." in main
    items = registrar.locator(".invite-list > li")
    assert await items.count() == 11
    assert "Галайда Зинаида Ивановна" in main
    assert "Иванов Михаил Геннадьевич" in main
    copy_buttons = registrar.get_by_role("button", name="Копировать")
    assert await copy_buttons.count() == 11
    await snap(registrar, out, "03-invited")

    # Copy the first link: the clipboard holds it, the page says so.
    first = items.nth(0)
    name = await first.locator("h3").inner_text()
    url = await first.locator("input").input_value()
    await first.get_by_role("button", name="Копировать").click()
    await first.get_by_text("Скопировано").wait_for()
    assert await registrar.evaluate("navigator.clipboard.readText()") == url

    # The letters of those with an address wait in the outbox, each with its link.
    await registrar.goto(live_server.url("/registry/outbox"))
    main = await registrar.inner_text("main")
    assert "Приглашение в Кворум" in main
    await snap(registrar, out, "04-outbox")

    # The member comes in with the copied link and finds the meeting on «Мои дела».
    member = await enter(browser, live_server, urlsplit(url).path)
    await member.goto(live_server.url("/"))
    assert await member.locator("h1").inner_text() == "Мои дела"
    block = member.locator("#my-meetings")
    text = await block.inner_text()
    assert "Заседание № 7" in text
    assert local_start in text  # the meeting's own time, Perm's
    assert "по пермскому времени, UTC+5" in text
    assert "объявлено" in text
    # No time in UTC: "UTC" appears only as the zone's offset («UTC+5»).
    assert not re.search(r"UTC(?![+−-]\d)", await member.inner_text("main"))
    # Announced: no room to enter yet.
    assert await block.get_by_role("link", name="Перейти в зал заседания").count() == 0
    await snap(member, out, "05-member-tasks-announced")

    # The chair opens registration: the room's link appears on the member's home page.
    async with db.begin():
        chair = await db.scalar(select(Member).where(Member.id == meeting.chair_member_id))
        assert chair is not None
        service = MeetingService(
            db, Actor(None, chair.full_name, frozenset({Role.CHAIR}), chair.id)
        )
        await service.transition(meeting_id, MeetingState.REGISTRATION)
    await member.reload()
    room = member.locator("#my-meetings").get_by_role("link", name="Перейти в зал заседания")
    assert await room.count() == 1
    assert re.search(rf"/meetings/{meeting_id}/room$", await room.get_attribute("href") or "")
    assert "идёт регистрация" in await member.locator("#my-meetings").inner_text()
    await snap(member, out, "06-member-tasks-registration")
    assert name in await member.inner_text("header")


async def test_the_import_offers_the_close_organisation_and_one_invitation_is_named(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    out = shots(tmp_path)
    async with db.begin():
        demo = await seed_with_logins(db, live_server.settings)
    links = {role: urlsplit(url).path for role, _name, url in demo.links}
    registrar = await enter(browser, live_server, links["регистратор"])

    # A file naming the agro-industrial union «… комплекса РФ»: refused, with a choice.
    data = Path(__file__).parents[1] / "registry" / "data" / "members_org_names_differ.csv"
    await registrar.goto(live_server.url("/registry/import"))
    await registrar.select_option("#f-organisation_id", label="Пермский крайсовпроф")
    await registrar.set_input_files("#f-file", str(data))
    await registrar.get_by_role("button", name="Загрузить").click()
    await registrar.wait_for_load_state()
    mapping = registrar.locator("#org-mapping")
    assert "Организации, которых нет в реестре" in await mapping.inner_text()
    choice = mapping.locator("select")
    assert await choice.count() == 1
    closest = choice.locator("optgroup").first.locator("option").first
    offered = await closest.inner_text()
    assert "агропромышленного комплекса Российской Федерации" in offered
    assert "сходство 100 %" in offered
    await snap(registrar, out, "07-import-mapping")

    # All but the same name: it is chosen in advance; import again, without choosing
    # the file anew.
    assert await choice.input_value() == await closest.get_attribute("value")
    await registrar.get_by_role("button", name="Загрузить").click()
    await registrar.wait_for_url("**/registry/import/done*")
    done = await registrar.inner_text("main")
    assert "Импортировано 4" in done
    assert "Названий организаций запомнено: 1." in done
    await snap(registrar, out, "08-import-done")

    # One member's invitation: the page names them and copies the link.
    await registrar.goto(live_server.url("/registry/members?q=Лыкова"))
    await registrar.get_by_role("link", name="Лыкова Дарья Сергеевна").click()
    await registrar.get_by_role("button", name="Выдать приглашение").click()
    await registrar.wait_for_load_state()
    main = await registrar.inner_text("main")
    assert "Приглашение для: Лыкова Дарья Сергеевна" in main
    assert "Письмо не отправлено" in main  # the file gave her no address
    await registrar.get_by_role("button", name="Копировать").click()
    await registrar.get_by_text("Скопировано").wait_for()
    url = await registrar.locator("#invite-url").input_value()
    assert await registrar.evaluate("navigator.clipboard.readText()") == url
    await snap(registrar, out, "09-invitation")
