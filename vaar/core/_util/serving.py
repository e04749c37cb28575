"""A ``ThreadingHTTPServer`` that serves on a daemon thread while used as a context manager
(the embedded sample's loopback server and ``vaar review``'s page)."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any


class BackgroundServer(ThreadingHTTPServer):
    _thread: threading.Thread | None = None

    def __enter__(self) -> Any:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
