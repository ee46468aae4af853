"""The ``kvorum`` console command's entry point.

``kvorum audit …`` and ``kvorum docs …`` are dispatched before anything else is
imported: an auditor's machine needs only PyNaCl to check a vote's bundle
(:mod:`ballots.auditcli`) or a signed PDF (:mod:`meetings.docscli`, its report in
the pages' words from :mod:`server.docwords`, which is as light). Every other
command loads the server (:mod:`server.cli`).
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
    if args[:1] == ["docs"]:
        from meetings.docscli import main as docs
        from server.docwords import render_report

        return docs(args[1:], render=render_report)
    from server.cli import main as serve

    return serve(args)
