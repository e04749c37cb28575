"""Data contracts between the stages, each defined once with its reader and validator.

* ``manifest.parquet`` — the fields in :mod:`vaar.schema` (:data:`~vaar.schema.MANIFEST_FIELDS`,
  :func:`~vaar.schema.validate_manifest`); the one reader is
  :func:`vaar.curation.manifest.read_manifest` (``vaar split`` and ``vaar publish`` both use it).
* split folders (``train/validation/test.csv``, ``split.json``, ``folds.csv``) — names and columns
  in :mod:`vaar.curation.split.params`, the one reader and validator
  :func:`vaar.curation.split.load_split_dir` (``vaar split --check``, ``vaar publish --splits``).
* ``SHA256SUMS`` — :mod:`vaar.contracts.sums`: one parser, one rule everywhere (a missing
  ``SHA256SUMS`` or a listed file that is missing is a violation).
"""
