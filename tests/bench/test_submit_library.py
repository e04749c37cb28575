"""``vaar.bench.submit.submit``: the submit workflow as a library (the CLI only parses and prints)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vaar.bench.submit import ModelRun, Submission, submit
from vaar.bench.truth import TruthSource
from vaar.core.errors import ConfigError, SubmissionError


def test_submit_writes_the_entry_and_reports_without_printing(small, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    sub = Submission(name="Lib Model", source=TruthSource(labels=small["labels"]), predictions=small["preds"],
                     leaderboard=board, resamples=20)
    res = submit(sub)
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # library code does not print
    assert res.path == board / "entries" / "vaar-cls" / "lib-model.json"
    assert json.loads(res.path.read_text()) == res.entry
    assert res.report.main_score == "macro_f1" and res.task.name == "vaar-cls" and not res.cost.measured
    assert (board / "LEADERBOARD.md").is_file() and (board / "index.html").is_file()
    with pytest.raises(SubmissionError, match="exists; pass --replace"):
        submit(sub)
    assert submit(Submission(**{**sub.__dict__, "replace": True})).path == res.path


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give a PREDICTIONS file or --model"),
    ({"predictions": Path("p.csv"), "model": ModelRun("m:f")}, "give a PREDICTIONS file or --model"),
    ({"predictions": Path("p.csv"), "robustness": True}, "--robustness runs a --model"),
    ({"model": ModelRun("m:f", batch_size=0)}, "--batch-size in"),
    ({"model": ModelRun("m:f", memory_mb=1)}, "--model-memory-mb in"),
])
def test_bad_submissions_are_refused_before_anything_is_written(
        tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    board = tmp_path / "board"
    with pytest.raises(ConfigError, match=message):
        submit(Submission(name="x", source=TruthSource(labels=tmp_path / "labels.csv"), leaderboard=board,
                          **kwargs))  # type: ignore[arg-type]
    assert not board.exists()
