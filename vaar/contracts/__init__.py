"""Data contracts between the stages, each defined once with its reader and validator.

* ``manifest.parquet`` — fields in :mod:`vaar.schema`, read by :func:`vaar.curation.manifest.read_manifest`
  (the one reader; ``vaar split`` and ``vaar publish`` both use it).
* split folders — file names and columns in :mod:`vaar.contracts.splits`.
* ``SHA256SUMS`` — :mod:`vaar.contracts.sums`: one parser, one rule (a listed file that is
  missing, or a missing ``SHA256SUMS``, is a violation everywhere).
* predictions — :mod:`vaar.contracts.predictions`; leaderboard entries — :mod:`vaar.contracts.entry`
  (each one JSON Schema, exported by ``vaar-bench schema`` to ``leaderboard/schema/``).
"""
