"""A core install (no ``vaar[baselines]``) curates and scores: the CLIs run with torch, timm,
transformers and the other baselines extras hidden as if they were not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from packaging.requirements import Requirement

from tests.bench.benchdata import SLUGS, make_dataset, make_scores, make_truth, write_predictions
from vaar.core.contracts.manifest_schema import empty_row, manifest_schema

BASELINES_ONLY = ("torch", "torchvision", "torchcodec", "timm", "transformers", "safetensors",
                  "sklearn", "matplotlib")  # fmt: skip

# Hides the names from every finder, so `import torch` is ModuleNotFoundError and
# importlib.util.find_spec("torch") is None — what a machine without the extra sees.
_HIDE = f"""
import runpy, sys
HIDDEN = {set(BASELINES_ONLY)!r}
class Hide:
    def __init__(self, inner):
        self.inner = inner
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            return None
        return self.inner.find_spec(name, path, target)
    def __getattr__(self, attr):
        return getattr(self.inner, attr)
sys.meta_path[:] = [Hide(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]
module, *sys.argv[1:] = sys.argv[1:]
sys.argv[0] = module
try:
    runpy.run_module(module, run_name="__main__")
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)
    print("LOADED", loaded, file=sys.stderr)
"""


def run_core(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _HIDE, module, *args], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])


def test_the_blocker_blocks() -> None:
    proc = subprocess.run([sys.executable, "-c", _HIDE.replace("runpy.run_module(module, run_name=\"__main__\")",
                                                               "import torch"), "x"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "No module named 'torch'" in proc.stderr


def test_vaar_bench_score_without_baselines_extras(tmp_path: Path) -> None:
    ids, y = make_truth(40)
    root = make_dataset(tmp_path / "ds", ids, y)
    scores = make_scores(y)
    preds = write_predictions(tmp_path / "p.csv", ids, scores)
    proc = run_core("vaar.bench.cli", "score", str(preds), "--dataset", str(root), "--split", "test",
                    "--json", "--bootstrap", "20")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    accuracy = float((scores.argmax(axis=1) == y).mean())  # computed here, independently
    assert out["n"] == 40 and abs(out["scores"]["accuracy"] - accuracy) < 1e-12
    assert 0.0 < out["scores"]["macro_f1"] < 1.0
    assert "LOADED []" in proc.stderr


def test_vaar_build_help_split_and_publish_without_baselines_extras(tmp_path: Path) -> None:
    proc = run_core("vaar.cli", "build", "--help")
    assert proc.returncode == 0 and "--no-publish" in proc.stdout, proc.stderr
    rows = []
    for i in range(60):
        row = empty_row()
        row.update(clip_id=f"c{i:03d}", label=SLUGS[i % 3], status="ok", source_id=f"s{i // 2}")
        rows.append(row)
    manifest = tmp_path / "manifest.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=manifest_schema()), manifest)
    proc = run_core("vaar.cli", "split", str(manifest), "--out", str(tmp_path / "v1"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "v1" / "test.csv").read_text().count("\n") > 5
    assert "LOADED []" in proc.stderr


def _requirements() -> tuple[list[Requirement], dict[str, list[Requirement]]]:
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    extras = {k: [Requirement(r) for r in v] for k, v in project["optional-dependencies"].items()}
    return [Requirement(r) for r in project["dependencies"]], extras


def test_core_dependencies_leave_out_the_baselines_stack() -> None:
    core, extras = _requirements()
    names = {r.name.lower() for r in core}
    heavy = {"torch", "torchvision", "torchcodec", "timm", "transformers", "safetensors", "scikit-learn",
             "matplotlib"}
    assert not names & heavy, names & heavy
    assert {"yt-dlp", "pyarrow", "datasets", "numpy", "pyyaml", "rich", "filelock"} <= names
    numpy = next(r for r in core if r.name == "numpy")
    assert not numpy.specifier.contains("1.26.4") and numpy.specifier.contains("2.0.0")  # np.bitwise_count
    baselines = {r.name.lower() for r in extras["baselines"]} | {r.name.lower() for r in extras["video"]}
    assert heavy <= baselines


def test_torch_range_matches_the_torchcodec_it_allows() -> None:
    """torchcodec loads only with the torch minor it was built for (0.17 <-> 2.14), and its
    wheel does not say so: the video extra pins the pair, and the pinned stack satisfies it."""
    from importlib.metadata import version

    video = {r.name: r for r in _requirements()[1]["video"]}
    torch, codec = video["torch"].specifier, video["torchcodec"].specifier
    assert torch.contains(version("torch").split("+")[0]) and codec.contains(version("torchcodec"))
    assert not torch.contains("2.13.0") and not torch.contains("2.15.0")
    assert not codec.contains("0.16.0") and not codec.contains("0.18.0")
