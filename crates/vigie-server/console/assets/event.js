// One event: what, where, when; its snapshot, the clip from the recordings, a timeline, and the decision.

import { get, h, enc } from './api.js';
import { t, tOr, fmtTime, fmtClock } from './i18n.js';
import { decisionControls } from './alerts.js';

function row(label, value) {
  if (value == null || value === '') return null;
  return [h('dt', label), h('dd', value)];
}

function timeline(ev) {
  const start = ev.start_unix_ms;
  const end = ev.end_unix_ms;
  const decided = ev.decided_unix_ms;
  // An ongoing event runs until now.
  const points = [start, end ?? Date.now(), decided].filter((x) => x != null);
  const lo = Math.min(...points);
  const hi = Math.max(...points, lo + 1000);
  const span = hi - lo;
  const pad = span * 0.06;
  const pos = (x) => `${(((x - lo) + pad) / (span + 2 * pad)) * 100}%`;
  const bar = h('div.tl-bar');
  const seg = h('div.tl-span');
  seg.style.left = pos(start);
  seg.style.width = `calc(${pos(end ?? hi)} - ${pos(start)})`;
  if (end == null) seg.classList.add('ongoing');
  bar.append(seg);
  const mark = (x, cls, text) => {
    const m = h('div.tl-mark', { class: `tl-mark ${cls}`, title: `${text} · ${fmtTime(x)}` });
    m.style.left = pos(x);
    bar.append(m);
  };
  mark(start, 'start', t('event.tl.start'));
  if (end != null) mark(end, 'end', t('event.tl.end'));
  const items = [h('li', h('time', fmtClock(start)), ' ', t('event.tl.start'))];
  items.push(h('li', end != null ? [h('time', fmtClock(end)), ' ', t('event.tl.end')] : [h('time', '…'), ' ', t('event.tl.ongoing')]));
  if (decided != null) {
    const d = ev.status === 'confirmed' ? t('status.confirmed') : ev.status === 'dismissed' ? t('status.dismissed') : ev.status;
    mark(decided, 'decision', d);
    items.push(h('li', h('time', fmtClock(decided)), ' ', t('event.tl.decision', { decision: d, user: ev.decided_by || '?' }),
      ev.reason ? ` (${tOr('reason', ev.reason)})` : ''));
  }
  return h('div.timeline', { 'data-test': 'timeline' }, bar, h('ol.tl-list', items));
}

export function mountEvent(el, ctx, id) {
  let stopped = false;
  const body = h('div.event-body');
  el.append(h('div.page-head', h('a.btn.btn-ghost', { href: '#/alerts' }, '← ', t('event.back')), h('h1', t('event.title', { id }))), body);

  async function load() {
    let ev;
    try {
      ev = await get(`/api/events/${enc(id)}`);
    } catch (e) {
      body.replaceChildren(h('p.form-error', e.status === 404 ? t('event.not_found') : t('error.generic', { msg: e.message })));
      return;
    }
    if (stopped) return;
    const snapUrl = ev.snapshot_url || `/api/events/${enc(ev.id)}/snapshot.jpg`;
    const snap = h('img.event-snap', { src: snapUrl, alt: t('event.snapshot'), 'data-test': 'event-snapshot' });
    const snapBox = h('figure.panel', h('figcaption', t('event.snapshot')), snap);
    snap.addEventListener('error', () => snapBox.replaceChildren(h('figcaption', t('event.snapshot')), h('p.empty', t('event.no_snapshot'))));
    let clipBox;
    if (ev.clip_url) {
      const video = h('video.event-clip', { controls: true, preload: 'metadata', src: ev.clip_url, playsInline: true, 'data-test': 'event-clip' });
      clipBox = h('figure.panel', h('figcaption', t('event.clip')), video);
      video.addEventListener('error', () => clipBox.append(h('p.empty', t('event.no_clip'))));
    } else {
      clipBox = h('figure.panel', h('figcaption', t('event.clip')), h('p.empty', t('event.no_clip')));
    }
    const info = h('dl.facts',
      row(t('event.kind'), tOr('kind', ev.kind || '').replace(/_/g, ' ')),
      row(t('event.camera'), ev.camera),
      row(t('event.rule'), ev.rule),
      row(t('event.zone'), ev.zone),
      row(t('event.line'), ev.line),
      row(t('event.start'), fmtTime(ev.start_unix_ms)),
      row(t('event.end'), ev.end_unix_ms != null ? fmtTime(ev.end_unix_ms) : t('event.tl.ongoing')),
      row(t('event.confidence'), ev.confidence != null ? `${Math.round(ev.confidence * 100)} %` : null),
      row(t('event.detail'), ev.detail),
      row(t('event.status'), h('span.status', { class: `status status-${ev.status || 'pending'}` }, tOr('status', ev.status || 'pending'))),
      row(t('event.decided_by'), ev.decided_by),
      row(t('event.decided_at'), ev.decided_unix_ms != null ? fmtTime(ev.decided_unix_ms) : null),
      row(t('event.reason'), ev.reason ? tOr('reason', ev.reason) : null),
      row(t('event.tracks'), Array.isArray(ev.track_ids) && ev.track_ids.length ? ev.track_ids.join(', ') : null));
    const side = h('div.panel.event-side', info,
      (!ev.status || ev.status === 'pending') && ctx.alerts ? decisionControls(ev, ctx, () => load()) : null);
    body.replaceChildren(
      h('div.event-grid', h('div.event-media', snapBox, clipBox), side),
      h('section.panel', h('h2', t('event.timeline')), timeline(ev)));
  }
  load();
  // A decision taken elsewhere shows here.
  const onDecision = (e) => { const d = e.detail || {}; if (String(d.event_id ?? d.id) === String(id)) load(); };
  ctx.bus.addEventListener('decision', onDecision);
  return () => { stopped = true; ctx.bus.removeEventListener('decision', onDecision); };
}
