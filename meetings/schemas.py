"""Validated values at the meetings' boundary (API bodies, forms, service inputs)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from meetings.models import MeetingForm, MeetingState
from registry.contact import normalise_email, normalise_spaces
from registry.schemas import Id, QuorumIn, StrictIn

__all__ = [
    "AgendaItemIn",
    "AgendaItemOut",
    "AgendaItemPatch",
    "GuestIn",
    "GuestOut",
    "MaterialOut",
    "MeetingIn",
    "MeetingOut",
    "MeetingPatch",
    "NotesIn",
    "TransitionIn",
]

Text = Annotated[str, AfterValidator(normalise_spaces)]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("give the time with its UTC offset, e.g. 2026-12-01T10:00:00+05:00")
    return value.astimezone(dt.UTC)


Instant = Annotated[dt.datetime, AfterValidator(_aware)]

DEFAULT_TIMEZONE = "Asia/Yekaterinburg"  # Perm


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone (e.g. Asia/Yekaterinburg)") from None
    return value


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_zone)]


class MeetingIn(StrictIn):
    body_id: Id
    title: Annotated[Text, Field(min_length=1, max_length=500)]
    starts_at: Instant
    timezone: TimeZone = DEFAULT_TIMEZONE
    place: Annotated[Text, Field(max_length=500)] = ""
    form: MeetingForm = MeetingForm.ONLINE
    number: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None, description="default: the next number of the body in that year"
    )
    chair_member_id: Id | None = Field(default=None, description="default: the body's chair")
    secretary_member_id: Id | None = Field(
        default=None, description="default: the body's secretary"
    )
    speaking_seconds: Annotated[int, Field(ge=30, le=3600)] = 300


class MeetingPatch(StrictIn):
    title: Annotated[Text, Field(min_length=1, max_length=500)] | None = None
    starts_at: Instant | None = None
    timezone: TimeZone | None = None
    place: Annotated[Text, Field(max_length=500)] | None = None
    form: MeetingForm | None = None
    chair_member_id: Id | None = None
    secretary_member_id: Id | None = None
    speaking_seconds: Annotated[int, Field(ge=30, le=3600)] | None = None


class AgendaItemIn(StrictIn):
    title: Annotated[Text, Field(min_length=1, max_length=1000)]
    rapporteur: Annotated[Text, Field(max_length=300)] = ""
    draft_resolution: Annotated[str, Field(max_length=100_000)] = ""
    quorum: QuorumIn | None = Field(default=None, description="a stricter rule for this item")
    position: Annotated[int, Field(ge=1, le=1000)] | None = None


class AgendaItemPatch(StrictIn):
    title: Annotated[Text, Field(min_length=1, max_length=1000)] | None = None
    rapporteur: Annotated[Text, Field(max_length=300)] | None = None
    draft_resolution: Annotated[str, Field(max_length=100_000)] | None = None
    quorum: QuorumIn | None = None
    clear_quorum: bool = False
    position: Annotated[int, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _one_quorum_change(self) -> AgendaItemPatch:
        if self.quorum is not None and self.clear_quorum:
            raise ValueError("set a quorum rule or clear it, not both")
        return self


class NotesIn(StrictIn):
    speeches: Annotated[str, Field(max_length=100_000)] | None = None
    decision: Annotated[str, Field(max_length=100_000)] | None = None


class DraftTextsIn(StrictIn):
    """The texts of an item the secretary writes into the documents after the meeting:
    «СЛУШАЛИ» in brief, «ВЫСТУПИЛИ», «ПОСТАНОВИЛИ» and the resolution's wording."""

    heard: Annotated[str, Field(max_length=100_000)] | None = None
    speeches: Annotated[str, Field(max_length=100_000)] | None = None
    decision: Annotated[str, Field(max_length=100_000)] | None = None
    draft_resolution: Annotated[str, Field(max_length=100_000)] | None = None


class GuestIn(StrictIn):
    name: Annotated[Text, Field(min_length=1, max_length=300)]
    affiliation: Annotated[Text, Field(max_length=300)] = ""
    email: Annotated[str, Field(max_length=254), AfterValidator(normalise_email)] = ""


class TransitionIn(StrictIn):
    target: MeetingState


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class MaterialOut(_Out):
    id: int
    filename: str
    media_type: str
    size: int
    sha256: str


class AgendaItemOut(_Out):
    id: int
    position: int
    title: str
    rapporteur: str
    draft_resolution: str
    quorum_numerator: int | None
    quorum_denominator: int | None
    quorum_strict: bool | None
    speeches: str
    decision: str
    materials: list[MaterialOut]


class GuestOut(_Out):
    id: int
    name: str
    affiliation: str
    email: str


class MeetingOut(_Out):
    id: int
    body_id: int
    body_name: str
    year: int
    number: int
    code: str
    title: str
    starts_at: dt.datetime
    timezone: str
    place: str
    form: MeetingForm
    state: MeetingState
    chair_member_id: int | None
    chair_name: str
    secretary_member_id: int | None
    secretary_name: str
    current_item_id: int | None
    speaking_seconds: int
    last_seq: int
    items: list[AgendaItemOut]
    guests: list[GuestOut]
