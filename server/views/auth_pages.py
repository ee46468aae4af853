"""Logging in with a single-use link, logging out, choosing the language."""

from __future__ import annotations

from aiohttp import web

from registry.orm import utcnow
from server.auth import (
    consume_login_link,
    cookie_name,
    current_session,
    open_session,
    set_session_cookie,
    unit,
)
from server.i18n import LOCALES
from server.keys import SESSIONMAKER, SETTINGS
from server.pages import LOCALE_COOKIE, render

__all__ = ["install"]


async def login_link(request: web.Request) -> web.StreamResponse:
    """GET shows a confirmation page (link scanners in mail clients only GET);
    POST spends the link and opens a session."""
    token = request.match_info["token"]
    if request.method == "GET":
        return render(request, "login_link.html", token=token)
    settings = request.app[SETTINGS]
    async with request.app[SESSIONMAKER]() as db, db.begin():
        account = await consume_login_link(db, token)
        session_token, _row = await open_session(db, account)
    response = web.HTTPSeeOther("/")
    set_session_cookie(response, settings, session_token)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    async with unit(request, anonymous=True) as (_db, _actor):
        session = current_session(request)
        if session is not None:
            session.ended_at = utcnow()
    response = web.HTTPSeeOther("/")
    response.del_cookie(cookie_name(request.app[SETTINGS]), path="/")
    raise response


async def set_locale(request: web.Request) -> web.StreamResponse:
    locale = request.match_info["locale"]
    if locale not in LOCALES:
        raise web.HTTPNotFound()
    back = request.headers.get("Referer", "")
    # Only ever redirect back to this site (no open redirect through the Referer).
    own = (request.app[SETTINGS].effective_public_url, f"{request.scheme}://{request.host}")
    target = back if any(back.startswith(o + "/") for o in own) else "/"
    response = web.HTTPSeeOther(target)
    response.set_cookie(LOCALE_COOKIE, locale, path="/", samesite="Lax", max_age=365 * 86400)
    raise response


def install(app: web.Application) -> None:
    app.router.add_route("GET", "/login/{token}", login_link)
    app.router.add_route("POST", "/login/{token}", login_link)
    app.router.add_post("/logout", logout)
    app.router.add_get("/locale/{locale}", set_locale)
