"""``vaar build``: source list → download → trim + normalise → verify → ledger → manifest → publish.

::

    read_sources ──► invalid rows ───────────────────────────────► ledger (status=invalid)
         │ valid rows, grouped by URL
         ▼
    download (threads, one fetch per URL) ──► failed ─────────────► ledger (status=failed)
         │ local file + offset per clip
         ▼
    trim + normalise + verify + content checks (process pool) ────► ledger (ok/failed/rejected)
         ▼
    near-duplicate groups ──► manifest.parquet ──► vaar.curation.publish.folder ──► dataset/ (HF folder)

The driver is the only writer of the ledger; workers return rows. Work in flight is bounded,
so memory does not grow with the source list. A rerun skips what the ledger has (``failed``
too, unless ``retry_failed``).
"""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vaar import __version__
from vaar.core._util.cpus import usable_cpus
from vaar.core._util.hashing import sha256_file
from vaar.core.contracts.manifest_file import write_manifest
from vaar.core.contracts.source_list import SourceRow, read_sources
from vaar.core.errors import ConfigError, ManifestError, StageError
from vaar.core.taxonomy import Taxonomy, default_taxonomy
from vaar.curation.build.backends import Backend, make_executor
from vaar.curation.build.clip_task import ClipTask as _Task
from vaar.curation.build.download import DownloadConfig, SourceMedia, fetch_source, ytdlp_version
from vaar.curation.build.exclude import (
    apply_exclusions,
    read_exclusions,
    record_removals,
    removal_records,
)
from vaar.curation.build.fingerprint import Fingerprint, group_duplicates
from vaar.curation.build.ledger import Ledger
from vaar.curation.build.ledger_rows import base_row, failed_row, invalid_row, provenance
from vaar.curation.build.media import MediaConfig, ffmpeg_version
from vaar.curation.build.owners import check_owners
from vaar.curation.build.polite import GATE
from vaar.curation.build.quality import QCConfig
from vaar.curation.build.reasons import reason_code
from vaar.curation.build.resume import clip_settings, refresh_provenance, rows_to_build
from vaar.curation.build.runstats import RunLog
from vaar.curation.build.runstats import clock as _clock
from vaar.curation.build.runstats import since as _since
from vaar.curation.build.stages import CLIP_STAGES, ClipWork
from vaar.curation.publish.folder import PublishConfig, PublishResult, publish


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build depends on; written next to the outputs as ``build_config.json``."""

    workers: int = 1
    download_workers: int = 4
    backend: Backend = "local"  # see vaar.curation.build.backends; "ray" needs a shared build folder
    ray_address: str | None = None
    retry_failed: bool = False
    keep_downloads: bool = False
    media: MediaConfig = field(default_factory=MediaConfig)
    download: DownloadConfig = field(default_factory=DownloadConfig)
    qc: QCConfig = field(default_factory=QCConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)
    do_publish: bool = True
    splits_dir: Path | None = None  # committed split files to publish with (else a new split)
    prune: bool = False  # drop ledger rows (and media) of clips not in these lists
    exclude: str | None = None  # takedown CSV (vaar.curation.build.exclude): rows it names are not built


@dataclass(frozen=True)
class ClipEvent:
    """One clip finished (any status); what progress displays receive."""

    clip_id: str
    label: str
    status: str
    error: str | None


@dataclass
class BuildReport:
    out: Path
    counts: Counter[str]
    by_class: dict[str, Counter[str]]
    reasons: Counter[str]
    processed: int
    skipped: int
    publish: PublishResult | None
    manifest: Path
    publish_error: str | None = None
    reason_examples: dict[str, str] = field(default_factory=dict)  # reason code -> one real error
    pruned: int = 0
    excluded: list[str] = field(default_factory=list)  # clip ids dropped by cfg.exclude
    run: RunLog = field(default_factory=RunLog)  # stage times, fetch methods and bytes, an early stop


# forkserver, not fork: the driver runs download threads, and forking a process while another
# thread holds a lock (logging, imports, yt-dlp) can leave the child deadlocked.
_POOL_CONTEXT = multiprocessing.get_context("forkserver")
# the forkserver imports the worker's code once; each worker forked from it starts with it loaded
# (without this, every worker imports it again: ~0.4 s of CPU each, measured by benchmarks/bench_build.py)
_POOL_CONTEXT.set_forkserver_preload(["__main__", __name__])


def ffmpeg_threads(workers: int) -> int:
    return max(1, usable_cpus() // max(1, workers))


def run_build(
    sources: Sequence[str | Path],
    out: Path,
    cfg: BuildConfig = BuildConfig(),
    *,
    taxonomy: Taxonomy | None = None,
    on_start: Callable[[int], None] | None = None,
    on_clip: Callable[[ClipEvent], None] | None = None,
) -> BuildReport:
    """Build ``out`` from the source lists; resumable; returns what happened."""
    if cfg.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {cfg.workers}")
    if cfg.media.precision == "accurate" and cfg.download.force_keyframes:  # the trim re-encodes: one encode
        cfg = replace(cfg, download=replace(cfg.download, force_keyframes=False))
    tax = taxonomy or default_taxonomy()
    valid, invalid = read_sources(sources, taxonomy=tax)
    excluded: list[str] = []
    takedown = read_exclusions(cfg.exclude) if cfg.exclude else None
    removals = removal_records(takedown, valid, invalid) if takedown else []
    if takedown:
        valid, invalid, excluded = apply_exclusions(takedown, valid, invalid)
    out.mkdir(parents=True, exist_ok=True)
    media_cfg = cfg.media if cfg.media.threads else replace(cfg.media, threads=ffmpeg_threads(cfg.workers))
    versions = {"vaar_version": __version__, "ytdlp_version": ytdlp_version(), "ffmpeg_version": ffmpeg_version()}
    ledger = Ledger(out / "ledger.sqlite")
    try:
        if takedown and excluded:  # a removal request: forget the clips' rows, delete their media, log it
            gone = _prune(ledger, set(ledger.statuses()) - set(excluded), out)
            record_removals(out / "removals.jsonl", takedown, removals, {str(r["clip_id"]) for r in gone})
        # the manifest, dataset and report cover these lists; other rows stay unless --prune
        current = {r.clip_id for r in valid} | {r.clip_id for r in invalid}
        pruned = len(_prune(ledger, current, out)) if cfg.prune else 0
        if not cfg.prune:  # one owner per clip id: never replace another list's clip silently
            check_owners(valid, ledger)
        for bad in invalid:
            ledger.put(invalid_row(bad, versions))
        settings, log = clip_settings(cfg.media, cfg.download.max_height, cfg.qc), RunLog(pauses_before=GATE.pauses)
        todo = rows_to_build(valid, ledger, out, cfg.retry_failed, settings, log.rebuilt)
        refresh_provenance(ledger, [r for r in valid if r.clip_id not in {t.clip_id for t in todo}])
        if on_start:
            on_start(len(todo))
        _process(todo, out, cfg, media_cfg, versions, ledger, on_clip, settings, log)
        clock = _clock()
        _remove_stale_temps(out)
        _assign_dup_groups(ledger)
        manifest = out / "manifest.parquet"
        write_manifest(ledger.rows(ids=current), manifest)
        report = _report(ledger, out, len(todo), len(valid) - len(todo), None, manifest, current)
        report.pruned = pruned
        report.excluded = excluded
        report.run = log.close(len(todo), GATE.pauses)
        log.stages.add("ledger", *_since(clock))
    finally:
        ledger.close()
    if cfg.do_publish and not log.stopped:  # the same function as `vaar publish`: it reads only the manifest and media
        clock = _clock()
        try:
            report.publish = publish(manifest, cfg.splits_dir, out / "dataset", cfg.publish, taxonomy=tax)
        except ManifestError as exc:  # e.g. no ok clip: keep the build, say why, exit non-zero
            report.publish_error = str(exc)
        log.stages.add("publish", *_since(clock))
    if not cfg.keep_downloads and not any(s == "failed" for s in report.counts):
        shutil.rmtree(out / "cache" / "sources", ignore_errors=True)
    return report


def _prune(ledger: Ledger, keep: set[str], out: Path) -> list[dict[str, Any]]:
    """Forget the ledger rows not in ``keep`` and delete their media (inside ``out`` only); the
    rows forgotten."""
    gone = ledger.prune(keep)
    root = out.resolve()
    for row in gone:
        for key in ("video_path", "audio_path"):
            rel = row.get(key)
            path = (root / str(rel)).resolve() if rel else None
            if path is not None and path.is_relative_to(root) and path.is_file():
                path.unlink()
    return gone




def _process(
    todo: list[SourceRow],
    out: Path,
    cfg: BuildConfig,
    media_cfg: MediaConfig,
    versions: dict[str, str],
    ledger: Ledger,
    on_clip: Callable[[ClipEvent], None] | None,
    settings: str = "",
    log: RunLog | None = None,
) -> None:
    """Download every source of ``todo`` and process its clips, recording each in the ledger."""
    if todo:
        driver = _Driver(todo, out.resolve(), cfg, media_cfg, versions, ledger, on_clip)
        driver.settings, driver.log = settings or None, log or RunLog()
        driver.run()


class _Driver:
    """The build's driver loop: a bounded number of downloads (threads) and clips (the backend)
    in flight; each finished download queues its clips, each finished clip is recorded."""

    def __init__(self, todo: list[SourceRow], out: Path, cfg: BuildConfig, media_cfg: MediaConfig,
                 versions: dict[str, str], ledger: Ledger, on_clip: Callable[[ClipEvent], None] | None) -> None:
        self.out = out  # absolute: workers (Ray: on other nodes) get absolute paths
        self.cfg, self.media_cfg, self.versions = cfg, media_cfg, versions
        self.ledger, self.on_clip = ledger, on_clip
        self.by_url: dict[str, list[SourceRow]] = defaultdict(list)
        for r in todo:
            self.by_url[r.url].append(r)
        self.pending_per_url = {u: len(rs) for u, rs in self.by_url.items()}
        self.max_in_flight = 2 * cfg.workers + 2
        self.lock = threading.Lock()
        self.urls = iter(self.by_url)
        self.ready: list[_Task] = []
        self.downloads: dict[Future[SourceMedia], str] = {}
        self.clips: dict[Future[tuple[dict[str, Any], Any]], _Task] = {}
        self.settings: str | None = None  # stored with each clip (clip_settings)
        self.log = RunLog()
        self.bot_checks = 0  # consecutive sources answered "confirm you're not a bot"

    def run(self) -> None:
        pool = make_executor(self.cfg.backend, self.cfg.workers, self.cfg.ray_address, mp_context=_POOL_CONTEXT)
        with ThreadPoolExecutor(self.cfg.download_workers) as dl_pool, pool:
            warm = self.cfg.backend != "local"
            while self._submit(dl_pool, pool):
                if not warm:  # start the workers while the first sources download, not after
                    for _ in range(self.cfg.workers):
                        pool.submit(_ready)
                    warm = True
                waiting: list[Future[Any]] = [*self.downloads, *self.clips]
                done, _ = wait(waiting, return_when=FIRST_COMPLETED)
                for fut in done:
                    if fut in self.downloads:
                        self._downloaded(fut)
                    else:
                        self._clip_done(fut)

    def _submit(self, dl_pool: ThreadPoolExecutor, pool: Any) -> bool:
        """Keep a bounded number of downloads and clips in flight; False when all is done."""
        while (len(self.downloads) < self.cfg.download_workers and len(self.ready) < self.max_in_flight
               and not self.log.stopped):
            url = next(self.urls, None)
            if url is None:
                break
            self.downloads[dl_pool.submit(self._download, url)] = url
        while self.ready and len(self.clips) < self.max_in_flight:
            task = self.ready.pop(0)
            self.clips[pool.submit(process_clip, task)] = task
        return bool(self.downloads or self.clips)

    def _download(self, url: str) -> SourceMedia:
        sections = [(r.start, r.end) for r in self.by_url[url]]
        return fetch_source(url, sections, self.out / "cache" / "sources", self.cfg.download)

    def _record(self, row: dict[str, Any], fingerprint: str | None = None) -> None:
        self.log.add_clip(row.pop("_times", None) or {})
        with self.lock:
            self.ledger.put(row, fingerprint, self.settings)
        if self.on_clip:
            self.on_clip(ClipEvent(row["clip_id"], row["label"], row["status"], row.get("error")))

    def _downloaded(self, fut: Future[Any]) -> None:
        """A source is in: queue its clips, or record each as failed."""
        url = self.downloads.pop(fut)
        try:
            media = fut.result()
        except StageError as exc:
            if getattr(exc, "bot_check", False):  # the site suspects the client, not this video
                self.bot_checks += 1
                if self.bot_checks >= self.cfg.download.max_bot_checks and not self.log.stopped:
                    self.log.stopped = (f"stopped after {self.bot_checks} consecutive bot checks "
                                    f"(\"{exc.reason[:80]}\"): resume later with the same command, "
                                    "or pass --cookies FILE; the clips not attempted stay pending")  # fmt: skip
                return  # its clips stay pending: a rerun tries them
            for r in self.by_url[url]:
                self._record(failed_row(r, exc, self.versions))
            return
        except Exception as exc:  # a bug must not lose the other clips
            for r in self.by_url[url]:
                self._record(failed_row(r, StageError(_bug(exc)), self.versions, stage="download"))
            return
        self.bot_checks = 0
        self.log.add_fetch(media.fetch)
        with self.lock:
            self.ledger.put_source(url, media.fetch)
        for r in self.by_url[url]:
            try:
                sec = media.section_for(r.start, r.end)
            except StageError as exc:
                self._record(failed_row(r, exc, self.versions))
                continue
            self.ready.append(_Task(r, str(sec.path), sec.offset, sec.has_audio, media.info, str(self.out),
                                    self.media_cfg, self.cfg.qc, self.versions))

    def _clip_done(self, fut: Future[Any]) -> None:
        """A clip is done: record it; drop its source once its last clip is done."""
        task = self.clips.pop(fut)
        try:
            row, fp = fut.result()
        except Exception as exc:  # worker died or a bug: record, go on
            row, fp = failed_row(task.row, StageError(_bug(exc)), self.versions, stage="trim"), None
        self._record(row, fp)
        url = task.row.url
        self.pending_per_url[url] -= 1
        if self.pending_per_url[url] == 0 and not self.cfg.keep_downloads:
            shutil.rmtree(Path(task.src).parent, ignore_errors=True)


def _ready() -> None:
    """A no-op task: submitted once per worker at the start, it makes the pool start its
    processes (fork, preloaded code) while the first sources download, not after."""


def _remove_stale_temps(out: Path) -> None:
    """Temporary media of a worker killed mid-clip (its retry or rerun wrote the clip anew)."""
    for folder in ("clips", "audio"):
        for p in (out / folder).glob("*/.*.tmp*"):
            p.unlink(missing_ok=True)


def _bug(exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return f"internal error: {last}"


def process_clip(task: _Task) -> tuple[dict[str, Any], Any]:
    """Worker: every stage of :data:`CLIP_STAGES` on one clip. Never raises."""
    r = task.row
    row = base_row(r, task.versions)
    row.update(provenance(task.info, r))
    w = ClipWork(task, row, Path("clips") / r.label / f"{r.clip_id}.mp4",
                 Path("audio") / r.label / f"{r.clip_id}.flac")
    stage = CLIP_STAGES[0].__name__
    times: dict[str, tuple[float, float]] = {}
    row["_times"] = times  # wall and CPU per stage, for the run's table (not a manifest column)
    try:
        for run in CLIP_STAGES:
            stage = run.__name__
            clock = _clock()
            try:
                run(w)
            finally:
                times[stage] = _since(clock)
        row.update(
            status="ok",
            video_path=str(w.rel_video),
            video_sha256=sha256_file(w.video),
            video_bytes=w.video.stat().st_size,
            audio_path=str(w.rel_audio),
            audio_sha256=sha256_file(w.audio),
            audio_bytes=w.audio.stat().st_size,
        )
        # the fingerprint of the final clip (after a sync fix)
        return row, w.qc.fingerprint.to_json() if w.qc is not None else None
    except StageError as exc:
        row.update(status=exc.status, error=exc.reason, stage=exc.stage if exc.stage != "unknown" else stage)
    except Exception as exc:  # a bug in one clip must not crash the build
        row.update(status="failed", error=_bug(exc), stage=stage)
    w.video.unlink(missing_ok=True)
    w.audio.unlink(missing_ok=True)
    return row, None


def _assign_dup_groups(ledger: Ledger) -> None:
    fps = {c: Fingerprint.from_json(text) for c, text in ledger.fingerprints()}
    if not fps:
        return
    groups = group_duplicates(fps)
    ledger.update_fields({c: {"dup_group": g} for c, g in groups.items()})


def _report(
    ledger: Ledger, out: Path, processed: int, skipped: int, result: PublishResult | None, manifest: Path,
    ids: set[str] | None = None,
) -> BuildReport:
    counts: Counter[str] = Counter()
    by_class: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for row in ledger.rows(ids=ids):
        counts[row["status"]] += 1
        by_class[row.get("label") or "?"][row["status"]] += 1
        if row["status"] != "ok" and row.get("error"):
            code = reason_code(row.get("stage"), row["error"])
            reasons[code] += 1
            examples.setdefault(code, f"{row['clip_id']}: {row['error']}")
    return BuildReport(out, counts, dict(by_class), reasons, processed, skipped, result, manifest,
                       reason_examples=examples)
