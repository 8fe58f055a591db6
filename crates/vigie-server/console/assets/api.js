// Calls to the API (design/0003): JSON in and out, the session cookie, X-CSRF-Token on every state change.
// Also the small DOM helper the views share.

let csrfToken = null;

export function setCsrf(token) { csrfToken = token || null; }

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** `fetch` with the conventions of the API; throws ApiError with the server's `{"error": ...}` message. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, e.message || 'network error');
  }
  const type = r.headers.get('content-type') || '';
  let data = null;
  let text = '';
  if (type.includes('json')) data = await r.json().catch(() => null);
  else text = await r.text().catch(() => '');
  if (!r.ok) {
    const msg = (data && data.error) || text || r.statusText || `HTTP ${r.status}`;
    const err = new ApiError(r.status, msg);
    // A session that ended (expiry, logout elsewhere): the app goes back to the login page.
    if (r.status === 401 && path !== '/api/login') window.dispatchEvent(new CustomEvent('vigie:unauthorised'));
    throw err;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body);

/** The latest frame as an object URL (the caller revokes it), or throws ApiError (404: not visible). */
export async function fetchImage(path) {
  let r;
  try {
    r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, e.message || 'network error');
  }
  if (!r.ok) {
    if (r.status === 401) window.dispatchEvent(new CustomEvent('vigie:unauthorised'));
    let msg = r.statusText;
    try { const j = await r.json(); msg = j.error || msg; } catch { /* not JSON */ }
    throw new ApiError(r.status, msg);
  }
  return URL.createObjectURL(await r.blob());
}

export const enc = encodeURIComponent;

/**
 * h('div.card#id', {onclick, dataset: {...}, attrs}, children...): an element. Text children are text nodes, so
 * values from the server are never parsed as HTML.
 */
export function h(spec, props, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (props && (typeof props !== 'object' || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let toastSeq = 0;
/** A short message in the corner: kind is 'info', 'ok' or 'error'. */
export function toast(message, kind = 'info', ms = 4000) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div.toast', { class: `toast toast-${kind}`, dataset: { toast: String(++toastSeq) }, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(el);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), ms);
}
