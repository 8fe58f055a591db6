// The audit log for auditors (issue 7): the verification status at the top (intact, or the first problem named),
// filters (period, actor, action), the entries newest first with "load more", and an export as JSON lines (the
// same file as `vigie audit export`; the server logs each export). Nothing here changes the log.

import { get, h, enc } from './api.js';
import { t, tOr, fmtTime } from './i18n.js';

const ACTIONS = ['login', 'login_failed', 'logout', 'live_view', 'search', 'export', 'plate_lookup', 'alert_decision',
  'config_change', 'model_change', 'retention_deletion', 'user_change', 'hold_change'];
const PAGE = 100;

function detailText(d) {
  if (d == null) return '';
  if (typeof d === 'string') return d;
  const s = JSON.stringify(d);
  return s === '{}' ? '' : s;
}

export function mountAudit(el) {
  let stopped = false;
  let next = null;
  const status = h('div.panel.audit-status', { 'data-test': 'audit-verify' }, t('audit.verifying'));
  const from = h('input', { type: 'datetime-local', name: 'from', 'aria-label': t('audit.from') });
  const to = h('input', { type: 'datetime-local', name: 'to', 'aria-label': t('audit.to') });
  const actor = h('input', { name: 'actor', placeholder: t('audit.actor'), 'aria-label': t('audit.actor'), 'data-test': 'audit-actor' });
  const action = h('select', { name: 'action', 'aria-label': t('audit.action'), 'data-test': 'audit-action' },
    h('option', { value: '' }, t('audit.any_action')),
    ACTIONS.map((a) => h('option', { value: a }, tOr('audit.act', a))));
  const exportLink = h('a.btn', { 'data-test': 'audit-export', download: '' }, t('audit.export'));
  const err = h('p.form-error', { role: 'alert', 'data-test': 'audit-error' });
  const tbody = h('tbody');
  const more = h('button.btn', { type: 'button', 'data-test': 'audit-more', hidden: true, onclick: () => load(false) }, t('audit.more'));
  const table = h('table.table.audit-table', { 'data-test': 'audit-table' },
    h('thead', h('tr', h('th.num', '#'), h('th', t('audit.time')), h('th', t('audit.actor')), h('th', t('audit.action')),
      h('th', t('audit.target')), h('th', t('audit.detail')), h('th', t('audit.hash')))),
    tbody);

  function period() {
    const q = [];
    const f = from.value ? new Date(from.value).getTime() : NaN;
    const u = to.value ? new Date(to.value).getTime() : NaN;
    if (Number.isFinite(f)) q.push(`from_unix_ms=${f}`);
    if (Number.isFinite(u)) q.push(`to_unix_ms=${u}`);
    return q;
  }

  function updateExport() {
    const q = period();
    exportLink.href = `/api/audit/export${q.length ? `?${q.join('&')}` : ''}`;
  }

  const form = h('form.panel.row.audit-filters', {
    'data-test': 'audit-filters',
    onsubmit: (e) => { e.preventDefault(); load(true); },
  },
  h('label.inline', t('audit.from'), from), h('label.inline', t('audit.to'), to), actor, action,
  h('button.btn.btn-primary', { type: 'submit', 'data-test': 'audit-apply' }, t('audit.apply')),
  h('span.spacer'), exportLink);
  for (const i of [from, to]) i.addEventListener('change', updateExport);
  updateExport();

  el.append(h('div.page-head', h('h1', t('nav.audit')), h('p.muted.small', t('audit.explain'))),
    status, form, err, h('div.panel', table, h('div.row', more)));

  async function verify() {
    let v;
    try {
      v = await get('/api/audit/verify');
    } catch (e) {
      if (!stopped) status.replaceChildren(h('span.status.audit-bad', t('error.generic', { msg: e.message })));
      return;
    }
    if (stopped) return;
    status.dataset.intact = String(!!v.intact);
    if (v.intact) {
      status.replaceChildren(h('span.status.audit-ok', t('audit.intact')), ' ',
        h('span.small', t('audit.intact_detail', { entries: v.entries, checkpoints: v.checkpoints, head: v.head_seq ?? 0 })),
        h('div.muted.small.mono', t('audit.head', { hash: v.head_hash || '—', key: v.public_key || '—' })));
    } else {
      const p = v.problem || {};
      status.replaceChildren(h('span.status.audit-bad', t('audit.not_intact')), ' ',
        h('strong', { 'data-test': 'audit-problem' }, t('audit.problem', { seq: p.seq, kind: tOr('audit.kind', p.kind), what: p.what || '' })));
    }
  }

  async function load(reset) {
    err.textContent = '';
    const q = period();
    if (actor.value.trim()) q.push(`actor=${enc(actor.value.trim())}`);
    if (action.value) q.push(`action=${enc(action.value)}`);
    q.push(`limit=${PAGE}`);
    if (!reset && next != null) q.push(`before_seq=${next}`);
    let page;
    try {
      page = await get(`/api/audit?${q.join('&')}`);
    } catch (e) {
      if (!stopped) err.textContent = e.status === 403 ? t('error.forbidden') : t('error.generic', { msg: e.message });
      return;
    }
    if (stopped) return;
    if (reset) tbody.replaceChildren();
    for (const e of page.entries) {
      tbody.append(h('tr', { dataset: { seq: String(e.seq), action: e.action, actor: e.actor } },
        h('td.num', e.seq),
        h('td', fmtTime(e.at_unix_ms)),
        h('td', e.actor),
        h('td', tOr('audit.act', e.action)),
        h('td', e.target),
        h('td.small.audit-detail', detailText(e.detail)),
        h('td.mono.small', { title: e.hash }, `${e.hash.slice(0, 12)}…`)));
    }
    if (!tbody.children.length) tbody.append(h('tr', h('td.muted', { colSpan: 7 }, t('audit.none'))));
    next = page.next_before_seq;
    more.hidden = next == null;
  }

  verify();
  load(true);
  return () => { stopped = true; };
}
