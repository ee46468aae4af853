"""meetings.pdfstamp and the signature marks sign_pdf draws: real WeasyPrint PDFs, read
back by poppler's pdftotext and pdftoppm, and rebuilt byte for byte by the verifier."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from crypto.errors import CredentialError
from meetings import docsign, pdfstamp
from meetings.signedpdf import embed, extract
from tests.meetings.test_docverify import (
    CERTIFICATE_EXPIRES,
    CERTIFIED,
    certificate,
    check,
    parts,
    sign,
)

POPPLER = pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"),
    reason="poppler-utils (pdftotext, pdftoppm) is installed by scripts/test",
)
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"


def pdftotext(data: bytes, tmp_path: Path, *, last: bool = True) -> str:
    """The text of the last page (or of all), as poppler reads it."""
    source = tmp_path / "signed.pdf"
    source.write_bytes(data)
    result = subprocess.run(  # noqa: S603 - poppler on our own file
        [PDFTOTEXT, "-enc", "UTF-8", "-layout", str(source), "-"],
        check=True,
        capture_output=True,
    )
    pages = [page for page in result.stdout.decode().split("\f") if page.strip()]
    return pages[-1] if last else "\f".join(pages)


def test_the_font_is_the_committed_one() -> None:
    program, glyphs, table = pdfstamp.font_glyphs()
    assert hashlib.sha256(program).hexdigest() == table["font_sha256"]
    for text in ("Документ подписан электронной подписью", "Ёё«»№–…", "ABCxyz0189"):
        assert all(ch in glyphs for ch in text)


def test_the_lines_come_from_the_record_and_the_certificates() -> None:
    honest = parts()
    (chair, secretary) = docsign.stamp_lines(honest.record, honest.signatures, honest.certificates)
    assert chair == (
        "Документ подписан электронной подписью",
        "Председатель: Петров Пётр Петрович",
        "Сертификат № 1002",
        f"Действителен с {CERTIFIED:%d.%m.%Y} по {CERTIFICATE_EXPIRES:%d.%m.%Y}",
        "Подписан 02.03.2026 11:15:00 UTC",
    )
    assert secretary[1:3] == ("Секретарь: Иванова Мария Петровна", "Сертификат № 1001")
    assert secretary[4] == "Подписан 02.03.2026 10:30:00 UTC"
    # Another certificate for the same key and serial: its dates are what is drawn.
    later = dataclasses.replace(honest)
    later.certificates = [
        certificate("secretary"),
        certificate(
            "chair",
            issued_at=CERTIFIED.replace(month=2),
            expires_at=CERTIFICATE_EXPIRES.replace(month=2),
        ),
    ]
    (chair, _) = docsign.stamp_lines(later.record, later.signatures, later.certificates)
    assert chair[3] == "Действителен с 10.02.2026 по 10.02.2027"


def test_missing_parts_are_drawn_as_missing_not_refused() -> None:
    honest = parts()
    lines = docsign.stamp_lines(honest.record, honest.signatures[:1], honest.certificates[:1])
    assert len(lines) == 1
    assert lines[0][1].startswith("Секретарь")
    lines = docsign.stamp_lines(honest.record, honest.signatures, honest.certificates[:1])
    assert lines[0][3] == "Сертификат не приложен"


def test_a_long_name_is_cut_to_its_box() -> None:
    overlay = pdfstamp.overlay([("Документ подписан электронной подписью", "Я" * 300)])
    shown = re.findall(rb"<([0-9A-F]+)> Tj", overlay.content)
    _, glyphs, _ = pdfstamp.font_glyphs()
    width = sum(overlay.widths[int(shown[1][i : i + 4], 16)] for i in range(0, len(shown[1]), 4))
    assert width * pdfstamp.SIZE / 1000 <= pdfstamp.BOX_WIDTH - 2 * pdfstamp.PADDING
    assert shown[1].endswith(b"%04X" % glyphs["…"][0])


@POPPLER
def test_pdftotext_reads_the_marks_on_the_last_page(tmp_path: Path) -> None:
    honest = parts()
    text = " ".join(pdftotext(honest.signed(), tmp_path).split())
    assert text.count("Документ подписан электронной подписью") == 2
    for words in (
        "Председатель: Петров Пётр Петрович",
        "Секретарь: Иванова Мария Петровна",
        "Сертификат № 1001",
        "Сертификат № 1002",
        "Действителен с 10.01.2026 по 10.01.2027",
        "Подписан 02.03.2026 10:30:00 UTC",
    ):
        assert words in text
    # The document's own text is still there, and the original has no marks.
    assert "Голосовали" in " ".join(pdftotext(honest.signed(), tmp_path, last=False).split())
    assert "Документ подписан" not in pdftotext(honest.pdf, tmp_path)


@POPPLER
def test_the_last_page_renders(tmp_path: Path) -> None:
    source = tmp_path / "signed.pdf"
    source.write_bytes(parts().signed())
    subprocess.run(  # noqa: S603 - poppler on our own file
        [PDFTOPPM, "-png", "-r", "150", "-singlefile", str(source), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "page.png").stat().st_size > 0


def test_the_verifier_rebuilds_the_marks() -> None:
    data = parts().signed()
    report = check(data)
    assert report.ok, report.text()
    assert b"/KvorumStamp" in data[len(extract(data).original) :]


def test_a_changed_byte_of_a_mark_is_named_by_the_verifier() -> None:
    data = parts().signed()
    name = "Петров Пётр Петрович"
    _, glyphs, _ = pdfstamp.font_glyphs()
    drawn = "".join(f"{glyphs[ch][0]:04X}" for ch in name).encode()
    at = data.index(drawn)
    other = b"%04X" % glyphs["Ж"][0]
    changed = data[:at] + other + data[at + 4 :]
    report = check(changed)
    offset = at + _first_difference(drawn, other)
    assert report.failed_checks("unchanged") == [
        f"bytes were added or changed after signing at offset {offset}"
    ]
    assert {item.name for item in report.failures} == {"unchanged"}


def _first_difference(a: bytes, b: bytes) -> int:
    return next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)


def test_a_mark_drawn_for_another_signer_fails() -> None:
    """Marks made from other lines than the files' (a forger's name) are refused."""
    honest = parts()
    files = [(f.name, f.data, f.media_type) for f in extract(honest.signed()).files]
    lines = [
        list(box)
        for box in docsign.stamp_lines(honest.record, honest.signatures, honest.certificates)
    ]
    lines[0][1] = "Председатель: Сидоров С. С."

    forged = embed(honest.pdf, files, pdfstamp.overlay(lines))
    assert check(forged).failed_checks("unchanged")
    assert json.loads(files[0][1])["signers"][1]["name"] == "Петров Пётр Петрович"


def test_a_file_signed_without_marks_still_verifies() -> None:
    """Files signed before the marks were drawn: the update without them is rebuilt."""
    honest = parts()
    files = [(f.name, f.data, f.media_type) for f in extract(honest.signed()).files]
    report = check(embed(honest.pdf, files))
    assert report.ok, report.text()
    (line,) = [c.message for c in report.checks if c.name == "unchanged"]
    assert "signed without signature marks" in line


def test_more_than_two_boxes_go_in_rows_the_first_highest() -> None:
    """A commission's protocol signed by three: two boxes in the upper row, the third on
    the bottom margin; two boxes stay exactly where a meeting's document has them."""
    box = ("Документ подписан электронной подписью", "Член счётной комиссии: А", "3", "4", "5")
    three = pdfstamp.overlay([box, box, box]).content
    rectangles = [
        tuple(float(v) for v in m)
        for m in re.findall(rb"0\.6 w ([0-9.]+) ([0-9.]+) [0-9.]+ [0-9.]+ re S", three)
    ]
    height = 2 * pdfstamp.PADDING + pdfstamp.LEADING * len(box)
    upper = round(pdfstamp.BOTTOM + height + pdfstamp.GAP, 2)
    assert rectangles == [
        (pdfstamp.LEFT, upper),
        (round(pdfstamp.LEFT + pdfstamp.BOX_WIDTH + pdfstamp.GAP, 2), upper),
        (pdfstamp.LEFT, pdfstamp.BOTTOM),
    ]
    two = pdfstamp.overlay([box, box]).content
    assert [float(m) for m in re.findall(rb"0\.6 w [0-9.]+ ([0-9.]+) ", two)] == [
        pdfstamp.BOTTOM,
        pdfstamp.BOTTOM,
    ]


def _zoned() -> Any:
    """An honest document whose record (version 2) names Perm's zone for its marks."""
    honest = parts()
    zone = docsign.RecordZone("Asia/Yekaterinburg", 300, "по пермскому времени, UTC+5")
    record = dataclasses.replace(honest.record, zone=zone)
    secretary = sign(record, "secretary", None)
    chair = sign(record, "chair", secretary)
    return dataclasses.replace(honest, record=record, signatures=[secretary, chair])


def test_a_version_2_record_has_its_marks_on_the_organisations_clocks() -> None:
    zoned = _zoned()
    assert zoned.record.to_payload()["v"] == 2
    (chair, secretary) = docsign.stamp_lines(zoned.record, zoned.signatures, zoned.certificates)
    assert chair[4:] == ("Подписан 02.03.2026 16:15:00", "(по пермскому времени, UTC+5)")
    assert secretary[4:] == ("Подписан 02.03.2026 15:30:00", "(по пермскому времени, UTC+5)")
    assert not any("UTC " in line or line.endswith("UTC") for line in chair + secretary)
    # The marks follow from the embedded files: the verifier rebuilds them byte for byte.
    data = zoned.signed()
    report = check(data)
    assert report.ok, report.text()
    assert data == zoned.signed()  # deterministic
    # The record read back from its payload is the same record.
    assert docsign.DocumentRecord.from_payload(zoned.record.to_payload()) == zoned.record


def test_a_changed_zone_label_is_another_record() -> None:
    zoned = _zoned()
    payload = zoned.record.to_payload()
    payload["zone"] = {"name": "Europe/Moscow", "offset": 180, "label": "по московскому времени"}
    other = docsign.DocumentRecord.from_payload(payload)
    assert other.digest != zoned.record.digest
    with pytest.raises(CredentialError, match="zone offset"):
        docsign.RecordZone("Asia/Yekaterinburg", 5000, "x")
    payload["v"] = 1
    with pytest.raises(CredentialError, match="unknown field 'zone'"):
        docsign.DocumentRecord.from_payload(payload)
