"""Build the font subset the signature stamp is drawn in (run once; output committed).

Takes DejaVu Sans (its licence permits subsetting and redistribution), keeps the
glyphs of the characters in ``CHARACTERS`` only, drops hinting and layout tables,
and writes ``meetings/stampfont/DejaVuSans-stamp.ttf`` and ``glyphs.json`` (each
character's glyph id and advance width in 1/1000 em), which the stamp code and the
verifier read without fontTools. Usage::

    python scripts/build_stamp_font.py /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

CHARACTERS = (
    "".join(chr(c) for c in range(0x20, 0x7F))
    + "".join(chr(c) for c in range(0x410, 0x450))
    + "Ёё«»№–—‘’“”…"
)
OUT = Path(__file__).resolve().parent.parent / "meetings" / "stampfont"


def main(source: str) -> None:
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    options.drop_tables += ["GPOS", "GSUB", "GDEF", "kern", "FFTM"]
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=CHARACTERS)
    subsetter.subset(font)
    font_path = OUT / "DejaVuSans-stamp.ttf"
    font.save(str(font_path))
    font = TTFont(str(font_path))
    cmap = font.getBestCmap()
    order = font.getGlyphOrder()
    scale = 1000 / font["head"].unitsPerEm
    glyphs = {
        ch: [order.index(cmap[ord(ch)]), round(font["hmtx"][cmap[ord(ch)]][0] * scale)]
        for ch in CHARACTERS
    }
    table = {
        "font_sha256": hashlib.sha256(font_path.read_bytes()).hexdigest(),
        "ascent": round(font["hhea"].ascent * scale),
        "descent": round(font["hhea"].descent * scale),
        "bbox": [
            round(v * scale)
            for v in (font["head"].xMin, font["head"].yMin, font["head"].xMax, font["head"].yMax)
        ],
        "glyphs": glyphs,
    }
    (OUT / "glyphs.json").write_text(
        json.dumps(table, ensure_ascii=False, sort_keys=True, indent=0) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main(sys.argv[1])
