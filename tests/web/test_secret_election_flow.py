"""The whole secret election on the demo data, in Chromium, every person in their own
browser with their own signing key: the presidium's meeting is opened with a quorum;
the secretary proposes a five-member counting commission on the election's item and
the body adopts it in an open roll-call vote; the five create the election key on its
page in their five browsers; the chair opens the secret vote in the room (which then
offers no open vote); the members vote by secret ballot, one of them challenging their
encrypted ballot first; the chair closes; three of the five count in their browsers and
sign the commission's protocol; the secretary puts it to the body's vote, which adopts
it; the election is approved and the meeting's protocol records the commission's
election, the result and the approval. The audit bundle passes ``kvorum audit verify``
run as a program, and fails, naming the check, once one ballot's ciphertext is changed.

Screenshots at 1280 and 360 px of the key page, the challenged ballot, the count and
the approved election are saved (``KVORUM_TEST_SHOTS`` keeps a copy)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.canonical import canonicalize
from meetings.demo import DEMO_ELECTION_OFFICE
from meetings.elections.models import Election, ElectionState
from server.demo import seed_with_logins
from tests.factories import LiveServer
from tests.web.secret_steps import cast, make_key
from tests.web.shots import shots
from tests.web.test_commission_protocol_browser import sign_on_the_election_page
from tests.web.test_vote_browser import FOR, enrol_key, open_room, quorum_met

ROOT = Path(__file__).resolve().parents[2]
FIRST, SECOND = "Белова Дарья Андреевна", "Кудрявцев Игорь Олегович"


async def invited(browser: Any, live: LiveServer, url: str) -> Any:
    """A browser context of its own, logged in through the demo's invitation link."""
    context = await browser.new_context(locale="ru-RU", timezone_id="Asia/Yekaterinburg")
    page = await context.new_page()
    await page.goto(live.url(urlsplit(url).path))
    await page.get_by_role("button", name="Войти", exact=True).click()
    await page.wait_for_url("**/account/security?welcome=1")
    await page.close()
    return context


async def vote_in_the_room(context: Any, live: LiveServer, meeting_id: int, question: str) -> None:
    """A member comes to the room, votes «за» on the open vote with their key, leaves."""
    page = await open_room(context, live, meeting_id)
    await expect(page.locator('[data-role="vote-panel"]')).to_have_attribute("data-state", "open")
    await expect(page.locator('[data-role="vote-question"]')).to_contain_text(question)
    await page.locator(f'.btn-vote[data-option="{FOR}"]').click()
    await expect(page.locator('[data-role="vote-message"]')).to_contain_text("Голос принят")
    await page.close()


async def close_the_vote(chair: Any, votes: int, roll: int) -> None:
    await expect(chair.locator('[data-role="vote-count"]')).to_have_text(
        f"Проголосовали: {votes} из {roll}"
    )
    await chair.locator('[data-action="close-vote"]').click()
    await expect(chair.locator(".result-verdict")).to_have_text("Решение принято")


def audit_verify(bundle: Path, keys: Path) -> subprocess.CompletedProcess[str]:
    """``kvorum audit verify BUNDLE --keys KEYS``, the program an auditor runs."""
    return subprocess.run(  # noqa: S603 - our own interpreter and entry point
        [
            sys.executable,
            "-c",
            "import sys; from server.entry import main; sys.exit(main())",
            "audit",
            "verify",
            str(bundle),
            "--keys",
            str(keys),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def tamper_with_a_ballot(data: bytes) -> bytes:
    """The bundle with one byte changed inside the first ballot's first ciphertext,
    written out again as canonical JSON."""
    bundle = json.loads(data)
    entry = next(e for e in bundle["entries"] if e["kind"] == "ballot")
    choice = entry["document"]["payload"]["ballot"]["choices"][0]
    text = choice["beta"]
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    raw[3] ^= 0x01
    changed = base64.urlsafe_b64encode(bytes(raw)).decode()
    choice["beta"] = changed if text.endswith("=") else changed.rstrip("=")
    assert choice["beta"] != text
    return canonicalize(bundle)


async def test_the_presidium_elects_a_chair_by_secret_ballot_from_start_to_approval(
    browser: Any, live_server: LiveServer, db: AsyncSession, tmp_path: Path
) -> None:
    live = live_server
    timings: dict[str, float] = {}
    started = last = time.monotonic()

    def lap(step: str) -> None:
        nonlocal last
        now = time.monotonic()
        timings[step] = round(now - last, 1)
        last = now

    # --- the demo, seeded as `kvorum demo` seeds it -----------------------------------
    async with db.begin():
        demo = await seed_with_logins(db, live.settings)
    mid = int(demo.meeting_url.rsplit("/", 1)[1])
    async with db.begin():
        election = await db.scalar(select(Election).where(Election.meeting_id == mid))
        assert election is not None
        assert election.state is ElectionState.CANDIDATES_CLOSED
        eid, item_id = election.id, election.item_id
    roles = {label: (name, url) for label, name, url in demo.links}
    chair_name, chair_url = roles["председатель"]
    secretary_name, secretary_url = roles["секретарь"]
    member_name, member_url = roles["член президиума"]
    others = demo.presidium_links[:3]
    people = [(chair_name, chair_url), (secretary_name, secretary_url), (member_name, member_url)]
    people += others
    contexts = {name: await invited(browser, live, url) for name, url in people}
    for context in contexts.values():
        await enrol_key(context, live)
    # The commission: the secretary, the member and three more of the presidium; the
    # chair presides. Three of the five count: the secretary, the member, the next one.
    commission = [secretary_name, member_name, *(name for name, _url in others)]
    counters = commission[:3]
    secretary_context = contexts[secretary_name]
    lap("log in and make six signing keys")

    # --- the meeting opens with a quorum -------------------------------------------------
    secretary = await secretary_context.new_page()
    await secretary.goto(live.url(f"/meetings/{mid}"))
    await secretary.get_by_role("button", name="Открыть регистрацию").click()
    chair = await open_room(contexts[chair_name], live, mid)
    hall = await open_room(secretary_context, live, mid)
    for name in commission[1:]:  # in the hall: the secretary marks them present
        row = hall.locator('[data-role="people"] li', has_text=name)
        await row.get_by_role("button", name="Отметить в зале").click()
        await expect(row).to_have_class("present")
    await chair.locator('[data-action="transition"][data-target="in_session"]').click()
    await expect(chair.locator('[data-role="state"]')).to_have_attribute("data-state", "in_session")
    await quorum_met(chair, present=6, of=11)
    await chair.locator(f'[data-action="set-item"][data-item="{item_id}"]').click()

    # --- the secretary proposes the commission; the body elects it openly -----------------
    await secretary.goto(live.url(f"/elections/{eid}"))
    form = secretary.locator('[data-role="commission-form"]')
    for name in commission:
        await form.get_by_label(name).check()
    await form.get_by_role("button", name="Предложить и открыть голосование").click()
    await secretary.wait_for_url("**?done=proposed")
    await expect(secretary.locator('[data-role="commission"]')).to_contain_text(
        "Подсчёт: не менее 3 из 5 членов комиссии."
    )
    question = f"Об избрании счётной комиссии ({DEMO_ELECTION_OFFICE}) в составе:"
    for context in contexts.values():
        await vote_in_the_room(context, live, mid, question)
    await close_the_vote(chair, 6, 6)
    await secretary.goto(live.url(f"/elections/{eid}"))
    await expect(secretary.locator('[data-role="election-state"]')).to_have_attribute(
        "data-state", "commission_constituted"
    )
    lap("the commission elected in an open vote")

    # --- the five make the key, each in their own browser ---------------------------------
    keys = []
    for name in commission:
        page = await contexts[name].new_page()
        await page.goto(live.url(f"/elections/{eid}/key"))
        keys.append(page)
    for n, page in enumerate(keys):
        await make_key(page, tmp_path, f"member-{n + 1}")
    await expect(keys[0].locator('[data-role="progress"] tr[data-dealt="yes"]')).to_have_count(5)
    await keys[0].get_by_role("button", name="Завершить создание ключа").click()
    for page in keys:
        await expect(page.locator("#secret-key")).to_have_attribute("data-done", "yes")
    await shots(keys[1], tmp_path, "flow-key")
    for page in keys:
        await page.close()
    lap("the key made in five browsers")

    # --- the chair opens the secret vote in the room; no open vote is offered then -------
    # A second room page of the chair's, not reloaded: it learns of the opening live.
    other_room = await open_room(contexts[chair_name], live, mid)
    await expect(other_room.locator('[data-role="vote-open-panel"]')).to_be_visible()
    await chair.reload()
    await chair.wait_for_selector('#room[data-connected="yes"]')
    panel = chair.locator('[data-role="secret"]')
    await expect(panel).to_have_attribute("data-state", "key_ready")
    await expect(chair.locator('[data-role="vote-open-panel"]')).to_be_visible()
    await panel.get_by_role("button", name="Открыть тайное голосование").click()
    await chair.wait_for_selector('#room[data-connected="yes"]')
    panel = chair.locator('[data-role="secret"]')
    await expect(panel).to_have_attribute("data-state", "open")
    await expect(chair.locator('[data-role="vote-open-panel"]')).to_be_hidden()
    await expect(chair.get_by_role("button", name="Открыть голосование")).to_be_hidden()
    await expect(other_room.locator('[data-role="vote-open-panel"]')).to_be_hidden()
    await other_room.close()

    # --- the members vote; one challenges the encryption first --------------------------
    voter = await contexts[member_name].new_page()
    await voter.goto(live.url(f"/elections/{eid}/ballot"))
    await expect(voter.locator('[data-role="checked"]')).to_contain_text("sha256:")
    await voter.locator('[data-role="choices"]').get_by_label(FIRST, exact=True).check()
    await voter.get_by_role("button", name="Зашифровать бюллетень").click()
    await voter.get_by_role("button", name="Проверить шифрование").click()
    audit = voter.locator('[data-role="audit"]')
    await expect(audit).to_have_attribute("data-same", "yes")
    await expect(audit).to_contain_text(FIRST)
    await expect(voter.locator('[data-role="message"]')).to_contain_text("зашифрован заново")
    await shots(voter, tmp_path, "flow-ballot-challenged")
    await voter.get_by_role("button", name="Отправить бюллетень").click()
    await expect(voter.locator('[data-role="message"]')).to_contain_text("Бюллетень принят")
    await expect(voter.locator('[data-role="receipt-check"]')).to_have_attribute("data-ok", "yes")
    await voter.close()
    choices = {chair_name: FIRST, secretary_name: SECOND}
    choices |= {others[0][0]: FIRST, others[1][0]: FIRST, others[2][0]: SECOND}
    for name, choice in choices.items():
        page = await contexts[name].new_page()
        await cast(page, live, eid, [choice])
        await page.close()
    voted = panel.locator('[data-role="secret-voted"]')
    await expect(voted).to_have_attribute("data-count", "6", timeout=15_000)
    for candidate in (FIRST, SECOND):
        await expect(panel).not_to_contain_text(candidate)
    lap("six secret ballots, one challenged first")

    # --- the chair closes; three of the five count --------------------------------------
    chair.on("dialog", lambda dialog: dialog.accept())
    await panel.get_by_role("button", name="Закрыть тайное голосование").click()
    await chair.wait_for_selector('#room[data-connected="yes"]')
    await expect(chair.locator('[data-role="secret"]')).to_have_attribute("data-state", "closed")
    await expect(chair.locator('[data-role="vote-open-panel"]')).to_be_visible()
    counting = []
    for name in counters:
        page = await contexts[name].new_page()
        await page.goto(live.url(f"/elections/{eid}/count"))
        await expect(page.locator("#secret-count")).to_have_attribute("data-board", "ok")
        await expect(page.locator('[data-role="board"]')).to_contain_text(
            "бюллетеней учтено 6, испорчено при проверке 1"
        )
        await page.get_by_role("button", name="Расшифровать свою часть и подписать").click()
        counting.append(page)
    count = counting[0].locator("#secret-count")
    await expect(count).to_have_attribute("data-counted", "yes", timeout=60_000)
    result = counting[0].locator('[data-role="result"]')
    await expect(result).to_have_attribute("data-checked", "yes")
    await expect(result.locator('tr[data-option="0"]')).to_contain_text(f"{FIRST}4")
    await expect(result.locator('tr[data-option="1"]')).to_contain_text(f"{SECOND}2")
    await expect(result).to_contain_text(FIRST)
    await shots(counting[0], tmp_path, "flow-count")
    for page in counting:
        await page.close()
    lap("three of five count")

    # --- the three sign the commission's protocol ---------------------------------------
    await secretary.goto(live.url(f"/elections/{eid}"))
    await secretary.locator('[data-role="issue-protocol"]').click()
    await secretary.wait_for_url(re.compile(rf"/elections/{eid}\?done=protocol$"))
    signers = secretary.locator('[data-role="protocol-signer"]')
    await expect(signers).to_have_count(3)
    for name in counters:
        page = await contexts[name].new_page()
        await sign_on_the_election_page(page, live, eid)
        await page.close()
    await secretary.goto(live.url(f"/elections/{eid}"))
    await expect(secretary.locator('[data-role="protocol-complete"]')).to_be_visible()
    await expect(signers.and_(secretary.locator('[data-signed="yes"]'))).to_have_count(3)
    lap("the protocol signed by the three")

    # --- the body approves it in an open vote ---------------------------------------------
    await secretary.locator('[data-role="put-to-approval"]').click()
    await secretary.wait_for_url(re.compile(rf"/elections/{eid}\?done=approval$"))
    for context in contexts.values():
        await vote_in_the_room(context, live, mid, "Об утверждении протокола счётной комиссии")
    await close_the_vote(chair, 6, 6)
    await secretary.goto(live.url(f"/elections/{eid}"))
    await expect(secretary.locator('[data-role="election-state"]')).to_have_attribute(
        "data-state", "approved"
    )
    # Counted and approved: the key page (the shares have served) is no longer offered.
    await expect(secretary.locator('[data-role="secret-count"]')).to_have_count(1)
    await expect(secretary.locator('[data-role="secret-key"]')).to_have_count(0)
    await shots(secretary, tmp_path, "flow-election-approved")
    lap("the protocol approved")

    # --- the meeting's protocol records the commission, the result, the approval --------
    await secretary.goto(live.url(f"/meetings/{mid}/protocol"))
    text = " ".join((await secretary.locator("body").inner_text()).split())
    (tmp_path / "meeting-protocol.txt").write_text(text, "utf-8")
    for said in (
        "Об избрании счётной комиссии",
        "Избрать счётную комиссию",
        "О результатах тайного голосования",
        "Утвердить протокол счётной комиссии о результатах тайного голосования",
        f"Считать избранным ({DEMO_ELECTION_OFFICE}): Белова Д. А. ",
    ):
        assert said in text, (said, text)
    assert ".." not in text

    # --- the audit bundle passes `kvorum audit verify`; a tampered one fails ------------
    request = contexts[chair_name].request
    response = await request.get(live.url(f"/api/v1/elections/{eid}/secret/bundle"))
    assert response.status == 200, await response.text()
    bundle = tmp_path / "secret-bundle.json"
    bundle.write_bytes(await response.body())
    registry = tmp_path / "registry-keys.json"
    registry.write_bytes(await (await request.get(live.url("/registry/keys.json"))).body())
    passed = audit_verify(bundle, registry)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    tampered = tmp_path / "secret-bundle-tampered.json"
    tampered.write_bytes(tamper_with_a_ballot(bundle.read_bytes()))
    failed = audit_verify(tampered, registry)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    named = [line for line in failed.stdout.splitlines() if re.search(r"\bV-2\d\d\b", line)]
    assert named, failed.stdout
    print("the tampered bundle:", named[0])
    lap("the bundle audited")
    timings["whole flow"] = round(time.monotonic() - started, 1)
    print("timings (s):", json.dumps(timings, ensure_ascii=False))
