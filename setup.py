"""Build step: the packaged taxonomy is copied from the one file, ``curation/taxonomy.yaml``.

Everything else is in pyproject.toml. The wheel ships ``vaar/taxonomy.yaml`` (read with
``importlib.resources``); the repository holds the taxonomy once (``tests/test_taxonomy_data.py``
checks the shipped copy is byte-identical).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TAXONOMY = Path("curation") / "taxonomy.yaml"


class BuildPyWithTaxonomy(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "vaar" / "taxonomy.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(TAXONOMY), str(target))


setup(cmdclass={"build_py": BuildPyWithTaxonomy})
