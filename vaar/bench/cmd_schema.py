"""``vaar-bench schema``: write the JSON Schema files of the entry and predictions contracts."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write leaderboard/schema/{entry,predictions}.schema.json from the contracts (vaar/core/contracts)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("leaderboard/schema"), metavar="DIR",
                   help="folder for the schema files (default ./leaderboard/schema)")


def schema_files() -> dict[str, str]:
    """File name -> text of every exported schema (what ``vaar-bench schema`` writes)."""
    import json

    from vaar.core.contracts.entry import entry_schema
    from vaar.core.contracts.predictions import predictions_schema

    def dump(schema: dict[str, object]) -> str:
        return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"

    return {"entry.schema.json": dump(entry_schema()), "predictions.schema.json": dump(predictions_schema())}


def run(args: argparse.Namespace) -> int:
    from vaar.core._util.atomic import atomic_write_text

    for name, text in schema_files().items():
        atomic_write_text(args.out / name, text)
        print(f"wrote {args.out / name}")
    return 0
