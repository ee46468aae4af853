"""meetings.docx: the resolution, the protocol and an extract as Word files, read back
with python-docx: the words in order, the page, the font, the properties."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from collections.abc import Sequence

import docx
import pytest
from docx.document import Document as WordDocument
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT, WD_TAB_ALIGNMENT
from docx.oxml.ns import qn

from meetings.documents import (
    Protocol,
    ProtocolItem,
    Resolution,
    VoteLine,
    attendance,
    decision_points,
    resolution,
)
from meetings.docx import extract_docx, protocol_docx, resolution_docx

ORG = "Пермский краевой союз организаций профсоюзов"
HEAD = "a3f1" * 16
RESULT = "9c0e" * 16

# The shape of the seed resolution (shared/seed/000_…): a preamble, the enacting
# clause, points with sub-points under 4, a number alone on its line, point 5's
# unnumbered lines.
DRAFT = """\
В соответствии с резолюцией X съезда ФНПР приоритетным направлением является цифровизация.
Лучшие практики выявляет ежегодный конкурс.
Совет Пермского краевого союза организаций профсоюзов «Пермский крайсовпроф» ПОСТАНОВЛЯЕТ:
1. Принять к сведению информацию об опыте.
2. Считать приоритетными задачами обеспечение выполнения Концепции.
3. Довести до ФНПР итоговую рекомендацию участников «круглого стола».
4.
Членским организациям Пермского крайсовпрофа:
4.1. продолжить работу по цифровизации;
4.2. провести самодиагностику;
4.3. усилить агитационно-пропагандистскую работу.
5. Координационным советам организаций профсоюзов:
продолжить работу по повышению эффективности;
включать в повестку заседаний вопросы информирования.
6. Контроль выполнения настоящего постановления возложить на председателя.
"""


def _resolution() -> Resolution:
    return resolution(
        organisation=ORG,
        short_name="Пермский крайсовпроф",
        body="Совет",
        date=dt.date(2023, 3, 23),
        city="Пермь",
        meeting=7,
        item=2,
        title="О цифровизации профсоюзной деятельности",
        draft=DRAFT,
        signature_title=("Председатель", "Пермского крайсовпрофа"),
        signer="Иванов М. Г.",
    )


MEMBERS = (
    "Абрамова Е. С.",
    "Борисов И. И.",
    "Егоров П. П.",
    "Ёлкина А. В.",
    "Жуков Д. Д.",
)


def _protocol(present: Sequence[str] = MEMBERS[:4], members: Sequence[str] = MEMBERS) -> Protocol:
    roll_call = (
        ("Абрамова Е. С.", "За"),
        ("Борисов И. И.", "За"),
        ("Егоров П. П.", "Против"),
        ("Ёлкина А. В.", "За"),
    )
    first = ProtocolItem(
        number=1,
        title="О плане работы на 2023 год",
        rapporteur="Борисов И. И.",
        heard=("О мероприятиях первого полугодия.", "О мероприятиях второго полугодия."),
        speeches=("Егоров П. П. — предложил перенести семинар на май.",),
        points=tuple(decision_points("1. Утвердить план работы.\n2. Поручить:\n2.1 аппарату;")),
        votes=(
            VoteLine(
                question="О плане работы на 2023 год",
                counts=(("За", 3), ("Против", 1), ("Воздержался", 0)),
                adopted=True,
                roll_call=roll_call,
                head=HEAD,
                result=RESULT,
            ),
        ),
    )
    second = ProtocolItem(
        number=2,
        title="О смотре-конкурсе профгрупоргов",
        rapporteur="Егоров П. П.",
        heard=(),
        speeches=(),
        points=tuple(decision_points("1. Провести смотр-конкурс.\n2. Утвердить положение.")),
        votes=(
            VoteLine(
                question="О смотре-конкурсе профгрупоргов",
                counts=(("За", 4), ("Против", 0), ("Воздержался", 0)),
                adopted=True,
            ),
        ),
    )
    return Protocol(
        organisation=ORG,
        short_name="Пермский крайсовпроф",
        body="Президиум",
        number="№ 7",
        date=dt.date(2023, 3, 23),
        place="г. Пермь",
        chair="Борисов И. И.",
        secretary="Абрамова Е. С.",
        members=attendance(members),
        present=attendance(present),
        guests=(("Петрова О. Н.", "правовой инспектор труда"),),
        quorum="Кворум имеется, заседание правомочно.",
        items=(first, second),
        attachments=("Список присутствующих на 1 л.", "Доклад на 3 л."),
    )


def _open(data: bytes) -> WordDocument:
    return docx.Document(io.BytesIO(data))


def _texts(document: WordDocument) -> list[str]:
    return [p.text for p in document.paragraphs]


def _assert_in_order(texts: list[str], parts: Sequence[str]) -> None:
    """Each part starts a paragraph after the paragraph of the part before it."""
    at = -1
    for part in parts:
        found = next((i for i in range(at + 1, len(texts)) if texts[i].startswith(part)), None)
        assert found is not None, f"{part!r} not found after paragraph {at}: {texts[at]!r}"
        at = found


def _assert_page(document: WordDocument) -> None:
    section = document.sections[0]
    for length, mm in (
        (section.page_width, 210),
        (section.page_height, 297),
        (section.left_margin, 20),
        (section.right_margin, 10),
        (section.top_margin, 20),
        (section.bottom_margin, 20),
    ):
        assert length is not None
        assert length.mm == pytest.approx(mm, abs=0.1)


def _assert_font(document: WordDocument) -> None:
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert normal.font.size is not None
    assert normal.font.size.pt == 14
    rpr = normal.element.rPr
    assert rpr is not None
    fonts = rpr.find(qn("w:rFonts"))
    assert fonts is not None
    for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
        assert fonts.get(qn(f"w:{slot}")) == "Times New Roman"
    lang = rpr.find(qn("w:lang"))
    assert lang is not None
    assert lang.get(qn("w:val")) == "ru-RU"
    assert normal.paragraph_format.line_spacing == pytest.approx(1.15)
    text = document.styles["Body Text"].paragraph_format
    assert text.alignment == WD_PARAGRAPH_ALIGNMENT.JUSTIFY
    assert text.first_line_indent is not None
    assert text.first_line_indent.cm == pytest.approx(1.25, abs=0.01)


def _assert_properties(document: WordDocument, title: str) -> None:
    props = document.core_properties
    assert props.title == title
    assert props.language == "ru-RU"
    assert props.author == ORG
    assert props.last_modified_by in ("", ORG)
    assert props.comments == ""
    assert "python-docx" not in f"{props.author}{props.comments}{props.keywords}"


def _assert_right_tab(document: WordDocument, text: str) -> None:
    paragraph = next(p for p in document.paragraphs if p.text == text)
    (stop,) = paragraph.paragraph_format.tab_stops
    assert stop.alignment == WD_TAB_ALIGNMENT.RIGHT
    assert stop.position.mm == pytest.approx(180, abs=0.1)


def test_a_resolution_in_the_house_layout() -> None:
    r = _resolution()
    document = _open(resolution_docx(r))
    texts = _texts(document)
    _assert_in_order(
        texts,
        [
            "ПЕРМСКИЙ КРАЕВОЙ СОЮЗ ОРГАНИЗАЦИЙ ПРОФСОЮЗОВ",
            "«ПЕРМСКИЙ КРАЙСОВПРОФ»",
            "СОВЕТ",
            "ПОСТАНОВЛЕНИЕ",
            "23 марта 2023 года\t№ 7 – 2",
            "г. Пермь",
            "О цифровизации профсоюзной деятельности",
            "В соответствии с резолюцией X съезда",
            "Лучшие практики",
            "Совет Пермского краевого союза организаций профсоюзов «Пермский крайсовпроф» "
            "ПОСТАНОВЛЯЕТ:",
            "1. Принять к сведению",
            "2. Считать",
            "3. Довести",
            "4. Членским организациям",
            "4.1. продолжить",
            "4.2. провести",
            "4.3. усилить",
            "5. Координационным советам",
            "продолжить работу по повышению",
            "включать в повестку",
            "6. Контроль",
            "Председатель",
            "Пермского крайсовпрофа\tИванов М. Г.",
        ],
    )
    # The requisites: the kind and the organisation centred and bold, the title bold.
    kind = next(p for p in document.paragraphs if p.text == "ПОСТАНОВЛЕНИЕ")
    assert kind.alignment == WD_PARAGRAPH_ALIGNMENT.CENTER
    assert all(run.bold for run in kind.runs)
    title = next(p for p in document.paragraphs if p.text == r.title)
    assert all(run.bold for run in title.runs)
    _assert_right_tab(document, "23 марта 2023 года\t№ 7 – 2")
    _assert_right_tab(document, "Пермского крайсовпрофа\tИванов М. Г.")
    # The text: justified, indented, in the Body Text style.
    point = next(p for p in document.paragraphs if p.text.startswith("4.1. "))
    assert point.style is not None
    assert point.style.name == "Body Text"
    # Point numbers are literal text: no Word list numbering anywhere.
    assert not document.element.body.findall(".//" + qn("w:numPr"))
    _assert_page(document)
    _assert_font(document)
    _assert_properties(document, "Постановление № 7 – 2 — О цифровизации профсоюзной деятельности")


def test_the_file_keeps_no_template_leftovers() -> None:
    with zipfile.ZipFile(io.BytesIO(resolution_docx(_resolution()))) as package:
        names = package.namelist()
        core = package.read("docProps/core.xml").decode()
        settings = package.read("word/settings.xml").decode()
    assert not any("thumbnail" in name for name in names)
    assert "python-docx" not in core
    assert "<w:autoHyphenation/>" in settings


def test_a_protocol_holds_every_part_in_order() -> None:
    p = _protocol()
    document = _open(protocol_docx(p))
    texts = _texts(document)
    _assert_in_order(
        texts,
        [
            "ПЕРМСКИЙ КРАЕВОЙ СОЮЗ ОРГАНИЗАЦИЙ ПРОФСОЮЗОВ",
            "ПРЕЗИДИУМ",
            "ПРОТОКОЛ",
            "заседания",
            "23 марта 2023 года\t№ 7",
            "г. Пермь",
            "Председатель — Борисов И. И.",
            "Секретарь — Абрамова Е. С.",
            "Членов по реестру — 5 чел.: Абрамова Е. С., Борисов И. И., Егоров П. П., "
            "Ёлкина А. В., Жуков Д. Д.",
            "Присутствовали — 4 чел.: Абрамова Е. С., Борисов И. И., Егоров П. П., Ёлкина А. В.",
            "Приглашённые:",
            "Петрова О. Н. — правовой инспектор труда",
            "Кворум имеется",
            "ПОВЕСТКА ДНЯ:",
            "1. О плане работы на 2023 год.",
            "Докладчик — Борисов И. И.",
            "2. О смотре-конкурсе профгрупоргов.",
            "Докладчик — Егоров П. П.",
            # Item 1: heard, speeches, decision, the roll call and the board.
            "1. СЛУШАЛИ: Борисов И. И. — О плане работы на 2023 год.",
            "О мероприятиях первого полугодия.",
            "О мероприятиях второго полугодия.",
            "ВЫСТУПИЛИ:",
            "Егоров П. П. — предложил",
            "ПОСТАНОВИЛИ:",
            "1.1. Утвердить план работы.",
            "1.2. Поручить:",
            "1.2.1. аппарату;",
            "ГОЛОСОВАЛИ: за — 3, против — 1, воздержались — 0. Решение принято.",
            "Поимённо: за — Абрамова Е. С., Борисов И. И., Ёлкина А. В.; против — Егоров П. П.",
            f"Бюллетени: голова доски {HEAD}, результат {RESULT}.",
            "2. СЛУШАЛИ: Егоров П. П. — О смотре-конкурсе профгрупоргов.",
            "ПОСТАНОВИЛИ:",
            "2.1. Провести смотр-конкурс.",
            "2.2. Утвердить положение.",
            "ГОЛОСОВАЛИ: за — 4, против — 0, воздержались — 0. Решение принято.",
            "Председатель\tБорисов И. И.",
            "Секретарь\tАбрамова Е. С.",
            "Приложения:",
            "1. Список присутствующих на 1 л.",
            "2. Доклад на 3 л.",
        ],
    )
    # A name's initials end the sentence: no second full stop.
    assert not any(".." in text for text in texts)
    assert (
        "Присутствовали — 4 чел.: Абрамова Е. С., Борисов И. И., Егоров П. П., Ёлкина А. В."
        in texts
    )
    # Item 2 had no speeches and no roll call: no empty sections.
    assert texts.count("ВЫСТУПИЛИ:") == 1
    assert sum(t.startswith("Поимённо:") for t in texts) == 1
    assert sum(t.startswith("Бюллетени:") for t in texts) == 1
    assert not document.element.body.findall(".//" + qn("w:numPr"))
    _assert_right_tab(document, "Секретарь\tАбрамова Е. С.")
    _assert_page(document)
    _assert_font(document)
    _assert_properties(document, "Протокол № 7 — Президиум")


def test_points_the_loader_renumbered_keep_their_numbers() -> None:
    # meetings.drafting hands ПОСТАНОВИЛИ over as «2.1», «2.2»: not «2.2.1».
    p = _protocol()
    second = dataclasses.replace(
        p.items[1], points=tuple(pt.renumbered("2") for pt in p.items[1].points)
    )
    texts = _texts(_open(protocol_docx(dataclasses.replace(p, items=(p.items[0], second)))))
    assert "2.1. Провести смотр-конкурс." in texts
    assert not any(t.startswith("2.2.1") for t in texts)


def test_twenty_present_are_counted_not_named() -> None:
    present = [f"Участник-{i:02d} И. И." for i in range(20)]
    p = _protocol(present, members=present)
    document = _open(protocol_docx(p))
    texts = _texts(document)
    assert "Присутствовали — 20 чел. (список прилагается)." in texts
    assert "Членов по реестру — 20 чел. (список прилагается)." in texts
    everything = "\n".join(texts)
    assert not any(name in everything for name in present)


def test_an_extract_holds_only_its_item() -> None:
    p = _protocol()
    document = _open(extract_docx(p, 2))
    texts = _texts(document)
    _assert_in_order(
        texts,
        [
            "ПЕРМСКИЙ КРАЕВОЙ СОЮЗ ОРГАНИЗАЦИЙ ПРОФСОЮЗОВ",
            "ПРЕЗИДИУМ",
            "ВЫПИСКА ИЗ ПРОТОКОЛА",
            "заседания",
            "23 марта 2023 года\t№ 7",
            "г. Пермь",
            "Председатель — Борисов И. И.",
            "Секретарь — Абрамова Е. С.",
            "Присутствовали — 4 чел.:",
            "Кворум имеется",
            "ПОВЕСТКА ДНЯ:",
            "2. О смотре-конкурсе профгрупоргов.",
            "2. СЛУШАЛИ:",
            "ПОСТАНОВИЛИ:",
            "2.1. Провести смотр-конкурс.",
            "2.2. Утвердить положение.",
            "ГОЛОСОВАЛИ: за — 4, против — 0, воздержались — 0.",
        ],
    )
    # The secretary certifies it, last.
    assert texts[-2:] == ["Выписка верна", "Секретарь\tАбрамова Е. С."]
    _assert_right_tab(document, "Секретарь\tАбрамова Е. С.")
    everything = "\n".join(texts)
    for other in ("О плане работы", "1. СЛУШАЛИ:", "1.1.", "ВЫСТУПИЛИ:", "Бюллетени:"):
        assert other not in everything
    assert "Приложения:" not in texts
    _assert_page(document)
    _assert_font(document)
    _assert_properties(document, "Выписка из протокола № 7 — Президиум")


def test_an_extract_of_a_missing_item_is_refused() -> None:
    with pytest.raises(LookupError, match=r"protocol № 7 has no item 3 \(items: 1, 2\)"):
        extract_docx(_protocol(), 3)
