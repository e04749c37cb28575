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
(:func:`vaar.taxonomy.default_taxonomy` ``.slugs``): probabilities or logits, higher meaning more
likely; the predicted label is the row's arg-max. A torch tensor is accepted.

This module is the scorer's side; :mod:`vaar.bench.sandbox_model` is what runs in the model's
process. The sandbox (why the model cannot see the labels or report its own cost)::

    scorer process (has the labels)                 model process: python -I -m vaar.bench.sandbox
    ───────────────────────────────                 ────────────────────────────────────────────
    reads clip_id + media columns of the shards     RLIMIT_AS = --model-memory-mb, GPUs hidden,
                                                    environment cut to ENV_KEEP (no host secrets),
    writes each batch's media to temp files  ──►    stdout moved to stderr; imports the model,
      JSON line: clip ids + file paths              counts torch.nn.Module parameters itself,
                                             ◄──    JSON line: scores (validated by the scorer)
    times single-clip requests itself (latency);
    kills the process group past --model-timeout

The model's process never receives a label, a labels path or a label column (the shards'
``label`` column is not read), so walking ``sys._getframe`` or ``gc`` finds nothing. The parameter
count is the sum of ``numel`` over the parameters of every ``torch.nn.Module`` alive in the
model's process after ``factory()`` (found by the garbage collector, walking ``_parameters``
directly, so an overridden ``parameters()`` is never called); a model without torch modules is
"not measured". Latency is the median wall-clock time of one single-clip request seen from the
scorer's side (after one warm-up request), including reading the clip's temporary files.

Limits, stated plainly: the model runs as the same OS user, so it can read any file that user
can read (including the scorer's command line in ``/proc``, which names ``--labels``); keep
private labels where that user cannot (or run ``submit`` in a container). Code
running in the model's process could rewrite the counting code there; the host reviews the
model code it runs.
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

from vaar.errors import ConfigError, ManifestError

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


#: the model's process runs this very copy of vaar (``-I`` drops PYTHONPATH; a source checkout
#: and an installed vaar must not answer each other's protocol)
_CHILD = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); "
          "from vaar.bench.sandbox_model import main; sys.exit(main(sys.argv[1:]))")


class ModelProcess:
    """The model's process: start, one JSON line per request, limits, kill."""

    def __init__(self, spec: str, limits: Limits, workdir: Path) -> None:
        self.spec = spec
        self.limits = limits
        self.deadline = time.monotonic() + limits.wall_s
        self.stderr_path = workdir / "model.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 (closed in close())
        env = {k: v for k, v in os.environ.items() if k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIXES)}
        env.update(CUDA_VISIBLE_DEVICES="", PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _CHILD, str(limits.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            start_new_session=True, env=env,
        )
        self._buf = b""

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
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the whole group: also what the model started
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
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
    from vaar.taxonomy import default_taxonomy

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
        try:
            self.ready = self.proc.request({"spec": spec, "sys_path": search, "n_classes": self.n_classes})
        except BaseException:
            self.close()
            raise

    def __call__(self, clips: Sequence[Clip]) -> list[list[float]]:
        batch = list(clips)
        return _scores(self.proc.request({"clips": _to_files(batch, self.work)}), len(batch), self.n_classes, self.spec)

    def close(self) -> None:
        self.proc.close()
        self._tmp.cleanup()

    def __enter__(self) -> SandboxedPredict:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    timings: list[float] = []
    with SandboxedPredict(spec, limits) as model:
        proc, work, ready = model.proc, model.work, model.ready
        model_bs = ready.get("batch_size")
        bs = int(batch_size or (model_bs if isinstance(model_bs, int) else 0) or DEFAULT_BATCH_SIZE)
        bs = max(1, min(bs, MAX_BATCH_SIZE))
        warmed = False
        for batch in iter_media(root, split, bs):
            batch = [c for c in batch if c.clip_id in wanted]
            if not batch:
                continue
            for clip in batch:  # latency: one clip at a time, timed here, after a warm-up
                if len(timings) >= latency_clips:
                    break
                msg = {"clips": _to_files([clip], work)}
                if not warmed:
                    _scores(proc.request(msg), 1, len(slugs), spec)
                    warmed = True
                t0 = time.perf_counter()
                reply = proc.request(msg)
                timings.append((time.perf_counter() - t0) * 1000.0)
                _scores(reply, 1, len(slugs), spec)
            scores = _scores(proc.request({"clips": _to_files(batch, work)}), len(batch), len(slugs), spec)
            for clip, row in zip(batch, scores, strict=True):
                rows[clip.clip_id] = row
            if progress:
                progress(len(rows), len(wanted))
    params = ready.get("parameters")
    threads = ready.get("threads")
    cost = Measured(
        parameters=params if isinstance(params, int) and not isinstance(params, bool) and params >= 0 else None,
        latency_ms_per_clip=statistics.median(timings) if timings else None,
        latency_clips=len(timings),
        threads=threads if isinstance(threads, int) and not isinstance(threads, bool) and 0 < threads < 4096 else None,
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip_id", "label", *(f"score_{s}" for s in slugs)])
    for cid in clip_ids:
        if cid in rows:  # a clip missing from the shards is reported by validation
            row = rows[cid]
            w.writerow([cid, slugs[max(range(len(row)), key=row.__getitem__)], *(repr(x) for x in row)])
    return buf.getvalue(), cost
