"""The ``kvorum`` command: serve, seed the demo, migrate, import and export members."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from ballots.auditcli import main as audit_main
from meetings.docscli import main as docs_main
from meetings.docverify import DocReport
from registry.accounts import AccountService
from registry.actor import Actor
from registry.errors import DomainError, InvalidInput
from registry.importer import UnmatchedOrganisation, export_members, import_members
from registry.localtime import LocalClock
from registry.memberfile import MemberFileRejected, parse_member_file, write_member_csv
from registry.members import MemberService
from registry.models import Role
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.registrykey import KeyringError, RegistryKeyring
from server import database
from server.app import create_app
from server.authevents import record_event
from server.backup import (
    PASSPHRASE_ENV,
    BackupError,
    read_passphrase,
    restore_backup,
    take_backup,
)
from server.cardcli import add_card_commands, run_card_command
from server.demo import seed_with_logins
from server.diagnosiscli import add_diagnosis_commands, run_diagnosis_command
from server.docwords import report_text
from server.i18n import Catalogues
from server.invitations import issue_for
from server.logs import configure_logging
from server.mailer import delivers, make_mailer, send_letters
from server.settings import Settings

__all__ = ["main"]

log = logging.getLogger("kvorum")


def _settings_args(parser: argparse.ArgumentParser, *, serving: bool) -> None:
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite under --data-dir)")
    parser.add_argument("--data-dir", type=Path, help="where the SQLite file and keys live")
    if serving:
        parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
        parser.add_argument("--public-url", help="the URL users reach the server at")
        parser.add_argument("--log-format", choices=["json", "text"])


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        database_url=getattr(args, "database_url", None),
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        public_url=getattr(args, "public_url", None),
        log_format=getattr(args, "log_format", None),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kvorum", description="Meetings and signed votes of trade unions' elected bodies."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web server")
    _settings_args(serve, serving=True)

    audit = commands.add_parser(
        "audit", help="check audit bundles and receipts offline (kvorum audit verify BUNDLE)"
    )
    audit.add_argument("audit_args", nargs=argparse.REMAINDER, help="verify BUNDLE | receipt …")

    docs = commands.add_parser(
        "docs", help="check signed documents offline (kvorum docs verify FILE.pdf)"
    )
    docs.add_argument("docs_args", nargs=argparse.REMAINDER, help="verify FILE.pdf …")

    demo = commands.add_parser("demo", help="seed the demo union, print logins, and serve")
    _settings_args(demo, serving=True)
    demo.add_argument("--no-serve", action="store_true", help="seed and print logins, then exit")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply all migrations")
    _settings_args(upgrade, serving=False)

    reg = commands.add_parser("registry", help="member registry")
    reg_commands = reg.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    imp = reg_commands.add_parser("import", help="import members from CSV or XLSX (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--org", required=True, help="organisation id or name")
    imp.add_argument(
        "--create-orgs", action="store_true", help="create organisations the file names"
    )
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="NAME=ORG",
        help="take the file's organisation NAME to be ORG (id or name), and keep NAME as an "
        "alias of ORG for later imports (repeatable)",
    )
    _settings_args(imp, serving=False)
    inv = reg_commands.add_parser(
        "invite", help="issue a single-use invitation link (e-mailed when SMTP is set up)"
    )
    inv.add_argument("member", help="member id or union card number")
    inv.add_argument(
        "--role",
        action="append",
        choices=[r.value for r in Role],
        default=[],
        help="application role for a new account (repeatable; member is always given)",
    )
    _settings_args(inv, serving=False)
    rot = reg_commands.add_parser(
        "rotate-key", help="make a new registry key; the old ones stay valid for verification"
    )
    _settings_args(rot, serving=False)
    exp = reg_commands.add_parser("export", help="export active members as CSV")
    exp.add_argument("--org", required=True, help="organisation id or name")
    exp.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    _settings_args(exp, serving=False)
    add_card_commands(commands)
    add_diagnosis_commands(commands, lambda p: _settings_args(p, serving=False))

    # No abbreviations: "--passphrase SECRET" must be an error, not --passphrase-file.
    backup = commands.add_parser(
        "backup",
        help="copy the database, materials and sealed registry keys into DIR while serving",
        allow_abbrev=False,
    )
    backup.add_argument("directory", type=Path, metavar="DIR", help="a new or empty directory")
    restore = commands.add_parser(
        "restore",
        help="put a backup back into an empty installation and check it",
        allow_abbrev=False,
    )
    restore.add_argument("directory", type=Path, metavar="DIR", help="a directory made by backup")
    for sub in (backup, restore):
        sub.add_argument(
            "--passphrase-file",
            type=Path,
            help=f"file whose first line is the registry keys' passphrase "
            f"(default: ${PASSPHRASE_ENV})",
        )
        _settings_args(sub, serving=False)
    return parser


def _docs_render(settings: Settings) -> Callable[[DocReport, str], str]:
    """``kvorum docs verify``'s report in the words of the document pages, with times
    in the organisation's zone."""

    def render(report: DocReport, lang: str) -> str:
        return report_text(report, Catalogues().translator(lang), LocalClock(settings.timezone))

    return render


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValueError as exc:
        print(f"kvorum: bad setting: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        if args.command == "serve":
            serve(settings)
        elif args.command == "demo":
            asyncio.run(_demo(settings))
            if not args.no_serve:
                serve(settings)
        elif args.command == "audit":
            return audit_main(args.audit_args)
        elif args.command == "docs":
            return docs_main(args.docs_args, render=_docs_render(settings))
        elif args.command in {"backup", "restore"}:
            return _backup_command(settings, args)
        elif args.command == "card":
            return run_card_command(args, settings)
        elif args.command == "diagnosis":
            return run_diagnosis_command(args, settings)
        elif args.command == "db":
            database.upgrade(settings.effective_database_url)
            print("database is up to date")
        elif args.registry_command == "import":
            return asyncio.run(_import(settings, args.file, args.org, args.create_orgs, args.map))
        elif args.registry_command == "export":
            return asyncio.run(_export(settings, args.org, args.output))
        elif args.registry_command == "invite":
            return asyncio.run(_invite(settings, args.member, [Role(r) for r in args.role]))
        elif args.registry_command == "rotate-key":
            keyring = RegistryKeyring.open(settings.data_dir / "keys", now=utcnow())
            old = keyring.current_id
            print(f"registry key rotated: {old} -> {keyring.rotate()} (the old key stays valid)")
    except DomainError as exc:
        print(f"kvorum: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def _backup_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        passphrase = read_passphrase(args.passphrase_file)
        if args.command == "backup":
            made = take_backup(settings, args.directory, passphrase)
            print(
                f"backup written to {made.directory}: {made.backend} database at revision "
                f"{made.revision}, {made.materials} materials, {made.keys} registry keys "
                f"(sealed), {made.size} bytes"
            )
        else:
            restored = restore_backup(settings, args.directory, passphrase)
            print(
                f"restored the backup of {restored.created_at} into {settings.data_dir}: "
                f"{restored.backend} database at revision {restored.revision}, "
                f"{restored.materials} materials, {restored.keys} registry keys "
                f"(current {restored.current_key}); checked"
            )
    except (BackupError, KeyringError) as exc:
        print(f"kvorum {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


def serve(settings: Settings) -> None:
    print(f"Kvorum is serving on {settings.effective_public_url}", flush=True)
    web.run_app(
        create_app(settings), host=settings.host, port=settings.port, print=None, access_log=None
    )


async def _demo(settings: Settings) -> None:
    await asyncio.to_thread(database.upgrade, settings.effective_database_url)
    engine = database.create_engine(settings.effective_database_url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            demo = await seed_with_logins(db, settings)
    finally:
        await engine.dispose()
    print(
        "Демо-организация «Пермский крайсовпроф» " + ("создана." if demo.created else "уже есть.")
    )
    print(
        "Ссылки-приглашения (одноразовые, действуют 72 часа; ссылка гостя — до закрытия "
        "заседания; откройте как localhost):"
    )
    width = max(len(role) for role, _name, _url in demo.links)
    for role, name, url in demo.links:
        print(f"  {role:<{width}}  {name}\n  {'':<{width}}  {url}")
    if demo.presidium_links:
        print(
            "Остальные члены президиума, ещё не входившие в Кворум (для кворума нужно 6 из 11;"
            " то же делает «Пригласить всех членов органа» на странице президиума):"
        )
        for name, url in demo.presidium_links:
            print(f"  {name}\n  {url}")
    print(f"Заседание президиума № 7 (объявлено): {demo.meeting_url}")
    if not settings.smtp_host:
        print(
            "Почтовый сервер не настроен: письма (коды входа, приглашения, уведомления) "
            "хранятся в «Исходящей почте» регистратора: "
            f"{settings.effective_public_url}/registry/outbox"
        )


def _mapping_pairs(items: Sequence[str]) -> list[tuple[str, str]]:
    """``--map "NAME=ORG"`` as (NAME, ORG); the last "=" splits (names may hold one)."""
    pairs = []
    for item in items:
        name, sep, org = item.rpartition("=")
        if not sep or not name.strip() or not org.strip():
            raise InvalidInput(f"--map wants NAME=ORG, not '{item}'")
        pairs.append((name.strip(), org.strip()))
    return pairs


async def _import(
    settings: Settings, path: Path, org_ref: str, create_orgs: bool, maps: Sequence[str] = ()
) -> int:
    pairs = _mapping_pairs(maps)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        print(f"kvorum: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    actor = Actor.system()
    engine = database.create_engine(settings.effective_database_url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            orgs = OrganisationService(db, actor)
            target = await orgs.resolve(org_ref)
            mapping = {name: (await orgs.resolve(ref)).id for name, ref in pairs}
            try:
                records = parse_member_file(data, path.name, today=utcnow().date())
                result = await import_members(
                    db,
                    actor,
                    target,
                    records,
                    create_orgs=create_orgs,
                    mapping=mapping,
                    source=path.name,
                )
            except MemberFileRejected as exc:
                print(f"kvorum: {path.name} was not imported; nothing changed.", file=sys.stderr)
                for err in exc.errors:
                    where = "file" if err.row is None else f"row {err.row}"
                    column = f", {err.column}" if err.column else ""
                    print(f"  {where}{column}: {err.detail}", file=sys.stderr)
                _print_unmatched(exc.unmatched)
                return 1
    finally:
        await engine.dispose()
    extra = f", organisations created {result.organisations_created}" if create_orgs else ""
    if result.aliases_added:
        extra += f", organisation names kept as aliases {result.aliases_added}"
    print(f"imported {result.imported}, updated {result.updated}{extra}")
    return 0


def _print_unmatched(unmatched: Sequence[UnmatchedOrganisation]) -> None:
    """For each name no organisation answers to, the closest ones and the --map to use."""
    if not unmatched:
        return
    print("Organisations not found, and the closest existing ones:", file=sys.stderr)
    for item in unmatched:
        rows = ", ".join(str(r) for r in item.rows[:10]) + (" …" if len(item.rows) > 10 else "")
        print(f"  '{item.name}' (rows {rows}):", file=sys.stderr)
        if not item.suggestions:
            print(
                "    no organisation is close; create it first or use --create-orgs",
                file=sys.stderr,
            )
        for s in item.suggestions:
            print(f"    {s.organisation_id}  {s.name}  (similarity {s.score:.2f})", file=sys.stderr)
        if item.suggestions:
            best = item.suggestions[0].organisation_id
            print(f'    to take the first: --map "{item.name}={best}"', file=sys.stderr)


async def _invite(settings: Settings, member_ref: str, roles: list[Role]) -> int:
    actor = Actor.system()
    engine = database.create_engine(settings.effective_database_url)
    sessionmaker = database.make_sessionmaker(engine)
    mailer = make_mailer(settings, outbox=lambda: sessionmaker)
    try:
        async with sessionmaker() as db, db.begin():
            member = await MemberService(db, actor).resolve(member_ref)
            account = await AccountService(db, actor).for_member(member.id, roles or [Role.MEMBER])
            issued = await issue_for(db, account, settings, actor, mail=delivers(settings, mailer))
            await record_event(
                db,
                None,
                "invitation_issued",
                account_id=account.id,
                detail=f"by {actor.display_name}",
            )
        if issued.letter is not None:
            await send_letters(mailer, [issued.letter])
    finally:
        await engine.dispose()
    print(f"invitation for {issued.name} (valid {settings.invitation_hours} h):")
    print(issued.url)
    if issued.sent_to:
        where = "kept in the outbox for" if not settings.smtp_host else "sent to"
        print(f"{where} {issued.sent_to}")
    return 0


async def _export(settings: Settings, org_ref: str, output: Path | None) -> int:
    actor = Actor.system()
    engine = database.create_engine(settings.effective_database_url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            target = await OrganisationService(db, actor).resolve(org_ref)
            rows = await export_members(db, actor, target)
    finally:
        await engine.dispose()
    if output is None:
        sys.stdout.reconfigure(newline="")  # type: ignore[union-attr]
        write_member_csv(rows, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            write_member_csv(rows, out)
        print(f"exported {len(rows)} members to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
