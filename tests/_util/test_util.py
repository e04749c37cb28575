"""vaar.core._util: atomic writes, file hashing, connected components, the registry."""

from __future__ import annotations

import hashlib
import os
import random
import stat
from pathlib import Path

import pytest

from vaar.core._util.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from vaar.core._util.graph import components, components_by_key
from vaar.core._util.hashing import sha256_bytes, sha256_file
from vaar.core._util.registry import Registry
from vaar.core.errors import ConfigError


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one\r\ntwo\n")
    assert target.read_bytes() == b"one\r\ntwo\n"  # no newline translation
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target, suffix=".mp4") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".a.bin.")
        assert tmp.name.endswith(f".tmp{os.getpid()}.mp4")  # the writer's pid, then the format
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_sha256_file_reads_in_chunks(tmp_path: Path) -> None:
    data = random.Random(0).randbytes(3 * (1 << 20) + 5)
    p = tmp_path / "f"
    p.write_bytes(data)
    assert sha256_file(p) == sha256_bytes(data) == hashlib.sha256(data).hexdigest()


def _naive(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    groups = [{i} for i in range(n)]
    for a, b in edges:
        ga = next(g for g in groups if a in g)
        gb = next(g for g in groups if b in g)
        if ga is not gb:
            groups.remove(gb)
            ga |= gb
    return sorted(sorted(g) for g in groups)


def test_components_match_a_naive_merge() -> None:
    rng = random.Random(1)
    for n in (1, 2, 50, 300):
        edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(n // 2)]
        got = components(n, [a for a, _ in edges], [b for _, b in edges])
        assert got == _naive(n, edges)
        rng.shuffle(edges)  # edge order does not matter
        assert components(n, [b for _, b in edges], [a for a, _ in edges]) == got
    assert components(0, [], []) == []
    assert components(3, [], []) == [[0], [1], [2]]  # no edge: no scipy needed


def test_components_by_key_ignores_empty_keys() -> None:
    keys = [("s:x", None), ("s:y", "d:1"), (None, ""), ("s:x", "d:1"), ("", None)]
    assert components_by_key(keys) == [[0, 1, 3], [2], [4]]


def test_registry_lists_valid_names_and_keeps_order() -> None:
    reg: Registry[int] = Registry("model")
    reg.register("zeta")(1)
    reg.add("alpha", 2)
    assert reg.names() == ["zeta", "alpha"] and list(reg) == ["zeta", "alpha"] and len(reg) == 2
    assert reg.get("alpha") == 2 and "zeta" in reg
    with pytest.raises(ConfigError, match="unknown model 'beta'; valid: alpha, zeta"):
        reg.get("beta")
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("alpha", 3)
