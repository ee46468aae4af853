"""The API fuzzed from its own OpenAPI document with Schemathesis, on a live server.

Schemathesis (the ``st`` command of the test extra) generates requests from
``/api/v1/openapi.json``: examples, the coverage phase's edge values, random valid and
invalid data, and stateful sequences that follow the document's links (an organisation
made, then read, changed, retired...). It runs three times on each database: without a
session, as the registrar and as a member with a seat, and fails on any 5xx, any answer
its document does not declare (status, content type, schema, headers), any invalid
request accepted and any valid one refused as invalid.

Bounded by Schemathesis' own settings, not by a clock in the test: ``MAX_EXAMPLES`` per
operation and phase, a time budget of ``BUDGET_SECONDS`` a run (within which fuzzing and
the stateful phase repeat), a fixed seed and one worker.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Role
from server.auth import open_session
from tests import factories as f
from tests.factories import LiveServer

MAX_EXAMPLES = 5
BUDGET_SECONDS = 40
SEED = 17
ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")


async def _session(db: AsyncSession, *roles: Role, member: Any = None) -> tuple[str, str]:
    account = await f.account(db, *roles, member_obj=member)
    token, row = await open_session(db, account, None, method="invitation")
    return token, row.csrf_token


async def _world(db: AsyncSession) -> dict[str, tuple[str, str] | None]:
    """A union with a presidium in session, and the sessions the runs use."""
    setup = await f.meeting(db, size=4, items=2)
    seated = setup.members[2]
    sessions: dict[str, tuple[str, str] | None] = {
        "anonymous": None,
        "registrar": await _session(db, Role.REGISTRAR),
        "member": await _session(db, Role.MEMBER, member=seated),
    }
    await db.commit()
    return sessions


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    # Room for the fuzzer's anonymous logins before the throttle answers 429 (which is
    # declared, so still a pass; more room means more of the login paths are reached).
    return {"anonymous_burst": 50, "login_max_per_address": 1000}


@pytest.mark.parametrize("who", ["anonymous", "registrar", "member"])
async def test_api_conforms_to_its_document(
    live_server: LiveServer, db: AsyncSession, tmp_path: Path, who: str
) -> None:
    session = (await _world(db))[who]
    # The session is the document's "session" scheme (a cookie), so that Schemathesis
    # knows a request without it is meant to be refused; the CSRF token rides along.
    config = tmp_path / "schemathesis.toml"
    headers: list[str] = []
    text = CONFIG.read_text("utf-8")
    if session is not None:
        token, csrf = session
        text += f'\n[auth.openapi.session]\napi_key = "{token}"\n'
        headers = ["-H", f"X-CSRF-Token: {csrf}"]
    config.write_text(text, "utf-8")
    command = [
        str(ST),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        live_server.url("/api/v1/openapi.json"),
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(BUDGET_SECONDS),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        *headers,
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,  # Schemathesis keeps its cache in the working directory
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    output, _ = await process.communicate()
    report = output.decode("utf-8", "replace")
    assert process.returncode == 0, report
