"""Data contracts between the stages, each defined once with its reader and validator.

* ``manifest.parquet`` — the fields in :mod:`vaar.core.contracts.manifest_schema` (:data:`~vaar.core.contracts.manifest_schema.MANIFEST_FIELDS`,
  :func:`~vaar.core.contracts.manifest_schema.validate_manifest`); the one reader is
  :func:`vaar.core.contracts.manifest_file.read_manifest` (``vaar split`` and ``vaar publish`` both use it).
* split folders (``train/validation/test.csv``, ``split.json``, ``folds.csv``) — names and columns
  in :mod:`vaar.core.contracts.split_params`, the one reader and validator
  :func:`vaar.curation.split.load_split_dir` (``vaar split --check``, ``vaar publish --splits``).
* ``SHA256SUMS`` — :mod:`vaar.core.contracts.sums`: one parser, one rule everywhere (a missing
  ``SHA256SUMS`` or a listed file that is missing is a violation).
* predictions — :mod:`vaar.core.contracts.predictions`; leaderboard entries — :mod:`vaar.core.contracts.entry`
  (each one JSON Schema, exported by ``vaar-bench schema`` to ``leaderboard/schema/``).
"""
