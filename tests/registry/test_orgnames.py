"""How close two organisation names are: the import's suggestions."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.orgnames import Suggestion, closest, comparable, similarity

APK = (
    "Пермская краевая организация Профессионального союза работников "
    "агропромышленного комплекса Российской Федерации"
)
APK_SHORT = "Пермская краевая организация Профсоюза работников АПК"
EDU = (
    "Пермская краевая организация Профессионального союза работников народного "
    "образования и науки Российской Федерации"
)
EDU_SHORT = "Пермская краевая организация Профсоюза образования"
AVIA = "Пермская краевая организация Профсоюза авиационных работников"
FARM = "Первичная профсоюзная организация СПК «Нива»"
CANDIDATES = [
    (1, EDU, (EDU_SHORT,)),
    (2, AVIA, ()),
    (3, APK, (APK_SHORT,)),
    (4, FARM, ("ППО СПК «Нива»",)),
]


@pytest.mark.parametrize(
    ("written", "best"),
    [
        # The file's full name with «РФ» against the registry's «… работников АПК».
        ("Пермская краевая организация Профсоюза работников агропромышленного комплекса РФ", 3),
        ("ПЕРМСКАЯ КРАЕВАЯ ОРГАНИЗАЦИЯ ПРОФСОЮЗА АПК", 3),
        ("Пермской краевой организации профсоюза работников АПК", 3),
        ("ППО СПК Нива", 4),
        ('Первичная профсоюзная организация СПК "Нива".', 4),
        ("Пермская краевая организация профсоюза работников образования", 1),
        ("Пермская краевая организация профсоюза авиаработников", 2),
    ],
)
def test_the_closest_organisation_comes_first(written: str, best: int) -> None:
    found = closest(written, CANDIDATES)
    assert found, written
    assert found[0].organisation_id == best
    assert all(a.score >= b.score for a, b in itertools.pairwise(found))


def test_long_forms_and_noise_words_compare_as_one() -> None:
    assert comparable("… комплекса РФ") == comparable("… комплекса Российской Федерации")
    assert comparable("Профессионального союза работников АПК") == comparable(
        "профсоюза агропромышленного комплекса"
    )
    assert similarity(APK, APK_SHORT) == 1.0
    assert similarity("СОШ №12", "СОШ № 12") == 1.0


def test_nothing_close_is_offered_nothing() -> None:
    assert closest("Союз художников", CANDIDATES) == []
    assert closest("", CANDIDATES) == []
    assert similarity("", APK) == 0.0
    assert len(closest("Пермская краевая организация профсоюза", CANDIDATES, limit=2)) == 2


def test_a_suggestion_checks_its_score() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        Suggestion(1, "x", 1.5)


@given(st.text(max_size=80), st.text(max_size=80))
def test_similarity_is_a_symmetric_score(a: str, b: str) -> None:
    score = similarity(a, b)
    assert 0.0 <= score <= 1.0
    assert score == similarity(b, a)
    if comparable(a):
        assert similarity(a, a) == 1.0
