"""Typed keys for everything the application shares between requests."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ballots.board import Board
from ballots.secretboard import SecretBoard
from registry.registrykey import RegistryKeyring
from server.hub import Hub
from server.i18n import Catalogues
from server.mailer import Mailer
from server.settings import Settings

__all__ = [
    "BOARD",
    "CATALOGUES",
    "ENGINE",
    "HUB",
    "JINJA",
    "KEYRING",
    "MAILER",
    "SECRET_BOARD",
    "SESSIONMAKER",
    "SETTINGS",
]

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER: web.AppKey[async_sessionmaker[Any]] = web.AppKey("sessionmaker")
JINJA = web.AppKey("jinja", jinja2.Environment)
CATALOGUES = web.AppKey("catalogues", Catalogues)
MAILER: web.AppKey[Mailer] = web.AppKey("mailer")
KEYRING = web.AppKey("keyring", RegistryKeyring)
HUB: web.AppKey[Hub] = web.AppKey("hub")
BOARD = web.AppKey("board", Board)
SECRET_BOARD = web.AppKey("secret_board", SecretBoard)
