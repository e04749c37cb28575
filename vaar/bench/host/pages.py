"""The browser pages: log in with the team's token, upload, follow submissions, choose the final ones.

Sessions: ``POST /login`` with the token sets ``vaar_session`` (random, only its hash stored;
HttpOnly, SameSite=Strict, Secure behind HTTPS) and every form carries the session's CSRF token,
checked on every POST (login itself is guarded by a double-submit cookie). Pages run no script:
the Content-Security-Policy is the static leaderboard's (nothing loads, the one style by hash),
with ``form-action 'self'`` so the forms can post here; a page with work in the queue refreshes
itself every 5 s (``<meta http-equiv="refresh">``). Everything shown is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from vaar.bench.host import store
from vaar.bench.host.api import read_upload, submit_upload
from vaar.bench.host.board import public_board
from vaar.bench.host.config import HOST_TASKS, HostConfig, HostPaths
from vaar.bench.host.uploads import TooLarge
from vaar.core.errors import ConfigError, SubmissionError

SESSION_COOKIE = "vaar_session"
LOGIN_COOKIE = "vaar_login"
_CSS = ("body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;"
        "text-align:left;vertical-align:top}.error{color:#a00;white-space:pre-wrap}.note{color:#555}"
        "form.inline{display:inline}code{font-size:90%}")
_STYLE_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode() + "'"
#: as the static leaderboard's (vaar.bench.render.CSP), but forms may post to this host
CSP = (f"default-src 'none'; script-src 'none'; style-src {_STYLE_HASH}; img-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store", "X-Frame-Options": "DENY"}
e = html.escape


def page(title: str, body: str, *, status: int = 200, refresh: bool = False) -> HTMLResponse:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    text = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{meta}<title>{e(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>{body}</body></html>")
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _login_page(csrf: str, message: str = "", status: int = 200, *, secure: bool = False) -> HTMLResponse:
    err = f'<p class="error" id="error">{e(message)}</p>' if message else ""
    resp = page("vaar-bench host", err + (
        '<form method="post" action="/login"><label>Team token <input type="password" name="token" '
        f'autocomplete="off" required></label><input type="hidden" name="csrf" value="{e(csrf)}">'
        ' <button type="submit">Log in</button></form><p class="note"><a href="/leaderboard">Public leaderboard</a>'
        "</p>"), status=status)
    resp.set_cookie(LOGIN_COOKIE, csrf, httponly=True, samesite="strict", path="/login", secure=secure)
    return resp


def _rows(rows: list[sqlite3.Row], csrf: str) -> str:
    out = []
    for r in rows:
        released = json.loads(r["released"]) if r["released"] else None
        shown = ", ".join(f"{k} {100 * v:.1f}" for k, v in released.items()) if released else "&#8212;"
        out.append(
            f'<tr id="sub-{r["id"]}"><td>{r["id"]}</td><td>{e(r["task"])}</td><td>{e(r["filename"])}</td>'
            f'<td class="status">{e(r["status"])}</td><td class="released">{shown}</td>'
            f'<td class="message">{e(r["message"])}</td><td><a href="/submissions/{r["id"]}/log">log</a></td>'
            f'<td>{"final" if r["selected"] else ""}</td></tr>')
    return "".join(out)


def _home(team: store.Team, csrf: str, conn: sqlite3.Connection, message: str = "", status: int = 200) -> Response:
    rows = store.team_submissions(conn, team.id)
    busy = any(r["status"] in ("queued", "running") for r in rows)
    tasks = "".join(f'<option value="{t}">{t}</option>' for t in HOST_TASKS)
    err = f'<p class="error" id="error">{e(message)}</p>' if message else ""
    body = (
        f'<p>Team <b id="team">{e(team.name)}</b> &#183; <a href="/leaderboard">public leaderboard</a></p>{err}'
        '<h2>Submit predictions</h2><form method="post" action="/submit" enctype="multipart/form-data">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}"><select name="task">{tasks}</select> '
        '<input type="file" name="file" required> <button type="submit" id="upload">Upload</button></form>'
        '<p class="note">Scores shown are the public part\'s, released through the Ladder: a submission that '
        "does not clearly beat your best gets your best score back. The final ranking uses the private part, "
        "after the freeze.</p>"
        "<h2>My submissions</h2><table><thead><tr><th>#</th><th>task</th><th>file</th><th>status</th>"
        "<th>released</th><th>message</th><th>log</th><th>final</th></tr></thead><tbody>"
        f"{_rows(rows, csrf)}</tbody></table>"
        '<h2>Final submissions</h2><form method="post" action="/select">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}"><select name="task">{tasks}</select> '
        '<input name="ids" placeholder="ids, e.g. 3,7" pattern="[0-9, ]*"> <button type="submit">Choose</button>'
        '</form><p class="note">At most two; if you choose none, your best public submission is used.</p>'
        f'<form method="post" action="/logout"><input type="hidden" name="csrf" value="{e(csrf)}">'
        '<button type="submit">Log out</button></form>')
    return page("vaar-bench host", body, status=status, refresh=busy)


class _Pages:
    def __init__(self, paths: HostPaths, cfg: HostConfig, secure_cookies: bool) -> None:
        self.paths, self.cfg, self.secure_cookies = paths, cfg, secure_cookies

    def current(self, request: Request, conn: sqlite3.Connection) -> tuple[store.Team, str] | None:
        sid = request.cookies.get(SESSION_COOKIE, "")
        return store.session(conn, sid) if sid else None

    def forbidden(self) -> Response:
        return page("Refused", '<p class="error">Missing or wrong CSRF token: reload the page and try again.</p>',
                    status=403)

    def home(self, request: Request) -> Response:
        with store.opened(self.paths.db) as conn:
            who = self.current(request, conn)
            if who is None:
                return _login_page(secrets.token_urlsafe(24), secure=self.secure_cookies)
            return _home(who[0], who[1], conn)

    async def login(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        cookie, field = request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf", ""))
        if not cookie or not hmac.compare_digest(cookie, field):
            return self.forbidden()
        with store.opened(self.paths.db) as conn:
            team = store.team_for_token(conn, str(form.get("token", "")).strip())
            if team is None:
                return _login_page(secrets.token_urlsafe(24), "unknown token", status=401, secure=self.secure_cookies)
            sid, _ = store.new_session(conn, team)
        resp = RedirectResponse("/", status_code=303, headers=HEADERS)
        resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict", secure=self.secure_cookies, path="/",
                        max_age=int(store.SESSION_S))
        resp.delete_cookie(LOGIN_COOKIE, path="/login")
        return resp

    async def guarded(self, request: Request) -> tuple[store.Team, str] | Response:
        with store.opened(self.paths.db) as conn:
            who = self.current(request, conn)
        if who is None:
            return RedirectResponse("/", status_code=303, headers=HEADERS)
        return who

    def csrf_ok(self, form: Any, who: tuple[store.Team, str]) -> bool:
        return hmac.compare_digest(str(form.get("csrf", "")), who[1])

    async def guarded_form(self, request: Request) -> tuple[tuple[store.Team, str], Any] | Response:
        """The signed-in team and its small form, or the response that refuses it (not signed in:
        back to the page; a missing or wrong CSRF token: 403)."""
        who = await self.guarded(request)
        if isinstance(who, Response):
            return who
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        if not self.csrf_ok(form, who):
            return self.forbidden()
        return who, form

    async def submit(self, request: Request) -> Response:
        who = await self.guarded(request)
        if isinstance(who, Response):
            return who
        try:
            up = await read_upload(request, self.cfg)
        except (TooLarge, SubmissionError) as exc:
            status, body = (413 if isinstance(exc, TooLarge) else 422), {"error": str(exc)}
        else:
            if not hmac.compare_digest(up.csrf, who[1]):
                return self.forbidden()
            status, body = await submit_upload(self.paths, self.cfg, who[0], up)
        if status == 202:
            return RedirectResponse("/", status_code=303, headers=HEADERS)
        with store.opened(self.paths.db) as conn:
            return _home(who[0], who[1], conn, body["error"], status=status)

    async def select(self, request: Request) -> Response:
        got = await self.guarded_form(request)
        if isinstance(got, Response):
            return got
        who, form = got
        raw = str(form.get("ids", ""))
        with store.opened(self.paths.db) as conn:
            try:
                ids = [int(x) for x in raw.replace(",", " ").split()]
                store.select_final(conn, who[0], str(form.get("task", "")), ids)
            except (ValueError, ConfigError, store.Frozen) as exc:
                msg = str(exc) if not isinstance(exc, ValueError) else "ids are submission numbers, e.g. 3,7"
                return _home(who[0], who[1], conn, msg, status=422)
        return RedirectResponse("/", status_code=303, headers=HEADERS)

    async def logout(self, request: Request) -> Response:
        got = await self.guarded_form(request)
        if isinstance(got, Response):
            return got
        who, form = got
        with store.opened(self.paths.db) as conn:
            store.end_session(conn, request.cookies.get(SESSION_COOKIE, ""))
        resp = RedirectResponse("/", status_code=303, headers=HEADERS)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    def log(self, request: Request) -> Response:
        with store.opened(self.paths.db) as conn:
            who = self.current(request, conn)
            raw = request.path_params["id"]
            row = store.submission(conn, int(raw)) if who and raw.isdigit() and len(raw) < 12 else None
        if who is None or row is None or row["team_id"] != who[0].id:
            return PlainTextResponse("no such submission of this team\n", status_code=404, headers=HEADERS)
        path = self.paths.logs / f"{row['id']}.log"
        text = path.read_text(encoding="utf-8") if path.exists() else f"status: {row['status']}\n"
        return PlainTextResponse(text, headers=HEADERS)

    def leaderboard(self, request: Request) -> Response:
        final = self.paths.leaderboard / "index.html"
        if final.exists():  # after the freeze: the rendered final board, with its own CSP
            from vaar.bench.render import CSP as STATIC_CSP

            return HTMLResponse(final.read_text(encoding="utf-8"), headers={**HEADERS, "Content-Security-Policy":
                                                                               STATIC_CSP})
        with store.opened(self.paths.db) as conn:
            boards = [public_board(conn, t) for t in HOST_TASKS]
        body = ['<p class="note">Public part of the hidden test set; each team\'s best score as released by the '
                "Ladder. The final ranking (private part, with bootstrap intervals) appears after the freeze.</p>"]
        for b in boards:
            body.append(f"<h2><code>{e(b['task'])}</code></h2><table><thead><tr><th>rank</th><th>team</th>"
                        f"<th>{e(b['main_score'])}</th><th>submissions</th><th>last</th></tr></thead><tbody>")
            for r in b["public"]:
                body.append(f"<tr><td>{r['rank']}</td><td>{e(r['team'])}</td><td>{100 * r[b['main_score']]:.1f}</td>"
                            f"<td>{r['submissions']}</td><td>{e(r['last'] or '')}</td></tr>")
            body.append("</tbody></table>")
        return page("vaar-bench leaderboard (live)", "".join(body))


def routes(paths: HostPaths, cfg: HostConfig, *, secure_cookies: bool) -> list[Route]:
    p = _Pages(paths, cfg, secure_cookies)
    return [Route("/", p.home), Route("/login", p.login, methods=["POST"]), Route("/submit", p.submit, methods=["POST"]),
            Route("/select", p.select, methods=["POST"]), Route("/logout", p.logout, methods=["POST"]),
            Route("/submissions/{id}/log", p.log), Route("/leaderboard", p.leaderboard)]
