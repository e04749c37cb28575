"""The JSON API under ``/api/v1/`` (bearer token in ``Authorization``).

=========================================  =========================================================
``POST /api/v1/submissions``               multipart ``file``, ``task`` (default vaar-cls), optional
                                           ``meta`` (the ``--meta`` YAML), ``kind`` (``predictions``
                                           or ``model``: ``file`` is a Python module, ``factory``
                                           its factory's name): 202 ``{"id"}``; 422
                                           ``{"error"}`` (malformed, not counted); 413 too large;
                                           429 over quota; 409 frozen; 401 bad token
``GET /api/v1/submissions``                the team's submissions (newest first)
``GET /api/v1/submissions/{id}``           ``{"id", "task", "status", "released", "message", ...}``
``GET /api/v1/submissions/{id}/log``       the submission's log (text)
``POST /api/v1/selections``                JSON ``{"task", "ids": [at most 2]}``: final submissions
``GET /api/v1/leaderboard/{task}``         the public board (no token needed)
=========================================  =========================================================

A submission is visible to its own team only (another team's id is a 404, as a missing one is).
``released`` is the Ladder's public score ``{score name: value}`` or null; nothing else of the
hidden test set is ever returned.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from vaar.bench.host import store
from vaar.bench.host.board import _iso, public_board
from vaar.bench.host.config import HostConfig, HostPaths
from vaar.bench.host.uploads import CappedReceive, TooLarge, Upload, accept
from vaar.core.errors import ConfigError, SubmissionError

#: multipart overhead allowed on top of the file cap (boundaries, headers, the meta part)
OVERHEAD = 64 * 1024


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def submission_json(row: sqlite3.Row, frozen: bool = False) -> dict[str, Any]:
    """What a team may see of its own submission: before the freeze no hidden score at all; after
    it, the private part's overall scores and intervals too (never per-class, never the partition)."""
    private = None
    if frozen and row["private_report"]:
        report = json.loads(row["private_report"])
        private = {"n": report["n"], "scores": report["scores"], "ci95": report["ci95"]}
    return {
        "id": row["id"], "task": row["task"], "status": row["status"],
        "released": json.loads(row["released"]) if row["released"] else None,
        "improved": None if row["improved"] is None else bool(row["improved"]),
        "message": row["message"], "filename": row["filename"], "selected": bool(row["selected"]),
        "created": _iso(row["created"]), "finished": _iso(row["finished"]),
        "provenance": json.loads(row["provenance"]),
        "private": private,
    }


def _team(request: Request, conn: sqlite3.Connection) -> store.Team | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return store.team_for_token(conn, token.strip())


async def read_upload(request: Request, cfg: HostConfig) -> Upload:
    """Parse the multipart body under the cap (raises TooLarge or SubmissionError)."""
    cap = int(cfg.max_mb * 1024 * 1024) + OVERHEAD
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise TooLarge(f"the upload is over {cfg.max_mb:g} MB; predictions files for this host are at most that size")
    capped = Request(request.scope, CappedReceive(request.receive, cap))
    try:
        form = await capped.form(max_files=2, max_fields=8, max_part_size=MAX_FIELD)
    except TooLarge:
        raise
    except Exception as exc:  # malformed multipart (starlette raises HTTPException / MultiPartException)
        raise SubmissionError(f"the request is not a valid multipart upload ({str(exc)[:100]}); "
                              "send the file as the 'file' field") from None
    file = form.get("file")
    if file is None or isinstance(file, str):
        raise SubmissionError("no 'file' field; upload the predictions file as the multipart field 'file'")
    task = form.get("task") or "vaar-cls"
    meta = form.get("meta")
    meta_bytes = None
    if meta is not None:
        meta_bytes = meta.encode("utf-8") if isinstance(meta, str) else await meta.read(MAX_FIELD + 1)
    csrf, kind, factory = form.get("csrf"), form.get("kind") or "predictions", form.get("factory") or "factory"
    return Upload(str(task), file.filename or "upload", file.file, meta_bytes, csrf if isinstance(csrf, str) else "",
                  str(kind), str(factory))


MAX_FIELD = 16 * 1024


async def submit_upload(paths: HostPaths, cfg: HostConfig, team: store.Team, up: Upload) -> tuple[int, dict[str, Any]]:
    """(status, body): 202 with the id, or the refusal; shared by the API and the page."""

    def work() -> int:
        with store.opened(paths.db) as conn:
            return accept(paths, cfg, conn, team, up)

    try:
        return 202, {"id": await run_in_threadpool(work)}
    except SubmissionError as exc:
        return 422, {"error": str(exc)}
    except store.QuotaExceeded as exc:
        return 429, {"error": str(exc)}
    except store.Frozen as exc:
        return 409, {"error": str(exc)}


def _unauthorized() -> JSONResponse:
    return error(401, "missing or unknown bearer token; send 'Authorization: Bearer TOKEN'",
                 **{"WWW-Authenticate": "Bearer"})


Handler = Callable[[Request, sqlite3.Connection, store.Team], Response]


class _Api:
    def __init__(self, paths: HostPaths, cfg: HostConfig) -> None:
        self.paths, self.cfg = paths, cfg

    async def post_submission(self, request: Request) -> Response:
        with store.opened(self.paths.db) as conn:
            team = _team(request, conn)
        if team is None:
            return _unauthorized()
        try:
            up = await read_upload(request, self.cfg)
        except TooLarge as exc:
            return error(413, str(exc))
        except SubmissionError as exc:
            return error(422, str(exc))
        status, body = await submit_upload(self.paths, self.cfg, team, up)
        return JSONResponse(body, status_code=status)

    def authed(self, fn: Handler) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            with store.opened(self.paths.db) as conn:
                team = _team(request, conn)
                if team is None:
                    return _unauthorized()
                try:
                    return fn(request, conn, team)
                except ConfigError as exc:
                    return error(422, str(exc))
                except store.Frozen as exc:
                    return error(409, str(exc))
        return endpoint

    @staticmethod
    def own(conn: sqlite3.Connection, team: store.Team, raw: str) -> sqlite3.Row | None:
        if not raw.isdigit() or len(raw) > 12:
            return None
        row = store.submission(conn, int(raw))
        return row if row is not None and row["team_id"] == team.id else None

    def get_submission(self, request: Request, conn: sqlite3.Connection, team: store.Team) -> Response:
        row = self.own(conn, team, request.path_params["id"])
        return error(404, "no such submission of this team") if row is None else JSONResponse(
            submission_json(row, store.is_frozen(conn)))

    def get_log(self, request: Request, conn: sqlite3.Connection, team: store.Team) -> Response:
        row = self.own(conn, team, request.path_params["id"])
        if row is None:
            return error(404, "no such submission of this team")
        return PlainTextResponse(read_log(self.paths, row))

    def list_submissions(self, request: Request, conn: sqlite3.Connection, team: store.Team) -> Response:
        return JSONResponse({"team": team.name,
                             "submissions": [submission_json(r, store.is_frozen(conn))
                                             for r in store.team_submissions(conn, team.id)]})

    async def post_selections(self, request: Request) -> Response:
        try:
            body = json.loads((await request.body())[:4096])
            task, ids = str(body["task"]), body["ids"]
            if not isinstance(ids, list) or not all(type(i) is int for i in ids):  # "12" is not [1, 2]; true is not 1
                raise TypeError("ids must be a list of submission numbers")
        except (ValueError, KeyError, TypeError):
            return error(422, 'send JSON {"task": "vaar-cls", "ids": [submission ids, at most 2]}')

        def chosen(request: Request, conn: sqlite3.Connection, team: store.Team) -> Response:
            store.select_final(conn, team, task, ids)
            return JSONResponse({"task": task, "selected": sorted(set(ids))})

        result: Response = await run_in_threadpool(self.authed(chosen), request)
        return result

    def leaderboard(self, request: Request) -> Response:
        with store.opened(self.paths.db) as conn:
            try:
                return JSONResponse(public_board(conn, request.path_params["task"]))
            except ConfigError as exc:
                return error(404, str(exc))


def read_log(paths: HostPaths, row: sqlite3.Row) -> str:
    path = paths.logs / f"{row['id']}.log"
    return path.read_text(encoding="utf-8") if path.exists() else f"status: {row['status']}\n"


def routes(paths: HostPaths, cfg: HostConfig) -> list[Route]:
    a = _Api(paths, cfg)
    return [
        Route("/api/v1/submissions", a.post_submission, methods=["POST"]),
        Route("/api/v1/submissions", a.authed(a.list_submissions), methods=["GET"]),
        Route("/api/v1/submissions/{id}", a.authed(a.get_submission), methods=["GET"]),
        Route("/api/v1/submissions/{id}/log", a.authed(a.get_log), methods=["GET"]),
        Route("/api/v1/selections", a.post_selections, methods=["POST"]),
        Route("/api/v1/leaderboard/{task}", a.leaderboard, methods=["GET"]),
    ]
