"""Issue 19 (trust, round 3): the submitter's attacks on the scorer's inputs, each reproduced with a
real file and shown to fail. Sandbox escapes are in ``test_sandbox_contain.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.bench.benchdata import make_truth, write_labels

HWM = ("import sys\nfrom vaar.bench.cli import main\nrc = main(sys.argv[1:])\n"
       "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
       "print('RESULT', rc, int(hwm) // 1024)")


def _cli_peak(*args: str) -> tuple[int, int, str]:
    """(exit code, peak RSS in MB, stderr) of ``vaar-bench ARGS`` in a fresh Python."""
    p = subprocess.run([sys.executable, "-c", HWM, *args], capture_output=True, text=True, timeout=300)
    last = p.stdout.strip().splitlines()[-1].split()
    return int(last[1]), int(last[2]), p.stderr


def test_finding7_parquet_dictionary_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """A few-KB Parquet whose dictionary page holds one 1 MB label, pointed at by every row: the old
    reader copied it into each row (400 MB here, 2 GB in the report); now refused before that."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, y = make_truth(400)
    labels = write_labels(tmp_path / "labels.csv", ids, y)
    big = "A" * (1 << 20)
    table = pa.table({"clip_id": pa.array(ids), "label": pa.array([big] * len(ids)).dictionary_encode()})
    bomb = tmp_path / "bomb.parquet"
    pq.write_table(table, bomb, compression="zstd")
    assert bomb.stat().st_size < 64 * 1024
    rc, peak_mb, err = _cli_peak("score", str(bomb), "--labels", str(labels), "--max-mb", "64")
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert rc == 2 and len(lines) == 1, err
    assert "expands to more than 64 MB" in lines[0] and "Traceback" not in err
    assert peak_mb < 300, f"peak RSS {peak_mb} MB"


def test_parquet_nested_columns_are_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vaar.contracts.predictions import read_table
    from vaar.errors import SubmissionError

    ids, _ = make_truth(20)
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"clip_id": ids, "label": [["abuse"] * 1000] * len(ids)}), path)
    try:
        read_table(path)
    except SubmissionError as exc:
        assert "not plain text or numbers" in str(exc) and "label" in str(exc)
    else:
        raise AssertionError("a list column was accepted")
