"""The meeting's life as a state machine: the table, who may move it, and — through the
real service and database — that a refused move changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from meetings.lifecycle import allowed_targets, check_transition
from meetings.models import Meeting, MeetingEvent, MeetingForm, MeetingState, Notice
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from registry.actor import Actor
from registry.errors import Conflict, NotFound, PermissionDenied
from registry.models import Role, SeatRole
from server import database
from tests import factories as f

S = MeetingState
ALL_ROLES = ("chair", "secretary", "registrar", "member", "auditor")

# The table as the documentation states it, written out independently of the code.
OFFICERS = {"chair", "secretary", "registrar"}
SESSION_TABLE = {
    (S.DRAFT, S.ANNOUNCED): OFFICERS,
    (S.ANNOUNCED, S.DRAFT): OFFICERS,
    (S.ANNOUNCED, S.REGISTRATION): {"chair", "secretary"},
    (S.REGISTRATION, S.IN_SESSION): {"chair"},
    (S.IN_SESSION, S.CLOSED): {"chair"},
}
ABSENTEE_TABLE = {
    (S.DRAFT, S.ANNOUNCED): OFFICERS,
    (S.ANNOUNCED, S.DRAFT): OFFICERS,
    (S.ANNOUNCED, S.CLOSED): {"chair", "secretary"},
}


def table(form: MeetingForm) -> dict[tuple[S, S], set[str]]:
    return ABSENTEE_TABLE if form is MeetingForm.ABSENTEE else SESSION_TABLE


_runs = itertools.count(1)  # each example builds its own organisation in the same database
role_sets = st.frozensets(st.sampled_from(ALL_ROLES))


# --- the pure table ----------------------------------------------------------------------------


@pytest.mark.parametrize("form", list(MeetingForm))
def test_allowed_targets_match_the_table(form: MeetingForm) -> None:
    for state in S:
        for size in range(len(ALL_ROLES) + 1):
            for roles in itertools.combinations(ALL_ROLES, size):
                expected = [
                    target
                    for (source, target), who in table(form).items()
                    if source is state and who & set(roles)
                ]
                assert sorted(allowed_targets(form, state, frozenset(roles))) == sorted(expected)


def test_refusals_say_why() -> None:
    with pytest.raises(PermissionDenied, match="only the meeting's chair may"):
        check_transition(MeetingForm.ONLINE, S.REGISTRATION, S.IN_SESSION, frozenset({"secretary"}))
    with pytest.raises(Conflict, match="possible from here: announced") as caught:
        check_transition(MeetingForm.ONLINE, S.DRAFT, S.CLOSED, frozenset({"chair"}))
    assert caught.value.code == "bad_transition"
    with pytest.raises(Conflict, match="possible from here: none"):
        check_transition(MeetingForm.ONLINE, S.CLOSED, S.DRAFT, frozenset({"chair"}))
    # An absentee meeting has no registration and no session at all.
    for target in (S.REGISTRATION, S.IN_SESSION):
        with pytest.raises(Conflict):
            check_transition(MeetingForm.ABSENTEE, S.ANNOUNCED, target, frozenset(ALL_ROLES))


def test_members_and_auditors_never_move_a_meeting() -> None:
    for form in MeetingForm:
        for state in S:
            assert allowed_targets(form, state, frozenset({"member", "auditor"})) == []


@given(
    form=st.sampled_from(list(MeetingForm)),
    steps=st.lists(st.tuples(st.sampled_from(list(S)), role_sets), max_size=40),
)
def test_random_walks_follow_the_table(
    form: MeetingForm, steps: list[tuple[S, frozenset[str]]]
) -> None:
    state = S.DRAFT
    for target, roles in steps:
        before = state
        try:
            check_transition(form, state, target, roles)
        except (Conflict, PermissionDenied):
            assert state is before  # a refused move changes nothing
            who = table(form).get((state, target))
            assert who is None or not who & roles
            continue
        assert (state, target) in table(form)
        assert table(form)[(state, target)] & roles
        state = target
        if form is MeetingForm.ABSENTEE:
            assert state not in (S.REGISTRATION, S.IN_SESSION)
    assert state in S


# --- through the service and the database ---------------------------------------------------------


async def _scenario(url: str, form: MeetingForm, steps: list[tuple[S, str]]) -> None:
    engine = database.create_engine(url)
    try:
        async with database.make_sessionmaker(engine)() as db:
            root = await f.org(db, f"Краевой союз {next(_runs)}")
            body = await f.body(db, root, "Президиум")
            chair = await f.member(db, root, "Иванов", email="ivanov@example.ru")
            secretary = await f.member(db, root, "Петрова")
            plain = await f.member(db, root, "Сидоров")
            outsider = await f.member(db, root, "Волков")
            await f.seat(db, body, chair, SeatRole.CHAIR)
            await f.seat(db, body, secretary, SeatRole.SECRETARY)
            await f.seat(db, body, plain)
            actors = {
                "chair": Actor(1, "Иванов", member_id=chair.id),
                "secretary": Actor(2, "Петрова", member_id=secretary.id),
                "member": Actor(3, "Сидоров", member_id=plain.id),
                "registrar": Actor(4, "Регистратор", roles=frozenset({Role.REGISTRAR})),
                "auditor": Actor(5, "Ревизор", roles=frozenset({Role.AUDITOR})),
                "outsider": Actor(6, "Волков", member_id=outsider.id),
            }
            service = MeetingService(db, actors["registrar"])
            meeting = await service.create(
                MeetingIn(
                    body_id=body.id,
                    title="Заседание",
                    starts_at=dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC),
                    form=form,
                )
            )
            await service.add_item(meeting.id, AgendaItemIn(title="О повестке"))
            await db.commit()
            state = S.DRAFT
            for target, who in steps:
                events = await db.scalar(
                    select(func.count())
                    .select_from(MeetingEvent)
                    .where(MeetingEvent.meeting_id == meeting.id)
                )
                try:
                    async with db.begin_nested():
                        await MeetingService(db, actors[who]).transition(meeting.id, target)
                except (Conflict, PermissionDenied, NotFound):
                    await db.refresh(meeting)
                    assert meeting.state is state  # refused: nothing changed
                    after = await db.scalar(
                        select(func.count())
                        .select_from(MeetingEvent)
                        .where(MeetingEvent.meeting_id == meeting.id)
                    )
                    assert after == events
                    roles = {who} if who != "outsider" else set()
                    allowed = table(form).get((state, target), set())
                    assert not allowed & roles
                    continue
                assert (state, target) in table(form)
                assert who in table(form)[(state, target)]
                state = target
                await db.refresh(meeting)
                assert meeting.state is state
                if form is MeetingForm.ABSENTEE:
                    assert state not in (S.REGISTRATION, S.IN_SESSION)
            await db.commit()
            stored = await db.get(Meeting, meeting.id)
            assert stored is not None
            assert stored.state is state
            # Every announcement from a draft told the three members once more.
            notices = await db.scalar(
                select(func.count()).select_from(Notice).where(Notice.meeting_id == meeting.id)
            )
            assert notices is not None
            assert notices % 3 == 0
    finally:
        await engine.dispose()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    form=st.sampled_from(list(MeetingForm)),
    steps=st.lists(
        st.tuples(
            st.sampled_from(list(S)),
            st.sampled_from(["chair", "secretary", "member", "registrar", "auditor", "outsider"]),
        ),
        max_size=12,
    ),
)
def test_service_walks_follow_the_table(
    db_url: str, form: MeetingForm, steps: list[tuple[S, str]]
) -> None:
    asyncio.run(_scenario(db_url, form, steps))


def test_a_full_session_walk(db_url: str) -> None:
    walk = [
        (S.ANNOUNCED, "secretary"),
        (S.REGISTRATION, "secretary"),
        (S.IN_SESSION, "secretary"),  # refused: only the chair opens
        (S.IN_SESSION, "chair"),
        (S.DRAFT, "chair"),  # refused: no way back from a session
        (S.CLOSED, "chair"),
    ]
    asyncio.run(_scenario(db_url, MeetingForm.MIXED, walk))


def test_an_absentee_walk_never_sits(db_url: str) -> None:
    walk = [
        (S.ANNOUNCED, "registrar"),
        (S.REGISTRATION, "chair"),
        (S.IN_SESSION, "chair"),
        (S.CLOSED, "registrar"),  # refused: the registrar does not count results
        (S.CLOSED, "secretary"),
    ]
    asyncio.run(_scenario(db_url, MeetingForm.ABSENTEE, walk))
