"""Elections over HTTP: the JSON API (its error shape, its OpenAPI entries) and the
pages — the secretary prepares an election on the meeting page, nominates, records
consent, closes the nomination and proposes the commission; refusals come back in
Russian next to the form and change nothing; a member sees the candidates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.elections.lifecycle import TRANSITIONS, Mover
from meetings.elections.models import Candidate, Commission, Election, ElectionState
from meetings.models import MeetingEvent
from meetings.room import RoomService
from registry.models import Role
from tests import factories as f
from tests.server.test_meeting_pages import count, field_error, page, post_form

ROOT = Path(__file__).resolve().parent.parent.parent
CATALOGUES = ROOT / "web" / "i18n"


async def _people(client: Any, db: AsyncSession) -> tuple[f.MeetingSetup, Any]:
    """A meeting in session and its secretary logged in on ``client``."""
    setup = await f.meeting(db, size=6, items=2)
    secretary = await f.login(
        client, db, await f.account(db, Role.MEMBER, member_obj=setup.secretary)
    )
    return setup, secretary


async def test_the_api_prepares_an_election_and_refuses_with_the_error_shape(
    client: Any, db: AsyncSession
) -> None:
    setup, secretary = await _people(client, db)
    mid = setup.meeting_id
    ids = [m.id for m in setup.members]
    body = {"item_id": setup.item_ids[0], "office": "председатель", "form": "one_of"}
    response = await secretary.post(f"/api/v1/meetings/{mid}/elections", json=body)
    assert response.status == 201, await response.text()
    election = await response.json()
    eid = election["id"]
    assert election["state"] == "draft"
    assert election["rule"] == {
        "base": "took_part",
        "numerator": 1,
        "denominator": 2,
        "strict": True,
    }
    assert election["transitions"] == ["candidates_closed"]
    assert election["next_step"] == "preparer"

    # Bad input: the one error shape, a reason per field, nothing stored.
    for bad, field in [
        (body | {"seats": 3}, "body"),
        (body | {"form": "ranked"}, "form"),
        (body | {"office": ""}, "office"),
        (body | {"extra": 1}, "extra"),
    ]:
        response = await secretary.post(f"/api/v1/meetings/{mid}/elections", json=bad)
        assert response.status == 422
        error = await response.json()
        assert error["error"] == "invalid_input"
        assert field in error["fields"], error
    assert await count(db, Election) == 1

    for who in (ids[4], ids[5]):
        response = await secretary.post(
            f"/api/v1/elections/{eid}/candidates",
            json={"member_id": who, "nominated_by": "самовыдвижение", "bio": "Стаж 12 лет"},
        )
        assert response.status == 201, await response.text()
    candidates = (await response.json())["candidates"]
    response = await secretary.post(
        f"/api/v1/elections/{eid}/transition", json={"target": "candidates_closed"}
    )
    assert response.status == 409
    error = await response.json()
    assert error["error"] == "consent_missing"
    assert "is not recorded" in error["detail"]
    for c in candidates:
        response = await secretary.post(
            f"/api/v1/elections/{eid}/candidates/{c['id']}/consent", json={"note": "устно"}
        )
        assert response.status == 200
    response = await secretary.post(f"/api/v1/elections/{eid}/transition", json={"target": "open"})
    assert (await response.json())["error"] == "election_state"
    response = await secretary.post(
        f"/api/v1/elections/{eid}/transition", json={"target": "candidates_closed"}
    )
    assert response.status == 200
    assert (await response.json())["state"] == "candidates_closed"

    # A candidate cannot count: refused naming the field, nothing opened.
    response = await secretary.post(
        f"/api/v1/elections/{eid}/commission", json={"member_ids": [ids[1], ids[2], ids[4]]}
    )
    assert response.status == 422
    error = await response.json()
    assert error["fields"] == {"member_ids.2": "a candidate"}
    assert await count(db, Commission) == 0
    # Nobody is present yet: no quorum, no vote, no commission.
    response = await secretary.post(
        f"/api/v1/elections/{eid}/commission", json={"member_ids": ids[:3]}
    )
    assert response.status == 409
    assert "quorum" in (await response.json())["detail"]
    assert await count(db, Commission) == 0

    room = RoomService(db, setup.actor(setup.secretary))
    for m in ids[:5]:
        await room.register_in_person(mid, m, True)
    await db.commit()
    response = await secretary.post(
        f"/api/v1/elections/{eid}/commission", json={"member_ids": ids[:3]}
    )
    assert response.status == 201, await response.text()
    out = await response.json()
    assert out["commission"]["state"] == "proposed"
    assert out["commission"]["threshold"] == 2
    vote_id = out["commission"]["vote_id"]
    response = await secretary.get(f"/api/v1/meetings/{mid}/votes")
    votes = await response.json()
    assert [v["vote"] for v in votes] == [vote_id]
    assert votes[0]["question"].startswith("Об избрании счётной комиссии (председатель)")

    response = await secretary.get(f"/api/v1/meetings/{mid}/elections")
    assert [e["id"] for e in await response.json()] == [eid]
    response = await secretary.get("/api/v1/elections/999999")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_openapi_lists_the_election_operations(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    assert "post" in paths["/api/v1/meetings/{meeting_id}/elections"]
    assert "post" in paths["/api/v1/elections/{election_id}/commission"]
    assert "delete" in paths["/api/v1/elections/{election_id}/candidates/{candidate_id}"]
    assert "ElectionOut" in document["components"]["schemas"]
    assert "CommissionIn" in document["components"]["schemas"]


async def test_the_secretary_prepares_an_election_on_the_pages(
    client: Any, db: AsyncSession
) -> None:
    setup, secretary = await _people(client, db)
    mid = setup.meeting_id
    html = await page(await secretary.get(f"/meetings/{mid}"))
    assert "Подготовить выборы" in html
    html = await page(
        await secretary.get(f"/meetings/{mid}/elections/new?item={setup.item_ids[0]}")
    )
    assert "Вопрос повестки" in html

    form = {
        "kind": "election",
        "item_id": str(setup.item_ids[0]),
        "office": "члены президиума",
        "seats": "2",
        "form": "one_of",
        "rule": "more_than_half",
        "base": "took_part",
    }
    html = await page(await post_form(secretary, f"/meetings/{mid}/elections/new", form), 422)
    assert "«Один из нескольких» избирает одного" in html
    assert await count(db, Election) == 0
    response = await post_form(
        secretary, f"/meetings/{mid}/elections/new", form | {"form": "approve_each"}
    )
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    eid = int(location.split("/")[2].split("?")[0])

    html = await page(await secretary.get(location))
    assert "Выборы: члены президиума" in html
    assert "Выдвижение кандидатов" in html or "выдвижение кандидатов" in html
    assert "«за» — более половины принявших участие в голосовании." in html

    candidate = setup.members[4]
    nominate = {
        "member_id": str(candidate.id),
        "name": "",
        "bio": "Председатель профкома цеха",
        "nominated_by": "",
    }
    html = await page(await post_form(secretary, f"/elections/{eid}/candidates", nominate), 422)
    assert field_error(html, "nominated_by") == "Заполните это поле."
    assert await count(db, Candidate) == 0
    response = await post_form(
        secretary, f"/elections/{eid}/candidates", nominate | {"nominated_by": "Сидоров"}
    )
    assert response.status == 303
    response = await post_form(
        secretary,
        f"/elections/{eid}/candidates",
        nominate | {"nominated_by": "Сидоров", "consent": "on"},
    )
    html = await page(response, 409)
    assert "уже выдвинут" in html
    assert await count(db, Candidate) == 1

    # Closing with a consent missing is refused with the reason, in Russian.
    html = await page(
        await post_form(secretary, f"/elections/{eid}/transition", {"target": "candidates_closed"}),
        409,
    )
    assert "Не у всех кандидатов записано согласие." in html
    cid = await db.scalar(select(Candidate.id))
    await db.commit()
    response = await post_form(
        secretary, f"/elections/{eid}/candidates/{cid}/consent", {"note": "письменное заявление"}
    )
    assert response.status == 303
    response = await post_form(
        secretary,
        f"/elections/{eid}/candidates",
        {"name": "Лебедева Ольга Ивановна", "nominated_by": "самовыдвижение", "consent": "on"},
    )
    assert response.status == 303
    response = await post_form(
        secretary, f"/elections/{eid}/transition", {"target": "candidates_closed"}
    )
    assert response.status == 303

    # The commission: a candidate in the list is refused, naming them.
    html = await page(await secretary.get(f"/elections/{eid}"))
    assert "Предложить и открыть голосование" in html
    assert f'id="f-cm-{candidate.id}"' not in html
    response = await secretary.client.post(
        f"/elections/{eid}/commission",
        data=[("_csrf", secretary.csrf)]
        + [("member_id", str(m.id)) for m in setup.members[1:3]]
        + [("member_id", str(candidate.id))],
        allow_redirects=False,
    )
    html = await page(response, 422)
    assert f"{candidate.full_name}: кандидат на этих выборах" in html
    assert await count(db, Commission) == 0

    # The meeting's record tells the story.
    html = await page(await secretary.get(f"/meetings/{mid}/record"))
    assert "Подготовлены выборы: члены президиума" in html
    assert f"Выдвинут кандидат: {candidate.full_name}" in html
    assert "Записано согласие кандидата" in html

    # A member of the body (logged in instead) sees the candidates, their consent, no forms.
    member = await f.login(
        client, db, await f.account(db, Role.MEMBER, member_obj=setup.members[3])
    )
    html = await page(await member.get(f"/elections/{eid}"))
    assert "Председатель профкома цеха" in html
    assert "Лебедева Ольга Ивановна" in html
    assert "согласие получено" in html
    assert 'data-role="nominate"' not in html
    assert 'data-role="commission-form"' not in html
    resp = await post_form(member, f"/elections/{eid}/transition", {"target": "draft"})
    html = await page(resp, 403)
    assert "Это делает не тот, кто просит." in html
    html = await page(await member.get("/elections"))
    assert "Выборы: члены президиума" in html

    kinds = (
        await db.scalars(select(MeetingEvent.kind).where(MeetingEvent.kind.like("election.%")))
    ).all()
    await db.commit()
    assert kinds.count("election.nominated") == 2


def test_every_election_key_is_in_both_catalogues() -> None:
    ru = json.loads((CATALOGUES / "ru.json").read_text("utf-8"))
    en = json.loads((CATALOGUES / "en.json").read_text("utf-8"))
    assert set(ru) == set(en)
    keys = set()
    for path in [
        ROOT / "web" / "templates" / "election.html",
        ROOT / "web" / "templates" / "election_form.html",
        ROOT / "web" / "templates" / "elections.html",
        ROOT / "server" / "views" / "election_pages.py",
        ROOT / "server" / "views" / "election_words.py",
    ]:
        text = path.read_text("utf-8")
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""", text))
        keys |= set(re.findall(r'"((?:election|record)\.[a-z_]+\.[a-z_.]*[a-z_])"', text))
    for state in ElectionState:
        keys |= {f"election.state.{state.value}", f"election.next.{state.value}"}
    for at, to in TRANSITIONS:
        if TRANSITIONS[(at, to)] is Mover.PREPARER:
            keys |= {f"election.go.{to.value}", f"election.go.{to.value}_question"}
    for kind in ("prepared", "nominated", "consent", "withdrawn", "state"):
        keys.add(f"record.election.{kind}")
    for kind in ("proposed", "constituted", "rejected"):
        keys.add(f"record.commission.{kind}")
    assert keys - set(ru) == set()
    assert keys - set(en) == set()


async def test_an_absentee_election_and_its_appointed_commission_on_the_pages(
    client: Any, db: AsyncSession
) -> None:
    setup = await f.meeting(db, size=5, items=1)
    member = await f.login(
        client, db, await f.account(db, Role.MEMBER, member_obj=setup.members[3])
    )
    assert (await member.get("/elections/new")).status == 403
    secretary = await f.login(
        client, db, await f.account(db, Role.MEMBER, member_obj=setup.secretary)
    )
    html = await page(await secretary.get(f"/elections/new?body={setup.body.id}"))
    assert "Выборы между заседаниями" in html
    form = {
        "kind": "election",
        "body_id": str(setup.body.id),
        "office": "делегаты конференции",
        "seats": "2",
        "form": "approve_each",
        "rule": "more_than_half",
        "base": "took_part",
        "closes_at": "когда-нибудь",
    }
    html = await page(await post_form(secretary, "/elections/new", form), 422)
    assert field_error(html, "closes_at") == "Укажите дату и время окончания."
    assert await count(db, Election) == 0
    response = await post_form(
        secretary, "/elections/new", form | {"closes_at": "2099-05-01T18:00"}
    )
    assert response.status == 303, await response.text()
    eid = int(response.headers["Location"].split("/")[2].split("?")[0])
    html = await page(await secretary.get(f"/elections/{eid}"))
    assert "заочно, до 01.05.2099 18:00" in html  # in the union's zone, as typed
    for m in setup.members[3:]:
        response = await post_form(
            secretary,
            f"/elections/{eid}/candidates",
            {"member_id": str(m.id), "nominated_by": "президиум", "consent": "on"},
        )
        assert response.status == 303
    response = await post_form(
        secretary, f"/elections/{eid}/transition", {"target": "candidates_closed"}
    )
    assert response.status == 303
    html = await page(await secretary.get(f"/elections/{eid}"))
    assert "Назначить комиссию" in html
    assert "Предложить и открыть голосование" not in html
    # Two are not a commission: refused, nothing recorded.
    response = await secretary.client.post(
        f"/elections/{eid}/commission/appoint",
        data=[("_csrf", secretary.csrf)] + [("member_id", str(m.id)) for m in setup.members[:2]],
        allow_redirects=False,
    )
    html = await page(response, 422)
    assert "Выберите от 3 до 5 членов комиссии." in html
    assert await count(db, Commission) == 0
    response = await secretary.client.post(
        f"/elections/{eid}/commission/appoint",
        data=[("_csrf", secretary.csrf), ("threshold", "3")]
        + [("member_id", str(m.id)) for m in setup.members[:3]],
        allow_redirects=False,
    )
    assert response.status == 303
    html = await page(await secretary.get(f"/elections/{eid}"))
    assert f"Назначена: {setup.secretary.full_name}" in html
    assert "Подсчёт: не менее 3 из 3 членов комиссии." in html
    assert 'data-state="commission_constituted"' in html
