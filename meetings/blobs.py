"""Content-addressed storage of meeting materials: a file is kept once, under its
SHA-256, in ``<data_dir>/materials/ab/cdef…``; the name is the proof of the content."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from registry.errors import InvalidInput

__all__ = ["MATERIAL_TYPES", "MAX_MATERIAL_BYTES", "BlobStore", "sniff_media_type"]

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
