"""``vaar-bench worker HOSTDIR``: claim queued submissions, score them, release through the Ladder.

One worker scores one job at a time; run several processes for more throughput (they share the
queue through the database). A job is held under a lease of ``lease_s`` seconds, renewed every
``lease_s / 3`` by a heartbeat thread; a worker that dies stops renewing, and the next claim after
the lease runs out puts the job back in the queue. A worker that lost its lease (it stalled past
it) cannot record its result: :func:`vaar.bench.host.ladder.record` checks the owner inside the
transaction, so every job is scored once.

The submitter's log (``logs/<id>.log``, written atomically before the row commits) carries only
what the submitter may see: when it ran, the validation message, the released outcome. A crash
inside the scorer is "internal error" there, and its traceback goes to the worker's stderr (the
host's terminal), not to the submitter.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vaar.bench.host import store
from vaar.bench.host.config import HostConfig, HostPaths, load_config
from vaar.bench.host.ladder import record
from vaar.bench.host.scoring import host_truth, score_upload
from vaar.core._util.atomic import atomic_write_text
from vaar.core.errors import InputError


@dataclass
class WorkerSummary:
    scored: int = 0
    failed: int = 0
    lost: int = 0  # results discarded because the lease had been taken over
    ids: list[int] = field(default_factory=list)


class _Heartbeat(threading.Thread):
    def __init__(self, db: Path, job_id: int, owner: str, lease_s: float) -> None:
        super().__init__(daemon=True)
        self.db, self.job_id, self.owner, self.lease_s = db, job_id, owner, lease_s
        self.stop = threading.Event()

    def run(self) -> None:
        with store.opened(self.db) as conn:
            while not self.stop.wait(self.lease_s / 3):
                if not store.heartbeat(conn, self.job_id, self.owner, self.lease_s):
                    return


def _log(path: Path, lines: list[str]) -> None:
    atomic_write_text(path, "".join(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {ln}\n" for ln in lines))


def score_job(root: Path, job: store.Job, owner: str, conn: store.sqlite3.Connection) -> str:
    """Score one claimed job; returns 'scored', 'failed' or 'lost'."""
    paths, cfg = load_config(root)
    log = [f"claimed by worker {owner} (attempt {job.attempts})"]
    log_path = paths.logs / f"{job.id}.log"
    beat = _Heartbeat(paths.db, job.id, owner, cfg.lease_s)
    beat.start()
    t0 = time.monotonic()
    try:
        truth = host_truth(paths, cfg)
        upload = paths.uploads / job.file
        name = f"submission {job.id}"
        cost: dict[str, object] = {}
        if job.kind == "model":
            upload, cost = run_model_job(paths, cfg, job, truth.full.clip_ids)
            log.append(f"model ran in the sandbox: parameters {cost['parameters']}, "
                       f"latency {cost['latency_ms_per_clip']} ms/clip")
        result = score_upload(job.task, upload, truth, cfg, name)
        if cost:
            result.provenance["cost"] = cost
        from vaar.core.contracts.private_split import file_identity

        result.provenance["predictions_hmac_sha256"] = file_identity(truth.secret, upload.read_bytes())
        result.provenance["split_identity"] = truth.full.sha256  # the card's identity of the hidden test set
        result.provenance["scored"] = time.time()
        log.append(f"validated and scored {len(truth.full.clip_ids)} rows in {time.monotonic() - t0:.2f} s")
        _log(log_path, log)
        outcome = "scored" if record(conn, job.id, owner, result, cfg.release, _main(job.task)) else "lost"
    except InputError as exc:  # the file no longer passes (e.g. the task changed); free of quota
        log.append(f"failed: {exc}")
        _log(log_path, log)
        outcome = "failed" if store.fail(conn, job.id, owner, str(exc)) else "lost"
    except Exception:  # a bug in the scorer: the submitter sees "internal error", the host the traceback
        traceback.print_exc()
        log.append("failed: internal error in the scorer; the host has been told (not counted against the quota)")
        _log(log_path, log)
        outcome = "failed" if store.fail(conn, job.id, owner, "internal error in the scorer; not counted "
                                         "against the quota") else "lost"
    finally:
        beat.stop.set()
    return outcome


def run_model_job(paths: HostPaths, cfg: HostConfig, job: store.Job,
                  clip_ids: Sequence[str]) -> tuple[Path, dict[str, object]]:
    """Run a model submission in :mod:`vaar.bench.sandbox` over the dataset's test media.

    The sandbox gets the module (copied to a fresh folder put on the model process's path), the
    dataset folder, the split name and the clip ids: never the labels, their path or the secret.
    Its predictions are written beside the upload (atomically) and scored as an uploaded file.
    """
    import shutil
    import sys
    import tempfile

    from vaar.bench.sandbox import Limits, run_model

    if not cfg.models or cfg.dataset is None:
        raise InputError("this host does not accept model submissions (any more); submit a predictions file")
    factory = str(json.loads(_provenance(paths, job.id)).get("factory", "factory"))
    with tempfile.TemporaryDirectory(prefix="vaar-host-model-") as tmp:
        os.chmod(tmp, 0o755)
        module = Path(tmp) / job.file
        shutil.copyfile(paths.uploads / job.file, module)
        os.chmod(module, 0o644)
        sys.path.insert(0, tmp)  # read once by the sandbox when it starts the model's process
        try:
            text, m = run_model(f"{module.stem}:{factory}", Path(cfg.dataset), "test", clip_ids,
                                limits=Limits(cfg.model_timeout_s, cfg.model_memory_mb))
        finally:
            sys.path.remove(tmp)
    out = paths.uploads / f"{module.stem}.predictions.csv"
    atomic_write_text(out, text)
    return out, {"parameters": m.parameters, "latency_ms_per_clip": m.latency_ms_per_clip,
                 "latency_clips": m.latency_clips, "threads": m.threads, "device": "cpu"}


def _provenance(paths: HostPaths, job_id: int) -> str:
    with store.opened(paths.db) as conn:
        row = conn.execute("SELECT provenance FROM submissions WHERE id = ?", (job_id,)).fetchone()
    return str(row[0])


def _main(task: str) -> str:
    from vaar.bench.tasks import get_task

    return get_task(task).main_score


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{hashlib.sha256(os.urandom(8)).hexdigest()[:6]}"


def run_worker(root: Path, *, once: bool = False, poll_s: float = 1.0,
               on_job: Callable[[int, str], None] | None = None, stop: threading.Event | None = None) -> WorkerSummary:
    """Score queued jobs until stopped (``once``: until the queue is empty)."""
    paths, cfg = load_config(root)
    owner = worker_id()
    summary = WorkerSummary()
    with store.opened(paths.db) as conn:
        while stop is None or not stop.is_set():
            job = store.claim(conn, owner, cfg.lease_s)
            if job is None:
                if once:
                    break
                time.sleep(poll_s)
                continue
            try:
                outcome = score_job(root, job, owner, conn)
            except KeyboardInterrupt:  # stopped mid-job: the job goes back to the queue at once
                store.release(conn, job.id, owner)
                raise
            summary.ids.append(job.id)
            if outcome == "scored":
                summary.scored += 1
            elif outcome == "failed":
                summary.failed += 1
            else:
                summary.lost += 1
            if on_job:
                on_job(job.id, outcome)
    return summary
