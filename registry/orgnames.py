"""How close two Russian organisation names are, for the import's suggestions.

Member files name organisations as their offices write them: «… агропромышленного
комплекса РФ» for the registry's «… работников АПК», «ППО» for «Первичная профсоюзная
организация», quotes or none, «№12» for «№ 12». ``closest`` ranks the registry's
organisations against such a name; the registrar then confirms one (it becomes an
alias, :class:`registry.models.OrganisationAlias`). Nothing here matches by itself:
a suggestion is only offered.

The comparison (``comparable``): lower case, «ё» as «е»; quotes, punctuation and «№»
dropped; the usual long forms written as their abbreviations (Российской Федерации →
рф, агропромышленного комплекса → апк, первичная профсоюзная организация → ппо,
профессионального союза → профсоюза); words that carry no distinction in a union's
names dropped (рф, работников, г); each word cut to its first five letters, so case
endings do not count («Пермская краевая» and «Пермской краевой» agree). The score
is the mean of the shared-word (Dice) coefficient and the character similarity of
the two comparable strings (difflib's ratio), from 0 to 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

__all__ = ["Suggestion", "closest", "comparable", "similarity"]

# Long forms and the abbreviation they are compared as (already lower case, «е» for «ё»).
_PHRASES: tuple[tuple[str, str], ...] = (
    ("российской федерации", "рф"),
    ("российская федерация", "рф"),
    ("агропромышленного комплекса", "апк"),
    ("первичная профсоюзная организация", "ппо"),
    ("первичной профсоюзной организации", "ппо"),
    ("профессионального союза", "профсоюза"),
    ("профессиональный союз", "профсоюз"),
    ("муниципальное автономное общеобразовательное учреждение", "маоу"),
    ("общество с ограниченной ответственностью", "ооо"),
    ("акционерное общество", "ао"),
    ("средняя общеобразовательная школа", "сош"),
)
# Words too common in union names to tell two organisations apart.
_NOISE = frozenset({"рф", "работников", "г", "им", "имени"})
_NON_WORD = re.compile(r"[^0-9a-zа-я]+")
_STEM = 5
MIN_SCORE = 0.45


def comparable(name: str) -> tuple[str, ...]:
    """The words of ``name`` as they are compared (see the module's docstring)."""
    text = " " + _NON_WORD.sub(" ", name.lower().replace("ё", "е")) + " "
    for long, short in _PHRASES:
        text = text.replace(f" {long} ", f" {short} ")
    return tuple(word[:_STEM] for word in text.split() if word not in _NOISE)


def similarity(a: str, b: str) -> float:
    """How alike two names are, from 0 (nothing shared) to 1 (the same once compared)."""
    words_a, words_b = comparable(a), comparable(b)
    if not words_a or not words_b:
        return 0.0
    if words_a == words_b:
        return 1.0
    set_a, set_b = set(words_a), set(words_b)
    dice = 2 * len(set_a & set_b) / (len(set_a) + len(set_b))
    # difflib's ratio depends a little on the order of its arguments: compare in a
    # fixed order, so that similarity(a, b) == similarity(b, a).
    first, second = sorted((" ".join(words_a), " ".join(words_b)))
    ratio = SequenceMatcher(None, first, second, autojunk=False).ratio()
    return (dice + ratio) / 2


@dataclass(frozen=True)
class Suggestion:
    """An existing organisation offered for a name, with its score."""

    organisation_id: int
    name: str
    score: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"a score is between 0 and 1, not {self.score}")


def closest(
    name: str,
    candidates: Iterable[tuple[int, str, Sequence[str]]],
    *,
    limit: int = 3,
    minimum: float = MIN_SCORE,
) -> list[Suggestion]:
    """The best ``limit`` of ``candidates`` — (id, name, [other names it goes by]) — for
    ``name``, best first, each scored by its closest name; those under ``minimum`` left
    out. Ties keep the candidates' order."""
    scored = []
    for position, (org_id, org_name, others) in enumerate(candidates):
        score = max(similarity(name, other) for other in (org_name, *others) if other)
        if score >= minimum:
            scored.append((-score, position, Suggestion(org_id, org_name, round(score, 3))))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [suggestion for _score, _position, suggestion in scored[:limit]]
