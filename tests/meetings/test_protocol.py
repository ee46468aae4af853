"""The protocol of a held meeting, assembled from its record, rendered to PDF: its text
(pdftotext) holds every required part in order, and its pages (pdftoppm) are not blank
and carry the header where GOST R 7.0.97 puts it."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.drafting import initials, meeting_protocol
from meetings.models import DocumentKind
from server.docrender import DocumentRenderer
from server.pages import make_jinja
from tests.meetings.closed_meeting import held_meeting

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"),
    reason="poppler-utils (pdftotext, pdftoppm) is installed by scripts/test",
)

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"
DPI = 50
MM = DPI / 25.4  # pixels per millimetre


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(  # noqa: S603 - poppler on our own file
        [PDFTOTEXT, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    ).stdout.decode()


def pages(pdf: bytes, tmp_path: Path) -> list[tuple[int, int, bytes]]:
    """Every page as a grey bitmap (width, height, one byte per pixel, 0 is black)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    subprocess.run(  # noqa: S603 - poppler on our own file
        [PDFTOPPM, "-gray", "-r", str(DPI), str(path), str(tmp_path / "page")], check=True
    )
    out = []
    for file in sorted(tmp_path.glob("page-*.pgm")):
        data = file.read_bytes()
        match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
        assert match, "pdftoppm writes binary PGM"
        width, height = int(match[1]), int(match[2])
        out.append((width, height, data[match.end() : match.end() + width * height]))
    return out


def ink_box(width: int, height: int, pixels: bytes, rows: range) -> tuple[int, int] | None:
    """The leftmost and rightmost dark column within ``rows``."""
    columns = [x for y in rows for x in range(width) if pixels[y * width + x] < 128]
    return (min(columns), max(columns)) if columns else None


def in_order(text: str, parts: list[str]) -> None:
    # pdftotext may drop the spaces around «№» and «–» (set in their own text runs):
    # compare without them.
    def tight(value: str) -> str:
        return re.sub(r"\s*([№–])\s*", r"\1", " ".join(value.split()))

    flat = tight(text)
    position = 0
    for part in map(tight, parts):
        found = flat.find(part, position)
        assert found >= 0, (
            f"{part!r} missing after position {position}: {flat[position : position + 200]!r}"
        )
        position = found + len(part)


async def test_protocol_from_the_record(db: AsyncSession, client: Any, tmp_path: Path) -> None:
    held = await held_meeting(db, client)
    setup = held.vm.setup
    protocol, votes = await meeting_protocol(db, held.actor("secretary"), held.meeting_id)
    assert [v.id for v in votes] == [held.vote["vote"]]
    assert protocol.members.count == 5
    assert protocol.present.count == 4
    assert protocol.present.listed
    assert setup.members[4].full_name not in protocol.present.names  # the absent one
    assert protocol.chair == initials(setup.chair.full_name)
    # The guest the chair let in; the one invited who never came is not listed.
    assert protocol.guests == (("Кузнецова Мария Ивановна", "правовой инспектор труда"),)
    (line,) = protocol.items[0].votes
    assert line.counts[:2] == (("за", 3), ("против", 1))
    assert line.adopted is True
    assert len(line.roll_call) == 4
    assert line.head.startswith("sha256:")
    assert line.result.startswith("sha256:")
    assert [p.number for p in protocol.items[0].points] == ["1.1", "1.2"]
    assert [p.number for p in protocol.items[0].points[1].points] == ["1.2.1", "1.2.2"]

    renderer = DocumentRenderer(make_jinja())
    html = renderer.protocol_html(protocol, draft=False)
    # Names hold together: «Кузнецова М. И.» never leaves its initials on the next line.
    assert f"Председатель — {protocol.chair.replace(' ', chr(0xA0))}" in html
    assert "Кузнецова\xa0Мария\xa0Ивановна" in html
    # The short name once, when the full name already ends in it.
    named = dataclasses.replace(
        protocol,
        organisation="Пермский краевой союз организаций профсоюзов «Пермский крайсовпроф»",
        short_name="Пермский крайсовпроф",
    )
    assert renderer.protocol_html(named, draft=False).count("ПЕРМСКИЙ КРАЙСОВПРОФ") == 1
    pdf = renderer.pdf(html)
    text = pdf_text(pdf, tmp_path)
    in_order(
        text,
        [
            setup.body.name.upper(),
            "ПРОТОКОЛ",
            "заседания",
            protocol.date_text,
            "№ 1",
            f"Председатель — {protocol.chair}",
            f"Секретарь — {protocol.secretary}",
            "Членов по реестру — 5 чел.",
            "Присутствовали — 4 чел.:",
            protocol.present.names[0],
            protocol.present.names[3],
            "Приглашённые:",
            "Кузнецова Мария Ивановна — правовой инспектор труда",
            "присутствуют 4",
            "Кворум имеется.",
            "ПОВЕСТКА ДНЯ:",
            "1. Вопрос 1.",
            "2. Вопрос 2.",
            "1. СЛУШАЛИ:",
            "Об итогах работы по цифровизации за 2025 год.",
            "ВЫСТУПИЛИ:",
            "Петрова А. А. — предложила дополнить план.",
            "ПОСТАНОВИЛИ:",
            "1.1. Принять информацию к сведению.",
            "1.2. Членским организациям:",
            "1.2.1. продолжить работу;",
            "1.2.2. провести самодиагностику.",
            "ГОЛОСОВАЛИ: за — 3, против — 1, воздержались — 0. Решение принято.",
            "Поимённо: за —",
            "против —",
            "Отпечаток журнала бюллетеней:",
            "Отпечаток итогов:",
            "2. СЛУШАЛИ:",
            "Председатель",
            protocol.chair,
            "Секретарь",
            protocol.secretary,
        ],
    )
    assert "ПРОЕКТ" not in text

    bitmaps = pages(pdf, tmp_path)
    assert bitmaps, "the PDF has pages"
    for width, height, pixels in bitmaps:
        assert (width, height) == (round(210 * MM), round(297 * MM)) or abs(
            width - 210 * MM
        ) <= 1, "A4 portrait"
        dark = sum(1 for p in pixels if p < 128)
        assert dark > 200, "a page is blank"
    width, height, pixels = bitmaps[0]
    first_row = next(
        y for y in range(height) if any(pixels[y * width + x] < 128 for x in range(width))
    )
    # The organisation's name opens the page at the top margin (20 mm), centred in the
    # text block between the margins (20 mm left, 10 mm right).
    assert 18 * MM <= first_row <= 26 * MM, first_row / MM
    box = ink_box(width, height, pixels, range(first_row, first_row + int(5 * MM)))
    assert box is not None
    centre = (box[0] + box[1]) / 2
    assert abs(centre - (20 + 180 / 2) * MM) <= 3 * MM, centre / MM
    # Nothing is printed in the left margin on any page.
    for width, height, pixels in bitmaps:
        left = ink_box(width, height, pixels, range(height))
        assert left is not None
        assert left[0] >= 19 * MM, left[0] / MM


async def test_extract_holds_one_item(db: AsyncSession, client: Any, tmp_path: Path) -> None:
    held = await held_meeting(db, client)
    draft = await held.desk(db).draft(
        held.meeting_id, DocumentKind.EXTRACT, held.vm.setup.item_ids[0]
    )
    assert draft.number == "№ 1 – 1"
    renderer = DocumentRenderer(make_jinja())
    assert draft.protocol is not None
    pdf = renderer.pdf(renderer.protocol_html(draft.protocol, draft=False, only=1))
    text = pdf_text(pdf, tmp_path)
    in_order(
        text,
        [
            "ВЫПИСКА ИЗ ПРОТОКОЛА",
            "Кворум имеется.",
            "ПОВЕСТКА ДНЯ:",
            "1. Вопрос 1.",
            "1. СЛУШАЛИ:",
            "ГОЛОСОВАЛИ:",
            "Выписка верна",
            "Секретарь",
        ],
    )
    assert "Вопрос 2" not in text


async def test_resolution_of_a_decided_item(db: AsyncSession, client: Any, tmp_path: Path) -> None:
    held = await held_meeting(db, client)
    draft = await held.desk(db).draft(
        held.meeting_id, DocumentKind.RESOLUTION, held.vm.setup.item_ids[0]
    )
    assert draft.resolution is not None
    renderer = DocumentRenderer(make_jinja())
    text = pdf_text(renderer.pdf(renderer.resolution_html(draft.resolution, draft=True)), tmp_path)
    in_order(
        text,
        [
            "ПОСТАНОВЛЕНИЕ",
            draft.resolution.date_text,
            "№ 1 – 1",
            "Вопрос 1",
            "ПОСТАНОВЛЯЕТ:",
            "1. Принять информацию к сведению.",
            "2.1. продолжить работу;",
            "Председатель",
        ],
    )
    assert "ПРОЕКТ" in text  # a draft says so
