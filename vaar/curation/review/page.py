"""The review page: one HTML shell, one script (:mod:`page_js`), one stylesheet (no inline script or style).

The shell carries no candidate data; the script fetches ``/api/state`` and puts every field in
the page with ``textContent`` / ``value`` (never ``innerHTML``), so a ``<script>`` in a note is
shown as text. Trimming happens at the playhead: the frame strip, waveform and spectrogram share
one time axis with the player, carry a playhead line, and a click seeks, a drag moves a span edge.

Times: ``start``/``end`` are *source* seconds (what ``reviewed.csv`` stores); the axes and the
player show seconds into the clip, and the page shows both (:data:`CONVENTION`).

Keys (:data:`KEYS`): ``i``/``o`` start/end at the playhead, ``[``/``]`` start −/+ one frame
(``{``/``}`` one second), ``,``/``.`` end −/+ one frame (``<``/``>`` one second), ``←``/``→`` seek
−/+ 1 s (Shift: one frame), ``space`` play/pause, ``p`` play the span, ``l`` loop the span,
``-``/``=`` slower/faster, ``a`` accept (twice when the span leaves what was built), ``r`` reject,
``z`` undo the last decision, ``1``-``9``, ``0`` relabel, ``j``/``k`` next/previous, ``u`` first
undecided.
"""

from __future__ import annotations

from html import escape

from vaar.curation.review.page_js import JS

REASONS = ("wrong class", "no audible event", "event not visible", "poor quality", "duplicate",
           "not real footage", "distressing beyond use")  # fmt: skip
CONVENTION = ("Times: start and end are seconds in the source video (what reviewed.csv stores); "
              "the axes, the player and the numbers in brackets are seconds into this clip.")
KEYS = ("i/o start/end at playhead · [ ] start ∓frame ({ } ∓1 s) · , . end ∓frame (< > ∓1 s) · "
        "←/→ seek ∓1 s (Shift: frame) · space play · p play span · l loop · -/= speed · a accept · "
        "r reject · z undo · 1-9,0 relabel · j/k next/prev · u first undecided · click/drag the strips")

__all__ = ["CSS", "JS", "html"]


def html(token: str) -> str:
    reasons = "".join(f'<option value="{escape(r)}"></option>' for r in REASONS)
    tracks = "".join(
        f'<div class="track" data-kind="{k}"><img id="{k}" alt="" hidden><div class="span"></div>'
        f'<div class="playhead"></div><div class="axis"></div></div>'
        for k in ("strip", "wave", "spec")
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="review-token" content="{escape(token)}">
<title>vaar review</title><link rel="stylesheet" href="/app.css"></head>
<body data-ready="0">
<header><strong>vaar review</strong> <span id="progress"></span> <span id="rate"></span>
 <span class="filters"><label>class <select id="f-class"><option value="">all</option></select></label>
 <label>flag <select id="f-flag"><option value="">all</option></select></label>
 <label>status <select id="f-status"><option value="">all</option><option value="undecided">undecided</option>
 <option value="accept">accepted</option><option value="reject">rejected</option></select></label></span>
 <span id="who"></span> <span id="out"></span></header>
<main>
 <section id="player">
  <video id="video" preload="auto"></video>
  <div id="transport"><span id="clock"></span> <span id="speed">1×</span> <span id="loop">loop off</span>
   <span id="mediakind"></span></div>
  {tracks}
  <p id="nomedia" hidden></p>
  <p id="convention">{escape(CONVENTION)}</p>
 </section>
 <section id="info">
  <h1 id="clip"></h1>
  <p id="decision"></p>
  <ul id="flags"></ul>
  <label>label <select id="label"></select></label>
  <div class="span-edit"><label>start <input id="start" type="number" step="0.04" min="0"></label>
   <label>end <input id="end" type="number" step="0.04" min="0"></label></div>
  <p id="dur"></p>
  <form id="reasonbar" hidden><label>reject because <input id="reason" list="reasons" maxlength="300"></label>
   <datalist id="reasons">{reasons}</datalist> <button type="submit">reject</button></form>
  <p id="status" role="status"></p>
  <dl id="facts"></dl>
  <details id="perclass"><summary>progress per class</summary><table><tbody id="classes"></tbody></table></details>
 </section>
</main>
<footer>{escape(KEYS)}</footer>
<script src="/app.js"></script>
</body></html>
"""


CSS = """
[hidden]{display:none!important}
*{box-sizing:border-box}
body{font:14px system-ui,sans-serif;margin:0;background:#111;color:#eee}
header,footer{padding:6px 12px;background:#222;display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center}
footer{font-size:12px;color:#aaa}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(280px,380px);gap:16px;padding:12px}
@media (min-width:1600px){main{grid-template-columns:minmax(0,1100px) minmax(320px,1fr)}}
#player{min-width:0}#info{min-width:0}
video{width:100%;max-height:56vh;background:#000;display:block}
#transport{font-variant-numeric:tabular-nums;color:#ccc;margin:4px 0;display:flex;gap:14px;flex-wrap:wrap}
.track{position:relative;width:100%;margin-top:4px;background:#000;min-height:24px;cursor:crosshair;
 touch-action:none;user-select:none;padding-bottom:16px;overflow:hidden}
.track img{display:block;width:100%;pointer-events:none}
.span{position:absolute;top:0;bottom:16px;border:3px solid #ffd400;box-shadow:0 0 0 9999px rgba(0,0,0,.5);
 pointer-events:none}
.playhead{position:absolute;top:0;bottom:16px;width:2px;margin-left:-1px;background:#ff3b3b;pointer-events:none}
.axis{position:absolute;left:0;right:0;bottom:0;height:16px;border-top:1px solid #555;font-size:10px;color:#aaa;
 pointer-events:none;overflow:hidden}
.axis span{position:absolute;top:1px;transform:translateX(-50%);white-space:nowrap}
.axis span::before{content:"";position:absolute;left:50%;top:-4px;height:4px;border-left:1px solid #777}
.axis span.first{transform:none}.axis span.last{transform:translateX(-100%)}
#convention{font-size:12px;color:#aaa}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 10px;overflow-wrap:anywhere}dt{color:#aaa}
#flags{padding-left:18px;margin:4px 0}#flags li{color:#ffb347}#flags li.seed{color:#8fd3ff}
#decision.accept{color:#7f7}#decision.reject{color:#f77}
#status.error{color:#f66}#status.warn{color:#ffd400}h1{font-size:18px;margin:0 0 6px;overflow-wrap:anywhere}
input,select{font-size:14px}.span-edit{display:flex;gap:10px;flex-wrap:wrap}.span-edit input{width:7em}
#classes td{padding:0 8px 0 0;font-variant-numeric:tabular-nums}
"""
