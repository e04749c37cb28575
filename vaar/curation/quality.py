"""Per-clip quality checks, the sync/quality config, and near-duplicate grouping.

:func:`check_clip` decodes a clip once (:func:`vaar.curation.sync.decode_clip`: 64-px grey
frames and 16 kHz mono audio on the presentation timeline) and measures:

* **sync** — audio-video offset, confidence and verdict (:mod:`vaar.curation.sync`);
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
* **fingerprint** — for near-duplicate grouping: at ``FP_POSITIONS`` evenly spaced instants, a
  64-bit DCT perceptual hash of the frame (the "pHash" construction: low 8×8 DCT coefficients of
  a 32×32 thumbnail against their median, Zauner 2010) and a 32-bit audio hash of the 1 s around
  it (signs of the segment's spectral-shape deviation from the clip's mean shape across 33 log-
  spaced bands, in the spirit of Haitsma & Kalker, "A Highly Robust Audio Fingerprinting
  System", ISMIR 2002, but at a coarse time scale so that re-encodes and slightly different
  trims still agree).

:func:`group_duplicates` finds clips whose picture *and* sound agree (same camera with different
events, or the same song over different pictures, are not duplicates) without comparing all
pairs: locality-sensitive hashing by bands — a pair is a candidate only when, at one position,
one 16-bit band of the frame hash and one 8-bit band of the audio hash are both identical (at
a position where a clip has no audio hash, the frame band alone keys it).
Candidates are then verified on all positions. Candidate generation is a sort of
``clips × 16`` keys per position, so 100 k clips cost seconds, not ``n²`` comparisons.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vaar.curation.media import run_tool
from vaar.curation.sync import (
    AUDIO_RATE,
    DecodedClip,
    SyncEstimate,
    Verdict,
    decode_clip,
    estimate_offset,
    motion_energy,
)
from vaar.errors import MissingDependencyError, VerifyError

OutOfSyncPolicy = Literal["flag", "reject", "fix"]
FP_POSITIONS = 8  # sampled instants per clip for the fingerprint


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
    * ``fix`` — re-mux with the measured offset removed (:func:`fix_offset`: audio re-encoded,
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
    # near-duplicates (group_duplicates)
    dup_video_bits: int = 12  # max Hamming distance of two 64-bit frame hashes that agree
    dup_audio_bits: int = 8  # max Hamming distance of two 32-bit audio hashes that agree
    dup_min_agree: float = 0.75  # share of comparable positions that must agree (each modality)


@dataclass(frozen=True)
class Fingerprint:
    """Per-position frame hashes (64-bit) and audio hashes (32-bit); ``None`` where flat/silent."""

    video: tuple[int | None, ...]
    audio: tuple[int | None, ...]

    def to_json(self) -> str:
        """Compact text for a ledger column (hex, ``null`` for missing)."""
        return json.dumps(
            [[None if h is None else f"{h:x}" for h in hs] for hs in (self.video, self.audio)],
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        video, audio = json.loads(text)
        return cls(
            tuple(None if h is None else int(h, 16) for h in video),
            tuple(None if h is None else int(h, 16) for h in audio),
        )


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


def _resize_matrix(n_out: int, n_in: int) -> npt.NDArray[np.float64]:
    """(n_out, n_in) box-filter resampling matrix."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = edges[i], edges[i + 1]
        for j in range(int(lo), min(int(np.ceil(hi)), n_in)):
            m[i, j] = min(hi, j + 1) - max(lo, j)
    return m / m.sum(axis=1, keepdims=True)


def _dct_matrix(n: int) -> npt.NDArray[np.float64]:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    return np.cos(np.pi * (2 * x + 1) * k / (2 * n))


_DCT32 = _dct_matrix(32)


def _bits_to_int(bits: npt.NDArray[np.bool_]) -> int:
    return int.from_bytes(np.packbits(bits.astype(np.uint8)).tobytes(), "big")


def frame_hashes(
    frames: npt.NDArray[np.uint8], positions: int = FP_POSITIONS
) -> tuple[int | None, ...]:
    """64-bit DCT hash of the frames at ``positions`` evenly spaced instants."""
    t, h, w = frames.shape
    rh, rw = _resize_matrix(32, h), _resize_matrix(32, w)
    out: list[int | None] = []
    for i in range(positions):
        f = frames[min(t - 1, int((i + 0.5) * t / positions))].astype(np.float64)
        if f.std() < 2.0:  # flat (black, one colour): no structure to hash
            out.append(None)
            continue
        small = rh @ f @ rw.T  # (32, 32)
        dct = _DCT32 @ small @ _DCT32.T  # (32, 32)
        coeffs = np.concatenate([dct[:8, :8].ravel()[1:], dct[8:9, 0]])  # low band, no DC: (64,)
        out.append(_bits_to_int(coeffs > np.median(coeffs)))
    return tuple(out)


def audio_hashes(
    audio: npt.NDArray[np.float32], silence_db: float, positions: int = FP_POSITIONS
) -> tuple[int | None, ...]:
    """32-bit spectral-shape hash of the 1 s of audio around each of ``positions`` instants."""
    n_fft, hop = 512, 256
    if audio.size < AUDIO_RATE:
        return (None,) * positions
    frames = np.lib.stride_tricks.sliding_window_view(audio, n_fft)[::hop]  # (F, 512)
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2  # (F, 257)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / AUDIO_RATE)
    edges = np.geomspace(100.0, 7500.0, 34)
    band = np.stack(
        [
            power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1)
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ],
        axis=1,
    )  # (F, 33)
    logb = np.log10(band + 1e-10)
    shape = np.diff(logb, axis=1)  # (F, 32): spectral shape per frame
    mean_shape = shape.mean(axis=0)
    frame_db = 10.0 * np.log10((frames.astype(np.float64) ** 2).mean(axis=1) + 1e-12)  # (F,)
    per_sec = AUDIO_RATE / hop
    out: list[int | None] = []
    f_count = shape.shape[0]
    for i in range(positions):
        c = int((i + 0.5) * f_count / positions)
        lo, hi = max(0, c - int(per_sec / 2)), min(f_count, c + int(per_sec / 2))
        if hi <= lo or float(np.median(frame_db[lo:hi])) < silence_db:
            out.append(None)
            continue
        out.append(_bits_to_int(shape[lo:hi].mean(axis=0) > mean_shape))
    return tuple(out)


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


# ---------------------------------------------------------------------------------------------
# fix policy


def _probe_video_span(path: Path) -> tuple[float, float]:
    """(video end on the ffmpeg timeline — file start at 0 —, file start) of ``path``."""
    cmd = [
        "ffprobe", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "stream=start_time,duration:format=start_time,duration",
        "-of", "default=nw=1", str(path),
    ]  # fmt: skip
    proc = run_tool(cmd)
    if proc.returncode != 0:
        raise VerifyError(f"cannot probe {path.name}: {proc.stderr.decode(errors='replace').strip()[:200]}")
    vals = [ln.partition("=")[::2] for ln in proc.stdout.decode(errors="replace").splitlines() if "=" in ln]

    def num(x: str) -> float | None:
        try:
            return float(x)
        except ValueError:
            return None

    # stream entries come first, then the format's
    starts = [num(v) for k, v in vals if k == "start_time"]
    durs = [num(v) for k, v in vals if k == "duration"]
    v_start = starts[0] if starts and starts[0] is not None else 0.0
    f_start = starts[-1] if len(starts) > 1 and starts[-1] is not None else v_start
    v_dur = next((d for d in durs if d is not None), None)
    if v_dur is None:
        raise VerifyError(f"cannot tell the video duration of {path.name}")
    return v_start - f_start + v_dur, f_start


def fix_offset(src: Path, dst: Path, offset_ms: float, *, audio_bitrate: str = "128k") -> None:
    """Write ``dst``: ``src`` with its audio moved by ``-offset_ms`` (positive offset = audio
    late, so it is moved earlier). The video stream is copied; the audio is re-encoded (AAC)
    so that it starts with the picture and ends with it (trimmed or padded with silence).
    ``dst`` is written to a temporary name in its folder and renamed.
    """
    src, dst = Path(src), Path(dst)
    v_end, _ = _probe_video_span(src)
    shift = -offset_ms / 1000.0
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dst.stem}.", suffix=dst.suffix or ".mp4", dir=dst.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    af = f"aresample=async=1:first_pts=0,apad=whole_dur={v_end:.6f},atrim=end={v_end:.6f}"
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(src), "-itsoffset", f"{shift:.6f}", "-i", str(src),
        "-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "-1", "-map_chapters", "-1", "-c:v", "copy", "-af", af,
        "-c:a", "aac", "-b:a", audio_bitrate, "-movflags", "+faststart", str(tmp),
    ]  # fmt: skip
    try:
        proc = run_tool(cmd)
    except MissingDependencyError:
        tmp.unlink(missing_ok=True)
        raise
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        msg = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["ffmpeg failed"]
        raise VerifyError(f"could not fix the offset: {msg[0][:200]}")
    os.replace(tmp, dst)


# ---------------------------------------------------------------------------------------------
# near-duplicates


def _popcount(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    return np.bitwise_count(x)


def _agree(
    a: npt.NDArray[np.uint64],
    b: npt.NDArray[np.uint64],
    ok_a: npt.NDArray[np.bool_],
    ok_b: npt.NDArray[np.bool_],
    max_bits: int,
    min_share: float,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per pair (rows): (agrees, comparable) over positions (columns)."""
    both = ok_a & ok_b  # (P, K)
    close = (_popcount(a ^ b) <= max_bits) & both
    n = both.sum(axis=1)
    agrees = (n > 0) & (close.sum(axis=1) >= np.ceil(min_share * np.maximum(n, 1)))
    return agrees, n > 0


def group_duplicates(
    fingerprints: Mapping[str, Fingerprint],
    cfg: QCConfig = QCConfig(),  # noqa: B008 (frozen)
) -> dict[str, str]:
    """Near-duplicate groups: ``{clip_id: dup_group}`` for every clip that has at least one
    near-duplicate (clips without one are absent). The group id is the smallest ``clip_id`` of
    the group, so the result does not depend on input order or on how the build was sharded.

    Two clips are near-duplicates when, at ``dup_min_agree`` of the positions where both have a
    frame hash, the hashes differ in at most ``dup_video_bits`` bits, and the same holds for the
    audio hashes (``dup_audio_bits``) — unless one of them has no usable audio hash at all, when
    the picture alone decides. Groups are the connected components of that relation.
    """
    ids = sorted(fingerprints)
    n = len(ids)
    if n < 2:
        return {}
    k = max(max(len(fingerprints[c].video), len(fingerprints[c].audio)) for c in ids)
    vid = np.zeros((n, k), np.uint64)
    aud = np.zeros((n, k), np.uint64)
    vok = np.zeros((n, k), bool)
    aok = np.zeros((n, k), bool)
    for i, c in enumerate(ids):
        fp = fingerprints[c]
        for j, hv in enumerate(fp.video):
            if hv is not None:
                vid[i, j], vok[i, j] = hv, True
        for j, ha in enumerate(fp.audio):
            if ha is not None:
                aud[i, j], aok[i, j] = ha, True

    # candidate keys, per position: (video band, audio band, 16 video bits, 8 audio bits)
    rows = np.arange(n, dtype=np.int64)
    found: list[npt.NDArray[np.int64]] = []  # pairs encoded as a * n + b, a < b
    for j in range(k):
        sel = vok[:, j]
        if sel.sum() < 2:
            continue
        v, a, has_a, own = vid[sel, j], aud[sel, j], aok[sel, j], rows[sel]
        keys = []
        for vb in range(4):
            vbits = (v >> np.uint64(16 * vb)) & np.uint64(0xFFFF)
            for ab in range(4):
                abits = (a >> np.uint64(8 * ab)) & np.uint64(0xFF)
                # no audio hash here: a value no 8-bit band takes, so the picture alone keys it
                abits = np.where(has_a, abits, np.uint64(0x100))
                combo = np.uint64(vb * 4 + ab)
                keys.append((combo << np.uint64(32)) | (vbits << np.uint64(16)) | abits)
        all_keys = np.concatenate(keys)
        all_own = np.tile(own, 16)
        order = np.lexsort((all_own, all_keys))
        sk, so = all_keys[order], all_own[order]
        bounds = np.flatnonzero(np.diff(sk) != 0) + 1
        starts = np.concatenate([[0], bounds])
        sizes = np.diff(np.concatenate([starts, [sk.size]]))
        two = starts[sizes == 2]
        found.append(so[two] * n + so[two + 1])
        for st, size in zip(starts[sizes > 2], sizes[sizes > 2], strict=True):
            members = np.unique(so[st : st + size])
            ia, ib = np.triu_indices(members.size, 1)
            found.append(members[ia] * n + members[ib])
    codes = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    codes = codes[codes // n != codes % n]
    if codes.size == 0:
        return {}
    pairs = np.stack([codes // n, codes % n], axis=1)
    pa, pb = pairs[:, 0], pairs[:, 1]
    v_agree, _ = _agree(vid[pa], vid[pb], vok[pa], vok[pb], cfg.dup_video_bits, cfg.dup_min_agree)
    a_agree, a_comp = _agree(
        aud[pa], aud[pb], aok[pa], aok[pb], cfg.dup_audio_bits, cfg.dup_min_agree
    )
    dup = v_agree & (a_agree | ~a_comp)

    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(pa[dup].tolist(), pb[dup].tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)  # the root is the smallest index = smallest id
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    out: dict[str, str] = {}
    for root, group in groups.items():
        if len(group) > 1:
            for m in group:
                out[ids[m]] = ids[root]
    return out
