"""Applying member files to a real database: all or nothing, idempotent, logged."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.importer import export_members, import_members
from registry.memberfile import MemberFileRejected, parse_member_file, write_member_csv
from registry.models import AccessLogEntry, Member, Organisation, OrganisationAlias, OrgKind
from tests import factories as f

TODAY = dt.date(2026, 11, 24)
HEADER = "ФИО;№ профбилета;Организация;Должность;Телефон;E-mail;Дата вступления\n"


def csv(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode("cp1251")


async def count(db: AsyncSession, model: type) -> int:
    return await db.scalar(select(func.count()).select_from(model)) or 0


async def tree(db: AsyncSession) -> tuple[Organisation, Organisation]:
    root = await f.org(db, "Пермский крайсовпроф")
    school = await f.org(
        db,
        "Первичная профсоюзная организация МАОУ «СОШ № 12»",
        kind=OrgKind.PRIMARY,
        parent=root,
        short_name="ППО СОШ № 12",
    )
    await db.commit()
    return root, school


async def run(db: AsyncSession, target: Organisation, data: bytes, **kw: Any) -> tuple[int, ...]:
    records = parse_member_file(data, "m.csv", today=TODAY)
    try:
        result = await import_members(db, Actor.system(), target, records, **kw)
    except Exception:
        await db.rollback()
        raise
    await db.commit()
    return result.imported, result.updated, result.unchanged, result.organisations_created


async def test_import_matches_orgs_loosely_and_reimport_creates_nothing(db: AsyncSession) -> None:
    root, school = await tree(db)
    data = csv(
        "Иванова Ольга Петровна;59-1;  ппо   сош № 12 ;учитель;89123456789;o@example.ru;01.09.2010",
        "Петров Пётр Петрович;59-2;;инженер;;;",
        "Сидоров Иван Иванович;59-3;первичная профсоюзная организация маоу «сош № 12»;;;;",
    )
    assert await run(db, root, data) == (3, 0, 0, 0)
    assert await run(db, root, data) == (0, 0, 3, 0)
    assert await count(db, Member) == 3
    ivanova = await db.scalar(select(Member).where(Member.card_number == "59-1"))
    assert ivanova is not None
    assert ivanova.organisation_id == school.id
    assert ivanova.phone == "+79123456789"
    petrov = await db.scalar(select(Member).where(Member.card_number == "59-2"))
    assert petrov is not None
    assert petrov.organisation_id == root.id

    changed = data.replace("учитель".encode("cp1251"), "завуч".encode("cp1251"))
    assert await run(db, root, changed) == (0, 1, 2, 0)
    await db.refresh(ivanova)
    assert ivanova.position == "завуч"


async def test_unknown_org_rejects_the_whole_file(db: AsyncSession) -> None:
    root, _ = await tree(db)
    data = csv("Иванова Ольга Петровна;59-1;;;;;", "Петров Пётр;59-2;Нет такой;;;;")
    with pytest.raises(MemberFileRejected) as caught:
        await run(db, root, data)
    [err] = caught.value.errors
    assert (err.row, err.column, err.code) == (3, "Организация", "unknown_organisation")
    assert "use --create-orgs" in err.detail
    assert await count(db, Member) == 0
    assert await count(db, AccessLogEntry) == 0


async def test_create_orgs_makes_missing_ones_under_target(db: AsyncSession) -> None:
    root, _ = await tree(db)
    data = csv("Петров Пётр;59-2;ППО Аэропорт;;;;", "Лисин Ян;59-3;ппо  аэропорт;;;;")
    assert await run(db, root, data, create_orgs=True) == (2, 0, 0, 1)
    created = await db.scalar(select(Organisation).where(Organisation.name == "ППО Аэропорт"))
    assert created is not None
    assert created.parent_id == root.id
    assert created.kind is OrgKind.MEMBER_ORGANISATION


async def test_card_of_member_outside_target_is_a_bad_row(db: AsyncSession) -> None:
    root, school = await tree(db)
    other = await f.org(db, "ППО Завод", kind=OrgKind.PRIMARY, parent=root)
    await f.member(db, other, "Зайцев", card="59-9")
    await db.commit()
    with pytest.raises(MemberFileRejected) as caught:
        await run(db, school, csv("Зайцев Олег;59-9;;;;;"))
    assert [e.code for e in caught.value.errors] == ["card_elsewhere"]


async def test_export_imports_back_unchanged(db: AsyncSession) -> None:
    root, _ = await tree(db)
    data = csv(
        "Иванова Ольга Петровна;59-1;ППО СОШ № 12;учитель;89123456789;o@example.ru;01.09.2010",
        'Петров Пётр Петрович;59-2;;"инженер; ""главный""";;;',
    )
    await run(db, root, data)
    rows = await export_members(db, Actor.system(), root)
    await db.commit()
    buffer = io.StringIO(newline="")
    write_member_csv(rows, buffer)
    exported = buffer.getvalue().encode("utf-8")
    assert await run(db, root, exported) == (0, 0, 2, 0)
    assert parse_member_file(exported, "e.csv", today=TODAY)[1].position == 'инженер; "главный"'


async def test_import_is_logged_per_member(db: AsyncSession) -> None:
    root, _ = await tree(db)
    await run(db, root, csv("Иванова Ольга;59-1;;;;;", "Петров Пётр;59-2;;;;;"))
    actions = (await db.scalars(select(AccessLogEntry.action))).all()
    assert actions == ["import", "import"]


# --- names that differ a little: suggestions, the registrar's mapping, aliases ------------------

DIFFER = Path(__file__).parent / "data" / "members_org_names_differ.csv"
APK_IN_FILE = "Пермская краевая организация Профсоюза работников агропромышленного комплекса РФ"


async def agro_tree(db: AsyncSession) -> tuple[Organisation, Organisation, Organisation]:
    root = await f.org(db, "Пермский крайсовпроф")
    await f.org(
        db,
        "Пермская краевая организация Профсоюза авиационных работников",
        kind=OrgKind.MEMBER_ORGANISATION,
        parent=root,
    )
    apk = await f.org(
        db,
        "Пермская краевая организация Профессионального союза работников агропромышленного "
        "комплекса Российской Федерации",
        kind=OrgKind.MEMBER_ORGANISATION,
        parent=root,
        short_name="Пермская краевая организация Профсоюза работников АПК",
    )
    farm = await f.org(
        db, "Первичная профсоюзная организация СПК «Нива»", kind=OrgKind.PRIMARY, parent=apk
    )
    await db.commit()
    return root, apk, farm


async def test_an_unmatched_name_is_offered_the_closest_organisations(db: AsyncSession) -> None:
    root, apk, _farm = await agro_tree(db)
    apk_id = apk.id  # the refusal's rollback expires the objects
    with pytest.raises(MemberFileRejected) as caught:
        await run(db, root, DIFFER.read_bytes())
    assert [(e.row, e.code) for e in caught.value.errors] == [
        (2, "unknown_organisation"),
        (3, "unknown_organisation"),
    ]
    [unmatched] = caught.value.unmatched
    assert unmatched.name == APK_IN_FILE
    assert unmatched.rows == (2, 3)
    assert unmatched.suggestions[0].organisation_id == apk_id
    assert unmatched.suggestions[0].score == 1.0
    assert await count(db, Member) == 0
    assert await count(db, OrganisationAlias) == 0


async def test_a_mapped_name_imports_and_is_kept_as_an_alias(db: AsyncSession) -> None:
    root, apk, farm = await agro_tree(db)
    records = parse_member_file(DIFFER.read_bytes(), "m.csv", today=TODAY)
    result = await import_members(
        db, Actor.system("Регистратор"), root, records, mapping={APK_IN_FILE: apk.id}
    )
    await db.commit()
    assert (result.imported, result.aliases_added) == (4, 1)
    placed = dict((await db.execute(select(Member.card_number, Member.organisation_id))).all())
    assert placed == {"88-1": apk.id, "88-2": apk.id, "88-3": farm.id, "88-4": root.id}
    alias = await db.scalar(select(OrganisationAlias))
    assert alias is not None
    assert (alias.organisation_id, alias.name, alias.created_by) == (
        apk.id,
        APK_IN_FILE,
        "Регистратор",
    )
    await db.commit()
    # Next time the name is known: no mapping needed, nothing new.
    assert await run(db, root, DIFFER.read_bytes()) == (0, 0, 4, 0)
    assert await count(db, OrganisationAlias) == 1


async def test_a_mapping_with_a_bad_row_imports_nothing_and_keeps_no_alias(
    db: AsyncSession,
) -> None:
    root, apk, _farm = await agro_tree(db)
    data = DIFFER.read_bytes() + "Рыбин Ян;88-5;;;32.13.2020\r\n".encode("cp1251")
    with pytest.raises(MemberFileRejected) as caught:
        await run(db, root, data, mapping={APK_IN_FILE: apk.id})
    assert [e.row for e in caught.value.errors] == [6]
    assert caught.value.unmatched == []
    assert await count(db, Member) == 0
    assert await count(db, OrganisationAlias) == 0


async def test_a_mapping_must_name_an_organisation_under_the_target_and_a_name_of_the_file(
    db: AsyncSession,
) -> None:
    _root, apk, farm = await agro_tree(db)
    other = await f.org(db, "Другой союз")
    await db.commit()
    with pytest.raises(MemberFileRejected) as caught:
        await run(
            db,
            apk,
            DIFFER.read_bytes(),
            mapping={APK_IN_FILE: other.id, "Нет такой в файле": farm.id},
        )
    codes = {(e.row, e.code) for e in caught.value.errors}
    assert (None, "map_target") in codes
    assert (None, "map_unused") in codes
    assert await count(db, Member) == 0
