// Measured accuracy for supervisors (issue 7): from the operators' confirm/dismiss decisions on live cameras'
// alerts, the precision per event type and per camera (with false alarms per camera-day), and the weekly trend as
// a small SVG chart.

import { get, h } from './api.js';
import { t, tOr } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';

function pct(p) { return p == null ? '—' : `${Math.round(p * 1000) / 10} %`; }

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function table(rows, keyLabel, keyFmt, extra = []) {
  return h('table.table.acc-table', { 'data-test': 'accuracy-table' },
    h('thead', h('tr', h('th', keyLabel), h('th.num', t('acc.raised')), h('th.num', t('acc.decided')),
      h('th.num', t('acc.confirmed')), h('th.num', t('acc.dismissed')), h('th.num', t('acc.precision')),
      extra.map(([label]) => h('th.num', label)))),
    h('tbody', rows.length ? rows.map((r) => h('tr', { dataset: { key: r.key } },
      h('td', keyFmt(r.key)), h('td.num', r.raised), h('td.num', r.decided), h('td.num', r.confirmed),
      h('td.num', r.dismissed), h('td.num', { dataset: { precision: r.precision ?? '' } }, pct(r.precision)),
      extra.map(([, f]) => h('td.num', f(r))))) : h('tr', h('td.muted', { colSpan: 6 + extra.length }, t('acc.none')))));
}

/** Precision per week as a line over bars of decided alerts. */
function trendChart(weeks) {
  const W = 640;
  const H = 220;
  const pad = { l: 44, r: 16, t: 20, b: 34 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'acc-chart', role: 'img', 'aria-label': t('acc.trend'), 'data-test': 'accuracy-chart' });
  // Axes and grid: precision 0-100 % on the left.
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    const y = pad.t + ih * (1 - v);
    chart.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'grid' }),
      svg('text', { x: pad.l - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, `${v * 100} %`));
  }
  if (!weeks.length) {
    chart.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis' }, t('acc.none')));
    return chart;
  }
  const n = weeks.length;
  const step = iw / n;
  const maxDecided = Math.max(1, ...weeks.map((w) => w.raised));
  const pts = [];
  weeks.forEach((w, i) => {
    const cx = pad.l + step * (i + 0.5);
    const bh = (w.raised / maxDecided) * ih * 0.6;
    chart.append(svg('rect', { x: cx - Math.min(18, step * 0.3), y: pad.t + ih - bh, width: Math.min(36, step * 0.6), height: bh, class: 'bar' },
      svg('title', {}, `${w.key}: ${t('acc.raised')} ${w.raised}, ${t('acc.decided')} ${w.decided}`)));
    if (n <= 16 || i % Math.ceil(n / 16) === 0) chart.append(svg('text', { x: cx, y: H - pad.b + 16, 'text-anchor': 'middle', class: 'axis' }, w.key));
    if (w.precision != null) pts.push([cx, pad.t + ih * (1 - w.precision), w]);
  });
  if (pts.length > 1) chart.append(svg('polyline', { points: pts.map(([x, y]) => `${x},${y}`).join(' '), class: 'line' }));
  for (const [x, y, w] of pts) {
    chart.append(svg('circle', { cx: x, cy: y, r: 4, class: 'dot', 'data-week': w.key },
      svg('title', {}, `${w.key}: ${pct(w.precision)} (${w.confirmed}/${w.decided})`)));
  }
  chart.append(svg('text', { x: W - pad.r, y: pad.t - 2, 'text-anchor': 'end', class: 'axis' },
    `▮ ${t('acc.raised')} · ● ${t('acc.precision')}`));
  return chart;
}

export function mountAccuracy(el) {
  let stopped = false;
  const body = h('div.acc-body');
  el.append(h('div.page-head', h('h1', t('acc.title')), h('p.muted.small', t('acc.explain'))), body);
  (async () => {
    let acc;
    try {
      acc = await get('/api/accuracy');
    } catch (e) {
      if (!stopped) body.replaceChildren(h('p.form-error', e.status === 403 ? t('error.forbidden') : t('error.generic', { msg: e.message })));
      return;
    }
    if (stopped) return;
    const perDay = (r) => (r.false_alarms_per_camera_day == null ? '—' : (Math.round(r.false_alarms_per_camera_day * 100) / 100).toString());
    body.replaceChildren(
      h('div.acc-grid',
        h('section.panel', { 'data-test': 'accuracy-by-type' }, h('h2', t('acc.by_type')), table(acc.by_type || [], t('acc.type'), (k) => tOr('kind', k))),
        h('section.panel', { 'data-test': 'accuracy-by-camera' }, h('h2', t('acc.by_camera')),
          table(acc.by_camera || [], t('acc.camera'), (k) => k, [[t('acc.camera_days'), (r) => r.camera_days], [t('acc.per_day'), perDay]]))),
      h('section.panel.acc-trend', { 'data-test': 'accuracy-by-week' }, h('h2', t('acc.trend')), trendChart(acc.by_week || [])));
  })();
  return () => { stopped = true; };
}
