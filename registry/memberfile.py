"""Member lists as union offices exchange them: XLSX or CSV in, CSV out.

``parse_member_file`` reads the lists registrars keep in Excel: an XLSX workbook
(first worksheet) or a CSV/TXT export in UTF-8 (with or without BOM), UTF-16 with
BOM (Excel's "Unicode text") or Windows-1251, separated by comma, semicolon or tab.
The header row names the columns in Russian, in any order and spelling listed in
``_ALIASES``; unknown columns are ignored. Every row is checked and *all* problems
are reported at once in ``MemberFileRejected.errors`` so the registrar can fix the
file in one pass; nothing is returned unless the whole file is clean.

``write_member_csv`` writes the form Russian Excel opens directly (UTF-8 with BOM,
semicolons, dd.mm.yyyy) and that ``parse_member_file`` reads back to the same values.

Row numbers are what a spreadsheet shows: the sheet row for XLSX, the CSV record
number (blank lines included, a quoted multi-line cell counted once) for text.

What this module does not guarantee: it does not cap the size of ``data`` (a
decompression bomb inside an XLSX is the caller's upload limit to stop; ``max_rows``
only bounds the work after the header) and it does not check card numbers against
the database.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import enum
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, Final, TextIO

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from registry.contact import (
    CARD_PATTERN,
    EMAIL_MAX,
    EMAIL_PATTERN,
    NAME_PATTERN,
    normalise_phone,
)
from registry.errors import InvalidInput

__all__ = [
    "ExportRow",
    "MemberFileRejected",
    "MemberRecord",
    "RowError",
    "parse_member_file",
    "write_member_csv",
]


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """One clean member row of an imported file.

    Only ``parse_member_file`` builds these, after it has validated every field,
    so the class does not validate again (that would double the cost of a
    200,000-row import).
    """

    row: int
    """Row number as a spreadsheet shows it (header row = 1 in a usual file)."""
    surname: str
    name: str
    patronymic: str
    card_number: str
    organisation: str
    position: str
    phone: str
    email: str
    joined_on: datetime.date | None


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One member as ``write_member_csv`` writes it (``MemberRecord`` without ``row``)."""

    surname: str
    name: str
    patronymic: str
    card_number: str
    organisation: str
    position: str
    phone: str
    email: str
    joined_on: datetime.date | None


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem found in a member file.

    ``row`` is None for a file-level problem, ``column`` is the canonical Russian
    column name (``"Фамилия"``, ``"№ профбилета"``…) or None, ``code`` is stable
    for machines and ``detail`` is an English sentence naming the offending value.
    """

    row: int | None
    column: str | None
    code: str
    detail: str
    # The offending cell text (shortened), for messages in other languages; not part
    # of equality, so tests and callers compare errors by what they say.
    value: str = field(default="", compare=False)


class MemberFileRejected(InvalidInput):
    """The member file cannot be imported; ``errors`` lists every problem found."""

    code = "member_file_rejected"

    def __init__(self, errors: Sequence[RowError], *, unmatched: Sequence[Any] = ()) -> None:
        self.errors: list[RowError] = list(errors)
        # The organisation names no organisation answers to, with the closest existing
        # ones (``registry.importer.UnmatchedOrganisation``), for the registrar to map.
        self.unmatched: list[Any] = list(unmatched)
        count = len(self.errors)
        super().__init__(
            f"the member file was rejected with {count} error{'' if count == 1 else 's'}; "
            "nothing was imported",
            fields=_fields_of(self.errors),
        )


def _fields_of(errors: Sequence[RowError]) -> dict[str, str]:
    """Every error as {"row 12, E-mail": reason}, for the API's one error shape."""
    fields: dict[str, str] = {}
    for error in errors:
        where = "file" if error.row is None else f"row {error.row}"
        if error.column:
            where += f", {error.column}"
        fields[where] = f"{fields[where]}; {error.detail}" if where in fields else error.detail
    return fields


class _Col(enum.Enum):
    """The columns the parser understands; the value is the name users see."""

    FIO = "ФИО"
    SURNAME = "Фамилия"
    NAME = "Имя"
    PATRONYMIC = "Отчество"
    CARD = "№ профбилета"
    ORGANISATION = "Организация"
    POSITION = "Должность"
    PHONE = "Телефон"
    EMAIL = "E-mail"
    JOINED_ON = "Дата вступления"


# English words for the detail sentences.
_LABEL: Final[dict[_Col, str]] = {
    _Col.FIO: "full name",
    _Col.SURNAME: "surname",
    _Col.NAME: "first name",
    _Col.PATRONYMIC: "patronymic",
    _Col.CARD: "card number",
    _Col.ORGANISATION: "organisation",
    _Col.POSITION: "position",
    _Col.PHONE: "phone",
    _Col.EMAIL: "e-mail",
    _Col.JOINED_ON: "joining date",
}

# Column widths of registry.models.Member (and Organisation.name), so an imported
# row always fits the table.
_NAME_MAX: Final = 100
_CARD_MAX: Final = 40
_ORGANISATION_MAX: Final = 500
_POSITION_MAX: Final = 300
_OLDEST_YEAR: Final = 1900

# How many non-empty rows at the top of a file may hold a title above the header.
_HEADER_SEARCH_ROWS: Final = 20

_DOT_SPACES = re.compile(r"\s*\.\s*")


def _header_key(text: str) -> str:
    """Normalise a header cell: case, spaces, NBSP, ё, spaces after dots, trailing marks."""
    key = " ".join(text.split()).lower().replace("ё", "е")
    key = _DOT_SPACES.sub(".", key).replace("№ ", "№")
    # A trailing ":" or "." is decoration; "*" marks required columns in templates.
    return key.rstrip(" :.;,*")


_ALIASES: Final[dict[str, _Col]] = {
    _header_key(spelling): column
    for column, spellings in {
        _Col.FIO: (
            "ФИО",
            "Ф.И.О",
            "Фамилия имя отчество",
            "Фамилия, имя, отчество",
        ),
        _Col.SURNAME: ("Фамилия",),
        _Col.NAME: ("Имя",),
        _Col.PATRONYMIC: ("Отчество",),
        _Col.CARD: (
            "№ профбилета",
            "Номер профбилета",
            "№ профсоюзного билета",
            "Номер профсоюзного билета",
            "Профбилет",
            "№ билета",
            "N профбилета",
            "No профбилета",
            "No. профбилета",
        ),
        _Col.ORGANISATION: (
            "Организация",
            "Профорганизация",
            "Первичная профсоюзная организация",
            "Наименование организации",
        ),
        _Col.POSITION: ("Должность",),
        _Col.PHONE: (
            "Телефон",
            "Тел",
            "Моб. телефон",
            "Мобильный телефон",
            "Контактный телефон",
        ),
        _Col.EMAIL: (
            "E-mail",
            "Email",
            "E mail",
            "Е-mail",  # the first letter typed on the Cyrillic layout
            "Эл. почта",
            "Электронная почта",
            "Адрес электронной почты",
        ),
        _Col.JOINED_ON: ("Дата вступления", "Дата вступления в профсоюз", "Дата вступл"),
    }.items()
    for spelling in spellings
}

# Letters of any script (plus combining accents, which NFC cannot always fold in),
# hyphens, apostrophes, dots and spaces, with at least one letter.
_NAME = NAME_PATTERN
_CARD = CARD_PATTERN
_EMAIL = EMAIL_PATTERN
_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})(?: ?[гГ]\.?)?")

# Zero-width and direction marks that copy-paste from web pages leaves behind, and
# control characters (NUL included: PostgreSQL cannot store it in text).
_INVISIBLE = re.compile(
    "[\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)

# CSV injection (OWASP): a cell starting with = @ (or + - followed by more than a
# number) is a formula to Excel. The writer prefixes such values with "'" and the
# parser drops that prefix again, so exported files are safe to open and still
# round-trip. Plain phone numbers like "+73422123456" need no prefix.
_HARMLESS_SIGNED = re.compile(r"[+\-][0-9 ()\-]*")


def _formula_like(value: str) -> bool:
    first = value[:1]
    if first in ("=", "@", "\t", "\r"):
        return True
    return first in ("+", "-") and _HARMLESS_SIGNED.fullmatch(value) is None


def _escape_formula(value: str) -> str:
    return "'" + value if _formula_like(value.lstrip("'")) else value


def _unescape_formula(value: str) -> str:
    if value.startswith("'") and _formula_like(value.lstrip("'")):
        return value[1:]
    return value


def _collapse(text: str) -> str:
    """Trim, collapse whitespace (NBSP included), drop invisible marks, compose (NFC)."""
    if _INVISIBLE.search(text) is not None:
        text = _INVISIBLE.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def _format_date(day: datetime.date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def _cell_text(value: object) -> str:
    """The text of a CSV or XLSX cell; numbers as a person would type them."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _collapse(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a double: card 123456 arrives as 123456.0.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return _format_date(value.date())
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return _format_date(value)
    return _collapse(str(value))


def _is_blank(cells: Sequence[object]) -> bool:
    for cell in cells:
        if cell is None:
            continue
        if isinstance(cell, str):
            if cell.strip():
                return False
            continue
        return False
    return True


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _file_error(code: str, detail: str) -> MemberFileRejected:
    return MemberFileRejected([RowError(None, None, code, detail)])


_SAVE_AS: Final = "save the list from Excel as 'Excel Workbook (*.xlsx)' or 'CSV UTF-8'"

_Row = tuple[int, Sequence[object]]


# --- the header --------------------------------------------------------------


def _header_score(cells: Sequence[object]) -> int:
    """How many distinct known columns a row names (0 for a data or title row)."""
    return len({_ALIASES.get(_header_key(_cell_text(cell))) for cell in cells} - {None})


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each known column sits in the rows (0-based index)."""

    index: dict[_Col, int]
    use_fio: bool

    def position(self, column: str | None) -> int:
        """Left-to-right order of an error's column, for sorting."""
        for col, index in self.index.items():
            if col.value == column:
                return index
        return len(self.index) + 1_000


def _find_header(rows: Iterator[_Row]) -> tuple[_Row, int, Iterator[_Row]]:
    """Return the header row, its score and the rows after it.

    The header is the row naming the most known columns among the first
    ``_HEADER_SEARCH_ROWS`` non-empty rows (the first one on a tie), so a title
    such as "Список членов профсоюза" above the table does no harm.
    """
    top: list[_Row] = []
    for row in rows:
        if not _is_blank(row[1]):
            top.append(row)
            if len(top) == _HEADER_SEARCH_ROWS:
                break
    if not top:
        raise _file_error("empty_file", "the file is empty")
    scores = [_header_score(cells) for _, cells in top]
    best = scores.index(max(scores))
    return top[best], scores[best], chain(top[best + 1 :], rows)


def _layout(header: _Row) -> _Layout:
    row_number, cells = header
    index: dict[_Col, int] = {}
    errors: list[RowError] = []
    for position, cell in enumerate(cells):
        column = _ALIASES.get(_header_key(_cell_text(cell)))
        if column is None:
            continue
        if column in index:
            first = index[column]
            errors.append(
                RowError(
                    None,
                    column.value,
                    "duplicate_column",
                    f"columns {get_column_letter(first + 1)} "
                    f"('{_cell_text(cells[first])}') and {get_column_letter(position + 1)} "
                    f"('{_cell_text(cell)}') of header row {row_number} both mean "
                    f"{column.value}",
                )
            )
            continue
        index[column] = position

    use_fio = not (_Col.SURNAME in index and _Col.NAME in index)
    if use_fio and _Col.FIO not in index:
        if _Col.SURNAME in index or _Col.NAME in index:
            missing = _Col.NAME if _Col.SURNAME in index else _Col.SURNAME
            detail = (
                f"header row {row_number} has no {missing.value} column "
                f"(give both Фамилия and Имя, or a single ФИО column)"
            )
        else:
            missing = _Col.FIO
            detail = f"header row {row_number} has neither a ФИО column nor Фамилия and Имя columns"
        errors.append(RowError(None, missing.value, "missing_column", detail))
    if _Col.CARD not in index:
        errors.append(
            RowError(
                None,
                _Col.CARD.value,
                "missing_column",
                f"header row {row_number} has no № профбилета column",
            )
        )
    if errors:
        raise MemberFileRejected(errors)
    if not use_fio:
        # Separate columns win; a ФИО column next to them is ignored.
        index.pop(_Col.FIO, None)
    return _Layout(index=index, use_fio=use_fio)


# --- the rows ----------------------------------------------------------------


class _RowChecker:
    """Validates data rows one by one, collecting every error."""

    # The order in which ``check`` unpacks a row (enum hashing is slow in a hot loop).
    _ORDER: Final = tuple(_Col)

    def __init__(self, layout: _Layout, today: datetime.date) -> None:
        self._use_fio = layout.use_fio
        self._today = today
        self._indices = tuple(layout.index.get(column, -1) for column in self._ORDER)
        self.errors: list[RowError] = []
        self._cards: dict[str, int] = {}

    def _fail(self, row: int, column: _Col, code: str, detail: str, value: str = "") -> None:
        self.errors.append(RowError(row, column.value, code, detail, value))

    def check(self, row: int, cells: Sequence[object]) -> MemberRecord | None:
        """Return the member of one non-blank data row, or None after recording errors."""
        errors_before = len(self.errors)
        width = len(cells)
        (fio, surname, name, patronymic, card, organisation, position, phone, email, joined) = [
            cells[index] if 0 <= index < width else None for index in self._indices
        ]
        if self._use_fio:
            surname_text, name_text, patronymic_text = self._split_fio(row, _cell_text(fio))
        else:
            surname_text = self._name_part(row, _Col.SURNAME, _Col.SURNAME, _cell_text(surname))
            name_text = self._name_part(row, _Col.NAME, _Col.NAME, _cell_text(name))
            patronymic_text = self._name_part(
                row, _Col.PATRONYMIC, _Col.PATRONYMIC, _cell_text(patronymic), required=False
            )
        card_text = self._card(row, _cell_text(card))
        organisation_text = self._free_text(
            row, _Col.ORGANISATION, _cell_text(organisation), _ORGANISATION_MAX
        )
        position_text = self._free_text(row, _Col.POSITION, _cell_text(position), _POSITION_MAX)
        phone_text = self._phone(row, _cell_text(phone))
        email_text = self._email(row, _cell_text(email))
        joined_on = self._joined_on(row, joined)
        if len(self.errors) != errors_before:
            return None
        return MemberRecord(
            row=row,
            surname=surname_text,
            name=name_text,
            patronymic=patronymic_text,
            card_number=card_text,
            organisation=organisation_text,
            position=position_text,
            phone=phone_text,
            email=email_text,
            joined_on=joined_on,
        )

    def _split_fio(self, row: int, full: str) -> tuple[str, str, str]:
        if not full:
            self._fail(row, _Col.FIO, "required", "full name is required but the cell is empty")
            return "", "", ""
        words = full.split(" ")
        if len(words) == 1:
            self._fail(
                row,
                _Col.FIO,
                "bad_fio",
                f"full name '{_shorten(full)}' is a single word; "
                f"expected surname, name and patronymic",
                value=_shorten(full),
            )
            return "", "", ""
        # Three or more words: everything after the name is the patronymic, which
        # keeps "Ахмед оглы" and "Ахмед кызы" whole.
        surname = self._name_part(row, _Col.FIO, _Col.SURNAME, words[0])
        name = self._name_part(row, _Col.FIO, _Col.NAME, words[1])
        patronymic = self._name_part(
            row, _Col.FIO, _Col.PATRONYMIC, " ".join(words[2:]), required=False
        )
        return surname, name, patronymic

    def _name_part(
        self, row: int, column: _Col, part: _Col, value: str, *, required: bool = True
    ) -> str:
        label = _LABEL[part]
        if not value:
            if required:
                self._fail(row, column, "required", f"{label} is required but the cell is empty")
            return ""
        if len(value) > _NAME_MAX:
            self._fail(
                row,
                column,
                "too_long",
                f"{label} '{_shorten(value)}' is {len(value)} characters long; "
                f"at most {_NAME_MAX} are allowed",
                value=_shorten(value),
            )
        elif _NAME.fullmatch(value) is None:
            self._fail(
                row,
                column,
                "bad_name",
                f"{label} '{_shorten(value)}' may contain only letters, hyphens, "
                f"apostrophes, dots and spaces",
                value=_shorten(value),
            )
        return value

    def _card(self, row: int, value: str) -> str:
        # "12 345" and "№ 12345" are formatting, not part of the number.
        card = "".join(value.split()).lstrip("№")
        if not card:
            self._fail(row, _Col.CARD, "required", "card number is required but the cell is empty")
            return ""
        if len(card) > _CARD_MAX:
            self._fail(
                row,
                _Col.CARD,
                "too_long",
                f"card number '{_shorten(card)}' is {len(card)} characters long; "
                f"at most {_CARD_MAX} are allowed",
                value=_shorten(card),
            )
            return card
        if _CARD.fullmatch(card) is None:
            self._fail(
                row,
                _Col.CARD,
                "bad_card",
                f"card number '{card}' may contain only letters, digits, '-' and '/'",
                value=card,
            )
            return card
        # Case-insensitive, so "аб-1" and "АБ-1" cannot both slip into one union.
        key = card.casefold()
        earlier = self._cards.get(key)
        if earlier is None:
            self._cards[key] = row
        else:
            self._fail(
                row,
                _Col.CARD,
                "duplicate_card",
                f"card number '{card}' already appears in row {earlier}",
                value=card,
            )
        return card

    def _free_text(self, row: int, column: _Col, value: str, limit: int) -> str:
        if len(value) > limit:
            self._fail(
                row,
                column,
                "too_long",
                f"{_LABEL[column]} '{_shorten(value)}' is {len(value)} characters long; "
                f"at most {limit} are allowed",
                value=_shorten(value),
            )
        return value

    def _phone(self, row: int, value: str) -> str:
        if not value:
            return ""
        try:
            return normalise_phone(value)
        except ValueError:
            self._fail(
                row,
                _Col.PHONE,
                "bad_phone",
                f"phone '{_shorten(value)}' is not a phone number "
                f"(expected 5 to 15 digits, e.g. +7 342 212-34-56)",
                value=_shorten(value),
            )
            return ""

    def _email(self, row: int, value: str) -> str:
        if not value:
            return ""
        email = value.lower()
        if len(email) > EMAIL_MAX:
            self._fail(
                row,
                _Col.EMAIL,
                "too_long",
                f"e-mail '{_shorten(value)}' is {len(value)} characters long; "
                f"at most {EMAIL_MAX} are allowed",
                value=_shorten(value),
            )
        elif _EMAIL.fullmatch(email) is None:
            self._fail(
                row,
                _Col.EMAIL,
                "bad_email",
                f"'{_shorten(value)}' is not a valid e-mail address",
                value=_shorten(value),
            )
        return email

    def _joined_on(self, row: int, value: object) -> datetime.date | None:
        if isinstance(value, datetime.datetime):
            day = value.date()
            shown = _format_date(day)
        elif isinstance(value, datetime.date):
            day = value
            shown = _format_date(day)
        else:
            shown = _cell_text(value)
            if not shown:
                return None
            match = _DATE.fullmatch(shown)
            try:
                if match is None:
                    raise ValueError(shown)
                day = datetime.date(int(match[3]), int(match[2]), int(match[1]))
            except ValueError:
                self._fail(
                    row,
                    _Col.JOINED_ON,
                    "bad_date",
                    f"date '{_shorten(shown)}' is not a valid dd.mm.yyyy date",
                    value=_shorten(shown),
                )
                return None
        if day.year < _OLDEST_YEAR:
            self._fail(
                row, _Col.JOINED_ON, "bad_date", f"date '{shown}' is before 1900", value=shown
            )
            return None
        if day > self._today:
            self._fail(
                row,
                _Col.JOINED_ON,
                "future_date",
                f"date '{shown}' is later than today ({_format_date(self._today)})",
                value=shown,
            )
            return None
        return day


def _parse_table(
    rows: Iterator[_Row], *, today: datetime.date, max_rows: int, cp1251: bool = False
) -> list[MemberRecord]:
    header, score, data = _find_header(rows)
    if cp1251 and score == 0:
        # Almost any byte string decodes as Windows-1251, so only finding the
        # headers proves that guess right.
        raise _file_error(
            "bad_encoding",
            f"the file is neither UTF-8 nor Windows-1251 text; {_SAVE_AS}",
        )
    layout = _layout(header)
    checker = _RowChecker(layout, today)
    records: list[MemberRecord] = []
    count = 0
    for row, cells in data:
        if _is_blank(cells):
            continue
        count += 1
        if count > max_rows:
            raise _file_error(
                "too_many_rows",
                f"the file has more than {max_rows} member rows; split it into smaller files",
            )
        record = checker.check(row, cells)
        if record is not None:
            records.append(record)
    if checker.errors:
        checker.errors.sort(key=lambda e: (e.row or 0, layout.position(e.column)))
        raise MemberFileRejected(checker.errors)
    if count == 0:
        raise _file_error(
            "empty_file", f"the file has a header row (row {header[0]}) but no member rows"
        )
    return records


# --- XLSX --------------------------------------------------------------------


def _xlsx_error(detail: str) -> MemberFileRejected:
    return _file_error("bad_xlsx", f"{detail}; {_SAVE_AS}")


def _xlsx_rows(sheet: Any) -> Iterator[_Row]:
    try:
        # Some generators write a wrong <dimension>; read-only mode would trust it.
        sheet.reset_dimensions()
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    except Exception as exc:  # openpyxl raises many kinds of errors on broken XML
        raise _xlsx_error(f"the workbook is damaged ({type(exc).__name__})") from exc


def _parse_xlsx(data: bytes, *, today: datetime.date, max_rows: int) -> list[MemberRecord]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, KeyError, InvalidFileException, XML errors…
        raise _xlsx_error(
            f"the file is not a readable Excel .xlsx workbook ({type(exc).__name__})"
        ) from exc
    try:
        if not workbook.worksheets:
            raise _file_error("empty_file", "the workbook has no worksheet")
        return _parse_table(_xlsx_rows(workbook.worksheets[0]), today=today, max_rows=max_rows)
    finally:
        workbook.close()


# --- CSV ---------------------------------------------------------------------

_DELIMITERS: Final = (";", ",", "\t")
_SNIFF_LINES: Final = 50

# C0 controls other than tab, LF, CR, FF and the DOS end-of-file mark.
_CONTROL_BYTES: Final = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1A), *range(0x1B, 0x20)])
_NOT_CONTROL: Final = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    sample = data[:65536]
    controls = len(sample.translate(None, _NOT_CONTROL))
    return controls * 100 > len(sample)


def _decode(data: bytes) -> tuple[str, bool]:
    """Return the text and whether it was decoded as the Windows-1251 fallback."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), False
        except UnicodeDecodeError as exc:
            raise _file_error(
                "bad_encoding", f"the file is not valid UTF-16 text; {_SAVE_AS}"
            ) from exc
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), True
    except UnicodeDecodeError as exc:  # 0x98 is the one byte cp1251 leaves undefined
        raise _file_error(
            "bad_encoding", f"the file is neither UTF-8 nor Windows-1251 text; {_SAVE_AS}"
        ) from exc


def _choose_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most known columns.

    On a tie the one leaving fewer unknown header cells wins: "Фамилия, имя,
    отчество;№ профбилета" names two columns either way, but a comma split leaves
    "отчество;№ профбилета" over. Then the most frequent one in the first line.
    """
    sample = "".join(islice(io.StringIO(text, newline=""), _SNIFF_LINES))
    first_line = next((line for line in sample.splitlines() if line.strip()), "")

    def fit(cells: Sequence[str]) -> tuple[int, int]:
        known = _header_score(cells)
        return known, known - sum(1 for cell in cells if cell.strip())

    def rank(delimiter: str) -> tuple[int, int, int, int]:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            known, unknown = max((fit(cells) for cells in reader), default=(0, 0))
        except csv.Error:
            known, unknown = 0, 0
        return known, unknown, first_line.count(delimiter), -_DELIMITERS.index(delimiter)

    return max(_DELIMITERS, key=rank)


def _csv_rows(text: str, delimiter: str) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # A record is one spreadsheet row even when a quoted cell spans lines.
        for number, cells in enumerate(reader, start=1):
            yield number, [_unescape_formula(cell) if cell[:1] == "'" else cell for cell in cells]
    except csv.Error as exc:
        raise _file_error(
            "bad_csv", f"the CSV file cannot be read near line {reader.line_num}: {exc}"
        ) from exc


def _parse_text(data: bytes, *, today: datetime.date, max_rows: int) -> list[MemberRecord]:
    text, cp1251 = _decode(data)
    if not text.strip():
        raise _file_error("empty_file", "the file is empty")
    delimiter = _choose_delimiter(text)
    return _parse_table(_csv_rows(text, delimiter), today=today, max_rows=max_rows, cp1251=cp1251)


# --- entry points ------------------------------------------------------------


def _unsupported(what: str) -> MemberFileRejected:
    return _file_error("unknown_format", f"{what} is not a supported format; {_SAVE_AS}")


def parse_member_file(
    data: bytes, filename: str, *, today: datetime.date, max_rows: int = 200_000
) -> list[MemberRecord]:
    """Read a member list (XLSX, CSV or TXT) and return its rows.

    The format is told by the content; ``filename`` only helps explain a broken
    ``.xlsx``. ``today`` bounds the joining date. Raises ``MemberFileRejected``
    listing every problem (file-level ones alone, row ones sorted by row and column).
    """
    if not data.strip():
        raise _file_error("empty_file", "the file is empty")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        # Also what a password-protected .xlsx looks like: an encrypted OLE container.
        raise _unsupported(
            "an Excel 97-2003 (.xls) workbook, a password-protected workbook "
            "or another OLE document"
        )
    if data.startswith(b"%PDF"):
        raise _unsupported("a PDF document")
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith((".xlsx", ".xlsm")):
        return _parse_xlsx(data, today=today, max_rows=max_rows)
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _looks_binary(data):
            raise _unsupported("this binary file")
        if data.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"<"):
            # 1C and web reports often save an HTML table under an .xls name.
            raise _unsupported("an HTML or XML page")
    return _parse_text(data, today=today, max_rows=max_rows)


_EXPORT_HEADER: Final = tuple(
    c.value
    for c in (
        _Col.SURNAME,
        _Col.NAME,
        _Col.PATRONYMIC,
        _Col.CARD,
        _Col.ORGANISATION,
        _Col.POSITION,
        _Col.PHONE,
        _Col.EMAIL,
        _Col.JOINED_ON,
    )
)


def write_member_csv(records: Iterable[ExportRow], out: TextIO) -> None:
    """Write members as a semicolon CSV that Russian Excel opens as is.

    ``out`` should be opened with ``encoding="utf-8", newline=""``; the BOM is
    written here so Excel recognises UTF-8. Values that Excel would run as a
    formula get a leading "'" which ``parse_member_file`` removes again.
    """
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(_EXPORT_HEADER)
    for record in records:
        writer.writerow(
            [
                _escape_formula(record.surname),
                _escape_formula(record.name),
                _escape_formula(record.patronymic),
                _escape_formula(record.card_number),
                _escape_formula(record.organisation),
                _escape_formula(record.position),
                _escape_formula(record.phone),
                _escape_formula(record.email),
                _format_date(record.joined_on) if record.joined_on is not None else "",
            ]
        )
