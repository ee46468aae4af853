"""``kvorum card``: check a union card offline, or print a member's card.

``kvorum card verify`` needs no server and no database: it trusts the keys of a
``keys.json`` file (``/registry/keys.json``) and checks the card against a
``revocations.json`` (``/registry/revocations.json``) whose signature it verifies
with the same keys, so a list signed by anyone else is refused. It runs
:func:`crypto.card.verify_card`, the function the server's verification page runs.

Exit status: 0 the card is valid, 1 it is not, 2 the command could not check it
(bad arguments, unreadable or untrusted key or revocation files).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ballots.reportwords import LANGUAGES, language
from crypto.card import CARD_PREFIX, UnionCard, verify_card
from crypto.ed25519 import PublicKey
from crypto.errors import CredentialError
from crypto.instant import format_date, format_instant, parse_instant
from crypto.revocation import RevocationList, verify_revocation_list
from registry.actor import Actor
from registry.cards import CardService
from registry.localtime import DEFAULT_ZONE, LocalClock
from registry.orm import utcnow
from registry.registrykey import KeyringError, RegistryKeyring
from server import database
from server.i18n import Catalogues, Translator
from server.settings import Settings

__all__ = ["EXIT_INVALID", "EXIT_USAGE", "EXIT_VALID", "add_card_commands", "run_card_command"]

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
# Larger inputs are not cards, key lists or revocation lists of a union.
MAX_INPUT_BYTES = 8 * 1024 * 1024


class _Unusable(Exception):
    """An input the command cannot check a card with (exit status 2)."""


def add_card_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``card verify`` and ``card show`` to the ``kvorum`` command's sub-commands."""
    card = commands.add_parser("card", help="electronic union cards")
    actions = card.add_subparsers(dest="card_command", required=True, metavar="ACTION")

    verify = actions.add_parser(
        "verify",
        help="check a union card offline",
        description="Check a union card offline against a registry key list and, if "
        "given, its signed revocation list. Exit status: 0 valid, 1 invalid, 2 cannot check.",
    )
    verify.add_argument(
        "card", metavar="TEXT_OR_FILE", help=f"the card's text ({CARD_PREFIX}…), a file, or -"
    )
    verify.add_argument(
        "--keys", required=True, type=Path, help="the registry's keys.json (trusted keys)"
    )
    verify.add_argument(
        "--crl", type=Path, help="the union's revocations.json (without it: not checked)"
    )
    verify.add_argument(
        "--at", metavar="ISO_INSTANT", help="check at this instant, e.g. 2026-01-31T12:00:00Z"
    )
    verify.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None,
        help="the answer's language: ru (the default) or en (also where the locale is English)",
    )

    show = actions.add_parser("show", help="print a member's current card text")
    show.add_argument("--member", required=True, type=int, help="the member's id")
    show.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite under --data-dir)")
    show.add_argument("--data-dir", type=Path, help="where the SQLite file and keys live")


def run_card_command(
    args: argparse.Namespace,
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``kvorum card …``; returns the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if args.card_command == "verify":
        try:
            return _verify(args, stdin or sys.stdin, out, err)
        except _Unusable as exc:
            print(f"kvorum: {exc}", file=err)
            return EXIT_USAGE
    if args.card_command == "show":
        return asyncio.run(_show(settings, args.member, out))
    raise AssertionError(f"unknown card command {args.card_command!r}")


# --- verify (offline) -----------------------------------------------------------------------


def _verify(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    now = _instant(args.at)
    keys = _trusted_keys(args.keys)
    revocations = _revocations(args.crl, keys, now) if args.crl is not None else None
    text = _card_text(args.card, stdin)
    lang = language(args.lang)
    t = Catalogues().translator(lang)
    try:
        card = verify_card(text, keys, now=now, revocations=revocations)
    except CredentialError as exc:
        if lang == "en":
            print(f"INVALID ({exc.reason}): {exc}", file=out)
        else:
            key = f"card.reason.{exc.reason}"
            why = t(key) if t.has(key) else t("card.reason.other")
            print(f"{t('card.verify.invalid')} ({exc.reason}): {why}", file=out)
        return EXIT_INVALID
    except ValueError as exc:  # a revocation list of another union than the card's
        raise _Unusable(str(exc)) from exc
    if lang == "en":
        print(f"VALID: {_summary(card)}", file=out)
    else:
        print(f"{t('card.verify.valid')}: {_summary_ru(card, t)}", file=out)
    if revocations is None:
        print(
            "kvorum: revocation not checked (no --crl given)"
            if lang == "en"
            else "kvorum: отзыв билета не проверен (не указан --crl)",
            file=err,
        )
    return EXIT_VALID


def _summary(card: UnionCard) -> str:
    return (
        f"{card.full_name}, {card.organisation}, card {card.card_number}, "
        f"valid until {format_date(card.expires_at.date())} "
        f"({format_instant(card.expires_at)}), serial {card.serial}"
        + (f", key {card.key_serial}" if card.key_serial is not None else "")
    )


def _summary_ru(card: UnionCard, t: Translator) -> str:
    # The card's end in the union's zone with its label, as the card's page shows it.
    until = LocalClock(DEFAULT_ZONE, t.locale).labelled(card.expires_at)
    return (
        f"{card.full_name}, {card.organisation}, билет № {card.card_number}, "
        f"действует до {until}, серийный № {card.serial}"
        + (f", ключ № {card.key_serial}" if card.key_serial is not None else "")
    )


def _instant(value: str | None) -> dt.datetime:
    """``--at``: ``YYYY-MM-DDTHH:MM:SSZ`` or any ISO 8601 time with an offset."""
    if value is None:
        return utcnow().replace(microsecond=0)
    try:
        return parse_instant(value)
    except CredentialError:
        pass
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _Unusable(
            f"--at {value!r} is not an ISO 8601 instant (e.g. 2026-01-31T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        # A bare local time would mean different instants on different machines.
        raise _Unusable(f"--at {value!r} has no time zone: add Z or an offset like +05:00")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise _Unusable(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_INPUT_BYTES:
        raise _Unusable(f"the {what} {path} is larger than {MAX_INPUT_BYTES} bytes")
    return data


def _trusted_keys(path: Path) -> dict[str, PublicKey]:
    data = _read(path, "key list")
    try:
        document = json.loads(data.decode("utf-8"))
        return RegistryKeyring.trusted_from_document(document)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Unusable(f"the key list {path} is not JSON: {exc}") from exc
    except (KeyringError, CredentialError) as exc:
        raise _Unusable(f"the key list {path} is not usable: {exc}") from exc


def _revocations(path: Path, keys: Mapping[str, PublicKey], now: dt.datetime) -> RevocationList:
    data = _read(path, "revocation list")
    try:
        return verify_revocation_list(data, keys, now=now)
    except CredentialError as exc:
        # An unknown signer or a bad signature here is not a verdict on the card: a
        # list nobody trusted signed could hide a revocation.
        raise _Unusable(f"the revocation list {path} is not trusted ({exc.reason}): {exc}") from exc


def _card_text(argument: str, stdin: TextIO) -> str:
    if argument.strip().startswith(CARD_PREFIX):
        return argument
    if argument == "-":
        return stdin.read(MAX_INPUT_BYTES)
    data = _read(Path(argument), "card file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unusable(f"the card file {argument} is not UTF-8 text") from exc


# --- show (on the server's database) --------------------------------------------------------


async def _show(settings: Settings, member_id: int, out: TextIO) -> int:
    keyring = await asyncio.to_thread(
        RegistryKeyring.open, settings.data_dir / "keys", now=utcnow()
    )
    engine = database.create_engine(settings.effective_database_url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            service = CardService(db, Actor.system(), keyring)
            now = utcnow()
            text = await service.current_card(
                member_id,
                now=now,
                valid_days=settings.card_days,
                key_serial=await service.bound_key_serial(member_id, now=now),
            )
    finally:
        await engine.dispose()
    print(text, file=out)
    return EXIT_VALID
