"""What makes a published dataset citable: licence, citation, version, homepage.

The version is what a leaderboard entry records (``dataset.version``): the card carries it as
``dataset_version`` in its YAML header, ``croissant.json`` as ``version``. Give one with
``--dataset-version 1.0.0`` (semantic versioning, as Croissant asks); without it the version is
``0.0.0+split.<12 hex>`` from the sha256 of the split's ``SHA256SUMS``, so two folders with the
same split files share a version and a re-split gets a new one.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaar.core.errors import ConfigError

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
# Hugging Face licence ids (the card's ``license:``) and the URL Croissant wants for them
LICENSE_URLS = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc-by-nc-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "cc-by-nc-sa-4.0": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "mit": "https://opensource.org/license/mit",
}
_LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,63}$")
MAX_CITATION = 20_000


@dataclass(frozen=True)
class ReleaseInfo:
    license: str = "other"
    citation: str | None = None  # BibTeX (or any text), shown in the card and as citeAs
    version: str | None = None  # None: derived from the split (see the module docstring)
    homepage: str | None = None

    def license_url(self) -> str | None:
        return LICENSE_URLS.get(self.license)


def check_license(value: str) -> str:
    lic = value.strip().lower()
    if not _LICENSE_ID.match(lic):
        raise ConfigError(f"--license {value!r}: give a licence id such as cc-by-4.0, cc0-1.0 or other")
    return lic


def check_version(value: str) -> str:
    if not SEMVER.match(value):
        raise ConfigError(f"--dataset-version {value!r}: use MAJOR.MINOR.PATCH, e.g. 1.0.0")
    return value


def check_homepage(value: str) -> str:
    if not re.match(r"^https?://[^\s<>\"']+$", value):
        raise ConfigError(f"--homepage {value!r}: give an http(s) URL")
    return value


def read_citation(value: str) -> str:
    """``--citation``: a file (e.g. ``CITATION.bib``) or the text itself."""
    path = Path(value)
    text = value
    if len(value) < 4096 and "\n" not in value and path.suffix in (".bib", ".txt", ".cff") and path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise ConfigError(f"--citation {path}: cannot read it as UTF-8 text") from None
    text = text.strip()
    if not text or len(text) > MAX_CITATION:
        raise ConfigError(f"--citation: give BibTeX text or a .bib file of at most {MAX_CITATION} characters")
    return text


def resolve_version(info: ReleaseInfo, split_sums_digest: str) -> str:
    return info.version or f"0.0.0+split.{split_sums_digest[:12]}"


def add_release_arguments(p: argparse.ArgumentParser) -> None:
    """The card's citable facts, on ``vaar build`` and ``vaar publish`` alike."""
    p.add_argument("--license", default="other", help="licence id of the published dataset card, e.g. cc-by-4.0")
    p.add_argument("--citation", help="BibTeX (text or a .bib file) for the card, croissant.json and DATASHEET.md")
    p.add_argument("--dataset-version", help="dataset version, MAJOR.MINOR.PATCH (default: from the split's sha256)")
    p.add_argument("--homepage", help="project URL shown in the card and croissant.json")


def release_options(args: argparse.Namespace) -> dict[str, Any]:
    """``PublishConfig`` keyword arguments from the flags of :func:`add_release_arguments`, checked."""
    return {
        "license": check_license(args.license),
        "citation": read_citation(args.citation) if args.citation is not None else None,
        "version": check_version(args.dataset_version) if args.dataset_version else None,
        "homepage": check_homepage(args.homepage) if args.homepage else None,
    }
