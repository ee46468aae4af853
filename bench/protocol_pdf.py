"""Benchmark: the protocol of a held meeting, from the database to a PDF.

The record is real and made by the application's own services in a freshly migrated
SQLite database (a temp dir): an organisation, its presidium of 50 (chair, secretary,
48 members), a meeting of 10 agenda items, 45 members registered present and 2 guests.
On every item the chair opens an open (named) vote, the 45 present members cast
ballots signed with their certified keys through :class:`ballots.board.Board`, the
chair closes it, and the secretary writes the item's texts (СЛУШАЛИ, ВЫСТУПИЛИ,
ПОСТАНОВИЛИ with points and sub-points). Then the meeting is closed.

Measured warm (after one untimed render), ``--repeat`` times, median and range:

* ``assemble``: :func:`meetings.drafting.meeting_protocol` in a fresh session;
* ``html``: :meth:`server.docrender.DocumentRenderer.protocol_html`;
* ``pdf``: :meth:`server.docrender.DocumentRenderer.pdf` (WeasyPrint);
* ``total``: the three in a row, as the server does them for a download.

Baseline, same run, interleaved with the protocol: WeasyPrint laying out a one-page A4
document with the same stylesheet and a few lines of text, through the same renderer —
the fixed cost of any PDF. Also: the PDF's pages and bytes, and the memory of one
render (Python's allocations by tracemalloc; the process's peak RSS growth over the
first render). The target is ``total`` under 1.5 s. Usage::

    .venv/bin/python bench/protocol_pdf.py [--repeat 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import weasyprint
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ballots.board import Board, BoardHooks
from crypto.ed25519 import SigningKey
from crypto.encoding import b64u_encode
from crypto.envelope import sign_document
from meetings.documents import Protocol
from meetings.drafting import meeting_protocol, short_name
from meetings.issuing import DocumentDesk
from meetings.models import MeetingForm, MeetingState
from meetings.preparation import MeetingService
from meetings.room import RoomService
from meetings.schemas import AgendaItemIn, DraftTextsIn, GuestIn, MeetingIn
from meetings.votes import MeetingVoteIn, VoteDesk, vote_progress
from registry.actor import Actor
from registry.bodies import BodyService
from registry.credentials import CredentialService
from registry.members import MemberService
from registry.models import Account, AccountRole, BodyKind, Member, OrgKind, Role, SeatRole
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from registry.schemas import BodyIn, MemberIn, OrganisationIn, SeatIn
from server import database
from server.docrender import DocumentRenderer
from server.pages import make_jinja

TARGET_SECONDS = 1.5
MEMBERS = 50
PRESENT = 45
SYSTEM = Actor.system("bench")

# --- the record -----------------------------------------------------------------------------

_MEN = (
    "Андреев",
    "Бахтин",
    "Белов",
    "Воронцов",
    "Гусев",
    "Демидов",
    "Ермаков",
    "Жуков",
    "Зуев",
    "Ильин",
    "Калинин",
    "Ковалёв",
    "Лаптев",
    "Макаров",
    "Никитин",
    "Орлов",
    "Панов",
    "Родионов",
    "Савельев",
    "Тарасов",
    "Устинов",
    "Фёдоров",
    "Хромов",
    "Чернов",
    "Шилов",
    "Щербаков",
    "Юдин",
    "Яковлев",
)
_WOMEN = (
    "Абрамова",
    "Блинова",
    "Васильева",
    "Григорьева",
    "Денисова",
    "Ефимова",
    "Зайцева",
    "Исаева",
    "Киселёва",
    "Лебедева",
    "Медведева",
    "Назарова",
    "Осипова",
    "Павлова",
    "Романова",
    "Семёнова",
    "Тихонова",
    "Уварова",
    "Фомина",
    "Харитонова",
    "Цветкова",
    "Чистякова",
    "Шарова",
    "Щукина",
    "Юрьева",
    "Яшина",
)
_MEN_NAMES = (
    "Алексей",
    "Андрей",
    "Виктор",
    "Владимир",
    "Дмитрий",
    "Евгений",
    "Игорь",
    "Николай",
    "Олег",
    "Сергей",
)
_WOMEN_NAMES = (
    "Анна",
    "Валентина",
    "Галина",
    "Елена",
    "Ирина",
    "Людмила",
    "Марина",
    "Наталья",
    "Ольга",
    "Татьяна",
)
# A father's name, and the patronymic of his son and of his daughter.
_FATHERS = (
    ("Александрович", "Александровна"),
    ("Борисович", "Борисовна"),
    ("Васильевич", "Васильевна"),
    ("Геннадьевич", "Геннадьевна"),
    ("Иванович", "Ивановна"),
    ("Михайлович", "Михайловна"),
    ("Николаевич", "Николаевна"),
    ("Петрович", "Петровна"),
    ("Юрьевич", "Юрьевна"),
    ("Фёдорович", "Фёдоровна"),
)
_POSITIONS = (
    "председатель краевой организации профсоюза работников народного образования и науки",
    "председатель краевой организации профсоюза работников здравоохранения",
    "председатель краевой организации Горно-металлургического профсоюза России",
    "председатель краевой организации профсоюза работников агропромышленного комплекса",
    "председатель краевой организации профсоюза работников культуры",
    "председатель краевой организации Российского профсоюза железнодорожников",
    "председатель краевой организации профсоюза трудящихся авиационной промышленности",
    "председатель краевой организации профсоюза работников госучреждений",
    "председатель краевой организации Нефтегазстройпрофсоюза России",
    "председатель краевой организации профсоюза работников связи",
)

# (title, the rapporteur's position, the line of work, a task of its own, the department)
_AGENDA = (
    (
        "О ходе выполнения Регионального соглашения между Пермским краевым союзом "
        "организаций профсоюзов, объединениями работодателей и Правительством Пермского "
        "края на 2024–2026 годы по итогам девяти месяцев 2025 года",
        "заместитель председателя крайсовпрофа",
        "социальное партнёрство",
        "добиваться включения в коллективные договоры норм Регионального соглашения о "
        "повышении заработной платы не ниже уровня инфляции",
        "социально-экономической защиты",
    ),
    (
        "Об итогах летней оздоровительной кампании детей и работников в 2025 году",
        "заведующий отделом социального развития крайсовпрофа",
        "оздоровление детей и работников",
        "провести мониторинг обеспеченности путёвками детей членов профсоюзов и "
        "направить предложения в Министерство социального развития Пермского края",
        "социального развития",
    ),
    (
        "О состоянии производственного травматизма в организациях Пермского края и работе "
        "технических инспекторов труда профсоюзов",
        "главный технический инспектор труда крайсовпрофа",
        "охрана труда",
        "организовать совместно с работодателями внеплановые проверки рабочих мест в "
        "организациях, где в 2025 году произошли несчастные случаи с тяжёлыми последствиями",
        "охраны труда",
    ),
    (
        "Об итогах проверок соблюдения трудового законодательства правовой инспекцией "
        "труда профсоюзов за девять месяцев 2025 года",
        "главный правовой инспектор труда крайсовпрофа",
        "правозащитная работа",
        "обеспечить участие юристов членских организаций в обучении профсоюзного актива "
        "по вопросам оплаты труда и рабочего времени",
        "правовой работы",
    ),
    (
        "О проведении краевого смотра-конкурса «Лучший уполномоченный по охране труда "
        "профсоюза» в 2026 году",
        "заведующий отделом охраны труда крайсовпрофа",
        "общественный контроль за охраной труда",
        "провести отраслевые этапы смотра-конкурса до 1 апреля 2026 года и представить "
        "материалы победителей в конкурсную комиссию крайсовпрофа",
        "охраны труда",
    ),
    (
        "Об участии профсоюзов Пермского края во Всероссийской акции профсоюзов в рамках "
        "Всемирного дня действий «За достойный труд!»",
        "заведующий организационным отделом крайсовпрофа",
        "коллективные действия",
        "провести собрания трудовых коллективов и направить принятые резолюции в "
        "крайсовпроф в недельный срок после акции",
        "организационной работы",
    ),
    (
        "О работе с молодёжью в членских организациях Пермского краевого союза "
        "организаций профсоюзов",
        "председатель Молодёжного совета крайсовпрофа",
        "молодёжная политика",
        "создать молодёжные советы в первичных профсоюзных организациях с численностью "
        "работающих членов профсоюза более ста человек",
        "по работе с молодёжью",
    ),
    (
        "Об исполнении сметы доходов и расходов Пермского краевого союза организаций "
        "профсоюзов за девять месяцев 2025 года",
        "главный бухгалтер крайсовпрофа",
        "финансовая дисциплина",
        "обеспечить своевременное и полное перечисление членских профсоюзных взносов "
        "на счёт крайсовпрофа в соответствии с установленными нормами отчислений",
        "финансовой работы",
    ),
    (
        "О награждении почётными грамотами Федерации Независимых Профсоюзов России и "
        "Пермского краевого союза организаций профсоюзов",
        "заведующий организационным отделом крайсовпрофа",
        "мотивация профсоюзного членства",
        "представить ходатайства о награждении к очередному заседанию президиума с "
        "приложением характеристик и выписок из решений выборных органов",
        "организационной работы",
    ),
    (
        "О плане работы президиума Пермского краевого союза организаций профсоюзов на "
        "первое полугодие 2026 года",
        "председатель крайсовпрофа",
        "планирование работы",
        "направить в крайсовпроф предложения о вопросах для рассмотрения на заседаниях "
        "президиума и совета во втором полугодии 2026 года",
        "организационной работы",
    ),
)

_SPEECHES = (
    "рассказал{a} об опыте отраслевой организации, предложил{a} дополнить проект "
    "постановления пунктом о проведении обучающего семинара для председателей первичных "
    "профсоюзных организаций.",
    "отметил{a}, что работодатели в ряде муниципальных образований уклоняются от "
    "коллективных переговоров, и предложил{a} рассмотреть этот вопрос на заседании "
    "трёхсторонней комиссии.",
    "поддержал{a} проект постановления, обратил{a} внимание на необходимость шире "
    "информировать членов профсоюзов о результатах работы через сайт и социальные сети.",
    "предложил{a} установить срок представления информации в крайсовпроф не позднее "
    "1 марта 2026 года и включить вопрос в план работы на следующий год.",
    "сообщил{a} о результатах проверок в организациях отрасли: выявлено 37 нарушений, "
    "по всем выданы представления, 29 нарушений устранено.",
    "высказал{a} замечания к проекту: пункт 2.2 следует изложить конкретнее, с указанием "
    "ответственных и сроков исполнения.",
)

_GUESTS = (
    ("Кузнецова Мария Ивановна", "государственный инспектор труда в Пермском крае"),
    ("Лядова Ольга Петровна", "консультант Министерства труда и социального развития"),
)


def _people(seed: int = 59) -> list[tuple[str, str, str]]:
    """50 (surname, name, patronymic), half of them women, no two alike."""
    rng = random.Random(seed)
    men = rng.sample(_MEN, MEMBERS // 2)
    women = rng.sample(_WOMEN, MEMBERS - MEMBERS // 2)
    people = []
    for n in range(MEMBERS):
        son, daughter = rng.choice(_FATHERS)
        if n % 2 == 0:
            people.append((men[n // 2], rng.choice(_MEN_NAMES), son))
        else:
            people.append((women[n // 2], rng.choice(_WOMEN_NAMES), daughter))
    return people


def _texts(
    number: int, topic: str, task: str, department: str, speakers: list[tuple[str, bool]]
) -> DraftTextsIn:
    """The secretary's texts of one item: typical length, points and sub-points."""
    heard = (
        f"В докладе отмечено, что в отчётном периоде членские организации провели "
        f"значительную работу по направлению «{topic}». Вопрос рассматривался на "
        f"заседаниях выборных органов {12 + number} членских организаций, проведено "
        f"{5 + number % 5} семинаров и совещаний с профсоюзным активом, подготовлены "
        f"методические рекомендации.\n"
        f"Вместе с тем в ряде организаций работа ведётся формально: планы не утверждены, "
        f"информация представляется с нарушением сроков, недостаточно используются "
        f"возможности информационных ресурсов крайсовпрофа. Проект постановления разослан "
        f"членам президиума заблаговременно."
    )
    speeches = "\n".join(
        f"{speaker} — " + _SPEECHES[(number + k) % len(_SPEECHES)].format(a="а" if woman else "")
        for k, (speaker, woman) in enumerate(speakers)
    )
    decision = (
        f"1. Информацию принять к сведению.\n"
        f"2. Членским организациям крайсовпрофа:\n"
        f"2.1. обеспечить рассмотрение вопроса «{topic}» на заседаниях выборных органов "
        f"до 1 марта 2026 года;\n"
        f"2.2. {task};\n"
        f"2.3. представить в крайсовпроф информацию о проделанной работе до 1 июня "
        f"2026 года.\n"
        f"3. Отделу {department} аппарата крайсовпрофа:\n"
        f"3.1. обобщить опыт членских организаций и разместить его на сайте крайсовпрофа;\n"
        f"3.2. оказать методическую помощь членским организациям, в которых работа "
        f"ведётся неудовлетворительно.\n"
        f"4. Контроль за выполнением постановления возложить на заместителя председателя "
        f"крайсовпрофа."
    )
    return DraftTextsIn(heard=heard, speeches=speeches, decision=decision)


@dataclass
class _Voter:
    member_id: int
    serial: int
    key: SigningKey


@dataclass(frozen=True)
class Record:
    meeting_id: int
    secretary: Actor
    ballots: int


def _actor(member: Member, role: Role) -> Actor:
    return Actor(None, member.full_name, frozenset({role}), member.id)


def _ballot(voter: _Voter, vote_id: int, fingerprint: str, choice: int) -> dict[str, Any]:
    """A signed ballot, as the browser builds it with the member's device key."""
    payload = {
        "type": "kvorum.ballot",
        "v": 1,
        "vote": vote_id,
        "definition": fingerprint,
        "serial": voter.serial,
        "choice": [choice],
        "nonce": b64u_encode(secrets.token_bytes(18)),
    }
    return sign_document(payload, voter.key).to_json()


def _choices(number: int) -> list[int]:
    """The answers of the 45 on item ``number``: mostly «за», a few against or abstaining
    (1 за, 2 против, 3 воздержался), in a different place on every item."""
    against = (0, 1, 0, 2, 0, 0, 1, 3, 0, 1)[number - 1]
    abstain = (1, 0, 2, 1, 0, 3, 0, 2, 1, 0)[number - 1]
    answers = [2] * against + [3] * abstain
    answers += [1] * (PRESENT - len(answers))
    shift = (number * 7) % PRESENT
    return answers[shift:] + answers[:shift]


async def build_record(
    sessions: async_sessionmaker[AsyncSession], keyring: RegistryKeyring
) -> Record:
    """The held and closed meeting; every step through the services, committed."""
    async with sessions() as db, db.begin():
        org = await OrganisationService(db, SYSTEM).create(
            OrganisationIn(
                name="Пермский краевой союз организаций профсоюзов",
                short_name="Пермский крайсовпроф",
                kind=OrgKind.REGIONAL_COUNCIL,
                city="Пермь",
            )
        )
        body = await BodyService(db, SYSTEM).create(
            BodyIn(
                organisation_id=org.id,
                kind=BodyKind.PRESIDIUM,
                name="Президиум Пермского крайсовпрофа",
            )
        )
        members: list[Member] = []
        for n, (surname, name, patronymic) in enumerate(_people()):
            made = await MemberService(db, SYSTEM).create(
                MemberIn(
                    organisation_id=org.id,
                    surname=surname,
                    name=name,
                    patronymic=patronymic,
                    card_number=f"59-{n + 1:06d}",
                    position=_POSITIONS[n % len(_POSITIONS)],
                )
            )
            member = await db.get(Member, made.id)
            assert member is not None
            members.append(member)
        for n, member in enumerate(members):
            role = {0: SeatRole.CHAIR, 1: SeatRole.SECRETARY}.get(n, SeatRole.MEMBER)
            await BodyService(db, SYSTEM).add_seat(
                body.id,
                SeatIn(member_id=member.id, role=role, term_start=dt.date(2025, 1, 1)),
            )
        # Every member present holds a device key certified by the registry.
        voters: list[_Voter] = []
        for member in members[:PRESENT]:
            account = Account(
                member_id=member.id,
                display_name=member.full_name,
                role_rows=[AccountRole(role=Role.MEMBER)],
            )
            db.add(account)
            await db.flush()
            key = SigningKey.generate()
            device, _ = await CredentialService(db, SYSTEM, keyring).enrol_key(
                member, account.id, key.public_key, label="ноутбук", valid_days=365
            )
            voters.append(_Voter(member.id, device.serial, key))

        chair, secretary = _actor(members[0], Role.CHAIR), _actor(members[1], Role.SECRETARY)
        service = MeetingService(db, chair)
        meeting = await service.create(
            MeetingIn(
                body_id=body.id,
                title="Заседание президиума Пермского крайсовпрофа",
                starts_at=utcnow(),
                place="г. Пермь",
                form=MeetingForm.IN_PERSON,
            )
        )
        item_ids = []
        for n, (title, position, *_rest) in enumerate(_AGENDA):
            rapporteur = members[2 + 4 * n] if n < len(_AGENDA) - 1 else members[0]
            item = await service.add_item(
                meeting.id,
                AgendaItemIn(
                    title=title, rapporteur=f"{short_name(rapporteur.full_name)}, {position}"
                ),
            )
            item_ids.append(item.id)
        for name, affiliation in _GUESTS:
            await service.add_guest(meeting.id, GuestIn(name=name, affiliation=affiliation))
        await service.transition(meeting.id, MeetingState.ANNOUNCED)
        await service.transition(meeting.id, MeetingState.REGISTRATION)
        room = RoomService(db, secretary)
        for member in members[:PRESENT]:
            await room.register_in_person(meeting.id, member.id, True)
        await service.transition(meeting.id, MeetingState.IN_SESSION)

    board = Board(sessions, keyring, BoardHooks(appended=vote_progress))
    cast = 0
    for n, item_id in enumerate(item_ids, start=1):
        async with sessions() as db, db.begin():
            if n > 1:
                await RoomService(db, chair).set_current_item(meeting.id, item_id)
            vote = await VoteDesk(db, chair, keyring).open_on_item(
                meeting.id, MeetingVoteIn(question="Принять постановление в целом")
            )
            vote_id, fingerprint = vote.id, vote.fingerprint
        # All 45 at once, as in the hall: the board appends them in batches.
        receipts = await asyncio.gather(
            *(
                board.cast(vote_id, _ballot(voter, vote_id, fingerprint, choice))
                for voter, choice in zip(voters, _choices(n), strict=True)
            )
        )
        cast += len(receipts)
        board.forget(vote_id)
        _title, _position, topic, task, department = _AGENDA[n - 1]
        # Members of the body who spoke, two or three on an item (odd places: women).
        speakers = [
            (short_name(members[index].full_name), index % 2 == 1)
            for index in ((5 + 3 * n + 7 * k) % PRESENT for k in range(2 + n % 2))
        ]
        async with sessions() as db, db.begin():
            await VoteDesk(db, chair, keyring).close_meeting_vote(meeting.id, vote_id)
            await DocumentDesk(db, secretary, keyring).edit_texts(
                meeting.id, item_id, _texts(n, topic, task, department, speakers)
            )
    async with sessions() as db, db.begin():
        await MeetingService(db, chair).transition(meeting.id, MeetingState.CLOSED)
    return Record(meeting.id, secretary, cast)


# --- the measurements -----------------------------------------------------------------------

BASELINE_HTML = """<!doctype html>
<html lang="ru">
<head><meta charset="utf-8"><title>Справка</title>
<link rel="stylesheet" href="/static/css/document.css"></head>
<body class="document"><article class="doc"><section class="doc-text">
<p class="doc-heading">СПРАВКА</p>
<p>Дана Иванову Ивану Ивановичу в том, что он является членом профсоюза.</p>
<p>Справка выдана для представления по месту требования.</p>
<p class="doc-flush">Секретарь — А. А. Петрова</p>
</section></article></body></html>
"""


@dataclass
class Steps:
    assemble: float
    html: float
    pdf: float

    @property
    def total(self) -> float:
        return self.assemble + self.html + self.pdf


async def render_once(
    sessions: async_sessionmaker[AsyncSession], renderer: DocumentRenderer, record: Record
) -> tuple[Steps, bytes]:
    """One protocol, as a download does it: a fresh session, the HTML, the PDF."""
    started = time.perf_counter()
    async with sessions() as db:
        protocol, _votes = await meeting_protocol(db, record.secretary, record.meeting_id)
    assembled = time.perf_counter()
    html = renderer.protocol_html(protocol, draft=False)
    rendered = time.perf_counter()
    pdf = renderer.pdf(html)
    done = time.perf_counter()
    return Steps(assembled - started, rendered - assembled, done - rendered), pdf


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def page_count(pdf: bytes) -> int:
    """The page tree's /Count. WeasyPrint puts its dictionaries in compressed object
    streams, so every stream is inflated and searched (untimed; fonts too, harmlessly)."""
    texts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        with contextlib.suppress(zlib.error):
            end = pdf.find(b"endstream", match.end())
            texts.append(zlib.decompressobj().decompress(pdf[match.end() : end]))
    counts = [
        int(count)
        for text in texts
        for tree in re.findall(rb"<<[^<>]*/Type\s*/Pages\b[^<>]*>>", text)
        for count in re.findall(rb"/Count\s+(\d+)", tree)
    ]
    return max(counts, default=0)


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def run(repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        await asyncio.to_thread(database.upgrade, url)
        keyring = RegistryKeyring.open(Path(tmp) / "keys", now=utcnow())
        engine = database.create_engine(url)
        try:
            sessions = database.make_sessionmaker(engine)
            started = time.perf_counter()
            record = await build_record(sessions, keyring)
            say(
                f"record built in {time.perf_counter() - started:.1f} s: 10 items, "
                f"{record.ballots} signed ballots on the board"
            )
            renderer = DocumentRenderer(make_jinja())

            # Memory of the first (cold) render: the process's peak RSS growth.
            rss_before = maxrss_mib()
            cold, pdf = await render_once(sessions, renderer, record)
            rss_growth = maxrss_mib() - rss_before
            timed(lambda: renderer.pdf(BASELINE_HTML))
            baseline_pdf = renderer.pdf(BASELINE_HTML)

            runs: list[Steps] = []
            baselines: list[float] = []
            for n in range(repeat):
                # Interleaved, so that a slow moment of the machine hits both.
                baselines.append(timed(lambda: renderer.pdf(BASELINE_HTML)))
                steps, pdf = await render_once(sessions, renderer, record)
                runs.append(steps)
                say(f"  run {n + 1}/{repeat}: {steps.total:.3f} s")

            # Python's own allocations during one warm render (tracemalloc slows it down:
            # not one of the timed runs). WeasyPrint's text layout (Pango, HarfBuzz) is C
            # and not counted here.
            tracemalloc.start()
            await render_once(sessions, renderer, record)
            _current, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            protocol: Protocol
            async with sessions() as db:
                protocol, _votes = await meeting_protocol(db, record.secretary, record.meeting_id)
        finally:
            await engine.dispose()

    base = spread(baselines)
    steps_out = {
        name: spread([getattr(s, name) for s in runs])
        for name in ("assemble", "html", "pdf", "total")
    }
    total = steps_out["total"]["median"]
    return {
        "machine": machine(),
        "weasyprint": weasyprint.__version__,
        "repeat": repeat,
        "record": {
            "members": protocol.members.count,
            "present": protocol.present.count,
            "guests": len(protocol.guests),
            "items": len(protocol.items),
            "votes": sum(len(i.votes) for i in protocol.items),
            "ballots": record.ballots,
        },
        "baseline": base | {"pages": page_count(baseline_pdf), "bytes": len(baseline_pdf)},
        "steps": steps_out,
        "ratio": total / base["median"],
        "cold_total": cold.total,
        "pdf": {"pages": page_count(pdf), "bytes": len(pdf)},
        "memory": {
            "tracemalloc_peak_mib": traced_peak / 2**20,
            "first_render_maxrss_growth_mib": rss_growth,
            "process_maxrss_mib": maxrss_mib(),
        },
        "target_seconds": TARGET_SECONDS,
        "passed": total < TARGET_SECONDS,
    }


def print_table(result: dict[str, Any]) -> None:
    rec, base = result["record"], result["baseline"]
    print(
        f"protocol: {rec['items']} items, {rec['members']} members, {rec['present']} present, "
        f"{rec['guests']} guests, {rec['votes']} open votes ({rec['ballots']} signed ballots)"
    )
    print(f"{result['machine']}, WeasyPrint {result['weasyprint']}, {result['repeat']} runs warm\n")
    print(f"{'step':34}{'median':>9}{'min':>9}{'max':>9}{'of base':>9}")

    def row(name: str, figures: dict[str, float]) -> None:
        print(
            f"{name:34}{figures['median']:8.3f}s{figures['min']:8.3f}s{figures['max']:8.3f}s"
            f"{figures['median'] / base['median']:8.2f}x"
        )

    row(f"baseline: one-page PDF ({base['pages']} p.)", base)
    labels = {
        "assemble": "assemble (meeting_protocol)",
        "html": "HTML (Jinja2)",
        "pdf": "PDF (WeasyPrint)",
        "total": "total",
    }
    for name, label in labels.items():
        row(label, result["steps"][name])
    pdf, memory = result["pdf"], result["memory"]
    print(f"\nfirst (cold, untimed) render: {result['cold_total']:.3f} s")
    print(f"PDF: {pdf['pages']} pages, {pdf['bytes'] / 1024:.0f} KiB")
    print(
        f"memory: {memory['tracemalloc_peak_mib']:.1f} MiB of Python allocations at peak "
        "(tracemalloc, one warm render);\n"
        f"        peak RSS grew {memory['first_render_maxrss_growth_mib']:.0f} MiB over the "
        f"first render; process peak RSS {memory['process_maxrss_mib']:.0f} MiB"
    )
    verdict = "PASS" if result["passed"] else "FAIL"
    print(
        f"target: total < {result['target_seconds']} s -> {verdict} "
        f"({result['steps']['total']['median']:.3f} s, {result['ratio']:.1f}x the baseline)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed renders (default 10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = asyncio.run(run(args.repeat))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
