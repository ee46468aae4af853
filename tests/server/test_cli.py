"""The `kvorum` command on a real database file."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main

HEADER = "Фамилия;Имя;Отчество;№ профбилета;Организация;Дата вступления\n"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KVORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KVORUM_LOG_FORMAT", "text")
    monkeypatch.delenv("KVORUM_DATABASE_URL", raising=False)
    return tmp_path


def test_demo_is_idempotent_and_prints_logins(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-serve"]) == 0
    first = capsys.readouterr().out
    assert "создана" in first
    for role in ("председатель", "секретарь", "член президиума", "ревизор", "регистратор"):
        assert role in first
    # Five roles, and the presidium's eight other members: all eleven can come, so the
    # meeting can reach its quorum of six.
    assert first.count("http://localhost:8080/invite/") == 5 + 8
    assert "Остальные члены президиума" in first
    assert "/registry/outbox" in first  # no mail server: the letters are kept there
    assert main(["demo", "--no-serve"]) == 0
    again = capsys.readouterr().out
    assert "уже есть" in again
    # Nobody has logged in yet: everyone gets a fresh link again.
    assert again.count("http://localhost:8080/invite/") == 5 + 8


def test_import_then_export_round_trip(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-serve"]) == 0
    capsys.readouterr()
    members = env / "members.csv"
    members.write_bytes(
        (HEADER + "Котова;Инна;Юрьевна;77-1;;05.05.2015\nЛаптев;Ян;;77-2;;\n").encode("cp1251")
    )
    assert main(["registry", "import", str(members), "--org", "пермский   КРАЙСОВПРОФ"]) == 0
    assert capsys.readouterr().out.strip() == "imported 2, updated 0"
    assert main(["registry", "import", str(members), "--org", "1"]) == 0
    assert capsys.readouterr().out.strip() == "imported 0, updated 0"

    out = env / "out.csv"
    assert main(["registry", "export", "--org", "1", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["registry", "import", str(out), "--org", "1"]) == 0
    assert capsys.readouterr().out.strip() == "imported 0, updated 0"


def test_bad_file_reports_rows_and_changes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-serve"]) == 0
    capsys.readouterr()
    bad = env / "bad.csv"
    bad.write_text(
        HEADER + "Котова;Инна;;88-1;;05.05.2015\nЛаптев;;;88-2;;31.02.2020\n", encoding="utf-8"
    )
    assert main(["registry", "import", str(bad), "--org", "1"]) == 1
    err = capsys.readouterr().err
    assert "not imported; nothing changed" in err
    assert "row 3, Имя" in err
    assert "row 3, Дата вступления" in err
    out = env / "out.csv"
    assert main(["registry", "export", "--org", "1", "-o", str(out)]) == 0
    assert "88-1" not in out.read_text("utf-8")


def test_unknown_org_and_missing_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["registry", "export", "--org", "Нет такой"]) == 1
    assert "no organisation is named 'Нет такой'" in capsys.readouterr().err
    assert main(["registry", "import", str(env / "none.csv"), "--org", "1"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_invite_prints_a_link_once_per_call(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-serve"]) == 0
    capsys.readouterr()
    assert main(["registry", "invite", "59-000101"]) == 0
    out = capsys.readouterr().out
    assert "Галайда Зинаида Ивановна" in out
    assert out.count("http://localhost:8080/invite/") == 1
    assert main(["registry", "invite", "no-such-card"]) == 1
    assert "no member has the id or union card number" in capsys.readouterr().err


def test_rotate_key_keeps_the_old_one(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "rotate-key"]) == 0
    assert main(["registry", "rotate-key"]) == 0
    out = capsys.readouterr().out
    assert out.count("registry key rotated") == 2
    keys = sorted((env / "keys").glob("registry-*.key"))
    assert len(keys) == 3
    assert all(oct(k.stat().st_mode & 0o777) == "0o600" for k in keys)


def test_import_offers_close_organisations_and_maps_a_name_once(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-serve"]) == 0
    capsys.readouterr()
    data = Path(__file__).parents[1] / "registry" / "data" / "members_org_names_differ.csv"
    name = "Пермская краевая организация Профсоюза работников агропромышленного комплекса РФ"
    assert main(["registry", "import", str(data), "--org", "1"]) == 1
    err = capsys.readouterr().err
    assert "nothing changed" in err
    assert f"'{name}' (rows 2, 3):" in err
    # The registry's own agro-industrial organisation is offered first, with its --map.
    offered = err.split(f"'{name}' (rows 2, 3):")[1].splitlines()[1]
    assert "агропромышленного комплекса Российской Федерации" in offered
    assert f'--map "{name}=' in err

    target = "Пермская краевая организация Профсоюза работников АПК"  # its short name
    assert main(["registry", "import", str(data), "--org", "1", "--map", f"{name}={target}"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "imported 4, updated 0, organisation names kept as aliases 1"
    # Kept: the same file imports again without --map.
    assert main(["registry", "import", str(data), "--org", "1"]) == 0
    assert capsys.readouterr().out.strip() == "imported 0, updated 0"
    # A --map without "=" is refused with the reason.
    assert main(["registry", "import", str(data), "--org", "1", "--map", "просто имя"]) == 1
    assert "--map wants NAME=ORG" in capsys.readouterr().err
