// Authorisations for admins (issue 7): the legal scope of the live analytics. The list (valid, expired, revoked,
// not yet started), a new one, revoking one. The server checks everything (event types among the décret's eight)
// and logs each change; the analysis follows within seconds.

import { get, post, h, toast, enc } from './api.js';
import { t, tOr, fmtTime } from './i18n.js';

const TYPES = ['abandoned_object', 'weapon', 'wrong_way', 'intrusion', 'person_on_ground', 'crowd_movement', 'excessive_density', 'fire_start'];

function localInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** valid, revoked, expired or future, at `now`. */
export function stateOf(a, now = Date.now()) {
  if (a.revoked_unix_ms != null) return 'revoked';
  if (a.valid_now) return 'valid';
  return now < a.start_unix_ms ? 'future' : 'expired';
}

export function mountAuthorisations(el) {
  let stopped = false;
  const tbody = h('tbody');
  const table = h('table.table', { 'data-test': 'authorisations-table' },
    h('thead', h('tr', h('th', t('auth.authority')), h('th', t('auth.reference')), h('th', t('auth.cameras')),
      h('th', t('auth.types')), h('th', t('auth.start')), h('th', t('auth.end')), h('th', t('auth.state')), h('th', ''))),
    tbody);
  const now = Date.now();
  const authority = h('input', { name: 'authority', required: true, placeholder: t('auth.authority'), 'aria-label': t('auth.authority') });
  const reference = h('input', { name: 'reference', required: true, placeholder: t('auth.reference'), 'aria-label': t('auth.reference') });
  const cameras = h('input', { name: 'cameras', required: true, placeholder: t('auth.cameras_hint'), 'aria-label': t('auth.cameras') });
  const start = h('input', { type: 'datetime-local', name: 'start', required: true, value: localInput(now), 'aria-label': t('auth.start') });
  const end = h('input', { type: 'datetime-local', name: 'end', required: true, value: localInput(now + 365 * 86400000), 'aria-label': t('auth.end') });
  const types = TYPES.map((k) => h('label.tick', h('input', { type: 'checkbox', name: 'event_type', value: k }), ' ', tOr('kind', k)));
  const err = h('p.form-error', { role: 'alert', 'data-test': 'authorisation-error' });
  const form = h('form.panel.auth-form', {
    'data-test': 'authorisation-form',
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const body = {
        authority: authority.value.trim(),
        reference: reference.value.trim(),
        cameras: cameras.value.split(',').map((c) => c.trim()).filter(Boolean),
        event_types: types.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
        start_unix_ms: new Date(start.value).getTime(),
        end_unix_ms: new Date(end.value).getTime(),
      };
      if (!body.event_types.length) { err.textContent = t('auth.no_type'); return; }
      if (!Number.isFinite(body.start_unix_ms) || !Number.isFinite(body.end_unix_ms)) { err.textContent = t('auth.bad_dates'); return; }
      try {
        await post('/api/authorisations', body);
        toast(t('auth.added', { reference: body.reference }), 'ok');
        authority.value = '';
        reference.value = '';
        for (const l of types) l.querySelector('input').checked = false;
        load();
      } catch (ex) {
        err.textContent = t('error.generic', { msg: ex.message });
      }
    },
  },
  h('h2', t('auth.new')),
  h('div.row', authority, reference, cameras, h('label.inline', t('auth.start'), start), h('label.inline', t('auth.end'), end)),
  h('div.row.auth-types', h('span.muted.small', t('auth.types')), types),
  h('div.row', h('span.spacer'), h('button.btn.btn-primary', { type: 'submit', 'data-test': 'authorisation-add' }, t('auth.add'))),
  err);
  el.append(h('div.page-head', h('h1', t('nav.authorisations')), h('p.muted.small', t('auth.explain'))), form, h('div.panel', table));

  async function revoke(a) {
    if (!window.confirm(t('auth.revoke_confirm', { reference: a.reference }))) return;
    try {
      await post(`/api/authorisations/${enc(a.id)}/revoke`);
      toast(t('auth.revoked', { reference: a.reference }), 'ok');
      load();
    } catch (e) {
      toast(t('error.generic', { msg: e.message }), 'error');
    }
  }

  async function load() {
    let list;
    try {
      list = await get('/api/authorisations');
    } catch (e) {
      if (!stopped) tbody.replaceChildren(h('tr', h('td', { colSpan: 8 }, e.status === 403 ? t('error.forbidden') : t('error.generic', { msg: e.message }))));
      return;
    }
    if (stopped) return;
    const when = Date.now();
    list.sort((a, b) => b.created_unix_ms - a.created_unix_ms || b.id - a.id);
    tbody.replaceChildren(...list.map((a) => {
      const state = stateOf(a, when);
      return h('tr', { dataset: { id: String(a.id), reference: a.reference, state } },
        h('td', a.authority),
        h('td', a.reference),
        h('td', (a.cameras || []).join(', ')),
        h('td', (a.event_types || []).map((k) => tOr('kind', k)).join(', ')),
        h('td', fmtTime(a.start_unix_ms)),
        h('td', fmtTime(a.end_unix_ms)),
        h('td', h('span.status', { class: `status auth-${state}`, 'data-test': 'authorisation-state' }, t(`auth.state.${state}`)),
          a.revoked_unix_ms != null ? h('span.muted.small', ` ${fmtTime(a.revoked_unix_ms)} · ${a.revoked_by || ''}`) : null),
        h('td', state === 'revoked' ? null : h('button.btn.btn-dismiss.btn-sm', { type: 'button', 'data-test': 'authorisation-revoke', onclick: () => revoke(a) }, t('auth.revoke'))));
    }));
    if (!list.length) tbody.append(h('tr', h('td.muted', { colSpan: 8 }, t('auth.none'))));
  }
  load();
  return () => { stopped = true; };
}
