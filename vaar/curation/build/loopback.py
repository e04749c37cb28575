"""A small static HTTP server on 127.0.0.1, for ``vaar build --sample`` and the tests.

It serves a folder with ``Range`` support (as web servers do) so that yt-dlp and ffmpeg fetch
from it exactly as they fetch from the web, and it counts the bytes it sends, so a test can
check that nothing is downloaded twice. Subclasses add faults (see ``tests/fixtures``).
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

from vaar.core._util.serving import BackgroundServer

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range ``Range`` requests; counts bytes sent per path."""

    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.serve(head=False)

    def do_HEAD(self) -> None:
        self.serve(head=True)

    def resolve(self) -> Path | None:
        path = Path(self.translate_path(self.path))
        return path if path.is_file() else None

    def serve(self, head: bool) -> None:
        path = self.resolve()
        if path is None:
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        m = _RANGE.match(self.headers.get("Range", "")) if self.server.honour_range else None
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else end
            else:
                start = max(0, len(data) - int(m.group(2)))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            end = min(end, len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "video/mp4" if path.suffix == ".mp4" else self.guess_type(str(path)))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes" if self.server.honour_range else "none")
        self.end_headers()
        if not head:
            self.send_body(path, data[start : end + 1])

    def send_body(self, path: Path, body: bytes) -> None:
        view = memoryview(body)
        for i in range(0, len(body), 64 << 10):
            chunk = view[i : i + (64 << 10)]
            try:
                self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return
            self.server.count(path.name, len(chunk))
        self.server.count_done(path.name, len(body))


class LoopbackServer(BackgroundServer):
    daemon_threads = True
    honour_range = True

    def __init__(self, root: Path, handler: type[RangeHandler] = RangeHandler, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), partial(handler, directory=str(root)))
        self.root = root
        self.bytes_sent: Counter[str] = Counter()
        self.completed: defaultdict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def count(self, name: str, n: int) -> None:
        with self._lock:
            self.bytes_sent[name] += n

    def count_done(self, name: str, n: int) -> None:
        """A response body of ``n`` bytes was sent in full."""
        with self._lock:
            self.completed[name].append(n)

    def __enter__(self) -> LoopbackServer:
        return super().__enter__()  # type: ignore[no-any-return]
