"""Files attached to a finished PDF by one incremental update, and read back from it.

A signed Kvorum document is the PDF exactly as it was rendered (the *original*, whose
SHA-256 the signed record states), followed by one PDF incremental update (ISO 32000-1
§7.5.6) that adds the signatures, certificates and keys as embedded files
(§7.11.4). Nothing of the original is rewritten, so its bytes — and its hash — stay
what the signers saw; a reader that does not know Kvorum still shows the same pages
and lists the attachments.

The update, written by :func:`embed`, is deterministic (no dates, no random ids, no
compression, whose bytes could differ between zlib builds)::

    [a line feed, if the original does not end with one]
    %Kvorum-signed-PDF original-length=<length of the original>
    <s> 0 obj <</Type /EmbeddedFile/Subtype /<media type>/Params <</Size n>>/Length n>>
      stream … endstream endobj                                  one per file, in order
    <s+1> 0 obj <</Type /Filespec/F (name)/UF (name)/AFRelationship /Data
      /EF <</F <s> 0 R/UF <s> 0 R>>>> endobj
    [with an Overlay: q and Q content streams, a Type0 font and its four objects,
     and the last page again, drawing the overlay — see _overlay_objects]
    <root> <g> obj <<the catalog's entries, /Names with /EmbeddedFiles, /AF>> endobj
    <x> 0 obj <</Type /XRef/Size/Index/W/Root/Info/ID/Prev/Length>> stream … endobj
    startxref <x's offset> %%EOF

where ``s`` starts at the original trailer's ``/Size``. The catalog keeps every entry
it had; its ``/Names`` (direct or indirect in the original) becomes a direct dictionary
with the original's entries and an ``/EmbeddedFiles`` name tree holding the original's
attachments, if any, and the new ones, sorted by name; ``/AF`` is the original's
array, if any, followed by the new file specifications. The cross-reference *stream*
lists the objects of the update, and ``/Prev`` points at the original's cross-reference
section, whichever kind it is.

:func:`extract` finds that update by its marker comment (the last one whose stated
length is its own position), and reads the files back from the update's own objects.
:func:`check_unchanged` then rebuilds the whole file from the original and the files
(and the overlay, which the caller derives from the files) with :func:`embed` and
compares bytes, so that a byte changed or added anywhere after
the original — an extra incremental update that replaces a page, a changed offset,
trailing bytes — is found and located.

Not guaranteed:

* That the original is unchanged: the rebuild starts *from* the original as found.
  The signed record's hash of the original is what detects a change there.
* That the embedded files are authentic: a byte changed inside an embedded file is
  read back as it is, so the rebuild matches. The files are signed documents, checked
  by :mod:`meetings.docverify`.
* Encrypted PDFs, original name trees split into ``/Kids``, and cross-reference
  streams with predictors other than PNG are refused with :class:`SignedPdfError`,
  not handled. Only what a PDF reader needs to find the catalog is parsed; the rest
  of the original is never interpreted.

Pure: standard library only.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "MARKER",
    "EmbeddedFile",
    "Overlay",
    "Signed",
    "SignedPdfError",
    "check_structure",
    "check_unchanged",
    "embed",
    "extract",
]

#: The comment line that opens a Kvorum update (``%d``: the original's length).
MARKER = b"%%Kvorum-signed-PDF original-length=%d\n"

_MARKER = re.compile(rb"%Kvorum-signed-PDF original-length=([0-9]{1,15})\n")
_STARTXREF = re.compile(rb"startxref[\x00\t\n\x0c\r ]+([0-9]{1,15})[\x00\t\n\x0c\r ]+%%EOF")
_UPDATE_END = re.compile(rb"startxref\n([0-9]{1,15})\n%%EOF\n")
_XREF_HEAD = re.compile(rb"[0-9]{1,10} 0 obj\n<</Type /XRef/")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_WHITESPACE = b"\x00\t\n\x0c\r "
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_INTEGER = re.compile(rb"[0-9]+")
_CLASSIC_ENTRY = re.compile(rb"[\x00\t\n\x0c\r ]*([0-9]{1,10})[ ]+([0-9]{1,5})[ ]+([nf])")
# A hostile file must not make the reader recurse or inflate without end.
_MAX_DEPTH = 64
_MAX_INFLATED = 64 * 1024 * 1024
_MAX_SECTIONS = 10_000


class SignedPdfError(ValueError):
    """The bytes are not a PDF this module can update, or not a signed one as written."""


@dataclass(frozen=True)
class EmbeddedFile:
    """One attachment: its name, its exact bytes and its media type."""

    name: str
    data: bytes
    media_type: str


@dataclass(frozen=True)
class Signed:
    """A signed PDF taken apart: the original and the files of the Kvorum update.

    ``original`` is the PDF as it was before the update, up to the end of its
    ``%%EOF`` line; ``files`` are in the order they were given to :func:`embed`.
    Nothing here is checked yet: see :func:`check_unchanged`.
    """

    original: bytes
    files: tuple[EmbeddedFile, ...]

    def file(self, name: str) -> EmbeddedFile | None:
        """The embedded file of that name, or ``None``."""
        for item in self.files:
            if item.name == name:
                return item
        return None


@dataclass(frozen=True)
class Overlay:
    """What the update draws on the original's last page, in one embedded font.

    ``content`` is a content stream in the page's default user space with its origin
    moved to the media box's lower-left corner; it selects the font as
    ``/KvorumStamp``. The font is a TrueType program shown as a Type0 font with
    Identity-H encoding (two-byte glyph ids), so ``widths[g]`` is glyph ``g``'s advance
    in 1/1000 em and ``unicode[g]`` its text (for the ToUnicode CMap; ``""``: none).
    """

    content: bytes
    font_program: bytes
    font_name: str
    widths: tuple[int, ...]
    unicode: tuple[str, ...]
    ascent: int
    descent: int
    bbox: tuple[int, int, int, int]

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9+-]{1,60}", self.font_name):
            raise ValueError("the overlay's font name must be 1 to 60 of A-Z a-z 0-9 + -")
        if len(self.widths) != len(self.unicode) or not self.widths:
            raise ValueError("the overlay's font needs a width and a text for every glyph")
        if len(self.widths) > 0xFFFF:
            raise ValueError("the overlay's font has more glyphs than two bytes can name")


#: The font resource name the overlay's content uses.
OVERLAY_FONT = b"KvorumStamp"


# --- PDF values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Name:
    value: bytes


@dataclass(frozen=True)
class _Ref:
    number: int
    generation: int


@dataclass(frozen=True)
class _Real:
    text: bytes  # kept as written: re-writing a real must not change its digits


@dataclass(frozen=True)
class _String:
    value: bytes


_Value: TypeAlias = (
    "bool | int | _Real | _String | _Name | _Ref | list[_Value] | dict[bytes, _Value] | None"
)


@dataclass(frozen=True)
class _Object:
    """An indirect object as found in the file; ``stream`` is the raw (encoded) data."""

    number: int
    generation: int
    value: _Value
    stream: bytes | None


class _Lexer:
    """Reads PDF objects (ISO 32000-1 §7.2, §7.3) from ``data`` starting at ``pos``."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def fail(self, message: str) -> SignedPdfError:
        return SignedPdfError(f"{message} at offset {self.pos}")

    def skip(self) -> None:
        data, pos, end = self.data, self.pos, len(self.data)
        while pos < end:
            byte = data[pos]
            if byte in _WHITESPACE:
                pos += 1
            elif byte == 0x25:  # % starts a comment that runs to the end of the line
                while pos < end and data[pos] not in b"\r\n":
                    pos += 1
            else:
                break
        self.pos = pos

    def token(self) -> bytes:
        """The next run of regular characters (a keyword or a number)."""
        self.skip()
        match = _REGULAR.match(self.data, self.pos)
        if match is None:
            raise self.fail("expected a keyword")
        self.pos = match.end()
        return match.group()

    def expect(self, keyword: bytes) -> None:
        start = self.pos
        if self.token() != keyword:
            self.pos = start
            raise self.fail(f"expected {keyword.decode()}")

    def integer(self) -> int:
        self.skip()
        match = _INTEGER.match(self.data, self.pos)
        if match is None:
            raise self.fail("expected an integer")
        self.pos = match.end()
        return int(match.group())

    def value(self, depth: int = 0) -> _Value:
        if depth > _MAX_DEPTH:
            raise self.fail(f"objects nested deeper than {_MAX_DEPTH}")
        self.skip()
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of the file")
        byte = self.data[self.pos]
        if byte == 0x2F:  # /
            return self.name()
        if byte == 0x28:  # (
            return self.literal_string()
        if byte == 0x3C:  # <
            if self.data.startswith(b"<<", self.pos):
                return self.dictionary(depth)
            return self.hex_string()
        if byte == 0x5B:  # [
            self.pos += 1
            items: list[_Value] = []
            while True:
                self.skip()
                if self.data.startswith(b"]", self.pos):
                    self.pos += 1
                    return items
                items.append(self.value(depth + 1))
        number = _NUMBER.match(self.data, self.pos)
        if number is not None:
            return self.number(number)
        word = self.token()
        if word == b"true":
            return True
        if word == b"false":
            return False
        if word == b"null":
            return None
        raise SignedPdfError(f"unexpected {word[:20]!r} at offset {self.pos - len(word)}")

    def number(self, match: re.Match[bytes]) -> _Value:
        text = match.group()
        self.pos = match.end()
        if b"." in text:
            return _Real(text)
        value = int(text)
        if text[:1] in b"+-":
            return value
        # "12 0 R" is a reference: look ahead, and step back if it is not one.
        after = self.pos
        self.skip()
        generation = _INTEGER.match(self.data, self.pos)
        if generation is not None:
            self.pos = generation.end()
            self.skip()
            keyword = _REGULAR.match(self.data, self.pos)
            if keyword is not None and keyword.group() == b"R":
                self.pos = keyword.end()
                return _Ref(value, int(generation.group()))
        self.pos = after
        return value

    def name(self) -> _Name:
        self.pos += 1
        match = _REGULAR.match(self.data, self.pos)
        raw = match.group() if match else b""
        self.pos += len(raw)
        # §7.3.5: #xx stands for the byte xx.
        try:
            value = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes.fromhex(m.group(1).decode()), raw)
        except ValueError as exc:  # pragma: no cover - the pattern admits hex only
            raise self.fail("bad name") from exc
        return _Name(value)

    def hex_string(self) -> _String:
        end = self.data.find(b">", self.pos)
        if end < 0:
            raise self.fail("unterminated hexadecimal string")
        digits = bytes(c for c in self.data[self.pos + 1 : end] if c not in _WHITESPACE)
        if not re.fullmatch(rb"[0-9A-Fa-f]*", digits):
            raise self.fail("bad hexadecimal string")
        if len(digits) % 2:
            digits += b"0"  # §7.3.4.3: a missing last digit is 0
        self.pos = end + 1
        return _String(bytes.fromhex(digits.decode()))

    def literal_string(self) -> _String:
        data, pos, end = self.data, self.pos + 1, len(self.data)
        out = bytearray()
        depth = 1
        while True:
            if pos >= end:
                raise self.fail("unterminated string")
            byte = data[pos]
            pos += 1
            if byte == 0x5C:  # backslash: §7.3.4.2, Table 3
                if pos >= end:
                    raise self.fail("unterminated string")
                escaped = data[pos]
                pos += 1
                if escaped in b"01234567":
                    digits = bytes([escaped])
                    while len(digits) < 3 and pos < end and data[pos] in b"01234567":
                        digits += data[pos : pos + 1]
                        pos += 1
                    out.append(int(digits, 8) & 0xFF)
                elif escaped == 0x0D:  # a backslash before a line end continues the line
                    if pos < end and data[pos] == 0x0A:
                        pos += 1
                elif escaped != 0x0A:
                    out += {
                        ord("n"): b"\n",
                        ord("r"): b"\r",
                        ord("t"): b"\t",
                        ord("b"): b"\b",
                        ord("f"): b"\f",
                    }.get(escaped, bytes([escaped]))
            elif byte == 0x28:
                depth += 1
                out.append(byte)
            elif byte == 0x29:
                depth -= 1
                if depth == 0:
                    self.pos = pos
                    return _String(bytes(out))
                out.append(byte)
            elif byte == 0x0D:  # an unescaped line end of any kind reads as a line feed
                if pos < end and data[pos] == 0x0A:
                    pos += 1
                out.append(0x0A)
            else:
                out.append(byte)

    def dictionary(self, depth: int) -> dict[bytes, _Value]:
        self.pos += 2
        entries: dict[bytes, _Value] = {}
        while True:
            self.skip()
            if self.data.startswith(b">>", self.pos):
                self.pos += 2
                return entries
            if not self.data.startswith(b"/", self.pos):
                raise self.fail("expected a name as dictionary key")
            key = self.name().value
            entries[key] = self.value(depth + 1)

    def indirect(self, length: Callable[[_Value], int]) -> _Object:
        """``N G obj value [stream … endstream] endobj``; ``length`` resolves /Length."""
        number = self.integer()
        generation = self.integer()
        self.expect(b"obj")
        value = self.value()
        self.skip()
        stream = None
        if self.data.startswith(b"stream", self.pos):
            if not isinstance(value, dict):
                raise self.fail(f"object {number} has a stream without a dictionary")
            self.pos += len(b"stream")
            # §7.3.8.1: the keyword is followed by CRLF or LF (a lone CR is tolerated).
            if self.data.startswith(b"\r\n", self.pos):
                self.pos += 2
            elif self.data.startswith((b"\n", b"\r"), self.pos):
                self.pos += 1
            else:
                raise self.fail(f"object {number}: no line end after 'stream'")
            size = length(value.get(b"Length"))
            start = self.pos
            stream = self.data[start : start + size]
            self.pos = start + size
            self.skip()
            if len(stream) != size or not self.data.startswith(b"endstream", self.pos):
                raise SignedPdfError(
                    f"object {number}: the stream at offset {start} is not {size} bytes "
                    "long as its /Length says"
                )
            self.pos += len(b"endstream")
        return _Object(number, generation, value, stream)


# --- writing values -----------------------------------------------------------------------

_NAME_PLAIN = re.compile(rb"[!-~]")


def _write(value: _Value) -> bytes:
    """One deterministic spelling of a value (space-separated, nothing optional)."""
    if value is None:
        return b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, _Real):
        return value.text
    if isinstance(value, _Ref):
        return b"%d %d R" % (value.number, value.generation)
    if isinstance(value, _Name):
        return b"/" + _write_name(value.value)
    if isinstance(value, _String):
        return _write_string(value.value)
    if isinstance(value, list):
        return b"[" + b" ".join(_write(item) for item in value) + b"]"
    return (
        b"<<" + b"".join(b"/" + _write_name(k) + b" " + _write(v) for k, v in value.items()) + b">>"
    )


def _write_name(raw: bytes) -> bytes:
    out = bytearray()
    for byte in raw:
        char = bytes([byte])
        # §7.3.5: delimiters, whitespace, '#' and bytes outside ! to ~ are written #xx.
        if _NAME_PLAIN.fullmatch(char) and char not in b"()<>[]{}/%#":
            out += char
        else:
            out += b"#%02X" % byte
    return bytes(out)


def _write_string(raw: bytes) -> bytes:
    if all(0x20 <= byte < 0x7F for byte in raw):
        escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        return b"(" + escaped + b")"
    return b"<" + raw.hex().encode() + b">"


# --- streams ------------------------------------------------------------------------------


def _decode(obj: _Object) -> bytes:
    """A stream's decoded data; only /FlateDecode (with PNG predictors) is read."""
    assert obj.stream is not None
    assert isinstance(obj.value, dict)
    filters = obj.value.get(b"Filter")
    parameters = obj.value.get(b"DecodeParms")
    if filters is None:
        return obj.stream
    if isinstance(filters, list):
        if len(filters) != 1:
            raise SignedPdfError(f"object {obj.number}: a chain of filters is not supported")
        filters = filters[0]
        if isinstance(parameters, list):
            parameters = parameters[0] if parameters else None
    if filters != _Name(b"FlateDecode"):
        raise SignedPdfError(f"object {obj.number}: filter {_write(filters)!r} is not supported")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(obj.stream, _MAX_INFLATED)
    except zlib.error as exc:
        raise SignedPdfError(f"object {obj.number}: the compressed stream is corrupt") from exc
    if inflater.unconsumed_tail:
        raise SignedPdfError(f"object {obj.number}: inflates to more than {_MAX_INFLATED} bytes")
    if isinstance(parameters, dict):
        predictor = parameters.get(b"Predictor", 1)
        if predictor != 1:
            data = _unpredict(data, parameters, obj.number)
    return data


def _unpredict(data: bytes, parameters: dict[bytes, _Value], number: int) -> bytes:
    """Undo PNG predictors (§7.4.4.4, RFC 2083 §6), which cross-reference streams use."""
    predictor = parameters.get(b"Predictor")
    columns = parameters.get(b"Columns", 1)
    colors = parameters.get(b"Colors", 1)
    bits = parameters.get(b"BitsPerComponent", 8)
    if not (
        isinstance(predictor, int)
        and 10 <= predictor <= 15
        and isinstance(columns, int)
        and isinstance(colors, int)
        and bits == 8
        and 1 <= columns <= 1 << 16
        and 1 <= colors <= 32
    ):
        raise SignedPdfError(f"object {number}: predictor {predictor!r} is not supported")
    width = columns * colors
    step = colors
    if len(data) % (width + 1):
        raise SignedPdfError(f"object {number}: predicted data is not whole rows")
    out = bytearray()
    above = bytearray(width)
    for start in range(0, len(data), width + 1):
        kind = data[start]
        if kind > 4:
            raise SignedPdfError(f"object {number}: unknown PNG row filter {kind}")
        row = bytearray(data[start + 1 : start + 1 + width])
        for i in range(width if kind else 0):  # 0: the row as it is
            left = row[i - step] if i >= step else 0
            up = above[i]
            corner = above[i - step] if i >= step else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            else:
                guess = left + up - corner
                a, b, c = abs(guess - left), abs(guess - up), abs(guess - corner)
                best = left if a <= b and a <= c else up if b <= c else corner
                row[i] = (row[i] + best) & 0xFF
        out += row
        above = row
    return bytes(out)


# --- reading a PDF's structure ------------------------------------------------------------

_Entry: TypeAlias = tuple[int, int, int]  # (type, field 2, field 3) as in §7.5.8.3


def _last_startxref(data: bytes) -> int:
    found = None
    for match in _STARTXREF.finditer(data, max(0, len(data) - 4096)):
        found = match
    if found is None:
        raise SignedPdfError("the PDF has no 'startxref … %%EOF' at its end")
    if data[found.end() :].strip(_WHITESPACE):
        raise SignedPdfError(f"bytes follow the last %%EOF (at offset {found.end()})")
    return int(found.group(1))


class _Pdf:
    """The cross-reference sections of a PDF, merged newest first, and its objects."""

    def __init__(self, data: bytes, startxref: int) -> None:
        self.data = data
        self.startxref = startxref
        self.entries: dict[int, _Entry] = {}
        self.trailer: dict[bytes, _Value] = {}
        newest = True
        self._streams: dict[int, tuple[bytes, list[tuple[int, int]], int]] = {}
        offset: int | None = startxref
        seen: set[int] = set()
        while offset is not None:
            if offset in seen or len(seen) >= _MAX_SECTIONS:
                raise SignedPdfError(f"the cross-reference sections loop at offset {offset}")
            seen.add(offset)
            entries, trailer = self._section(offset)
            for number, entry in entries.items():
                self.entries.setdefault(number, entry)
            if newest:
                self.trailer, newest = trailer, False
            previous = trailer.get(b"Prev")
            if previous is not None and not isinstance(previous, int):
                raise SignedPdfError(f"/Prev of the section at offset {offset} is not an offset")
            offset = previous

    def _section(self, offset: int) -> tuple[dict[int, _Entry], dict[bytes, _Value]]:
        if not 0 <= offset < len(self.data):
            raise SignedPdfError(f"a cross-reference offset ({offset}) is outside the file")
        lexer = _Lexer(self.data, offset)
        lexer.skip()
        if self.data.startswith(b"xref", lexer.pos):
            return self._classic(lexer)
        return _read_xref_stream(self.data, lexer.pos)

    def _classic(self, lexer: _Lexer) -> tuple[dict[int, _Entry], dict[bytes, _Value]]:
        lexer.pos += len(b"xref")
        entries: dict[int, _Entry] = {}
        while True:
            lexer.skip()
            if self.data.startswith(b"trailer", lexer.pos):
                lexer.pos += len(b"trailer")
                break
            first = lexer.integer()
            count = lexer.integer()
            for number in range(first, first + count):
                match = _CLASSIC_ENTRY.match(self.data, lexer.pos)
                if match is None:
                    raise lexer.fail("bad cross-reference table entry")
                lexer.pos = match.end()
                used = match.group(3) == b"n"
                entries.setdefault(
                    number, (1 if used else 0, int(match.group(1)), int(match.group(2)))
                )
        trailer = lexer.value()
        if not isinstance(trailer, dict):
            raise lexer.fail("the trailer is not a dictionary")
        hybrid = trailer.get(b"XRefStm")
        if isinstance(hybrid, int):
            # §7.5.8.4: a hybrid file lists compressed objects in a stream the
            # table's trailer names; the table's own entries come first.
            extra, _ = _read_xref_stream(self.data, hybrid)
            for number, entry in extra.items():
                if entries.get(number, (0, 0, 0))[0] == 0:
                    entries[number] = entry
        return entries, trailer

    def object(self, number: int) -> _Value:
        entry = self.entries.get(number)
        if entry is None or entry[0] == 0:
            raise SignedPdfError(f"object {number} is not in the cross-reference")
        if entry[0] == 1:
            obj = self._at(entry[1])
            if obj.number != number:
                raise SignedPdfError(
                    f"the cross-reference puts object {number} at offset {entry[1]}, "
                    f"which holds object {obj.number}"
                )
            return obj.value
        return self._compressed(number, entry[1], entry[2])

    def _at(self, offset: int) -> _Object:
        if not 0 <= offset < len(self.data):
            raise SignedPdfError(f"an object offset ({offset}) is outside the file")
        return _Lexer(self.data, offset).indirect(self._length)

    def _length(self, value: _Value) -> int:
        if isinstance(value, _Ref):
            entry = self.entries.get(value.number)
            if entry is None or entry[0] != 1:
                raise SignedPdfError(f"/Length refers to object {value.number}, which is missing")
            value = _Lexer(self.data, entry[1]).indirect(_direct_length).value
        return _direct_length(value)

    def _compressed(self, number: int, container: int, index: int) -> _Value:
        """§7.5.7: object ``number`` is the ``index``-th of object stream ``container``."""
        if container not in self._streams:
            entry = self.entries.get(container)
            if entry is None or entry[0] != 1:
                raise SignedPdfError(f"object stream {container} is not in the cross-reference")
            obj = self._at(entry[1])
            if not isinstance(obj.value, dict) or obj.value.get(b"Type") != _Name(b"ObjStm"):
                raise SignedPdfError(f"object {container} is not an object stream")
            count, first = obj.value.get(b"N"), obj.value.get(b"First")
            if not isinstance(count, int) or not isinstance(first, int) or obj.stream is None:
                raise SignedPdfError(f"object stream {container} has no /N or /First")
            data = _decode(obj)
            header = _Lexer(data, 0)
            pairs = [(header.integer(), header.integer()) for _ in range(count)]
            self._streams[container] = (data, pairs, first)
        data, pairs, first = self._streams[container]
        if not 0 <= index < len(pairs) or pairs[index][0] != number:
            raise SignedPdfError(f"object {number} is not at place {index} of stream {container}")
        return _Lexer(data, first + pairs[index][1]).value()

    def resolve(self, value: _Value) -> _Value:
        seen = 0
        while isinstance(value, _Ref):
            seen += 1
            if seen > _MAX_DEPTH:
                raise SignedPdfError("references loop")
            value = self.object(value.number)
        return value


def _read_xref_stream(data: bytes, offset: int) -> tuple[dict[int, _Entry], dict[bytes, _Value]]:
    """The entries and the dictionary (the trailer) of a cross-reference stream."""
    obj = _Lexer(data, offset).indirect(_direct_length)
    trailer = obj.value
    if obj.stream is None or not isinstance(trailer, dict):
        raise SignedPdfError(f"no cross-reference table or stream at offset {offset}")
    if trailer.get(b"Type") != _Name(b"XRef"):
        raise SignedPdfError(f"the object at offset {offset} is not a cross-reference stream")
    return _xref_entries(_decode(obj), trailer, offset), trailer


def _direct_length(value: _Value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SignedPdfError(f"a stream /Length is {_write(value)[:20]!r}, not a byte count")
    return value


def _xref_entries(data: bytes, trailer: dict[bytes, _Value], offset: int) -> dict[int, _Entry]:
    """The rows of a cross-reference stream (§7.5.8.2, §7.5.8.3)."""
    size = trailer.get(b"Size")
    widths = _integers(trailer.get(b"W"))
    index = _integers(trailer.get(b"Index", [0, size]))
    if widths is None or len(widths) != 3 or max(widths) > 8 or index is None or len(index) % 2:
        raise SignedPdfError(
            f"the cross-reference stream at offset {offset} has a bad /W or /Index"
        )
    w1, w2, w3 = widths
    row = w1 + w2 + w3
    entries: dict[int, _Entry] = {}
    position = 0
    for start, count in zip(index[::2], index[1::2], strict=True):
        for number in range(start, start + count):
            if position + row > len(data):
                raise SignedPdfError(f"the cross-reference stream at offset {offset} is short")
            fields = data[position : position + row]
            position += row
            kind = int.from_bytes(fields[:w1], "big") if w1 else 1
            second = int.from_bytes(fields[w1 : w1 + w2], "big")
            third = int.from_bytes(fields[w1 + w2 :], "big")
            if kind in (0, 1, 2):  # other types are to be ignored (§7.5.8.3)
                entries.setdefault(number, (kind, second, third))
    return entries


def _integers(value: _Value) -> list[int] | None:
    """A list of non-negative integers, or None if ``value`` is anything else."""
    if not isinstance(value, list):
        return None
    numbers = [item for item in value if isinstance(item, int) and not isinstance(item, bool)]
    if len(numbers) != len(value) or any(number < 0 for number in numbers):
        return None
    return numbers


# --- embed --------------------------------------------------------------------------------


def _require_pdf(data: bytes) -> None:
    if not isinstance(data, bytes):
        raise TypeError(f"a PDF is bytes, got {type(data).__name__}")
    if not data.startswith(b"%PDF-"):
        raise SignedPdfError("not a PDF (it does not start with %PDF-)")


def _open(pdf: bytes) -> _Pdf:
    _require_pdf(pdf)
    return _Pdf(pdf, _last_startxref(pdf))


def check_structure(pdf: bytes) -> None:
    """Refuse bytes that only start like a PDF: the file must end in ``startxref …
    %%EOF``, its cross-reference sections must read, and its trailer's ``/Root`` must
    be a ``/Catalog`` dictionary. (A ``%PDF-`` line followed by HTML fails here.)"""
    document = _open(pdf)
    root = document.trailer.get(b"Root")
    catalog = document.resolve(root) if isinstance(root, _Ref) else None
    if not isinstance(catalog, dict) or catalog.get(b"Type") != _Name(b"Catalog"):
        raise SignedPdfError("the PDF's trailer has no /Root catalog")


def _checked_files(files: Sequence[tuple[str, bytes, str]]) -> list[EmbeddedFile]:
    checked: list[EmbeddedFile] = []
    seen: set[str] = set()
    for item in files:
        name, data, media_type = item
        if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
            raise SignedPdfError(
                f"file name {name!r:.60} must be 1 to 100 of A-Z a-z 0-9 . _ - "
                "(starting with a letter or digit)"
            )
        if name in seen:
            raise SignedPdfError(f"file name {name!r} is given twice")
        seen.add(name)
        if not isinstance(data, bytes):
            raise SignedPdfError(f"the data of {name} must be bytes")
        if not isinstance(media_type, str) or not _MEDIA_TYPE.fullmatch(media_type):
            raise SignedPdfError(f"media type {media_type!r:.60} of {name} is not type/subtype")
        checked.append(EmbeddedFile(name, data, media_type))
    if not checked:
        raise SignedPdfError("no files to embed")
    return checked


def embed(
    pdf: bytes, files: Sequence[tuple[str, bytes, str]], overlay: Overlay | None = None
) -> bytes:
    """``pdf`` unchanged, followed by one incremental update embedding ``files``.

    ``files`` are ``(name, data, media type)``; names are 1 to 100 characters of
    ``A-Z a-z 0-9 . _ -`` and unique, and must not already be attached to ``pdf``.
    With ``overlay``, the same update also draws it on the last page (see
    :func:`_overlay_objects`). The result depends on nothing but the arguments.
    Raises :class:`SignedPdfError`
    if ``pdf`` is not a PDF this module can update (see the module docstring).
    """
    checked = _checked_files(files)
    original = _open(pdf)
    trailer = original.trailer
    if b"Encrypt" in trailer:
        raise SignedPdfError("the PDF is encrypted; attaching files to it is not supported")
    root = trailer.get(b"Root")
    if not isinstance(root, _Ref):
        raise SignedPdfError("the trailer has no /Root reference")
    catalog = original.object(root.number)
    if not isinstance(catalog, dict) or catalog.get(b"Type") != _Name(b"Catalog"):
        raise SignedPdfError(f"/Root (object {root.number}) is not a catalog")
    declared = trailer.get(b"Size")
    if not isinstance(declared, int):
        raise SignedPdfError("the trailer has no /Size")
    first = max([declared, *(number + 1 for number in original.entries)])

    objects: list[tuple[int, int, bytes]] = []
    added: list[tuple[_String, _Ref]] = []
    number = first
    for item in checked:
        spec = _Ref(number + 1, 0)
        stream_head: dict[bytes, _Value] = {
            b"Type": _Name(b"EmbeddedFile"),
            b"Subtype": _Name(item.media_type.encode()),
            b"Params": {b"Size": len(item.data)},
            b"Length": len(item.data),
        }
        objects.append(
            (number, 0, _write(stream_head) + b"\nstream\n" + item.data + b"\nendstream")
        )
        name = _String(item.name.encode())
        spec_value: dict[bytes, _Value] = {
            b"Type": _Name(b"Filespec"),
            b"F": name,
            b"UF": name,
            b"AFRelationship": _Name(b"Data"),
            b"EF": {b"F": _Ref(number, 0), b"UF": _Ref(number, 0)},
        }
        objects.append((spec.number, 0, _write(spec_value)))
        added.append((name, spec))
        number += 2
    if overlay is not None:
        drawn = _overlay_objects(original, catalog, overlay, number)
        objects += drawn
        number += len(drawn) - 1  # all new but the page, which keeps its number
    objects.append((root.number, root.generation, _write(_new_catalog(original, catalog, added))))

    out = bytearray(pdf)
    if not pdf.endswith((b"\n", b"\r")):
        out += b"\n"
    out += MARKER % len(pdf)
    offsets: dict[int, tuple[int, int]] = {}
    for object_number, generation, body in objects:
        offsets[object_number] = (len(out), generation)
        out += b"%d %d obj\n%s\nendobj\n" % (object_number, generation, body)
    xref_number, xref_offset = number, len(out)
    offsets[xref_number] = (xref_offset, 0)
    out += _xref_stream(offsets, xref_number, trailer, original.startxref)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def _stream(head: dict[bytes, _Value], data: bytes) -> bytes:
    head = {**head, b"Length": len(data)}
    return _write(head) + b"\nstream\n" + data + b"\nendstream"


def _last_page(
    original: _Pdf, catalog: dict[bytes, _Value]
) -> tuple[_Ref, list[dict[bytes, _Value]]]:
    """The last leaf of the page tree, and the dictionaries from it up to the root."""
    node_ref = catalog.get(b"Pages")
    chain: list[dict[bytes, _Value]] = []
    for _ in range(_MAX_DEPTH):
        node = original.resolve(node_ref)
        if not isinstance(node_ref, _Ref) or not isinstance(node, dict):
            raise SignedPdfError("the page tree is not made of indirect dictionaries")
        chain.append(node)
        if node.get(b"Type") == _Name(b"Page"):
            return node_ref, chain
        kids = original.resolve(node.get(b"Kids"))
        if not isinstance(kids, list) or not kids:
            raise SignedPdfError(f"page tree node {node_ref.number} has no /Kids")
        node_ref = kids[-1]
    raise SignedPdfError(f"the page tree is deeper than {_MAX_DEPTH}")


def _to_unicode(texts: tuple[str, ...]) -> bytes:
    """A ToUnicode CMap (§9.10.3) mapping each two-byte glyph id to its text."""
    pairs = [
        b"<%04X> <%s>" % (gid, text.encode("utf-16-be").hex().upper().encode())
        for gid, text in enumerate(texts)
        if text
    ]
    blocks = b"".join(
        b"%d beginbfchar\n%s\nendbfchar\n" % (len(chunk), b"\n".join(chunk))
        for chunk in (pairs[i : i + 100] for i in range(0, len(pairs), 100))
    )
    return (
        b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        b"/CIDSystemInfo <</Registry (Adobe)/Ordering (UCS)/Supplement 0>> def\n"
        b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + blocks
        + b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )


def _overlay_objects(
    original: _Pdf, catalog: dict[bytes, _Value], overlay: Overlay, first: int
) -> list[tuple[int, int, bytes]]:
    """The objects that draw ``overlay`` on the last page, numbered from ``first``.

    ``first``: a stream ``q`` and ``first+1``: ``Q``, a move to the media box's corner
    and the overlay's content — the page's contents become ``[first, <the original's
    contents>, first+1]``, so whatever graphics state the original leaves is undone
    before the overlay is drawn; ``first+2`` the Type0 font, ``+3`` its CIDFontType2,
    ``+4`` the font descriptor, ``+5`` the font program, ``+6`` the ToUnicode CMap;
    then the last page again under its own number, with the new contents and with
    ``/Resources`` (its own or inherited, made direct) whose ``/Font`` (made direct)
    adds ``/KvorumStamp``.
    """
    page_ref, chain = _last_page(original, catalog)
    page = chain[-1]
    resources: _Value = None
    media_box: _Value = None
    for node in reversed(chain):  # §7.7.3.4: inherited from the nearest ancestor
        if resources is None:
            resources = original.resolve(node.get(b"Resources"))
        if media_box is None:
            media_box = original.resolve(node.get(b"MediaBox"))
    if resources is None:
        resources = {}
    if not isinstance(resources, dict):
        raise SignedPdfError("the last page's /Resources is not a dictionary")
    fonts = original.resolve(resources.get(b"Font"))
    if fonts is None:
        fonts = {}
    if not isinstance(fonts, dict) or OVERLAY_FONT in fonts:
        raise SignedPdfError("the last page's fonts cannot take the stamp's font")
    corner = media_box[:2] if isinstance(media_box, list) and len(media_box) == 4 else None
    if corner is None or not all(isinstance(v, int | _Real) for v in corner):
        raise SignedPdfError("the last page has no /MediaBox")
    contents = original.resolve(page.get(b"Contents"))
    if contents is None:
        contents = []
    if not isinstance(contents, list):
        contents = [page[b"Contents"]]

    n = first
    move = b"1 0 0 1 %s %s cm\n" % (_write(corner[0]), _write(corner[1]))
    ascii_name = overlay.font_name.encode()
    widths: list[_Value] = [0, list(overlay.widths)]
    objects = [
        (n, 0, _stream({}, b"q\n")),
        (n + 1, 0, _stream({}, b"Q\n" + move + overlay.content)),
        (
            n + 2,
            0,
            _write(
                {
                    b"Type": _Name(b"Font"),
                    b"Subtype": _Name(b"Type0"),
                    b"BaseFont": _Name(ascii_name),
                    b"Encoding": _Name(b"Identity-H"),
                    b"DescendantFonts": [_Ref(n + 3, 0)],
                    b"ToUnicode": _Ref(n + 6, 0),
                }
            ),
        ),
        (
            n + 3,
            0,
            _write(
                {
                    b"Type": _Name(b"Font"),
                    b"Subtype": _Name(b"CIDFontType2"),
                    b"BaseFont": _Name(ascii_name),
                    b"CIDSystemInfo": {
                        b"Registry": _String(b"Adobe"),
                        b"Ordering": _String(b"Identity"),
                        b"Supplement": 0,
                    },
                    b"FontDescriptor": _Ref(n + 4, 0),
                    b"CIDToGIDMap": _Name(b"Identity"),
                    b"W": widths,
                }
            ),
        ),
        (
            n + 4,
            0,
            _write(
                {
                    b"Type": _Name(b"FontDescriptor"),
                    b"FontName": _Name(ascii_name),
                    b"Flags": 32,  # nonsymbolic (§9.8.2)
                    b"FontBBox": list(overlay.bbox),
                    b"ItalicAngle": 0,
                    b"Ascent": overlay.ascent,
                    b"Descent": overlay.descent,
                    b"CapHeight": overlay.ascent,
                    b"StemV": 80,
                    b"FontFile2": _Ref(n + 5, 0),
                }
            ),
        ),
        (n + 5, 0, _stream({b"Length1": len(overlay.font_program)}, overlay.font_program)),
        (n + 6, 0, _stream({}, _to_unicode(overlay.unicode))),
    ]
    new_resources = dict(resources)
    new_resources[b"Font"] = {**fonts, OVERLAY_FONT: _Ref(n + 2, 0)}
    new_page = dict(page)
    new_page[b"Resources"] = new_resources
    new_page[b"Contents"] = [_Ref(n, 0), *contents, _Ref(n + 1, 0)]
    objects.append((page_ref.number, page_ref.generation, _write(new_page)))
    return objects


def _new_catalog(
    original: _Pdf, catalog: dict[bytes, _Value], added: list[tuple[_String, _Ref]]
) -> dict[bytes, _Value]:
    names = original.resolve(catalog.get(b"Names"))
    if names is None:
        names = {}
    if not isinstance(names, dict):
        raise SignedPdfError("the catalog's /Names is not a dictionary")
    tree = original.resolve(names.get(b"EmbeddedFiles"))
    pairs: dict[bytes, _Value] = {}
    if tree is not None:
        if not isinstance(tree, dict) or b"Kids" in tree:
            raise SignedPdfError(
                "the PDF's embedded files are a name tree with /Kids, which is not supported"
            )
        flat = original.resolve(tree.get(b"Names", []))
        if not isinstance(flat, list) or len(flat) % 2:
            raise SignedPdfError("the PDF's embedded files /Names is not a list of pairs")
        for key, value in zip(flat[::2], flat[1::2], strict=True):
            key = original.resolve(key)
            if not isinstance(key, _String):
                raise SignedPdfError("a name in the PDF's embedded files is not a string")
            pairs[key.value] = value
    for name, spec in added:
        if name.value in pairs:
            raise SignedPdfError(f"the PDF already has an embedded file {name.value.decode()!r}")
        pairs[name.value] = spec
    # §7.9.6: the keys of a name tree are sorted (as byte strings).
    flat_names: list[_Value] = []
    for raw in sorted(pairs):
        flat_names += [_String(raw), pairs[raw]]
    new_names = dict(names)
    new_names[b"EmbeddedFiles"] = {b"Names": flat_names}
    associated = original.resolve(catalog.get(b"AF"))
    if associated is None:
        associated = []
    if not isinstance(associated, list):
        raise SignedPdfError("the catalog's /AF is not an array")
    new_catalog = dict(catalog)
    new_catalog[b"Names"] = new_names
    new_catalog[b"AF"] = [*associated, *(spec for _, spec in added)]
    return new_catalog


def _xref_stream(
    offsets: dict[int, tuple[int, int]],
    number: int,
    trailer: dict[bytes, _Value],
    previous: int,
) -> bytes:
    """An uncompressed cross-reference stream of the update's objects (§7.5.8)."""
    numbers = sorted(offsets)
    offset_width = max(1, (max(o for o, _ in offsets.values()).bit_length() + 7) // 8)
    generation_width = max(1, (max(g for _, g in offsets.values()).bit_length() + 7) // 8)
    rows = b"".join(
        b"\x01"
        + offsets[n][0].to_bytes(offset_width, "big")
        + offsets[n][1].to_bytes(generation_width, "big")
        for n in numbers
    )
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][0] + runs[-1][1] == n:
            runs[-1][1] += 1
        else:
            runs.append([n, 1])
    index: list[_Value] = [value for run in runs for value in run]
    head: dict[bytes, _Value] = {
        b"Type": _Name(b"XRef"),
        b"Size": number + 1,
        b"Index": index,
        b"W": [1, offset_width, generation_width],
        b"Root": trailer[b"Root"],
    }
    for key in (b"Info", b"ID"):
        if key in trailer:
            head[key] = trailer[key]
    head[b"Prev"] = previous
    head[b"Length"] = len(rows)
    return b"%d 0 obj\n%s\nstream\n%s\nendstream\nendobj\n" % (number, _write(head), rows)


# --- extract ------------------------------------------------------------------------------


def _update_start(data: bytes) -> tuple[int, int]:
    """(length of the original, end of the marker line) of the last Kvorum update."""
    found: tuple[int, int] | None = None
    for match in _MARKER.finditer(data):
        length, at = int(match.group(1)), match.start()
        ends_with_eol = data[:length].endswith((b"\n", b"\r"))
        if (length == at and ends_with_eol) or (
            length == at - 1 and data[length : length + 1] == b"\n" and not ends_with_eol
        ):
            found = (length, match.end())
    if found is None:
        raise SignedPdfError("no Kvorum signatures embedded (the PDF has no Kvorum update)")
    return found


def _update_end(data: bytes, start: int) -> tuple[int, int]:
    """(offset of the update's cross-reference stream, end of its %%EOF line)."""
    for match in _UPDATE_END.finditer(data, start):
        offset = int(match.group(1))
        # The first 'startxref' after the marker that points back into the update at a
        # cross-reference stream; an embedded file that happens to hold the same words
        # cannot point at one (and would fail the rebuild if it did).
        if start <= offset < match.start() and _XREF_HEAD.match(data, offset):
            return offset, match.end()
    raise SignedPdfError(
        f"the Kvorum update at offset {start} has no startxref and %%EOF of its own"
    )


def extract(data: bytes) -> Signed:
    """Take a signed PDF apart into the original and the files of its Kvorum update.

    The update is the last one :func:`embed` wrote (found by its marker); its files
    are read from its own objects only. Nothing is verified: call
    :func:`check_unchanged` to see that nothing was changed or added since.
    Raises :class:`SignedPdfError`.
    """
    _require_pdf(data)
    length, start = _update_start(data)
    xref_offset, end = _update_end(data, start)
    update = data[:end]
    entries, trailer = _read_xref_stream(update, xref_offset)
    own = {n: e[1] for n, e in entries.items() if e[0] == 1 and start <= e[1] < xref_offset}

    def load(value: _Value, what: str) -> _Object:
        if not isinstance(value, _Ref) or value.number not in own:
            raise SignedPdfError(f"{what} is not an object of the Kvorum update")
        obj = _Lexer(update, own[value.number]).indirect(_direct_length)
        if obj.number != value.number:
            raise SignedPdfError(f"{what}: the update's cross-reference points at another object")
        return obj

    catalog = load(trailer.get(b"Root"), "the catalog").value
    names = catalog.get(b"Names") if isinstance(catalog, dict) else None
    tree = names.get(b"EmbeddedFiles") if isinstance(names, dict) else None
    flat = tree.get(b"Names") if isinstance(tree, dict) else None
    if not isinstance(flat, list) or len(flat) % 2:
        raise SignedPdfError("no Kvorum signatures embedded (the update lists no files)")
    found: list[tuple[int, EmbeddedFile]] = []
    for key, spec_ref in zip(flat[::2], flat[1::2], strict=True):
        if not isinstance(spec_ref, _Ref) or spec_ref.number not in own:
            continue  # attached to the original: not part of the update
        spec = load(spec_ref, "a file specification").value
        attached = spec.get(b"EF") if isinstance(spec, dict) else None
        stream = load(
            attached.get(b"F") if isinstance(attached, dict) else None, "an embedded file"
        )
        subtype = stream.value.get(b"Subtype") if isinstance(stream.value, dict) else None
        if not isinstance(key, _String) or not isinstance(subtype, _Name) or stream.stream is None:
            raise SignedPdfError(f"embedded file object {stream.number} is malformed")
        item = EmbeddedFile(
            key.value.decode("latin-1"), stream.stream, subtype.value.decode("latin-1")
        )
        found.append((spec_ref.number, item))
    if not found:
        raise SignedPdfError("no Kvorum signatures embedded (the update lists no files)")
    found.sort(key=lambda pair: pair[0])
    return Signed(data[:length], tuple(item for _, item in found))


def check_unchanged(data: bytes, signed: Signed, overlay: Overlay | None = None) -> None:
    """Check that ``data`` is exactly ``embed(signed.original, signed.files, overlay)``.

    Raises :class:`SignedPdfError` saying at which offset the bytes first differ from
    what signing wrote: an extra incremental update, trailing bytes, or a byte changed
    in the update's structure. (A change inside the original is found by its hash, a
    change inside an embedded file by the checks of that file.)
    """
    try:
        expected = embed(
            signed.original, [(f.name, f.data, f.media_type) for f in signed.files], overlay
        )
    except SignedPdfError as exc:
        raise SignedPdfError(f"the signed part cannot be rebuilt: {exc}") from exc
    if data == expected:
        return
    same = _common_prefix(data, expected)
    if same == len(expected):
        raise SignedPdfError(
            f"bytes were added after signing at offset {same} ({len(data) - same} bytes, "
            "for example another incremental update)"
        )
    if same == len(data):
        raise SignedPdfError(f"the file was cut short at offset {same}")
    raise SignedPdfError(f"bytes were added or changed after signing at offset {same}")


def _common_prefix(a: bytes, b: bytes) -> int:
    """The length of the longest common prefix, compared a block at a time."""
    block = 1 << 16
    end = min(len(a), len(b))
    at = 0
    while at < end and a[at : at + block] == b[at : at + block]:
        at += block
    at = min(at, end)
    while at < end and a[at] == b[at]:
        at += 1
    return at
