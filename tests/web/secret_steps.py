"""Steps the browser tests of elections and secret votes share: screenshots at a
desktop's and a phone's width, a commission member's key made on the key page, and a
ballot cast on the ballot page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.factories import LiveServer

__all__ = ["PASSPHRASE", "SHOTS", "cast", "make_key", "shots"]

PASSPHRASE = "первый снег над Камой"
# Where else to keep the screenshots (say, to look at them after the run).
SHOTS = Path(os.environ["KVORUM_TEST_SHOTS"]) if os.environ.get("KVORUM_TEST_SHOTS") else None


async def shots(page: Any, tmp_path: Path, name: str) -> None:
    """The page at a desktop's and a phone's width, saved; nothing may overflow."""
    for width in (1280, 360):
        await page.set_viewport_size({"width": width, "height": 900})
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} overflows by {overflow}px at {width}px"
        for directory in filter(None, (tmp_path, SHOTS)):
            directory.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(directory / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})


async def make_key(page: Any, tmp_path: Path, name: str) -> None:
    """On the key page: wait for the share to be kept, download its backup, confirm."""
    backup = page.locator('[data-role="backup"]')
    await expect(backup).to_be_visible(timeout=60_000)
    await page.get_by_label("Пароль файла").fill("короткий")
    await page.get_by_label("Пароль ещё раз").fill("короткий")
    await page.get_by_role("button", name="Скачать резервную копию").click()
    await expect(page.locator('[data-role="backup-message"]')).to_contain_text("не короче 12")
    await page.get_by_label("Пароль файла").fill(PASSPHRASE)
    await page.get_by_label("Пароль ещё раз").fill(PASSPHRASE)
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Скачать резервную копию").click()
    download = await info.value
    saved = tmp_path / f"{name}-share.json"
    await download.save_as(saved)
    assert '"kvorum-commission-share-backup"' in saved.read_text("utf-8")
    await page.get_by_role("button", name="Я сохранил(а) файл и помню пароль").click()


async def cast(page: Any, live: LiveServer, election_id: int, marks: list[str]) -> None:
    """Mark the ballot and cast it; the receipt is checked. ``marks``: «за»/«против» per
    candidate (one row each), or the one candidate chosen on a ballot of one of several."""
    await page.goto(live.url(f"/elections/{election_id}/ballot"))
    choices = page.locator('[data-role="choices"] fieldset')
    await expect(choices.first).to_be_visible()
    if await choices.locator("legend").count():
        await expect(choices).to_have_count(len(marks))
        for row, mark in zip(await choices.all(), marks, strict=True):
            await row.get_by_label(mark, exact=True).check()
    else:
        (choice,) = marks
        await page.locator('[data-role="choices"]').get_by_label(choice, exact=True).check()
    await page.get_by_role("button", name="Зашифровать бюллетень").click()
    await page.get_by_role("button", name="Отправить бюллетень").click()
    await expect(page.locator('[data-role="message"]')).to_contain_text("Бюллетень принят")
    await expect(page.locator('[data-role="receipt-check"]')).to_have_attribute("data-ok", "yes")
