"""Per-clip quality checks and the sync/quality config.

:func:`check_clip` decodes a clip once (:func:`vaar.curation.build.sync.decode_clip`: 64-px grey
frames and 16 kHz mono audio on the presentation timeline) and measures:

* **sync** — audio-video offset, confidence and verdict (:mod:`vaar.curation.build.sync`);
* **silence_fraction** — share of 50 ms audio windows whose RMS is below ``silence_db`` dBFS
  (``silencedetect``'s default noise floor is -60 dB);
* **frozen_fraction** — share of frames that repeat the frame ``frozen_lag_s`` earlier: fewer
  than ``frozen_changed_ratio`` of their pixels changed by ``frozen_pixel_diff`` grey levels or
  more. A whole-frame mean difference (``freezedetect``'s measure) calls a static CCTV scene
  with a small or slow moving person frozen, especially on 64-px frames; counting changed
  pixels against a frame half a second back does not, while a still picture (whose re-encoded
  frames differ by a grey level or two) still counts as frozen;
* **black_fraction** — share of frames with at least ``black_pixel_ratio`` of their pixels at or
  below ``black_luma`` (``blackdetect``'s defaults: 98 % of pixels within 10 % of the luma range
  above black);
* **fingerprint** — per-position frame and audio hashes for near-duplicate grouping
  (:mod:`vaar.curation.build.fingerprint`).

The ``fix`` policy's re-mux is :func:`vaar.curation.build.media.fix_offset`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vaar.curation.build.decode import AUDIO_RATE, DecodedClip, decode_clip
from vaar.curation.build.fingerprint import Fingerprint, audio_hashes, frame_hashes
from vaar.curation.build.sync import SyncEstimate, Verdict, estimate_offset, motion_energy

OutOfSyncPolicy = Literal["flag", "reject", "fix"]


@dataclass(frozen=True)
class QCConfig:
    """Every threshold of the sync and quality checks, with its default.

    ``out_of_sync`` decides the fate of a clip whose measured offset exceeds ``tolerance_ms``:

    * ``flag`` (default) — keep it, with ``sync_verdict = out_of_sync`` and the offset in the
      manifest. Nothing is lost and users can filter; but a model trained on the whole set sees
      misaligned pairs unless they filter.
    * ``reject`` — drop it (``status = rejected``). The safest set, but a wrong estimate
      (rare above ``min_confidence``; see the README's accuracy figures) costs a good clip, and
      anomaly classes with few clips lose data.
    * ``fix`` — re-mux with the measured offset removed (:func:`vaar.curation.build.media.fix_offset`: audio re-encoded,
      video copied), verify again and keep both offsets (``av_offset_ms_before_fix``). Keeps
      the clip and repairs constant offsets (the usual case: container start times, encoder
      delay); a wrong estimate would *introduce* an offset, and drifting sync is not repaired.

    ``unverifiable`` clips are always kept: absence of evidence is not a defect.
    """

    # sync
    tolerance_ms: float = 80.0  # |offset| ≤ this is in_sync (2 frames at 25 fps)
    max_lag_ms: float = 1000.0  # offsets searched within ±this
    min_confidence: float = 0.3  # below: unverifiable (one clean event scores 0.5)
    out_of_sync: OutOfSyncPolicy = "flag"
    # silence
    silence_db: float = -60.0  # dBFS RMS of a 50 ms window below which it is silent
    max_silence_fraction: float = 0.9  # more silent windows than this: rejected "silent"
    # frozen picture
    frozen_pixel_diff: float = 12.0  # |Δ| grey levels (of 255) for a pixel to count as changed
    frozen_changed_ratio: float = 0.002  # a frame repeats when fewer of its pixels changed
    frozen_lag_s: float = 0.5  # compared with the frame this long before
    max_frozen_fraction: float = 0.8  # more repeated frames than this: rejected "frozen"
    # black picture
    black_luma: float = 38.0  # luma at or below this is black (16 + 10 % of 219)
    black_pixel_ratio: float = 0.98  # a frame is black when this share of pixels is
    max_black_fraction: float = 0.5  # more black frames than this: rejected "black"
    # near-duplicates (vaar.curation.build.fingerprint.group_duplicates)
    dup_video_bits: int = 12  # max Hamming distance of two 64-bit frame hashes that agree
    dup_audio_bits: int = 8  # max Hamming distance of two 32-bit audio hashes that agree
    dup_min_agree: float = 0.75  # share of comparable positions that must agree (each modality)


@dataclass(frozen=True)
class ClipQC:
    av_offset_ms: float | None  # positive = audio late; None when unverifiable
    sync_confidence: float
    sync_verdict: Verdict
    silence_fraction: float
    frozen_fraction: float
    black_fraction: float
    video_start_time: float
    audio_start_time: float
    fingerprint: Fingerprint
    raw_offset_ms: float = 0.0  # best lag even when unverifiable (diagnostics only)

    def reject_reason(self, cfg: QCConfig) -> str | None:
        """Why the clip is unfit under ``cfg`` (``None``: keep it). Order: silent, black, frozen,
        then out_of_sync when ``cfg.out_of_sync == "reject"``."""
        if self.silence_fraction > cfg.max_silence_fraction:
            return f"silent audio: {self.silence_fraction:.0%} below {cfg.silence_db:g} dBFS"
        if self.black_fraction > cfg.max_black_fraction:
            return f"black video: {self.black_fraction:.0%} of frames"
        if self.frozen_fraction > cfg.max_frozen_fraction:
            return f"frozen video: {self.frozen_fraction:.0%} of frames repeat the previous one"
        if cfg.out_of_sync == "reject" and self.sync_verdict == "out_of_sync":
            return f"out of sync: audio {self.av_offset_ms:+.0f} ms (tolerance {cfg.tolerance_ms:g} ms)"
        return None

    def as_row(self) -> dict[str, Any]:
        """The manifest fields this check fills."""
        row = asdict(self)
        del row["fingerprint"], row["raw_offset_ms"]
        return row


# ---------------------------------------------------------------------------------------------
# per-clip measures


def silence_fraction(audio: npt.NDArray[np.float32], silence_db: float) -> float:
    win = AUDIO_RATE // 20  # 50 ms
    n = audio.size // win
    if n == 0:
        return 1.0
    blocks = audio[: n * win].reshape(n, win).astype(np.float64)
    rms = np.sqrt((blocks * blocks).mean(axis=1))
    db = 20.0 * np.log10(np.maximum(rms, 1e-10))
    return float((db < silence_db).mean())


def frozen_fraction(
    frames: npt.NDArray[np.uint8], frame_times: npt.NDArray[np.float64], cfg: QCConfig
) -> float:
    """Share of frames (T, H, W) that repeat the frame ``cfg.frozen_lag_s`` before them."""
    if len(frames) < 2:
        return 1.0
    fps = (len(frame_times) - 1) / max(float(frame_times[-1] - frame_times[0]), 1e-6)
    lag = int(min(max(1, round(cfg.frozen_lag_s * fps)), len(frames) - 1))
    a, b = frames[lag:].astype(np.int16), frames[:-lag].astype(np.int16)
    changed = (np.abs(a - b) >= cfg.frozen_pixel_diff).mean(axis=(1, 2))  # (T - lag,)
    return float((changed < cfg.frozen_changed_ratio).mean())


def black_fraction(frames: npt.NDArray[np.uint8], black_luma: float, pixel_ratio: float) -> float:
    if len(frames) == 0:
        return 1.0
    dark = (frames <= black_luma).mean(axis=(1, 2))  # (T,)
    return float((dark >= pixel_ratio).mean())


def measure(clip: DecodedClip, cfg: QCConfig) -> ClipQC:
    """All checks of a decoded clip."""
    motion = motion_energy(clip.frames)
    est: SyncEstimate = estimate_offset(
        clip,
        tolerance_ms=cfg.tolerance_ms,
        max_lag_ms=cfg.max_lag_ms,
        min_confidence=cfg.min_confidence,
        motion=motion,
    )
    return ClipQC(
        av_offset_ms=None if est.offset_ms is None else round(est.offset_ms, 1),
        sync_confidence=est.confidence,
        sync_verdict=est.verdict,
        silence_fraction=round(silence_fraction(clip.audio, cfg.silence_db), 4),
        frozen_fraction=round(frozen_fraction(clip.frames, clip.frame_times, cfg), 4),
        black_fraction=round(black_fraction(clip.frames, cfg.black_luma, cfg.black_pixel_ratio), 4),
        video_start_time=round(clip.video_start_time, 6),
        audio_start_time=round(clip.audio_start_time, 6),
        fingerprint=Fingerprint(
            frame_hashes(clip.frames), audio_hashes(clip.audio, cfg.silence_db)
        ),
        raw_offset_ms=round(est.raw_offset_ms, 1),
    )


def check_clip(path: Path, cfg: QCConfig = QCConfig()) -> ClipQC:  # noqa: B008 (frozen)
    """Decode ``path`` once and run every check.

    Raises :class:`VerifyError` when the file is missing or undecodable, or has no video
    stream (``failed``) or no audio stream (``rejected``). Pure function of its arguments: safe
    to call from worker processes.
    """
    return measure(decode_clip(Path(path)), cfg)
