"""The registry key: the organisation's Ed25519 key that certifies members' keys and
signs union cards, revocation lists, receipts and board checkpoints.

Each key is a 32-byte seed in its own file, ``<data_dir>/keys/registry-<key id>.key``,
created with mode 0600 in a 0700 directory; ``current`` names the key in use. Rotating
makes a new current key and keeps the old ones: everything they signed still
verifies, and the published key list says which is current.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from crypto.ed25519 import PublicKey, SigningKey
from crypto.instant import format_instant

__all__ = ["KeyringError", "RegistryKeyring", "StoredKey"]

_PREFIX = "registry-"
_SUFFIX = ".key"
_CURRENT = "current"


class KeyringError(RuntimeError):
    """The key directory is unusable: it says which file and what to do."""


@dataclass(frozen=True)
class StoredKey:
    """One key as it is kept on disk: its id, its seed and when it was made (for a
    backup of the keyring; see :mod:`registry.keybackup`)."""

    key_id: str
    seed: bytes = field(repr=False)  # never in a log or a traceback
    created_at: dt.datetime

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise KeyringError(f"key {self.key_id}: a seed is 32 bytes, not {len(self.seed)}")
        if SigningKey.from_seed(self.seed).public_key.key_id != self.key_id:
            raise KeyringError(f"key {self.key_id}: the seed is of another key")
        if self.created_at.tzinfo is None:
            raise KeyringError(f"key {self.key_id}: the creation time must be aware")


@dataclass(frozen=True)
class _Entry:
    key: SigningKey
    created_at: dt.datetime


def _write_private(path: Path, data: bytes) -> None:
    # O_EXCL: two processes starting at once never overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyringError(
            f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
        )


class RegistryKeyring:
    """The registry's keys in a directory: one current, any number retired."""

    def __init__(self, directory: Path, entries: dict[str, _Entry], current: str) -> None:
        self.directory = directory
        self._entries = entries
        self._current = current

    @classmethod
    def open(cls, directory: Path, *, now: dt.datetime) -> RegistryKeyring:
        """Load the keys, making the first one if the directory has none."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        pointer = directory / _CURRENT
        if not pointer.exists():
            key = SigningKey.generate()
            path = directory / f"{_PREFIX}{key.public_key.key_id}{_SUFFIX}"
            _write_private(path, key.seed)
            try:
                _write_private(pointer, key.public_key.key_id.encode())
            except FileExistsError:  # another process made the first key meanwhile
                path.unlink()
        return cls._load(directory)

    @classmethod
    def _load(cls, directory: Path) -> RegistryKeyring:
        entries: dict[str, _Entry] = {}
        for path in sorted(directory.glob(f"{_PREFIX}*{_SUFFIX}")):
            _check_private(path)
            seed = path.read_bytes()
            if len(seed) != 32:
                raise KeyringError(f"{path} is not a 32-byte Ed25519 seed")
            key = SigningKey.from_seed(seed)
            expected = path.name[len(_PREFIX) : -len(_SUFFIX)]
            if key.public_key.key_id != expected:
                raise KeyringError(f"{path} holds key {key.public_key.key_id}, not {expected}")
            created = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
            entries[expected] = _Entry(key, created)
        current = (directory / _CURRENT).read_text().strip()
        if current not in entries:
            raise KeyringError(f"{directory / _CURRENT} names key {current}, which is missing")
        return cls(directory, entries, current)

    def rotate(self) -> str:
        """Make a new current key; the old ones stay for verification. Returns its id."""
        key = SigningKey.generate()
        _write_private(self.directory / f"{_PREFIX}{key.public_key.key_id}{_SUFFIX}", key.seed)
        tmp = self.directory / f"{_CURRENT}.{os.getpid()}"
        _write_private(tmp, key.public_key.key_id.encode())
        tmp.replace(self.directory / _CURRENT)  # atomic switch
        reloaded = self._load(self.directory)
        self._entries, self._current = reloaded._entries, reloaded._current
        return self._current

    def stored(self) -> list[StoredKey]:
        """Every key with its seed, oldest first: what a backup must keep secret."""
        return [
            StoredKey(key_id, entry.key.seed, entry.created_at)
            for key_id, entry in sorted(self._entries.items(), key=lambda kv: kv[1].created_at)
        ]

    @classmethod
    def install(
        cls, directory: Path, keys: list[StoredKey], current: str, *, now: dt.datetime
    ) -> RegistryKeyring:
        """Write ``keys`` into an empty or new ``directory`` (a restored backup), keeping
        each key's creation time, and load them. Refuses a directory that holds keys."""
        if current not in {k.key_id for k in keys}:
            raise KeyringError(f"the current key {current} is not among the keys given")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if any(directory.iterdir()):
            raise KeyringError(f"{directory} is not empty: keys are installed only into none")
        for stored in keys:
            path = directory / f"{_PREFIX}{stored.key_id}{_SUFFIX}"
            _write_private(path, stored.seed)
            stamp = stored.created_at.timestamp()
            # The published key list dates each key by its file (see _load).
            os.utime(path, (stamp, stamp))
        _write_private(directory / _CURRENT, current.encode())
        return cls.open(directory, now=now)

    @property
    def current(self) -> SigningKey:
        return self._entries[self._current].key

    @property
    def current_id(self) -> str:
        return self._current

    def public_keys(self) -> dict[str, PublicKey]:
        """Every key that has ever signed: what a verifier must trust."""
        return {key_id: entry.key.public_key for key_id, entry in self._entries.items()}

    def document(self, organisation_id: int, organisation: str) -> dict[str, object]:
        """The public key list served at ``/registry/keys.json`` (for offline verifiers)."""
        return {
            "type": "kvorum.registry-keys",
            "v": 1,
            "org": organisation_id,
            "org_name": organisation,
            "current": self._current,
            "keys": [
                {
                    "id": key_id,
                    "public_key": entry.key.public_key.b64u,
                    "created_at": format_instant(entry.created_at),
                    "status": "current" if key_id == self._current else "retired",
                }
                for key_id, entry in sorted(self._entries.items(), key=lambda kv: kv[1].created_at)
            ],
        }

    @staticmethod
    def trusted_from_document(document: object) -> dict[str, PublicKey]:
        """The keys of a ``kvorum.registry-keys`` document (what ``kvorum card verify`` trusts)."""
        if not isinstance(document, dict) or document.get("type") != "kvorum.registry-keys":
            raise KeyringError("not a kvorum.registry-keys document")
        keys = document.get("keys")
        if not isinstance(keys, list) or not keys:
            raise KeyringError("the key document lists no keys")
        trusted: dict[str, PublicKey] = {}
        for item in keys:
            if not isinstance(item, dict):
                raise KeyringError("a key entry is not an object")
            public = PublicKey.from_b64u(str(item.get("public_key", "")))
            if public.key_id != item.get("id"):
                raise KeyringError(f"key {item.get('id')!r} does not match its public key")
            trusted[public.key_id] = public
        return trusted
