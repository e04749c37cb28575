"""How the synthetic sample (``vaar build --sample``) says what it is, for every floor that must tell.

The sample's card, datasheet and leaderboard entries carry :data:`SAMPLE_MARK` as build metadata
of the dataset version (``0.1.0+synthetic-sample``): curation writes it, the card and datasheet say
"synthetic sample", and the leaderboard puts such entries in their own table (never an official
test set).
"""

from __future__ import annotations

#: how the sample says what it is: its published name, and the build metadata of its version
#: (``0.1.0+synthetic-sample``), which leaderboard entries carry (``vaar.bench.provenance``)
SAMPLE_NAME = "VAAR synthetic sample"
SAMPLE_MARK = "synthetic-sample"


def sample_version(given: str | None) -> str:
    """The sample's dataset version: ``given`` (default 0.1.0) with :data:`SAMPLE_MARK` as build metadata."""
    base = given or "0.1.0"
    return f"{base}{'.' if '+' in base else '+'}{SAMPLE_MARK}"


def is_sample_version(version: str | None) -> bool:
    return SAMPLE_MARK in str(version or "")
