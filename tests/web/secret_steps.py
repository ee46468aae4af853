"""Steps the browser tests of secret votes share: a commission member's key made on the
key page, and a ballot cast on the ballot page (screenshots: :mod:`tests.web.shots`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.factories import LiveServer

__all__ = ["PASSPHRASE", "cast", "make_key"]

PASSPHRASE = "первый снег над Камой"


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
