"""Private test labels: what a submitter holding the public dataset folder must not learn.

With ``--private-test-labels FILE`` the test split is published without labels, and nothing in
the folder may give them back:

* **clip ids** of test clips are opaque: ``t`` + the first 20 hex digits of
  ``HMAC-SHA256(secret, "vaar-clip-id" NUL clip_id)`` — not derived from the label or the source,
  and not recomputable without the host secret. Test rows are sorted by that id, so their order
  says nothing either. ``FILE`` (host only) maps opaque id → label.
* **provenance** of test clips (url, start, end) is blanked; ``source_id`` and ``dup_group`` are
  opaque the same way (clips of one source still share one, so groups stay checkable).
* **the card** shows no per-class test counts.
* **the split identity** of the private test split is ``HMAC-SHA256(secret, "vaar-split" NUL
  <bytes of FILE>)``: a plain sha256 of the labels file could be brute-forced from the public ids
  (ten classes per clip) and would confirm a guessed labelling.

The secret comes from ``--host-secret-file`` or the ``VAAR_HOST_SECRET`` environment variable;
publishing private labels without one is refused. Keep it with the private labels file: the same
secret gives the same opaque ids on a republish.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from vaar.core.errors import ConfigError

SECRET_ENV = "VAAR_HOST_SECRET"
MIN_SECRET_BYTES = 16


def load_secret(path: Path | None) -> bytes:
    """The host secret from ``path`` (stripped of surrounding whitespace) or ``$VAAR_HOST_SECRET``."""
    if path is not None:
        try:
            secret = Path(path).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"--host-secret-file {path}: cannot read it ({exc.strerror or exc})") from None
        where = f"--host-secret-file {path}"
    else:
        secret = os.environ.get(SECRET_ENV, "").strip().encode("utf-8")
        where = f"${SECRET_ENV}"
        if not secret:
            raise ConfigError("--private-test-labels needs a host secret: pass --host-secret-file FILE "
                              f"or set {SECRET_ENV} (e.g. `head -c 32 /dev/urandom | base64 > host/secret`)")
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"{where}: the host secret has {len(secret)} bytes, need at least "
                          f"{MIN_SECRET_BYTES} (e.g. `head -c 32 /dev/urandom | base64`)")
    return secret


def _mac(secret: bytes, domain: str, data: bytes) -> str:
    return hmac.new(secret, domain.encode("ascii") + b"\0" + data, hashlib.sha256).hexdigest()


def opaque_id(secret: bytes, clip_id: str) -> str:
    """The published id of a private test clip."""
    return "t" + _mac(secret, "vaar-clip-id", clip_id.encode("utf-8"))[:20]


def opaque_group(secret: bytes, value: str | None) -> str | None:
    """``source_id`` / ``dup_group`` of a private test clip (None stays None)."""
    return None if not value else "g" + _mac(secret, "vaar-group", value.encode("utf-8"))[:20]


def file_identity(secret: bytes, data: bytes) -> str:
    """``hmac-sha256:<hex>`` of a file scored on a private split (e.g. a predictions file): a plain
    sha256 of a perfect ``clip_id,label`` file would be the sha256 of the true labelling."""
    return "hmac-sha256:" + _mac(secret, "vaar-file", data)


def split_identity(secret: bytes, labels_file: bytes) -> str:
    """``hmac-sha256:<hex>`` naming the private test split (its labels file) for the host."""
    return "hmac-sha256:" + _mac(secret, "vaar-split", labels_file)
