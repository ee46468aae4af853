"""The registry's signing keys sealed with a passphrase, for a backup.

A sealed keyring is a JSON file::

    {"type": "kvorum.sealed-registry-keys", "v": 1,
     "kdf": {"alg": "argon2id13", "salt": B64U, "opslimit": N, "memlimit": N},
     "box": B64U}

``box`` is libsodium's SecretBox (XSalsa20-Poly1305; a 24-byte nonce followed by the
ciphertext) under the 32-byte key that Argon2id derives from the passphrase and the salt.
Inside, canonical JSON: ``{"current": ID, "keys": [{"id", "seed", "created_at"}],
"context": TEXT}``. ``context`` binds the keys to what they were sealed with (a backup
puts the digest of its manifest there), so a manifest edited afterwards is noticed by
whoever holds the passphrase.

A wrong passphrase and a changed file are the same failure to the box (its MAC does
not verify); the message says both possibilities. Not guaranteed: the passphrase's
strength is the owner's; the KDF's cost only slows a guesser down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from crypto.canonical import canonicalize
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CredentialError
from crypto.instant import format_instant, parse_instant
from registry.registrykey import KeyringError, StoredKey

__all__ = [
    "MIN_PASSPHRASE",
    "SEALED_TYPE",
    "SealedKeys",
    "check_passphrase",
    "open_keys",
    "seal_keys",
]

SEALED_TYPE = "kvorum.sealed-registry-keys"
MIN_PASSPHRASE = 12  # characters; a short passphrase falls to a guesser despite Argon2id
# libsodium's "moderate" cost: about a second and 256 MiB on a server, once per backup.
OPSLIMIT = argon2id.OPSLIMIT_MODERATE
MEMLIMIT = argon2id.MEMLIMIT_MODERATE
# What a file may ask for, so a forged file cannot make the restore exhaust memory.
_MAX_OPSLIMIT = argon2id.OPSLIMIT_SENSITIVE
_MAX_MEMLIMIT = argon2id.MEMLIMIT_SENSITIVE


@dataclass(frozen=True)
class SealedKeys:
    """The opened contents of a sealed keyring."""

    current: str
    keys: list[StoredKey] = field(repr=False)
    context: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyringError("the sealed keyring holds no key")
        if self.current not in {k.key_id for k in self.keys}:
            raise KeyringError(f"the sealed keyring's current key {self.current} is not in it")


def check_passphrase(passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyringError(
            f"the backup passphrase has {len(passphrase)} characters; use at least {MIN_PASSPHRASE}"
        )
    return passphrase.encode("utf-8")


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        check_passphrase(passphrase),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )


def seal_keys(
    keys: list[StoredKey],
    current: str,
    passphrase: str,
    *,
    context: str,
    opslimit: int = OPSLIMIT,
    memlimit: int = MEMLIMIT,
) -> bytes:
    """The sealed keyring file's bytes."""
    sealed = SealedKeys(current, keys, context)
    salt = nacl.utils.random(argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    inner = canonicalize(
        {
            "current": sealed.current,
            "keys": [
                {
                    "id": k.key_id,
                    "seed": b64u_encode(k.seed),
                    "created_at": format_instant(k.created_at),
                }
                for k in sealed.keys
            ],
            "context": context,
        }
    )
    outer = {
        "type": SEALED_TYPE,
        "v": 1,
        "kdf": {
            "alg": "argon2id13",
            "salt": b64u_encode(salt),
            "opslimit": opslimit,
            "memlimit": memlimit,
        },
        "box": b64u_encode(bytes(box.encrypt(inner))),
    }
    return json.dumps(outer, indent=1).encode() + b"\n"


def open_keys(data: bytes, passphrase: str, *, name: str = "the sealed keyring") -> SealedKeys:
    """Open a sealed keyring; :class:`KeyringError` names what is wrong."""
    try:
        outer = json.loads(data)
    except (ValueError, RecursionError):
        raise KeyringError(f"{name} is not JSON") from None
    if not isinstance(outer, dict) or outer.get("type") != SEALED_TYPE or outer.get("v") != 1:
        raise KeyringError(f"{name} is not a {SEALED_TYPE} v1 file")
    kdf = outer.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("alg") != "argon2id13":
        raise KeyringError(f"{name}: the key derivation is not argon2id13")
    opslimit, memlimit = kdf.get("opslimit"), kdf.get("memlimit")
    if not (
        isinstance(opslimit, int)
        and isinstance(memlimit, int)
        and argon2id.OPSLIMIT_MIN <= opslimit <= _MAX_OPSLIMIT
        and argon2id.MEMLIMIT_MIN <= memlimit <= _MAX_MEMLIMIT
    ):
        raise KeyringError(f"{name}: the key derivation's cost is out of range")
    try:
        salt = b64u_decode(str(kdf.get("salt")), length=argon2id.SALTBYTES)
        boxed = b64u_decode(str(outer.get("box")))
    except CredentialError as exc:
        raise KeyringError(f"{name}: {exc}") from None
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    try:
        inner = json.loads(box.decrypt(boxed))
    except nacl.exceptions.CryptoError:
        raise KeyringError(
            f"{name} does not open with this passphrase (a wrong passphrase, or the file "
            "was changed)"
        ) from None
    try:
        return SealedKeys(
            current=str(inner["current"]),
            keys=[
                StoredKey(
                    str(k["id"]),
                    b64u_decode(str(k["seed"]), length=32),
                    parse_instant(k["created_at"]),
                )
                for k in inner["keys"]
            ],
            context=str(inner["context"]),
        )
    except (KeyError, TypeError, ValueError, CredentialError) as exc:
        raise KeyringError(f"{name}: the sealed contents are malformed ({exc})") from None
