"""What the counting commission's protocol says («Протокол счётной комиссии о
результатах тайного голосования»), read from a counted election.

The count is the secret vote's registry-signed result (``kvorum.secret-vote-result``),
kept in ``Election.result`` as canonical JSON ``{"result": <envelope>, "roll": N,
"cast": M, "spoiled": K}``. This module checks the registry's signature, takes the
counts, the rule's outcome and the commission members whose partial decryptions were
combined (``decrypted_by``: their positions in the commission), and lays them out as
plain data for the template ``documents/commission_protocol.html``. The figures are the
result's own; nothing is counted again here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.secretformats import RESULT_TYPE
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.hashing import content_address
from meetings.access import meeting_date
from meetings.documents import russian_date
from meetings.drafting import genitive
from meetings.elections.models import (
    BallotForm,
    Commission,
    CommissionState,
    Election,
    ElectionKind,
    ElectionState,
)
from meetings.models import AgendaItem, Meeting
from registry.errors import Conflict
from registry.localtime import DEFAULT_ZONE, LocalClock
from registry.models import Body, Organisation
from registry.registrykey import RegistryKeyring

__all__ = [
    "CandidateLine",
    "CommissionProtocol",
    "CountedResult",
    "commission_protocol",
    "read_result",
    "short_name",
]

#: The number of the commission's protocol of the result (its only one in Kvorum).
PROTOCOL_NUMBER = "№ 1"
TITLE = "Протокол счётной комиссии о результатах тайного голосования"


def short_name(full_name: str) -> str:
    """«Иванов Иван Петрович» → «Иванов И. П.»."""
    parts = full_name.split()
    if len(parts) < 2:
        return full_name.strip()
    return " ".join([parts[0], *(f"{p[0]}." for p in parts[1:])])


@dataclass(frozen=True)
class CountedResult:
    """The secret vote's result as ``Election.result`` holds it, its signature checked."""

    payload: Mapping[str, Any]
    canonical: bytes  # the payload's canonical bytes, as the registry signed them
    roll: int
    cast: int
    spoiled: int

    @property
    def definition(self) -> str:
        return str(self.payload["definition"])

    @property
    def head(self) -> str:
        return str(self.payload["head"])

    @property
    def digest(self) -> str:
        """``address(canonical(result payload))``: the result's fingerprint."""
        return content_address(self.canonical)

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(int(c) for c in self.payload["counts"])

    @property
    def took_part(self) -> int:
        return int(self.payload["took_part"])

    @property
    def decrypted_by(self) -> tuple[int, ...]:
        return tuple(int(i) for i in self.payload["decrypted_by"])

    @property
    def outcome(self) -> Mapping[str, Any]:
        outcome = self.payload["outcome"]
        assert isinstance(outcome, Mapping)
        return outcome


def read_result(election: Election, keyring: RegistryKeyring | None) -> CountedResult:
    """The counted result of ``election``; ``Conflict`` (``not_counted``) before the
    count, (``bad_result``) if what is stored is not a result the registry signed.
    Without ``keyring`` the signature is not checked again (the meeting's protocol
    reads a result whose commission protocol was issued from it, checked then)."""
    if election.result is None or election.state not in (
        ElectionState.COUNTED,
        ElectionState.APPROVED,
    ):
        raise Conflict("the election is not counted yet", code="not_counted")
    try:
        stored = json.loads(election.result)
        envelope = SignedDocument.parse(stored["result"])
        if keyring is not None:
            envelope.verify(keyring.public_keys(), expect_type=RESULT_TYPE, expect_version=1)
        elif envelope.type != RESULT_TYPE:
            raise CredentialError("wrong_type", f"a {envelope.type}, not a result")
        payload = envelope.payload
        result = CountedResult(
            payload=payload,
            canonical=envelope.canonical,
            roll=int(stored["roll"]),
            cast=int(stored["cast"]),
            spoiled=int(stored["spoiled"]),
        )
        counts = result.counts
        # Read now, so that a malformed field is refused here rather than on a page.
        _ = (result.definition, result.head, result.took_part, result.decrypted_by)
        indexes = [
            int(i) for name in ("passed", "elected", "tied") for i in result.outcome.get(name, [])
        ]
    except (CredentialError, KeyError, TypeError, ValueError) as exc:
        raise Conflict(
            f"the election's stored result cannot be read: {exc}", code="bad_result"
        ) from exc
    options = 3 if election.kind is ElectionKind.QUESTION else len(election.candidates)
    if len(counts) != options or any(not 0 <= i < options for i in indexes):
        raise Conflict(
            f"the result's counts or outcome do not fit the ballot's {options} options",
            code="bad_result",
        )
    return result


@dataclass(frozen=True)
class CandidateLine:
    """A candidate's line: «за», «против» (``approve_each`` only) and the outcome."""

    position: int
    name: str
    votes_for: int
    votes_against: int | None
    elected: bool
    tied: bool


@dataclass(frozen=True)
class CommissionProtocol:
    """The commission's protocol as the template lays it out."""

    organisation: str
    short_name: str
    body: str
    number: str
    date: dt.date
    place: str
    held: str  # «на заседании … № 7 (2 марта 2026 года), вопрос повестки 2: …» or absentee
    kind: str  # election | question
    office: str
    question: str
    seats: int
    form: str
    ballot: str  # the ballot form in words
    rule: str  # the rule in words
    members: tuple[tuple[str, bool], ...]  # (name, counted), by position
    commission_chair: str
    threshold: int
    basis: str  # how the commission was formed
    issued: int
    cast: int
    valid: int
    spoiled: int
    candidates: tuple[CandidateLine, ...]
    answers: tuple[tuple[str, int], ...]  # a question's «за», «против», «воздержался»
    turnout_met: bool
    elected: tuple[str, ...]
    tied: tuple[str, ...]
    tied_seats: int
    vacant: int
    adopted: bool | None
    definition: str
    head: str
    result: str
    decrypted: tuple[str, ...]
    signers: tuple[str, ...]  # who signs: the members who counted

    @property
    def date_text(self) -> str:
        return russian_date(self.date)

    @property
    def title(self) -> str:
        return TITLE


_FRACTIONS = {(1, 2): "половины", (2, 3): "двух третей", (3, 4): "трёх четвертей"}
_BALLOTS = {
    BallotForm.ONE_OF: "один кандидат из нескольких",
    BallotForm.APPROVE_EACH: "«за» или «против» по каждому кандидату, не более {seats} «за»",
    BallotForm.YES_NO: "«за», «против» или «воздержался»",
}


def rule_text(election: Election) -> str:
    """The election rule in words: «более половины голосов членов, принявших участие в
    голосовании»."""
    fraction = _FRACTIONS.get(
        (election.rule_numerator, election.rule_denominator),
        f"{election.rule_numerator}/{election.rule_denominator}",
    )
    base = (
        "голосов членов, принявших участие в голосовании"
        if election.rule_base == "took_part"
        else "числа членов органа"
    )
    more = "более" if election.rule_strict else "не менее"
    if election.kind is ElectionKind.QUESTION:
        return f"решение принято, если «за» подано {more} {fraction} {base}"
    return (
        f"избранным считается кандидат, получивший «за» {more} {fraction} {base}; если таких"
        " больше, чем мест, избраны получившие больше голосов, равенство голосов на границе"
        " объявляется"
    )


async def commission_protocol(
    session: AsyncSession,
    election: Election,
    keyring: RegistryKeyring | None,
    *,
    zone: str = DEFAULT_ZONE,
) -> tuple[CommissionProtocol, CountedResult, list[tuple[int, str]]]:
    """The protocol of ``election``'s count, its result, and who signs it: the
    commission members (member id, full name) whose partial decryptions were combined,
    in the commission's order."""
    result = read_result(election, keyring)
    commission = await session.scalar(
        select(Commission)
        .where(
            Commission.election_id == election.id,
            Commission.state == CommissionState.CONSTITUTED,
        )
        .order_by(Commission.id.desc())
    )
    if commission is None:
        raise Conflict("the election has no constituted commission", code="no_commission")
    await session.refresh(commission, ["members"])
    by_position = {m.position: m for m in commission.members}
    unknown = [i for i in result.decrypted_by if i not in by_position]
    if unknown or len(set(result.decrypted_by)) < commission.threshold:
        raise Conflict(
            "the result does not name at least the threshold of this commission's members",
            code="bad_result",
        )
    counted = set(result.decrypted_by)
    signers = [(by_position[i].member_id, by_position[i].name) for i in sorted(counted)]
    body = await session.get(Body, election.body_id)
    assert body is not None
    org = await session.get(Organisation, body.organisation_id)
    assert org is not None
    clock = LocalClock(zone, "ru")
    if election.meeting_id is not None:
        meeting = await session.get(Meeting, election.meeting_id)
        item = await session.get(AgendaItem, election.item_id) if election.item_id else None
        assert meeting is not None
        day = meeting_date(meeting)
        held = f"на заседании {genitive(body.name)} №\u00a0{meeting.number} от {russian_date(day)}"
        if item is not None:
            held += f", вопрос повестки {item.position} «{' '.join(item.title.split())}»"
        place = meeting.place or (f"г. {org.city}" if org.city else "")
    else:
        day = (election.counted_at or election.created_at).date()
        deadline = clock.labelled(election.closes_at) if election.closes_at else ""
        held = f"заочно между заседаниями {genitive(body.name)}, голосование до {deadline}"
        place = f"г. {org.city}" if org.city else ""
    outcome = result.outcome
    counts = result.counts
    candidates: list[CandidateLine] = []
    answers: list[tuple[str, int]] = []
    elected: list[str] = []
    tied: list[str] = []
    adopted: bool | None = None
    if election.kind is ElectionKind.QUESTION:
        answers = list(zip(("за", "против", "воздержался"), counts, strict=True))
        adopted = outcome.get("adopted") is True
    else:
        ballot = list(election.candidates)
        elected_idx = [int(i) for i in outcome.get("elected", [])]
        tied_idx = [int(i) for i in outcome.get("tied", [])]
        for index, candidate in enumerate(ballot):
            against = (
                result.took_part - counts[index]
                if election.form is BallotForm.APPROVE_EACH
                else None
            )
            candidates.append(
                CandidateLine(
                    position=index + 1,
                    name=candidate.name,
                    votes_for=counts[index],
                    votes_against=against,
                    elected=index in elected_idx,
                    tied=index in tied_idx,
                )
            )
        elected = [ballot[i].name for i in elected_idx]
        tied = [ballot[i].name for i in tied_idx]
    members = tuple((m.name, m.position in counted) for m in commission.members)
    basis = (
        "избрана открытым голосованием" + (f" № {commission.vote_id}" if commission.vote_id else "")
        if commission.vote_id is not None
        else f"назначена ({commission.appointed_by})"
    )
    protocol = CommissionProtocol(
        organisation=org.name,
        short_name=org.short_name,
        body=body.name,
        number=PROTOCOL_NUMBER,
        date=day,
        place=place,
        held=held,
        kind=election.kind.value,
        office=election.office,
        question=election.question,
        seats=election.seats,
        form=election.form.value,
        ballot=_BALLOTS[election.form].format(seats=election.seats),
        rule=rule_text(election),
        members=members,
        commission_chair=commission.members[0].name if commission.members else "",
        threshold=commission.threshold,
        basis=basis,
        issued=result.roll,
        cast=result.cast,
        valid=result.took_part,
        spoiled=result.spoiled,
        candidates=tuple(candidates),
        answers=tuple(answers),
        turnout_met=outcome.get("valid") is not False,
        elected=tuple(elected),
        tied=tuple(tied),
        tied_seats=int(outcome.get("tied_seats", 0) or 0),
        vacant=int(outcome.get("vacant", 0) or 0),
        adopted=adopted,
        definition=result.definition,
        head=result.head,
        result=result.digest,
        decrypted=tuple(by_position[i].name for i in sorted(counted)),
        signers=tuple(name for _member, name in signers),
    )
    return protocol, result, signers
