"""Validated values at the elections' boundary (API bodies, forms, service inputs)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meetings.elections.models import (
    BallotForm,
    CommissionBasis,
    CommissionState,
    ElectionKind,
    ElectionState,
)
from meetings.schemas import Instant, Text
from registry.contact import FieldRuleError
from registry.schemas import Id, StrictIn

__all__ = [
    "MAX_COMMISSION",
    "MIN_COMMISSION",
    "AbsenteeElectionIn",
    "CandidateIn",
    "CandidateOut",
    "CommissionIn",
    "CommissionMemberOut",
    "CommissionOut",
    "ConsentIn",
    "ElectionIn",
    "ElectionOut",
    "ElectionRuleIn",
    "ElectionTransitionIn",
    "default_threshold",
]

MIN_COMMISSION = 3
MAX_COMMISSION = 5


def default_threshold(size: int) -> int:
    """A majority of the commission: ⌊n/2⌋ + 1 (2 of 3, 3 of 4, 3 of 5)."""
    return size // 2 + 1


class ElectionRuleIn(StrictIn):
    """A candidate is elected with «за» more than (strict) or at least the fraction of
    the base; by default more than half of those who took part."""

    base: Annotated[str, Field(pattern="^(took_part|composition)$")] = "took_part"
    numerator: Annotated[int, Field(ge=1, le=100)] = 1
    denominator: Annotated[int, Field(ge=1, le=100)] = 2
    strict: bool = True

    @model_validator(mode="after")
    def _fraction(self) -> ElectionRuleIn:
        if self.numerator > self.denominator:
            raise FieldRuleError("rule_fraction", "the rule's fraction cannot exceed one")
        if self.strict and self.numerator == self.denominator:
            raise FieldRuleError("rule_impossible", "'more than all' can never be met")
        return self


class ElectionIn(StrictIn):
    """An election on an agenda item of a meeting (``item_id``), or a secret question."""

    kind: ElectionKind = ElectionKind.ELECTION
    item_id: Id | None = None
    office: Annotated[Text, Field(min_length=1, max_length=500)] = Field(
        description="the office or body elected («председатель», «члены президиума»), "
        "or a question's short title"
    )
    question: Annotated[str, Field(max_length=4000)] = Field(
        default="", description="a secret question's wording (kind: question)"
    )
    seats: Annotated[int, Field(ge=1, le=100)] = 1
    form: BallotForm = BallotForm.APPROVE_EACH
    rule: ElectionRuleIn = ElectionRuleIn()

    @model_validator(mode="before")
    @classmethod
    def _question_form(cls, data: object) -> object:
        # A secret question is the same machinery with fixed options: «за» / «против» /
        # «воздержался», one "seat".
        if isinstance(data, dict) and data.get("kind") == ElectionKind.QUESTION.value:
            return {**data, "form": BallotForm.YES_NO.value, "seats": 1}
        return data

    @model_validator(mode="after")
    def _shape(self) -> ElectionIn:
        if self.kind is ElectionKind.QUESTION:
            if not self.question.strip():
                raise FieldRuleError("question_missing", "a secret question needs its wording")
        elif self.form is BallotForm.YES_NO:
            raise FieldRuleError("form_for_question", "yes_no is the form of a question")
        elif self.form is BallotForm.ONE_OF and self.seats != 1:
            raise FieldRuleError(
                "one_of_seats", "one_of elects one person: for several seats use approve_each"
            )
        return self


class AbsenteeElectionIn(ElectionIn):
    """An election between meetings: the body's members vote by the deadline."""

    body_id: Id
    closes_at: Instant


class CandidateIn(StrictIn):
    member_id: Id | None = Field(default=None, description="a member of the registry, or…")
    name: Annotated[Text, Field(max_length=300)] = Field(
        default="", description="…a named person (with no member_id)"
    )
    bio: Annotated[str, Field(max_length=4000)] = ""
    nominated_by: Annotated[Text, Field(min_length=1, max_length=300)] = Field(
        description="who nominated: «самовыдвижение», a member's name, an organisation"
    )
    at_meeting: bool = Field(default=False, description="nominated at the meeting itself")
    consent: bool = Field(default=False, description="record the candidate's consent now")
    consent_note: Annotated[Text, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _who(self) -> CandidateIn:
        if self.member_id is None and not self.name:
            raise FieldRuleError("candidate_who", "name a member or a person")
        if self.member_id is not None and self.name:
            raise FieldRuleError("candidate_both", "a member or a named person, not both")
        return self


class ConsentIn(StrictIn):
    note: Annotated[Text, Field(max_length=500)] = Field(
        default="", description="how it was given: «устно на заседании», «заявление»"
    )


class CommissionIn(StrictIn):
    member_ids: list[Id] = Field(min_length=MIN_COMMISSION, max_length=MAX_COMMISSION)
    threshold: Annotated[int, Field(ge=2, le=MAX_COMMISSION)] | None = Field(
        default=None, description="default: a majority of the commission, ⌊n/2⌋ + 1"
    )

    @model_validator(mode="after")
    def _check(self) -> CommissionIn:
        if len(set(self.member_ids)) != len(self.member_ids):
            raise FieldRuleError("commission_twice", "a member is listed twice")
        n = len(self.member_ids)
        if self.threshold is not None and not default_threshold(n) <= self.threshold <= n:
            # A minority of the commission must never be able to decrypt on its own.
            raise FieldRuleError(
                "commission_threshold",
                f"the threshold must be from {default_threshold(n)} to {n} for {n} members",
            )
        return self

    @property
    def effective_threshold(self) -> int:
        return self.threshold or default_threshold(len(self.member_ids))


class ElectionTransitionIn(StrictIn):
    target: ElectionState


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class CandidateOut(_Out):
    id: int
    position: int
    member_id: int | None
    name: str
    bio: str
    nominated_by: str
    at_meeting: bool
    recorded_by: str
    nominated_at: dt.datetime
    consent_at: dt.datetime | None
    consent_recorded_by: str
    consent_note: str


class CommissionMemberOut(_Out):
    position: int
    member_id: int
    name: str


class CommissionOut(_Out):
    id: int
    state: CommissionState
    basis: CommissionBasis
    threshold: int
    size: int
    vote_id: int | None
    proposed_by: str
    proposed_at: dt.datetime
    appointed_by: str
    constituted_at: dt.datetime | None
    rejected_at: dt.datetime | None
    members: list[CommissionMemberOut]


class ElectionOut(_Out):
    id: int
    body_id: int
    body_name: str
    meeting_id: int | None
    item_id: int | None
    kind: ElectionKind
    office: str
    question: str
    seats: int
    form: BallotForm
    rule: ElectionRuleIn
    closes_at: dt.datetime | None
    state: ElectionState
    created_by: str
    created_at: dt.datetime
    candidates_closed_at: dt.datetime | None
    key_ready_at: dt.datetime | None
    vote_id: int | None
    candidates: list[CandidateOut]
    commission: CommissionOut | None
    proposals: list[CommissionOut] = Field(description="earlier lists the body did not adopt")
    next_step: str | None
    transitions: list[ElectionState]
    roles: list[str]
    # The count and its approval: the commission's protocol (a document, once issued)
    # and the body's latest vote on approving it.
    counted_at: dt.datetime | None = None
    protocol_document_id: int | None = None
    approval_vote_id: int | None = None
    approved_at: dt.datetime | None = None
