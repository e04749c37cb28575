"""Silence / frozen / black checks, the out-of-sync policies, fix_offset and near-duplicates."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest

from tests.fixtures import sync_media as sm
from vaar.core.errors import VerifyError
from vaar.curation.build.fingerprint import Fingerprint, group_duplicates
from vaar.curation.build.media import fix_offset
from vaar.curation.build.quality import ClipQC, QCConfig, check_clip


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quality_media")


@pytest.fixture(scope="module")
def good(media: Path) -> Path:
    return sm.event_clip(media / "good.mp4", background="testsrc2", duration=4.0)


def test_good_clip_passes(good: Path) -> None:
    qc = check_clip(good)
    assert qc.reject_reason(QCConfig()) is None
    assert qc.sync_verdict == "in_sync"
    assert qc.silence_fraction < 0.1 and qc.frozen_fraction < 0.1 and qc.black_fraction == 0.0
    row = qc.as_row()
    assert set(row) == {
        "av_offset_ms", "sync_confidence", "sync_verdict", "silence_fraction",
        "frozen_fraction", "black_fraction", "video_start_time", "audio_start_time",
    }  # fmt: skip
    assert pickle.loads(pickle.dumps(qc)) == qc  # crosses process boundaries
    assert len(pickle.dumps(qc.fingerprint)) < 1000
    assert Fingerprint.from_json(qc.fingerprint.to_json()) == qc.fingerprint


@pytest.mark.parametrize(
    ("maker", "reason"),
    [(sm.silent_clip, "silent"), (sm.frozen_clip, "frozen"), (sm.black_clip, "black")],
)
def test_unfit_clips_are_rejected_with_reason(media: Path, maker, reason: str) -> None:  # type: ignore[no-untyped-def]
    qc = check_clip(maker(media / f"{reason}.mp4"))
    why = qc.reject_reason(QCConfig())
    assert why is not None and why.startswith(reason)
    assert getattr(qc, f"{'silence' if reason == 'silent' else reason}_fraction") > 0.9


def test_thresholds_come_from_the_config(media: Path) -> None:
    qc = check_clip(sm.frozen_clip(media / "frozen_cfg.mp4"))
    assert qc.reject_reason(QCConfig(max_frozen_fraction=1.0)) is None


def test_out_of_sync_policy(media: Path) -> None:
    qc = check_clip(sm.event_clip(media / "late.mp4", audio_shift_ms=480, background="testsrc2"))
    assert qc.sync_verdict == "out_of_sync"
    assert qc.reject_reason(QCConfig(out_of_sync="flag")) is None
    assert qc.reject_reason(QCConfig(out_of_sync="fix")) is None
    why = qc.reject_reason(QCConfig(out_of_sync="reject"))
    assert why is not None and why.startswith("out of sync")


def test_check_clip_errors(media: Path, tmp_path: Path) -> None:
    with pytest.raises(VerifyError, match="no audio") as exc:
        check_clip(sm.video_only_clip(media / "vonly.mp4"))
    assert exc.value.status == "rejected"
    with pytest.raises(VerifyError, match="no video"):
        check_clip(sm.audio_only_clip(media / "aonly.mp4"))
    with pytest.raises(VerifyError, match="not found"):
        check_clip(tmp_path / "nope.mp4")


@pytest.mark.parametrize(("how", "offset"), [("samples", 200), ("container", -480)])
def test_fix_offset_removes_the_offset(media: Path, how: str, offset: int) -> None:
    kw = {"audio_shift_ms" if how == "samples" else "container_shift_ms": offset}
    src = sm.event_clip(media / f"fix_src_{how}.mp4", background="testsrc2", **kw)  # type: ignore[arg-type]
    before = check_clip(src)
    assert before.av_offset_ms is not None and before.sync_verdict == "out_of_sync"
    dst = media / f"fixed_{how}" / "clip.mp4"
    fix_offset(src, dst, before.av_offset_ms)
    after = check_clip(dst)
    assert after.sync_verdict == "in_sync"
    assert after.av_offset_ms is not None and abs(after.av_offset_ms) <= 20
    assert abs(after.video_start_time - after.audio_start_time) < 0.05
    assert sorted(p.name for p in dst.parent.iterdir()) == [dst.name]  # no temp file left


def test_near_duplicates_need_picture_and_sound(media: Path) -> None:
    tune = sm.melody_clip(media / "tune.mp4", seed=1)
    fps = {
        "b_tune": check_clip(tune).fingerprint,
        # re-encoded smaller and worse; and also cut 120 ms later
        "a_small": check_clip(
            sm.reencode(tune, media / "small.mp4", height=72, crf=32)
        ).fingerprint,
        "e_trim": check_clip(
            sm.reencode(tune, media / "trim.mp4", height=72, crf=32, trim_s=0.12)
        ).fingerprint,
        # the same picture with another tune; the same tune over another picture
        "c_same_picture": check_clip(sm.melody_clip(media / "tune2.mp4", seed=2)).fingerprint,
        "d_same_sound": check_clip(
            sm.melody_clip(media / "tune_blue.mp4", seed=1, picture="blue")
        ).fingerprint,
    }
    groups = group_duplicates(fps)
    assert groups == {"a_small": "a_small", "b_tune": "a_small", "e_trim": "a_small"}
    assert group_duplicates(dict(reversed(list(fps.items())))) == groups  # order-independent


def _random_fp(rng: random.Random) -> Fingerprint:
    return Fingerprint(
        tuple(rng.getrandbits(64) for _ in range(8)), tuple(rng.getrandbits(32) for _ in range(8))
    )


def _perturb(fp: Fingerprint, rng: random.Random, vbits: int, abits: int) -> Fingerprint:
    def flip(h: int | None, width: int, n: int) -> int | None:
        assert h is not None
        for b in rng.sample(range(width), n):
            h ^= 1 << b
        return h

    return Fingerprint(
        tuple(flip(h, 64, vbits) for h in fp.video), tuple(flip(h, 32, abits) for h in fp.audio)
    )


def test_grouping_scales_without_all_pairs() -> None:
    rng = random.Random(3)
    fps = {f"clip{i:06d}": _random_fp(rng) for i in range(30_000)}
    for i in range(0, 300, 3):  # 100 planted near-duplicates of random clips
        src = f"clip{i * 7:06d}"
        fps[f"dup{i:04d}"] = _perturb(fps[src], rng, vbits=4, abits=2)
    groups = group_duplicates(fps)  # speed: benchmarks/bench_sync.py (100 k clips in seconds)
    assert len(groups) == 200
    for i in range(0, 300, 3):
        assert groups[f"dup{i:04d}"] == f"clip{i * 7:06d}"


def test_missing_hashes_do_not_crash() -> None:
    flat = Fingerprint((None,) * 8, (None,) * 8)
    assert group_duplicates({"a": flat, "b": flat}) == {}
    assert group_duplicates({}) == {}


def test_clipqc_is_a_frozen_dataclass() -> None:
    assert ClipQC.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_clip_stages_are_one_signature_and_name_the_manifest_stage() -> None:
    import inspect

    from vaar.curation.build.stages import CLIP_STAGES

    # the names are the manifest's `stage` values for a clip stopped there
    assert [s.__name__ for s in CLIP_STAGES] == ["trim", "verify", "sync", "quality"]
    assert {str(inspect.signature(s)) for s in CLIP_STAGES} == {"(w: 'ClipWork') -> 'None'"}
