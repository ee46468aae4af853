"""Helpers shared by the fuzz tests that mutate JSON documents (bundles, signed records)."""

from __future__ import annotations

from typing import Any


def json_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value`` (the root's is ``()``): member names and list indices."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += json_paths(item, (*path, index))
    return found
