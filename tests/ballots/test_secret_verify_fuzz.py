"""The secret verifier on damaged bundles: whatever is changed, it answers with failures
named by check ids, never with an exception."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from ballots.checks import CHECKS
from ballots.secretverify import verify_secret_bundle
from crypto.canonical import canonicalize
from tests.ballots.make_bundle import load, resign
from tests.ballots.make_secret import SecretSample
from tests.ballots.vectors.generate import HERE
from tests.mutations import json_paths

CASTS = [
    (0, (1, 1, 0), False),
    (1, (1, 0, 0), False),
    (1, (0, 1, 0), True),
    (2, (0, 1, 1), False),
    (2, (1, 0, 0), False),
    (3, (0, 0, 0), False),
]
HONEST = load((HERE / "secret" / "approve-each.json").read_bytes())
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    "",
    "x",
    "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    [],
    [1],
    {},
    {"a": 1},
    "2025-03-03T10:00:00Z",
]


PATHS = [p for p in json_paths(HONEST) if p]


def _mutate(bundle: Any, rng: random.Random) -> Any:
    changed = copy.deepcopy(bundle)
    path = rng.choice(PATHS)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if isinstance(parent, dict) and rng.random() < 0.2:
        del parent[last]
    else:
        parent[last] = rng.choice(ODD_VALUES)
    return changed


@pytest.mark.parametrize("seed", range(12))
def test_damage_gives_failures_not_exceptions(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(8):
        data = canonicalize(_mutate(HONEST, rng))
        report = verify_secret_bundle(data)
        for failure in report.failures:
            assert failure.check in CHECKS


SAMPLE = SecretSample(casts=CASTS)
SIGNERS = {m.serial: m.key for m in SAMPLE.members}


def _resigned(bundle: Any, rng: random.Random) -> Any:
    """A change inside a signed part, signed again by the key that signs it, so the
    parsers behind the signatures are reached."""
    changed = copy.deepcopy(bundle)
    if rng.random() < 0.4:
        target = changed["definition"]
        key = SAMPLE.registry
    elif rng.random() < 0.2:
        target = changed["result"]
        key = SAMPLE.registry
    else:
        entry = rng.choice(changed["entries"])
        target = entry["document"]
        key = SIGNERS[target["payload"]["serial"]]
    payload = target["payload"]
    path = rng.choice([p for p in json_paths(payload) if p])
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    # (an integer beyond 2⁵³ cannot be signed at all: the first test has it unsigned)
    parent[path[-1]] = rng.choice([v for v in ODD_VALUES if v != 2**70])
    target.update(resign({"payload": payload}, key))
    return changed


@pytest.mark.parametrize("seed", range(20))
def test_damage_behind_signatures_gives_failures_not_exceptions(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(5):
        report = verify_secret_bundle(canonicalize(_resigned(HONEST, rng)))
        assert report.failures or report.ok
        for failure in report.failures:
            assert failure.check in CHECKS
