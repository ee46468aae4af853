"""Content-addressed storage of meeting materials: a file is kept once, under its
SHA-256, in ``<data_dir>/materials/ab/cdef…``; the name is the proof of the content."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

from registry.errors import InvalidInput

__all__ = [
    "EXTENSIONS",
    "MATERIAL_TYPES",
    "MAX_MATERIAL_BYTES",
    "BlobStore",
    "check_structure",
    "clean_filename",
    "sniff_media_type",
]

MAX_MATERIAL_BYTES = 20 * 1024 * 1024

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MATERIAL_TYPES = {
    "application/pdf": "PDF",
    DOCX: "DOCX",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WebP",
}


def sniff_media_type(data: bytes) -> str | None:
    """The type from the file's own bytes: a name or a browser's claim is not trusted."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04") and b"word/" in data[:4096]:
        return DOCX
    return None


#: The extension a stored file is named with when offered for download, by its type.
EXTENSIONS = {
    "application/pdf": ".pdf",
    DOCX: ".docx",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
}
# Uncompressed size of a DOCX's parts at most (a ZIP bomb is refused, not inflated).
_MAX_DOCX_UNPACKED = 200 * 1024 * 1024


def check_structure(data: bytes, media_type: str) -> None:
    """Refuse a file whose first bytes name a type its structure does not follow.

    The magic bytes alone let a PDF header followed by HTML through; here each type's
    frame is read to its end: a PDF's cross-reference and catalog, the chunks of a PNG
    (with their CRCs) and of a WebP, the segments of a JPEG up to its scan and its end
    marker, a DOCX's ZIP directory and main part. Raises :class:`ValueError` saying
    what is wrong. Not a full decoder: pixels and page contents are not rendered.
    """
    checks = {
        "application/pdf": _check_pdf,
        "image/png": _check_png,
        "image/jpeg": _check_jpeg,
        "image/webp": _check_webp,
        DOCX: _check_docx,
    }
    try:
        checks[media_type](data)
    except (IndexError, struct.error, zlib.error, RecursionError, zipfile.BadZipFile) as exc:
        raise ValueError(f"the file is damaged ({type(exc).__name__})") from None


def _check_pdf(data: bytes) -> None:
    from meetings.signedpdf import check_structure as check_pdf  # a large module; load late

    check_pdf(data)


def _check_png(data: bytes) -> None:
    # PNG §5.3: length, type, data, CRC over type and data; IHDR first, IEND last.
    pos, seen = 8, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"a PNG chunk at byte {pos} is cut short")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if length > 2**31 - 1 or end > len(data):
            raise ValueError(f"the PNG chunk {kind!r} at byte {pos} runs past the file's end")
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise ValueError(f"the PNG chunk {kind!r} at byte {pos} has a wrong CRC")
        seen.append(kind)
        pos = end
        if kind == b"IEND":
            break
    if not seen or seen[0] != b"IHDR" or seen[-1] != b"IEND" or b"IDAT" not in seen:
        raise ValueError("a PNG must hold IHDR first, image data, and IEND last")
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes follow the PNG's end")


def _check_jpeg(data: bytes) -> None:
    # ITU T.81 Annex B: markers with lengths up to the first scan (SOS), a frame header
    # (SOFn) before it, and the file ends with EOI.
    pos, frame = 2, False
    while True:
        if data[pos] != 0xFF:
            raise ValueError(f"no JPEG marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD8, 0xD9):
            raise ValueError(f"a JPEG marker FF{marker:02X} is out of place at byte {pos}")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError(f"the JPEG segment at byte {pos} runs past the file's end")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = True
        if marker == 0xDA:
            break
        pos += 2 + length
    if not frame:
        raise ValueError("the JPEG has no frame header before its scan")
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ValueError("the JPEG does not end with its end-of-image marker")


def _check_webp(data: bytes) -> None:
    # RIFF: the size field covers the rest of the file; chunks (even-padded) fill it.
    (size,) = struct.unpack("<I", data[4:8])
    if size + 8 != len(data):
        raise ValueError(f"the WebP's RIFF size says {size + 8} bytes, the file has {len(data)}")
    pos, kinds = 12, []
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError(f"a WebP chunk at byte {pos} is cut short")
        kinds.append(data[pos : pos + 4])
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        pos += 8 + length + (length & 1)
        if pos > len(data) + (length & 1):
            raise ValueError(f"the WebP chunk {kinds[-1]!r} runs past the file's end")
    if not kinds or kinds[0] not in (b"VP8 ", b"VP8L", b"VP8X"):
        raise ValueError("a WebP must start with a VP8, VP8L or VP8X chunk")


def _check_docx(data: bytes) -> None:
    # ECMA-376 Part 2: an OPC package; the ZIP's directory must read, name the content
    # types and the main document part, and not inflate beyond reason.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        names = {entry.filename for entry in entries}
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            raise ValueError("a DOCX must hold [Content_Types].xml and word/document.xml")
        if sum(entry.file_size for entry in entries) > _MAX_DOCX_UNPACKED:
            raise ValueError("the DOCX unpacks to more than 200 MiB")
        damaged = archive.testzip()
        if damaged is not None:
            raise ValueError(f"the DOCX part {damaged} is damaged")


_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def clean_filename(filename: str, media_type: str) -> str:
    """An uploaded file's name as it is kept and offered for download.

    Control and format characters are dropped (a right-to-left override U+202E would
    show ``report‮fdp.exe`` as ``reportexe.pdf``; zero-width and other invisible marks
    hide what a name says), path separators become ``_``, and the extension is the
    one of the type the content was found to be: ``x.html`` holding a PDF becomes
    ``x.html.pdf``, so no name promises a type the bytes are not.
    """
    name = unicodedata.normalize("NFC", filename)
    name = "".join(c for c in name if unicodedata.category(c) not in _INVISIBLE)
    name = name.replace("/", "_").replace("\\", "_").strip(" .")[:280] or "file"
    extension = EXTENSIONS[media_type]
    current = os.path.splitext(name)[1]
    if current.lower() not in {extension, ".jpeg" if extension == ".jpg" else extension}:
        name += extension
    return name


class BlobStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.directory / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> tuple[str, str]:
        """Store ``data``; returns (sha256, media type). Refuses unknown types and size."""
        if not data:
            raise InvalidInput("the file is empty", fields={"file": "empty"})
        if len(data) > MAX_MATERIAL_BYTES:
            raise InvalidInput(
                f"the file is {len(data) // 1024} KiB; at most "
                f"{MAX_MATERIAL_BYTES // (1024 * 1024)} MiB are accepted",
                fields={"file": "too large"},
            )
        media_type = sniff_media_type(data)
        if media_type is None:
            raise InvalidInput(
                "only PDF, DOCX, PNG, JPEG and WebP files can be attached",
                fields={"file": "unsupported type"},
            )
        try:
            check_structure(data, media_type)
        except ValueError as exc:
            name = MATERIAL_TYPES[media_type]
            raise InvalidInput(
                f"the file starts as {name} but is not a valid {name} file: {exc}",
                fields={"file": "damaged"},
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}")
            tmp.write_bytes(data)
            tmp.replace(target)  # atomic: readers never see half a file
        return digest, media_type

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
