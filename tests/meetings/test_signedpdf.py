"""meetings.signedpdf: files attached to real WeasyPrint PDFs (compressed, with object
and cross-reference streams, and uncompressed, with a classic table) and to hand-made
ones, read back by poppler and by extract(), and every change after signing located."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from meetings import signedpdf
from meetings.signedpdf import SignedPdfError, check_unchanged, embed, extract

POPPLER = shutil.which("pdfinfo") is not None
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")

TEXT = "Протокол заседания профсоюзного комитета № 7"
HTML = f"""<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>Протокол № 7</title></head><body>
<h1>{TEXT}</h1>
<p>СЛУШАЛИ: о смете расходов на 2026 год. ПОСТАНОВИЛИ: утвердить смету.</p>
<p>Голосовали: за — 12, против — 1, воздержались — 0.</p>
</body></html>"""
FILES = [
    ("kvorum-record.json", b'{"type":"kvorum.document-record"}', "application/json"),
    ("kvorum-signatures.json", "[«подпись»]".encode(), "application/json"),
    ("notes.txt", b"\x00\x01 binary \xff\r\n bytes", "application/octet-stream"),
]


@functools.cache
def weasyprint_pdf(uncompressed: bool = False, html: str = HTML) -> bytes:
    import weasyprint  # slow to import: only the tests that render pay for it

    return bytes(weasyprint.HTML(string=html).write_pdf(uncompressed_pdf=uncompressed))


@functools.cache
def weasyprint_with_names() -> bytes:
    """A PDF whose catalog already has /Names (/Dests direct, /EmbeddedFiles indirect)."""
    import weasyprint

    html = HTML.replace("<h1>", '<h1 id="top">') + '<p><a href="#top">к началу</a></p>'
    attachment = weasyprint.Attachment(string="приложение", name="annex.txt")
    return bytes(weasyprint.HTML(string=html).write_pdf(attachments=[attachment]))


def kinds() -> list[object]:
    return [
        pytest.param("compressed", id="weasyprint"),
        pytest.param("uncompressed", id="weasyprint-uncompressed"),
        pytest.param("names", id="weasyprint-with-names"),
    ]


def sample(kind: str) -> bytes:
    if kind == "names":
        return weasyprint_with_names()
    return weasyprint_pdf(uncompressed=kind == "uncompressed")


def poppler(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603


# --- hand-made PDFs -----------------------------------------------------------------------

PAGE = b"BT /F1 24 Tf 72 700 Td (Hello) Tj ET"


def _stream(head: bytes, data: bytes) -> bytes:
    return b"<<" + head + b"/Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


def handmade(
    catalog: bytes = b"<</Type /Catalog/Pages 2 0 R>>",
    extra: dict[int, bytes] | None = None,
    *,
    trailer: bytes = b"",
    end: bytes = b"\n",
) -> bytes:
    """A one-page PDF with a classic cross-reference table; object 1 is the catalog."""
    objects = {
        1: catalog,
        2: b"<</Type /Pages/Kids [3 0 R]/Count 1>>",
        3: b"<</Type /Page/Parent 2 0 R/MediaBox [0 0 595 842]/Contents 4 0 R"
        b"/Resources <</Font <</F1 5 0 R>>>>>>",
        4: _stream(b"", PAGE),
        5: b"<</Type /Font/Subtype /Type1/BaseFont /Helvetica>>",
        **(extra or {}),
    }
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % size
    for number in range(1, size):
        if number in offsets:
            out += b"%010d 00000 n\r\n" % offsets[number]
        else:
            out += b"0000000000 00000 f\r\n"
    out += b"trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF" % (size, trailer, xref)
    return bytes(out + end)


def handmade_streams() -> bytes:
    """Catalog, pages and page in an object stream; a cross-reference stream with the
    PNG Up predictor (as pdfTeX, Ghostscript and qpdf write them)."""
    inner = {
        1: b"<</Type /Catalog/Pages 2 0 R/Names 6 0 R/AF [7 0 R]>>",
        2: b"<</Type /Pages/Kids [3 0 R]/Count 1>>",
        3: b"<</Type /Page/Parent 2 0 R/MediaBox [0 0 595 842]/Contents 4 0 R"
        b"/Resources <</Font <</F1 5 0 R>>>>>>",
        5: b"<</Type /Font/Subtype /Type1/BaseFont /Helvetica>>",
        6: b"<</EmbeddedFiles <</Names [(zz-existing.txt) 7 0 R]>>>>",
        7: b"<</Type /Filespec/F (zz-existing.txt)/UF (zz-existing.txt)/EF <</F 8 0 R>>>>",
    }
    header, body = [], b""
    for number, text in inner.items():
        header.append(b"%d %d" % (number, len(body)))
        body += text + b"\n"
    head = b" ".join(header) + b"\n"
    packed = zlib.compress(head + body)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, tuple[int, int, int]] = {}
    offsets[4] = (1, len(out), 0)
    out += b"4 0 obj\n" + _stream(b"", PAGE) + b"\nendobj\n"
    offsets[8] = (1, len(out), 0)
    out += b"8 0 obj\n" + _stream(b"/Type /EmbeddedFile", b"existing") + b"\nendobj\n"
    offsets[9] = (1, len(out), 0)
    out += b"9 0 obj\n" + _stream(
        b"/Type /ObjStm/N %d/First %d/Filter /FlateDecode" % (len(inner), len(head)), packed
    )
    out += b"\nendobj\n"
    for index, number in enumerate(inner):
        offsets[number] = (2, 9, index)
    offsets[10] = (1, len(out), 0)
    rows, above = b"", bytes(5)
    for number in range(11):
        kind, second, third = offsets.get(number, (0, 0, 0))
        row = bytes([kind]) + second.to_bytes(3, "big") + third.to_bytes(1, "big")
        rows += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, above, strict=True))
        above = row
    out += b"10 0 obj\n" + _stream(
        b"/Type /XRef/Size 11/W [1 3 1]/Root 1 0 R/ID [<0123456789abcdef> <0123456789abcdef>]"
        b"/Filter /FlateDecode/DecodeParms <</Predictor 12/Columns 5>>",
        zlib.compress(rows),
    )
    out += b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[10][1]
    return bytes(out)


# --- round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", kinds())
def test_embed_keeps_the_original_and_extract_gives_the_files_back(kind: str) -> None:
    pdf = sample(kind)
    signed = embed(pdf, FILES)
    assert signed.startswith(pdf)
    assert signed[len(pdf) :].startswith(b"%%Kvorum-signed-PDF original-length=%d\n" % len(pdf))
    taken = extract(signed)
    assert taken.original == pdf
    assert [(f.name, f.data, f.media_type) for f in taken.files] == FILES
    assert taken.file("notes.txt") is not None
    assert taken.file("missing.txt") is None
    check_unchanged(signed, taken)


@pytest.mark.parametrize("kind", kinds())
def test_embed_is_deterministic(kind: str) -> None:
    pdf = sample(kind)
    assert embed(pdf, FILES) == embed(bytes(pdf), list(FILES))
    assert embed(pdf, FILES) != embed(pdf, FILES[:2])
    assert embed(pdf, FILES) != embed(pdf, [FILES[1], FILES[0], FILES[2]])


@pytest.mark.parametrize("kind", kinds())
def test_every_object_of_the_update_is_where_the_cross_reference_says(kind: str) -> None:
    pdf = sample(kind)
    signed = embed(pdf, FILES)
    before, after = signedpdf._open(pdf), signedpdf._open(signed)
    assert after.trailer[b"Prev"] == before.startxref
    for key in (b"Root", b"Info", b"ID"):
        assert after.trailer.get(key) == before.trailer.get(key)
    assert after.trailer[b"Size"] == before.trailer[b"Size"] + 2 * len(FILES) + 1
    for number, entry in after.entries.items():
        if entry[0] != 0:
            after.object(number)  # raises if the offset does not hold that object
    catalog = after.object(before.trailer[b"Root"].number)  # type: ignore[union-attr]
    original = before.object(before.trailer[b"Root"].number)  # type: ignore[union-attr]
    assert isinstance(catalog, dict)
    assert isinstance(original, dict)
    for key, value in original.items():
        if key != b"Names":
            assert catalog[key] == value
    assert len(catalog[b"AF"]) == len(FILES)  # type: ignore[arg-type]


# --- what other readers see ---------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("kind", kinds())
def test_poppler_reads_the_signed_pdf(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(embed(sample(kind), FILES))
    info = poppler("pdfinfo", str(path))
    assert info.returncode == 0, info.stderr
    assert "Error" not in info.stderr
    assert "Warning" not in info.stderr
    assert re.search(r"^Pages: +1$", info.stdout, re.M)
    text = poppler("pdftotext", str(path), "-")
    assert text.returncode == 0
    assert TEXT in " ".join(text.stdout.split())
    assert "Error" not in text.stderr
    listing = poppler("pdfdetach", "-list", str(path))
    assert listing.returncode == 0
    for name, _, _ in FILES:
        assert f": {name}" in listing.stdout
    out = tmp_path / "out"
    out.mkdir()
    saved = poppler("pdfdetach", "-saveall", "-o", str(out), str(path))
    assert saved.returncode == 0, saved.stderr
    for name, data, _ in FILES:
        assert (out / name).read_bytes() == data


@needs_poppler
def test_existing_names_and_attachments_are_kept(tmp_path: Path) -> None:
    pdf = weasyprint_with_names()
    path = tmp_path / "signed.pdf"
    path.write_bytes(embed(pdf, FILES))
    listing = poppler("pdfdetach", "-list", str(path)).stdout
    assert "annex.txt" in listing
    assert f"{len(FILES) + 1} embedded files" in listing
    dests = poppler("pdfinfo", "-dests", str(path))
    assert dests.returncode == 0
    assert '"top"' in dests.stdout
    with pytest.raises(SignedPdfError, match=r"already has an embedded file 'annex\.txt'"):
        embed(pdf, [("annex.txt", b"x", "text/plain")])


@needs_poppler
@pytest.mark.parametrize(
    "pdf",
    [
        pytest.param(handmade, id="classic"),
        pytest.param(handmade_streams, id="object-stream-png-predictor"),
        pytest.param(
            lambda: handmade(
                b"<</Type /Catalog/Pages 2 0 R/Names 6 0 R/AF 7 0 R>>",
                {
                    6: b"<</Dests <<>>/EmbeddedFiles 8 0 R>>",
                    7: b"[]",
                    8: b"<</Names 9 0 R>>",
                    9: b"[]",
                },
            ),
            id="indirect-names",
        ),
        pytest.param(lambda: handmade(end=b""), id="no-line-end-after-eof"),
        pytest.param(lambda: handmade(end=b"\r\n"), id="crlf-after-eof"),
    ],
)
def test_hand_made_pdfs(pdf: object, tmp_path: Path) -> None:
    assert callable(pdf)
    original = pdf()
    signed = embed(original, FILES)
    taken = extract(signed)
    assert taken.original == original
    check_unchanged(signed, taken)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    info = poppler("pdfinfo", str(path))
    assert info.returncode == 0, info.stderr
    assert "Error" not in info.stderr
    assert "Hello" in poppler("pdftotext", str(path), "-").stdout
    listing = poppler("pdfdetach", "-list", str(path)).stdout
    for name, _, _ in FILES:
        assert name in listing


def test_names_kept_from_an_object_stream() -> None:
    signed = embed(handmade_streams(), FILES)
    reader = signedpdf._open(signed)
    catalog = reader.object(1)
    assert isinstance(catalog, dict)
    tree = catalog[b"Names"][b"EmbeddedFiles"][b"Names"]  # type: ignore[index,call-overload]
    names = [item.value for item in tree[::2]]  # type: ignore[index,union-attr]
    assert names == sorted(names)
    assert b"zz-existing.txt" in names
    assert catalog[b"AF"][0] == signedpdf._Ref(7, 0)  # type: ignore[index]
    assert reader.trailer[b"ID"] == [signedpdf._String(bytes.fromhex("0123456789abcdef"))] * 2


# --- changes after signing ----------------------------------------------------------------


def test_appended_bytes_are_located() -> None:
    signed = embed(weasyprint_pdf(), FILES)
    changed = signed + b"\n% a comment\n"
    with pytest.raises(
        SignedPdfError, match=f"bytes were added after signing at offset {len(signed)}"
    ):
        check_unchanged(changed, extract(changed))


def _replace_page(pdf: bytes) -> bytes:
    """An attacker's incremental update: the page's content replaced by other text.

    Found by poppler (the page reads differently), so a verifier must catch it."""
    reader = signedpdf._open(pdf)
    pages = reader.object(reader.trailer[b"Root"].number)[b"Pages"]  # type: ignore[union-attr,index,call-overload]
    page_ref = reader.object(pages.number)[b"Kids"][0]  # type: ignore[union-attr,index,call-overload]
    page = dict(reader.object(page_ref.number))  # type: ignore[union-attr,arg-type,call-overload]
    size = reader.trailer[b"Size"]
    assert isinstance(size, int)
    page[b"Contents"] = signedpdf._Ref(size, 0)
    page[b"Resources"] = {b"Font": {b"FX": signedpdf._Ref(size + 1, 0)}}
    content = b"BT /FX 30 Tf 72 500 Td (FORGED DECISION) Tj ET"
    out = bytearray(pdf)
    offsets = {}
    offsets[page_ref.number] = len(out)
    out += b"%d 0 obj\n%s\nendobj\n" % (page_ref.number, signedpdf._write(page))
    offsets[size] = len(out)
    out += b"%d 0 obj\n%s\nendobj\n" % (size, _stream(b"", content))
    offsets[size + 1] = len(out)
    out += b"%d 0 obj\n<</Type /Font/Subtype /Type1/BaseFont /Helvetica>>\nendobj\n" % (size + 1)
    xref = len(out)
    out += b"xref\n"
    for number in sorted(offsets):
        out += b"%d 1\n%010d 00000 n\r\n" % (number, offsets[number])
    root = signedpdf._write(reader.trailer[b"Root"])
    out += b"trailer\n<</Size %d/Root %s/Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (
        size + 2,
        root,
        reader.startxref,
        xref,
    )
    return bytes(out)


@pytest.mark.parametrize("uncompressed", [False, True])
def test_an_incremental_update_that_changes_a_page_is_found(
    uncompressed: bool, tmp_path: Path
) -> None:
    signed = embed(weasyprint_pdf(uncompressed), FILES)
    forged = _replace_page(signed)
    if POPPLER:  # the forgery is real: a viewer shows the new page
        path = tmp_path / "forged.pdf"
        path.write_bytes(forged)
        text = poppler("pdftotext", str(path), "-")
        assert "FORGED DECISION" in text.stdout
        assert TEXT not in " ".join(text.stdout.split())
    taken = extract(forged)
    assert taken.original == weasyprint_pdf(uncompressed)
    with pytest.raises(
        SignedPdfError, match=f"bytes were added after signing at offset {len(signed)} "
    ):
        check_unchanged(forged, taken)


@pytest.mark.parametrize(
    ("old", "new", "located"),
    [
        (b"/AFRelationship /Data", b"/AFRelationship /Date", True),
        (b"/Params <</Size 33>>", b"/Params <</Size 34>>", True),
        (b"/Type /Catalog", b"/Type /Catalug", True),
        # What the update cannot be found without: refused before any rebuild.
        (b"/Type /XRef", b"/Type /XRaf", False),
        (b"%%EOF\n", b"%%EOF\r", False),
    ],
)
def test_a_changed_byte_in_the_update_is_found(old: bytes, new: bytes, located: bool) -> None:
    signed = embed(weasyprint_pdf(), FILES)
    at = signed.rindex(old)
    changed = signed[:at] + new + signed[at + len(old) :]
    if not located:
        with pytest.raises(SignedPdfError, match="has no startxref and %%EOF of its own"):
            extract(changed)
        return
    where = at + next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
    with pytest.raises(
        SignedPdfError, match=f"^bytes were added or changed after signing at offset {where}$"
    ):
        check_unchanged(changed, extract(changed))


def test_a_changed_prev_is_located() -> None:
    pdf = weasyprint_pdf()
    signed = embed(pdf, FILES)
    at = signed.rindex(b"/Prev ") + len(b"/Prev ")
    changed = signed[:at] + b"1" + signed[at + 1 :]
    with pytest.raises(
        SignedPdfError, match=f"bytes were added or changed after signing at offset {at}$"
    ):
        check_unchanged(changed, extract(changed))


def test_a_changed_byte_in_the_original_keeps_the_update_valid() -> None:
    """Found by the record's hash, not here: the rebuild starts from the original."""
    pdf = weasyprint_pdf()
    signed = embed(pdf, FILES)
    at = pdf.index(b"stream\n") + 20
    changed = signed[:at] + bytes([signed[at] ^ 1]) + signed[at + 1 :]
    taken = extract(changed)
    assert taken.original != pdf
    check_unchanged(changed, taken)


def test_a_changed_byte_inside_an_embedded_file_is_read_as_it_is() -> None:
    """Found by the checks on the file (canonical JSON, signatures), not here."""
    signed = embed(weasyprint_pdf(), FILES)
    changed = signed.replace(b"kvorum.document-record", b"kvorum.document-recorD")
    taken = extract(changed)
    assert taken.files[0].data == b'{"type":"kvorum.document-recorD"}'
    check_unchanged(changed, taken)


def test_a_signed_pdf_signed_again_is_read_from_its_last_update() -> None:
    pdf = weasyprint_pdf()
    once = embed(pdf, FILES)
    with pytest.raises(
        SignedPdfError, match=re.escape("has an embedded file 'kvorum-record.json'")
    ):
        embed(once, FILES)
    twice = embed(once, [("later.json", b"{}", "application/json")])
    taken = extract(twice)
    assert taken.original == once
    assert [f.name for f in taken.files] == ["later.json"]
    check_unchanged(twice, taken)
    assert [f.name for f in extract(taken.original).files] == [name for name, _, _ in FILES]


def test_common_prefix() -> None:
    data = bytes(range(256)) * 1000
    for at in (0, 1, 65535, 65536, 65537, len(data) - 1):
        changed = data[:at] + b"\xff\xfe" + data[at + 2 :]
        assert signedpdf._common_prefix(data, changed) == at + (data[at] == 0xFF)
    assert signedpdf._common_prefix(data, data) == len(data)
    assert signedpdf._common_prefix(data, data[:70000]) == 70000


def test_a_cut_file_is_refused() -> None:
    signed = embed(weasyprint_pdf(), FILES)
    with pytest.raises(SignedPdfError, match="has no startxref and %%EOF of its own"):
        extract(signed[:-1])


# --- refusals -----------------------------------------------------------------------------


def test_not_a_pdf_and_not_signed() -> None:
    with pytest.raises(SignedPdfError, match=r"^not a PDF"):
        extract(b"PK\x03\x04 a zip file")
    with pytest.raises(SignedPdfError, match=r"^not a PDF"):
        embed(b"<html>", FILES)
    with pytest.raises(SignedPdfError, match=r"^no Kvorum signatures embedded"):
        extract(weasyprint_pdf())
    with pytest.raises(SignedPdfError, match=r"^no Kvorum signatures embedded"):
        extract(weasyprint_with_names())
    # A marker that does not state its own place is not one.
    fake = handmade() + b"%Kvorum-signed-PDF original-length=12\n"
    with pytest.raises(SignedPdfError, match=r"^no Kvorum signatures embedded"):
        extract(fake)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([], "no files to embed"),
        ([("../etc/passwd", b"", "text/plain")], "file name '../etc/passwd'"),
        ([("файл.json", b"", "application/json")], "file name"),
        ([("a.json", b"", "application/json")] * 2, "given twice"),
        ([("a.json", b"", "json")], "media type 'json'"),
        ([("a.json", "text", "application/json")], "must be bytes"),
    ],
)
def test_bad_files_are_refused(files: list[tuple[str, bytes, str]], message: str) -> None:
    with pytest.raises(SignedPdfError, match=re.escape(message)):
        embed(handmade(), files)


@pytest.mark.parametrize(
    ("pdf", "message"),
    [
        (handmade(trailer=b"/Encrypt 9 0 R"), "encrypted"),
        (handmade(b"<</Type /Pages>>"), "is not a catalog"),
        (handmade() + b"garbage", "bytes follow the last %%EOF"),
        (handmade().replace(b"startxref", b"startxraf"), "no 'startxref"),
        (
            handmade(
                b"<</Type /Catalog/Pages 2 0 R/Names 6 0 R>>",
                {6: b"<</EmbeddedFiles <</Kids []>>>>"},
            ),
            "/Kids",
        ),
    ],
)
def test_pdfs_that_cannot_be_updated_are_refused(pdf: bytes, message: str) -> None:
    with pytest.raises(SignedPdfError, match=re.escape(message)):
        embed(pdf, FILES)


def test_parser_reads_pdf_syntax() -> None:
    lexer = signedpdf._Lexer(
        b"<</A (a\\(b\\)c\\\\ \\101\\n\r\n(x)) /B <48 65 6C6C 6F7> /N#20ame 1.50 /R 12 0 R"
        b" /L [1 -2 +3 .5 true false null] % comment\n/D <<>> >>",
        0,
    )
    value = lexer.value()
    assert value == {
        b"A": signedpdf._String(b"a(b)c\\ A\n\n(x)"),
        b"B": signedpdf._String(b"Hello\x70"),
        b"N ame": signedpdf._Real(b"1.50"),
        b"R": signedpdf._Ref(12, 0),
        b"L": [1, -2, 3, signedpdf._Real(b".5"), True, False, None],
        b"D": {},
    }
    assert signedpdf._write(value) == (
        b"<</A <61286229635c20410a0a287829>/B (Hellop)/N#20ame 1.50/R 12 0 R"
        b"/L [1 -2 3 .5 true false null]/D <<>>>>"
    )
    with pytest.raises(SignedPdfError, match="nested deeper"):
        signedpdf._Lexer(b"[" * 100, 0).value()


# --- the overlay --------------------------------------------------------------------------


def _mark() -> signedpdf.Overlay:
    from meetings.pdfstamp import overlay

    return overlay([("Документ подписан электронной подписью", "Ёлкин Ж. Щ.")])


@pytest.mark.parametrize(
    "pdf",
    [
        pytest.param(handmade, id="classic"),
        pytest.param(handmade_streams, id="object-streams"),
        pytest.param(
            lambda: handmade(
                extra={
                    2: b"<</Type /Pages/Kids [3 0 R 6 0 R]/Count 2/MediaBox [0 0 595 842]"
                    b"/Resources 7 0 R>>",
                    6: b"<</Type /Page/Parent 2 0 R/Contents [4 0 R 8 0 R]>>",
                    7: b"<</Font 9 0 R>>",
                    8: _stream(b"", b"BT /F1 12 Tf 72 600 Td (Second) Tj ET"),
                    9: b"<</F1 5 0 R>>",
                }
            ),
            id="inherited-resources-two-pages",
        ),
    ],
)
def test_the_overlay_is_drawn_on_the_last_page(pdf: object, tmp_path: Path) -> None:
    assert callable(pdf)
    original = pdf()
    signed = embed(original, FILES, _mark())
    assert signed == embed(original, FILES, _mark())
    taken = extract(signed)
    assert taken.original == original
    check_unchanged(signed, taken, _mark())
    with pytest.raises(SignedPdfError, match="changed after signing"):
        check_unchanged(signed, taken)  # the update without the marks is another one
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    info = poppler("pdfinfo", str(path))
    assert "Error" not in info.stderr
    pages = poppler("pdftotext", str(path), "-").stdout.split("\f")
    assert "Hello" in pages[0]
    assert "Документ подписан электронной подписью" in pages[-2]
    assert "Ёлкин Ж. Щ." in pages[-2]
    assert "Документ подписан" not in "".join(pages[:-2])
    fonts = poppler("pdffonts", str(path)).stdout
    assert "KVORUM+DejaVuSans" in fonts


def test_an_overlay_needs_a_page_it_can_draw_on() -> None:
    clash = handmade(
        extra={
            3: b"<</Type /Page/Parent 2 0 R/MediaBox [0 0 595 842]/Contents 4 0 R"
            b"/Resources <</Font <</KvorumStamp 5 0 R>>>>>>"
        }
    )
    with pytest.raises(SignedPdfError, match="cannot take the stamp's font"):
        embed(clash, FILES, _mark())
    boxless = handmade(extra={3: b"<</Type /Page/Parent 2 0 R/Contents 4 0 R>>"})
    with pytest.raises(SignedPdfError, match="no /MediaBox"):
        embed(boxless, FILES, _mark())
    with pytest.raises(ValueError, match="font name"):
        signedpdf.Overlay(b"", b"", "bad name", (1,), ("a",), 1, 1, (0, 0, 1, 1))
