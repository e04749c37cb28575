"""``vaar-bench init-model DIR``: a template model that submits as is (:mod:`vaar.bench.sandbox`'s protocol).

It writes ``DIR/mymodel.py`` (decodes each clip's files with ffmpeg, a fixed random linear layer over
a few features; a skeleton to replace, not a detector), ``DIR/model.yaml`` (the ``--meta`` file)
and ``DIR/SUBMIT.md`` (the commands). Existing files are never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vaar.core.errors import ConfigError

MODULE = "mymodel"


@dataclass(frozen=True)
class Template:
    folder: Path
    files: tuple[Path, ...]
    spec: str


def _text(name: str) -> str:
    return resources.files("vaar.bench").joinpath("templates", name).read_text(encoding="utf-8")


def _submit_md(folder: Path) -> str:
    return (
        "# Submitting this model\n\n"
        "Run from this folder (the `--model` module is looked up here first):\n\n"
        "```\n"
        f"cd {folder}\n"
        "vaar build --sample --out sample          # or use your published VAAR dataset\n"
        f"vaar-bench submit --model {MODULE}:factory --name my-model --meta model.yaml \\\n"
        "    --dataset sample/dataset --split test --leaderboard board\n"
        "# add --robustness to score it on corrupted media too\n"
        "```\n\n"
        "A submission to a sample dataset goes to the sample table of the leaderboard, not the official one.\n"
    )


def write_template(folder: Path) -> Template:
    """Write the template model into ``folder`` (created); refuses to overwrite any file."""
    from vaar.core._util.atomic import atomic_write_text
    from vaar.core.taxonomy import default_taxonomy

    classes = list(default_taxonomy().slugs)
    files = {
        folder / f"{MODULE}.py": _text("mymodel.py.txt").replace("{classes!r}", repr(classes)),
        folder / "model.yaml": _text("model.yaml.txt"),
        folder / "SUBMIT.md": _submit_md(folder),
    }
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: exists and is not a folder; give a new or empty folder")
    taken = [p.name for p in files if p.exists()]
    if taken:
        raise ConfigError(f"{folder}: already has {', '.join(taken)}; give another folder or remove them first")
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        atomic_write_text(path, text)
    return Template(folder, tuple(files), f"{MODULE}:factory")
