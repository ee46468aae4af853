"""The union card's pages end to end: the member's card and its QR code, the public
verification page, the registrar's issue and revoke, and the public key and
revocation documents checked offline with the crypto functions alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar, web
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.card import CARD_PREFIX, verify_card
from crypto.errors import CredentialError
from crypto.revocation import verify_revocation_list
from registry.models import Member, MemberStatus, Organisation, Role
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server.app import create_app
from server.auth import COOKIE, open_session
from server.pages import LOCALE_COOKIE
from server.settings import Settings
from server.views import card as card_views
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "web" / "i18n"


def with_card_routes(app: web.Application) -> web.Application:
    """The app as the server builds it, with the card routes until app.py installs them."""
    wired = any(
        route.resource is not None and route.resource.canonical == "/card"
        for route in app.router.routes()
    )
    if not wired:
        card_views.install(app)
    return app


@pytest.fixture
async def client(aiohttp_client: Any, aiohttp_server: Any, settings: Settings) -> Any:
    server = await aiohttp_server(with_card_routes(create_app(settings)))
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


async def fresh_client(aiohttp_client: Any, client: Any) -> Any:
    """A second browser (no cookies) on the same server."""
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(client.server.make_url("/"))])
    return await aiohttp_client(client.server, cookie_jar=jar)


async def page(resp: Any, status: int = 200) -> str:
    html = await resp.text()
    assert resp.status == status, html
    assert resp.content_type == "text/html"
    # The CSP forbids inline style and script: they would silently not work.
    assert "style=" not in html
    assert "<style" not in html
    assert re.search(r"<script(?![^>]*\ssrc=)", html) is None
    assert re.search(r"\son[a-z]+=", html) is None
    return html


async def union_member(db: AsyncSession) -> tuple[Organisation, Member]:
    union = await f.org(db, "Пермская краевая организация", short_name="Пермский крайком")
    m = await f.member(db, union, "Кузнецова", name="Ольга", patronymic="Ивановна", card="59-77")
    m.joined_on = dt.date(2015, 5, 5)
    await db.commit()
    return union, m


async def member_login(client: Any, db: AsyncSession, m: Member) -> f.Login:
    acc = await f.account(db, Role.MEMBER, member_obj=m)
    return await f.login(client, db, acc)


async def card_text(login: f.Login) -> str:
    resp = await login.get("/card/text")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = (await resp.text()).strip()
    assert text.startswith(CARD_PREFIX)
    return text


async def verify(client: Any, text: str, csrf: str = "", **kw: Any) -> Any:
    return await client.post("/card/verify", data={"card": text, "_csrf": csrf}, **kw)


def flip(text: str) -> str:
    """One character changed in the middle of the signature."""
    prefix, payload, signature = text.split(".")
    i = len(signature) // 2
    other = "B" if signature[i] == "A" else "A"
    return f"{prefix}.{payload}.{signature[:i]}{other}{signature[i + 1 :]}"


# --- the member's card -------------------------------------------------------------------


async def test_card_page_shows_the_card_its_qr_and_text(client: Any, db: AsyncSession) -> None:
    _union, m = await union_member(db)
    login = await member_login(client, db, m)
    html = await page(await login.get("/card"))
    text = await card_text(login)

    assert "Электронный профсоюзный билет" in html
    for shown in ("Кузнецова Ольга Ивановна", "59-77", "Пермский крайком", "05.05.2015"):
        assert shown in html
    serial = re.search(r'<img src="/card/qr\.svg\?serial=(\d+)" alt="([^"]+)"', html)
    assert serial is not None
    assert serial.group(2) == "QR-код электронного профсоюзного билета"
    assert re.search(r"<textarea[^>]*readonly[^>]*>" + re.escape(text) + "</textarea>", html)
    assert 'href="/card/verify"' in html
    assert '<link rel="stylesheet" href="/static/css/card.css">' in html
    until = (utcnow() + dt.timedelta(days=365)).date().strftime("%d.%m.%Y")
    assert until in html
    resp = await login.get("/card")
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert await card_text(login) == text  # the same card again, not a new one

    svg = await login.get(f"/card/qr.svg?serial={serial.group(1)}")
    assert svg.status == 200
    assert svg.content_type == "image/svg+xml"
    body = await svg.read()
    # Our own server's output, not untrusted input.
    assert ET.fromstring(body).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314
    assert body == card_views.qr_svg(text)
    current = await login.get("/card/qr.svg")
    assert await current.read() == body


async def test_card_page_in_english(client: Any, db: AsyncSession) -> None:
    _union, m = await union_member(db)
    login = await member_login(client, db, m)
    client.session.cookie_jar.update_cookies(
        {LOCALE_COOKIE: "en"}, response_url=client.server.make_url("/")
    )
    html = await page(await login.get("/card"))
    assert "Electronic union membership card" in html
    assert "Valid until" in html


async def test_someone_elses_qr_code_is_not_found(client: Any, db: AsyncSession) -> None:
    union, m = await union_member(db)
    other = await f.member(db, union)
    await db.commit()
    owner = await member_login(client, db, m)
    serial = re.search(r"serial=(\d+)", await page(await owner.get("/card")))
    assert serial is not None
    intruder = await member_login(client, db, other)
    resp = await intruder.get(f"/card/qr.svg?serial={serial.group(1)}")
    assert resp.status == 404
    assert (await intruder.get("/card/qr.svg?serial=x")).status == 404


async def test_anonymous_card_is_the_login_page(client: Any) -> None:
    for path in ("/card", "/card/text", "/card/qr.svg"):
        html = await page(await client.get(path), 401)
        assert "Вы не вошли в систему" in html


async def test_an_account_without_a_member_has_no_card(client: Any, db: AsyncSession) -> None:
    login = await f.login(client, db, await f.account(db, Role.REGISTRAR, name="Регистратор"))
    html = await page(await login.get("/card"))
    assert "не связана с записью члена профсоюза" in html
    assert (await login.get("/card/text")).status == 404


async def test_a_member_who_left_gets_no_card(client: Any, db: AsyncSession) -> None:
    _union, m = await union_member(db)
    m.status = MemberStatus.LEFT
    m.left_on = dt.date(2024, 1, 1)
    await db.commit()
    login = await member_login(client, db, m)
    html = await page(await login.get("/card"), 409)
    assert "Вы выбыли из профсоюза" in html


# --- verification ------------------------------------------------------------------------


async def test_verify_accepts_the_real_card_anonymously(
    aiohttp_client: Any, client: Any, db: AsyncSession
) -> None:
    _union, m = await union_member(db)
    text = await card_text(await member_login(client, db, m))
    stranger = await fresh_client(aiohttp_client, client)

    form = await page(await stranger.get("/card/verify"))
    assert '<textarea id="f-card" name="card"' in form
    assert '<script type="module" src="/static/js/card_verify.js">' in form

    html = await page(await verify(stranger, text + "\n"))
    assert "Билет действителен" in html
    assert "Билет недействителен" not in html
    for shown in ("Кузнецова Ольга Ивановна", "59-77", "Пермский крайком", "не привязан"):
        assert shown in html
    assert "со списком отозванных № 1" in html


async def test_verify_from_a_logged_in_page_carries_the_csrf_field(
    client: Any, db: AsyncSession
) -> None:
    _union, m = await union_member(db)
    login = await member_login(client, db, m)
    text = await card_text(login)
    form = await page(await login.get("/card/verify"))
    assert f'name="_csrf" value="{login.csrf}"' in form
    assert "Билет действителен" in await page(await verify(client, text, login.csrf))
    # Without the session's token the form is refused, like every form.
    assert (await verify(client, text)).status == 403


async def test_verify_rejects_a_flipped_character(
    aiohttp_client: Any, client: Any, db: AsyncSession
) -> None:
    _union, m = await union_member(db)
    text = await card_text(await member_login(client, db, m))
    stranger = await fresh_client(aiohttp_client, client)
    html = await page(await verify(stranger, flip(text)))
    assert "Билет недействителен" in html
    assert "Подпись не сходится: текст билета изменён после выдачи." in html
    assert "bad_signature" in html
    assert "Кузнецова" not in html.split("<form")[0]  # nothing of a forged card is shown

    html = await page(await verify(stranger, text[:-20]))
    assert "Текст билета повреждён или неполон" in html

    html = await page(await verify(stranger, "   "), 422)
    assert "Вставьте текст билета." in html


async def test_verify_in_english(aiohttp_client: Any, client: Any, db: AsyncSession) -> None:
    _union, m = await union_member(db)
    text = await card_text(await member_login(client, db, m))
    stranger = await fresh_client(aiohttp_client, client)
    stranger.session.cookie_jar.update_cookies(
        {LOCALE_COOKIE: "en"}, response_url=client.server.make_url("/")
    )
    assert "The card is valid" in await page(await verify(stranger, text))
    html = await page(await verify(stranger, flip(text)))
    assert "The card is not valid" in html
    assert "The signature does not match" in html


async def test_verify_refuses_a_cross_site_post(client: Any) -> None:
    resp = await verify(client, "KVC1.x.y", headers={"Origin": "https://evil.example"})
    assert resp.status == 403


# --- the registrar ------------------------------------------------------------------------


async def test_registrar_issues_and_revokes_then_verification_fails(
    aiohttp_client: Any, client: Any, db: AsyncSession
) -> None:
    _union, m = await union_member(db)
    registrar = await f.login(client, db, await f.account(db, Role.REGISTRAR, name="Регистратор"))
    base = f"/registry/members/{m.id}/card"

    html = await page(await registrar.get(base))
    assert "Действующего электронного билета у этого члена профсоюза нет." in html
    assert "Билеты ещё не выдавались." in html
    resp = await registrar.post(base + "/issue", data={}, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == base + "?done=card_issued"
    html = await page(await registrar.get(base + "?done=card_issued"))
    assert "Билет выдан." in html
    assert "действует" in html
    assert "Кузнецова Ольга Ивановна" in html
    text = re.search(r'<textarea id="card-text"[^>]*>([^<]+)</textarea>', html)
    assert text is not None
    card = text.group(1)

    stranger = await fresh_client(aiohttp_client, client)
    assert "Билет действителен" in await page(await verify(stranger, card))

    resp = await registrar.post(
        base + "/revoke", data={"reason": "утерян телефон"}, allow_redirects=False
    )
    assert resp.status == 303
    html = await page(await registrar.get(base + "?done=card_revoked"))
    assert "Билет отозван." in html
    assert "утерян телефон" in html
    assert "<textarea" not in html  # no valid card: nothing to show or revoke

    html = await page(await verify(stranger, card))
    assert "Билет недействителен" in html
    assert "Билет отозван." in html
    assert "revoked" in html

    resp = await registrar.post(base + "/revoke", data={}, allow_redirects=False)
    assert resp.status == 409


async def test_a_member_cannot_use_the_registrar_pages(client: Any, db: AsyncSession) -> None:
    union, m = await union_member(db)
    other = await f.member(db, union)
    await db.commit()
    login = await member_login(client, db, m)
    for path in (f"/registry/members/{other.id}/card", f"/registry/members/{m.id}/card"):
        assert (await login.get(path)).status == 403
    resp = await login.post(f"/registry/members/{m.id}/card/revoke", data={})
    assert resp.status == 403
    resp = await login.post(f"/registry/members/{other.id}/card/issue", data={})
    assert resp.status == 403


# --- the public documents, checked offline -------------------------------------------------


async def test_public_documents_verify_the_card_offline(
    aiohttp_client: Any, client: Any, db: AsyncSession
) -> None:
    union, m = await union_member(db)
    text = await card_text(await member_login(client, db, m))
    stranger = await fresh_client(aiohttp_client, client)

    keys_resp = await stranger.get("/registry/keys.json")
    assert keys_resp.status == 200
    assert keys_resp.content_type == "application/json"
    assert keys_resp.headers["Cache-Control"] == "no-cache"
    document = json.loads(await keys_resp.read())
    assert document["org"] == union.id
    assert document["org_name"] == "Пермский крайком"
    keys = RegistryKeyring.trusted_from_document(document)

    crl_resp = await stranger.get("/registry/revocations.json")
    assert crl_resp.status == 200
    assert crl_resp.headers["Cache-Control"] == "no-cache"
    revocations = verify_revocation_list(await crl_resp.read(), keys, now=utcnow())
    assert revocations.organisation_id == union.id

    now = utcnow().replace(microsecond=0)
    card = verify_card(text, keys, now=now, revocations=revocations)
    assert card.full_name == "Кузнецова Ольга Ивановна"
    with pytest.raises(CredentialError) as caught:
        verify_card(flip(text), keys, now=now, revocations=revocations)
    assert caught.value.reason == "bad_signature"

    # Asked for by id; a non-root or unknown organisation is not a union.
    assert (await stranger.get(f"/registry/keys.json?org={union.id}")).status == 200
    primary = await f.org(db, "ППО", kind=f.OrgKind.PRIMARY, parent=union)
    await db.commit()
    for query in (f"?org={primary.id}", "?org=999999", "?org=abc"):
        assert (await stranger.get("/registry/keys.json" + query)).status == 404
        assert (await stranger.get("/registry/revocations.json" + query)).status == 404


async def test_public_documents_without_a_union(client: Any) -> None:
    assert (await client.get("/registry/keys.json")).status == 404
    assert (await client.get("/registry/revocations.json")).status == 404


# --- in a real Chromium: the phone layout, the A6 printout, the camera -----------------------


@pytest.fixture
async def card_site(aiohttp_server: Any, settings: Settings) -> str:
    """The app on a real port, reached as http://localhost:PORT (a secure context)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live = dataclasses.replace(settings, port=port, public_url=f"http://localhost:{port}")
    await aiohttp_server(with_card_routes(create_app(live)), host="127.0.0.1", port=port)
    return live.effective_public_url


async def browser_page(browser: Any, db: AsyncSession, m: Member | None, **context: Any) -> Any:
    ctx = await browser.new_context(locale="ru-RU", **context)
    if m is not None:
        acc = await f.account(db, Role.MEMBER, member_obj=m)
        token, _row = await open_session(db, acc, None, method="invitation")
        await db.commit()
        await ctx.add_cookies(
            [{"name": COOKIE, "value": token, "domain": "localhost", "path": "/", "secure": True}]
        )
    return await ctx.new_page()


async def test_card_fits_a_phone_and_prints_alone_on_one_a6_page(
    browser: Any, card_site: str, db: AsyncSession
) -> None:
    _union, m = await union_member(db)
    page = await browser_page(browser, db, m, viewport={"width": 360, "height": 740})
    await page.goto(card_site + "/card")
    assert "Кузнецова Ольга Ивановна" in await page.inner_text(".union-card")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    loaded = await page.evaluate("document.querySelector('.union-card-qr img').naturalWidth")
    assert loaded > 0  # the QR image was served and decoded as SVG

    pdf = await page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    box = re.search(rb"/MediaBox\s*\[0 0 ([0-9.]+) ([0-9.]+)\]", pdf)
    assert box is not None
    width, height = (float(v) * 25.4 / 72 for v in box.groups())  # points to mm
    assert (round(width), round(height)) == (105, 148)
    await page.emulate_media(media="print")
    hidden = await page.evaluate(
        "['.site-header', '.union-card-text', 'h1', '.site-footer']"
        ".map(s => getComputedStyle(document.querySelector(s)).display)"
    )
    assert hidden == ["none", "none", "none", "none"]


async def test_scanning_a_qr_code_fills_the_form_and_verifies(
    browser: Any, card_site: str, db: AsyncSession, aiohttp_client: Any, client: Any
) -> None:
    _union, m = await union_member(db)
    text = await card_text(await member_login(client, db, m))
    # Chromium on Linux has no BarcodeDetector: a stand-in that "sees" the card's QR
    # code in the (fake) camera's picture exercises the page's script end to end.
    page = await browser_page(browser, db, None)
    await page.add_init_script(
        "window.BarcodeDetector = class {"
        "  static async getSupportedFormats() { return ['qr_code']; }"
        "  async detect(video) {"
        "    return video.readyState >= 2 ? [{rawValue: " + json.dumps(text) + "}] : [];"
        "  }"
        "};"
    )
    await page.goto(card_site + "/card/verify")
    await page.get_by_role("button", name="Сканировать камерой").click()
    await page.wait_for_selector("text=Билет действителен")
    assert "Кузнецова Ольга Ивановна" in await page.inner_text(".verdict")
    assert await page.input_value("#f-card") == text


async def test_no_scan_button_without_barcode_detector(
    browser: Any, card_site: str, db: AsyncSession
) -> None:
    page = await browser_page(browser, db, None)
    await page.goto(card_site + "/card/verify")
    await page.wait_for_load_state("networkidle")
    assert not await page.get_by_role("button", name="Сканировать камерой").is_visible()
    assert not await page.get_by_role("button", name="Остановить камеру").is_visible()
    assert await page.get_by_role("button", name="Проверить").is_visible()


# --- the catalogue ----------------------------------------------------------------------------


def test_every_reason_and_error_code_is_translated() -> None:
    errors = (ROOT / "crypto" / "errors.py").read_text("utf-8")
    reasons = set(re.findall(r"^``([a-z_]+)``", errors, re.M))
    assert {"malformed", "bad_signature", "revoked", "key_revoked", "expired"} <= reasons
    sources = (ROOT / "registry" / "cards.py").read_text("utf-8")
    reasons |= set(re.findall(r'CredentialError\(\s*"([a-z_]+)"', sources))
    codes = set(re.findall(r'code="([a-z_]+)"', sources))
    assert {"member_left", "no_valid_card", "card_data_invalid"} <= codes
    for name in ("ru", "en"):
        catalogue = json.loads((CATALOGUES / f"{name}.json").read_text("utf-8"))
        assert {f"card.reason.{r}" for r in reasons} - set(catalogue) <= {
            "card.reason.bad_content_address"  # never in a card
        }
        assert {f"error.{c}" for c in codes} - set(catalogue) == set()
