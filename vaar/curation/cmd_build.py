"""``vaar build``: from reviewed source lists to ``manifest.parquet`` and, unless ``--no-publish``,
a verified, loadable Hugging Face dataset (the same :func:`vaar.curation.publish.folder.publish` as
``vaar publish``).

Exit codes: 0 built (and published); 1 built, but the dataset could not be published (the reason
is printed; an older dataset folder is moved aside); 2 bad input; 3 stopped early because the site
kept asking to confirm we are not a bot (the clips not attempted stay pending: rerun later, or
with ``--cookies``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from vaar.core._util.cpus import usable_cpus
from vaar.curation.publish.private_sources import add_private_test_arguments
from vaar.curation.publish.release import add_release_arguments

HELP = "build the dataset from source lists (download, trim, verify, ledger, manifest; then publish)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="*", type=Path, help="source list CSV file(s)")
    p.add_argument("--out", type=Path, help="build folder (resumable; required unless --check-only)")
    p.add_argument("--check-only", action="store_true",
                   help="validate every row and exit (0 all valid, 2 otherwise); downloads nothing")
    p.add_argument("--exclude", type=Path, metavar="TAKEDOWN.csv",
                   help="drop the rows this CSV names by clip_id, url or source_id (removal requests)")  # fmt: skip
    p.add_argument("--sample", action="store_true", help="build the embedded ten-class sample (offline)")
    p.add_argument("--workers", type=int, default=None,
                   help="clips trimmed in parallel (processes; default: one per usable CPU)")
    p.add_argument("--download-workers", type=int, default=4, help="sources downloaded in parallel")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: process pool on this machine (default); ray: Ray tasks on a cluster "
                        "(pip install 'vaar[ray]'; --out must be on storage every node can reach)")  # fmt: skip
    p.add_argument("--ray-address", help="Ray cluster to join (e.g. auto, HOST:6379, ray://HOST:10001); "
                                         "default: start Ray on this machine")  # fmt: skip
    p.add_argument("--retry-failed", action="store_true", help="also redo clips that failed before")
    p.add_argument("--precision", choices=["accurate", "copy"], default="accurate",
                   help="accurate: re-encode, frame-exact (default); copy: stream copy, cuts on keyframes")  # fmt: skip
    p.add_argument("--fps", type=int, default=25, help="constant output frame rate")
    p.add_argument("--max-short-side", type=int, default=360, help="cap of the short side, pixels")
    p.add_argument("--max-height", type=int, default=720, help="download format cap, pixels")
    p.add_argument("--download-mode", choices=["auto", "full", "section"], default="auto",
                   help="auto: whole file for direct HTTP media, sections for streaming sites")  # fmt: skip
    p.add_argument("--cookies", help="cookies.txt passed to yt-dlp")
    p.add_argument("--sleep-requests", type=float, default=0.0, metavar="S",
                   help="seconds to wait before each request to a site (yt-dlp --sleep-requests)")
    p.add_argument("--sleep-interval", type=float, default=0.0, metavar="S",
                   help="seconds to wait before each download (yt-dlp --sleep-interval)")
    p.add_argument("--per-host", type=int, default=3, metavar="N",
                   help="sources of one host downloaded at once (default 3; polite to one site)")
    p.add_argument("--max-bot-checks", type=int, default=3, metavar="K",
                   help="stop after K consecutive 'confirm you're not a bot' answers (clips stay pending)")
    p.add_argument("--no-index-fetch", dest="index_fetch", action="store_false",
                   help="section mode: always use yt-dlp's section download, never the formats' index")
    p.add_argument("--json", action="store_true",
                   help="print the summary as JSON on stdout (counts, reasons, per-stage times, fetch costs)")
    p.add_argument("--rate-limit", help="download rate limit, e.g. 2M (bytes/s)")
    p.add_argument("--out-of-sync", choices=["flag", "reject", "fix"], default="flag",
                   help="what to do with a clip whose audio and video are out of sync")  # fmt: skip
    p.add_argument("--tolerance-ms", type=float, default=80.0, help="sync tolerance, ms")
    p.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True,
                   help="publish DIR/dataset from the manifest at the end (default); --no-publish "
                        "stops at manifest.parquet (publish later with `vaar publish`)")  # fmt: skip
    p.add_argument("--splits", type=Path, help="use committed split files (a splits/vN folder)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split")
    add_private_test_arguments(p)
    p.add_argument("--keep-downloads", action="store_true", help="keep downloaded sources in DIR/cache")
    p.add_argument("--allow-private-network", action="store_true",
                   help="allow source URLs on loopback, private or link-local addresses "
                        "(refused by default: a source list must not reach the build machine's network)")  # fmt: skip
    p.add_argument("--prune", action="store_true",
                   help="drop ledger rows (and their media) of clips that are not in these source lists")  # fmt: skip
    p.add_argument("--candidates", type=Path, metavar="LIST",
                   help="build the clips of a candidate list for `vaar review` (QC and sync run; nothing published)")  # fmt: skip
    add_release_arguments(p)


def run(args: argparse.Namespace) -> int:
    from vaar.core.errors import ConfigError

    if args.candidates is not None:
        if args.sources or args.sample:
            raise ConfigError("--candidates LIST builds one candidate list; give no other source list or --sample")
        args.sources = [args.candidates]
        args.publish = False
    else:
        from vaar.curation.review.candidates import refuse_unreviewed

        refuse_unreviewed(args.sources)
    if args.sample and args.sources:
        raise ConfigError("give either source lists or --sample, not both")
    if not args.sample and not args.sources:
        raise ConfigError("no source list given: pass SOURCES.csv, or --sample for the embedded demo")
    if not args.sample:
        _warn_xd_test(args.sources)
    if args.check_only:
        if args.sample:
            raise ConfigError("--check-only validates source lists; the embedded --sample needs no check")
        return _check_only(args.sources, candidates=args.candidates is not None)
    if args.out is None:
        raise ConfigError("--out DIR is required (or --check-only to validate the lists)")
    cfg = _config(args)
    if args.sample:
        return _run_sample(args, cfg)
    if args.candidates is not None:  # previews: reviewed.csv may take these clip ids over
        from vaar.curation.build.owners import mark_candidates_folder

        mark_candidates_folder(args.out)
    rc = _run(args.sources, args.out, cfg, as_json=args.json, candidates=args.candidates is not None)
    if args.candidates is not None:
        _spanless_previews(args.candidates, args.out, cfg)
        print(f"review them: vaar review {args.candidates} --media {args.out} --out reviewed.csv")
    return rc


def _spanless_previews(candidates: Path, out: Path, cfg: Any) -> None:
    """A whole-source preview for each spanless candidate (:mod:`vaar.curation.review.source_preview`)."""
    from vaar.core._util.progress import ProgressBar
    from vaar.core.contracts.source_list import read_rows
    from vaar.curation.review.source_preview import PREVIEW_SECONDS, make_previews, spanless_rows

    rows = spanless_rows(read_rows(candidates))
    if not rows:
        return
    bar = ProgressBar("previews", transient=True)
    bar.start(len(rows))
    try:
        made = make_previews(rows, out, cfg.download, on_row=lambda p: bar.advance(f"{p.clip_id}: {p.error or 'ok'}"))
    finally:
        bar.stop()
    ok = [p for p in made if p.error is None]
    print(f"{len(ok)} of {len(rows)} spanless candidate(s) got a whole-source preview (the first "
          f"{PREVIEW_SECONDS / 60:g} min of each source, small) in {out / 'previews'}: mark their spans in `vaar review`")
    for p in made:
        if p.error is not None:
            print(f"  no preview for {p.clip_id}: {p.error}")


def _warn_xd_test(sources: list[Path]) -> None:
    """One warning line for rows cut from XD-Violence test videos (an unreadable list is reported later)."""
    from vaar.core.contracts.source_list import read_rows
    from vaar.core.errors import SourceListError
    from vaar.curation.xd_overlap import overlapping, warning

    rows: list[tuple[str, str]] = []
    for path in sources:
        try:
            rows += [(r.get("clip_id", ""), r.get("url", "")) for _, r in read_rows(path)]
        except SourceListError:
            continue
    line = warning(overlapping(rows))
    if line:
        print(line, file=sys.stderr)


def _check_only(sources: list[Path], *, candidates: bool) -> int:
    """Validate without downloading; a candidate list (``--candidates``) may have empty spans."""
    from vaar.core.contracts.source_list import check_candidates, read_sources

    if candidates:
        n_valid, invalid = check_candidates(sources)
    else:
        valid, invalid = read_sources(sources)
        n_valid = len(valid)
    for bad in invalid:
        print(bad.message(), file=sys.stderr)
    print(f"{n_valid} row(s) valid, {len(invalid)} invalid", file=sys.stderr)
    return 2 if invalid else 0


def _config(args: argparse.Namespace) -> Any:
    from vaar.core.errors import ConfigError
    from vaar.curation.build.download import DownloadConfig
    from vaar.curation.build.media import MediaConfig
    from vaar.curation.build.pipeline import BuildConfig
    from vaar.curation.build.quality import QCConfig
    from vaar.curation.publish.folder import PublishConfig
    from vaar.curation.publish.private_sources import private_test_options
    from vaar.curation.publish.release import release_options

    for flag, value, least in (("--sleep-requests", args.sleep_requests, 0), ("--sleep-interval", args.sleep_interval, 0),
                               ("--per-host", args.per_host, 0), ("--max-bot-checks", args.max_bot_checks, 1)):
        if not value >= least:  # also refuses nan
            raise ConfigError(f"{flag} must be >= {least}, got {value}")
    if args.publish and args.private_test_labels:
        from vaar.core.contracts.private_split import load_secret

        load_secret(args.host_secret_file)  # a missing secret is one line before any work starts
    if args.backend == "ray":
        from vaar.curation.build.backends import import_ray

        import_ray()  # a missing extra is one line before any work starts
    return BuildConfig(
        workers=args.workers if args.workers is not None else usable_cpus(),
        download_workers=args.download_workers,
        backend=args.backend,
        ray_address=args.ray_address,
        retry_failed=args.retry_failed,
        prune=args.prune,
        keep_downloads=args.keep_downloads,
        media=MediaConfig(precision=args.precision, fps=args.fps, max_short_side=args.max_short_side, threads=0),
        download=DownloadConfig(mode=args.download_mode, max_height=args.max_height, cookies=args.cookies,
                                rate_limit=args.rate_limit, sleep_requests=args.sleep_requests,
                                sleep_interval=args.sleep_interval, per_host=args.per_host,
                                max_bot_checks=args.max_bot_checks, index_fetch=args.index_fetch,
                                allow_private_network=args.allow_private_network or args.sample),  # fmt: skip
        qc=replace(QCConfig(), out_of_sync=args.out_of_sync, tolerance_ms=args.tolerance_ms),
        publish=PublishConfig(seed=args.seed, **private_test_options(args), **release_options(args),
                              croissant_validated=args.out / "cache" / "croissant-validated.txt"),
        do_publish=args.publish,
        splits_dir=args.splits,
        exclude=str(args.exclude) if args.exclude else None,
    )


def _run_sample(args: argparse.Namespace, cfg: Any) -> int:
    from vaar.core.contracts.sample_version import SAMPLE_NAME, sample_version
    from vaar.curation.build.loopback import LoopbackServer
    from vaar.curation.build.sample import make_sample_sources

    # the sample says what it is: its name, card, datasheet and version (entries carry the version)
    cfg = replace(cfg, publish=replace(cfg.publish, name=SAMPLE_NAME, version=sample_version(cfg.publish.version)))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    media = Path(tempfile.mkdtemp(prefix="vaar-sample-"))
    with LoopbackServer(media) as server:
        csv_path = out / "sample_sources.csv"
        print(f"generating the sample's source videos in {media} (served at {server.base_url})", file=sys.stderr)
        make_sample_sources(media, server.base_url, csv_path)
        rc = _run([csv_path], out, cfg, as_json=args.json)
    import shutil

    shutil.rmtree(media, ignore_errors=True)
    return rc


def _run(sources: list[Path], out: Path, cfg: Any, *, as_json: bool = False, candidates: bool = False) -> int:
    from vaar.core._util.progress import ProgressBar
    from vaar.curation.build.pipeline import run_build

    # the bar starts once the source lists are read, so an unusable input is one clean line;
    # transient, so the summary below is the last thing printed
    progress = ProgressBar("build", transient=True)

    def on_clip(ev: Any) -> None:
        progress.advance(f"{ev.clip_id}: {ev.status}")

    try:
        report = run_build(sources, out, cfg, on_start=progress.start, on_clip=on_clip)
    finally:
        progress.stop()
    sys.stderr.flush()
    _write_config(out, cfg, sources)
    if as_json:
        print(json.dumps(_as_json(report), indent=2, default=str))
    else:
        _summary(report, candidates=candidates)
    sys.stdout.flush()
    if report.run.stopped:
        print(f"vaar build: {report.run.stopped}", file=sys.stderr)
        return 3
    return 1 if report.publish_error else 0


def _as_json(report: Any) -> dict[str, Any]:
    return {
        "out": str(report.out), "counts": dict(report.counts), "processed": report.processed,
        "skipped": report.skipped, "reasons": dict(report.reasons), "reason_examples": report.reason_examples,
        "manifest": str(report.manifest), "publish_error": report.publish_error,
        "published": report.publish is not None, **report.run.as_dict(),
    }


def _run_summary(con: Any, log: Any) -> None:
    """The per-stage time table and what fetching cost the sites."""
    from rich.table import Table

    t = Table(title="where the time went (download threads overlap; CPU includes ffmpeg)")
    for col in ("stage", "wall s", "CPU s"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for stage, v in log.stages.as_dict().items():
        t.add_row(stage, f"{v['wall_s']:.2f}", f"{v['cpu_s']:.2f}")
    con.print(t)
    if log.fetch:
        methods = ", ".join(f"{n} by {m}" for m, n in sorted(log.fetch.items()))
        con.print(f"sources fetched: {methods}; {log.fetched_bytes / 1e6:.1f} MB in {log.requests} ranged "
                  "request(s) (index fetches; section downloads are ffmpeg's and not counted)")
    for why, n in log.fallbacks.most_common(3):
        con.print(f"  {n} source(s) fell back to the section download: {why}")
    if log.throttle_pauses:
        con.print(f"paused every download {log.throttle_pauses} time(s) when the site asked to slow down (429)")
    if log.rebuilt:
        names = ", ".join(f"{k} ({n})" for k, n in log.rebuilt.most_common())
        con.print(f"rebuilt clips made with other settings: {names}")
    if log.stopped:
        con.print(f"[red]{log.stopped}; {log.pending} clip(s) pending")


def _write_config(out: Path, cfg: Any, sources: list[Path]) -> None:
    data = {"sources": [str(s) for s in sources], **asdict(cfg)}
    from vaar.core._util.atomic import atomic_write_text

    atomic_write_text(out / "build_config.json", json.dumps(data, indent=2, default=str) + "\n")


def _print_excluded(con: Any, excluded: list[str]) -> None:
    if excluded:
        ids = ", ".join(excluded[:10]) + (" ..." if len(excluded) > 10 else "")
        con.print(f"excluded {len(excluded)} clip(s) named in the takedown file: {ids}")


def _summary(report: Any, *, candidates: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    statuses = ("ok", "failed", "invalid", "rejected")
    t = Table(title=f"vaar build: {report.out}")
    t.add_column("class")
    for s in statuses:
        t.add_column(s, justify="right")
    for label in sorted(report.by_class):
        c = report.by_class[label]
        t.add_row(label, *(str(c.get(s, 0)) for s in statuses))
    t.add_row("[bold]all", *(f"[bold]{report.counts.get(s, 0)}" for s in statuses))
    con.print(t)
    if report.reasons:
        r = Table(title="top reasons a clip is not ok (all rows: manifest.parquet, column error)")
        r.add_column("clips", justify="right")
        r.add_column("reason")
        r.add_column("example", overflow="fold")
        for code, n in report.reasons.most_common(5):
            example = report.reason_examples.get(code, "")
            r.add_row(str(n), code, example if len(example) <= 160 else example[:159] + "…")
        con.print(r)
    _run_summary(con, report.run)
    _print_excluded(con, report.excluded)
    con.print(f"processed {report.processed} clip(s), {report.skipped} already done (resumed from the ledger)")
    if report.pruned:
        con.print(f"pruned {report.pruned} ledger row(s) not in these source lists (--prune), with their media")
    con.print(f"manifest: {report.manifest}")
    if report.publish_error:
        con.print(f"[red]dataset not published: {report.publish_error}")
    if report.publish is not None:
        from vaar.curation.publish.result_text import result_lines

        for line in result_lines(report.publish):
            con.print(line)
    elif candidates:  # unreviewed: never a dataset; the next step is review
        con.print("candidates built for review only (never published)")
    elif not report.publish_error:
        con.print(f"not published (--no-publish); publish with: vaar publish {report.manifest} --out DATASET")
