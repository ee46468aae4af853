"""The access-control matrix: every route of the application, declared once with what
each kind of caller gets, and checked for all of them.

Callers (see :mod:`tests.server.access_world`): the registrar, the chair and the
secretary of a presidium, a member with a seat in it, a member of the organisation
without one, an auditor, a meeting's invited guest (their link's cookie) and an
anonymous visitor. What a caller gets is one of

``ok``      the action is done or the page shown (2xx, or a redirect that is not to /login)
``tried``   let through to the action, which refuses the request itself (a conflict, a
            bad signature): anything but 401, 403, 404, a login page or a 5xx
``403``     refused for lack of the right
``404``     not found: the caller may not learn that the thing exists
``login``   not logged in: 401 (the API) or the login page

Every route the router knows must have an entry: a route added without one fails
:func:`test_every_route_is_declared`. For lists and details, ``sees`` checks what the
caller is shown (card numbers and contacts only to those with the right).

Requests are made with valid-looking parameters: ids of the dataset, bodies that the
allowed callers' requests succeed with. Requests that change or remove something work
on an object made for that one request, so every caller meets the same state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import FormData, WSServerHandshakeError
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.elections.schemas import CandidateIn
from meetings.elections.services import ElectionService
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, GuestIn, MeetingIn
from registry.actor import Actor
from registry.bodies import BodyService
from registry.models import BodyKind, Organisation, OrgKind, Passkey, Role, SeatRole
from registry.schemas import SeatIn
from server.app import create_app
from server.keys import KEYRING, SETTINGS
from server.settings import Settings
from tests import factories as f
from tests.ballots.votes_setup import enrol
from tests.server.access_world import PDF, ROLES, World, build_world, make_client_factory

SYSTEM = Actor.system("access matrix")
_n = itertools.count(1)

Outcome = str  # ok | tried | 403 | 404 | login
OUTCOMES = {"ok", "tried", "403", "404", "login"}
ANON = ("guest", "anonymous")


def who(**groups: str) -> dict[str, Outcome]:
    """Outcomes by role: ``who(ok="registrar chair", **{"403": "…"})``; the guest and
    the anonymous visitor default to ``login``, every other role must be named."""
    expected: dict[str, Outcome] = {}
    for outcome, roles in groups.items():
        assert outcome in OUTCOMES, outcome
        for role in roles.split():
            assert role in ROLES, role
            assert role not in expected, f"{role} named twice"
            expected[role] = outcome
    for role in ANON:
        expected.setdefault(role, "login")
    missing = set(ROLES) - set(expected)
    assert not missing, f"no outcome for {sorted(missing)}"
    return expected


EVERYONE = "registrar chair secretary seated unseated auditor guest anonymous"
USERS = "registrar chair secretary seated unseated auditor"
VIEWERS = "registrar chair secretary seated auditor"  # of the presidium's meetings
PREPARERS = "registrar chair secretary"
OFFICERS = "chair secretary"


# --- a request ----------------------------------------------------------------------------


@dataclasses.dataclass
class Call:
    """What one caller sends: the path's parameters and the body."""

    world: World
    role: str
    params: dict[str, int | str] = dataclasses.field(default_factory=dict)
    json: Any = None
    form: dict[str, Any] | None = None  # a list for a field given more than once
    upload: tuple[str, bytes, str] | None = None  # field, content, file name
    query: dict[str, str] | None = None

    @property
    def db(self) -> AsyncSession:
        return self.world.db

    @property
    def ids(self) -> dict[str, int]:
        return self.world.ids


Prepare = Callable[[Call], Awaitable[None]]
Sees = Callable[[Call, Any, str], None]


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    path: str
    expect: dict[str, Outcome]
    prepare: Prepare | None = None
    sees: Sees | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


# The path parameters every route gets unless its ``prepare`` says otherwise.
DEFAULT_PARAMS = {
    "org_id": "org",
    "member_id": "member:seated",
    "body_id": "body",
    "seat_id": "seat",
    "meeting_id": "meeting",
    "item_id": "item",
    "material_id": "material",
    "guest_id": "guest",
    "notice_id": "notice",
    "vote_id": "vote",
    "document_id": "document",
    "serial": "serial",
    "account_id": "account:seated",
}


# --- objects made for one request ---------------------------------------------------------


async def fresh_member(call: Call, *, account: bool = False) -> int:
    organisation = await call.db.get(Organisation, call.ids["org"])
    assert organisation is not None
    made = await f.member(call.db, organisation, "Новиков", card=f"77-{next(_n):06d}")
    if account:
        acc = await f.account(call.db, Role.MEMBER, member_obj=made)
        call.params["account_id"] = acc.id
    await call.db.commit()
    return made.id


async def fresh_meeting(call: Call) -> None:
    """A draft meeting of the presidium with one item and one guest."""
    chair = Actor(None, "chair", frozenset(), call.world.members["chair"].id)
    service = MeetingService(call.db, chair)
    made = await service.create(
        MeetingIn(
            body_id=call.ids["body"],
            title="Внеочередное заседание",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
        )
    )
    item = await service.add_item(made.id, AgendaItemIn(title="Разное"))
    guest = await service.add_guest(made.id, GuestIn(name="Гость Гостевич"))
    await call.db.commit()
    call.params |= {"meeting_id": made.id, "item_id": item.id, "guest_id": guest.id}


async def fresh_key(call: Call) -> None:
    """A new certified key of the member with a seat (each revocation revokes one)."""
    member = call.world.members["seated"]
    voter = await enrol(
        call.db,
        call.world.keyring,
        member,
        call.ids["account:seated"],
    )
    await call.db.commit()
    call.params["serial"] = voter.serial


# --- what callers see ---------------------------------------------------------------------


def _members(answer: Any) -> dict[int, dict[str, Any]]:
    items = answer["items"] if isinstance(answer, dict) and "items" in answer else answer
    return {m["id"]: m for m in items}


def sees_members(call: Call, answer: Any, _text: str) -> None:
    """The member list: card numbers to the registrar alone (and each member's own
    record), contacts also to the body's officers, names to the body's members and the
    auditors; a member without a seat sees only themself, and nobody but the registrar
    sees the other organisation's member."""
    members = _members(answer)
    ids = call.ids
    own = ids.get(f"member:{call.role}")
    # Someone else on the presidium, as the caller sees them.
    other = ids["member:chair"] if call.role == "seated" else ids["member:seated"]
    assert ids["outsider"] not in members or call.role == "registrar"
    for member_id, member in members.items():
        if call.role == "registrar" or member_id == own:
            assert member["card_number"], member
        else:
            assert member["card_number"] is None, (call.role, member)
    if call.role == "unseated":
        assert set(members) <= {own}, sorted(members)
        return
    shown = members[other]
    if call.role in ("registrar", "chair", "secretary"):
        assert shown["email"], (call.role, shown)
        assert shown["phone"], (call.role, shown)
    else:
        assert shown["email"] is None, (call.role, shown)
        assert shown["phone"] is None, (call.role, shown)


def sees_member(call: Call, answer: Any, _text: str) -> None:
    """One member's record (the member with a seat): as in the list."""
    if call.role == "seated":
        assert answer["card_number"], answer  # their own
        return
    assert (answer["card_number"] is not None) == (call.role == "registrar"), answer
    assert (answer["email"] is not None) == (call.role in PREPARERS.split()), answer


def sees_member_page(call: Call, _answer: Any, text: str) -> None:
    card = call.world.members["seated"].card_number
    assert (card in text) == (call.role in ("registrar", "seated")), call.role


_CARD = re.compile(r"\b\d\d-\d{6}\b")


def sees_no_card_numbers(call: Call, _answer: Any, text: str) -> None:
    """A member list page shows card numbers to the registrar, and to others their own."""
    shown = set(_CARD.findall(text))
    if call.role == "registrar":
        assert shown, "the registrar sees card numbers"
        return
    own = call.world.members[call.role].card_number if call.role in call.world.members else None
    assert shown <= {own}, (call.role, shown)


def sees_meetings(call: Call, answer: Any, _text: str) -> None:
    shown = {m["id"] for m in (answer["items"] if isinstance(answer, dict) else answer)}
    theirs = {call.ids["meeting"], call.ids["held"]}
    assert (theirs <= shown) == (call.role != "unseated"), (call.role, shown)
    assert not (theirs & shown) or call.role != "unseated"


def sees_votes(call: Call, answer: Any, _text: str) -> None:
    shown = {v["vote"] for v in (answer["items"] if isinstance(answer, dict) else answer)}
    assert (call.ids["vote"] in shown) == (call.role != "unseated"), (call.role, shown)


def sees_journal(call: Call, _answer: Any, text: str) -> None:
    shown = f"/documents/{call.ids['document']}" in text
    assert shown == (call.role != "unseated"), call.role


def sees_self(call: Call, answer: Any, _text: str) -> None:
    assert answer["member_id"] == call.ids[f"member:{call.role}"], answer
    assert answer["account_id"] == call.ids[f"account:{call.role}"], answer


def sees_own_keys(call: Call, answer: Any, _text: str) -> None:
    """Each member lists their own signing keys, nobody else's."""
    serials = {key["serial"] for key in answer}
    assert (call.ids["serial"] in serials) == (call.role == "seated"), (call.role, serials)


def sees_own_notices(call: Call, answer: Any, _text: str) -> None:
    shown = {notice["id"] for notice in answer}
    assert (call.ids["notice"] in shown) == (call.role == "seated"), (call.role, shown)


def sees_member_contacts(call: Call, _answer: Any, text: str) -> None:
    """A member's page: the card number to the registrar and the member, the contacts
    also to the body's officers."""
    sees_member_page(call, _answer, text)
    email = call.world.members["seated"].email
    assert email
    assert (email in text) == (call.role in ("registrar", "chair", "secretary", "seated"))


def sees_body_roster(call: Call, _answer: Any, text: str) -> None:
    """A body's page: no card numbers but to the registrar; contacts not to the
    body's members, auditors or outsiders."""
    if call.role != "registrar":
        sees_no_card_numbers(call, _answer, text)
    if call.role in ("seated", "unseated", "auditor"):
        assert call.world.members["chair"].email not in text, call.role


def _links(text: str, prefix: str) -> set[int]:
    return {int(n) for n in re.findall(rf'href="{prefix}(\d+)"', text)}


def sees_meeting_list(call: Call, _answer: Any, text: str) -> None:
    shown = _links(text, "/meetings/")
    theirs = {call.ids["meeting"], call.ids["held"]}
    assert (theirs <= shown) == (call.role != "unseated"), (call.role, shown)
    assert not theirs & shown or call.role != "unseated", shown


def sees_vote_list(call: Call, _answer: Any, text: str) -> None:
    shown = _links(text, "/votes/")
    assert (call.ids["vote"] in shown) == (call.role != "unseated"), (call.role, shown)


def sees_access_log(call: Call, answer: Any, _text: str) -> None:
    assert answer["items"], "the registrar sees the log"


# --- the declarations ---------------------------------------------------------------------


def _json(body: Any) -> Prepare:
    async def prepare(call: Call) -> None:
        call.json = body(call) if callable(body) else body

    return prepare


def _form(fields: dict[str, Any] | Callable[[Call], dict[str, Any]]) -> Prepare:
    async def prepare(call: Call) -> None:
        call.form = fields(call) if callable(fields) else dict(fields)

    return prepare


def _then(*steps: Prepare) -> Prepare:
    async def prepare(call: Call) -> None:
        for step in steps:
            await step(call)

    return prepare


def _param(**names: str | int) -> Prepare:
    async def prepare(call: Call) -> None:
        for name, value in names.items():
            # A name of the dataset's objects stands for its id; anything else as it is.
            call.params[name] = call.ids.get(value, value) if isinstance(value, str) else value

    return prepare


async def _fresh_member(call: Call) -> None:
    call.params["member_id"] = await fresh_member(call)


async def _fresh_account(call: Call) -> None:
    call.params["member_id"] = await fresh_member(call, account=True)


async def _fresh_org(call: Call) -> None:
    parent = await call.db.get(Organisation, call.ids["org"])
    made = await f.org(call.db, f"Первичная {next(_n)}", kind=OrgKind.PRIMARY, parent=parent)
    await call.db.commit()
    call.params["org_id"] = made.id


async def _fresh_body(call: Call) -> None:
    organisation = await call.db.get(Organisation, call.ids["org"])
    assert organisation is not None
    made = await f.body(call.db, organisation, f"Комиссия {next(_n)}", kind=BodyKind.OTHER)
    await call.db.commit()
    call.params["body_id"] = made.id


async def _fresh_seat(call: Call) -> None:
    member_id = await fresh_member(call)
    seat = await BodyService(call.db, SYSTEM).add_seat(
        call.ids["body"],
        SeatIn(member_id=member_id, role=SeatRole.MEMBER, term_start=dt.date(2024, 1, 1)),
    )
    await call.db.commit()
    call.params["seat_id"] = seat.id


async def _own_passkey(call: Call) -> None:
    """A passkey of the member with a seat (only they may remove it)."""
    passkey = Passkey(
        account_id=call.ids["account:seated"],
        credential_id=f"credential-{next(_n)}".encode(),
        public_key=b"\x00" * 77,
        label="телефон",
    )
    call.db.add(passkey)
    await call.db.commit()
    call.params["passkey_id"] = passkey.id


def _today() -> str:
    return dt.date.today().isoformat()


def _later(days: int = 2) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(microsecond=0).isoformat()


def _signature_shape(call: Call) -> dict[str, Any]:
    """A signed envelope of the right shape whose signature is wrong."""
    return {"payload": {"type": "x", "v": 1}, "signer": "0" * 32, "signature": "A" * 86}


def _acknowledgement_shape(call: Call) -> dict[str, Any]:
    """An acknowledgement as a recipient's browser sends it, signed by no real key."""
    payload = {
        "type": "kvorum.document-acknowledgement",
        "v": 1,
        "record": "sha256:" + "0" * 64,
        "journal": "1/2026",
        "member": call.ids.get(f"member:{call.role}", 1),
        "serial": 1,
        "org": 0,
        "statement": "ознакомлен",
        "acknowledged_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return _signature_shape(call) | {"payload": payload}


async def fresh_candidate(call: Call) -> None:
    """A candidate in the draft election on the meeting's item, without consent yet
    (each withdrawal or consent takes one)."""
    chair = Actor(None, "chair", frozenset(), call.world.members["chair"].id)
    made = await ElectionService(call.db, chair, call.world.keyring).nominate(
        call.ids["election"],
        CandidateIn(name=f"Выдвиженцев {next(_n)}", nominated_by="самовыдвижение"),
    )
    await call.db.commit()
    call.params["candidate_id"] = made.id


def _commission(call: Call) -> list[int]:
    """Three members of the presidium, as a counting commission."""
    return [call.ids[f"member:{role}"] for role in ("chair", "secretary", "seated")]


def _commission_form(call: Call) -> dict[str, Any]:
    return {"member_id": [str(n) for n in _commission(call)]}


def sees_elections(call: Call, answer: Any, _text: str) -> None:
    """The list of elections: those of the presidium to its members, officers, the
    registrar and the auditor; none to a member without a seat."""
    shown = {e["id"] for e in answer}
    theirs = {call.ids["election"], call.ids["absentee_election"]}
    if call.role == "unseated":
        assert not shown & theirs, shown
    else:
        assert theirs <= shown, (call.role, shown)


def sees_election_links(call: Call, _answer: Any, text: str) -> None:
    shown = _links(text, "/elections/")
    theirs = {call.ids["election"], call.ids["absentee_election"]}
    assert (theirs <= shown) == (call.role != "unseated"), (call.role, shown)
    assert not theirs & shown or call.role != "unseated", shown


def sees_meeting_elections(call: Call, answer: Any, _text: str) -> None:
    shown = {e["id"] for e in answer}
    assert call.ids["election"] in shown, (call.role, shown)


def _election_form(call: Call) -> dict[str, str]:
    return {"office": "секретарь", "kind": "election", "seats": "1", "form": "approve_each"}


def _absentee_form(call: Call) -> dict[str, str]:
    closes = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    return _election_form(call) | {
        "body_id": str(call.ids["body"]),
        "closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
    }


ROUTES: list[Route] = [
    # --- public ---------------------------------------------------------------------------
    Route("GET", "/healthz", who(ok=EVERYONE)),
    Route("GET", "/favicon.ico", who(ok=EVERYONE)),
    Route("GET", "/api/v1/openapi.json", who(ok=EVERYONE)),
    Route("GET", "/", who(ok=EVERYONE)),
    Route("GET", "/locale/{locale}", who(ok=EVERYONE), _param(locale="en")),
    Route("GET", "/login", who(ok=EVERYONE)),
    Route("POST", "/login/code", who(ok=EVERYONE), _form({"email": "nobody@example.org"})),
    Route(
        "POST",
        "/login/code/verify",
        who(login=EVERYONE),
        _form({"email": "nobody@example.org", "code": "000000"}),
    ),
    Route("POST", "/logout", who(ok=EVERYONE)),
    Route("GET", "/invite/{token}", who(**{"404": EVERYONE}), _param(token="x" * 43)),
    Route("POST", "/invite/{token}", who(**{"404": EVERYONE}), _param(token="x" * 43)),
    Route("GET", "/guest/{token}", who(ok=EVERYONE)),
    Route("GET", "/card/verify", who(ok=EVERYONE)),
    Route("POST", "/card/verify", who(tried=EVERYONE), _form({"credential": "KV1.x.y"})),
    Route("GET", "/registry/keys.json", who(ok=EVERYONE)),
    Route("GET", "/registry/revocations.json", who(ok=EVERYONE)),
    Route("GET", "/documents/verify", who(ok=EVERYONE)),
    Route("POST", "/documents/verify", who(tried=EVERYONE)),
    Route("POST", "/api/v1/auth/login/options", who(ok=EVERYONE)),
    # A passkey that is not registered here is refused as unauthenticated, for anyone.
    Route(
        "POST",
        "/api/v1/auth/login",
        who(login=EVERYONE),
        _json({"challenge_id": 1, "credential": {"id": "x"}}),
    ),
    # A ballot needs no session: its signature by a certified key is the voter's word.
    Route("POST", "/api/v1/votes/{vote_id}/ballots", who(tried=EVERYONE), _json(_signature_shape)),
    # --- one's own account ----------------------------------------------------------------
    Route("GET", "/api/v1/me", who(ok=USERS), sees=sees_self),
    Route("GET", "/account/security", who(ok=USERS)),
    Route("POST", "/api/v1/auth/passkeys/options", who(ok=USERS)),
    Route(
        "POST",
        "/api/v1/auth/passkeys",
        who(login=EVERYONE),
        _json({"challenge_id": 1, "credential": {"id": "x"}}),
    ),
    Route(
        "POST",
        "/account/passkeys/{passkey_id}/remove",
        who(ok="seated", **{"404": "registrar chair secretary unseated auditor"}),
        _own_passkey,
    ),
    Route("POST", "/api/v1/keys/challenge", who(ok=USERS)),
    Route(
        "POST",
        "/api/v1/keys",
        who(tried=USERS),
        _json(lambda c: {"challenge_id": 1, "public_key": "A" * 43, "signature": "A" * 86}),
    ),
    Route("GET", "/api/v1/keys", who(ok=USERS), sees=sees_own_keys),
    Route(
        "POST",
        "/api/v1/keys/{serial}/revoke",
        who(ok="registrar seated", **{"403": "chair secretary unseated auditor"}),
        _then(fresh_key, _json({"reason": "lost"})),
    ),
    Route(
        "POST",
        "/account/keys/{serial}/revoke",
        who(ok="registrar seated", **{"403": "chair secretary unseated auditor"}),
        fresh_key,
    ),
    Route("GET", "/card", who(ok=USERS)),
    Route("GET", "/card/text", who(ok=USERS)),
    Route("GET", "/card/qr.svg", who(ok=USERS)),
    Route("GET", "/api/v1/notices", who(ok=USERS), sees=sees_own_notices),
    Route("GET", "/notices", who(ok=USERS)),
    Route("POST", "/notices/read-all", who(ok=USERS)),
    Route(
        "POST",
        "/api/v1/notices/{notice_id}/read",
        who(ok="seated", **{"404": "registrar chair secretary unseated auditor"}),
    ),
    Route(
        "POST",
        "/notices/{notice_id}/read",
        who(ok="seated", **{"404": "registrar chair secretary unseated auditor"}),
    ),
    Route("GET", "/api/v1/inbox", who(ok=USERS)),
    Route("GET", "/documents/inbox", who(ok=USERS)),
    # --- the registry ---------------------------------------------------------------------
    Route("GET", "/api/v1/organisations", who(ok=USERS)),
    Route(
        "POST",
        "/api/v1/organisations",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _json(
            lambda c: {
                "name": f"Организация {next(_n)}",
                "kind": "member_organisation",
                "parent_id": c.ids["org"],
            }
        ),
    ),
    Route("GET", "/api/v1/organisations/{org_id}", who(ok=USERS)),
    Route(
        "PATCH",
        "/api/v1/organisations/{org_id}",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _json({"city": "Пермь"}),
    ),
    Route(
        "POST",
        "/api/v1/organisations/{org_id}/retire",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _fresh_org,
    ),
    Route(
        "POST",
        "/api/v1/organisations/{org_id}/members/import",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_org, lambda c: _upload(c, "Фамилия;Имя;№ профбилета\nИмпортов;Иван;88-{n}\n")),
    ),
    Route(
        "GET",
        "/api/v1/organisations/{org_id}/members/export",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route("GET", "/api/v1/members", who(ok=USERS), sees=sees_members),
    Route(
        "POST",
        "/api/v1/members",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _json(
            lambda c: {
                "organisation_id": c.ids["org"],
                "surname": "Созданный",
                "name": "Пётр",
                "card_number": f"66-{next(_n):06d}",
            }
        ),
    ),
    Route(
        "GET",
        "/api/v1/members/{member_id}",
        who(ok=VIEWERS, **{"404": "unseated"}),
        sees=sees_member,
    ),
    Route(
        "PATCH",
        "/api/v1/members/{member_id}",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _json({"position": "инженер"}),
    ),
    Route(
        "POST",
        "/api/v1/members/{member_id}/retire",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_member, _json({"left_on": _today()})),
    ),
    Route(
        "POST",
        "/api/v1/members/{member_id}/invitations",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_member, _json({})),
    ),
    Route(
        "POST",
        "/api/v1/bodies/{body_id}/invitations",
        who(ok=PREPARERS, **{"403": "seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/api/v1/accounts/{account_id}/disable",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _fresh_account,
    ),
    Route(
        "POST",
        "/api/v1/accounts/{account_id}/enable",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _fresh_account,
    ),
    Route("GET", "/api/v1/bodies", who(ok=USERS)),
    Route(
        "POST",
        "/api/v1/bodies",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _json(lambda c: {"organisation_id": c.ids["org"], "kind": "other", "name": f"Б{next(_n)}"}),
    ),
    Route("GET", "/api/v1/bodies/{body_id}", who(ok=USERS)),
    Route(
        "PATCH",
        "/api/v1/bodies/{body_id}",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _json({"name": "Президиум"}),
    ),
    Route(
        "POST",
        "/api/v1/bodies/{body_id}/retire",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _fresh_body,
    ),
    Route(
        "GET",
        "/api/v1/bodies/{body_id}/composition",
        who(ok=VIEWERS, **{"403": "unseated"}),
    ),
    Route("GET", "/api/v1/bodies/{body_id}/seats", who(ok=VIEWERS, **{"403": "unseated"})),
    Route(
        "POST",
        "/api/v1/bodies/{body_id}/seats",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(
            _fresh_member,
            _json(lambda c: {"member_id": c.params["member_id"], "term_start": "2024-01-01"}),
        ),
    ),
    Route(
        "POST",
        "/api/v1/bodies/{body_id}/seats/{seat_id}/end",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_seat, _json({"term_end": _today()})),
    ),
    Route(
        "GET",
        "/api/v1/access-log",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        sees=sees_access_log,
    ),
    # the registry's pages
    Route("GET", "/registry/organisations", who(ok=USERS)),
    Route(
        "GET",
        "/registry/organisations/new",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/organisations/new",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _form(
            lambda c: {
                "name": f"Организация {next(_n)}",
                "kind": "member_organisation",
                "parent_id": str(c.ids["org"]),
            }
        ),
    ),
    Route("GET", "/registry/organisations/{org_id}", who(ok=USERS)),
    Route(
        "GET",
        "/registry/organisations/{org_id}/edit",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/organisations/{org_id}/edit",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _form(lambda c: {"name": "Краевой союз", "kind": "regional_council", "city": "Пермь"}),
    ),
    Route(
        "POST",
        "/registry/organisations/{org_id}/retire",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_org, _form({"confirm": "on"})),
    ),
    Route("GET", "/registry/members", who(ok=USERS), sees=sees_no_card_numbers),
    Route(
        "GET",
        "/registry/members/new",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/members/new",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _form(
            lambda c: {
                "organisation_id": str(c.ids["org"]),
                "surname": "Созданный",
                "name": "Пётр",
                "card_number": f"65-{next(_n):06d}",
            }
        ),
    ),
    Route(
        "GET",
        "/registry/members/{member_id}",
        who(ok=VIEWERS, **{"404": "unseated"}),
        sees=sees_member_contacts,
    ),
    Route(
        "GET",
        "/registry/members/{member_id}/edit",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/members/{member_id}/edit",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _form(
            lambda c: {
                "organisation_id": str(c.ids["org"]),
                "surname": c.world.members["seated"].surname,
                "name": c.world.members["seated"].name,
                "patronymic": c.world.members["seated"].patronymic,
                "card_number": c.world.members["seated"].card_number,
            }
        ),
    ),
    Route(
        "POST",
        "/registry/members/{member_id}/retire",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_member, _form({"left_on": _today()})),
    ),
    Route(
        "POST",
        "/registry/members/{member_id}/invite",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _fresh_member,
    ),
    Route(
        "GET",
        "/registry/members/{member_id}/card",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/members/{member_id}/card/issue",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/members/{member_id}/card/revoke",
        who(tried="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route("GET", "/registry/bodies", who(ok=USERS)),
    Route(
        "GET",
        "/registry/bodies/new",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/bodies/new",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _form(
            lambda c: {
                "organisation_id": str(c.ids["org"]),
                "kind": "other",
                "name": f"Комиссия {next(_n)}",
                "quorum_numerator": "1",
                "quorum_denominator": "2",
            }
        ),
    ),
    Route("GET", "/registry/bodies/{body_id}", who(ok=USERS), sees=sees_body_roster),
    Route(
        "GET",
        "/registry/bodies/{body_id}/edit",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/bodies/{body_id}/edit",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _form({"name": "Президиум", "quorum_numerator": "1", "quorum_denominator": "2"}),
    ),
    Route(
        "POST",
        "/registry/bodies/{body_id}/retire",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_body, _form({"confirm": "on"})),
    ),
    Route(
        "POST",
        "/registry/bodies/{body_id}/seats",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(
            _fresh_member,
            _form(
                lambda c: {
                    "member_id": str(c.params["member_id"]),
                    "role": "member",
                    "term_start": "2024-01-01",
                }
            ),
        ),
    ),
    Route(
        "POST",
        "/registry/bodies/{body_id}/seats/{seat_id}/end",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
        _then(_fresh_seat, _form({"term_end": _today()})),
    ),
    Route(
        "GET",
        "/registry/import",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "POST",
        "/registry/import",
        who(tried="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "GET",
        "/registry/import/done",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    Route(
        "GET",
        "/registry/access-log",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    # The letters kept instead of sent hold invitation links and login codes.
    Route(
        "GET",
        "/registry/outbox",
        who(ok="registrar", **{"403": "chair secretary seated unseated auditor"}),
    ),
    # A body's officers may invite its members (the links are e-mailed, shown to the
    # registrar alone).
    Route(
        "POST",
        "/registry/bodies/{body_id}/invite-all",
        who(ok=PREPARERS, **{"403": "seated unseated auditor"}),
    ),
    # The old addresses of the registry's lists lead to them, for anyone.
    Route("GET", "/organisations", who(ok=EVERYONE)),
    Route("GET", "/members", who(ok=EVERYONE)),
    Route("GET", "/bodies", who(ok=EVERYONE)),
    # --- meetings -------------------------------------------------------------------------
    Route("GET", "/api/v1/meetings", who(ok=USERS), sees=sees_meetings),
    Route(
        "POST",
        "/api/v1/meetings",
        who(ok=PREPARERS, **{"403": "seated unseated auditor"}),
        _json(lambda c: {"body_id": c.ids["body"], "title": "Заседание", "starts_at": _later()}),
    ),
    Route("GET", "/api/v1/meetings/{meeting_id}", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "PATCH",
        "/api/v1/meetings/{meeting_id}",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _json({"place": "Пермь, ул. Ленина, 51"}),
    ),
    Route(
        "POST",
        "/api/v1/meetings/{meeting_id}/transition",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(fresh_meeting, _json({"target": "announced"})),
    ),
    Route(
        "GET",
        "/api/v1/meetings/{meeting_id}/events",
        who(ok=VIEWERS, **{"404": "unseated"}),
    ),
    Route(
        "POST",
        "/api/v1/meetings/{meeting_id}/items",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _json({"title": "Новый вопрос"}),
    ),
    Route(
        "PATCH",
        "/api/v1/items/{item_id}",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _json({"rapporteur": "Петрова А. А."}),
    ),
    Route(
        "POST",
        "/api/v1/items/{item_id}/remove",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        fresh_meeting,
    ),
    Route(
        "POST",
        "/api/v1/items/{item_id}/materials",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        lambda c: _upload(c, PDF, name="Справка.pdf"),
    ),
    Route("GET", "/api/v1/materials/{material_id}", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "POST",
        "/api/v1/meetings/{meeting_id}/guests",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _json({"name": "Приглашённый Гость"}),
    ),
    Route(
        "POST",
        "/api/v1/meetings/{meeting_id}/guests/{guest_id}/remove",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        fresh_meeting,
    ),
    # the meetings' pages
    Route("GET", "/meetings", who(ok=USERS), sees=sees_meeting_list),
    Route("GET", "/meetings/new", who(ok=PREPARERS, **{"403": "seated unseated auditor"})),
    Route(
        "POST",
        "/meetings/new",
        who(ok=PREPARERS, **{"403": "seated unseated auditor"}),
        _form(
            lambda c: {
                "body_id": str(c.ids["body"]),
                "title": "Заседание",
                "starts_at": _later()[:16],
                "tz": "Asia/Yekaterinburg",
                "speaking_minutes": "5",
            }
        ),
    ),
    Route("GET", "/meetings/{meeting_id}", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "GET",
        "/meetings/{meeting_id}/edit",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/edit",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(
            fresh_meeting,
            _form(
                {
                    "title": "Внеочередное заседание",
                    "starts_at": _later(3)[:16],
                    "tz": "Asia/Yekaterinburg",
                    "speaking_minutes": "5",
                }
            ),
        ),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/transition",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(fresh_meeting, _form({"target": "announced"})),
    ),
    Route(
        "GET",
        "/meetings/{meeting_id}/calendar.ics",
        who(ok=VIEWERS, **{"404": "unseated"}),
    ),
    Route("GET", "/meetings/{meeting_id}/record", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "GET",
        "/meetings/{meeting_id}/items/new",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/items/new",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _form({"title": "Новый вопрос"}),
    ),
    Route(
        "GET",
        "/meetings/{meeting_id}/items/{item_id}/edit",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/items/{item_id}/edit",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _form({"title": "О плане работы"}),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/items/{item_id}/move",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _form({"direction": "up"}),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/items/{item_id}/remove",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        fresh_meeting,
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/items/{item_id}/materials",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        lambda c: _upload(c, PDF, name="Справка.pdf"),
    ),
    Route("GET", "/materials/{material_id}", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "POST",
        "/meetings/{meeting_id}/guests",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _form({"name": "Приглашённый Гость"}),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/guests/{guest_id}/remove",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        fresh_meeting,
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/guests/{guest_id}/link",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        fresh_meeting,
    ),
    Route(
        "GET",
        "/meetings/{meeting_id}/room",
        who(ok=VIEWERS + " guest", **{"404": "unseated", "login": "anonymous"}),
    ),
    Route("GET", "/meetings/{meeting_id}/vote", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "GET",
        "/meetings/{meeting_id}/hall",
        who(ok=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
    ),
    Route(
        "GET",
        "/meetings/{meeting_id}/ws",
        who(ok=VIEWERS + " guest", **{"404": "unseated", "login": "anonymous"}),
    ),
    # --- votes ----------------------------------------------------------------------------
    Route(
        "POST",
        "/api/v1/meetings/{meeting_id}/votes",
        who(tried="chair", **{"403": "registrar secretary seated auditor", "404": "unseated"}),
        _json({"question": "Утвердить повестку"}),
    ),
    Route(
        "POST",
        "/api/v1/meetings/{meeting_id}/votes/{vote_id}/close",
        who(tried="chair", **{"403": "registrar secretary seated auditor", "404": "unseated"}),
        _param(meeting_id="held"),
    ),
    Route(
        "GET",
        "/api/v1/meetings/{meeting_id}/votes",
        who(ok=VIEWERS, **{"404": "unseated"}),  # the upcoming meeting: no votes yet
    ),
    Route(
        "GET",
        "/api/v1/meetings/{meeting_id}/bundle",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(meeting_id="held"),
    ),
    Route(
        "POST",
        "/api/v1/votes/absentee",
        who(ok=PREPARERS, **{"403": "seated unseated auditor"}),
        _json(
            lambda c: {
                "body_id": c.ids["body"],
                "title": "Заочное голосование",
                "question": "Утвердить план?",
                "closes_at": _later(),
            }
        ),
    ),
    Route(
        "POST",
        "/api/v1/votes/surveys",
        who(ok="registrar secretary", **{"403": "chair seated unseated auditor"}),
        _json(
            lambda c: {
                "organisation_id": c.ids["org"],
                "title": "Опрос",
                "question": "Удобно ли время?",
                "options": ["да", "нет"],
                "closes_at": _later(),
            }
        ),
    ),
    Route("GET", "/api/v1/votes", who(ok=USERS), sees=sees_votes),
    Route("GET", "/api/v1/votes/{vote_id}", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "GET",
        "/api/v1/votes/{vote_id}/definition",
        who(ok=VIEWERS, **{"404": "unseated"}),
    ),
    Route(
        "GET",
        "/api/v1/votes/{vote_id}/entries/{seq}",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(seq=1),
    ),
    Route("GET", "/api/v1/votes/{vote_id}/bundle", who(ok=VIEWERS, **{"404": "unseated"})),
    Route("GET", "/votes", who(ok=USERS), sees=sees_vote_list),
    Route("GET", "/votes/new", who(ok=PREPARERS, **{"403": "seated unseated auditor"})),
    Route(
        "POST",
        "/votes/new",
        who(tried=PREPARERS, **{"403": "seated unseated auditor"}),
        _form(lambda c: {"body_id": str(c.ids["body"]), "kind": "absentee"}),
    ),
    Route("GET", "/votes/{vote_id}", who(ok=VIEWERS, **{"404": "unseated"})),
    # --- elections ------------------------------------------------------------------------
    Route("GET", "/api/v1/elections", who(ok=USERS), sees=sees_elections),
    Route("GET", "/elections", who(ok=USERS), sees=sees_election_links),
    # Between meetings a body's officers or the registrar prepare an election.
    Route(
        "POST",
        "/api/v1/elections",
        who(ok=PREPARERS, **{"403": "seated unseated auditor"}),
        _json(
            lambda c: {
                "body_id": c.ids["body"],
                "office": "член президиума",
                "closes_at": _later(),
            }
        ),
    ),
    Route("GET", "/elections/new", who(ok=PREPARERS, **{"403": "seated unseated auditor"})),
    Route(
        "POST",
        "/elections/new",
        who(ok=PREPARERS, **{"403": "seated unseated auditor"}),
        _form(_absentee_form),
    ),
    # At a meeting: the meeting's chair, secretary or the registrar.
    Route(
        "GET",
        "/api/v1/meetings/{meeting_id}/elections",
        who(ok=VIEWERS, **{"404": "unseated"}),  # as the meeting itself
        sees=sees_meeting_elections,
    ),
    Route(
        "POST",
        "/api/v1/meetings/{meeting_id}/elections",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _json(lambda c: {"item_id": c.ids["item"], "office": "ревизор"}),
    ),
    Route(
        "GET",
        "/meetings/{meeting_id}/elections/new",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/elections/new",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _form(lambda c: _election_form(c) | {"item_id": str(c.ids["item"])}),
    ),
    Route(
        "GET",
        "/api/v1/elections/{election_id}",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(election_id="election"),
    ),
    Route(
        "GET",
        "/elections/{election_id}",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(election_id="election"),
    ),
    # The secret vote's pages: shells for whoever may see the election; what each may do
    # there the secret API decides (its own routes below).
    *(
        Route(
            "GET",
            f"/elections/{{election_id}}/{page}",
            who(ok=VIEWERS, **{"404": "unseated"}),
            _param(election_id="election"),
        )
        for page in ("key", "ballot", "count")
    ),
    Route(
        "POST",
        "/api/v1/elections/{election_id}/candidates",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(
            _param(election_id="election"),
            _json(lambda c: {"name": f"Кандидатов {next(_n)}", "nominated_by": "самовыдвижение"}),
        ),
    ),
    Route(
        "POST",
        "/elections/{election_id}/candidates",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(
            _param(election_id="election"),
            _form(lambda c: {"name": f"Кандидатов {next(_n)}", "nominated_by": "самовыдвижение"}),
        ),
    ),
    Route(
        "POST",
        "/api/v1/elections/{election_id}/candidates/{candidate_id}/consent",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), fresh_candidate, _json({"note": "устно"})),
    ),
    Route(
        "POST",
        "/elections/{election_id}/candidates/{candidate_id}/consent",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), fresh_candidate, _form({"note": "устно"})),
    ),
    Route(
        "DELETE",
        "/api/v1/elections/{election_id}/candidates/{candidate_id}",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), fresh_candidate),
    ),
    Route(
        "POST",
        "/elections/{election_id}/candidates/{candidate_id}/withdraw",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), fresh_candidate),
    ),
    # A move the draft cannot make: the preparers are let through to the refusal.
    Route(
        "POST",
        "/api/v1/elections/{election_id}/transition",
        who(tried=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), _json({"target": "key_ready"})),
    ),
    Route(
        "POST",
        "/elections/{election_id}/transition",
        who(tried=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), _form({"target": "key_ready"})),
    ),
    # The commission: put to the vote by the meeting's chair or secretary; appointed
    # between meetings by the body's officers or the registrar. Both elections are in
    # draft, so the allowed callers reach the refusal of the state.
    Route(
        "POST",
        "/api/v1/elections/{election_id}/commission",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), _json(lambda c: {"member_ids": _commission(c)})),
    ),
    Route(
        "POST",
        "/elections/{election_id}/commission",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), _form(_commission_form)),
    ),
    Route(
        "POST",
        "/api/v1/elections/{election_id}/commission/appoint",
        who(tried=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(
            _param(election_id="absentee_election"),
            _json(lambda c: {"member_ids": _commission(c)}),
        ),
    ),
    Route(
        "POST",
        "/elections/{election_id}/commission/appoint",
        who(tried=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_param(election_id="absentee_election"), _form(_commission_form)),
    ),
    # The commission's protocol: issued by a commission member or the meeting's
    # secretary or chair, put to the body's vote by the secretary or chair. The election
    # is in draft (not counted), so the allowed callers reach the refusal of the state.
    Route(
        "POST",
        "/api/v1/elections/{election_id}/protocol",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _param(election_id="election"),
    ),
    Route(
        "POST",
        "/elections/{election_id}/protocol",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), _form({})),
    ),
    Route(
        "POST",
        "/api/v1/elections/{election_id}/approval",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _param(election_id="election"),
    ),
    Route(
        "POST",
        "/elections/{election_id}/approval",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _then(_param(election_id="election"), _form({})),
    ),
    # --- secret votes: the election is in draft, so it has no secret vote yet and whoever
    # may see it reaches that refusal; ballots and spoils are authenticated by signature.
    *(
        Route(
            "GET",
            f"/api/v1/elections/{{election_id}}/secret{tail}",
            who(tried=VIEWERS, **{"404": "unseated"}),
            _param(election_id="election"),
        )
        for tail in ("", "/entries", "/certificates", "/shares", "/bundle")
    ),
    *(
        Route(
            "POST",
            f"/api/v1/elections/{{election_id}}/secret/{tail}",
            who(tried=VIEWERS, **{"404": "unseated"}),
            _then(_param(election_id="election"), _json(_signature_shape)),
        )
        for tail in ("transport-keys", "complaints", "partials")
    ),
    Route(
        "POST",
        "/api/v1/elections/{election_id}/secret/dealings",
        who(tried=VIEWERS, **{"404": "unseated"}),
        _then(
            _param(election_id="election"),
            _json(lambda c: {"dealer": _signature_shape(c), "shares": []}),
        ),
    ),
    *(
        Route(
            "POST",
            f"/api/v1/elections/{{election_id}}/secret/{tail}",
            who(tried=VIEWERS, **{"404": "unseated"}),
            _param(election_id="election"),
        )
        for tail in ("key", "open", "close")
    ),
    *(
        Route(
            "POST",
            f"/api/v1/elections/{{election_id}}/secret/{tail}",
            who(tried=EVERYONE),
            _then(_param(election_id="election"), _json(_signature_shape)),
        )
        for tail in ("ballots", "spoils")
    ),
    # --- documents ------------------------------------------------------------------------
    Route(
        "GET",
        "/meetings/{meeting_id}/documents",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(meeting_id="held"),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/documents/texts",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _then(_param(meeting_id="held"), _form(lambda c: {"item": str(c.ids["held_item"])})),
    ),
    Route(
        "POST",
        "/meetings/{meeting_id}/documents/preview",
        who(tried=OFFICERS, **{"403": "registrar seated auditor", "404": "unseated"}),
        _then(
            _param(meeting_id="held"),
            _form(lambda c: {"item": str(c.ids["held_item"]), "heard": "Об итогах."}),
        ),
    ),
    # Only the secretary finalises (and withdraws) a document.
    Route(
        "POST",
        "/meetings/{meeting_id}/documents",
        who(tried="secretary", **{"403": "registrar chair seated auditor", "404": "unseated"}),
        _then(_param(meeting_id="held"), _form({"kind": "protocol"})),
    ),
    Route(
        "GET",
        "/meetings/{meeting_id}/{kind}{format}",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(meeting_id="held", kind="protocol", format=""),
    ),
    Route(
        "GET",
        "/meetings/{meeting_id}/items/{item_id}/{kind}{format}",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(meeting_id="held", item_id="held_item", kind="resolution", format=""),
    ),
    Route("GET", "/documents", who(ok=USERS), sees=sees_journal),
    Route("GET", "/documents/{document_id}", who(ok=VIEWERS, **{"404": "unseated"})),
    Route(
        "GET",
        "/documents/{document_id}/{which}.pdf",
        who(ok=VIEWERS, **{"404": "unseated"}),
        _param(which="signed"),
    ),
    Route(
        "GET",
        "/api/v1/documents/{document_id}/signing",
        who(ok="secretary", **{"403": "registrar chair seated auditor", "404": "unseated"}),
        _param(document_id="signing"),
    ),
    Route(
        "POST",
        "/api/v1/documents/{document_id}/signatures",
        who(tried="secretary", **{"403": "registrar chair seated auditor", "404": "unseated"}),
        _then(_param(document_id="signing"), _json(_signature_shape)),
    ),
    Route(
        "POST",
        "/api/v1/documents/{document_id}/acknowledgements",
        who(tried=VIEWERS, **{"404": "unseated"}),
        _json(_acknowledgement_shape),
    ),
    Route(
        "GET",
        "/api/v1/documents/{document_id}/recipients",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
    ),
    Route(
        "POST",
        "/api/v1/documents/{document_id}/recipients",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_fresh_member, _json(lambda c: {"member_ids": [c.params["member_id"]]})),
    ),
    Route(
        "POST",
        "/api/v1/documents/{document_id}/reminders",
        who(tried=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _json({}),
    ),
    Route(
        "POST",
        "/documents/{document_id}/send",
        who(ok=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
        _then(_fresh_member, _form(lambda c: {"member_id": str(c.params["member_id"])})),
    ),
    Route(
        "POST",
        "/documents/{document_id}/remind",
        who(tried=PREPARERS, **{"403": "seated auditor", "404": "unseated"}),
    ),
    # Last: it withdraws the document being signed.
    Route(
        "POST",
        "/documents/{document_id}/withdraw",
        who(ok="secretary", **{"403": "registrar chair seated auditor", "404": "unseated"}),
        _param(document_id="signing"),
    ),
]

# Routes asked again with a query: a search for the member with a seat by their card
# number, which only the registrar and the member themself see. A search matches only
# what the caller is shown, so to anyone else it finds nobody (not even by part of it).


def _search_card(*, part: bool = False) -> Prepare:
    async def prepare(call: Call) -> None:
        card = call.world.members["seated"].card_number
        assert card
        call.query = {"q": card[-4:] if part else card}

    return prepare


def sees_found_by_card(call: Call, answer: Any, text: str) -> None:
    seated = call.ids["member:seated"]
    found = (
        seated in _members(answer)
        if answer is not None
        else seated in _links(text, "/registry/members/")
    )
    assert found == (call.role in ("registrar", "seated")), (call.role, found)


# --- self-diagnosis -----------------------------------------------------------------------
# The organisation runs campaigns (its presidium's chair and secretary are its officers);
# a member organisation under it takes part, and the member without a seat in the
# presidium chairs that organisation's committee: they answer for it. Nobody else sees a
# campaign.


async def _diagnosis_world(call: Call) -> None:
    ids = call.ids
    if "dx:org" in ids:
        return
    from meetings.diagnosis.campaigns import CampaignService  # noqa: F401  (tables)
    from registry.diagnosis.services import MethodologyService

    owner = await call.db.get(Organisation, ids["org"])
    assert owner is not None
    child = await f.org(
        call.db, "Цеховая организация", kind=OrgKind.MEMBER_ORGANISATION, parent=owner
    )
    committee = await f.body(call.db, child, "Профком цеха")
    await f.seat(call.db, committee, call.world.members["unseated"], SeatRole.CHAIR)
    stored = await MethodologyService(call.db, SYSTEM).ensure_default(owner.id)
    await call.db.commit()
    ids["dx:org"] = child.id
    ids["dx:methodology"] = stored.id


def _campaign_in(call: Call) -> dict[str, Any]:
    return {
        "organisation_id": call.ids["org"],
        "methodology_id": call.ids["dx:methodology"],
        "title": "Самодиагностика",
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).isoformat(),
        "organisation_ids": [call.ids["dx:org"]],
    }


def _fresh_campaign(*, closed: bool = False, evidence: bool = False) -> Prepare:
    """A new campaign for the member organisation (closed, or with a file attached)."""

    async def prepare(call: Call) -> None:
        from meetings.blobs import BlobStore
        from meetings.diagnosis.campaigns import CampaignService
        from meetings.diagnosis.schemas import CampaignIn

        await _diagnosis_world(call)
        store = BlobStore(call.world.data_dir / "diagnosis")
        campaign, _notify = await CampaignService(call.db, SYSTEM, store).launch(
            CampaignIn.model_validate(_campaign_in(call))
        )
        if evidence:
            responder = call.world.members["unseated"]
            actor = Actor(None, "responder", frozenset({Role.MEMBER}), responder.id)
            item = await CampaignService(call.db, actor, store).add_evidence(
                campaign.id, call.ids["dx:org"], "5.4", "устав.pdf", PDF
            )
            call.params["evidence_id"] = item.id
        if closed:
            await CampaignService(call.db, SYSTEM, store).close(campaign.id)
        await call.db.commit()
        call.params |= {"campaign_id": campaign.id, "org_id": call.ids["dx:org"]}

    return prepare


async def _diagnosis_launch(call: Call) -> None:
    await _diagnosis_world(call)


async def _diagnosis_meeting(call: Call) -> None:
    await fresh_meeting(call)
    call.json = {"meeting_id": call.params["meeting_id"]}


def _submission_shape(_call: Call) -> dict[str, Any]:
    return {
        "payload": {"type": "kvorum.diagnosis-submission"},
        "signer": "x",
        "signature": "A" * 86,
    }


async def _upload_pdf(call: Call) -> None:
    call.upload = ("file", PDF, "устав.pdf")


DX_MANAGERS = "registrar chair secretary"
DX_HIDDEN = "seated auditor"
_dx_view = who(ok=DX_MANAGERS + " unseated", **{"404": DX_HIDDEN})
_dx_manage = who(ok=DX_MANAGERS, **{"403": "unseated", "404": DX_HIDDEN})
_dx_manage_tried = who(tried=DX_MANAGERS, **{"403": "unseated", "404": DX_HIDDEN})
_dx_answer = who(ok="unseated", **{"403": DX_MANAGERS, "404": DX_HIDDEN})
_dx_answer_tried = who(tried="unseated", **{"403": DX_MANAGERS, "404": DX_HIDDEN})
_DX = "/api/v1/diagnosis/campaigns/{campaign_id}"
_DXP = "/diagnosis/campaigns/{campaign_id}"

DIAGNOSIS_ROUTES: list[Route] = [
    Route("GET", "/api/v1/diagnosis/campaigns", who(ok=USERS)),
    Route(
        "POST",
        "/api/v1/diagnosis/campaigns",
        who(ok=DX_MANAGERS, **{"403": "seated unseated auditor"}),
        _then(_diagnosis_launch, _json(_campaign_in)),
    ),
    Route("GET", _DX, _dx_view, _fresh_campaign()),
    Route("GET", _DX + "/organisations/{org_id}", _dx_view, _fresh_campaign()),
    Route(
        "POST",
        _DX + "/organisations/{org_id}/answers",
        _dx_answer,
        _then(_fresh_campaign(), _json({"answers": {"1.1": True}})),
    ),
    Route(
        "POST",
        _DX + "/organisations/{org_id}/evidence",
        _dx_answer,
        _then(_fresh_campaign(), _form({"question": "5.4"}), _upload_pdf),
    ),
    Route(
        "GET",
        "/api/v1/diagnosis/evidence/{evidence_id}",
        _dx_view,
        _fresh_campaign(evidence=True),
    ),
    Route(
        "DELETE",
        "/api/v1/diagnosis/evidence/{evidence_id}",
        _dx_answer,
        _fresh_campaign(evidence=True),
    ),
    Route(
        "POST",
        _DX + "/organisations/{org_id}/submission",
        _dx_answer_tried,
        _then(_fresh_campaign(), _json(_submission_shape)),
    ),
    Route(
        "POST",
        _DX + "/organisations/{org_id}/return",
        _dx_manage_tried,
        _then(_fresh_campaign(), _json({"reason": "нет устава"})),
    ),
    Route("POST", _DX + "/reminders", _dx_manage, _fresh_campaign()),
    Route("POST", _DX + "/close", _dx_manage, _then(_fresh_campaign(), _json({}))),
    Route(
        "POST",
        _DX + "/reopen",
        _dx_manage,
        _then(
            _fresh_campaign(closed=True),
            _json(
                lambda c: {
                    "reason": "продлили",
                    "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat(),
                }
            ),
        ),
    ),
    Route("GET", _DX + "/results", _dx_manage, _fresh_campaign()),
    Route("GET", _DX + "/results.xlsx", _dx_manage, _fresh_campaign()),
    Route("GET", _DX + "/report.pdf", _dx_manage, _fresh_campaign()),
    Route(
        "POST",
        _DX + "/agenda-items",
        _dx_manage,
        _then(_fresh_campaign(closed=True), _diagnosis_meeting),
    ),
    # The pages.
    Route("GET", "/diagnosis", who(ok=USERS)),
    Route(
        "POST",
        "/diagnosis/campaigns",
        who(ok=DX_MANAGERS, **{"403": "seated unseated auditor"}),
        _then(
            _diagnosis_launch,
            _form(
                lambda c: {
                    "methodology_id": str(c.ids["dx:methodology"]),
                    "title": "Самодиагностика",
                    "deadline": (dt.date.today() + dt.timedelta(days=10)).isoformat(),
                }
            ),
        ),
    ),
    Route("GET", _DXP, _dx_view, _fresh_campaign()),
    Route("POST", _DXP + "/remind", _dx_manage, _fresh_campaign()),
    Route("POST", _DXP + "/close", _dx_manage, _fresh_campaign()),
    Route(
        "POST",
        _DXP + "/reopen",
        _dx_manage,
        _then(
            _fresh_campaign(closed=True),
            _form(
                lambda c: {
                    "reason": "продлили",
                    "deadline": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
                }
            ),
        ),
    ),
    Route(
        "POST",
        _DXP + "/agenda-item",
        _dx_manage,
        _then(
            _fresh_campaign(closed=True),
            fresh_meeting,
            _form(lambda c: {"meeting_id": str(c.params["meeting_id"])}),
        ),
    ),
    Route("GET", _DXP + "/results", _dx_manage, _fresh_campaign()),
    Route("GET", _DXP + "/organisations/{org_id}", _dx_view, _fresh_campaign()),
    Route(
        "POST",
        _DXP + "/organisations/{org_id}",
        _dx_answer,
        _then(_fresh_campaign(), _form({"q:1.1": "yes"})),
    ),
    Route(
        "POST",
        _DXP + "/organisations/{org_id}/return",
        _dx_manage_tried,
        _then(_fresh_campaign(), _form({"reason": "нет устава"})),
    ),
    Route(
        "POST",
        _DXP + "/organisations/{org_id}/evidence",
        _dx_answer,
        _then(_fresh_campaign(), _form({"question": "5.4"}), _upload_pdf),
    ),
    Route(
        "POST",
        "/diagnosis/evidence/{evidence_id}/remove",
        _dx_answer,
        _fresh_campaign(evidence=True),
    ),
]
ROUTES += DIAGNOSIS_ROUTES

SEARCHES: list[Route] = [
    Route("GET", "/api/v1/members", who(ok=USERS), _search_card(), sees_found_by_card),
    Route("GET", "/api/v1/members", who(ok=USERS), _search_card(part=True), sees_found_by_card),
    Route("GET", "/registry/members", who(ok=USERS), _search_card(), sees_found_by_card),
]


async def _upload(call: Call, content: bytes | str, *, name: str = "members.csv") -> None:
    data = content.encode() if isinstance(content, str) else content
    data = data.replace(b"{n}", str(next(_n)).encode())
    call.upload = ("file", data, name)


# --- running a call -----------------------------------------------------------------------


def _route_key(route: Any) -> str | None:
    info = route.resource.get_info() if route.resource is not None else {}
    path = info.get("formatter") or info.get("path")
    if route.method == "HEAD" or path is None:
        return None  # HEAD mirrors GET; /static is a directory of files
    return f"{route.method} {path}"


def _url(route: Route, call: Call) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in call.params:
            return str(call.params[name])
        if name in DEFAULT_PARAMS:
            return str(call.ids[DEFAULT_PARAMS[name]])
        if name == "token":
            return call.world.guest_token
        raise AssertionError(f"{route.key}: no value for {{{name}}}")

    return re.sub(r"\{(\w+)\}", fill, route.path)


async def perform(route: Route, world: World, role: str) -> tuple[int, str, Any, str]:
    """Call ``route`` as ``role``: (status, where a redirect goes, JSON or None, text)."""
    call = Call(world, role)
    if route.prepare is not None:
        await route.prepare(call)
    login = await world.caller(role)
    url = _url(route, call)
    headers = {"X-CSRF-Token": login.csrf} if login.csrf else {}
    if route.path.endswith("/ws"):
        origin = str(login.client.server.make_url("/")).rstrip("/")
        try:
            socket = await login.client.ws_connect(url, headers=headers | {"Origin": origin})
        except WSServerHandshakeError as exc:
            return exc.status, "", None, exc.message
        await socket.close()
        return 101, "", None, ""
    kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
    if call.query is not None:
        kwargs["params"] = call.query
    if call.upload is not None:
        form = FormData()
        for name, value in (call.form or {}).items():
            form.add_field(name, value)
        if login.csrf:
            form.add_field("_csrf", login.csrf)
        field, content, filename = call.upload
        form.add_field(field, content, filename=filename)
        kwargs["data"] = form
    elif call.json is not None:
        kwargs["json"] = call.json
    elif route.method != "GET":
        fields = (call.form or {}) | ({"_csrf": login.csrf} if login.csrf else {})
        kwargs["data"] = [
            (name, each)
            for name, value in fields.items()
            for each in (value if isinstance(value, list) else [value])
        ]
    response = await login.client.request(route.method, url, **kwargs)
    text = await response.text(errors="replace")
    answer = None
    if response.content_type == "application/json":
        answer = json.loads(text)
    await world.db.rollback()  # SQLite: hold no lock between requests
    return response.status, response.headers.get("Location", ""), answer, text


def outcome_of(status: int, location: str, text: str) -> Outcome:
    if status == 401 or (status in (302, 303) and location.startswith("/login")):
        return "login"
    if status in (403, 404):
        return str(status)
    if status >= 500:
        return f"{status}"
    if status < 400:
        return "ok"
    return "tried"


def meets(expected: Outcome, actual: Outcome) -> bool:
    return actual == expected or (expected == "tried" and actual == "ok")


# --- the tests ----------------------------------------------------------------------------


def test_every_route_is_declared() -> None:
    app = create_app(Settings())
    routed = {key for route in app.router.routes() if (key := _route_key(route))}
    declared = [route.key for route in ROUTES]
    assert len(declared) == len(set(declared)), "a route is declared twice"
    assert routed - set(declared) == set(), "routes without an access declaration"
    assert set(declared) - routed == set(), "declarations of routes that do not exist"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The matrix tries failed logins from one address many times: no rate limit here."""
    return dataclasses.replace(settings, login_max_per_address=10_000, login_max_per_account=10_000)


@pytest.fixture
async def world(db: AsyncSession, client: Any, aiohttp_client: Any) -> World:
    made = await build_world(db, client, make_client_factory(client.server, aiohttp_client))
    made.keyring = client.server.app[KEYRING]
    made.data_dir = client.server.app[SETTINGS].data_dir
    return made


async def test_the_access_matrix(world: World) -> None:
    wrong: list[str] = []
    table: list[str] = []
    for route in [*ROUTES, *SEARCHES]:
        row = []
        for role in ROLES:
            world.logins.pop(role, None)  # a new session each time: /logout ends one
            status, location, answer, text = await perform(route, world, role)
            actual = outcome_of(status, location, text)
            row.append(f"{status}{'>' + location[:10] if location else ''}")
            expected = route.expect[role]
            if not meets(expected, actual):
                wrong.append(
                    f"{route.key} as {role}: expected {expected}, got {status} {location} "
                    f"{text[:160]!r}"
                )
            elif route.sees is not None and actual == "ok":
                try:
                    route.sees(Call(world, role), answer, text)
                except (AssertionError, LookupError, TypeError) as exc:
                    wrong.append(f"{route.key} as {role} sees too much or too little: {exc!r}")
        table.append(f"{route.key:62} " + " ".join(f"{s:>9}" for s in row))
    header = " " * 63 + " ".join(f"{r[:9]:>9}" for r in ROLES)
    assert not wrong, "\n".join([*wrong, "", header, *table])
