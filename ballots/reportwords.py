"""The auditor's report in Russian (the default) or English: the frame of the report,
each check's meaning and the notes, for ``audit verify`` / ``audit receipt``.

The check ids and reason codes stay as ``docs/ballots.md`` names them in both
languages, and so does the verifier's own finding after them (a technical detail for
whoever looks into the failure). Pure: standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["LANGUAGES", "RU_CHECKS", "language", "place", "translate_note"]

LANGUAGES = ("ru", "en")


def language(chosen: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--lang`` if given; else English where the locale is English (``LC_ALL``,
    ``LC_MESSAGES`` or ``LANG`` starting with ``en``); else Russian."""
    if chosen in LANGUAGES:
        return chosen
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "ru"
    return "ru"


#: Each check's meaning in Russian, by id (the English is ``ballots.checks``).
RU_CHECKS: dict[str, str] = {
    "V-1": "файл — не JSON в UTF-8 или в нём повторяются имена полей",
    "V-2": "это не пакет аудита известной версии",
    "V-3": "у пакета или голосования не те поля",
    "V-4": "файл не в каноническом виде: байты могли измениться",
    "V-10": "ключ реестра неверен или записан не под своим идентификатором",
    "V-11": "ключ реестра ничего в пакете не подписывает",
    "V-12": "ключ реестра не из числа доверенных (--keys)",
    "V-20": "подписанная часть не того типа или версии",
    "V-21": "подпись ключом реестра не сходится",
    "V-30": "определение голосования нарушает свой формат",
    "V-31": "голосования идут не по возрастанию номеров",
    "V-40": "список отзыва нарушает свой формат",
    "V-41": "список отзыва выпущен раньше закрытия голосования",
    "V-50": "сертификат ключа неверен",
    "V-51": "сертификаты не по возрастанию серийных номеров",
    "V-52": "один ключ заверен для двух членов",
    "V-53": "ключ из списка голосующих не заверен для этого члена при открытии",
    "V-54": "сертификат не из списка голосующих и не использован",
    "V-55": "под одним серийным номером разные сертификаты",
    "V-60": "запись журнала не по форме версии 1",
    "V-61": "запись не связана с предыдущей (номер или ссылка)",
    "V-62": "бюллетень не по форме версии 1",
    "V-63": "бюллетень другого голосования",
    "V-64": "такого выбора голосование не допускает",
    "V-65": "серийного номера бюллетеня нет среди сертификатов",
    "V-66": "бюллетень подписан не ключом своего сертификата",
    "V-67": "голосующего с этим ключом нет в списке",
    "V-68": "сертификат не действовал, когда бюллетень получен",
    "V-69": "ключ отозван раньше бюллетеня",
    "V-70": "бюллетень получен вне срока голосования",
    "V-71": "бюллетень повторён в журнале",
    "V-80": "контрольная точка не описывает этот журнал",
    "V-81": "отзыв ключа не помещён в журнал",
    "V-82": "отзыв датирован позже следующей за ним записи",
    "V-90": "подписанные итоги не те, что даёт журнал",
    "V-100": "квитанция не подписана ключом реестра",
    "V-101": "в журнале нет записи, названной в квитанции",
    "V-110": "файл --keys не пригоден (kvorum.registry-keys)",
    "V-111": "файл не читается",
    "V-120": "запись голоса из зала не по форме версии 1",
    "V-121": "голосование (определение версии 1) не принимает записей из зала",
    "V-122": "запись из зала подписана не секретарём",
    "V-123": "член органа не отмечен «в зале» или это сам секретарь",
    "V-124": "запись из зала после собственного бюллетеня члена органа",
    "V-200": "определение тайного голосования нарушает свой формат",
    "V-210": "запись журнала тайного голосования не по форме",
    "V-211": "запись не связана с предыдущей (номер или ссылка)",
    "V-212": "документ подписан не ключом своего сертификата",
    "V-213": "генерация ключа или расшифровка не членом счётной комиссии",
    "V-214": "документ вне своего срока",
    "V-215": "документ другого голосования",
    "V-216": "документ или бюллетень повторён в журнале",
    "V-220": "сообщение генерации ключа неверно",
    "V-221": "ключ выборов не тот, что дала генерация",
    "V-230": "доказательства зашифрованного бюллетеня не сходятся",
    "V-231": "раскрытие испорченного бюллетеня не сходится",
    "V-240": "частичная расшифровка неверна",
    "V-241": "член комиссии расшифровал дважды",
    "V-242": "частичных расшифровок меньше порога",
    "V-250": "подписанные итоги не те, что даёт журнал",
}

_PLACES = (
    (re.compile(r"\bvote #(\d+)"), r"голосование №\1"),
    (re.compile(r"\bvote (\d+)"), r"голосование \1"),
    (re.compile(r"\bentry (\d+)"), r"запись \1"),
    (re.compile(r"\bcertificate #(\d+)"), r"сертификат №\1"),
    (re.compile(r"\bcheckpoint\b"), "контрольная точка"),
    (re.compile(r"\brevocation list\b"), "список отзыва"),
    (re.compile(r"\bdefinition\b"), "определение"),
    (re.compile(r"\bresult\b"), "итоги"),
    (re.compile(r"^bundle header$"), "заголовок пакета"),
    (re.compile(r"^bundle end$"), "конец пакета"),
    (re.compile(r"^bundle$"), "пакет"),
    (re.compile(r"^receipt$"), "квитанция"),
)


def place(where: str) -> str:
    """The part of the bundle a failure names (``vote 3, entry 12``), in Russian."""
    for pattern, words in _PLACES:
        where = pattern.sub(words, where)
    return where


_NOTES = (
    (
        re.compile(r"trust anchor: the registry keys in the bundle, (.*) — compare them .*"),
        r"опора доверия: ключи реестра из самого пакета, \1 — сверьте их с опубликованным "
        r"/registry/keys.json или укажите --keys",
    ),
    (
        re.compile(r"trust anchor: the keys given with --keys"),
        "опора доверия: ключи, указанные в --keys",
    ),
    (
        re.compile(r"receipt: your ballot is entry (\d+) of vote (\d+), received at (\S+)"),
        r"квитанция: ваш бюллетень — запись \1 голосования \2, получен \3 (UTC)",
    ),
    (
        re.compile(
            r"secret vote (\d+): (\d+) entries, (\d+) ballots counted, (\d+) spoiled; counts (.*)"
        ),
        r"тайное голосование \1: записей \2, учтено бюллетеней \3, испорчено \4; итоги: \5",
    ),
)


def translate_note(note: str) -> str:
    """A note of the report in Russian (a note it does not know is kept as it is)."""
    for pattern, words in _NOTES:
        if pattern.fullmatch(note):
            return pattern.sub(words, note)
    return note
