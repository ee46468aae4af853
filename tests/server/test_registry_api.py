"""The registry's JSON API end to end: real app, real database, real sessions."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from sqlalchemy import select

from registry.models import Invitation, Role, SeatRole, Session
from server.auth import sweep
from server.invitations import issue_invitation
from server.keys import SETTINGS
from tests import factories as f


async def registrar(client: Any, db: Any) -> f.Login:
    acc = await f.account(db, Role.REGISTRAR, name="Регистратор")
    return await f.login(client, db, acc)


async def test_anonymous_gets_401_in_error_shape(client: Any) -> None:
    resp = await client.get("/api/v1/members")
    assert resp.status == 401
    assert await resp.json() == {
        "error": "not_authenticated",
        "detail": "log in to continue",
        "fields": {},
        "message": "Вы не вошли в систему",
    }


async def test_registrar_creates_tree_member_body_and_seat(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    resp = await reg.post(
        "/api/v1/organisations",
        json={"name": "Пермский крайсовпроф", "kind": "regional_council"},
    )
    assert resp.status == 201, await resp.text()
    root = await resp.json()
    resp = await reg.post(
        "/api/v1/organisations",
        json={"name": "Профавиа", "kind": "member_organisation", "parent_id": root["id"]},
    )
    assert resp.status == 201
    child = await resp.json()
    assert child["root_id"] == root["id"]

    resp = await reg.post(
        "/api/v1/members",
        json={
            "organisation_id": child["id"],
            "surname": "Эмир-Вели",
            "name": "Сейран",
            "patronymic": "Рустемович",
            "card_number": "№ 59-1",
            "email": "S.Emir@Example.RU",
            "phone": "8 (342) 212-34-56",
        },
    )
    assert resp.status == 201, await resp.text()
    m = await resp.json()
    assert m["card_number"] == "59-1"
    assert m["email"] == "s.emir@example.ru"
    assert m["phone"] == "+73422123456"

    resp = await reg.post(
        "/api/v1/bodies",
        json={"organisation_id": root["id"], "kind": "presidium", "name": "Президиум"},
    )
    assert resp.status == 201
    b = await resp.json()
    assert b["quorum"] == {"numerator": 1, "denominator": 2, "strict": True}
    resp = await reg.post(
        f"/api/v1/bodies/{b['id']}/seats",
        json={"member_id": m["id"], "role": "chair", "term_start": "2025-03-20"},
    )
    assert resp.status == 201, await resp.text()
    resp = await reg.get(f"/api/v1/bodies/{b['id']}/composition")
    comp = await resp.json()
    assert comp["size"] == 1
    assert comp["quorum_required"] == 1
    assert comp["seats"][0]["member_name"] == "Эмир-Вели Сейран Рустемович"

    resp = await reg.get("/api/v1/members", params={"q": "эмир"})
    page = await resp.json()
    assert [i["id"] for i in page["items"]] == [m["id"]]


async def test_invalid_member_is_rejected_with_fields_and_nothing_changes(
    client: Any, db: Any
) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    resp = await reg.post(
        "/api/v1/members",
        json={
            "organisation_id": root.id,
            "surname": "Ив4нов",
            "name": "",
            "card_number": "1",
            "email": "not-an-email",
        },
    )
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "invalid_input"
    assert set(body["fields"]) == {"surname", "name", "email"}
    resp = await reg.get("/api/v1/members")
    assert (await resp.json())["total"] == 0


async def test_duplicate_card_is_a_conflict(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await f.member(db, root, card="77")
    await db.commit()
    resp = await reg.post(
        "/api/v1/members",
        json={"organisation_id": root.id, "surname": "Петров", "name": "Пётр", "card_number": "77"},
    )
    assert resp.status == 409
    assert (await resp.json())["fields"] == {"card_number": "already in use"}


async def test_member_sees_self_full_and_fellows_by_name_only(client: Any, db: Any) -> None:
    root = await f.org(db)
    presidium = await f.body(db, root)
    me = await f.member(db, root, "Иванов", email="me@example.ru")
    fellow = await f.member(db, root, "Петров", email="fellow@example.ru")
    stranger = await f.member(db, root, "Сидоров")
    await f.seat(db, presidium, me)
    await f.seat(db, presidium, fellow, SeatRole.SECRETARY)
    acc = await f.account(db, Role.MEMBER, member_obj=me)
    login = await f.login(client, db, acc)

    own = await (await login.get(f"/api/v1/members/{me.id}")).json()
    assert own["visibility"] == "full"
    assert own["email"] == "me@example.ru"
    other = await (await login.get(f"/api/v1/members/{fellow.id}")).json()
    assert other["visibility"] == "name"
    assert other["email"] is None
    assert other["card_number"] is None
    assert [r["role"] for r in other["roles"]] == ["secretary"]
    resp = await login.get(f"/api/v1/members/{stranger.id}")
    assert resp.status == 404
    listed = await (await login.get("/api/v1/members")).json()
    assert {i["id"] for i in listed["items"]} == {me.id, fellow.id}
    resp = await login.post(
        "/api/v1/members",
        json={"organisation_id": root.id, "surname": "Новиков", "name": "Ян", "card_number": "9"},
    )
    assert resp.status == 403


async def test_access_log_records_reads_and_refuses_rewrites(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    m = await f.member(db, root)
    await db.commit()
    await reg.get(f"/api/v1/members/{m.id}")
    log = await (await reg.get("/api/v1/access-log", params={"member_id": m.id})).json()
    actions = [e["action"] for e in log["items"]]
    assert actions[0] == "read"
    assert log["items"][0]["actor"] == "Регистратор"


async def test_csrf_and_origin_are_checked(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    payload = {"name": "Союз", "kind": "regional_council"}
    resp = await client.post("/api/v1/organisations", json=payload)
    assert resp.status == 403
    assert (await resp.json())["error"] == "csrf_failed"
    resp = await reg.post(
        "/api/v1/organisations", json=payload, headers={"Origin": "https://evil.example"}
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "bad_origin"


async def test_openapi_is_generated_from_models(client: Any) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    member_in = doc["components"]["schemas"]["MemberIn"]
    assert "card_number" in member_in["required"]
    op = doc["paths"]["/api/v1/members"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MemberIn"
    }


async def test_security_headers_and_request_id(client: Any) -> None:
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert resp.status == 200
    assert resp.headers["X-Request-Id"] == "abc-123"
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    resp = await client.get("/api/v1/nowhere")
    assert resp.status == 404
    assert "Content-Security-Policy" in resp.headers
    assert (await resp.json())["error"] == "not_found"


async def test_body_limit_and_malformed_json(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    resp = await reg.post(
        "/api/v1/organisations",
        data=b"{" + b" " * (128 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 413
    assert (await resp.json())["error"] == "body_too_large"
    resp = await reg.post(
        "/api/v1/organisations", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 422
    assert (await resp.json())["error"] == "malformed_json"


async def test_import_api_reports_rows_and_changes_nothing(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    bad = "ФИО;№ профбилета;E-mail\nИванов Иван;1;a@b.ru\nПетров;2;nope\n".encode("cp1251")
    resp = await reg.post(
        f"/api/v1/organisations/{root.id}/members/import", data={"file": io.BytesIO(bad)}
    )
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "member_file_rejected"
    assert set(body["fields"]) == {"row 3, ФИО", "row 3, E-mail"}
    assert (await (await reg.get("/api/v1/members")).json())["total"] == 0

    good = "ФИО;№ профбилета\nИванов Иван;1\nПетров Пётр;2\n".encode("cp1251")
    resp = await reg.post(
        f"/api/v1/organisations/{root.id}/members/import",
        data={"file": io.BytesIO(good)},
        params={"create_orgs": "false"},
    )
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {
        "imported": 2,
        "updated": 0,
        "unchanged": 0,
        "organisations_created": 0,
    }
    resp = await reg.get(f"/api/v1/organisations/{root.id}/members/export")
    assert resp.headers["Content-Type"].startswith("text/csv")
    text = await resp.text()
    assert text.splitlines()[1].startswith("Иванов;Иван;;1;")


async def test_sweep_ends_idle_sessions_and_drops_spent_links(client: Any, db: Any) -> None:
    settings = client.server.app[SETTINGS]
    acc = await f.account(db, Role.MEMBER)
    reg = await f.login(client, db, acc)
    assert (await reg.get("/api/v1/me")).status == 200
    await issue_invitation(db, acc, settings, issued_by="tests")
    row = await db.scalar(select(Session))
    row.last_seen_at -= dt.timedelta(hours=1)
    link = await db.scalar(select(Invitation))
    link.expires_at -= dt.timedelta(days=4)
    await db.commit()
    assert await sweep(db, settings) == (1, 1)
    await db.commit()
    assert (await reg.get("/api/v1/me")).status == 401


async def test_hostile_values_are_refused_not_crashing(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    cases = [
        {"organisation_id": 2**40, "surname": "А", "name": "Б", "card_number": "1"},
        {"organisation_id": root.id, "surname": "А\x00", "name": "Б", "card_number": "1"},
        {"organisation_id": root.id, "surname": "А", "name": "Б", "card_number": "1", "x": 1},
        {"organisation_id": "один", "surname": "А", "name": "Б", "card_number": "1"},
    ]
    for payload in cases:
        resp = await reg.post("/api/v1/members", json=payload)
        assert resp.status == 422, payload
    for path in ("/api/v1/members/99999999999999", "/api/v1/members?q=%00", "/api/v1/bodies/0"):
        resp = await reg.get(path)
        assert resp.status in (404, 422), path
        assert set(await resp.json()) == {"error", "detail", "fields", "message"}
    assert (await (await reg.get("/api/v1/members")).json())["total"] == 0


async def test_malformed_multipart_and_unicode_digit_ids(client: Any, db: Any) -> None:
    reg = await registrar(client, db)
    root = await f.org(db)
    await db.commit()
    resp = await reg.post(
        f"/api/v1/organisations/{root.id}/members/import",
        data=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data"},  # no boundary
    )
    assert resp.status == 422
    assert (await resp.json())["error"] == "malformed_form"
    # Ids are ASCII digits in the route itself: anything else matches no route at all.
    for odd in ("³", "٣", "-1", "1e3"):
        resp = await reg.get(f"/api/v1/organisations/{odd}")
        assert resp.status == 404, odd
        assert (await resp.json())["error"] == "not_found"
    # Digits that are no id (zero, beyond 32 bits) are refused as such.
    for odd in ("0", "99999999999"):
        resp = await reg.get(f"/api/v1/organisations/{odd}")
        assert resp.status == 422, odd
        assert (await resp.json())["fields"] == {"org_id": "not an id"}


async def test_a_composition_day_is_an_iso_date_not_a_number(client: Any, db: Any) -> None:
    union = await f.org(db)
    body = await f.body(db, union)
    login = await f.login(client, db, await f.account(db, Role.REGISTRAR))
    path = f"/api/v1/bodies/{body.id}/composition"
    assert (await login.get(path, params={"on": "2024-01-01"})).status == 200
    for bad in ("0", "1700000000", "2024-1-1"):
        response = await login.get(path, params={"on": bad})
        assert response.status == 422, bad
        assert "on" in str((await response.json())["fields"]), bad
