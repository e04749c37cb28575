"""A host folder for tests: hidden labels with opaque ids, a secret, an empty published dataset."""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from vaar.bench.host.config import HostConfig, init_host
from vaar.core.taxonomy import default_taxonomy

SLUGS = default_taxonomy().slugs
REPO = Path(__file__).resolve().parents[3]


def opaque(i: int) -> str:
    return "t" + hashlib.sha256(f"clip{i}".encode()).hexdigest()[:20]


def write_labels(path: Path, n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    ids = sorted(opaque(i) for i in range(n))
    labels = [SLUGS[int(k)] for k in rng.integers(0, len(SLUGS), n)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["clip_id", "label", "dataset_version"])
        for c, lab in zip(ids, labels, strict=True):
            w.writerow([c, lab, "v1"])
    return ids, labels


def write_preds(path: Path, ids: Sequence[str], labels: Sequence[str], extra: Sequence[str] = ()) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write("clip_id,label\n")
        for c, lab in zip(ids, labels, strict=True):
            fh.write(f"{c},{lab}\n")
        for line in extra:
            fh.write(line + "\n")
    return path


def make_host(tmp: Path, n: int = 120, secret_text: str | None = None, **cfg: Any) -> dict[str, Any]:
    """``vaar-bench host init``'s library call on fresh labels; returns paths, ids, labels."""
    src = tmp / "src"
    src.mkdir(parents=True)
    ids, labels = write_labels(src / "private_test_labels.csv", n)
    secret = src / "secret"
    secret.write_text(secret_text or secrets.token_hex(24))
    dataset = src / "dataset"
    (dataset / "splits").mkdir(parents=True)
    root = tmp / "host"
    settings = {"resamples": 50, "lease_s": 5.0, **cfg}
    counts = init_host(root, labels=src / "private_test_labels.csv", secret_file=secret, dataset=dataset,
                       cfg=HostConfig(dataset=None, **settings))
    return {"root": root, "ids": ids, "labels": labels, "secret": secret, "src": src, "counts": counts,
            "labels_file": src / "private_test_labels.csv"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "vaar.bench.cli", *args]


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a real ``vaar-bench serve`` on 127.0.0.1 and wait until it answers: (process, URL)."""
    port = free_port()
    log = root / f"serve-{port}.log"  # a file, not a pipe: nobody drains a pipe while tests run
    with open(log, "wb") as out:
        proc = subprocess.Popen(cli("serve", str(root), "--port", str(port)), env=env(),
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/api/v1/leaderboard/vaar-cls", timeout=2).read()  # noqa: S310
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                text = log.read_text(errors="replace")
                raise RuntimeError(f"server did not start: {text[-2000:]}") from None
            time.sleep(0.2)


@contextmanager
def uvicorn_server(root: Path) -> Iterator[str]:
    """A real ``vaar-bench serve`` on 127.0.0.1, stopped at exit."""
    proc, url = start_server(root)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
