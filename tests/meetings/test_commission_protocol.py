"""The counting commission's protocol of a secret vote, on both databases: issued from
a counted election (its figures, who is elected, ties), signed by the commission
members who counted, verified offline (D-checks, and failing by name when tampered),
approved by the body's open vote (and every refusal), and recorded in the meeting's
protocol.

The election is brought to ``counted`` as the secret vote's server leaves it: a
``kvorum.secret-vote-result`` signed by the registry's key, the election rule's
outcome computed by ``ballots.election_rule``, stored in ``Election.result`` with the
roll, the ballots cast and the spoiled ones."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.election_rule import (
    ElectionCounts,
    QuestionCounts,
    decide_election,
    decide_question,
)
from ballots.secretformats import result_payload
from crypto.canonical import canonicalize, canonicalize_signed
from crypto.envelope import sign_document
from crypto.hashing import content_address
from crypto.instant import parse_instant
from meetings import docverify
from meetings.docsign import signature_payload
from meetings.docx import protocol_docx
from meetings.drafting import meeting_protocol
from meetings.elections.models import Election, ElectionKind, ElectionState
from meetings.elections.protocol import commission_protocol
from meetings.elections.schemas import CommissionIn, ElectionIn
from meetings.issuing import DocumentDesk
from meetings.models import Document, DocumentState, MeetingEvent
from meetings.votes import VoteDesk
from registry.actor import Actor
from registry.errors import Conflict, PermissionDenied
from registry.models import Role
from registry.orm import utcnow
from server.docrender import DocumentRenderer
from server.pages import make_jinja
from tests.meetings.test_elections import Hall, cast, events, hall, prepared, refused


def html_text(html: str) -> str:
    """The words of a rendered document (the same HTML is laid out into the PDF)."""
    text = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")
    return " ".join(text.split())


S = ElectionState
DEFINITION = "sha256:" + "d" * 64
HEAD = "sha256:" + "e" * 64


def actor_of(h: Hall, index: int) -> Actor:
    """Member ``index`` of the body, from plain values a rollback cannot expire."""
    return Actor(
        account_id=None,
        display_name=h.names[index],
        roles=frozenset({Role.MEMBER}),
        member_id=h.ids[index],
    )


async def constituted(db: AsyncSession, db_url: str, h: Hall, n: int = 3) -> int:
    """A closed nomination (the last ``n`` members as candidates) and a commission of
    members 1, 2, 3 (the secretary first) elected by the body's open vote."""
    eid = await prepared(db, h, n=n)
    async with db.begin():
        _commission, vote = await h.service(db).propose_commission(
            eid, CommissionIn(member_ids=[h.ids[1], h.ids[2], h.ids[3]])
        )
        vote_id = vote.id
    await cast(db_url, h, vote_id, {0: 1, 1: 1, 2: 1, 3: 1, 4: 2})
    async with db.begin():
        await VoteDesk(db, h.chair, h.keyring).close_meeting_vote(h.setup.meeting_id, vote_id)
    return eid


async def count(
    db: AsyncSession,
    h: Hall,
    eid: int,
    votes_for: tuple[int, ...],
    *,
    took_part: int = 6,
    spoiled: int = 1,
    decrypted_by: tuple[int, ...] = (1, 3),
) -> dict[str, Any]:
    """Bring the election to ``counted`` exactly as the secret vote's server does."""
    async with db.begin():
        election = await db.get(Election, eid, populate_existing=True)
        assert election is not None
        outcome_json: dict[str, Any]
        if election.kind is ElectionKind.QUESTION:
            yes, no, abstain = votes_for
            question = QuestionCounts(yes, no, abstain, took_part, 7, max(6, took_part))
            outcome_json = {"valid": True, "adopted": decide_question(question)}
        else:
            counts = ElectionCounts(
                "approve_each",
                election.seats,
                took_part,
                votes_for,
                tuple(took_part - v for v in votes_for),
                7,
                max(6, took_part),
            )
            outcome = decide_election(counts)
            outcome_json = {
                "valid": outcome.valid,
                "passed": list(outcome.passed),
                "elected": list(outcome.elected),
                "tied": list(outcome.tied),
                "tied_seats": outcome.tied_seats,
                "vacant": outcome.vacant,
            }
        payload = result_payload(
            vote=41,
            definition=DEFINITION,
            length=20,
            head=HEAD,
            closed_at=utcnow().replace(microsecond=0) - dt.timedelta(minutes=5),
            took_part=took_part,
            counts=votes_for,
            decrypted_by=decrypted_by,
            outcome=outcome_json,
            issuer=h.keyring.current_id,
        )
        signed = sign_document(payload, h.keyring.current)
        election.result = canonicalize(
            {
                "result": signed.to_json(),
                "roll": max(6, took_part),
                "cast": took_part,
                "spoiled": spoiled,
            }
        ).decode()
        election.state = S.COUNTED
        election.counted_at = utcnow()
    return payload


async def issue(db: AsyncSession, h: Hall, eid: int, actor: Actor | None = None) -> int:
    """Render the commission's protocol and fix it (a commission member who counted)."""
    async with db.begin():
        election = await db.get(Election, eid, populate_existing=True)
        assert election is not None
        await db.refresh(election, ["candidates"])
        protocol, result, signers = await commission_protocol(db, election, h.keyring)
        renderer = DocumentRenderer(make_jinja())
        pdf = renderer.pdf(renderer.commission_protocol_html(protocol, draft=False))
        desk = DocumentDesk(db, actor or actor_of(h, 3), h.keyring)
        document = await desk.finalise_commission(election, protocol, result, signers, pdf)
        return document.id


async def sign_as(db: AsyncSession, h: Hall, document_id: int, index: int) -> None:
    """Member ``index`` signs in their browser: the payload the server asks for, signed
    with their own key."""
    actor = actor_of(h, index)
    voter = h.voters[index]
    async with db.begin():
        desk = DocumentDesk(db, actor, h.keyring)
        request = await desk.signing_request(document_id)
        payload = signature_payload(
            request["record"],
            request["role"],
            serial=voter.serial,
            previous=request["previous"],
            signed_at=parse_instant(request["now"]),
            member=request["member"],
        )
        await desk.sign(document_id, sign_document(payload, voter.key).to_json())


async def test_the_protocol_states_the_count_and_who_is_elected(
    db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    eid = await constituted(db, db_url, h)
    # 6 took part, two seats: 5 and 4 «за» pass (more than 3), 2 does not.
    payload = await count(db, h, eid, (5, 2, 4))
    async with db.begin():
        election = await db.get(Election, eid, populate_existing=True)
        assert election is not None
        await db.refresh(election, ["candidates"])
        protocol, result, signers = await commission_protocol(db, election, h.keyring)
    assert [s for s, _ in signers] == [h.ids[1], h.ids[3]]
    assert (protocol.issued, protocol.cast, protocol.valid, protocol.spoiled) == (6, 6, 6, 1)
    assert [(c.votes_for, c.votes_against, c.elected) for c in protocol.candidates] == [
        (5, 1, True),
        (2, 4, False),
        (4, 2, True),
    ]
    assert protocol.elected == (h.names[4], h.names[6])
    assert protocol.decrypted == (h.names[1], h.names[3])
    assert protocol.definition == DEFINITION
    assert result.digest == content_address(canonicalize_signed(payload))
    renderer = DocumentRenderer(make_jinja())
    html = renderer.commission_protocol_html(protocol, draft=False)
    assert renderer.pdf(html).startswith(b"%PDF-")
    text = html_text(html)
    for expected in (
        "СЧЁТНАЯ КОМИССИЯ",
        "ПРОТОКОЛ",
        "о результатах тайного голосования",
        "Выборы — члены президиума; число мест — 2.",
        "выданных членам органа (по списку голосующих), — 6",
        "не учтённых при подсчёте, — 1",
        "Избранными считаются (члены президиума):",
        "Подсчёт голосов — не менее 2 из 3 членов комиссии",
        DEFINITION[:40],
    ):
        assert expected in text, expected
    # Names never break: non-breaking spaces inside each.
    assert h.names[4].replace(" ", "\u00a0") in html


async def test_a_tie_is_reported_as_a_tie(db: AsyncSession, db_url: str, tmp_path: Path) -> None:
    h = await hall(db, tmp_path)
    eid = await constituted(db, db_url, h)
    # 7 took part: 6 and 4 and 4 «за» pass (more than 3.5); the two with 4 tie for the
    # second seat.
    await count(db, h, eid, (6, 4, 4), took_part=7)
    async with db.begin():
        election = await db.get(Election, eid, populate_existing=True)
        assert election is not None
        await db.refresh(election, ["candidates"])
        protocol, _result, _signers = await commission_protocol(db, election, h.keyring)
    assert protocol.elected == (h.names[4],)
    assert protocol.tied == (h.names[5], h.names[6])
    assert protocol.tied_seats == 1
    renderer = DocumentRenderer(make_jinja())
    text = html_text(renderer.commission_protocol_html(protocol, draft=False))
    assert "Равное число голосов на границе избрания получили" in text
    assert "никто из них не избран" in text


async def test_members_who_counted_sign_and_the_body_approves(
    db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    eid = await constituted(db, db_url, h)
    await count(db, h, eid, (5, 2, 4))
    # Before the protocol is issued, the approval is refused.
    await refused(
        db, lambda: h.service(db).put_to_approval(eid), Conflict, "protocol is not issued yet"
    )
    # A plain member (not of the commission, not an officer) issues nothing.
    with pytest.raises(PermissionDenied, match="commission member who counted"):
        await issue(db, h, eid, actor=h.outsider)
    await db.rollback()
    document_id = await issue(db, h, eid)
    with pytest.raises(Conflict, match="already issued"):
        await issue(db, h, eid)
    await db.rollback()

    # The commission member who did not count does not sign.
    with pytest.raises(PermissionDenied, match="commission members who counted"):
        await sign_as(db, h, document_id, 2)
    await db.rollback()
    await sign_as(db, h, document_id, 3)
    await refused(db, lambda: h.service(db).put_to_approval(eid), Conflict, "have not all signed")
    await sign_as(db, h, document_id, 1)
    with pytest.raises(Conflict, match="nobody is to sign"):
        await sign_as(db, h, document_id, 1)
    await db.rollback()

    document = await db.get(Document, document_id, populate_existing=True)
    assert document is not None
    assert document.state is DocumentState.SIGNED
    assert document.signed_pdf is not None
    signed_pdf = document.signed_pdf
    await db.rollback()
    report = docverify.verify_pdf(signed_pdf, keys=h.keyring.public_keys())
    assert report.ok, report.text()
    lines = [c for c in report.checks if c.name == "commission"]
    assert sorted(str(c.params["signer"]) for c in lines) == sorted([h.names[1], h.names[3]])
    assert "the commission member" in report.summary
    # A changed byte fails, naming the check.
    tampered = bytearray(signed_pdf)
    tampered[len(signed_pdf) // 3] ^= 0x01
    bad = docverify.verify_pdf(bytes(tampered), keys=h.keyring.public_keys())
    assert not bad.ok
    assert {c.name for c in bad.failures} & {"file", "unchanged", "pdf"}
    assert "FAIL  D-" in bad.text()

    # Only the meeting's secretary or chair put it to the vote.
    await refused(
        db,
        lambda: h.service(db, actor_of(h, 2)).put_to_approval(eid),
        PermissionDenied,
        "only the meeting's secretary or chair",
    )
    async with db.begin():
        vote = await h.service(db).put_to_approval(eid)
        vote_id = vote.id
        assert vote.question.startswith(
            "Об утверждении протокола счётной комиссии о результатах тайного голосования"
        )
    await refused(db, lambda: h.service(db).put_to_approval(eid), Conflict, "voting on")
    await cast(db_url, h, vote_id, {0: 1, 1: 1, 2: 1, 3: 1, 4: 2})
    async with db.begin():
        await VoteDesk(db, h.chair, h.keyring).close_meeting_vote(h.setup.meeting_id, vote_id)
    election = await db.get(Election, eid, populate_existing=True)
    assert election is not None
    assert election.state is S.APPROVED
    assert election.approval_vote_id == vote_id
    assert election.approved_at is not None
    await db.rollback()
    async with db.begin():
        row, access = await h.service(db).get(eid)
        out = await h.service(db).out(row, access)
    assert (out.state, out.approval_vote_id, out.protocol_document_id) == (
        S.APPROVED,
        vote_id,
        document_id,
    )
    assert out.approved_at is not None
    assert out.counted_at is not None
    kinds = [k for k, _ in await events(db, h.setup.meeting_id, "election.approv")]
    assert kinds == ["election.approval_put", "election.approved"]
    await refused(db, lambda: h.service(db).put_to_approval(eid), Conflict, "already approved")

    # The meeting's protocol records the commission's election, the result as the
    # commission's protocol states it, and the approval.
    async with db.begin():
        protocol, _cited = await meeting_protocol(db, h.secretary, h.setup.meeting_id)
    item = protocol.items[0]
    assert [len(p.votes) for p in item.elections] == [1, 1]
    assert item.votes == ()  # both votes are recorded under the election, not twice
    commission, result = item.elections
    assert commission.heard.startswith("Об избрании счётной комиссии (члены президиума)")
    assert commission.decided[0].startswith("Избрать счётную комиссию (члены президиума)")
    assert result.heard.startswith("О результатах тайного голосования (члены президиума)")
    assert "выдано бюллетеней — 6" in result.heard
    assert result.fingerprints is not None
    assert result.fingerprints[:2] == (DEFINITION, HEAD)
    assert result.decided[0] == (
        "Утвердить протокол счётной комиссии о результатах тайного голосования (члены президиума)."
    )
    assert result.decided[1].startswith("Считать избранными (члены президиума):")
    # The names end with an initial's full stop: the sentence does not get a second one.
    for line in (*commission.decided, *result.decided):
        assert line.endswith("."), line
        assert ".." not in line, line
    renderer = DocumentRenderer(make_jinja())
    text = html_text(renderer.protocol_html(protocol, draft=False))
    document_xml = zipfile.ZipFile(io.BytesIO(protocol_docx(protocol))).read("word/document.xml")
    assert "Утвердить протокол счётной комиссии" in document_xml.decode()
    for expected in (
        "СЛУШАЛИ: Об избрании счётной комиссии",
        "ПОСТАНОВИЛИ: Избрать счётную комиссию",
        "СЛУШАЛИ: О результатах тайного голосования",
        "ПОСТАНОВИЛИ: Утвердить протокол счётной комиссии",
        "Считать избранными",
        f"Отпечаток определения тайного голосования: {DEFINITION}",
    ):
        assert expected in text, expected


async def test_a_rejected_approval_leaves_the_election_counted(
    db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    eid = await constituted(db, db_url, h)
    await count(db, h, eid, (5, 2, 4))
    document_id = await issue(db, h, eid)
    await sign_as(db, h, document_id, 1)
    await sign_as(db, h, document_id, 3)
    async with db.begin():
        vote_id = (await h.service(db, h.chair).put_to_approval(eid)).id
    await cast(db_url, h, vote_id, {0: 2, 1: 2, 2: 2, 3: 1})
    async with db.begin():
        await VoteDesk(db, h.chair, h.keyring).close_meeting_vote(h.setup.meeting_id, vote_id)
    election = await db.get(Election, eid, populate_existing=True)
    assert election is not None
    assert election.state is S.COUNTED
    assert election.approved_at is None
    await db.rollback()
    rows = await db.scalars(
        select(MeetingEvent.kind).where(MeetingEvent.kind.like("election.approv%"))
    )
    assert list(rows.all()) == ["election.approval_put", "election.approval_rejected"]
    await db.rollback()
    # It can be put again.
    async with db.begin():
        again = await h.service(db).put_to_approval(eid)
        assert again.id != vote_id
    put = await events(db, h.setup.meeting_id, "election.approval_put")
    assert [data["vote"] for _kind, data in put] == [vote_id, again.id]


async def test_a_secret_question_and_the_refusals_before_a_valid_count(
    db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    async with db.begin():
        service = h.service(db)
        election = await service.create_on_item(
            h.setup.meeting_id,
            ElectionIn(
                item_id=h.setup.item_ids[1],
                kind=ElectionKind.QUESTION,
                office="О недоверии казначею",
                question="Выразить недоверие казначею?",
                form="yes_no",
            ),
        )
        eid = election.id
        await service.transition(eid, S.CANDIDATES_CLOSED)
        _commission, vote = await service.propose_commission(
            eid, CommissionIn(member_ids=[h.ids[1], h.ids[2], h.ids[3]])
        )
        vote_id = vote.id
    await cast(db_url, h, vote_id, {0: 1, 1: 1, 2: 1, 3: 1})
    async with db.begin():
        await VoteDesk(db, h.chair, h.keyring).close_meeting_vote(h.setup.meeting_id, vote_id)

    # Not counted yet: no protocol.
    with pytest.raises(Conflict, match="not counted yet"):
        await issue(db, h, eid)
    await db.rollback()

    # 6 took part: 4 «за», 1 «против», 1 «воздержался» — adopted (4 > 3).
    await count(db, h, eid, (4, 1, 1), decrypted_by=(2, 3))
    async with db.begin():
        row = await db.get(Election, eid, populate_existing=True)
        assert row is not None
        protocol, _result, signers = await commission_protocol(db, row, h.keyring)
    assert [member for member, _name in signers] == [h.ids[2], h.ids[3]]
    assert protocol.answers == (("за", 4), ("против", 1), ("воздержался", 1))
    assert protocol.adopted is True
    text = html_text(DocumentRenderer(make_jinja()).commission_protocol_html(protocol, draft=False))
    assert "Вопрос — Выразить недоверие казначею?" in text
    assert "«за» — 4; «против» — 1; «воздержался» — 1." in text
    assert "Решение принято." in text

    # A stored result the registry did not sign is refused by name.
    async with db.begin():
        row = await db.get(Election, eid, populate_existing=True)
        assert row is not None
        stored = json.loads(row.result or "{}")
        stored["result"]["payload"]["counts"] = [5, 0, 1]
        row.result = json.dumps(stored)
    with pytest.raises(Conflict, match="cannot be read") as caught:
        await issue(db, h, eid)
    assert caught.value.code == "bad_result"
    await db.rollback()
