// Vigie console: session, shell (header, navigation, language), hash routes, the live stream (SSE).

import { api, get, post, setCsrf, h, toast, ApiError } from './api.js';
import { t, tOr, toggleLang, getLang } from './i18n.js';
import { AlertStore } from './alerts.js';

const PERMS = {
  view_live: ['operator', 'supervisor', 'admin'],
  view_alerts: ['operator', 'supervisor', 'investigator', 'admin'],
  decide_alerts: ['operator', 'supervisor'],
  edit_zones: ['supervisor', 'admin'],
  parking: ['parking_agent'],
  manage_users: ['admin'],
  manage_authorisations: ['admin'],
  view_accuracy: ['supervisor', 'admin'],
  investigate: ['investigator'],
  view_audit: ['auditor'],
};

const app = document.getElementById('app');

const ctx = {
  me: null,
  can(perm) { return !!this.me && (PERMS[perm] || []).includes(this.me.role); },
  bus: new EventTarget(),
  alerts: null,
  stream: null,
  streamUp: false,
};
window.vigie = ctx; // for the end-to-end tests and the curious

let cleanup = null;
let shell = null;

function emit(type, detail) { ctx.bus.dispatchEvent(new CustomEvent(type, { detail })); }

// ---------------------------------------------------------------------------------------------------------------
// Live stream

let retryTimer = null;
let pendingTimer = null;

function openStream() {
  closeStream();
  if (!ctx.can('view_alerts') && !ctx.can('view_live')) return;
  const es = new EventSource('/api/stream');
  ctx.stream = es;
  const parse = (fn) => (m) => {
    let data = null;
    try { data = JSON.parse(m.data); } catch { return; }
    fn(data);
  };
  es.addEventListener('open', () => {
    const wasDown = !ctx.streamUp;
    ctx.streamUp = true;
    emit('stream', true);
    // Alerts may have arrived while the stream was down.
    if (wasDown && ctx.alerts) ctx.alerts.refresh().catch(() => {});
  });
  es.addEventListener('alert', parse((ev) => {
    const isNew = ctx.alerts ? ctx.alerts.onAlert(ev) : false;
    emit('alert', ev);
    if (isNew && !location.hash.startsWith('#/alerts') && !location.hash.startsWith('#/live')) {
      toast(t('alerts.new', { kind: tOr('kind', ev.kind), camera: ev.camera }), 'info');
    }
  }));
  es.addEventListener('camera', parse((c) => emit('camera', c)));
  es.addEventListener('decision', parse((d) => {
    if (ctx.alerts) ctx.alerts.onDecision(d);
    emit('decision', d);
  }));
  es.addEventListener('error', () => {
    ctx.streamUp = false;
    emit('stream', false);
    if (es.readyState === EventSource.CLOSED) {
      // The server refused or closed for good: try again a little later (the session may have ended).
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => { if (ctx.me && ctx.stream === es) openStream(); }, 3000);
    }
  });
}

function closeStream() {
  clearTimeout(retryTimer);
  if (ctx.stream) ctx.stream.close();
  ctx.stream = null;
  ctx.streamUp = false;
}

// ---------------------------------------------------------------------------------------------------------------
// Session

async function loadMe() {
  try {
    const me = await get('/api/me');
    setSession(me);
    return true;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return false;
    throw e;
  }
}

function setSession(me) {
  ctx.me = me;
  setCsrf(me.csrf_token);
  ctx.alerts = ctx.can('view_alerts') ? new AlertStore(ctx) : null;
  if (ctx.alerts) ctx.alerts.refresh().catch((e) => toast(t('error.generic', { msg: e.message }), 'error'));
  openStream();
  // A safety net under the stream: the pending list again every 30 s.
  clearInterval(pendingTimer);
  pendingTimer = setInterval(() => { if (ctx.alerts) ctx.alerts.refresh().catch(() => {}); }, 30000);
}

function endSession() {
  closeStream();
  clearInterval(pendingTimer);
  ctx.me = null;
  ctx.alerts = null;
  setCsrf(null);
  resetShell();
}

function resetShell() {
  if (shell) shell.off();
  shell = null;
}

async function logout() {
  try { await post('/api/logout'); } catch { /* the session may be gone already */ }
  endSession();
  history.replaceState(null, '', '#/login');
  render();
}

window.addEventListener('vigie:unauthorised', () => {
  if (!ctx.me) return;
  endSession();
  toast(t('error.session'), 'error');
  history.replaceState(null, '', '#/login');
  render();
});

// ---------------------------------------------------------------------------------------------------------------
// Pages

function langButton() {
  return h('button.btn.btn-ghost.lang', {
    type: 'button', 'data-test': 'lang-toggle', title: getLang() === 'fr' ? 'Switch to English' : 'Passer en français',
    onclick: () => toggleLang(),
  }, getLang() === 'fr' ? 'EN' : 'FR');
}

function loginPage() {
  const err = h('p.form-error', { role: 'alert', 'data-test': 'login-error' });
  const user = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button.btn.btn-primary', { type: 'submit', 'data-test': 'login-submit' }, t('login.submit'));
  const form = h('form.login-card', {
    'data-test': 'login-form',
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      submit.disabled = true;
      try {
        const me = await api('POST', '/api/login', { username: user.value.trim(), password: pass.value });
        // The login answer carries the csrf token; /api/me has the canonical shape.
        setCsrf(me && me.csrf_token);
        if (!(await loadMe()) && me) setSession(me);
        history.replaceState(null, '', '#/');
        render();
      } catch (ex) {
        err.textContent = ex.status === 429 ? t('login.rate_limited')
          : ex.status === 401 || ex.status === 403 ? t('login.failed')
          : t('error.generic', { msg: ex.message });
        pass.value = '';
        pass.focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('div.login-brand', logo(), h('div', h('h1', t('app.title')), h('p.muted', t('login.subtitle')))),
  h('h2', t('login.title')),
  h('label', { for: 'username' }, t('login.username')), user,
  h('label', { for: 'password' }, t('login.password')), pass,
  err,
  submit);
  return h('div.login-page', { 'data-page': 'login' }, h('div.login-top', langButton()), form);
}

function logo() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 32 32');
  svg.setAttribute('class', 'logo');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', 'M4 16c3.5-6.5 7.5-10 12-10s8.5 3.5 12 10c-3.5 6.5-7.5 10-12 10S7.5 22.5 4 16z');
  p.setAttribute('fill', 'none');
  p.setAttribute('stroke', 'currentColor');
  p.setAttribute('stroke-width', '2.2');
  const c = document.createElementNS(ns, 'circle');
  c.setAttribute('cx', '16'); c.setAttribute('cy', '16'); c.setAttribute('r', '4.5');
  c.setAttribute('fill', 'currentColor');
  svg.append(p, c);
  return svg;
}

function navItems() {
  const items = [];
  if (ctx.can('view_live')) items.push(['live', '#/live', t('nav.live')]);
  if (ctx.can('view_alerts')) items.push(['alerts', '#/alerts', t('nav.alerts')]);
  if (ctx.can('edit_zones')) items.push(['zones', '#/zones', t('nav.zones')]);
  if (ctx.can('investigate')) items.push(['search', '#/search', t('nav.search')]);
  if (ctx.can('view_accuracy')) items.push(['accuracy', '#/accuracy', t('nav.accuracy')]);
  if (ctx.can('parking')) items.push(['parking', '#/parking', t('nav.parking')]);
  if (ctx.can('manage_users')) items.push(['users', '#/users', t('nav.users')]);
  if (ctx.can('manage_authorisations')) items.push(['authorisations', '#/authorisations', t('nav.authorisations')]);
  if (ctx.can('view_audit')) items.push(['audit', '#/audit', t('nav.audit')]);
  return items;
}

function buildShell() {
  const count = h('span.count', { 'data-test': 'pending-count', hidden: true });
  const dot = h('span.stream-dot', { title: '', hidden: !ctx.can('view_alerts') && !ctx.can('view_live') });
  const nav = h('nav.main-nav', navItems().map(([id, href, label]) =>
    h('a', { href, dataset: { nav: id } }, label, id === 'alerts' ? count : null)));
  const header = h('header.topbar',
    h('a.brand', { href: '#/' }, logo(), h('span', t('app.title'))),
    nav,
    h('div.topbar-right',
      dot,
      h('span.who', { 'data-test': 'whoami' }, h('strong', ctx.me.username), ' · ', tOr('role', ctx.me.role)),
      langButton(),
      h('button.btn.btn-ghost', { type: 'button', 'data-test': 'logout', onclick: logout }, t('nav.logout'))));
  const main = h('main.content');
  const root = h('div.shell', header, main);
  const updateCount = () => {
    const n = ctx.alerts ? ctx.alerts.pending.size : 0;
    count.textContent = String(n);
    count.hidden = n === 0;
  };
  const updateDot = () => {
    dot.classList.toggle('up', ctx.streamUp);
    dot.title = ctx.streamUp ? t('alerts.live') : t('alerts.offline');
  };
  if (ctx.alerts) ctx.alerts.addEventListener('change', updateCount);
  ctx.bus.addEventListener('stream', updateDot);
  updateCount();
  updateDot();
  const alerts = ctx.alerts;
  const off = () => {
    if (alerts) alerts.removeEventListener('change', updateCount);
    ctx.bus.removeEventListener('stream', updateDot);
  };
  return { root, main, nav, off };
}

function homeRoute() {
  if (ctx.can('view_live')) return '#/live';
  if (ctx.can('view_alerts')) return '#/alerts';
  if (ctx.can('parking')) return '#/parking';
  if (ctx.can('manage_users')) return '#/users';
  if (ctx.can('view_audit')) return '#/audit';
  return '#/none';
}

/** A page the role may not use: a message, nothing fetched. */
function refused(el) {
  el.append(h('p.form-error', { 'data-test': 'page-refused' }, t('error.forbidden')));
  return null;
}

async function render() {
  if (cleanup) { try { cleanup(); } catch { /* view already gone */ } cleanup = null; }
  const hash = location.hash || '#/';
  if (!ctx.me) {
    resetShell();
    app.replaceChildren(loginPage());
    document.title = `${t('login.title')} · Vigie`;
    if (hash !== '#/login') history.replaceState(null, '', '#/login');
    return;
  }
  if (hash === '#/' || hash === '#/login' || hash === '#') {
    history.replaceState(null, '', homeRoute());
    return render();
  }
  if (!shell) {
    shell = buildShell();
    app.replaceChildren(shell.root);
  }
  const [, page, arg] = hash.slice(1).split('/');
  for (const a of shell.nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.nav === page || (page === 'events' && a.dataset.nav === 'alerts'));
  const el = h('section.page', { dataset: { page } });
  shell.main.replaceChildren(el);
  const name = arg ? decodeURIComponent(arg) : null;
  try {
    switch (page) {
      case 'live': cleanup = (await import('./grid.js')).mountLive(el, ctx); break;
      case 'alerts': cleanup = (await import('./alerts.js')).mountAlerts(el, ctx); break;
      case 'events': cleanup = (await import('./event.js')).mountEvent(el, ctx, name); break;
      case 'zones': cleanup = (await import('./zones.js')).mountZones(el, ctx, name); break;
      case 'parking': cleanup = (await import('./parking.js')).mountParking(el, ctx); break;
      case 'users': cleanup = (await import('./users.js')).mountUsers(el, ctx); break;
      case 'search': cleanup = ctx.can('investigate') ? (await import('./search.js')).mountSearch(el, ctx) : refused(el); break;
      case 'accuracy': cleanup = ctx.can('view_accuracy') ? (await import('./accuracy.js')).mountAccuracy(el, ctx) : refused(el); break;
      case 'authorisations': cleanup = ctx.can('manage_authorisations') ? (await import('./authorisations.js')).mountAuthorisations(el, ctx) : refused(el); break;
      case 'audit': cleanup = ctx.can('view_audit') ? (await import('./audit.js')).mountAudit(el, ctx) : refused(el); break;
      default: el.append(h('p.empty', t('home.nothing')));
    }
  } catch (e) {
    el.append(h('p.form-error', t('error.generic', { msg: e.message })));
  }
  document.title = `${(shell.nav.querySelector('a.active') || {}).textContent || t('app.title')} · Vigie`;
}

window.addEventListener('hashchange', render);
window.addEventListener('vigie:lang', () => { resetShell(); render(); });

(async function start() {
  try {
    await loadMe();
  } catch (e) {
    app.replaceChildren(h('p.form-error', t('error.generic', { msg: e.message })));
    return;
  }
  render();
})();
