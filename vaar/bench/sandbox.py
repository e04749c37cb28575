"""Score a model, not only a file: ``vaar-bench submit --model pkg.mod:factory``, in its own process.

The protocol a submitted model implements::

    def factory() -> Model: ...              # no arguments; load weights inside

    class Model:
        def predict(self, batch: list[Clip]) -> scores:   # (len(batch), 10) array-like
            ...
        batch_size: int = 8                  # optional: clips per predict() call

``Clip`` (below) holds one clip of the published dataset: the encoded video (MP4 with its audio
track) and audio bytes, undecoded, so a model decodes them with whatever it was trained with. In
``predict`` the same media are also files: ``clip.video_path`` / ``clip.audio_path`` are paths to
temporary copies (``.mp4`` / ``.flac`` as published) that a decoder can open (torchcodec,
torchaudio, ffmpeg); ``clip.video_name`` / ``clip.audio_name`` are the names the dataset stores.

``PKG.MODULE`` is imported from the folder ``submit`` runs in first (as ``python -m`` would), then
from the installed packages: ``cd`` to the folder that holds ``mymodel.py`` and give
``--model mymodel:factory``. ``vaar-bench init-model DIR`` writes a template that submits as is.
``scores`` has one row per clip, in batch order, and one column per class in taxonomy order
(:func:`vaar.core.taxonomy.default_taxonomy` ``.slugs``): probabilities or logits, higher meaning more
likely; the predicted label is the row's arg-max. A torch tensor is accepted.

This module is the scorer's side; :mod:`vaar.bench.sandbox_model` is what runs in the model's
process, and :mod:`vaar.bench.contain` holds it in. The sandbox (why the model cannot see the
labels or fake its cost)::

    scorer process (has the labels)                 model process (its own uid, PID and network
    ───────────────────────────────                 namespaces, one memory cgroup: vaar.bench.contain)
    reads clip_id + media columns of the shards     RLIMIT_AS too, GPUs hidden, environment cut to
                                                    ENV_KEEP (no host secrets), HOME/TMPDIR its own,
    writes each batch's media to temp files  ──►    stdout moved to stderr; imports the model,
      JSON line: clip ids + file paths         ◄──  JSON line: scores (validated by the scorer),
    times that request (the latency)           ◄──  then a line: tensor elements it now holds
    kills the tree past --model-timeout and at the end (namespace init, cgroup, uid)

The model's process never receives a label, a labels path or a label column (the shards'
``label`` column is not read), so walking ``sys._getframe`` or ``gc`` finds nothing, and as its own
user it cannot read a 0600 labels file, the scorer's ``/proc/<pid>/environ`` or, in its own PID
namespace, see the scorer at all. Latency is the wall-clock time of every scored request seen from
the scorer's side divided by the clips scored (the first ``latency_clips`` clips are sent one at a
time and their median is recorded too); the parameter count is the maximum, over the run, of the
elements of every torch tensor and numpy array the model's process holds after ``factory()`` and
after each ``predict()`` (:func:`vaar.bench.sandbox_model.count_parameters`). The entry records both
definitions and the containment the machine allowed (:class:`vaar.bench.contain.Containment`).

Limits, stated plainly: code running in the model's process could rewrite the counting code there
(the cgroup's peak memory is recorded as an outside check, and the host reviews the model code it
runs); where the machine is not root or forbids namespaces, the record says which mechanism fell
back (docs/threat-model.md).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaar.bench.contain import Containment, Jail
from vaar.core.errors import ConfigError, ManifestError

DEFAULT_BATCH_SIZE = 8
DEFAULT_LATENCY_CLIPS = 16
DEFAULT_TIMEOUT_S = 3600.0
DEFAULT_MEMORY_MB = 8192
MAX_BATCH_SIZE = 256
MAX_REPLY_BYTES = 64 * 1024 * 1024
#: the environment the model's process gets: locale, paths, thread and cache settings, and the
#: variables meant for models; not the host's tokens or secrets
ENV_KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "TORCH_HOME", "HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "XDG_CACHE_HOME"}
ENV_KEEP_PREFIXES = ("VAAR_MODEL_", "VAAR_BASELINE_")


@dataclass(frozen=True)
class Clip:
    """One clip handed to ``Model.predict``."""

    clip_id: str
    video: bytes  # encoded video file (MP4: H.264 video + AAC audio), as published
    audio: bytes | None  # encoded audio file as published (e.g. FLAC), None if absent
    video_path: str | None  # in predict(): a file path a decoder can open; scorer side: the stored name
    audio_path: str | None
    video_name: str | None = None  # the file name the dataset stores beside the bytes
    audio_name: str | None = None


@dataclass(frozen=True)
class Limits:
    """What the model's process may use: wall-clock seconds for the whole run, and memory."""

    wall_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB


@dataclass(frozen=True)
class Measured:
    """The cost, measured by the scorer (``parameters`` None: not measured, no torch modules)."""

    parameters: int | None
    latency_ms_per_clip: float | None
    latency_clips: int
    threads: int | None
    measurement: dict[str, Any] | None = None  # how both were measured, and the sandbox (the entry's record)


#: the model's process runs this very copy of vaar (``-I`` drops PYTHONPATH; a source checkout
#: and an installed vaar must not answer each other's protocol)
class ModelProcess:
    """The model's process: start, one JSON line per request, limits, kill."""

    def __init__(self, spec: str, limits: Limits, workdir: Path) -> None:
        self.spec = spec
        self.limits = limits
        self.deadline = time.monotonic() + limits.wall_s
        self.stderr_path = workdir / "model.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 (closed in close())
        os.chmod(workdir, 0o711)  # the model's user reaches its media files by name, lists nothing
        home = Path(tempfile.mkdtemp(prefix="home-", dir=workdir))  # 0700, the model user's own
        (home / "tmp").mkdir(mode=0o700)
        self.jail = Jail(limits.memory_mb, home)
        with contextlib.suppress(OSError):
            if self.jail.uid is not None:
                os.chown(home / "tmp", self.jail.uid, self.jail.uid)
        env = {k: v for k, v in os.environ.items() if k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIXES)}
        env.update(CUDA_VISIBLE_DEVICES="", PYTHONDONTWRITEBYTECODE="1", HOME=str(home), TMPDIR=str(home / "tmp"))
        key, _, value = self.jail.mark.partition("=")
        env[key] = value  # what the model starts inherits it: found and killed where no namespace holds it
        import vaar

        here = str(Path(vaar.__file__).resolve().parent.parent)  # the scorer's vaar, not another install
        boot = (f"import sys; sys.path.insert(0, {here!r}); from vaar.bench.sandbox_model import main; "
                "sys.exit(main(sys.argv[1:]))")
        self.max_parameters: int | None = None
        self.peak_memory_mb: float | None = None
        try:
            self.proc = subprocess.Popen(
                self.jail.command([sys.executable, "-I", "-c", boot, str(limits.memory_mb)]),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                start_new_session=True, env=env, cwd=str(home),
            )
        except BaseException:
            self.jail.close()
            self._stderr.close()
            raise
        self._buf = b""

    @property
    def containment(self) -> Containment:
        return self.jail.containment

    def predict(self, files: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """One scored request: (the scores reply, its wall-clock seconds seen from here). The model's
        parameter count follows on its own line, read after the clock stops; the maximum is kept."""
        t0 = time.perf_counter()
        reply = self.request({"clips": files})
        seconds = time.perf_counter() - t0
        self.note_parameters(self._read_line().get("parameters"))
        return reply, seconds

    def note_parameters(self, count: Any) -> None:
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            self.max_parameters = max(self.max_parameters or 0, count) or None

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        reply = self._read_line()
        if "error" in reply:
            self.kill()
            raise ConfigError(f"--model {self.spec}: {str(reply['error'])[:600]}")
        return reply

    def _read_line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = self.deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    self.kill()
                    raise ConfigError(f"--model {self.spec}: still running after {self.limits.wall_s:g} s; "
                                      "killed (raise --model-timeout if the model is just slow)")
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise self._died()
                self._buf += chunk
                if len(self._buf) > MAX_REPLY_BYTES:
                    self.kill()
                    raise ConfigError(f"--model {self.spec}: sent more than {MAX_REPLY_BYTES >> 20} MB; killed")
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            self.kill()
            raise ConfigError(f"--model {self.spec}: the model's process broke the protocol; killed")
        return reply

    def _died(self) -> ConfigError:
        self.kill()
        code = self.proc.returncode
        last = _last_line(self.stderr_path)
        if code is not None and code < 0:
            why = f"was killed by signal {signal.Signals(-code).name}"
        else:
            why = f"exited with code {code}"
        hint = (f" (memory limit {self.limits.memory_mb} MB, --model-memory-mb)"
                if "memory" in last.lower() or code == -signal.SIGKILL else "")
        return ConfigError(f"--model {self.spec}: the model's process {why}{hint}" + (f": {last}" if last else ""))

    def kill(self) -> None:
        self.jail.kill_all(self.proc.pid)  # the group, the cgroup, the model's uid: all it started
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.peak_memory_mb = self.jail.peak_memory_mb()
        self.jail.close()
        self._stderr.close()


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 4096))
            lines = [x for x in f.read().decode("utf-8", "replace").splitlines() if x.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:200] if lines else ""


def _media(value: Any, root: Path) -> tuple[bytes | None, str | None]:
    """A dataset media cell (struct of bytes + path, or raw bytes) as (bytes, path)."""
    if value is None:
        return None, None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value), None
    data, path = value.get("bytes"), value.get("path")
    if data is None and path:
        target = (root / path).resolve()
        if target.is_file() and root.resolve() in target.parents:
            data = target.read_bytes()
    return (bytes(data) if data is not None else None), path


def iter_media(root: Path, split: str, batch_size: int) -> Iterator[list[Clip]]:
    """Batches of clips from the split's Parquet shards: the id and media columns only, never the label."""
    import pyarrow.parquet as pq

    from vaar.bench.truth import split_shards

    for shard in split_shards(root, split):
        pf = pq.ParquetFile(shard)
        names = set(pf.schema_arrow.names)
        if not {"clip_id", "video"} <= names:
            raise ManifestError(f"{shard}: needs columns clip_id and video; is this a published dataset shard?")
        cols = ["clip_id", "video"] + (["audio"] if "audio" in names else [])
        for rb in pf.iter_batches(batch_size=batch_size, columns=cols):
            d = rb.to_pydict()
            batch = []
            for i, cid in enumerate(d["clip_id"]):
                video, vpath = _media(d["video"][i], root)
                audio, apath = _media(d["audio"][i], root) if "audio" in d else (None, None)
                batch.append(Clip(str(cid), video or b"", audio, vpath, apath))
            yield batch


#: file suffixes a temporary media copy may take from the stored name (anything else: the default)
_SUFFIXES = frozenset({".mp4", ".m4a", ".mkv", ".webm", ".flac", ".wav", ".ogg", ".mp3", ".aac"})


def _suffix(name: str | None, default: str) -> str:
    """The stored name's suffix if it is a known media one, so decoders that look at it are happy."""
    suffix = Path(name).suffix.lower() if name else ""
    return suffix if suffix in _SUFFIXES else default


def _to_files(batch: Sequence[Clip], folder: Path) -> list[dict[str, Any]]:
    """Write each clip's media to numbered files (names never come from the data; only a known suffix)."""
    out = []
    for k, clip in enumerate(batch):
        vname = clip.video_name or clip.video_path
        aname = clip.audio_name or clip.audio_path
        video = folder / f"{k}{_suffix(vname, '.mp4')}"
        video.write_bytes(clip.video)
        audio = None
        if clip.audio is not None:
            audio = folder / f"{k}{_suffix(aname, '.flac')}"
            audio.write_bytes(clip.audio)
        out.append({"clip_id": clip.clip_id, "video": str(video), "audio": str(audio) if audio else None,
                    "video_path": vname, "audio_path": aname})
    return out


def _scores(reply: dict[str, Any], n: int, n_classes: int, spec: str) -> list[list[float]]:
    import math

    rows = reply.get("scores")
    ok = (isinstance(rows, list) and len(rows) == n
          and all(isinstance(r, list) and len(r) == n_classes for r in rows))
    if not ok:
        raise ConfigError(f"--model {spec}: predict() must return shape ({n}, {n_classes}) "
                          "(one row per clip, one column per class in taxonomy order)")
    assert isinstance(rows, list)
    for r in rows:
        for x in r:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ConfigError(f"--model {spec}: predict() returned non-finite or non-numeric scores")
    return [[float(x) for x in r] for r in rows]


def model_search_path() -> list[str]:
    """Where the model's process looks for ``PKG.MODULE``: the current folder first (as
    ``python -m`` does; a console script's own ``sys.path`` lacks it), then this process's path."""
    cwd = os.getcwd()
    rest = [cwd if p == "" else p for p in sys.path]
    return [cwd, *(p for p in rest if p != cwd)]


def _slugs() -> tuple[str, ...]:
    from vaar.core.taxonomy import default_taxonomy

    return tuple(default_taxonomy().slugs)


class SandboxedPredict:
    """``predict(clips) -> (B, K) scores`` answered by the model's own process (:class:`ModelProcess`):
    what the clean score and the robustness track's corrupted clips both go through. Use it as a
    context manager; ``ready`` is the model's hello (parameters counted on its side, threads)."""

    def __init__(self, spec: str, limits: Limits = Limits()) -> None:  # noqa: B008 (frozen)
        module, sep, attr = spec.partition(":")
        if not sep or not module or not attr:
            raise ConfigError(f"--model {spec!r}: expected package.module:factory")
        self.spec = spec
        self.n_classes = len(_slugs())
        self._tmp = tempfile.TemporaryDirectory(prefix="vaar-model-")
        self.work = Path(self._tmp.name)
        self.proc = ModelProcess(spec, limits, self.work)
        search = model_search_path()
        t0 = time.perf_counter()
        try:
            self.ready = self.proc.request({"spec": spec, "sys_path": search, "n_classes": self.n_classes})
        except BaseException:
            self.close()
            raise
        self.setup_s = time.perf_counter() - t0
        self.proc.note_parameters(self.ready.get("parameters"))

    def batch_size(self, asked: int | None = None) -> int:
        """Clips per request: ``asked``, else the model's own ``batch_size``, else the default (at most
        :data:`MAX_BATCH_SIZE`)."""
        own = self.ready.get("batch_size")
        bs = int(asked or (own if isinstance(own, int) and not isinstance(own, bool) else 0) or DEFAULT_BATCH_SIZE)
        return max(1, min(bs, MAX_BATCH_SIZE))

    def __call__(self, clips: Sequence[Clip]) -> list[list[float]]:
        batch = list(clips)
        reply, _ = self.proc.predict(_to_files(batch, self.work))
        return _scores(reply, len(batch), self.n_classes, self.spec)

    def close(self) -> None:
        self.proc.close()
        self._tmp.cleanup()

    def __enter__(self) -> SandboxedPredict:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _groups(batch: list[Clip], singles: int) -> Iterator[tuple[list[Clip], bool]]:
    """The requests for one batch: its first ``singles`` clips one at a time (flagged), then the rest."""
    for clip in batch[:singles]:
        yield [clip], True
    if batch[singles:]:
        yield batch[singles:], False


def run_model(
    spec: str,
    root: Path,
    split: str,
    clip_ids: Sequence[str],
    *,
    batch_size: int | None = None,
    latency_clips: int = DEFAULT_LATENCY_CLIPS,
    limits: Limits = Limits(),  # noqa: B008 (frozen)
    progress: Callable[[int, int], None] | None = None,
) -> tuple[str, Measured]:
    """Run the model over the split's media in its own process; returns predictions CSV text and its cost.

    ``clip_ids`` are the ids to predict; the labels never reach this function.
    """
    slugs = _slugs()
    wanted = set(clip_ids)
    rows: dict[str, list[float]] = {}
    single: list[float] = []  # seconds of the scored single-clip requests
    total_s, total_clips, requests = 0.0, 0, 0
    with SandboxedPredict(spec, limits) as model:
        proc, work, ready = model.proc, model.work, model.ready
        bs = model.batch_size(batch_size)
        for batch in iter_media(root, split, bs):
            batch = [c for c in batch if c.clip_id in wanted]
            for group, alone in _groups(batch, max(0, latency_clips - len(single))):
                reply, seconds = proc.predict(_to_files(group, work))  # the scored request is the timed one
                scores = _scores(reply, len(group), len(slugs), spec)
                if alone:
                    single.append(seconds)
                total_s, total_clips, requests = total_s + seconds, total_clips + len(group), requests + 1
                for clip, row in zip(group, scores, strict=True):
                    rows[clip.clip_id] = row
            if progress and batch:
                progress(len(rows), len(wanted))
    threads = ready.get("threads")
    measurement = {
        "latency": "scored requests: wall-clock time of every request whose scores were scored, seen by the "
                   "scorer (decoding included, the first request too), divided by the clips scored",
        "batch_size": bs,
        "requests": requests,
        "single_clip_requests": len(single),
        "single_clip_ms_median": round(statistics.median(single) * 1000.0, 3) if single else None,
        "setup_s": round(model.setup_s, 3),
        "parameters": "maximum over the run of the elements of every torch tensor and numpy array held by the "
                      "model's process, counted after factory() and after every predict()",
        "peak_memory_mb": round(proc.peak_memory_mb, 1) if proc.peak_memory_mb is not None else None,
        "sandbox": proc.containment.as_dict(),
    }
    cost = Measured(
        parameters=proc.max_parameters,
        latency_ms_per_clip=total_s * 1000.0 / total_clips if total_clips else None,
        latency_clips=total_clips,
        threads=threads if isinstance(threads, int) and not isinstance(threads, bool) and 0 < threads < 4096 else None,
        measurement=measurement,
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip_id", "label", *(f"score_{s}" for s in slugs)])
    for cid in clip_ids:
        if cid in rows:  # a clip missing from the shards is reported by validation
            row = rows[cid]
            w.writerow([cid, slugs[max(range(len(row)), key=row.__getitem__)], *(repr(x) for x in row)])
    return buf.getvalue(), cost
