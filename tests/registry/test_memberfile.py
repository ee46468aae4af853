"""Tests of registry.memberfile: the member lists union offices exchange."""

from __future__ import annotations

import ast
import csv
import dataclasses
import datetime
import io
import random
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import registry.memberfile
from registry.errors import InvalidInput
from registry.memberfile import (
    ExportRow,
    MemberFileRejected,
    MemberRecord,
    RowError,
    parse_member_file,
    write_member_csv,
)

DATA = Path(__file__).parent / "data"
TODAY = datetime.date(2024, 6, 1)
FULL_HEADER = (
    "Фамилия;Имя;Отчество;№ профбилета;Организация;Должность;Телефон;E-mail;Дата вступления"
)
SAVE_AS = "save the list from Excel as 'Excel Workbook (*.xlsx)' or 'CSV UTF-8'"


def parse(data: bytes, filename: str = "members.csv", **kwargs: int) -> list[MemberRecord]:
    return parse_member_file(data, filename, today=TODAY, **kwargs)


def rejected(data: bytes, filename: str = "members.csv", **kwargs: int) -> list[RowError]:
    with pytest.raises(MemberFileRejected) as caught:
        parse(data, filename, **kwargs)
    return caught.value.errors


def file_error(data: bytes, filename: str = "members.csv", **kwargs: int) -> RowError:
    errors = rejected(data, filename, **kwargs)
    assert len(errors) == 1
    assert errors[0].row is None
    return errors[0]


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return "".join(line + "\r\n" for line in lines).encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row_number, row in enumerate(rows, start=1):
        for column_number, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row_number, column_number, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def member(**fields: object) -> MemberRecord:
    values: dict[str, object] = {
        "row": 2,
        "patronymic": "",
        "organisation": "",
        "position": "",
        "phone": "",
        "email": "",
        "joined_on": None,
    }
    values.update(fields)
    return MemberRecord(**values)  # type: ignore[arg-type]


def fields(record: MemberRecord) -> tuple[object, ...]:
    return dataclasses.astuple(record)[1:]


# --- stored samples ------------------------------------------------------------


def test_utf8_bom_comma_sample() -> None:
    # Headers in another order, upper case, stray spaces, NBSP, "ё", trailing ":";
    # a quoted organisation with a comma and quotes; a blank line (row 4).
    records = parse((DATA / "members_utf8bom_comma.csv").read_bytes())

    assert records == [
        member(
            row=2,
            surname="Иванов",
            name="Иван",
            patronymic="Иванович",
            card_number="00123",
            organisation='ППО "Пермский завод", цех 3',
            position="Слесарь",
            phone="+73422123456",
            email="ivan.ivanov@mail.ru",
            joined_on=datetime.date(2015, 3, 5),
        ),
        member(
            row=3,
            surname="Петрова-Водкина",
            name="Анна",
            card_number="77-456",
            organisation="ППО школы № 5",
            position="Учитель",
            phone="+79123456789",
            joined_on=datetime.date(2001, 9, 1),
        ),
        member(row=5, surname="O'Connor", name="Sean", card_number="A/789"),
    ]


def test_cp1251_semicolon_sample_with_fio_column() -> None:
    records = parse((DATA / "members_cp1251_semicolon.csv").read_bytes())

    assert records == [
        member(
            row=2,
            surname="Ахмедов",
            name="Руслан",
            patronymic="Ахмед оглы",
            card_number="5001",
            organisation="ППО «Горэлектротранс»",
            joined_on=datetime.date(2012, 12, 12),
        ),
        member(
            row=3,
            surname="Эмир-Вели",
            name="Сейран",
            patronymic="Рустемович",
            card_number="5002",
            organisation="ППО «Горэлектротранс»",
        ),
        member(
            row=4,
            surname="Ёлкина",
            name="Алёна",
            card_number="5003",
            organisation="ППО «Горэлектротранс»",
            joined_on=datetime.date(1999, 1, 31),
        ),
    ]


@pytest.mark.parametrize("sample", ["members_utf8_tab.tsv", "members_utf16_tab.txt"])
def test_tab_samples(sample: str) -> None:
    records = parse((DATA / sample).read_bytes(), sample)

    assert records == [
        member(
            row=2,
            surname="Сидоров",
            name="Пётр",
            patronymic="Сергеевич",
            card_number="9001",
            phone="2123456",
            email="petr@example.org",
        ),
        member(row=3, surname="Кузнецова", name="Мария", card_number="9002"),
    ]


def test_bad_rows_sample_reports_every_error_in_row_and_column_order() -> None:
    errors = rejected((DATA / "members_bad_rows.csv").read_bytes())

    long_name = "О" * 59 + "…"
    assert errors == [
        RowError(3, "Фамилия", "required", "surname is required but the cell is empty"),
        RowError(3, "E-mail", "bad_email", "'petr@' is not a valid e-mail address"),
        RowError(
            4,
            "Фамилия",
            "bad_name",
            "surname 'Петров2' may contain only letters, hyphens, apostrophes, dots and spaces",
        ),
        RowError(
            4,
            "Телефон",
            "bad_phone",
            "phone 'доб. 12' is not a phone number (expected 5 to 15 digits, "
            "e.g. +7 342 212-34-56)",
        ),
        RowError(
            4, "Дата вступления", "bad_date", "date '31.02.2020' is not a valid dd.mm.yyyy date"
        ),
        RowError(
            5, "№ профбилета", "duplicate_card", "card number '1001' already appears in row 2"
        ),
        RowError(
            5,
            "Дата вступления",
            "future_date",
            "date '01.01.2030' is later than today (01.06.2024)",
        ),
        RowError(7, "№ профбилета", "required", "card number is required but the cell is empty"),
        RowError(7, "Дата вступления", "bad_date", "date '01.01.1899' is before 1900"),
        RowError(
            8,
            "Имя",
            "too_long",
            f"first name '{long_name}' is 101 characters long; at most 100 are allowed",
        ),
        RowError(
            8,
            "№ профбилета",
            "bad_card",
            "card number '12#4' may contain only letters, digits, '-' and '/'",
        ),
        RowError(
            8,
            "Телефон",
            "bad_phone",
            "phone '12-3' is not a phone number (expected 5 to 15 digits, e.g. +7 342 212-34-56)",
        ),
        RowError(
            9,
            "Организация",
            "too_long",
            f"organisation '{'П' * 59}…' is 501 characters long; at most 500 are allowed",
        ),
        RowError(
            9,
            "Должность",
            "too_long",
            f"position '{'Д' * 59}…' is 301 characters long; at most 300 are allowed",
        ),
        RowError(9, "E-mail", "bad_email", "'a b@c.ru' is not a valid e-mail address"),
        RowError(
            9, "Дата вступления", "bad_date", "date '2020-01-01' is not a valid dd.mm.yyyy date"
        ),
    ]


def test_rejection_is_an_invalid_input_with_a_count() -> None:
    with pytest.raises(MemberFileRejected) as caught:
        parse((DATA / "members_bad_rows.csv").read_bytes())

    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "member_file_rejected"
    assert caught.value.detail == (
        "the member file was rejected with 16 errors; nothing was imported"
    )
    # The same errors, keyed by place, fill the API error shape's "fields".
    assert len(caught.value.fields) <= 16
    assert all(key.startswith(("row ", "file")) for key in caught.value.fields)


def test_koi8r_sample_is_a_bad_encoding() -> None:
    error = file_error((DATA / "members_koi8r.csv").read_bytes())

    assert error.code == "bad_encoding"
    assert error.detail == f"the file is neither UTF-8 nor Windows-1251 text; {SAVE_AS}"


def test_legacy_xls_is_not_supported() -> None:
    error = file_error((DATA / "legacy_ole_header.xls").read_bytes(), "members.xls")

    assert error.code == "unknown_format"
    assert error.detail.startswith("an Excel 97-2003 (.xls) workbook")
    assert error.detail.endswith(SAVE_AS)


# --- encodings, delimiters, line endings ---------------------------------------

ROWS = [
    ["Фамилия", "Имя", "№ профбилета", "Организация"],
    ["Щукина", "Ёлка", "17", 'ППО "Юг"; отдел, сектор'],
    ["Жуков", "Эдуард", "18", ""],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_every_encoding_delimiter_and_line_ending(
    encoding: str, delimiter: str, newline: str
) -> None:
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter, lineterminator=newline)
    writer.writerows(ROWS)

    records = parse(text.getvalue().encode(encoding), "members.txt")

    assert [fields(r) for r in records] == [
        ("Щукина", "Ёлка", "", "17", 'ППО "Юг"; отдел, сектор', "", "", "", None),
        ("Жуков", "Эдуард", "", "18", "", "", "", "", None),
    ]


def test_comma_inside_a_header_does_not_fool_the_delimiter_choice() -> None:
    records = parse(csv_bytes("Фамилия, имя, отчество;№ профбилета", "Иванов Иван Иванович;1"))

    assert fields(records[0])[:4] == ("Иванов", "Иван", "Иванович", "1")


def test_blank_lines_and_empty_separator_rows_are_skipped_but_counted() -> None:
    records = parse(csv_bytes("Фамилия;Имя;№ профбилета", "", ";;", " ; ; ", "Иванов;Иван;1"))

    assert [r.row for r in records] == [5]


def test_a_quoted_multiline_cell_is_one_row() -> None:
    data = csv_bytes(
        "Фамилия;Имя;№ профбилета;Организация",
        'Иванов;Иван;1;"ППО\nзавода"',
        "Петров;;2;",
    )

    assert rejected(data) == [
        RowError(3, "Имя", "required", "first name is required but the cell is empty")
    ]


def test_excel_formula_prefix_is_removed() -> None:
    records = parse(csv_bytes("ФИО;№ профбилета;Организация", "Иванов Иван;1;'=ППО+1"))

    assert records[0].organisation == "=ППО+1"


def test_invisible_marks_are_dropped_and_names_composed() -> None:
    # "й" typed as и + combining breve (macOS), a zero-width space from a web page.
    records = parse(csv_bytes("ФИО;№ профбилета", "Иви\u0306нов\u200b Иван;1"))

    assert records[0].surname == "Ивйнов"


# --- headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "surname"),
    [
        ("ФИО", "Иванов"),
        ("ф.и.о.", "Иванов"),
        ("Ф. И. О.:", "Иванов"),
        ("Фамилия Имя Отчество", "Иванов"),
        ("фамилия,  имя,\xa0отчество", "Иванов"),
    ],
)
def test_fio_spellings(header: str, surname: str) -> None:
    records = parse(csv_bytes(f'"{header}";№ профбилета', "Иванов Иван Иванович;1"))

    assert records[0].surname == surname


@pytest.mark.parametrize(
    ("header", "field", "cell", "value"),
    [
        ("№ профбилета", "card_number", "12", "12"),
        ("Номер профбилета", "card_number", "12", "12"),
        ("№ профсоюзного билета", "card_number", "12", "12"),
        ("Номер профсоюзного билета", "card_number", "12", "12"),
        ("Профбилет", "card_number", "12", "12"),
        ("№ билета", "card_number", "12", "12"),
        ("N профбилета", "card_number", "12", "12"),
        ("No. профбилета", "card_number", "12", "12"),
        ("№профбилета", "card_number", "12", "12"),
        ("Организация", "organisation", "ППО", "ППО"),
        ("Профорганизация", "organisation", "ППО", "ППО"),
        ("Первичная профсоюзная организация", "organisation", "ППО", "ППО"),
        ("Наименование организации", "organisation", "ППО", "ППО"),
        ("ДОЛЖНОСТЬ", "position", "Токарь", "Токарь"),
        ("Телефон", "phone", "12345", "12345"),
        ("Тел.", "phone", "12345", "12345"),
        ("Моб. телефон", "phone", "12345", "12345"),
        ("Мобильный телефон", "phone", "12345", "12345"),
        ("Контактный телефон", "phone", "12345", "12345"),
        ("E-mail", "email", "a@b.ru", "a@b.ru"),
        ("email", "email", "a@b.ru", "a@b.ru"),
        ("E mail", "email", "a@b.ru", "a@b.ru"),
        ("Эл. почта", "email", "a@b.ru", "a@b.ru"),
        ("Электронная почта", "email", "a@b.ru", "a@b.ru"),
        ("Адрес электронной почты", "email", "a@b.ru", "a@b.ru"),
        ("Дата вступления", "joined_on", "01.02.2003", datetime.date(2003, 2, 1)),
        ("Дата вступления в профсоюз", "joined_on", "01.02.2003", datetime.date(2003, 2, 1)),
        ("Дата вступл.", "joined_on", "01.02.2003", datetime.date(2003, 2, 1)),
    ],
)
def test_header_spellings(header: str, field: str, cell: str, value: object) -> None:
    card = "№ профбилета;" if field != "card_number" else ""
    card_cell = "99;" if field != "card_number" else ""
    data = csv_bytes(f"Фамилия;Имя;{card}{header}", f"Иванов;Иван;{card_cell}{cell}")

    assert getattr(parse(data)[0], field) == value


def test_unknown_columns_are_ignored() -> None:
    records = parse(csv_bytes("№ п/п;Фамилия;Примечание;Имя;№ профбилета", "1;Иванов;-;Иван;7"))

    assert fields(records[0])[:4] == ("Иванов", "Иван", "", "7")


def test_separate_name_columns_win_over_fio() -> None:
    records = parse(csv_bytes("ФИО;Фамилия;Имя;№ профбилета", "Другой Человек;Иванов;Иван;1"))

    assert fields(records[0])[:3] == ("Иванов", "Иван", "")


def test_title_rows_above_the_header_are_skipped() -> None:
    data = csv_bytes(
        "Список членов ППО;;", "на 01.06.2024;;", ";;", "ФИО;№ профбилета;", "Иванов Иван;1;"
    )

    assert [r.row for r in parse(data)] == [5]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "Фамилия;№ профбилета",
            [
                RowError(
                    None,
                    "Имя",
                    "missing_column",
                    "header row 1 has no Имя column (give both Фамилия and Имя, "
                    "or a single ФИО column)",
                )
            ],
        ),
        (
            "Имя;Отчество;№ профбилета",
            [
                RowError(
                    None,
                    "Фамилия",
                    "missing_column",
                    "header row 1 has no Фамилия column (give both Фамилия and Имя, "
                    "or a single ФИО column)",
                )
            ],
        ),
        (
            "Организация;Телефон",
            [
                RowError(
                    None,
                    "ФИО",
                    "missing_column",
                    "header row 1 has neither a ФИО column nor Фамилия and Имя columns",
                ),
                RowError(
                    None,
                    "№ профбилета",
                    "missing_column",
                    "header row 1 has no № профбилета column",
                ),
            ],
        ),
        (
            "ФИО;Ф.И.О.;№ профбилета",
            [
                RowError(
                    None,
                    "ФИО",
                    "duplicate_column",
                    "columns A ('ФИО') and B ('Ф.И.О.') of header row 1 both mean ФИО",
                )
            ],
        ),
    ],
)
def test_header_problems(header: str, expected: list[RowError]) -> None:
    assert rejected(csv_bytes(header, "Иванов Иван;Иван;1")) == expected


# --- row validation ------------------------------------------------------------


def one_row(**cells: str) -> bytes:
    columns = FULL_HEADER.split(";")
    keys = [
        "surname",
        "name",
        "patronymic",
        "card_number",
        "organisation",
        "position",
        "phone",
        "email",
        "joined_on",
    ]
    values = {"surname": "Иванов", "name": "Иван", "card_number": "1", **cells}
    assert len(columns) == len(keys)
    return csv_bytes(FULL_HEADER, ";".join(values.get(key, "") for key in keys))


@pytest.mark.parametrize(
    ("cell", "phone"),
    [
        ("+7 (342) 212-34-56", "+73422123456"),
        ("8 342 212 34 56", "+73422123456"),
        ("89123456789", "+79123456789"),
        ("79123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("212-34-56", "2123456"),
        ("12345", "12345"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+380 44 123 45 67", "+380441234567"),
    ],
)
def test_phone_normalisation(cell: str, phone: str) -> None:
    assert parse(one_row(phone=cell))[0].phone == phone


@pytest.mark.parametrize(
    "cell",
    [
        "доб. 12",
        "1234",
        "+7 912 345-67-89 доб 1",
        "8912345678912345",
        "212-34-56, 212-34-57",
        "7+12345",
    ],
)
def test_bad_phones(cell: str) -> None:
    assert [(e.row, e.column, e.code) for e in rejected(one_row(phone=cell))] == [
        (2, "Телефон", "bad_phone")
    ]


@pytest.mark.parametrize(
    ("cell", "email"),
    [
        ("Ivan.Petrov@Mail.RU", "ivan.petrov@mail.ru"),
        ("a+tag@sub.example.org", "a+tag@sub.example.org"),
        ("Почта@Пример.РФ", "почта@пример.рф"),
        ("user@xn--80ak6aa92e.com", "user@xn--80ak6aa92e.com"),
    ],
)
def test_email_is_lower_cased(cell: str, email: str) -> None:
    assert parse(one_row(email=cell))[0].email == email


@pytest.mark.parametrize(
    "cell",
    [
        "ivan@mail",
        "ivan mail.ru",
        "@mail.ru",
        "a@@b.ru",
        "a..b@mail.ru",
        "a@b.c",
        "ivan@mail.ru, petr@mail.ru",
    ],
)
def test_bad_emails(cell: str) -> None:
    assert rejected(one_row(email=cell)) == [
        RowError(2, "E-mail", "bad_email", f"'{cell}' is not a valid e-mail address")
    ]


def test_too_long_email() -> None:
    address = "a" * 250 + "@b.ru"

    assert [(e.code, e.column) for e in rejected(one_row(email=address))] == [
        ("too_long", "E-mail")
    ]


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("05.03.2015", datetime.date(2015, 3, 5)),
        ("5.3.2015", datetime.date(2015, 3, 5)),
        ("05.03.2015 г.", datetime.date(2015, 3, 5)),
        ("05.03.2015г", datetime.date(2015, 3, 5)),
        ("01.06.2024", TODAY),
        ("01.01.1900", datetime.date(1900, 1, 1)),
        ("", None),
    ],
)
def test_dates(cell: str, day: datetime.date | None) -> None:
    assert parse(one_row(joined_on=cell))[0].joined_on == day


@pytest.mark.parametrize(
    ("cell", "code", "detail"),
    [
        ("31.02.2020", "bad_date", "date '31.02.2020' is not a valid dd.mm.yyyy date"),
        ("32.01.2020", "bad_date", "date '32.01.2020' is not a valid dd.mm.yyyy date"),
        ("05.03.15", "bad_date", "date '05.03.15' is not a valid dd.mm.yyyy date"),
        ("2015-03-05", "bad_date", "date '2015-03-05' is not a valid dd.mm.yyyy date"),
        ("31.12.1899", "bad_date", "date '31.12.1899' is before 1900"),
        ("02.06.2024", "future_date", "date '02.06.2024' is later than today (01.06.2024)"),
    ],
)
def test_bad_dates(cell: str, code: str, detail: str) -> None:
    assert rejected(one_row(joined_on=cell)) == [RowError(2, "Дата вступления", code, detail)]


@pytest.mark.parametrize(
    ("cell", "card"),
    [("12 345", "12345"), ("№ 77-1/2", "77-1/2"), ("№АБ12", "АБ12"), ("\xa0A1\xa0", "A1")],
)
def test_card_number_cleaning(cell: str, card: str) -> None:
    assert parse(one_row(card_number=cell))[0].card_number == card


def test_card_number_limits() -> None:
    assert rejected(one_row(card_number="1" * 41)) == [
        RowError(
            2,
            "№ профбилета",
            "too_long",
            f"card number '{'1' * 41}' is 41 characters long; at most 40 are allowed",
        )
    ]
    assert len(parse(one_row(card_number="1" * 40))[0].card_number) == 40


def test_duplicate_cards_name_the_earlier_row() -> None:
    data = csv_bytes(
        "ФИО;№ профбилета",
        "Иванов Иван;АБ-1",
        "Петров Пётр;2",
        "Сидоров Сидор;аб-1",
        "Орлов Олег;№ 2",
        "Волков Ян;АБ-1",
    )

    assert rejected(data) == [
        RowError(
            4, "№ профбилета", "duplicate_card", "card number 'аб-1' already appears in row 2"
        ),
        RowError(5, "№ профбилета", "duplicate_card", "card number '2' already appears in row 3"),
        RowError(
            6, "№ профбилета", "duplicate_card", "card number 'АБ-1' already appears in row 2"
        ),
    ]


def test_fio_problems() -> None:
    data = csv_bytes(
        "ФИО;№ профбилета",
        "Иванов;1",
        ";2",
        "Иванов Иван 3;3",
        "  Петров \xa0 Пётр  ;4",
    )

    assert rejected(data) == [
        RowError(
            2,
            "ФИО",
            "bad_fio",
            "full name 'Иванов' is a single word; expected surname, name and patronymic",
        ),
        RowError(3, "ФИО", "required", "full name is required but the cell is empty"),
        RowError(
            4,
            "ФИО",
            "bad_name",
            "patronymic '3' may contain only letters, hyphens, apostrophes, dots and spaces",
        ),
    ]


@pytest.mark.parametrize(
    "surname", ["Д'Артаньян", "Д’Артаньян", "Римский-Корсаков", "де ла Круз", "St. John", "Müller"]
)
def test_name_characters_accepted(surname: str) -> None:
    assert parse(one_row(surname=surname))[0].surname == surname


@pytest.mark.parametrize("surname", ["Иванов1", "Иванов_", "-", "Иванов (Петров)", "'."])
def test_name_characters_rejected(surname: str) -> None:
    assert [e.code for e in rejected(one_row(surname=surname))] == ["bad_name"]


def test_name_spaces_collapse_and_case_is_kept() -> None:
    record = parse(one_row(surname="  ван  дер\xa0Берг ", name="иван"))[0]

    assert (record.surname, record.name) == ("ван дер Берг", "иван")


def test_too_many_rows() -> None:
    data = csv_bytes("ФИО;№ профбилета", "Иванов Иван;1", "Петров Пётр;2", "Сидоров Сидор;3")

    assert len(parse(data, max_rows=3)) == 3
    error = file_error(data, max_rows=2)
    assert (error.code, error.detail) == (
        "too_many_rows",
        "the file has more than 2 member rows; split it into smaller files",
    )


# --- file-level problems -------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "the file is empty"),
        (b" \r\n\r\n", "the file is empty"),
        (b"\xef\xbb\xbf\r\n", "the file is empty"),
        (b";;;\r\n;;;\r\n", "the file is empty"),
        (
            csv_bytes("ФИО;№ профбилета", ";"),
            "the file has a header row (row 1) but no member rows",
        ),
    ],
)
def test_empty_files(data: bytes, detail: str) -> None:
    assert file_error(data) == RowError(None, None, "empty_file", detail)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        random.Random(7).randbytes(4096),
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        "<html><body><table><tr><td>ФИО</td></tr></table></body></html>".encode(),
        b'\xef\xbb\xbf<?xml version="1.0"?><Workbook/>',
    ],
)
def test_unsupported_formats(data: bytes) -> None:
    error = file_error(data, "members.xls")

    assert error.code == "unknown_format"
    assert error.detail.endswith(f"is not a supported format; {SAVE_AS}")


def test_undefined_cp1251_byte_is_a_bad_encoding() -> None:
    data = csv_bytes("ФИО;№ профбилета", "Иванов Иван;1", encoding="cp1251") + b"\x98"

    assert file_error(data).code == "bad_encoding"


def test_runaway_quote_is_a_bad_csv() -> None:
    data = csv_bytes("ФИО;№ профбилета", '"Иванов' + "в" * 140_000)

    error = file_error(data)
    assert error.code == "bad_csv"
    assert error.detail.startswith("the CSV file cannot be read near line")


# --- XLSX ----------------------------------------------------------------------


def test_xlsx_numbers_dates_and_sheet_row_numbers() -> None:
    data = xlsx_bytes(
        [
            ["Список членов ППО"],
            [],
            ["ФИО", "№ профбилета", "Дата вступления", "Телефон", "Должность", "Примечание"],
            ["Иванов Иван Иванович", 123456, datetime.datetime(2015, 3, 5), 89123456789, "Инженер"],
            ["Петров  Пётр", 123457.0, datetime.date(2001, 9, 1), None, None, 3.5],
            [],
            ["Сидоров Сидор", " A-1 ", "05.03.2015", "+7 (342) 212-34-56", 42],
        ]
    )

    records = parse(data, "members.xlsx")

    assert records == [
        member(
            row=4,
            surname="Иванов",
            name="Иван",
            patronymic="Иванович",
            card_number="123456",
            position="Инженер",
            phone="+79123456789",
            joined_on=datetime.date(2015, 3, 5),
        ),
        member(
            row=5,
            surname="Петров",
            name="Пётр",
            card_number="123457",
            joined_on=datetime.date(2001, 9, 1),
        ),
        member(
            row=7,
            surname="Сидоров",
            name="Сидор",
            card_number="A-1",
            position="42",
            phone="+73422123456",
            joined_on=datetime.date(2015, 3, 5),
        ),
    ]


def test_xlsx_is_detected_by_content_not_name() -> None:
    data = xlsx_bytes([["ФИО", "№ профбилета"], ["Иванов Иван", 1]])

    assert parse(data, "members.csv")[0].card_number == "1"


def test_xlsx_row_errors() -> None:
    data = xlsx_bytes(
        [
            ["ФИО", "№ профбилета", "Дата вступления"],
            [None, None, None],
            ["Орлов Олег", 12.5, datetime.datetime(2030, 1, 1)],
            ["Волков Ян", 1, 43831],
        ]
    )

    assert rejected(data, "members.xlsx") == [
        RowError(
            3,
            "№ профбилета",
            "bad_card",
            "card number '12.5' may contain only letters, digits, '-' and '/'",
        ),
        RowError(
            3,
            "Дата вступления",
            "future_date",
            "date '01.01.2030' is later than today (01.06.2024)",
        ),
        RowError(4, "Дата вступления", "bad_date", "date '43831' is not a valid dd.mm.yyyy date"),
    ]


def test_empty_xlsx() -> None:
    assert file_error(xlsx_bytes([]), "members.xlsx").code == "empty_file"


def zip_with(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"PK\x03\x04" + bytes(100), "members.xlsx"),
        (zip_with("hello.txt", b"hello"), "members.zip"),
        (xlsx_bytes([["ФИО", "№ профбилета"]])[:600], "members.xlsx"),
        (csv_bytes("ФИО;№ профбилета", "Иванов Иван;1"), "members.xlsx"),
    ],
)
def test_damaged_xlsx(data: bytes, filename: str) -> None:
    error = file_error(data, filename)

    assert error.code == "bad_xlsx"
    assert error.detail.startswith("the file is not a readable Excel .xlsx workbook (")
    assert error.detail.endswith(SAVE_AS)


# --- writer --------------------------------------------------------------------


def test_writer_output() -> None:
    out = io.StringIO(newline="")
    write_member_csv(
        [
            ExportRow(
                "Иванов",
                "Иван",
                "Иванович",
                "00123",
                'ППО "Завод"; цех 3',
                "Слесарь",
                "+73422123456",
                "ivan@mail.ru",
                datetime.date(2015, 3, 5),
            ),
            ExportRow("Петрова", "Анна", "", "77-456", '=HYPERLINK("http://x")', "", "", "", None),
        ],
        out,
    )

    assert out.getvalue() == (
        "\ufeffФамилия;Имя;Отчество;№ профбилета;Организация;Должность;Телефон;E-mail;"
        "Дата вступления\r\n"
        'Иванов;Иван;Иванович;00123;"ППО ""Завод""; цех 3";Слесарь;+73422123456;'
        "ivan@mail.ru;05.03.2015\r\n"
        'Петрова;Анна;;77-456;"\'=HYPERLINK(""http://x"")";;;;\r\n'
    )


def test_writer_file_starts_with_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    row = ExportRow("Иванов", "Иван", "", "1", "", "", "", "", None)
    with path.open("w", encoding="utf-8", newline="") as out:
        write_member_csv([row], out)

    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf\xd0\xa4")
    assert fields(parse(data)[0]) == dataclasses.astuple(row)


@pytest.mark.parametrize(
    "organisation", ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "'=x", "''@y", "'abc", "-"]
)
def test_formula_escaping_round_trips(organisation: str) -> None:
    row = ExportRow("Иванов", "Иван", "", "1", organisation, "", "", "", None)
    out = io.StringIO(newline="")
    write_member_csv([row], out)

    written = out.getvalue().split("\r\n")[1].split(";")[4]
    assert not written.lstrip('"').startswith(("=", "@", "+", "-")) or organisation == "-"
    assert parse(out.getvalue().encode())[0].organisation == organisation


CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"


def collapsed(text: str) -> str:
    return " ".join(text.split())


name_parts = (
    st.text(alphabet=CYRILLIC + "-' .", min_size=1, max_size=30)
    .map(collapsed)
    .filter(lambda s: any(ch.isalpha() for ch in s))
)
free_text = st.text(alphabet=CYRILLIC + "ABCxyz0123456789 \"';,.=+-@«»№\t\n", max_size=60).map(
    collapsed
)
phones = st.one_of(
    st.just(""),
    st.from_regex(r"\+7[0-9]{10}", fullmatch=True),
    st.from_regex(r"\+?[0-9]{5,9}", fullmatch=True),
    st.from_regex(r"\+?[0-9]{12,15}", fullmatch=True),
)
emails = st.one_of(
    st.just(""),
    st.from_regex(
        r"[a-z0-9][a-z0-9_+-]{0,10}(\.[a-z0-9_+-]{1,5})?@[a-z0-9]{1,10}\.(ru|org|рф)",
        fullmatch=True,
    ),
)
export_rows = st.builds(
    ExportRow,
    surname=name_parts,
    name=name_parts,
    patronymic=st.one_of(st.just(""), name_parts),
    card_number=st.from_regex(r"[0-9A-Za-zА-Яа-я][0-9A-Za-zА-Яа-я/-]{0,15}", fullmatch=True),
    organisation=free_text,
    position=free_text,
    phone=phones,
    email=emails,
    joined_on=st.one_of(st.none(), st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(export_rows, min_size=1, max_size=20, unique_by=lambda r: r.card_number.casefold()))
def test_round_trip(rows: list[ExportRow]) -> None:
    out = io.StringIO(newline="")
    write_member_csv(rows, out)

    records = parse(out.getvalue().encode("utf-8"))

    assert [fields(r) for r in records] == [dataclasses.astuple(r) for r in rows]
    assert [r.row for r in records] == list(range(2, len(rows) + 2))


# --- purity --------------------------------------------------------------------


def test_module_imports_only_stdlib_openpyxl_and_the_shared_rules() -> None:
    source = Path(registry.memberfile.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)

    foreign = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] != "openpyxl"
        and name not in {"registry.errors", "registry.contact"}
    }
    assert foreign == set()


def test_xlsx_with_a_broken_sheet() -> None:
    good = xlsx_bytes([["ФИО", "№ профбилета"], ["Иванов Иван", 1]])
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as source,
        zipfile.ZipFile(buffer, "w") as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            target.writestr(item, content)

    error = file_error(buffer.getvalue(), "members.xlsx")

    assert error.code == "bad_xlsx"
    assert error.detail.startswith("the workbook is damaged (")
