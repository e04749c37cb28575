"""Accept one upload: stream it to disk under the size cap, validate it, then queue it (or refuse).

Order, so that a crash at any point loses nothing and counts nothing twice:

1. the request body is read through :class:`CappedReceive` (past the cap: HTTP 413, nothing kept);
   the multipart parser spools the file part to a temporary file (at most 1 MB in memory);
2. the part is copied to ``uploads/.<name>.tmp<pid>``, fsynced, and validated with the local
   contract (a malformed file: HTTP 422 with the one-line reason and up to five bad rows; the
   temporary file is removed and no row is written, so it costs no quota);
3. the file is renamed to ``uploads/<random>.<ext>`` (atomic) and *then* the row is inserted,
   quota check and insert in one transaction (over quota: HTTP 429, the file is removed).

A crash between 3's rename and commit leaves an unreferenced file, never a row without its file.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaar import __version__
from vaar.bench.host import store
from vaar.bench.host.config import HOST_TASKS, HostConfig, HostPaths
from vaar.bench.host.scoring import host_truth, validate_upload
from vaar.core._util.atomic import atomic_path
from vaar.core.errors import ConfigError, SubmissionError

MAX_META_BYTES = 16 * 1024
SUFFIXES = (".csv", ".parquet", ".jsonl", ".json")
CHUNK = 64 * 1024


class TooLarge(Exception):
    """The request body passed the cap."""


class CappedReceive:
    """An ASGI ``receive`` that counts body bytes and raises :class:`TooLarge` past ``cap``."""

    def __init__(self, receive: Any, cap: int) -> None:
        self.receive, self.cap, self.seen = receive, cap, 0

    async def __call__(self) -> Any:
        message = await self.receive()
        if message.get("type") == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.cap:
                raise TooLarge(f"the upload is over {self.cap // (1024 * 1024)} MB; "
                               "predictions files for this host are at most that size")
        return message


@dataclass(frozen=True)
class Upload:
    task: str
    filename: str  # as the submitter named it (shown back to them only)
    spooled: Any  # a binary file object positioned anywhere
    meta: bytes | None = None
    csrf: str = ""  # the page's form field (the API has none)
    kind: str = "predictions"  # or "model": a Python module with a factory (vaar.bench.sandbox)
    factory: str = "factory"


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for pkg in ("numpy", "pyarrow", "scipy", "starlette", "uvicorn"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


_STATIC: dict[str, Any] = {}


def software() -> dict[str, Any]:
    """What scored it: vaar version and commit, Python, the packages that matter (computed once)."""
    if not _STATIC:
        _STATIC.update(vaar_version=__version__, vaar_commit=_git_commit(), python=platform.python_version(),
                       packages=_versions())
    return dict(_STATIC)


def _meta(raw: bytes | None, team: str) -> dict[str, Any]:
    """``--meta`` YAML (url, code, paper, notes, modalities), checked as the local submit checks it."""
    if not raw:
        return {}
    if len(raw) > MAX_META_BYTES:
        raise SubmissionError(f"meta: over {MAX_META_BYTES // 1024} KB; keep it to a few fields")
    import tempfile

    from vaar.bench.make_entry import load_meta

    with tempfile.TemporaryDirectory(prefix="vaar-host-meta-") as tmp:
        p = Path(tmp) / "meta.yaml"
        p.write_bytes(raw)
        try:
            meta = load_meta(p, team)
        except ConfigError as exc:
            raise SubmissionError(str(exc).replace(str(p), "meta")) from None
    return {k: v for k, v in {"url": meta.url, "code": meta.code, "paper": meta.paper, "notes": meta.notes,
                              "modalities": list(meta.modalities)}.items() if v}


MAX_MODEL_BYTES = 1024 * 1024


def _check_model(path: Path, up: Upload, cfg: HostConfig) -> None:
    """A model upload: one UTF-8 Python module that compiles (it is never run here), a factory name."""
    import ast

    if not cfg.models:
        raise SubmissionError("this host does not accept model submissions; submit a predictions file "
                              "(vaar-bench submit --model ... --save-predictions preds.csv runs it locally)")
    if not up.factory.isidentifier() or len(up.factory) > 100:
        raise SubmissionError(f"factory {up.factory[:40]!r} is not a Python name; give e.g. --model model.py:factory")
    raw = path.read_bytes()
    if len(raw) > MAX_MODEL_BYTES:
        raise SubmissionError(f"{up.filename}: the model module is over 1 MB; load weights inside factory() "
                              "from a path the host provides instead of inlining them")
    try:
        tree = ast.parse(raw.decode("utf-8"), filename=up.filename)
    except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise SubmissionError(f"{up.filename}: not a UTF-8 Python module ({type(exc).__name__}"
                              f"{f' at line {line}' if line else ''}); upload the file that defines "
                              f"{up.factory}()") from None
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    if up.factory not in names:
        raise SubmissionError(f"{up.filename}: defines no {up.factory} at top level; the host calls {up.factory}()")


def accept(paths: HostPaths, cfg: HostConfig, conn: Any, team: store.Team, up: Upload) -> int:
    """Validate and queue ``up`` for ``team``; returns the submission id.

    Raises SubmissionError (422), store.QuotaExceeded (429) or store.Frozen (409).
    """
    from vaar.bench.tasks import get_task

    if up.task not in HOST_TASKS:
        raise SubmissionError(f"task {up.task[:40]!r} is not hosted here; use one of {', '.join(HOST_TASKS)}")
    if store.is_frozen(conn):
        raise store.Frozen("the host is frozen: the final leaderboard is out, submissions are closed")
    meta = _meta(up.meta, team.name)
    if up.kind not in ("predictions", "model"):
        raise SubmissionError(f"kind {up.kind[:20]!r}: use 'predictions' or 'model'")
    shown = "".join(c if c.isprintable() and c not in "\\/" else "_" for c in os.path.basename(up.filename or ""))
    shown = shown[:100] or "upload"  # shown back in one-line messages and the page
    suffix = Path(shown).suffix.lower()
    suffix = ".py" if up.kind == "model" else suffix if suffix in SUFFIXES else ""
    name = f"m{secrets.token_hex(12)}{suffix}"  # a module name too (model submissions are imported by it)
    target = paths.uploads / name
    with atomic_path(target, suffix=suffix) as tmp:
        with open(tmp, "wb") as out:
            up.spooled.seek(0)
            while chunk := up.spooled.read(CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if up.kind == "model":
            _check_model(tmp, dataclasses.replace(up, filename=shown), cfg)
        else:
            validate_upload(get_task(up.task), tmp, host_truth(paths, cfg), cfg, shown)
    provenance = {"filename": shown, "meta": meta, **software(),
                  **({"factory": up.factory} if up.kind == "model" else {})}
    try:
        return store.insert_submission(conn, team, up.task, up.kind, name, shown, provenance,
                                       store.Quota(cfg.daily_quota, cfg.total_quota))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
