"""ballots.auditcli: ``audit verify`` and ``audit receipt``, called directly and as
``python -m ballots``; exit 0 only when every check held, 1 otherwise, 2 for usage."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ballots.auditcli import KeysError, main, read_keys
from crypto.canonical import canonicalize
from registry.registrykey import RegistryKeyring
from tests.ballots.make_bundle import (
    ORG,
    ORG_NAME,
    Sample,
    build_vote,
    dump,
    load,
    make_key,
)

ROOT = Path(__file__).resolve().parents[2]
OK = "OK: every hash, signature, certificate, count and verdict checks out"


@pytest.fixture(scope="module")
def sample() -> Sample:
    return build_vote(5, seed="cli")


@pytest.fixture
def files(sample: Sample, tmp_path: Path) -> dict[str, Path]:
    """The bundle, receipts and key documents an auditor would have, as files."""
    paths = {
        "bundle": tmp_path / "bundle.json",
        "receipt": tmp_path / "receipt.json",
        "keys": tmp_path / "keys.json",
    }
    paths["bundle"].write_bytes(sample.bundle_bytes())
    # As the vote page shows it: indented JSON of the signed receipt.
    paths["receipt"].write_text(json.dumps(sample.receipt(3), ensure_ascii=False, indent=1))
    paths["keys"].write_text(json.dumps(keys_document(sample)))
    return paths


def keys_document(sample: Sample, keys: list[object] | None = None) -> dict[str, object]:
    return {
        "type": "kvorum.registry-keys",
        "v": 1,
        "org": ORG,
        "org_name": ORG_NAME,
        "current": sample.registry.public_key.key_id,
        "keys": keys
        if keys is not None
        else [
            {
                "id": key.key_id,
                "public_key": key.b64u,
                "created_at": "2025-01-01T00:00:00Z",
                "status": "current",
            }
            for key in sample.registry_keys
        ],
    }


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    """``audit`` with ``argv``, its report in English (the tests below read its words)."""
    words = [str(arg) for arg in argv]
    if words and words[0] in ("verify", "receipt", "challenge"):
        words += ["--lang", "en"]
    status = main(words)
    return status, capsys.readouterr().out


# --- verify ---------------------------------------------------------------------------


def test_verify(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    status, out = run(capsys, "verify", files["bundle"])
    assert status == 0
    assert out.endswith(OK + "\n")
    assert "trust anchor: the registry keys in the bundle" in out
    assert "counted: 5 voters; За 4, Против 1, Воздержался 0" in out


def test_verify_with_keys(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    status, out = run(capsys, "verify", files["bundle"], "--keys", files["keys"], "--jobs", 2)
    assert status == 0
    assert "trust anchor: the keys given with --keys" in out
    assert out.endswith(OK + "\n")


def test_verify_with_the_servers_key_document(
    capsys: pytest.CaptureFixture[str], sample: Sample, files: dict[str, Path], tmp_path: Path
) -> None:
    # The document the server publishes at /registry/keys.json, made by its own code.
    directory = tmp_path / "keyring"
    directory.mkdir(mode=0o700)
    key_id = sample.registry.public_key.key_id
    seed_file = directory / f"registry-{key_id}.key"
    seed_file.write_bytes(sample.registry.seed)
    seed_file.chmod(0o600)
    (directory / "current").write_text(key_id)
    (directory / "current").chmod(0o600)
    keyring = RegistryKeyring.open(directory, now=dt.datetime.now(dt.UTC))
    document = keyring.document(ORG, ORG_NAME)
    data = json.dumps(document).encode()
    assert read_keys(data) == RegistryKeyring.trusted_from_document(document)
    files["keys"].write_bytes(data)
    status, out = run(capsys, "verify", files["bundle"], "--keys", files["keys"])
    assert status == 0, out


def test_verify_with_keys_lacking_the_signer(
    capsys: pytest.CaptureFixture[str], sample: Sample, files: dict[str, Path]
) -> None:
    stranger = make_key("stranger").public_key
    entry = {"id": stranger.key_id, "public_key": stranger.b64u}
    files["keys"].write_text(json.dumps(keys_document(sample, [entry])))
    status, out = run(capsys, "verify", files["bundle"], "--keys", files["keys"])
    assert status == 1
    own = sample.registry.public_key.key_id
    assert f"registry_keys: V-12 untrusted_key: key {own} is not among the trusted keys" in out
    assert "FAILED" in out


def test_verify_tampered(
    capsys: pytest.CaptureFixture[str], sample: Sample, files: dict[str, Path]
) -> None:
    bundle = load(sample.bundle_bytes())
    bundle["votes"][0]["entries"][1]["ballot"]["payload"]["choice"] = [3]
    files["bundle"].write_bytes(dump(bundle))
    status, out = run(capsys, "verify", files["bundle"])
    assert status == 1
    assert "vote 1, entry 2: V-66 bad_signature: the ballot's signature does not verify" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "bundle: V-1 not_json: not valid JSON"),
        (b"\xef\xbb\xbf{}", "bundle: V-1 not_json: not valid JSON"),
        (b"[]", "bundle: V-2 unknown_version: not a JSON object"),
        (
            b'{"type":"kvorum.audit-bundle","v":3}',
            "V-2 unknown_version: a 'kvorum.audit-bundle' version 3",
        ),
    ],
)
def test_verify_unparsable_bundle(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(content)
    status, out = run(capsys, "verify", path)
    assert status == 1
    assert message in out


def test_verify_unreadable_bundle(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out = run(capsys, "verify", tmp_path / "missing.json")
    assert status == 1
    assert "bundle: " in out
    assert "cannot be read" in out
    status, out = run(capsys, "verify", tmp_path)  # a directory
    assert status == 1
    assert "cannot be read" in out


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a kvorum.registry-keys document"),
        (b'{"type": "kvorum.registry-keys", "v": 2, "keys": []}', "version 2 is not supported"),
        (b'{"type": "kvorum.registry-keys", "v": true, "keys": []}', "version True"),
        (b'{"type": "kvorum.registry-keys", "v": 1, "keys": []}', "lists no keys"),
        (b'{"type": "kvorum.registry-keys", "v": 1, "keys": [7]}', "key #1 is not an object"),
        (b'{"type": "kvorum.registry-keys", "v": 1, "keys": [{"id": "x"}]}', "no public_key"),
    ],
)
def test_unusable_keys_file(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], document: bytes, message: str
) -> None:
    files["keys"].write_bytes(document)
    status, out = run(capsys, "verify", files["bundle"], "--keys", files["keys"])
    assert status == 1
    assert f"--keys: V-110 bad_keys_file: {files['keys']}: " in out
    assert message in out
    with pytest.raises(KeysError, match=message):
        read_keys(document)


def test_keys_file_with_a_wrong_id(
    capsys: pytest.CaptureFixture[str], sample: Sample, files: dict[str, Path]
) -> None:
    key = sample.registry.public_key
    stranger = make_key("stranger").public_key
    entry = {"id": key.key_id, "public_key": stranger.b64u}
    files["keys"].write_text(json.dumps(keys_document(sample, [entry])))
    status, out = run(capsys, "verify", files["bundle"], "--keys", files["keys"])
    assert status == 1
    assert "does not match its public key" in out


def test_missing_keys_file(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    status, out = run(capsys, "verify", files["bundle"], "--keys", tmp_path / "none.json")
    assert status == 1
    assert "cannot be read" in out


# --- receipt --------------------------------------------------------------------------


def test_receipt(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    status, out = run(capsys, "receipt", files["bundle"], files["receipt"], "--keys", files["keys"])
    assert status == 0, out
    assert "receipt: your ballot is entry 3 of vote 1, received at 2025-03-03T10:00:03Z" in out
    assert out.endswith(OK + "\n")


def test_receipt_saved_with_the_answer(
    capsys: pytest.CaptureFixture[str], sample: Sample, files: dict[str, Path]
) -> None:
    answer = {"vote": 1, "seq": 2, "entry": sample.entry_hashes[1], "receipt": sample.receipt(2)}
    files["receipt"].write_text(json.dumps(answer))
    status, out = run(capsys, "receipt", files["bundle"], files["receipt"])
    assert status == 0, out
    assert "receipt: your ballot is entry 2 of vote 1" in out


def test_receipt_of_a_dropped_ballot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    honest = build_vote(4, seed="cli")
    dropped = build_vote(4, seed="cli", entry_hook=lambda i, e: None if i == 2 else e)
    bundle, receipt = tmp_path / "bundle.json", tmp_path / "receipt.json"
    bundle.write_bytes(dropped.bundle_bytes())
    receipt.write_bytes(canonicalize(honest.receipt(3)))
    assert run(capsys, "verify", bundle)[0] == 0  # the rebuilt board is consistent …
    status, out = run(capsys, "receipt", bundle, receipt)
    assert status == 1  # … but it does not hold this voter's ballot
    assert "receipt: V-101 missing_ballot: entry 3 of vote 1 on the board has hash" in out


def test_receipt_against_a_failing_bundle(
    capsys: pytest.CaptureFixture[str], sample: Sample, files: dict[str, Path]
) -> None:
    files["bundle"].write_bytes(sample.bundle_bytes() + b"\n")
    status, out = run(capsys, "receipt", files["bundle"], files["receipt"])
    assert status == 1
    assert "bundle end: V-4 not_canonical: the bundle is not in canonical form" in out


@pytest.mark.parametrize("content", [b"", b"{}", b"[]", b"nonsense"])
def test_unusable_receipt(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], content: bytes
) -> None:
    files["receipt"].write_bytes(content)
    status, out = run(capsys, "receipt", files["bundle"], files["receipt"])
    assert status == 1
    assert "receipt: V-100 bad_receipt: malformed" in out


def test_missing_receipt(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    status, out = run(capsys, "receipt", files["bundle"], tmp_path / "none.json")
    assert status == 1
    assert "receipt: " in out
    assert "cannot be read" in out


# --- usage ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["verify"],
        ["receipt", "bundle.json"],
        ["verify", "bundle.json", "--jobs", "0"],
        ["verify", "bundle.json", "--jobs", "many"],
        ["verify", "bundle.json", "--colour"],
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "usage: audit" in captured.err
    assert captured.out == ""


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "verify" in capsys.readouterr().out


# --- python -m ballots ----------------------------------------------------------------


def python_m(*argv: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "ballots", *map(str, argv)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "en_GB.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_python_m_ballots(files: dict[str, Path], sample: Sample) -> None:
    result = python_m("verify", files["bundle"], "--keys", files["keys"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith(OK + "\n")
    result = python_m("receipt", files["bundle"], files["receipt"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "receipt: your ballot is entry 3 of vote 1" in result.stdout

    files["bundle"].write_bytes(sample.bundle_bytes().replace(b'"v":2,"votes"', b'"v":9,"votes"'))
    result = python_m("verify", files["bundle"])
    assert result.returncode == 1
    assert "V-2 unknown_version: a 'kvorum.audit-bundle' version 9" in result.stdout

    result = python_m("audit", files["bundle"])
    assert result.returncode == 2
    assert "usage: audit" in result.stderr


def test_the_report_is_russian_by_default_with_the_check_ids(
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    sample: Sample,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert main(["verify", str(files["bundle"])]) == 0
    out = capsys.readouterr().out
    assert "опора доверия: ключи реестра из самого пакета" in out
    assert "голосование 1: " in out
    assert "итог: решение принято" in out
    assert out.endswith(
        "ВСЁ ВЕРНО: все хеши, подписи, сертификаты, подсчёт и итоги проверены и сходятся\n"
    )
    files["bundle"].write_bytes(sample.bundle_bytes().replace(b'"v":2,"votes"', b'"v":9,"votes"'))
    assert main(["verify", str(files["bundle"])]) == 1
    out = capsys.readouterr().out
    assert "ПРОВЕРКА НЕ ПРОЙДЕНА: нарушений 1" in out
    assert "пакет: V-2 unknown_version — это не пакет аудита известной версии" in out
    # An English locale, or --lang en, gives the English report with the same ids.
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main(["verify", str(files["bundle"])]) == 1
    assert "bundle: V-2 unknown_version: " in capsys.readouterr().out
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    assert main(["verify", str(files["bundle"]), "--lang", "en"]) == 1
    assert "FAILED: 1 problem(s)" in capsys.readouterr().out


def test_every_check_has_its_russian_meaning() -> None:
    from ballots.checks import CHECKS
    from ballots.reportwords import RU_CHECKS

    assert set(RU_CHECKS) == set(CHECKS)
