"""`vaar-bench host|worker|serve|submit --remote`: a user mistake is one line on stderr and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.host.hostkit import make_host, write_labels
from vaar.bench.cli import main


def _err(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    rc = main(list(argv))
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_one_line_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "not a host folder" in _err(capsys, "worker", str(tmp_path / "nope"), "--once")
    assert "not a host folder" in _err(capsys, "host", "team", "add", str(tmp_path / "nope"), "x")
    assert "not a host folder" in _err(capsys, "host", "freeze", str(tmp_path / "nope"))
    (tmp_path / "ds" / "splits").mkdir(parents=True)
    write_labels(tmp_path / "labels.csv", 40)
    (tmp_path / "short").write_text("tiny")
    init = ["host", "init", str(tmp_path / "h"), "--dataset", str(tmp_path / "ds"), "--private-test-labels",
            str(tmp_path / "labels.csv")]
    assert "at least 16" in _err(capsys, *init, "--host-secret-file", str(tmp_path / "short"))
    (tmp_path / "secret").write_text("s" * 32)
    assert "public-fraction" in _err(capsys, *init, "--host-secret-file", str(tmp_path / "secret"),
                                     "--public-fraction", "2")
    assert "not a published dataset" in _err(capsys, *init[:4], str(tmp_path), *init[5:], "--host-secret-file",
                                              str(tmp_path / "secret"))
    (tmp_path / "bad.csv").write_text("clip_id,label\nt0000,not_a_class\n")
    assert "labels outside the taxonomy" in _err(capsys, "host", "init", str(tmp_path / "h2"), "--dataset",
                                                 str(tmp_path / "ds"), "--private-test-labels",
                                                 str(tmp_path / "bad.csv"), "--host-secret-file",
                                                 str(tmp_path / "secret"))
    assert not (tmp_path / "h2" / "host.json").exists()  # nothing half-made
    h = make_host(tmp_path / "ok", n=40)
    assert "team name" in _err(capsys, "host", "team", "add", str(h["root"]), "???")
    assert "--port" in _err(capsys, "serve", str(h["root"]), "--port", "0")
    (tmp_path / "p.csv").write_text("clip_id,label\n")
    (tmp_path / "token").write_text("\n")
    submit = ["submit", str(tmp_path / "p.csv"), "--remote", "http://127.0.0.1:9"]
    assert "--token-file" in _err(capsys, *submit)
    assert "holds no token" in _err(capsys, *submit, "--token-file", str(tmp_path / "token"))
    (tmp_path / "token").write_text("abc")
    assert "cannot reach the host" in _err(capsys, *submit, "--token-file", str(tmp_path / "token"))
    assert "unencrypted" in _err(capsys, "submit", str(tmp_path / "p.csv"), "--remote", "http://10.0.0.1",
                                 "--token-file", str(tmp_path / "token"))
    assert "--model model.py:factory" in _err(capsys, "submit", "--model", "pkg.mod:factory", "--remote",
                                              "https://h.example", "--token-file", str(tmp_path / "token"))
    assert "--name is required" in _err(capsys, "submit", str(tmp_path / "p.csv"))
