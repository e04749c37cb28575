"""``vaar discover``: candidate clips from public metadata, one module a seed.

::

    seed (vggsounder | vggsound-csv | audioset-csv | xd-violence-list | ytsearch)
      │ Candidate per (video, seed label) — labels mapped to classes by taxonomy.yaml `seeds`
      ▼
    dedup (one video id + overlapping spans → one candidate)
      ▼
    balance (per class up to N: fewest flags first, then a seeded hash — deterministic)
      ▼
    candidates.csv (source-list columns + seed, seed_label, seed_flags; sorted, byte-stable)

A candidate is not a source row yet: a curator reviews it (``vaar review``) before it enters a
reviewed list under ``curation/sources/``.
"""

from __future__ import annotations

from vaar.curation.discover.candidate import CANDIDATE_COLUMNS, Candidate, write_candidates
from vaar.curation.discover.seeds import SeedOptions, get_seed, seed_names
from vaar.curation.discover.select import DiscoverResult, discover

__all__ = [
    "CANDIDATE_COLUMNS",
    "Candidate",
    "DiscoverResult",
    "SeedOptions",
    "discover",
    "get_seed",
    "seed_names",
    "write_candidates",
]
