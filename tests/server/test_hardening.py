"""Regressions of what an outside attack on the service found: every input here once
answered 500 or leaked; now each is refused with the error shape, or leaks nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
from aiohttp import CookieJar, FormData
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings import docsign, signedpdf
from registry.models import AccessLogEntry, AuthChallenge, Role, SeatRole
from server.app import create_app
from server.auth import COOKIE, GUEST_COOKIE
from server.pages import LOCALE_COOKIE
from server.settings import Settings
from tests import factories as f
from tests import samples

HUGE = "9" * 400  # beyond a double: float(10**309) overflows


async def make_client(aiohttp_client: Any, aiohttp_server: Any, settings: Settings) -> Any:
    server = await aiohttp_server(create_app(settings))
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


# --- 1. search matches only what the caller may see -----------------------------------------


async def test_search_does_not_match_hidden_card_numbers(client: Any, db: AsyncSession) -> None:
    union = await f.org(db)
    me = await f.member(db, union, "Петрова", card="59-1111")
    fellow = await f.member(db, union, "Галайда", name="Зоя", card="59-0042")
    council = await f.body(db, union)
    await f.seat(db, council, me)
    await f.seat(db, council, fellow)
    login = await f.login(client, db, await f.account(db, Role.MEMBER, member_obj=me))

    async def found(q: str, **params: str) -> list[str]:
        resp = await login.get("/api/v1/members", params={"q": q, **params})
        assert resp.status == 200
        return [m["surname"] for m in (await resp.json())["items"]]

    # The fellow is seen by name, so a name finds them; their card number is hidden,
    # so no part of it does, alone or beside the name (the attack's `галайда 59-0…`).
    assert await found("галайда") == ["Галайда"]
    assert (await found("Галайда Зоя"))[0] == "Галайда"
    for q in ("59-0042", "0042", "галайда 59-0", "галайда 59-00", "галайда 0"):
        assert await found(q) == [], q
    # The caller's own card is theirs to see and to search.
    assert await found("59-1111") == ["Петрова"]
    # A filter on a hidden field (status) does not sort them either.
    assert await found("", status="left") == []
    assert sorted(await found("")) == ["Галайда", "Петрова"]
    # The registry's page runs the same search.
    page = await (await login.get("/registry/members", params={"q": "59-0042"})).text()
    assert "Галайда" not in page
    # The registrar sees card numbers and finds by them.
    registrar = await f.login(client, db, await f.account(db, Role.REGISTRAR))
    resp = await registrar.get("/api/v1/members", params={"q": "59-0042"})
    assert [m["surname"] for m in (await resp.json())["items"]] == ["Галайда"]


async def test_convener_search_matches_contact_level_by_name_only(
    client: Any, db: AsyncSession
) -> None:
    union = await f.org(db)
    chair = await f.member(db, union, "Председателева", card="59-2000")
    other = await f.member(db, union, "Членова", card="59-3000", email="chl@example.ru")
    council = await f.body(db, union)
    await f.seat(db, council, chair, SeatRole.CHAIR)
    await f.seat(db, council, other)
    login = await f.login(client, db, await f.account(db, Role.MEMBER, member_obj=chair))
    resp = await login.get("/api/v1/members", params={"q": "3000"})
    assert (await resp.json())["items"] == []
    resp = await login.get("/api/v1/members", params={"q": "членова"})
    (item,) = (await resp.json())["items"]
    assert item["visibility"] == "contact"
    assert item["card_number"] is None


# --- 2 and 3. numbers beyond a double, nesting beyond the stack ------------------------------


DEEP = "[" * 60_000  # within the test server's 64 KiB body limit


@pytest.mark.parametrize(
    ("path", "body", "code", "detail"),
    [
        # The board reads ballots itself, in its own words (``malformed``), with the limits.
        ("/api/v1/votes/1/ballots", '{"payload":{"vote":' + HUGE + "}}", "malformed", "digits"),
        ("/api/v1/auth/login", DEEP, "too_deep", "nested deeper than 32"),
        ("/api/v1/organisations", DEEP, "too_deep", "nested deeper than 32"),
        ("/api/v1/organisations", '{"name": ' + "[" * 40 + "]" * 40 + "}", "too_deep", "32"),
        ("/api/v1/auth/login", '{"a": ' + HUGE + "}", "number_too_long", "more than 32 digits"),
        ("/api/v1/auth/login", '{"a": 1e999}', "number_out_of_range", "range of a double"),
        ("/api/v1/auth/login", '{"a": NaN}', "malformed_json", "NaN"),
    ],
)
async def test_hostile_json_is_refused_before_anything(
    client: Any, db: AsyncSession, path: str, body: str, code: str, detail: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if path == "/api/v1/organisations":  # not public: an anonymous caller gets 401 first
        resp = await client.post(path, data=body, headers=headers)
        assert resp.status == 401, await resp.text()
        login = await f.login(client, db, await f.account(db, Role.REGISTRAR))
        resp = await login.post(path, data=body, headers=headers)
    else:
        resp = await client.post(path, data=body, headers=headers)
    assert resp.status == 422, await resp.text()
    answer = await resp.json()
    assert answer["error"] == code
    assert detail in answer["detail"]


async def test_documents_verify_reports_a_huge_number_in_an_embedded_file(client: Any) -> None:
    huge = ('{"n":' + HUGE + "}").encode()
    files = [(name, b"{}", docsign.MEDIA_TYPE) for name in docsign.FILES]
    files[0] = (docsign.RECORD_FILE, huge, docsign.MEDIA_TYPE)
    pdf = signedpdf.embed(samples.pdf_bytes(), files)
    form = FormData()
    form.add_field("file", pdf, filename="protocol.pdf", content_type="application/pdf")
    resp = await client.post("/documents/verify", data=form)
    assert resp.status == 200, await resp.text()
    assert "more than 32 digits" in await resp.text()


# --- 4. a session cookie that is not UTF-8 -----------------------------------------------------


@pytest.mark.parametrize("cookie", [COOKIE, GUEST_COOKIE])
async def test_non_utf8_cookie_is_no_session(client: Any, cookie: str) -> None:
    host, port = client.server.host, client.server.port
    reader, writer = await asyncio.open_connection(host, port)
    for path in (b"/", b"/api/v1/me", b"/meetings/1/room"):
        writer.write(
            b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n"
            b"Cookie: " + cookie.encode() + b"=\xff\xfe\xc3(abc\r\n\r\n"
        )
        await writer.drain()
        status = await reader.readline()
        headers = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", headers, re.I).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        assert int(status.split()[1]) in (200, 401, 404), (path, status)
    writer.close()
    await writer.wait_closed()


# --- 5. logout deletes the cookie as it was set ------------------------------------------------


async def test_logout_deletes_the_cookie_with_its_attributes(client: Any, db: AsyncSession) -> None:
    login = await f.login(client, db, await f.account(db, Role.MEMBER))
    resp = await login.post("/logout", allow_redirects=False)
    assert resp.status == 303
    (header,) = [h for h in resp.headers.getall("Set-Cookie") if h.startswith(COOKIE + "=")]
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    # A browser ignores a __Host- cookie's deletion without Secure (and Path=/).
    assert {"secure", "httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/" in header
    assert "Max-Age=0" in header


# --- 6. the Origin check does not trust the request's Host -----------------------------------


async def test_origin_is_checked_against_the_public_url_not_host(
    client: Any, db: AsyncSession
) -> None:
    registrar = await f.login(client, db, await f.account(db, Role.REGISTRAR))
    forged = {"Host": "evil.example", "Origin": "http://evil.example"}
    resp = await registrar.post(
        "/api/v1/organisations", json={"name": "Союз", "kind": "regional_council"}, headers=forged
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "bad_origin"
    # The locale switch does not redirect to the forged host either.
    resp = await client.get(
        "/locale/en",
        headers={"Host": "evil.example", "Referer": "http://evil.example/phish"},
        allow_redirects=False,
    )
    assert resp.headers["Location"] == "/"
    # The server's own origin (where it listens, for a server on localhost) passes.
    own = str(client.server.make_url("/")).rstrip("/")
    resp = await registrar.post(
        "/api/v1/organisations",
        json={"name": "Союз", "kind": "regional_council"},
        headers={"Origin": own},
    )
    assert resp.status == 201, await resp.text()


async def test_forwarded_host_is_trusted_only_from_a_trusted_proxy(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, db: AsyncSession
) -> None:
    forwarded = {
        "Origin": "https://kvorum.example.org",
        "X-Forwarded-Host": "kvorum.example.org",
        "X-Forwarded-Proto": "https",
    }
    body = {"name": "Союз", "kind": "regional_council"}
    acc = await f.account(db, Role.REGISTRAR)
    plain = await make_client(aiohttp_client, aiohttp_server, settings)
    login = await f.login(plain, db, acc)
    resp = await login.post("/api/v1/organisations", json=body, headers=forwarded)
    assert resp.status == 403
    trusting = dataclasses.replace(settings, trusted_proxies="127.0.0.1")
    proxied = await make_client(aiohttp_client, aiohttp_server, trusting)
    login = await f.login(proxied, db, acc)
    resp = await login.post("/api/v1/organisations", json=body, headers=forwarded)
    assert resp.status == 201, await resp.text()


# --- 7. anonymous writes are limited ----------------------------------------------------------


async def test_login_options_are_throttled_per_address(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, db: AsyncSession
) -> None:
    tight = dataclasses.replace(settings, anonymous_burst=3, anonymous_per_minute=1)
    client = await make_client(aiohttp_client, aiohttp_server, tight)
    statuses = [(await client.post("/api/v1/auth/login/options", json={})).status for _ in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert await db.scalar(select(func.count()).select_from(AuthChallenge)) == 3
    resp = await client.post("/api/v1/auth/login/options", json={})
    assert (await resp.json())["error"] == "too_many_requests"
    assert int(resp.headers["Retry-After"]) > 0


async def test_open_login_challenges_are_capped_and_expire(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, db: AsyncSession
) -> None:
    capped = dataclasses.replace(settings, max_open_logins=2, anonymous_burst=100)
    client = await make_client(aiohttp_client, aiohttp_server, capped)
    statuses = [(await client.post("/api/v1/auth/login/options", json={})).status for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert await db.scalar(select(func.count()).select_from(AuthChallenge)) == 2
    # Once they expire they are deleted, and new ones may be made.
    past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    await db.execute(update(AuthChallenge).values(expires_at=past))
    await db.commit()
    assert (await client.post("/api/v1/auth/login/options", json={})).status == 200
    assert await db.scalar(select(func.count()).select_from(AuthChallenge)) == 1


async def test_login_codes_are_throttled_per_address(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings
) -> None:
    tight = dataclasses.replace(settings, anonymous_burst=2, anonymous_per_minute=1)
    client = await make_client(aiohttp_client, aiohttp_server, tight)
    statuses = [
        (await client.post("/login/code", data={"email": "a@example.ru"})).status for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


# --- 9. smaller ones ----------------------------------------------------------------------------


async def test_own_card_view_is_in_the_access_log(client: Any, db: AsyncSession) -> None:
    union = await f.org(db, "Пермская краевая организация")
    me = await f.member(db, union, "Кузнецова", card="59-77")
    me.joined_on = dt.date(2015, 5, 5)
    login = await f.login(client, db, await f.account(db, Role.MEMBER, member_obj=me))
    for path in ("/card", "/card/text", "/card/qr.svg"):
        before = await db.scalar(
            select(func.count())
            .select_from(AccessLogEntry)
            .where(AccessLogEntry.member_id == me.id)
        )
        await db.commit()
        assert (await login.get(path)).status == 200
        after = await db.scalar(
            select(func.count())
            .select_from(AccessLogEntry)
            .where(AccessLogEntry.member_id == me.id)
        )
        await db.commit()
        assert after == (before or 0) + 1, path
    details = await db.scalars(
        select(AccessLogEntry.detail)
        .where(AccessLogEntry.member_id == me.id)
        .order_by(AccessLogEntry.id.desc())
        .limit(3)
    )
    assert list(details) == ["union card"] * 3


async def test_locale_cookie_is_secure(client: Any) -> None:
    resp = await client.get("/locale/en", allow_redirects=False)
    (header,) = [h for h in resp.headers.getall("Set-Cookie") if h.startswith(LOCALE_COOKIE)]
    assert "Secure" in header
    assert "SameSite=Lax" in header


# --- 8. the OpenAPI document says what the server does ----------------------------------------


async def test_openapi_document_agrees_with_the_server(client: Any, db: AsyncSession) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    paths = doc["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            # 429 (with Retry-After) may come from any operation.
            assert "Retry-After" in operation["responses"]["429"]["headers"], where
            for parameter in operation["parameters"]:
                if parameter["in"] == "path":
                    assert parameter["schema"]["minimum"] == 1, where
    members = paths["/api/v1/organisations/{org_id}/members/export"]["get"]
    assert list(members["responses"]["200"]["content"]) == ["text/csv"]
    material = paths["/api/v1/materials/{material_id}"]["get"]["responses"]["200"]["content"]
    assert set(material) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "image/png",
        "image/jpeg",
        "image/webp",
    }
    name = doc["components"]["schemas"]["OrganisationIn"]["properties"]["name"]
    assert re.fullmatch(name["pattern"].encode().decode("unicode_escape"), "Союз")
    assert not re.fullmatch(name["pattern"].encode().decode("unicode_escape"), "Со\x00юз")
    # Public operations need no session; the rest need one (the document's default).
    assert paths["/api/v1/auth/login/options"]["post"]["security"] == []
    assert paths["/api/v1/votes/{vote_id}/ballots"]["post"]["security"] == []
    assert "security" not in paths["/api/v1/members"]["get"]
    # Links lead from what is made to what can be done with it.
    links = paths["/api/v1/organisations"]["post"]["responses"]["201"]["links"]
    assert links["get_organisation"]["parameters"] == {"org_id": "$response.body#/id"}

    # /votes/absentee is not also /votes/{vote_id}: its Allow names POST alone.
    registrar = await f.login(client, db, await f.account(db, Role.REGISTRAR))
    resp = await registrar.get("/api/v1/votes/absentee")
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    resp = await registrar.get("/api/v1/votes/surveys")
    assert resp.headers["Allow"] == "POST"
    # A non-digit id is simply no route (404), never a 422 after a route matched.
    assert (await registrar.get("/api/v1/votes/٣")).status == 404
    # The export really is CSV.
    union = await f.org(db)
    await db.commit()
    resp = await registrar.get(f"/api/v1/organisations/{union.id}/members/export")
    assert resp.status == 200
    assert resp.content_type == "text/csv"


async def test_a_caller_without_a_session_is_refused_before_the_body_is_read(client: Any) -> None:
    """Every API request that changes something and needs a session answers 401 to a
    caller without one, whatever the body or the ids: never 422 describing the schema."""
    spec = await (await client.get("/api/v1/openapi.json")).json()
    wrong = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "head", "options") or operation.get("security") == []:
                continue
            url = re.sub(r"\{[a-z_]+\}", "1", path)
            resp = await client.request(
                method, url, data="{not json", headers={"Content-Type": "application/json"}
            )
            if resp.status != 401:
                wrong.append(f"{method.upper()} {url}: {resp.status}")
    assert wrong == []
