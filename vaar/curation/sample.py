"""The embedded default: a small ten-class dataset generated here, built like any other.

``vaar build --sample`` makes synthetic source videos with ffmpeg, serves them on 127.0.0.1 and
runs the real build on a source list pointing at them: same yt-dlp download, same trim, verify,
ledger, manifest and publish. Nothing is special-cased for the sample.

Each class has a *sound* and a *picture*, and the pairing is built so that each modality alone
confuses pairs of classes while the two together separate all ten::

    sound groups   {abuse, baby_cry} {brawling, crash} {explosion, intruder} {normal, pain}
                   {police_siren, vandalism}
    picture groups {baby_cry, brawling} {crash, explosion} {intruder, normal}
                   {pain, police_siren} {vandalism, abuse}

A sound is a tone (one of five pitches, jittered per source) with clicks; a picture is a
background colour (one of five, jittered) with noise and a moving box. Every click comes with
a one-frame white flash, so the sync check has real events to align.
"""

from __future__ import annotations

import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vaar.csvsafe import write_rows
from vaar.errors import MediaError
from vaar.taxonomy import Taxonomy, default_taxonomy

#: how the sample says what it is: its published name, and the build metadata of its version
#: (``0.1.0+synthetic-sample``), which leaderboard entries carry (:mod:`vaar.bench.provenance`)
SAMPLE_NAME = "VAAR synthetic sample"
SAMPLE_MARK = "synthetic-sample"


def sample_version(given: str | None) -> str:
    """The sample's dataset version: ``given`` (default 0.1.0) with :data:`SAMPLE_MARK` as build metadata."""
    base = given or "0.1.0"
    return f"{base}{'.' if '+' in base else '+'}{SAMPLE_MARK}"


def is_sample_version(version: str | None) -> bool:
    return SAMPLE_MARK in str(version or "")


SOUND_GROUPS = (("abuse", "baby_cry"), ("brawling", "crash"), ("explosion", "intruder"), ("normal", "pain"),
                ("police_siren", "vandalism"))  # fmt: skip
PICTURE_GROUPS = (("baby_cry", "brawling"), ("crash", "explosion"), ("intruder", "normal"),
                  ("pain", "police_siren"), ("vandalism", "abuse"))  # fmt: skip
TONES_HZ = (220.0, 392.0, 698.0, 1245.0, 2217.0)
COLOURS = ((200, 40, 40), (40, 170, 60), (40, 70, 200), (210, 190, 40), (170, 50, 180))


@dataclass(frozen=True)
class SampleSpec:
    sources_per_class: int = 6
    clips_per_source: int = 2
    clip_seconds: float = 3.0
    gap_seconds: float = 0.3
    width: int = 160
    height: int = 120
    seed: int = 0


def signature(slug: str) -> tuple[int, int]:
    """(sound group, picture group) of a class."""
    s = next(i for i, g in enumerate(SOUND_GROUPS) if slug in g)
    p = next(i for i, g in enumerate(PICTURE_GROUPS) if slug in g)
    return s, p


def _source_command(path: Path, slug: str, spec: SampleSpec, rng: random.Random) -> list[str]:
    s, p = signature(slug)
    dur = spec.clips_per_source * (spec.clip_seconds + spec.gap_seconds) + spec.gap_seconds
    freq = TONES_HZ[s] * rng.uniform(0.98, 1.02)
    r, g, b = (max(0, min(255, c + rng.randint(-15, 15))) for c in COLOURS[p])
    events, t = [], rng.uniform(0.3, 0.8)
    while t < dur - 0.2:
        events.append(round(t * 25) / 25)  # on a frame boundary
        t += rng.uniform(0.6, 1.0)
    flash = "+".join(f"between(t,{e:.2f},{e + 0.039:.2f})" for e in events) or "0"
    click = "+".join(f"between(t,{e:.3f},{e + 0.015:.3f})" for e in events) or "0"
    audio = f"0.25*sin(2*PI*{freq:.2f}*t)+0.6*({click})*sin(2*PI*3000*t)+0.02*(random(0)-0.5)"
    video = (  # background, a box moving across it, noise, and the flashes
        f"color=c=0x{r:02x}{g:02x}{b:02x}:s={spec.width}x{spec.height}:r=25:d={dur:.2f}[bg];"
        "color=c=white:s=24x24[box];"
        f"[bg][box]overlay=x='mod(t*{rng.randint(20, 60)},W-w)':y={rng.randint(8, spec.height - 32)},"
        "noise=alls=12:allf=t,"
        f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{flash}'"
    )
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", video,
        "-f", "lavfi", "-i", f"aevalsrc='{audio}':s=44100:d={dur:.2f}",
        "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path),
    ]  # fmt: skip


def make_sample_sources(
    media_dir: Path, base_url: str, csv_path: Path, spec: SampleSpec = SampleSpec(), taxonomy: Taxonomy | None = None
) -> int:
    """Generate the sample's source videos into ``media_dir`` and its source list; returns clips."""
    tax = taxonomy or default_taxonomy()
    rng = random.Random(spec.seed)
    media_dir.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[Path, list[str]]] = []
    rows: list[dict[str, str]] = []
    for slug in tax.slugs:
        for k in range(spec.sources_per_class):
            name = f"{slug}-src{k}.mp4"
            path = media_dir / name
            jobs.append((path, _source_command(path, slug, spec, rng)))
            for c in range(spec.clips_per_source):
                start = spec.gap_seconds + c * (spec.clip_seconds + spec.gap_seconds)
                rows.append({
                    "clip_id": f"{slug}-{k}-{c}", "url": f"{base_url}/{name}",
                    "start": f"{start:.2f}", "end": f"{start + spec.clip_seconds:.2f}", "label": slug,
                    "source_id": f"{slug}-src{k}", "license": "CC0-1.0 (generated by vaar)",
                    "notes": "synthetic sample",
                })  # fmt: skip

    def run(job: tuple[Path, list[str]]) -> None:
        if job[0].exists():
            return
        proc = subprocess.run(job[1], capture_output=True, check=False)
        if proc.returncode != 0:
            raise MediaError(f"could not generate {job[0].name}: {proc.stderr.decode(errors='replace')[-300:]}")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, jobs))
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        write_rows(f, list(rows[0]), (r.values() for r in rows))
    return len(rows)
