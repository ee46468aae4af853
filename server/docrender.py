"""Documents to HTML and PDF: one Jinja2 template per kind is the page the user reads
and, through WeasyPrint, the PDF that is signed.

WeasyPrint may fetch only Kvorum's own stylesheets and fonts from ``web/static``: the
text of a document is the users', and a document must never make the server reach out
to an address someone typed into it.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

import jinja2
import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

from meetings.documents import Protocol, Resolution
from meetings.elections.protocol import CommissionProtocol

__all__ = ["DocumentRenderer"]

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
# A base address that is never fetched: "/static/…" under it maps to STATIC.
_BASE = "https://kvorum.invalid/"
_SVG_DATA = "data:image/svg+xml;base64,"


class _StaticOnly(URLFetcher):  # type: ignore[misc]
    """Serves ``/static/…`` from the package and refuses every other address."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith(_SVG_DATA):
            # A chart drawn by Kvorum itself, carried in the address: nothing is fetched.
            body = base64.b64decode(url[len(_SVG_DATA) :], validate=True)
            return URLFetcherResponse(url, body=body, headers={"Content-Type": "image/svg+xml"})
        prefix = _BASE + "static/"
        if not url.startswith(prefix):
            raise ValueError(f"documents may not load {url!r}")
        path = (STATIC / url[len(prefix) :].split("?")[0]).resolve()
        if not path.is_relative_to(STATIC) or not path.is_file():
            raise ValueError(f"no such static file: {url!r}")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": media_type})


class DocumentRenderer:
    """Renders the document kinds to HTML (the page) and to PDF (the signed file)."""

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self._fetcher = _StaticOnly()

    def protocol_html(self, doc: Protocol, *, draft: bool, only: int | None = None) -> str:
        """The protocol, or with ``only`` the extract of that item."""
        return self.env.get_template("documents/protocol.html").render(
            doc=doc, draft=draft, only=only
        )

    def resolution_html(self, doc: Resolution, *, draft: bool) -> str:
        return self.env.get_template("documents/resolution.html").render(doc=doc, draft=draft)

    def commission_protocol_html(self, doc: CommissionProtocol, *, draft: bool) -> str:
        """The counting commission's protocol of a secret vote's result."""
        return self.env.get_template("documents/commission_protocol.html").render(
            doc=doc, draft=draft
        )

    def pdf(self, html: str) -> bytes:
        """The PDF of a rendered document (A4, the document stylesheet's @page rules)."""
        document = weasyprint.HTML(string=html, base_url=_BASE, url_fetcher=self._fetcher)
        pdf: bytes = document.write_pdf(pdf_identifier=None)
        return pdf
