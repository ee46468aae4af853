"""The registry keys sealed for a backup: they open with the passphrase alone, keep each
key's date, and a wrong passphrase, a changed byte or a malformed file is named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import nacl.pwhash.argon2id as argon2id
import pytest

from crypto.encoding import b64u_decode, b64u_encode
from registry.keybackup import open_keys, seal_keys
from registry.registrykey import KeyringError, RegistryKeyring

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
PASSPHRASE = "длинная фраза для ключей"
CHEAP = {"opslimit": argon2id.OPSLIMIT_MIN, "memlimit": argon2id.MEMLIMIT_MIN}


def keyring(tmp_path: Path) -> RegistryKeyring:
    ring = RegistryKeyring.open(tmp_path / "keys", now=NOW)
    ring.rotate()
    return ring


def test_sealed_keys_reinstall_as_they_were(tmp_path: Path) -> None:
    ring = keyring(tmp_path)
    sealed = seal_keys(ring.stored(), ring.current_id, PASSPHRASE, context="ctx", **CHEAP)
    for stored in ring.stored():
        assert stored.seed not in sealed
        assert b64u_encode(stored.seed).encode() not in sealed
        assert stored.seed.hex() not in repr(stored)
    opened = open_keys(sealed, PASSPHRASE)
    assert opened.context == "ctx"
    again = RegistryKeyring.install(tmp_path / "copy", opened.keys, opened.current, now=NOW)
    assert again.public_keys() == ring.public_keys()
    assert again.document(1, "Союз") == ring.document(1, "Союз")
    with pytest.raises(KeyringError, match="not empty"):
        RegistryKeyring.install(tmp_path / "copy", opened.keys, opened.current, now=NOW)


def test_what_does_not_open_is_named(tmp_path: Path) -> None:
    ring = keyring(tmp_path)
    sealed = seal_keys(ring.stored(), ring.current_id, PASSPHRASE, context="ctx", **CHEAP)
    with pytest.raises(KeyringError, match="does not open with this passphrase"):
        open_keys(sealed, "другая фраза для ключей")
    outer = json.loads(sealed)
    box = bytearray(b64u_decode(outer["box"]))
    box[-1] ^= 1
    changed = json.dumps(outer | {"box": b64u_encode(bytes(box))}).encode()
    with pytest.raises(KeyringError, match="does not open with this passphrase"):
        open_keys(changed, PASSPHRASE)
    greedy = outer | {"kdf": outer["kdf"] | {"memlimit": 2**40}}
    with pytest.raises(KeyringError, match="cost is out of range"):
        open_keys(json.dumps(greedy).encode(), PASSPHRASE)
    with pytest.raises(KeyringError, match="not JSON"):
        open_keys(b"\xff[", PASSPHRASE)
    with pytest.raises(KeyringError, match=r"not a kvorum\.sealed-registry-keys v1"):
        open_keys(b'{"type": "other"}', PASSPHRASE)
    with pytest.raises(KeyringError, match="at least 12"):
        seal_keys(ring.stored(), ring.current_id, "short", context="ctx", **CHEAP)
