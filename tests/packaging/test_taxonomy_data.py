"""The taxonomy exists once in the repository (curation/taxonomy.yaml); the wheel and the sdist
ship it, and the shipped copy is that file byte for byte."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from vaar.core.taxonomy import default_taxonomy, packaged_taxonomy_bytes

REPO = Path(__file__).resolve().parents[2]
ONE_FILE = REPO / "curation" / "taxonomy.yaml"


def test_one_copy_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files", "*taxonomy.yaml"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked == ["curation/taxonomy.yaml"]
    assert not (REPO / "vaar" / "taxonomy.yaml").exists()


def test_loaded_taxonomy_is_the_one_file() -> None:
    assert packaged_taxonomy_bytes() == ONE_FILE.read_bytes()
    assert default_taxonomy().slugs[0] == "abuse"


def test_wheel_and_sdist_ship_the_same_bytes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "vaar", src / "vaar", ignore=shutil.ignore_patterns("__pycache__"))
    (src / "curation").mkdir()
    shutil.copy2(ONE_FILE, src / "curation" / "taxonomy.yaml")
    dist = tmp_path / "dist"
    # sdist, then a wheel built from the unpacked sdist (what pip does with a source release)
    subprocess.run([sys.executable, "-c", "from setuptools import build_meta as b; "
                    f"b.build_sdist({str(dist)!r})"], cwd=src, check=True, capture_output=True)
    sdist = next(dist.glob("vaar-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        assert any(n.endswith("curation/taxonomy.yaml") for n in names), names
        tar.extractall(tmp_path / "unpacked", filter="data")
    root = next((tmp_path / "unpacked").iterdir())
    subprocess.run([sys.executable, "-c", "from setuptools import build_meta as b; "
                    f"b.build_wheel({str(dist)!r})"], cwd=root, check=True, capture_output=True)
    wheel = next(dist.glob("vaar-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("vaar/taxonomy.yaml") == ONE_FILE.read_bytes()
        assert not [n for n in zf.namelist() if n.startswith("curation/")]
