"""``vaar-bench submit preds.csv --remote URL --token-file F``: upload to a host, wait, print the released score.

Standard library only (``urllib``), so a submitter needs no extra. The token goes in an
``Authorization: Bearer`` header, and only over HTTPS -- plain ``http://`` is accepted for a
loopback address alone (a host on the same machine, or a test).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vaar.core.errors import ConfigError, SubmissionError

MAX_TOKEN_BYTES = 1024
TERMINAL = ("scored", "failed")


def read_token(path: Path) -> str:
    try:
        raw = Path(path).read_bytes()[: MAX_TOKEN_BYTES + 1]
    except OSError as exc:
        raise ConfigError(f"--token-file {path}: cannot read it ({exc.strerror or exc})") from None
    token = raw.decode("utf-8", "replace").strip()
    if not token or len(raw) > MAX_TOKEN_BYTES or any(c.isspace() or not c.isprintable() for c in token):
        raise ConfigError(f"--token-file {path}: holds no token; put the line `vaar-bench host team add` printed")
    return token


def check_url(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("https", "http") or not u.hostname:
        raise ConfigError(f"--remote {url[:80]!r}: give the host's URL, e.g. https://bench.example.org")
    if u.scheme == "http":
        try:
            loopback = u.hostname == "localhost" or ipaddress.ip_address(u.hostname).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigError(f"--remote {url[:80]!r}: the token would travel unencrypted; use https:// "
                              "(plain http only for a loopback address)")
    return url.rstrip("/")


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "vaar" + secrets.token_hex(16)
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{safe}"\r\n'
                   "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class Client:
    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        self.url, self.token, self.timeout = check_url(url), token, timeout

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                                              **({"Content-Type": content_type} if content_type else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (scheme checked)
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConfigError(f"--remote {self.url}: cannot reach the host ({reason})") from None

    def submit(self, path: Path, task: str, meta: Path | None = None, factory: str | None = None) -> int:
        """Upload a predictions file, or (``factory`` given) a model module; returns the submission id."""
        try:
            data = Path(path).read_bytes()
            meta_bytes = Path(meta).read_bytes()[: 64 * 1024] if meta else None
        except OSError as exc:
            raise ConfigError(f"{exc.filename}: cannot read it ({exc.strerror})") from None
        files = {"file": (Path(path).name, data), **({"meta": ("meta.yaml", meta_bytes)} if meta_bytes else {})}
        fields = {"task": task, **({"kind": "model", "factory": factory} if factory else {})}
        body, ctype = _multipart(fields, files)
        status, reply = self.request("POST", "/api/v1/submissions", body, ctype)
        if status == 202 and isinstance(reply, dict) and isinstance(reply.get("id"), int):
            return int(reply["id"])
        message = reply.get("error") if isinstance(reply, dict) else None
        raise SubmissionError(f"{path}: the host refused it (HTTP {status}): {message or 'no reason given'}")

    def status(self, sub_id: int) -> dict[str, Any]:
        status, reply = self.request("GET", f"/api/v1/submissions/{sub_id}")
        if status != 200 or not isinstance(reply, dict):
            raise SubmissionError(f"submission {sub_id}: the host answered HTTP {status}")
        return reply

    def wait(self, sub_id: int, timeout: float, poll: float = 1.0,
             on_status: Callable[[str], None] | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            reply = self.status(sub_id)
            if reply.get("status") != last and on_status:
                on_status(str(reply.get("status")))
            last = str(reply.get("status"))
            if last in TERMINAL or time.monotonic() > deadline:
                return reply
            time.sleep(poll)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw[: 4 * 1024 * 1024])
    except ValueError:
        return None
