// Overlays drawn on a camera's frame: tracked boxes (one colour per class), zones and counting lines.

import { tOr } from './i18n.js';

const CLASS_COLOURS = {
  person: '#39c0ff',
  bicycle: '#b388ff',
  motorcycle: '#ce93d8',
  car: '#ffb74d',
  bus: '#ffd54f',
  truck: '#ff8a65',
  backpack: '#81c784',
  handbag: '#aed581',
  suitcase: '#4db6ac',
  knife: '#ff1744',
};

export const ZONE_COLOUR = '#ff5370';
export const LINE_COLOUR = '#ffe066';

export function classColour(cls) {
  if (CLASS_COLOURS[cls]) return CLASS_COLOURS[cls];
  let hsh = 0;
  for (const c of String(cls)) hsh = (hsh * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hsh % 360} 70% 62%)`;
}

/** Sizes the canvas's backing store to its displayed size (device pixels); returns the CSS size. */
export function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth));
  const hgt = Math.max(1, Math.round(canvas.clientHeight));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  return { ctx, w, h: hgt };
}

function label(ctx, text, x, y, colour) {
  ctx.font = '600 11px system-ui, sans-serif';
  const tw = ctx.measureText(text).width + 8;
  const ty = Math.max(0, y - 16);
  ctx.fillStyle = colour;
  ctx.fillRect(x, ty, tw, 16);
  ctx.fillStyle = '#0b0f14';
  ctx.fillText(text, x + 4, ty + 12);
}

export function drawZones(ctx, w, h, zones = [], lines = [], opts = {}) {
  ctx.lineWidth = opts.lineWidth || 2;
  for (const z of zones) {
    const pts = z.polygon || [];
    if (pts.length < 2) continue;
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(x * w, y * h) : ctx.moveTo(x * w, y * h)));
    ctx.closePath();
    ctx.fillStyle = 'rgba(255, 83, 112, 0.14)';
    ctx.fill();
    ctx.strokeStyle = ZONE_COLOUR;
    ctx.setLineDash([6, 4]);
    ctx.stroke();
    ctx.setLineDash([]);
    if (opts.labels !== false && z.id) label(ctx, z.id, pts[0][0] * w, pts[0][1] * h, ZONE_COLOUR);
  }
  for (const l of lines) {
    if (!l.from || !l.to) continue;
    const [x1, y1] = [l.from[0] * w, l.from[1] * h];
    const [x2, y2] = [l.to[0] * w, l.to[1] * h];
    ctx.strokeStyle = LINE_COLOUR;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
    // A tick at the middle pointing to the "in" side (left of the direction from → to, as drawn).
    const mx = (x1 + x2) / 2;
    const my = (y1 + y2) / 2;
    const len = Math.hypot(x2 - x1, y2 - y1) || 1;
    const nx = (y2 - y1) / len;
    const ny = -(x2 - x1) / len;
    ctx.beginPath();
    ctx.moveTo(mx, my);
    ctx.lineTo(mx - nx * 12, my - ny * 12);
    ctx.stroke();
    if (opts.labels !== false && l.id) label(ctx, l.id, x1 + 4, y1 + 18, LINE_COLOUR);
  }
}

/** Boxes of `live` (pixels of live.width × live.height) scaled to a w × h canvas. Returns how many were drawn. */
export function drawObjects(ctx, w, h, live) {
  if (!live || !live.width || !live.height) return 0;
  const sx = w / live.width;
  const sy = h / live.height;
  let n = 0;
  ctx.lineWidth = 2;
  for (const o of live.objects || []) {
    const b = o.box || o.bbox;
    if (!b) continue;
    const colour = classColour(o.class);
    ctx.strokeStyle = colour;
    ctx.strokeRect(b[0] * sx, b[1] * sy, (b[2] - b[0]) * sx, (b[3] - b[1]) * sy);
    label(ctx, `${tOr('class', o.class)} ${o.track_id ?? ''}`.trim(), b[0] * sx, b[1] * sy, colour);
    n++;
  }
  return n;
}
