"""Charts of a campaign's results, drawn by pygal (a pure-Python SVG charting library).

The same SVG goes on the page and into the PDF report: each chart is shown as an
``<img>`` whose source is the SVG itself (:func:`data_uri`), so the page's content
security policy (no inline styles) does not touch the chart's own styles and WeasyPrint
draws exactly what the browser shows. No script is embedded (``js=[]``); the texts in a
chart (organisation and section names) are escaped by pygal's XML writer.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pygal
from pygal.style import Style

from meetings.diagnosis.schemas import OrganisationResultOut, ResultsOut

__all__ = ["comparison_chart", "data_uri", "levels_chart", "profile_chart", "sections_chart"]

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#7b8794",
    colors=("#2f6f9f", "#c05621", "#2f855a", "#6b46c1", "#b7791f"),
    font_family="DejaVu Sans, Arial, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=11,
    title_font_size=15,
    legend_font_size=12,
)


def _config(**extra: object) -> dict[str, object]:
    return {
        "style": _STYLE,
        "width": 720,
        "height": 360,
        "js": [],
        "disable_xml_declaration": True,
        "print_values": True,
        "truncate_label": 40,
        "truncate_legend": 40,
    } | extra


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def levels_chart(results: ResultsOut, title: str) -> str:
    """How many organisations are at each maturity level."""
    chart = pygal.Bar(**_config(show_legend=False, title=title, print_zeroes=True))
    chart.x_labels = [level["title"] for level in results.levels]
    chart.add("", [level["count"] for level in results.levels])
    return str(chart.render(is_unicode=True))


def sections_chart(results: ResultsOut, title: str) -> str:
    """The average score of each section over the organisations that submitted."""
    chart = pygal.HorizontalBar(**_config(show_legend=False, title=title, range=(0, 100)))
    chart.x_labels = [_short(s["title"]) for s in results.sections]
    chart.add("", [s["average"] for s in results.sections])
    return str(chart.render(is_unicode=True))


def profile_chart(
    result: OrganisationResultOut,
    title: str,
    average: Sequence[float | None],
    average_label: str,
) -> str:
    """An organisation's profile by section (a radar), beside the average of all."""
    chart = pygal.Radar(**_config(title=title, range=(0, 100), print_values=False, fill=False))
    chart.x_labels = [_short(s.title, 22) for s in result.sections]
    chart.add(_short(result.organisation), [s.score for s in result.sections])
    chart.add(average_label, list(average))
    return str(chart.render(is_unicode=True))


def comparison_chart(results: ResultsOut, title: str, labels: tuple[str, str]) -> str:
    """Each organisation's score now and in its previous campaign."""
    shown = results.organisations[:40]
    chart = pygal.Bar(**_config(title=title, range=(0, 100), x_label_rotation=30))
    chart.x_labels = [_short(o.organisation, 20) for o in shown]
    chart.add(labels[0], [o.previous_score for o in shown])
    chart.add(labels[1], [o.score for o in shown])
    return str(chart.render(is_unicode=True))


def data_uri(svg: str) -> str:
    """The SVG as a ``data:`` address for an ``<img>`` (the page and the PDF alike)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
