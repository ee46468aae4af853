"""A secret election end to end in Chromium, every person in their own browser with their
own signing key: the three members of the counting commission (threshold 2) make the
election key on its page in their three browsers (transport keys, dealing, shares checked,
each share kept and its backup file downloaded), the body's chair opens the vote, one
voter challenges their encrypted ballot (it is spoiled and shows what it held) and then
casts, the others cast, the chair closes, two of the three count in their browsers (one
of them restoring a lost share from its backup file), and the count page shows the
result checked. The audit bundle passes the offline verifier.
Screenshots at 1280 and 360 px are saved for a person to look at."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.secretverify import verify_secret_bundle
from meetings.elections.models import (
    Commission,
    CommissionBasis,
    CommissionMember,
    CommissionState,
    Election,
    ElectionState,
)
from meetings.elections.schemas import AbsenteeElectionIn, CandidateIn, CommissionIn, ElectionIn
from meetings.elections.services import ElectionService
from registry.models import Member, Role
from registry.orm import utcnow
from server.keys import KEYRING
from tests import factories as f
from tests.factories import LiveServer
from tests.web.secret_steps import PASSPHRASE, cast, make_key
from tests.web.shots import shots
from tests.web.test_vote_browser import enrol_key, logged_in, open_room

OPEN = "Открыть тайное голосование"
CLOSE = "Закрыть тайное голосование"
# Empty this browser's store of commission shares (a lost or replaced device).
_FORGET_SHARES = """() => new Promise((resolve, reject) => {
  const request = indexedDB.open("kvorum-commission");
  request.onsuccess = () => {
    const tx = request.result.transaction("shares", "readwrite");
    tx.objectStore("shares").clear();
    tx.oncomplete = () => { request.result.close(); resolve(true); };
    tx.onerror = () => reject(tx.error);
  };
  request.onerror = () => reject(request.error);
})"""


async def _fits_a_phone(page: Any, inside: str) -> None:
    """At 360 px the table holding ``inside`` shows all its columns, not scrolled aside."""
    await page.set_viewport_size({"width": 360, "height": 900})
    fits = await page.evaluate(
        """(inside) => { const wrap = document.querySelector(inside).closest('.table-wrap');
                         return wrap.scrollWidth <= wrap.clientWidth; }""",
        inside,
    )
    await page.set_viewport_size({"width": 1280, "height": 900})
    assert fits, f"the table of {inside} scrolls sideways at 360 px"


async def _election(
    db: AsyncSession,
    live: LiveServer,
    setup: f.MeetingSetup,
    commission: list[Member],
    candidates: list[str],
) -> int:
    """An election of the body's chair between meetings, «за»/«против» per candidate,
    its commission appointed (threshold 2); returns its id."""
    chair = setup.members[0]
    elections = ElectionService(db, setup.actor(chair, Role.CHAIR), live.server.app[KEYRING])
    election = await elections.create_absentee(
        AbsenteeElectionIn(
            body_id=setup.body.id,
            office="председатель комитета",
            form="approve_each",
            closes_at=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3),
        )
    )
    for name in candidates:
        await elections.nominate(
            election.id, CandidateIn(name=name, nominated_by="самовыдвижение", consent=True)
        )
    await elections.transition(election.id, ElectionState.CANDIDATES_CLOSED)
    await elections.appoint_commission(
        election.id, CommissionIn(member_ids=[m.id for m in commission], threshold=2)
    )
    await db.commit()
    return election.id


async def test_a_secret_election_is_keyed_cast_challenged_and_counted_in_the_browsers(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    setup = await f.meeting(db, size=5, items=1)
    chair_m, *rest = setup.members
    commission = rest[:3]  # the secretary and two members count
    voter_m = rest[3]
    chair_context = await logged_in(browser, live_server, db, chair_m, Role.CHAIR, Role.MEMBER)
    contexts = [await logged_in(browser, live_server, db, m) for m in commission]
    voter_context = await logged_in(browser, live_server, db, voter_m)
    for context in [chair_context, *contexts, voter_context]:
        await enrol_key(context, live_server)

    first, second = "Лебедева Ольга Ивановна", "Орлов Пётр Сергеевич"
    eid = await _election(db, live_server, setup, commission, [first, second])

    # --- the commission makes the key, each member in their own browser ----------------
    pages = []
    for context in contexts:
        page = await context.new_page()
        await page.goto(live_server.url(f"/elections/{eid}"))
        await page.get_by_role("link", name="Создание ключа выборов").click()
        await page.wait_for_url(f"**/elections/{eid}/key")
        pages.append(page)
    for n, page in enumerate(pages):
        await make_key(page, tmp_path, f"member-{n + 1}")
    progress = pages[0].locator('[data-role="progress"] tr')
    await expect(progress).to_have_count(3)
    for row in await progress.all():
        await expect(row).to_have_attribute("data-dealt", "yes")
    await shots(pages[0], tmp_path, "secret-key-dealt")
    await _fits_a_phone(pages[0], '[data-role="progress"]')
    await pages[0].get_by_role("button", name="Завершить создание ключа").click()
    for page in pages:
        await expect(page.locator("#secret-key")).to_have_attribute("data-done", "yes")
        await expect(page.locator('[data-role="step"]')).to_contain_text("Готово")
    await shots(pages[1], tmp_path, "secret-key-done")

    # --- the chair opens the vote -------------------------------------------------------
    chair = await chair_context.new_page()
    await chair.goto(live_server.url(f"/elections/{eid}"))
    await expect(chair.get_by_role("button", name="Закрыть тайное голосование")).to_have_count(0)
    await chair.get_by_role("button", name="Открыть тайное голосование").click()
    state = chair.locator('[data-role="election-state"]')
    await expect(state).to_have_attribute("data-state", "open")
    await expect(chair.get_by_role("button", name="Открыть тайное голосование")).to_have_count(0)

    # --- a voter challenges the encryption, then casts ----------------------------------
    voter = await voter_context.new_page()
    # Everything the voter's browser sends, to show that no plain choice leaves it.
    sent: list[tuple[str, str]] = []
    voter.on("request", lambda r: sent.append((r.url, r.post_data or "")))
    await voter.goto(live_server.url(f"/elections/{eid}"))
    await voter.get_by_role("link", name="Перейти к бюллетеню").click()
    await voter.wait_for_url(f"**/elections/{eid}/ballot")
    await expect(voter.locator('[data-role="checked"]')).to_contain_text("sha256:")
    rows = voter.locator('[data-role="choices"] fieldset')
    await expect(rows).to_have_count(2)
    # Two «за» for one seat are refused before anything is encrypted.
    await rows.nth(0).get_by_label("за", exact=True).check()
    await rows.nth(1).get_by_label("за", exact=True).check()
    await voter.get_by_role("button", name="Зашифровать бюллетень").click()
    await expect(voter.locator('[data-role="message"]')).to_have_text(
        "Отметьте «за» не более чем 1."
    )
    await rows.nth(1).get_by_label("против", exact=True).check()
    await voter.get_by_role("button", name="Зашифровать бюллетень").click()
    await voter.get_by_role("button", name="Проверить шифрование").click()
    audit = voter.locator('[data-role="audit"]')
    await expect(audit).to_have_attribute("data-same", "yes")
    await expect(audit).to_contain_text(f"{first} — за; {second} — против")
    await expect(voter.locator('[data-role="message"]')).to_contain_text("зашифрован заново")
    await shots(voter, tmp_path, "secret-ballot-challenged")
    await voter.get_by_role("button", name="Отправить бюллетень").click()
    await expect(voter.locator('[data-role="message"]')).to_contain_text("Бюллетень принят")
    await expect(voter.locator('[data-role="receipt-check"]')).to_have_attribute("data-ok", "yes")
    await shots(voter, tmp_path, "secret-ballot-cast")

    # --- the others cast; the chair's page shows who has voted, not how -----------------
    await cast(chair, live_server, eid, ["за", "против"])
    await cast(pages[0], live_server, eid, ["против", "за"])
    await cast(pages[1], live_server, eid, ["за", "против"])
    await chair.goto(live_server.url(f"/elections/{eid}"))
    voted = chair.locator('[data-role="secret-voted"]')
    await expect(voted).to_have_attribute("data-count", "4")
    await expect(voted).to_contain_text(voter_m.full_name)
    await shots(chair, tmp_path, "secret-election-open")

    # --- the chair closes; two of the three count ---------------------------------------
    chair.on("dialog", lambda dialog: dialog.accept())
    await chair.get_by_role("button", name="Закрыть тайное голосование").click()
    await expect(state).to_have_attribute("data-state", "closed")
    # The second member's browser has lost its share: restored from the backup file.
    await pages[1].evaluate(_FORGET_SHARES)
    for n, page in enumerate(pages[:2]):
        await page.goto(live_server.url(f"/elections/{eid}"))
        await page.get_by_role("link", name="Подсчёт голосов").click()
        await page.wait_for_url(f"**/elections/{eid}/count")
        await expect(page.locator("#secret-count")).to_have_attribute("data-board", "ok")
        await expect(page.locator('[data-role="board"]')).to_contain_text(
            "бюллетеней учтено 4, испорчено при проверке 1"
        )
        if n == 1:
            restore = page.locator('[data-role="restore"]')
            await expect(restore).to_be_visible()
            await expect(page.locator('[data-role="message"]')).to_contain_text("нет вашей доли")
            await restore.get_by_label("Файл резервной копии").set_input_files(
                tmp_path / "member-2-share.json"
            )
            await restore.get_by_label("Пароль файла").fill("не тот пароль вовсе")
            await restore.get_by_role("button", name="Восстановить долю").click()
            await expect(page.locator('[data-role="restore-message"]')).to_contain_text(
                "неверный пароль"
            )
            await restore.get_by_label("Пароль файла").fill(PASSPHRASE)
            await restore.get_by_role("button", name="Восстановить долю").click()
            await expect(page.locator('[data-role="restore-message"]')).to_contain_text(
                "восстановлена"
            )
        await page.get_by_role("button", name="Расшифровать свою часть и подписать").click()
    count = pages[0].locator("#secret-count")
    await expect(count).to_have_attribute("data-counted", "yes", timeout=30_000)
    result = pages[0].locator('[data-role="result"]')
    await expect(result).to_have_attribute("data-checked", "yes")
    await expect(result.locator('tr[data-option="0"]')).to_contain_text(f"{first}31")
    await expect(result.locator('tr[data-option="1"]')).to_contain_text(f"{second}13")
    await expect(result).to_contain_text(f"Избраны: {first}.")
    await shots(pages[0], tmp_path, "secret-count-result")
    await _fits_a_phone(pages[0], '[data-role="result-rows"]')

    # The voter's browser sent ballots as ciphertexts only: no candidate's name, no marks;
    # the one opening it sent is the challenged ballot's spoiling.
    posted = [(url, body) for url, body in sent if body]
    assert [url.rsplit("/", 1)[1] for url, _ in posted] == ["ballots", "spoils", "ballots"]
    for url, body in posted:
        assert first not in body
        assert second not in body
        assert ('"marks"' in body) == url.endswith("/spoils")

    # --- the audit bundle passes the offline verifier -----------------------------------
    response = await chair_context.request.get(
        live_server.url(f"/api/v1/elections/{eid}/secret/bundle")
    )
    assert response.status == 200, await response.text()
    data = await response.body()
    report = verify_secret_bundle(data, trusted=live_server.server.app[KEYRING].public_keys())
    assert report.ok, report.problems
    tampered = data.replace(b'"took_part":4', b'"took_part":5')
    assert tampered != data
    assert not verify_secret_bundle(tampered).ok


# A dishonest dealing made in the first member's own browser with its own signing key:
# member 2's share is sealed off by one; the correct shares are kept as the key page keeps
# them, so that the page answers the complaint by revealing member 2's true share.
_DEAL_BADLY = """async (election) => {
  const { SecretApi } = await import("/static/js/secretpage.js");
  const { loadKey } = await import("/static/js/keystore.js");
  const B = await import("/static/js/secret/board.js");
  const D = await import("/static/js/secret/dkg.js");
  const G = await import("/static/js/secret/group.js");
  const T = await import("/static/js/secret/transport.js");
  const S = await import("/static/js/secret/sharestore.js");
  const api = new SecretApi(election);
  const state = await api.state();
  const draft = await api.definition(state.draft, true);
  const me = state.me.index;
  const stored = await loadKey(state.me.member);
  const made = await D.deal(draft.params, me);
  const shares = [];
  for (const m of state.commission) {
    if (m.index === me) continue;
    const share = made.shares.get(m.index) + (m.index === 2 ? 1n : 0n);
    const envelope = await T.sealShareFor(m.transport_key.payload.key, {
      context: draft.context, dealer: me, recipient: m.index, share,
    });
    shares.push(await B.signDocument(stored, B.documentPayload(
      B.DOCUMENT.share, draft.payload.vote, stored.serial,
      { context: draft.contextB64, dealer: me, recipient: m.index, envelope })));
  }
  const dealer = await B.signDocument(stored, B.documentPayload(
    B.DOCUMENT.dealer, draft.payload.vote, stored.serial,
    { context: draft.contextB64, commitment: D.dealerCommitmentToJSON(made.commitment) }));
  const body = { dealer, shares };
  await S.storeShare(`dealt:${draft.contextHex}`, {
    body,
    shares: Object.fromEntries([...made.shares].map(([i, s]) => [String(i), G.encodeScalar(s)])),
  });
  await api.post("dealings", body);
  return true;
}"""


async def test_a_bad_share_draws_a_complaint_which_its_dealer_answers(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    setup = await f.meeting(db, size=4, items=1)
    commission = setup.members[1:4]
    contexts = [await logged_in(browser, live_server, db, m) for m in commission]
    for context in contexts:
        await enrol_key(context, live_server)
    eid = await _election(db, live_server, setup, commission, ["Лебедева Ольга Ивановна"])
    url = live_server.url(f"/elections/{eid}/key")

    # The first member publishes a transport key and leaves; the others publish and deal.
    first = await contexts[0].new_page()
    await first.goto(url)
    await expect(first.locator('[data-role="step"]')).to_contain_text("Ждём, пока все")
    await first.close()
    pages = [await context.new_page() for context in contexts[1:]]
    for page in pages:
        await page.goto(url)
    for page in pages:
        await expect(page.locator('[data-role="progress"] tr[data-dealt="yes"]')).to_have_count(
            2, timeout=30_000
        )
    # The first member's dealing gives member 2 a share that does not fit its commitments.
    first = await contexts[0].new_page()
    await first.goto(live_server.url(f"/elections/{eid}"))
    assert await first.evaluate(_DEAL_BADLY, eid)
    # Member 2 complains; the first member's key page answers with the true share; member
    # 2 takes the revealed share, and the key is made with all three dealers.
    await first.goto(url)
    for page in [first, *pages]:
        await expect(page.locator('[data-role="backup"]')).to_be_visible(timeout=60_000)
    entries = await (
        await contexts[0].request.get(live_server.url(f"/api/v1/elections/{eid}/secret/entries"))
    ).json()
    complaints = [
        e["document"]["payload"]["complaint"]
        for e in entries["entries"]
        if e["kind"] == "complaint"
    ]
    assert [(c["dealer"], c["recipient"], c["revealed"] is None) for c in complaints] == [
        (1, 2, True),
        (1, 2, False),
    ]
    await first.get_by_role("button", name="Завершить создание ключа").click()
    await expect(first.locator('[data-role="finish-message"]')).to_contain_text(
        "Ключ выборов создан"
    )
    state = await (
        await contexts[0].request.get(live_server.url(f"/api/v1/elections/{eid}/secret"))
    ).json()
    assert state["phase"] == "key_ready"


async def test_the_room_opens_a_secret_vote_and_shows_who_has_voted_never_how(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    setup = await f.meeting(db, size=5, items=1)
    chair_m, *rest = setup.members
    commission = rest[:3]
    chair_context = await logged_in(browser, live_server, db, chair_m, Role.CHAIR, Role.MEMBER)
    contexts = [await logged_in(browser, live_server, db, m) for m in commission]
    for context in [chair_context, *contexts]:
        await enrol_key(context, live_server)
    service = ElectionService(db, setup.actor(chair_m, Role.CHAIR), live_server.server.app[KEYRING])
    election = await service.create_on_item(
        setup.meeting_id,
        ElectionIn(item_id=setup.item_ids[0], office="председатель комитета", form="one_of"),
    )
    for name in ("Лебедева Ольга Ивановна", "Орлов Пётр Сергеевич"):
        await service.nominate(
            election.id, CandidateIn(name=name, nominated_by="самовыдвижение", consent=True)
        )
    await service.transition(election.id, ElectionState.CANDIDATES_CLOSED)
    # The body's open vote on the commission is tests/web/test_election_browser.py's; here
    # the commission it elected is recorded directly.
    db.add(
        Commission(
            election_id=election.id,
            state=CommissionState.CONSTITUTED,
            basis=CommissionBasis.VOTE,
            threshold=2,
            constituted_at=utcnow(),
            members=[
                CommissionMember(position=n, member_id=m.id, name=m.full_name)
                for n, m in enumerate(commission, 1)
            ],
        )
    )
    row = await db.get(Election, election.id)
    assert row is not None
    row.state = ElectionState.COMMISSION_CONSTITUTED
    eid = election.id
    await db.commit()

    rooms = [await open_room(c, live_server, setup.meeting_id) for c in [chair_context, *contexts]]
    keys = [await c.new_page() for c in contexts]
    for page in keys:
        await page.goto(live_server.url(f"/elections/{eid}/key"))
    for n, page in enumerate(keys):
        await make_key(page, tmp_path, f"room-member-{n + 1}")
    await keys[0].get_by_role("button", name="Завершить создание ключа").click()
    await expect(keys[0].locator("#secret-key")).to_have_attribute("data-done", "yes")

    chair_room = rooms[0]
    await chair_room.reload()
    await chair_room.wait_for_selector('#room[data-connected="yes"]')
    panel = chair_room.locator('[data-role="secret"]')
    await expect(panel).to_have_attribute("data-state", "key_ready")
    await expect(panel.get_by_role("button", name=CLOSE)).to_have_count(0)
    await panel.get_by_role("button", name=OPEN).click()
    await chair_room.wait_for_selector('#room[data-connected="yes"]')
    panel = chair_room.locator('[data-role="secret"]')
    await expect(panel).to_have_attribute("data-state", "open")
    await expect(panel.get_by_role("button", name=OPEN)).to_have_count(0)

    # Two commission members vote from their own browsers; the room names them only.
    for page, option in zip(keys[:2], (0, 1), strict=True):
        await page.goto(live_server.url(f"/elections/{eid}/ballot"))
        await page.locator(f'[data-role="choices"] input[value="{option}"]').check()
        await page.get_by_role("button", name="Зашифровать бюллетень").click()
        await page.get_by_role("button", name="Отправить бюллетень").click()
        await expect(page.locator('[data-role="message"]')).to_contain_text("Бюллетень принят")
    voted = panel.locator('[data-role="secret-voted"]')
    await expect(voted).to_have_attribute("data-count", "2")
    for m in commission[:2]:
        await expect(voted).to_contain_text(m.full_name)
    await expect(voted).not_to_contain_text(commission[2].full_name)
    for candidate in ("Лебедева", "Орлов"):
        await expect(panel).not_to_contain_text(candidate)
    member_room = rooms[3]
    await member_room.reload()
    await member_room.wait_for_selector('#room[data-connected="yes"]')
    member_panel = member_room.locator('[data-role="secret"]')
    await expect(member_panel.get_by_role("link", name="Перейти к бюллетеню")).to_have_count(1)
    await expect(member_panel.get_by_role("button", name=CLOSE)).to_have_count(0)
    await expect(member_panel.locator('[data-role="secret-voted"]')).to_have_attribute(
        "data-count", "2"
    )
    await shots(chair_room, tmp_path, "secret-room-open")
    await shots(member_room, tmp_path, "secret-room-member")
