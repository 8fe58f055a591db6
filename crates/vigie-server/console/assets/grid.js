// Live view: the camera grid (latest frame ~2/s with boxes, zones and lines drawn over it, state badges) and, for
// those who see alerts, the pending queue beside it.

import { get, fetchImage, enc, h, ApiError } from './api.js';
import { t, tOr, fmtAgo } from './i18n.js';
import { fitCanvas, drawZones, drawObjects } from './overlay.js';
import { alertRail } from './alerts.js';

// About twice a second; once a second beyond 9 cameras on screen; slowly while the tab is hidden.
const REFRESH_MS = 500;
const REFRESH_MANY_MS = 1000;
const HIDDEN_MS = 2000;
const STATES = ['connecting', 'streaming', 'stalled', 'failed'];

export function badge(state) {
  const s = STATES.includes(state) ? state : 'unknown';
  return h('span.badge', { class: `badge badge-${s}`, 'data-test': 'state-badge', dataset: { state: s } }, tOr('state', s));
}

function tile(cam, ctx, period) {
  const img = h('img.frame', { alt: cam.name, decoding: 'async' });
  const canvas = h('canvas.overlay');
  const msg = h('div.stage-msg', t('live.no_frame'));
  const stage = h('div.stage', img, canvas, msg);
  const badgeSlot = h('span.badge-slot', badge(cam.state));
  const objects = h('span.muted.small', { 'data-test': 'object-count' });
  const detail = h('span.detail.muted.small');
  const sizeBtn = h('button.btn.btn-ghost.btn-sm', { type: 'button', title: t('live.enlarge') }, '⤢');
  const el = h('article.tile', { dataset: { camera: cam.name, state: cam.state || 'unknown', frames: '0', boxes: '0' }, 'data-test': 'camera-tile' },
    h('header.tile-head',
      h('span.tile-name', cam.name),
      badgeSlot,
      objects,
      h('span.spacer'),
      ctx.can('edit_zones') ? h('a.btn.btn-ghost.btn-sm', { href: `#/zones/${enc(cam.name)}` }, t('live.edit_zones')) : null,
      sizeBtn),
    stage,
    h('footer.tile-foot', detail));
  sizeBtn.addEventListener('click', () => {
    const big = el.classList.toggle('big');
    sizeBtn.title = big ? t('live.reduce') : t('live.enlarge');
    el.scrollIntoView({ block: 'nearest' });
  });

  let stopped = false;
  let lastUrl = null;
  let timer = null;
  let zones = null; // from /live

  function setState(c) {
    const state = c.state || 'unknown';
    el.dataset.state = state;
    badgeSlot.replaceChildren(badge(state));
    const since = c.since_unix_ms ? fmtAgo(c.since_unix_ms) : '';
    detail.textContent = [c.detail, since].filter(Boolean).join(' · ');
  }
  setState(cam);

  function draw(live) {
    const { ctx: g, w, h: hh } = fitCanvas(canvas);
    if (zones) drawZones(g, w, hh, zones.zones, zones.lines);
    const n = drawObjects(g, w, hh, live);
    el.dataset.boxes = String(n);
    objects.textContent = live ? t('live.objects', { n }) : '';
  }

  async function tick() {
    if (stopped) return;
    const t0 = performance.now();
    let next = period();
    if (document.hidden) {
      timer = setTimeout(tick, HIDDEN_MS);
      return;
    }
    try {
      const base = `/api/cameras/${enc(cam.name)}`;
      const [url, live] = await Promise.all([
        fetchImage(`${base}/frame.jpg`),
        get(`${base}/live`).catch((e) => { if (e.status === 404 || e.status === 403) throw e; return null; }),
      ]);
      if (stopped) { URL.revokeObjectURL(url); return; }
      img.src = url;
      try { await img.decode(); } catch { /* drawn when it loads */ }
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = url;
      if (img.naturalWidth) stage.style.setProperty('--ar', String(img.naturalWidth / img.naturalHeight));
      if (live) zones = { zones: live.zones || [], lines: live.lines || [] };
      msg.hidden = true;
      el.dataset.frames = String(Number(el.dataset.frames) + 1);
      draw(live);
    } catch (e) {
      msg.hidden = false;
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
        // No frame yet answers 404 too: keep trying, slowly.
        msg.textContent = e.status === 403 ? t('live.refused') : t('live.no_frame');
        next = 2000;
      } else {
        msg.textContent = t('error.generic', { msg: e.message });
        next = 2000;
      }
    }
    if (!stopped) timer = setTimeout(tick, Math.max(50, next - (performance.now() - t0)));
  }
  tick();

  return {
    el,
    setState,
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (lastUrl) URL.revokeObjectURL(lastUrl);
    },
  };
}

export function mountLive(el, ctx) {
  const grid = h('div.grid', { 'data-test': 'camera-grid' });
  const layout = h('div.live-layout', grid);
  let railCleanup = null;
  if (ctx.alerts) {
    const rail = alertRail(ctx);
    layout.append(rail.el);
    railCleanup = rail.stop;
  }
  el.append(layout);
  const tiles = new Map();
  let stopped = false;

  async function load() {
    let cams;
    try {
      cams = await get('/api/cameras');
    } catch (e) {
      grid.replaceChildren(h('p.form-error', e.status === 403 ? t('live.refused_all') : t('error.generic', { msg: e.message })));
      return;
    }
    if (stopped) return;
    if (!cams.length && !tiles.size) grid.replaceChildren(h('p.empty', t('live.no_cameras')));
    const names = new Set(cams.map((c) => c.name));
    for (const [name, tl] of tiles) if (!names.has(name)) { tl.stop(); tl.el.remove(); tiles.delete(name); }
    for (const c of cams) {
      if (tiles.has(c.name)) tiles.get(c.name).setState(c);
      else {
        const tl = tile(c, ctx, () => (tiles.size > 9 ? REFRESH_MANY_MS : REFRESH_MS));
        tiles.set(c.name, tl);
        grid.append(tl.el);
      }
    }
    grid.dataset.count = String(tiles.size);
    grid.classList.toggle('single', tiles.size === 1);
  }
  load();
  // States also come over the stream; the poll covers a stream that is down.
  const poll = setInterval(load, 5000);
  const onCamera = (e) => {
    const c = e.detail;
    const name = c && (c.name || c.camera);
    if (name && tiles.has(name)) tiles.get(name).setState(c);
  };
  ctx.bus.addEventListener('camera', onCamera);

  return () => {
    stopped = true;
    clearInterval(poll);
    ctx.bus.removeEventListener('camera', onCamera);
    for (const tl of tiles.values()) tl.stop();
    if (railCleanup) railCleanup();
  };
}
