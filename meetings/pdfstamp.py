"""The visible mark of an electronic signature, drawn on a signed PDF's last page.

Russian readers expect a signed document to say so on paper: a bordered box per
signer with «Документ подписан электронной подписью», who signed, the certificate's
serial, its validity and the signing time. :func:`overlay` lays such boxes out as a
content stream for :class:`meetings.signedpdf.Overlay`, drawn in a fixed subset of
DejaVu Sans committed beside this module (``stampfont/``, made by
``scripts/build_stamp_font.py``; ``glyphs.json`` gives each character's glyph id and
advance, so nothing here needs a font library). The same inputs always give the same
bytes, so a verifier rebuilds the mark and compares it with the file.

Layout, in points from the lower-left corner of the page (A4: 595 × 842): boxes
:data:`BOX_WIDTH` wide, side by side from x = :data:`LEFT` with :data:`GAP` between
them, two to a row (:data:`PER_ROW`), rows :data:`GAP` apart, the last row's bottom
edge at y = :data:`BOTTOM` (the template's 20 mm bottom margin; the document template
leaves room above it). A line too long for its box is cut and
ends in «…»; a character the subset lacks is drawn as «?».

Pure: standard library only.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from meetings.signedpdf import Overlay

__all__ = ["BOTTOM", "BOX_WIDTH", "FONT_FILE", "GAP", "LEFT", "font_glyphs", "overlay"]

FONT_DIR = Path(__file__).resolve().parent / "stampfont"
FONT_FILE = FONT_DIR / "DejaVuSans-stamp.ttf"
FONT_NAME = "KVORUM+DejaVuSans"

LEFT = 56.7  # the template's 20 mm left margin
BOTTOM = 56.7  # the template's 20 mm bottom margin
BOX_WIDTH = 245.0
GAP = 12.0
PER_ROW = 2  # boxes side by side; more (a commission's members) go in further rows
SIZE = 7.5  # font size, points
LEADING = 9.5
PADDING = 5.0
HEADING = "Документ подписан электронной подписью"
_COLOUR = b"0.10 0.20 0.55"  # the dark blue of a seal's ink


@functools.cache
def font_glyphs() -> tuple[bytes, dict[str, tuple[int, int]], dict[str, object]]:
    """The font program, each character's (glyph id, advance), and the table."""
    program = FONT_FILE.read_bytes()
    table = json.loads((FONT_DIR / "glyphs.json").read_text(encoding="utf-8"))
    if hashlib.sha256(program).hexdigest() != table["font_sha256"]:
        raise RuntimeError(f"{FONT_FILE} is not the font glyphs.json describes")
    glyphs = {ch: (int(v[0]), int(v[1])) for ch, v in table["glyphs"].items()}
    return program, glyphs, table


def _fit(text: str, glyphs: dict[str, tuple[int, int]], room: float) -> list[tuple[int, int]]:
    shown = [glyphs.get(ch, glyphs["?"]) for ch in " ".join(text.split())]
    limit = room * 1000 / SIZE
    if sum(w for _, w in shown) <= limit:
        return shown
    ellipsis = glyphs["…"]
    while shown and sum(w for _, w in shown) + ellipsis[1] > limit:
        shown.pop()
    return [*shown, ellipsis]


def _number(value: float) -> bytes:
    return b"%.2f" % value


def overlay(boxes: Sequence[Sequence[str]]) -> Overlay:
    """The boxes, left to right, each its lines from the top; the first line is bold
    by being drawn twice, shifted a hair (the subset has one weight)."""
    program, glyphs, table = font_glyphs()
    out = bytearray(b"q\n" + _COLOUR + b" RG\n" + _COLOUR + b" rg\n")
    rows = (len(boxes) + PER_ROW - 1) // PER_ROW
    tallest = max((len(lines) for lines in boxes), default=0)
    for index, lines in enumerate(boxes):
        x = LEFT + (index % PER_ROW) * (BOX_WIDTH + GAP)
        height = 2 * PADDING + LEADING * len(lines)
        # Two boxes a row; the first row stands highest, the last on the bottom margin.
        bottom = BOTTOM + (rows - 1 - index // PER_ROW) * (2 * PADDING + LEADING * tallest + GAP)
        out += b"0.6 w %s %s %s %s re S\n" % (
            _number(x),
            _number(bottom),
            _number(BOX_WIDTH),
            _number(height),
        )
        out += b"BT\n/KvorumStamp %s Tf\n" % _number(SIZE)
        top = bottom + height - PADDING - SIZE
        for row, text in enumerate(lines):
            shown = _fit(text, glyphs, BOX_WIDTH - 2 * PADDING)
            ids = b"".join(b"%04X" % gid for gid, _ in shown)
            y = top - row * LEADING
            if row == 0:  # the heading: centred and emboldened by a stroked fill
                width = sum(w for _, w in shown) * SIZE / 1000
                start = x + (BOX_WIDTH - width) / 2
                out += b"2 Tr 0.25 w\n"
            else:
                start = x + PADDING
            out += b"1 0 0 1 %s %s Tm <%s> Tj\n" % (_number(start), _number(y), ids)
            if row == 0:
                out += b"0 Tr\n"
        out += b"ET\n"
    out += b"Q\n"
    count = 1 + max(gid for gid, _ in glyphs.values())
    widths = [600] * count
    texts = [""] * count
    for ch, (gid, advance) in sorted(glyphs.items()):
        widths[gid] = advance
        texts[gid] = ch
    bbox = table["bbox"]
    assert isinstance(bbox, list)
    return Overlay(
        content=bytes(out),
        font_program=program,
        font_name=FONT_NAME,
        widths=tuple(widths),
        unicode=tuple(texts),
        ascent=int(str(table["ascent"])),
        descent=int(str(table["descent"])),
        bbox=(int(bbox[0]), int(bbox[1]), int(bbox[2]), int(bbox[3])),
    )
