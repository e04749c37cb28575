"""A clip's *video* licence: where it comes from, and which licence family it belongs to.

Two licences meet in a clip and must not be confused. The *annotations* (a label from AudioSet,
VGGSound, Kinetics: CC BY 4.0) are licensed by whoever made the list; the *video* belongs to its
uploader, most often under YouTube's standard licence, which allows no redistribution. A published
clip states only the video's licence that someone gave:

* ``reviewed``: a reviewer checked it on the video's page (``license_reviewed = yes`` in a
  reviewed source list), and that wins;
* ``extractor``: the video's page states it (yt-dlp's ``license`` field, e.g. YouTube's
  "Creative Commons Attribution license (reuse allowed)");
* ``unknown``: nobody stated one. The clip's ``license`` is empty; it is never filled from the
  source list's unreviewed value or from the annotations' licence.

:func:`licence_family` maps a stated licence to a short id (``cc-by``, ``cc-by-sa``, ``cc0``,
``cc-by-nc``, ..., ``other``, ``unknown``) for ``vaar publish --licenses`` and the card's counts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vaar.core.errors import ConfigError

#: the ids ``vaar publish --licenses`` accepts
FAMILIES = ("cc0", "cc-by", "cc-by-sa", "cc-by-nd", "cc-by-nc", "cc-by-nc-sa", "cc-by-nc-nd", "other", "unknown")
MAX_LICENSE_CHARS = 200


def video_license(reviewed: bool, row_license: str | None, info: Mapping[str, Any]) -> dict[str, Any]:
    """``license`` and ``license_source`` of a clip: the reviewed licence of its source row, else
    the one the extractor's metadata states, else unknown (``license`` None)."""
    if reviewed and row_license:
        return {"license": row_license, "license_source": "reviewed"}
    stated = clean_licence(info.get("license"))
    return {"license": stated or None, "license_source": "extractor" if stated else "unknown"}


def refreshed_provenance(built: Mapping[str, Any], reviewed: bool, row_license: str | None,
                         annotation: tuple[str | None, str | None]) -> dict[str, Any]:
    """The licence and annotation fields of a clip kept from an earlier build, as its source row
    says now: a reviewed licence wins; else the page's licence recorded then (``extractor``);
    else unknown — a licence recorded by an older vaar without its source is not trusted."""
    if reviewed and row_license:
        lic: dict[str, Any] = {"license": row_license, "license_source": "reviewed"}
    elif built.get("license_source") == "extractor" and built.get("license"):
        lic = {"license": built["license"], "license_source": "extractor"}
    else:
        lic = {"license": None, "license_source": "unknown"}
    return {**lic, "annotation_source": annotation[0], "annotation_license": annotation[1]}



def clean_licence(value: object) -> str:
    """A page's licence text as one printable line (no control characters), at most 200 chars."""
    text = " ".join(str(value or "").split())
    return "".join(ch for ch in text if ch.isprintable())[:MAX_LICENSE_CHARS]


_CC = re.compile(r"(?:creative\s*commons|\bcc)[\s_-]*(?:licen[sc]es?/)?(?P<parts>(?:[\s_-]*(?:by|sa|nc|nd)\b)+)", re.I)


def licence_family(value: str | None) -> str:
    """The family id of a stated licence (:data:`FAMILIES`); empty or None is ``unknown``."""
    text = " ".join(str(value or "").split()).lower()
    if not text:
        return "unknown"
    if "cc0" in text or "publicdomain/zero" in text or "public domain" in text:
        return "cc0"
    if "creativecommons.org/licenses/" in text:
        parts = text.split("creativecommons.org/licenses/", 1)[1].split("/", 1)[0].split("-")
        return _family(parts)
    if "creative commons attribution" in text:  # YouTube's wording: "Creative Commons Attribution license"
        words = text.replace("-", " ")
        parts = ["by"]
        parts += ["nc"] if "noncommercial" in words.replace(" ", "") else []
        parts += ["nd"] if "noderiv" in words.replace(" ", "") else []
        parts += ["sa"] if "sharealike" in words.replace(" ", "") else []
        return _family(parts)
    m = _CC.search(text)
    if m:
        return _family(re.findall(r"by|sa|nc|nd", m["parts"]))
    return "other"


def _family(parts: Iterable[str]) -> str:
    got = set(parts)
    if "by" not in got:
        return "other"
    order = [p for p in ("nc", "sa", "nd") if p in got]
    if "sa" in order and "nd" in order:
        return "other"
    return "-".join(["cc", "by", *order])


def parse_families(text: str) -> frozenset[str]:
    """``--licenses cc-by,cc-by-sa,cc0`` as a set; an unknown id is one line listing the valid ones."""
    wanted = {x.strip().lower() for x in text.split(",") if x.strip()}
    bad = sorted(wanted - set(FAMILIES))
    if not wanted or bad:
        raise ConfigError(f"--licenses {text!r}: unknown licence id(s) {', '.join(bad) or '(none given)'}; "
                          f"use a comma-separated list of {', '.join(FAMILIES)}")  # fmt: skip
    return frozenset(wanted)


def video_licence_counts(rows: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Clips per video licence family (``unknown`` where none was stated)."""
    return Counter(licence_family(r.get("license")) for r in rows)


def annotation_licence_counts(rows: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Clips per annotation licence as the source lists state it (``unknown`` when empty)."""
    return Counter(" ".join(str(r.get("annotation_license") or "unknown").split())[:100] for r in rows)


def describe(counts: Counter[str]) -> str:
    """``unknown 12, cc-by 3`` (most common first, then by name)."""
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


UNKNOWN_NOTE = (
    "`unknown`: neither the video's page nor a reviewer stated a licence. Treat such a video as its "
    "uploader's, all rights reserved (on YouTube, the standard licence): the clip is here for research "
    "under the terms that apply to you, and is not redistributable by default. The annotations' licence "
    "(where a label came from) is not the video's."
)


@dataclass(frozen=True)
class LicenceFacts:
    """The published clips' licences, for the card: video families, how each was learned, the
    annotations' licences, and the ``--licenses`` filter if one was applied."""

    video: tuple[tuple[str, int], ...]
    learned: tuple[tuple[str, int], ...]  # reviewed | extractor | unknown
    annotation: tuple[tuple[str, int], ...]
    only: tuple[str, ...] | None = None


def licence_facts(rows: Iterable[Mapping[str, Any]], only: frozenset[str] | None = None) -> LicenceFacts:
    """:class:`LicenceFacts` of the published (status ``ok``) rows among ``rows``."""
    ok = [r for r in rows if r.get("status") == "ok"]
    learned = Counter(str(r.get("license_source") or ("unknown" if not r.get("license") else "source list"))
                      for r in ok)  # fmt: skip

    def items(c: Counter[str]) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    return LicenceFacts(items(video_licence_counts(ok)), items(learned), items(annotation_licence_counts(ok)),
                        tuple(sorted(only)) if only is not None else None)  # fmt: skip


def licence_section(facts: LicenceFacts, escape: Callable[[str], str]) -> list[str]:
    """The card's "Licences" section (Markdown lines); ``escape`` makes a stated value safe."""
    total = sum(n for _, n in facts.video)
    lines = ["## Licences", "",
             "Each clip states its **video's** licence (column `license`), as a reviewer checked it on the "
             "video's page or as the page itself states it; never the licence of the annotations.", ""]  # fmt: skip
    if facts.only is not None:
        lines += [f"Only clips whose video licence is one of `{', '.join(facts.only)}` are published "
                  "(`vaar publish --licenses`).", ""]  # fmt: skip
    lines += ["| video licence | clips |", "|---|---:|"]
    lines += [f"| `{k}` | {n} |" for k, n in facts.video]  # a family id of FAMILIES: nothing to escape
    unknown = dict(facts.video).get("unknown", 0)
    lines += ["", "How each was learned: " + ", ".join(f"{escape(k)} {n}" for k, n in facts.learned) + "."]
    if unknown:
        lines += ["", f"**{unknown} of {total} clips have no known video licence.** {UNKNOWN_NOTE}"]
    lines += ["", "| annotation licence (where the labels came from) | clips |", "|---|---:|"]
    lines += [f"| {escape(k)} | {n} |" for k, n in facts.annotation]
    return [*lines, ""]
