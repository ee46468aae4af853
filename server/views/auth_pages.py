"""Choosing the interface language."""

from __future__ import annotations

from aiohttp import web

from server.i18n import LOCALES
from server.keys import SETTINGS
from server.pages import LOCALE_COOKIE

__all__ = ["install"]


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
    app.router.add_get("/locale/{locale}", set_locale)
