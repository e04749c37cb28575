"""Licences that tell the truth: the video's licence comes from the video's page (the extractor's
metadata) or a reviewer, never from the annotations; ``vaar publish --licenses`` keeps only the
matching clips and the card's counts agree.

The "page" is real: a yt-dlp extractor plugin (the ``yt_dlp_plugins`` namespace, as users install
them) reads a JSON page from the loopback server and returns its ``license`` the way YouTube's
extractor returns "Creative Commons Attribution license (reuse allowed)". The build runs in a
subprocess with the plugin on its path, so no other test sees it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.media import make_source
from vaar.core.errors import ConfigError
from vaar.curation.build.loopback import LoopbackServer
from vaar.curation.licences import licence_family, parse_families, video_license

REPO = Path(__file__).resolve().parents[2]
CC_BY = "Creative Commons Attribution license (reuse allowed)"

PLUGIN = '''
from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.utils import urljoin


class VaarLoopbackPageIE(InfoExtractor):
    """A video page on the test's loopback server: JSON with title, uploader, media, licence."""

    _VALID_URL = r"https?://127\\.0\\.0\\.1:\\d+/page/(?P<id>[\\w-]+)\\.json"

    def _real_extract(self, url):
        vid = self._match_id(url)
        page = self._download_json(url, vid)
        info = {"id": vid, "title": page["title"], "uploader": page["uploader"],
                "url": urljoin(url, page["media"]), "ext": "mp4"}
        if page.get("license"):
            info["license"] = page["license"]
        return info
'''


@pytest.mark.parametrize(
    ("stated", "family"),
    [
        (CC_BY, "cc-by"), ("CC-BY-4.0", "cc-by"), ("cc by-sa 4.0", "cc-by-sa"), ("CC0-1.0", "cc0"),
        ("https://creativecommons.org/licenses/by-nc-nd/4.0/", "cc-by-nc-nd"),
        ("Creative Commons Attribution-NonCommercial-ShareAlike", "cc-by-nc-sa"),
        ("Standard YouTube License", "other"), ("", "unknown"), (None, "unknown"),
        ("<script>cc-by</script>", "cc-by"),
    ],
)  # fmt: skip
def test_licence_family(stated: str | None, family: str) -> None:
    assert licence_family(stated) == family


def test_the_video_licence_never_comes_from_the_row_unless_reviewed() -> None:
    assert video_license(False, "CC-BY-4.0", {}) == {"license": None, "license_source": "unknown"}
    assert video_license(False, "CC-BY-4.0", {"license": CC_BY}) == {"license": CC_BY, "license_source": "extractor"}
    assert video_license(True, "CC0-1.0", {"license": CC_BY}) == {"license": "CC0-1.0", "license_source": "reviewed"}
    # a page's licence is one printable line: no terminal escapes, no newlines
    assert video_license(False, None, {"license": " a\x1b[31m\nb "})["license"] == "a[31m b"
    with pytest.raises(ConfigError, match="unknown licence id\\(s\\) cc-by-4"):
        parse_families("cc-by-4,cc0")


def _rows(folder: Path) -> list[dict]:
    return [r for p in sorted((folder / "data").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("licences")
    www, plugins = root / "www", root / "plugins" / "yt_dlp_plugins" / "extractor"
    (www / "page").mkdir(parents=True)
    plugins.mkdir(parents=True)
    (plugins / "vaar_loopback_page.py").write_text(PLUGIN, encoding="utf-8")
    for i, name in enumerate(("open", "closed", "direct")):
        make_source(www / f"{name}.mp4", 12.0, variant=i)
    (www / "page" / "open.json").write_text(json.dumps(
        {"title": "open", "uploader": "alice", "media": "../open.mp4", "license": CC_BY}))  # fmt: skip
    (www / "page" / "closed.json").write_text(json.dumps({"title": "closed", "uploader": "bob", "media": "../closed.mp4"}))
    head = "clip_id,url,start,end,label,source_id,license,license_reviewed,annotation_source,annotation_license\n"
    lines = []
    with LoopbackServer(www) as srv:
        urls = {"open": srv.url("page/open.json"), "closed": srv.url("page/closed.json"), "direct": srv.url("direct.mp4")}
        for name, url in urls.items():
            for k in range(4):
                # every row claims CC-BY-4.0 (the annotations' licence, as old candidate lists did): unreviewed,
                # so it is not the video's
                lines.append(f"{name}-{k},{url},{1 + 2.5 * k:g},{3 + 2.5 * k:g},crash,{name},CC-BY-4.0,,"
                             "AudioSet v1 eval_segments.csv,CC-BY-4.0")  # fmt: skip
        lines.append(f"reviewed-0,{urls['direct']},10.7,11.8,explosion,direct2,CC0-1.0,yes,curator,CC0-1.0")
        (root / "s.csv").write_text(head + "\n".join(lines) + "\n", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(root / "plugins")])}
        proc = subprocess.run(
            [sys.executable, "-m", "vaar.cli", "build", str(root / "s.csv"), "--out", str(root / "build"),
             "--allow-private-network", "--workers", "2", "--no-publish"],
            capture_output=True, text=True, check=False, env=env, cwd=root,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root


def test_build_records_the_pages_licence_and_unknown_otherwise(built: Path) -> None:
    man = {r["clip_id"]: r for r in pq.read_table(built / "build" / "manifest.parquet").to_pylist()}
    assert all(r["status"] == "ok" for r in man.values()), {c: r["error"] for c, r in man.items() if r["error"]}
    for k in range(4):
        assert (man[f"open-{k}"]["license"], man[f"open-{k}"]["license_source"]) == (CC_BY, "extractor")
        assert man[f"open-{k}"]["uploader"] == "alice" and man[f"open-{k}"]["extractor"] == "VaarLoopbackPage"
        for name in ("closed", "direct"):
            assert (man[f"{name}-{k}"]["license"], man[f"{name}-{k}"]["license_source"]) == (None, "unknown")
    assert (man["reviewed-0"]["license"], man["reviewed-0"]["license_source"]) == ("CC0-1.0", "reviewed")
    assert {r["annotation_license"] for c, r in man.items() if c != "reviewed-0"} == {"CC-BY-4.0"}
    assert man["open-0"]["annotation_source"] == "AudioSet v1 eval_segments.csv"


def test_publish_keeps_only_the_asked_licences_and_the_card_agrees(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vaar.cli import main

    manifest = built / "build" / "manifest.parquet"
    everything, open_only = built / "all", built / "open"
    assert main(["publish", str(manifest), "--out", str(everything), "--ratios", "0.5,0.25,0.25"]) == 0
    rows = _rows(everything)
    assert len(rows) == 13
    # no published clip states a licence that no one gave
    assert sorted({r["license"] for r in rows}, key=str) == sorted({CC_BY, "CC0-1.0", None}, key=str)
    assert sum(r["license"] is None for r in rows) == 8
    card = (everything / "README.md").read_text(encoding="utf-8")
    assert "| `unknown` | 8 |" in card and "| `cc-by` | 4 |" in card and "| `cc0` | 1 |" in card
    assert "**8 of 13 clips have no known video licence.**" in card and "| CC\\-BY\\-4.0 | 12 |" in card
    sheet = (everything / "DATASHEET.md").read_text(encoding="utf-8")
    assert "| `unknown` | 8 | 8 |" in sheet
    croissant = json.loads((everything / "croissant.json").read_text(encoding="utf-8"))
    assert "Video licences (per clip, as the video's page or a reviewer stated them): unknown 8, cc-by 4, cc0 1" in (
        croissant["rai:dataLimitations"]
    )
    # only redistributable media: the clips keep the split they had in the full release
    assert main(["publish", str(manifest), "--out", str(open_only), "--ratios", "0.5,0.25,0.25",
                 "--licenses", "cc-by,cc0"]) == 0  # fmt: skip
    kept = _rows(open_only)
    assert sorted(r["clip_id"] for r in kept) == ["open-0", "open-1", "open-2", "open-3", "reviewed-0"]
    split_of = {}
    for folder in (everything, open_only):
        for p in (folder / "splits").glob("*.csv"):
            for r in csv.DictReader(io.StringIO(p.read_text(encoding="utf-8"))):
                split_of.setdefault(r["clip_id"], set()).add(p.stem)
    assert all(len(split_of[r["clip_id"]]) == 1 for r in kept)
    card = (open_only / "README.md").read_text(encoding="utf-8")
    assert "| `cc-by` | 4 |" in card and "| `cc0` | 1 |" in card and "`unknown`" not in card.split("## Split")[0]
    assert "Only clips whose video licence is one of `cc-by, cc0` are published" in card
    head = card.split("---")[1]
    assert sum(int(line.split(":")[1]) for line in head.splitlines() if "num_examples" in line) == 5
    # nothing matches: one line, exit 2
    capsys.readouterr()
    assert main(["publish", str(manifest), "--out", str(built / "none"), "--licenses", "cc-by-sa"]) == 2
    err = capsys.readouterr().err
    assert "no clip's video licence is in --licenses cc-by-sa" in err and "unknown 8" in err
    assert len(err.strip().splitlines()) == 1 and not (built / "none").exists()
    assert main(["publish", str(manifest), "--out", str(built / "none"), "--licenses", "gpl"]) == 2
    assert "unknown licence id(s) gpl" in capsys.readouterr().err


def test_a_rebuild_follows_the_list_and_drops_stale_claims(built: Path, tmp_path: Path) -> None:
    """Clips reused from the ledger take the list's licence fields as they are now: a licence a
    reviewer checked since wins, and a licence an older vaar copied from the row is dropped."""
    import shutil

    from vaar.cli import main
    from vaar.curation.build.ledger import Ledger

    b = tmp_path / "build"
    shutil.copytree(built / "build", b)
    lines = (built / "s.csv").read_text(encoding="utf-8").splitlines()
    lines = [ln.replace(",closed,CC-BY-4.0,,", ",closed,CC-BY-4.0,yes,") if ln.startswith("closed-0,") else ln
             for ln in lines]  # fmt: skip
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    led = Ledger(b / "ledger.sqlite")
    led.update_fields({"direct-0": {"license": "CC-BY-4.0", "license_source": None}})  # as an older vaar wrote it
    led.close()
    assert main(["build", str(tmp_path / "s.csv"), "--out", str(b), "--no-publish"]) == 0
    man = {r["clip_id"]: r for r in pq.read_table(b / "manifest.parquet").to_pylist()}
    assert (man["closed-0"]["license"], man["closed-0"]["license_source"]) == ("CC-BY-4.0", "reviewed")
    assert (man["direct-0"]["license"], man["direct-0"]["license_source"]) == (None, "unknown")
    assert (man["open-0"]["license"], man["open-0"]["license_source"]) == (CC_BY, "extractor")
    assert (man["closed-1"]["license"], man["closed-1"]["license_source"]) == (None, "unknown")


def test_audit_reports_the_licence_each_page_states_now(built: Path, tmp_path: Path) -> None:
    with LoopbackServer(built / "www") as srv:
        urls = {"open": srv.url("page/open.json"), "closed": srv.url("page/closed.json"), "direct": srv.url("direct.mp4")}
        (tmp_path / "l.csv").write_text("clip_id,url,start,end,label\n" + "".join(
            f"{n}-0,{u},1,3,crash\n" for n, u in urls.items()), encoding="utf-8")  # fmt: skip
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(built / "plugins")]), "COLUMNS": "200"}
        proc = subprocess.run(
            [sys.executable, "-m", "vaar.cli", "audit", str(tmp_path / "l.csv"), "--out", str(tmp_path / "r.csv"),
             "--allow-private-network"], capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = {r["clip_id"]: r for r in csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8")))}
    assert {c: r["status"] for c, r in report.items()} == {"open-0": "available", "closed-0": "available",
                                                           "direct-0": "available"}  # fmt: skip
    assert (report["open-0"]["license"], report["open-0"]["license_family"]) == (CC_BY, "cc-by")
    assert (report["closed-0"]["license"], report["closed-0"]["license_family"]) == ("", "unknown")
    assert "video licences of the available sources (as their pages state them now): unknown 2, cc-by 1" in proc.stdout
