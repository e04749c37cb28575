"""Split files: render, write (atomically, ``SHA256SUMS`` last), read and verify a split folder.

The folder contract is in :mod:`vaar.curation.split`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from vaar.core._util.atomic import atomic_write_bytes
from vaar.core._util.hashing import sha256_bytes
from vaar.core.contracts import sums
from vaar.core.contracts.split_params import (
    FOLD_COLUMNS,
    FOLDS_FILE,
    PARAMS_FILE,
    SPLIT_COLUMNS,
    SPLIT_FILES,
    SPLITS,
    SUMS_FILE,
    SplitItem,
    SplitParams,
    show_ids,
    validate_ratios,
)
from vaar.core.csvsafe import csv_bytes, read_problem
from vaar.core.errors import ConfigError, ManifestError

# ----------------------------------------------------------------------------- writing


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    return csv_bytes(header, rows)  # vaar.core.csvsafe: no cell a spreadsheet would run as a formula


def render_split_files(
    items: Sequence[SplitItem],
    assignment: Mapping[str, str],
    *,
    folds: Mapping[str, int] | None = None,
    params: SplitParams | None = None,
) -> dict[str, bytes]:
    """The bytes of every file of a split folder, ``SHA256SUMS`` included (nothing is written)."""
    ids = {it.clip_id for it in items}
    if len(ids) != len(items):
        raise ManifestError("split input: duplicate clip_id; clip ids must be unique")
    unassigned = ids - assignment.keys()
    if unassigned:
        raise ManifestError(f"split assignment: no split for clips {show_ids(unassigned)}")
    extra = assignment.keys() - ids
    if extra:
        raise ManifestError(f"split assignment: clips {show_ids(extra)} are not among the items")
    bad = {cid for cid, s in assignment.items() if s not in SPLITS}
    if bad:
        raise ManifestError(f"split assignment: clips {show_ids(bad)} have a split outside {SPLITS}")

    ordered = sorted(items, key=lambda it: it.clip_id)
    files: dict[str, bytes] = {}
    for split in SPLITS:
        rows = ((it.clip_id, it.label, it.source_id or "") for it in ordered
                if assignment[it.clip_id] == split)
        files[f"{split}.csv"] = _csv_bytes(SPLIT_COLUMNS, rows)
    if folds is not None:
        stray = folds.keys() - ids
        if stray:
            raise ManifestError(f"folds: clips {show_ids(stray)} are not among the items")
        if any(isinstance(f, bool) or not isinstance(f, int) or f < 0 for f in folds.values()):
            raise ManifestError("folds: fold numbers must be integers >= 0")
        fold_rows = ((it.clip_id, it.label, it.source_id or "", str(folds[it.clip_id]))
                     for it in ordered if it.clip_id in folds)
        files[FOLDS_FILE] = _csv_bytes(FOLD_COLUMNS, fold_rows)
    if params is not None:
        k = (max(folds.values()) + 1 if folds else 0) if folds is not None else None
        files[PARAMS_FILE] = SplitParams(validate_ratios(params.ratios), params.seed, k).to_json()
    files[SUMS_FILE] = sums.render_sums({n: sha256_bytes(b) for n, b in files.items()}).encode("utf-8")
    return files


def write_files(out_dir: str | Path, files: Mapping[str, bytes]) -> dict[str, str]:
    """Write rendered split files into ``out_dir``: each via a temp file and a rename, data files
    first and ``SHA256SUMS`` last (an interrupted write is caught by the checksums). Split files
    of an earlier run that this one does not produce (``folds.csv``, ``split.json``) are removed.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            if name != SUMS_FILE:
                atomic_write_bytes(out / name, files[name])
        for stale in (FOLDS_FILE, PARAMS_FILE):
            if stale not in files:
                (out / stale).unlink(missing_ok=True)
        atomic_write_bytes(out / SUMS_FILE, files[SUMS_FILE])
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write the split ({exc.strerror or exc}); "
                          "pick a writable --out folder") from None
    return {n: sha256_bytes(b) for n, b in sorted(files.items()) if n != SUMS_FILE}


def write_split_dir(
    items: Sequence[SplitItem],
    assignment: Mapping[str, str],
    out_dir: str | Path,
    *,
    folds: Mapping[str, int] | None = None,
    params: SplitParams | None = None,
) -> dict[str, str]:
    """Write ``{train,validation,test}.csv`` (+ ``folds.csv``, ``split.json``) and ``SHA256SUMS``.

    Returns ``{filename: sha256}`` of the files listed in ``SHA256SUMS``. Pass ``params`` to
    record ratios and seed in ``split.json`` (``check_split_dir`` then knows the targets).
    """
    return write_files(out_dir, render_split_files(items, assignment, folds=folds, params=params))


def split_digest(split_dir: str | Path) -> str:
    """sha256 of ``SHA256SUMS``: one id for the whole split version (checksums not verified)."""
    return sums.split_digest(Path(split_dir))


# ----------------------------------------------------------------------------- reading


class SplitRow(NamedTuple):
    """One row of a split file (a named tuple: cheap to make 100,000 of)."""

    clip_id: str
    label: str
    source_id: str | None
    split: str


@dataclass(frozen=True)
class Violation:
    """One broken rule of a split folder; ``ids`` are the offending clips (or files)."""

    kind: str  # checksum | format | straddle | missing | not_ok | label | folds
    message: str
    ids: tuple[str, ...] = ()


@dataclass
class SplitDir:
    """A parsed split folder. ``problems`` is empty when it satisfies its contract."""

    path: Path
    rows: dict[str, SplitRow] = field(default_factory=dict)
    folds: dict[str, int] | None = None
    params: SplitParams | None = None
    sha256: dict[str, str] = field(default_factory=dict)
    problems: list[Violation] = field(default_factory=list)


def parse_sums(path: Path, problems: list[Violation]) -> dict[str, str]:
    """``{name: sha256}`` of a ``SHA256SUMS`` (:func:`vaar.core.contracts.sums.parse_sums`: one parser,
    one rule); its problems, a missing file included, are added to ``problems``."""
    listed, found = sums.parse_sums(path)
    problems.extend(Violation("checksum", p.message, (p.name,)) for p in found)
    return listed


def _parse_csv(path: Path, data: bytes, header: Sequence[str], problems: list[Violation]) -> list[list[str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(Violation("format", f"{path}: not UTF-8", (path.name,)))
        return []
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        problems.append(Violation("format", f"{path}: {read_problem(exc)}", (path.name,)))
        return []
    if not rows or tuple(rows[0]) != tuple(header):
        got = ",".join(rows[0]) if rows else "nothing"
        problems.append(Violation("format", f"{path}: header is {got!r}, expected {','.join(header)!r}",
                                  (path.name,)))
        return []
    good: list[list[str]] = []
    for n, row in enumerate(rows[1:], 2):
        if len(row) != len(header) or not row[0] or not row[1]:
            problems.append(Violation("format", f"{path} line {n}: expected {len(header)} fields "
                                      "with clip_id and label set", (row[0] if row else f"line {n}",)))
            continue
        good.append(row)
    ids = [r[0] for r in good]
    if ids != sorted(ids):
        problems.append(Violation("format", f"{path}: rows are not sorted by clip_id", (path.name,)))
    return good


def load_split_dir(split_dir: str | Path) -> SplitDir:
    """Parse a split folder, collecting (not raising) every contract problem in ``problems``.

    Raises :class:`ManifestError` only when the folder itself is missing.
    """
    path = Path(split_dir)
    if not path.is_dir():
        raise ManifestError(f"{path}: no such split folder; make one with "
                            "`vaar split MANIFEST --out DIR`")
    sd = SplitDir(path)
    contents = _read_checked(sd)
    _read_rows(sd, contents)
    if FOLDS_FILE in contents:
        _read_folds(sd, contents[FOLDS_FILE])
    if PARAMS_FILE in contents:
        sd.params = _parse_params(path / PARAMS_FILE, contents[PARAMS_FILE], sd.problems)
    return sd


def _read_checked(sd: SplitDir) -> dict[str, bytes]:
    """The bytes of the split files, each checked against ``SHA256SUMS`` (into ``sd``)."""
    path, problems = sd.path, sd.problems
    sums_path = path / SUMS_FILE
    listed = parse_sums(sums_path, problems)  # a missing SHA256SUMS is a problem too
    wanted = list(SPLIT_FILES) + [n for n in (FOLDS_FILE, PARAMS_FILE)
                                  if n in listed or (path / n).exists()]
    contents: dict[str, bytes] = {}
    for name in wanted:
        fp = path / name
        if not fp.is_file():
            problems.append(Violation("checksum", f"{fp}: missing", (name,)))
            continue
        contents[name] = fp.read_bytes()
        sd.sha256[name] = sha256_bytes(contents[name])
        problem = sums.check_file(path, name, listed, contents[name]) if sums_path.is_file() else None
        if problem:
            problems.append(Violation("checksum", problem.message, (name,)))
    for name in sorted(listed.keys() - set(wanted)):
        problem = sums.check_file(path, name, listed)
        if problem:
            problems.append(Violation("checksum", problem.message, (name,)))
    return contents


def _read_rows(sd: SplitDir, contents: Mapping[str, bytes]) -> None:
    dup: set[str] = set()
    for split in SPLITS:
        name = f"{split}.csv"
        if name not in contents:
            continue
        for cid, label, source in _parse_csv(sd.path / name, contents[name], SPLIT_COLUMNS, sd.problems):
            if cid in sd.rows:
                dup.add(cid)
                continue
            sd.rows[cid] = SplitRow(cid, label, source or None, split)
    if dup:
        sd.problems.append(Violation("format", f"{sd.path}: clips listed twice (in one split or in "
                                     f"two): {show_ids(dup)}", tuple(sorted(dup))))


def _read_folds(sd: SplitDir, data: bytes) -> None:
    folds: dict[str, int] = {}
    bad: list[str] = []
    for cid, _label, _source, fold in _parse_csv(sd.path / FOLDS_FILE, data, FOLD_COLUMNS, sd.problems):
        if not fold.isdigit() or cid in folds:
            bad.append(cid)
            continue
        folds[cid] = int(fold)
    sd.folds = folds
    if bad:
        sd.problems.append(Violation("folds", f"{sd.path / FOLDS_FILE}: bad or repeated fold rows "
                                     f"for {show_ids(bad)}", tuple(sorted(bad))))


def _parse_params(path: Path, data: bytes, problems: list[Violation]) -> SplitParams | None:
    try:
        doc: Any = json.loads(data.decode("utf-8"))
        ratios = validate_ratios([float(x) for x in doc["ratios"]])
        folds = doc.get("folds")
        return SplitParams(ratios, int(doc["seed"]), int(folds) if folds is not None else None)
    except (ValueError, KeyError, TypeError, ConfigError) as exc:
        problems.append(Violation("format", f"{path}: unreadable ({exc})", (path.name,)))
        return None


def read_split_dir(split_dir: str | Path) -> dict[str, str]:
    """``clip_id -> split`` of a committed split folder, after verifying ``SHA256SUMS``.

    Raises :class:`ManifestError` naming the first problem (a checksum mismatch, a missing file,
    a malformed row, a clip listed twice).
    """
    sd = load_split_dir(split_dir)
    if sd.problems:
        first = sd.problems[0]
        more = f" (and {len(sd.problems) - 1} more problems; run `vaar split --check {sd.path}`)" \
            if len(sd.problems) > 1 else ""
        raise ManifestError(first.message + more)
    return {cid: row.split for cid, row in sorted(sd.rows.items())}


def compare_to_build(assignment: Mapping[str, str], ok_clip_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """For ``vaar build --splits``: (clips in the split files that are not ok in this build,
    ok clips of this build that are in no split file), both sorted."""
    ok = set(ok_clip_ids)
    return sorted(assignment.keys() - ok), sorted(ok - assignment.keys())


