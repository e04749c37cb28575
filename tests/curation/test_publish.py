"""`vaar publish`: from the manifest (and only the manifest and its media) to the dataset folder.

One real build (yt-dlp on loopback, ffmpeg) is made with --no-publish for the module; each test
publishes from it or from a copy of it that the test changes as an attacker or a user would.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.http_server import FaultyServer
from tests.fixtures.media import make_source
from vaar.cli import main
from vaar.core.contracts.manifest_schema import manifest_schema
from vaar.core.contracts.private_split import opaque_id
from vaar.curation.build.download import DownloadConfig, ytdlp_version
from vaar.curation.build.pipeline import BuildConfig, run_build
from vaar.curation.publish.folder import PublishConfig, publish

FAST = BuildConfig(workers=2, download=DownloadConfig(retries=1, backoff_s=0.05, allow_private_network=True), do_publish=False)
CLASSES = ("crash", "explosion", "normal")
HEADER = "clip_id,url,start,end,label,source_id,license,notes\n"
SECRET = "host secret: 32 bytes of entropy, not guessable"


def write_sources(path: Path, rows: list[tuple[str, str, float, float, str]]) -> Path:
    path.write_text(HEADER + "".join(f"{c},{u},{s},{e},{lab},,CC-BY-4.0,\n" for c, u, s, e, lab in rows))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A build folder (manifest, ledger, clips, audio) of 3 classes x 3 sources, not published."""
    root = tmp_path_factory.mktemp("publish")
    www = root / "www"
    www.mkdir()
    with FaultyServer(www) as srv:
        rows = []
        for i, label in enumerate(CLASSES):
            for k in range(3):
                make_source(www / f"{label}{k}.mp4", 3.0, variant=3 * i + k)
                rows.append((f"{label}-{k}", srv.url(f"{label}{k}.mp4"), 0.4, 2.4, label))
        report = run_build([write_sources(root / "s.csv", rows)], root / "build", FAST)
    assert report.counts["ok"] == 9 and report.publish is None and report.publish_error is None
    yield root / "build"


def copy_build(build: Path, dst: Path, *, ledger: bool = False) -> Path:
    """The manifest and the media it points to (no ledger: publish must not need it)."""
    dst.mkdir(parents=True)
    shutil.copy2(build / "manifest.parquet", dst / "manifest.parquet")
    for folder in ("clips", "audio"):
        shutil.copytree(build / folder, dst / folder)
    if ledger:
        shutil.copy2(build / "ledger.sqlite", dst / "ledger.sqlite")
    return dst


def rewrite(manifest: Path, change: Callable[[dict[str, Any]], None]) -> None:
    rows = pq.read_table(manifest).to_pylist()
    for r in rows:
        change(r)
    pq.write_table(pa.Table.from_pylist(rows, schema=manifest_schema()), manifest)


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


# ----------------------------------------------------------------------------- the flow


def test_build_stops_at_manifest_and_publish_reads_only_it(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import datasets

    assert (built / "manifest.parquet").is_file() and not (built / "dataset").exists()
    copy = copy_build(built, tmp_path / "copy")  # no ledger, another folder: relative media paths
    rc, out, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", tmp_path / "ds")
    assert rc == 0, err
    assert "dataset:" in out
    ds = datasets.load_dataset(str(tmp_path / "ds"))
    assert sum(len(ds[s]) for s in ds) == 9
    assert tuple(ds["train"][0]["video"].get_frame_at(0).data.shape) == (3, 120, 160)
    # the library entry point on the original build folder writes the same bytes
    publish(built / "manifest.parquet", None, tmp_path / "ds2", PublishConfig())
    assert tree(tmp_path / "ds") == tree(tmp_path / "ds2")
    # publishing with the committed split it wrote gives the same split files
    committed = tmp_path / "splits_v1"
    shutil.copytree(tmp_path / "ds" / "splits", committed)
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--splits", committed,
                         "--out", tmp_path / "ds3")
    assert rc == 0, err
    assert tree(tmp_path / "ds3" / "splits") == tree(committed)
    # a committed split whose checksums do not match is refused before anything is written
    (committed / "train.csv").write_text((committed / "train.csv").read_text() + "\n")
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--splits", committed,
                         "--out", tmp_path / "ds4")
    assert rc == 2 and "does not match SHA256SUMS" in err and err.count("\n") == 1


def test_out_must_be_a_dataset_folder_of_its_own(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_build(built, tmp_path / "copy")
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", copy)
    assert rc == 2 and "holds the manifest" in err and (copy / "clips").is_dir()
    (tmp_path / "home" / "notes").mkdir(parents=True)
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", tmp_path / "home")
    assert rc == 2 and "not a published dataset" in err and (tmp_path / "home" / "notes").is_dir()


def test_changed_media_is_refused(built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = copy_build(built, tmp_path / "copy")
    clip = next((copy / "clips").rglob("*.mp4"))
    data = bytearray(clip.read_bytes())
    data[-10] ^= 0xFF
    clip.write_bytes(bytes(data))
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", tmp_path / "ds")
    assert rc == 2 and "sha256 differs" in err and clip.name in err and err.count("\n") == 1
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("path", ["../outside.mp4", "/etc/hostname", "clips/../../outside.mp4"])
def test_manifest_cannot_point_outside_the_build(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    copy = copy_build(built, tmp_path / "b" / "copy")
    secret = tmp_path / "b" / "outside.mp4"
    secret.write_bytes(b"a file of the build machine")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()

    def point_outside(r: dict[str, Any]) -> None:
        if r["clip_id"] == "crash-0":
            r.update(video_path=path, video_sha256=digest)

    rewrite(copy / "manifest.parquet", point_outside)
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", tmp_path / "ds")
    assert rc == 2 and "is not a path inside the build folder" in err
    assert not (tmp_path / "ds").exists()


def test_too_small_to_stratify_still_publishes(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_build(built, tmp_path / "copy")
    keep = {"crash-0", "crash-1", "explosion-0", "normal-0"}  # one explosion, one normal: 3 splits can't
    rewrite(copy / "manifest.parquet",
            lambda r: None if r["clip_id"] in keep else r.update(status="failed", error="HTTP Error 404"))
    rc, out, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", tmp_path / "ds")
    assert rc == 0, err
    assert "warning: too few clips to stratify" in out
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "**not stratified by label**" in card
    assert '"algorithm": "vaar-groups-unstratified/1"' in (tmp_path / "ds" / "splits" / "split.json").read_text()
    published = {line.split(",")[0] for s in ("train", "validation", "test")
                 for line in (tmp_path / "ds" / "splits" / f"{s}.csv").read_text().splitlines()[1:]}
    assert published == keep
    # the split folder satisfies its contract (checksums, groups intact)
    rc, out, _ = run_cli(capsys, "split", "--check", tmp_path / "ds" / "splits", "--manifest",
                         copy / "manifest.parquet")
    assert rc == 0, out


def test_nothing_publishable_fails_and_retires_the_old_dataset(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_build(built, tmp_path / "copy")
    out = tmp_path / "ds"
    assert run_cli(capsys, "publish", copy / "manifest.parquet", "--out", out)[0] == 0
    rewrite(copy / "manifest.parquet", lambda r: r.update(status="failed", error="HTTP Error 404"))
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", out)
    assert rc == 2 and "no clip has status ok" in err and f"moved to {out}.stale" in err
    assert not out.exists() and (out.parent / "ds.stale" / "README.md").is_file()


def test_build_cli_exit_code_reasons_and_summary_last(tmp_path: Path, server: FaultyServer) -> None:
    """`vaar build` in a terminal: a 404 and an invalid row, nothing publishable, an old dataset."""
    import pty

    make_source(server.root / "ok.mp4", 3.0)
    csv = tmp_path / "s.csv"
    csv.write_text(HEADER + f"gone,{server.url('e404-gone.mp4')},0.5,2.5,crash,,,\n"
                   f"backwards,{server.url('ok.mp4')},3,1,crash,,,\n")
    out = tmp_path / "out"
    (out / "dataset" / "data").mkdir(parents=True)
    (out / "dataset" / "README.md").write_text("an older dataset\n")
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "vaar.cli", "build", str(csv), "--out", str(out), "--allow-private-network"],
                            stdout=secondary, stderr=secondary, env={**os.environ, "COLUMNS": "200"})
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    rc = proc.wait(timeout=120)
    os.close(primary)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    assert rc == 1, text
    assert "dataset not published" in text and "moved to" in text
    assert not (out / "dataset").exists() and (out / "dataset.stale" / "README.md").is_file()
    # readable reasons: a code and one real example each, not `end` and `…`
    assert "download.http_404" in text and "gone: " in text
    assert "validate.end_before_start" in text and "backwards: " in text
    # the progress bar is drawn before the summary, never after it
    summary = text.index("vaar build: ")
    assert not re.search(r"build\s+[━╸ ]*\s*\d+/\d+", text[summary:])


# ----------------------------------------------------------------------------- private test labels


def public_bytes(folder: Path) -> bytes:
    return b"\0".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_private_test_labels_cannot_be_recovered(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAAR_HOST_SECRET", raising=False)
    copy = copy_build(built, tmp_path / "copy")
    host = tmp_path / "host"
    host.mkdir()
    labels_file = host / "test_labels.csv"
    args = ["publish", copy / "manifest.parquet", "--out", tmp_path / "ds", "--private-test-labels", labels_file]
    # without a host secret private labels are refused
    rc, _, err = run_cli(capsys, *args)
    assert rc == 2 and "needs a host secret" in err and not (tmp_path / "ds").exists()
    (host / "secret").write_text(SECRET)
    rc, _, err = run_cli(capsys, "publish", copy / "manifest.parquet", "--out", tmp_path / "ds",
                         "--private-test-labels", tmp_path / "ds" / "labels.csv",
                         "--host-secret-file", host / "secret")
    assert rc == 2 and "inside the published folder" in err
    rc, out, err = run_cli(capsys, *args, "--host-secret-file", host / "secret")
    assert rc == 0, err
    ds = tmp_path / "ds"
    manifest = {r["clip_id"]: r for r in pq.read_table(copy / "manifest.parquet").to_pylist()}
    hidden = dict(line.split(",")[:2] for line in labels_file.read_text().splitlines()[1:])
    assert hidden and oct(labels_file.stat().st_mode & 0o777) == "0o600"
    secret = SECRET.encode()
    test_ids = [c for c in manifest if opaque_id(secret, c) in hidden]
    assert len(test_ids) == len(hidden)
    assert all(hidden[opaque_id(secret, c)] == manifest[c]["label"] for c in test_ids)  # the host's map

    # the attacker has the folder: ids, urls and source names of test clips appear nowhere in it
    blob = public_bytes(ds)
    for c in test_ids:
        r = manifest[c]
        for leak in (c, r["url"], r["url"].rsplit("/", 1)[-1], r["source_id"]):
            assert leak.encode() not in blob, leak
    # published test rows: label -1, opaque ids sorted, nothing leading back to the source
    test = pq.read_table(next((ds / "data").glob("test-*.parquet"))).to_pylist()
    assert [r["clip_id"] for r in test] == sorted(hidden)
    for r in test:
        assert r["label"] == -1 and r["url"] is None and r["start"] is None
        assert r["video"]["path"] == f"{r['clip_id']}.mp4" and r["source_id"].startswith("g")
    # the ids are keyed: without the secret (a guessed one, or plain hashes of public names) they
    # cannot be recomputed
    for guess in (b"", b"vaar", b"secret", SECRET.encode()[:-1]):
        assert not any(opaque_id(guess, c) in hidden for c in manifest)
    plain = {hashlib.sha256(c.encode()).hexdigest()[:20] for c in manifest}
    assert not {h[1:] for h in hidden} & plain
    # the card: no per-class test counts
    card = (ds / "README.md").read_text()
    for slug in CLASSES:
        row = next(line for line in card.splitlines() if line.startswith(f"| `{slug}` |"))
        assert row.split("|")[4].strip() == "—" and row.split("|")[5].strip() == "—"
    # the split identity is an HMAC: brute force over every labelling of the test ids (as a
    # submitter would, with plain sha256) matches nothing published
    identity = re.search(r"hmac-sha256:([0-9a-f]{64})", card)
    assert identity and identity.group(1).encode() in blob
    published_hex = set(re.findall(rb"[0-9a-f]{64}", blob))
    ids = sorted(hidden)
    version = labels_file.read_text().splitlines()[1].split(",")[2]
    for labels in itertools.product(CLASSES, repeat=len(ids)):
        for header, tail in (("clip_id,label", ""), ("clip_id,label,dataset_version", f",{version}")):
            guess = (header + "\n" + "".join(f"{c},{lab}{tail}\n" for c, lab in zip(ids, labels, strict=True)))
            assert hashlib.sha256(guess.encode()).hexdigest().encode() not in published_hex
    assert hashlib.sha256(labels_file.read_bytes()).hexdigest().encode() not in published_hex
    # the host scores a submission with the private file
    preds = tmp_path / "preds.csv"
    preds.write_text("clip_id,label\n" + "".join(f"{c},{lab}\n" for c, lab in sorted(hidden.items())))
    from vaar.bench.cli import main as bench

    # private labels without the host secret are refused in one line (no plain sha256 to fall back on)
    assert bench(["score", str(preds), "--labels", str(labels_file), "--json", "--bootstrap", "10"]) == 2
    err = capsys.readouterr().err
    assert "--host-secret-file" in err and len(err.strip().splitlines()) == 1
    host_secret = ["--host-secret-file", str(host / "secret")]
    assert bench(["score", str(preds), "--labels", str(labels_file), "--json", "--bootstrap", "10", *host_secret]) == 0
    out = capsys.readouterr().out
    assert '"accuracy": 1.0' in out and f'"split_sha256": "{identity.group(0)}"' in out
    # the submitted entry names the card's test set (its HMAC identity) and pins it
    board = tmp_path / "board"
    assert bench(["submit", str(preds), "--name", "host", "--leaderboard", str(board), "--labels", str(labels_file),
                  "--bootstrap", "10", *host_secret]) == 0  # fmt: skip
    capsys.readouterr()
    entry_text = (board / "entries" / "vaar-cls" / "host.json").read_text()
    assert json.loads(entry_text)["dataset"]["split_sha256"] == identity.group(0)
    assert json.loads((board / "test_sets.json").read_text()) == {"vaar-cls": identity.group(0)}
    # no plain sha256 of any labelling of the test ids (the brute force above) is anywhere in the
    # entry, predictions_sha256 included: the submitted file here is a perfect labelling, so on a
    # private split the entry names it by an HMAC under the host secret
    entry = json.loads(entry_text)
    entry_hex = set(re.findall(r"[0-9a-f]{64}", json.dumps(entry)))
    assert entry["predictions_sha256"].startswith("hmac-sha256:")
    assert hashlib.sha256(preds.read_bytes()).hexdigest() not in entry_hex
    for labels in itertools.product(CLASSES, repeat=len(ids)):
        for header, tail in (("clip_id,label", ""), ("clip_id,label,dataset_version", f",{version}")):
            guess = (header + "\n" + "".join(f"{c},{lab}{tail}\n" for c, lab in zip(ids, labels, strict=True)))
            assert hashlib.sha256(guess.encode()).hexdigest() not in entry_hex
    assert hashlib.sha256(labels_file.read_bytes()).hexdigest() not in entry_hex
    # the host still finds the stored file by that HMAC and re-scores it
    stored = tmp_path / "stored"
    stored.mkdir()
    shutil.copy(preds, stored / "host.csv")
    assert bench(["leaderboard", "--leaderboard", str(board), "--rescore", str(stored), "--task", "vaar-cls",
                  "--labels", str(labels_file), *host_secret]) == 0  # fmt: skip
    assert "1 reproduced" in capsys.readouterr().out


def test_host_secret_from_the_environment_and_length(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_build(built, tmp_path / "copy")
    args = ["publish", copy / "manifest.parquet", "--out", tmp_path / "ds",
            "--private-test-labels", tmp_path / "labels.csv"]
    monkeypatch.setenv("VAAR_HOST_SECRET", "short")
    rc, _, err = run_cli(capsys, *args)
    assert rc == 2 and "at least 16" in err
    monkeypatch.setenv("VAAR_HOST_SECRET", SECRET)
    assert run_cli(capsys, *args)[0] == 0
    first = (tmp_path / "labels.csv").read_bytes()
    assert run_cli(capsys, *args)[0] == 0  # the same secret: the same opaque ids on a republish
    assert (tmp_path / "labels.csv").read_bytes() == first


def test_run_build_publishes_through_the_same_function(built: Path, tmp_path: Path) -> None:
    copy = copy_build(built, tmp_path / "copy", ledger=True)
    shutil.copy2(built.parent / "s.csv", tmp_path / "s.csv")
    ref = tmp_path / "ref"
    publish(copy / "manifest.parquet", None, ref, PublishConfig())
    # the source list's server is gone: a resumed build must not need it (nothing to redo)
    report = run_build([tmp_path / "s.csv"], copy, replace(FAST, do_publish=True))
    assert report.processed == 0 and report.publish is not None, report.publish_error
    assert tree(copy / "dataset") == tree(ref)


_BUILD_AND_LIST_IMPORTS = """
import json, sys
from vaar.cli import main
rc = main(sys.argv[1:])
print(json.dumps([rc, sorted(m for m in ("datasets", "mlcroissant", "yt_dlp") if m in sys.modules)]))
"""


def test_a_resumed_build_republishes_without_the_heavy_imports(built: Path, tmp_path: Path) -> None:
    """The fixed cost of `vaar build`: publishing never imports datasets; a rerun with nothing to do
    downloads nothing (no yt_dlp) and, its croissant.json being the one checked before, does not
    import mlcroissant again. The dataset it publishes is the same, byte for byte."""
    copy = copy_build(built, tmp_path / "copy", ledger=True)
    shutil.copy2(built.parent / "s.csv", tmp_path / "s.csv")

    def build() -> tuple[list[str], dict[str, str]]:
        proc = subprocess.run([sys.executable, "-c", _BUILD_AND_LIST_IMPORTS, "build", str(tmp_path / "s.csv"),
                               "--out", str(copy), "--allow-private-network"],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "SOURCE_DATE_EPOCH": "1767225600"})  # fmt: skip (a fixed datePublished)
        rc, imported = json.loads(proc.stdout.strip().splitlines()[-1])
        assert rc == 0, proc.stderr[-2000:]
        return imported, tree(copy / "dataset")

    first, published = build()
    assert first == ["mlcroissant"]  # the check ran
    again, republished = build()
    assert again == [] and republished == published
    # the version the manifest records is read without importing yt_dlp, and is its own
    from yt_dlp.version import __version__

    assert ytdlp_version() == __version__
