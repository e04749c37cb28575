"""A bounded, pure-Python reader of the stream facts of an MP4 (ISO base media file format).

::

    facts.py   read_mp4_facts(path) → Mp4Facts | None: what ffprobe -count_packets reports
    ├── box.py     find moov, walk boxes (sizes checked against their parent, caps)
    ├── table.py   the sample table: counts, timing, every sample inside the file
    ├── entry.py   the sample entry: codec, picture size, AAC configuration
    │   └── avc.py     the H.264 picture size from the sequence parameter set
    (edit lists and start times live in facts.py)

Used by :mod:`vaar.curation.build.verify` to check the clips vaar's ffmpeg writes without starting
ffprobe; anything the reader is not sure of is ``None``, and verify asks ffprobe.
"""

from __future__ import annotations

from vaar.curation.mp4.facts import Mp4Facts, TrackFacts, read_mp4_facts

__all__ = ["Mp4Facts", "TrackFacts", "read_mp4_facts"]
