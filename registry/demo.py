"""The demo organisation: a regional union council with its tree, members and bodies.

The data follow the seed document (the resolution of the Council of the Пермский
крайсовпроф, № 7 – 2): the regional council, the three member organisations it
names with their chairs, a few primary organisations under each, about sixty
members and the elected bodies a meeting needs (council, presidium, audit
commission, youth council, and the presidium of the education union).

Everything is written through the registry's services, so the demo passes the same
validation as data typed in by a registrar, and everything is deterministic: fixed
lists, card numbers assigned by hand, e-mails and phones derived from them. The
people are invented; the names of real people in the seed are kept only as the
seed gives them (surname and initials), completed with invented first names.

Seeding is idempotent: when a root organisation with the demo's name exists, the
people are looked up by their card numbers and nothing is written. The function
only flushes; the caller owns the transaction.
"""

# The tables of people below read best one person per line, whatever their length.
# ruff: noqa: E501

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.bodies import BodyService
from registry.errors import Conflict
from registry.members import MemberService
from registry.models import Body, BodyKind, Member, Organisation, OrgKind, SeatRole
from registry.organisations import OrganisationService
from registry.schemas import BodyIn, MemberIn, OrganisationIn, SeatIn

__all__ = ["DEMO_ACTOR_NAME", "DEMO_ROOT_NAME", "DemoPeople", "seed_demo"]

DEMO_ACTOR_NAME = "kvorum demo"
DEMO_ROOT_NAME = "Пермский краевой союз организаций профсоюзов «Пермский крайсовпроф»"


@dataclass(frozen=True)
class DemoPeople:
    """The ids a demo walkthrough needs: the root, its two main bodies and key people."""

    root_id: int
    council_id: int
    """Body id of the Совет."""
    presidium_id: int
    """Body id of the Президиум."""
    chair_member_id: int
    """Иванов М. Г., chair of the council and of the presidium."""
    secretary_member_id: int
    """Secretary of the presidium."""
    member_member_id: int
    """An ordinary member of the presidium."""
    auditor_member_id: int
    """Chair of the audit commission (ревизионная комиссия)."""
    registrar_member_id: int
    """A staff member of the regional council's apparatus; holds no seat."""


# --- organisations ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Org:
    key: str
    parent: str | None
    kind: OrgKind
    name: str
    short_name: str
    city: str = "Пермь"


_ORGS: tuple[_Org, ...] = (
    _Org("root", None, OrgKind.REGIONAL_COUNCIL, DEMO_ROOT_NAME, "Пермский крайсовпроф"),
    _Org(
        "edu",
        "root",
        OrgKind.MEMBER_ORGANISATION,
        "Пермская краевая организация Профессионального союза работников народного "
        "образования и науки Российской Федерации",
        "Пермская краевая организация Профсоюза образования",
    ),
    _Org(
        "school",
        "edu",
        OrgKind.PRIMARY,
        "Первичная профсоюзная организация МАОУ «СОШ № 12» г. Перми",
        "ППО МАОУ «СОШ № 12»",
    ),
    _Org(
        "university",
        "edu",
        OrgKind.PRIMARY,
        "Первичная профсоюзная организация работников ФГБОУ ВО «Пермский педагогический "
        "университет»",
        "ППО работников Пермского педагогического университета",
    ),
    _Org(
        "kindergarten",
        "edu",
        OrgKind.PRIMARY,
        "Первичная профсоюзная организация МАДОУ «Детский сад № 35» г. Перми",
        "ППО МАДОУ «Детский сад № 35»",
    ),
    _Org(
        "avia",
        "root",
        OrgKind.MEMBER_ORGANISATION,
        "Пермская краевая организация Профсоюза авиационных работников",
        "Пермская краевая организация Профавиа",
    ),
    _Org(
        "airport",
        "avia",
        OrgKind.PRIMARY,
        "Первичная профсоюзная организация АО «Международный аэропорт Пермь»",
        "ППО АО «Международный аэропорт Пермь»",
    ),
    _Org(
        "maintenance",
        "avia",
        OrgKind.PRIMARY,
        "Первичная профсоюзная организация Пермского филиала ООО «Авиатехсервис»",
        "ППО ООО «Авиатехсервис»",
    ),
    _Org(
        "apk",
        "root",
        OrgKind.MEMBER_ORGANISATION,
        "Пермская краевая организация Профессионального союза работников "
        "агропромышленного комплекса Российской Федерации",
        "Пермская краевая организация Профсоюза работников АПК",
    ),
    _Org(
        "farm",
        "apk",
        OrgKind.PRIMARY,
        "Первичная профсоюзная организация СПК «Нива»",
        "ППО СПК «Нива»",
        "с. Лобаново",
    ),
    _Org(
        "agrofirm",
        "apk",
        OrgKind.PRIMARY,
        "Первичная профсоюзная организация ООО «Прикамская агрофирма»",
        "ППО ООО «Прикамская агрофирма»",
        "Кунгур",
    ),
)

# --- members -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    card: str
    org: str
    surname: str
    name: str
    patronymic: str
    position: str
    joined_on: dt.date


def _p(card: str, org: str, full_name: str, position: str, joined_on: str) -> _Person:
    surname, name, patronymic = full_name.split(" ")
    return _Person(card, org, surname, name, patronymic, position, dt.date.fromisoformat(joined_on))


_PPO_CHAIR = "председатель первичной профсоюзной организации"

# Card numbers: "59" (the Perm region's code), then a block per organisation.
_PEOPLE: tuple[_Person, ...] = (
    # The apparatus of the regional council.
    _p("59-000001", "root", "Иванов Михаил Геннадьевич", "председатель Пермского крайсовпрофа", "1996-04-15"),
    _p("59-000002", "root", "Кожевникова Светлана Анатольевна", "заместитель председателя Пермского крайсовпрофа", "1998-02-10"),
    _p("59-000003", "root", "Ершов Виктор Павлович", "советник председателя Пермского крайсовпрофа", "1995-06-20"),
    _p("59-000004", "root", "Лыкова Галина Фёдоровна", "главный специалист отдела организационной работы", "1997-11-03"),
    _p("59-000005", "root", "Мальцева Анна Олеговна", "ведущий специалист отдела организационной работы", "2014-09-15"),
    _p("59-000006", "root", "Суханов Денис Игоревич", "руководитель Центра общественных связей и информации", "2009-05-12"),
    _p("59-000007", "root", "Пономарёва Ирина Владимировна", "главный правовой инспектор труда", "2003-10-01"),
    _p("59-000008", "root", "Трушникова Ева Михайловна", "специалист по работе с молодёжью", "2020-02-17"),
    # Education union: the regional committee and three primary organisations.
    _p("59-000101", "edu", "Галайда Зинаида Ивановна", "председатель Пермской краевой организации Профсоюза образования", "1995-08-28"),
    _p("59-000102", "edu", "Кузнецова Елена Викторовна", "заместитель председателя краевой организации", "2001-09-01"),
    _p("59-000103", "edu", "Бабушкина Марина Юрьевна", "главный специалист по информационной работе", "2008-03-17"),
    _p("59-000104", "edu", "Овчинников Артур Рафаилович", "правовой инспектор труда", "2011-08-08"),
    _p("59-000111", "school", "Иванова Ольга Петровна", f"учитель начальных классов, {_PPO_CHAIR}", "1999-09-01"),
    _p("59-000112", "school", "Соколов Андрей Николаевич", "учитель физики", "2006-08-30"),
    _p("59-000113", "school", "Зайцева Юлия Андреевна", "учитель английского языка", "2019-09-02"),
    _p("59-000114", "school", "Морозова Валентина Степановна", "учитель русского языка и литературы", "1996-10-14"),
    _p("59-000115", "school", "Федосеев Кирилл Алексеевич", "учитель информатики", "2021-09-01"),
    _p("59-000116", "school", "Мехоношина Ирина Аркадьевна", "заместитель директора по учебно-воспитательной работе", "2003-08-25"),
    _p("59-000121", "university", "Белоусов Константин Аркадьевич", f"доцент кафедры математики, {_PPO_CHAIR}", "2000-02-01"),
    _p("59-000122", "university", "Черных Людмила Васильевна", "профессор кафедры педагогики", "1997-05-19"),
    _p("59-000123", "university", "Тимофеев Павел Сергеевич", "доцент кафедры физики", "2010-11-09"),
    _p("59-000124", "university", "Гилёва Наталья Рашидовна", "ведущий специалист учебно-методического управления", "2012-04-02"),
    _p("59-000125", "university", "Власов Артём Евгеньевич", "ассистент кафедры информатики", "2020-10-05"),
    _p("59-000126", "university", "Шестакова Дарья Максимовна", "методист центра дополнительного образования", "2022-02-14"),
    _p("59-000127", "university", "Аликин Вячеслав Борисович", "заведующий лабораторией", "1999-12-06"),
    _p("59-000128", "university", "Кашина Любовь Ефимовна", "старший преподаватель кафедры иностранных языков", "2005-01-31"),
    _p("59-000131", "kindergarten", "Окулова Татьяна Геннадьевна", f"воспитатель, {_PPO_CHAIR}", "2002-09-16"),
    _p("59-000132", "kindergarten", "Полякова Светлана Игоревна", "музыкальный руководитель", "2011-01-24"),
    _p("59-000133", "kindergarten", "Никитина Алёна Владимировна", "воспитатель", "2018-08-27"),
    _p("59-000134", "kindergarten", "Ковалёва Полина Андреевна", "учитель-логопед", "2014-09-01"),
    # Aviation workers' union.
    _p("59-000201", "avia", "Эмир-Вели Сейран Рустемович", "председатель Пермской краевой организации Профавиа", "1998-07-06"),
    _p("59-000202", "avia", "Старцев Игорь Леонидович", "заместитель председателя краевой организации", "2004-03-01"),
    _p("59-000203", "avia", "Юдина Ксения Валерьевна", "специалист по организационной работе", "2015-06-15"),
    _p("59-000204", "avia", "Девятков Борис Олегович", "технический инспектор труда", "2002-05-13"),
    _p("59-000211", "airport", "Петров Алексей Николаевич", f"авиатехник, {_PPO_CHAIR}", "2003-04-21"),
    _p("59-000212", "airport", "Гаврилова Марина Сергеевна", "диспетчер службы организации перевозок", "2007-12-03"),
    _p("59-000213", "airport", "Ложкин Роман Викторович", "инженер по техническому обслуживанию воздушных судов", "2013-05-20"),
    _p("59-000214", "airport", "Хабибуллина Гульнара Ринатовна", "агент по обслуживанию пассажиров", "2016-07-11"),
    _p("59-000215", "airport", "Вотинов Егор Дмитриевич", "водитель перронного автобуса", "2021-03-29"),
    _p("59-000216", "airport", "Кудрявцева Евгения Олеговна", "инспектор службы авиационной безопасности", "2019-01-14"),
    _p("59-000217", "airport", "Тетерин Григорий Валентинович", "начальник смены аэродромной службы", "2001-11-19"),
    _p("59-000221", "maintenance", "Сидоров Николай Петрович", f"авиационный механик, {_PPO_CHAIR}", "1995-03-13"),
    _p("59-000222", "maintenance", "Мухаметшин Ильдар Фаритович", "инженер по ремонту авиационной техники", "2005-10-24"),
    _p("59-000223", "maintenance", "Рогова Елена Анатольевна", "кладовщик", "2009-02-02"),
    _p("59-000224", "maintenance", "Новиков Станислав Юрьевич", "авиатехник", "2017-09-18"),
    _p("59-000225", "maintenance", "Лебедева Антонина Ивановна", "инженер по качеству", "2008-06-02"),
    # Agro-industrial workers' union.
    _p("59-000301", "apk", "Шалаев Владимир Васильевич", "председатель Пермской краевой организации Профсоюза работников АПК", "1995-11-27"),
    _p("59-000302", "apk", "Зубарева Надежда Михайловна", "заместитель председателя краевой организации", "1999-04-05"),
    _p("59-000303", "apk", "Осетров Геннадий Алексеевич", "правовой инспектор труда", "2006-06-19"),
    _p("59-000304", "apk", "Русинов Аркадий Львович", "главный экономист", "2010-07-26"),
    _p("59-000311", "farm", "Мельников Сергей Иванович", f"агроном, {_PPO_CHAIR}", "1997-02-24"),
    _p("59-000312", "farm", "Пермякова Людмила Николаевна", "оператор машинного доения", "2001-07-30"),
    _p("59-000313", "farm", "Чащин Василий Григорьевич", "тракторист-машинист", "1996-05-06"),
    _p("59-000314", "farm", "Бурдина Оксана Викторовна", "зоотехник", "2012-10-15"),
    _p("59-000315", "farm", "Лесников Максим Андреевич", "инженер-механик", "2022-04-11"),
    _p("59-000316", "farm", "Ветошкин Пётр Семёнович", "заведующий машинно-тракторным парком", "1995-07-03"),
    _p("59-000321", "agrofirm", "Кондратьева Валентина Павловна", f"главный агроном, {_PPO_CHAIR}", "1998-10-12"),
    _p("59-000322", "agrofirm", "Субботин Олег Витальевич", "ветеринарный врач", "2004-01-19"),
    _p("59-000323", "agrofirm", "Ширинкина Анастасия Романовна", "лаборант-технолог", "2020-06-08"),
    _p("59-000324", "agrofirm", "Ярославцев Фёдор Ильич", "тракторист-машинист", "2000-03-27"),
    _p("59-000325", "agrofirm", "Голдобина Вера Константиновна", "главный бухгалтер", "1995-12-18"),
    _p("59-000326", "agrofirm", "Носкова Алина Тимуровна", "специалист по кадрам", "2018-03-05"),
)  # fmt: skip

CHAIR_CARD = "59-000001"  # Иванов Михаил Геннадьевич
SECRETARY_CARD = "59-000102"  # Кузнецова Елена Викторовна, secretary of the presidium
MEMBER_CARD = "59-000211"  # Петров Алексей Николаевич, a presidium member
AUDITOR_CARD = "59-000325"  # Голдобина Вера Константиновна, chair of the audit commission
REGISTRAR_CARD = "59-000005"  # Мальцева Анна Олеговна, staff of the apparatus

# --- bodies and seats -----------------------------------------------------------------------

_C, _D, _S, _M = SeatRole.CHAIR, SeatRole.DEPUTY_CHAIR, SeatRole.SECRETARY, SeatRole.MEMBER


@dataclass(frozen=True)
class _Body:
    org: str
    kind: BodyKind
    name: str
    seats: tuple[tuple[str, SeatRole], ...]
    """The current term, by card number."""
    previous: tuple[tuple[str, SeatRole], ...] = ()
    """Seats of the previous term, kept to show the body's history."""


COUNCIL_NAME = "Совет Пермского крайсовпрофа"
PRESIDIUM_NAME = "Президиум Пермского крайсовпрофа"

_PRESIDIUM_SEATS: tuple[tuple[str, SeatRole], ...] = (
    (CHAIR_CARD, _C),
    ("59-000002", _D),  # Кожевникова
    (SECRETARY_CARD, _S),  # Кузнецова
    ("59-000101", _M),  # Галайда
    ("59-000201", _M),  # Эмир-Вели
    ("59-000301", _M),  # Шалаев
    (MEMBER_CARD, _M),  # Петров
    ("59-000121", _M),  # Белоусов
    ("59-000311", _M),  # Мельников
    ("59-000111", _M),  # Иванова
    ("59-000008", _M),  # Трушникова, chair of the youth council
)

_BODIES: tuple[_Body, ...] = (
    _Body(
        "root",
        BodyKind.COUNCIL,
        COUNCIL_NAME,
        seats=(
            *_PRESIDIUM_SEATS[:2],
            *((card, _M) for card, _ in _PRESIDIUM_SEATS[2:]),
            *(
                (card, _M)
                for card in (
                    "59-000131",  # Окулова
                    "59-000221",  # Сидоров
                    "59-000321",  # Кондратьева
                    "59-000202",  # Старцев
                    "59-000302",  # Зубарева
                    "59-000123",  # Тимофеев
                    "59-000114",  # Морозова
                    "59-000212",  # Гаврилова
                    "59-000222",  # Мухаметшин
                    "59-000313",  # Чащин
                    "59-000322",  # Субботин
                    "59-000116",  # Мехоношина
                    "59-000217",  # Тетерин
                    "59-000316",  # Ветошкин
                )
            ),
        ),
        previous=(
            (CHAIR_CARD, _C),
            ("59-000003", _D),  # Ершов, deputy chair until 2025
            ("59-000004", _M),  # Лыкова
            ("59-000101", _M),
            ("59-000201", _M),
            ("59-000301", _M),
        ),
    ),
    _Body(
        "root",
        BodyKind.PRESIDIUM,
        PRESIDIUM_NAME,
        seats=_PRESIDIUM_SEATS,
        previous=(
            (CHAIR_CARD, _C),
            ("59-000003", _D),  # Ершов
            ("59-000004", _S),  # Лыкова, secretary until 2025
            ("59-000101", _M),
            ("59-000201", _M),
            ("59-000301", _M),
        ),
    ),
    _Body(
        "root",
        BodyKind.AUDIT_COMMISSION,
        "Ревизионная комиссия Пермского крайсовпрофа",
        seats=(
            (AUDITOR_CARD, _C),
            ("59-000124", _M),  # Гилёва
            ("59-000225", _M),  # Лебедева
            ("59-000304", _M),  # Русинов
            ("59-000132", _M),  # Полякова
        ),
    ),
    _Body(
        "root",
        BodyKind.YOUTH_COUNCIL,
        "Молодёжный совет Пермского крайсовпрофа",
        seats=(
            ("59-000008", _C),  # Трушникова
            ("59-000125", _D),  # Власов
            ("59-000113", _S),  # Зайцева
            ("59-000215", _M),  # Вотинов
            ("59-000224", _M),  # Новиков
            ("59-000315", _M),  # Лесников
            ("59-000323", _M),  # Ширинкина
        ),
    ),
    _Body(
        "edu",
        BodyKind.PRESIDIUM,
        "Президиум Пермской краевой организации Профсоюза образования",
        seats=(
            ("59-000101", _C),  # Галайда
            ("59-000102", _D),  # Кузнецова
            ("59-000103", _S),  # Бабушкина
            ("59-000111", _M),  # Иванова
            ("59-000121", _M),  # Белоусов
            ("59-000131", _M),  # Окулова
            ("59-000122", _M),  # Черных
        ),
    ),
    # The other two member organisations' presidiums: with the education union's, the
    # three organisations the council's self-diagnosis campaign is run for in the demo
    # (their chairs and secretaries answer for them).
    _Body(
        "avia",
        BodyKind.PRESIDIUM,
        "Президиум Пермской краевой организации Профавиа",
        seats=(
            ("59-000201", _C),
            ("59-000202", _D),
            ("59-000203", _S),
            ("59-000204", _M),
            ("59-000211", _M),
            ("59-000212", _M),
            ("59-000221", _M),
        ),
    ),
    _Body(
        "apk",
        BodyKind.PRESIDIUM,
        "Президиум Пермской краевой организации Профсоюза работников АПК",
        seats=(
            ("59-000301", _C),
            ("59-000302", _D),
            ("59-000303", _S),
            ("59-000304", _M),
            ("59-000311", _M),
            ("59-000312", _M),
            ("59-000321", _M),
        ),
    ),
)

# Terms of office: the previous five-year term and the current one, elected at the
# conference of March 2025 (an open-ended term: it lasts until the next election).
PREVIOUS_TERM = (dt.date(2020, 3, 15), dt.date(2025, 3, 14))
CURRENT_TERM_START = dt.date(2025, 3, 20)


def _terms(today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(previous start, previous end, current start), moved back by whole years if needed.

    The current seats must be in force on ``today``; when the demo is seeded for a
    day before March 2025 (a test, a clock set back), the calendar shifts rather than
    leaving the bodies empty.
    """
    years = 0
    while CURRENT_TERM_START.replace(year=CURRENT_TERM_START.year - years) > today:
        years += 1

    def back(day: dt.date) -> dt.date:
        return day.replace(year=day.year - years)

    return back(PREVIOUS_TERM[0]), back(PREVIOUS_TERM[1]), back(CURRENT_TERM_START)


# --- contact details ------------------------------------------------------------------------

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "-": "-",
}  # fmt: skip


def _latin(text: str) -> str:
    return "".join(_TRANSLIT[c] for c in text.lower())


def _email(person: _Person, taken: set[str]) -> str:
    """Like o.ivanova@example.ru; the apparatus of the regional council uses example.org."""
    domain = "example.org" if person.org == "root" else "example.ru"
    local = f"{_latin(person.name)[0]}.{_latin(person.surname)}"
    address = f"{local}@{domain}"
    if address in taken:  # namesakes: add the patronymic's initial
        address = f"{_latin(person.name)[0]}.{_latin(person.patronymic)[0]}.{local[2:]}@{domain}"
    taken.add(address)
    return address


def _phone(person: _Person, kind: OrgKind) -> str:
    """Office numbers (+7342…) for the regional and member organisations, mobiles otherwise."""
    number = int(person.card.removeprefix("59-"))
    if kind is OrgKind.PRIMARY:
        return f"+79{(number * 7_654_321 + 12_345_678) % 10**9:09d}"
    return f"+7342{2_100_000 + (number * 3_571) % 900_000:07d}"


# --- seeding ----------------------------------------------------------------------------------


async def seed_demo(session: AsyncSession, *, today: dt.date) -> tuple[DemoPeople, bool]:
    """Create the demo organisation unless it exists; return its people and whether
    anything was created.

    A second run creates nothing and returns the same ids. Only flushes: the caller
    commits (or rolls back, and then nothing of the demo remains).
    """
    existing = await session.scalar(
        select(Organisation.id).where(
            Organisation.parent_id.is_(None), Organisation.name == DEMO_ROOT_NAME
        )
    )
    if existing is not None:
        return await _find_people(session, existing), False

    actor = Actor.system(DEMO_ACTOR_NAME)
    orgs = OrganisationService(session, actor)
    members = MemberService(session, actor)
    bodies = BodyService(session, actor)

    org_ids: dict[str, int] = {}
    org_kinds: dict[str, OrgKind] = {}
    for spec in _ORGS:
        org = await orgs.create(
            OrganisationIn(
                name=spec.name,
                short_name=spec.short_name,
                kind=spec.kind,
                parent_id=org_ids[spec.parent] if spec.parent else None,
                city=spec.city,
            )
        )
        org_ids[spec.key] = org.id
        org_kinds[spec.key] = spec.kind

    member_ids: dict[str, int] = {}
    emails: set[str] = set()
    for person in _PEOPLE:
        created = await members.create(
            MemberIn(
                organisation_id=org_ids[person.org],
                surname=person.surname,
                name=person.name,
                patronymic=person.patronymic,
                card_number=person.card,
                position=person.position,
                email=_email(person, emails),
                phone=_phone(person, org_kinds[person.org]),
                joined_on=person.joined_on,
            )
        )
        member_ids[person.card] = created.id

    previous_start, previous_end, current_start = _terms(today)
    body_ids: dict[str, int] = {}
    for body_spec in _BODIES:
        body = await bodies.create(
            BodyIn(organisation_id=org_ids[body_spec.org], kind=body_spec.kind, name=body_spec.name)
        )
        body_ids[body_spec.name] = body.id
        for card, role in body_spec.previous:
            await bodies.add_seat(
                body.id,
                SeatIn(
                    member_id=member_ids[card],
                    role=role,
                    term_start=previous_start,
                    term_end=previous_end,
                ),
            )
        for card, role in body_spec.seats:
            await bodies.add_seat(
                body.id, SeatIn(member_id=member_ids[card], role=role, term_start=current_start)
            )

    people = DemoPeople(
        root_id=org_ids["root"],
        council_id=body_ids[COUNCIL_NAME],
        presidium_id=body_ids[PRESIDIUM_NAME],
        chair_member_id=member_ids[CHAIR_CARD],
        secretary_member_id=member_ids[SECRETARY_CARD],
        member_member_id=member_ids[MEMBER_CARD],
        auditor_member_id=member_ids[AUDITOR_CARD],
        registrar_member_id=member_ids[REGISTRAR_CARD],
    )
    return people, True


async def _find_people(session: AsyncSession, root_id: int) -> DemoPeople:
    """The demo's people in an existing tree, by their card numbers and body names."""
    cards = (CHAIR_CARD, SECRETARY_CARD, MEMBER_CARD, AUDITOR_CARD, REGISTRAR_CARD)
    member_ids: dict[str, int] = dict(
        (
            await session.execute(
                select(Member.card_number, Member.id).where(
                    Member.root_organisation_id == root_id, Member.card_number.in_(cards)
                )
            )
        )
        .tuples()
        .all()
    )
    names = (COUNCIL_NAME, PRESIDIUM_NAME)
    body_ids: dict[str, int] = dict(
        (
            await session.execute(
                select(Body.name, Body.id).where(
                    Body.organisation_id == root_id,
                    Body.name.in_(names),
                    Body.retired_at.is_(None),
                )
            )
        )
        .tuples()
        .all()
    )
    missing = _missing(cards, member_ids) + _missing(names, body_ids)
    if missing:
        # Someone edited the demo by hand; seeding again would clash with what is left.
        raise Conflict(
            f"the demo organisation {root_id} exists but lacks: {', '.join(missing)}; "
            "remove it or use another database"
        )
    return DemoPeople(
        root_id=root_id,
        council_id=body_ids[COUNCIL_NAME],
        presidium_id=body_ids[PRESIDIUM_NAME],
        chair_member_id=member_ids[CHAIR_CARD],
        secretary_member_id=member_ids[SECRETARY_CARD],
        member_member_id=member_ids[MEMBER_CARD],
        auditor_member_id=member_ids[AUDITOR_CARD],
        registrar_member_id=member_ids[REGISTRAR_CARD],
    )


def _missing(wanted: Iterable[str], found: dict[str, int]) -> list[str]:
    return [item for item in wanted if item not in found]
