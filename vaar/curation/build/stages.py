"""The per-clip stages of ``vaar build``: trim → verify → sync → quality.

Each stage is a function of one :class:`ClipWork` (:data:`Stage`): it does its job on the clip's
files and adds its manifest fields to ``work.row``, or raises :class:`~vaar.core.errors.StageError`
to fail or reject the clip. :data:`CLIP_STAGES` is the order a worker runs them in
(:func:`vaar.curation.build.pipeline.process_clip`); the manifest's ``stage`` column records the name
of the stage that stopped a clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaar.core._util.atomic import atomic_path
from vaar.core.errors import StageError
from vaar.curation.build.decode import DecodedClip
from vaar.curation.build.inputguard import input_args
from vaar.curation.build.media import extract_audio, fix_offset, run_tool, trim_normalise
from vaar.curation.build.quality import ClipQC, check_clip, measure
from vaar.curation.build.verify import verify_clip

if TYPE_CHECKING:
    from vaar.curation.build.clip_task import ClipTask


@dataclass
class ClipWork:
    """One clip on its way through :data:`CLIP_STAGES`: the task, its files and its row so far."""

    task: ClipTask
    row: dict[str, Any]
    rel_video: Path
    rel_audio: Path
    qc: ClipQC | None = None
    decoded: DecodedClip | None = None  # the clip as the trim decoded it for the checks

    @property
    def video(self) -> Path:
        return Path(self.task.out) / self.rel_video

    @property
    def audio(self) -> Path:
        return Path(self.task.out) / self.rel_audio


Stage = Callable[[ClipWork], None]
"""A per-clip stage: adds its manifest fields to ``work.row``; raises :class:`StageError` to
fail or reject the clip. Its ``__name__`` is what the manifest's ``stage`` column records."""


def trim(w: ClipWork) -> None:
    t, r = w.task, w.task.row
    src = with_index(Path(t.src))
    trimmed = trim_normalise(src, r.start - t.offset, r.duration, w.video, w.audio, t.media, t.has_audio,
                             analyse=True)  # fmt: skip
    w.decoded = trimmed.decoded


def with_index(src: Path) -> Path:
    """``src``, or for an MPEG-TS file (a container without an index) a Matroska copy of it.

    Seeking in a file without an index is a guess: ffmpeg lands on a packet near the time and
    decodes from there, so a clip whose only keyframe precedes its start came out without video.
    The copy (stream copy, timestamps kept, written once next to the source) has an index, so the
    trim decodes from the keyframe before the cut, as it does for MP4 and WebM."""
    with src.open("rb") as f:
        head = f.read(189 * 2)
    if len(head) < 377 or not (head[0] == head[188] == head[376] == 0x47):
        return src
    dst = src.with_name(src.name + ".indexed.mkv")
    if not dst.exists():
        with atomic_path(dst) as tmp:  # clips of one source may race: each writes its own temp
            proc = run_tool(["ffmpeg", "-nostdin", "-v", "error", "-y", *input_args(), "-i", str(src), "-map", "0:v?",
                             "-map", "0:a?", "-c", "copy", "-copyts", "-f", "matroska", str(tmp)])  # fmt: skip
            if proc.returncode != 0:
                raise StageError(f"ffmpeg could not index the MPEG-TS source: {proc.stderr.decode(errors='replace')[-200:]}")
    return dst


def verify(w: ClipWork) -> None:
    facts = verify_clip(w.video, w.audio, w.task.row.duration, w.task.media)
    w.row.update(facts.as_row(), precision=w.task.media.precision)


def sync(w: ClipWork) -> None:
    """Sync, silence, frozen and black checks; with the ``fix`` policy, re-mux and check again.

    The checks read the frames and samples the trim encoded (decoded once, in the trim's
    process); the container's timing is the verify stage's. Without them (``copy`` precision),
    the clip file is decoded.
    """
    cfg = w.task.qc
    qc = measure(w.decoded, cfg) if w.decoded is not None else check_clip(w.video, cfg)
    w.decoded = None  # the frames are not needed past this point
    w.row.update(_qc_fields(qc))
    if qc.sync_verdict == "out_of_sync" and cfg.out_of_sync == "fix" and qc.av_offset_ms is not None:
        fix_offset(w.video, w.video, qc.av_offset_ms)
        extract_audio(w.video, w.audio, w.task.media)  # the FLAC follows the fixed MP4
        before = qc.av_offset_ms
        qc = check_clip(w.video, cfg)
        w.row.update(_qc_fields(qc))
        w.row["av_offset_ms_before_fix"] = before
    w.qc = qc


def quality(w: ClipWork) -> None:
    reason = w.qc.reject_reason(w.task.qc) if w.qc is not None else "quality checks did not run"
    if reason:
        raise StageError(reason, status="rejected")


CLIP_STAGES: tuple[Stage, ...] = (trim, verify, sync, quality)


def _qc_fields(qc: ClipQC) -> dict[str, Any]:
    keys = ("av_offset_ms", "sync_confidence", "sync_verdict", "silence_fraction", "frozen_fraction",
            "black_fraction", "video_start_time", "audio_start_time")  # fmt: skip
    return {k: getattr(qc, k) for k in keys}
