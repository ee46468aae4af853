"""``kvorum diagnosis``: import and export self-diagnosis methodologies (XLSX or JSON).

``import FILE --org ORG [--publish]`` saves the file as the draft of its methodology
(the next version when the latest is published) and, with ``--publish``, freezes it.
``export --org ORG --code CODE [--version N] -o FILE`` writes a stored version (the
latest by default). The format follows the file's extension: ``.xlsx`` or ``.json``.
A refused file changes nothing; the reason names the sheet and row (or JSON path).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from registry.actor import Actor
from registry.diagnosis import workbook
from registry.diagnosis.methodology import Methodology, MethodologyError
from registry.diagnosis.services import MethodologyService
from registry.errors import InvalidInput, NotFound
from registry.organisations import OrganisationService
from server import database
from server.settings import Settings

__all__ = ["add_diagnosis_commands", "read_methodology", "run_diagnosis_command"]


def add_diagnosis_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    settings_args: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``diagnosis import`` and ``diagnosis export`` to the ``kvorum`` command."""
    diag = commands.add_parser("diagnosis", help="self-diagnosis methodologies")
    actions = diag.add_subparsers(dest="diagnosis_command", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="import a methodology from XLSX or JSON")
    imp.add_argument("file", type=Path)
    imp.add_argument("--org", required=True, help="owner organisation id or name")
    imp.add_argument("--publish", action="store_true", help="publish (freeze) the version")
    settings_args(imp)
    exp = actions.add_parser("export", help="export a methodology as XLSX or JSON")
    exp.add_argument("--org", required=True, help="owner organisation id or name")
    exp.add_argument("--code", required=True, help="the methodology's code")
    exp.add_argument("--version", type=int, help="the version (default: the latest)")
    exp.add_argument("--output", "-o", type=Path, required=True, help="a .xlsx or .json file")
    settings_args(exp)


def read_methodology(data: bytes, name: str) -> Methodology:
    """Parse a methodology file by its extension; refuse anything else with the reason."""
    if name.lower().endswith(".xlsx"):
        return workbook.read(data)
    if name.lower().endswith(".json"):
        try:
            parsed = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MethodologyError(f"not a JSON document ({exc})") from None
        return Methodology.from_json(parsed)
    raise InvalidInput(f"{name}: a methodology file must end in .xlsx or .json")


def run_diagnosis_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.diagnosis_command == "import":
        return asyncio.run(_import(settings, args.file, args.org, args.publish))
    return asyncio.run(_export(settings, args.org, args.code, args.version, args.output))


async def _import(settings: Settings, path: Path, org_ref: str, publish: bool) -> int:
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        print(f"kvorum: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        methodology = read_methodology(data, path.name)
    except InvalidInput as exc:
        print(f"kvorum: {path.name} was not imported; nothing changed.", file=sys.stderr)
        print(f"  {exc.detail}", file=sys.stderr)
        return 1
    actor = Actor.system()
    engine = database.create_engine(settings.effective_database_url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            owner = await OrganisationService(db, actor).resolve(org_ref)
            service = MethodologyService(db, actor)
            stored = await service.save(owner.id, methodology)
            if publish:
                stored = await service.publish(stored.id)
    finally:
        await engine.dispose()
    state = "published" if stored.published else "draft"
    print(f"methodology {methodology.code} version {stored.version} saved ({state})")
    return 0


async def _export(
    settings: Settings, org_ref: str, code: str, version: int | None, output: Path
) -> int:
    actor = Actor.system()
    engine = database.create_engine(settings.effective_database_url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            owner = await OrganisationService(db, actor).resolve(org_ref)
            versions = [
                v
                for v in await MethodologyService(db, actor).versions(owner.id)
                if v.methodology.code == code and (version is None or v.version == version)
            ]
    finally:
        await engine.dispose()
    if not versions:
        raise NotFound(f"no methodology {code} (version {version or 'any'}) of {org_ref}")
    methodology = versions[0].methodology
    if output.name.lower().endswith(".xlsx"):
        data = workbook.write(methodology)
    elif output.name.lower().endswith(".json"):
        text = json.dumps(methodology.to_json(), ensure_ascii=False, indent=1)
        data = text.encode("utf-8")
    else:
        raise InvalidInput(f"{output.name}: the output must end in .xlsx or .json")
    await asyncio.to_thread(output.write_bytes, data)
    print(f"methodology {code} version {versions[0].version} written to {output}")
    return 0
