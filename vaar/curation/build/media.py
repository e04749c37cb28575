"""Trim and normalise stage (ffmpeg), plus the ffprobe helper every stage uses.

Trim precision is a policy (:data:`Precision`):

* ``accurate`` (default) — decode and re-encode. The cut lands on the requested frame, the
  output has a constant frame rate (``fps``), its short side is capped (``max_short_side``), and
  audio and picture start together at 0. Costs an H.264 encode per clip.
* ``copy`` — stream copy. Fast and lossless, but the cut snaps to the keyframe before ``start``
  (often seconds early on web video), the frame rate and size stay the source's, and the audio
  may start before or after the picture. Use it only for sources already cut and normalised.

Every clip gets two files: an H.264 + AAC MP4 with ``+faststart`` (for video models and
viewers) and a 16 kHz mono FLAC of the same span (for audio models). Both are written to a
temporary name and renamed, so a killed run never leaves half a file under the final name.
"""

from __future__ import annotations

import functools
import json
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vaar.core._util.atomic import atomic_path
from vaar.core.errors import MediaError, MissingDependencyError, VerifyError
from vaar.curation.build.decode import (
    AUDIO_CHAIN,
    VIDEO_CHAIN,
    DecodedClip,
    parse_decoded,
    run_decoder,
)
from vaar.curation.build.inputguard import MEDIA_FORMATS, input_args, sniff_problem

Precision = Literal["accurate", "copy"]


@dataclass(frozen=True)
class MediaConfig:
    """Normalisation targets. ``threads`` is ffmpeg's per clip (0: ffmpeg decides)."""

    precision: Precision = "accurate"
    fps: int = 25
    max_short_side: int = 360
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "128k"
    audio_rate: int = 16_000
    video_audio_rate: int = 48_000
    threads: int = 1
    input_formats: str = MEDIA_FORMATS  # demuxers allowed on a downloaded file (inputguard)


def run_tool(cmd: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg/ffprobe, capturing output; a missing binary is one clear line, not a traceback."""
    try:
        return subprocess.run(cmd, capture_output=True, check=False)
    except FileNotFoundError:
        raise MissingDependencyError(
            f"{cmd[0]} not found: install ffmpeg (e.g. 'apt-get install ffmpeg') or run 'make install'"
        ) from None


@functools.lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    out = run_tool(["ffmpeg", "-version"]).stdout.decode(errors="replace")
    first = out.splitlines()[0] if out else ""
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[0] == "ffmpeg" else first


def probe(path: Path, *, count_packets: bool = False, untrusted: bool = False) -> dict[str, Any]:
    """ffprobe's JSON (streams + format). Raises :class:`VerifyError` if it cannot be read.

    ``untrusted`` (a downloaded file): only the ``file`` protocol and real container demuxers.
    """
    cmd = ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
    if count_packets:
        cmd.append("-count_packets")
    if untrusted:
        cmd += input_args()
    proc = run_tool([*cmd, str(path)])
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise VerifyError(f"ffprobe cannot read the file: {msg[-1] if msg else 'unknown error'}")
    data: dict[str, Any] = json.loads(proc.stdout or b"{}")
    return data


def scale_filter(max_short_side: int) -> str:
    """Cap the short side at ``max_short_side`` keeping the aspect ratio and even sizes."""
    m = max_short_side
    return (
        f"scale=w='if(lt(iw,ih),trunc(min({m},iw)/2)*2,-2)':"
        f"h='if(lt(iw,ih),-2,trunc(min({m},ih)/2)*2)',setsar=1"
    )


def trim_commands(
    src: Path,
    start: float,
    duration: float,
    out_video: Path,
    out_audio: Path,
    cfg: MediaConfig,
    has_audio: bool,
    *,
    analysis_audio: str | None = None,
) -> list[list[str]]:
    """The ffmpeg command line(s) that cut ``[start, start + duration)`` of ``src``.

    With ``analysis_audio`` (an output URL; ``accurate`` precision and audio only), the same
    process also writes what the sync and quality checks read — 64-px grey frames to ``pipe:1``,
    16 kHz mono float samples to ``analysis_audio`` (:data:`vaar.curation.build.sync.VIDEO_CHAIN`,
    :data:`~vaar.curation.build.sync.AUDIO_CHAIN`) — from the very frames and samples it encodes, so
    the clip is decoded once.
    """
    analysis = analysis_audio is not None and has_audio and cfg.precision == "accurate"
    # -loglevel info: the analysis outputs' (a)showinfo lines date every frame
    base = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info" if analysis else "error", "-y",
            "-threads", str(cfg.threads), "-filter_threads", "1"]  # fmt: skip
    # -ss and -t before -i bound the input, so every output (MP4 and FLAC) gets the same span
    # the source is untrusted: one local file of a real container format (see inputguard)
    seek = ["-ss", f"{start:.6f}", "-t", f"{duration:.6f}", *input_args(cfg.input_formats), "-i", str(src)]
    # no source metadata, chapters, subtitles, data or attachment streams in any output
    strip = ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"]
    frames = ["-frames:v", str(max(1, round(duration * cfg.fps)))]  # exactly the frames of the span
    normalise = f"fps={cfg.fps},{scale_filter(cfg.max_short_side)},format=yuv420p"
    graph: list[str] = []
    if analysis:
        graph = ["-filter_complex", f"[0:v:0]{normalise},split=2[venc][vqc];[vqc]{VIDEO_CHAIN}[vqco];"
                                    f"[0:a:0]asplit=3[aenc][aflac][aqc];[aqc]{AUDIO_CHAIN}[aqco]"]  # fmt: skip
        video_in, vf, flac_in = ["-map", "[venc]", "-map", "[aenc]"], [], ["-map", "[aflac]"]
    elif cfg.precision == "accurate":
        video_in, vf, flac_in = ["-map", "0:v:0", "-map", "0:a:0?"], ["-vf", normalise], ["-map", "0:a:0"]
    else:
        video_in, vf, flac_in = ["-map", "0:v:0", "-map", "0:a:0?"], [], ["-map", "0:a:0"]
    if cfg.precision == "accurate":
        # one encoder thread whatever the machine: x264's output depends on its thread count, and
        # a clip must not change with the host's cores or --workers (parallelism is across clips)
        video = [
            *video_in, *vf, *strip, *frames,
            "-c:v", "libx264", "-preset", cfg.preset, "-crf", str(cfg.crf), "-pix_fmt", "yuv420p", "-threads", "1",
            "-c:a", "aac", "-b:a", cfg.audio_bitrate, "-ac", "2", "-ar", str(cfg.video_audio_rate),
            "-movflags", "+faststart", "-f", "mp4", str(out_video),
        ]  # fmt: skip
    else:
        video = [
            *video_in, *strip, "-c", "copy", "-avoid_negative_ts", "make_zero",
            "-movflags", "+faststart", "-f", "mp4", str(out_video),
        ]  # fmt: skip
    cmd = [*base, *seek, *graph, *video]
    if has_audio:
        cmd += [*flac_in, *strip, "-ac", "1", "-ar", str(cfg.audio_rate), "-c:a", "flac", "-f", "flac", str(out_audio)]
    if analysis:
        cmd += ["-map", "[vqco]", *frames, "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1",
                "-map", "[aqco]", "-f", "f32le", str(analysis_audio)]  # fmt: skip
    return [cmd]


@dataclass(frozen=True)
class Trimmed:
    """What :func:`trim_normalise` learnt: whether the source had audio, and the clip decoded for
    the checks when the trim could do it in the same process (else ``None``: decode the file)."""

    has_audio: bool
    decoded: DecodedClip | None = None


def trim_normalise(
    src: Path,
    start: float,
    duration: float,
    out_video: Path,
    out_audio: Path,
    cfg: MediaConfig,
    has_audio: bool | None = None,
    *,
    analyse: bool = False,
) -> Trimmed:
    """Cut and normalise one clip (an MP4, and a FLAC when there is audio).

    ``start`` is in the time of ``src``; ``has_audio`` (known from the download's probe) saves
    probing the source again. ``analyse``: also decode the clip for the sync and quality checks
    in the same process (``accurate`` precision with audio; see :func:`trim_commands`).
    """
    problem = sniff_problem(src)
    if problem:
        raise MediaError(problem)
    if has_audio is None:
        facts = probe(src, untrusted=True)
        has_audio = any(s.get("codec_type") == "audio" for s in facts.get("streams", []))
    analyse = analyse and has_audio and cfg.precision == "accurate"
    decoded: DecodedClip | None = None
    with ExitStack() as renames:  # both files are renamed into place only when ffmpeg succeeded
        tmp_v = renames.enter_context(atomic_path(out_video))
        tmp_a = renames.enter_context(atomic_path(out_audio)) if has_audio else out_audio
        if analyse:
            run = run_decoder(lambda url: trim_commands(src, start, duration, tmp_v, tmp_a, cfg, True,
                                                        analysis_audio=url)[0])  # fmt: skip
            _check(run.returncode, run.log)
            try:  # the output timeline starts at 0; a span with no audio is the verify stage's to judge
                decoded = parse_decoded(run, file_start=0.0)
            except VerifyError:
                decoded = None
        else:
            for cmd in trim_commands(src, start, duration, tmp_v, tmp_a, cfg, has_audio):
                proc = run_tool(cmd)
                _check(proc.returncode, proc.stderr)
    return Trimmed(has_audio, decoded)


def _check(returncode: int, log: bytes) -> None:
    if returncode != 0:
        lines = [ln for ln in log.decode(errors="replace").strip().splitlines() if "showinfo_" not in ln]
        raise MediaError(f"ffmpeg failed: {lines[-1] if lines else 'exit ' + str(returncode)}")


def extract_audio(video: Path, out_audio: Path, cfg: MediaConfig) -> None:
    """(Re)write the 16 kHz mono FLAC of a clip from its MP4 (after a sync fix)."""
    with atomic_path(out_audio) as tmp:
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(video), "-map", "0:a:0",
               "-map_metadata", "-1", "-map_chapters", "-1", "-ac", "1",
               "-ar", str(cfg.audio_rate), "-c:a", "flac", "-f", "flac", str(tmp)]  # fmt: skip
        proc = run_tool(cmd)
        if proc.returncode != 0:
            raise MediaError(f"ffmpeg could not extract audio: {proc.stderr.decode(errors='replace')[-200:]}")


# ---------------------------------------------------------------------------------------------
# offset re-mux (the ``fix`` out-of-sync policy of vaar.curation.build.quality.QCConfig)


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
    af = f"aresample=async=1:first_pts=0,apad=whole_dur={v_end:.6f},atrim=end={v_end:.6f}"
    with atomic_path(dst, suffix=dst.suffix or ".mp4") as tmp:
        cmd = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-i", str(src), "-itsoffset", f"{shift:.6f}", "-i", str(src),
            "-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "-1", "-map_chapters", "-1",
            "-c:v", "copy", "-af", af,
            "-c:a", "aac", "-b:a", audio_bitrate, "-movflags", "+faststart", str(tmp),
        ]  # fmt: skip
        proc = run_tool(cmd)
        if proc.returncode != 0:
            msg = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["ffmpeg failed"]
            raise VerifyError(f"could not fix the offset: {msg[0][:200]}")
