"""The review page: one HTML shell, one script, one stylesheet (no inline script or style).

The shell carries no candidate data; the script fetches ``/api/state`` and puts every field in
the page with ``textContent`` / ``value`` (never ``innerHTML``), so a ``<script>`` in a note is
shown as text. Keys: ``j``/``k`` next/previous, ``a`` accept, ``r`` reject (type a reason,
Enter), ``1``-``9``, ``0`` relabel, ``[``/``]`` start -/+ one frame, ``,``/``.`` end -/+ one
frame, ``space`` play/pause, ``u`` first undecided.
"""

from __future__ import annotations

from html import escape

REASONS = ("wrong class", "no audible event", "event not visible", "poor quality", "duplicate",
           "not real footage", "distressing beyond use")  # fmt: skip


def html(token: str) -> str:
    reasons = "".join(f'<option value="{escape(r)}"></option>' for r in REASONS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="review-token" content="{escape(token)}">
<title>vaar review</title><link rel="stylesheet" href="/app.css"></head>
<body data-ready="0">
<header><strong>vaar review</strong> <span id="progress"></span> <span id="out"></span></header>
<main>
 <section id="player">
  <video id="video" controls preload="auto"></video>
  <div class="track"><img id="strip" alt="frame strip"><div class="span"></div></div>
  <div class="track"><img id="wave" alt="waveform"><div class="span"></div></div>
  <div class="track"><img id="spec" alt="spectrogram"><div class="span"></div></div>
  <p id="nomedia" hidden></p>
 </section>
 <section id="info">
  <h1 id="clip"></h1>
  <p id="decision"></p>
  <label>label <select id="label"></select></label>
  <div class="span-edit"><label>start <input id="start" type="number" step="0.04" min="0"></label>
   <label>end <input id="end" type="number" step="0.04" min="0"></label> <span id="dur"></span></div>
  <dl id="facts"></dl>
  <ul id="flags"></ul>
  <form id="reasonbar" hidden><label>reject because <input id="reason" list="reasons" maxlength="300"></label>
   <datalist id="reasons">{reasons}</datalist> <button type="submit">reject</button></form>
  <p id="status" role="status"></p>
 </section>
</main>
<footer>j/k next/previous · a accept · r reject (reason, Enter) · 1-9, 0 relabel · [ ] start −/+ frame ·
 , . end −/+ frame · space play/pause · u first undecided</footer>
<script src="/app.js"></script>
</body></html>
"""


CSS = """
body{font:14px system-ui,sans-serif;margin:0;background:#111;color:#eee}
header,footer{padding:6px 12px;background:#222}footer{font-size:12px;color:#aaa}
main{display:flex;gap:16px;padding:12px}#player{flex:0 0 800px}#info{flex:1;min-width:260px}
video{width:800px;max-height:450px;background:#000;display:block}
.track{position:relative;width:800px;margin-top:4px;background:#000;min-height:20px;overflow:hidden}
.track img{display:block;width:800px}
.span{position:absolute;top:0;bottom:0;border:3px solid #ffd400;box-shadow:0 0 0 9999px rgba(0,0,0,.55);pointer-events:none}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;word-break:break-all}dt{color:#aaa}
#flags li{color:#ffb347}#decision.accept{color:#7f7}#decision.reject{color:#f77}
#status.error{color:#f66}h1{font-size:18px;margin:0 0 6px}input,select{font-size:14px}
"""

JS = r"""
'use strict';
const token = document.querySelector('meta[name="review-token"]').content;
const $ = (id) => document.getElementById(id);
let state = null, idx = 0, draft = null, busy = false;

function fmt(x) { return x === null || x === undefined ? '' : String(Math.round(x * 1000) / 1000); }
function text(el, value) { el.textContent = value === null || value === undefined ? '' : String(value); }

async function load() {
  const r = await fetch('/api/state', {cache: 'no-store'});
  state = await r.json();
  const sel = $('label');
  sel.replaceChildren();
  state.classes.forEach((c, i) => {
    const o = document.createElement('option');
    o.value = c; o.textContent = ((i + 1) % 10) + ' ' + c; sel.appendChild(o);
  });
  text($('out'), '→ ' + state.out);
  show(Math.min(state.first_undecided, state.items.length - 1));
  document.body.dataset.ready = '1';
}

function item() { return state.items[idx]; }

function frame() {
  const b = item().built; return b && b.fps ? 1 / b.fps : 0.04;
}

function show(i) {
  idx = Math.max(0, Math.min(i, state.items.length - 1));
  const it = item(), d = it.decision;
  draft = {label: d ? d.label : it.fields.label,
           start: d && d.start !== null ? d.start : it.start,
           end: d && d.end !== null ? d.end : it.end};
  document.body.dataset.index = String(idx);
  document.body.dataset.clip = it.clip_id;
  text($('clip'), it.clip_id);
  const decided = state.items.filter((x) => x.decision).length;
  text($('progress'), `clip ${idx + 1} of ${state.items.length} · ${decided} decided`);
  const dec = $('decision');
  dec.className = d ? d.action : '';
  text(dec, d ? (d.action === 'accept' ? `accepted as ${d.label}` : `rejected: ${d.reason}`) : 'undecided');
  const v = $('video');
  if (it.video) {
    if (v.getAttribute('src') !== it.video) { v.src = it.video; }
    $('nomedia').hidden = true;
    for (const k of ['strip', 'wave', 'spec']) { $(k).hidden = false; $(k).src = `/preview/${k}/${encodeURIComponent(it.clip_id)}.png`; }
  } else {
    v.removeAttribute('src'); v.load();
    for (const k of ['strip', 'wave', 'spec']) { $(k).hidden = true; $(k).removeAttribute('src'); }
    $('nomedia').hidden = false;
    text($('nomedia'), 'no clip to play: the build did not make one');
  }
  const facts = $('facts');
  facts.replaceChildren();
  const b = it.built || {};
  const rows = [['url', it.fields.url], ['seed', it.fields.seed], ['seed label', it.fields.seed_label],
    ['seed flags', it.fields.seed_flags], ['title', b.title], ['licence', it.fields.license || b.license],
    ['notes', it.fields.notes], ['sync', b.sync_verdict ? `${b.sync_verdict}` +
      (b.av_offset_ms !== null && b.av_offset_ms !== undefined ? ` (${Math.round(b.av_offset_ms)} ms, confidence ${fmt(b.sync_confidence)})` : '') : ''],
    ['built span', b.start !== undefined && b.start !== null ? `${fmt(b.start)}–${fmt(b.end)} s` : '']];
  for (const [k, val] of rows) {
    if (val === undefined || val === null || val === '') continue;
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = k; dd.textContent = String(val); facts.append(dt, dd);
  }
  const fl = $('flags');
  fl.replaceChildren();
  for (const f of it.flags) { const li = document.createElement('li'); li.textContent = f; fl.appendChild(li); }
  hideReason();
  render();
}

function render() {
  $('label').value = draft.label;
  $('start').value = fmt(draft.start); $('end').value = fmt(draft.end);
  text($('dur'), draft.start !== null && draft.end !== null ? `${fmt(draft.end - draft.start)} s` : 'no span');
  const it = item(), b = it.built || {};
  const bs = b.start !== undefined && b.start !== null ? b.start : it.start;
  const be = b.end !== undefined && b.end !== null ? b.end : it.end;
  for (const el of document.querySelectorAll('.track .span')) {
    if (bs === null || be === null || draft.start === null || draft.end === null || be <= bs) { el.hidden = true; continue; }
    const l = Math.max(0, Math.min(1, (draft.start - bs) / (be - bs)));
    const r = Math.max(0, Math.min(1, (draft.end - bs) / (be - bs)));
    el.hidden = false; el.style.left = (100 * l) + '%'; el.style.width = (100 * Math.max(0, r - l)) + '%';
  }
}

function status(msg, error) { const s = $('status'); text(s, msg); s.className = error ? 'error' : ''; }

function nudge(key, steps) {
  if (draft[key] === null) { status('this candidate has no span: type start and end first', true); return; }
  draft[key] = Math.max(0, Math.round((draft[key] + steps * frame()) * 1000) / 1000);
  render();
  const it = item(), b = it.built || {}, v = $('video');
  const bs = b.start !== undefined && b.start !== null ? b.start : null;
  if (it.video && bs !== null) {
    v.currentTime = Math.max(0, key === 'start' ? draft.start - bs : draft.end - bs - 1);
  }
}

async function decide(action, reason) {
  if (busy) return;
  if (action === 'accept' && (draft.start === null || draft.end === null)) {
    status('not saved: an accepted clip needs a start and an end (type them, then a)', true); return;
  }
  busy = true;
  const it = item();
  const body = {clip_id: it.clip_id, action, label: draft.label, start: draft.start, end: draft.end, reason: reason || ''};
  try {
    const r = await fetch('/api/decide', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Review-Token': token},
      body: JSON.stringify(body), cache: 'no-store'});
    const res = await r.json();
    if (!r.ok) { status(`not saved: ${res.error}`, true); return; }
    it.decision = {clip_id: it.clip_id, action, label: draft.label, start: draft.start, end: draft.end, reason: body.reason};
    status(`saved: ${it.clip_id} ${action === 'accept' ? 'accepted as ' + draft.label : 'rejected'} (${res.decided} decided)`);
    const next = state.items.findIndex((x, j) => j > idx && !x.decision);
    show(next >= 0 ? next : Math.min(idx + 1, state.items.length - 1));
  } catch (e) {
    status('not saved: the review server did not answer', true);
  } finally {
    busy = false;
    document.body.dataset.saved = String(state.items.filter((x) => x.decision).length);
  }
}

function showReason() { $('reasonbar').hidden = false; $('reason').value = ''; $('reason').focus(); }
function hideReason() { $('reasonbar').hidden = true; }

$('reasonbar').addEventListener('submit', (e) => {
  e.preventDefault();
  const reason = $('reason').value.trim();
  if (!reason) { status('type a reason (or pick one) and press Enter', true); return; }
  $('reason').blur(); hideReason(); decide('reject', reason);
});
$('reason').addEventListener('keydown', (e) => { if (e.key === 'Escape') { $('reason').blur(); hideReason(); } });
$('label').addEventListener('change', () => { draft.label = $('label').value; render(); $('label').blur(); });
for (const key of ['start', 'end']) {
  $(key).addEventListener('change', () => { const x = parseFloat($(key).value); draft[key] = Number.isFinite(x) ? x : null; render(); });
}

document.addEventListener('keydown', (e) => {
  if (!state || e.ctrlKey || e.metaKey || e.altKey) return;
  const tag = (e.target && e.target.tagName) || '';
  if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') {
    if (e.key === 'Escape' || (e.key === 'Enter' && tag !== 'INPUT') || (e.key === 'Enter' && e.target.type === 'number')) e.target.blur();
    return;
  }
  const k = e.key;
  let handled = true;
  if (k === 'j') show(idx + 1);
  else if (k === 'k') show(idx - 1);
  else if (k === 'a') decide('accept');
  else if (k === 'r') showReason();
  else if (k === 'u') { const n = state.items.findIndex((x) => !x.decision); if (n >= 0) show(n); else status('every candidate is decided'); }
  else if (k === '[') nudge('start', -1);
  else if (k === ']') nudge('start', 1);
  else if (k === ',') nudge('end', -1);
  else if (k === '.') nudge('end', 1);
  else if (k === ' ') { const v = $('video'); if (v.paused) v.play().catch(() => {}); else v.pause(); }
  else if (/^[0-9]$/.test(k)) {
    const n = k === '0' ? 9 : parseInt(k, 10) - 1;
    if (n < state.classes.length) { draft.label = state.classes[n]; render(); status(`label: ${draft.label}`); }
  } else handled = false;
  if (handled) e.preventDefault();
});

load().catch(() => status('could not load the candidates from the review server', true));
"""
