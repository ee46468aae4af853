"""Finalising a protocol, the secretary's and then the chair's signature over HTTP
(signed in Python exactly as the browser signs), the signed PDF, and verifying it on
the server's page and offline."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from aiohttp import FormData
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.envelope import sign_document
from crypto.instant import format_instant
from meetings import docsign, docverify, pdfstamp
from meetings.docscli import main as docs_main
from meetings.models import Document, DocumentSignature, DocumentState, MeetingState
from meetings.preparation import MeetingService
from meetings.signedpdf import extract
from registry.actor import Actor
from registry.credentials import CredentialService
from server.keys import KEYRING
from tests.ballots.votes_setup import Voter
from tests.factories import Login
from tests.meetings.closed_meeting import HeldMeeting, held_meeting
from tests.server.test_card_pages import fresh_client

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"


def voter(held: HeldMeeting, who: str) -> Voter:
    member = held.vm.setup.chair if who == "chair" else held.vm.setup.secretary
    return next(v for v in held.vm.voters if v.member.id == member.id)


async def finalise(login: Login, held: HeldMeeting, **form: str) -> Any:
    return await login.post(
        f"/meetings/{held.meeting_id}/documents",
        data={"kind": "protocol"} | form,
        allow_redirects=False,
    )


def signature(
    request: dict[str, Any], key_of: Voter, *, when: dt.datetime | None = None, **change: Any
) -> dict[str, Any]:
    payload = {
        "type": "kvorum.document-signature",
        "v": 1,
        "record": request["record_digest"],
        "role": request["role"],
        "member": request["member"],
        "serial": key_of.serial,
        "previous": request["previous"],
        "signed_at": format_instant(when) if when else request["now"],
    } | change
    return sign_document(payload, key_of.key).to_json()


async def sign_as(login: Login, document_id: int, key_of: Voter, **change: Any) -> Any:
    asked = await login.get(f"/api/v1/documents/{document_id}/signing")
    if asked.status != 200:
        return asked
    request = await asked.json()
    return await login.post(
        f"/api/v1/documents/{document_id}/signatures", json=signature(request, key_of, **change)
    )


async def signed_protocol(db: AsyncSession, client: Any, held: HeldMeeting | None = None) -> int:
    """A held meeting's protocol (a closed open vote in it) signed by both officers."""
    held = held or await held_meeting(db, client)
    secretary = await held.as_("secretary", db)
    response = await finalise(secretary, held)
    assert response.status == 303, await response.text()
    document_id = int(re.search(r"/documents/(\d+)", response.headers["Location"])[1])
    await db.commit()
    response = await sign_as(secretary, document_id, voter(held, "secretary"))
    assert response.status == 201, await response.text()
    chair = await held.as_("chair", db)
    response = await sign_as(chair, document_id, voter(held, "chair"))
    assert response.status == 201, await response.text()
    assert (await response.json())["state"] == "signed"
    return document_id


async def test_finalise_sign_and_verify(
    db: AsyncSession, client: Any, aiohttp_client: Any, tmp_path: Any
) -> None:
    held = await held_meeting(db, client)
    secretary = await held.as_("secretary", db)
    response = await finalise(secretary, held)
    assert response.status == 303, await response.text()
    document_id = int(re.search(r"/documents/(\d+)", response.headers["Location"])[1])
    document = await db.get(Document, document_id)
    assert document is not None
    assert document.state is DocumentState.SIGNING
    assert document.title == "Протокол заседания президиума № 1"
    assert document.journal_number == f"1/{document.finalised_at.year}"
    await db.commit()  # SQLite: the test's read transaction would hold the write lock

    # Finalising twice is refused; the journal holds one document.
    again = await finalise(secretary, held)
    assert again.status == 409
    assert await db.scalar(select(func.count()).select_from(Document)) == 1
    await db.commit()

    # The chair cannot sign before the secretary.
    chair = await held.as_("chair", db)
    early = await chair.get(f"/api/v1/documents/{document_id}/signing")
    assert early.status == 403
    secretary = await held.as_("secretary", db)

    # Refusals change nothing: a forged signature, another's key, a clock far off.
    request = await (await secretary.get(f"/api/v1/documents/{document_id}/signing")).json()
    assert request["role"] == "secretary"
    forged = signature(request, voter(held, "secretary"))
    forged["payload"]["role"] = "chair"
    refused = await secretary.post(f"/api/v1/documents/{document_id}/signatures", json=forged)
    assert refused.status == 422, await refused.text()
    wrong = signature(request, voter(held, "chair"))
    refused = await secretary.post(f"/api/v1/documents/{document_id}/signatures", json=wrong)
    assert refused.status == 422
    assert "not a signing key of this member" in (await refused.json())["detail"]
    late = signature(
        request,
        voter(held, "secretary"),
        when=dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2),
    )
    refused = await secretary.post(f"/api/v1/documents/{document_id}/signatures", json=late)
    assert refused.status == 422
    assert await db.scalar(select(func.count()).select_from(DocumentSignature)) == 0
    await db.commit()

    response = await sign_as(secretary, document_id, voter(held, "secretary"))
    assert response.status == 201, await response.text()
    assert (await response.json())["signatures"] == ["secretary"]
    twice = await sign_as(secretary, document_id, voter(held, "secretary"))
    assert twice.status == 403  # the chair signs now

    chair = await held.as_("chair", db)
    response = await sign_as(chair, document_id, voter(held, "chair"))
    assert response.status == 201, await response.text()
    answer = await response.json()
    assert answer["state"] == "signed"
    assert answer["signatures"] == ["secretary", "chair"]

    signed = await chair.get(f"/documents/{document_id}/signed.pdf")
    assert signed.status == 200
    data = await signed.read()
    unsigned = await (await chair.get(f"/documents/{document_id}/unsigned.pdf")).read()
    assert data.startswith(unsigned)
    keyring = client.server.app[KEYRING]
    report = docverify.verify_pdf(data, keys=keyring.public_keys())
    assert report.ok, report.text()
    marks_stand_clear_of_the_text(data, tmp_path)

    # Offline: the same file with the command line, the keys given apart from it.
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    keys = tmp_path / "keys.json"
    keys.write_bytes(await (await client.get("/registry/keys.json")).read())
    assert docs_main(["verify", str(path), "--keys", str(keys)]) == 0
    broken = bytearray(data)
    broken[len(unsigned) // 2] ^= 0x01
    path.write_bytes(bytes(broken))
    assert docs_main(["verify", str(path), "--keys", str(keys)]) == 1

    # The public verify page, with the file uploaded.
    form = FormData()
    form.add_field("file", data, filename="signed.pdf", content_type="application/pdf")
    page = await chair.post("/documents/verify", data=form)
    html = await page.text()
    assert page.status == 200, html
    assert "Документ подлинный" in html
    form = FormData()
    form.add_field("file", bytes(broken), filename="broken.pdf", content_type="application/pdf")
    html = await (await chair.post("/documents/verify", data=form)).text()
    assert "Проверка не пройдена" in html

    # Anyone may check a file, logged in or not; a request without a file is told so.
    stranger = await fresh_client(aiohttp_client, client)
    html = await (await stranger.get("/documents/verify")).text()
    token = re.search(r'name="_csrf" value="([^"]*)"', html)
    form = FormData()
    form.add_field("_csrf", token[1] if token else "")
    form.add_field("file", data, filename="signed.pdf", content_type="application/pdf")
    html = await (await stranger.post("/documents/verify", data=form)).text()
    assert "Документ подлинный" in html
    empty = await stranger.post("/documents/verify", data={"_csrf": token[1] if token else ""})
    assert empty.status == 422
    assert "Выберите файл PDF." in await empty.text()

    # A key revoked since: the server's current revocation list says so.
    await CredentialService(db, Actor.system(), keyring).revoke(
        voter(held, "secretary").serial, "device lost"
    )
    await db.commit()
    form = FormData()
    form.add_field("file", data, filename="signed.pdf", content_type="application/pdf")
    html = await (await chair.post("/documents/verify", data=form)).text()
    assert "Проверка не пройдена" in html
    assert "revoked" in html


def marks_stand_clear_of_the_text(data: bytes, tmp_path: Path) -> None:
    """The signature marks are on the last page of the template's layout, and the
    band they stand in holds their words alone (the template leaves room for them)."""
    path = tmp_path / "marks.pdf"
    path.write_bytes(data)
    html = subprocess.run(  # noqa: S603 - poppler on our own file
        [PDFTOTEXT, "-bbox", str(path), "-"], check=True, capture_output=True
    ).stdout.decode()
    last = html.split("<page ")[-1]
    height = float(re.search(r'height="([0-9.]+)"', last)[1])  # type: ignore[index]
    lines = docsign.stamp_lines(*_files_of(data))
    top = height - pdfstamp.BOTTOM - (2 * pdfstamp.PADDING + pdfstamp.LEADING * len(lines[0]))
    bottom = height - pdfstamp.BOTTOM
    words = [
        (float(y_min), float(y_max), word)
        for y_min, y_max, word in re.findall(
            r'<word xMin="[0-9.]+" yMin="([0-9.]+)" xMax="[0-9.]+" yMax="([0-9.]+)">([^<]*)</word>',
            last,
        )
    ]
    inside = " ".join(w for y_min, y_max, w in words if y_max > top and y_min < bottom)
    expected = " ".join(" ".join(line for box in zip(*lines, strict=True) for line in box).split())
    assert inside.count("Документ подписан электронной подписью") == 2
    assert sorted(inside.split()) == sorted(expected.split())


def _files_of(data: bytes) -> tuple[object, list[object], list[object]]:
    signed = extract(data)
    record, signatures, certificates = (
        json.loads(signed.file(name).data)  # type: ignore[union-attr]
        for name in (docsign.RECORD_FILE, docsign.SIGNATURES_FILE, docsign.CERTIFICATES_FILE)
    )
    return record, signatures, certificates


async def test_finalise_rules(db: AsyncSession, client: Any) -> None:
    held = await held_meeting(db, client, close=False)
    secretary = await held.as_("secretary", db)
    response = await finalise(secretary, held)
    assert response.status == 409  # not before the meeting is closed
    await MeetingService(db, held.actor("chair")).transition(held.meeting_id, MeetingState.CLOSED)
    await db.commit()
    chair = await held.as_("chair", db)
    assert (await finalise(chair, held)).status == 403  # the secretary finalises
    secretary = await held.as_("secretary", db)
    response = await finalise(secretary, held)
    assert response.status == 303
    document_id = int(re.search(r"/documents/(\d+)", response.headers["Location"])[1])
    # Withdrawn, it can be corrected and finalised again under the next number.
    response = await secretary.post(f"/documents/{document_id}/withdraw", allow_redirects=False)
    assert response.status == 303
    response = await finalise(secretary, held)
    assert response.status == 303
    numbers = (await db.scalars(select(Document.journal_seq).order_by(Document.id))).all()
    assert numbers == [1, 2]
    await db.commit()
    # An extract and a resolution of an item; an item of another meeting is not found.
    item = held.vm.setup.item_ids[0]
    assert (await finalise(secretary, held, kind="extract", item=str(item))).status == 303
    assert (await finalise(secretary, held, kind="resolution", item=str(item))).status == 303
    assert (await finalise(secretary, held, kind="resolution", item="999999")).status == 404
    assert (await finalise(secretary, held, kind="nonsense")).status == 422
    # A protocol is of the whole meeting: one with an item would be a second live
    # protocol beside the first. Refused, and nothing is written.
    before = (await db.scalars(select(Document.id))).all()
    await db.commit()
    refused = await finalise(secretary, held, kind="protocol", item=str(item))
    assert refused.status == 422
    assert "whole meeting" in await refused.text()
    assert (await db.scalars(select(Document.id))).all() == before


async def test_document_page_and_journal(db: AsyncSession, client: Any) -> None:
    held = await held_meeting(db, client)
    secretary = await held.as_("secretary", db)
    response = await finalise(secretary, held)
    document_id = int(re.search(r"/documents/(\d+)", response.headers["Location"])[1])
    html = await (await secretary.get(f"/documents/{document_id}")).text()
    assert "Подписать как Секретарь" in html
    assert "/static/js/docsign.js" in html
    assert await sign_as(secretary, document_id, voter(held, "secretary"))
    chair = await held.as_("chair", db)
    html = await (await chair.get(f"/documents/{document_id}")).text()
    assert "Подписать как Председатель" in html
    assert (await sign_as(chair, document_id, voter(held, "chair"))).status == 201
    page = await chair.get(f"/documents/{document_id}")
    html = await page.text()
    assert page.status == 200, html
    assert 'data-role="signed-pdf"' in html
    assert "Подписать как" not in html
    journal = await (await chair.get("/documents")).text()
    assert f"/documents/{document_id}" in journal
    assert "Протокол № 1" in journal


async def test_editor_saves_texts_and_previews(db: AsyncSession, client: Any) -> None:
    held = await held_meeting(db, client)
    secretary = await held.as_("secretary", db)
    mid = held.meeting_id
    item = held.vm.setup.item_ids[1]
    html = await (await secretary.get(f"/meetings/{mid}/documents")).text()
    assert "Тексты протокола" in html
    assert 'data-role="finalise-protocol"' in html
    # Item 1 decided something: its resolution and extract are offered; item 2 did not.
    assert 'data-role="finalise-resolution-1"' in html
    assert 'data-role="finalise-extract-1"' in html
    assert 'data-role="finalise-resolution-2"' not in html
    assert 'data-role="finalise-extract-2"' not in html
    preview = await secretary.post(
        f"/meetings/{mid}/documents/preview",
        data={"item": str(item), "heard": "Доклад о <подписке>.", "decision": "1. Увеличить."},
    )
    fragment = await preview.text()
    assert preview.status == 200, fragment
    assert "Доклад о &lt;подписке&gt;." in fragment  # escaped, and not saved
    assert "2.1. Увеличить." in " ".join(re.sub(r"<[^>]+>", " ", fragment).split())
    html = await (await secretary.get(f"/meetings/{mid}/protocol")).text()
    assert "подписке" not in html
    saved = await secretary.post(
        f"/meetings/{mid}/documents/texts",
        data={"item": str(item), "heard": "Доклад о подписке."},
        allow_redirects=False,
    )
    assert saved.status == 303
    html = await (await secretary.get(f"/meetings/{mid}/protocol")).text()
    assert "Доклад о подписке." in html
    pdf = await secretary.get(f"/meetings/{mid}/protocol.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF-")
    docx = await secretary.get(f"/meetings/{mid}/items/{item}/resolution.docx")
    assert docx.status == 200
    assert (await docx.read()).startswith(b"PK")
    # Once the protocol is finalised its texts are fixed.
    await finalise(secretary, held)
    refused = await secretary.post(
        f"/meetings/{mid}/documents/texts", data={"item": str(item), "heard": "Иначе."}
    )
    assert refused.status == 409
