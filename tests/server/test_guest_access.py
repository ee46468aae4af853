"""Invited guests enter a meeting's room through their personal link, end to end: the
link issued on the meeting's page (and mailed), the cookie it leaves, the room page and
the WebSocket that let the guest in — this one meeting only, never to vote — and the
links that no longer work (replaced, the meeting closed, made up).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import CookieJar, WSMsgType
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import roles_in
from meetings.models import Guest, Meeting, MeetingEvent, MeetingState, Presence
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, GuestIn, MeetingIn
from meetings.video import member_identity
from registry.actor import Actor
from registry.errors import Conflict
from registry.models import Account, Role
from server.app import create_app
from server.auth import GUEST_COOKIE
from server.settings import Settings
from server.views import meeting_ws
from tests import factories as f
from tests.server.test_meeting_ws import WAIT, recv, until
from tests.server.test_meetings_api import FakeMailer

LINK = re.compile(r'value="(https?://[^"]+/guest/([A-Za-z0-9_-]+))"')


@dataclasses.dataclass
class World:
    """A meeting in registration with a guest (and another meeting of the same body)."""

    server: Any
    make_client: Callable[[], Awaitable[Any]]
    db: AsyncSession
    setup: f.MeetingSetup
    other_meeting: int
    guest_id: int
    accounts: dict[str, Account]

    @property
    def meeting(self) -> int:
        return self.setup.meeting_id

    @property
    def chair(self) -> Actor:
        return self.setup.actor(self.setup.chair)

    @property
    def origin(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    async def as_(self, who: str) -> f.Login:
        client = await self.make_client()
        return await f.login(client, self.db, self.accounts[who])

    async def request_link(self, login: f.Login, guest_id: int | None = None) -> Any:
        """Press the guest's «link» button as ``login``; returns the response."""
        gid = self.guest_id if guest_id is None else guest_id
        return await login.client.post(
            f"/meetings/{self.meeting}/guests/{gid}/link",
            data={"_csrf": login.csrf},
            allow_redirects=False,
        )

    async def issue(self, who: str = "chair", guest_id: int | None = None) -> str:
        """Issue a link through the page as ``who``; returns its token."""
        login = await self.as_(who)
        resp = await self.request_link(login, guest_id)
        html = await resp.text()
        assert resp.status == 200, html[:2000]
        found = LINK.search(html)
        assert found, html[:2000]
        return found.group(2)

    async def guest(self, token: str) -> Any:
        """A browser that followed the guest's link (and was sent to the room)."""
        client = await self.make_client()
        resp = await client.get(f"/guest/{token}", allow_redirects=False)
        assert resp.status == 303, await resp.text()
        return client

    async def transition(self, target: MeetingState) -> None:
        await MeetingService(self.db, self.chair).transition(self.meeting, target)
        await self.db.commit()


class BrokenMailer:
    async def send(self, to: str, subject: str, body: str) -> None:
        raise OSError("the mail server is down")


@pytest.fixture
def mailer(request: pytest.FixtureRequest) -> Any:
    """Keeps letters; ``"broken"`` (indirect) fails to send any."""
    return BrokenMailer() if getattr(request, "param", "") == "broken" else FakeMailer()


@pytest.fixture
def app_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The test settings; ``"smtp"`` (indirect) as if a mail server were configured."""
    if getattr(request, "param", "") == "smtp":
        return dataclasses.replace(settings, smtp_host="smtp.example.org")
    return settings


@pytest.fixture
async def world(
    aiohttp_server: Any,
    aiohttp_client: Any,
    app_settings: Settings,
    mailer: Any,
    db: AsyncSession,
) -> World:
    server = await aiohttp_server(create_app(app_settings, mailer=mailer))

    async def make_client() -> Any:
        jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
        return await aiohttp_client(server, cookie_jar=jar)

    setup = await f.meeting(db, state="registration")
    chair = setup.actor(setup.chair)
    service = MeetingService(db, chair)
    guest = await service.add_guest(
        setup.meeting_id,
        GuestIn(name="Галайда Зоя Ивановна", affiliation="Гостья", email="guest@example.org"),
    )
    other = await service.create(
        MeetingIn(
            body_id=setup.body.id, title="Другое заседание", starts_at=dt.datetime.now(dt.UTC)
        )
    )
    await service.add_item(other.id, AgendaItemIn(title="Вопрос"))
    outsider_org = await f.org(db, "Посторонняя организация")
    accounts = {
        "chair": await f.account(db, Role.MEMBER, member_obj=setup.chair),
        "secretary": await f.account(db, Role.MEMBER, member_obj=setup.secretary),
        "member": await f.account(db, Role.MEMBER, member_obj=setup.members[2]),
        "registrar": await f.account(db, Role.REGISTRAR, name="Регистратор"),
        "outsider": await f.account(
            db, Role.MEMBER, member_obj=await f.member(db, outsider_org, "Посторонний")
        ),
    }
    world = World(server, make_client, db, setup, other.id, guest.id, accounts)
    await db.commit()
    return world


async def stored(db: AsyncSession, guest_id: int) -> tuple[str | None, dt.datetime | None]:
    row = (
        await db.execute(
            select(Guest.access_hash, Guest.link_issued_at).where(Guest.id == guest_id)
        )
    ).one()
    await db.commit()  # SQLite: let go of the lock before the next request
    return row[0], row[1]


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- issuing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["chair", "secretary", "registrar"])
async def test_preparers_issue_a_link_shown_once(world: World, who: str) -> None:
    login = await world.as_(who)
    html = await (await login.get(f"/meetings/{world.meeting}")).text()
    assert f'action="/meetings/{world.meeting}/guests/{world.guest_id}/link"' in html
    assert "Ссылка для входа" in html

    token = await world.issue(who)
    assert len(token) >= 43
    access_hash, issued_at = await stored(world.db, world.guest_id)
    assert access_hash == sha256(token)  # only the hash is kept
    assert issued_at is not None

    # The card says a link was issued, and does not show it again.
    html = await (await login.get(f"/meetings/{world.meeting}")).text()
    assert "ссылка выдана" in html
    assert token not in html


async def test_the_link_page(world: World, app_settings: Settings) -> None:
    login = await world.as_("chair")
    resp = await world.request_link(login)
    html = await resp.text()
    assert resp.status == 200
    assert "<script" not in html
    assert "style=" not in html
    found = LINK.search(html)
    assert found
    url, token = found.groups()
    assert url == f"{app_settings.effective_public_url}/guest/{token}"
    assert "Отправьте ссылку гостю; новая ссылка отменяет прежнюю" in html
    assert "Галайда Зоя Ивановна" in html
    # No mail server configured: nothing is sent, nothing fails.
    assert "отправлена" not in html


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("outsider", 404), (None, 401)])
async def test_others_cannot_issue_links(world: World, who: str | None, status: int) -> None:
    if who is None:
        client = await world.make_client()
        resp = await client.post(
            f"/meetings/{world.meeting}/guests/{world.guest_id}/link", allow_redirects=False
        )
    else:
        login = await world.as_(who)
        resp = await world.request_link(login)
    assert resp.status == status
    assert "/guest/" not in await resp.text()
    assert await stored(world.db, world.guest_id) == (None, None)
    if who == "member":  # a member sees the guests but no button
        login = await world.as_("member")
        html = await (await login.get(f"/meetings/{world.meeting}")).text()
        assert "Галайда Зоя Ивановна" in html
        assert "/link" not in html


async def test_issuing_needs_the_csrf_token_and_this_meetings_guest(world: World) -> None:
    login = await world.as_("chair")
    resp = await login.client.post(
        f"/meetings/{world.meeting}/guests/{world.guest_id}/link", allow_redirects=False
    )
    assert resp.status == 403
    resp = await login.client.post(
        f"/meetings/{world.other_meeting}/guests/{world.guest_id}/link",
        data={"_csrf": login.csrf},
        allow_redirects=False,
    )
    assert resp.status == 404
    assert await stored(world.db, world.guest_id) == (None, None)


async def test_no_link_for_a_closed_meeting(world: World) -> None:
    for target in (MeetingState.IN_SESSION, MeetingState.CLOSED):
        await world.transition(target)
    login = await world.as_("chair")
    html = await (await login.get(f"/meetings/{world.meeting}")).text()
    assert "/link" not in html
    resp = await world.request_link(login)
    assert resp.status == 409
    with pytest.raises(Conflict, match="closed"):
        await MeetingService(world.db, world.chair).guest_link(world.meeting, world.guest_id)
    await world.db.rollback()


# --- mail -------------------------------------------------------------------------------------


@pytest.mark.parametrize("app_settings", ["smtp"], indirect=True)
async def test_the_link_is_mailed_when_mail_is_configured(world: World, mailer: FakeMailer) -> None:
    login = await world.as_("secretary")
    resp = await world.request_link(login)
    html = await resp.text()
    assert resp.status == 200
    found = LINK.search(html)
    assert found
    assert "Ссылка отправлена на guest@example.org" in html
    [(to, subject, body)] = mailer.sent
    assert to == "guest@example.org"
    assert "Приглашение на заседание" in subject
    assert found.group(1) in body
    assert "Галайда Зоя Ивановна" in body


@pytest.mark.parametrize("app_settings", ["smtp"], indirect=True)
@pytest.mark.parametrize("mailer", ["broken"], indirect=True)
async def test_a_mail_failure_still_shows_the_link(world: World) -> None:
    login = await world.as_("chair")
    resp = await world.request_link(login)
    html = await resp.text()
    assert resp.status == 200
    assert "Письмо отправить не удалось" in html
    found = LINK.search(html)
    assert found
    client = await world.guest(found.group(2))
    resp = await client.get(f"/meetings/{world.meeting}/room")
    assert resp.status == 200


# --- entering ---------------------------------------------------------------------------------


async def test_the_link_opens_that_meetings_room_only(world: World) -> None:
    token = await world.issue()
    client = await world.make_client()
    resp = await client.get(f"/guest/{token}", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == f"/meetings/{world.meeting}/room"
    cookie = resp.cookies[GUEST_COOKIE]
    assert cookie.value == token
    assert cookie["path"] == f"/meetings/{world.meeting}/"
    assert cookie["httponly"]
    assert cookie["secure"]
    assert cookie["samesite"] == "Lax"

    resp = await client.get(f"/meetings/{world.meeting}/room")
    html = await resp.text()
    assert resp.status == 200, html[:2000]
    assert 'data-roles="guest"' in html
    assert 'data-member=""' in html
    assert '<script type="module" src="/static/js/room.js"></script>' in html
    # the header names the guest (no «Войти»), and no link leads to pages they cannot see
    assert "Галайда Зоя Ивановна, гость заседания" in html
    assert 'href="/login"' not in html
    assert f'href="/meetings/{world.meeting}"' not in html

    # Nothing else: the meeting's other pages, the list, the API, another meeting.
    for path in (
        f"/meetings/{world.meeting}",
        f"/meetings/{world.meeting}/record",
        "/meetings",
        "/votes",
    ):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status in (302, 303, 401), path
    resp = await client.get(f"/api/v1/meetings/{world.meeting}")
    assert resp.status == 401
    # The browser sends the cookie to this meeting only; even sent elsewhere it lets
    # no one in: to another meeting the guest is an outsider.
    other = await world.make_client()
    resp = await other.get(
        f"/meetings/{world.other_meeting}/room", headers={"Cookie": f"{GUEST_COOKIE}={token}"}
    )
    assert resp.status == 404
    resp = await client.get(f"/meetings/{world.other_meeting}/room")
    assert resp.status == 401


@pytest.mark.parametrize("token", ["made-up-token", "x" * 43, "x" * 300])
async def test_a_bad_link_is_not_found_and_sets_no_cookie(world: World, token: str) -> None:
    await world.issue()
    client = await world.make_client()
    resp = await client.get(f"/guest/{token}", allow_redirects=False)
    html = await resp.text()
    assert resp.status == 404
    assert "Set-Cookie" not in resp.headers
    assert "Ссылка для входа гостя недействительна" in html
    resp = await client.get(f"/meetings/{world.meeting}/room")
    assert resp.status == 401


async def test_a_new_link_replaces_the_old_one(world: World) -> None:
    old = await world.issue()
    client = await world.guest(old)
    assert (await client.get(f"/meetings/{world.meeting}/room")).status == 200
    new = await world.issue("secretary")
    assert new != old
    assert (await client.get(f"/meetings/{world.meeting}/room")).status == 401
    resp = await (await world.make_client()).get(f"/guest/{old}", allow_redirects=False)
    assert resp.status == 404
    fresh = await world.guest(new)
    assert (await fresh.get(f"/meetings/{world.meeting}/room")).status == 200


async def test_a_closed_meetings_link_is_refused(world: World) -> None:
    token = await world.issue()
    client = await world.guest(token)
    await world.transition(MeetingState.IN_SESSION)
    assert (await client.get(f"/meetings/{world.meeting}/room")).status == 200
    await world.transition(MeetingState.CLOSED)
    resp = await (await world.make_client()).get(f"/guest/{token}", allow_redirects=False)
    assert resp.status == 404
    assert "Set-Cookie" not in resp.headers
    assert (await client.get(f"/meetings/{world.meeting}/room")).status == 401


async def test_a_logged_in_guest_is_also_the_meetings_guest(world: World) -> None:
    # Someone with an account elsewhere (here: an outsider to this body) invited as a guest.
    token = await world.issue()
    login = await world.as_("outsider")
    assert (await login.get(f"/meetings/{world.meeting}/room")).status == 404
    resp = await login.get(f"/guest/{token}", allow_redirects=False)
    assert resp.status == 303
    html = await (await login.get(f"/meetings/{world.meeting}/room")).text()
    assert 'data-roles="guest"' in html
    # Still nobody to the meeting's other pages.
    assert (await login.get(f"/meetings/{world.meeting}")).status == 404


async def test_a_guest_is_a_guest_of_that_meeting_only(world: World) -> None:
    guest = Actor(
        account_id=None,
        display_name="Галайда Зоя Ивановна",
        guest_id=world.guest_id,
        guest_meeting_id=world.meeting,
    )
    meeting = await world.db.get(Meeting, world.meeting)
    other = await world.db.get(Meeting, world.other_meeting)
    assert meeting is not None
    assert other is not None
    roles = await roles_in(world.db, meeting, guest)
    assert roles.names == {"guest"}
    assert roles.can_view
    assert not roles.can_prepare
    assert not roles.is_member
    assert not (await roles_in(world.db, other, guest)).can_view
    identity = await member_identity(world.db, world.meeting, guest)
    assert identity is not None
    assert (identity.key, identity.guest, identity.member_id) == (
        f"g{world.guest_id}",
        True,
        None,
    )
    # Auditors and the registrar still only follow the meeting.
    registrar = Actor(account_id=None, display_name="R", roles=frozenset({Role.REGISTRAR}))
    assert await member_identity(world.db, world.meeting, registrar) is None
    await world.db.commit()


# --- the WebSocket ----------------------------------------------------------------------------


async def guest_socket(world: World) -> Any:
    token = await world.issue()
    await world.transition(MeetingState.IN_SESSION)
    client = await world.guest(token)
    return await client.ws_connect(
        f"/meetings/{world.meeting}/ws", headers={"Origin": world.origin}
    )


async def test_the_guest_follows_the_meeting_and_waits_in_the_video_lobby(world: World) -> None:
    ws = await guest_socket(world)
    hello = await recv(ws)
    assert hello["type"] == "hello"
    snapshot = hello["snapshot"]
    assert snapshot["meeting"] == world.meeting
    assert snapshot["you"] == {"member": None, "roles": ["guest"]}

    # A guest is not counted as present.
    count = await world.db.scalar(
        select(func.count()).select_from(Presence).where(Presence.meeting_id == world.meeting)
    )
    arrivals = await world.db.scalar(
        select(func.count())
        .select_from(MeetingEvent)
        .where(MeetingEvent.meeting_id == world.meeting, MeetingEvent.kind == "presence.arrived")
    )
    await world.db.commit()
    assert (count, arrivals) == (0, 0)

    await ws.send_str(json.dumps({"id": 1, "action": "media_join"}))
    frames = await until(ws, lambda fr: fr["type"] in ("ack", "error"))
    media = [fr for fr in frames if fr["type"] == "media"]
    assert media[0]["op"] == "config"
    assert "ice_servers" in media[0]
    assert media[1]["op"] == "lobby"
    assert frames[-1] == {"type": "ack", "id": 1}

    # Guests speak when the chair gives them the floor; they do not queue for it.
    await ws.send_str(json.dumps({"id": 2, "action": "raise_hand"}))
    frames = await until(ws, lambda fr: fr["type"] in ("ack", "error"))
    assert frames[-1]["type"] == "error"
    assert frames[-1]["code"] == "forbidden"
    await ws.close()


async def test_the_guest_cannot_open_a_vote(world: World) -> None:
    token = await world.issue()
    await world.transition(MeetingState.IN_SESSION)
    client = await world.guest(token)
    resp = await client.post(
        f"/api/v1/meetings/{world.meeting}/votes",
        json={"question": "Принять?"},
        headers={"Cookie": f"{GUEST_COOKIE}={token}"},
    )
    assert resp.status == 401


async def test_a_guest_socket_needs_a_valid_link(world: World) -> None:
    ws = await guest_socket(world)
    await recv(ws)
    await ws.close()
    client = await world.make_client()
    resp = await client.get(
        f"/meetings/{world.meeting}/ws",
        headers={
            "Origin": world.origin,
            "Cookie": f"{GUEST_COOKIE}=made-up",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert resp.status == 401
    assert (await resp.json())["error"] == "not_authenticated"


async def test_a_replaced_link_closes_the_guests_socket(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meeting_ws, "SESSION_CHECK_SECONDS", 0.05)
    ws = await guest_socket(world)
    await recv(ws)
    await world.issue("secretary")
    while True:
        msg = await ws.receive(timeout=WAIT)
        if msg.type is not WSMsgType.TEXT:
            break
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert ws.close_code == 1008


async def test_the_demo_prints_a_working_guest_link(
    aiohttp_client: Any, settings: Settings, db: AsyncSession
) -> None:
    from urllib.parse import urlsplit

    from server.demo import seed_with_logins

    async with db.begin():
        first = (await seed_with_logins(db, settings)).links
    async with db.begin():
        second = (await seed_with_logins(db, settings)).links
    assert [label for label, _n, _u in second].count("гость") == 1
    old, new = (
        urlsplit(next(url for label, _n, url in links if label == "гость")).path
        for links in (first, second)
    )
    async with db.begin():
        assert await db.scalar(select(func.count()).select_from(Guest)) == 1
    client = await aiohttp_client(create_app(settings))
    # a second run gives a new link, and the one printed before no longer works
    assert (await client.get(old, allow_redirects=False)).status == 404
    resp = await client.get(new, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].endswith("/room")
