from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from server.logs import REQUEST_ID, JsonFormatter, _RequestIdFilter
from server.settings import Settings


def test_environment_then_flags() -> None:
    env = {
        "KVORUM_DATABASE_URL": "postgresql://kvorum@db/kvorum",
        "KVORUM_PORT": "9000",
        "KVORUM_MIGRATE_ON_START": "no",
        "KVORUM_DATA_DIR": "/srv/kvorum",
    }
    settings = Settings.from_env(env, port=9100, host=None)
    assert settings.database_url == "postgresql://kvorum@db/kvorum"
    assert settings.port == 9100  # the flag wins
    assert settings.host == "127.0.0.1"  # None means "not given"
    assert settings.migrate_on_start is False
    assert settings.data_dir == Path("/srv/kvorum")


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path).effective_database_url
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'kvorum.sqlite3'}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KVORUM_PORT": "eighty"}, "KVORUM_PORT: invalid literal for int()"),
        ({"KVORUM_PORT": "70000"}, "port must be within 1..65535, got 70000"),
        ({"KVORUM_MIGRATE_ON_START": "maybe"}, "KVORUM_MIGRATE_ON_START: not a boolean: 'maybe'"),
        ({"KVORUM_LOG_FORMAT": "xml"}, "log_format must be 'json' or 'text', got 'xml'"),
    ],
)
def test_bad_settings_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("kvorum.http", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.status = 200
    token = REQUEST_ID.set("req-42")
    try:
        _RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "GET /x"
    assert line["request_id"] == "req-42"
    assert line["status"] == 200
    assert line["level"] == "info"
