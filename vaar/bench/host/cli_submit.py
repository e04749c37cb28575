"""``vaar-bench submit --remote``: the CLI side of a hosted submission (argparse namespace in, exit code out)."""

from __future__ import annotations

import argparse
import sys

from vaar.errors import ConfigError


def submit_remote(args: argparse.Namespace) -> int:
    """Upload, wait for the worker, print the released score; 0 scored, 1 failed or still waiting."""
    from vaar.bench.host.client import Client, read_token

    if args.model is not None:
        raise ConfigError("--remote takes a predictions file; model submissions to a host are not supported yet "
                          "(run --model locally with --save-predictions, then submit that file)")
    if args.token_file is None:
        raise ConfigError("--remote needs --token-file FILE (the token `vaar-bench host team add` printed)")
    if not 0 <= args.wait <= 7 * 24 * 3600:
        raise ConfigError("--wait must be in [0, 604800] seconds")
    client = Client(args.remote, read_token(args.token_file))
    sub_id = client.submit(args.predictions, args.task, args.meta)
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
