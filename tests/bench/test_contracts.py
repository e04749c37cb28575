"""The entry and predictions contracts: one JSON Schema each, enforced as exported."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.bench.test_render import fixed_entries
from vaar.bench.cmd_schema import schema_files
from vaar.core.contracts import jsonschema_lite
from vaar.core.contracts.entry import EntryError, entry_schema, read_entry, validate_entry
from vaar.core.contracts.predictions import predictions_schema

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "leaderboard" / "schema"


def good() -> dict[str, Any]:
    return copy.deepcopy(fixed_entries()[0])


def test_exported_schemas_are_up_to_date() -> None:
    for name, text in schema_files().items():
        path = SCHEMA_DIR / name
        assert path.exists(), f"{path} missing: run `vaar-bench schema`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `vaar-bench schema`"
    for schema in (entry_schema(), predictions_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema_lite.check_keywords(schema)  # nothing the validator would ignore


def test_rendered_entries_are_valid() -> None:
    for e in fixed_entries():
        validate_entry(e)
        jsonschema.validate(e, entry_schema())


def _set(path: str, value: Any) -> dict[str, Any]:
    e = good()
    *keys, last = path.split(".")
    d = e
    for k in keys:
        d = d[k]
    d[last] = value
    return e


BAD = {
    "unknown task": _set("task", 'zz"><script>alert(1)</script>'),
    "score above 1": _set("scores.macro_f1", 1.5),
    "negative score": _set("scores.accuracy", -0.1),
    "unknown score key": _set("scores.<img src=x onerror=alert(1)>", 0.5),
    "score of another task": _set("scores.pr_auc", 0.5),
    "interval out of range": _set("ci95.macro_f1", [0.1, 7.0]),
    "javascript url": _set("model.url", "javascript:alert(1)"),
    "http url": _set("model.url", "http://example.org/m"),
    "url with parenthesis": _set("model.url", "https://example.org/a)(b"),
    "url with space": _set("model.url", "https://example.org/a b"),
    "url with angle": _set("model.url", "https://example.org/<script>"),
    "url with pipe": _set("model.url", "https://example.org/a|b"),
    "date": _set("date", "26/11/2025"),
    "impossible date": _set("date", "2025-02-30"),
    "long name": _set("model.name", "x" * 101),
    "newline in name": _set("model.name", "a\nb"),
    "slug": _set("slug", "../../etc"),
    "split identity": _set("dataset.split_sha256", "not-a-hash"),
    "extra key": _set("extra", 1),
    "per-class key": _set("per_class.<b>", {"f1": 0.5}),
    "main score": _set("main_score", "accuracy"),
    "bool as number": _set("n", True),
    "huge parameters": _set("cost.parameters", 10**15),
    "self-declared device": _set("cost.device", "gpu"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_entries_are_refused(case: str) -> None:
    entry = BAD[case]
    with pytest.raises(EntryError):
        validate_entry(entry)
    with pytest.raises(jsonschema.ValidationError):  # the exported schema says the same
        jsonschema.validate(entry, entry_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("text,why", [
    ('{"a": ' * 20_000 + "1" + "}" * 20_000, "nested too deeply"),
    ('{"n": ' + "1" * 5000 + "}", "5000 digits"),
    ('{"n": 1e999}', "too large"),
    ('{"n": NaN}', "NaN"),
])
def test_hostile_json_is_one_line(tmp_path: Path, text: str, why: str) -> None:
    p = tmp_path / "e.json"
    p.write_text(text)
    with pytest.raises(EntryError, match=why) as info:
        read_entry(p)
    assert "\n" not in str(info.value)


def test_entry_must_be_a_plain_file(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text(json.dumps(good()))
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert read_entry(real)["slug"] == "m0"
    with pytest.raises(EntryError, match="symbolic link"):
        read_entry(link)


def test_predictions_schema_agrees_with_the_validator(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Records the scorer accepts validate against the exported schema; ones it refuses do not."""
    from tests.bench.benchdata import write_predictions
    from vaar.bench.cli import main

    schema = predictions_schema()
    path = write_predictions(tmp_path / "p.jsonl", small["ids"], small["scores"])
    records = [json.loads(line) for line in path.read_text().splitlines()]
    cls = {**schema, **schema["$defs"]["vaar-cls"]}
    for r in records[:20]:
        jsonschema.validate(r, cls)
        assert not jsonschema_lite.errors(r, schema["$defs"]["vaar-cls"], schema)
    assert main(["score", str(path), "--labels", str(small["labels"]), "--bootstrap", "0"]) == 0
    for bad in ({**records[0], "label": "anomaly"}, {**records[0], "extra": 1}, {**records[0], "score_abuse": "x"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, cls)
        path.write_text("\n".join(json.dumps(r) for r in [bad, *records[1:]]) + "\n")
        assert main(["score", str(path), "--labels", str(small["labels"]), "--bootstrap", "0"]) == 2
    binary = {**schema, **schema["$defs"]["vaar-binary"]}
    jsonschema.validate({**records[0], "label": "anomaly", "score_anomaly": 0.9}, binary)
    capsys.readouterr()


def test_predictions_validators_live_with_the_contract() -> None:
    """Both formats' checks are in vaar.core.contracts, importable without the bench (no scoring code)."""
    import subprocess
    import sys

    code = ("import sys, vaar.core.contracts.clip_predictions, vaar.core.contracts.video_predictions; "
            "print(sorted(m for m in sys.modules if m.startswith('vaar.bench')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from vaar.bench import vaar_tasks, xd_task
    from vaar.core.contracts import clip_predictions, video_predictions

    assert vaar_tasks.ClipPredictions is clip_predictions.ClipPredictions
    assert xd_task.VideoScores is video_predictions.VideoScores
