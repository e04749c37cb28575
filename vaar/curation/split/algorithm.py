"""The split algorithm: grouped, stratified, deterministic assignment to splits and folds.

Algorithm (``vaar-greedy-chi2/1``)
----------------------------------
Greedy grouped stratification, a deterministic cousin of iterative stratification
(Sechidis, Tsoumakas & Vlahavas, "On the stratification of multi-label data", ECML PKDD 2011)
and of scikit-learn's ``StratifiedGroupKFold``:

1. **Groups.** Connected components (:mod:`vaar.core._util.graph`) of clips sharing a ``source_id``
   or a ``dup_group`` (transitively);
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

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vaar.core._util.graph import components_by_key
from vaar.core.contracts.split_params import (
    DEFAULT_RATIOS,
    FOLD_POOL,
    SPLITS,
    SplitItem,
    show_ids,
    validate_ratios,
)
from vaar.core.errors import ConfigError, ManifestError
from vaar.core.taxonomy import Taxonomy, default_taxonomy

# ----------------------------------------------------------------------------- validation


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
            f"{where}: duplicate clip_id {show_ids(dups)}; clip ids must be unique — fix the source list"
        )
    if unknown:
        label, ids = sorted(unknown.items())[0]
        raise ManifestError(
            f"{where}: unknown label {label!r} (clips {show_ids(ids)}); "
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


def group_clips(items: Sequence[SplitItem]) -> list[list[int]]:
    """Indices of ``items`` grouped by shared ``source_id``, ``dup_group`` or ``uploader``
    (transitively): clips of one channel share camera, style and watermark, so a model could
    recognise the channel instead of the event. A clip with no known uploader links by its
    ``source_id`` only (the manifest has no uploader for a direct file).

    Groups are sorted by their smallest ``clip_id`` and members by ``clip_id``.
    """
    keys = ((f"s:{it.source_id}" if it.source_id else None, f"d:{it.dup_group}" if it.dup_group else None,
             f"u:{it.uploader}" if it.uploader else None) for it in items)  # fmt: skip
    groups = [sorted(m, key=lambda i: items[i].clip_id) for m in components_by_key(keys)]
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


@dataclass
class _State:
    """Counts per split (bin) and column (labels, then the split size) as groups are placed."""

    groups: Sequence[_Group]
    ratios: Sequence[float]
    target: list[list[float]]  # (bins, labels + 1)
    count: list[list[int]]  # (bins, labels + 1)
    where: list[int]  # bin of each group, -1 while unplaced

    @classmethod
    def start(cls, groups: Sequence[_Group], ratios: Sequence[float], totals: Sequence[int]) -> _State:
        # column len(totals) holds the split size: its error term keeps split sizes on target too
        target = [[r * t for t in totals] + [r * sum(totals)] for r in ratios]
        count = [[0] * (len(totals) + 1) for _ in ratios]
        return cls(groups, ratios, target, count, [-1] * len(groups))

    @property
    def active(self) -> list[int]:
        return [b for b in range(len(self.ratios)) if self.ratios[b] > 0]

    def place(self, gi: int, b: int) -> None:
        self.where[gi] = b
        row = self.count[b]
        for c, k in self.groups[gi].labels:
            row[c] += k
        row[-1] += self.groups[gi].size


def _partition(groups: Sequence[_Group], ratios: Sequence[float], totals: Sequence[int]) -> list[int]:
    """Bin index of every group (see the module docstring, steps 2-5)."""
    st = _State.start(groups, ratios, totals)
    _cover(st, totals)
    _greedy(st)
    _refine(st)
    return st.where


def _cover(st: _State, totals: Sequence[int]) -> None:
    """Step 3: every label in every split where a small enough group exists."""
    groups, n_labels = st.groups, len(totals)
    by_label: list[list[int]] = [[] for _ in range(n_labels)]
    for gi, g in enumerate(groups):
        for c, _ in g.labels:
            by_label[c].append(gi)
    for lst in by_label:
        lst.sort(key=lambda gi: (groups[gi].size, groups[gi].order))
    for c in sorted(range(n_labels), key=lambda c: (totals[c], c)):
        for b in sorted(st.active, key=lambda b: (st.ratios[b], b)):
            if st.count[b][c]:
                continue
            cap = max(1, math.ceil(st.target[b][c]))
            # the smallest group of the label decides: too big ends the search, unplaced is taken
            pick = next((g for g in by_label[c] if groups[g].size > cap or st.where[g] < 0), None)
            if pick is not None and groups[pick].size <= cap:
                st.place(pick, b)


def _greedy(st: _State) -> None:
    """Step 4: largest group first, to the split whose squared relative error grows least."""
    groups = st.groups
    preference = sorted(st.active, key=lambda b: (-st.ratios[b], b))
    rest = sorted((gi for gi in range(len(groups)) if st.where[gi] < 0),
                  key=lambda gi: (-groups[gi].size, groups[gi].order))
    for gi in rest:
        size = groups[gi].size
        best_b, best = preference[0], math.inf
        for b in preference:
            row, tgt = st.count[b], st.target[b]
            cost = size * (2.0 * (row[-1] - tgt[-1]) + size) / tgt[-1]
            for c, k in groups[gi].labels:
                cost += k * (2.0 * (row[c] - tgt[c]) + k) / tgt[c]
            if cost < best:
                best_b, best = b, cost
        st.place(gi, best_b)


_EPS = 1e-9  # an action must lower the objective by more than this (termination, determinism)
_MAX_ROUNDS = 20
_MAX_EVALS = 30_000  # candidate actions the local search may score (bounds its time)


def _delta(n: float, t: float, d: int) -> float:
    """Change of ``(n - t)**2 / t`` when ``n`` grows by ``d``."""
    return d * (2.0 * (n - t) + d) / t


_Sig = tuple[tuple[int, int], ...]  # a group's (column, clips) pairs, size column last
_Action = tuple[_Sig, "_Sig | None"]  # move group A from s to u (and swap group B back)


class _LocalSearch:
    """Step 5: local search on the same objective, in place (see the module docstring).

    Groups with the same label counts are interchangeable: they are pooled by (primary label,
    split) and signature; the last group of a pool list is the one that moves (O(1)).
    """

    def __init__(self, st: _State) -> None:
        self.st = st
        self.size_col = len(st.count[0]) - 1  # last column: split size
        self.pools: dict[tuple[int, int], dict[_Sig, list[int]]] = {}
        self.evals = 0
        primary: dict[_Sig, int] = {}
        for gi, g in enumerate(st.groups):
            sig = (*g.labels, (self.size_col, g.size))
            p = primary.setdefault(sig, min(g.labels, key=lambda ck: (-ck[1], ck[0]))[0])
            self.pools.setdefault((p, st.where[gi]), {}).setdefault(sig, []).append(gi)

    def move(self, p: int, sig: _Sig, s: int, u: int) -> None:
        pool = self.pools[(p, s)]
        gi = pool[sig].pop()
        if not pool[sig]:
            del pool[sig]
        self.pools.setdefault((p, u), {}).setdefault(sig, []).append(gi)
        self.st.where[gi] = u
        for c, k in sig:
            self.st.count[s][c] -= k
            self.st.count[u][c] += k

    def gain_of(self, d: Mapping[int, int], s: int, u: int) -> float:
        """Objective change when column c of split s grows by d[c] and of split u shrinks by it;
        inf when a label present in s or u would vanish there (coverage is kept)."""
        total = 0.0
        cs, cu, ts, tu = self.st.count[s], self.st.count[u], self.st.target[s], self.st.target[u]
        for c, x in d.items():
            if not x:
                continue
            if c != self.size_col and ((cs[c] and cs[c] + x == 0) or (cu[c] and cu[c] - x == 0)):
                return math.inf
            total += _delta(cs[c], ts[c], x) + _delta(cu[c], tu[c], -x)
        return total

    def best_action(self, p: int, s: int, u: int) -> _Action | None:
        """The single move (or swap) between splits s and u that lowers the objective most."""
        best = -_EPS
        action: _Action | None = None
        sigs_s = sorted(self.pools.get((p, s), ()))
        sigs_u = sorted(self.pools.get((p, u), ())) if s < u else []
        for sa in sigs_s:
            out = {c: -k for c, k in sa}  # group A leaves s for u
            gain = self.gain_of(out, s, u)
            if gain < best:
                best, action = gain, (sa, None)
            for sb in sigs_u:  # swap: B comes back from u to s
                d = dict(out)
                for c, k in sb:
                    d[c] = d.get(c, 0) + k
                gain = self.gain_of(d, s, u)
                if gain < best:
                    best, action = gain, (sa, sb)
            self.evals += 1 + len(sigs_u)
        return action

    def improve_pair(self, p: int, s: int, u: int) -> bool:
        """Apply best actions between s and u until none improves; whether any was applied."""
        changed = False
        while self.evals < _MAX_EVALS:
            action = self.best_action(p, s, u)
            if action is None:
                break
            self.move(p, action[0], s, u)
            if action[1] is not None:
                self.move(p, action[1], u, s)
            changed = True
        return changed

    def run(self) -> None:
        labels = sorted({p for p, _ in self.pools})
        active = self.st.active
        pairs = [(s, u) for s in active for u in active if u != s]
        for _ in range(_MAX_ROUNDS):
            changed = False
            for p in labels:
                for s, u in pairs:
                    changed = self.improve_pair(p, s, u) or changed
            if not changed or self.evals >= _MAX_EVALS:
                break


def _refine(st: _State) -> None:
    _LocalSearch(st).run()


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

