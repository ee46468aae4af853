"""Server-rendered pages: the Jinja2 environment, locale choice and the render helpers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from registry.actor import Actor
from server.auth import ACTOR_KEY, CSRF_KEY
from server.i18n import Catalogues
from server.keys import CATALOGUES, JINJA

__all__ = ["LOCALE_COOKIE", "make_jinja", "render", "render_error", "translator"]

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
LOCALE_COOKIE = "kvorum-locale"


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def _period(text: str) -> str:
    """A sentence's full stop, unless the text already ends in one (or «?», «!», «…»):
    «И. И. Иванов» gets none after its initials' stop."""
    text = str(text).rstrip()
    return text if not text or text[-1] in ".?!…:;" else text + "."


def make_jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date
    env.filters["period"] = _period
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


async def render_error(request: web.Request, status: int, code: str, detail: str) -> web.Response:
    t = translator(request)
    key = f"error.{code}"
    return render(
        request,
        "error.html",
        actor=request.get(ACTOR_KEY),
        status=status,
        code=code,
        message=t(key) if t.has(key) else detail,
        detail=detail,
    )
