"""meetings.documents: Russian office-document rules, and the seed's resolution rebuilt
from a meeting record in Kvorum's own template."""

from __future__ import annotations

import datetime as dt
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from meetings.documents import (
    Point,
    attendance,
    decision_points,
    meeting_number,
    resolution,
    russian_date,
    split_draft,
    tally_phrase,
)
from server.pages import make_jinja

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_d0caf0df00afc5ae.txt"


def test_dates_and_numbers() -> None:
    assert russian_date(dt.date(2023, 3, 23)) == "23 марта 2023 года"
    assert russian_date(dt.date(2026, 12, 1)) == "1 декабря 2026 года"
    assert meeting_number(7) == "№ 7"
    assert meeting_number(7, 2) == "№ 7 – 2"


def test_tally_phrase() -> None:
    counts = (("За", 12), ("Против", 1), ("Воздержался", 0))
    assert tally_phrase(counts) == "за — 12, против — 1, воздержались — 0"
    assert tally_phrase((("Вариант А", 3),)) == "Вариант А — 3"


def test_attendance_is_alphabetical_and_counted_above_fifteen() -> None:
    names = attendance(["Ёлкина А. В.", "Борисов И. И.", "Егоров П. П.", "Абрамова Е. С."])
    assert names.names == ("Абрамова Е. С.", "Борисов И. И.", "Егоров П. П.", "Ёлкина А. В.")
    assert names.listed
    assert not attendance(f"Член {i:02d}" for i in range(16)).listed
    assert attendance(f"Член {i:02d}" for i in range(15)).listed


def test_points_nest_and_renumber() -> None:
    points = decision_points(
        "1. Принять к сведению.\n"
        "3. Поручить:\n"
        "3.1. первое;\n"
        "3.5. второе.\n"
        "4.\n"
        "Координационным советам:\n"
        "продолжить работу;\n"
        "включать вопросы.\n"
    )
    assert [p.number for p in points] == ["1", "2", "3"]
    assert [p.number for p in points[1].points] == ["2.1", "2.2"]
    assert points[2] == Point(
        "3", "Координационным советам:", ("продолжить работу;", "включать вопросы.")
    )
    assert points[1].renumbered("5").points[0].number == "5.2.1"
    assert points[1].lines() == ["2. Поручить:", "2.1. первое;", "2.2. второе."]


def test_text_before_any_number_is_a_point() -> None:
    assert decision_points("Принять к сведению.") == [Point("1", "Принять к сведению.")]
    assert decision_points("  \n") == []


def test_a_draft_splits_at_the_enacting_clause() -> None:
    preamble, enacting, points = split_draft(
        "В соответствии с уставом,\n\nПрезидиум ПОСТАНОВЛЯЕТ:\n1. Утвердить.\n2. Контроль.\n"
    )
    assert preamble == ["В соответствии с уставом,"]
    assert enacting == "Президиум ПОСТАНОВЛЯЕТ:"
    assert [p.text for p in points] == ["Утвердить.", "Контроль."]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.skip += tag in ("title", "style", "script")
        self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("title", "style", "script")
        self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _words(text: str) -> list[str]:
    return text.replace("\u00a0", " ").split()


@pytest.fixture
def seed() -> str:
    if not SEED.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the seed document is missing: {SEED}")
        pytest.skip("the seed document (../shared/seed) is not beside this checkout")
    return SEED.read_text(encoding="utf-8")


def test_the_seed_resolution_is_rebuilt_from_its_meeting_record(seed: str) -> None:
    lines = seed.splitlines()
    # The meeting record: what the registry and the secretary hold for item 2 of
    # meeting 7 of the Council. The draft is the text between the title and the
    # signature, as the secretary typed it.
    start = next(i for i, line in enumerate(lines) if line.startswith("В соответствии с"))
    end = next(i for i, line in enumerate(lines) if line.strip() == "Председатель")
    doc = resolution(
        organisation="Пермский краевой союз организаций профсоюзов",
        short_name="Пермский крайсовпроф",
        body="Совет",
        date=dt.date(2023, 3, 23),
        city="Пермь",
        meeting=7,
        item=2,
        title=(
            "О цифровизации профсоюзной деятельности на опыте Пермской краевой "
            "организации Профессионального союза работников народного образования и "
            "науки Российской Федерации"
        ),
        draft="\n".join(lines[start:end]),
        signature_title=("Председатель", "Пермского крайсовпрофа"),
    )
    html = make_jinja().get_template("documents/resolution.html").render(doc=doc, draft=False)
    parser = _Text()
    parser.feed(html)
    rendered = "".join(parser.parts)

    # The same words in the same order as the seed, its rule line of "=" aside.
    expected = [w for w in _words(seed) if not re.fullmatch("=+", w)]
    assert _words(rendered) == expected

    # And the same structure: 8 points, 4.1–4.5 under point 4, point 5's three
    # unnumbered lines as its paragraphs, the enacting clause on its own.
    assert doc.number == "№ 7 – 2"
    assert doc.date_text == "23 марта 2023 года"
    assert doc.city == "г. Пермь"
    assert doc.enacting.endswith("ПОСТАНОВЛЯЕТ:")
    assert doc.enacting.startswith("Совет Пермского краевого союза")
    assert [p.number for p in doc.points] == [str(n) for n in range(1, 9)]
    assert [p.number for p in doc.points[3].points] == ["4.1", "4.2", "4.3", "4.4", "4.5"]
    assert doc.points[3].text.startswith("Членским организациям")
    assert len(doc.points[4].paragraphs) == 3
    assert len(doc.preamble) == 11
    # Requisites in the order of the seed: header, kind, date, place, number, title.
    flat = " ".join(_words(rendered))
    order = [
        flat.index(s)
        for s in (
            "ПЕРМСКИЙ КРАЕВОЙ СОЮЗ",
            "СОВЕТ",
            "ПОСТАНОВЛЕНИЕ",
            "23 марта 2023 года",
            "г. Пермь",
            "№ 7 – 2",
            "О цифровизации",
            "ПОСТАНОВЛЯЕТ:",
            "8. Контроль",
            "Председатель Пермского крайсовпрофа",
        )
    ]
    assert order == sorted(order)
