"""Benchmark: importing a 50,000-row member file, as `kvorum registry import` does.

Measures, in one run and on the same machine:

* ``parse``: reading and validating the CSV (Windows-1251, semicolons);
* ``import``: parse + matching + inserting into a freshly migrated database, in one
  transaction, with the access log entries;
* ``reimport``: the same file again (matches every card, changes nothing);
* ``baseline``: the floor for the same rows: the DB driver's executemany of the
  prepared tuples into the same table, with no parsing, validation or logging.

Prints the timings and the ratio of each to the baseline; the target is that
``import`` stays under 30 s. Usage::

    .venv/bin/python bench/import_members.py [--rows 50000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.actor import Actor
from registry.importer import import_members
from registry.memberfile import ExportRow, parse_member_file, write_member_csv
from registry.models import OrgKind
from registry.organisations import OrganisationService
from registry.schemas import OrganisationIn
from server import database

SURNAMES = ["Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов"]
NAMES = ["Алексей", "Михаил", "Сергей", "Андрей", "Дмитрий", "Олег", "Павел", "Юрий"]
PATRONYMICS = ["Иванович", "Петрович", "Сергеевич", "Андреевич", "Олегович", "Юрьевич"]
ORGS = [f"Первичная профсоюзная организация № {n}" for n in range(1, 41)]


def make_file(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    records = [
        ExportRow(
            surname=rng.choice(SURNAMES),
            name=rng.choice(NAMES),
            patronymic=rng.choice(PATRONYMICS),
            card_number=f"59-{n:07d}",
            organisation=rng.choice(ORGS),
            position=rng.choice(["учитель", "инженер", "агроном", "бухгалтер"]),
            phone=f"+7912{n:07d}",
            email=f"member{n}@example.ru",
            joined_on=dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(12000)),
        )
        for n in range(rows)
    ]
    buffer = io.StringIO(newline="")
    write_member_csv(records, buffer)
    # Offices send Windows-1251 as often as UTF-8; the slower path to decode.
    return buffer.getvalue().lstrip("\ufeff").encode("cp1251")


async def prepare(url: str) -> int:
    await asyncio.to_thread(database.upgrade, url)
    engine = database.create_engine(url)
    try:
        async with database.make_sessionmaker(engine)() as db, db.begin():
            orgs = OrganisationService(db, Actor.system())
            root = await orgs.create(
                OrganisationIn(name="Краевой союз", kind=OrgKind.REGIONAL_COUNCIL)
            )
            for name in ORGS:
                await orgs.create(
                    OrganisationIn(name=name, kind=OrgKind.PRIMARY, parent_id=root.id)
                )
            return root.id
    finally:
        await engine.dispose()


async def run_import(url: str, root_id: int, data: bytes) -> tuple[float, tuple[int, int, int]]:
    engine = database.create_engine(url)
    try:
        started = time.perf_counter()
        actor = Actor.system()
        async with database.make_sessionmaker(engine)() as db, db.begin():
            target = await OrganisationService(db, actor).get(root_id)
            records = parse_member_file(data, "members.csv", today=dt.date.today())
            result = await import_members(db, actor, target, records, source="members.csv")
        return time.perf_counter() - started, (result.imported, result.updated, result.unchanged)
    finally:
        await engine.dispose()


async def run_baseline(url: str, root_id: int, data: bytes) -> float:
    """Driver-level executemany of ready tuples: what any import must at least pay."""
    records = parse_member_file(data, "members.csv", today=dt.date.today())
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "org": root_id,
            "root": root_id,
            "s": r.surname,
            "n": r.name,
            "p": r.patronymic,
            "c": "B" + r.card_number,
            "pos": r.position,
            "e": r.email,
            "ph": r.phone,
            "j": r.joined_on,
            "now": now,
        }
        for r in records
    ]
    engine = database.create_engine(url)
    try:
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO member (organisation_id, root_organisation_id, surname, name, "
                    "patronymic, card_number, position, email, phone, status, joined_on, "
                    "search_key, created_at, updated_at) VALUES (:org, :root, :s, :n, :p, :c, "
                    ":pos, :e, :ph, 'active', :j, '', :now, :now)"
                ),
                rows,
            )
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    args = parser.parse_args()
    data = make_file(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        root_id = await prepare(url)
        started = time.perf_counter()
        parse_member_file(data, "members.csv", today=dt.date.today())
        parse_time = time.perf_counter() - started
        import_time, first = await run_import(url, root_id, data)
        reimport_time, second = await run_import(url, root_id, data)
        baseline = await run_baseline(url, root_id, data)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = url.split(":", 1)[0]
    print(f"rows={args.rows} backend={backend} file={len(data) / 1e6:.1f} MB")
    print(f"baseline (driver executemany)  {baseline:7.2f} s   1.00x")
    print(f"parse                          {parse_time:7.2f} s   {parse_time / baseline:5.2f}x")
    print(f"import  {first}       {import_time:7.2f} s   {import_time / baseline:5.2f}x")
    print(f"reimport {second}      {reimport_time:7.2f} s   {reimport_time / baseline:5.2f}x")
    print(
        f"peak RSS {peak_mib:.0f} MiB; target: import < 30 s -> "
        f"{'met' if import_time < 30 else 'NOT met'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
