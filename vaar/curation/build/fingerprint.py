"""Clip fingerprints and near-duplicate grouping.

A :class:`Fingerprint` holds, at ``FP_POSITIONS`` evenly spaced instants, a 64-bit DCT
perceptual hash of the frame (the "pHash" construction: low 8×8 DCT coefficients of a 32×32
thumbnail against their median, Zauner 2010) and a 32-bit audio hash of the 1 s around it (signs
of the segment's spectral-shape deviation from the clip's mean shape across 33 log-spaced bands,
in the spirit of Haitsma & Kalker, "A Highly Robust Audio Fingerprinting System", ISMIR 2002, but
at a coarse time scale so that re-encodes and slightly different trims still agree).

:func:`group_duplicates` finds clips whose picture *and* sound agree (same camera with different
events, or the same song over different pictures, are not duplicates) without comparing all
pairs: locality-sensitive hashing by bands — a pair is a candidate only when, at one position,
one 16-bit band of the frame hash and one 8-bit band of the audio hash are both identical (at
a position where a clip has no audio hash, the frame band alone keys it).
Candidates are then verified on all positions. Candidate generation is a sort of
``clips × 16`` keys per position, so 100 k clips cost seconds, not ``n²`` comparisons.
Groups are the connected components of the verified pairs (:mod:`vaar.core._util.graph`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vaar.core._util.graph import components
from vaar.curation.build.decode import AUDIO_RATE

FP_POSITIONS = 8  # sampled instants per clip for the fingerprint
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]


class DupThresholds(Protocol):
    """When two fingerprints agree (:class:`vaar.curation.build.quality.QCConfig` has these fields)."""

    @property
    def dup_video_bits(self) -> int: ...  # max Hamming distance of two 64-bit frame hashes
    @property
    def dup_audio_bits(self) -> int: ...  # max Hamming distance of two 32-bit audio hashes
    @property
    def dup_min_agree(self) -> float: ...  # share of comparable positions that must agree


@dataclass(frozen=True)
class DupParams:
    """The default thresholds (the same defaults as ``QCConfig``)."""

    dup_video_bits: int = 12
    dup_audio_bits: int = 8
    dup_min_agree: float = 0.75


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


# ---------------------------------------------------------------------------------------------
# near-duplicates


def _popcount(x: U64) -> npt.NDArray[np.uint8]:
    return np.bitwise_count(x)


def _agree(a: U64, b: U64, ok_a: Mask, ok_b: Mask, max_bits: int,
           min_share: float) -> tuple[Mask, Mask]:
    """Per pair (rows): (agrees, comparable) over positions (columns)."""
    both = ok_a & ok_b  # (P, K)
    close = (_popcount(a ^ b) <= max_bits) & both
    n = both.sum(axis=1)
    agrees = (n > 0) & (close.sum(axis=1) >= np.ceil(min_share * np.maximum(n, 1)))
    return agrees, n > 0


@dataclass(frozen=True)
class _Hashes:
    """All fingerprints as matrices (clips × positions) with presence masks."""

    vid: U64
    aud: U64
    vok: Mask
    aok: Mask


def _hash_matrices(fingerprints: Mapping[str, Fingerprint], ids: list[str]) -> _Hashes:
    n = len(ids)
    k = max(max(len(fingerprints[c].video), len(fingerprints[c].audio)) for c in ids)
    h = _Hashes(np.zeros((n, k), np.uint64), np.zeros((n, k), np.uint64),
                np.zeros((n, k), bool), np.zeros((n, k), bool))
    for i, c in enumerate(ids):
        fp = fingerprints[c]
        for hashes, values, ok in ((fp.video, h.vid, h.vok), (fp.audio, h.aud, h.aok)):
            for j, x in enumerate(hashes):
                if x is not None:
                    values[i, j], ok[i, j] = x, True
    return h


def _band_keys(v: U64, a: U64, has_a: Mask) -> U64:
    """(video band, audio band, 16 video bits, 8 audio bits) keys: 16 per clip, band-major."""
    keys = []
    for vb in range(4):
        vbits = (v >> np.uint64(16 * vb)) & np.uint64(0xFFFF)
        for ab in range(4):
            abits = (a >> np.uint64(8 * ab)) & np.uint64(0xFF)
            # no audio hash here: a value no 8-bit band takes, so the picture alone keys it
            abits = np.where(has_a, abits, np.uint64(0x100))
            combo = np.uint64(vb * 4 + ab)
            keys.append((combo << np.uint64(32)) | (vbits << np.uint64(16)) | abits)
    return np.concatenate(keys)


def _position_pairs(h: _Hashes, j: int, n: int) -> list[npt.NDArray[np.int64]]:
    """Candidate pairs (encoded ``a * n + b``, ``a < b``) sharing a band key at position ``j``."""
    sel = h.vok[:, j]
    if sel.sum() < 2:
        return []
    own = np.arange(n, dtype=np.int64)[sel]
    all_keys = _band_keys(h.vid[sel, j], h.aud[sel, j], h.aok[sel, j])
    all_own = np.tile(own, 16)
    order = np.lexsort((all_own, all_keys))
    sk, so = all_keys[order], all_own[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sk) != 0) + 1])
    sizes = np.diff(np.concatenate([starts, [sk.size]]))
    two = starts[sizes == 2]
    found = [so[two] * n + so[two + 1]]
    for st, size in zip(starts[sizes > 2], sizes[sizes > 2], strict=True):
        members = np.unique(so[st : st + size])
        ia, ib = np.triu_indices(members.size, 1)
        found.append(members[ia] * n + members[ib])
    return found


def _verified_pairs(h: _Hashes, n: int, cfg: DupThresholds) -> tuple[npt.NDArray[np.int64], ...]:
    """The candidate pairs whose picture (and, where comparable, sound) agree: (a, b)."""
    found = [p for j in range(h.vid.shape[1]) for p in _position_pairs(h, j, n)]
    codes = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    codes = codes[codes // n != codes % n]
    pa, pb = codes // n, codes % n
    v_agree, _ = _agree(h.vid[pa], h.vid[pb], h.vok[pa], h.vok[pb], cfg.dup_video_bits, cfg.dup_min_agree)
    a_agree, a_comp = _agree(h.aud[pa], h.aud[pb], h.aok[pa], h.aok[pb], cfg.dup_audio_bits,
                             cfg.dup_min_agree)
    dup = v_agree & (a_agree | ~a_comp)
    return pa[dup], pb[dup]


def group_duplicates(
    fingerprints: Mapping[str, Fingerprint], cfg: DupThresholds = DupParams()  # noqa: B008 (frozen)
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
    pa, pb = _verified_pairs(_hash_matrices(fingerprints, ids), n, cfg)
    out: dict[str, str] = {}
    for group in components(n, pa, pb):  # each sorted: group[0] is the smallest id
        if len(group) > 1:
            for m in group:
                out[ids[m]] = ids[group[0]]
    return out
