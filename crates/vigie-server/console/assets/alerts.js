// The alert queue: pending events kept live from the stream, confirm / dismiss with a reason, and the list views.

import { get, post, h, toast, enc } from './api.js';
import { t, tOr, fmtTime, fmtAgo, REASONS } from './i18n.js';

/** Pending events by id, refreshed from the API and updated by the stream's `alert` and `decision` events. */
export class AlertStore extends EventTarget {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.pending = new Map();
  }

  changed(detail = {}) { this.dispatchEvent(new CustomEvent('change', { detail })); }

  async refresh() {
    const list = await get('/api/events?status=pending&limit=200');
    this.pending = new Map((list || []).map((e) => [e.id, e]));
    this.changed();
  }

  /** An event from the stream; true when it is a new pending one. */
  onAlert(ev) {
    if (!ev || ev.id == null) return false;
    const isPending = !ev.status || ev.status === 'pending';
    const isNew = isPending && !this.pending.has(ev.id);
    if (isPending) this.pending.set(ev.id, ev);
    else this.pending.delete(ev.id);
    this.changed({ added: isNew ? ev.id : null });
    return isNew;
  }

  onDecision(d) {
    const id = d && (d.event_id ?? d.id);
    if (id != null && this.pending.delete(id)) this.changed();
  }

  async decide(id, decision, reason) {
    await post(`/api/events/${enc(id)}/decision`, { decision, reason: reason || '' });
    this.pending.delete(id);
    this.changed();
  }

  sorted() {
    return [...this.pending.values()].sort((a, b) => (b.start_unix_ms || 0) - (a.start_unix_ms || 0));
  }
}

function kindLabel(ev) { return tOr('kind', ev.kind || '').replace(/_/g, ' '); }

/** The decision controls of one pending event. `done` runs after a decision was stored. */
export function decisionControls(ev, ctx, done) {
  if (!ctx.can('decide_alerts')) return null;
  const select = h('select', { 'aria-label': t('alerts.reason'), 'data-test': 'dismiss-reason' },
    REASONS.map((r) => h('option', { value: r }, tOr('reason', r))));
  const box = h('div.decide', { 'data-test': 'decide' });
  const busy = (on) => box.querySelectorAll('button,select').forEach((b) => { b.disabled = on; });
  async function decide(decision, reason) {
    busy(true);
    try {
      await ctx.alerts.decide(ev.id, decision, reason);
      toast(decision === 'confirm' ? t('alerts.confirmed') : t('alerts.dismissed'), 'ok');
      if (done) done(decision);
    } catch (e) {
      if (e.status === 409) {
        toast(t('alerts.already'), 'info');
        ctx.alerts.pending.delete(ev.id);
        ctx.alerts.changed();
        if (done) done(null);
      } else {
        toast(t('error.generic', { msg: e.message }), 'error');
      }
      busy(false);
    }
  }
  const main = h('div.decide-main',
    h('button.btn.btn-confirm', { type: 'button', 'data-test': 'confirm', onclick: () => decide('confirm', '') }, t('alerts.confirm')),
    h('button.btn.btn-dismiss', { type: 'button', 'data-test': 'dismiss', onclick: () => { main.hidden = true; reasons.hidden = false; select.focus(); } }, t('alerts.dismiss')));
  const reasons = h('div.decide-reason', { hidden: true },
    select,
    h('button.btn.btn-dismiss', { type: 'button', 'data-test': 'dismiss-submit', onclick: () => decide('dismiss', select.value) }, t('alerts.dismiss')),
    h('button.btn.btn-ghost', { type: 'button', onclick: () => { main.hidden = false; reasons.hidden = true; } }, t('alerts.cancel')));
  box.append(main, reasons);
  return box;
}

function statusBadge(status) {
  const s = status || 'pending';
  return h('span.status', { class: `status status-${s}`, dataset: { status: s } }, tOr('status', s));
}

export function alertCard(ev, ctx, { compact = false, fresh = false } = {}) {
  const snap = h('img.snap', { alt: '', loading: 'lazy', src: `/api/events/${enc(ev.id)}/snapshot.jpg` });
  snap.addEventListener('error', () => snap.classList.add('missing'));
  const where = [ev.zone, ev.line].filter(Boolean).join(' · ');
  const meta = h('div.alert-meta',
    h('div.alert-title',
      h('strong', kindLabel(ev)),
      compact ? null : [' ', h('span.muted.small', String(ev.id))],
      ' ', statusBadge(ev.status)),
    h('div.alert-where', h('span.cam', ev.camera), where ? [' · ', where] : null, ev.rule ? h('span.muted', ' · ', ev.rule) : null),
    h('div.muted.small', h('time', { title: fmtTime(ev.start_unix_ms) }, compact ? fmtAgo(ev.start_unix_ms) : fmtTime(ev.start_unix_ms)),
      ev.confidence != null ? ` · ${Math.round(ev.confidence * 100)} %` : '',
      ev.status && ev.status !== 'pending' && ev.decided_by ? ` · ${ev.decided_by}${ev.reason ? ` (${tOr('reason', ev.reason)})` : ''}` : ''),
    !compact && ev.detail ? h('div.small', ev.detail) : null);
  const actions = h('div.alert-actions',
    (!ev.status || ev.status === 'pending') ? decisionControls(ev, ctx) : null,
    h('a.btn.btn-ghost.btn-sm', { href: `#/events/${enc(ev.id)}`, 'data-test': 'details' }, t('alerts.details')));
  return h('article.alert-card', { class: `alert-card${fresh ? ' fresh' : ''}${compact ? ' compact' : ''}`, dataset: { eventId: String(ev.id), status: ev.status || 'pending' }, 'data-test': 'alert-card' },
    snap, h('div.alert-body', meta, actions));
}

/**
 * The cards of a list of pending events, kept between redraws: a card is rebuilt only when its event changed (no
 * flicker, no reloaded snapshot), and one with an open dismissal form is left alone. New ones flash.
 */
class CardCache {
  constructor(ctx, compact) {
    this.ctx = ctx;
    this.compact = compact;
    this.cards = new Map(); // id → {key, el}
  }

  clear() {
    for (const [id, c] of this.cards) if (!isOpen(c.el)) this.cards.delete(id);
  }

  render(list, evs, flashNew) {
    const next = new Map();
    const els = evs.map((ev) => {
      const id = String(ev.id);
      const key = JSON.stringify(ev);
      const old = this.cards.get(id);
      let c = old;
      if (!old || (old.key !== key && !isOpen(old.el))) {
        c = { key, el: alertCard(ev, this.ctx, { compact: this.compact, fresh: flashNew && !old }) };
      }
      next.set(id, c);
      return c.el;
    });
    this.cards = next;
    list.replaceChildren(...els);
  }
}

function isOpen(el) {
  const r = el.querySelector('.decide-reason');
  return !!r && !r.hidden;
}

/** The pending queue beside the camera grid. */
export function alertRail(ctx) {
  const list = h('div.alert-list', { 'data-test': 'pending-list' });
  const count = h('span.count');
  const el = h('aside.rail', h('div.rail-head', h('h2', t('alerts.queue')), count, h('span.spacer'), h('a.btn.btn-ghost.btn-sm', { href: '#/alerts' }, t('alerts.all'))), list);
  const cards = new CardCache(ctx, true);
  let first = true;
  function draw() {
    const evs = ctx.alerts.sorted();
    count.textContent = String(evs.length);
    count.classList.toggle('zero', !evs.length);
    cards.render(list, evs, !first);
    if (!evs.length) list.append(h('p.empty', t('alerts.none')));
    first = false;
  }
  ctx.alerts.addEventListener('change', draw);
  draw();
  // "n min ago" moves on.
  const ticker = setInterval(() => { cards.clear(); draw(); }, 60000);
  return { el, stop() { ctx.alerts.removeEventListener('change', draw); clearInterval(ticker); } };
}

/** The alerts page: pending (live), decided, all. */
export function mountAlerts(el, ctx) {
  if (!ctx.alerts) {
    el.append(h('p.empty', t('alerts.refused')));
    return () => {};
  }
  let tab = sessionStorage.getItem('vigie.alerts.tab') || 'pending';
  const list = h('div.alert-list.wide', { 'data-test': 'alerts-list' });
  const tabs = h('div.tabs', { role: 'tablist' }, ['pending', 'decided', 'all'].map((id) =>
    h('button.tab', { type: 'button', role: 'tab', dataset: { tab: id }, onclick: () => { tab = id; sessionStorage.setItem('vigie.alerts.tab', id); load(); } }, t(`alerts.${id}`))));
  el.append(h('div.page-head', h('h1', t('nav.alerts')), tabs), list);
  let stopped = false;

  async function load() {
    for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    list.dataset.tab = tab;
    if (tab === 'pending') return drawPending();
    try {
      const lists = tab === 'decided'
        ? await Promise.all([get('/api/events?status=confirmed&limit=100'), get('/api/events?status=dismissed&limit=100')])
        : [await get('/api/events?status=all&limit=200')];
      if (stopped || list.dataset.tab !== tab) return;
      const evs = lists.flat().sort((a, b) => (b.start_unix_ms || 0) - (a.start_unix_ms || 0));
      list.replaceChildren(...evs.map((ev) => alertCard(ev, ctx)));
      if (!evs.length) list.append(h('p.empty', t('alerts.none_list')));
    } catch (e) {
      list.replaceChildren(h('p.form-error', t('error.generic', { msg: e.message })));
    }
  }

  const cards = new CardCache(ctx, false);
  let firstPending = true;
  function drawPending() {
    if (tab !== 'pending') return;
    const evs = ctx.alerts.sorted();
    cards.render(list, evs, !firstPending);
    if (!evs.length) list.append(h('p.empty', t('alerts.none')));
    firstPending = false;
  }
  let reload = null;
  const onChange = () => {
    if (tab === 'pending') drawPending();
    else { clearTimeout(reload); reload = setTimeout(load, 1000); } // the other tabs follow, less eagerly
  };
  ctx.alerts.addEventListener('change', onChange);
  load();
  return () => { stopped = true; clearTimeout(reload); ctx.alerts.removeEventListener('change', onChange); };
}
