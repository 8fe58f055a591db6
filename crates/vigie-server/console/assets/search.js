// Case-gated search for investigators (issue 8): one of the user's open cases, a query inside its cameras and
// window, results with thumbnails, a timeline per camera, and the recording at a hit's moment. Every search,
// thumbnail and recording view is logged by the server. People are found by class, place and time only: no colour
// for them, and their thumbnails come blurred. A plate field appears only for a case whose order allows plate
// searches (`plates_allowed`); a plate search uses no other filter (the server refuses one) and is logged as a plate
// lookup.

import { get, h, toast, enc, ApiError } from './api.js';
import { t, tOr, fmtTime, fmtClock } from './i18n.js';

const CLASSES = ['', 'person', 'car', 'two-wheeler', 'van', 'bus'];
const VEHICLES = ['car', 'two-wheeler', 'van', 'bus'];
const COLOURS = ['white', 'black', 'grey', 'silver', 'red', 'blue', 'green', 'yellow', 'orange', 'brown', 'beige'];

/** `YYYY-MM-DDTHH:MM:SS` in local time, for <input type=datetime-local>. */
function localInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function mountSearch(el, ctx) {
  let stopped = false;
  let videoUrl = null;
  const body = h('div.search-body');
  const caseSel = h('select', { name: 'case', 'data-test': 'case-select', 'aria-label': t('search.case') });
  const caseInfo = h('p.muted.small', { 'data-test': 'case-info' });
  el.append(h('div.page-head', h('h1', t('search.title')), h('label.inline', t('search.case'), caseSel)), caseInfo, body);

  let cases = [];
  async function loadCases() {
    try {
      cases = (await get('/api/cases')).filter((c) => c.open);
    } catch (e) {
      if (stopped) return;
      body.replaceChildren(h('p.form-error', e.status === 403 ? t('error.forbidden') : t('error.generic', { msg: e.message })));
      return;
    }
    if (stopped) return;
    if (!cases.length) {
      caseSel.disabled = true;
      body.replaceChildren(h('p.empty', { 'data-test': 'no-case' }, t('search.no_case')));
      return;
    }
    caseSel.replaceChildren(...cases.map((c) => h('option', { value: c.reference }, `${c.reference} · ${c.authority}`)));
    caseSel.onchange = () => showCase(cases.find((c) => c.reference === caseSel.value));
    showCase(cases[0]);
  }

  function showCase(c) {
    if (!c) return;
    caseInfo.textContent = t('search.case_info', {
      authority: c.authority, cameras: c.cameras.join(', '), from: fmtTime(c.from_unix_ms), to: fmtTime(c.to_unix_ms),
      expires: fmtTime(c.expires_unix_ms),
    }) + (c.plates_allowed ? ` · ${t('search.plates_allowed')}` : '');
    body.replaceChildren(searchForm(c));
  }

  function searchForm(c) {
    const cls = h('select', { name: 'class', 'aria-label': t('search.class') }, CLASSES.map((k) => h('option', { value: k }, k ? tOr('class', k) : t('search.any'))));
    const colour = h('select', { name: 'colour', 'aria-label': t('search.colour') },
      h('option', { value: '' }, t('search.any')), COLOURS.map((k) => h('option', { value: k }, tOr('colour', k))));
    const colourBox = h('label.field', { hidden: true }, t('search.colour'), colour);
    // A colour is for vehicles only: hidden (and cleared) for people or any class.
    cls.onchange = () => {
      const vehicle = VEHICLES.includes(cls.value);
      colourBox.hidden = !vehicle;
      if (!vehicle) colour.value = '';
    };
    const cams = c.cameras.map((name) => h('label.tick', h('input', { type: 'checkbox', name: 'camera', value: name, checked: true }), ' ', name));
    const from = h('input', { type: 'datetime-local', name: 'from', step: 1, value: localInput(c.from_unix_ms), min: localInput(c.from_unix_ms), max: localInput(c.to_unix_ms) });
    const to = h('input', { type: 'datetime-local', name: 'to', step: 1, value: localInput(c.to_unix_ms), min: localInput(c.from_unix_ms), max: localInput(c.to_unix_ms) });
    const zone = h('input', { name: 'zone', placeholder: t('search.zone_hint'), size: 12 });
    const line = h('input', { name: 'line', placeholder: t('search.line_hint'), size: 12 });
    const direction = h('select', { name: 'direction', disabled: true, title: t('search.direction_na') },
      h('option', { value: '' }, t('search.any')));
    const dwell = h('input', { type: 'number', name: 'min_dwell_s', min: 0, step: 1, placeholder: '0', class: 'num' });
    // Plates: only in a case that allows them; a plate search is alone (class, colour, zone, line, dwell off).
    const plate = c.plates_allowed
      ? h('input', { name: 'plate', placeholder: t('search.plate_hint'), size: 12, autocomplete: 'off', spellcheck: false, 'data-test': 'plate-input' })
      : null;
    if (plate) {
      plate.oninput = () => {
        const alone = plate.value.trim() !== '';
        for (const f of [cls, colour, zone, line, dwell]) f.disabled = alone;
      };
    }
    const err = h('p.form-error', { role: 'alert', 'data-test': 'search-error' });
    const results = h('div.search-results', { 'data-test': 'search-results' });
    const submit = h('button.btn.btn-primary', { type: 'submit', 'data-test': 'search-submit' }, t('search.submit'));
    const form = h('form.panel.search-form', {
      'data-test': 'search-form',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        const q = new URLSearchParams();
        const plateText = plate ? plate.value.trim() : '';
        if (plateText) q.set('plate', plateText);
        if (cls.value && !plateText) q.set('class', cls.value);
        if (colour.value && !plateText) q.set('colour', colour.value);
        const f = from.value ? new Date(from.value).getTime() : NaN;
        const tt = to.value ? new Date(to.value).getTime() : NaN;
        // Unchanged bounds stay the case's own (to the millisecond).
        if (Number.isFinite(f) && from.value !== localInput(c.from_unix_ms)) q.set('from_unix_ms', String(f));
        if (Number.isFinite(tt) && to.value !== localInput(c.to_unix_ms)) q.set('to_unix_ms', String(tt));
        if (zone.value.trim() && !plateText) q.set('zone', zone.value.trim());
        if (line.value.trim() && !plateText) q.set('line', line.value.trim());
        if (dwell.value !== '' && !plateText) q.set('min_dwell_s', dwell.value);
        q.set('limit', '200');
        const chosen = cams.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
        if (!chosen.length) { err.textContent = t('search.no_camera'); return; }
        const win = [Number.isFinite(f) ? Math.max(f, c.from_unix_ms) : c.from_unix_ms, Number.isFinite(tt) ? Math.min(tt, c.to_unix_ms) : c.to_unix_ms];
        submit.disabled = true;
        try {
          // All the case's cameras: one query; a choice among them: one query per camera.
          const queries = chosen.length === c.cameras.length ? [q] : chosen.map((cam) => { const qq = new URLSearchParams(q); qq.set('camera', cam); return qq; });
          const lists = await Promise.all(queries.map((qq) => get(`/api/cases/${enc(c.reference)}/search?${qq}`)));
          const hits = lists.flat().sort((a, b) => a.first_unix_ms - b.first_unix_ms);
          if (!stopped) showResults(c, hits, chosen, win, results);
        } catch (ex) {
          err.textContent = ex instanceof ApiError && ex.status === 410 ? t('search.case_closed')
            : ex instanceof ApiError && ex.status === 403 && plateText ? t('search.plate_refused')
              : t('error.generic', { msg: ex.message });
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('div.search-fields',
      h('label.field', t('search.class'), cls),
      colourBox,
      h('label.field', t('search.from'), from),
      h('label.field', t('search.to'), to),
      h('label.field', t('search.zone'), zone),
      h('label.field', t('search.line'), line),
      h('label.field', t('search.direction'), direction),
      h('label.field', t('search.min_dwell'), dwell),
      plate ? h('label.field', { 'data-test': 'plate-field' }, t('search.plate'), plate) : null),
    h('div.row', h('span.muted.small', t('search.cameras')), cams, h('span.spacer'), submit),
    h('p.muted.small', t('search.people_note')),
    plate ? h('p.muted.small', { 'data-test': 'plate-note' }, t('search.plate_note')) : null,
    err);
    return h('div', form, results);
  }

  function showResults(c, hits, cameras, [lo, hi], box) {
    const player = h('video.search-player', { controls: true, playsInline: true, preload: 'auto', 'data-test': 'search-player' });
    const playerCap = h('figcaption', t('search.player_empty'));
    const playerBox = h('figure.panel.search-player-box', playerCap, player);
    const list = h('div.hit-list', { 'data-test': 'hit-list' });
    const timelines = h('div.panel.search-timelines', { 'data-test': 'search-timelines' }, h('h2', t('search.timeline')));
    // The overview spans the case's (or the query's) window; the bars below zoom on the span the hits cover.
    const zlo0 = hits.length ? Math.min(...hits.map((x) => x.first_unix_ms)) : lo;
    const zhi0 = hits.length ? Math.max(...hits.map((x) => x.last_unix_ms)) : hi;
    const zpad = Math.max((zhi0 - zlo0) * 0.03, 5000);
    const zlo = Math.max(lo, zlo0 - zpad);
    const zhi = Math.max(Math.min(hi, zhi0 + zpad), zlo + 1);
    const at = (x, a, b) => `${Math.min(100, Math.max(0, ((x - a) / (b - a)) * 100))}%`;
    const select = (hit) => {
      for (const n of box.querySelectorAll('.selected')) n.classList.remove('selected');
      for (const n of box.querySelectorAll(`[data-hit="${hit.run}-${hit.track_id}"]`)) n.classList.add('selected');
      play(c, hit, player, playerCap);
    };
    const overview = h('div.tl-bar.search-overview', { 'data-test': 'search-overview', title: `${fmtTime(lo)} → ${fmtTime(hi)}` });
    const zoom = h('div.search-zoom');
    zoom.style.left = at(zlo, lo, hi);
    zoom.style.width = `max(2px, calc(${at(zhi, lo, hi)} - ${at(zlo, lo, hi)}))`;
    overview.append(zoom);
    for (const hit of hits) {
      const tick = h('div.search-tick');
      tick.style.left = at(hit.first_unix_ms, lo, hi);
      overview.append(tick);
    }
    timelines.append(h('div.search-tl-row', h('span.search-tl-cam.muted.small', t('search.case_window')), overview),
      h('div.search-tl-axis.muted.small', h('span', fmtTime(lo)), h('span', fmtTime(hi))));
    const minSpan = (zhi - zlo) * 0.006; // a mark is at least a few pixels wide
    for (const cam of cameras) {
      // Overlapping tracks go on separate lanes so that every mark can be clicked.
      const lanes = [];
      const marks = [];
      for (const hit of hits.filter((x) => x.camera === cam)) {
        const end = Math.max(hit.last_unix_ms, hit.first_unix_ms + minSpan);
        let lane = lanes.findIndex((e) => e < hit.first_unix_ms);
        if (lane < 0) { lane = lanes.length; lanes.push(end); } else lanes[lane] = end;
        const m = h('button.tl-hit', {
          type: 'button', 'data-test': 'timeline-mark', dataset: { hit: `${hit.run}-${hit.track_id}` },
          title: `${tOr('class', hit.class)}${hit.plate ? ` · ${hit.plate}` : ''} · ${fmtTime(hit.first_unix_ms)}`,
          'aria-label': `${tOr('class', hit.class)}${hit.plate ? ` ${hit.plate}` : ''} ${fmtTime(hit.first_unix_ms)}`,
          onclick: () => select(hit),
        });
        m.style.left = at(hit.first_unix_ms, zlo, zhi);
        m.style.width = `max(4px, calc(${at(hit.last_unix_ms, zlo, zhi)} - ${at(hit.first_unix_ms, zlo, zhi)}))`;
        m.style.top = `${3 + lane * 9}px`;
        m.classList.add(`cls-${hit.class === 'person' ? 'person' : 'vehicle'}`);
        marks.push(m);
      }
      const bar = h('div.tl-bar.search-tl', { dataset: { camera: cam } }, marks);
      bar.style.height = `${Math.max(26, 6 + lanes.length * 9)}px`;
      timelines.append(h('div.search-tl-row', h('span.search-tl-cam', cam), bar));
    }
    timelines.append(h('div.search-tl-axis.muted.small', h('span', fmtTime(zlo)), h('span', fmtTime(zhi))));
    for (const hit of hits) {
      const img = h('img.hit-thumb', {
        src: `/api/cases/${enc(c.reference)}/tracks/${enc(hit.run)}/${enc(hit.track_id)}/thumb.jpg`,
        alt: tOr('class', hit.class), loading: 'lazy', 'data-test': 'hit-thumb',
      });
      img.addEventListener('error', () => img.classList.add('missing'));
      list.append(h('button.hit', { type: 'button', 'data-test': 'hit', dataset: { hit: `${hit.run}-${hit.track_id}`, camera: hit.camera }, onclick: () => select(hit) },
        img,
        h('span.hit-text',
          h('strong', tOr('class', hit.class), hit.colour ? ` · ${tOr('colour', hit.colour)}` : ''),
          hit.plate ? h('span.hit-plate', { 'data-test': 'hit-plate', title: t('search.plate_confidence', { pct: Math.round((hit.confidence || 0) * 100) }) }, hit.plate) : null,
          h('span.muted.small', hit.camera, ' · ', fmtClock(hit.first_unix_ms)),
          h('span.muted.small', fmtDuration(hit.last_unix_ms - hit.first_unix_ms)))));
    }
    const count = h('p.muted', { 'data-test': 'hit-count' }, t('search.count', { n: hits.length }));
    if (!hits.length) list.append(h('p.empty', t('search.none')));
    box.replaceChildren(timelines, h('div.search-grid', h('div.panel', count, list), playerBox));
  }

  async function play(c, hit, video, cap) {
    // The moment the object appears, with the seconds before it.
    const at = hit.first_unix_ms;
    cap.textContent = t('search.player_loading', { camera: hit.camera, at: fmtTime(at) });
    let r;
    try {
      r = await fetch(`/api/cases/${enc(c.reference)}/recording.mp4?camera=${enc(hit.camera)}&at_unix_ms=${at}`, { credentials: 'same-origin', cache: 'no-store' });
    } catch (e) {
      cap.textContent = t('error.generic', { msg: e.message });
      return;
    }
    if (!r.ok) {
      if (r.status === 401) window.dispatchEvent(new CustomEvent('vigie:unauthorised'));
      let msg = r.statusText;
      try { msg = (await r.json()).error || msg; } catch { /* not JSON */ }
      cap.textContent = r.status === 404 ? t('search.no_recording') : t('error.generic', { msg });
      return;
    }
    const start = Number(r.headers.get('x-vigie-start-unix-ms')) || at;
    const blob = await r.blob();
    if (stopped) return;
    if (videoUrl) URL.revokeObjectURL(videoUrl);
    videoUrl = URL.createObjectURL(blob);
    video.dataset.at = String(at);
    video.addEventListener('loadedmetadata', () => {
      const off = Math.max(0, (at - start) / 1000);
      if (Number.isFinite(video.duration) && off < video.duration) video.currentTime = off;
    }, { once: true });
    video.src = videoUrl;
    cap.textContent = t('search.player_at', { camera: hit.camera, at: fmtTime(at), cls: hit.plate ? `${tOr('class', hit.class)} ${hit.plate}` : tOr('class', hit.class) });
    video.play().catch(() => { /* autoplay may be refused: the controls are there */ });
  }

  loadCases().catch((e) => toast(t('error.generic', { msg: e.message }), 'error'));
  return () => {
    stopped = true;
    if (videoUrl) URL.revokeObjectURL(videoUrl);
  };
}
