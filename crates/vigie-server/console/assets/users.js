// Accounts (admin): the list, a new account, disabling one. Passwords are never shown again.

import { get, post, api, h, toast, enc } from './api.js';
import { t, tOr, fmtTime } from './i18n.js';

const ROLES = ['operator', 'supervisor', 'investigator', 'parking_agent', 'auditor', 'admin'];

export function mountUsers(el, ctx) {
  let stopped = false;
  const tbody = h('tbody');
  const table = h('table.table', { 'data-test': 'users-table' },
    h('thead', h('tr', h('th', t('users.username')), h('th', t('users.role')), h('th', t('users.cameras')), h('th', t('users.created')), h('th', ''))),
    tbody);
  const username = h('input', { name: 'new-username', required: true, autocomplete: 'off', 'aria-label': t('users.username'), placeholder: t('users.username') });
  const password = h('input', { name: 'new-password', type: 'password', required: true, minLength: 8, autocomplete: 'new-password', 'aria-label': t('login.password'), placeholder: t('login.password') });
  const role = h('select', { name: 'new-role', 'aria-label': t('users.role') }, ROLES.map((r) => h('option', { value: r }, tOr('role', r))));
  const cameras = h('input', { name: 'new-cameras', 'aria-label': t('users.cameras'), placeholder: t('users.cameras_hint') });
  const err = h('p.form-error', { role: 'alert' });
  const form = h('form.panel.user-form', {
    'data-test': 'user-form',
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const cams = cameras.value.split(',').map((c) => c.trim()).filter(Boolean);
      try {
        await post('/api/users', { username: username.value.trim(), password: password.value, role: role.value, cameras: cams.length ? cams : null });
        toast(t('users.created_ok', { name: username.value.trim() }), 'ok');
        form.reset();
        load();
      } catch (ex) {
        err.textContent = t('error.generic', { msg: ex.message });
      }
    },
  }, h('h2', t('users.new')), h('div.row', username, password, role, cameras, h('button.btn.btn-primary', { type: 'submit' }, t('users.create'))), err);
  el.append(h('div.page-head', h('h1', t('nav.users'))), form, h('div.panel', table));

  async function load() {
    let users;
    try {
      users = await get('/api/users');
    } catch (e) {
      tbody.replaceChildren(h('tr', h('td', { colSpan: 5 }, t('error.generic', { msg: e.message }))));
      return;
    }
    if (stopped) return;
    tbody.replaceChildren(...users.map((u) => h('tr', { class: u.disabled ? 'disabled' : '', dataset: { user: u.username } },
      h('td', u.username),
      h('td', tOr('role', u.role)),
      h('td', Array.isArray(u.cameras) ? u.cameras.join(', ') : t('users.all')),
      h('td', fmtTime(u.created_unix_ms)),
      h('td', u.disabled ? h('span.muted', t('users.disabled'))
        : u.username === ctx.me.username ? null
        : h('button.btn.btn-ghost.btn-sm', { type: 'button', onclick: async () => {
          try {
            await api('DELETE', `/api/users/${enc(u.username)}`);
            load();
          } catch (e) { toast(t('error.generic', { msg: e.message }), 'error'); }
        } }, t('users.disable'))))));
  }
  load();
  return () => { stopped = true; };
}
