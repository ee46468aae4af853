"""Benchmark: the offline verifier on a 100,000-ballot audit bundle.

The bundle is made by ``tests/ballots/make_bundle.py`` (deterministic): one absentee
vote, ``--voters`` voters each with a key certificate and one ballot, an honest
server's checkpoint, result and revocation list. Measured in one run:

* ``verify_bundle``: :func:`ballots.verify.verify_bundle` on the bundle's bytes, with
  the default number of worker processes (one per CPU) and with ``jobs=1``;
* ``bare``: ``nacl.bindings.crypto_sign_open`` over the same signatures — every
  ballot's and every certificate's, the bulk of what the verifier checks — in one
  process: the floor of any verifier in Python on one core.

Prints the timings, the ratio of each to the bare loop, and whether the target
(under 15 s) is met. Usage::

    .venv/bin/python bench/verify_bundle.py [--voters 100000] [--skip-single]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nacl.bindings
import nacl.exceptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ballots.verify import verify_bundle
from crypto.canonical import canonicalize_signed
from crypto.encoding import b64u_decode
from tests.ballots.make_bundle import build_vote

TARGET_SECONDS = 15.0


def signed_messages(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(signature + signed bytes, public key) of every certificate and ballot."""
    bundle = json.loads(data)
    registry = {key_id: b64u_decode(b64u) for key_id, b64u in bundle["registry_keys"].items()}
    for vote in bundle["votes"]:
        members: dict[int, bytes] = {}
        for certificate in vote["certificates"]:
            payload = certificate["payload"]
            members[payload["serial"]] = b64u_decode(payload["public_key"])
            yield _message(certificate), registry[certificate["signer"]]
        for entry in vote["entries"]:
            ballot = entry["ballot"]
            yield _message(ballot), members[ballot["payload"]["serial"]]


def _message(envelope: dict[str, object]) -> bytes:
    payload = envelope["payload"]
    # Sorted compact JSON is the canonical form of these payloads (integers, strings
    # with nothing to escape); the general encoder would make the setup slow.
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    signature = b64u_decode(str(envelope["signature"]), length=64)
    return signature + canonical


def check_messages(messages: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The shortcut's bytes, where a signature does not verify over them (never, for
    this bundle), replaced by the general encoder's."""
    fixed = []
    for message, key in messages:
        try:
            nacl.bindings.crypto_sign_open(message, key)
        except nacl.exceptions.BadSignatureError:
            payload = json.loads(message[64:])
            message = message[:64] + canonicalize_signed(payload)
        fixed.append((message, key))
    return fixed


def bare(messages: list[tuple[bytes, bytes]]) -> float:
    open_ = nacl.bindings.crypto_sign_open
    started = time.perf_counter()
    for message, key in messages:
        open_(message, key)
    return time.perf_counter() - started


def timed_verify(data: bytes, jobs: int | None) -> float:
    started = time.perf_counter()
    report = verify_bundle(data, jobs=jobs)
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit("the bundle does not verify:\n" + report.text())
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=100_000)
    parser.add_argument("--skip-single", action="store_true", help="skip the jobs=1 run")
    args = parser.parse_args()

    started = time.perf_counter()
    sample = build_vote(args.voters, kind="absentee")
    data = sample.bundle_bytes()
    print(
        f"bundle: {args.voters} voters, {len(sample.entries)} ballots, "
        f"{len(data) / 1e6:.0f} MB, made in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    messages = check_messages(list(signed_messages(data)))
    floor = bare(messages)
    cpus = os.cpu_count() or 1
    runs = [(f"verify_bundle, {cpus} worker processes", timed_verify(data, None))]
    if not args.skip_single:
        runs.append(("verify_bundle, jobs=1", timed_verify(data, 1)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"\n{len(messages)} signatures (certificates and ballots), {cpus} CPUs")
    print(
        f"{'bare crypto_sign_open, one core':40}{floor:8.2f} s   1.00x"
        f"   ({len(messages) / floor:,.0f} signatures/s)"
    )
    for name, seconds in runs:
        print(f"{name:40}{seconds:8.2f} s {seconds / floor:5.2f}x")
    print(f"peak RSS of this process {peak:.0f} MiB")
    verdict = "met" if runs[0][1] < TARGET_SECONDS else "NOT met"
    print(f"target: verify_bundle < {TARGET_SECONDS:.0f} s -> {verdict}")


if __name__ == "__main__":
    main()
