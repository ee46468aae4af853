"""The methodology's XLSX and JSON forms: round trips and the refusals of bad files."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import load_workbook

from registry.diagnosis import workbook
from registry.diagnosis.methodology import FORMAT, Methodology, MethodologyError
from registry.diagnosis.services import default_methodology


def test_default_methodology_names_what_the_resolution_names() -> None:
    methodology = default_methodology()
    text = json.dumps(methodology.to_json(), ensure_ascii=False)
    for needle in (
        "ВКонтакте",
        "Telegram",
        "Одноклассник",
        "Дзен",
        "газет",
        "электронный профсоюзный билет",
        "Учёт членов",
        "видеоконференцсвяз",
        "голосовани",
        "опрос",
        "документооборот",
        "персональных данных",
        "дистанционн",
        "CRM-портал",
    ):
        assert needle.lower() in text.lower(), needle
    assert [b.low for b in methodology.levels] == [0, 25, 50, 75]


def test_xlsx_round_trip_is_equal() -> None:
    methodology = default_methodology()
    assert workbook.read(workbook.write(methodology)) == methodology


def test_json_round_trip_is_equal() -> None:
    methodology = default_methodology()
    text = json.dumps(methodology.to_json(), ensure_ascii=False)
    assert Methodology.from_json(json.loads(text)) == methodology
    assert json.loads(text)["format"] == FORMAT


def _edited(edit: Callable[[Any], None]) -> bytes:
    """The default methodology's workbook with ``edit`` applied to the loaded book."""
    book = load_workbook(io.BytesIO(workbook.write(default_methodology())))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row_of(book: Any, question: str) -> int:
    sheet = book[workbook.QUESTIONS_SHEET]
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == question:
            return int(row[1].row)
    raise AssertionError(question)


def _refused(data: bytes) -> workbook.WorkbookError:
    with pytest.raises(workbook.WorkbookError) as caught:
        workbook.read(data)
    return caught.value


def test_a_missing_weight_is_refused_with_sheet_and_row() -> None:
    def edit(book: Any) -> None:
        book[workbook.QUESTIONS_SHEET].cell(_row_of(book, "2.3"), 5).value = None

    book = load_workbook(io.BytesIO(workbook.write(default_methodology())))
    error = _refused(_edited(edit))
    assert (error.sheet, error.row) == ("Вопросы", _row_of(book, "2.3"))
    assert error.reason == "weight of question 2.3 is missing"
    assert str(error) == f"sheet «Вопросы», row {error.row}: weight of question 2.3 is missing"


def test_a_missing_section_weight_is_refused() -> None:
    def edit(book: Any) -> None:
        book[workbook.QUESTIONS_SHEET].cell(2, 5).value = None

    error = _refused(_edited(edit))
    assert (error.sheet, error.row, error.reason) == (
        "Вопросы",
        2,
        "weight of section 1 is missing",
    )


def test_a_question_without_a_section_is_refused() -> None:
    def edit(book: Any) -> None:
        book[workbook.QUESTIONS_SHEET].cell(_row_of(book, "4.2"), 1).value = None

    error = _refused(_edited(edit))
    assert error.sheet == "Вопросы"
    assert error.reason == "question 4.2 has no section"


def test_a_question_naming_an_undeclared_section_is_refused() -> None:
    def edit(book: Any) -> None:
        book[workbook.QUESTIONS_SHEET].cell(_row_of(book, "4.2"), 1).value = "9"

    error = _refused(_edited(edit))
    assert "names section 9, which is not declared" in error.reason


def test_an_unknown_answer_type_is_refused() -> None:
    def edit(book: Any) -> None:
        book[workbook.QUESTIONS_SHEET].cell(_row_of(book, "3.1"), 4).value = "эссе"

    book = load_workbook(io.BytesIO(workbook.write(default_methodology())))
    error = _refused(_edited(edit))
    assert (error.sheet, error.row) == ("Вопросы", _row_of(book, "3.1"))
    assert error.reason.startswith("unknown answer type 'эссе'")


@pytest.mark.parametrize(
    ("row", "column", "value", "reason"),
    [
        (3, 3, 40, "level L3 overlaps the level below (40 < 50)"),
        (3, 3, 60, "gap before level L3: nothing covers 50..60"),
        (4, 4, 90, "the levels end at 90, not at 100"),
    ],
)
def test_overlapping_or_gapped_bands_are_refused(
    row: int, column: int, value: int, reason: str
) -> None:
    def edit(book: Any) -> None:
        book[workbook.LEVELS_SHEET].cell(row + 1, column).value = value

    error = _refused(_edited(edit))
    assert error.sheet == "Уровни"
    assert error.reason == reason
    assert error.row == row + 1


def test_a_missing_sheet_and_a_non_workbook_are_refused() -> None:
    def edit(book: Any) -> None:
        del book[workbook.LEVELS_SHEET]

    error = _refused(_edited(edit))
    assert (error.sheet, error.row, error.reason) == ("Уровни", 0, "the sheet is missing")
    error = _refused(b"PK\x03\x04 not really a zip")
    assert error.reason.startswith("not an XLSX workbook")


def test_json_refusals_name_the_place() -> None:
    data = default_methodology().to_json()
    data["sections"][1]["questions"][0]["type"] = "essay"
    with pytest.raises(MethodologyError) as caught:
        Methodology.from_json(data)
    assert caught.value.where == "sections[1].questions[0]"
    assert "unknown answer type 'essay'" in caught.value.reason

    data = default_methodology().to_json()
    del data["sections"][0]["questions"][2]["weight"]
    with pytest.raises(MethodologyError) as caught:
        Methodology.from_json(data)
    assert caught.value.where == "sections[0].questions[2]"
    assert caught.value.reason == "weight of question 1.3 is missing"

    data = default_methodology().to_json()
    data["levels"][1]["from"] = 20
    with pytest.raises(MethodologyError) as caught:
        Methodology.from_json(data)
    assert caught.value.reason.startswith("gap before level L2") or "overlaps" in (
        caught.value.reason
    )


def test_a_text_starting_with_equals_stays_text() -> None:
    methodology = default_methodology()
    first = methodology.sections[0]
    question = dataclasses.replace(first.questions[0], text='=HYPERLINK("http://x")')
    section = dataclasses.replace(first, questions=(question, *first.questions[1:]))
    changed = dataclasses.replace(methodology, sections=(section, *methodology.sections[1:]))
    assert workbook.read(workbook.write(changed)) == changed
