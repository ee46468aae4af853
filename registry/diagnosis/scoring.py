"""Scoring a questionnaire: answers → score and level, overall and per section.

Pure: no database, no clock. Arithmetic is exact (``fractions.Fraction``) and only
rounded for display, so equal answers always give equal levels on every machine.

Each answer earns a fraction (0..1) of its question's weight:

* yes_no — да 1, нет 0;
* scale — (value − min) / (max − min);
* number — min(value / target, 1);
* choice — the option's points / 100;
* link, file — 1 when evidence is given (a non-empty link or file reference).

An unanswered question earns 0. A section's score is 100 × Σ(weight × fraction) /
Σ weight over its questions; the overall score is the sections' scores weighted by
the section weights. The level is the band holding the score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import urlsplit

from registry.diagnosis.methodology import AnswerType, LevelBand, Methodology, Question
from registry.errors import InvalidInput

__all__ = [
    "Answer",
    "AnswerError",
    "Result",
    "SectionResult",
    "WeakPoint",
    "check_answer",
    "fraction_of",
    "score",
]

Answer = bool | int | str
"""An answer's value: bool for yes_no, int for scale and number, the option label for
choice, the URL for link, the stored file's reference for file."""


class AnswerError(InvalidInput):
    """An answer does not fit its question (wrong kind, out of range, unknown option)."""

    code = "answer_invalid"

    def __init__(self, question: str, reason: str) -> None:
        super().__init__(
            f"question {question}: {reason}", params={"question": question, "reason": reason}
        )
        self.question = question
        self.reason = reason


def check_answer(question: Question, value: object) -> Answer:
    """Return ``value`` if it is a valid answer to ``question``, else raise AnswerError."""
    kind = question.type
    if kind is AnswerType.YES_NO:
        if not isinstance(value, bool):
            raise AnswerError(question.code, "expected yes or no")
        return value
    if kind in (AnswerType.SCALE, AnswerType.NUMBER):
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnswerError(question.code, "expected a whole number")
        if kind is AnswerType.SCALE and not question.scale_min <= value <= question.scale_max:
            raise AnswerError(
                question.code,
                f"{value} is out of the scale {question.scale_min}..{question.scale_max}",
            )
        if kind is AnswerType.NUMBER and not 0 <= value <= 10**9:
            raise AnswerError(question.code, f"{value} is out of range 0..1000000000")
        return value
    if not isinstance(value, str):
        raise AnswerError(question.code, "expected text")
    if kind is AnswerType.CHOICE:
        if value not in {o.label for o in question.options}:
            raise AnswerError(question.code, f"{value!r} is not one of the options")
        return value
    if kind is AnswerType.LINK:
        parts = urlsplit(value)
        # Only web links: a javascript: or data: "evidence" would be shown as a link.
        if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000:
            raise AnswerError(question.code, "expected an http(s) link")
        return value
    if not value or len(value) > 200:
        raise AnswerError(question.code, "expected a file reference")
    return value


def fraction_of(question: Question, value: Answer | None) -> Fraction:
    """The share (0..1) of the question's weight that ``value`` earns."""
    if value is None:
        return Fraction(0)
    value = check_answer(question, value)
    kind = question.type
    if kind is AnswerType.YES_NO:
        return Fraction(int(bool(value)))
    if kind is AnswerType.SCALE:
        assert isinstance(value, int)
        return Fraction(value - question.scale_min, question.scale_max - question.scale_min)
    if kind is AnswerType.NUMBER:
        assert isinstance(value, int)
        return min(Fraction(value, question.target), Fraction(1))
    if kind is AnswerType.CHOICE:
        points = next(o.points for o in question.options if o.label == value)
        return Fraction(points, 100)
    return Fraction(1)


@dataclass(frozen=True)
class WeakPoint:
    """A question that lost points, with how many points of the overall 100 it lost."""

    section: str
    question: str
    text: str
    lost: Fraction


@dataclass(frozen=True)
class SectionResult:
    code: str
    title: str
    score: Fraction  # 0..100
    level: LevelBand

    @property
    def rounded(self) -> float:
        return round(float(self.score), 1)


@dataclass(frozen=True)
class Result:
    """The score (0..100, exact), the level, per-section results and weakest points
    (the questions losing most of the overall score first)."""

    score: Fraction
    level: LevelBand
    sections: tuple[SectionResult, ...]
    weakest: tuple[WeakPoint, ...]

    @property
    def rounded(self) -> float:
        return round(float(self.score), 1)


def score(methodology: Methodology, answers: Mapping[str, Answer], *, weakest: int = 5) -> Result:
    """Score ``answers`` (question code → value) against ``methodology``.

    An answer to a question the methodology does not have, or one that does not fit
    its question, raises :class:`AnswerError`.
    """
    for code in answers:
        if code not in methodology.questions_by_code:
            raise AnswerError(code, "no such question in the methodology")
    total_weight = sum(s.weight for s in methodology.sections)
    overall = Fraction(0)
    sections = []
    lost: list[WeakPoint] = []
    for section in methodology.sections:
        weight = sum(q.weight for q in section.questions)
        earned = Fraction(0)
        for question in section.questions:
            share = fraction_of(question, answers.get(question.code))
            earned += question.weight * share
            # Points of the overall 100 this question could still give.
            missing = (
                100 * Fraction(section.weight, total_weight) * question.weight * (1 - share)
            ) / weight
            if missing > 0:
                lost.append(WeakPoint(section.code, question.code, question.text, missing))
        section_score = 100 * earned / weight
        overall += section_score * Fraction(section.weight, total_weight)
        sections.append(
            SectionResult(
                section.code, section.title, section_score, methodology.level_of(section_score)
            )
        )
    # Stable order: most lost first, then the methodology's own order.
    order = {code: i for i, code in enumerate(methodology.questions_by_code)}
    lost.sort(key=lambda w: (-w.lost, order[w.question]))
    return Result(overall, methodology.level_of(overall), tuple(sections), tuple(lost[:weakest]))
