"""A methodology of digital-maturity self-diagnosis, as a value object.

A methodology is a list of sections, each a list of weighted questions, and the score
bands of the maturity levels. Every object validates on construction, so a
``Methodology`` that exists is one that can be scored: weights present and positive,
codes unique, every answer type known with the parameters it needs, and the level
bands covering 0..100 exactly once (no overlap, no gap).

The JSON form (``to_json`` / ``from_json``) is versioned by its ``format`` field;
``docs/diagnosis.md`` documents it. The version number of a stored methodology is
the database's business, not part of the content: importing a file always makes a
new draft.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from registry.errors import InvalidInput

__all__ = [
    "FORMAT",
    "AnswerType",
    "Choice",
    "LevelBand",
    "Methodology",
    "MethodologyError",
    "Question",
    "Section",
]

FORMAT = "kvorum-diagnosis-methodology/1"

_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
MAX_WEIGHT = 1000
MAX_TEXT = 2000


class MethodologyError(InvalidInput):
    """A methodology breaks a rule; ``where`` names the place (a JSON path, or a sheet
    and row of a workbook) and ``reason`` says what is wrong."""

    code = "methodology_invalid"

    def __init__(self, reason: str, *, where: str = "") -> None:
        detail = f"{where}: {reason}" if where else reason
        super().__init__(detail, params={"where": where, "reason": reason})
        self.where = where
        self.reason = reason


class AnswerType(enum.StrEnum):
    """How a question is answered, and so how its answer becomes a fraction of its weight."""

    YES_NO = "yes_no"  # да = full weight, нет = nothing
    SCALE = "scale"  # an integer from scale_min to scale_max, linear
    NUMBER = "number"  # a non-negative count; full weight at `target` or above
    CHOICE = "choice"  # one of the options, each worth 0..100 % of the weight
    LINK = "link"  # a link given as evidence = full weight
    FILE = "file"  # a file attached as evidence = full weight


def _code(value: object, what: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise MethodologyError(
            f"{what} code must be 1-32 letters, digits, '.', '_' or '-', got {value!r}"
        )
    return value


def _text(value: object, what: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise MethodologyError(f"{what} must be text")
    value = value.strip()
    if required and not value:
        raise MethodologyError(f"{what} is missing")
    if len(value) > MAX_TEXT:
        raise MethodologyError(f"{what} is longer than {MAX_TEXT} characters")
    return value


def _int(value: object, what: str, low: int, high: int) -> int:
    if value is None or value == "":
        raise MethodologyError(f"{what} is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MethodologyError(f"{what} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise MethodologyError(f"{what} must be from {low} to {high}, got {value}")
    return value


@dataclass(frozen=True)
class Choice:
    """One option of a choice question and the share of the weight it earns (0..100 %)."""

    label: str
    points: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", _text(self.label, "option label"))
        if ";" in self.label:
            # The workbook writes options as «label=points; …».
            raise MethodologyError(f"option label {self.label!r} may not contain ';'")
        _int(self.points, f"points of option {self.label!r}", 0, 100)


@dataclass(frozen=True)
class Question:
    """A question of a section; ``weight`` is its share within the section."""

    code: str
    text: str
    type: AnswerType
    weight: int
    hint: str = ""
    scale_min: int = 0
    scale_max: int = 0
    target: int = 0
    options: tuple[Choice, ...] = ()

    def __post_init__(self) -> None:
        _code(self.code, "question")
        object.__setattr__(self, "text", _text(self.text, f"text of question {self.code}"))
        object.__setattr__(self, "hint", _text(self.hint, "hint", required=False))
        try:
            object.__setattr__(self, "type", AnswerType(self.type))
        except ValueError:
            known = ", ".join(t.value for t in AnswerType)
            raise MethodologyError(
                f"unknown answer type {self.type!r} of question {self.code} (known: {known})"
            ) from None
        _int(self.weight, f"weight of question {self.code}", 1, MAX_WEIGHT)
        if self.type is AnswerType.SCALE:
            _int(self.scale_min, f"scale minimum of question {self.code}", 0, 100)
            _int(self.scale_max, f"scale maximum of question {self.code}", 1, 100)
            if self.scale_max <= self.scale_min:
                raise MethodologyError(
                    f"scale of question {self.code} must go up: {self.scale_min}..{self.scale_max}"
                )
        if self.type is AnswerType.NUMBER:
            _int(self.target, f"target of question {self.code}", 1, 10**9)
        if self.type is AnswerType.CHOICE:
            if len(self.options) < 2:
                raise MethodologyError(f"choice question {self.code} needs at least two options")
            labels = [o.label for o in self.options]
            if len(set(labels)) != len(labels):
                raise MethodologyError(f"choice question {self.code} repeats an option")
        elif self.options:
            raise MethodologyError(f"only a choice question has options ({self.code})")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "text": self.text,
            "type": self.type.value,
            "weight": self.weight,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.type is AnswerType.SCALE:
            out["scale"] = {"min": self.scale_min, "max": self.scale_max}
        if self.type is AnswerType.NUMBER:
            out["target"] = self.target
        if self.type is AnswerType.CHOICE:
            out["options"] = [{"label": o.label, "points": o.points} for o in self.options]
        return out

    @classmethod
    def from_json(cls, data: object) -> Question:
        obj = _object(data, "question")
        scale = obj.get("scale") or {}
        if not isinstance(scale, Mapping):
            raise MethodologyError("scale must be an object with min and max")
        options = obj.get("options") or []
        if not isinstance(options, list):
            raise MethodologyError("options must be a list")
        return cls(
            code=obj.get("code"),  # type: ignore[arg-type]  # validated in __post_init__
            text=obj.get("text"),  # type: ignore[arg-type]
            type=obj.get("type"),  # type: ignore[arg-type]
            weight=obj.get("weight"),  # type: ignore[arg-type]
            hint=obj.get("hint", ""),
            scale_min=scale.get("min", 0),
            scale_max=scale.get("max", 0),
            target=obj.get("target", 0),
            options=tuple(
                Choice(label=o.get("label"), points=o.get("points"))  # type: ignore[arg-type]
                for o in (_object(x, "option") for x in options)
            ),
        )


@dataclass(frozen=True)
class Section:
    """A section (раздел) of the methodology; ``weight`` is its share of the total."""

    code: str
    title: str
    weight: int
    questions: tuple[Question, ...]

    def __post_init__(self) -> None:
        _code(self.code, "section")
        object.__setattr__(self, "title", _text(self.title, f"title of section {self.code}"))
        _int(self.weight, f"weight of section {self.code}", 1, MAX_WEIGHT)
        if not self.questions:
            raise MethodologyError(f"section {self.code} has no questions")


@dataclass(frozen=True)
class LevelBand:
    """A maturity level: a score (0..100) from ``low`` inclusive to ``high`` exclusive;
    the top band includes 100."""

    code: str
    title: str
    low: int
    high: int
    description: str = ""

    def __post_init__(self) -> None:
        _code(self.code, "level")
        object.__setattr__(self, "title", _text(self.title, f"title of level {self.code}"))
        object.__setattr__(
            self, "description", _text(self.description, "description", required=False)
        )
        _int(self.low, f"lower bound of level {self.code}", 0, 100)
        _int(self.high, f"upper bound of level {self.code}", 0, 100)
        if self.high <= self.low:
            raise MethodologyError(
                f"level {self.code} must have its upper bound above its lower: "
                f"{self.low}..{self.high}"
            )


def check_bands(bands: Sequence[LevelBand]) -> None:
    """Refuse bands that do not cover 0..100 exactly once, naming the first offending
    band (its index) and whether it overlaps or leaves a gap."""
    if not bands:
        raise MethodologyError("no maturity levels")
    ordered = sorted(range(len(bands)), key=lambda i: (bands[i].low, bands[i].high))
    expected = 0
    for index in ordered:
        band = bands[index]
        if band.low < expected:
            raise BandError(
                index, f"level {band.code} overlaps the level below ({band.low} < {expected})"
            )
        if band.low > expected:
            raise BandError(
                index, f"gap before level {band.code}: nothing covers {expected}..{band.low}"
            )
        expected = band.high
    if expected != 100:
        raise BandError(ordered[-1], f"the levels end at {expected}, not at 100")
    codes = [b.code for b in bands]
    if len(set(codes)) != len(codes):
        raise MethodologyError("two levels share a code")


class BandError(MethodologyError):
    """The bands overlap or leave a gap; ``index`` is the offending band's position."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index


@dataclass(frozen=True)
class Methodology:
    """A whole methodology: what it is called, its sections and its maturity levels."""

    code: str
    title: str
    sections: tuple[Section, ...]
    levels: tuple[LevelBand, ...]
    description: str = ""
    questions_by_code: Mapping[str, Question] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _code(self.code, "methodology")
        object.__setattr__(self, "title", _text(self.title, "title of the methodology"))
        object.__setattr__(
            self, "description", _text(self.description, "description", required=False)
        )
        if not self.sections:
            raise MethodologyError("the methodology has no sections")
        section_codes = [s.code for s in self.sections]
        if len(set(section_codes)) != len(section_codes):
            raise MethodologyError("two sections share a code")
        by_code: dict[str, Question] = {}
        for section in self.sections:
            for question in section.questions:
                if question.code in by_code:
                    raise MethodologyError(f"two questions share the code {question.code}")
                by_code[question.code] = question
        check_bands(self.levels)
        object.__setattr__(self, "levels", tuple(sorted(self.levels, key=lambda b: b.low)))
        object.__setattr__(self, "questions_by_code", by_code)

    def level_of(self, score: Fraction | float) -> LevelBand:
        """The level whose band holds ``score`` (0..100; 100 is in the top band)."""
        for band in self.levels:
            if band.low <= score < band.high:
                return band
        return self.levels[-1]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (``format`` = :data:`FORMAT`)."""
        return {
            "format": FORMAT,
            "code": self.code,
            "title": self.title,
            "description": self.description,
            "sections": [
                {
                    "code": s.code,
                    "title": s.title,
                    "weight": s.weight,
                    "questions": [q.to_json() for q in s.questions],
                }
                for s in self.sections
            ],
            "levels": [
                {
                    "code": b.code,
                    "title": b.title,
                    "from": b.low,
                    "to": b.high,
                    "description": b.description,
                }
                for b in self.levels
            ],
        }

    @classmethod
    def from_json(cls, data: object) -> Methodology:
        """Parse the JSON form; a wrong shape or a broken rule raises
        :class:`MethodologyError` naming the place (``sections[2].questions[0]``)."""
        obj = _object(data, "methodology")
        if obj.get("format") != FORMAT:
            raise MethodologyError(f"format must be {FORMAT!r}, got {obj.get('format')!r}")
        sections = []
        for i, raw in enumerate(_list(obj.get("sections"), "sections")):
            where = f"sections[{i}]"
            section = _object(raw, where)
            questions = []
            for j, q in enumerate(_list(section.get("questions"), f"{where}.questions")):
                questions.append(_at(f"{where}.questions[{j}]", Question.from_json, q))
            sections.append(
                _at(
                    where,
                    lambda s, qs=tuple(questions): Section(
                        code=s.get("code"),
                        title=s.get("title"),
                        weight=s.get("weight"),
                        questions=qs,
                    ),
                    section,
                )
            )
        levels = []
        for i, raw in enumerate(_list(obj.get("levels"), "levels")):
            band = _object(raw, f"levels[{i}]")
            levels.append(
                _at(
                    f"levels[{i}]",
                    lambda b: LevelBand(
                        code=b.get("code"),
                        title=b.get("title"),
                        low=b.get("from"),
                        high=b.get("to"),
                        description=b.get("description", ""),
                    ),
                    band,
                )
            )
        try:
            return cls(
                code=obj.get("code"),  # type: ignore[arg-type]  # validated in __post_init__
                title=obj.get("title"),  # type: ignore[arg-type]
                description=obj.get("description", ""),
                sections=tuple(sections),
                levels=tuple(levels),
            )
        except BandError as exc:
            raise MethodologyError(exc.reason, where=f"levels[{exc.index}]") from None


def _at(where: str, build: Any, data: Any) -> Any:
    try:
        return build(data)
    except MethodologyError as exc:
        if exc.where:
            raise
        raise MethodologyError(exc.reason, where=where) from None


def _object(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MethodologyError(f"{what} must be a JSON object")
    return data


def _list(data: object, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise MethodologyError(f"{what} must be a list")
    return data
