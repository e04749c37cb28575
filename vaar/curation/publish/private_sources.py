"""A hidden test set stays hidden only if its sources are not public: the two-list workflow.

Source lists arrive by pull request and are public; the published ``train.csv`` and
``validation.csv`` name every non-test clip. So if a private test clip's row sits in a public list,
its label is that row's ``label`` column: an attacker subtracts the public split files from the
public lists and reads the test labels off what is left (issue 19, finding 1: 20 of 20). The host
therefore keeps the test sources in a host-only list (outside ``curation/sources/``, never in a pull
request) and builds both lists into one folder. :func:`check_test_sources` refuses private labels
when a test clip's row is in a list named public: the lists passed as ``--public-sources``, and
every list the build read from a ``curation/sources/`` folder (the repository's reviewed lists). A
row counts when it has the clip's ``clip_id`` or the same ``url``, ``start`` and ``end``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from vaar.core.contracts.source_list import read_rows
from vaar.core.errors import ConfigError

PUBLIC_FOLDER = ("curation", "sources")


def add_private_test_arguments(p: argparse.ArgumentParser) -> None:
    """The hidden test set's flags, on ``vaar build`` and ``vaar publish`` alike."""
    p.add_argument("--private-test-labels", type=Path, metavar="CSV",
                   help="publish the test split without labels, with opaque ids, and write "
                        "opaque id,label to CSV (host only; needs a host secret)")  # fmt: skip
    p.add_argument("--test-sources", type=Path, nargs="+", default=[], metavar="CSV",
                   help="host-only lists whose clips are the test split (the two-list workflow; the other "
                        "clips are split into train and validation)")
    p.add_argument("--public-sources", type=Path, nargs="+", default=[], metavar="CSV",
                   help="lists anyone can read (besides those under curation/sources/, which always count): "
                        "with --private-test-labels no test clip may come from them")
    p.add_argument("--host-secret-file", type=Path, metavar="FILE",
                   help="host secret keying the private test ids and split identity (default: $VAAR_HOST_SECRET)")


def private_test_options(args: argparse.Namespace) -> dict[str, Any]:
    """``PublishConfig`` keyword arguments from the flags of :func:`add_private_test_arguments`."""
    return {"private_test_labels": args.private_test_labels, "host_secret_file": args.host_secret_file,
            "public_sources": tuple(args.public_sources), "test_sources": tuple(args.test_sources)}


def is_public_path(path: str | PurePath) -> bool:
    """A list read from a ``curation/sources/`` folder (the reviewed lists in git) is public."""
    parts = PurePath(str(path)).parts
    return any(parts[i : i + 2] == PUBLIC_FOLDER for i in range(len(parts) - 1))


def _key(url: Any, start: Any, end: Any) -> tuple[str, float, float] | None:
    try:
        return str(url).strip(), round(float(start), 3), round(float(end), 3)
    except (TypeError, ValueError):
        return None


def check_test_sources(test_rows: Sequence[Mapping[str, Any]], public_lists: Iterable[str | Path]) -> None:
    """Raise :class:`ConfigError` (one line, with counts per list) when a private test clip's
    source row is in a public list; ``test_rows`` are the manifest rows of the test clips."""
    hits: Counter[str] = Counter()
    lists = {str(p) for p in public_lists}
    lists |= {str(r.get("source_file")) for r in test_rows if r.get("source_file") and is_public_path(str(r["source_file"]))}
    index: dict[str, tuple[set[str], set[tuple[str, float, float]]]] = {}
    for path in sorted(lists):
        if not Path(path).is_file():
            if any(str(r.get("source_file")) == path for r in test_rows):
                index[path] = (set(), set())  # built from it, and it is public: every such row counts
                continue
            raise ConfigError(f"--public-sources {path}: no such source list")
        ids, spans = set(), set()
        for _, raw in read_rows(path):
            ids.add((raw.get("clip_id") or "").strip())
            k = _key(raw.get("url"), raw.get("start"), raw.get("end"))
            if k is not None:
                spans.add(k)
        index[path] = (ids, spans)
    for r in test_rows:
        for path, (ids, spans) in index.items():
            k = _key(r.get("url"), r.get("start"), r.get("end"))
            if str(r.get("source_file")) == path or r.get("clip_id") in ids or (k is not None and k in spans):
                hits[Path(path).name] += 1
                break
    if hits:
        where = ", ".join(f"{name}: {n}" for name, n in hits.most_common())
        raise ConfigError(
            f"private test labels refused: {sum(hits.values())} test clip(s) come from public source lists "
            f"({where}), whose label column gives the hidden labels away; keep the test sources in a "
            "host-only list (see docs/threat-model.md) or publish without --private-test-labels")


def test_clips(manifest: Path, test_sources: Sequence[str | Path]) -> set[str]:
    """The ok clips of ``manifest`` built from the host-only ``test_sources`` lists."""
    from vaar.core.contracts.manifest_file import read_manifest

    want = {Path(p).resolve() for p in test_sources}
    rows = read_manifest(manifest, ["clip_id", "status", "source_file"]).to_pylist()
    out = {str(r["clip_id"]) for r in rows
           if r.get("status") == "ok" and r.get("source_file") and Path(str(r["source_file"])).resolve() in want}
    if not out:
        raise ConfigError(f"--test-sources {', '.join(str(p) for p in test_sources)}: no ok clip of {manifest} was "
                          "built from these lists; build them into the same folder first")
    return out


def assign_with_test(items: Sequence[Any], test_ids: set[str], ratios: Sequence[float], seed: int) -> dict[str, str]:
    """The two-list split: ``test_ids`` are the test split; the other clips are split into train and
    validation (stratified, groups intact) in the ratio of ``ratios``' first two. A source or
    near-duplicate group on both sides is refused: the test set would not be unseen."""
    from vaar.core.errors import ManifestError
    from vaar.curation.split import assign_splits

    test_groups = {g for it in items if it.clip_id in test_ids for g in (it.source_id, it.dup_group) if g}
    rest = [it for it in items if it.clip_id not in test_ids]
    shared = [it.clip_id for it in rest if {it.source_id, it.dup_group} & test_groups]
    if shared:
        raise ManifestError(f"{len(shared)} clip(s) of the public lists share a source or near-duplicate group with "
                            f"the host-only test lists (e.g. {shared[0]}); drop them from one side")
    t, v = float(ratios[0]), float(ratios[1])
    assignment = assign_splits(rest, (t / (t + v), v / (t + v), 0.0), seed, where="the public lists") if rest else {}
    assignment.update({it.clip_id: "test" for it in items if it.clip_id in test_ids})
    return assignment
