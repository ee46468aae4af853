"""Identity end to end in Chromium: invitation → passkey (CDP virtual authenticator) →
a signing key made in the browser and certified → union card verified offline by
`kvorum card verify`, and refused once the key is revoked → logout → passkey login."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.certificate import verify_certificate
from registry.models import DeviceKey, Passkey
from server.cli import main
from server.demo import seed_with_logins
from server.keys import KEYRING
from tests.factories import LiveServer

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


async def invitation_path(db: AsyncSession, live: LiveServer, role: str) -> str:
    async with db.begin():
        links = (await seed_with_logins(db, live.settings)).links
    return next(urlsplit(url).path for label, _name, url in links if label == role)


async def test_invitation_passkey_signing_key_card_and_passkey_login(
    browser: Any,
    live_server: LiveServer,
    db: AsyncSession,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = await invitation_path(db, live_server, "член президиума")
    context = await browser.new_context(locale="ru-RU")
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})

    await page.goto(live_server.url(path))
    await page.get_by_role("button", name="Войти", exact=True).click()
    await page.wait_for_url("**/account/security?welcome=1")

    # A passkey on this device.
    await page.get_by_role("button", name="Создать ключ доступа на этом устройстве").click()
    await page.wait_for_selector("#passkeys table tbody tr")
    async with db.begin():
        assert len((await db.scalars(select(Passkey))).all()) == 1

    # A signing key made here, proven and certified.
    await page.get_by_role("button", name="Создать ключ подписи на этом устройстве").click()
    await page.wait_for_selector("#signing-keys tr[data-public-key]")
    row = page.locator("#signing-keys tr[data-public-key]")
    await page.wait_for_function(
        "document.querySelector('#signing-keys [data-role=device-mark]').textContent !== ''"
    )
    assert "действует" in await row.inner_text()
    public_key = await row.get_attribute("data-public-key")
    # One valid key per device: no second one is offered.
    assert await page.locator('[data-action="create-key"]').is_hidden()

    stored = await page.evaluate(
        """async () => {
            const { loadKey } = await import('/static/js/keystore.js');
            const panel = document.getElementById('signing-keys');
            const record = await loadKey(Number(panel.dataset.member));
            const privateKey = record.keyPair.privateKey;
            let exported = 'refused';
            try {
                await crypto.subtle.exportKey('pkcs8', privateKey);
                exported = 'exported';
            } catch (e) {
                exported = 'refused';
            }
            return {
                publicKey: record.publicKey, extractable: privateKey.extractable, exported,
                serial: record.serial, certificate: record.certificate,
            };
        }"""
    )
    assert stored["publicKey"] == public_key
    assert stored["extractable"] is False
    assert stored["exported"] == "refused"

    # The certificate names this member and key, and verifies under the registry key.
    async with db.begin():
        device = await db.scalar(select(DeviceKey))
        assert device is not None
        assert device.public_key == public_key
        assert device.serial == stored["serial"]
    certificate = verify_certificate(
        stored["certificate"],
        live_server.server.app[KEYRING].public_keys(),
        now=dt.datetime.now(dt.UTC),
        revocations=None,
    )
    assert certificate.public_key.b64u == public_key
    assert certificate.member_id == device.member_id

    # The union card, bound to this key, verifies offline with the published documents...
    await page.goto(live_server.url("/card"))
    card_text = (await page.input_value("#card-text")).strip()
    assert card_text.startswith("KVC1.")
    keys_file = tmp_path / "keys.json"
    crl_file = tmp_path / "revocations.json"

    async def download() -> None:
        for url, target in (
            ("/registry/keys.json", keys_file),
            ("/registry/revocations.json", crl_file),
        ):
            body = await page.evaluate(f"async () => await (await fetch('{url}')).text()")
            target.write_text(body, encoding="utf-8")

    await download()
    verify = ["card", "verify", card_text, "--keys", str(keys_file), "--crl", str(crl_file)]
    assert main(verify) == 0
    assert capsys.readouterr().out.startswith("Билет действителен: Петров Алексей Николаевич")

    # ... and fails once the key it is bound to is revoked.
    await page.goto(live_server.url("/account/security"))
    await page.get_by_role("button", name="Отозвать").click()
    await page.wait_for_url("**/account/security?done=revoked")
    assert "отозван" in await page.locator("#signing-keys tr[data-public-key]").inner_text()
    await page.locator('[data-action="create-key"]').wait_for(state="visible")
    await download()
    assert main(verify) == 1
    assert "Билет недействителен (key_revoked)" in capsys.readouterr().out

    # Log out, then back in with the passkey alone.
    await page.get_by_role("button", name="Выйти").click()
    await page.wait_for_url(live_server.url("/"))
    await page.goto(live_server.url("/login"))
    await page.get_by_role("button", name="Войти с ключом доступа").click()
    await page.wait_for_url(live_server.url("/"))
    assert "Петров Алексей Николаевич" in await page.inner_text("header")
