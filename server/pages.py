"""Server-rendered pages: the Jinja2 environment, locale choice and the render helpers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from aiohttp import web

from registry.actor import Actor
from registry.errors import DomainError
from registry.localtime import DEFAULT_ZONE, LocalClock
from server.auth import ACTOR_KEY, CSRF_KEY, SAFE_METHODS, unit
from server.i18n import Catalogues, refusal_text
from server.keys import CATALOGUES, JINJA

__all__ = [
    "LOCALE_COOKIE",
    "make_jinja",
    "refusal_message",
    "render",
    "render_error",
    "translator",
]

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
LOCALE_COOKIE = "kvorum-locale"


def _date_filter(clock: LocalClock) -> Any:
    def _date(value: dt.date | dt.datetime | None) -> str:
        """A day as «07.12.2026»; an instant as the organisation's clocks show it."""
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return clock(value)
        return value.strftime("%d.%m.%Y")

    return _date


def _period(text: str) -> str:
    """A sentence's full stop, unless the text already ends in one (or «?», «!», «…»):
    «И. И. Иванов» gets none after its initials' stop."""
    text = str(text).rstrip()
    return text if not text or text[-1] in ".?!…:;" else text + "."


#: Where a catalogue sentence takes a command (``{command}``): filled by |command.
COMMAND_SLOT = "\x00"


def _command(text: str, command: str) -> markupsafe.Markup:
    """A sentence with a command in it for the reader to type: the command set as code
    (``t("key", command=COMMAND_SLOT)|command("kvorum audit verify ФАЙЛ")``)."""
    before, _, after = str(text).partition(COMMAND_SLOT)
    return markupsafe.Markup("{}<code>{}</code>{}").format(before, command, after)


def _nbsp(text: str | None) -> str:
    """A name held together: its spaces non-breaking, so «Кузнецова Е. В.» never
    leaves its initials on the next line. A remark in brackets after it («(в зале, по
    подсчёту секретаря)») may still wrap."""
    name, bracket, remark = " ".join(str(text or "").split()).partition(" (")
    return name.replace(" ", "\u00a0") + bracket + remark


_PATH = re.compile(r"(?<![\w/])(/(?:documents|votes|meetings|notices|card)(?:/[\w-]+)*)")


def _links(text: str) -> markupsafe.Markup:
    """A notice's line with the site's own addresses in it («/documents/inbox») as links."""
    parts = _PATH.split(str(text))
    out = markupsafe.Markup()
    for index, part in enumerate(parts):
        if index % 2:
            out += markupsafe.Markup('<a href="{0}">{0}</a>').format(part)
        else:
            out += part
    return out


def make_jinja(zone: str = DEFAULT_ZONE) -> jinja2.Environment:
    """Templates; instants shown through ``|date`` are in ``zone``, the organisation's."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    clock = LocalClock(zone)
    env.filters["date"] = _date_filter(clock)
    env.globals["zone_name"] = clock.label
    env.globals["org_zone"] = zone
    env.filters["period"] = _period
    env.filters["command"] = _command
    env.filters["nbsp"] = _nbsp
    env.filters["links"] = _links
    env.globals["COMMAND"] = COMMAND_SLOT
    return env


def translator(request: web.Request) -> Any:
    locale = Catalogues.negotiate(request.cookies.get(LOCALE_COOKIE))
    return request.app[CATALOGUES].translator(locale)


def render(
    request: web.Request,
    template: str,
    *,
    actor: Actor | None = None,
    status: int = 200,
    **context: Any,
) -> web.Response:
    t = translator(request)
    html = (
        request.app[JINJA]
        .get_template(template)
        .render(
            t=t,
            locale=t.locale,
            actor=actor,
            csrf_token=request.get(CSRF_KEY, ""),
            path=request.path,
            query=request.query,
            **context,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def refusal_message(request: web.Request, code: str, params: Mapping[str, object]) -> str:
    """A refusal in the request's language: its own sentence (``error.<code>`` with its
    parameters) or, for a code without one, the heading of its kind."""
    t = translator(request)
    specific = refusal_text(t, code, params)
    if specific is not None:
        return specific
    key = f"error.{code}"
    return str(t(key) if t.has(key) else t("form.refused"))


async def render_error(
    request: web.Request, status: int, code: str, detail: str, message: str
) -> web.Response:
    actor = request.get(ACTOR_KEY)
    if actor is None and request.method in SAFE_METHODS and code != "not_authenticated":
        # No handler looked at the session (an unknown address): the header still
        # names who is logged in, rather than offering them «Войти».
        try:
            async with unit(request, anonymous=True) as (_db, actor):
                pass
        except DomainError:
            actor = None
    return render(
        request,
        "error.html",
        actor=actor,
        status=status,
        code=code,
        message=message,
        detail=detail,
    )
