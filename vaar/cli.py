"""``vaar``: the curation command line (build, split, publish, verify-sync)."""

from __future__ import annotations

import sys

from vaar._cli import make_main

COMMANDS = {
    "build": "vaar.curation.cmd_build",
    "split": "vaar.curation.cmd_split",
    "publish": "vaar.curation.cmd_publish",
    "verify-sync": "vaar.curation.cmd_verify_sync",
    "review": "vaar.curation.cmd_review",
    "discover": "vaar.curation.cmd_discover",
    "audit": "vaar.curation.cmd_audit",
}

main = make_main("vaar", "Curate the VAAR audio-visual anomaly dataset.", COMMANDS)

if __name__ == "__main__":
    sys.exit(main(None))
