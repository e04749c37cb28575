"""Every YAML vaar reads refuses aliases (the "billion laughs"), oversized and malformed text with
one line, from the library helper up to each command that takes a YAML file."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from vaar.baselines.config import resolve_config
from vaar.core._util.yamlsafe import YamlRefused, load_yaml
from vaar.core.errors import ConfigError
from vaar.core.taxonomy import load_taxonomy

# 9 levels of 9 references: ~400 bytes that safe_load expands to 9**9 (387 million) strings
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_the_bomb_is_small() -> None:
    assert len(BOMB) < 500


@pytest.mark.parametrize(
    ("text", "why"),
    [(BOMB, "aliases"), ("[" * 1000, "nested too deeply"), ("a: [1, 2\n", "not valid YAML at line"),
     ("x" * 2048, "larger than 1 KB")],  # fmt: skip
)
def test_load_yaml_refuses_with_a_reason(text: str, why: str) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(YamlRefused, match=why):
        load_yaml(text, max_bytes=1024)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 50_000  # KB: nothing expanded


def test_load_yaml_reads_plain_yaml() -> None:
    assert load_yaml("a: [1, 2]\nb: {c: x}\n") == {"a": [1, 2], "b": {"c": "x"}}


def test_taxonomy_and_training_config_refuse_a_bomb(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    with pytest.raises(ConfigError, match=r"bomb\.yaml: taxonomy refused \(YAML aliases"):
        load_taxonomy(bomb)
    with pytest.raises(ConfigError, match=r"bomb\.yaml: config refused \(YAML aliases"):
        resolve_config(bomb)
    with pytest.raises(ConfigError, match="--lr: lr: not valid YAML"):
        resolve_config(None, {"lr": "[1, 2"})


@pytest.mark.parametrize(
    "argv",
    [["vaar.cli", "discover", "--from", "vggsounder", "--taxonomy", "{bomb}", "--out", "{out}"],
     ["vaar.cli", "split", "{missing}", "--out", "{out}", "--taxonomy", "{bomb}"],
     ["vaar.bench.cli", "train", "--config", "{bomb}", "--dataset", "{missing}", "--features", "{missing}",
      "--out", "{out}"]],  # fmt: skip
    ids=["discover", "split", "train"],
)
def test_commands_answer_a_bomb_with_one_line(tmp_path: Path, argv: list[str]) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    values = {"bomb": str(bomb), "out": str(tmp_path / "out"), "missing": str(tmp_path / "missing")}
    cmd = [sys.executable, "-m", *(a.format(**values) for a in argv)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "YAML aliases (*name) are not allowed" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "out").exists()
