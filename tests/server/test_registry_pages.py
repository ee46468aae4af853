"""The registry's HTML pages end to end: real app, real database, forms posted as a browser does."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from registry.models import (
    AccessLogEntry,
    Body,
    Member,
    MemberStatus,
    Organisation,
    OrganisationAlias,
    OrgKind,
    Role,
    Seat,
    SeatRole,
)
from registry.orm import utcnow
from server.pages import LOCALE_COOKIE
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "registry" / "data"
TEMPLATES = ROOT / "web" / "templates"
CATALOGUES = ROOT / "web" / "i18n"


# --- helpers ----------------------------------------------------------------------------


async def registrar(client: Any, db: Any) -> f.Login:
    acc = await f.account(db, Role.REGISTRAR, name="Регистратор Р. Р.")
    return await f.login(client, db, acc)


async def page(resp: Any, status: int = 200) -> str:
    """The page's HTML, after checking its status and that it obeys the CSP."""
    html = await resp.text()
    assert resp.status == status, html
    assert resp.content_type == "text/html"
    assert_no_inline_code(html)
    return html


def assert_no_inline_code(html: str) -> None:
    # The CSP forbids inline styles and scripts: they would silently not work.
    assert "style=" not in html
    assert "<style" not in html
    assert "<script" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no onclick= and the like


async def post_form(login: f.Login, path: str, data: dict[str, str] | None = None) -> Any:
    """POST a urlencoded form carrying the CSRF field, as the browser sends it."""
    fields = {"_csrf": login.csrf} | (data or {})
    return await login.client.post(path, data=fields, allow_redirects=False)


async def one(db: Any, stmt: Any) -> Any:
    """One row of plain values, then end the read (commit: it writes nothing and, with
    expire_on_commit off, keeps the test's objects loaded)."""
    row = (await db.execute(stmt)).one()
    await db.commit()
    return row


async def count(db: Any, model: Any, *where: Any) -> int:
    """Count rows, then end the read so the app's writers are not kept waiting."""
    n = await db.scalar(select(func.count()).select_from(model).where(*where))
    await db.commit()
    return int(n or 0)


def field_error(html: str, name: str) -> str:
    """The error text shown next to field ``name``, checked to be tied to the input."""
    match = re.search(rf'<p class="field-error" id="f-{name}-error">([^<]*)</p>', html)
    assert match, f"no error shown for {name}"
    assert re.search(rf'id="f-{name}"[^>]*aria-describedby="[^"]*f-{name}-error', html), name
    return match.group(1)


async def tree(db: Any) -> dict[str, Any]:
    """A small union: a regional council, a member organisation, people and a body."""
    root = await f.org(db, "Пермский крайсовпроф", short_name="Крайсовпроф")
    child = await f.org(
        db, "Профавиа", kind=OrgKind.MEMBER_ORGANISATION, parent=root, short_name="Профавиа"
    )
    chair = await f.member(db, child, "Иванов", name="Михаил", patronymic="Григорьевич")
    fellow = await f.member(db, child, "Петрова", card="59-777")
    stranger = await f.member(db, root, "Сидоров", name="Сидор")
    presidium = await f.body(db, root, "Президиум Совета")
    await f.seat(db, presidium, chair, SeatRole.CHAIR)
    await f.seat(db, presidium, fellow)
    await db.commit()
    return {
        "root": root,
        "child": child,
        "chair": chair,
        "fellow": fellow,
        "stranger": stranger,
        "presidium": presidium,
    }


# --- reading ------------------------------------------------------------------------------


async def test_anonymous_home_explains_how_to_log_in(client: Any) -> None:
    html = await page(await client.get("/"))
    assert '<html lang="ru">' in html
    assert "Кворум" in html
    assert "ссылке-приглашению" in html
    assert "Выйти" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/registry/organisations",
        "/registry/members",
        "/registry/members/1",
        "/registry/bodies",
        "/registry/import",
        "/registry/access-log",
    ],
)
async def test_anonymous_gets_the_russian_401_page(client: Any, path: str) -> None:
    html = await page(await client.get(path), 401)
    assert "Вы не вошли в систему" in html
    assert "Войдите по ссылке-приглашению, которую выдал регистратор" in html


async def test_every_page_renders_for_a_registrar(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    data = await tree(db)
    root, child, chair, presidium = data["root"], data["child"], data["chair"], data["presidium"]

    html = await page(await reg.get("/"))
    assert "Здравствуйте, Регистратор Р. Р.!" in html
    assert "регистратор" in html
    assert 'action="/logout"' in html
    assert f'name="_csrf" value="{reg.csrf}"' in html
    for section in ("Организации", "Члены профсоюза", "Органы", "Импорт", "Журнал доступа"):
        assert section in html

    html = await page(await reg.get("/registry/organisations"))
    assert "Добавить организацию" in html
    assert "региональный совет" in html
    assert "членская организация" in html
    # The child is nested inside the root's list item.
    assert re.search(r"Пермский крайсовпроф.*<ul>.*Профавиа", html, re.S)

    html = await page(await reg.get(f"/registry/organisations/{root.id}"))
    assert "Пермский крайсовпроф" in html
    assert f"/api/v1/organisations/{root.id}/members/export" in html
    assert "Закрыть организацию" in html
    assert "Президиум Совета" in html
    assert "более 1/2 состава" in html

    html = await page(await reg.get("/registry/organisations/new?parent_id=" + str(root.id)))
    assert "Новая организация" in html
    assert f'<option value="{root.id}" selected>' in html

    html = await page(await reg.get(f"/registry/organisations/{child.id}/edit"))
    assert 'value="Профавиа"' in html

    html = await page(await reg.get("/registry/members"))
    assert "Найдено: 3" in html
    assert "Иванов Михаил Григорьевич" in html
    assert "59-777" in html
    assert "Добавить члена профсоюза" in html

    html = await page(await reg.get("/registry/members/new"))
    assert "Новый член профсоюза" in html
    assert 'type="date"' in html

    html = await page(await reg.get(f"/registry/members/{chair.id}"))
    assert "Иванов Михаил Григорьевич" in html
    assert "председатель" in html
    assert "01.01.2020" in html
    assert "Отметить выбытие" in html
    assert f'name="left_on" type="date" value="{utcnow().date().isoformat()}"' in html

    html = await page(await reg.get(f"/registry/members/{chair.id}/edit"))
    assert 'value="Иванов"' in html

    html = await page(await reg.get("/registry/bodies"))
    assert "Президиум Совета" in html
    assert "более 1/2 состава" in html
    assert "президиум" in html

    html = await page(await reg.get("/registry/bodies/new"))
    assert "Новый выборный орган" in html

    html = await page(await reg.get(f"/registry/bodies/{presidium.id}"))
    assert "состав 2, кворум — 2" in html
    assert "председатель" in html
    assert "член" in html
    assert "История составов" in html
    assert "Включить в состав" in html

    html = await page(await reg.get(f"/registry/bodies/{presidium.id}?on=2019-06-01"))
    assert "На 01.06.2019: состав 0, кворум — 1" in html

    html = await page(await reg.get(f"/registry/bodies/{presidium.id}/edit"))
    assert 'value="Президиум Совета"' in html

    html = await page(await reg.get("/registry/import"))
    assert "создавать отсутствующие организации" in html.lower()
    assert 'accept=".csv,.xlsx,.txt,.tsv"' in html
    assert 'enctype="multipart/form-data"' in html

    html = await page(await reg.get("/registry/access-log"))
    assert "Журнал доступа" in html
    assert "просмотр карточки" in html  # the member pages above were read
    assert "Иванов Михаил Григорьевич" in html

    html = await page(await reg.get(f"/registry/access-log?member_id={chair.id}"))
    assert "Иванов Михаил Григорьевич" in html
    assert "Петрова" not in html


async def test_unknown_records_get_the_russian_404_page(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    for path in (
        "/registry/organisations/999",
        "/registry/members/999",
        "/registry/bodies/999",
        "/registry/members/99999999999999",
    ):
        html = await page(await reg.get(path), 404)
        assert "не найдена" in html


async def test_css_is_served(client: Any) -> None:
    resp = await client.get("/static/css/kvorum.css")
    assert resp.status == 200
    css = await resp.text()
    assert ":focus-visible" in css
    assert "overflow-x: auto" in css


# --- organisations ------------------------------------------------------------------------


async def test_registrar_creates_edits_and_retires_an_organisation(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db, "Краевой союз")
    await db.commit()
    resp = await post_form(
        reg,
        "/registry/organisations/new",
        {
            "name": "ППО «Горэлектротранс»",
            "short_name": "ППО ГЭТ",
            "kind": "primary",
            "parent_id": str(root.id),
            "city": "Пермь",
        },
    )
    assert resp.status == 303
    location = resp.headers["Location"]
    assert location.endswith("?done=created")
    created = await one(
        db,
        select(Organisation.id, Organisation.parent_id, Organisation.kind).where(
            Organisation.short_name == "ППО ГЭТ"
        ),
    )
    assert created[1:] == (root.id, OrgKind.PRIMARY)
    html = await page(await reg.get(location))
    assert "Запись создана." in html
    assert "первичная организация" in html
    assert "Пермь" in html

    resp = await post_form(
        reg,
        f"/registry/organisations/{created.id}/edit",
        {"name": "ППО «Горэлектротранс» Перми", "short_name": "", "city": "Пермь"},
    )
    assert resp.status == 303
    html = await page(await reg.get(resp.headers["Location"]))
    assert "Изменения сохранены." in html
    assert "ППО «Горэлектротранс» Перми" in html
    assert await count(db, Organisation, Organisation.short_name == "") == 2

    # Without the confirmation box nothing happens.
    resp = await post_form(reg, f"/registry/organisations/{created.id}/retire")
    html = await page(resp, 422)
    assert "Отметьте подтверждение" in html
    resp = await post_form(reg, f"/registry/organisations/{created.id}/retire", {"confirm": "on"})
    assert resp.status == 303
    assert await count(db, Organisation, Organisation.retired_at.is_not(None)) == 1


async def test_invalid_organisation_form_is_shown_again_in_russian(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db, "Краевой союз")
    await db.commit()
    resp = await post_form(
        reg,
        "/registry/organisations/new",
        {"name": "", "short_name": "Сокращение", "kind": "primary", "city": "Пермь"},
    )
    html = await page(resp, 422)
    assert field_error(html, "name") == "Заполните это поле."
    assert "Данные не сохранены" in html
    assert 'value="Сокращение"' in html  # typed values are kept
    assert 'value="Пермь"' in html
    # A primary organisation needs a parent: the service says so, in Russian.
    resp = await post_form(
        reg, "/registry/organisations/new", {"name": "Первичка", "kind": "primary"}
    )
    html = await page(resp, 422)
    assert "Выберите вышестоящую организацию" in field_error(html, "parent_id")
    # A sibling with the same name is a conflict, reported at the name.
    await f.org(db, "Профавиа", kind=OrgKind.MEMBER_ORGANISATION, parent=root)
    await db.commit()
    resp = await post_form(
        reg,
        "/registry/organisations/new",
        {"name": "ПРОФАВИА", "kind": "member_organisation", "parent_id": str(root.id)},
    )
    html = await page(resp, 409)
    assert field_error(html, "name") == "Такое название здесь уже есть."
    assert await count(db, Organisation) == 2


async def test_retiring_an_organisation_with_members_is_refused(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await f.member(db, root)
    await db.commit()
    resp = await post_form(reg, f"/registry/organisations/{root.id}/retire", {"confirm": "on"})
    html = await page(resp, 409)
    assert "Организацию нельзя закрыть" in html
    assert await count(db, Organisation, Organisation.retired_at.is_not(None)) == 0


# --- members --------------------------------------------------------------------------------


async def test_registrar_creates_edits_and_retires_a_member(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    resp = await post_form(
        reg,
        "/registry/members/new",
        {
            "organisation_id": str(root.id),
            "surname": "Эмир-Вели",
            "name": "Сейран",
            "patronymic": "Рустемович",
            "card_number": "№ 59-1",
            "position": "водитель",
            "email": "S.Emir@Example.RU",
            "phone": "8 (342) 212-34-56",
            "joined_on": "12.03.2015",
        },
    )
    assert resp.status == 303
    created = await one(db, select(Member.id, Member.card_number, Member.joined_on))
    assert created[1:] == ("59-1", dt.date(2015, 3, 12))
    html = await page(await reg.get(resp.headers["Location"]))
    assert "Эмир-Вели Сейран Рустемович" in html
    assert "s.emir@example.ru" in html
    assert "+73422123456" in html
    assert "12.03.2015" in html

    resp = await post_form(
        reg,
        f"/registry/members/{created.id}/edit",
        {
            "organisation_id": str(root.id),
            "surname": "Эмир-Вели",
            "name": "Сейран",
            "patronymic": "",
            "card_number": "59-1",
            "position": "",
            "email": "",
            "phone": "",
            "joined_on": "2015-03-12",
        },
    )
    assert resp.status == 303
    html = await page(await reg.get(resp.headers["Location"]))
    assert "Изменения сохранены." in html
    assert "Эмир-Вели Сейран<" in html or "Эмир-Вели Сейран\n" in html

    resp = await post_form(reg, f"/registry/members/{created.id}/retire", {"left_on": "2014-01-01"})
    html = await page(resp, 422)
    assert field_error(html, "left_on") == "Дата выбытия раньше даты вступления."
    resp = await post_form(reg, f"/registry/members/{created.id}/retire", {"left_on": "2024-05-31"})
    assert resp.status == 303
    assert await count(db, Member, Member.status == MemberStatus.LEFT) == 1
    html = await page(await reg.get("/registry/members?status=left"))
    assert "Эмир-Вели Сейран" in html
    assert "выбыл" in html


async def test_invalid_member_form_shows_each_error_and_creates_nothing(
    client: Any, db: Any
) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await f.member(db, root, card="77")
    await db.commit()
    resp = await post_form(
        reg,
        "/registry/members/new",
        {
            "organisation_id": str(root.id),
            "surname": "Ив4нов",
            "name": "",
            "card_number": "",
            "email": "not-an-email",
            "phone": "звоните",
            "joined_on": "31.02.2020",
        },
    )
    html = await page(resp, 422)
    assert field_error(html, "surname") == "Допустимы только буквы, пробел, дефис и апостроф."
    assert field_error(html, "name") == "Заполните это поле."
    assert field_error(html, "card_number") == "Заполните это поле."
    assert field_error(html, "email").startswith("Это не адрес электронной почты")
    assert field_error(html, "phone").startswith("Это не номер телефона")
    assert field_error(html, "joined_on") == "Введите дату в виде ДД.ММ.ГГГГ."
    assert 'value="Ив4нов"' in html
    assert 'aria-invalid="true"' in html

    resp = await post_form(
        reg,
        "/registry/members/new",
        {"organisation_id": str(root.id), "surname": "Петров", "name": "Пётр", "card_number": "77"},
    )
    html = await page(resp, 409)
    assert "уже принадлежит другому" in field_error(html, "card_number")
    assert await count(db, Member) == 1


async def test_plain_member_sees_only_allowed_members_and_no_registrar_tools(
    client: Any, db: Any
) -> None:
    data = await tree(db)
    acc = await f.account(db, Role.MEMBER, member_obj=data["fellow"])
    login = await f.login(client, db, acc)

    html = await page(await login.get("/"))
    assert "Президиум Совета" in html  # their own seat
    assert "член профсоюза" in html
    assert "Журнал доступа" not in html
    assert 'href="/registry/import"' not in html

    html = await page(await login.get("/registry/members"))
    assert "Иванов Михаил Григорьевич" in html
    assert "Петрова" in html
    assert "Сидоров" not in html
    assert "Добавить члена профсоюза" not in html
    html = await page(await login.get(f"/registry/members/{data['chair'].id}"))
    assert "Показаны только сведения, доступные вам." in html
    assert data["chair"].card_number not in html
    await page(await login.get(f"/registry/members/{data['stranger'].id}"), 404)

    html = await page(await login.get("/registry/import"), 403)
    assert "Недостаточно прав" in html
    await page(await login.get("/registry/access-log"), 403)
    await page(await login.get("/registry/members/new"), 403)
    resp = await post_form(
        login,
        "/registry/members/new",
        {
            "organisation_id": str(data["root"].id),
            "surname": "Новиков",
            "name": "Ян",
            "card_number": "9",
        },
    )
    await page(resp, 403)
    assert await count(db, Member) == 3

    html = await page(await login.get(f"/registry/bodies/{data['presidium'].id}"))
    assert "состав 2, кворум — 2" in html
    assert "Включить в состав" not in html
    assert "Расформировать" not in html


async def test_a_member_outside_a_body_does_not_see_its_roster(client: Any, db: Any) -> None:
    data = await tree(db)
    acc = await f.account(db, Role.MEMBER, member_obj=data["stranger"])
    login = await f.login(client, db, acc)
    html = await page(await login.get(f"/registry/bodies/{data['presidium'].id}"))
    assert "Состав органа видят его члены" in html
    assert "Иванов" not in html


# --- bodies and seats ----------------------------------------------------------------------------


async def test_registrar_creates_a_body_and_seats_a_member_by_card(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    m = await f.member(db, root, "Кузнецов", card="59-100")
    await db.commit()
    resp = await post_form(
        reg,
        "/registry/bodies/new",
        {
            "organisation_id": str(root.id),
            "kind": "audit_commission",
            "name": "Контрольно-ревизионная комиссия",
            "quorum_numerator": "2",
            "quorum_denominator": "3",
            "quorum_strict": "false",
        },
    )
    assert resp.status == 303
    body = await one(
        db, select(Body.id, Body.quorum_numerator, Body.quorum_denominator, Body.quorum_strict)
    )
    assert body[1:] == (2, 3, False)
    html = await page(await reg.get(resp.headers["Location"]))
    assert "не менее 2/3 состава" in html
    assert "контрольно-ревизионная комиссия" in html

    resp = await post_form(
        reg,
        f"/registry/bodies/{body.id}/seats",
        {"card_number": "59-404", "role": "chair", "term_start": "2025-03-20"},
    )
    html = await page(resp, 422)
    assert "с таким номером профбилета" in field_error(html, "card_number")
    assert 'value="59-404"' in html

    resp = await post_form(
        reg,
        f"/registry/bodies/{body.id}/seats",
        {"card_number": " 59-100 ", "role": "chair", "term_start": "2025-03-20"},
    )
    assert resp.status == 303
    html = await page(await reg.get(resp.headers["Location"]))
    assert "Член профсоюза включён в состав органа." in html
    assert "состав 1, кворум — 1" in html
    assert "Кузнецов Анна Сергеевна" in html
    assert "20.03.2025" in html

    # The same person again for an overlapping term: refused at the card number.
    resp = await post_form(
        reg,
        f"/registry/bodies/{body.id}/seats",
        {"member_id": str(m.id), "role": "member", "term_start": "2025-04-01"},
    )
    html = await page(resp, 409)
    assert "уже входит в состав" in field_error(html, "member_id")

    seat = await one(db, select(Seat.id))
    resp = await post_form(
        reg, f"/registry/bodies/{body.id}/seats/{seat.id}/end", {"term_end": "2025-01-01"}
    )
    html = await page(resp, 422)
    assert "Дата раньше начала срока." in html
    resp = await post_form(
        reg, f"/registry/bodies/{body.id}/seats/{seat.id}/end", {"term_end": "2025-12-31"}
    )
    assert resp.status == 303
    assert await count(db, Seat, Seat.term_end == dt.date(2025, 12, 31)) == 1

    resp = await post_form(
        reg,
        f"/registry/bodies/{body.id}/edit",
        {
            "name": "КРК",
            "quorum_numerator": "1",
            "quorum_denominator": "2",
            "quorum_strict": "true",
        },
    )
    assert resp.status == 303
    html = await page(await reg.get(resp.headers["Location"]))
    assert "КРК" in html
    assert "более 1/2 состава" in html

    resp = await post_form(reg, f"/registry/bodies/{body.id}/retire", {"confirm": "on"})
    assert resp.status == 303
    html = await page(await reg.get(resp.headers["Location"]))
    assert "Орган расформирован" in html
    assert "Включить в состав" not in html


async def test_invalid_body_form_is_shown_again(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    resp = await post_form(
        reg,
        "/registry/bodies/new",
        {
            "organisation_id": str(root.id),
            "kind": "council",
            "name": "Совет",
            "quorum_numerator": "3",
            "quorum_denominator": "2",
            "quorum_strict": "true",
        },
    )
    html = await page(resp, 422)
    assert "Доля не может быть больше единицы" in html
    assert 'value="3"' in html
    resp = await post_form(
        reg,
        "/registry/bodies/new",
        {
            "organisation_id": "",
            "kind": "council",
            "name": "",
            "quorum_numerator": "",
            "quorum_denominator": "200",
            "quorum_strict": "true",
        },
    )
    html = await page(resp, 422)
    assert field_error(html, "organisation_id") == "Заполните это поле."
    assert field_error(html, "name") == "Заполните это поле."
    assert field_error(html, "quorum_numerator") == "Введите целое число."
    assert field_error(html, "quorum_denominator") == "Число должно быть не больше 100."
    assert await count(db, Body) == 0


# --- import -------------------------------------------------------------------------------------


def upload_form(login: f.Login, org_id: int, content: bytes, name: str, **extra: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("_csrf", login.csrf)
    form.add_field("organisation_id", str(org_id))
    for key, value in extra.items():
        form.add_field(key, value)
    form.add_field("file", content, filename=name, content_type="text/csv")
    return form


async def test_import_of_a_cp1251_semicolon_csv(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    content = (
        "Фамилия;Имя;Отчество;№ профбилета;Дата вступления\r\n"
        "Ёлкина;Алёна;Петровна;5001;01.02.2015\r\n"
        "Смирнов;Олег;;5002;\r\n"
    ).encode("cp1251")
    resp = await reg.client.post(
        "/registry/import",
        data=upload_form(reg, root.id, content, "список.csv"),
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    html = await page(await reg.get(resp.headers["Location"]))
    assert "Импортировано 2, обновлено 0, без изменений 0, создано организаций 0" in html
    assert await count(db, Member, Member.organisation_id == root.id) == 2


async def test_import_can_create_missing_organisations(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    content = (DATA / "members_cp1251_semicolon.csv").read_bytes()
    resp = await reg.client.post(
        "/registry/import",
        data=upload_form(reg, root.id, content, "members.csv", create_orgs="on"),
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    html = await page(await reg.get(resp.headers["Location"]))
    assert "создано организаций 1" in html
    assert await count(db, Organisation) == 2


async def test_a_bad_file_shows_the_rows_and_changes_nothing(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    content = (DATA / "members_bad_rows.csv").read_bytes()
    resp = await reg.client.post(
        "/registry/import",
        data=upload_form(reg, root.id, content, "bad.csv"),
        allow_redirects=False,
    )
    html = await page(resp, 422)
    assert (
        "Файл не импортирован: исправьте ошибки и загрузите его снова. "
        "База данных не изменена." in html
    )
    for heading in ("Строка", "Столбец", "Причина"):
        assert f">{heading}</th>" in html
    assert "Обязательное поле не заполнено." in html
    assert "Неверный адрес электронной почты." in html
    assert "Дата ещё не наступила." in html
    assert "Этот номер профбилета уже встречается выше в файле." in html
    assert "is required but the cell is empty" in html  # the English detail, small
    assert re.search(r"<td>3</td>\s*<td>Фамилия</td>", html)
    assert await count(db, Member) == 0
    assert await count(db, AccessLogEntry, AccessLogEntry.action == "import") == 0


async def test_import_without_a_file_or_organisation_says_so(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    form = aiohttp.FormData()
    form.add_field("_csrf", reg.csrf)
    form.add_field("organisation_id", "")
    form.add_field("file", b"", filename="", content_type="application/octet-stream")
    resp = await reg.client.post("/registry/import", data=form, allow_redirects=False)
    html = await page(resp, 422)
    assert field_error(html, "organisation_id") == "Выберите организацию."
    assert field_error(html, "file") == "Выберите файл."


async def test_an_unreadable_file_is_a_file_level_error(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    content = (DATA / "legacy_ole_header.xls").read_bytes()
    resp = await reg.client.post(
        "/registry/import",
        data=upload_form(reg, root.id, content, "old.xls"),
        allow_redirects=False,
    )
    html = await page(resp, 422)
    assert "весь файл" in html
    assert "Формат файла не поддерживается" in html


# --- language, security, catalogues -----------------------------------------------------------


async def test_english_locale_from_the_cookie(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    data = await tree(db)
    client.session.cookie_jar.update_cookies({LOCALE_COOKIE: "en"})
    html = await page(await reg.get("/registry/members"))
    assert '<html lang="en">' in html
    assert "Union members" in html
    assert "Found: 3" in html
    assert "Члены профсоюза" not in html
    html = await page(await reg.get(f"/registry/bodies/{data['presidium'].id}"))
    assert "more than 1/2 of the members" in html
    assert "chair" in html
    resp = await post_form(reg, "/registry/organisations/new", {"name": "", "kind": "primary"})
    html = await page(resp, 422)
    assert field_error(html, "name") == "Please fill in this field."
    client.session.cookie_jar.clear()


async def test_a_form_without_the_csrf_field_is_refused(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    resp = await reg.client.post(
        "/registry/organisations/new",
        data={"name": "Союз", "kind": "regional_council"},
        allow_redirects=False,
    )
    html = await page(resp, 403)
    assert "Форма устарела" in html
    assert await count(db, Organisation) == 0


def _template_keys() -> set[str]:
    keys: set[str] = set()
    sources = [*TEMPLATES.glob("*.html"), ROOT / "server" / "views" / "registry_pages.py"]
    for path in sources:
        keys.update(re.findall(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""", path.read_text()))
    return keys


def test_catalogues_have_the_same_keys_and_cover_every_page() -> None:
    ru = json.loads((CATALOGUES / "ru.json").read_text("utf-8"))
    en = json.loads((CATALOGUES / "en.json").read_text("utf-8"))
    assert set(ru) == set(en)
    assert _template_keys() - set(ru) == set()
    for prefix, values in {
        "role": [r.value for r in Role],
        "seat_role": [r.value for r in SeatRole],
        "org_kind": [k.value for k in OrgKind],
    }.items():
        for value in values:
            assert f"{prefix}.{value}" in ru


def test_every_import_error_code_is_translated() -> None:
    ru = json.loads((CATALOGUES / "ru.json").read_text("utf-8"))
    sources = (ROOT / "registry" / "memberfile.py").read_text() + (
        ROOT / "registry" / "importer.py"
    ).read_text()
    codes = set(re.findall(r'_file_error\(\s*"([a-z_]+)"', sources))
    codes |= set(re.findall(r'_fail\(\s*[^,]+,\s*[^,]+,\s*"([a-z_]+)"', sources))
    codes |= set(re.findall(r'RowError\([^)]*?"([a-z_]+)",\s*f?["\']', sources, re.S))
    assert {"required", "bad_date", "unknown_organisation", "card_elsewhere"} <= codes
    missing = {c for c in codes if f"import.error.{c}" not in ru}
    assert missing == set()


async def test_import_offers_close_organisations_and_maps_a_name_once(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db, "Пермский крайсовпроф")
    apk = await f.org(
        db,
        "Пермская краевая организация Профессионального союза работников агропромышленного "
        "комплекса Российской Федерации",
        kind=OrgKind.MEMBER_ORGANISATION,
        parent=root,
        short_name="Пермская краевая организация Профсоюза работников АПК",
    )
    await f.org(
        db, "Первичная профсоюзная организация СПК «Нива»", kind=OrgKind.PRIMARY, parent=apk
    )
    root_id, apk_id = root.id, apk.id
    await db.commit()
    content = (DATA / "members_org_names_differ.csv").read_bytes()
    name = "Пермская краевая организация Профсоюза работников агропромышленного комплекса РФ"
    resp = await reg.client.post(
        "/registry/import", data=upload_form(reg, root_id, content, "agro.csv")
    )
    html = await resp.text()
    assert resp.status == 422, html
    # The unmatched name, its rows, and a choice with the closest organisation first.
    section = html.split('id="org-mapping"')[1].split("</fieldset>")[0]
    assert f"«{name}»" in section
    assert "(строки 2, 3)" in section
    closest = section.split('<optgroup label="Похожие организации">')[1].split("</optgroup>")[0]
    first = re.search(r'<option value="(\d+)"( selected)?>([^<]*)</option>', closest)
    assert first is not None
    assert int(first[1]) == apk_id
    assert "сходство 100 %" in first[3]
    assert first[2] == " selected"  # all but the same name: chosen in advance
    # The file comes back in the page: no need to choose it again.
    carried = re.search(r'name="carried_data" value="([^"]+)"', html)
    assert carried is not None
    assert "Файл «agro.csv» уже выбран" in html
    assert await count(db, Member) == 0

    form = aiohttp.FormData()
    form.add_field("_csrf", reg.csrf)
    form.add_field("organisation_id", str(root_id))
    form.add_field("carried_name", "agro.csv")
    form.add_field("carried_data", carried[1])
    form.add_field("map_name", name)
    form.add_field("map_org", str(apk_id))
    form.add_field("file", b"", filename="", content_type="application/octet-stream")
    resp = await reg.client.post("/registry/import", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    html = await page(await reg.get(resp.headers["Location"]))
    assert "Импортировано 4" in html
    assert "Названий организаций запомнено: 1." in html
    assert await count(db, Member, Member.organisation_id == apk_id) == 2
    assert await count(db, OrganisationAlias, OrganisationAlias.organisation_id == apk_id) == 1

    # Uploaded again, the file needs no mapping.
    resp = await reg.client.post(
        "/registry/import",
        data=upload_form(reg, root_id, content, "agro.csv"),
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()


async def test_a_carried_file_that_is_not_base64_is_asked_for_again(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    form = aiohttp.FormData()
    form.add_field("_csrf", reg.csrf)
    form.add_field("organisation_id", str(root.id))
    form.add_field("carried_name", "x.csv")
    form.add_field("carried_data", "это не base64!")
    resp = await reg.client.post("/registry/import", data=form, allow_redirects=False)
    html = await page(resp, 422)
    assert "Выберите файл" in html
    assert await count(db, Member) == 0


async def test_short_addresses_and_the_404_page_of_a_logged_in_user(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    response = await reg.get("/bodies", allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"] == "/registry/bodies"
    assert (await reg.get("/bodies")).status == 200
    # An address nobody serves: the header names who is logged in, offers no «Войти».
    missing = await reg.get("/no-such-page")
    html = await missing.text()
    assert missing.status == 404
    assert "Регистратор" in html
    assert 'href="/login"' not in html
    assert "Выйти" in html


async def test_the_body_page_offers_ending_a_term_on_demand(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db, "Союз")
    body = await f.body(db, root)
    running = await f.member(db, root)
    ended = await f.member(db, root)
    await f.seat(db, body, running)
    await f.seat(db, body, ended, end=dt.date.today())
    await db.commit()
    html = await (await reg.get(f"/registry/bodies/{body.id}")).text()
    # One «Завершить…» (folded, its date inside) for the running term, none for the
    # term that ends today.
    assert html.count('<details class="seat-end"') == 1
    assert html.count('name="term_end" type="date"') == 2  # the folded one and «add a seat»
