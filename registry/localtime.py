"""Times as people read them: in the organisation's zone, with a label that names it.

Every instant is stored in UTC; every instant shown to a person (pages, notices,
e-mails, documents) is the wall-clock time of the organisation's zone, and where the
zone needs saying it is said as people say it — «по пермскому времени, UTC+5» — never
as a tz database name («Asia/Yekaterinburg») nor as UTC.

Pure: the standard library only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_ZONE", "LocalClock", "offset_label", "zone_label"]

#: The zone of the union Kvorum was first built for (Perm keeps Yekaterinburg time).
DEFAULT_ZONE = "Asia/Yekaterinburg"

# Russia's zones as people name them: «по <adjective> времени» in Russian, «<city>
# time» in English. A zone takes the name of the city its people set their clocks by
# (Yekaterinburg time is Perm's time too; Perm comes first for the union at home there).
_CITIES: dict[str, tuple[str, str]] = {
    "Europe/Kaliningrad": ("калининградскому", "Kaliningrad"),
    "Europe/Moscow": ("московскому", "Moscow"),
    "Europe/Simferopol": ("московскому", "Moscow"),
    "Europe/Kirov": ("московскому", "Moscow"),
    "Europe/Volgograd": ("волгоградскому", "Volgograd"),
    "Europe/Samara": ("самарскому", "Samara"),
    "Europe/Astrakhan": ("астраханскому", "Astrakhan"),
    "Europe/Saratov": ("саратовскому", "Saratov"),
    "Europe/Ulyanovsk": ("ульяновскому", "Ulyanovsk"),
    "Asia/Yekaterinburg": ("пермскому", "Perm"),
    "Asia/Omsk": ("омскому", "Omsk"),
    "Asia/Novosibirsk": ("новосибирскому", "Novosibirsk"),
    "Asia/Barnaul": ("барнаульскому", "Barnaul"),
    "Asia/Tomsk": ("томскому", "Tomsk"),
    "Asia/Novokuznetsk": ("кемеровскому", "Kemerovo"),
    "Asia/Krasnoyarsk": ("красноярскому", "Krasnoyarsk"),
    "Asia/Irkutsk": ("иркутскому", "Irkutsk"),
    "Asia/Chita": ("читинскому", "Chita"),
    "Asia/Yakutsk": ("якутскому", "Yakutsk"),
    "Asia/Khandyga": ("якутскому", "Yakutsk"),
    "Asia/Vladivostok": ("владивостокскому", "Vladivostok"),
    "Asia/Ust-Nera": ("владивостокскому", "Vladivostok"),
    "Asia/Sakhalin": ("сахалинскому", "Sakhalin"),
    "Asia/Magadan": ("магаданскому", "Magadan"),
    "Asia/Srednekolymsk": ("магаданскому", "Magadan"),
    "Asia/Kamchatka": ("камчатскому", "Kamchatka"),
    "Asia/Anadyr": ("камчатскому", "Kamchatka"),
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def offset_label(zone: str, on: dt.datetime | None = None) -> str:
    """«UTC+5», «UTC+3», «UTC+5:30»: the zone's offset at ``on`` (now by default)."""
    moment = (on or dt.datetime.now(dt.UTC)).astimezone(_zone(zone))
    minutes = int((moment.utcoffset() or dt.timedelta(0)).total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(zone: str, locale: str = "ru", on: dt.datetime | None = None) -> str:
    """«по пермскому времени, UTC+5» (Russian) or «Perm time, UTC+5» (English); a zone
    outside the table is named by its offset alone («по времени UTC+4»)."""
    offset = offset_label(zone, on)
    city = _CITIES.get(zone)
    if locale == "en":
        return f"{city[1]} time, {offset}" if city else f"{offset} time"
    return f"по {city[0]} времени, {offset}" if city else f"по времени {offset}"


@dataclass(frozen=True)
class LocalClock:
    """Instants as the organisation's clocks show them."""

    zone: str = DEFAULT_ZONE
    locale: str = "ru"

    def __post_init__(self) -> None:
        _zone(self.zone)  # an unknown name falls back rather than failing a page

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(_zone(self.zone))

    def __call__(self, moment: dt.datetime | None, pattern: str = "%d.%m.%Y %H:%M") -> str:
        """The wall-clock text of ``moment`` in the zone ("" for None)."""
        if moment is None:
            return ""
        if moment.tzinfo is None:  # stored instants are UTC; a naive one is read so
            moment = moment.replace(tzinfo=dt.UTC)
        return self.local(moment).strftime(pattern)

    def labelled(self, moment: dt.datetime | None, pattern: str = "%d.%m.%Y %H:%M") -> str:
        """«07.12.2026 22:00 (по пермскому времени, UTC+5)»."""
        if moment is None:
            return ""
        return f"{self(moment, pattern)} ({self.label(moment)})"

    def label(self, on: dt.datetime | None = None) -> str:
        return zone_label(self.zone, self.locale, on)
