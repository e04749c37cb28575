"""``HOSTDIR/host.json`` and ``vaar-bench host init``: the host's configuration and its private files.

The hidden test labels are split into a **public part** (scores released before the freeze,
through the Ladder) and a **private part** (ranked at the freeze) by an HMAC of each clip id
under the host secret: a clip is public when ``HMAC-SHA256(secret, "vaar-host-part" NUL id)``,
read as a number in [0, 1), is below ``public_fraction``. Without the secret nobody can tell
which clips are which, and the partition is never written anywhere: the worker recomputes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vaar.bench.host.ladder import Release
from vaar.bench.host.store import DB_NAME, audit, init_db, opened, transaction
from vaar.core._util.atomic import atomic_write_bytes, atomic_write_text
from vaar.core.contracts.predictions import DEFAULT_MAX_BYTES
from vaar.core.errors import ConfigError

CONFIG = "host.json"
HOST_TASKS = ("vaar-cls", "vaar-binary")


@dataclass(frozen=True)
class HostConfig:
    dataset: str | None  # the published dataset folder (media for --model submissions)
    public_fraction: float = 0.3
    daily_quota: int = 5
    total_quota: int = 100
    release: Release = "ladder"
    max_mb: float = DEFAULT_MAX_BYTES / (1024 * 1024)  # the local scorer's cap (vaar-bench score --max-mb)
    resamples: int = 1000
    lease_s: float = 60.0
    #: accept ``--model`` submissions (a Python module run in vaar.bench.sandbox over the dataset's
    #: media). Off by default: turn it on only where the sandbox runs models as a separate user that
    #: cannot read HOSTDIR (docs/benchmark/host.md, "Model submissions").
    models: bool = False
    model_timeout_s: float = 3600.0
    model_memory_mb: int = 8192


@dataclass(frozen=True)
class HostPaths:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_NAME

    @property
    def labels(self) -> Path:
        return self.root / "private" / "labels.csv"

    @property
    def secret(self) -> Path:
        return self.root / "private" / "secret"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def leaderboard(self) -> Path:
        return self.root / "leaderboard"


def load_config(root: Path) -> tuple[HostPaths, HostConfig]:
    path = Path(root) / CONFIG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cfg = HostConfig(**data)
    except FileNotFoundError:
        raise ConfigError(f"{root}: not a host folder (no {CONFIG}); run `vaar-bench host init {root} ...` "
                          "first") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: unreadable host configuration ({type(exc).__name__}); "
                          "re-create it with `vaar-bench host init`") from None
    return HostPaths(Path(root)), cfg


def in_public_part(secret: bytes, clip_id: str, fraction: float) -> bool:
    mac = hmac.new(secret, b"vaar-host-part\0" + clip_id.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(mac[:8], "big") / 2.0**64 < fraction


def part_identity(secret: bytes, part: str, labels_sha256: str) -> str:
    """The split identity of one part of the hidden test set (an HMAC: it confirms no labelling)."""
    mac = hmac.new(secret, f"vaar-host-split\0{part}\0{labels_sha256}".encode("ascii"), hashlib.sha256)
    return "hmac-sha256:" + mac.hexdigest()


def _check(cfg: HostConfig) -> None:
    if not 0.05 <= cfg.public_fraction <= 0.95:
        raise ConfigError("--public-fraction must be in [0.05, 0.95] (both parts need clips)")
    if not 1 <= cfg.daily_quota <= 10_000 or not 1 <= cfg.total_quota <= 1_000_000:
        raise ConfigError("--daily-quota must be in [1, 10000] and --total-quota in [1, 1000000]")
    if cfg.release not in ("ladder", "exact"):
        raise ConfigError("release must be 'ladder' or 'exact'")
    if cfg.models and cfg.dataset is None:
        raise ConfigError("--allow-models needs --dataset DIR with the test split's media")
    if not 0 < cfg.model_timeout_s <= 7 * 86400 or not 64 <= cfg.model_memory_mb <= 1 << 22:
        raise ConfigError("model_timeout_s must be in (0, 604800] and model_memory_mb in [64, 4194304]")
    if not 0 < cfg.max_mb <= 1000 or not 0 <= cfg.resamples <= 100_000 or not 5 <= cfg.lease_s <= 86400:
        raise ConfigError("max_mb must be in (0, 1000], resamples in [0, 100000], lease_s in [5, 86400]")


def init_host(root: Path, *, labels: Path, secret_file: Path, dataset: Path | None, cfg: HostConfig) -> dict[str, int]:
    """Create HOSTDIR: check the labels (with the secret), copy them into ``private/`` (0700),
    write ``host.json`` and the database. Returns the clip counts of the two parts."""
    from vaar.bench.truth import TruthSource, load_labels
    from vaar.core.contracts.private_split import load_secret

    _check(dataclasses.replace(cfg, dataset=None if dataset is None else str(dataset)))
    root = Path(root)
    if (root / CONFIG).exists() or (root / DB_NAME).exists():
        raise ConfigError(f"{root}: already a host folder; choose an empty folder")
    if dataset is not None and not (Path(dataset) / "splits").is_dir():
        raise ConfigError(f"--dataset {dataset}: not a published dataset folder (no splits/); "
                          "give the folder `vaar publish` wrote")
    secret = load_secret(secret_file)
    truth = load_labels(TruthSource(labels=labels, host_secret_file=secret_file))
    public = sum(in_public_part(secret, c, cfg.public_fraction) for c in truth.clip_ids)
    counts = {"clips": len(truth.clip_ids), "public": public, "private": len(truth.clip_ids) - public}
    if not public or public == len(truth.clip_ids):
        raise ConfigError(f"{labels}: {len(truth.clip_ids)} clips leave one part empty at --public-fraction "
                          f"{cfg.public_fraction}; the hidden test set needs more clips")
    root.mkdir(parents=True, exist_ok=True)
    paths = HostPaths(root)
    paths.labels.parent.mkdir(mode=0o700, exist_ok=True)
    os.chmod(paths.labels.parent, 0o700)
    for folder in (paths.uploads, paths.logs, paths.leaderboard):
        folder.mkdir(exist_ok=True)
    atomic_write_bytes(paths.secret, secret + b"\n")
    shutil.copyfile(labels, paths.labels.with_suffix(".tmp"))
    os.replace(paths.labels.with_suffix(".tmp"), paths.labels)
    for p in (paths.secret, paths.labels):
        os.chmod(p, 0o600)
    init_db(paths.db)
    data: dict[str, Any] = asdict(cfg)
    data["dataset"] = None if dataset is None else str(Path(dataset).resolve())
    with opened(paths.db) as conn, transaction(conn):
        audit(conn, "init", detail=json.dumps({k: v for k, v in data.items() if k != "dataset"}, sort_keys=True))
    atomic_write_text(root / CONFIG, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return counts
