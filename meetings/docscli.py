"""``docs``: check signed documents offline (``kvorum docs verify FILE.pdf``).

::

    docs verify FILE.pdf [--keys KEYS.json] [--revocations LIST.json ...]

``verify`` makes every check of :func:`meetings.docverify.verify_pdf` on a signed PDF.
``--keys`` is the organisation's ``kvorum.registry-keys`` document
(``/registry/keys.json``), obtained independently of the file: with it only those keys
are trusted; without it the keys embedded in the file are the trust anchor, which the
report says. ``--revocations`` adds revocation lists (signed ``kvorum.revocation-list``
documents, for example newer than the ones embedded), checked against the same anchor.

The report goes to standard output. Exit status: 0 if every check held, 1 if one
failed — and also if a file cannot be read: the verifier fails closed — and 2 for a
usage error.

Pure like the verifier: standard library, PyNaCl, :mod:`crypto`, the key document
reader of :mod:`ballots.auditcli` and :mod:`meetings.docverify`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ballots.auditcli import KeysError, read_keys
from ballots.reportwords import LANGUAGES, language
from crypto.ed25519 import PublicKey
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from meetings.docverify import CHECKS, DocReport, verify_pdf

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docs", description="Check a Kvorum signed document (PDF) offline."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verify = commands.add_parser(
        "verify", help="check the signatures, certificates and integrity of a signed PDF"
    )
    verify.add_argument("pdf", type=Path, metavar="FILE.pdf", help="the signed PDF")
    verify.add_argument(
        "--keys",
        type=Path,
        metavar="KEYS.json",
        help="the registry keys (kvorum.registry-keys) to trust, got apart from the file",
    )
    verify.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None,
        help="the report's language: ru (the default) or en (also where the locale is "
        "English); check ids are the same in both",
    )
    verify.add_argument(
        "--revocations",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        metavar="LIST.json",
        help="revocation lists (kvorum.revocation-list) to check the signers' keys against",
    )
    return parser


#: Renders a report in a language ("ru"); the server's command line gives the page's.
Render = Callable[[DocReport, str], str]


def main(argv: Sequence[str] | None = None, render: Render | None = None) -> int:
    """Run ``docs`` with ``argv`` (without the program name); return the exit status.
    The report is printed by ``render`` in the chosen language (``--lang``, else the
    locale's: Russian unless English), or in English without one."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    report = _run(args)
    lang = language(args.lang)
    print(render(report, lang) if render is not None and lang != "en" else report.text())
    return 0 if report.ok else 1


def _run(args: argparse.Namespace) -> DocReport:
    trusted: Mapping[str, PublicKey] | None = None
    if args.keys is not None:
        try:
            trusted = read_keys(args.keys.read_bytes())
        except (OSError, KeysError) as exc:
            return _unreadable("trust", f"--keys {args.keys}: {_reason(exc)}")
    revocations: list[SignedDocument] = []
    for path in args.revocations:
        try:
            revocations.append(SignedDocument.parse(path.read_bytes()))
        except (OSError, CredentialError) as exc:
            return _unreadable("revocations", f"--revocations {path}: {_reason(exc)}")
    try:
        data = args.pdf.read_bytes()
    except OSError as exc:
        return _unreadable("file", f"{args.pdf}: {_reason(exc)}")
    return verify_pdf(data, keys=trusted, revocations=revocations)


def _unreadable(name: str, message: str) -> DocReport:
    """A report for an input that cannot be read: that check fails, none is made."""
    report = DocReport()
    report.failed(name, message)
    for other in CHECKS:
        if other != name:
            report.failed(other, "not checked: an input file cannot be read")
    return report


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot be read ({exc.strerror or exc})"
    return str(exc)
