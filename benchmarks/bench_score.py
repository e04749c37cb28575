"""Wall time of ``vaar-bench score`` (interpreter start-up included) and its imports.

    .venv/bin/python benchmarks/bench_score.py [--sizes 3000 100000] [--repeat 3] [--baseline REF]

For each size: writes random labels and 10-class predictions with scores (CSV) to a temporary
folder, runs ``vaar-bench score --json --bootstrap 1000`` as a fresh process ``--repeat`` times,
and prints the best and median wall time; then checks in a fresh interpreter that scoring never
imports torch or scikit-learn. Targets (issue 6): 3,000 under 2 s, 100,000 under 10 s.

``--baseline REF`` (a git commit, e.g. ``main``) also runs that commit's ``vaar`` (exported with
``git archive``) on the same files, alternating old and new runs, and prints new/old ratios --
on a machine shared with other jobs the ratio is the figure to trust.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vaar.core.taxonomy import default_taxonomy

TARGETS = {3000: 2.0, 100_000: 10.0}


def write_files(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    tax = default_taxonomy()
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(tax.slugs), n)
    s = rng.random((n, len(tax.slugs)))
    s[np.arange(n), y] += rng.random(n)
    s /= s.sum(axis=1, keepdims=True)
    labels, preds = folder / f"labels_{n}.csv", folder / f"pred_{n}.csv"
    with open(labels, "w") as f:
        f.write("clip_id,label\n")
        f.writelines(f"clip{i:06d},{tax.slugs[c]}\n" for i, c in enumerate(y))
    with open(preds, "w") as f:
        f.write("clip_id,label," + ",".join(f"score_{c}" for c in tax.slugs) + "\n")
        for i in range(n):
            f.write(f"clip{i:06d},{tax.slugs[int(s[i].argmax())]}," + ",".join(f"{v:.6f}" for v in s[i]) + "\n")
    return labels, preds


def export(ref: str, dest: Path) -> Path:
    """``vaar`` (and the taxonomy it links to) at git ``ref``, for PYTHONPATH."""
    root = Path(__file__).resolve().parents[1]
    tar = subprocess.run(["git", "-C", str(root), "archive", ref, "vaar", "curation/taxonomy.yaml"],
                         check=True, capture_output=True).stdout  # fmt: skip
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--baseline", metavar="REF", help="also time vaar at this git commit (e.g. main), alternating")
    args = ap.parse_args()
    exe = Path(sys.executable).with_name("vaar-bench")
    prog = [str(exe)] if exe.exists() else [sys.executable, "-m", "vaar.bench.cli"]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        old_env = None
        if args.baseline:
            import os

            old_env = {**os.environ, "PYTHONPATH": str(export(args.baseline, Path(tmp) / "baseline"))}
        for n in args.sizes:
            labels, preds = write_files(Path(tmp), n)
            tail = ["score", str(preds), "--labels", str(labels), "--json", "--bootstrap", str(args.bootstrap),
                    "--seed", "0"]  # fmt: skip
            times: list[float] = []
            old: list[float] = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                subprocess.run([*prog, *tail], check=True, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - t0)
                if old_env is not None:
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "vaar.bench.cli", *tail], check=True,
                                   stdout=subprocess.DEVNULL, env=old_env, cwd=tmp)  # fmt: skip
                    old.append(time.perf_counter() - t0)
            target = TARGETS.get(n)
            verdict = "" if target is None else (" ok" if min(times) < target else f" OVER {target:.0f} s")
            ok &= not verdict.startswith(" OVER")
            print(f"n={n:>7}  bootstrap={args.bootstrap}  best {min(times):.2f} s  "
                  f"median {statistics.median(times):.2f} s{verdict}")
            if old:
                print(f"           {args.baseline}: best {min(old):.2f} s  median {statistics.median(old):.2f} s  "
                      f"-> new/old {min(times) / min(old):.2f} (best), "
                      f"{statistics.median(times) / statistics.median(old):.2f} (median)", flush=True)
        probe = (
            "import sys; from vaar.bench.cli import main; "
            f"main(['score', {str(preds)!r}, '--labels', {str(labels)!r}, '--json', '--bootstrap', '10']); "
            "bad = [m for m in ('torch', 'sklearn', 'datasets') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)"
        )
        r = subprocess.run([sys.executable, "-c", probe], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        print("imports torch/sklearn/datasets: " + ("no" if r.returncode == 0 else r.stderr.strip()))
        ok &= r.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
