"""Backups that restore: ``kvorum backup`` taken from a running server in the middle of
a burst of ballots, ``kvorum restore`` into a new installation (a new data directory,
and a new database on PostgreSQL), and every audit bundle and signed document of the
restored copy verified offline, with every ballot receipted before the backup began on
its board. Then what a restore refuses: a non-empty installation, a backup that does not
match its manifest, a wrong passphrase — each named, each changing nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import BoardEntry, Vote, VoteState
from ballots.verify import verify_bundle
from ballots.votes import VoteService
from meetings import docverify
from meetings.blobs import BlobStore
from meetings.models import AgendaItem, Document, DocumentState, Material
from registry.actor import Actor
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server import database
from server.backup import BackupError, restore_backup, take_backup
from server.cli import main as cli_main
from server.keys import KEYRING
from server.settings import Settings
from tests import factories as f
from tests.ballots.board_load import LoadVote, check_chain, check_receipts, open_load_vote
from tests.ballots.test_durability import CONNECTIONS, running_server
from tests.samples import pdf_bytes, png_bytes
from tests.server.test_document_signing import signed_protocol

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "рябина-гроза-1907-кворум"
VOTERS = 200
BACKUP_AFTER = 60  # receipts back before the backup starts
AFTER_BACKUP = 40  # ballots sent once the backup is done: the copy cannot hold them
SYSTEM = Actor.system("backup test")


# --- an empty installation to restore into ------------------------------------------------


async def _admin(url: str, *statements: str) -> None:
    engine = database.create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def fresh(db_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings of a new installation: an empty data directory and, on PostgreSQL, a new
    empty database beside the test's own (``<name>_restored``), dropped afterwards."""
    data_dir = tmp_path / "restored"
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        yield Settings(data_dir=data_dir, migrate_on_start=False, log_format="text")
        return
    name = f"{url.database}_restored"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(_admin(db_url, drop, f'CREATE DATABASE "{name}"'))
    try:
        yield Settings(
            data_dir=data_dir,
            database_url=url.set(database=name).render_as_string(hide_password=False),
            migrate_on_start=False,
            log_format="text",
        )
    finally:
        asyncio.run(_admin(db_url, drop))


def _cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVORUM_")}
    env.update(KVORUM_BACKUP_PASSPHRASE=PASSPHRASE, PYTHONPATH=str(ROOT))
    if settings.database_url:
        env["KVORUM_DATABASE_URL"] = settings.database_url
    return env


async def kvorum(settings: Settings, *args: str) -> tuple[int, str]:
    """Run the ``kvorum`` command line as an operator would (exit code, output)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        "--data-dir",
        str(settings.data_dir),
        cwd=ROOT,
        env=_cli_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace")


# --- the burst ----------------------------------------------------------------------------


class Burst:
    """Ballots sent over ``CONNECTIONS`` connections until told to stop: each voter votes
    again and again (the last ballot counts), so the burst lasts as long as needed."""

    def __init__(self, base: str, load: LoadVote) -> None:
        self.url = f"{base}/api/v1/votes/{load.vote_id}/ballots"
        self.load = load
        self.sent = 0
        self.stop_at: int | None = None
        self.receipts: dict[int, dict[str, Any]] = {}

    def stop_after(self, more: int) -> None:
        self.stop_at = self.sent + more

    def _bodies(self) -> Iterator[tuple[int, bytes]]:
        voters = self.load.voters
        while self.stop_at is None or self.sent < self.stop_at:
            n = self.sent
            self.sent += 1
            yield n, self.load.ballot_bytes(voters[n % len(voters)], [1 + n // len(voters) % 3])

    async def run(self) -> None:
        todo = self._bodies()

        async def worker(http: aiohttp.ClientSession) -> None:
            for index, body in todo:
                async with http.post(
                    self.url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    answer = await response.json()
                    assert response.status == 201, answer
                self.receipts[index] = answer

        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as http:
            await asyncio.gather(*(worker(http) for _ in range(CONNECTIONS)))


async def until(condition: Any, task: asyncio.Task[Any]) -> None:
    while not condition():
        assert not task.done(), "the burst ended before the backup could start"
        await asyncio.sleep(0.01)


# --- the installation before the backup ---------------------------------------------------


async def add_material(db: AsyncSession, data_dir: Path, item_id: int, data: bytes) -> str:
    """A stored material as an upload stores it: the file first, then its row."""
    digest, media_type = BlobStore(data_dir / "materials").put(data)
    db.add(
        Material(
            item_id=item_id,
            filename="План.pdf",
            media_type=media_type,
            size=len(data),
            sha256=digest,
        )
    )
    await db.commit()
    return digest


# --- the restored copy, checked -----------------------------------------------------------


@pytest.fixture
async def restored_db(fresh: Settings) -> AsyncIterator[Any]:
    """Opens a session on the restored database once the test has restored it."""
    engines: list[Any] = []

    async def open_session() -> AsyncSession:
        engine = database.create_engine(fresh.effective_database_url)
        engines.append(engine)
        return database.make_sessionmaker(engine)()

    yield open_session
    for engine in engines:
        await engine.dispose()


async def verify_everything(db: AsyncSession, keyring: RegistryKeyring) -> tuple[int, int]:
    """Every closed vote's bundle and every signed document verify offline with the
    restored keys; returns how many of each."""
    closed = list((await db.scalars(select(Vote).where(Vote.state == VoteState.CLOSED))).all())
    for vote in closed:
        report = verify_bundle(await VoteService(db, SYSTEM, keyring).bundle([vote]), jobs=1)
        assert report.ok, report.text()
    documents = list(
        (await db.scalars(select(Document).where(Document.state == DocumentState.SIGNED))).all()
    )
    for document in documents:
        assert document.signed_pdf is not None
        report = docverify.verify_pdf(document.signed_pdf, keys=keyring.public_keys())
        assert report.ok, report.text()
    return len(closed), len(documents)


async def test_a_backup_taken_during_a_burst_restores_and_verifies(
    db: AsyncSession,
    db_url: str,
    client: Any,
    settings: Settings,
    fresh: Settings,
    restored_db: Any,
    tmp_path: Path,
) -> None:
    document_id = await signed_protocol(db, client)
    original_keys = client.server.app[KEYRING]
    item_id = await db.scalar(select(AgendaItem.id).order_by(AgendaItem.id).limit(1))
    assert item_id is not None
    material = await add_material(db, settings.data_dir, item_id, pdf_bytes("plan"))
    load = await open_load_vote(db, original_keys, VOTERS)
    await db.commit()  # SQLite: hold no transaction while the server writes

    backup_dir = tmp_path / "backup"
    async with running_server(settings.data_dir, db_url, tmp_path / "server.log") as (_, base):
        ballots = Burst(base, load)
        sending = asyncio.create_task(ballots.run())
        await until(lambda: len(ballots.receipts) >= BACKUP_AFTER, sending)
        before = dict(ballots.receipts)  # receipted before the backup began
        code, out = await kvorum(settings, "backup", str(backup_dir))
        during = len(ballots.receipts) - len(before)
        ballots.stop_after(AFTER_BACKUP)  # and some more once it is done
        await sending
    assert code == 0, out
    assert "backup written" in out
    receipts = ballots.receipts
    assert len(receipts) == ballots.sent
    assert during > 0, "no ballot was accepted while the backup ran"

    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert f"materials/{material[:2]}/{material[2:]}" in manifest["files"]
    # The keys are sealed: no seed of the registry key is in the backup in the clear.
    sealed = (backup_dir / "registry-keys.sealed").read_bytes()
    for stored in original_keys.stored():
        assert stored.seed not in sealed
        assert stored.seed.hex().encode() not in sealed

    code, out = await kvorum(fresh, "restore", str(backup_dir))
    assert code == 0, out
    assert "checked" in out

    keyring = RegistryKeyring.open(fresh.data_dir / "keys", now=utcnow())
    assert keyring.public_keys() == original_keys.public_keys()
    assert keyring.current_id == original_keys.current_id
    assert keyring.document(1, "x") == original_keys.document(1, "x")  # the key dates too
    assert (fresh.data_dir / "materials" / material[:2] / material[2:]).read_bytes() == (
        settings.data_dir / "materials" / material[:2] / material[2:]
    ).read_bytes()

    copy: AsyncSession = await restored_db()
    # Every ballot receipted before the backup began is on the restored board, under
    # its receipt; the board is one whole chain, and every later receipt within it
    # names its entry.
    length = len(
        (await copy.scalars(select(BoardEntry.seq).where(BoardEntry.vote_id == load.vote_id))).all()
    )
    assert len(before) <= length < len(receipts)
    entries = await check_chain(copy, load, length)
    check_receipts(list(before.values()), entries, keyring)
    check_receipts([r for r in receipts.values() if r["seq"] <= length], entries, keyring)

    # The restored copy goes on: its keys close the burst's vote, and every bundle and
    # every signed document in it verifies offline.
    service = VoteService(copy, SYSTEM, keyring)
    await service.close(load.vote_id)
    await copy.commit()
    votes, documents = await verify_everything(copy, keyring)
    assert votes == 2  # the meeting's vote and the burst's
    assert documents == 1
    signed = await copy.get(Document, document_id)
    original = await db.get(Document, document_id)
    assert signed is not None
    assert original is not None
    assert signed.signed_pdf == original.signed_pdf
    await copy.rollback()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(settings: Settings) -> list[str]:
    """What is in an installation's data directory (to show a refusal changed nothing)."""
    if not settings.data_dir.exists():
        return []
    return sorted(str(p.relative_to(settings.data_dir)) for p in settings.data_dir.rglob("*"))


def test_a_restore_refuses_and_changes_nothing(
    db_url: str, settings: Settings, fresh: Settings, tmp_path: Path
) -> None:
    RegistryKeyring.open(settings.data_dir / "keys", now=utcnow())
    digest, _ = BlobStore(settings.data_dir / "materials").put(png_bytes())
    backup = tmp_path / "backup"

    # The passphrase is required to be long enough, and the target new or empty.
    with pytest.raises(Exception, match="at least 12"):
        take_backup(settings, backup, "short")
    assert not backup.exists()
    made = take_backup(settings, backup, PASSPHRASE)
    assert (made.materials, made.keys) == (1, 1)
    with pytest.raises(BackupError, match="not an empty directory"):
        take_backup(settings, backup, PASSPHRASE)

    # A wrong passphrase is named, and nothing is made in the new installation.
    with pytest.raises(BackupError, match="does not open with this passphrase"):
        restore_backup(fresh, backup, "another passphrase entirely")
    assert _state(fresh) == []

    # A changed file, a missing one, one added: each named by the manifest check.
    tampered = tmp_path / "tampered"
    shutil.copytree(backup, tampered)
    material = tampered / "materials" / digest[:2] / digest[2:]
    material.write_bytes(material.read_bytes() + b"!")
    (tampered / "extra.txt").write_text("left here")
    with pytest.raises(BackupError) as refused:
        restore_backup(fresh, tampered, PASSPHRASE)
    assert f"materials/{digest[:2]}/{digest[2:]}: its SHA-256 is not the manifest's" in str(
        refused.value
    )
    assert "extra.txt: not in the manifest" in str(refused.value)
    assert _state(fresh) == []

    # A manifest rewritten to match a changed file is caught by the sealed keys.
    manifest = json.loads((tampered / "manifest.json").read_text())
    manifest["files"][f"materials/{digest[:2]}/{digest[2:]}"]["sha256"] = _sha(material)
    (tampered / "manifest.json").write_text(json.dumps(manifest))
    (tampered / "extra.txt").unlink()
    with pytest.raises(BackupError, match="manifest was changed after the backup was made"):
        restore_backup(fresh, tampered, PASSPHRASE)
    assert _state(fresh) == []

    # The real backup restores once; a second time the installation is not empty.
    restored = restore_backup(fresh, backup, PASSPHRASE)
    assert (restored.materials, restored.keys) == (1, 1)
    after = _state(fresh)
    with pytest.raises(BackupError, match="not empty") as refused:
        restore_backup(fresh, backup, PASSPHRASE)
    assert "holds registry keys" in str(refused.value)
    assert _state(fresh) == after

    # A backup of the other backend is refused by name.
    other = Settings(
        data_dir=tmp_path / "other",
        database_url=(
            "postgresql+asyncpg://nobody@127.0.0.1:1/none"
            if make_url(db_url).get_backend_name() == "sqlite"
            else f"sqlite+aiosqlite:///{tmp_path / 'other.sqlite3'}"
        ),
    )
    with pytest.raises(BackupError, match="the installation to restore into uses"):
        restore_backup(other, backup, PASSPHRASE)
    assert _state(other) == []


async def _material_without_file(db_url: str) -> None:
    """A material whose row names a file the data directory does not hold."""
    engine = database.create_engine(db_url)
    try:
        async with database.make_sessionmaker(engine)() as session:
            setup = await f.meeting(session, state="draft")
            session.add(
                Material(
                    item_id=setup.item_ids[0],
                    filename="Пропавший.pdf",
                    media_type="application/pdf",
                    size=10,
                    sha256="ab" * 32,
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


def test_a_restore_that_fails_its_check_takes_back_what_it_put(
    db_url: str, settings: Settings, fresh: Settings, tmp_path: Path
) -> None:
    RegistryKeyring.open(settings.data_dir / "keys", now=utcnow())
    asyncio.run(_material_without_file(db_url))
    backup = tmp_path / "backup"
    take_backup(settings, backup, PASSPHRASE)
    with pytest.raises(
        BackupError, match=f"materials named by the database are missing: {'ab' * 32}"
    ):
        restore_backup(fresh, backup, PASSPHRASE)
    # The database, the keys and the materials it had put are gone again.
    assert _state(fresh) == []
    assert asyncio.run(_tables(fresh)) == 0


async def _tables(settings: Settings) -> int:
    if not settings.database_url:
        path = settings.data_dir / "kvorum.sqlite3"
        return 1 if path.exists() else 0
    engine = database.create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            )
            return int(found or 0)
    finally:
        await engine.dispose()


def test_the_passphrase_never_comes_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KVORUM_BACKUP_PASSPHRASE", raising=False)
    target = tmp_path / "backup"
    assert cli_main(["backup", str(target), "--data-dir", str(tmp_path)]) == 1
    assert "no passphrase for the registry keys" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # there is no option that takes the passphrase itself
        cli_main(["backup", str(target), "--passphrase", PASSPHRASE])
    empty = tmp_path / "passphrase"
    empty.write_text("\n")
    assert cli_main(["restore", str(target), "--passphrase-file", str(empty)]) == 1
    assert f"the passphrase file {empty} is empty" in capsys.readouterr().err
    # From the environment, and then it is the data directory that is wrong.
    monkeypatch.setenv("KVORUM_BACKUP_PASSPHRASE", PASSPHRASE)
    assert cli_main(["backup", str(target), "--data-dir", str(tmp_path / "none")]) == 1
    assert "holds no registry key" in capsys.readouterr().err
    assert not target.exists()
