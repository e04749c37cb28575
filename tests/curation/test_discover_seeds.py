"""Taxonomy v3 seeds: stand-ins, AudioSet in its real format (comment header, quoted label lists),
Kinetics CSVs, XD-Violence feature lists, pinned hashes, the committed AudioSet subset and its
regeneration script, the recipe, and the committed ``vaar-open-v1.csv``."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.fixtures.http_server import FaultyServer
from vaar.cli import main
from vaar.core.errors import ConfigError
from vaar.core.taxonomy import default_taxonomy, load_taxonomy
from vaar.curation.discover import SeedOptions, discover
from vaar.curation.discover.audioset_subset import (
    FILES,
    OFFICIAL_SHA256,
    section_hashes,
    subset_text,
)

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "curation" / "sources" / "seeds"
V1 = REPO / "curation" / "sources" / "candidates" / "vaar-open-v1.csv"
V1_CMD = "vaar discover --recipe curation/sources/seeds/vaar-open-v1.yaml --out curation/sources/candidates/vaar-open-v1.csv"
TAX = default_taxonomy()


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- taxonomy v3 -----------------------------------------------------------------------------


def test_taxonomy_v3_reaches_all_ten_classes_and_marks_stand_ins() -> None:
    assert TAX.version == 3
    reached = {slug for vocab in TAX.vocabularies() for slug in TAX.seed_map(vocab).values()}
    assert reached == set(TAX.slugs)
    assert TAX.seed_map("audioset")["Slap, smack"] == "abuse" and "Slap, smack" in TAX.stand_ins("audioset")
    assert TAX.seed_map("audioset")["Car alarm"] == "intruder" and "Car alarm" in TAX.stand_ins("audioset")
    assert TAX.seed_map("xd-violence")["B4"] == "vandalism" and "B4" in TAX.stand_ins("xd-violence")
    assert TAX.seed_map("vggsound")["people slapping"] == "abuse"
    kin = TAX.seed_map("kinetics")
    assert kin["tagging graffiti"] == "vandalism" and "tagging graffiti" not in TAX.stand_ins("kinetics")
    assert {kin["slapping"], kin["lock picking"]} == {"abuse", "intruder"}
    # Battle cry rows all carry Crowd: normal counts only without an anomaly label
    assert TAX.classes_of("audioset", ["Battle cry", "Crowd"]) == [("brawling", ("Battle cry",), True)]
    assert TAX.classes_of("audioset", ["Crowd"]) == [("normal", ("Crowd",), False)]
    # stand-in only when every label of the class is one
    assert TAX.classes_of("kinetics", ["smashing", "tagging graffiti"]) == [
        ("vandalism", ("smashing", "tagging graffiti"), False)
    ]


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ('seeds:\n  kinetics:\n    abuse: {stand_in: "slapping"}\n', "seeds.kinetics.abuse.stand_in must be a list"),
        ('seeds:\n  kinetics:\n    abuse: {stand_ins: ["slapping"]}\n', "unknown key(s) stand_ins"),
        ('seeds:\n  kinetics:\n    abuse: {labels: ["x"], stand_in: ["x"]}\n', "listed under both abuse and abuse"),
    ],
)  # fmt: skip
def test_stand_in_mappings_are_validated(tmp_path: Path, seeds: str, message: str) -> None:
    base = (REPO / "curation" / "taxonomy.yaml").read_text(encoding="utf-8").split("\nseeds:")[0]
    bad = tmp_path / "tax.yaml"
    bad.write_text(base + "\n" + seeds, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_taxonomy(bad)


# ---- AudioSet in the official format ----------------------------------------------------------

ONTOLOGY = [
    {"id": "/m/07ryjzk", "name": "Slap, smack"},
    {"id": "/m/04gy_2", "name": "Battle cry"},
    {"id": "/m/03qtwd", "name": "Crowd"},
    {"id": "/m/02mfyn", "name": "Car alarm"},
    {"id": "/m/07rn7sz", "name": "Shatter"},
    {"id": "/m/09x0r", "name": "Speech"},
]


def segments(created: str, rows_: list[str]) -> str:
    return (
        f"# Segments csv created {created}\n"
        f"# num_ytids={len(rows_)}, num_segs={len(rows_)}, num_unique_labels=6, num_positive_labels=9\n"
        "# YTID, start_seconds, end_seconds, positive_labels\n" + "".join(r + "\n" for r in rows_)
    )


OFFICIAL = {
    "balanced_train_segments.csv": segments("Sun Mar  5 10:54:31 2017", [
        '--aaaaaaaaa, 30.000, 40.000, "/m/07ryjzk,/m/09x0r"',
        'bbbbbbbbbbb, 0.000, 10.000, "/m/04gy_2,/m/03qtwd"',
        'ccccccccccc, 5.000, 15.000, "/m/09x0r"',
    ]),
    "eval_segments.csv": segments("Sun Mar  5 10:54:25 2017", [
        'ddddddddddd, 20.000, 30.000, "/m/03qtwd"',
        'eeeeeeeeeee, 1.000, 11.000, "/m/02mfyn"',
        'short, 1.000, 11.000, "/m/02mfyn"',
        'fffffffffff, x, 11.000, "/m/07rn7sz"',
        'ggggggggggg, 3.000, "/m/07rn7sz"',
    ]),
    "unbalanced_train_segments.csv": segments("Sun Mar  5 10:54:29 2017", [
        'hhhhhhhhhhh, 50.000, 60.000, "/m/07rn7sz,/m/02mfyn"',
        'iiiiiiiiiii, 0.000, 10.000, "/m/09x0r"',
    ]),
}  # fmt: skip


def official_dir(tmp_path: Path) -> Path:
    d = tmp_path / "official"
    d.mkdir()
    for name, text in OFFICIAL.items():
        (d / name).write_text(text, encoding="utf-8")
    (d / "ontology.json").write_text(json.dumps(ONTOLOGY, indent=1), encoding="utf-8")
    return d


def test_audioset_rows_map_with_stand_ins_and_bad_rows_are_counted(tmp_path: Path) -> None:
    d = official_dir(tmp_path)
    opts = SeedOptions(source=str(d / "eval_segments.csv"), ontology=str(d / "ontology.json"))
    r = discover("audioset-csv", opts, TAX)
    assert [(c.clip_id, c.label, c.seed_flags) for c in r.candidates] == [
        ("yt-eeeeeeeeeee-1", "intruder", ("av_unchecked", "stand_in")),
        ("yt-ddddddddddd-20", "normal", ("av_unchecked",)),
    ]
    assert r.skipped == {"malformed YTID": 1, "malformed start/end": 1, "3 fields, not 4 (YTID, start, end, labels)": 1}
    c = r.candidates[0]
    assert (c.license, c.annotation_license, c.annotation_source) == ("", "CC-BY-4.0", "AudioSet v1 eval_segments.csv")
    bal = discover("audioset-csv", SeedOptions(source=str(d / "balanced_train_segments.csv"),
                                               ontology=str(d / "ontology.json")), TAX)  # fmt: skip
    got = {c.clip_id: (c.label, c.seed_flags) for c in bal.candidates}
    # Battle cry + Crowd: a brawling stand-in, not also flagged normal
    assert got == {"yt---aaaaaaaaa-30": ("abuse", ("av_unchecked", "stand_in")),
                   "yt-bbbbbbbbbbb-0": ("brawling", ("av_unchecked", "stand_in"))}  # fmt: skip


def test_audioset_subset_regenerates_byte_for_byte_from_the_official_format(tmp_path: Path) -> None:
    d = official_dir(tmp_path)
    script = [sys.executable, str(REPO / "scripts" / "audioset_subset.py"), str(d)]
    env_out = [tmp_path / "a", tmp_path / "b"]
    # the fixture files are not the official ones: refused before anything is written
    proc = subprocess.run([*script, "--out", str(env_out[0])], capture_output=True, text=True, check=False, cwd=REPO)
    assert proc.returncode == 2 and "not the pinned" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not env_out[0].exists()
    for out in env_out:
        proc = subprocess.run([*script, "--out", str(out), "--any-hash"], capture_output=True, text=True,
                              check=False, cwd=REPO)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    a, b = (o / "segments-subset.csv.gz" for o in env_out)
    assert a.read_bytes() == b.read_bytes()  # gzip with mtime 0 and no name
    text = gzip.decompress(a.read_bytes()).decode("utf-8")
    assert section_hashes(text) == {n: sha((d / n).read_bytes()) for n in FILES}
    kept = [ln.split(",")[0] for ln in text.splitlines() if not ln.startswith("#")]
    # every row carrying a mapped label, unchanged and in file order; Speech-only rows dropped
    assert kept == ["--aaaaaaaaa", "bbbbbbbbbbb", "ddddddddddd", "eeeeeeeeeee", "short", "fffffffffff",
                    "ggggggggggg", "hhhhhhhhhhh"]  # fmt: skip
    for name, official in OFFICIAL.items():
        section = text.split(f"# section: {name} ")[1].split("\n", 1)[1].split("# section: ")[0]
        assert section == "".join(ln for ln in official.splitlines(keepends=True)
                                  if ln.startswith("#") or '"/m/09x0r"' not in ln)  # fmt: skip
    assert gzip.decompress((env_out[0] / "ontology.json.gz").read_bytes()) == (d / "ontology.json").read_bytes()
    # and the subset reads like the official files (same candidates, provenance per section)
    opts = SeedOptions(source=str(a), ontology=str(env_out[0] / "ontology.json.gz"))
    r = discover("audioset-csv", opts, TAX)
    assert {c.annotation_source for c in r.candidates} == {
        "AudioSet v1 balanced_train_segments.csv", "AudioSet v1 eval_segments.csv",
        "AudioSet v1 unbalanced_train_segments.csv",
    }  # fmt: skip
    _, report = subset_text(d, TAX, "x", pinned=None)
    assert report.rows == {"balanced_train_segments.csv": 2, "eval_segments.csv": 5, "unbalanced_train_segments.csv": 1}


def test_committed_audioset_subset_names_the_official_files_and_stays_small() -> None:
    sub = SEEDS / "audioset" / "segments-subset.csv.gz"
    assert sub.stat().st_size < 1_000_000
    text = gzip.decompress(sub.read_bytes()).decode("utf-8")
    assert section_hashes(text) == {n: OFFICIAL_SHA256[n] for n in FILES}
    assert f"# ontology.json sha256 {OFFICIAL_SHA256['ontology.json']}" in text
    onto = gzip.decompress((SEEDS / "audioset" / "ontology.json.gz").read_bytes())
    assert sha(onto) == OFFICIAL_SHA256["ontology.json"]
    # every data row carries a label the taxonomy maps; the balanced + eval counts match the issue
    names = {d["id"]: d["name"] for d in json.loads(onto)}
    mapped = {i for i, n in names.items() if n in TAX.seed_map("audioset")}
    data = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert all(mapped & set(ln.split('"')[1].split(",")) for ln in data)
    per = Counter(i for ln in data for i in ln.split('"')[1].split(",") if i in mapped)
    assert per["/m/07ryjzk"] == 870 and per["/m/02mfyn"] == 519 and per["/m/04gy_2"] == 447
    assert per["/m/07pjjrj"] + per["/m/07pc8lb"] + per["/m/07rn7sz"] >= 2276
    readme = (SEEDS / "README.md").read_text(encoding="utf-8")
    assert all(h in readme for h in OFFICIAL_SHA256.values())


# ---- Kinetics and XD-Violence feature lists ---------------------------------------------------

KINETICS = (
    "label,youtube_id,time_start,time_end,split\n"
    "slapping,aaaaaaaaaaa,12,22,train\n"
    "tagging graffiti,bbbbbbbbbbb,0,10,train\n"
    '"breaking glass",-cccccccccc,30,40,validate\n'
    "playing piano,ddddddddddd,0,10,train\n"
    "lock picking,short,0,10,train\n"
    "smashing,eeeeeeeeeee,x,10,train\n"
    "smashing,fffffffffff,0,500,train\n"
    "smashing,ggggggggggg,0\n"
)


def test_kinetics_csv_gives_visual_candidates_and_counts_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "train.csv"
    p.write_text(KINETICS, encoding="utf-8")
    r = discover("kinetics-csv", SeedOptions(source=str(p)), TAX)
    got = {c.clip_id: (c.label, c.seed_flags, c.annotation_source) for c in r.candidates}
    assert got == {
        "yt-aaaaaaaaaaa-12": ("abuse", ("audio_unchecked", "stand_in"), "Kinetics-700-2020 train"),
        "yt-bbbbbbbbbbb-0": ("vandalism", ("audio_unchecked",), "Kinetics-700-2020 train"),
        "yt--cccccccccc-30": ("vandalism", ("audio_unchecked", "stand_in"), "Kinetics-700-2020 validate"),
    }
    assert r.skipped == {"malformed youtube_id": 1, "malformed time_start/time_end": 2, "wrong number of fields": 1}
    assert all(c.license == "" and c.annotation_license == "CC-BY-4.0" for c in r.candidates)
    # the test CSV has no labels: one line, exit 2, nothing written
    (tmp_path / "test.csv").write_text("youtube_id,time_start,time_end,split\naaaaaaaaaaa,0,10,test\n")
    out = tmp_path / "c.csv"
    assert main(["discover", "--from", "kinetics-csv", str(tmp_path / "test.csv"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not a Kinetics annotation CSV (missing column(s) label" in err and not out.exists()


def test_xd_feature_lists_are_read_as_published(tmp_path: Path) -> None:
    lines = [
        "/media/peng/Samsung_T5/vggish-features/train/v=0W8LohxH9nI__#1_label_B1-0-0__vggish.npy",
        "/media/peng/i3d-features/RGB/v=-etV57xZ4_I__#1_label_B4-0-0__0.npy",
        "/media/peng/i3d-features/RGB/v=-etV57xZ4_I__#1_label_B4-0-0__1.npy",
        "v=aaaaaaaaaaa__#00-00-10_00-01-00_label_A.npy",
        "Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6__vggish.npy",
        "garbage line",
    ]
    p = tmp_path / "audio.list"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = discover("xd-violence-list", SeedOptions(source=str(p)), TAX)
    got = {c.clip_id: (c.label, c.seed_flags) for c in r.candidates}
    # both ids are XD-Violence *test* videos, so discover flags them whatever the list (xd_overlap)
    assert got == {"yt-0W8LohxH9nI-xd1": ("brawling", ("no_span", "xd_violence_test")),
                   "yt--etV57xZ4_I-xd1": ("vandalism", ("no_span", "stand_in", "xd_violence_test")),
                   "yt-aaaaaaaaaaa-xd10": ("normal", ("no_span",))}  # fmt: skip
    assert r.skipped == {"no YouTube id (a film or other source)": 1, "not an XD-Violence name": 1}
    assert all(c.annotation_source.startswith("XD-Violence") and c.annotation_license == "" for c in r.candidates)


# ---- pinned hashes and the network guard ------------------------------------------------------


def test_a_wrong_sha256_is_refused_before_parsing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    www = tmp_path / "www"
    www.mkdir()
    body = KINETICS.encode()
    (www / "train.csv").write_bytes(body)
    out = tmp_path / "c.csv"
    with FaultyServer(www) as srv:
        url = srv.url("train.csv")
        # the guard first: a loopback list is refused unless allowed, and nothing is fetched
        assert main(["discover", "--from", "kinetics-csv", url, "--sha256", sha(body), "--out", str(out)]) == 2
        assert "non-public address 127.0.0.1" in capsys.readouterr().err and srv.requests["train.csv"] == 0
        wrong = "0" * 64
        assert main(["discover", "--from", "kinetics-csv", url, "--sha256", wrong, "--allow-private-network",
                     "--out", str(out)]) == 2  # fmt: skip
        err = capsys.readouterr().err
        assert f"has sha256 {sha(body)}, not the pinned {wrong}; refused" in err and not out.exists()
        assert len(err.strip().splitlines()) == 1
        assert main(["discover", "--from", "kinetics-csv", url, "--sha256", sha(body).upper(),
                     "--allow-private-network", "--out", str(out)]) == 0  # fmt: skip
    assert len(rows(out)) == 3
    # a hash that is not 64 hex digits is a usage error, not a mismatch
    assert main(["discover", "--from", "kinetics-csv", str(www / "train.csv"), "--sha256", "abc", "--out", str(out)]) == 2
    assert "give the 64 hex digits" in capsys.readouterr().err
    # a mismatch refuses before parsing: garbage with the wrong hash names the hash, not the format
    (www / "junk.csv").write_bytes(b"\xff\xfe not a csv")
    with pytest.raises(ConfigError, match="not the pinned"):
        discover("kinetics-csv", SeedOptions(source=str(www / "junk.csv"), sha256=wrong), TAX)


def test_recipe_refuses_unpinned_lists_and_paths_outside_its_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "k.csv").write_text(KINETICS, encoding="utf-8")
    (tmp_path / "outside.csv").write_text(KINETICS, encoding="utf-8")
    r = tmp_path / "r"
    r.mkdir()
    (r / "k.csv").write_text(KINETICS, encoding="utf-8")
    out = tmp_path / "c.csv"
    cases = {
        "seeds:\n  - from: kinetics-csv\n    source: k.csv\n": "`source` needs `sha256`",
        f"seeds:\n  - from: kinetics-csv\n    source: ../outside.csv\n    sha256: {sha(KINETICS.encode())}\n": "leaves the recipe's folder",
        "seeds:\n  - from: kinetics-csv\n": "reads a list: give `source` and `sha256`",
        "seeds:\n  - from: youtube\n": "unknown seed 'youtube'",
        "seeds: []\n": "non-empty list",
        "seeds:\n  - from: vggsounder\nper_klass: 3\n": "unknown key(s) per_klass",
    }  # fmt: skip
    for text, message in cases.items():
        (r / "recipe.yaml").write_text(text, encoding="utf-8")
        assert main(["discover", "--recipe", str(r / "recipe.yaml"), "--out", str(out)]) == 2, text
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (text, err)
    assert not out.exists()
    (r / "recipe.yaml").write_text(
        f"per_class: 1\nseeds:\n  - from: kinetics-csv\n    source: k.csv\n    sha256: {sha(KINETICS.encode())}\n",
        encoding="utf-8",
    )
    assert main(["discover", "--recipe", str(r / "recipe.yaml"), "--out", str(out)]) == 0
    assert Counter(x["label"] for x in rows(out)) == {"abuse": 1, "vandalism": 1}
    assert main(["discover", "--recipe", str(r / "recipe.yaml"), "--from", "vggsounder", "--out", str(out)]) == 2


# ---- the committed list ----------------------------------------------------------------------


def test_vaar_open_v1_has_every_class_and_is_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = V1_CMD.split()[1:]
    assert V1.is_file(), f"regenerate it: {V1_CMD}"
    again = tmp_path / "v1.csv"
    assert main([*args[:-1], str(again)]) == 0
    assert again.read_bytes() == V1.read_bytes(), f"vaar-open-v1.csv differs from a fresh run; regenerate it: {V1_CMD}"
    assert main(["build", "--check-only", "--candidates", str(V1)]) == 0
    got = rows(V1)
    per_class = Counter(r["label"] for r in got)
    assert set(per_class) == set(TAX.slugs) and min(per_class.values()) >= 60
    # no row states a video licence: none is known before the build reads the page
    assert all(r["license"] == "" for r in got) and all(r["annotation_source"] for r in got)
    # XD-Violence test videos never enter through the XD seed (training list only)
    test_ids = {ln[2:13] for ln in (SEEDS / "xd-violence" / "test_videos.txt").read_text().splitlines() if ln.startswith("v=")}
    assert not any(r["url"][-11:] in test_ids and "xd_violence_test" not in r["seed_flags"] for r in got)
    # the README's table states each class's count, stand-ins and seeds
    readme = (REPO / "curation" / "sources" / "README.md").read_text(encoding="utf-8")
    assert V1_CMD in (REPO / "curation" / "sources" / "candidates" / "README.md").read_text(encoding="utf-8")
    seeds = ("vggsounder", "audioset-csv", "xd-violence-list")
    for label in TAX.slugs:
        mine = [r for r in got if r["label"] == label]
        stand = sum("stand_in" in r["seed_flags"].split(";") for r in mine)
        by_seed = " | ".join(str(sum(r["seed"] == s for r in mine)) for s in seeds)
        row = f"| `{label}` | {len(mine)} | {stand} | {by_seed} |"
        assert row in readme, f"curation/sources/README.md lacks {row}"


# ---- hostile lists -----------------------------------------------------------------------------


def test_hostile_lists_are_refused_or_counted_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from vaar.curation.discover import fetch

    out = tmp_path / "c.csv"
    # a gzip bomb: refused once the decompressed text passes the cap (capped low here)
    monkeypatch.setattr(fetch, "MAX_BYTES", 1 << 16)
    (tmp_path / "bomb.csv.gz").write_bytes(gzip.compress(b"label,youtube_id,time_start,time_end,split\n" + b"x" * (1 << 20)))
    assert main(["discover", "--from", "kinetics-csv", str(tmp_path / "bomb.csv.gz"), "--out", str(out)]) == 2
    assert "decompresses to more than" in capsys.readouterr().err
    (tmp_path / "trunc.gz").write_bytes(gzip.compress(KINETICS.encode())[:30])
    assert main(["discover", "--from", "kinetics-csv", str(tmp_path / "trunc.gz"), "--out", str(out)]) == 2
    assert "not a valid gzip file" in capsys.readouterr().err
    monkeypatch.undo()
    # a field larger than csv's limit: one line naming the line, no traceback
    (tmp_path / "huge.csv").write_text(KINETICS + "slapping,aaaaaaaaaaa,1,11," + "y" * 200_000 + "\n")
    assert main(["discover", "--from", "kinetics-csv", str(tmp_path / "huge.csv"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 10: not a usable CSV row" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    seg = segments("x", ['aaaaaaaaaaa, 1.000, 11.000, "/m/07ryjzk,' + "z" * 200_000 + '"', 'bbbbbbbbbbb, 0.000, 10.000, "/m/02mfyn"'])
    (tmp_path / "seg.csv").write_text(seg, encoding="utf-8")
    (tmp_path / "o.json").write_text(json.dumps(ONTOLOGY), encoding="utf-8")
    r = discover("audioset-csv", SeedOptions(source=str(tmp_path / "seg.csv"), ontology=str(tmp_path / "o.json")), TAX)
    assert [c.clip_id for c in r.candidates] == ["yt-bbbbbbbbbbb-0"] and r.skipped == {"not a CSV row": 1}
    # terminal escapes and formula starts in a list's names never reach the candidates file
    names = "v=aaaaaaaaaaa__#=cmd|\x1b[31mred\x07_label_B1-0-0\n"
    (tmp_path / "xd.txt").write_text(names, encoding="utf-8")
    assert main(["discover", "--from", "xd-violence-list", str(tmp_path / "xd.txt"), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and rows(out)[0]["label"] == "brawling"


def test_the_two_copies_of_the_xd_test_list_are_one_list() -> None:
    """The XD-Violence test names live twice on purpose: in the recipe's folder (its pinned sha256
    input, paths may not leave that folder) and as package data (the installed wheel's
    ``xd_violence_test`` flag and the XD task read it). They must never drift apart."""
    from importlib import resources

    packaged = resources.files("vaar").joinpath("bench", "data", "xd_violence_test_videos.txt").read_bytes()
    assert packaged == (SEEDS / "xd-violence" / "test_videos.txt").read_bytes()
    assert len(packaged.decode("utf-8").splitlines()) == 800
