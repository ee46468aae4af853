"""``python -m ballots verify BUNDLE`` (or ``receipt BUNDLE RECEIPT``): the auditor's
command line, :mod:`ballots.auditcli`, runnable from a checkout without installing."""

from __future__ import annotations

import sys

from ballots.auditcli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
