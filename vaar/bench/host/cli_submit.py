"""``vaar-bench submit --remote``: the CLI side of a hosted submission (argparse namespace in, exit code out)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vaar.core.errors import ConfigError


def submit_remote(args: argparse.Namespace) -> int:
    """Upload, wait for the worker, print the released score; 0 scored, 1 failed or still waiting."""
    from vaar.bench.host.client import Client, read_token

    path, factory = args.predictions, None
    if args.model is not None:  # --model FILE.py[:factory]: the module is uploaded and run by the host
        file, _, factory = str(args.model).partition(":")
        factory = factory or "factory"
        if not file.endswith(".py") or not factory.isidentifier():
            raise ConfigError(f"--model {args.model!r} with --remote: give the module file, e.g. --model "
                              "model.py:factory (the host runs it in its sandbox)")
        path = Path(file)
    if args.token_file is None:
        raise ConfigError("--remote needs --token-file FILE (the token `vaar-bench host team add` printed)")
    if not 0 <= args.wait <= 7 * 24 * 3600:
        raise ConfigError("--wait must be in [0, 604800] seconds")
    client = Client(args.remote, read_token(args.token_file))
    sub_id = client.submit(path, args.task, args.meta, factory)
    print(f"submission {sub_id}: queued at {client.url}", file=sys.stderr, flush=True)
    if args.wait == 0:
        print(f"submission {sub_id}: queued")
        return 0
    reply = client.wait(sub_id, args.wait,
                        on_status=lambda s: print(f"submission {sub_id}: {s}", file=sys.stderr, flush=True))
    status, message = reply.get("status"), reply.get("message") or ""
    if status == "scored":
        released = reply.get("released") or {}
        shown = ", ".join(f"{k} {100 * float(v):.1f}" for k, v in released.items()) or "none released"
        print(f"submission {sub_id}: scored; public score {shown}" + (f" ({message})" if message else ""))
        return 0
    if status == "failed":
        print(f"submission {sub_id}: failed: {message}")
        return 1
    print(f"submission {sub_id}: still {status} after {args.wait:g} s; check it later on the host's page")
    return 1
