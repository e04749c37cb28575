"""One exception tree for the whole suite.

::

    VaarError                       anything vaar raises on purpose
    ├── InputError                  a user mistake; the CLI prints one line and exits 2
    │   ├── SourceListError         unreadable source list (missing file, encoding, header)
    │   ├── ConfigError             bad option, config file or argument value
    │   ├── ManifestError           manifest or split files that do not satisfy the contract
    │   └── SubmissionError         an untrusted predictions file that fails validation
    ├── MissingDependencyError      an optional extra or external tool is not installed
    └── StageError                  one clip failed in one pipeline stage; recorded as a
        │                           manifest row (status/error/stage), never a crashed run
        ├── DownloadError
        ├── MediaError              trim / normalise (ffmpeg)
        └── VerifyError             ffprobe facts, decodability, sync and quality checks

``StageError`` carries ``status`` (``failed`` or ``rejected``) so a stage decides whether a clip
is broken (``failed``: worth retrying) or unfit for the dataset (``rejected``: e.g. no audio).
"""

from __future__ import annotations

from typing import Literal


class VaarError(Exception):
    """Base of every error vaar raises on purpose."""


class InputError(VaarError):
    """A user mistake: the message is one line naming the file, the row and the fix."""

    exit_code = 2


class SourceListError(InputError):
    """The source list cannot be read at all (not: one bad row, which becomes ``invalid``)."""


class ConfigError(InputError):
    """An option, config file or argument value that cannot be used."""


class ManifestError(InputError):
    """A manifest or split folder that does not satisfy its data contract."""


class SubmissionError(InputError):
    """An untrusted predictions file that fails validation."""


class MissingDependencyError(VaarError):
    """An optional extra or an external tool is missing; the message says how to install it."""

    exit_code = 2


class StageError(VaarError):
    """One clip failed in one stage. Recorded in the ledger and manifest, never re-raised."""

    stage = "unknown"

    def __init__(self, reason: str, *, status: Literal["failed", "rejected"] = "failed") -> None:
        from vaar.core.textsafe import strip_controls

        reason = strip_controls(reason)  # a server's or a file's text: no terminal escapes in any record
        super().__init__(reason)
        self.reason = reason
        self.status = status


class DownloadError(StageError):
    stage = "download"


class MediaError(StageError):
    stage = "trim"


class VerifyError(StageError):
    stage = "verify"
