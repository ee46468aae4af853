"""``kvorum card verify`` offline: key and revocation files fetched from the running
app, then the command with no server and no database."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.card import decode_card
from crypto.instant import format_instant
from registry.models import Role
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server.app import create_app
from server.cardcli import add_card_commands, run_card_command
from server.settings import Settings
from tests import factories as f
from tests.server.test_card_pages import union_member, with_card_routes


@pytest.fixture
async def client(aiohttp_client: Any, aiohttp_server: Any, settings: Settings) -> Any:
    server = await aiohttp_server(with_card_routes(create_app(settings)))
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


def kvorum_card(argv: Sequence[str], settings: Settings, stdin: str = "") -> tuple[int, str, str]:
    """``kvorum card …`` as the CLI parses it; returns (status, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="kvorum")
    commands = parser.add_subparsers(dest="command", required=True)
    add_card_commands(commands)
    # The tests read the English answer unless they ask for another (--lang).
    words = [*argv, "--lang", "en"] if argv[0] == "verify" and "--lang" not in argv else argv
    args = parser.parse_args(["card", *words])
    out, err = io.StringIO(), io.StringIO()
    status = run_card_command(args, settings, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


async def download(client: Any, path: str, target: Path) -> Path:
    resp = await client.get(path)
    assert resp.status == 200
    await asyncio.to_thread(target.write_bytes, await resp.read())
    return target


async def setup(client: Any, db: AsyncSession, tmp_path: Path) -> tuple[str, f.Login, int]:
    """A member's card text, a registrar's login and the member's id."""
    _union, m = await union_member(db)
    member = await f.login(client, db, await f.account(db, Role.MEMBER, member_obj=m))
    text = (await (await member.get("/card/text")).text()).strip()
    registrar = await f.login(client, db, await f.account(db, Role.REGISTRAR, name="Регистратор"))
    return text, registrar, m.id


async def test_offline_verification(
    client: Any, db: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    text, registrar, member_id = await setup(client, db, tmp_path)
    keys = await download(client, "/registry/keys.json", tmp_path / "keys.json")
    crl = await download(client, "/registry/revocations.json", tmp_path / "crl.json")
    card_file = tmp_path / "card.txt"
    card_file.write_text(text + "\n")
    files = ["--keys", str(keys), "--crl", str(crl)]

    # valid: as text, as a file, from standard input
    for source, stdin in ((text, ""), (str(card_file), ""), ("-", text + "\n")):
        status, out, err = kvorum_card(["verify", source, *files], settings, stdin)
        assert status == 0, out + err
        assert out.startswith("VALID: Кузнецова Ольга Ивановна, Пермский крайком, card 59-77, ")
        assert "valid until " in out
        assert err == ""

    # tampered
    prefix, payload, signature = text.split(".")
    i = len(signature) // 2
    forged = f"{prefix}.{payload}.{signature[:i]}{'B' if signature[i] == 'A' else 'A'}"
    forged += signature[i + 1 :]
    status, out, _err = kvorum_card(["verify", forged, *files], settings)
    assert status == 1
    assert out.startswith("INVALID (bad_signature): ")
    # In Russian (the default outside an English locale), with the same reason code.
    status, out, _err = kvorum_card(["verify", forged, *files, "--lang", "ru"], settings)
    assert status == 1
    assert out == (
        "Билет недействителен (bad_signature): "
        "Подпись не сходится: текст билета изменён после выдачи.\n"
    )
    status, out, err = kvorum_card(["verify", text, *files, "--lang", "ru"], settings)
    assert status == 0
    assert out.startswith(
        "Билет действителен: Кузнецова Ольга Ивановна, Пермский крайком, билет № 59-77, "
        "действует до "
    )
    assert "по екатеринбургскому времени" in out or "UTC+" in out
    assert "UTC" not in out.replace("UTC+", "")
    status, out, err = kvorum_card(["verify", text, "--keys", str(keys), "--lang", "ru"], settings)
    assert err == "kvorum: отзыв билета не проверен (не указан --crl)\n"

    # after expiry
    expires = decode_card(text).card.expires_at
    later = format_instant(expires + dt.timedelta(seconds=1))
    status, out, _err = kvorum_card(["verify", text, *files, "--at", later], settings)
    assert status == 1
    assert out.startswith("INVALID (expired): ")
    # any ISO 8601 instant with an offset will do
    earlier = (expires - dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=5)))
    status, out, _err = kvorum_card(["verify", text, *files, "--at", earlier.isoformat()], settings)
    assert status == 0, out

    # revoked: the old list still says valid, the new list does not
    resp = await registrar.post(f"/registry/members/{member_id}/card/revoke", data={})
    assert resp.status == 200  # followed to the registrar's page
    status, out, _err = kvorum_card(["verify", text, *files], settings)
    assert status == 0  # freshness is the caller's business: an old list is old
    await download(client, "/registry/revocations.json", crl)
    status, out, _err = kvorum_card(["verify", text, *files], settings)
    assert status == 1
    assert out.startswith("INVALID (revoked): ")
    assert "revoked" in out

    # without a list: valid, with a warning
    status, out, err = kvorum_card(["verify", text, "--keys", str(keys)], settings)
    assert status == 0
    assert out.startswith("VALID: ")
    assert "revocation not checked" in err


async def test_untrusted_or_unreadable_inputs(
    client: Any, db: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    text, _registrar, _member_id = await setup(client, db, tmp_path)
    keys = await download(client, "/registry/keys.json", tmp_path / "keys.json")
    crl = await download(client, "/registry/revocations.json", tmp_path / "crl.json")

    # A key list of another registry: the card's signer is unknown.
    other = json.loads(keys.read_text())
    stranger = RegistryKeyring.open(tmp_path / "stranger", now=utcnow())
    other_keys = tmp_path / "other-keys.json"
    other_keys.write_text(json.dumps(stranger.document(other["org"], other["org_name"])))
    status, out, _err = kvorum_card(["verify", text, "--keys", str(other_keys)], settings)
    assert status == 1
    assert out.startswith("INVALID (unknown_signer): ")
    # ...and a revocation list signed by a key we do not trust is refused outright.
    status, out, err = kvorum_card(
        ["verify", text, "--keys", str(other_keys), "--crl", str(crl)], settings
    )
    assert status == 2
    assert "not trusted (unknown_signer)" in err
    assert out == ""

    cases: list[tuple[list[str], str]] = [
        (["verify", text, "--keys", str(tmp_path / "missing.json")], "cannot read the key list"),
        (["verify", text, "--keys", str(crl)], "not usable"),
        (["verify", str(tmp_path / "no-card.txt"), "--keys", str(keys)], "cannot read the card"),
        (["verify", text, "--keys", str(keys), "--at", "tomorrow"], "not an ISO 8601"),
        (["verify", text, "--keys", str(keys), "--at", "2026-01-01T00:00:00"], "no time zone"),
    ]
    (tmp_path / "broken.json").write_text("{")
    cases.append((["verify", text, "--keys", str(tmp_path / "broken.json")], "is not JSON"))
    for argv, message in cases:
        status, out, err = kvorum_card(argv, settings)
        assert status == 2, argv
        assert message in err, err
        assert out == ""

    with pytest.raises(SystemExit) as caught:
        kvorum_card(["verify", text], settings)  # --keys is required
    assert caught.value.code == 2


async def test_show_prints_the_members_card(
    client: Any, db: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    text, _registrar, member_id = await setup(client, db, tmp_path)
    # The same database and data directory as the server: the same card.
    status, out, _err = await _in_thread(
        kvorum_card, ["show", "--member", str(member_id)], settings
    )
    assert status == 0
    assert out.strip() == text


async def _in_thread(func: Any, *args: Any) -> Any:
    # `card show` runs its own event loop, as the CLI does.
    return await asyncio.to_thread(func, *args)
