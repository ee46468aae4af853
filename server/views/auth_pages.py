"""Choosing the interface language."""

from __future__ import annotations

from aiohttp import web

from server.i18n import LOCALES
from server.origins import own_origins
from server.pages import LOCALE_COOKIE

__all__ = ["install"]


async def set_locale(request: web.Request) -> web.StreamResponse:
    locale = request.match_info["locale"]
    if locale not in LOCALES:
        raise web.HTTPNotFound()
    back = request.headers.get("Referer", "")
    # Only ever redirect back to this site (no open redirect through the Referer).
    own = own_origins(request)
    target = back if any(back.startswith(o + "/") for o in own) else "/"
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        path="/",
        samesite="Lax",
        max_age=365 * 86400,
        # Never sent over plain http to a https site. Browsers accept Secure cookies
        # from http://localhost, the one plain-http origin Kvorum serves.
        secure=True,
    )
    raise response


def install(app: web.Application) -> None:
    app.router.add_get("/locale/{locale}", set_locale)
