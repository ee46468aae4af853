"""A protocol finalised and signed end to end in Chromium: the secretary and the chair
of a held, closed meeting, each in their own browser (their own IndexedDB), make their
signing keys on the security page; the secretary finalises the protocol and signs it,
the chair signs it, the signed PDF is downloaded through the page and passes the
verify page and the offline verifier — signed by the keys the browsers made, not the
ones the meeting's fixture enrolled in Python — and fails once one byte is changed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.docsign import CERTIFICATES_FILE, SIGNATURES_FILE
from meetings.docverify import verify_pdf
from meetings.models import DocumentSignature
from meetings.signedpdf import extract
from registry.models import Account, Member
from server.auth import COOKIE, open_session
from server.keys import KEYRING
from tests.factories import LiveServer
from tests.meetings.closed_meeting import held_meeting


@pytest.fixture
async def live_client(aiohttp_client: Any, live_server: LiveServer) -> Any:
    """A test client on the live server itself, for the fixtures that build their data
    over HTTP (``held_meeting``); it keeps the Secure session cookie over plain http."""
    server = live_server.server
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


async def logged_in(browser: Any, db: AsyncSession, member: Member) -> Any:
    """A browser context of its own (cookies, IndexedDB) with a fresh invitation-login
    session of the member's account. As test_vote_browser's ``logged_in``, but for the
    account the fixture already made: a member has one account."""
    account = await db.scalar(select(Account).where(Account.member_id == member.id))
    assert account is not None
    token, _row = await open_session(db, account, None, method="invitation")
    await db.commit()
    context = await browser.new_context(locale="ru-RU")
    # As the browser keeps a __Host- cookie set by http://localhost: host-only, path "/".
    cookie = {"name": COOKIE, "value": token, "domain": "localhost", "path": "/"}
    await context.add_cookies([cookie | {"secure": True, "httpOnly": True, "sameSite": "Lax"}])
    return context


def console_errors(context: Any) -> list[str]:
    """Every console error and uncaught exception of the context's pages, as they come."""
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            where = message.location.get("url") or (message.page.url if message.page else "?")
            errors.append(f"{where}: {message.text}")

    context.on("console", on_console)
    context.on("weberror", lambda error: errors.append(f"uncaught: {error.error}"))
    return errors


async def enrol_key(context: Any, live: LiveServer) -> tuple[str, int]:
    """Make this device's signing key on the security page; returns its public key and
    serial. Unlike test_vote_browser's helper, the member already holds a key enrolled in
    Python by the meeting's fixture, so the new one is the row marked as this device's."""
    page = await context.new_page()
    await page.goto(live.url("/account/security"))
    panel = page.locator("#signing-keys")
    await expect(panel).to_have_attribute("data-has-key", "no")
    await page.get_by_role("button", name="Создать ключ подписи на этом устройстве").click()
    await expect(panel).to_have_attribute("data-has-key", "yes")
    rows = panel.locator("tr[data-public-key]")
    await expect(rows).to_have_count(2)  # the fixture's key, and this device's
    mine = rows.filter(has=page.locator('[data-role="device-mark"]', has_text="это устройство"))
    await expect(mine).to_have_count(1)
    public_key = await mine.get_attribute("data-public-key")
    serial = int(await mine.locator("td").nth(1).inner_text())
    await page.close()
    assert public_key
    return public_key, serial


async def sign(page: Any, role: str, label: str) -> Any:
    """Press «Подписать как <label>» and wait for the page, reloaded by docsign.js once
    the server took the signature, to show it; returns the signature's line. If it never
    comes, the failure says what the page said (a refusal, no key, a PDF mismatch)."""
    button = page.locator('[data-role="sign"]')
    await expect(button).to_have_text(f"Подписать как {label}")
    await button.click()
    signature = page.locator(f'[data-role="signature-{role}"]')
    try:
        await expect(signature).to_be_visible()
    except AssertionError as error:
        said = await page.locator('#sign [data-role="status"]').all_inner_texts()
        raise AssertionError(f"{error}\nthe page says: {said}") from None
    return signature


def embedded(data: bytes, name: str) -> list[Any]:
    """A JSON file embedded in a signed PDF (the signatures, the certificates)."""
    found = extract(data).file(name)
    assert found is not None, name
    return list(json.loads(found.data))


async def verify_in_browser(page: Any, live: LiveServer, name: str, data: bytes) -> Any:
    """Upload ``data`` on the verify page; returns the verdict's locator. If no report
    comes, the failure says what the page answered instead (its heading)."""
    await page.goto(live.url("/documents/verify"))
    await page.locator("#f-file").set_input_files(
        files=[{"name": name, "mimeType": "application/pdf", "buffer": data}]
    )
    await page.get_by_role("button", name="Проверить", exact=True).click()
    try:
        await expect(page.locator("#report h2")).to_have_text(name)
    except AssertionError as error:
        said = await page.locator("main h1, main .error-code, main p").all_inner_texts()
        raise AssertionError(f"{error}\nthe page says: {said}") from None
    return page.locator('[data-role="verdict"]')


async def test_protocol_finalised_signed_and_verified_in_the_browsers(
    browser: Any,
    live_server: LiveServer,
    live_client: Any,
    db: AsyncSession,
    tmp_path: Path,
) -> None:
    live = live_server
    held = await held_meeting(db, live_client)
    setup = held.vm.setup
    fixture_serials = {v.serial for v in held.vm.voters}

    secretary_context = await logged_in(browser, db, setup.secretary)
    chair_context = await logged_in(browser, db, setup.chair)
    errors = console_errors(secretary_context)
    chair_errors = console_errors(chair_context)
    secretary_key, secretary_serial = await enrol_key(secretary_context, live)
    chair_key, chair_serial = await enrol_key(chair_context, live)
    assert not {secretary_serial, chair_serial} & fixture_serials

    # The secretary finalises the protocol on the meeting's documents page...
    secretary = await secretary_context.new_page()
    await secretary.goto(live.url(f"/meetings/{held.meeting_id}/documents"))
    finalise = secretary.locator('[data-role="finalise-protocol"]')
    await expect(finalise).to_have_text("Оформить")
    await finalise.click()
    await secretary.wait_for_url(re.compile(r"/documents/\d+\?done=finalised$"))
    match = re.search(r"/documents/(\d+)\?", secretary.url)
    assert match is not None
    document_id = int(match[1])
    state = secretary.locator('[data-role="state"]')
    await expect(state).to_have_text("на подписи")
    await expect(secretary.locator('[data-role="signed-pdf"]')).to_have_count(0)

    # ... and signs it with the key in this browser.
    signed_by_secretary = await sign(secretary, "secretary", "Секретарь")
    await expect(signed_by_secretary).to_contain_text(f"Секретарь: {setup.secretary.full_name}")
    await expect(signed_by_secretary).to_contain_text(f"ключ № {secretary_serial}")
    await expect(secretary.locator('[data-role="sign"]')).to_have_count(0)  # the chair's turn
    await expect(state).to_have_text("на подписи")

    # The chair, in their own browser, signs second; the document is signed.
    chair = await chair_context.new_page()
    await chair.goto(live.url(f"/documents/{document_id}"))
    await expect(chair.locator('[data-role="signature-secretary"]')).to_be_visible()
    signed_by_chair = await sign(chair, "chair", "Председатель")
    await expect(chair.locator('[data-role="state"]')).to_have_text("подписан")
    await expect(signed_by_chair).to_contain_text(f"Председатель: {setup.chair.full_name}")
    await expect(signed_by_chair).to_contain_text(f"ключ № {chair_serial}")
    link = chair.locator('[data-role="signed-pdf"]')
    await expect(link).to_be_visible()

    # The signed PDF, downloaded through the page; it extends the PDF as finalised.
    async with chair.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    target = tmp_path / "signed.pdf"
    await download.save_as(target)
    data = target.read_bytes()
    unsigned = await chair_context.request.get(live.url(f"/documents/{document_id}/unsigned.pdf"))
    assert unsigned.ok
    original = await unsigned.body()
    assert data.startswith(original)
    assert len(data) > len(original)
    assert extract(data).original == original

    # Verified in the browser by the server's page, and offline with the registry's keys.
    verdict = await verify_in_browser(chair, live, "signed.pdf", data)
    await expect(verdict).to_contain_text("Документ подлинный")
    keys = live.server.app[KEYRING].public_keys()
    report = verify_pdf(data, keys=keys)
    assert report.ok, report.text()

    # Signed by the keys the browsers made (the fixture's Python keys were not used).
    payloads = [envelope["payload"] for envelope in embedded(data, SIGNATURES_FILE)]
    assert {p["role"]: (p["member"], p["serial"]) for p in payloads} == {
        "secretary": (setup.secretary.id, secretary_serial),
        "chair": (setup.chair.id, chair_serial),
    }
    certified = {
        c["payload"]["serial"]: c["payload"]["public_key"]
        for c in embedded(data, CERTIFICATES_FILE)
    }
    assert certified == {secretary_serial: secretary_key, chair_serial: chair_key}
    rows = (
        await db.scalars(
            select(DocumentSignature).where(DocumentSignature.document_id == document_id)
        )
    ).all()
    await db.commit()  # SQLite: release the read transaction for the server
    assert {r.role: r.serial for r in rows} == {
        "secretary": secretary_serial,
        "chair": chair_serial,
    }

    # One byte changed inside the document as finalised: the page and the verifier fail.
    broken = bytearray(data)
    broken[len(original) // 2] ^= 0x01
    verdict = await verify_in_browser(chair, live, "broken.pdf", bytes(broken))
    await expect(verdict).to_have_text("Проверка не пройдена.")
    report = verify_pdf(bytes(broken), keys=keys)
    assert not report.ok
    assert report.failed_checks("pdf"), report.text()

    assert errors == []
    assert chair_errors == []
    for context in (secretary_context, chair_context):
        await context.close()
