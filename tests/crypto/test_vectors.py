"""The shared vectors in vectors/ (the JavaScript twin checks the same files) and the
stored samples in data/: Python must match them, and they must be current.

File formats are described in ``tests/crypto/make_vectors.py``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from crypto.canonical import (
    CanonicalJSONError,
    canonicalize,
    canonicalize_signed,
    parse_canonical,
    parse_json,
)
from crypto.ed25519 import PublicKey, SigningKey
from crypto.encoding import b64u_decode
from crypto.envelope import sign_document
from tests.crypto import make_vectors, samples

HERE = Path(__file__).parent


def load(name: str) -> list[dict[str, Any]]:
    vectors = json.loads((HERE / "vectors" / name).read_text("utf-8"))
    assert isinstance(vectors, list)
    return vectors


def named(vectors: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(vector, id=vector["name"]) for vector in vectors]


def python_input(vector: dict[str, Any]) -> object:
    if "input_json" in vector:
        return json.loads(vector["input_json"])
    if "input_ieee754" in vector:
        return struct.unpack(">d", bytes.fromhex(vector["input_ieee754"]))[0]
    if "special" in vector:
        return float(vector["special"].replace("Infinity", "inf"))
    return vector["input"]


@pytest.mark.parametrize("vector", named(load("canonical.json")))
def test_canonical(vector: dict[str, Any]) -> None:
    expected = vector["canonical"].encode("utf-8")
    assert canonicalize(python_input(vector)) == expected
    if "input_json" in vector:  # read as RFC 8785 reads numbers, too
        assert canonicalize(parse_json(vector["input_json"].encode())) == expected
    assert canonicalize(parse_canonical(expected)) == expected


@pytest.mark.parametrize("vector", named(load("invalid.json")))
def test_invalid(vector: dict[str, Any]) -> None:
    mode = vector["mode"]
    if mode == "parse":
        data = (
            bytes.fromhex(vector["bytes_hex"])
            if "bytes_hex" in vector
            else vector["bytes"].encode("utf-8")
        )
        with pytest.raises(CanonicalJSONError) as info:
            parse_canonical(data)
    else:
        encode = {"signed": canonicalize_signed, "canonicalize": canonicalize}[mode]
        value = python_input(vector)
        with pytest.raises(CanonicalJSONError) as info:
            encode(value)
    assert info.value.reason == vector["reason"]


@pytest.mark.parametrize("vector", named(load("ed25519.json")))
def test_ed25519(vector: dict[str, Any]) -> None:
    key = SigningKey.from_seed(bytes.fromhex(vector["seed"]))
    assert key.public_key.b64u == vector["public_key"]
    assert key.public_key.key_id == vector["key_id"]
    assert PublicKey.from_b64u(vector["public_key"]) == key.public_key
    canonical = canonicalize_signed(vector["payload"])
    assert canonical == vector["canonical"].encode("utf-8")
    signature = b64u_decode(vector["signature"], length=64)
    assert key.sign(canonical) == signature
    key.public_key.verify(canonical, signature)
    document = sign_document(vector["payload"], key)
    assert document.signature == signature
    assert document.signer == vector["key_id"]


def test_rfc8032_seed_is_among_the_vectors() -> None:
    seeds = {vector["seed"] for vector in load("ed25519.json")}
    assert "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60" in seeds


def test_vector_files_are_current() -> None:
    for name, text in make_vectors.files().items():
        stored = (HERE / "vectors" / name).read_text("utf-8")
        assert stored == text, f"vectors/{name} is stale: run python -m tests.crypto.make_vectors"


def test_sample_files_are_current() -> None:
    expected = samples.files()
    stored = {path.name for path in (HERE / "data").iterdir()}
    assert stored == set(expected), "data/ holds other files than samples.py writes"
    for name, text in expected.items():
        assert (HERE / "data" / name).read_text("utf-8") == text, (
            f"data/{name} is stale: run python -m tests.crypto.samples"
        )
