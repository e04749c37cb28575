"""`vaar discover`: seeds on the real vggsounder package and on small lists the tests write
(files and the loopback server), dedup, balance, determinism, and the committed candidate list."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.fixtures.http_server import FaultyServer
from vaar.cli import main
from vaar.core.contracts.source_list import check_candidates, read_sources
from vaar.core.errors import ConfigError
from vaar.core.taxonomy import default_taxonomy, load_taxonomy
from vaar.curation.build.loopback import LoopbackServer
from vaar.curation.discover import CANDIDATE_COLUMNS, SeedOptions, discover, seed_names
from vaar.curation.discover.candidate import render_candidates
from vaar.curation.netguard import NetworkPolicy

REPO = Path(__file__).resolve().parents[2]
V0 = REPO / "curation" / "sources" / "candidates" / "vaar-open-v0.csv"
V0_ARGS = ["discover", "--from", "vggsounder", "--per-class", "60"]  # as in candidates/README.md
TAX = default_taxonomy()


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ---- the taxonomy's seed mapping ------------------------------------------------------------


def test_taxonomy_maps_seed_labels_and_is_versioned() -> None:
    assert TAX.version >= 2
    vgg = TAX.seed_map("vggsound")
    assert vgg["police car (siren)"] == "police_siren" and vgg["baby crying"] == "baby_cry"
    assert TAX.seed_map("xd-violence")["B5"] == "abuse"
    assert TAX.seed_map("no-such-vocabulary") == {}
    assert set(vgg.values()) <= set(TAX.slugs)


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ("seeds:\n  vggsound:\n    robbery: [\"x\"]\n", "seeds.vggsound: unknown class 'robbery'"),
        ("seeds:\n  vggsound:\n    crash: [\"skidding\"]\n    pain: [\"skidding\"]\n",
         "seed label 'skidding' is listed under both crash and pain"),
        ("seeds:\n  vggsound:\n    crash: skidding\n", "seeds.vggsound.crash must be a list"),
    ],
)  # fmt: skip
def test_taxonomy_seed_mapping_is_validated_on_load(tmp_path: Path, seeds: str, message: str) -> None:
    base = (REPO / "curation" / "taxonomy.yaml").read_text(encoding="utf-8").split("\nseeds:")[0]
    bad = tmp_path / "tax.yaml"
    bad.write_text(base + "\n" + seeds, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_taxonomy(bad)
    # the CLI turns it into one line and exit 2
    proc = subprocess.run(
        [sys.executable, "-m", "vaar.cli", "discover", "--from", "vggsounder", "--taxonomy", str(bad),
         "--out", str(tmp_path / "c.csv")], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


def test_unknown_seed_lists_the_valid_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["discover", "--from", "youtube", "--out", str(tmp_path / "c.csv")]) == 2
    err = capsys.readouterr().err
    assert "unknown seed 'youtube'" in err and all(n in err for n in seed_names())
    assert seed_names() == ["audioset-csv", "kinetics-csv", "vggsound-csv", "vggsounder", "xd-violence-list", "ytsearch"]


# ---- vggsounder, on the installed package ----------------------------------------------------


def test_vggsounder_counts_match_the_package_own_loader() -> None:
    """Independent oracle: the package's VGGSounder loader, filtered to AV, no static image and
    (for the figures the issue measured) no background music."""
    from vggsounder import VGGSounder

    oracle = VGGSounder(modality="AV", background_music=False, static_image=False)
    per_label: Counter[str] = Counter()
    for i in range(len(oracle)):
        vd = oracle[i]
        for label, modality in zip(vd.labels, vd.modalities, strict=True):
            if modality == "AV":
                per_label[label] += 1
    measured = {
        "police car (siren)": 54, "baby crying": 88, "people screaming": 166, "people sobbing": 45,
        "fireworks banging": 74, "volcano explosion": 27, "missile launch": 45, "skidding": 44,
        "people slapping": 35, "people battle cry": 20, "people crowd": 397, "car passing by": 238,
    }  # fmt: skip
    assert {k: per_label[k] for k in measured} == measured
    result = discover("vggsounder", SeedOptions(), TAX)
    from vaar.curation.discover.vggsounder import data_text, parse

    raw, skipped = parse(*data_text(), TAX)
    ours = Counter(lab for c in raw if "background_music" not in c.seed_flags for lab in c.seed_labels)
    assert {k: ours[k] for k in measured} == measured
    assert skipped["static image"] > 0 and skipped["modality A (not heard and seen)"] > 0
    # every candidate is AV, 10 s, a YouTube URL; CC BY 4.0 is the annotations' licence, never the
    # video's (unknown until the build reads the page); flags only from the package's columns
    for c in result.candidates:
        assert c.end is not None and c.start is not None and c.end - c.start == 10.0
        assert c.license == "" and c.annotation_license == "CC-BY-4.0" and c.seed == "vggsounder"
        assert c.annotation_source.startswith("VGGSounder ")
        allowed = {"background_music", "voice_over", "stand_in"} | {f"also:{s}" for s in TAX.slugs}
        assert set(c.seed_flags) <= allowed
        # slapping and battle cries only stand in for abuse and brawling
        assert ("stand_in" in c.seed_flags) == (c.label in ("abuse", "brawling"))
    covered = {c.label for c in result.candidates}
    assert covered == {"abuse", "baby_cry", "brawling", "crash", "explosion", "normal", "pain", "police_siren"}


def test_vggsounder_list_is_deterministic_balanced_and_deduplicated(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["discover", "--from", "vggsounder", "--per-class", "25", "--out", str(a)]) == 0
    assert main(["discover", "--from", "vggsounder", "--per-class", "25", "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    got = rows(a)
    assert list(got[0]) == list(CANDIDATE_COLUMNS)
    assert Counter(r["label"] for r in got) == {"brawling": 15} | {s: 25 for s in
                                                ("abuse", "baby_cry", "crash", "explosion", "normal", "pain", "police_siren")}  # fmt: skip
    # one candidate per (video, overlapping span): spans of one video never overlap
    spans: dict[str, list[tuple[float, float]]] = {}
    for r in got:
        spans.setdefault(r["source_id"], []).append((float(r["start"]), float(r["end"])))
    for s in spans.values():
        s.sort()
        assert all(a[1] <= b[0] for a, b in zip(s, s[1:], strict=False))
    # fewest flags first: a class with >= 25 clean candidates keeps only clean ones
    assert not any(r["seed_flags"] for r in got if r["label"] == "baby_cry")
    # the hash seed changes the choice, not the counts
    c = tmp_path / "c.csv"
    assert main(["discover", "--from", "vggsounder", "--per-class", "25", "--hash-seed", "7", "--out", str(c)]) == 0
    assert c.read_bytes() != a.read_bytes() and len(rows(c)) == len(got)
    # --classes restricts
    d = tmp_path / "d.csv"
    assert main(["discover", "--from", "vggsounder", "--classes", "crash", "--out", str(d)]) == 0
    assert {r["label"] for r in rows(d)} == {"crash"}
    assert main(["discover", "--from", "vggsounder", "--classes", "ufo", "--out", str(d)]) == 2


def test_candidates_are_valid_source_rows_and_build_ignores_provenance(tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    assert main(["discover", "--from", "vggsounder", "--per-class", "5", "--out", str(out)]) == 0
    valid, invalid = read_sources([out])
    assert not invalid and len(valid) == 40
    assert valid[0].license is None and valid[0].url.startswith("https://www.youtube.com/watch?v=")


# ---- vggsound-csv and audioset-csv: files and URLs -------------------------------------------

VGGSOUND = (
    'aaaaaaaaaaa,30,baby crying,test\n'
    'aaaaaaaaaaa,35,people crowd,test\n'          # overlaps 30-40: merged, anomaly wins
    'aaaaaaaaaaa,60,skidding,train\n'             # same video, no overlap: its own candidate
    '-bbbbbbbbbb,0,"police car (siren)",train\n'  # id starting with '-'
    'ccccccccccc,12,playing piano,train\n'        # not a VAAR class: ignored, not a skip
    'short,1,skidding,train\n'                    # malformed id
    'ddddddddddd,x,skidding,train\n'              # malformed start
    'eeeeeeeeeee,4,skidding\n'                    # 3 fields
)  # fmt: skip


def test_vggsound_csv_reader_dedups_and_reports_skips(tmp_path: Path) -> None:
    p = tmp_path / "vggsound.csv"
    p.write_text(VGGSOUND, encoding="utf-8")
    r = discover("vggsound-csv", SeedOptions(source=str(p)), TAX)
    got = {c.clip_id: c for c in r.candidates}
    assert sorted(got) == ["yt--bbbbbbbbbb-0", "yt-aaaaaaaaaaa-30", "yt-aaaaaaaaaaa-60"]
    merged = got["yt-aaaaaaaaaaa-30"]
    # normal means "no anomaly tagged": beside an anomaly label it is not flagged as a second class
    assert merged.label == "baby_cry" and "also:normal" not in merged.seed_flags
    assert merged.seed_labels == ("baby crying", "people crowd") and "av_unchecked" in merged.seed_flags
    assert (got["yt-aaaaaaaaaaa-60"].label, got["yt--bbbbbbbbbb-0"].label) == ("crash", "police_siren")
    assert r.skipped == {"malformed youtube_id": 1, "malformed start": 1, "3 fields, not 4 (youtube_id,start,label,split)": 1}
    # input order does not matter: shuffled lines give the same bytes
    lines = VGGSOUND.splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    q = tmp_path / "shuffled.csv"
    q.write_text("".join(lines), encoding="utf-8")
    again = discover("vggsound-csv", SeedOptions(source=str(q)), TAX)
    assert render_candidates(again.candidates) == render_candidates(r.candidates)


ONTOLOGY = [
    {"id": "/m/0police", "name": "Police car (siren)"},
    {"id": "/m/0scream", "name": "Screaming"},
    {"id": "/m/0speech", "name": "Speech"},
]
AUDIOSET = (
    "# Segments csv created Sun Mar  5 10:54:31 2017\n"
    "# num_ytids=3, num_segs=3, num_unique_labels=3, num_positive_labels=4\n"
    "# YTID, start_seconds, end_seconds, positive_labels\n"
    'xxxxxxxxxxx, 30.000, 40.000, "/m/0speech,/m/0police"\n'
    'yyyyyyyyyyy, 0.000, 10.000, "/m/0scream"\n'
    'zzzzzzzzzzz, 5.000, 15.000, "/m/0speech"\n'
)


def test_seed_lists_are_read_from_urls_on_loopback(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "vggsound.csv").write_text(VGGSOUND, encoding="utf-8")
    (www / "seg.csv").write_text(AUDIOSET, encoding="utf-8")
    (www / "ontology.json").write_text(json.dumps(ONTOLOGY), encoding="utf-8")
    lan = NetworkPolicy(allow_private=True)  # the lists are on 127.0.0.1
    with LoopbackServer(www) as srv:
        v = discover("vggsound-csv", SeedOptions(source=srv.url("vggsound.csv"), network=lan), TAX)
        a = discover("audioset-csv", SeedOptions(source=srv.url("seg.csv"), ontology=srv.url("ontology.json"),
                                                 network=lan), TAX)  # fmt: skip
        with pytest.raises(ConfigError, match="HTTP 404"):
            discover("vggsound-csv", SeedOptions(source=srv.url("missing.csv"), network=lan), TAX)
    assert len(v.candidates) == 3
    got = {c.clip_id: (c.label, c.start, c.end, c.seed_labels) for c in a.candidates}
    assert got == {
        "yt-xxxxxxxxxxx-30": ("police_siren", 30.0, 40.0, ("Police car (siren)",)),
        "yt-yyyyyyyyyyy-0": ("pain", 0.0, 10.0, ("Screaming",)),
    }
    # the same from local files
    (tmp_path / "o.json").write_text(json.dumps(ONTOLOGY), encoding="utf-8")
    (tmp_path / "seg.csv").write_text(AUDIOSET, encoding="utf-8")
    local = discover("audioset-csv", SeedOptions(source=str(tmp_path / "seg.csv"), ontology=str(tmp_path / "o.json")), TAX)
    assert render_candidates(local.candidates) == render_candidates(a.candidates)


def test_list_urls_and_their_redirects_never_reach_the_private_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A list URL (or a redirect behind it) naming the curator's own network is refused before
    anything is fetched, unless --allow-private-network; a redirect to file: is refused too."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "vggsound.csv").write_text(VGGSOUND, encoding="utf-8")
    (tmp_path / "secret.csv").write_text(VGGSOUND, encoding="utf-8")
    out = tmp_path / "c.csv"
    with FaultyServer(www) as srv:
        url = srv.url("vggsound.csv")
        assert main(["discover", "--from", "vggsound-csv", url, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "non-public address 127.0.0.1" in err and "--allow-private-network" in err
        assert srv.requests["vggsound.csv"] == 0 and not out.exists()
        assert main(["discover", "--from", "vggsound-csv", url, "--out", str(out), "--allow-private-network"]) == 0
        assert out.exists()
        # 127.0.0.1 allowed, but its redirect into another private address is not followed
        srv.redirects["hop.csv"] = url.replace("127.0.0.1", "127.0.0.2")
        srv.redirects["file.csv"] = (tmp_path / "secret.csv").as_uri()
        srv.redirects["ftp.csv"] = "ftp://127.0.0.1/secret.csv"  # urllib itself would follow this one
        only_this_host = NetworkPolicy(exempt=("127.0.0.1/32",))
        with pytest.raises(ConfigError, match="redirected to a refused URL: 127.0.0.2 resolves to the non-public"):
            discover("vggsound-csv", SeedOptions(source=srv.url("hop.csv"), network=only_this_host), TAX)
        lan = NetworkPolicy(allow_private=True)
        with pytest.raises(ConfigError, match="redirected to a refused URL: URL scheme 'ftp' refused"):
            discover("vggsound-csv", SeedOptions(source=srv.url("ftp.csv"), network=lan), TAX)
        with pytest.raises(ConfigError, match="Redirection to url 'file:.*' is not allowed"):
            discover("vggsound-csv", SeedOptions(source=srv.url("file.csv"), network=lan), TAX)
        assert srv.requests["vggsound.csv"] == 1  # the one allowed fetch


def test_audioset_needs_an_ontology_and_bad_inputs_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seg = tmp_path / "s.csv"
    seg.write_text(AUDIOSET, encoding="utf-8")
    out = str(tmp_path / "c.csv")
    assert main(["discover", "--from", "audioset-csv", str(seg), "--out", out]) == 2
    assert "needs --ontology" in capsys.readouterr().err
    (tmp_path / "o.json").write_text("{not json", encoding="utf-8")
    assert main(["discover", "--from", "audioset-csv", str(seg), "--ontology", str(tmp_path / "o.json"), "--out", out]) == 2
    assert "not an AudioSet ontology" in capsys.readouterr().err
    assert main(["discover", "--from", "vggsound-csv", "--out", out]) == 2
    assert "reads a file or URL" in capsys.readouterr().err
    assert main(["discover", "--from", "vggsound-csv", str(tmp_path / "nope.csv"), "--out", out]) == 2
    assert "no such VGGSound list file" in capsys.readouterr().err
    (tmp_path / "latin1.csv").write_bytes("aaaaaaaaaaa,1,baby crying,caf\xe9\n".encode("latin-1"))
    assert main(["discover", "--from", "vggsound-csv", str(tmp_path / "latin1.csv"), "--out", out]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert not Path(out).exists()


# ---- xd-violence-list: spanless candidates ---------------------------------------------------

XD_NAMES = """\
Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6
v=-etV57xZ4_I__#1_label_B4-0-0
v=0W8LohxH9nI__#1_label_B1-0-0
v=0qtIjyt-7wg__#00-00-00_00-00-51_label_B6-0-0
v=0qtIjyt-7wg__#00-01-00_00-02-45_label_B6-0-0
v=251___mEwZA__#1_label_B4-B5-0
v=1GFBuaGCeTo__#1_label_B6-G-0
v=aaaaaaaaaaa__#00-00-10_00-01-00_label_A
"""


def test_xd_violence_names_give_spanless_candidates(tmp_path: Path) -> None:
    p = tmp_path / "names.txt"
    p.write_text(XD_NAMES, encoding="utf-8")
    out = tmp_path / "c.csv"
    assert main(["discover", "--from", "xd-violence-list", str(p), "--out", str(out)]) == 0
    got = {r["clip_id"]: r for r in rows(out)}
    assert sorted(got) == [
        "yt--etV57xZ4_I-xd1", "yt-0W8LohxH9nI-xd1", "yt-0qtIjyt-7wg-xd0", "yt-0qtIjyt-7wg-xd60",
        "yt-1GFBuaGCeTo-xd1", "yt-251___mEwZA-xd1", "yt-aaaaaaaaaaa-xd10",
    ]  # fmt: skip
    assert got["yt-0W8LohxH9nI-xd1"]["label"] == "brawling"
    # B4 (riot) stands in for vandalism; B5 (abuse) is the class itself and wins the merge
    assert got["yt--etV57xZ4_I-xd1"]["label"] == "vandalism" and "stand_in" in got["yt--etV57xZ4_I-xd1"]["seed_flags"]
    assert got["yt-251___mEwZA-xd1"]["label"] == "abuse" and "also:vandalism" in got["yt-251___mEwZA-xd1"]["seed_flags"]
    assert "stand_in" not in got["yt-251___mEwZA-xd1"]["seed_flags"]
    assert got["yt-1GFBuaGCeTo-xd1"]["label"] == "crash" and "also:explosion" in got["yt-1GFBuaGCeTo-xd1"]["seed_flags"]
    assert got["yt-aaaaaaaaaaa-xd10"]["label"] == "normal"
    assert "segment 60-165 s" in got["yt-0qtIjyt-7wg-xd60"]["notes"]
    assert all(r["start"] == "" and r["end"] == "" and "no_span" in r["seed_flags"] for r in got.values())
    # a candidates file may be spanless; a build refuses the rows with one clear line each
    n_valid, bad = check_candidates([out])
    assert n_valid == 7 and not bad
    valid, invalid = read_sources([out])
    assert not valid and len(invalid) == 7
    assert all("no span: start and end are empty" in i.reason and "vaar review" in i.reason for i in invalid)
    proc = subprocess.run([sys.executable, "-m", "vaar.cli", "build", "--check-only", str(out)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    # without --candidates the file itself is refused (it is not a reviewed source list): one line
    assert len(lines) == 1 and "a candidates file from `vaar discover`" in lines[0] and "vaar review" in lines[0]
    # checked as a candidate list, the same file is fine
    proc = subprocess.run([sys.executable, "-m", "vaar.cli", "build", "--check-only", "--candidates", str(out)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0 and "7 row(s) valid, 0 invalid" in proc.stderr


def test_check_candidates_still_rejects_bad_rows(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(
        ",".join(CANDIDATE_COLUMNS) + "\n"
        "a,https://www.youtube.com/watch?v=aaaaaaaaaaa,,,crash,,,,s,l,\n"
        "b,https://www.youtube.com/watch?v=aaaaaaaaaaa,5,,crash,,,,s,l,\n"
        "c,https://www.youtube.com/watch?v=aaaaaaaaaaa,,,ufo,,,,s,l,\n"
        "a,https://www.youtube.com/watch?v=bbbbbbbbbbb,1,4,crash,,,,s,l,\n",
        encoding="utf-8",
    )
    n_valid, bad = check_candidates([p])
    assert n_valid == 1
    assert [b.source_line for b in bad] == [3, 4, 5]
    assert "malformed number in end" in bad[0].reason and "unknown label 'ufo'" in bad[1].reason
    assert "duplicate clip_id 'a'" in bad[2].reason


def test_check_only_passes_a_valid_list_and_needs_out_otherwise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.csv"
    assert main(["discover", "--from", "vggsounder", "--per-class", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["build", "--check-only", "--candidates", str(out)]) == 0
    assert "24 row(s) valid, 0 invalid" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()
    assert main(["build", "--candidates", str(out)]) == 2
    assert "--out DIR is required" in capsys.readouterr().err


# ---- the committed list ----------------------------------------------------------------------


def test_vaar_open_v0_is_valid_and_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert V0.is_file(), "regenerate it: vaar " + " ".join(V0_ARGS) + f" --out {V0.relative_to(REPO)}"
    assert main(["build", "--check-only", "--candidates", str(V0)]) == 0
    again = tmp_path / "v0.csv"
    assert main([*V0_ARGS, "--out", str(again)]) == 0
    assert again.read_bytes() == V0.read_bytes(), (
        "vaar-open-v0.csv differs from a fresh run; if the taxonomy or the pinned vggsounder changed "
        "on purpose, regenerate it: vaar " + " ".join(V0_ARGS) + f" --out {V0.relative_to(REPO)}"
    )
    readme = (V0.parent / "README.md").read_text(encoding="utf-8")
    assert "vaar " + " ".join(V0_ARGS) in readme
    counts = Counter(r["label"] for r in rows(V0))
    for label, n in counts.items():
        assert f"| `{label}` | {n} |" in readme, f"per-class count of {label} missing from candidates/README.md"
    assert all(r["license"] == "" and r["annotation_license"] == "CC-BY-4.0" for r in rows(V0))


# ---- ytsearch (real YouTube: not in CI) ------------------------------------------------------


@pytest.mark.network
def test_ytsearch_returns_metadata_only_candidates(tmp_path: Path) -> None:
    r = discover("ytsearch", SeedOptions(search_results=3, classes=("police_siren",)), TAX)
    assert r.candidates and all(c.label == "police_siren" and c.start is None for c in r.candidates)
    assert all("search_result" in c.seed_flags and c.notes for c in r.candidates)
