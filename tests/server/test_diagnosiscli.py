"""`kvorum diagnosis import/export` on a real database file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from registry.diagnosis import workbook
from registry.diagnosis.services import default_methodology
from server.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KVORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KVORUM_LOG_FORMAT", "text")
    monkeypatch.delenv("KVORUM_DATABASE_URL", raising=False)
    return tmp_path


def test_export_edit_import_makes_a_new_version(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-serve"]) == 0
    exported = env / "m.xlsx"
    args = ["--org", "1", "--code", "digital-maturity"]
    assert main(["diagnosis", "export", *args, "-o", str(exported)]) == 0
    assert workbook.read(exported.read_bytes()) == default_methodology()

    book = load_workbook(exported)
    book[workbook.META_SHEET]["B2"] = "Методика, редакция 2"
    book.save(exported)
    capsys.readouterr()
    assert main(["diagnosis", "import", str(exported), "--org", "1", "--publish"]) == 0
    assert "version 2 saved (published)" in capsys.readouterr().out

    as_json = env / "m.json"
    assert main(["diagnosis", "export", *args, "-o", str(as_json)]) == 0
    assert main(["diagnosis", "export", *args, "--version", "1", "-o", str(exported)]) == 0
    assert workbook.read(exported.read_bytes()) == default_methodology()
    assert "редакция 2" in as_json.read_text("utf-8")


def test_a_bad_workbook_is_refused_with_sheet_and_row(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-serve"]) == 0
    book = load_workbook(io.BytesIO(workbook.write(default_methodology())))
    book[workbook.LEVELS_SHEET]["C3"] = 20
    bad = env / "bad.xlsx"
    book.save(bad)
    capsys.readouterr()
    assert main(["diagnosis", "import", str(bad), "--org", "1"]) == 1
    err = capsys.readouterr().err
    assert "bad.xlsx was not imported; nothing changed." in err
    assert "sheet «Уровни», row 3: level L2 overlaps the level below (20 < 25)" in err
    # Nothing was stored: the latest version is still the published default, version 1.
    out = env / "m.json"
    assert (
        main(["diagnosis", "export", "--org", "1", "--code", "digital-maturity", "-o", str(out)])
        == 0
    )
    assert "version 1 written" in capsys.readouterr().out
