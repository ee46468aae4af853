"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when
``KVORUM_TEST_PG_URL`` is set (with ``CI=true`` an unreachable PostgreSQL fails the run)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import ballots.models  # noqa: F401  (tables for the metadata)
import meetings.diagnosis.models
import meetings.elections.models
import meetings.models
import meetings.votes  # noqa: F401
import registry.diagnosis.models
import registry.models  # noqa: F401
import server.outbox  # noqa: F401
from registry.orm import Base
from server import database
from server.app import create_app
from server.settings import Settings
from tests.factories import LiveServer

PG_URL = os.environ.get("KVORUM_TEST_PG_URL", "")
CHROMIUM = os.environ.get("KVORUM_TEST_CHROMIUM", "/usr/bin/chromium")
FIREFOX = os.environ.get("KVORUM_TEST_FIREFOX", "/usr/bin/firefox-esr")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
IN_CI = os.environ.get("CI", "").lower() == "true"

# Property tests run on shared, busy machines: no per-example time limit and no health
# check that judges data generation by the clock (tests never assert wall-clock times).
settings.register_profile("kvorum", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("kvorum")


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI=true needs KVORUM_TEST_PG_URL: PostgreSQL tests must run")


def _backends() -> list[Any]:
    backends: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if PG_URL:
        backends.append(pytest.param("postgresql", id="pg", marks=pytest.mark.postgres))
    return backends


async def _reset_pg(url: str) -> None:
    engine = database.create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each backend migrated once per run; tests start from a copy or a truncation."""
    templates: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("template") / "template.sqlite3"
    sqlite_url = f"sqlite+aiosqlite:///{sqlite_file}"
    database.upgrade(sqlite_url)
    templates["sqlite"] = str(sqlite_file)
    if PG_URL:
        try:
            asyncio.run(_reset_pg(PG_URL))
        except OSError as exc:
            pytest.exit(f"PostgreSQL at KVORUM_TEST_PG_URL is unreachable: {exc}", returncode=3)
        database.upgrade(PG_URL)
        templates["postgresql"] = PG_URL
    return templates


_TABLES = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture(params=_backends())
def db_url(
    request: pytest.FixtureRequest, migrated: dict[str, str], tmp_path: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        copy = tmp_path / "kvorum.sqlite3"
        shutil.copy(migrated["sqlite"], copy)
        yield f"sqlite+aiosqlite:///{copy}"
        return

    async def truncate() -> None:
        engine = database.create_engine(PG_URL)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()

    asyncio.run(truncate())
    yield PG_URL


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[AsyncSession]:
    """A session on a fresh database; the test commits what it wants to keep."""
    engine = database.create_engine(db_url)
    try:
        async with database.make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        migrate_on_start=False,
        log_format="text",
        max_json_body=64 * 1024,
        max_upload_body=16 * 1024 * 1024,
    )


@pytest.fixture
async def client(aiohttp_client: Any, aiohttp_server: Any, settings: Settings) -> Any:
    """A client that, like a browser on localhost, sends the Secure session cookie over
    plain http to this one origin (and keeps cookies for an IP address host)."""
    server = await aiohttp_server(create_app(settings))
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    return await aiohttp_client(server, cookie_jar=jar)


@pytest.fixture
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} does not exist")
        pytest.skip(f"no Chromium at {CHROMIUM} (./scripts/test installs it)")
    return CHROMIUM


@pytest.fixture
def firefox_path() -> str:
    if not Path(FIREFOX).exists():
        if IN_CI:
            pytest.fail(f"Firefox is required in CI but {FIREFOX} does not exist")
        pytest.skip(f"no Firefox at {FIREFOX} (./scripts/test installs firefox-esr)")
    return FIREFOX


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    """Headless Chromium (Debian's) driven by Playwright; required when CI=true."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    """Settings a test module wants different on its live server (override the fixture)."""
    return {}


@pytest.fixture
async def live_server(
    aiohttp_server: Any, settings: Settings, live_overrides: dict[str, Any]
) -> LiveServer:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live = dataclasses.replace(
        settings, port=port, public_url=f"http://localhost:{port}", **live_overrides
    )
    server = await aiohttp_server(create_app(live), host="127.0.0.1", port=port)
    return LiveServer(live, server)
