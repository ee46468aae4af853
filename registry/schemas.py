"""Validated values that cross the registry's boundary.

The same pydantic models validate API requests, page forms and the service
inputs, and generate the OpenAPI document: there is no second copy to drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from registry.contact import (
    FieldRuleError,
    normalise_card,
    normalise_email,
    normalise_name_part,
    normalise_phone,
    normalise_spaces,
)
from registry.models import BodyKind, MemberStatus, OrgKind, SeatRole

__all__ = [
    "MAX_PAGE",
    "AccessLogOut",
    "BodyIn",
    "BodyOut",
    "BodyPatch",
    "CompositionOut",
    "Id",
    "ImportResultOut",
    "MemberIn",
    "MemberOut",
    "MemberPatch",
    "MemberRetire",
    "MemberRoleOut",
    "OrganisationIn",
    "OrganisationOut",
    "OrganisationPatch",
    "Page",
    "QuorumIn",
    "SeatEnd",
    "SeatIn",
    "SeatOut",
    "StrictIn",
    "Visibility",
]

Text = Annotated[str, AfterValidator(normalise_spaces)]
NamePart = Annotated[str, AfterValidator(normalise_name_part)]
Email = Annotated[str, Field(max_length=254), AfterValidator(normalise_email)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(normalise_phone)]


CardNumber = Annotated[str, Field(max_length=40), AfterValidator(normalise_card)]


# Far beyond any real list; keeps OFFSET within the databases' integer range.
MAX_PAGE = 100_000

# Ids fit the databases' 32-bit integer columns; anything else is simply "no such id".
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _no_control_characters(value: object) -> object:
    """Refuse NUL and other C0 controls anywhere in the input (PostgreSQL cannot even
    store NUL in text, and none of them belongs in a name or an address)."""
    if isinstance(value, str):
        if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
            raise ValueError("control characters are not allowed")
    elif isinstance(value, dict):
        for item in value.values():
            _no_control_characters(item)
    elif isinstance(value, list):
        for item in value:
            _no_control_characters(item)
    return value


class StrictIn(BaseModel):
    """Base of every input: unknown fields and control characters are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: object) -> object:
        return _no_control_characters(data)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


# --- organisations -----------------------------------------------------------------


class OrganisationIn(StrictIn):
    name: Annotated[Text, Field(min_length=1, max_length=500)]
    short_name: Annotated[Text, Field(max_length=200)] = ""
    kind: OrgKind
    parent_id: Id | None = None
    city: Annotated[Text, Field(max_length=200)] = ""


class OrganisationPatch(StrictIn):
    name: Annotated[Text, Field(min_length=1, max_length=500)] | None = None
    short_name: Annotated[Text, Field(max_length=200)] | None = None
    city: Annotated[Text, Field(max_length=200)] | None = None
    parent_id: Id | None = None


class OrganisationOut(_Out):
    id: int
    parent_id: int | None
    root_id: int | None
    kind: OrgKind
    name: str
    short_name: str
    city: str
    retired_at: dt.datetime | None


# --- members -------------------------------------------------------------------------


class MemberIn(StrictIn):
    organisation_id: Id
    surname: Annotated[NamePart, Field(min_length=1, max_length=100)]
    name: Annotated[NamePart, Field(min_length=1, max_length=100)]
    patronymic: Annotated[NamePart, Field(max_length=100)] = ""
    card_number: CardNumber
    position: Annotated[Text, Field(max_length=300)] = ""
    email: Email = ""
    phone: Phone = ""
    joined_on: dt.date | None = None


class MemberPatch(StrictIn):
    organisation_id: Id | None = None
    surname: Annotated[NamePart, Field(min_length=1, max_length=100)] | None = None
    name: Annotated[NamePart, Field(min_length=1, max_length=100)] | None = None
    patronymic: Annotated[NamePart, Field(max_length=100)] | None = None
    card_number: CardNumber | None = None
    position: Annotated[Text, Field(max_length=300)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    joined_on: dt.date | None = None


class MemberRetire(StrictIn):
    left_on: dt.date | None = Field(default=None, description="defaults to today")


class Visibility(_Out):
    """How much of a member's record the caller may see, and why."""

    level: str = Field(description="full | contact | name")


class MemberRoleOut(_Out):
    body_id: int
    body_name: str
    role: SeatRole
    term_start: dt.date
    term_end: dt.date | None


class MemberOut(_Out):
    """A member as the caller may see them: fields beyond their level are null."""

    id: int
    full_name: str
    surname: str
    name: str
    patronymic: str
    organisation_id: int
    organisation_name: str
    visibility: str = Field(description="full | contact | name")
    card_number: str | None = None
    position: str | None = None
    email: str | None = None
    phone: str | None = None
    status: MemberStatus | None = None
    joined_on: dt.date | None = None
    left_on: dt.date | None = None
    roles: list[MemberRoleOut] = Field(default_factory=list)


# --- bodies and seats ------------------------------------------------------------------


class QuorumIn(StrictIn):
    numerator: Annotated[int, Field(ge=1, le=100)] = 1
    denominator: Annotated[int, Field(ge=1, le=100)] = 2
    strict: bool = Field(default=True, description="true: more than; false: at least")

    @model_validator(mode="after")
    def _fraction(self) -> QuorumIn:
        if self.numerator > self.denominator:
            raise FieldRuleError("quorum_fraction", "the quorum fraction cannot exceed one")
        if self.strict and self.numerator == self.denominator:
            raise FieldRuleError("quorum_impossible", "'more than the whole body' can never be met")
        return self


class BodyIn(StrictIn):
    organisation_id: Id
    kind: BodyKind
    name: Annotated[Text, Field(min_length=1, max_length=300)]
    quorum: QuorumIn = QuorumIn()


class BodyPatch(StrictIn):
    name: Annotated[Text, Field(min_length=1, max_length=300)] | None = None
    quorum: QuorumIn | None = None


class BodyOut(_Out):
    id: int
    organisation_id: int
    organisation_name: str
    kind: BodyKind
    name: str
    quorum: QuorumIn
    quorum_text: str
    retired_at: dt.datetime | None


class SeatIn(StrictIn):
    member_id: Id
    role: SeatRole = SeatRole.MEMBER
    term_start: dt.date
    term_end: dt.date | None = None

    @model_validator(mode="after")
    def _term(self) -> SeatIn:
        if self.term_end is not None and self.term_end < self.term_start:
            raise FieldRuleError("term_order", "the term cannot end before it starts")
        return self


class SeatEnd(StrictIn):
    term_end: dt.date


class SeatOut(_Out):
    id: int
    body_id: int
    member_id: int
    member_name: str
    role: SeatRole
    term_start: dt.date
    term_end: dt.date | None


class CompositionOut(_Out):
    body: BodyOut
    on: dt.date
    seats: list[SeatOut]
    size: int
    quorum_required: int


# --- import, access log, paging ---------------------------------------------------------


class ImportResultOut(_Out):
    imported: int
    updated: int
    unchanged: int
    organisations_created: int


class AccessLogOut(_Out):
    id: int
    at: dt.datetime
    actor: str
    action: str
    member_id: int | None
    detail: str
    request_id: str


T = TypeVar("T")


class Page(_Out, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
