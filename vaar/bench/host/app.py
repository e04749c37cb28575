"""The ASGI app of ``vaar-bench serve``: the API (:mod:`.api`) and the pages (:mod:`.pages`).

Run it behind a reverse proxy that terminates TLS (docs/benchmark/host.md); uvicorn trusts
``X-Forwarded-*`` only from ``--forwarded-allow-ips`` (default: the loopback proxy).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vaar.bench.host import api, pages
from vaar.bench.host.config import load_config
from vaar.bench.host.store import init_db


def create_app(root: Path, *, secure_cookies: bool = False) -> Starlette:
    """The app serving HOSTDIR ``root`` (``secure_cookies``: the session cookie is sent over HTTPS only)."""
    paths, cfg = load_config(root)
    init_db(paths.db)  # idempotent: the tables exist after `host init`

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "not found"}, status_code=404)
        return pages.page("Not found", "<p>Nothing here. <a href=\"/\">Back</a></p>", status=404)

    async def server_error(request: Request, exc: Exception) -> Response:  # never a traceback to the client
        return JSONResponse({"error": "internal error; the host's log has the details"}, status_code=500)

    return Starlette(routes=[*api.routes(paths, cfg), *pages.routes(paths, cfg, secure_cookies=secure_cookies)],
                     exception_handlers={404: not_found, 405: not_found, 500: server_error})


def serve(root: Path, host: str, port: int, *, secure_cookies: bool = False, forwarded_allow_ips: str = "127.0.0.1",
          log_level: str = "info") -> None:
    import uvicorn

    app = create_app(root, secure_cookies=secure_cookies)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips,
                log_level=log_level, server_header=False)
