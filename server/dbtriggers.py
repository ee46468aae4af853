"""DDL that makes a table append-only in the database itself, for the migrations.

Logs that are evidence (personal-data access, authentication events, later the
bulletin board) must not be rewritable even by a bug in the application: the
database refuses UPDATE and DELETE on them.
"""

from __future__ import annotations

__all__ = ["append_only", "drop_append_only"]


def append_only(dialect: str, table: str) -> list[str]:
    """Statements creating the guard triggers on ``table`` for ``dialect``."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            for verb in ("UPDATE", "DELETE")
        ]
    return [
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
    ]


def drop_append_only(dialect: str, table: str) -> list[str]:
    """Statements removing the guard (SQLite drops triggers with their table)."""
    if dialect == "sqlite":
        return []
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_append_only()",
    ]
