"""Grouped, stratified, deterministic train/validation/test splits (and K folds).

A split is a reviewed, committed, checksummed artefact (``splits/vN/``), not a side effect of a
build: every score names the split file it was computed on. Clips cut from one source video
(same ``source_id``) or flagged as near-duplicates (same ``dup_group``) form one *group*, and a
group never straddles two splits — otherwise a model is scored on clips it has seen in training.

Files of a split folder (all UTF-8, LF line ends, rows sorted by ``clip_id``)::

    train.csv  validation.csv  test.csv   clip_id,label,source_id   (empty source_id = none)
    folds.csv                             clip_id,label,source_id,fold  (only with --folds K)
    split.json                            algorithm, ratios, seed, folds (the resolved config)
    SHA256SUMS                            ``sha256sum`` format, one line a file above, by name

``sha256sum -c SHA256SUMS`` in the folder verifies it without vaar. The sha256 of ``SHA256SUMS``
itself (:func:`split_digest`) names the whole split version; a leaderboard entry records the
sha256 of the split file it was scored on (``test.csv``).

Folds (``--folds K``) partition the *development pool* — the train and validation clips — into
K grouped stratified folds for cross-validation, so the test split stays untouched by any
protocol. Folds ignore the train/validation boundary; every development clip has exactly one fold.

Algorithm (``vaar-greedy-chi2/1``)
----------------------------------
Greedy grouped stratification, a deterministic cousin of iterative stratification
(Sechidis, Tsoumakas & Vlahavas, "On the stratification of multi-label data", ECML PKDD 2011)
and of scikit-learn's ``StratifiedGroupKFold``:

1. **Groups.** Union-find links clips sharing a ``source_id`` or a ``dup_group`` (transitively);
   a clip with neither is its own group. A group is named by its smallest ``clip_id`` and carries
   its per-label clip counts (a group may hold several labels).
2. **Targets.** For split *s* with ratio *r_s* and label *c* with *N_c* clips, the target count is
   ``t[s][c] = r_s * N_c``. Splits with ratio 0 receive nothing.
3. **Coverage.** Labels from rarest to commonest; for each split (smallest ratio first) that has
   no clip of the label yet, the smallest unassigned group holding that label goes there — but
   only if the group has at most ``max(1, ceil(t[s][c]))`` clips, so coverage never overshoots a
   split badly. This keeps small classes present in validation and test.
4. **Greedy.** The remaining groups, largest first, each go to the split whose error
   ``F = sum_s sum_c (n[s][c] - t[s][c])**2 / t[s][c]`` grows least by taking it; the sum runs
   over the labels *and* one extra column, the split size (target ``r_s * N``), so split sizes
   stay on target too. Adding ``g_c`` clips changes a term by ``g_c * (2 * (n - t) + g_c) / t``:
   the split with the biggest relative per-label deficit wins, and a big group is steered away
   from a small split it would overflow. Exact ties go to the larger ratio, then the earlier split.
5. **Local search.** Groups with equal label counts are interchangeable, so they are pooled by
   (primary label, split, label counts). Repeatedly, per primary label and pair of splits, the
   single best move of a group or swap of two groups that lowers ``F`` is applied, never emptying
   a label from a split, until nothing improves (or 30,000 candidate actions were scored, which
   bounds the time; at 100,000 clips the benchmark finds nothing left to improve).

Determinism: groups of equal size are ordered by ``sha256(domain, seed, group name)``, the only
place the seed enters; nothing depends on ``PYTHONHASHSEED``, set or dict iteration order, input
row order or the platform (IEEE-754 doubles everywhere; ratios are written with ``repr``).

Measured (``benchmarks/bench_split.py``: sources of 1-10 clips, ten classes weighted 1..1/10,
5% of clips labelled unlike their source, 1% linked by ``dup_group``): the largest gap between a
label's share of a split and its overall share, over classes with >= 50 clips (worst of seeds
0-2), is 1.98 points at 600 clips, 1.2 at 1,000, 0.27 at 2,000, 0.11 at 5,000 and 0.005 at
100,000; the
whole ``vaar split`` of 100,000 manifest rows takes about 3.5 s of CPU and 255 MB peak RSS.
With very few clips the bar can be out of reach: in a 30-clip validation split one clip is
3 points.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from vaar.errors import ConfigError, ManifestError
from vaar.taxonomy import Taxonomy, default_taxonomy

SPLITS: tuple[str, str, str] = ("train", "validation", "test")
DEFAULT_RATIOS: tuple[float, float, float] = (0.7, 0.1, 0.2)
ALGORITHM = "vaar-greedy-chi2/1"
FOLD_POOL: tuple[str, ...] = ("train", "validation")
"""Splits whose clips the folds partition (the development pool); test is never folded."""

SPLIT_COLUMNS: tuple[str, ...] = ("clip_id", "label", "source_id")
FOLD_COLUMNS: tuple[str, ...] = ("clip_id", "label", "source_id", "fold")
SUMS_FILE = "SHA256SUMS"
PARAMS_FILE = "split.json"
FOLDS_FILE = "folds.csv"
SPLIT_FILES: tuple[str, ...] = tuple(f"{s}.csv" for s in SPLITS)
MANIFEST_COLUMNS_NEEDED: tuple[str, ...] = ("clip_id", "label", "status", "source_id")
BALANCE_MIN_CLIPS = 50
"""Classes with at least this many clips are held to the 2-point balance bar."""

_SHOW = 10  # ids named in one error line


@dataclass(frozen=True)
class SplitItem:
    """One ``ok`` clip as the splitter sees it."""

    clip_id: str
    label: str
    source_id: str | None
    dup_group: str | None = None


@dataclass(frozen=True)
class SplitParams:
    """The resolved split configuration, written to ``split.json`` next to the split files."""

    ratios: tuple[float, float, float] = DEFAULT_RATIOS
    seed: int = 0
    folds: int | None = None

    def to_json(self) -> bytes:
        doc = {
            "algorithm": ALGORITHM,
            "splits": list(SPLITS),
            "ratios": [float(r) for r in self.ratios],
            "seed": int(self.seed),
            "folds": self.folds,
            "fold_pool": list(FOLD_POOL),
        }
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


# ----------------------------------------------------------------------------- validation


def _ids(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    more = f" and {len(ids) - _SHOW} more" if len(ids) > _SHOW else ""
    return ", ".join(ids[:_SHOW]) + more


def parse_ratios(text: str) -> tuple[float, float, float]:
    """Parse ``--ratios 0.7,0.1,0.2`` (train, validation, test) and validate it."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"--ratios {text!r}: not numbers; give three fractions for train,validation,test "
            "that sum to 1, e.g. 0.7,0.1,0.2"
        ) from None
    return validate_ratios(values)


def validate_ratios(ratios: Sequence[float], n: int = len(SPLITS)) -> tuple[float, float, float]:
    shown = ",".join(f"{r:g}" for r in ratios)
    fix = "give three fractions for train,validation,test that sum to 1, e.g. 0.7,0.1,0.2"
    if len(ratios) != n:
        raise ConfigError(f"ratios {shown}: {len(ratios)} values, need {n}; {fix}")
    if not all(math.isfinite(r) and r >= 0 for r in ratios):
        raise ConfigError(f"ratios {shown}: each must be a number >= 0; {fix}")
    total = math.fsum(ratios)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"ratios {shown} sum to {total:g}, not 1; {fix}")
    if ratios[0] <= 0:
        raise ConfigError(f"ratios {shown}: the train ratio must be > 0; {fix}")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))


def _validate_items(items: Sequence[SplitItem], taxonomy: Taxonomy | None, where: str) -> None:
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    valid = set(tax.slugs)
    seen: set[str] = set()
    dups: set[str] = set()
    unknown: dict[str, list[str]] = {}
    for it in items:
        if not isinstance(it.clip_id, str) or not it.clip_id:
            raise ManifestError(f"{where}: a clip has an empty clip_id; every ok clip needs one")
        if it.clip_id in seen:
            dups.add(it.clip_id)
        seen.add(it.clip_id)
        if it.label not in valid:
            unknown.setdefault(str(it.label), []).append(it.clip_id)
    if dups:
        raise ManifestError(
            f"{where}: duplicate clip_id {_ids(dups)}; clip ids must be unique — fix the source list"
        )
    if unknown:
        label, ids = sorted(unknown.items())[0]
        raise ManifestError(
            f"{where}: unknown label {label!r} (clips {_ids(ids)}); "
            f"use one of {', '.join(tax.slugs)} or fix the source list"
        )


def _check_class_sizes(totals: Mapping[str, int], bins: int, where: str, what: str) -> None:
    small = sorted((n, label) for label, n in totals.items() if n < bins)
    if small:
        n, label = small[0]
        raise ManifestError(
            f"{where}: class {label!r} has {n} clip(s) but {bins} {what} need at least one each; "
            f"add clips of {label!r} (or drop them) before splitting"
        )


# ----------------------------------------------------------------------------- grouping


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def _link(uf: _UnionFind, keys: Iterable[tuple[int, str | None]]) -> None:
    first: dict[str, int] = {}
    for i, key in keys:
        if key:  # None or "" links nothing
            j = first.setdefault(key, i)
            if j != i:
                uf.union(i, j)


def group_clips(items: Sequence[SplitItem]) -> list[list[int]]:
    """Indices of ``items`` grouped by shared ``source_id`` or ``dup_group`` (transitively).

    Groups are sorted by their smallest ``clip_id`` and members by ``clip_id``.
    """
    uf = _UnionFind(len(items))
    _link(uf, ((i, it.source_id) for i, it in enumerate(items)))
    _link(uf, ((i, it.dup_group) for i, it in enumerate(items)))
    members: dict[int, list[int]] = {}
    for i in range(len(items)):
        members.setdefault(uf.find(i), []).append(i)
    groups = [sorted(m, key=lambda i: items[i].clip_id) for m in members.values()]
    groups.sort(key=lambda m: items[m[0]].clip_id)
    return groups


@dataclass(slots=True)
class _Group:
    members: list[int]
    labels: list[tuple[int, int]]  # (label index, clips of that label), by label index
    size: int
    order: bytes  # seeded tie-break among groups of equal size


def _make_groups(items: Sequence[SplitItem], label_index: Mapping[str, int], seed: int, domain: str) -> list[_Group]:
    out: list[_Group] = []
    for members in group_clips(items):
        counts: dict[int, int] = {}
        for i in members:
            c = label_index[items[i].label]
            counts[c] = counts.get(c, 0) + 1
        name = items[members[0]].clip_id
        order = hashlib.sha256(f"{domain}\0{seed}\0{name}".encode()).digest()[:16]
        out.append(_Group(members, sorted(counts.items()), len(members), order))
    return out


# ----------------------------------------------------------------------------- partition


def _partition(groups: Sequence[_Group], ratios: Sequence[float], totals: Sequence[int]) -> list[int]:
    """Bin index of every group (see the module docstring, steps 2-4)."""
    n_bins, n_labels = len(ratios), len(totals)
    active = [b for b in range(n_bins) if ratios[b] > 0]
    preference = sorted(active, key=lambda b: (-ratios[b], b))
    # column n_labels holds the split size: its error term keeps split sizes on target too
    target = [[r * t for t in totals] + [r * sum(totals)] for r in ratios]
    count = [[0] * (n_labels + 1) for _ in range(n_bins)]
    where = [-1] * len(groups)

    def place(gi: int, b: int) -> None:
        where[gi] = b
        row = count[b]
        for c, k in groups[gi].labels:
            row[c] += k
        row[n_labels] += groups[gi].size

    # 3. coverage: every label in every split where a small enough group exists
    by_label: list[list[int]] = [[] for _ in range(n_labels)]
    for gi, g in enumerate(groups):
        for c, _ in g.labels:
            by_label[c].append(gi)
    for lst in by_label:
        lst.sort(key=lambda gi: (groups[gi].size, groups[gi].order))
    for c in sorted(range(n_labels), key=lambda c: (totals[c], c)):
        for b in sorted(active, key=lambda b: (ratios[b], b)):
            if count[b][c]:
                continue
            cap = max(1, math.ceil(target[b][c]))
            for gi in by_label[c]:
                if groups[gi].size > cap:
                    break
                if where[gi] < 0:
                    place(gi, b)
                    break

    # 4. greedy: largest group first, to the split whose squared relative error grows least
    rest = sorted((gi for gi in range(len(groups)) if where[gi] < 0),
                  key=lambda gi: (-groups[gi].size, groups[gi].order))
    for gi in rest:
        labels, size = groups[gi].labels, groups[gi].size
        best_b, best = preference[0], math.inf
        for b in preference:
            row, tgt = count[b], target[b]
            cost = size * (2.0 * (row[n_labels] - tgt[n_labels]) + size) / tgt[n_labels]
            for c, k in labels:
                cost += k * (2.0 * (row[c] - tgt[c]) + k) / tgt[c]
            if cost < best:
                best_b, best = b, cost
        place(gi, best_b)

    _refine(groups, where, count, target, active)
    return where


_EPS = 1e-9  # an action must lower the objective by more than this (termination, determinism)
_MAX_ROUNDS = 20
_MAX_EVALS = 30_000  # candidate actions the local search may score (bounds its time)


def _delta(n: float, t: float, d: int) -> float:
    """Change of ``(n - t)**2 / t`` when ``n`` grows by ``d``."""
    return d * (2.0 * (n - t) + d) / t


_Sig = tuple[tuple[int, int], ...]  # a group's (column, clips) pairs, size column last


def _refine(groups: Sequence[_Group], where: list[int], count: list[list[int]],
            target: list[list[float]], active: list[int]) -> None:
    """Step 5: local search on the same objective, in place (see the module docstring)."""
    size_col = len(count[0]) - 1  # last column: split size
    # groups with the same label counts are interchangeable: pool them by (primary label,
    # split) and signature; the last group of a pool list is the one that moves (O(1))
    pools: dict[tuple[int, int], dict[tuple[tuple[int, int], ...], list[int]]] = {}
    primary: dict[tuple[tuple[int, int], ...], int] = {}
    for gi, g in enumerate(groups):
        sig = (*g.labels, (size_col, g.size))
        p = primary.setdefault(sig, min(g.labels, key=lambda ck: (-ck[1], ck[0]))[0])
        pools.setdefault((p, where[gi]), {}).setdefault(sig, []).append(gi)

    def move(p: int, sig: tuple[tuple[int, int], ...], s: int, u: int) -> None:
        pool = pools[(p, s)]
        gi = pool[sig].pop()
        if not pool[sig]:
            del pool[sig]
        pools.setdefault((p, u), {}).setdefault(sig, []).append(gi)
        where[gi] = u
        for c, k in sig:
            count[s][c] -= k
            count[u][c] += k

    def gain_of(d: Mapping[int, int], s: int, u: int) -> float:
        """Objective change when column c of split s grows by d[c] and of split u shrinks by it;
        inf when a label present in s or u would vanish there (coverage is kept)."""
        total = 0.0
        cs, cu, ts, tu = count[s], count[u], target[s], target[u]
        for c, x in d.items():
            if x:
                if c != size_col and ((cs[c] and cs[c] + x == 0) or (cu[c] and cu[c] - x == 0)):
                    return math.inf
                total += _delta(cs[c], ts[c], x) + _delta(cu[c], tu[c], -x)
        return total

    evals = 0
    labels = sorted({p for p, _ in pools})
    for _ in range(_MAX_ROUNDS):
        changed = False
        for p in labels:
            for s in active:
                for u in active:
                    if u == s:
                        continue
                    while evals < _MAX_EVALS:
                        best = -_EPS
                        action: tuple[_Sig, _Sig | None] | None = None
                        sigs_s = sorted(pools.get((p, s), ()))
                        sigs_u = sorted(pools.get((p, u), ())) if s < u else []
                        for sa in sigs_s:
                            out = {c: -k for c, k in sa}  # group A leaves s for u
                            gain = gain_of(out, s, u)
                            if gain < best:
                                best, action = gain, (sa, None)
                            for sb in sigs_u:  # swap: B comes back from u to s
                                d = dict(out)
                                for c, k in sb:
                                    d[c] = d.get(c, 0) + k
                                gain = gain_of(d, s, u)
                                if gain < best:
                                    best, action = gain, (sa, sb)
                            evals += 1 + len(sigs_u)
                        if action is None:
                            break
                        move(p, action[0], s, u)
                        if action[1] is not None:
                            move(p, action[1], u, s)
                        changed = True
        if not changed or evals >= _MAX_EVALS:
            break


def _assign(items: Sequence[SplitItem], ratios: Sequence[float], seed: int, domain: str) -> dict[str, int]:
    labels = sorted({it.label for it in items})
    label_index = {label: i for i, label in enumerate(labels)}
    totals = [0] * len(labels)
    for it in items:
        totals[label_index[it.label]] += 1
    groups = _make_groups(items, label_index, seed, domain)
    bins = _partition(groups, ratios, totals)
    out: dict[str, int] = {}
    for g, b in zip(groups, bins, strict=True):
        for i in g.members:
            out[items[i].clip_id] = b
    return dict(sorted(out.items()))


def assign_splits(
    items: Sequence[SplitItem],
    ratios: Sequence[float] = DEFAULT_RATIOS,
    seed: int = 0,
    *,
    taxonomy: Taxonomy | None = None,
    where: str = "split input",
) -> dict[str, str]:
    """``clip_id -> split`` for ``items``: deterministic, stratified by label, groups intact.

    Raises :class:`ConfigError` for bad ratios and :class:`ManifestError` for duplicate ids,
    labels outside ``taxonomy`` (default: the packaged VAAR taxonomy), or a class with fewer
    clips than splits with a non-zero ratio. ``where`` names the input in error messages.
    """
    r = validate_ratios(ratios)
    _validate_items(items, taxonomy, where)
    totals: dict[str, int] = {}
    for it in items:
        totals[it.label] = totals.get(it.label, 0) + 1
    _check_class_sizes(totals, sum(1 for x in r if x > 0), where, "splits")
    bins = _assign(items, r, int(seed), "split")
    return {cid: SPLITS[b] for cid, b in bins.items()}


def assign_folds(
    items: Sequence[SplitItem],
    k: int,
    seed: int = 0,
    *,
    taxonomy: Taxonomy | None = None,
    where: str = "split input",
) -> dict[str, int]:
    """``clip_id -> fold`` (0..k-1): K grouped stratified folds of equal target size.

    The CLI passes the development pool (train + validation clips); a library caller may fold
    any set of clips. Same errors as :func:`assign_splits` (a class needs at least ``k`` clips).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError(f"--folds {k!r}: need an integer >= 2 (e.g. --folds 5)")
    _validate_items(items, taxonomy, where)
    totals: dict[str, int] = {}
    for it in items:
        totals[it.label] = totals.get(it.label, 0) + 1
    _check_class_sizes(totals, k, where, "folds")
    return _assign(items, [1.0 / k] * k, int(seed), "folds")


def development_pool(items: Sequence[SplitItem], assignment: Mapping[str, str]) -> list[SplitItem]:
    """The items whose split is in :data:`FOLD_POOL` (what ``--folds`` partitions)."""
    return [it for it in items if assignment.get(it.clip_id) in FOLD_POOL]


# ----------------------------------------------------------------------------- writing


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    from vaar.csvsafe import csv_bytes  # no cell a spreadsheet would run as a formula

    return csv_bytes(header, rows)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
        raise ManifestError(f"split assignment: no split for clips {_ids(unassigned)}")
    extra = assignment.keys() - ids
    if extra:
        raise ManifestError(f"split assignment: clips {_ids(extra)} are not among the items")
    bad = {cid for cid, s in assignment.items() if s not in SPLITS}
    if bad:
        raise ManifestError(f"split assignment: clips {_ids(bad)} have a split outside {SPLITS}")

    ordered = sorted(items, key=lambda it: it.clip_id)
    files: dict[str, bytes] = {}
    for split in SPLITS:
        rows = ((it.clip_id, it.label, it.source_id or "") for it in ordered
                if assignment[it.clip_id] == split)
        files[f"{split}.csv"] = _csv_bytes(SPLIT_COLUMNS, rows)
    if folds is not None:
        stray = folds.keys() - ids
        if stray:
            raise ManifestError(f"folds: clips {_ids(stray)} are not among the items")
        if any(isinstance(f, bool) or not isinstance(f, int) or f < 0 for f in folds.values()):
            raise ManifestError("folds: fold numbers must be integers >= 0")
        fold_rows = ((it.clip_id, it.label, it.source_id or "", str(folds[it.clip_id]))
                     for it in ordered if it.clip_id in folds)
        files[FOLDS_FILE] = _csv_bytes(FOLD_COLUMNS, fold_rows)
    if params is not None:
        k = (max(folds.values()) + 1 if folds else 0) if folds is not None else None
        files[PARAMS_FILE] = SplitParams(validate_ratios(params.ratios), params.seed, k).to_json()
    sums = "".join(f"{sha256_hex(files[n])}  {n}\n" for n in sorted(files))
    files[SUMS_FILE] = sums.encode("utf-8")
    return files


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; split files are shared, committed data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
                _atomic_write(out / name, files[name])
        for stale in (FOLDS_FILE, PARAMS_FILE):
            if stale not in files:
                (out / stale).unlink(missing_ok=True)
        _atomic_write(out / SUMS_FILE, files[SUMS_FILE])
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write the split ({exc.strerror or exc}); "
                          "pick a writable --out folder") from None
    return {n: sha256_hex(b) for n, b in sorted(files.items()) if n != SUMS_FILE}


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
    path = Path(split_dir) / SUMS_FILE
    try:
        return sha256_hex(path.read_bytes())
    except OSError:
        raise ManifestError(f"{path}: missing; a split folder needs SHA256SUMS "
                            "(make one with `vaar split`)") from None


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


def _parse_sums(path: Path, text: str, problems: list[Violation]) -> dict[str, str]:
    listed: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        name = name.lstrip("*")
        if not sep or len(digest) != 64 or not name or "/" in name:
            problems.append(Violation("checksum", f"{path} line {n}: not `<sha256>  <file>`",
                                      (SUMS_FILE,)))
            continue
        listed[name] = digest.lower()
    return listed


def _parse_csv(path: Path, data: bytes, header: Sequence[str], problems: list[Violation]) -> list[list[str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(Violation("format", f"{path}: not UTF-8", (path.name,)))
        return []
    rows = list(csv.reader(io.StringIO(text, newline="")))
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
    problems = sd.problems
    sums_path = path / SUMS_FILE
    listed: dict[str, str] = {}
    if sums_path.is_file():
        listed = _parse_sums(sums_path, sums_path.read_text(encoding="utf-8", errors="replace"),
                             problems)
    else:
        problems.append(Violation("checksum", f"{sums_path}: missing; re-run `vaar split` or "
                                  "restore it from git", (SUMS_FILE,)))
    wanted = list(SPLIT_FILES) + [n for n in (FOLDS_FILE, PARAMS_FILE)
                                  if n in listed or (path / n).exists()]
    contents: dict[str, bytes] = {}
    for name in wanted:
        fp = path / name
        if not fp.is_file():
            problems.append(Violation("checksum", f"{fp}: missing", (name,)))
            continue
        data = fp.read_bytes()
        contents[name] = data
        digest = sha256_hex(data)
        sd.sha256[name] = digest
        if name not in listed:
            if sums_path.is_file():
                problems.append(Violation("checksum", f"{fp}: not listed in {SUMS_FILE}", (name,)))
        elif listed[name] != digest:
            problems.append(Violation(
                "checksum", f"{fp}: sha256 {digest[:12]}… does not match {SUMS_FILE} "
                f"({listed[name][:12]}…); the file changed after the split was made — restore it "
                "from git or re-run `vaar split`", (name,)))
    for name in sorted(listed.keys() - set(wanted)):
        if not (path / name).is_file():
            problems.append(Violation("checksum", f"{path / name}: listed in {SUMS_FILE} but missing",
                                      (name,)))

    dup: set[str] = set()
    for split in SPLITS:
        name = f"{split}.csv"
        if name not in contents:
            continue
        for cid, label, source in _parse_csv(path / name, contents[name], SPLIT_COLUMNS, problems):
            if cid in sd.rows:
                dup.add(cid)
                continue
            sd.rows[cid] = SplitRow(cid, label, source or None, split)
    if dup:
        problems.append(Violation("format", f"{path}: clips listed twice (in one split or in two): "
                                  f"{_ids(dup)}", tuple(sorted(dup))))
    if FOLDS_FILE in contents:
        sd.folds = {}
        bad: list[str] = []
        for cid, _label, _source, fold in _parse_csv(path / FOLDS_FILE, contents[FOLDS_FILE],
                                                     FOLD_COLUMNS, problems):
            if not fold.isdigit() or cid in sd.folds:
                bad.append(cid)
                continue
            sd.folds[cid] = int(fold)
        if bad:
            problems.append(Violation("folds", f"{path / FOLDS_FILE}: bad or repeated fold rows "
                                      f"for {_ids(bad)}", tuple(sorted(bad))))
    if PARAMS_FILE in contents:
        sd.params = _parse_params(path / PARAMS_FILE, contents[PARAMS_FILE], problems)
    return sd


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


# ----------------------------------------------------------------------------- manifest


class ManifestClip(NamedTuple):
    """The columns of one manifest row that splitting and checking use."""

    clip_id: str
    label: str | None
    status: str | None
    source_id: str | None
    dup_group: str | None
    row: int
    source_file: str | None
    source_line: int | None

    @property
    def origin(self) -> str:
        """Where to fix the row: ``<source file> line <n>`` when recorded, else its row index."""
        if self.source_file and self.source_line:
            return f"{self.source_file} line {self.source_line}"
        return f"row {self.row}"


def read_manifest_clips(manifest: str | Path) -> list[ManifestClip]:
    """Every row of ``manifest.parquet`` with the columns the splitter needs.

    Raises :class:`ManifestError` for a missing file, a file that is not Parquet, or a missing
    needed column (``clip_id``, ``label``, ``status``, ``source_id``; ``dup_group`` is optional).
    """
    import pyarrow.parquet as pq

    path = Path(manifest)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest; pass the manifest.parquet written by `vaar build`")
    try:
        names = set(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise ManifestError(f"{path}: not a readable Parquet manifest ({type(exc).__name__}); "
                            "pass the manifest.parquet written by `vaar build`") from None
    missing = [c for c in MANIFEST_COLUMNS_NEEDED if c not in names]
    if missing:
        raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}; a manifest needs "
                            f"{', '.join(MANIFEST_COLUMNS_NEEDED)} (see vaar/schema.py) — rebuild "
                            "it with `vaar build`")
    optional = [c for c in ("dup_group", "source_file", "source_line") if c in names]
    table = pq.read_table(path, columns=[*MANIFEST_COLUMNS_NEEDED, *optional])
    n = table.num_rows

    def col(name: str) -> list[Any]:  # Arrow strings (ints for source_line) or None
        return table.column(name).to_pylist() if name in names else [None] * n

    cid, label, status, source, dup = (col(c) for c in (*MANIFEST_COLUMNS_NEEDED, "dup_group"))
    sfile, sline = col("source_file"), col("source_line")
    return [ManifestClip(c if c is not None else "", la, st, so, du, i, sf, sl)
            for i, (c, la, st, so, du, sf, sl) in enumerate(
                zip(cid, label, status, source, dup, sfile, sline, strict=True))]


def load_split_items(
    manifest: str | Path,
    taxonomy: Taxonomy | None = None,
    *,
    clips: Sequence[ManifestClip] | None = None,
) -> list[SplitItem]:
    """The ``status == 'ok'`` rows of ``manifest.parquet`` as :class:`SplitItem` s, validated.

    Every error names the manifest, the clip and, where the manifest records it, the source-list
    line to fix. ``clips`` (from :func:`read_manifest_clips`) saves reading ``manifest`` again;
    ``manifest`` then only names it in messages.
    """
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    valid = set(tax.slugs)
    where = str(manifest)
    items: list[SplitItem] = []
    seen: dict[str, str] = {}
    for mc in clips if clips is not None else read_manifest_clips(manifest):
        if mc.status != "ok":
            continue
        if not mc.clip_id:
            raise ManifestError(f"{where} {mc.origin}: ok row without clip_id; rebuild the manifest")
        if mc.clip_id in seen:
            raise ManifestError(f"{where}: clip_id {mc.clip_id!r} appears twice ({seen[mc.clip_id]}, "
                                f"{mc.origin}); clip ids must be unique — fix the source list")
        seen[mc.clip_id] = mc.origin
        if mc.label not in valid:
            raise ManifestError(f"{where}: clip {mc.clip_id} ({mc.origin}) has unknown label "
                                f"{mc.label!r}; use one of {', '.join(tax.slugs)} in the source list")
        items.append(SplitItem(mc.clip_id, str(mc.label), mc.source_id or None, mc.dup_group or None))
    return items


# ----------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Deviation:
    """The largest gap between an observed fraction and its target."""

    label: str
    split: str
    observed: float
    target: float

    @property
    def points(self) -> float:
        """Absolute gap in percentage points."""
        return abs(self.observed - self.target) * 100.0


@dataclass
class CheckReport:
    """What ``vaar split --check`` found. ``ok`` is false when any violation exists."""

    path: Path
    sha256: dict[str, str]
    digest: str | None
    ratios: tuple[float, float, float]
    ratios_recorded: bool
    counts: dict[str, dict[str, int]]  # label -> split -> clips
    split_sizes: dict[str, int]
    groups: int
    largest_ratio_deviation: Deviation | None  # a class's share in a split vs the split ratio
    largest_proportion_deviation: Deviation | None  # a label's share of a split vs overall (>= 50)
    fold_counts: dict[str, dict[int, int]] | None = None  # label -> fold -> clips
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _components(links: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Clip ids grouped by shared link keys (namespaced ``s:<source_id>`` / ``d:<dup_group>``)."""
    ids = sorted(links)
    uf = _UnionFind(len(ids))
    _link(uf, ((i, key) for i, cid in enumerate(ids) for key in links[cid]))
    groups: dict[int, list[str]] = {}
    for i, cid in enumerate(ids):
        groups.setdefault(uf.find(i), []).append(cid)
    return sorted(groups.values())


def _straddles(groups: Iterable[list[str]], bin_of: Mapping[str, object]) -> list[tuple[list[str], list[str]]]:
    out: list[tuple[list[str], list[str]]] = []
    for members in groups:
        inside = [c for c in members if c in bin_of]
        bins = sorted({str(bin_of[c]) for c in inside})
        if len(bins) > 1:
            out.append((inside, bins))
    return out


def _largest(devs: Iterable[Deviation]) -> Deviation | None:
    best: Deviation | None = None
    for d in devs:
        if best is None or d.points > best.points + 1e-12:
            best = d
    return best


def _tally(rows: Iterable[tuple[str, str, str | None, str]], ratios: Sequence[float]) -> tuple[
        dict[str, dict[str, int]], dict[str, int], Deviation | None, Deviation | None, list[str]]:
    """Per-class counts per split, split sizes, the two largest deviations, absent classes."""
    counts: dict[str, dict[str, int]] = {}
    for _cid, label, _source, split in rows:
        row = counts.get(label)
        if row is None:
            row = counts[label] = dict.fromkeys(SPLITS, 0)
        row[split] += 1
    counts = dict(sorted(counts.items()))
    sizes = {s: sum(row[s] for row in counts.values()) for s in SPLITS}
    total = sum(sizes.values())
    ratio_devs: list[Deviation] = []
    prop_devs: list[Deviation] = []
    absent: list[str] = []
    for label, row in counts.items():
        n_label = sum(row.values())
        for s, ratio in zip(SPLITS, ratios, strict=True):
            ratio_devs.append(Deviation(label, s, row[s] / n_label, ratio))
            if n_label >= BALANCE_MIN_CLIPS and sizes[s]:
                prop_devs.append(Deviation(label, s, row[s] / sizes[s], n_label / total))
            if ratio > 0 and row[s] == 0:
                absent.append(f"class {label!r} has no clip in {s}")
    return counts, sizes, _largest(ratio_devs), _largest(prop_devs), absent


def _fold_tally(labels: Mapping[str, str], folds: Mapping[str, int], k: int) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {label: dict.fromkeys(range(k), 0)
                                      for label in sorted(set(labels.values()))}
    for cid, f in folds.items():
        out[labels[cid]][f] = out[labels[cid]].get(f, 0) + 1
    return out


def summarize_split(
    items: Sequence[SplitItem],
    assignment: Mapping[str, str],
    split_dir: str | Path,
    *,
    params: SplitParams | None = None,
    folds: Mapping[str, int] | None = None,
) -> CheckReport:
    """The report of a split just written by :func:`write_split_dir`, from memory: only the
    checksums are re-read and verified (the algorithm keeps groups whole by construction)."""
    path = Path(split_dir)
    sd_rows = [(it.clip_id, it.label, it.source_id, assignment[it.clip_id]) for it in items]
    ratios = params.ratios if params else DEFAULT_RATIOS
    counts, sizes, ratio_dev, prop_dev, absent = _tally(sd_rows, ratios)
    sums = (path / SUMS_FILE).read_text(encoding="utf-8")
    problems: list[Violation] = []
    listed = _parse_sums(path / SUMS_FILE, sums, problems)
    sha = {name: sha256_hex((path / name).read_bytes()) for name in sorted(listed)}
    problems += [Violation("checksum", f"{path / n}: sha256 does not match {SUMS_FILE}", (n,))
                 for n in sha if sha[n] != listed[n]]
    fold_counts = None
    if folds:
        labels = {it.clip_id: it.label for it in items}
        fold_counts = _fold_tally({c: labels[c] for c in folds}, folds, max(folds.values()) + 1)
    return CheckReport(
        path=path, sha256=sha, digest=sha256_hex(sums.encode("utf-8")), ratios=ratios,
        ratios_recorded=params is not None, counts=counts, split_sizes=sizes,
        groups=len(group_clips(items)), largest_ratio_deviation=ratio_dev,
        largest_proportion_deviation=prop_dev, fold_counts=fold_counts, violations=problems,
        warnings=absent,
    )


def check_split_dir(
    split_dir: str | Path,
    manifest: str | Path | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    manifest_clips: Sequence[ManifestClip] | None = None,
) -> CheckReport:
    """Verify a split folder: checksums, format, groups not straddling splits (or folds), and,
    with ``manifest``, that every clip exists and is ``ok`` there with the same label.

    Groups come from the ``source_id`` column of the split files, plus the manifest's
    ``source_id`` and ``dup_group`` when a manifest is given. Reports per-class counts per split
    and the largest deviations from the targets. Raises :class:`ManifestError` only for an
    unreadable input (missing folder, manifest without a needed column). ``manifest_clips``
    (from :func:`read_manifest_clips`) saves reading ``manifest`` again.
    """
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    sd = load_split_dir(split_dir)
    violations = list(sd.problems)
    warnings: list[str] = []
    rows = sd.rows
    ratios = sd.params.ratios if sd.params else DEFAULT_RATIOS
    if sd.params is None:
        warnings.append(f"no {PARAMS_FILE}: deviations measured against the default ratios "
                        f"{','.join(f'{r:g}' for r in DEFAULT_RATIOS)}")

    valid = set(tax.slugs)
    unknown = sorted(cid for cid, r in rows.items() if r.label not in valid)
    if unknown:
        violations.append(Violation("label", f"clips with labels outside the taxonomy: {_ids(unknown)}",
                                    tuple(unknown)))

    links: dict[str, list[str]] = {cid: [f"s:{r.source_id}"] if r.source_id else []
                                   for cid, r in rows.items()}
    if manifest is not None:
        clips: dict[str, ManifestClip] = {}
        for mc in manifest_clips if manifest_clips is not None else read_manifest_clips(manifest):
            clips.setdefault(mc.clip_id, mc)
        missing = sorted(c for c in rows if c not in clips)
        not_ok = sorted(c for c in rows if c in clips and clips[c].status != "ok")
        relabelled = sorted(c for c in rows if c in clips and clips[c].status == "ok"
                            and clips[c].label != rows[c].label)
        if missing:
            violations.append(Violation("missing", f"clips not in {manifest}: {_ids(missing)}",
                                        tuple(missing)))
        if not_ok:
            shown = _ids(f"{c} ({clips[c].status})" for c in not_ok)
            violations.append(Violation("not_ok", f"clips not ok in {manifest}: {shown}", tuple(not_ok)))
        if relabelled:
            violations.append(Violation("label", f"clips whose label differs from {manifest}: "
                                        f"{_ids(relabelled)}", tuple(relabelled)))
        spare = sorted(c for c, mc in clips.items() if mc.status == "ok" and c and c not in rows)
        if spare:
            warnings.append(f"{len(spare)} ok clip(s) of the manifest are in no split: {_ids(spare)}")
        for cid in rows:
            known = clips.get(cid)
            if known is not None:
                links[cid] += [f"s:{known.source_id}"] if known.source_id else []
                links[cid] += [f"d:{known.dup_group}"] if known.dup_group else []
    else:
        warnings.append("no --manifest: groups checked by source_id only (dup_group links, "
                        "existence and ok status not checked)")

    groups = _components(links)
    for members, bins in _straddles(groups, {c: r.split for c, r in rows.items()}):
        violations.append(Violation("straddle", f"group {_ids(members)} straddles {'+'.join(bins)}",
                                    tuple(members)))

    counts, sizes, ratio_dev, prop_dev, absent = _tally(rows.values(), ratios)
    warnings += absent
    fold_counts: dict[str, dict[int, int]] | None = None
    if sd.folds is not None:
        folds = sd.folds
        k = sd.params.folds if sd.params and sd.params.folds else (max(folds.values(), default=-1) + 1)
        pool = {c for c, r in rows.items() if r.split in FOLD_POOL}
        outside = sorted(c for c in folds if c not in pool)
        unfolded = sorted(pool - folds.keys())
        out_of_range = sorted(c for c, f in folds.items() if f >= k)
        if outside:
            violations.append(Violation("folds", f"{FOLDS_FILE}: clips not in {'/'.join(FOLD_POOL)}: "
                                        f"{_ids(outside)}", tuple(outside)))
        if unfolded:
            violations.append(Violation("folds", f"{FOLDS_FILE}: {'/'.join(FOLD_POOL)} clips without "
                                        f"a fold: {_ids(unfolded)}", tuple(unfolded)))
        if out_of_range:
            violations.append(Violation("folds", f"{FOLDS_FILE}: fold >= {k} for {_ids(out_of_range)}",
                                        tuple(out_of_range)))
        in_pool = {c: f for c, f in folds.items() if c in rows}
        for members, bins in _straddles(groups, in_pool):
            violations.append(Violation("straddle", f"group {_ids(members)} straddles folds "
                                        f"{'+'.join(bins)}", tuple(members)))
        fold_counts = _fold_tally({c: rows[c].label for c in in_pool}, in_pool, k)

    digest = sha256_hex((sd.path / SUMS_FILE).read_bytes()) if (sd.path / SUMS_FILE).is_file() else None
    return CheckReport(
        path=sd.path,
        sha256=dict(sorted(sd.sha256.items())),
        digest=digest,
        ratios=ratios,
        ratios_recorded=sd.params is not None,
        counts=counts,
        split_sizes=sizes,
        groups=len(groups),
        largest_ratio_deviation=ratio_dev,
        largest_proportion_deviation=prop_dev,
        fold_counts=fold_counts,
        violations=violations,
        warnings=warnings,
    )

