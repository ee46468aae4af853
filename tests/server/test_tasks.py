"""Everyday flow: the outbox without a mail server, inviting a whole body, the invitation
page, «Мои дела» for members and officers, the chair told of a document to sign, and the
auditor's link to a meeting's whole audit bundle."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import Notice
from registry.bodies import BodyService
from registry.models import AccessLogEntry, Account, Invitation, Role, SeatRole
from server.auth import open_session
from server.outbox import OutboxMessage
from tests import factories as f
from tests.ballots.votes_setup import ballot, voting_meeting
from tests.meetings.closed_meeting import held_meeting
from tests.server.test_document_signing import finalise, sign_as, voter


async def text(resp: Any, status: int = 200) -> str:
    html = await resp.text()
    assert resp.status == status, html
    return str(html)


async def letters(db: AsyncSession) -> list[OutboxMessage]:
    rows = list((await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())
    await db.commit()  # end the read: the app writes next
    return rows


async def count(db: AsyncSession, model: Any, *where: Any) -> int:
    n = await db.scalar(select(func.count()).select_from(model).where(*where))
    await db.commit()
    return int(n or 0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- the outbox --------------------------------------------------------------------------


async def test_without_a_mail_server_a_login_code_waits_in_the_outbox(
    client: Any, db: AsyncSession
) -> None:
    root = await f.org(db)
    anna = await f.member(db, root, "Орлова", email="anna@example.ru")
    await f.account(db, Role.MEMBER, member_obj=anna)
    registrar = await f.account(db, Role.REGISTRAR, name="Регистратор Р. Р.")
    await db.commit()

    resp = await client.post("/login/code", data={"email": "anna@example.ru"})
    assert "код" in (await text(resp)).lower()
    [letter] = await letters(db)
    assert letter.recipient == "anna@example.ru"
    code = re.search(r"\b(\d{6})\b", letter.subject)
    assert code is not None

    # The registrar reads it on «Исходящая почта»; a member may not.
    member_login = await f.login(client, db, await db.scalar(select(Account).limit(1)))
    assert (await member_login.get("/registry/outbox")).status == 403
    reg = await f.login(client, db, registrar)
    html = await text(await reg.get("/registry/outbox"))
    assert "Исходящая почта" in html
    assert "Почтовый сервер не настроен" in html
    assert letter.subject in html
    assert "anna@example.ru" in html
    # And «Мои дела» of the registrar points there.
    home = await text(await reg.get("/"))
    assert 'href="/registry/outbox"' in home
    assert "Писем: 1." in home

    # The code from the outbox logs in: the whole path works without mail.
    client.session.cookie_jar.clear()
    resp = await client.post(
        "/login/code/verify",
        data={"email": "anna@example.ru", "code": code[1]},
        allow_redirects=False,
    )
    assert resp.status == 303


# --- inviting a body ---------------------------------------------------------------------


async def presidium(db: AsyncSession) -> dict[str, Any]:
    """A presidium: a secretary, two members with addresses, one without, one who has
    logged in before, one whose seat ended, and a member of another body."""
    root = await f.org(db)
    body = await f.body(db, root)
    other_body = await f.body(db, root, "Совет")
    people = {
        "secretary": await f.member(db, root, "Белова", email="belova@example.ru"),
        "mailed": await f.member(db, root, "Гусев", email="gusev@example.ru"),
        "mailed2": await f.member(db, root, "Дронова", email="dronova@example.ru"),
        "no_email": await f.member(db, root, "Егоров"),
        "in_before": await f.member(db, root, "Жукова", email="zhukova@example.ru"),
        "ended": await f.member(db, root, "Зуев", email="zuev@example.ru"),
        "elsewhere": await f.member(db, root, "Ильин", email="ilin@example.ru"),
    }
    await f.seat(db, body, people["secretary"], SeatRole.SECRETARY)
    for key in ("mailed", "mailed2", "no_email", "in_before"):
        await f.seat(db, body, people[key])
    await f.seat(db, body, people["ended"], end=dt.date(2021, 1, 1))
    await f.seat(db, other_body, people["elsewhere"])
    settled = await f.account(db, Role.MEMBER, member_obj=people["in_before"])
    await open_session(db, settled, None, method="invitation")
    secretary = await f.account(db, Role.MEMBER, member_obj=people["secretary"])
    await open_session(db, secretary, None, method="invitation")
    registrar = await f.account(db, Role.REGISTRAR, name="Регистратор Р. Р.")
    ordinary = await f.account(db, Role.MEMBER, member_obj=people["elsewhere"])
    await db.commit()
    return {
        "body": body,
        "people": people,
        "registrar": registrar,
        "secretary": secretary,
        "ordinary": ordinary,
        "body_id": body.id,
    }


async def test_the_registrar_invites_every_member_of_a_body_at_once(
    client: Any, db: AsyncSession
) -> None:
    p = await presidium(db)
    names = {k: m.full_name for k, m in p["people"].items()}
    reg = await f.login(client, db, p["registrar"])
    # «Мои дела» of the registrar: the body has three members who never got in.
    home = await text(await reg.get("/"))
    waiting = home.split('id="my-invitations"')[1].split("</section>")[0]
    assert f'href="/registry/bodies/{p["body_id"]}#invite-all"' in waiting
    assert "членов органа: 3" in waiting
    body_page = await text(await reg.get(f"/registry/bodies/{p['body_id']}"))
    assert "Пригласить всех членов органа" in body_page

    html = await text(
        await reg.post(f"/registry/bodies/{p['body_id']}/invite-all", data={"_csrf": reg.csrf})
    )
    # The secretary and the member who logged in before need none; the ended seat and
    # the other body's member are not in the composition.
    assert "Выдано приглашений: 3. Уже входили в Кворум (приглашение не нужно): 2." in html
    for key in ("mailed", "mailed2", "no_email"):
        assert names[key] in html
    for key in ("secretary", "in_before", "ended", "elsewhere"):
        assert names[key] not in html.split("<h1>", 1)[1]
    assert "Письмо на gusev@example.ru." in html
    assert "Адреса нет: передайте ссылку лично." in html
    assert html.count('data-copy="invite-') == 3
    links = re.findall(r'value="(http://[^"]+/invite/[^"]+)"', html)
    assert len(links) == 3

    # Letters wait in the outbox for those with an address, each with their own link.
    mail = await letters(db)
    assert sorted(m.recipient for m in mail) == ["dronova@example.ru", "gusev@example.ru"]
    for letter in mail:
        assert any(link in letter.body for link in links)
    assert await count(db, Invitation) == 3
    assert await count(db, AccessLogEntry, AccessLogEntry.detail.like("body % invited")) == 3

    # Each link works for its member.
    client.session.cookie_jar.clear()
    landing = await text(await client.get(path_of(links[0])))
    assert names["mailed"] in landing

    # Again: the three have accounts now but have never logged in, so they get new links.
    reg = await f.login(client, db, p["registrar"])
    resp = await reg.post(f"/api/v1/bodies/{p['body_id']}/invitations")
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    assert [i["name"] for i in data["invited"]] == [
        names[k] for k in ("mailed", "mailed2", "no_email")
    ]
    assert all(i["url"].startswith("http") for i in data["invited"])
    assert data["already_in"] == 2
    assert await count(db, Invitation) == 6
    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/bodies/{body_id}/invitations" in spec["paths"]


async def test_a_bodys_secretary_may_only_have_the_invitations_mailed(
    client: Any, db: AsyncSession
) -> None:
    p = await presidium(db)
    secretary = await f.login(client, db, p["secretary"])
    body_page = await text(await secretary.get(f"/registry/bodies/{p['body_id']}"))
    assert "Ссылки видит только регистратор" in body_page
    html = await text(
        await secretary.post(
            f"/registry/bodies/{p['body_id']}/invite-all", data={"_csrf": secretary.csrf}
        )
    )
    assert "/invite/" not in html  # no link is shown to anyone but the registrar
    assert "data-copy" not in html
    assert "Адреса нет: ссылку выдаст регистратор." in html
    assert len(await letters(db)) == 2
    resp = await secretary.post(f"/api/v1/bodies/{p['body_id']}/invitations")
    data = await resp.json()
    assert resp.status == 201
    assert all(i["url"] is None for i in data["invited"])

    # Someone else's body: refused, nothing issued.
    ordinary = await f.login(client, db, p["ordinary"])
    before = await count(db, Invitation)
    resp = await ordinary.post(f"/api/v1/bodies/{p['body_id']}/invitations")
    assert resp.status == 403
    assert (await resp.json())["error"] == "forbidden"
    page = await text(await ordinary.get(f"/registry/bodies/{p['body_id']}"), 200)
    assert "Пригласить всех членов органа" not in page
    assert await count(db, Invitation) == before
    resp = await ordinary.post("/api/v1/bodies/999999/invitations")
    assert resp.status == 404


async def test_a_retired_body_invites_nobody(client: Any, db: AsyncSession) -> None:
    p = await presidium(db)
    await BodyService(db, f.SYSTEM).retire(p["body_id"])
    await db.commit()
    reg = await f.login(client, db, p["registrar"])
    resp = await reg.post(f"/api/v1/bodies/{p['body_id']}/invitations")
    assert resp.status == 409
    assert await count(db, Invitation) == 0


async def test_the_invitation_page_names_the_member_and_offers_a_copy(
    client: Any, db: AsyncSession
) -> None:
    root = await f.org(db)
    anna = await f.member(db, root, "Орлова", email="orlova@example.ru")
    reg = await f.login(client, db, await f.account(db, Role.REGISTRAR, name="Регистратор"))
    html = await text(
        await reg.post(f"/registry/members/{anna.id}/invite", data={"_csrf": reg.csrf})
    )
    assert f"Приглашение для: {anna.full_name}" in html
    assert 'data-copy="invite-url"' in html
    assert '<script type="module" src="/static/js/copy.js' in html
    assert "сохранено в исходящей почте" in html
    [letter] = await letters(db)
    url = re.search(r'id="invite-url"[^>]*value="([^"]+)"', html)
    assert url is not None
    assert url[1] in letter.body


# --- «Мои дела» ----------------------------------------------------------------------------


async def test_my_tasks_show_the_meeting_and_the_vote_waiting_for_me(
    client: Any, db: AsyncSession
) -> None:
    vm = await voting_meeting(db, client, size=5, present=4)
    meeting_id = vm.setup.meeting_id
    response = await vm.chair.post(
        f"/api/v1/meetings/{meeting_id}/votes", json={"question": "Утвердить план"}
    )
    assert response.status == 201, await response.text()
    vote = await response.json()

    member = vm.voters[2].member
    account = await db.scalar(select(Account).where(Account.member_id == member.id))
    assert account is not None
    me = await f.login(client, db, account)
    html = await text(await me.get("/"))
    assert "<h1>Мои дела</h1>" in html
    meeting_block = html.split('id="my-meetings"')[1].split("</section>")[0]
    assert f'href="/meetings/{meeting_id}/room"' in meeting_block  # in session: the room
    assert "вы член органа" in meeting_block
    votes_block = html.split('id="my-votes"')[1].split("</section>")[0]
    assert f'data-vote="{vote["vote"]}"' in votes_block

    cast = await client.post(
        f"/api/v1/votes/{vote['vote']}/ballots", json=ballot(vm.voters[2], vote, [1])
    )
    assert cast.status == 201, await cast.text()
    html = await text(await me.get("/"))
    assert 'id="my-votes"' not in html  # voted: nothing waits


async def test_an_announced_meeting_has_no_room_link_yet(client: Any, db: AsyncSession) -> None:
    setup = await f.meeting(db, state="announced")
    me = await f.login(client, db, await f.account(db, Role.MEMBER, member_obj=setup.members[3]))
    html = await text(await me.get("/"))
    block = html.split('id="my-meetings"')[1].split("</section>")[0]
    assert f'href="/meetings/{setup.meeting_id}"' in block
    assert "/room" not in block
    assert "объявлено" in block.lower()
    # Someone of no body: nothing waits.
    root = await f.org(db, "Другой союз")
    stranger = await f.member(db, root)
    other = await f.login(client, db, await f.account(db, Role.MEMBER, member_obj=stranger))
    html = await text(await other.get("/"))
    assert 'id="my-meetings"' not in html
    assert "Сейчас ничего не ждёт вашего участия." in html


async def test_officers_see_protocols_to_issue_and_documents_to_sign(
    client: Any, db: AsyncSession
) -> None:
    held = await held_meeting(db, client)
    chair_member = held.vm.setup.chair
    chair_member.email = "chair@example.ru"
    auditor = await f.account(db, Role.AUDITOR, name="Ревизор Р. Р.")
    await db.commit()

    secretary = await held.as_("secretary", db)
    html = await text(await secretary.get("/"))
    block = html.split('id="my-protocols"')[1].split("</section>")[0]
    assert f'href="/meetings/{held.meeting_id}/documents"' in block

    response = await finalise(secretary, held)
    assert response.status == 303, await response.text()
    found = re.search(r"/documents/(\d+)", response.headers["Location"])
    assert found is not None
    document_id = int(found[1])
    html = await text(await secretary.get("/"))
    assert 'id="my-protocols"' not in html  # issued now
    assert f'data-document="{document_id}"' in html.split('id="my-signatures"')[1]
    chair = await held.as_("chair", db)
    assert 'id="my-signatures"' not in await text(await chair.get("/"))  # not their turn yet

    secretary = await held.as_("secretary", db)
    response = await sign_as(secretary, document_id, voter(held, "secretary"))
    assert response.status == 201, await response.text()
    # The chair is told: a notice in the app and a letter (the outbox here).
    subjects = (
        await db.scalars(select(Notice.subject).where(Notice.member_id == chair_member.id))
    ).all()
    await db.commit()
    assert any(s.startswith("Документ ждёт вашей подписи: Протокол") for s in subjects)
    [letter] = [m for m in await letters(db) if m.recipient == "chair@example.ru"]
    assert f"/documents/{document_id}" in letter.body
    chair = await held.as_("chair", db)
    html = await text(await chair.get("/"))
    assert f'data-document="{document_id}"' in html.split('id="my-signatures"')[1]
    response = await sign_as(chair, document_id, voter(held, "chair"))
    assert response.status == 201
    html = await text(await chair.get("/"))
    assert 'id="my-signatures"' not in html

    # The auditor gets the meeting's whole bundle.
    audit = await f.login(client, db, auditor)
    html = await text(await audit.get("/"))
    block = html.split('id="my-audits"')[1].split("</section>")[0]
    assert f'href="/api/v1/meetings/{held.meeting_id}/bundle"' in block
    bundle = await audit.get(f"/api/v1/meetings/{held.meeting_id}/bundle")
    assert bundle.status == 200
    votes_page = await text(await audit.get("/votes"))
    assert f'href="/api/v1/meetings/{held.meeting_id}/bundle"' in votes_page
