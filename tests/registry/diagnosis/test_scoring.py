"""Scoring: exact examples, the refusals of bad answers, and properties over any answers."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.diagnosis.methodology import AnswerType, Methodology, Question
from registry.diagnosis.scoring import Answer, AnswerError, score
from registry.diagnosis.services import default_methodology

METHODOLOGY = default_methodology()
QUESTIONS = list(METHODOLOGY.questions_by_code.values())


def best(question: Question) -> Answer:
    if question.type is AnswerType.YES_NO:
        return True
    if question.type is AnswerType.SCALE:
        return question.scale_max
    if question.type is AnswerType.NUMBER:
        return question.target
    if question.type is AnswerType.CHOICE:
        return max(question.options, key=lambda o: o.points).label
    return "https://example.ru/" if question.type is AnswerType.LINK else "blob:1"


def answer_for(question: Question) -> st.SearchStrategy[Answer]:
    if question.type is AnswerType.YES_NO:
        return st.booleans()
    if question.type is AnswerType.SCALE:
        return st.integers(question.scale_min, question.scale_max)
    if question.type is AnswerType.NUMBER:
        return st.integers(0, 3 * question.target)
    if question.type is AnswerType.CHOICE:
        return st.sampled_from([o.label for o in question.options])
    if question.type is AnswerType.LINK:
        return st.just("https://vk.com/union")
    return st.just("blob:7")


answers_strategy = st.fixed_dictionaries({}, optional={q.code: answer_for(q) for q in QUESTIONS})


def test_nothing_answered_scores_zero_and_everything_best_scores_100() -> None:
    empty = score(METHODOLOGY, {})
    assert empty.score == 0
    assert empty.level.code == "L1"
    assert len(empty.weakest) == 5
    full = score(METHODOLOGY, {q.code: best(q) for q in QUESTIONS})
    assert full.score == 100
    assert full.level.code == "L4"
    assert full.weakest == ()
    assert all(s.score == 100 for s in full.sections)


def test_a_small_methodology_scores_exactly() -> None:
    data = {
        "format": "kvorum-diagnosis-methodology/1",
        "code": "m",
        "title": "Проба",
        "sections": [
            {
                "code": "A",
                "title": "Каналы",
                "weight": 3,
                "questions": [
                    {"code": "a1", "text": "Сайт", "type": "yes_no", "weight": 1},
                    {
                        "code": "a2",
                        "text": "Частота",
                        "type": "scale",
                        "weight": 3,
                        "scale": {"min": 1, "max": 5},
                    },
                ],
            },
            {
                "code": "B",
                "title": "Учёт",
                "weight": 1,
                "questions": [
                    {"code": "b1", "text": "Заседания", "type": "number", "weight": 1, "target": 4}
                ],
            },
        ],
        "levels": [
            {"code": "low", "title": "Низкий", "from": 0, "to": 50},
            {"code": "high", "title": "Высокий", "from": 50, "to": 100},
        ],
    }
    m = Methodology.from_json(data)
    result = score(m, {"a1": True, "a2": 3, "b1": 1})
    # A: (1·1 + 3·½) / 4 = 5/8 → 62.5; B: ¼ → 25; overall (3·62.5 + 25) / 4 = 53.125.
    assert [s.score for s in result.sections] == [Fraction(125, 2), Fraction(25)]
    assert result.score == Fraction(425, 8)
    assert result.level.code == "high"
    assert [s.level.code for s in result.sections] == ["high", "low"]
    # b1 loses ¾ of B's quarter: 18.75 points; a2 loses ½·¾·¾·100 = 28.125.
    assert [(w.question, w.lost) for w in result.weakest] == [
        ("a2", Fraction(225, 8)),
        ("b1", Fraction(75, 4)),
    ]


@pytest.mark.parametrize(
    ("code", "value", "reason"),
    [
        ("2.2", 101, "101 is out of the scale 0..100"),
        ("3.3", 0, "0 is out of the scale 1..5"),
        ("1.1", "да", "expected yes or no"),
        ("1.8", "иногда", "'иногда' is not one of the options"),
        ("1.2", "javascript:alert(1)", "expected an http(s) link"),
        ("3.2", -1, "-1 is out of range 0..1000000000"),
        ("9.9", True, "no such question in the methodology"),
    ],
)
def test_bad_answers_are_refused(code: str, value: Any, reason: str) -> None:
    with pytest.raises(AnswerError) as caught:
        score(METHODOLOGY, {code: value})
    assert (caught.value.question, caught.value.reason) == (code, reason)


@given(answers_strategy)
def test_scores_stay_within_0_and_100_and_match_their_level(answers: dict[str, Answer]) -> None:
    result = score(METHODOLOGY, answers)
    assert 0 <= result.score <= 100
    assert result.level.low <= result.score
    assert result.score < result.level.high or result.level.high == 100
    for section in result.sections:
        assert 0 <= section.score <= 100
    weights = {s.code: s.weight for s in METHODOLOGY.sections}
    total = sum(weights.values())
    assert result.score == sum(s.score * weights[s.code] for s in result.sections) / total
    # What the questions lose and what is scored make 100 together.
    everything = score(METHODOLOGY, answers, weakest=len(QUESTIONS))
    assert result.score + sum(w.lost for w in everything.weakest) == 100


@given(answers_strategy, st.sampled_from(QUESTIONS))
def test_answering_a_question_best_never_lowers_the_score(
    answers: dict[str, Answer], question: Question
) -> None:
    before = score(METHODOLOGY, answers)
    after = score(METHODOLOGY, {**answers, question.code: best(question)})
    assert after.score >= before.score
    assert after.level.low >= before.level.low
