"""Seed ``xd-violence-list``: XD-Violence release names (Wu et al., ECCV 2020).

A release name is ``<source>__#<segment>_label_<codes>``. Videos taken from YouTube name their
source ``v=<11-char YouTube id>``; movies (``Bad.Boys.1995``) carry no fetchable id and are
skipped. ``<segment>`` is ``HH-MM-SS_HH-MM-SS`` (the part of the source XD-Violence cut) or a
running number such as ``1``; ``<codes>`` are joined by ``-`` (``0`` = none): A normal,
B1 fighting, B2 shooting, B4 riot, B5 abuse, B6 car accident, G explosion, mapped to classes by
``taxonomy.yaml`` (vocabulary ``xd-violence``; B4 riot is a stand-in for vandalism; B2 maps to no
class and is not proposed).

The input is a list of names, one a line, or a feature list as the release publishes it
(``list/audio.list``, ``list/rgb.list``, ``list/rgb_test.list``: one feature file path a line,
``…/NAME__vggish.npy`` or ``…/NAME__3.npy``, several crops a video): the directory and the
``__vggish.npy`` / ``__N.npy`` / ``.npy`` suffix are stripped and each name is kept once.

XD-Violence labels whole videos, not moments, and its segments run for minutes, so candidates
carry no span (``start``/``end`` empty, flag ``no_span``): a curator trims each in ``vaar review``
before it can be built. The segment is kept in ``notes``. Licence: the video's is unknown (its
uploader's); the annotations come from the Roc-Ng/XDVioDet release, which states no licence
(``annotation_license`` empty = unknown; research use as the authors ask).

On the release's 800 test names this gives 422 candidates (423 names carry a YouTube id; one
has only B2); on the 3,954 training names (``curation/sources/seeds/xd-violence/``) 2,134 (after
dedup) from the 2,136 with a YouTube id: normal 1,072, vandalism (B4) 366, crash 353, explosion 183, brawling
159, abuse 1. A VAAR clip cut from an XD-Violence *test* video overlaps the XD-Violence track's
test set: keep such clips out of any split used to train a model scored on that track (a recipe's
``xd_test_names`` flags them ``xd_violence_test``).
"""

from __future__ import annotations

import re
from collections import Counter

from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import Candidate
from vaar.curation.discover.fetch import read_text
from vaar.curation.discover.seeds import SeedOptions, SeedResult, register_seed

_NAME = re.compile(r"^(?P<src>.+?)__#(?P<seg>.+)_label_(?P<codes>[A-Z0-9-]+)$")
_YT = re.compile(r"^v=(?P<id>[A-Za-z0-9_-]{11})$")
_FEATURE = re.compile(r"(__vggish\.npy|__\d+\.npy|\.npy)$")
ANNOTATION_SOURCE = "XD-Violence (Roc-Ng/XDVioDet list)"


def release_name(line: str) -> str:
    """The release name of a name line or a feature-path line (directory and suffix stripped)."""
    name = line.strip().replace("\\", "/").rsplit("/", 1)[-1]
    return _FEATURE.sub("", name)


_SPAN = re.compile(r"^(\d\d)-(\d\d)-(\d\d)_(\d\d)-(\d\d)-(\d\d)$")


def _segment(seg: str) -> tuple[str, str]:
    """(span tag for the clip id, human note) of a segment field."""
    m = _SPAN.match(seg)
    if m:
        h1, m1, s1, h2, m2, s2 = (int(x) for x in m.groups())
        a, b = h1 * 3600 + m1 * 60 + s1, h2 * 3600 + m2 * 60 + s2
        return f"xd{a}", f"XD-Violence segment {a}-{b} s of the source"
    tag = re.sub(r"[^A-Za-z0-9]", "", seg)[:12] or "0"
    return f"xd{tag}", f"XD-Violence video #{seg}"


def parse(text: str, taxonomy: Taxonomy) -> SeedResult:
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    for line in text.splitlines():
        name = release_name(line)
        if not name or name in seen:
            continue  # a feature list has one line per crop (5 a video in rgb_test.list)
        seen.add(name)
        m = _NAME.match(name)
        if not m:
            skipped["not an XD-Violence name"] += 1
            continue
        yt = _YT.match(m["src"])
        if not yt:
            skipped["no YouTube id (a film or other source)"] += 1
            continue
        codes = [c for c in m["codes"].split("-") if c and c != "0"]
        hits = taxonomy.classes_of("xd-violence", codes)
        if not hits:
            skipped[f"codes {'-'.join(codes)[:40]} map to no class"] += 1
            continue
        tag, note = _segment(m["seg"])
        for slug, _, stand_in in hits:
            out.append(
                Candidate(
                    video_id=yt["id"], start=None, end=None, label=slug, seed="xd-violence-list",
                    seed_labels=(m["codes"],), seed_flags=("no_span", *(("stand_in",) if stand_in else ())),
                    annotation_source=ANNOTATION_SOURCE, notes=f"{note}; {name}", span_tag=tag,
                )
            )  # fmt: skip
    return out, skipped


@register_seed("xd-violence-list", needs_source=True, help="XD-Violence release names, one a line")
def xd_violence_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    assert options.source is not None
    return parse(read_text(options.source, what="XD-Violence name list", network=options.network, sha256=options.sha256), taxonomy)
