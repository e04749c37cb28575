"""The review page's script (served as ``/app.js``; the page's CSP allows no inline script).

Every candidate field reaches the page through ``textContent`` / ``value``, never ``innerHTML``.
State kept here: the clip on screen (``idx``), its draft label and span (source seconds), the
filters, this session's decisions (for ``z``, undo, and the rate), the loop and speed.
"""

from __future__ import annotations

JS = r"""
'use strict';
const token = document.querySelector('meta[name="review-token"]').content;
const $ = (id) => document.getElementById(id);
const KINDS = ['strip', 'wave', 'spec'];
const SPEEDS = [0.25, 0.5, 0.75, 1, 1.5, 2];
let state = null, idx = 0, draft = null, busy = false, loop = false, speed = 3, warned = '';
let drag = null;
const history = [];  // clip ids decided in this session, newest last (z undoes the last)
const started = Date.now();
let doneHere = 0;

function fmt(x) { return x === null || x === undefined ? '' : String(Math.round(x * 1000) / 1000); }
function text(el, value) { el.textContent = value === null || value === undefined ? '' : String(value); }
function item() { return state.items[idx]; }
function media() { return item().media; }
function s0() { const m = media(); return m ? m.source_start : 0; }
function clipDur() {
  const m = media(), v = $('video');
  if (m && m.duration > 0) return m.duration;
  return v.duration && Number.isFinite(v.duration) ? v.duration : 0;
}
function frame() {
  const m = media(), b = item().built || {};
  if (m && m.kind === 'source') return 1 / 12;
  return b.fps ? 1 / b.fps : 0.04;
}
function both(src) {  // "121.2 s (3.2)": source seconds, seconds into the clip in brackets
  if (src === null || src === undefined) return '';
  return `${fmt(src)} s (${fmt(src - s0())})`;
}

async function load() {
  const r = await fetch('/api/state', {cache: 'no-store'});
  state = await r.json();
  const sel = $('label'), fc = $('f-class'), ff = $('f-flag');
  sel.replaceChildren();
  state.classes.forEach((c, i) => {
    const o = document.createElement('option');
    o.value = c; o.textContent = ((i + 1) % 10) + ' ' + c; sel.appendChild(o);
    const f = document.createElement('option'); f.value = c; f.textContent = c; fc.appendChild(f);
  });
  const flagNames = new Set();
  for (const it of state.items) { for (const f of it.seed_flags) flagNames.add(f); if (qcFlags(it).length) flagNames.add('QC flag'); }
  for (const f of [...flagNames].sort()) { const o = document.createElement('option'); o.value = f; o.textContent = f; ff.appendChild(o); }
  text($('out'), '→ ' + state.out);
  text($('who'), state.reviewer ? 'reviewer ' + state.reviewer : '');
  show(Math.min(state.first_undecided, state.items.length - 1));
  document.body.dataset.ready = '1';
}

function qcFlags(it) { return it.media && it.media.kind === 'source' ? [] : (it.built ? it.flags : []); }

function matches(it) {
  const c = $('f-class').value, f = $('f-flag').value, s = $('f-status').value;
  if (c && it.fields.label !== c) return false;
  if (f && !(f === 'QC flag' ? qcFlags(it).length > 0 : it.seed_flags.includes(f))) return false;
  if (s === 'undecided' && it.decision) return false;
  if ((s === 'accept' || s === 'reject') && (!it.decision || it.decision.action !== s)) return false;
  return true;
}

function step(dir) {  // next/previous candidate that passes the filters
  for (let j = idx + dir; j >= 0 && j < state.items.length; j += dir) {
    if (matches(state.items[j])) { show(j); return true; }
  }
  status(dir > 0 ? 'no later candidate passes the filters' : 'no earlier candidate passes the filters');
  return false;
}

function refilter() {
  if (matches(item())) { progress(); return; }
  const j = state.items.findIndex(matches);
  if (j >= 0) show(j); else { status('no candidate passes these filters', true); progress(); }
}

function progress() {
  const all = state.items.length, decided = state.items.filter((x) => x.decision).length;
  const shown = state.items.filter(matches).length;
  text($('progress'), `clip ${idx + 1} of ${all} · ${decided} decided` + (shown !== all ? ` · ${shown} match the filters` : ''));
  const mins = (Date.now() - started) / 60000;
  if (doneHere > 0 && mins > 0) {
    const rate = doneHere / mins, left = all - decided;
    text($('rate'), `${rate.toFixed(1)} clips/min · about ${Math.ceil(left / rate)} min for ${left} left`);
  } else text($('rate'), '');
  const body = $('classes');
  body.replaceChildren();
  for (const c of state.classes) {
    const rows = state.items.filter((x) => x.fields.label === c);
    if (!rows.length) continue;
    const tr = document.createElement('tr');
    for (const v of [c, `${rows.filter((x) => x.decision).length} / ${rows.length}`,
      `${rows.filter((x) => x.decision && x.decision.action === 'accept').length} accepted`]) {
      const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

function show(i) {
  idx = Math.max(0, Math.min(i, state.items.length - 1));
  const it = item(), d = it.decision;
  warned = '';
  draft = {label: d ? d.label : it.fields.label,
           start: d && d.start !== null ? d.start : it.start,
           end: d && d.end !== null ? d.end : it.end};
  if ((draft.start === null || draft.end === null) && it.media && it.media.kind === 'clip') {
    draft.start = it.media.source_start; draft.end = it.media.source_start + it.media.duration;
  }
  document.body.dataset.index = String(idx);
  document.body.dataset.clip = it.clip_id;
  text($('clip'), it.clip_id);
  const dec = $('decision');
  dec.className = d ? d.action : '';
  text(dec, d ? (d.action === 'accept' ? `accepted as ${d.label}` : `rejected: ${d.reason}`) : 'undecided');
  const v = $('video');
  if (it.video) {
    if (v.getAttribute('src') !== it.video) { v.src = it.video; }
    v.playbackRate = SPEEDS[speed];
    $('nomedia').hidden = true;
    for (const k of KINDS) { $(k).hidden = false; $(k).src = `/preview/${k}/${encodeURIComponent(it.clip_id)}.png`; }
    text($('mediakind'), it.media.kind === 'source'
      ? `whole-source preview: source 0–${fmt(it.media.duration)} s` + (it.media.truncated ? ' (the source runs on)' : '')
      : `built clip: source ${fmt(it.media.source_start)}–${fmt(it.media.source_start + it.media.duration)} s`);
  } else {
    v.removeAttribute('src'); v.load();
    for (const k of KINDS) { $(k).hidden = true; $(k).removeAttribute('src'); }
    $('nomedia').hidden = false;
    text($('nomedia'), 'no clip to play: ' + (it.flags[0] || 'the build did not make one'));
    text($('mediakind'), '');
  }
  const facts = $('facts');
  facts.replaceChildren();
  const b = it.built || {};
  const rows = [['url', it.fields.url], ['seed', it.fields.seed], ['seed label', it.fields.seed_label],
    ['title', b.title], ['licence', it.fields.license || b.license], ['notes', it.fields.notes],
    ['sync', b.sync_verdict ? `${b.sync_verdict}` +
      (b.av_offset_ms !== null && b.av_offset_ms !== undefined ? ` (${Math.round(b.av_offset_ms)} ms, confidence ${fmt(b.sync_confidence)})` : '') : '']];
  for (const [k, val] of rows) {
    if (val === undefined || val === null || val === '') continue;
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = k; dd.textContent = String(val); facts.append(dt, dd);
  }
  const fl = $('flags');
  fl.replaceChildren();
  for (const f of it.seed_flags) { const li = document.createElement('li'); li.className = 'seed'; li.textContent = 'seed: ' + f; fl.appendChild(li); }
  for (const f of it.flags) { const li = document.createElement('li'); li.textContent = f; fl.appendChild(li); }
  hideReason();
  axes();
  render();
  progress();
}

function axes() {
  const dur = clipDur();
  for (const ax of document.querySelectorAll('.axis')) {
    ax.replaceChildren();
    if (!(dur > 0) || !item().video) continue;
    const stepS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => dur / s <= 10) || 600;
    for (let t = 0; t <= dur + 1e-6; t += stepS) {
      const sp = document.createElement('span');
      sp.style.left = (100 * t / dur) + '%';
      if (t === 0) sp.className = 'first'; else if (t + stepS > dur + 1e-6 && dur - t < stepS * 0.3) sp.className = 'last';
      sp.textContent = `${fmt(t)} s`;
      ax.appendChild(sp);
    }
  }
}

function render() {
  $('label').value = draft.label;
  $('start').value = fmt(draft.start); $('end').value = fmt(draft.end);
  const has = draft.start !== null && draft.end !== null;
  text($('dur'), has ? `span ${both(draft.start)} – ${both(draft.end)}: ${fmt(draft.end - draft.start)} s` : 'no span yet: play, then i at the start and o at the end');
  const dur = clipDur();
  for (const el of document.querySelectorAll('.track .span')) {
    if (!has || !(dur > 0) || !item().video) { el.hidden = true; continue; }
    const l = Math.max(0, Math.min(1, (draft.start - s0()) / dur));
    const r = Math.max(0, Math.min(1, (draft.end - s0()) / dur));
    el.hidden = false; el.style.left = (100 * l) + '%'; el.style.width = (100 * Math.max(0, r - l)) + '%';
  }
  playhead();
}

function playhead() {
  const v = $('video'), dur = clipDur(), t = v.currentTime || 0;
  for (const el of document.querySelectorAll('.track .playhead')) {
    el.hidden = !(dur > 0) || !item().video;
    el.style.left = (100 * Math.max(0, Math.min(1, t / (dur || 1)))) + '%';
  }
  text($('clock'), item().video ? `playhead ${fmt(t)} s in the clip = ${fmt(t + s0())} s in the source` : '');
  document.body.dataset.playhead = fmt(t);
}

function status(msg, kind) { const s = $('status'); text(s, msg); s.className = kind === true ? 'error' : (kind || ''); }

function seek(t) {
  const v = $('video'), dur = clipDur();
  if (!item().video) { status('nothing to play for this candidate', true); return; }
  v.currentTime = Math.max(0, Math.min(dur > 0 ? dur : t, t));
  playhead();
}

function setEdge(key, src) {
  src = Math.max(0, Math.round(src * 1000) / 1000);
  draft[key] = src;
  if (key === 'start' && draft.end !== null && draft.end <= src) status('the start is now after the end: move the end too', 'warn');
  else if (key === 'end' && draft.start !== null && src <= draft.start) status('the end is now before the start: move the start too', 'warn');
  render();
}

function atPlayhead(key) {
  if (!item().video) { status('nothing to play: type start and end instead', true); return; }
  setEdge(key, $('video').currentTime + s0());
}

function nudge(key, seconds) {
  if (draft[key] === null) { status('this candidate has no span yet: press i / o at the playhead first', true); return; }
  setEdge(key, draft[key] + seconds);
  if (item().video) seek(Math.max(0, key === 'start' ? draft.start - s0() : draft.end - s0() - 1));
}

function outsideBuilt() {
  const m = media();
  if (!m || draft.start === null || draft.end === null) return false;
  return draft.start < m.source_start - 0.02 || draft.end > m.source_start + m.duration + 0.02;
}

async function post(body) {
  const r = await fetch('/api/decide', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Review-Token': token},
    body: JSON.stringify(body), cache: 'no-store'});
  return [r, await r.json()];
}

async function decide(action, reason) {
  if (busy) return;
  if (action === 'accept' && (draft.start === null || draft.end === null)) {
    status('not saved: an accepted clip needs a start and an end (i / o at the playhead, or type them)', true); return;
  }
  const it = item();
  const key = `${it.clip_id}:${draft.start}:${draft.end}`;
  if (action === 'accept' && outsideBuilt() && warned !== key) {
    const m = media();
    warned = key;
    status(`the span ${fmt(draft.start)}–${fmt(draft.end)} s runs outside what was ${m.kind === 'source' ? 'previewed' : 'built'} and watched ` +
      `(${fmt(m.source_start)}–${fmt(m.source_start + m.duration)} s): press a again to accept it anyway`, 'warn');
    return;
  }
  busy = true;
  const body = {clip_id: it.clip_id, action, label: draft.label, start: draft.start, end: draft.end, reason: reason || ''};
  try {
    const [r, res] = await post(body);
    if (!r.ok) { status(`not saved: ${res.error}`, true); return; }
    it.decision = {clip_id: it.clip_id, action, label: draft.label, start: draft.start, end: draft.end, reason: body.reason};
    history.push(it.clip_id); doneHere += 1;
    status(`saved: ${it.clip_id} ${action === 'accept' ? 'accepted as ' + draft.label : 'rejected'} (${res.decided} decided) · z undoes it`);
    const next = state.items.findIndex((x, j) => j > idx && !x.decision && matches(x));
    if (next >= 0) show(next); else if (!step(1)) show(idx);
  } catch (e) {
    status('not saved: the review server did not answer', true);
  } finally {
    busy = false;
    document.body.dataset.saved = String(state.items.filter((x) => x.decision).length);
  }
}

async function undo() {
  if (busy) return;
  const cid = history.pop();
  if (!cid) { status('nothing to undo in this session'); return; }
  busy = true;
  try {
    const [r, res] = await post({clip_id: cid, action: 'undo', label: '', start: null, end: null, reason: ''});
    if (!r.ok) { status(`not undone: ${res.error}`, true); history.push(cid); return; }
    const j = state.items.findIndex((x) => x.clip_id === cid);
    const old = state.items[j].decision;
    state.items[j].decision = null; doneHere = Math.max(0, doneHere - 1);
    show(j);
    if (old) { draft = {label: old.label, start: old.start !== null ? old.start : draft.start, end: old.end !== null ? old.end : draft.end}; render(); }
    status(`undone: ${cid} is undecided again`);
  } catch (e) {
    status('not undone: the review server did not answer', true); history.push(cid);
  } finally {
    busy = false;
    document.body.dataset.saved = String(state.items.filter((x) => x.decision).length);
  }
}

function showReason() { $('reasonbar').hidden = false; $('reason').value = ''; $('reason').focus(); }
function hideReason() { $('reasonbar').hidden = true; }

function togglePlay() { const v = $('video'); if (!item().video) return; if (v.paused) v.play().catch(() => {}); else v.pause(); }
function playSpan() {
  if (draft.start === null) { togglePlay(); return; }
  seek(draft.start - s0()); $('video').play().catch(() => {});
}
function setSpeed(d) {
  speed = Math.max(0, Math.min(SPEEDS.length - 1, speed + d));
  $('video').playbackRate = SPEEDS[speed]; text($('speed'), SPEEDS[speed] + '×');
}
function toggleLoop() { loop = !loop; text($('loop'), loop ? 'loop span on' : 'loop off'); }

$('video').addEventListener('timeupdate', () => {
  const v = $('video');
  if (loop && !v.paused && draft.end !== null && draft.start !== null && v.currentTime + s0() >= draft.end) seek(draft.start - s0());
  playhead();
});
$('video').addEventListener('loadedmetadata', () => { axes(); render(); });
function frameLoop() { if (state && !$('video').paused) playhead(); requestAnimationFrame(frameLoop); }
requestAnimationFrame(frameLoop);

for (const tr of document.querySelectorAll('.track')) {
  const at = (e) => {
    const r = tr.getBoundingClientRect();
    return Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)) * clipDur();
  };
  tr.addEventListener('pointerdown', (e) => {
    if (!state || !item().video || !(clipDur() > 0)) return;
    const r = tr.getBoundingClientRect(), px = (t) => r.left + r.width * t / clipDur();
    drag = 'seek';
    if (draft.start !== null && Math.abs(e.clientX - px(draft.start - s0())) <= 8) drag = 'start';
    else if (draft.end !== null && Math.abs(e.clientX - px(draft.end - s0())) <= 8) drag = 'end';
    tr.setPointerCapture(e.pointerId);
    if (drag === 'seek') seek(at(e)); else setEdge(drag, at(e) + s0());
    e.preventDefault();
  });
  tr.addEventListener('pointermove', (e) => {
    if (!drag) return;
    if (drag === 'seek') seek(at(e)); else { setEdge(drag, at(e) + s0()); seek(at(e)); }
  });
  const end = () => { drag = null; };
  tr.addEventListener('pointerup', end); tr.addEventListener('pointercancel', end);
}

$('reasonbar').addEventListener('submit', (e) => {
  e.preventDefault();
  const reason = $('reason').value.trim();
  if (!reason) { status('type a reason (or pick one) and press Enter', true); return; }
  $('reason').blur(); hideReason(); decide('reject', reason);
});
$('reason').addEventListener('keydown', (e) => { if (e.key === 'Escape') { $('reason').blur(); hideReason(); } });
$('label').addEventListener('change', () => { draft.label = $('label').value; render(); $('label').blur(); });
for (const f of ['f-class', 'f-flag', 'f-status']) $(f).addEventListener('change', () => { $(f).blur(); refilter(); });
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
  const k = e.key, fr = frame();
  let handled = true;
  if (k === 'j') step(1);
  else if (k === 'k') step(-1);
  else if (k === 'a') decide('accept');
  else if (k === 'r') showReason();
  else if (k === 'z') undo();
  else if (k === 'u') { const n = state.items.findIndex((x) => !x.decision && matches(x)); if (n >= 0) show(n); else status('every candidate that passes the filters is decided'); }
  else if (k === 'i') atPlayhead('start');
  else if (k === 'o') atPlayhead('end');
  else if (k === '[') nudge('start', -fr);
  else if (k === ']') nudge('start', fr);
  else if (k === '{') nudge('start', -1);
  else if (k === '}') nudge('start', 1);
  else if (k === ',') nudge('end', -fr);
  else if (k === '.') nudge('end', fr);
  else if (k === '<') nudge('end', -1);
  else if (k === '>') nudge('end', 1);
  else if (k === 'ArrowLeft') seek($('video').currentTime - (e.shiftKey ? fr : 1));
  else if (k === 'ArrowRight') seek($('video').currentTime + (e.shiftKey ? fr : 1));
  else if (k === ' ') togglePlay();
  else if (k === 'p') playSpan();
  else if (k === 'l') toggleLoop();
  else if (k === '-') setSpeed(-1);
  else if (k === '=' || k === '+') setSpeed(1);
  else if (/^[0-9]$/.test(k)) {
    const n = k === '0' ? 9 : parseInt(k, 10) - 1;
    if (n < state.classes.length) { draft.label = state.classes[n]; render(); status(`label: ${draft.label}`); }
  } else handled = false;
  if (handled) e.preventDefault();
});

load().catch(() => status('could not load the candidates from the review server', true));
"""
