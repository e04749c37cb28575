"""The ASGI app of ``vaar-bench serve``: the API (:mod:`.api`) and the pages (:mod:`.pages`).

Run it behind a reverse proxy that terminates TLS (docs/benchmark/host.md); uvicorn trusts
``X-Forwarded-*`` only from ``--forwarded-allow-ips`` (default: the loopback proxy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vaar.bench.host import api, pages
from vaar.bench.host.config import load_config
from vaar.bench.host.store import init_db
from vaar.bench.host.uploads import CappedReceive, TooLarge

#: a body cap for everything but the uploads (logins, selections, forms: a few hundred bytes)
SMALL_BODY = 64 * 1024
UPLOAD_PATHS = ("/api/v1/submissions", "/submit")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class Guard:
    """ASGI middleware: caps every request body (413 past it, before the app reads it all) and adds
    ``nosniff``, ``no-store`` and a CSP to every response that has none (the API's JSON included)."""

    def __init__(self, app: Any, upload_cap: int) -> None:
        self.app, self.upload_cap = app, upload_cap

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] in UPLOAD_PATHS
        cap = self.upload_cap if upload else SMALL_BODY
        why = (f"the upload is over {self.upload_cap // (1024 * 1024)} MB; predictions files for this host are "
               "at most that size" if upload else f"request body over {cap // 1024} KB")
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > cap:
            await JSONResponse({"error": why}, status_code=413)(scope, receive, send)
            return
        started = False

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers") or [])
                have = {k.lower() for k, _ in headers}
                for k, v in ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"),
                             (b"content-security-policy", API_CSP.encode())):
                    if k not in have:
                        headers.append((k, v))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, CappedReceive(receive, cap), guarded_send)
        except TooLarge:
            if not started:
                await JSONResponse({"error": why}, status_code=413)(scope, receive, send)


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

    app = Starlette(routes=[*api.routes(paths, cfg), *pages.routes(paths, cfg, secure_cookies=secure_cookies)],
                    exception_handlers={404: not_found, 405: not_found, 500: server_error})
    app.add_middleware(Guard, upload_cap=int(cfg.max_mb * 1024 * 1024) + api.OVERHEAD)
    return app


def serve(root: Path, host: str, port: int, *, secure_cookies: bool = False, forwarded_allow_ips: str = "127.0.0.1",
          log_level: str = "info") -> None:
    import uvicorn

    app = create_app(root, secure_cookies=secure_cookies)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips,
                log_level=log_level, server_header=False)
