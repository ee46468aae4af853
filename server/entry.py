"""The ``kvorum`` console command's entry point.

``kvorum audit …`` is dispatched before anything else is imported: an auditor's
machine needs only PyNaCl to run it (:mod:`ballots.auditcli`). Every other command
loads the server (:mod:`server.cli`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["audit"]:
        from ballots.auditcli import main as audit

        return audit(args[1:])
    from server.cli import main as serve

    return serve(args)
