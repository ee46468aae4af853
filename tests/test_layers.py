"""The layering rule, checked on the source: imports flow
server → meetings → ballots → registry → crypto, and never upwards."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["crypto", "registry", "ballots", "meetings", "server"]
OUTSIDE = {"web"}  # templates and assets: nothing may import them as code


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", LAYERS)
def test_no_upward_or_web_imports(package: str) -> None:
    above = set(LAYERS[LAYERS.index(package) + 1 :]) | OUTSIDE
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(package)
        for name in imported_modules(path) & above
    }
    assert not offenders, sorted(offenders)


def test_crypto_uses_only_stdlib_and_pynacl() -> None:
    allowed = set(sys.stdlib_module_names) | {"nacl", "crypto", "__future__"}
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources("crypto")
        for name in imported_modules(path) - allowed
    }
    assert not offenders, sorted(offenders)


# The auditor's verifier and what it reads: no server, no database, no web framework.
OFFLINE = [
    "formats",
    "verify",
    "bundle",
    "auditcli",
    "__main__",
    "checks",
    "reportwords",
    "election_rule",
    "secretformats",
    "secretverify",
]


def test_the_offline_verifier_uses_only_stdlib_pynacl_and_crypto() -> None:
    allowed = set(sys.stdlib_module_names) | {"nacl", "crypto", "ballots", "__future__"}
    offenders = set()
    for name in OFFLINE:
        path = ROOT / "ballots" / f"{name}.py"
        assert path.exists(), path
        offenders |= {f"ballots/{name}.py imports {m}" for m in imported_modules(path) - allowed}
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("ballots.") and module.split(".")[1] not in OFFLINE:
                offenders.add(f"ballots/{name}.py imports {module}")
    assert not offenders, sorted(offenders)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import aiohttp\nfrom server.app import create_app\nfrom . import x\n")
    assert imported_modules(bad) == {"aiohttp", "server"}
