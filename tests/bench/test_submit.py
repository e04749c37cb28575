"""Submissions: dataset folders, --replace, the lock, crash safety, metadata and --model."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import vaar.core._util.atomic as atomic
from tests.bench.benchdata import SLUGS, make_dataset, make_truth, write_predictions
from vaar.bench.cli import main


def submit(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["submit", *args, "--bootstrap", "50"])
    out, err = capsys.readouterr()
    return rc, out, err


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_submit_writes_entry_and_pages(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    meta = tmp_path / "m.yaml"
    meta.write_text("url: https://example.org/model\nmodalities: [audio, video]\nnotes: tiny\n")
    rc, out, err = submit(capsys, str(small["preds"]), "--name", "My Model v1", "--labels", str(small["labels"]),
                          "--leaderboard", str(board), "--meta", str(meta))
    assert rc == 0, err
    entry = json.loads((board / "entries" / "vaar-cls" / "my-model-v1.json").read_text())
    assert entry["schema"] == "vaar-bench/entry" and entry["schema_version"] == 1
    assert entry["model"] == {"name": "My Model v1", "url": "https://example.org/model", "modalities": ["audio", "video"],
                              "paper": None, "code": None, "notes": "tiny"}
    assert entry["dataset"]["split_sha256"] == hashlib.sha256(small["labels"].read_bytes()).hexdigest()
    assert entry["predictions_sha256"] == hashlib.sha256(small["preds"].read_bytes()).hexdigest()
    assert entry["cost"]["measured"] is False and entry["cost"]["parameters"] is None
    assert entry["n"] == 200 and entry["main_score"] == "macro_f1" and "per_class" in entry
    assert "My Model v1" in (board / "LEADERBOARD.md").read_text()
    assert "My Model v1" in (board / "index.html").read_text()


def test_replace_is_required(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    args = [str(small["preds"]), "--name", "m", "--labels", str(small["labels"]), "--leaderboard", str(board)]
    assert submit(capsys, *args)[0] == 0
    before = snapshot(board)
    rc, _, err = submit(capsys, *args)
    assert rc == 2 and "--replace" in err
    assert snapshot(board) == before
    rc, _, _ = submit(capsys, *args, "--seed", "3", "--replace")
    assert rc == 0
    assert json.loads((board / "entries/vaar-cls/m.json").read_text())["bootstrap"]["seed"] == 3


def test_invalid_submission_leaves_leaderboard_untouched(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    assert submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]), "--leaderboard", str(board))[0] == 0
    before = snapshot(board)
    bad = tmp_path / "bad.csv"
    bad.write_text(small["preds"].read_text().replace("clip00001", "clip00000"))
    rc, _, err = submit(capsys, str(bad), "--name", "b", "--labels", str(small["labels"]), "--leaderboard", str(board))
    assert rc == 2 and "duplicate" in err
    assert snapshot(board) == before


def test_crash_mid_write_keeps_previous_files(small, capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    assert submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]), "--leaderboard", str(board))[0] == 0
    before = snapshot(board)
    real = os.replace
    calls = []

    def crash(src, dst):  # type: ignore[no-untyped-def]
        calls.append(dst)
        if str(dst).endswith("LEADERBOARD.md"):
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crash)  # every atomic write renames through it
    with pytest.raises(OSError):
        main(["submit", str(small["preds"]), "--name", "b", "--labels", str(small["labels"]),
              "--leaderboard", str(board), "--bootstrap", "10"])
    after = snapshot(board)
    assert after["LEADERBOARD.md"] == before["LEADERBOARD.md"] and after["index.html"] == before["index.html"]
    assert not list(board.rglob("*.tmp*"))


def test_meta_cannot_self_report_cost(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    meta = tmp_path / "m.yaml"
    meta.write_text("parameters: 12\n")
    rc, _, err = submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]),
                        "--leaderboard", str(tmp_path / "b"), "--meta", str(meta))
    assert rc == 2 and "measured" in err


def test_concurrent_submits_both_land(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    procs = [
        subprocess.Popen([sys.executable, "-m", "vaar.bench.cli", "submit", str(small["preds"]), "--name", f"model-{i}",
                          "--labels", str(small["labels"]), "--leaderboard", str(board), "--bootstrap", "200"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert sorted(p.name for p in (board / "entries" / "vaar-cls").iterdir()) == [f"model-{i}.json" for i in range(4)]
    md = (board / "LEADERBOARD.md").read_text()
    assert all(f"model-{i}" in md for i in range(4))


def test_dataset_folder(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids, y = make_truth(60)
    root = make_dataset(tmp_path / "ds", ids, y)
    preds = write_predictions(tmp_path / "p.csv", ids, None, [SLUGS[c] for c in y])
    rc = main(["score", str(preds), "--dataset", str(root), "--split", "test", "--json", "--bootstrap", "10"])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert json.loads(out)["split_sha256"] == hashlib.sha256((root / "splits/test.csv").read_bytes()).hexdigest()
    (root / "splits/test.csv").write_text((root / "splits/test.csv").read_text().replace("abuse", "crash", 1))
    rc = main(["score", str(preds), "--dataset", str(root), "--bootstrap", "10"])
    assert rc == 2 and "SHA256SUMS" in capsys.readouterr().err


def test_private_test_labels(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids, y = make_truth(30)
    root = make_dataset(tmp_path / "ds", ids, y, unlabelled=True)
    preds = write_predictions(tmp_path / "p.csv", ids, None, [SLUGS[c] for c in y])
    rc = main(["score", str(preds), "--dataset", str(root), "--bootstrap", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and "--labels" in err and "without labels" in err


def test_bad_entry_does_not_block_later_submits(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    (board / "entries" / "vaar-cls").mkdir(parents=True)
    (board / "entries" / "vaar-cls" / "evil.json").write_text('{"schema": "vaar-bench/entry", "task": "zz\\"><script>')
    rc, _, err = submit(capsys, str(small["preds"]), "--name", "ok", "--labels", str(small["labels"]), "--leaderboard", str(board))
    assert rc == 0, err
    assert "evil.json: skipped, invalid entry" in err
    assert "ok" in (board / "LEADERBOARD.md").read_text() and "<script" not in (board / "index.html").read_text().split("<script>")[0]


def test_files_are_0644(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    assert submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]), "--leaderboard", str(board))[0] == 0
    for p in (board / "entries/vaar-cls/a.json", board / "LEADERBOARD.md", board / "index.html"):
        assert oct(p.stat().st_mode & 0o777) == oct(0o644), p


def test_symlinked_task_folder_is_refused(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (board / "entries").mkdir(parents=True)
    (board / "entries" / "vaar-cls").symlink_to(elsewhere)
    rc, _, err = submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]), "--leaderboard", str(board))
    assert rc == 2 and "symbolic link" in err and len(err.strip().splitlines()) == 1
    assert list(elsewhere.iterdir()) == []


def test_lock_timeout_is_one_line(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    board.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, filelock; l = filelock.FileLock(sys.argv[1]); "
                               "l.acquire(); print('held', flush=True); time.sleep(60)", str(board / ".lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        rc, _, err = submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]),
                            "--leaderboard", str(board), "--lock-timeout", "0.5")
        assert rc == 2 and "lock" in err and len(err.strip().splitlines()) == 1, err
        rc = main(["leaderboard", "--leaderboard", str(board), "--lock-timeout", "0.5"])
        assert rc == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()


def test_one_test_set_per_table(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    assert submit(capsys, str(small["preds"]), "--name", "honest", "--labels", str(small["labels"]), "--leaderboard", str(board))[0] == 0
    # a subset of easy clips: the clips this model gets right
    lines = small["labels"].read_text().splitlines()
    preds = small["preds"].read_text().splitlines()
    right = [i for i in range(1, len(lines)) if lines[i].split(",")[1] == preds[i].split(",")[1]]
    easy_labels = tmp_path / "easy.csv"
    easy_labels.write_text("\n".join([lines[0], *(lines[i] for i in right)]) + "\n")
    easy_preds = tmp_path / "easy_preds.csv"
    easy_preds.write_text("\n".join([preds[0], *(preds[i] for i in right)]) + "\n")
    rc, _, err = submit(capsys, str(easy_preds), "--name", "cherry", "--labels", str(easy_labels), "--leaderboard", str(board))
    assert rc == 2 and "one test set per table" in err
    assert not (board / "entries/vaar-cls/cherry.json").exists()
    # an entry added by hand (a pull request) on the other split renders in its own, labelled table
    entry = json.loads((board / "entries/vaar-cls/honest.json").read_text())
    entry.update(slug="cherry", scores={**entry["scores"], "macro_f1": 1.0}, ci95={**entry["ci95"], "macro_f1": [0.9, 1.0]})
    entry["model"]["name"] = "cherry"
    entry["dataset"]["split_sha256"] = hashlib.sha256(easy_labels.read_bytes()).hexdigest()
    (board / "entries/vaar-cls/cherry.json").write_text(json.dumps(entry))
    assert main(["leaderboard", "--leaderboard", str(board)]) == 0
    md = (board / "LEADERBOARD.md").read_text()
    main_table, other = md.split("another test set", 1)
    assert "honest" in main_table and "cherry" not in main_table and "cherry" in other and "not comparable" in other
    html = (board / "index.html").read_text()
    assert 'id="board-vaar-cls"' in html and 'id="board-vaar-cls-split-' in html


def test_test_sets_json_pins_the_split(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    board.mkdir()
    (board / "test_sets.json").write_text(json.dumps({"vaar-cls": "0" * 64}))
    rc, _, err = submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]), "--leaderboard", str(board))
    assert rc == 2 and "one test set per table" in err


def test_rescore_flags_edited_scores(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    stored = tmp_path / "stored"
    stored.mkdir()
    for name in ("a", "b"):
        assert submit(capsys, str(small["preds"]), "--name", name, "--labels", str(small["labels"]), "--leaderboard", str(board))[0] == 0
    (stored / "a.csv").write_bytes(small["preds"].read_bytes())
    path = board / "entries/vaar-cls/b.json"
    entry = json.loads(path.read_text())
    entry["scores"]["macro_f1"] = 0.99  # edited in a pull request, with an interval around it
    entry["ci95"]["macro_f1"] = [0.97, 0.995]
    path.write_text(json.dumps(entry))
    rc = main(["leaderboard", "--leaderboard", str(board), "--rescore", str(stored), "--labels", str(small["labels"])])
    out = capsys.readouterr().out
    assert rc == 1
    assert "ok          vaar-cls/a:" in out
    assert "DIFFERS     vaar-cls/b: macro_f1 stored 99.00, re-scored" in out


def test_submission_counter(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    args = [str(small["preds"]), "--name", "m", "--labels", str(small["labels"]), "--leaderboard", str(board)]
    for _ in range(3):
        assert submit(capsys, *args, "--replace")[0] == 0
    entry = json.loads((board / "entries/vaar-cls/m.json").read_text())
    assert entry["submissions"] == 3 and entry["per_class"] == {} and entry["dataset"]["private"] is True


@pytest.mark.parametrize("header", ["clip_id,label", "clip_id,label,dataset_version"])
def test_private_labels_are_named_by_the_host_hmac(capsys, tmp_path: Path, monkeypatch, header: str) -> None:  # type: ignore[no-untyped-def]
    """Opaque ids or a dataset_version column make --labels private: the identity is the HMAC."""
    from vaar.core.contracts.private_split import opaque_id, split_identity

    monkeypatch.delenv("VAAR_HOST_SECRET", raising=False)
    secret = b"a host secret of at least sixteen bytes"
    ids = sorted(opaque_id(secret, f"clip{i}") for i in range(3)) if header == "clip_id,label" else ["a", "b", "c"]
    tail = ",1.0" if header.endswith("dataset_version") else ""
    labels = tmp_path / "private.csv"
    labels.write_text(header + "\n" + "".join(f"{c},{SLUGS[i]}{tail}\n" for i, c in enumerate(ids)))
    preds = write_predictions(tmp_path / "p.csv", ids, None, [SLUGS[i] for i in range(3)])
    args = ["score", str(preds), "--labels", str(labels), "--json", "--bootstrap", "0"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--host-secret-file" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("VAAR_HOST_SECRET", secret.decode())
    assert main(args) == 0
    got = json.loads(capsys.readouterr().out)["split_sha256"]
    assert got == split_identity(secret, labels.read_bytes())
    assert hashlib.sha256(labels.read_bytes()).hexdigest() not in got
