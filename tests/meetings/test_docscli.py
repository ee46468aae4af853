"""meetings.docscli: ``kvorum docs verify FILE.pdf [--keys KEYS.json] [--revocations …]``,
called directly, through ``kvorum`` (server.cli) and as the installed command; exit 0
only when every check held, 1 otherwise (unreadable files included), 2 for usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meetings.docscli import main
from server.cli import main as kvorum_main
from tests.meetings.test_docverify import (
    FORGER_REGISTRY,
    NOW,
    REGISTRY,
    commission_parts,
    keys_document,
    parts,
    revocation_list,
    utc,
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """What an auditor has: the signed PDF, the organisation's keys.json, newer lists."""
    paths = {
        "pdf": tmp_path / "протокол-7.pdf",
        "keys": tmp_path / "keys.json",
        "forger": tmp_path / "forger-keys.json",
        "newer": tmp_path / "crl-5.json",
        "revoking": tmp_path / "crl-6.json",
    }
    paths["pdf"].write_bytes(parts().signed())
    paths["keys"].write_text(json.dumps(keys_document(REGISTRY), ensure_ascii=False, indent=2))
    paths["forger"].write_text(json.dumps(keys_document(FORGER_REGISTRY)))
    newer = revocation_list(number=5, issued_at=NOW)
    paths["newer"].write_text(json.dumps(newer.to_json(), ensure_ascii=False, indent=1))
    revoking = revocation_list([(1002, utc("2026-03-04 08:00:00"))], number=6, issued_at=NOW)
    paths["revoking"].write_text(json.dumps(revoking.to_json(), ensure_ascii=False))
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    status = main([str(arg) for arg in argv])
    return status, capsys.readouterr().out


def test_an_honest_document_exits_0(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, "verify", files["pdf"])
    assert status == 0, out
    assert "ok    D-8 chair: Петров Пётр Петрович (member 21)" in out
    assert "trust anchor: the registry keys embedded in the file" in out
    assert out.rstrip().splitlines()[-1].startswith("OK: protocol № 7 of 2026-03-02")
    status, out = run(
        capsys, "verify", files["pdf"], "--keys", files["keys"], "--revocations", files["newer"]
    )
    assert status == 0, out
    assert f"trust anchor: the registry keys given ({REGISTRY.public_key.key_id})" in out
    assert "organisation 7 number 5 of" in out


def test_checks_that_fail_exit_1_and_say_why(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(
        capsys, "verify", files["pdf"], "--revocations", files["newer"], files["revoking"]
    )
    assert status == 1
    assert "FAIL  D-8 chair: key revoked on 2026-03-04 (certificate 1002" in out
    status, out = run(capsys, "verify", files["pdf"], "--keys", files["forger"])
    assert status == 1
    assert "which is not trusted" in out
    changed = files["pdf"].read_bytes() + b"%%EOF\n"
    files["pdf"].write_bytes(changed)
    status, out = run(capsys, "verify", files["pdf"])
    assert status == 1
    assert (
        f"FAIL  D-2 unchanged: bytes were added after signing at offset {len(changed) - 6}" in out
    )


def test_unreadable_inputs_fail_closed(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, "verify", tmp_path / "missing.pdf")
    assert status == 1
    assert "FAIL  D-1 file: " in out
    assert "cannot be read (No such file or directory)" in out
    assert "FAIL  D-8 chair: not checked: an input file cannot be read" in out
    (tmp_path / "bad.json").write_text("{")
    status, out = run(capsys, "verify", files["pdf"], "--keys", tmp_path / "bad.json")
    assert status == 1
    assert "FAIL  D-4 trust: --keys" in out
    status, out = run(capsys, "verify", files["pdf"], "--revocations", tmp_path / "bad.json")
    assert status == 1
    assert "FAIL  D-5 revocations: --revocations" in out
    (tmp_path / "plain.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    status, out = run(capsys, "verify", tmp_path / "plain.pdf")
    assert status == 1
    assert "FAIL  D-1 file: no Kvorum signatures embedded" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["verify"]) == 2
    assert main(["sign", "x.pdf"]) == 2
    assert main(["--help"]) == 0
    assert "verify" in capsys.readouterr().out


def test_kvorum_docs_is_wired(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert kvorum_main(["docs", "verify", str(files["pdf"]), "--keys", str(files["keys"])]) == 0
    out = capsys.readouterr().out
    # Russian by default, each line with its check id.
    assert "✔ D-1 Файл: подписанный PDF Kvorum: Протокол № 7" in out
    assert "Подлинный документ: Протокол № 7" in out
    assert "OK" not in out
    argv = ["docs", "verify", str(files["pdf"]), "--keys", str(files["keys"]), "--lang", "en"]
    assert kvorum_main(argv) == 0
    assert "OK: protocol № 7" in capsys.readouterr().out
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert kvorum_main(argv[:-2]) == 0
    assert "OK: protocol № 7" in capsys.readouterr().out
    monkeypatch.delenv("LANG")
    assert kvorum_main(["docs", "verify", str(files["pdf"]), "--keys", str(files["forger"])]) == 1


EN = ("--lang", "en")


def test_the_installed_command(files: dict[str, Path], tmp_path: Path) -> None:
    """As a user runs it."""
    command = Path(sys.executable).with_name("kvorum")
    if not command.exists():
        pytest.skip("the kvorum command is not installed in this environment")
    env = {k: v for k, v in os.environ.items() if k != "KVORUM_TEST_PG_URL"}
    done = subprocess.run(  # noqa: S603 - our own command
        [str(command), "docs", "verify", str(files["pdf"]), "--keys", str(files["keys"]), *EN],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: protocol № 7" in done.stdout


PURE = """
import importlib.abc
import json
import sys

ALLOWED = set(sys.stdlib_module_names) | {
    "nacl", "_cffi_backend", "cffi", "crypto", "ballots", "meetings"
}
ALIASES = {"__mp_main__", "_sodium"}
refused = []


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        # zoneinfo reads the interpreter's build settings (_sysconfigdata_…): stdlib.
        top = name.partition(".")[0]
        if top not in ALLOWED | {"org"} and not name.startswith("_sysconfigdata"):
            refused.append(name)
            raise ImportError(f"refused by the test: {name}")
        return None


before = set(sys.modules)
sys.meta_path.insert(0, Refuse())
from server.entry import main  # noqa: E402 - the console command's own entry point

status = main(["docs", *sys.argv[1:]])
loaded = {name.partition(".")[0] for name in set(sys.modules) - before}
loaded = {name for name in loaded if not name.startswith("_sysconfigdata")}
print(json.dumps({"refused": refused, "outside": sorted(loaded - ALLOWED - ALIASES)}))
raise SystemExit(status)
"""


def test_the_verifier_needs_only_pynacl(files: dict[str, Path], tmp_path: Path) -> None:
    """``kvorum docs verify`` on an auditor's machine: no SQLAlchemy, aiohttp or
    WeasyPrint is imported (any attempt fails the run)."""
    script = tmp_path / "guard.py"
    # The report's words: server.docwords and registry.localtime, standard library only.
    script.write_text(PURE.replace("ALLOWED = set", 'ALLOWED = {"server", "registry"} | set'))
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(script), "verify", str(files["pdf"]), "--keys", str(files["keys"])],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"refused": [], "outside": []}


def test_a_commission_protocol_names_its_members(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kvorum docs verify` on a counting commission's protocol: D-9 per member who
    counted, no secretary or chair; one changed byte fails, naming the check."""
    path = tmp_path / "протокол-счётной-комиссии.pdf"
    data = commission_parts().signed()
    path.write_bytes(data)
    status, out = run(capsys, "verify", path)
    assert status == 0, out
    assert out.count("ok    D-9 commission: ") == 3
    assert "D-7" not in out
    assert "D-8" not in out
    assert "ok    D-9 commission: Ким Алла Борисовна (member 53)" in out
    assert "OK: commission_protocol № 1" in out
    assert "signed by the commission member" in out
    changed = bytearray(data)
    changed[len(data) - 200] ^= 0x01
    path.write_bytes(bytes(changed))
    status, out = run(capsys, "verify", path)
    assert status == 1
    assert "FAIL  D-" in out
