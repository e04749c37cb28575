"""Third-party warnings (mlcroissant's absl lines, library FutureWarnings, logs) stay out of a
command's output unless ``--verbose``; vaar's own printed lines always show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NOISY = '''
import argparse, logging, sys, warnings
HELP = "a command that calls libraries which warn"
def add_arguments(p): pass
def run(args):
    from vaar.curation.publish.croissant import validate_croissant
    validate_croissant({"@context": {}, "@type": "sc:Dataset", "name": "x"})   # mlcroissant -> absl WARNING
    warnings.warn("a library's deprecation", FutureWarning)
    logging.getLogger("datasets").warning("a library's log line")
    import datasets  # imported inside the command, as train and submit do (its bars: off at import)
    print("vaar: the summary line", file=sys.stderr)
    return 0
'''


def run_cli(tmp_path: Path, *extra: str) -> str:
    (tmp_path / "noisy_cmd.py").write_text(NOISY)
    code = ("import sys; from vaar._cli import make_main; "
            "sys.exit(make_main('vaar', 'test', {'noisy': 'noisy_cmd'})(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    proc = subprocess.run([sys.executable, "-c", code, "noisy", *extra], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_third_party_warnings_hidden_unless_verbose(tmp_path: Path) -> None:
    quiet = run_cli(tmp_path)
    assert quiet.strip().splitlines() == ["vaar: the summary line"]
    loud = run_cli(tmp_path, "--verbose")
    assert "WARNING:absl" in loud or "@context" in loud  # mlcroissant's own words reach the user
    assert "FutureWarning" in loud and "a library's log line" in loud and "vaar: the summary line" in loud


def test_quiet_block_restores_every_setting() -> None:
    import logging
    import warnings

    from vaar.core._util.quiet import quiet_third_party

    before = (logging.getLogger().level, logging.getLogger("absl").level, list(warnings.filters),
              os.environ.get("HF_DATASETS_DISABLE_PROGRESS_BARS"))
    with quiet_third_party():
        assert logging.getLogger("absl").level == logging.ERROR
    after = (logging.getLogger().level, logging.getLogger("absl").level, list(warnings.filters),
             os.environ.get("HF_DATASETS_DISABLE_PROGRESS_BARS"))
    assert after == before
