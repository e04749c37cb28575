"""``vaar split --check``: verify a split folder against its contract and, optionally, a manifest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vaar.core._util.graph import components_by_key
from vaar.core._util.hashing import sha256_bytes
from vaar.core.contracts.split_files import (
    SplitDir,
    SplitRow,
    Violation,
    load_split_dir,
    parse_sums,
)
from vaar.core.contracts.split_params import (
    BALANCE_MIN_CLIPS,
    BALANCE_POINTS,
    DEFAULT_RATIOS,
    FOLD_POOL,
    FOLDS_FILE,
    PARAMS_FILE,
    SPLITS,
    SUMS_FILE,
    SplitItem,
    SplitParams,
    show_ids,
)
from vaar.core.contracts.sums import check_file
from vaar.core.taxonomy import Taxonomy, default_taxonomy
from vaar.curation.split.algorithm import group_clips
from vaar.curation.split.inputs import ManifestClip, read_manifest_clips

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
    return sorted([ids[i] for i in g] for g in components_by_key(links[cid] for cid in ids))


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
    listed = parse_sums(path / SUMS_FILE, problems)
    sha = {name: sha256_bytes((path / name).read_bytes()) for name in sorted(listed)}
    problems += [Violation("checksum", p.message, (p.name,))
                 for p in (check_file(path, n, listed) for n in sha) if p]
    groups = group_clips(items)
    absent += _balance_note(prop_dev, [[items[i].clip_id for i in g] for g in groups],
                            {it.clip_id: it.uploader for it in items if it.uploader})  # fmt: skip
    fold_counts = None
    if folds:
        labels = {it.clip_id: it.label for it in items}
        fold_counts = _fold_tally({c: labels[c] for c in folds}, folds, max(folds.values()) + 1)
    return CheckReport(
        path=path, sha256=sha, digest=sha256_bytes(sums.encode("utf-8")), ratios=ratios,
        ratios_recorded=params is not None, counts=counts, split_sizes=sizes,
        groups=len(groups), largest_ratio_deviation=ratio_dev,
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
        violations.append(Violation("label", f"clips with labels outside the taxonomy: {show_ids(unknown)}",
                                    tuple(unknown)))

    links: dict[str, list[str]] = {cid: [f"s:{r.source_id}"] if r.source_id else []
                                   for cid, r in rows.items()}
    uploader: dict[str, str] = {}
    if manifest is not None:
        clips: dict[str, ManifestClip] = {}
        for mc in manifest_clips if manifest_clips is not None else read_manifest_clips(manifest):
            clips.setdefault(mc.clip_id, mc)
        _check_manifest(rows, clips, str(manifest), violations, warnings, links)
        uploader = {c: clips[c].uploader or "" for c in rows if c in clips and clips[c].uploader}
        violations += _uploader_straddles(uploader, {c: r.split for c, r in rows.items()})
    else:
        warnings.append("no --manifest: groups checked by source_id only (dup_group links, "
                        "existence and ok status not checked)")

    groups = _components(links)
    for members, bins in _straddles(groups, {c: r.split for c, r in rows.items()}):
        violations.append(Violation("straddle", f"group {show_ids(members)} straddles {'+'.join(bins)}",
                                    tuple(members)))

    counts, sizes, ratio_dev, prop_dev, absent = _tally(rows.values(), ratios)
    warnings += absent + _balance_note(prop_dev, groups, uploader)
    fold_counts = _check_folds(sd, groups, violations) if sd.folds is not None else None
    digest = sha256_bytes((sd.path / SUMS_FILE).read_bytes()) if (sd.path / SUMS_FILE).is_file() else None
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


def _check_manifest(rows: Mapping[str, SplitRow], clips: Mapping[str, ManifestClip], manifest: str,
                    violations: list[Violation], warnings: list[str],
                    links: dict[str, list[str]]) -> None:
    """Every split clip exists and is ok in the manifest with the same label; adds the
    manifest's ``source_id`` / ``dup_group`` to ``links``."""
    missing = sorted(c for c in rows if c not in clips)
    not_ok = sorted(c for c in rows if c in clips and clips[c].status != "ok")
    relabelled = sorted(c for c in rows if c in clips and clips[c].status == "ok"
                        and clips[c].label != rows[c].label)
    if missing:
        violations.append(Violation("missing", f"clips not in {manifest}: {show_ids(missing)}",
                                    tuple(missing)))
    if not_ok:
        shown = show_ids(f"{c} ({clips[c].status})" for c in not_ok)
        violations.append(Violation("not_ok", f"clips not ok in {manifest}: {shown}", tuple(not_ok)))
    if relabelled:
        violations.append(Violation("label", f"clips whose label differs from {manifest}: "
                                    f"{show_ids(relabelled)}", tuple(relabelled)))
    spare = sorted(c for c, mc in clips.items() if mc.status == "ok" and c and c not in rows)
    if spare:
        warnings.append(f"{len(spare)} ok clip(s) of the manifest are in no split: {show_ids(spare)}")
    for cid in rows:
        known = clips.get(cid)
        if known is not None:
            links[cid] += [f"s:{known.source_id}"] if known.source_id else []
            links[cid] += [f"d:{known.dup_group}"] if known.dup_group else []


def _uploader_straddles(uploader: Mapping[str, str], split_of: Mapping[str, str]) -> list[Violation]:
    """One violation per uploader (channel) whose clips sit in more than one split."""
    by: dict[str, list[str]] = {}
    for cid, u in uploader.items():
        by.setdefault(u, []).append(cid)
    out = []
    for u, members in sorted(by.items()):
        bins = sorted({split_of[c] for c in members})
        if len(bins) > 1:
            out.append(Violation("uploader", f"uploader {u[:80]!r} ({len(members)} clips) straddles "
                                 f"{'+'.join(bins)}; one channel's clips belong in one split", tuple(sorted(members))))  # fmt: skip
    return out


def _balance_note(dev: Deviation | None, groups: Sequence[Sequence[str]], uploader: Mapping[str, str]) -> list[str]:
    """Why the balance bar is missed, when it is: groups (sources, duplicates, uploaders) are whole."""
    if dev is None or dev.points <= BALANCE_POINTS + 1e-9:
        return []
    big = max(groups, key=len, default=[])
    owners = Counter(uploader[c] for c in big if c in uploader).most_common()
    top = sorted(owners, key=lambda kv: (-kv[1], kv[0]))[0] if owners else None
    who = f"{top[1]} of them from uploader {top[0][:60]!r}" if top else "sources and duplicates linked"
    return [f"the balance bar is missed: {dev.label} is {dev.observed:.1%} of {dev.split} vs {dev.target:.1%} "
            f"overall ({dev.points:.2f} > {BALANCE_POINTS:g} points), because groups are kept whole — the "
            f"largest has {len(big)} clips ({who}); more uploaders or clips per class would bring it back"]  # fmt: skip


def _check_folds(sd: SplitDir, groups: list[list[str]],
                 violations: list[Violation]) -> dict[str, dict[int, int]]:
    """Folds cover exactly the development pool, in range, groups whole; the per-fold counts."""
    folds, rows = sd.folds or {}, sd.rows
    k = sd.params.folds if sd.params and sd.params.folds else (max(folds.values(), default=-1) + 1)
    pool = {c for c, r in rows.items() if r.split in FOLD_POOL}
    outside = sorted(c for c in folds if c not in pool)
    unfolded = sorted(pool - folds.keys())
    out_of_range = sorted(c for c, f in folds.items() if f >= k)
    if outside:
        violations.append(Violation("folds", f"{FOLDS_FILE}: clips not in {'/'.join(FOLD_POOL)}: "
                                    f"{show_ids(outside)}", tuple(outside)))
    if unfolded:
        violations.append(Violation("folds", f"{FOLDS_FILE}: {'/'.join(FOLD_POOL)} clips without "
                                    f"a fold: {show_ids(unfolded)}", tuple(unfolded)))
    if out_of_range:
        violations.append(Violation("folds", f"{FOLDS_FILE}: fold >= {k} for {show_ids(out_of_range)}",
                                    tuple(out_of_range)))
    in_pool = {c: f for c, f in folds.items() if c in rows}
    for members, bins in _straddles(groups, in_pool):
        violations.append(Violation("straddle", f"group {show_ids(members)} straddles folds "
                                    f"{'+'.join(bins)}", tuple(members)))
    return _fold_tally({c: rows[c].label for c in in_pool}, in_pool, k)
