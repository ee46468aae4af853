"""Backups that restore: ``kvorum backup DIR`` and ``kvorum restore DIR``.

A backup is a directory::

    manifest.json          what is here, each file's SHA-256 and size
    database.sqlite3       SQLite: a copy made with SQLite's online backup API
    database.pgdump        PostgreSQL: pg_dump's custom format
    materials/ab/cdef…     the meeting materials, by content address (meetings/blobs.py)
    registry-keys.sealed   the registry's signing keys, sealed with a passphrase
                           (registry/keybackup.py)

It is taken while the server runs. Each part is consistent on its own (the SQLite
backup API and pg_dump each copy one snapshot); across parts the order makes the whole
consistent: the database first, then the materials, then the keys. A material is
stored before the row that names it is committed, and a registry key is written before
anything it signs, and neither is ever deleted, so everything the database snapshot
refers to is already on disk when its files are copied. Signed documents (the PDFs and
their records) live in the database.

The sealed keys carry the digest of the manifest's file list, so whoever holds the
passphrase also knows the manifest is the one written with the keys.

A restore checks everything before it changes anything: the manifest against the files,
the passphrase, and that the target installation (its data directory and database) is
empty. It then stages the files beside their place, loads the database (PostgreSQL in
one transaction), moves the files in, and checks the result; a failure at any step
removes what it had put and leaves the installation as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from crypto.canonical import canonicalize
from crypto.instant import format_instant
from meetings.blobs import BlobStore
from registry.keybackup import SealedKeys, check_passphrase, open_keys, seal_keys
from registry.orm import utcnow
from registry.registrykey import KeyringError, RegistryKeyring
from server import database
from server.settings import Settings

__all__ = [
    "MANIFEST",
    "BackupError",
    "BackupReport",
    "RestoreReport",
    "find_tool",
    "read_passphrase",
    "restore_backup",
    "take_backup",
]

MANIFEST = "manifest.json"
MANIFEST_TYPE = "kvorum.backup"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
KEYS_FILE = "registry-keys.sealed"
MATERIALS = "materials"
PASSPHRASE_ENV = "KVORUM_BACKUP_PASSPHRASE"  # noqa: S105 (a variable's name)
_CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message names what is wrong and what
    was (not) changed."""


@dataclass(frozen=True)
class BackupReport:
    directory: Path
    backend: str
    revision: str
    materials: int
    keys: int
    size: int


@dataclass(frozen=True)
class RestoreReport:
    backend: str
    revision: str
    materials: int
    keys: int
    current_key: str
    created_at: str


# --- helpers ------------------------------------------------------------------------------


def read_passphrase(path: Path | None, environ: dict[str, str] | None = None) -> str:
    """The passphrase from a file (its first line) or ``KVORUM_BACKUP_PASSPHRASE``; never
    from the command line, where other users of the machine could read it."""
    environ = dict(os.environ) if environ is None else environ
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise BackupError(f"cannot read the passphrase file {path}: {exc}") from None
        if not lines or not lines[0]:
            raise BackupError(f"the passphrase file {path} is empty")
        return lines[0]
    passphrase = environ.get(PASSPHRASE_ENV, "")
    if not passphrase:
        raise BackupError(
            f"no passphrase for the registry keys: give --passphrase-file FILE or set "
            f"{PASSPHRASE_ENV}"
        )
    return passphrase


def find_tool(name: str) -> str:
    """pg_dump, pg_restore: on the PATH, or in Debian's versioned directories."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise BackupError(
        f"{name} is not installed: install PostgreSQL's client tools "
        "(apt-get install postgresql-client)"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes in the
    environment, not on a command line that ``ps`` shows."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        # The tools' paths are found by find_tool; the arguments are ours, no shell.
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603
    except subprocess.CalledProcessError as exc:
        message = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise BackupError(
            f"{Path(command[0]).name} failed: {message[-1] if message else exc.returncode}"
        ) from None


def _files_digest(files: dict[str, dict[str, object]]) -> str:
    """What the sealed keys are bound to: every file of the backup but the keys."""
    listed = {name: entry for name, entry in files.items() if name != KEYS_FILE}
    return "sha256:" + hashlib.sha256(canonicalize(listed)).hexdigest()


def _material_files(directory: Path) -> Iterator[tuple[str, Path]]:
    """(sha256, path) of every stored material; half-written files (".name.pid") are not
    yet materials."""
    if not directory.is_dir():
        return
    for shard in sorted(directory.iterdir()):
        if not shard.is_dir() or shard.name.startswith("."):
            continue
        for path in sorted(shard.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                yield shard.name + path.name, path


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


# --- backup -------------------------------------------------------------------------------


def take_backup(settings: Settings, target: Path, passphrase: str) -> BackupReport:
    """Copy the installation ``settings`` describes into the new directory ``target``."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty directory; choose a new one")
    url = make_url(settings.effective_database_url)
    backend = url.get_backend_name()
    keys_dir = settings.data_dir / "keys"
    if not (keys_dir / "current").exists():
        raise BackupError(f"{keys_dir} holds no registry key: is --data-dir the server's?")
    try:
        keyring = RegistryKeyring.open(keys_dir, now=utcnow())
    except (KeyringError, OSError) as exc:
        raise BackupError(f"cannot read the registry keys: {exc}") from None
    check_passphrase(passphrase)  # a short one stops the backup now, not after the dump

    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    target.chmod(0o700)  # the database in it holds the member registry
    try:
        # 1. The database: one snapshot.
        if backend == "sqlite":
            _sqlite_backup(_sqlite_path(url), target / SQLITE_FILE)
            db_file = SQLITE_FILE
        elif backend == "postgresql":
            args, env = _libpq(url)
            _run(
                [
                    find_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    *args,
                    "--file",
                    str(target / PG_FILE),
                ],
                env,
            )
            db_file = PG_FILE
        else:
            raise BackupError(f"cannot back up a {backend} database")
        revision = asyncio.run(_revision(settings.effective_database_url))

        # 2. The materials, after the database: all it names exist by now.
        files: dict[str, dict[str, object]] = {}
        count = 0
        for digest, path in _material_files(settings.data_dir / MATERIALS):
            name = f"{MATERIALS}/{digest[:2]}/{digest[2:]}"
            copy = target / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            if _sha256(copy) != digest:
                raise BackupError(f"the stored material {path} does not hash to its name")
            files[name] = {"sha256": digest, "size": copy.stat().st_size}
            count += 1
        files[db_file] = {
            "sha256": _sha256(target / db_file),
            "size": (target / db_file).stat().st_size,
        }

        # 3. The keys, last, sealed and bound to the files above.
        keyring = RegistryKeyring.open(keys_dir, now=utcnow())  # a rotation meanwhile
        stored = keyring.stored()
        sealed = seal_keys(stored, keyring.current_id, passphrase, context=_files_digest(files))
        (target / KEYS_FILE).write_bytes(sealed)
        files[KEYS_FILE] = {"sha256": hashlib.sha256(sealed).hexdigest(), "size": len(sealed)}

        manifest = {
            "type": MANIFEST_TYPE,
            "v": 1,
            "created_at": format_instant(utcnow().replace(microsecond=0)),
            "backend": backend,
            "revision": revision,
            "keys": len(stored),
            "files": dict(sorted(files.items())),
        }
        written = target / f".{MANIFEST}.tmp"
        written.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        os.replace(written, target / MANIFEST)  # the manifest last: its presence means done
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    size = sum(int(str(entry["size"])) for entry in files.values())
    return BackupReport(target, backend, revision, count, len(stored), size)


def _sqlite_backup(source: Path, copy: Path) -> None:
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(copy)
        try:
            # pages=-1: the whole database in one step, under one read transaction, so
            # the copy is one snapshot; in WAL mode the server keeps writing meanwhile.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            if dst.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError("the copy of the SQLite database fails its integrity check")
        finally:
            dst.close()
    finally:
        src.close()


async def _revision(db_url: str) -> str:
    engine = database.create_engine(db_url)
    try:
        async with engine.connect() as conn:
            return str(await conn.scalar(text("SELECT version_num FROM alembic_version")))
    finally:
        await engine.dispose()


# --- restore ------------------------------------------------------------------------------


def _read_manifest(source: Path) -> dict[str, object]:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} is not a Kvorum backup: it has no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BackupError(f"{path} is not JSON") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("type") != MANIFEST_TYPE
        or manifest.get("v") != 1
    ):
        raise BackupError(f"{path} is not a {MANIFEST_TYPE} v1 manifest")
    if manifest.get("backend") not in {"sqlite", "postgresql"}:
        raise BackupError(f"{path}: unknown database backend {manifest.get('backend')!r}")
    if not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{path} lists no files")
    return manifest


def _check_files(source: Path, files: dict[str, object]) -> None:
    """Every listed file is there with its hash, and nothing else is."""
    problems: list[str] = []
    for name, entry in files.items():
        path = source / name
        if (
            not isinstance(entry, dict)
            or ".." in Path(name).parts
            or Path(name).is_absolute()
            or not isinstance(entry.get("sha256"), str)
        ):
            problems.append(f"{name}: not a valid manifest entry")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"{name}: its SHA-256 is not the manifest's")
    present = {
        str(p.relative_to(source)) for p in source.rglob("*") if p.is_file() and p.name != MANIFEST
    }
    problems += [f"{name}: not in the manifest" for name in sorted(present - set(files))]
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise BackupError(
            f"the backup in {source} does not match its manifest; nothing was restored:"
            f"\n  {shown}{more}"
        )


async def _table_count(db_url: str) -> int:
    engine = database.create_engine(db_url)
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            else:
                query = (
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            return int(await conn.scalar(text(query)) or 0)
    finally:
        await engine.dispose()


def _check_empty(settings: Settings, url: URL) -> None:
    problems: list[str] = []
    keys = settings.data_dir / "keys"
    if keys.is_dir() and any(keys.iterdir()):
        problems.append(f"{keys} holds registry keys")
    if any(True for _ in _material_files(settings.data_dir / MATERIALS)):
        problems.append(f"{settings.data_dir / MATERIALS} holds materials")
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            problems.append(f"the database {path} exists")
    else:
        try:
            tables = asyncio.run(_table_count(settings.effective_database_url))
        except Exception as exc:  # asyncpg raises its own errors, not only OSError
            raise BackupError(f"cannot reach the database to restore into: {exc}") from None
        if tables:
            problems.append(f"the database {url.database} has {tables} tables")
    if problems:
        raise BackupError(
            "the installation to restore into is not empty; nothing was restored:\n  "
            + "\n  ".join(problems)
            + "\nRestore into a new data directory (and, for PostgreSQL, a new empty database)."
        )


def restore_backup(settings: Settings, source: Path, passphrase: str) -> RestoreReport:
    """Put the backup in ``source`` into the empty installation ``settings`` describes."""
    manifest = _read_manifest(source)
    files = manifest["files"]
    assert isinstance(files, dict)
    backend = str(manifest["backend"])
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != backend:
        raise BackupError(
            f"the backup is of a {backend} database; the installation to restore into uses "
            f"{url.get_backend_name()}"
        )
    db_file = SQLITE_FILE if backend == "sqlite" else PG_FILE
    for needed in (db_file, KEYS_FILE):
        if needed not in files:
            raise BackupError(f"the manifest does not list {needed}; nothing was restored")
    _check_files(source, files)
    try:
        sealed = open_keys((source / KEYS_FILE).read_bytes(), passphrase, name=KEYS_FILE)
    except KeyringError as exc:
        raise BackupError(f"{exc}; nothing was restored") from None
    if sealed.context != _files_digest(files):
        raise BackupError(
            "the manifest was changed after the backup was made (the sealed keys name "
            "other files); nothing was restored"
        )
    _check_empty(settings, url)

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f".restore-{os.getpid()}"
    placed: list[Path] = []
    loaded = False  # PostgreSQL: the dump is in the database
    try:
        staging.mkdir()
        RegistryKeyring.install(staging / "keys", sealed.keys, sealed.current, now=utcnow())
        materials = 0
        for name in files:
            if name.startswith(MATERIALS + "/"):
                copy = staging / name
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / name, copy)
                materials += 1
        if backend == "sqlite":
            path = _sqlite_path(url)
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / SQLITE_FILE, staging / SQLITE_FILE)
            if path.exists():  # an empty file: nothing to keep
                path.unlink()
            os.replace(staging / SQLITE_FILE, path)
            placed.append(path)
        else:
            args, env = _libpq(url)
            # One transaction: a failed restore leaves the database as empty as it was.
            _run(
                [
                    find_tool("pg_restore"),
                    "--single-transaction",
                    "--exit-on-error",
                    "--no-owner",
                    "--no-privileges",
                    *args,
                    str(source / PG_FILE),
                ],
                env,
            )
            loaded = True
        for part in ("keys", MATERIALS):
            if (staging / part).exists():
                final = data_dir / part
                if final.is_dir():
                    final.rmdir()  # empty, as checked
                os.replace(staging / part, final)
                placed.append(final)
        report = _check_restored(settings, manifest, sealed, materials)
    except BaseException:
        for path in placed:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if loaded:
            asyncio.run(_drop_all(settings.effective_database_url))
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


async def _drop_all(db_url: str) -> None:
    """Empty the database again after a restore whose final check failed."""
    engine = database.create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def _check_restored(
    settings: Settings, manifest: dict[str, object], sealed: SealedKeys, materials: int
) -> RestoreReport:
    """The restored installation reads back: the database at the backup's revision, every
    material it names present and whole, and the keys as sealed."""
    revision, named = asyncio.run(_restored_state(settings.effective_database_url))
    if revision != manifest.get("revision"):
        raise BackupError(
            f"the restored database is at revision {revision}, the manifest says "
            f"{manifest.get('revision')}"
        )
    store = BlobStore(settings.data_dir / MATERIALS)
    missing = [digest for digest in named if not store.path(digest).is_file()]
    if missing:
        raise BackupError(f"materials named by the database are missing: {', '.join(missing)}")
    keyring = RegistryKeyring.open(settings.data_dir / "keys", now=utcnow())
    if sorted(keyring.public_keys()) != sorted(k.key_id for k in sealed.keys):
        raise BackupError("the restored registry keys are not the sealed ones")
    return RestoreReport(
        backend=str(manifest["backend"]),
        revision=revision,
        materials=materials,
        keys=len(sealed.keys),
        current_key=keyring.current_id,
        created_at=str(manifest.get("created_at", "")),
    )


async def _restored_state(db_url: str) -> tuple[str, list[str]]:
    engine = database.create_engine(db_url)
    try:
        async with engine.connect() as conn:
            revision = str(await conn.scalar(text("SELECT version_num FROM alembic_version")))
            rows = await conn.execute(text("SELECT DISTINCT sha256 FROM material"))
            return revision, [str(row[0]) for row in rows]
    finally:
        await engine.dispose()
