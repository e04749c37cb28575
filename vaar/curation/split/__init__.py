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

The algorithm (``vaar-greedy-chi2/1``) is described in :mod:`.algorithm`.

Modules: :mod:`.params` (names, ratios, ``split.json``), :mod:`.algorithm` (assignment),
:mod:`.files` (render, write, read), :mod:`.inputs` (manifest rows), :mod:`.check` (``--check``).
"""

from __future__ import annotations

from vaar.core._util.hashing import sha256_bytes as sha256_hex
from vaar.core.contracts.split_files import (
    SplitDir,
    SplitRow,
    Violation,
    compare_to_build,
    load_split_dir,
    read_split_dir,
    render_split_files,
    split_digest,
    write_files,
    write_split_dir,
)
from vaar.core.contracts.split_params import (
    ALGORITHM,
    BALANCE_MIN_CLIPS,
    DEFAULT_RATIOS,
    FOLD_COLUMNS,
    FOLD_POOL,
    FOLDS_FILE,
    MANIFEST_COLUMNS_NEEDED,
    PARAMS_FILE,
    SPLIT_COLUMNS,
    SPLIT_FILES,
    SPLITS,
    SUMS_FILE,
    SplitItem,
    SplitParams,
    parse_ratios,
    validate_ratios,
)
from vaar.curation.split.algorithm import (
    assign_folds,
    assign_splits,
    development_pool,
    group_clips,
)
from vaar.curation.split.check import (
    CheckReport,
    Deviation,
    check_split_dir,
    summarize_split,
)
from vaar.curation.split.inputs import (
    ManifestClip,
    load_split_items,
    read_manifest_clips,
)

__all__ = [
    "ALGORITHM",
    "BALANCE_MIN_CLIPS",
    "CheckReport",
    "DEFAULT_RATIOS",
    "Deviation",
    "FOLDS_FILE",
    "FOLD_COLUMNS",
    "FOLD_POOL",
    "MANIFEST_COLUMNS_NEEDED",
    "ManifestClip",
    "PARAMS_FILE",
    "SPLITS",
    "SPLIT_COLUMNS",
    "SPLIT_FILES",
    "SUMS_FILE",
    "SplitDir",
    "SplitItem",
    "SplitParams",
    "SplitRow",
    "Violation",
    "assign_folds",
    "assign_splits",
    "check_split_dir",
    "compare_to_build",
    "development_pool",
    "group_clips",
    "load_split_dir",
    "load_split_items",
    "parse_ratios",
    "read_manifest_clips",
    "read_split_dir",
    "render_split_files",
    "sha256_hex",
    "split_digest",
    "summarize_split",
    "validate_ratios",
    "write_files",
    "write_split_dir",
]
