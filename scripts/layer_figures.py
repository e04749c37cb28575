#!/usr/bin/env python3
"""Figures of the package's shape: modules and lines per room, imports inside functions, and
pairs of modules that import each other (docs/architecture.md, "The reshape in numbers").

    python3 scripts/layer_figures.py [REPO_ROOT]

A room is a folder of ``vaar/``; lines are physical lines of ``.py`` files; an import inside a
function (any depth) counts once per statement.
"""

from __future__ import annotations

import ast
import collections
import sys
from pathlib import Path


def modules(root: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted((root / "vaar").rglob("*.py")):
        parts = list(p.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _resolve(name: str, current: str, level: int, is_pkg: bool) -> str:
    if level == 0:
        return name
    base = current.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else ".").resolve()
    mods = modules(root)
    edges: dict[str, set[str]] = collections.defaultdict(set)
    in_functions = in_functions_vaar = 0
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        stack: list[tuple[ast.AST, int]] = [(ast.parse(path.read_text(encoding="utf-8")), 0)]
        while stack:
            node, depth = stack.pop()
            for child in ast.iter_child_nodes(node):
                d = depth + isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    if isinstance(child, ast.Import):
                        targets = [a.name for a in child.names]
                    else:
                        base = _resolve(child.module or "", mod, child.level, is_pkg)
                        targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in child.names]
                    in_functions += depth > 0
                    for t in targets:
                        if t.split(".")[0] == "vaar":
                            while t not in mods and "." in t:
                                t = t.rsplit(".", 1)[0]
                            edges[mod].add(t)
                            in_functions_vaar += depth > 0
                stack.append((child, d))
    count: collections.Counter[str] = collections.Counter()
    lines: collections.Counter[str] = collections.Counter()
    for path in mods.values():
        room = path.parent.relative_to(root).as_posix()
        count[room] += 1
        lines[room] += len(path.read_text(encoding="utf-8").splitlines())
    total = sum(lines.values())
    print(f"{'room':26s} {'modules':>7s} {'lines':>7s} {'share':>6s}")
    for room in sorted(count):
        print(f"{room:26s} {count[room]:7d} {lines[room]:7d} {lines[room] / total:6.1%}")
    print(f"{'total':26s} {len(mods):7d} {total:7d}")
    print(f"imports inside functions: {in_functions} ({in_functions_vaar} of them of vaar modules)")
    mutual = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a != b and a in edges.get(b, ())})
    print(f"pairs of modules importing each other: {len(mutual)} {mutual if mutual else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
