"""Any valid methodology survives both of its file forms unchanged."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from registry.diagnosis import workbook
from registry.diagnosis.methodology import (
    AnswerType,
    Choice,
    LevelBand,
    Methodology,
    Question,
    Section,
)

_TEXT = st.text(
    alphabet=st.sampled_from("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЯ abcXYZ019.,;:=«»-%?()/'\""),
    min_size=1,
    max_size=40,
).filter(lambda t: t.strip() != "")
_LABEL = _TEXT.filter(lambda t: ";" not in t)
_CODE = st.from_regex(r"\A[0-9A-Za-z][0-9A-Za-z._-]{0,6}\Z")


@st.composite
def questions(draw: st.DrawFn, code: str) -> Question:
    kind = draw(st.sampled_from(list(AnswerType)))
    low = draw(st.integers(0, 10))
    options: tuple[Choice, ...] = ()
    if kind is AnswerType.CHOICE:
        labels = draw(st.lists(_LABEL.map(str.strip), min_size=2, max_size=4, unique=True))
        options = tuple(Choice(label, draw(st.integers(0, 100))) for label in labels)
    return Question(
        code=code,
        text=draw(_TEXT),
        type=kind,
        weight=draw(st.integers(1, 1000)),
        hint=draw(st.one_of(st.just(""), _TEXT)),
        scale_min=low if kind is AnswerType.SCALE else 0,
        scale_max=draw(st.integers(low + 1, 100)) if kind is AnswerType.SCALE else 0,
        target=draw(st.integers(1, 10**6)) if kind is AnswerType.NUMBER else 0,
        options=options,
    )


@st.composite
def methodologies(draw: st.DrawFn) -> Methodology:
    codes = draw(st.lists(_CODE, min_size=2, max_size=12, unique=True))
    split = draw(st.integers(1, len(codes) - 1))
    section_codes = codes[:split]
    question_codes = draw(st.lists(_CODE, min_size=len(section_codes), max_size=15, unique=True))
    sections = []
    for i, code in enumerate(section_codes):
        mine = question_codes[i :: len(section_codes)]
        sections.append(
            Section(
                code=code,
                title=draw(_TEXT),
                weight=draw(st.integers(1, 1000)),
                questions=tuple(draw(questions(q)) for q in mine),
            )
        )
    cuts = sorted(draw(st.sets(st.integers(1, 99), max_size=5)))
    bounds = [0, *cuts, 100]
    levels = tuple(
        LevelBand(code=f"L{i}", title=draw(_TEXT), low=lo, high=hi)
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    )
    return Methodology(
        code=draw(_CODE),
        title=draw(_TEXT),
        description=draw(st.one_of(st.just(""), _TEXT)),
        sections=tuple(sections),
        levels=levels,
    )


@given(methodologies())
def test_xlsx_round_trip(methodology: Methodology) -> None:
    assert workbook.read(workbook.write(methodology)) == methodology


@given(methodologies())
def test_json_round_trip(methodology: Methodology) -> None:
    text = json.dumps(methodology.to_json(), ensure_ascii=False)
    assert Methodology.from_json(json.loads(text)) == methodology
