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

    from vaar.core.contracts.predictions import read_table
    from vaar.core.errors import SubmissionError

    ids, _ = make_truth(20)
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"clip_id": ids, "label": [["abuse"] * 1000] * len(ids)}), path)
    try:
        read_table(path)
    except SubmissionError as exc:
        assert "not plain text or numbers" in str(exc) and "label" in str(exc)
    else:
        raise AssertionError("a list column was accepted")


# ----------------------------------------------------------------------------- finding 5: entries


def _two_entries(small, capsys, tmp_path: Path) -> tuple[Path, Path, Path]:  # type: ignore[no-untyped-def]
    from vaar.bench.cli import main

    board, stored = tmp_path / "board", tmp_path / "stored"
    stored.mkdir()
    for name in ("honest", "fake"):
        assert main(["submit", str(small["preds"]), "--name", name, "--labels", str(small["labels"]),
                     "--leaderboard", str(board), "--bootstrap", "50"]) == 0
    (stored / "p.csv").write_bytes(small["preds"].read_bytes())
    capsys.readouterr()
    return board, stored, board / "entries" / "vaar-cls" / "fake.json"


def _rescore(board: Path, stored: Path, labels: Path, capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from vaar.bench.cli import main

    rc = main(["leaderboard", "--leaderboard", str(board), "--rescore", str(stored), "--labels", str(labels)])
    out, err = capsys.readouterr()
    return rc, out, err


MEASUREMENT = {"latency": "made up", "sandbox": {"user": "x", "processes": "x", "memory": "x", "network": "x"}}


def test_finding5_fabricated_entry_fields_do_not_pass_rescore(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The report's pull request: invented cost (1.2 K params, 0.05 ms, measured), robustness 0.99,
    an interval not containing its point score, n = 100000. Each is now refused or flagged."""
    import json

    board, stored, fake = _two_entries(small, capsys, tmp_path)
    entry = json.loads(fake.read_text())

    def attempt(**changes: object) -> tuple[int, str, str]:
        fake.write_text(json.dumps({**entry, **changes}))
        return _rescore(board, stored, small["labels"], capsys)

    cost = {"parameters": 1200, "latency_ms_per_clip": 0.05, "latency_clips": 16, "device": "cpu",
            "threads": 4, "measured": True}
    rc, out, err = attempt(cost=cost)  # measured without the scorer's record: invalid
    assert "cost.measured is true without cost.measurement" in err and "vaar-cls/fake" not in out
    rc, out, err = attempt(cost={**cost, "measurement": MEASUREMENT})  # a forged record: cannot be checked
    assert rc == 1 and "unverified  vaar-cls/fake" in out and "cannot check: cost" in out
    rc, out, err = attempt(robustness={"mcf1": 0.99})  # no robustness re-run here: flagged, not trusted
    assert rc == 1 and "unverified  vaar-cls/fake" in out and "cannot check: robustness" in out
    point = entry["scores"]["macro_f1"]
    rc, out, err = attempt(ci95={**entry["ci95"], "macro_f1": [0.97, 0.99]})  # does not contain its point
    assert f"does not contain its score {point}" in err and "vaar-cls/fake" not in out
    rc, out, err = attempt(n=100000)
    assert rc == 1 and "DIFFERS     vaar-cls/fake" in out and "n stored 100000, re-scored 200" in out
    ci = entry["ci95"]["macro_f1"]
    rc, out, err = attempt(ci95={**entry["ci95"], "macro_f1": [max(0.0, ci[0] - 0.05), ci[1]]})
    assert rc == 1 and "ci95.macro_f1 stored" in out
    rc, out, err = attempt()
    assert rc == 0 and "ok          vaar-cls/fake" in out and "ok          vaar-cls/honest" in out


def test_parquet_list_values_are_counted_from_the_footer(tmp_path: Path) -> None:
    """XD-Violence's list column of snippet scores is allowed; a small file declaring millions of list
    values (one dictionary entry repeated) is refused before it is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vaar.core.contracts.predictions import read_table
    from vaar.core.errors import SubmissionError

    ids, _ = make_truth(40)
    path = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"clip_id": ids, "scores": [[0.5] * 50_000] * len(ids)}), path, compression="zstd")
    assert path.stat().st_size < 256 * 1024
    try:
        read_table(path, max_bytes=16 << 20)
    except SubmissionError as exc:
        assert "2,000,000 values in list columns" in str(exc)
    else:
        raise AssertionError("2 M list values were read")
    small = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"clip_id": ids, "scores": [[0.5, 0.25]] * len(ids)}), small)
    assert read_table(small, max_bytes=16 << 20).columns == ("clip_id", "scores")
