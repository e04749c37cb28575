"""The release files of a published folder: croissant.json (mlcroissant), DATASHEET.md, the card's
licence/citation/version, and the version in a leaderboard entry. Built for real on loopback."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.fixtures.media import make_source
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.loopback import LoopbackServer
from vaar.curation.build.pipeline import BuildConfig, run_build
from vaar.curation.publish.croissant import validate_croissant
from vaar.curation.publish.folder import PublishConfig
from vaar.curation.publish.release import SEMVER, ReleaseInfo, resolve_version

CITATION = "@misc{vaar2026,\n  title = {VAAR <script>alert(1)</script>},\n  year = {2026}\n}"
HOSTILE_LICENSE = "<script>alert(1)</script>|x"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("release")
    www = root / "www"
    www.mkdir()
    rows = ["clip_id,url,start,end,label,source_id,license,license_reviewed,annotation_license,notes,seed,seed_flags"]
    for i, label in enumerate(["crash", "explosion"]):
        for k in range(3):
            make_source(www / f"{label}{k}.mp4", 3.0, variant=3 * i + k)
    with LoopbackServer(www) as srv:
        for i, label in enumerate(["crash", "explosion"]):
            for k in range(3):
                lic = HOSTILE_LICENSE if (i, k) == (0, 0) else "CC-BY-4.0"
                # explosion-2's licence is not marked reviewed: the page states none, so it is unknown
                reviewed = "no" if (i, k) == (1, 2) else "yes"
                flags = "stand_in" if (i, k) == (0, 1) else ""  # a stand-in a reviewer accepted
                rows.append(f"{label}-{k},{srv.url(f'{label}{k}.mp4')},0.5,2.5,{label},,\"{lic}\",{reviewed},"
                            f"CC-BY-4.0,,vggsounder,{flags}")  # fmt: skip
        rows.append(f"bad-row,{srv.url('crash0.mp4')},2,1,crash,,,,,,,")  # invalid: a known gap
        (root / "s.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        cfg = BuildConfig(workers=2, download=DownloadConfig(retries=1, backoff_s=0.05, allow_private_network=True),
                          publish=PublishConfig(license="cc-by-4.0", citation=CITATION, version="1.2.0",
                                                homepage="https://example.org/vaar"))  # fmt: skip
        report = run_build([root / "s.csv"], root / "build", cfg)
    assert report.publish_error is None and report.counts["ok"] == 6, report
    return root / "build" / "dataset"


def card_header(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---")[1])


def test_card_carries_licence_citation_version(published: Path) -> None:
    head = card_header(published)
    assert head["license"] == "cc-by-4.0" and head["dataset_version"] == "1.2.0"
    card = (published / "README.md").read_text(encoding="utf-8")
    assert "```bibtex\n" + CITATION + "\n```" in card and "<https://example.org/vaar>" in card
    assert "github.com/)" not in card  # no placeholder link


def test_croissant_validates_with_mlcroissant(published: Path) -> None:
    import mlcroissant as mlc

    path = published / "croissant.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    ds = mlc.Dataset(jsonld=str(path))  # raises on any validation error
    assert ds.metadata.version == "1.2.0" and ds.metadata.cite_as == CITATION
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    assert doc["license"] == "https://creativecommons.org/licenses/by/4.0/"
    for key in ("rai:dataCollection", "rai:dataBiases", "rai:dataLimitations", "rai:personalSensitiveInformation",
                "rai:dataUseCases", "rai:dataSocialImpact", "rai:dataReleaseMaintenancePlan",
                "rai:dataPreprocessingProtocol", "rai:dataAnnotationProtocol"):  # fmt: skip
        assert doc[key], key
    assert "6 ok" in doc["rai:dataCollection"] and "1 invalid" in doc["rai:dataCollection"]
    files = {d["contentUrl"]: d for d in doc["distribution"] if d["@type"] == "cr:FileObject"}
    shards = sorted(p.relative_to(published).as_posix() for p in (published / "data").glob("*.parquet"))
    assert shards and all(s in files for s in shards)
    for rel, d in files.items():
        assert d["sha256"] == hashlib.sha256((published / rel).read_bytes()).hexdigest()
    # the records mlcroissant reads back are the published clips
    ids = {r["clips/clip_id"].decode() if isinstance(r["clips/clip_id"], bytes) else r["clips/clip_id"]
           for r in ds.records("clips")}  # fmt: skip
    published_ids = {i for s in shards for i in pq.read_table(published / s, columns=["clip_id"])["clip_id"].to_pylist()}
    assert ids == published_ids and len(ids) == 6


def test_croissant_validate_cli_works_offline(published: Path) -> None:
    dead = "http://127.0.0.1:9"  # any attempt to fetch a context or schema fails
    env = {**os.environ, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead,
           "NO_PROXY": "", "no_proxy": ""}  # fmt: skip
    exe = Path(sys.executable).with_name("mlcroissant")
    proc = subprocess.run([str(exe), "validate", "--jsonld", str(published / "croissant.json")], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "error" not in proc.stderr.lower().replace("0 error", "")


def test_validator_catches_a_broken_document(published: Path) -> None:
    doc = json.loads((published / "croissant.json").read_text(encoding="utf-8"))
    before = json.dumps(doc)
    assert validate_croissant(doc) == []
    assert json.dumps(doc) == before and "@base" not in doc["@context"]  # mlcroissant works on a copy
    doc["recordSet"][1]["field"][0]["source"]["fileSet"]["@id"] = "missing-files"
    assert validate_croissant(doc)


def test_datasheet_from_the_build(published: Path) -> None:
    sheet = (published / "DATASHEET.md").read_text(encoding="utf-8")
    for section in ("## Motivation", "## Composition", "## Sources and seeds", "## Licences", "## Collection",
                    "## Preprocessing: QC and sync", "## Known gaps", "## Uses", "## Distribution", "## Maintenance"):  # fmt: skip
        assert section in sheet
    assert "# Datasheet — VAAR 1.2.0" in sheet
    split_ids = {}
    for p in (published / "splits").glob("*.csv"):
        if p.stem in ("train", "validation", "test"):
            for r in csv.DictReader(io.StringIO(p.read_text(encoding="utf-8"))):
                split_ids[r["clip_id"]] = r["label"]
    assert "| `crash` |" in sheet and "| 3 |" in sheet  # 3 ok crash clips in the build
    assert "| vggsounder | 5 |" in sheet  # seeds read from the source list's provenance column
    assert "| vggsounder \\(stand\\-in label, accepted in review\\) | 1 |" in sheet
    # video licences by family; an unreviewed row licence is not the video's; annotations apart
    assert "| `cc-by` | 4 | 4 |" in sheet and "| `other` | 1 | 1 |" in sheet and "| `unknown` | 1 | 2 |" in sheet
    assert "CC\\-BY\\-4.0 (4)" in sheet and "| CC\\-BY\\-4.0 | 6 |" in sheet  # as stated; annotation licence
    assert "not redistributable by default" in sheet
    outside_code = sheet.replace("```bibtex\n" + CITATION + "\n```", "")  # a fenced block renders as text
    assert "<script>" not in outside_code and "&lt;script&gt;" in sheet  # hostile licence escaped
    assert "1 source rows could not be built" in sheet
    assert "no clips for `abuse`" in sheet
    assert "Sync verdicts of the ok clips:" in sheet


def test_entry_records_the_dataset_version(published: Path, tmp_path: Path) -> None:
    from vaar.bench.cli import main as bench_main

    rows = list(csv.DictReader(io.StringIO((published / "splits" / "test.csv").read_text(encoding="utf-8"))))
    preds = tmp_path / "preds.csv"
    preds.write_text("clip_id,label\n" + "".join(f"{r['clip_id']},{r['label']}\n" for r in rows), encoding="utf-8")
    board = tmp_path / "board"
    for extra in (["--dataset", str(published), "--split", "test"], ["--labels", str(published / "splits" / "test.csv")]):
        slug = f"oracle-{len(extra)}"
        rc = bench_main(["submit", str(preds), "--task", "vaar-cls", "--name", slug, "--leaderboard", str(board),
                         "--bootstrap", "10", *extra])  # fmt: skip
        assert rc == 0
        entry = json.loads((board / "entries" / "vaar-cls" / f"{slug}.json").read_text())
        assert entry["dataset"]["version"] == "1.2.0"


def test_default_version_comes_from_the_split() -> None:
    v = resolve_version(ReleaseInfo(), "ab" * 32)
    assert v == "0.0.0+split.abababababab" and SEMVER.match(v)
    assert resolve_version(ReleaseInfo(version="2.0.0"), "ab" * 32) == "2.0.0"


@pytest.mark.parametrize("flags", [["--license", "bad licence!"], ["--dataset-version", "v1"],
                                   ["--homepage", "javascript:alert(1)"], ["--citation", ""]])  # fmt: skip
def test_bad_release_options_are_one_line(tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from vaar.cli import main

    (tmp_path / "s.csv").write_text("clip_id,url,start,end,label\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "s.csv"), "--out", str(tmp_path / "o"), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_private_labels_carry_the_version_into_the_entry(published: Path, tmp_path: Path) -> None:
    from vaar.bench.cli import main as bench_main
    from vaar.core.taxonomy import default_taxonomy
    from vaar.curation.publish.folder import publish

    build = published.parent
    private = tmp_path / "host" / "test_labels.csv"
    secret = tmp_path / "host" / "secret"
    secret.parent.mkdir()
    secret.write_text("a host secret of at least sixteen bytes")
    cfg = PublishConfig(private_test_labels=private, version="1.2.1", host_secret_file=secret)
    publish(build / "manifest.parquet", published / "splits", tmp_path / "dataset", cfg,
            taxonomy=default_taxonomy())
    hidden = list(csv.DictReader(io.StringIO(private.read_text(encoding="utf-8"))))
    assert hidden and {r["dataset_version"] for r in hidden} == {"1.2.1"}
    preds = tmp_path / "preds.csv"
    preds.write_text("clip_id,label\n" + "".join(f"{r['clip_id']},{r['label']}\n" for r in hidden), encoding="utf-8")
    board = tmp_path / "board"
    assert bench_main(["submit", str(preds), "--task", "vaar-cls", "--name", "host", "--leaderboard", str(board),
                       "--bootstrap", "10", "--labels", str(private), "--host-secret-file", str(secret)]) == 0  # fmt: skip
    entry = json.loads((board / "entries" / "vaar-cls" / "host.json").read_text())
    assert entry["dataset"]["version"] == "1.2.1"
    assert card_header(tmp_path / "dataset")["dataset_version"] == "1.2.1"


_WRITE = """
import json, sys
from pathlib import Path
from vaar.curation.publish.croissant import write_croissant
from vaar.curation.publish.release import ReleaseInfo
from vaar.core.taxonomy import default_taxonomy
write_croissant(Path(sys.argv[1]), [], ReleaseInfo("cc-by-4.0", None, None, None), name="VAAR", version=sys.argv[3],
                taxonomy=default_taxonomy(), validated=Path(sys.argv[2]))
print(json.dumps("mlcroissant" in sys.modules))
"""


def test_a_document_already_validated_is_not_checked_again(published: Path, tmp_path: Path) -> None:
    """The validated-documents file skips mlcroissant only for the same bytes and validator."""
    from importlib.metadata import version

    folder = tmp_path / "ds"
    for sub in ("data", "splits"):
        (folder / sub).mkdir(parents=True)
        for p in (published / sub).iterdir():
            (folder / sub / p.name).write_bytes(p.read_bytes())
    validated = tmp_path / "cache" / "croissant-validated.txt"

    def write(ver: str) -> tuple[bool, bytes]:
        proc = subprocess.run([sys.executable, "-c", _WRITE, str(folder), str(validated), ver],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "SOURCE_DATE_EPOCH": "1767225600"})  # fmt: skip (a fixed datePublished)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout), (folder / "croissant.json").read_bytes()

    checked, first = write("1.0.0")
    key = f"mlcroissant-{version('mlcroissant')} {hashlib.sha256(first).hexdigest()}"
    assert checked and validated.read_text().splitlines() == [key]
    checked, again = write("1.0.0")
    assert not checked and again == first  # the same document: not imported, not checked
    checked, other = write("1.0.1")
    assert checked and other != first and len(validated.read_text().splitlines()) == 2
    # an entry for other bytes (or another mlcroissant) does not let this document through
    validated.write_text(f"mlcroissant-0.0.0 {hashlib.sha256(first).hexdigest()}\n"
                         f"mlcroissant-{version('mlcroissant')} {'0' * 64}\n")  # fmt: skip
    checked, _ = write("1.0.0")
    assert checked
