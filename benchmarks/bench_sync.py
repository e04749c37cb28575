"""Speed and accuracy of the sync and quality checks (``vaar verify-sync``, ``check_clip``).

    python benchmarks/bench_sync.py speed              # CPU per 10 s 360p clip vs trim + probe
    python benchmarks/bench_sync.py accuracy           # fixture offsets + real recorded sounds
    python benchmarks/bench_sync.py dups --n 100000    # near-duplicate grouping at scale
    python benchmarks/bench_sync.py all

CPU times are user + system of this process and its ffmpeg children (``resource``), the median
of ``--reps`` runs; they do not include interpreter start-up and imports.

The "real sounds" set mixes recorded sounds shipped by Debian packages (``pingus-data``:
splash, plop, chink, digging...; ``sound-theme-freedesktop``: camera shutter, crumpled paper,
bell, plugs...) over brown-noise ambience, and cuts between photographic textures
(``pingus-data``'s ``textures/*.jpg``) that slowly pan, with a hard cut at each sound. No Debian
package ships real footage with sound, so the pictures are stills in motion, not video. The
truth of an event is the first sample of the sound above 10 % of its peak; the sound is placed
``offset`` ms after the cut. Clips also get distractors: a cut with no sound, a sound with no cut.
Install the packages with ``apt-get install pingus-data sound-theme-freedesktop``.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures import sync_media as sm  # noqa: E402
from vaar.curation.build.decode import decode_clip
from vaar.curation.build.fingerprint import Fingerprint, group_duplicates  # noqa: E402
from vaar.curation.build.quality import QCConfig, check_clip  # noqa: E402
from vaar.curation.build.sync import estimate_offset  # noqa: E402

PINGUS = Path("/usr/share/games/pingus/data")
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
SOUNDS = [
    *(PINGUS / "sounds" / f"{n}.wav" for n in ("splash", "chink", "plop", "plop2", "digger", "tick", "ting")),
    *(
        FREEDESKTOP / f"{n}.oga"
        for n in (
            "camera-shutter", "trash-empty", "bell", "power-plug", "power-unplug",
            "screen-capture", "device-added", "window-attention", "dialog-warning",
        )
    ),
]  # fmt: skip
FPS = 25


def cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def timed(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = cpu()
        fn()
        times.append(cpu() - t0)
    return statistics.median(times)


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode()[-1500:])


# ------------------------------------------------------------------------------------------
# real-sound material


def attack_time(path: Path) -> float:
    """Seconds from the start of ``path`` to its first sample above 10 % of the peak."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", "48000", "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    x = np.abs(np.frombuffer(raw, np.float32))
    return float(np.argmax(x > 0.1 * x.max()) / 48000)


def real_clip(
    out: Path,
    rng: random.Random,
    *,
    offset_ms: float,
    duration: float = 8.0,
    size: tuple[int, int] = (640, 360),
    n_events: int | None = None,
    related: bool = True,
    attacks: dict[Path, float],
    images: list[Path],
) -> list[float]:
    """A clip of real sounds over panning photos with a cut at each sound; returns event times.

    ``related=False`` puts the sounds at times unrelated to the cuts (no true offset).
    ``n_events=0`` gives ambience over a single slow pan (no events).
    """
    w, h = size
    n = rng.randint(1, 3) if n_events is None else n_events
    frames = int(duration * FPS)
    grid = list(range(int(1.0 * FPS), int((duration - 1.5) * FPS)))
    cuts: list[int] = []
    while len(cuts) < n:
        c = rng.choice(grid)
        if all(abs(c - o) >= FPS for o in cuts):
            cuts.append(c)
    cuts.sort()
    events = [c / FPS for c in cuts]
    sound_times = [t + offset_ms / 1000.0 for t in events]
    vis_cuts = list(cuts)
    if n and related and rng.random() < 0.3:  # distractor: a cut with no sound
        c = rng.choice(grid)
        if all(abs(c - o) >= 12 for o in vis_cuts):
            vis_cuts = sorted([*vis_cuts, c])
    if not related:
        sound_times = [rng.uniform(0.8, duration - 1.0) for _ in range(n)]
    if n and rng.random() < 0.3:  # distractor: a sound with no cut, far from the events
        t = rng.uniform(0.5, duration - 0.8)
        if all(abs(t - e) > 1.2 for e in events):
            sound_times.append(t)
    bounds = [0, *vis_cuts, frames]
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    filters = []
    for k in range(len(bounds) - 1):
        seg = (bounds[k + 1] - bounds[k]) / FPS
        cmd += [
            "-loop",
            "1",
            "-framerate",
            str(FPS),
            "-t",
            f"{seg:.4f}",
            "-i",
            str(rng.choice(images)),
        ]
        x0, vx = rng.randint(0, w), rng.choice([-30, -15, 15, 30])
        filters.append(
            f"[{k}:v]scale={2 * w}:{2 * h},setsar=1,"
            f"crop={w}:{h}:x='{w // 2}+{w // 2 - 20}*sin(({x0}+t*{vx})/{w})':y='{h // 4}+t*8',"
            f"format=yuv420p[v{k}]"
        )
    nv = len(bounds) - 1
    filters.append("".join(f"[v{k}]" for k in range(nv)) + f"concat=n={nv}:v=1:a=0[vout]")
    cmd += ["-f", "lavfi", "-i", f"anoisesrc=c=brown:a=0.03:r=48000:d={duration}"]
    amb = nv
    mix = [f"[{amb}:a]aformat=channel_layouts=stereo[amb]"]
    labels = ["[amb]"]
    for i, t in enumerate(sound_times):
        snd = rng.choice(SOUNDS)
        delay = max(0.0, t - attacks[snd])
        cmd += ["-i", str(snd)]
        gain = rng.uniform(0.5, 1.0)
        mix.append(
            f"[{amb + 1 + i}:a]aresample=48000,aformat=channel_layouts=stereo,"
            f"volume={gain:.2f},adelay={delay * 1000:.1f}:all=1[s{i}]"
        )
        labels.append(f"[s{i}]")
    mix.append("".join(labels) + f"amix=inputs={len(labels)}:normalize=0:duration=first[aout]")
    cmd += ["-filter_complex", ";".join(filters + mix), "-map", "[vout]", "-map", "[aout]"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-b:a", "128k"]
    cmd += ["-t", f"{duration}", str(out)]
    run(cmd)
    return events


# ------------------------------------------------------------------------------------------
# benchmarks


def bench_speed(reps: int) -> None:
    from vaar.curation.build.media import MediaConfig, probe, trim_normalise

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        # a 20 s 720p source to cut from, and a 10 s 360p clip as the build makes them
        src = d / "source.mp4"
        run([
            "ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=20",
            "-f", "lavfi", "-i", "anoisesrc=c=pink:a=0.1:r=48000:d=20",
            "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(src),
        ])  # fmt: skip
        cfg = MediaConfig()

        def trim_probe() -> None:
            trim_normalise(src, 5.0, 10.0, d / "clip.mp4", d / "clip.flac", cfg)
            probe(d / "clip.mp4", count_packets=True)

        t_trim = timed(trim_probe, reps)
        clip = d / "clip.mp4"
        info = probe(clip)["streams"][0]
        t_sync = timed(lambda: estimate_offset(decode_clip(clip)), reps)
        t_all = timed(lambda: check_clip(clip), reps)
        print(f"clip: {info['width']}x{info['height']} {info['codec_name']}, 10 s")
        print(f"trim+normalise+probe (MediaConfig defaults): {t_trim:.3f} s CPU")
        print(f"verify-sync (decode + offset):               {t_sync:.3f} s CPU")
        print(f"check_clip (sync + quality + fingerprint):   {t_all:.3f} s CPU "
              f"= {100 * t_all / t_trim:.0f} % of trim+probe")  # fmt: skip


Row = tuple[str, "float | None", Any]  # (set, true offset ms or None, SyncEstimate)


def bench_accuracy(n_real: int, seed: int) -> None:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rows += _fixture_rows(d)
        missing = [s for s in SOUNDS if not s.exists()]
        images = sorted((PINGUS / "images" / "textures").glob("*.jpg"))
        if missing or not images:
            print("real-sound set skipped: apt-get install pingus-data sound-theme-freedesktop")
        else:
            rows += _real_rows(d, n_real, seed, images)
    _print_accuracy(rows)


def _fixture_rows(d: Path) -> list[Row]:
    """1. the fixtures: every offset, both ways of shifting, two pictures, two event sets."""
    rows: list[Row] = []
    for bg in ("gray", "testsrc2"):
        for events in (sm.DEFAULT_EVENTS, (1.2, 3.0)):
            for off in (0, 40, -40, 120, -120, 200, -200, 480, -480):
                for how in ("audio_shift_ms", "container_shift_ms"):
                    p = d / "fx.mp4"
                    sm.event_clip(p, events=events, background=bg, **{how: off})  # type: ignore[arg-type]
                    rows.append(("fixture", off, estimate_offset(decode_clip(p))))
    for pic in ("gray", "testsrc2"):
        p = d / "fx.mp4"
        sm.no_event_clip(p, picture=pic)
        rows.append(("fixture-noevents", None, estimate_offset(decode_clip(p))))
    return rows


def _real_rows(d: Path, n_real: int, seed: int, images: list[Path]) -> list[Row]:
    """2. real recorded sounds over panning photos (and clips with no or unrelated events)."""
    rows: list[Row] = []
    rng = random.Random(seed)
    attacks = {s: attack_time(s) for s in SOUNDS}
    offsets = [0, 0, 40, -40, 80, -80, 120, -120, 200, -200, 320, -320, 480, -480, 700, -700]
    for i in range(n_real):
        shift = float(rng.choice(offsets)) if i % 4 else rng.uniform(-600, 600)
        p = d / "real.mp4"
        real_clip(p, rng, offset_ms=shift, attacks=attacks, images=images)
        rows.append(("real", shift, estimate_offset(decode_clip(p))))
    for name, kwargs in (("real-noevents", {"n_events": 0}), ("real-unrelated", {"related": False})):
        for _ in range(max(4, n_real // 5)):
            p = d / "neg.mp4"
            real_clip(p, rng, offset_ms=0, attacks=attacks, images=images, **kwargs)
            rows.append((name, None, estimate_offset(decode_clip(p))))
    return rows


def _print_accuracy(rows: list[Row]) -> None:
    tol = 1000.0 / FPS

    def verdict(truth: float) -> str:
        return "in_sync" if abs(truth) <= 80 else "out_of_sync"

    print(f"{'set':16s} {'clips':>5s} {'verified':>9s} {'≤1 frame, all':>14s} "
          f"{'≤1 frame, verified':>19s} {'right verdict':>14s} {'median |err|':>13s}")  # fmt: skip
    for name in dict.fromkeys(r[0] for r in rows):
        sub = [r for r in rows if r[0] == name]
        ver = [r for r in sub if r[2].verdict != "unverifiable"]
        if sub[0][1] is None:
            print(
                f"{name:16s} {len(sub):5d} {len(ver) / len(sub):9.0%}   (should be 0 %: no true offset)"
            )
            continue
        errs = [abs(r[2].offset_ms - r[1]) for r in ver]
        within = sum(e <= tol for e in errs)
        right = sum(r[2].verdict == verdict(r[1] or 0.0) for r in sub)
        print(
            f"{name:16s} {len(sub):5d} {len(ver) / len(sub):9.0%} {within / len(sub):14.0%} "
            f"{within / max(1, len(ver)):19.0%} {right / len(sub):14.0%} "
            f"{statistics.median(errs) if errs else float('nan'):10.1f} ms"
        )
        for r in [r for r in ver if abs(r[2].offset_ms - r[1]) > tol][:8]:
            print(f"    wrong: truth {r[1]:+.0f} ms -> {r[2]}")
    print("verified = not unverifiable; 'all' columns count unverifiable clips as misses")


def bench_dups(n: int) -> None:
    rng = random.Random(0)
    fps = {
        f"c{i:07d}": Fingerprint(
            tuple(rng.getrandbits(64) for _ in range(8)),
            tuple(rng.getrandbits(32) for _ in range(8)),
        )
        for i in range(n)
    }
    t0 = time.perf_counter()
    groups = group_duplicates(fps, QCConfig())
    print(
        f"group_duplicates: {n} clips in {time.perf_counter() - t0:.2f} s wall, {len(groups)} grouped"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("what", choices=["speed", "accuracy", "dups", "all"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--real", type=int, default=60, help="real-sound clips with events")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=100_000, help="fingerprints for the dups benchmark")
    args = ap.parse_args()
    if args.what in ("speed", "all"):
        bench_speed(args.reps)
    if args.what in ("accuracy", "all"):
        bench_accuracy(args.real, args.seed)
    if args.what in ("dups", "all"):
        bench_dups(args.n)


if __name__ == "__main__":
    main()
