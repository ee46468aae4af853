"""The election rule: from the counts of a secret election, who is elected.

Pure (standard library only, no clock, no database): the server applies it to the
decrypted tally and the offline verifier applies it to the published counts, and
both must reach the same answer. ``docs/elections.md`` ("The rule") states it in
prose; this module is that statement in code.

An election's counts are, per candidate, the ballots marked «за» (and for the
``approve_each`` form also «против»), the number of members who took part (valid
ballots counted), and optionally the body's composition. A candidate *passes* when
their «за» is more than (``strict``) or at least a fraction of the rule's base (and
not zero); when
more candidates pass than there are seats, the seats go to those with the most «за»,
and candidates tied at the boundary are reported as tied, none of them elected: the
rule never picks one of equals (the body decides, usually by another round).

A secret question (yes / no / abstain) is decided by :func:`decide_question` with the
same fraction and base. The module checks the counts it is given and refuses ones no
honest count can produce (:class:`CountsInvalid`, naming what is wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BASES",
    "FORMS",
    "CountsInvalid",
    "ElectionCounts",
    "ElectionOutcome",
    "ElectionRule",
    "QuestionCounts",
    "decide_election",
    "decide_question",
]

#: What the «за» of a candidate are compared with: the members who took part (ballots
#: counted), or the body's whole composition (members entitled to take part).
BASES = ("took_part", "composition")
#: ``one_of``: one mark among the candidates; ``approve_each``: «за» or «против» for each
#: candidate, at most ``seats`` «за» on a ballot.
FORMS = ("one_of", "approve_each")

_MAX_DENOMINATOR = 1000


class CountsInvalid(ValueError):
    """The rule or the counts break a constraint an honest count always meets."""


@dataclass(frozen=True)
class ElectionRule:
    """A candidate passes with «за» > ``numerator/denominator`` of the base (``strict``),
    or ≥ it; the union's default is more than half of those who took part.

    ``turnout``, when given as (numerator, denominator), is the charter's quorum of the
    vote: more than that fraction of the roll must have taken part, or nobody is elected
    and no question is adopted (an absentee vote that too few answered)."""

    base: str = "took_part"
    numerator: int = 1
    denominator: int = 2
    strict: bool = True
    turnout: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.base not in BASES:
            raise CountsInvalid(f"rule base must be one of {', '.join(BASES)}, not {self.base!r}")
        _check_fraction(self.numerator, self.denominator, "rule")
        if self.turnout is not None:
            _check_fraction(self.turnout[0], self.turnout[1], "turnout")

    def passes(self, votes: int, base: int) -> bool:
        """Whether ``votes`` reach the fraction of ``base`` (integer arithmetic: "more
        than half" of 7 is 4, never 3.5 rounded)."""
        if self.strict:
            return votes * self.denominator > self.numerator * base
        return votes * self.denominator >= self.numerator * base

    def turnout_met(self, took_part: int, roll: int | None) -> bool:
        if self.turnout is None:
            return True
        if roll is None:
            raise CountsInvalid("the rule has a turnout: give the size of the roll")
        numerator, denominator = self.turnout
        return took_part * denominator > numerator * roll


def _check_fraction(numerator: int, denominator: int, what: str) -> None:
    if not (_is_count(numerator) and _is_count(denominator)):
        raise CountsInvalid(f"{what} fraction must be whole numbers")
    if not 0 < numerator <= denominator <= _MAX_DENOMINATOR:
        raise CountsInvalid(f"{what} fraction must be in (0, 1] with denominator ≤ 1000")


def _is_count(value: object) -> bool:
    # bool is an int to Python; a count never is.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class ElectionCounts:
    """The tally of an election, candidates in ballot order (0-based indexes)."""

    form: str
    seats: int
    took_part: int
    votes_for: tuple[int, ...]
    votes_against: tuple[int, ...] | None = None  # approve_each only
    composition: int | None = None  # needed when the base is the composition
    roll: int | None = None  # needed when the rule has a turnout

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise CountsInvalid(f"form must be one of {', '.join(FORMS)}, not {self.form!r}")
        for name in ("seats", "took_part"):
            if not _is_count(getattr(self, name)):
                raise CountsInvalid(f"{name} must be a whole number ≥ 0")
        if self.seats < 1:
            raise CountsInvalid("seats must be at least 1")
        if not self.votes_for:
            raise CountsInvalid("there must be at least one candidate")
        for name in ("composition", "roll"):
            value = getattr(self, name)
            if value is not None and not _is_count(value):
                raise CountsInvalid(f"{name} must be a whole number ≥ 0")
            if value is not None and value < self.took_part:
                raise CountsInvalid(f"more took part ({self.took_part}) than the {name} ({value})")
        for index, count in enumerate(self.votes_for):
            if not _is_count(count):
                raise CountsInvalid(f"«за» of candidate {index + 1} must be a whole number ≥ 0")
            if count > self.took_part:
                raise CountsInvalid(
                    f"candidate {index + 1} has more «за» ({count}) than took part"
                    f" ({self.took_part})"
                )
        if self.form == "one_of":
            if self.votes_against is not None:
                raise CountsInvalid("a one_of ballot has no «против»")
            if sum(self.votes_for) > self.took_part:
                raise CountsInvalid("one mark per ballot: the «за» add up to more than took part")
            return
        if self.votes_against is None or len(self.votes_against) != len(self.votes_for):
            raise CountsInvalid("approve_each needs a «против» count for every candidate")
        for index, (yes, no) in enumerate(zip(self.votes_for, self.votes_against, strict=True)):
            if not _is_count(no):
                raise CountsInvalid(f"«против» of candidate {index + 1} must be a whole number ≥ 0")
            if yes + no > self.took_part:
                raise CountsInvalid(
                    f"candidate {index + 1} has more marks ({yes + no}) than took part"
                    f" ({self.took_part})"
                )
        if sum(self.votes_for) > self.seats * self.took_part:
            raise CountsInvalid(
                f"at most {self.seats} «за» per ballot: the «за» add up to more than"
                f" {self.seats} × {self.took_part}"
            )


@dataclass(frozen=True)
class ElectionOutcome:
    """Who is elected (candidate indexes, most «за» first, then ballot order), who
    reached the threshold, and the tie at the boundary if there is one."""

    valid: bool  # the turnout was met (always, without a turnout)
    passed: tuple[int, ...]
    elected: tuple[int, ...]
    tied: tuple[int, ...]  # equal «за» at the boundary, none elected
    tied_seats: int  # the seats those tied contend for
    vacant: int  # seats nobody fills (too few passed), the tied seats not included

    @property
    def complete(self) -> bool:
        """Every seat is filled, with no tie to resolve."""
        return not self.tied and self.vacant == 0


def decide_election(counts: ElectionCounts, rule: ElectionRule | None = None) -> ElectionOutcome:
    """Apply the rule: pass the threshold, then fill the seats by most «за», reporting
    a tie at the boundary rather than breaking it."""
    rule = rule or ElectionRule()
    if not rule.turnout_met(counts.took_part, counts.roll):
        return ElectionOutcome(False, (), (), (), 0, counts.seats)
    base = _base(rule, counts.took_part, counts.composition)
    votes = counts.votes_for
    # Nobody is elected without a single «за», whatever the fraction (a non-strict rule
    # over nobody taking part would otherwise pass everyone with 0 ≥ 0).
    passed = tuple(i for i, count in enumerate(votes) if count > 0 and rule.passes(count, base))
    ranked = sorted(passed, key=lambda i: (-votes[i], i))
    if len(ranked) <= counts.seats:
        return ElectionOutcome(True, passed, tuple(ranked), (), 0, counts.seats - len(ranked))
    boundary = votes[ranked[counts.seats - 1]]
    above = tuple(i for i in ranked if votes[i] > boundary)
    at = tuple(i for i in ranked if votes[i] == boundary)
    if len(above) + len(at) == counts.seats:
        return ElectionOutcome(True, passed, above + at, (), 0, 0)
    return ElectionOutcome(True, passed, above, at, counts.seats - len(above), 0)


@dataclass(frozen=True)
class QuestionCounts:
    """The tally of a secret question: «за», «против», «воздержался»."""

    yes: int
    no: int
    abstain: int
    took_part: int
    composition: int | None = None
    roll: int | None = None

    def __post_init__(self) -> None:
        for name in ("yes", "no", "abstain", "took_part"):
            if not _is_count(getattr(self, name)):
                raise CountsInvalid(f"{name} must be a whole number ≥ 0")
        if self.yes + self.no + self.abstain != self.took_part:
            raise CountsInvalid(
                "every ballot has one answer: «за» + «против» + «воздержался» must equal"
                " the number who took part"
            )
        for name in ("composition", "roll"):
            value = getattr(self, name)
            if value is not None and not (_is_count(value) and value >= self.took_part):
                raise CountsInvalid(f"{name} must be a whole number ≥ took_part")


def decide_question(counts: QuestionCounts, rule: ElectionRule | None = None) -> bool:
    """Adopted when the «за» pass the rule's fraction of its base (and the turnout is met)."""
    rule = rule or ElectionRule()
    if not rule.turnout_met(counts.took_part, counts.roll):
        return False
    base = _base(rule, counts.took_part, counts.composition)
    return counts.yes > 0 and rule.passes(counts.yes, base)


def _base(rule: ElectionRule, took_part: int, composition: int | None) -> int:
    if rule.base == "took_part":
        return took_part
    if composition is None:
        raise CountsInvalid("the rule counts from the composition: give the composition")
    return composition
