// Zone and line editor: on the camera's latest frame, click to add points, drag to move them, name the shapes,
// save → PUT /api/cameras/{name}/zones (the API validates like the configuration and applies it to the camera).

import { get, put, fetchImage, enc, h, toast } from './api.js';
import { t } from './i18n.js';
import { fitCanvas, drawZones, ZONE_COLOUR, LINE_COLOUR } from './overlay.js';

const HIT_PX = 10;
const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;

export function mountZones(el, ctx, camName) {
  let stopped = false;
  const camSelect = h('select', { 'data-test': 'zone-camera', 'aria-label': t('zones.camera') });
  const head = h('div.page-head', h('h1', t('zones.title')), h('label.inline', t('zones.camera'), ' ', camSelect));
  const body = h('div.zone-body');
  el.append(head, body);
  camSelect.addEventListener('change', () => { location.hash = `#/zones/${enc(camSelect.value)}`; });

  (async () => {
    let cams = [];
    try { cams = await get('/api/cameras'); } catch (e) {
      body.replaceChildren(h('p.form-error', t('error.generic', { msg: e.message })));
      return;
    }
    if (stopped) return;
    camSelect.replaceChildren(h('option', { value: '', disabled: true }, t('zones.pick_camera')),
      ...cams.map((c) => h('option', { value: c.name }, c.name)));
    if (!camName && cams.length) {
      history.replaceState(null, '', `#/zones/${enc(cams[0].name)}`);
      camName = cams[0].name;
    }
    camSelect.value = camName || '';
    if (camName) editor(body, ctx, camName, () => stopped);
    else body.replaceChildren(h('p.empty', cams.length ? t('zones.pick_camera') : t('live.no_cameras')));
  })();
  return () => { stopped = true; };
}

function editor(body, ctx, cam, isStopped) {
  const canEdit = ctx.can('edit_zones');
  const base = `/api/cameras/${enc(cam)}`;
  let saved = null; // as loaded
  let data = { zones: [], lines: [], rules: [] };
  let sel = null; // {type: 'zone'|'line', i}
  let mode = 'idle'; // idle | zone | line
  let temp = []; // points being drawn
  let drag = null; // {type, i, p}
  let dirty = false;
  let frameUrl = null;

  const img = h('img.frame', { alt: cam });
  const canvas = h('canvas.overlay.editable', { 'data-test': 'zone-canvas', tabindex: 0 });
  const stage = h('div.stage.editor-stage', img, canvas);
  const help = h('p.help.muted.small', { 'data-test': 'zone-help' });
  const errBox = h('div.form-error', { role: 'alert', 'data-test': 'zone-error' });
  const zoneList = h('ul.shape-list', { 'data-test': 'zone-list' });
  const lineList = h('ul.shape-list', { 'data-test': 'line-list' });
  const ruleList = h('ul.rule-list.small');
  const dirtyNote = h('span.dirty.small', { hidden: true }, t('zones.unsaved'));
  const btn = (label, test, fn, cls = 'btn') => h('button', { class: cls, type: 'button', 'data-test': test, onclick: fn, disabled: !canEdit }, label);
  const newZone = btn(t('zones.new_zone'), 'new-zone', () => startDraw('zone'));
  const newLine = btn(t('zones.new_line'), 'new-line', () => startDraw('line'));
  const finish = btn(t('zones.finish'), 'finish-shape', () => finishDraw());
  finish.hidden = true;
  const saveBtn = btn(t('zones.save'), 'save-zones', () => save(), 'btn btn-primary');
  const discard = btn(t('zones.reload'), 'discard-zones', () => load());
  const refresh = h('button.btn.btn-ghost.btn-sm', { type: 'button', onclick: () => loadFrame() }, t('zones.refresh_frame'));

  const side = h('aside.panel.zone-side',
    canEdit ? null : h('p.note', t('zones.read_only')),
    h('div.row', newZone, newLine, finish),
    h('h3', t('zones.zones')), zoneList,
    h('h3', t('zones.lines')), lineList,
    h('h3', t('zones.rules')), ruleList,
    errBox,
    h('div.row.save-row', saveBtn, discard, dirtyNote));
  body.replaceChildren(h('div.zone-layout', h('div.zone-main', stage, h('div.row', help, h('span.spacer'), refresh)), side));

  function setDirty(v) { dirty = v; dirtyNote.hidden = !v; }
  function shapes(type) { return type === 'zone' ? data.zones : data.lines; }
  function pointsOf(type, s) { return type === 'zone' ? s.polygon : [s.from, s.to]; }

  function uniqueId(prefix, list) {
    for (let n = list.length + 1; ; n++) if (!list.some((s) => s.id === `${prefix}-${n}`)) return `${prefix}-${n}`;
  }

  function updateHelp() {
    help.textContent = mode === 'zone' ? t('zones.help_draw_zone') : mode === 'line' ? t('zones.help_draw_line') : t('zones.help_edit');
    finish.hidden = mode !== 'zone';
    finish.disabled = temp.length < 3;
    canvas.classList.toggle('drawing', mode !== 'idle');
  }

  function startDraw(type) {
    mode = type;
    temp = [];
    sel = null;
    updateHelp();
    redraw();
    renderLists();
    canvas.focus();
  }

  function finishDraw() {
    if (mode === 'zone' && temp.length >= 3) {
      data.zones.push({ id: uniqueId('zone', data.zones), polygon: temp });
      sel = { type: 'zone', i: data.zones.length - 1 };
      setDirty(true);
    } else if (mode === 'line' && temp.length === 2) {
      data.lines.push({ id: uniqueId('line', data.lines), from: temp[0], to: temp[1] });
      sel = { type: 'line', i: data.lines.length - 1 };
      setDirty(true);
    }
    mode = 'idle';
    temp = [];
    updateHelp();
    redraw();
    renderLists();
    if (sel) {
      const input = body.querySelector(`[data-shape="${sel.type}-${sel.i}"] input`);
      if (input) { input.focus(); input.select(); }
    }
  }

  function usedBy(type, id) {
    const key = type === 'zone' ? 'zones' : 'lines';
    return (data.rules || []).filter((r) => Array.isArray(r[key]) && r[key].includes(id)).map((r) => r.id);
  }

  function shapeItem(type, s, i) {
    const name = h('input', { value: s.id || '', 'aria-label': t('zones.name'), placeholder: t('zones.name'), disabled: !canEdit, 'data-test': `${type}-name` });
    name.addEventListener('input', () => {
      // The rules that use the shape follow its new name.
      const before = s.id;
      s.id = name.value.trim();
      const key = type === 'zone' ? 'zones' : 'lines';
      for (const r of data.rules || []) {
        if (Array.isArray(r[key])) r[key] = r[key].map((x) => (x === before ? s.id : x));
      }
      setDirty(true);
      redraw();
      renderRules();
    });
    const uses = usedBy(type, s.id);
    const li = h('li', { class: sel && sel.type === type && sel.i === i ? 'selected' : '', dataset: { shape: `${type}-${i}` } },
      h('span.swatch', { class: `swatch swatch-${type}` }),
      name,
      h('span.muted.small', type === 'zone' ? t('zones.points', { n: s.polygon.length }) : ''),
      h('span.spacer'),
      h('button.btn.btn-ghost.btn-sm', { type: 'button', disabled: !canEdit, title: t('zones.delete'), 'data-test': `delete-${type}`, onclick: (e) => {
        e.stopPropagation();
        shapes(type).splice(i, 1);
        sel = null;
        setDirty(true);
        renderLists();
        redraw();
      } }, '✕'),
      uses.length ? h('span.uses.muted.small', t('zones.uses', { list: uses.join(', ') })) : null);
    li.addEventListener('click', (e) => {
      if (e.target === name) return;
      sel = { type, i };
      renderLists();
      redraw();
    });
    name.addEventListener('focus', () => { if (!sel || sel.type !== type || sel.i !== i) { sel = { type, i }; redraw(); markSelected(); } });
    return li;
  }

  function markSelected() {
    for (const li of body.querySelectorAll('[data-shape]')) li.classList.toggle('selected', !!sel && li.dataset.shape === `${sel.type}-${sel.i}`);
  }

  function renderLists() {
    zoneList.replaceChildren(...data.zones.map((z, i) => shapeItem('zone', z, i)));
    lineList.replaceChildren(...data.lines.map((l, i) => shapeItem('line', l, i)));
    if (!data.zones.length) zoneList.append(h('li.muted.small', '—'));
    if (!data.lines.length) lineList.append(h('li.muted.small', '—'));
    renderRules();
  }

  // Each rule with the zones (or lines) it watches: a tick per shape.
  function renderRules() {
    const ticks = (r, key, shapesOf) => {
      // Only what the rule's type uses (an intrusion rule has zones, a line count has lines).
      if (!Array.isArray(r[key]) || !r[key].length) return null;
      const names = [...new Set([...shapesOf.map((x) => x.id).filter(Boolean), ...r[key]])];
      return h('div.ticks', names.map((id) => {
        const box = h('input', { type: 'checkbox', checked: r[key].includes(id), disabled: !canEdit, 'data-test': `rule-${key}` });
        box.addEventListener('change', () => {
          r[key] = box.checked ? [...r[key], id] : r[key].filter((x) => x !== id);
          setDirty(true);
          renderLists();
        });
        const missing = !shapesOf.some((x) => x.id === id);
        return h('label.tick', { class: missing ? 'tick missing' : 'tick', dataset: { rule: r.id || '', shape: id } }, box, id);
      }));
    };
    ruleList.replaceChildren(...(data.rules || []).map((r) => h('li', { dataset: { rule: r.id || '' } },
      h('div', h('strong', r.id || '?'), ' ', h('span.muted', r.type || '')),
      ticks(r, 'zones', data.zones), ticks(r, 'lines', data.lines))));
    if (!(data.rules || []).length) ruleList.append(h('li.muted', '—'));
  }

  function redraw() {
    const { ctx: g, w, h: hh } = fitCanvas(canvas);
    drawZones(g, w, hh, data.zones, data.lines);
    // Handles of the selected shape (or of all shapes when none is selected).
    const handles = (type, s, selected) => {
      for (const [x, y] of pointsOf(type, s)) {
        g.beginPath();
        g.arc(x * w, y * hh, selected ? 6 : 4, 0, Math.PI * 2);
        g.fillStyle = selected ? '#ffffff' : type === 'zone' ? ZONE_COLOUR : LINE_COLOUR;
        g.fill();
        g.lineWidth = 2;
        g.strokeStyle = '#0b0f14';
        g.stroke();
      }
    };
    data.zones.forEach((z, i) => handles('zone', z, sel && sel.type === 'zone' && sel.i === i));
    data.lines.forEach((l, i) => handles('line', l, sel && sel.type === 'line' && sel.i === i));
    if (temp.length) {
      g.strokeStyle = mode === 'zone' ? ZONE_COLOUR : LINE_COLOUR;
      g.lineWidth = 2;
      g.beginPath();
      temp.forEach(([x, y], i) => (i ? g.lineTo(x * w, y * hh) : g.moveTo(x * w, y * hh)));
      g.stroke();
      temp.forEach(([x, y], i) => {
        g.beginPath();
        g.arc(x * w, y * hh, i === 0 && mode === 'zone' && temp.length >= 3 ? 8 : 5, 0, Math.PI * 2);
        g.fillStyle = '#ffffff';
        g.fill();
      });
    }
    canvas.dataset.zones = String(data.zones.length);
    canvas.dataset.lines = String(data.lines.length);
    canvas.dataset.drawing = String(temp.length);
  }

  function norm(e) {
    const r = canvas.getBoundingClientRect();
    return [round((e.clientX - r.left) / r.width), round((e.clientY - r.top) / r.height), r];
  }

  function hit(e) {
    const [x, y, r] = norm(e);
    let best = null;
    const consider = (type, list) => list.forEach((s, i) => pointsOf(type, s).forEach((p, k) => {
      const d = Math.hypot((p[0] - x) * r.width, (p[1] - y) * r.height);
      const prefer = sel && sel.type === type && sel.i === i ? -0.5 : 0;
      if (d <= HIT_PX && (!best || d + prefer < best.d)) best = { type, i, k, d: d + prefer };
    }));
    consider('zone', data.zones);
    consider('line', data.lines);
    return best;
  }

  function inside(poly, x, y) {
    let c = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i];
      const [xj, yj] = poly[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
    }
    return c;
  }

  function setPoint(type, i, k, p) {
    const s = shapes(type)[i];
    if (type === 'zone') s.polygon[k] = p;
    else if (k === 0) s.from = p;
    else s.to = p;
  }

  canvas.addEventListener('pointerdown', (e) => {
    if (!canEdit || e.button !== 0) return;
    const [x, y, r] = norm(e);
    if (mode !== 'idle') {
      if (mode === 'zone' && temp.length >= 3 && Math.hypot((temp[0][0] - x) * r.width, (temp[0][1] - y) * r.height) <= HIT_PX) {
        finishDraw();
        return;
      }
      temp.push([x, y]);
      if (mode === 'line' && temp.length === 2) finishDraw();
      else { updateHelp(); redraw(); }
      return;
    }
    const hv = hit(e);
    if (hv) {
      sel = { type: hv.type, i: hv.i };
      if (e.altKey) {
        if (hv.type === 'zone' && data.zones[hv.i].polygon.length > 3) {
          data.zones[hv.i].polygon.splice(hv.k, 1);
          setDirty(true);
        }
      } else {
        drag = hv;
        canvas.setPointerCapture(e.pointerId);
      }
      renderLists();
      redraw();
      return;
    }
    const zi = data.zones.findIndex((z) => inside(z.polygon, x, y));
    sel = zi >= 0 ? { type: 'zone', i: zi } : null;
    markSelected();
    redraw();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (drag) {
      const [x, y] = norm(e);
      setPoint(drag.type, drag.i, drag.k, [x, y]);
      setDirty(true);
      redraw();
    } else if (mode === 'idle') {
      canvas.classList.toggle('over-handle', !!hit(e));
    }
  });
  const endDrag = () => { if (drag) { drag = null; renderLists(); } };
  canvas.addEventListener('pointerup', endDrag);
  canvas.addEventListener('pointercancel', endDrag);
  canvas.addEventListener('dblclick', () => { if (mode === 'zone' && temp.length >= 3) finishDraw(); });
  canvas.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { mode = 'idle'; temp = []; updateHelp(); redraw(); }
    if (e.key === 'Enter') finishDraw();
    if ((e.key === 'Delete' || e.key === 'Backspace') && sel && canEdit && mode === 'idle') {
      shapes(sel.type).splice(sel.i, 1);
      sel = null;
      setDirty(true);
      renderLists();
      redraw();
    }
  });

  function validate() {
    const problems = [];
    for (const [type, list] of [['zone', data.zones], ['line', data.lines]]) {
      const seen = new Set();
      for (const s of list) {
        if (!s.id) { problems.push(t('zones.name_required')); continue; }
        if (seen.has(s.id)) problems.push(t('zones.name_duplicate', { id: s.id }));
        seen.add(s.id);
        if (type === 'zone' && s.polygon.length < 3) problems.push(t('zones.too_few', { id: s.id }));
      }
    }
    return [...new Set(problems)];
  }

  async function save() {
    errBox.replaceChildren();
    const problems = validate();
    if (problems.length) {
      errBox.replaceChildren(...problems.map((p) => h('div', p)));
      return;
    }
    saveBtn.disabled = true;
    try {
      await put(`${base}/zones`, data);
      toast(t('zones.saved'), 'ok');
      await load();
    } catch (e) {
      errBox.replaceChildren(h('div', { 'data-test': 'zone-api-error' }, e.status ? `${e.status} · ${e.message}` : e.message));
    } finally {
      saveBtn.disabled = !canEdit;
    }
  }

  async function load() {
    errBox.replaceChildren();
    try {
      saved = await get(`${base}/zones`);
    } catch (e) {
      errBox.replaceChildren(h('div', t('error.generic', { msg: e.message })));
      return;
    }
    if (isStopped()) return;
    data = JSON.parse(JSON.stringify(saved));
    data.zones = data.zones || [];
    data.lines = data.lines || [];
    data.rules = data.rules || [];
    sel = null;
    mode = 'idle';
    temp = [];
    setDirty(false);
    updateHelp();
    renderLists();
    redraw();
  }

  async function loadFrame() {
    try {
      const url = await fetchImage(`${base}/frame.jpg`);
      if (isStopped()) { URL.revokeObjectURL(url); return; }
      img.src = url;
      try { await img.decode(); } catch { /* shown on load */ }
      if (frameUrl) URL.revokeObjectURL(frameUrl);
      frameUrl = url;
      if (img.naturalWidth) stage.style.setProperty('--ar', String(img.naturalWidth / img.naturalHeight));
      stage.dataset.loaded = 'true';
      redraw();
    } catch (e) {
      stage.dataset.loaded = 'false';
    }
  }

  const ro = new ResizeObserver(() => redraw());
  ro.observe(stage);
  loadFrame();
  load();
  updateHelp();
  const watch = setInterval(() => { if (isStopped()) { ro.disconnect(); clearInterval(watch); if (frameUrl) URL.revokeObjectURL(frameUrl); } }, 1000);
}
