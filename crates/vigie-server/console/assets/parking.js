// The parking agent's queue: pre-check records with their evidence crops; confirm (with the ticket reference) or
// dismiss (with a reason). "Not available" where the server has no parking routes (404).

import { get, post, h, toast, enc } from './api.js';
import { t, fmtTime } from './i18n.js';

export function mountParking(el, ctx) {
  let stopped = false;
  const list = h('div.parking-list', { 'data-test': 'parking-list' });
  el.append(h('div.page-head', h('h1', t('parking.title'))), list);

  function card(rec) {
    const ref = h('input', { placeholder: t('parking.reference'), 'aria-label': t('parking.reference') });
    const reason = h('input', { placeholder: t('alerts.reason'), 'aria-label': t('alerts.reason') });
    const act = async (path, body) => {
      try {
        await post(`/api/parking/${enc(rec.id)}/${path}`, body);
        toast(t('parking.done'), 'ok');
        load();
      } catch (e) {
        toast(t('error.generic', { msg: e.message }), 'error');
      }
    };
    return h('article.panel.parking-card', { dataset: { id: String(rec.id) } },
      h('div.parking-head', h('span.plate', rec.plate || '?'), h('span.muted', t('parking.zone'), ' ', rec.zone || '—'),
        h('span.muted.small', t('parking.observed'), ' ', fmtTime(rec.observed_unix_ms))),
      h('div.evidence', (rec.evidence || []).map((u) => h('img', { src: u, alt: rec.plate || '', loading: 'lazy' }))),
      h('div.row', ref, h('button.btn.btn-confirm', { type: 'button', onclick: () => act('confirm', { reference: ref.value.trim() }) }, t('parking.confirm')),
        reason, h('button.btn.btn-dismiss', { type: 'button', onclick: () => act('dismiss', { reason: reason.value.trim() }) }, t('parking.dismiss'))));
  }

  async function load() {
    try {
      const recs = await get('/api/parking/queue');
      if (stopped) return;
      list.replaceChildren(...(recs || []).map(card));
      if (!recs || !recs.length) list.append(h('p.empty', t('parking.none')));
    } catch (e) {
      if (stopped) return;
      list.replaceChildren(e.status === 404
        ? h('p.empty', { 'data-test': 'parking-unavailable' }, t('parking.unavailable'))
        : e.status === 403 ? h('p.form-error', t('error.forbidden')) : h('p.form-error', t('error.generic', { msg: e.message })));
    }
  }
  load();
  return () => { stopped = true; };
}
