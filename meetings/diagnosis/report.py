"""A campaign's results as files: the XLSX workbook and the charts the page and the PDF
report share (the PDF itself is rendered by the document pipeline, server/docrender)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from meetings.diagnosis.charts import (
    comparison_chart,
    data_uri,
    levels_chart,
    profile_chart,
    sections_chart,
)
from meetings.diagnosis.schemas import ResultsOut

__all__ = ["REPORT_PROFILES", "Charts", "charts_of", "results_workbook"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Charts:
    """``data:`` addresses of the SVG charts, by what they show."""

    levels: str
    sections: str
    comparison: str | None
    profiles: dict[int, str]  # organisation id → its profile by section


#: Profiles drawn for the PDF report: a radar costs WeasyPrint ~0.15 s to lay out, so the
#: report draws those of the organisations with the lowest scores (the ones the decision
#: is about); every organisation still has its row and its weakest points.
REPORT_PROFILES = 3


def charts_of(results: ResultsOut, words: dict[str, str], *, profiles: int) -> Charts:
    """The charts of the results, with the profiles of the ``profiles`` organisations
    with the lowest scores; ``words`` names them in the reader's language (keys: levels,
    sections, comparison, previous, current, average)."""
    averages = [s["average"] for s in results.sections]
    has_previous = any(o.previous_score is not None for o in results.organisations)
    return Charts(
        levels=data_uri(levels_chart(results, words["levels"])),
        sections=data_uri(sections_chart(results, words["sections"])),
        comparison=data_uri(
            comparison_chart(results, words["comparison"], (words["previous"], words["current"]))
        )
        if has_previous
        else None,
        profiles={
            o.organisation_id: data_uri(
                profile_chart(o, o.organisation, averages, words["average"])
            )
            for o in sorted(results.organisations, key=lambda o: o.score)[:profiles]
        },
    )


def results_workbook(results: ResultsOut) -> bytes:
    """Sheets «Итоги» (each organisation: score, level, change, per section), «Разделы»
    (the averages), «Уровни» (the distribution) and «Не представили»."""
    book = Workbook()
    bold = Font(bold=True)
    sheet = book.active
    assert sheet is not None
    sheet.title = "Итоги"
    header = ["Организация", "Балл", "Уровень", "Ниже целевого", "Прошлый балл", "Изменение"]
    header += [f"{s['code']}. {s['title']}" for s in results.sections]
    sheet.append(header)
    for org in results.organisations:
        sheet.append(
            [
                org.organisation,
                org.score,
                org.level_title,
                "да" if org.below_target else "нет",
                org.previous_score,
                org.change,
                *[s.score for s in org.sections],
            ]
        )
    sections = book.create_sheet("Разделы")
    sections.append(["Раздел", "Название", "Средний балл", "Уровень"])
    for s in results.sections:
        sections.append([s["code"], s["title"], s["average"], s["level"]])
    levels = book.create_sheet("Уровни")
    levels.append(["Код", "Уровень", "От", "До", "Организаций"])
    for level in results.levels:
        levels.append([level["code"], level["title"], level["from"], level["to"], level["count"]])
    missing = book.create_sheet("Не представили")
    missing.append(["Организация"])
    for name in results.not_submitted:
        missing.append([name])
    for each in book.worksheets:
        for cell in each[1]:
            cell.font = bold
        for row in each.iter_rows():
            for cell in row:
                # A name starting with «=» is text here, never a formula to evaluate.
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
