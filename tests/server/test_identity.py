"""Getting in: invitations, codes, sessions, rate limits, logout, disabled accounts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
from aiohttp import CookieJar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts import AccountService
from registry.models import AuthEvent, Invitation, Role, Session
from server.app import create_app
from server.auth import COOKIE
from server.invitations import issue_invitation
from server.settings import Settings
from tests import factories as f


class RecordingMailer:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, str]] = []

    async def send(self, to: str, subject: str, body: str) -> None:
        self.messages.append((to, subject, body))

    def last_code(self) -> str:
        match = re.search(r"\b(\d{6})\b", self.messages[-1][1])
        assert match is not None
        return match.group(1)


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
async def web_client(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, mailer: RecordingMailer
) -> Any:
    server = await aiohttp_server(create_app(settings, mailer=mailer))
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


async def invited(db: AsyncSession, settings: Settings, *roles: Role) -> tuple[Any, str]:
    root = await f.org(db)
    member = await f.member(db, root, email="anna@example.ru")
    acc = await f.account(db, *(roles or (Role.MEMBER,)), member_obj=member)
    url = await issue_invitation(db, acc, settings, issued_by="tests")
    await db.commit()
    return acc, "/" + url.split("/", 3)[3]


def session_cookie(client: Any) -> str | None:
    for cookie in client.session.cookie_jar:
        if cookie.key == COOKIE:
            return str(cookie.value)
    return None


async def events(db: AsyncSession) -> list[str]:
    return list((await db.scalars(select(AuthEvent.kind).order_by(AuthEvent.id))).all())


async def test_invitation_opens_a_secure_session_once(
    web_client: Any, db: AsyncSession, settings: Settings
) -> None:
    acc, path = await invited(db, settings)
    page = await web_client.get(path)
    assert page.status == 200
    assert acc.display_name in await page.text()
    resp = await web_client.post(path, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/account/security?welcome=1"
    header = resp.headers["Set-Cookie"]
    assert header.startswith(f"{COOKIE}=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in header
    assert "Domain" not in header
    assert (await web_client.get("/api/v1/me")).status == 200

    again = await web_client.post(path, allow_redirects=False)
    assert again.status == 404
    assert "уже использовано или устарело" in await again.text()
    assert await events(db) == ["login", "login_failed"]


async def test_expired_invitation_is_refused(
    web_client: Any, db: AsyncSession, settings: Settings
) -> None:
    _acc, path = await invited(db, settings)
    row = await db.scalar(select(Invitation))
    assert row is not None
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await db.commit()
    assert (await web_client.get(path)).status == 404
    assert (await web_client.post(path, allow_redirects=False)).status == 404


async def test_login_replaces_a_planted_session(
    web_client: Any, db: AsyncSession, settings: Settings
) -> None:
    """Session fixation: a token set before login stops working after it."""
    _acc, path = await invited(db, settings)
    other = await f.account(db, Role.MEMBER, name="Чужой")
    planted = await f.login(web_client, db, other)
    old_token = session_cookie(web_client)
    assert (await planted.get("/api/v1/me")).status == 200
    await web_client.post(path, allow_redirects=False)
    new_token = session_cookie(web_client)
    assert new_token is not None
    assert new_token != old_token
    old = await db.scalar(select(Session).where(Session.account_id == other.id))
    assert old is not None
    await db.refresh(old)
    assert old.ended_at is not None


async def test_code_login_single_use(
    web_client: Any, db: AsyncSession, settings: Settings, mailer: RecordingMailer
) -> None:
    acc, _path = await invited(db, settings)
    resp = await web_client.post("/login/code", data={"email": "ANNA@example.ru"})
    assert resp.status == 200
    assert "мы отправили на него код" in await resp.text()
    code = mailer.last_code()
    assert mailer.messages[-1][0] == "anna@example.ru"
    resp = await web_client.post(
        "/login/code/verify",
        data={"email": "anna@example.ru", "code": code},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert (await web_client.get("/api/v1/me")).status == 200
    web_client.session.cookie_jar.clear()
    resp = await web_client.post(
        "/login/code/verify", data={"email": "anna@example.ru", "code": code}
    )
    assert resp.status == 401
    assert "Код неверный или устарел" in await resp.text()
    assert acc.id is not None


async def test_unknown_address_gets_the_same_answer(
    web_client: Any, db: AsyncSession, mailer: RecordingMailer
) -> None:
    resp = await web_client.post("/login/code", data={"email": "nobody@example.ru"})
    assert resp.status == 200
    assert "мы отправили на него код" in await resp.text()
    assert mailer.messages == []


async def test_brute_force_ends_in_429(
    web_client: Any, db: AsyncSession, settings: Settings, mailer: RecordingMailer
) -> None:
    await invited(db, settings)
    await web_client.post("/login/code", data={"email": "anna@example.ru"})
    real = mailer.last_code()
    wrong = "000000" if real != "000000" else "111111"
    statuses = []
    for _ in range(settings.login_max_per_account + 1):
        resp = await web_client.post(
            "/login/code/verify", data={"email": "anna@example.ru", "code": wrong}
        )
        statuses.append(resp.status)
    assert statuses[:-1] == [401] * settings.login_max_per_account
    assert statuses[-1] == 429
    assert int(resp.headers["Retry-After"]) > 0
    # Even the right code is refused while the limit holds.
    resp = await web_client.post(
        "/login/code/verify", data={"email": "anna@example.ru", "code": real}
    )
    assert resp.status == 429
    assert (await events(db)).count("login_failed") == settings.login_max_per_account


async def test_api_answers_429_in_the_error_shape(
    web_client: Any, db: AsyncSession, settings: Settings
) -> None:
    for _ in range(settings.login_max_per_address):
        await web_client.post("/invite/not-a-real-token", allow_redirects=False)
    resp = await web_client.post("/api/v1/auth/login/options", json={})
    assert resp.status == 429
    body = await resp.json()
    assert body["error"] == "too_many_requests"
    assert int(resp.headers["Retry-After"]) > 0


async def test_logout_ends_the_session_on_the_server(
    web_client: Any, db: AsyncSession, settings: Settings
) -> None:
    _acc, path = await invited(db, settings)
    await web_client.post(path, allow_redirects=False)
    token = session_cookie(web_client)
    page = await (await web_client.get("/account/security")).text()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf is not None
    resp = await web_client.post("/logout", data={"_csrf": csrf.group(1)}, allow_redirects=False)
    assert resp.status == 303
    web_client.session.cookie_jar.update_cookies(
        {COOKIE: token}, response_url=web_client.server.make_url("/")
    )
    assert (await web_client.get("/api/v1/me")).status == 401
    assert "logout" in await events(db)


async def test_disabling_an_account_ends_its_sessions(
    web_client: Any, aiohttp_client: Any, db: AsyncSession, settings: Settings
) -> None:
    acc, path = await invited(db, settings)
    await web_client.post(path, allow_redirects=False)
    assert (await web_client.get("/api/v1/me")).status == 200
    registrar = await f.account(db, Role.REGISTRAR, name="Регистратор")
    await db.commit()
    admin_client = await aiohttp_client(
        web_client.server,
        cookie_jar=CookieJar(
            unsafe=True, treat_as_secure_origin=[str(web_client.server.make_url("/"))]
        ),
    )
    admin = await f.login(admin_client, db, registrar)
    resp = await admin.post(f"/api/v1/accounts/{acc.id}/disable")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["disabled"] is True
    assert (await web_client.get("/api/v1/me")).status == 401
    assert "account_disabled" in await events(db)
    await AccountService(db, f.SYSTEM).enable(acc.id)
    await db.commit()


async def test_registrar_invites_through_the_api(
    web_client: Any, db: AsyncSession, settings: Settings
) -> None:
    reg = await f.login(web_client, db, await f.account(db, Role.REGISTRAR, name="Регистратор"))
    root = await f.org(db)
    member = await f.member(db, root, email="new@example.ru")
    await db.commit()
    resp = await reg.post(f"/api/v1/members/{member.id}/invitations", json={})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["url"].startswith("http://localhost:")
    assert body["sent_to"] == ""  # no mail server configured: the registrar hands it over
    member_login = await f.login(web_client, db, await f.account(db, Role.MEMBER, name="Иной"))
    resp = await member_login.post(f"/api/v1/members/{member.id}/invitations", json={})
    assert resp.status == 403


def test_plain_http_only_on_localhost() -> None:
    Settings(host="127.0.0.1").check_transport()
    Settings(public_url="https://kvorum.example.org").check_transport()
    with pytest.raises(ValueError, match="plain http on a host other than localhost"):
        Settings(host="0.0.0.0").check_transport()  # noqa: S104


async def test_registrar_issues_an_invitation_from_the_member_page(
    web_client: Any, db: AsyncSession, settings: Settings
) -> None:
    reg = await f.login(web_client, db, await f.account(db, Role.REGISTRAR, name="Регистратор"))
    root = await f.org(db)
    member = await f.member(db, root, "Котова")
    await db.commit()
    page = await (await reg.get(f"/registry/members/{member.id}")).text()
    assert f'action="/registry/members/{member.id}/invite"' in page
    resp = await web_client.post(f"/registry/members/{member.id}/invite", data={"_csrf": reg.csrf})
    assert resp.status == 200
    html = await resp.text()
    assert "Приглашение выдано" in html
    link = re.search(r'value="(http://localhost:\d+/invite/[^"]+)"', html)
    assert link is not None


async def test_forwarded_address_is_believed_only_from_a_trusted_proxy(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, db: AsyncSession
) -> None:
    trusting = dataclasses.replace(settings, trusted_proxies="127.0.0.1")
    client = await aiohttp_client(await aiohttp_server(create_app(trusting)))
    await client.post("/invite/bogus", headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    plain = await aiohttp_client(await aiohttp_server(create_app(settings)))
    await plain.post("/invite/bogus", headers={"X-Forwarded-For": "203.0.113.9"})
    addresses = (await db.scalars(select(AuthEvent.address).order_by(AuthEvent.id))).all()
    assert addresses == ["198.51.100.7", "127.0.0.1"]
