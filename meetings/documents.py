"""The documents a meeting ends in: the protocol (протокол заседания), an extract of
it (выписка из протокола) and a resolution (постановление) per decided item.

This module holds what a document says, as plain data, and the rules of Russian office
writing it follows (GOST R 7.0.97): dates as «23 марта 2023 года», numbers as
«№ 7 – 2», numbered points with sub-points, the vote line «за — N, против — N,
воздержались — N», the attendance list replaced by a count with «список прилагается»
above 15 names. Loading it from the database is :mod:`meetings.protocol`; the layout is
one Jinja2 template per kind in ``web/templates/documents/``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ATTENDANCE_LIST_LIMIT",
    "Attendance",
    "MinutesPart",
    "Point",
    "Protocol",
    "ProtocolItem",
    "Resolution",
    "VoteLine",
    "attendance",
    "decision_points",
    "meeting_number",
    "paragraphs",
    "resolution",
    "russian_date",
    "split_draft",
    "tally_phrase",
]

#: Above this many names the protocol gives a count and attaches the list.
ATTENDANCE_LIST_LIMIT = 15

_MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
# "1. text", "4.1. text", "4.1 text", "2) text": the number and the text after it.
_NUMBERED = re.compile(r"(\d{1,3}(?:\.\d{1,3})*)(?:\.|\))?\s+(\S.*)")
_ENACTING = re.compile(r"\bПОСТАНОВЛЯЕТ\s*:?\s*$")


def russian_date(day: dt.date) -> str:
    """«23 марта 2023 года», as the date of a document is written."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year} года"


def meeting_number(meeting: int, item: int | None = None) -> str:
    """«№ 7» for a meeting's protocol, «№ 7 – 2» for its second item's resolution."""
    return f"№ {meeting}" if item is None else f"№ {meeting} – {item}"


def paragraphs(text: str) -> list[str]:
    """The non-empty lines of a text, each one paragraph, spaces tidied."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Point:
    """A numbered point of a decision: «4.» with its text, its own paragraphs (lines
    that carry no number) and its sub-points «4.1.», «4.2.»…"""

    number: str
    text: str
    paragraphs: tuple[str, ...] = ()
    points: tuple[Point, ...] = ()

    def renumbered(self, prefix: str) -> Point:
        """The point under another number: «1.» of item 3 is «3.1.» in a protocol."""
        return Point(
            f"{prefix}.{self.number}",
            self.text,
            self.paragraphs,
            tuple(p.renumbered(prefix) for p in self.points),
        )

    def lines(self) -> list[str]:
        """The point as text lines, «4.1. text», depth first."""
        head = f"{self.number}. {self.text}".rstrip() if self.text else f"{self.number}."
        out = [head, *self.paragraphs]
        for point in self.points:
            out.extend(point.lines())
        return out


def decision_points(text: str) -> list[Point]:
    """Read the points of a decision as a secretary types them.

    A line starting with a number («1.», «4.1.», «2)») opens a point; «4.1» goes under
    «4». A number alone on its line («4.») takes the next line as its text. Other
    lines are paragraphs of the point before them; lines before the first number
    become points numbered from 1. Numbers are renumbered in order (1, 2, 3; 4.1,
    4.2), so a skipped or repeated number in the draft does not survive."""
    raw: list[tuple[int, str, list[str]]] = []  # (depth, text, paragraphs)
    waiting = False  # a number alone on its line: the next line is its text
    for line in paragraphs(text):
        alone = re.fullmatch(r"(\d{1,3}(?:\.\d{1,3})*)[.)]?", line)
        match = _NUMBERED.fullmatch(line)
        if alone:
            raw.append((alone.group(1).count("."), "", []))
            waiting = True
        elif match and not waiting:
            raw.append((match.group(1).count("."), match.group(2), []))
        elif waiting:
            depth, _text, paras = raw[-1]
            raw[-1] = (depth, line, paras)
            waiting = False
        elif raw:
            raw[-1][2].append(line)
        else:
            raw.append((0, line, []))
    return _nest(raw, 0, [0])[0]


def _nest(
    raw: list[tuple[int, str, list[str]]], depth: int, start: list[int], prefix: str = ""
) -> tuple[list[Point], int]:
    """Points of ``depth`` from ``raw[start[0]:]`` until a shallower one."""
    points: list[Point] = []
    while start[0] < len(raw):
        level, text, paras = raw[start[0]]
        if level < depth:
            break
        if level > depth and points:
            # Deeper: sub-points of the last point.
            last = points[-1]
            subs, _ = _nest(raw, depth + 1, start, last.number)
            points[-1] = Point(last.number, last.text, last.paragraphs, tuple(subs))
            continue
        start[0] += 1
        number = f"{prefix}.{len(points) + 1}" if prefix else str(len(points) + 1)
        points.append(Point(number, text, tuple(paras)))
    return points, start[0]


def split_draft(text: str) -> tuple[list[str], str, list[Point]]:
    """A draft resolution: the preamble, the enacting clause («Совет … ПОСТАНОВЛЯЕТ:»)
    and the points. Without an enacting line the whole draft is points."""
    lines = paragraphs(text)
    for index, line in enumerate(lines):
        if _ENACTING.search(line):
            return lines[:index], line, decision_points("\n".join(lines[index + 1 :]))
    return [], "", decision_points(text)


def tally_phrase(counts: Sequence[tuple[str, int]]) -> str:
    """«за — 12, против — 1, воздержались — 0» for the usual options, the option names
    as they are for others."""
    usual = {"за": "за", "против": "против", "воздержался": "воздержались"}
    parts = []
    for option, count in counts:
        name = usual.get(option.casefold(), option)
        parts.append(f"{name} — {count}")
    return ", ".join(parts)


@dataclass(frozen=True)
class VoteLine:
    """«ГОЛОСОВАЛИ» of one vote: the counts, the decision, the named list of an open
    vote, and what fixes it on the board."""

    question: str
    counts: tuple[tuple[str, int], ...]
    adopted: bool | None
    roll_call: tuple[tuple[str, str], ...] = ()  # (name, option), by name
    head: str = ""
    result: str = ""

    @property
    def phrase(self) -> str:
        return tally_phrase(self.counts)

    @property
    def roll_groups(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The named list grouped by the answer, in the order of the options: «за: А. А.
        Иванов, Б. Б. Петров; против: …» reads faster than one line per member."""
        groups: dict[str, list[str]] = {option: [] for option, _count in self.counts}
        for name, option in self.roll_call:
            groups.setdefault(option, []).append(name)
        return tuple((option, tuple(names)) for option, names in groups.items() if names)

    @property
    def verdict(self) -> str:
        return {True: "Решение принято.", False: "Решение не принято.", None: ""}[self.adopted]


@dataclass(frozen=True)
class Attendance:
    """Names in alphabetical order, or only their number where there are too many."""

    names: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def listed(self) -> bool:
        return len(self.names) <= ATTENDANCE_LIST_LIMIT


def attendance(names: Iterable[str]) -> Attendance:
    # Russian order: ё sorts with е, case ignored.
    return Attendance(tuple(sorted(names, key=lambda n: (n.casefold().replace("ё", "е"), n))))


@dataclass(frozen=True)
class MinutesPart:
    """A step of an election recorded under its item: «СЛУШАЛИ» (what was heard),
    «ГОЛОСОВАЛИ» (the body's open vote, if one was held) and «ПОСТАНОВИЛИ»."""

    heard: str
    votes: tuple[VoteLine, ...] = ()
    decided: tuple[str, ...] = ()
    # A secret vote's definition, board head and result fingerprints (its audit bundle).
    fingerprints: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class ProtocolItem:
    number: int
    title: str
    rapporteur: str
    heard: tuple[str, ...]  # «СЛУШАЛИ»: the rapporteur's summary
    speeches: tuple[str, ...]  # «ВЫСТУПИЛИ»
    points: tuple[Point, ...]  # «ПОСТАНОВИЛИ», numbered 1.1, 1.2…
    votes: tuple[VoteLine, ...]
    # The elections held on the item: the commission's election, the secret vote's
    # result as the commission's protocol states it, and its approval.
    elections: tuple[MinutesPart, ...] = ()


@dataclass(frozen=True)
class Protocol:
    organisation: str
    short_name: str
    body: str
    number: str
    date: dt.date
    place: str
    chair: str
    secretary: str
    members: Attendance  # the body's composition on the date, by the registry
    present: Attendance
    guests: tuple[tuple[str, str], ...]  # (name, position)
    quorum: str
    items: tuple[ProtocolItem, ...]
    attachments: tuple[str, ...] = ()

    @property
    def date_text(self) -> str:
        return russian_date(self.date)


@dataclass(frozen=True)
class Resolution:
    """A resolution in the layout of the seed document."""

    organisation: str
    short_name: str
    body: str
    date: dt.date
    city: str
    number: str
    title: str
    preamble: tuple[str, ...]
    enacting: str
    points: tuple[Point, ...]
    signature_title: tuple[str, ...]
    signer: str
    votes: tuple[VoteLine, ...] = field(default=())

    @property
    def date_text(self) -> str:
        return russian_date(self.date)


def resolution(
    *,
    organisation: str,
    short_name: str,
    body: str,
    date: dt.date,
    city: str,
    meeting: int,
    item: int,
    title: str,
    draft: str,
    decision: str = "",
    signature_title: Sequence[str] = ("Председатель",),
    signer: str = "",
    votes: Sequence[VoteLine] = (),
) -> Resolution:
    """A decided item's resolution: the preamble and enacting clause from its draft,
    the points from what was decided (``decision``, «ПОСТАНОВИЛИ») or, where the
    secretary noted none, from the draft."""
    preamble, enacting, points = split_draft(draft)
    if decision.strip():
        points = decision_points(decision)
    if not enacting:
        enacting = f"{body} ПОСТАНОВЛЯЕТ:"
    return Resolution(
        organisation=organisation,
        short_name=short_name,
        body=body,
        date=date,
        city=city if not city or city.startswith("г.") else f"г. {city}",
        number=meeting_number(meeting, item),
        title=" ".join(title.split()),
        preamble=tuple(preamble),
        enacting=enacting,
        points=tuple(points),
        signature_title=tuple(signature_title),
        signer=signer,
        votes=tuple(votes),
    )
