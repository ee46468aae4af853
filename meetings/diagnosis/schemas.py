"""Validated values at the campaigns' boundary (API bodies, forms) and what is answered."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from meetings.schemas import Instant, Text
from registry.schemas import Id, StrictIn

__all__ = [
    "AgendaFromCampaignIn",
    "AnswersIn",
    "CampaignIn",
    "CampaignOut",
    "EvidenceOut",
    "OrganisationResultOut",
    "ParticipantOut",
    "QuestionnaireOut",
    "ReasonIn",
    "ReopenIn",
    "ResultsOut",
    "SectionResultOut",
]

#: The most organisations one campaign may be launched for.
MAX_PARTICIPANTS = 2000

Reason = Annotated[Text, Field(min_length=1, max_length=1000)]
AnswerValue = bool | int | Annotated[str, Field(max_length=1000)] | None


class CampaignIn(StrictIn):
    """Launch a campaign: for the organisations listed, or for every organisation
    ``depth`` levels below the owner (1: its direct members)."""

    organisation_id: Id = Field(description="the organisation running the campaign")
    methodology_id: Id = Field(description="a published version of one of its methodologies")
    title: Annotated[Text, Field(min_length=1, max_length=500)]
    deadline: Instant
    organisation_ids: Annotated[list[Id], Field(max_length=MAX_PARTICIPANTS)] = Field(
        default_factory=list
    )
    depth: Annotated[int, Field(ge=1, le=10)] | None = None
    target_level: Annotated[str, Field(max_length=32)] = Field(
        default="", description="the level to reach; default: the middle one"
    )

    @model_validator(mode="after")
    def _whom(self) -> CampaignIn:
        if bool(self.organisation_ids) == (self.depth is not None):
            raise ValueError("name the organisations or a depth below the owner, one of them")
        return self


class AnswersIn(StrictIn):
    """Answers to save in the draft: a null clears an answer; others stay as they were."""

    answers: Annotated[
        dict[Annotated[str, Field(max_length=32)], AnswerValue], Field(max_length=500)
    ]


class ReasonIn(StrictIn):
    reason: Reason


class ReopenIn(StrictIn):
    """Reopen the campaign until ``deadline``, or only for one organisation."""

    reason: Reason
    deadline: Instant
    organisation_id: Id | None = None


class AgendaFromCampaignIn(StrictIn):
    meeting_id: Id


class EvidenceOut(BaseModel):
    id: int
    question: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime


class ParticipantOut(BaseModel):
    organisation_id: int
    organisation: str
    state: str
    updated_at: dt.datetime | None
    submitted_at: dt.datetime | None
    submitted_by: str
    return_reason: str
    extended_until: dt.datetime | None
    reminders: int
    answered: int


class CampaignOut(BaseModel):
    id: int
    organisation_id: int
    organisation: str
    title: str
    methodology_id: int
    methodology_title: str
    methodology_version: int
    deadline: dt.datetime
    state: str
    target_level: str
    can_manage: bool
    submitted: int
    total: int
    participants: list[ParticipantOut]
    responding_for: list[int] = Field(description="organisations the caller answers for here")


class QuestionnaireOut(BaseModel):
    campaign_id: int
    organisation_id: int
    organisation: str
    state: str
    can_edit: bool
    deadline: dt.datetime
    answers: dict[str, Any]
    evidence: list[EvidenceOut]
    return_reason: str
    template: dict[str, Any] | None = Field(
        description="what the responder signs, less serial and submitted_at"
    )
    statement: dict[str, Any] | None = Field(description="the signed submission, once made")


class SectionResultOut(BaseModel):
    code: str
    title: str
    score: float
    level: str
    level_title: str


class OrganisationResultOut(BaseModel):
    organisation_id: int
    organisation: str
    score: float
    level: str
    level_title: str
    below_target: bool
    sections: list[SectionResultOut]
    weakest: list[dict[str, Any]]
    previous_score: float | None
    change: float | None


class ResultsOut(BaseModel):
    campaign_id: int
    title: str
    target_level: str
    submitted: int
    total: int
    not_submitted: list[str]
    organisations: list[OrganisationResultOut]
    levels: list[dict[str, Any]] = Field(description="each level with how many are in it")
    sections: list[dict[str, Any]] = Field(description="each section's average score")
    average: float | None
