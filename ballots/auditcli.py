"""``audit``: the auditor's command line, offline (``python -m ballots …`` from a checkout).

::

    audit verify BUNDLE [--keys KEYS.json] [--jobs N]
    audit receipt BUNDLE RECEIPT [--keys KEYS.json]

``verify`` makes every check of :func:`ballots.verify.verify_bundle` on an audit
bundle; ``receipt`` does the same and then checks a voter's signed receipt against it
(:func:`ballots.verify.check_receipt`). ``--keys`` is the organisation's
``kvorum.registry-keys`` document (``/registry/keys.json``), obtained independently of
the bundle: with it the bundle's registry keys must be among these; without it the
bundle's own keys are the trust anchor, which the report says.

The report goes to standard output, in Russian unless ``--lang en`` is given or the
locale is English; each failure names its ``CHECK-ID REASON`` in either language (in
English as ``WHERE: CHECK-ID REASON: …``)
(the numbered checks of ``docs/ballots.md``; V-110 and V-111 are this command's own:
an unusable ``--keys`` file, a file that cannot be read). Exit status: 0 if every
check held, 1 if one failed — and also if a file cannot be read or parsed: the
verifier fails closed — and 2 for a usage error.

Pure like the verifier: standard library, PyNaCl, :mod:`crypto` and
:mod:`ballots.formats` / :mod:`ballots.verify`. The key document is read here rather
than through :mod:`registry`, which needs SQLAlchemy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ballots.reportwords import LANGUAGES, language
from ballots.secretformats import SECRET_BUNDLE_TYPE
from ballots.secretverify import challenged_ballots, verify_secret_bundle
from ballots.verify import Report, check_receipt, verify_bundle
from crypto.canonical import canonicalize, parse_json
from crypto.ed25519 import PublicKey
from crypto.errors import CredentialError

__all__ = ["KeysError", "check", "main", "read_keys"]

KEYS_TYPE = "kvorum.registry-keys"


class KeysError(ValueError):
    """A ``--keys`` file that is not a usable ``kvorum.registry-keys`` document."""


def read_keys(data: bytes) -> dict[str, PublicKey]:
    """The trusted keys of a ``kvorum.registry-keys`` document (version 1)::

        {"type": "kvorum.registry-keys", "v": 1, "org": …, "org_name": …,
         "current": "<key id>",
         "keys": [{"id": "<key id>", "public_key": "<base64url>", …}, …]}

    Every listed key is trusted, retired ones included (they verify what they signed
    before a rotation). Raises :class:`KeysError`.
    """
    try:
        document = parse_json(data)
    except CredentialError as exc:
        raise KeysError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("type") != KEYS_TYPE:
        raise KeysError(f"not a {KEYS_TYPE} document")
    version = document.get("v")
    if type(version) is not int or version != 1:
        raise KeysError(f"{KEYS_TYPE} version {version!r:.20} is not supported")
    keys = document.get("keys")
    if not isinstance(keys, list) or not keys:
        raise KeysError("the document lists no keys")
    trusted: dict[str, PublicKey] = {}
    for number, item in enumerate(keys, 1):
        if not isinstance(item, dict):
            raise KeysError(f"key #{number} is not an object")
        key_id, text = item.get("id"), item.get("public_key")
        if not isinstance(text, str):
            raise KeysError(f"key #{number} has no public_key")
        try:
            public = PublicKey.from_b64u(text)
        except CredentialError as exc:
            raise KeysError(f"key #{number}: {exc}") from exc
        # The id is derived from the key; one that does not match is a corrupt file.
        if public.key_id != key_id:
            raise KeysError(f"key #{number}: id {key_id!r:.40} does not match its public key")
        trusted[key_id] = public
    return trusted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="audit",
        description="Check a Kvorum audit bundle (and a voter's receipt) offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verify = commands.add_parser("verify", help="check every hash, signature, count and verdict")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE", help="the audit bundle (JSON)")
    verify.add_argument("--jobs", type=_jobs, default=None, metavar="N", help="worker processes")
    receipt = commands.add_parser("receipt", help="check the bundle, then a voter's receipt")
    receipt.add_argument("bundle", type=Path, metavar="BUNDLE", help="the audit bundle (JSON)")
    receipt.add_argument("receipt", type=Path, metavar="RECEIPT", help="the signed receipt")
    receipt.add_argument("--jobs", type=_jobs, default=None, metavar="N", help="worker processes")
    challenge = commands.add_parser(
        "challenge", help="check a secret vote's bundle, then show what its spoiled ballots held"
    )
    challenge.add_argument("bundle", type=Path, metavar="BUNDLE", help="the secret audit bundle")
    for command in (verify, receipt, challenge):
        command.add_argument(
            "--lang",
            choices=LANGUAGES,
            default=None,
            help="the report's language: ru (the default) or en (also where the locale "
            "is English); check ids and reason codes are the same in both",
        )
        command.add_argument(
            "--keys",
            type=Path,
            metavar="KEYS.json",
            help="the registry keys (kvorum.registry-keys) to trust, got apart from the bundle",
        )
    return parser


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= jobs <= 1024:
        raise argparse.ArgumentTypeError("must be between 1 and 1024")
    return jobs


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``audit`` with ``argv`` (without the program name); return the exit status."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    report = _run(args)
    print(report.text(language(args.lang)))
    return 0 if report.ok else 1


def check(argv: Sequence[str]) -> Report:
    """The report of ``audit`` with ``argv`` (a valid command line), without printing it."""
    return _run(_parser().parse_args(list(argv)))


def _run(args: argparse.Namespace) -> Report:
    report = Report()
    trusted: Mapping[str, PublicKey] | None = None
    if args.keys is not None:
        try:
            trusted = read_keys(_read(args.keys))
        except (OSError, KeysError) as exc:
            report.fail(
                "V-111" if isinstance(exc, OSError) else "V-110",
                "--keys",
                f"{args.keys}: {_reason(exc)}",
            )
            return report
    try:
        data = _read(args.bundle)
    except OSError as exc:
        report.fail("V-111", "bundle", f"{args.bundle}: {_reason(exc)}")
        return report
    receipt = None
    if args.command == "receipt":
        try:
            receipt = _unwrap(_read(args.receipt))
        except OSError as exc:
            report.fail("V-111", "receipt", f"{args.receipt}: {_reason(exc)}")
            return report
    if _is_secret(data):
        # A secret vote's bundle is its own kind (docs/ballots.md, "Secret votes").
        report = verify_secret_bundle(data, trusted=trusted)
        if args.command == "challenge" and report.ok:
            report.notes.extend(_challenged(data))
        return report
    if args.command == "challenge":
        report.fail("V-2", "bundle", "challenge reads a kvorum.secret-audit-bundle")
        return report
    report = verify_bundle(data, trusted=trusted, jobs=getattr(args, "jobs", None))
    if receipt is not None:
        check_receipt(data, receipt, report, trusted=trusted)
    return report


def _is_secret(data: bytes) -> bool:
    """Whether the bytes claim to be a secret vote's bundle (its ``type`` near the top)."""
    try:
        value = parse_json(data)
    except CredentialError:
        return False
    return isinstance(value, dict) and value.get("type") == SECRET_BUNDLE_TYPE


def _challenged(data: bytes) -> list[str]:
    lines = [spoiled.describe() for spoiled in challenged_ballots(data)]
    return lines or ["no ballot was spoiled (challenged) in this vote"]


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot be read ({exc.strerror or exc})"
    return str(exc)


def _unwrap(data: bytes) -> bytes:
    """The receipt itself, also when saved with the answer to the ballot around it
    (``{"seq": …, "receipt": {…}}``, what the server returns)."""
    try:
        value = parse_json(data)
    except CredentialError:
        return data  # check_receipt reports it
    if (
        isinstance(value, dict)
        and "payload" not in value
        and isinstance(value.get("receipt"), dict)
    ):
        return canonicalize(value["receipt"])
    return data
