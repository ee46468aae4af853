"""The draft resolution of an agenda item, laid out as the document it will be."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.drafting import initials
from tests.server.test_meeting_pages import World, mailer, page, web_client

__all__ = ["mailer", "web_client"]  # fixtures, imported for this module's tests

DRAFT = (
    "В соответствии с планом работы,\r\n"
    "\r\n"
    "Президиум Совета ПОСТАНОВЛЯЕТ:\r\n"
    "1. Принять к сведению информацию.\r\n"
    "2.\r\n"
    "Членским организациям:\r\n"
    "2.1. продолжить работу;\r\n"
    "2.2. провести самодиагностику.\r\n"
)


def test_initials() -> None:
    assert initials("Иванов Михаил Григорьевич") == "М. Г. Иванов"
    assert initials("Петрова Анна") == "А. Петрова"
    assert initials("Галайда") == "Галайда"


async def test_resolution_page(web_client: Any, db: AsyncSession) -> None:
    w = await World(web_client, db).build()
    chair = await w.as_("chair")
    mid = await w.meeting(chair, chair_member_id=str(w.members["chair"].id))
    await w.item(chair, mid, "О регламенте", draft_resolution="1. Утвердить регламент.")
    await w.item(chair, mid, "О цифровизации  профсоюзной деятельности", draft_resolution=DRAFT)
    meeting = await chair.get(f"/meetings/{mid}")
    items = [int(i) for i in re.findall(rf"/meetings/{mid}/items/(\d+)/edit", await meeting.text())]
    html = await page(await chair.get(f"/meetings/{mid}/items/{items[1]}/resolution"))
    assert '<h1 class="doc-kind">ПОСТАНОВЛЕНИЕ</h1>' in html
    assert "ПЕРМСКИЙ КРАЙСОВПРОФ" in html
    assert "ПРЕЗИДИУМ СОВЕТА" in html
    assert "14 мая 2026 года" in html
    assert "№ 1 – 2" in html
    assert "О цифровизации профсоюзной деятельности</h2>" in html
    assert "<p>В соответствии с планом работы,</p>" in html
    assert "Президиум Совета ПОСТАНОВЛЯЕТ:" in html
    assert '<span class="doc-number">2.2.</span> провести самодиагностику.' in html
    assert "М.\xa0Г.\xa0Иванов" in html  # a name never breaks inside
    assert "/static/css/document.css" in html

    member = await w.as_("member")
    await page(await member.get(f"/meetings/{mid}/items/{items[1]}/resolution"))
    outsider = await w.as_("outsider")
    resp = await outsider.get(f"/meetings/{mid}/items/{items[1]}/resolution")
    assert resp.status == 404
    resp = await chair.get(f"/meetings/{mid}/items/999999/resolution")
    assert resp.status == 404
