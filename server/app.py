"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from sqlalchemy import text

from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server import database
from server.api import API_PREFIX, openapi_document
from server.auth import sweep
from server.i18n import Catalogues
from server.keys import CATALOGUES, ENGINE, HUB, JINJA, KEYRING, MAILER, SESSIONMAKER, SETTINGS
from server.mailer import Mailer, make_mailer
from server.middlewares import (
    error_middleware,
    guard_middleware,
    request_id_middleware,
    security_headers,
)
from server.pages import make_jinja, refusal_message, render_error
from server.pghub import hub_context, make_hub
from server.settings import Settings
from server.throttle import THROTTLE, AddressThrottle
from server.views import (
    auth_pages,
    card,
    diagnosis_api,
    diagnosis_pages,
    distribution_pages,
    document_pages,
    election_pages,
    elections_api,
    hall,
    home,
    identity,
    meeting_pages,
    meeting_room,
    meeting_ws,
    meetings_api,
    registry_api,
    registry_pages,
    secret_api,
    secret_pages,
    signing_keys,
    vote_pages,
    votes_api,
)

__all__ = ["create_app"]

log = logging.getLogger("kvorum")

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
VERSION = "0.1.0"
HOUSEKEEPING_SECONDS = 300


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    url = settings.effective_database_url
    if settings.migrate_on_start:
        # Alembic drives its own event loop; keep it off the server's.
        await asyncio.to_thread(database.upgrade, url)
    engine = database.create_engine(url)
    app[ENGINE] = engine
    app[SESSIONMAKER] = database.make_sessionmaker(engine)
    log.info("database ready", extra={"backend": engine.dialect.name})
    yield
    await engine.dispose()


async def _keyring(app: web.Application) -> AsyncIterator[None]:
    """The registry key (made at first start) under ``<data_dir>/keys``."""
    directory = app[SETTINGS].data_dir / "keys"
    app[KEYRING] = await asyncio.to_thread(RegistryKeyring.open, directory, now=utcnow())
    log.info("registry key %s", app[KEYRING].current_id)
    yield


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """A background task that closes idle sessions and drops spent login links."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                async with app[SESSIONMAKER]() as db, db.begin():
                    await sweep(db, app[SETTINGS])
            except Exception:  # keep sweeping after a transient database error
                log.exception("housekeeping failed")

    task = asyncio.create_task(loop(), name="kvorum-housekeeping")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def healthz(request: web.Request) -> web.Response:
    async with request.app[ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))
    return web.json_response({"status": "ok", "version": VERSION})


async def favicon(request: web.Request) -> web.FileResponse:
    """Browsers ask for /favicon.ico whatever the page says."""
    response = web.FileResponse(STATIC / "favicon.svg")
    response.content_type = "image/svg+xml"
    return response


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


OPENAPI = web.AppKey("openapi", dict)


def create_app(settings: Settings, *, mailer: Mailer | None = None) -> web.Application:
    """Build the application; the database opens (and migrates) when it starts."""
    settings.check_transport()
    app = web.Application(
        middlewares=[
            request_id_middleware(),
            error_middleware(render_error=render_error, message_of=refusal_message),
            guard_middleware(),
        ],
        client_max_size=settings.max_upload_body,
    )
    app[SETTINGS] = settings
    app[JINJA] = make_jinja(settings.timezone)
    app[CATALOGUES] = Catalogues()
    app[MAILER] = mailer or make_mailer(settings, outbox=lambda: app[SESSIONMAKER])
    app[HUB] = make_hub(settings)
    app[THROTTLE] = AddressThrottle(
        burst=settings.anonymous_burst, per_minute=settings.anonymous_per_minute
    )
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(hub_context)
    app.cleanup_ctx.append(_keyring)
    app.cleanup_ctx.append(_housekeeping)
    app.cleanup_ctx.append(votes_api.board_context)
    app.cleanup_ctx.append(secret_api.secret_board_context)
    app.cleanup_ctx.append(votes_api.vote_sweeper)
    app.on_response_prepare.append(security_headers)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get(API_PREFIX + "/openapi.json", openapi)
    api = (
        registry_api.routes,
        identity.routes,
        signing_keys.routes,
        meetings_api.routes,
        votes_api.routes,
        elections_api.routes,
        secret_api.routes,
        document_pages.routes,
        distribution_pages.routes,
        diagnosis_api.routes,
    )
    for table in api:
        table.install(app)
    app[OPENAPI] = openapi_document(api, title="Kvorum API", version=VERSION)
    auth_pages.install(app)
    identity.install(app)
    signing_keys.install(app)
    card.install(app)
    meeting_pages.install(app)
    meeting_room.install(app)
    hall.install(app)
    meeting_ws.install(app)
    registry_pages.install(app)
    home.install(app)
    document_pages.install(app)
    distribution_pages.install(app)
    vote_pages.install(app)
    election_pages.install(app)
    secret_pages.install(app)
    diagnosis_pages.install(app)
    app.router.add_static("/static", STATIC, append_version=True)
    return app
