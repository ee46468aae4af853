"""The counting commission's protocol in Chromium: a counted election's page offers the
secretary «Оформить протокол счётной комиссии»; the two commission members who counted,
each in their own browser with the key it made, sign it on the election's page (one at
360 px wide, one at 1280 px); the secretary then puts it to the body's vote
(«Поставить на утверждение»), which the page offers only once it is signed. The signed
PDF passes the offline verifier, naming the signers «член счётной комиссии»."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings import docverify
from meetings.elections.models import Election, ElectionState
from meetings.models import Document, DocumentState
from server.keys import KEYRING
from tests.factories import LiveServer
from tests.meetings.test_commission_protocol import constituted, count
from tests.meetings.test_elections import hall
from tests.web.test_document_browser import (
    console_errors,
    enrol_key,
    logged_in,
    verify_in_browser,
)


async def no_overflow(page: Any) -> None:
    """Nothing sticks out sideways: the page is as wide as the viewport."""
    wide = await page.evaluate("document.documentElement.scrollWidth")
    inner = await page.evaluate("window.innerWidth")
    assert wide <= inner, (wide, inner)


async def sign_on_the_election_page(page: Any, live: LiveServer, eid: int) -> None:
    await page.goto(live.url(f"/elections/{eid}"))
    button = page.locator('#sign [data-role="sign"]')
    await expect(button).to_have_text("Подписать протокол как член счётной комиссии")
    await no_overflow(page)
    await button.click()
    try:
        await expect(page.locator('#sign [data-role="sign"]')).to_have_count(0)
    except AssertionError as error:
        said = await page.locator('#sign [data-role="status"]').all_inner_texts()
        raise AssertionError(f"{error}\nthe page says: {said}") from None


async def test_commission_members_sign_and_the_secretary_puts_it_to_the_vote(
    browser: Any, live_server: LiveServer, db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    live = live_server
    # The hall's registry key is the server's (both under tmp_path/keys).
    h = await hall(db, tmp_path)
    assert h.keyring.current_id == live.server.app[KEYRING].current_id
    eid = await constituted(db, db_url, h)
    await count(db, h, eid, (5, 2, 4), decrypted_by=(1, 3))  # the secretary and member 3
    members = list(h.setup.members)

    secretary_context = await logged_in(browser, db, members[1])
    counter_context = await logged_in(browser, db, members[3])
    idle_context = await logged_in(browser, db, members[2])  # on the commission, did not count
    errors = console_errors(secretary_context) + console_errors(counter_context)
    await enrol_key(secretary_context, live)
    await enrol_key(counter_context, live)

    # The secretary issues the protocol; nobody can put it to the vote yet.
    secretary = await secretary_context.new_page()
    await secretary.set_viewport_size({"width": 1280, "height": 900})
    await secretary.goto(live.url(f"/elections/{eid}"))
    panel = secretary.locator('[data-role="commission-protocol"]')
    await expect(panel).to_contain_text("Протокол счётной комиссии")
    await expect(secretary.locator('[data-role="put-to-approval"]')).to_have_count(0)
    await secretary.locator('[data-role="issue-protocol"]').click()
    await secretary.wait_for_url(re.compile(rf"/elections/{eid}\?done=protocol$"))
    await expect(secretary.locator('[data-role="protocol-link"]')).to_contain_text("№ 1")
    signers = secretary.locator('[data-role="protocol-signer"]')
    await expect(signers).to_have_count(2)
    await expect(signers.nth(0)).to_have_attribute("data-signed", "no")
    await expect(secretary.locator('[data-role="put-to-approval"]')).to_have_count(0)

    # The member who did not count sees the protocol and no signing button.
    idle = await idle_context.new_page()
    await idle.goto(live.url(f"/elections/{eid}"))
    await expect(idle.locator('[data-role="protocol-link"]')).to_be_visible()
    await expect(idle.locator("#sign")).to_have_count(0)

    # Member 3 signs on a phone-sized screen, the secretary on a wide one.
    counter = await counter_context.new_page()
    await counter.set_viewport_size({"width": 360, "height": 780})
    await sign_on_the_election_page(counter, live, eid)
    await expect(
        counter.locator('[data-role="protocol-signer"][data-signed="yes"]')
    ).to_contain_text(h.names[3])
    await expect(counter.locator('[data-role="put-to-approval"]')).to_have_count(0)
    await sign_on_the_election_page(secretary, live, eid)
    await expect(secretary.locator('[data-role="protocol-complete"]')).to_be_visible()

    # Signed: the secretary puts it to the body's open vote.
    approve = secretary.locator('[data-role="put-to-approval"]')
    await expect(approve).to_have_text("Поставить на утверждение")
    await approve.click()
    await secretary.wait_for_url(re.compile(rf"/elections/{eid}\?done=approval$"))
    await expect(secretary.locator('[data-role="approval"]')).to_contain_text(
        "Орган голосует об утверждении протокола"
    )
    await expect(secretary.locator('[data-role="put-to-approval"]')).to_have_count(0)
    await no_overflow(secretary)
    assert errors == []

    await db.rollback()
    election = await db.get(Election, eid, populate_existing=True)
    assert election is not None
    assert election.state is ElectionState.COUNTED
    assert election.approval_vote_id is not None
    document = await db.scalar(select(Document).where(Document.election_id == eid))
    assert document is not None
    assert document.state is DocumentState.SIGNED
    assert document.signed_pdf is not None
    data = document.signed_pdf
    report = docverify.verify_pdf(data, keys=h.keyring.public_keys())
    assert report.ok, report.text()
    assert "the commission member" in report.summary
    await db.rollback()

    # The server's verify page says the same, in Russian, naming the signers' role.
    verdict = await verify_in_browser(secretary, live, "protocol.pdf", data)
    await expect(verdict).to_contain_text("Документ подлинный")
    await expect(secretary.locator("#report")).to_contain_text(
        f"член счётной комиссии {h.names[3]}"
    )
    await expect(secretary.locator("#report")).to_contain_text("Подписи членов счётной комиссии")
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 0x01
    verdict = await verify_in_browser(secretary, live, "tampered.pdf", bytes(tampered))
    await expect(verdict).not_to_contain_text("Документ подлинный")
