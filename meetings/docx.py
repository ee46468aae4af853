"""The documents of a meeting as Word files (DOCX), for whoever must edit one offline.

The layout mirrors the HTML documents (``web/templates/documents/``,
``web/static/css/document.css``) and GOST R 7.0.97: A4 portrait, margins 20 mm left,
10 mm right, 20 mm top and bottom, a serif font with Cyrillic at 14 pt, 1.15 line
spacing, justified text with a 1.25 cm first-line indent, the requisites in their
places. The words come from :mod:`meetings.documents` unchanged.

Point numbers («4.1.») are literal text, never Word list numbering: an editor who
inserts or deletes a point sees the numbers as they were decided, not silently
recounted ones.

What this does not guarantee: a DOCX is an editable copy, not the record. Nothing in
it is signed; what fixes a vote is the board, named in a protocol by its head and
result fingerprints. The file is built from python-docx's default template, so its
``docProps/app.xml`` still names that template's application.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENTATION
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Emu, Length, Mm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

from meetings.documents import (
    Attendance,
    Point,
    Protocol,
    ProtocolItem,
    Resolution,
    VoteLine,
)

__all__ = ["extract_docx", "protocol_docx", "resolution_docx"]

#: A serif face every Word has, with Cyrillic; the HTML uses DejaVu Serif, which an
#: office computer often lacks.
FONT = "Times New Roman"
LANGUAGE = "ru-RU"
PAGE_WIDTH = Mm(210)
PAGE_HEIGHT = Mm(297)
MARGIN_LEFT = Mm(20)
MARGIN_RIGHT = Mm(10)
MARGIN_TOP = Mm(20)
MARGIN_BOTTOM = Mm(20)
#: Where a right tab stop puts the signer's name: the right margin.
TEXT_WIDTH = Mm(210 - 20 - 10)
INDENT = Cm(1.25)
LINE_SPACING = 1.15

# The parts of the headline, as sized in document.css.
_ORG_SIZE = Pt(12)
_KIND_SIZE = Pt(16)
_REQUISITE_SIZE = Pt(13)
_SIGNATURE_GAP = Mm(14)
_TITLE_WIDTH = Mm(95)  # the title block at the left (.doc-title)
_AGENDA_INDENT = Mm(6)
_ROLL_SIZE = Pt(12)
_FINGERPRINT_SIZE = Pt(10)
_FINGERPRINT_FONT = "Courier New"
_LABEL_GAP = Pt(6)

# Children that must follow <w:spacing> in <w:rPr> and <w:pBdr> in <w:pPr>: Word
# rejects a file whose children are out of the schema's order (ECMA-376 §17.3.2.28,
# §17.3.1.26).
_AFTER_RPR_SPACING = (
    "w:w",
    "w:kern",
    "w:position",
    "w:sz",
    "w:szCs",
    "w:highlight",
    "w:u",
    "w:effect",
    "w:bdr",
    "w:shd",
    "w:fitText",
    "w:vertAlign",
    "w:rtl",
    "w:cs",
    "w:em",
    "w:lang",
    "w:eastAsianLayout",
    "w:specVanish",
    "w:oMath",
)
_AFTER_RPR_LANG = ("w:eastAsianLayout", "w:specVanish", "w:oMath")
_AFTER_PPR_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
_USUAL_OPTIONS = {"за", "против", "воздержался"}


def _element(tag: str, **attrs: str) -> etree._Element:
    """A WordprocessingML element, ``val="x"`` standing for ``w:val="x"``."""
    return OxmlElement(tag, {qn(f"w:{k}"): v for k, v in attrs.items()})


def _fonts(rpr: BaseOxmlElement) -> None:
    """One face for every script: Word picks the face of a character by its script
    (ascii, hAnsi — Cyrillic among them — eastAsia, cs), and a theme font left in
    any slot would win over the named one."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = _element("w:rFonts")
        rpr.insert(0, fonts)
    fonts.attrib.clear()
    for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{slot}"), FONT)


def _language(rpr: BaseOxmlElement) -> None:
    """Russian for spelling and hyphenation, as a Russian Word writes it."""
    rpr.remove_all("w:lang")
    rpr.insert_element_before(
        _element("w:lang", val=LANGUAGE, eastAsia=LANGUAGE, bidi="ar-SA"), *_AFTER_RPR_LANG
    )


def _letter_spacing(run: Run, points: float) -> None:
    """Spaced letters («П Р О Т О К О Л»), as CSS letter-spacing; in twentieths of a
    point."""
    rpr = run._r.get_or_add_rPr()
    rpr.remove_all("w:spacing")
    rpr.insert_element_before(
        _element("w:spacing", val=str(round(points * 20))), *_AFTER_RPR_SPACING
    )


def _rule_above(paragraph: Paragraph) -> None:
    """The 1.5 pt line over the date and number (the seed's «====»)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = _element("w:pBdr")
    # sz in eighths of a point, space in points.
    borders.append(_element("w:top", val="single", sz="12", space="8", color="000000"))
    ppr.insert_element_before(borders, *_AFTER_PPR_PBDR)


def _page(section: Section) -> None:
    section.orientation = WD_ORIENTATION.PORTRAIT
    section.page_width = PAGE_WIDTH
    section.page_height = PAGE_HEIGHT
    section.left_margin = MARGIN_LEFT
    section.right_margin = MARGIN_RIGHT
    section.top_margin = MARGIN_TOP
    section.bottom_margin = MARGIN_BOTTOM
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)
    section.gutter = Mm(0)
    # Page numbers at the foot, centred, from the second page (GOST R 7.0.97 §6.3).
    section.different_first_page_header_footer = True
    section.first_page_footer.is_linked_to_previous = False
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
    run = footer.add_run("2")
    run.font.size = Pt(12)
    field = _element("w:fldSimple", instr="PAGE")
    run._r.addprevious(field)
    field.append(run._r)


def _styles(document: WordDocument) -> None:
    """Normal: the face, size, language and spacing of every paragraph. Body Text
    (Word's own, localised «Основной текст»): justified with the paragraph indent, so
    a paragraph an editor adds in the text looks like its neighbours."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr_default = None if defaults is None else defaults.find(qn("w:rPrDefault"))
    rpr = None if rpr_default is None else rpr_default.find(qn("w:rPr"))
    if isinstance(rpr, BaseOxmlElement):
        _fonts(rpr)
        _language(rpr)

    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    style_rpr = normal.element.get_or_add_rPr()
    _fonts(style_rpr)
    _language(style_rpr)
    form = normal.paragraph_format
    form.space_before = Pt(0)
    form.space_after = Pt(0)
    form.line_spacing = LINE_SPACING
    form.widow_control = True

    body = document.styles["Body Text"]
    form = body.paragraph_format
    form.space_before = Pt(0)
    form.space_after = Pt(0)
    form.alignment = WD_PARAGRAPH_ALIGNMENT.JUSTIFY
    form.first_line_indent = INDENT


def _settings(document: WordDocument) -> None:
    settings = document.settings.element
    tab = settings.find(qn("w:defaultTabStop"))
    if tab is not None:
        tab.set(qn("w:val"), str(round(INDENT.twips)))
        # Justified Russian text needs hyphens (document.css: hyphens: auto).
        if settings.find(qn("w:autoHyphenation")) is None:
            tab.addnext(_element("w:autoHyphenation"))
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:val"), LANGUAGE)


def _properties(document: WordDocument, *, title: str, kind: str, author: str) -> None:
    """The file's properties: its title and language, and no person's name — the
    organisation is the author of its documents (the template said «python-docx»)."""
    props = document.core_properties
    props.title = title
    props.subject = kind
    props.category = kind
    props.language = LANGUAGE
    props.author = author
    props.last_modified_by = author
    props.comments = ""
    props.keywords = ""
    props.revision = 1
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    props.created = now
    props.modified = now
    # The template's thumbnail is a picture of another, empty page.
    package = document.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package.rels.pop(rid)


def _numbered(number: str) -> str:
    """«№ 7» whether the data carries the sign or only the number."""
    return number if number.lstrip().startswith("№") else f"№ {number}"


def _sentence(text: str) -> str:
    """A full stop at the end, not a second one after «Жуков Д. Д.»."""
    return text if text.endswith(".") else f"{text}."


def _option(option: str) -> str:
    return option.casefold() if option.casefold() in _USUAL_OPTIONS else option


class _Sheet:
    """One document being written, paragraph by paragraph, in the house layout."""

    def __init__(self, *, title: str, kind: str, author: str) -> None:
        self.document = Document()
        _page(self.document.sections[0])
        _styles(self.document)
        _settings(self.document)
        _properties(self.document, title=title, kind=kind, author=author)

    def _paragraph(self, text: str = "", style: str | None = None) -> Paragraph:
        paragraph = self.document.add_paragraph(style=style)
        if text:
            paragraph.add_run(text)
        return paragraph

    def centred(
        self,
        text: str,
        *,
        bold: bool = False,
        size: Length | None = None,
        spacing: float = 0.0,
        before: Length | None = None,
        after: Length | None = None,
    ) -> Paragraph:
        paragraph = self._paragraph()
        paragraph.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
        paragraph.paragraph_format.keep_with_next = True
        if before is not None:
            paragraph.paragraph_format.space_before = before
        if after is not None:
            paragraph.paragraph_format.space_after = after
        run = paragraph.add_run(text)
        run.bold = bold or None
        if size is not None:
            run.font.size = size
        if spacing:
            _letter_spacing(run, spacing)
        return paragraph

    def text(self, text: str, *, before: Length | None = None) -> Paragraph:
        """A paragraph of the text: justified, indented."""
        paragraph = self._paragraph(text, "Body Text")
        if before is not None:
            paragraph.paragraph_format.space_before = before
        return paragraph

    def line(self, text: str = "", *, before: Length | None = None) -> Paragraph:
        """A line at the left margin: a requisite, a list entry, a signature."""
        paragraph = self._paragraph(text)
        paragraph.alignment = WD_PARAGRAPH_ALIGNMENT.LEFT
        if before is not None:
            paragraph.paragraph_format.space_before = before
        return paragraph

    def label(self, label: str, text: str = "", *, before: Length | None = _LABEL_GAP) -> Paragraph:
        """«СЛУШАЛИ:», «ГОЛОСОВАЛИ: за — 12, …»: the label bold, what follows plain, in
        a paragraph of the text."""
        paragraph = self._paragraph(style="Body Text")
        if before is not None:
            paragraph.paragraph_format.space_before = before
        paragraph.add_run(label).bold = True
        if text:
            paragraph.add_run(f" {text}")
        else:
            paragraph.paragraph_format.keep_with_next = True
        return paragraph

    def entry(self, text: str) -> Paragraph:
        """An entry of a list of names, indented as the paragraphs (.doc-list)."""
        paragraph = self.line(text)
        paragraph.paragraph_format.left_indent = INDENT
        return paragraph

    def tabbed(self, left: str, right: str, *, before: Length | None = None) -> Paragraph:
        """``left`` at the margin, ``right`` flush with the right margin."""
        paragraph = self.line(before=before)
        paragraph.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
        paragraph.add_run(f"{left}\t{right}" if right else left)
        return paragraph

    def points(self, points: Iterable[Point]) -> None:
        """Numbered points, their paragraphs and sub-points, numbers as text."""
        for point in points:
            for line in point.lines():
                self.text(line)

    def signature(self, titles: Sequence[str], name: str, *, before: Length) -> None:
        """The signer's title lines at the left, the name at the right on the last."""
        lines = list(titles) or [""]
        for index, title in enumerate(lines):
            last = index == len(lines) - 1
            paragraph = self.tabbed(
                title, name if last else "", before=before if index == 0 else None
            )
            paragraph.paragraph_format.keep_with_next = not last
            paragraph.paragraph_format.keep_together = True

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.document.save(out)
        return out.getvalue()


def _headline(
    sheet: _Sheet,
    *,
    organisation: str,
    short_name: str,
    body: str,
    kind: str,
    date: str,
    number: str,
    place: str,
    subtitle: str = "",
) -> None:
    """The organisation, the body, the kind, then date and number on one line with the
    place centred under them."""
    if organisation:
        sheet.centred(organisation.upper(), bold=True, size=_ORG_SIZE)
    if short_name:
        sheet.centred(f"«{short_name.upper()}»", bold=True, size=_ORG_SIZE)
    if body:
        sheet.centred(body.upper(), bold=True, spacing=2.1, before=Mm(8))
    sheet.centred(kind, bold=True, size=_KIND_SIZE, spacing=3.2, before=Mm(4), after=Mm(2))
    if subtitle:
        sheet.centred(subtitle, after=Mm(2))
    requisites = sheet.tabbed(date, _numbered(number))
    _rule_above(requisites)
    requisites.paragraph_format.keep_with_next = True
    for run in requisites.runs:
        run.font.size = _REQUISITE_SIZE
    last = sheet.centred(place, size=_REQUISITE_SIZE, before=Mm(1)) if place else requisites
    last.paragraph_format.space_after = Mm(8)


def resolution_docx(r: Resolution) -> bytes:
    """A resolution (постановление) as a DOCX file, in the layout of
    ``documents/resolution.html``."""
    number = _numbered(r.number)
    sheet = _Sheet(
        title=f"Постановление {number} — {r.title}",
        kind="Постановление",
        author=r.organisation,
    )
    _headline(
        sheet,
        organisation=r.organisation,
        short_name=r.short_name,
        body=r.body,
        kind="ПОСТАНОВЛЕНИЕ",
        date=r.date_text,
        number=number,
        place=r.city,
    )
    title = sheet.line()
    title.add_run(r.title).bold = True
    title.paragraph_format.right_indent = Emu(TEXT_WIDTH - _TITLE_WIDTH)
    title.paragraph_format.space_after = Mm(6)
    for paragraph in r.preamble:
        sheet.text(paragraph)
    if r.enacting:
        enacting = sheet.text(r.enacting, before=Mm(4))
        enacting.paragraph_format.space_after = Mm(4)
        enacting.paragraph_format.keep_with_next = True
    sheet.points(r.points)
    sheet.signature(r.signature_title, r.signer, before=_SIGNATURE_GAP)
    return sheet.bytes()


def _attendance(sheet: _Sheet, lead: str, people: Attendance) -> None:
    """«Присутствовали — 4 чел.: names.» or, for a long list, «— 20 чел. (список
    прилагается).»"""
    head = f"{lead} — {people.count} чел."
    if not people.names:
        sheet.line(head)
    elif people.listed:
        sheet.line(_sentence(f"{head}: {', '.join(people.names)}"))
    else:
        sheet.line(f"{head} (список прилагается).")


def _opening(sheet: _Sheet, p: Protocol, *, kind: str) -> None:
    """Everything before the agenda: the requisites, who presided, who attended."""
    _headline(
        sheet,
        organisation=p.organisation,
        short_name=p.short_name,
        body=p.body,
        kind=kind,
        subtitle="заседания",
        date=p.date_text,
        number=p.number,
        place=p.place,
    )
    sheet.line(f"Председатель — {p.chair or '—'}")
    sheet.line(f"Секретарь — {p.secretary or '—'}")
    _attendance(sheet, "Членов по реестру", p.members)
    _attendance(sheet, "Присутствовали", p.present)
    if p.guests:
        sheet.line("Приглашённые:")
        for name, position in p.guests:
            sheet.entry(f"{name} — {position}" if position else name)
    if p.quorum:
        sheet.text(p.quorum, before=Mm(3))


def _agenda(sheet: _Sheet, items: Iterable[ProtocolItem]) -> None:
    heading = sheet.line(before=Mm(5))
    heading.add_run("ПОВЕСТКА ДНЯ:").bold = True
    heading.paragraph_format.keep_with_next = True
    for item in items:
        entry = sheet.line(_sentence(f"{item.number}. {item.title}"))
        entry.paragraph_format.left_indent = _AGENDA_INDENT
        if item.rapporteur:
            entry.paragraph_format.keep_with_next = True
            rapporteur = sheet.line()
            rapporteur.paragraph_format.left_indent = Emu(_AGENDA_INDENT * 2)
            rapporteur.add_run(f"Докладчик — {item.rapporteur}").italic = True


def _decided(item: ProtocolItem) -> list[Point]:
    """«ПОСТАНОВИЛИ» numbered under the item: «1.» of item 3 is «3.1.». The loader
    (meetings.drafting) hands the points over renumbered already («3.1», with a dot);
    points straight from decision_points («1») are renumbered here."""
    return [p if "." in p.number else p.renumbered(str(item.number)) for p in item.points]


def _vote(sheet: _Sheet, vote: VoteLine, *, asked: bool) -> None:
    """«ГОЛОСОВАЛИ»: the counts and the verdict, the named list, the board's
    fingerprints."""
    question = f" «{vote.question}»:" if asked and vote.question else ""
    verdict = f" {vote.verdict}" if vote.verdict else ""
    sheet.label("ГОЛОСОВАЛИ:", f"{question} {vote.phrase}.{verdict}".lstrip(), before=Mm(2))
    if vote.roll_call:
        # Grouped by the answer, as the HTML protocol: «за — А, Б; против — В.»
        roll = sheet.text("Поимённо:")
        groups = vote.roll_groups
        for index, (option, voters) in enumerate(groups):
            roll.add_run(" ")
            roll.add_run(_option(option)).italic = True
            names = f" — {', '.join(voters)}"
            roll.add_run(_sentence(names) if index == len(groups) - 1 else f"{names};")
        for run in roll.runs:
            run.font.size = _ROLL_SIZE
    if vote.head or vote.result:
        # Left, not justified, and small in a fixed face: a fingerprint is one long
        # word, to be compared character by character with the board.
        prints = sheet.line("Бюллетени:", before=Mm(1))
        parts = [("голова доски", vote.head), ("результат", vote.result)]
        shown = [(name, value) for name, value in parts if value]
        for index, (name, value) in enumerate(shown):
            prints.add_run(f" {name} ")
            prints.add_run(value).font.name = _FINGERPRINT_FONT
            prints.add_run("," if index < len(shown) - 1 else ".")
        for run in prints.runs:
            run.font.size = _FINGERPRINT_SIZE


def _item(sheet: _Sheet, item: ProtocolItem) -> None:
    """One item: СЛУШАЛИ — ВЫСТУПИЛИ — ПОСТАНОВИЛИ — ГОЛОСОВАЛИ (GOST R 7.0.97)."""
    heard = f"{item.rapporteur} — {item.title}" if item.rapporteur else item.title
    sheet.label(f"{item.number}. СЛУШАЛИ:", _sentence(heard), before=Mm(4))
    for paragraph in item.heard:
        sheet.text(paragraph)
    if item.speeches:
        sheet.label("ВЫСТУПИЛИ:")
        for speech in item.speeches:
            sheet.text(speech)
    if item.points:
        sheet.label("ПОСТАНОВИЛИ:")
        sheet.points(_decided(item))
    # The question is named where an item had more than one vote.
    for vote in item.votes:
        _vote(sheet, vote, asked=len(item.votes) > 1)
    # The elections held on the item: СЛУШАЛИ — ГОЛОСОВАЛИ — ПОСТАНОВИЛИ each.
    for part in item.elections:
        sheet.label("СЛУШАЛИ:", _sentence(part.heard), before=Mm(3))
        if part.fingerprints:
            prints = sheet.line("Тайное голосование:", before=Mm(1))
            names = ("определение", "журнал бюллетеней", "итоги")
            for index, (name, value) in enumerate(zip(names, part.fingerprints, strict=True)):
                prints.add_run(f" {name} ")
                prints.add_run(value).font.name = _FINGERPRINT_FONT
                prints.add_run("," if index < len(names) - 1 else ".")
            for run in prints.runs:
                run.font.size = _FINGERPRINT_SIZE
        for vote in part.votes:
            _vote(sheet, vote, asked=False)
        if part.decided:
            sheet.label("ПОСТАНОВИЛИ:", _sentence(part.decided[0]))
            for line in part.decided[1:]:
                sheet.text(_sentence(line))


def protocol_docx(p: Protocol) -> bytes:
    """A meeting's protocol (протокол заседания) as a DOCX file, in the layout of
    ``documents/protocol.html``."""
    number = _numbered(p.number)
    sheet = _Sheet(title=f"Протокол {number} — {p.body}", kind="Протокол", author=p.organisation)
    _opening(sheet, p, kind="ПРОТОКОЛ")
    _agenda(sheet, p.items)
    for item in p.items:
        _item(sheet, item)
    sheet.signature(("Председатель",), p.chair, before=_SIGNATURE_GAP)
    sheet.signature(("Секретарь",), p.secretary, before=Mm(8))
    if p.attachments:
        # After the signatures, as in the HTML protocol (GOST R 7.0.97 §5.24 would put
        # the mark above them; the two layouts must agree).
        sheet.line("Приложения:", before=Mm(10)).paragraph_format.keep_with_next = True
        for index, attachment in enumerate(p.attachments, 1):
            sheet.line(f"{index}. {attachment}")
    return sheet.bytes()


def extract_docx(p: Protocol, item_number: int) -> bytes:
    """An extract (выписка из протокола): the protocol's opening, the one item under
    its own number, and «Выписка верна» over the secretary's signature line.

    Raises :class:`LookupError` when the protocol has no item ``item_number``."""
    item = next((i for i in p.items if i.number == item_number), None)
    if item is None:
        numbers = ", ".join(str(i.number) for i in p.items) or "none"
        raise LookupError(f"protocol {p.number} has no item {item_number} (items: {numbers})")
    number = _numbered(p.number)
    sheet = _Sheet(
        title=f"Выписка из протокола {number} — {p.body}",
        kind="Выписка из протокола",
        author=p.organisation,
    )
    _opening(sheet, p, kind="ВЫПИСКА ИЗ ПРОТОКОЛА")
    _agenda(sheet, (item,))
    _item(sheet, item)
    sheet.signature(("Выписка верна", "Секретарь"), p.secretary, before=_SIGNATURE_GAP)
    return sheet.bytes()
