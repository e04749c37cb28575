"""The review server: standard-library HTTP on 127.0.0.1 only.

What it guards against (the candidate rows and the media behind them are untrusted):

* it binds 127.0.0.1 and answers only requests whose ``Host`` is that address or ``localhost``
  with its port (a DNS-rebinding page cannot talk to it);
* it serves the page, its two assets, preview images, and media files *under --media* with a
  media suffix; a path is decoded once, and any ``..``, hidden or empty segment, backslash or
  NUL is refused before the resolved path is checked to lie under --media (symlinks too);
* every response carries a Content-Security-Policy that allows scripts, styles and media from
  this origin only (no inline script), so text from a candidate cannot run even if it reached
  the markup — and the page inserts every field as text, never as HTML;
* a POST needs the per-session token (a random value in the page, sent back in a header) and a
  JSON body of bounded size: another site can neither read the token nor send the header.
"""

from __future__ import annotations

import hmac
import json
import queue
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from vaar.core._util.serving import BackgroundServer
from vaar.core.contracts.source_list import CLIP_ID_RE
from vaar.core.errors import StageError
from vaar.curation.review import page
from vaar.curation.review.decisions import DecisionError
from vaar.curation.review.previews import KINDS, Kind
from vaar.curation.review.session import ReviewSession

HOST = "127.0.0.1"
MEDIA_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".m4a": "audio/mp4", ".flac": "audio/flac",
               ".wav": "audio/wav"}  # fmt: skip
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")  # fmt: skip
MAX_BODY = 16 << 10
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_PREVIEW = re.compile(r"^/preview/(strip|wave|spec)/([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.png$")


class ReviewServer(BackgroundServer):
    """``with ReviewServer(session) as srv: print(srv.url)``; ``port=0`` picks a free port."""

    daemon_threads = True

    def __init__(self, session: ReviewSession, port: int = 0) -> None:
        super().__init__((HOST, port), _Handler)
        self.session = session
        self.token = secrets.token_urlsafe(32)
        # one background worker draws the previews of the next clips while the curator watches
        self._prefetch: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._prefetch_loop, daemon=True).start()

    def _prefetch_loop(self) -> None:
        while (clip_id := self._prefetch.get()) is not None:
            if self._prefetch.empty():  # only the latest position matters
                self.session.warm_previews(clip_id)

    def prefetch_after(self, clip_id: str) -> None:
        self._prefetch.put(clip_id)

    def server_close(self) -> None:
        self._prefetch.put(None)
        super().server_close()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def __enter__(self) -> ReviewServer:
        return super().__enter__()  # type: ignore[no-any-return]


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: library code does not print
        pass

    # --- plumbing ---------------------------------------------------------------------------

    def _headers(self, code: int, ctype: str, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if "Cache-Control" not in (extra or {}):
            self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send(self, code: int, body: bytes, ctype: str, head: bool = False) -> None:
        self._headers(code, ctype, len(body))
        if not head:
            self.wfile.write(body)

    def _error(self, code: int, message: str, head: bool = False) -> None:
        self._send(code, json.dumps({"error": message}).encode(), "application/json", head)

    def _host_ok(self) -> bool:
        allowed = {f"{HOST}:{self.server.port}", f"localhost:{self.server.port}"}
        return (self.headers.get("Host") or "").strip().lower() in allowed

    # --- GET --------------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self._get(head=True)

    def do_GET(self) -> None:
        self._get(head=False)

    def _get(self, head: bool) -> None:
        if not self._host_ok():
            self._error(403, "wrong Host header", head)
            return
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            body = page.html(self.server.token).encode()
            self._send(200, body, "text/html; charset=utf-8", head)
        elif path == "/favicon.ico":
            self._send(204, b"", "image/x-icon", head)
        elif path == "/app.js":
            self._send(200, page.JS.encode(), "text/javascript; charset=utf-8", head)
        elif path == "/app.css":
            self._send(200, page.CSS.encode(), "text/css; charset=utf-8", head)
        elif path == "/api/state":
            body = json.dumps(self.server.session.state()).encode()
            self._send(200, body, "application/json", head)
        elif path.startswith("/media/"):
            self._media(path[len("/media/"):], head)
        elif m := _PREVIEW.match(path):
            self._preview(m.group(1), m.group(2), head)  # type: ignore[arg-type]
        else:
            self._error(404, "not found", head)

    def _media(self, raw: str, head: bool) -> None:
        target = safe_media_path(self.server.session.media_dir, raw)
        if target is None:
            self._error(404, "not found", head)
            return
        self._file(target, MEDIA_TYPES[target.suffix.lower()], head)

    def _preview(self, kind: Kind, clip_id: str, head: bool) -> None:
        sess = self.server.session
        media = sess.media(clip_id) if CLIP_ID_RE.match(clip_id) and kind in KINDS else None
        if media is None:
            self._error(404, "no media for this clip", head)
            return
        if kind == "strip":
            self.server.prefetch_after(clip_id)
        try:
            png = sess.previews.get(kind, media.video, media.key, media.duration)
        except StageError as exc:
            self._error(500, exc.reason, head)
            return
        self._file(png, "image/png", head)

    def _file(self, path: Path, ctype: str, head: bool) -> None:
        size = path.stat().st_size
        start, end = 0, size - 1
        code = 200
        extra = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=60"}
        rng = self.headers.get("Range")
        if rng:
            m = _RANGE.match(rng.strip())
            if not m or not (m.group(1) or m.group(2)):
                self._headers(416, "text/plain", 0, {"Content-Range": f"bytes */{size}"})
                return
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start = max(0, size - int(m.group(2)))
            if start >= size or end < start:
                self._headers(416, "text/plain", 0, {"Content-Range": f"bytes */{size}"})
                return
            code = 206
            extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._headers(code, ctype, end - start + 1, extra)
        if head:
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            try:
                while left > 0:
                    chunk = f.read(min(left, 64 << 10))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    # --- POST -------------------------------------------------------------------------------

    def do_POST(self) -> None:
        if not self._host_ok():
            self._error(403, "wrong Host header")
            return
        token = self.headers.get("X-Review-Token") or ""
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            self._error(403, "missing or wrong review token; reload the page")
            self.close_connection = True
            return
        if urlsplit(self.path).path != "/api/decide":
            self._error(404, "not found")
            return
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._error(415, "send JSON")
            return
        try:
            length = int(self.headers.get("Content-Length") or "-1")
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._error(413, f"body must be 1..{MAX_BODY} bytes")
            self.close_connection = True
            return
        try:
            data = json.loads(self.rfile.read(length))
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            self._error(400, "body is not a JSON object")
            return
        store = self.server.session.store
        try:
            decision = store.check(data)
        except DecisionError as exc:
            self._error(422, str(exc))
            return
        store.record(decision)
        body = {"ok": True, "first_undecided": store.first_undecided(), "decided": len(store.decisions)}
        self._send(200, json.dumps(body).encode(), "application/json")


def safe_media_path(root: Path, raw: str) -> Path | None:
    """The file under ``root`` that URL path ``raw`` names, or ``None`` (never outside ``root``)."""
    try:
        rel = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return None
    if not rel or "\\" in rel or "\x00" in rel or rel.startswith("/"):
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if Path(parts[-1]).suffix.lower() not in MEDIA_TYPES:
        return None
    target = (root / Path(*parts)).resolve()
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        return None
    return target


def serve_forever(server: ReviewServer) -> None:
    """Block until interrupted (the CLI's loop)."""
    try:
        server.serve_forever()
    finally:
        server.server_close()


__all__ = ["ReviewServer", "safe_media_path", "serve_forever"]
