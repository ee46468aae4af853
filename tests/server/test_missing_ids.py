"""Every page and API read that names an object by its id answers 404 when there is no
such object (or, to a caller without the right, 403, which names no object either):
never an empty list, an empty page or a 500 standing in for "nothing here" (a list
under a meeting that does not exist is not an empty list)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.settings import Settings
from tests.server.access_world import build_world, make_client_factory

MISSING = "987654321"
PARAM = re.compile(r"\{([a-z_]+)(?::[^}]*)?\}")
# Path parameters that are not ids: a made-up value of the right shape.
NOT_IDS = {"token": "x" * 43, "lang": None, "name": None, "filename": None, "tail": None}


def _get_routes() -> list[str]:
    app = create_app(Settings())
    paths = set()
    for route in app.router.routes():
        if route.method != "GET" or route.resource is None:
            continue
        info = route.resource.get_info()
        path = info.get("formatter") or info.get("path")
        if path and "{" in path:
            paths.add(path)
    return sorted(paths)


def _missing(path: str) -> str | None:
    names = PARAM.findall(path)
    if any(n in NOT_IDS and NOT_IDS[n] is None for n in names):
        return None

    def fill(match: re.Match[str]) -> str:
        return NOT_IDS.get(match.group(1)) or MISSING

    return PARAM.sub(fill, path)


async def test_reads_of_missing_objects_are_404(
    db: AsyncSession, client: Any, aiohttp_client: Any
) -> None:
    world = await build_world(db, client, make_client_factory(client.server, aiohttp_client))
    wrong = []
    for role in ("registrar", "chair"):
        login = await world.caller(role)
        for path in _get_routes():
            url = _missing(path)
            if url is None or path.endswith("/ws"):  # a socket answers only an upgrade
                continue
            response = await login.client.get(url, allow_redirects=False)
            # The registrar may see everything: only "not found" tells nothing false.
            # Another caller may be refused first (403 names no object either).
            allowed = {404} if role == "registrar" else {403, 404}
            if response.status not in allowed:
                wrong.append(f"{role} GET {url}: {response.status}")
    assert wrong == [], "\n".join(wrong)
