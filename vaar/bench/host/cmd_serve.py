"""``vaar-bench serve HOSTDIR``: the submission host's web page and API (Starlette, uvicorn)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "serve the submission host (web page + /api/v1) of HOSTDIR; run behind a TLS reverse proxy"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hostdir", type=Path, metavar="HOSTDIR", help="folder made by `vaar-bench host init`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: the proxy's side)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="send the session cookie over HTTPS only (set this behind a TLS proxy)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS",
                   help="proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1)")


def run(args: argparse.Namespace) -> int:
    from vaar.core.errors import ConfigError, MissingDependencyError

    if not 0 < args.port < 65536:
        raise ConfigError("--port must be in [1, 65535]")
    try:
        from vaar.bench.host.app import serve
    except ImportError:
        raise MissingDependencyError("the host needs its extra: pip install 'vaar[host]'") from None
    print(f"serving {args.hostdir} on http://{args.host}:{args.port}/ (API: /api/v1/; Ctrl-C stops)")
    serve(args.hostdir, args.host, args.port, secure_cookies=args.secure_cookies,
          forwarded_allow_ips=args.forwarded_allow_ips)
    return 0
