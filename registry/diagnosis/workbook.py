"""A methodology as an XLSX workbook, the form such methodologies circulate in.

Three sheets (``docs/diagnosis.md`` shows an example):

* «Методика» — two columns, name and value: «Код», «Название», «Описание».
* «Вопросы» — header row, then one row per section or question. Columns:
  «Раздел» (section code), «Вопрос» (question code), «Формулировка», «Тип ответа»,
  «Вес», «Параметры», «Пояснение». A row with a section code and no question code
  declares the section (its title and weight); a row with a question code is a
  question of the section named in «Раздел», which must be declared above.
  «Параметры»: for a scale ``1..5``, for a number its target ``10``, for a choice
  ``нет=0; частично=50; да=100`` (label = share of the weight in per cent).
* «Уровни» — header row, then one row per maturity level: «Код», «Название», «От»,
  «До», «Описание»; the bands must cover 0..100 without overlap or gap.

Answer types are written as their codes (``yes_no``…) or in Russian («да/нет»,
«шкала», «число», «выбор», «ссылка», «файл»).

Import refuses the whole file on the first problem, naming the sheet, the row and
the reason (:class:`WorkbookError`); nothing is stored until it parses.
"""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from registry.diagnosis.methodology import (
    AnswerType,
    BandError,
    Choice,
    LevelBand,
    Methodology,
    MethodologyError,
    Question,
    Section,
)

__all__ = ["LEVELS_SHEET", "META_SHEET", "QUESTIONS_SHEET", "WorkbookError", "read", "write"]

META_SHEET = "Методика"
QUESTIONS_SHEET = "Вопросы"
LEVELS_SHEET = "Уровни"
QUESTION_COLUMNS = (
    "Раздел",
    "Вопрос",
    "Формулировка",
    "Тип ответа",
    "Вес",
    "Параметры",
    "Пояснение",
)
LEVEL_COLUMNS = ("Код", "Название", "От", "До", "Описание")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000

TYPE_NAMES: dict[str, AnswerType] = {
    "да/нет": AnswerType.YES_NO,
    "шкала": AnswerType.SCALE,
    "число": AnswerType.NUMBER,
    "выбор": AnswerType.CHOICE,
    "ссылка": AnswerType.LINK,
    "файл": AnswerType.FILE,
}
RUSSIAN_TYPE = {value: key for key, value in TYPE_NAMES.items()}


class WorkbookError(MethodologyError):
    """The workbook is refused: ``sheet`` and ``row`` (1-based, as Excel shows it;
    0 when the problem is the file or a whole sheet) say where, ``reason`` why."""

    code = "methodology_workbook_invalid"

    def __init__(self, sheet: str, row: int, reason: str) -> None:
        where = f"sheet «{sheet}», row {row}" if row else f"sheet «{sheet}»" if sheet else ""
        super().__init__(reason, where=where)
        self.params.update({"sheet": sheet, "row": row})
        self.sheet = sheet
        self.row = row


def write(methodology: Methodology) -> bytes:
    """The methodology as an XLSX workbook that :func:`read` reads back equal."""
    book = Workbook()
    meta = book.active
    assert meta is not None
    meta.title = META_SHEET
    for row in (
        ("Код", methodology.code),
        ("Название", methodology.title),
        ("Описание", methodology.description),
    ):
        meta.append(row)
    meta.column_dimensions["B"].width = 80

    sheet = book.create_sheet(QUESTIONS_SHEET)
    sheet.append(QUESTION_COLUMNS)
    for section in methodology.sections:
        sheet.append((section.code, None, section.title, None, section.weight, None, None))
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for q in section.questions:
            sheet.append(
                (
                    section.code,
                    q.code,
                    q.text,
                    RUSSIAN_TYPE[q.type],
                    q.weight,
                    _params(q),
                    q.hint or None,
                )
            )
    for column, width in zip("ABCDEFG", (8, 8, 70, 12, 6, 40, 40), strict=True):
        sheet.column_dimensions[column].width = width

    levels = book.create_sheet(LEVELS_SHEET)
    levels.append(LEVEL_COLUMNS)
    for band in methodology.levels:
        levels.append((band.code, band.title, band.low, band.high, band.description or None))
    for sheet_ in (sheet, levels):
        for cell in sheet_[1]:
            cell.font = Font(bold=True)
    for sheet_ in book.worksheets:
        for row in sheet_.iter_rows():
            for cell in row:
                # A text starting with «=» is text here, never a formula to evaluate.
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _params(q: Question) -> str | int | None:
    if q.type is AnswerType.SCALE:
        return f"{q.scale_min}..{q.scale_max}"
    if q.type is AnswerType.NUMBER:
        return q.target
    if q.type is AnswerType.CHOICE:
        return "; ".join(f"{o.label}={o.points}" for o in q.options)
    return None


def read(data: bytes) -> Methodology:
    """Parse a workbook written like :func:`write`'s; refuse with :class:`WorkbookError`."""
    if len(data) > MAX_BYTES:
        raise WorkbookError("", 0, f"the file is larger than {MAX_BYTES // 1024 // 1024} MB")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, KeyError, InvalidFileException, XML errors…
        raise WorkbookError("", 0, f"not an XLSX workbook ({type(exc).__name__})") from None
    try:
        sheets = {name: _rows(book[name]) for name in book.sheetnames}
    except Exception as exc:  # openpyxl raises many kinds of errors on broken XML
        raise WorkbookError("", 0, f"the workbook cannot be read ({type(exc).__name__})") from None
    finally:
        book.close()
    for name in (META_SHEET, QUESTIONS_SHEET, LEVELS_SHEET):
        if name not in sheets:
            raise WorkbookError(name, 0, "the sheet is missing")

    meta: dict[str, Any] = {}
    for _number, row in sheets[META_SHEET]:
        key = _str(row, 0)
        if key:
            meta[key] = _str(row, 1)

    sections = _read_questions(sheets[QUESTIONS_SHEET])
    bands = _read_levels(sheets[LEVELS_SHEET])
    level_rows = [row_number for row_number, _ in bands]
    try:
        return Methodology(
            code=meta.get("Код", ""),
            title=meta.get("Название", ""),
            description=meta.get("Описание", ""),
            sections=sections,
            levels=tuple(band for _, band in bands),
        )
    except BandError as exc:
        raise WorkbookError(LEVELS_SHEET, level_rows[exc.index], exc.reason) from None
    except MethodologyError as exc:
        # Rows have been checked one by one above; what is left is the name of the
        # methodology and codes repeated across rows.
        sheet = (
            META_SHEET
            if "methodology" in exc.reason
            else LEVELS_SHEET
            if "level" in exc.reason
            else QUESTIONS_SHEET
        )
        raise WorkbookError(sheet, 0, exc.reason) from None


Row = tuple[Any, ...]


def _rows(sheet: Any) -> list[tuple[int, Row]]:
    out = []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > MAX_ROWS:
            raise WorkbookError(sheet.title, number, f"more than {MAX_ROWS} rows")
        if any(cell not in (None, "") for cell in row):
            out.append((number, tuple(row)))
    return out


def _cell(row: Row, index: int) -> Any:
    value = row[index] if index < len(row) else None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _str(row: Row, index: int) -> str:
    value = _cell(row, index)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _whole(value: Any, what: str) -> Any:
    """Spreadsheets store numbers as floats; 3.0 is the whole number 3, 2.5 is refused
    by the value object's own check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if value is None:
        return None
    return value


def _header(rows: list[tuple[int, Row]], sheet: str, expected: tuple[str, ...]) -> None:
    if not rows:
        raise WorkbookError(sheet, 0, "the sheet is empty")
    number, row = rows[0]
    got = tuple(_str(row, i) for i in range(len(expected)))
    if got != expected:
        raise WorkbookError(
            sheet, number, f"the header must be: {', '.join(expected)}; got: {', '.join(got)}"
        )


def _read_questions(rows: list[tuple[int, Row]]) -> tuple[Section, ...]:
    _header(rows, QUESTIONS_SHEET, QUESTION_COLUMNS)
    declared: dict[str, tuple[int, str, Any]] = {}
    questions: dict[str, list[Question]] = {}
    for number, row in rows[1:]:
        section_code = _str(row, 0)
        question_code = _str(row, 1)
        if not question_code:
            if not section_code:
                raise WorkbookError(
                    QUESTIONS_SHEET, number, "neither a section nor a question code"
                )
            if section_code in declared:
                raise WorkbookError(
                    QUESTIONS_SHEET, number, f"section {section_code} is declared twice"
                )
            weight = _whole(_cell(row, 4), "weight")
            if weight is None:
                raise WorkbookError(
                    QUESTIONS_SHEET, number, f"weight of section {section_code} is missing"
                )
            declared[section_code] = (number, _str(row, 2), weight)
            questions[section_code] = []
            continue
        if not section_code:
            raise WorkbookError(QUESTIONS_SHEET, number, f"question {question_code} has no section")
        if section_code not in declared:
            raise WorkbookError(
                QUESTIONS_SHEET,
                number,
                f"question {question_code} names section {section_code}, "
                "which is not declared above it",
            )
        try:
            questions[section_code].append(_question(row, question_code))
        except MethodologyError as exc:
            raise WorkbookError(QUESTIONS_SHEET, number, exc.reason) from None
    sections = []
    for code, (number, title, weight) in declared.items():
        try:
            sections.append(
                Section(code=code, title=title, weight=weight, questions=tuple(questions[code]))
            )
        except MethodologyError as exc:
            raise WorkbookError(QUESTIONS_SHEET, number, exc.reason) from None
    if not sections:
        raise WorkbookError(QUESTIONS_SHEET, 0, "no sections")
    return tuple(sections)


def _question(row: Row, code: str) -> Question:
    type_text = _str(row, 3)
    answer_type: str = TYPE_NAMES.get(type_text.lower(), type_text)
    if answer_type not in {t.value for t in AnswerType}:
        known = ", ".join(TYPE_NAMES)
        raise MethodologyError(f"unknown answer type {type_text!r} (known: {known})")
    params = _str(row, 5)
    scale_min = scale_max = target = 0
    options: tuple[Choice, ...] = ()
    if answer_type == AnswerType.SCALE:
        match = re.fullmatch(r"\s*(\d+)\s*(?:\.\.|-|–)\s*(\d+)\s*", params)
        if match is None:
            raise MethodologyError(f"the scale of question {code} must read like 1..5")
        scale_min, scale_max = int(match[1]), int(match[2])
    elif answer_type == AnswerType.NUMBER:
        if not re.fullmatch(r"\d+", params):
            raise MethodologyError(f"the target of question {code} must be a whole number")
        target = int(params)
    elif answer_type == AnswerType.CHOICE:
        parsed = []
        for part in filter(None, (p.strip() for p in params.split(";"))):
            label, sep, points = part.rpartition("=")
            if not sep or not re.fullmatch(r"\s*\d+\s*", points):
                raise MethodologyError(
                    f"option {part!r} of question {code} must read like «да=100»"
                )
            parsed.append(Choice(label=label.strip(), points=int(points)))
        options = tuple(parsed)
    return Question(
        code=code,
        text=_str(row, 2),
        type=AnswerType(answer_type),
        weight=_whole(_cell(row, 4), "weight"),
        hint=_str(row, 6),
        scale_min=scale_min,
        scale_max=scale_max,
        target=target,
        options=options,
    )


def _read_levels(rows: list[tuple[int, Row]]) -> list[tuple[int, LevelBand]]:
    _header(rows, LEVELS_SHEET, LEVEL_COLUMNS)
    bands = []
    for number, row in rows[1:]:
        try:
            bands.append(
                (
                    number,
                    LevelBand(
                        code=_str(row, 0),
                        title=_str(row, 1),
                        low=_whole(_cell(row, 2), "from"),
                        high=_whole(_cell(row, 3), "to"),
                        description=_str(row, 4),
                    ),
                )
            )
        except MethodologyError as exc:
            raise WorkbookError(LEVELS_SHEET, number, exc.reason) from None
    if not bands:
        raise WorkbookError(LEVELS_SHEET, 0, "no levels")
    return bands
