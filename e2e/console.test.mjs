// End-to-end tests of the Vigie console in headless Chromium, against a `vigie serve` started by scripts/e2e.sh
// (VIGIE_URL) with a file camera "walkway" of real footage and an intrusion rule, and a camera "lobby".
// Users (password E2E_PASSWORD): op1 operator, sup1 supervisor, park1 parking_agent, op-lobby operator of "lobby",
// admin1 admin, inv2 investigator, inv-other investigator and audit1 auditor; a review case E2E-PV-2026-001 over "walkway" (last
// hour to tomorrow) with inv1 (made by the admin test) and inv2 on it.
// Screenshots of each page go to E2E_OUT (e2e/out/).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, extname } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.VIGIE_URL;
const OUT = process.env.E2E_OUT || new URL('./out', import.meta.url).pathname;
const PASSWORD = process.env.E2E_PASSWORD;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CAM = 'walkway';
// Development only: E2E_CONSOLE_DIR=crates/vigie-server/console serves the console's files from disk instead of the
// binary's embedded copy (edit, rerun, no rebuild). The first test still checks what the binary serves.
const CONSOLE_DIR = process.env.E2E_CONSOLE_DIR;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const FHD = { width: 1920, height: 1080 };
const LAPTOP = { width: 1366, height: 768 };

if (!BASE || !PASSWORD) throw new Error('run through scripts/e2e.sh (VIGIE_URL and E2E_PASSWORD unset)');
mkdirSync(OUT, { recursive: true });

let browser;
/** Requests the pages tried to make outside the server (there must be none). */
const outside = [];
/** JavaScript errors thrown in the pages. */
const pageErrors = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright adds --headless and a fresh --user-data-dir of its own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
});

async function newPage(viewport = FHD, locale = 'en-GB') {
  const context = await browser.newContext({ viewport, locale, baseURL: BASE });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (CONSOLE_DIR && u.startsWith(BASE)) {
      const path = new URL(u).pathname;
      if (path === '/' || path.startsWith('/assets/')) {
        const file = join(CONSOLE_DIR, path === '/' ? 'index.html' : path);
        return route.fulfill({ status: 200, contentType: TYPES[extname(file)] || 'application/octet-stream', body: readFileSync(file) });
      }
    }
    if (u.startsWith(BASE) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    outside.push(u);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.setDefaultTimeout(15000);
  return page;
}

async function shot(page, name) {
  await page.waitForTimeout(150); // let the last frame paint
  await page.screenshot({ path: join(OUT, `${name}.png`) });
}

async function login(page, username) {
  await page.goto('/');
  await page.locator('[data-test=login-form]').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.click('[data-test=login-submit]');
  await page.locator('[data-test=whoami]').waitFor();
  assert.match(await page.locator('[data-test=whoami]').innerText(), new RegExp(username));
}

async function logout(page) {
  await page.click('[data-test=logout]');
  await page.locator('[data-test=login-form]').waitFor();
  const r = await page.request.get('/api/me');
  assert.equal(r.status(), 401, 'the session ends at logout');
}

/** GET through the page's session (cookie). */
async function apiGet(page, path) {
  const r = await page.request.get(path);
  return { status: r.status(), body: r.headers()['content-type']?.includes('json') ? await r.json() : null };
}

test('the console is served from the binary (every file, current), with nothing from outside', async () => {
  const index = await fetch(`${BASE}/`);
  assert.equal(index.status, 200, 'GET / (is crate::console::router() merged into http::router()?)');
  assert.match(index.headers.get('content-type'), /text\/html/);
  const html = await index.text();
  assert.doesNotMatch(html, /https?:\/\//, 'index.html names no outside URL');
  const dir = new URL('../crates/vigie-server/console/', import.meta.url).pathname;
  assert.equal(html, readFileSync(join(dir, 'index.html'), 'utf8'), 'the binary embeds the current index.html (rebuild it)');
  for (const name of readdirSync(join(dir, 'assets'))) {
    const r = await fetch(`${BASE}/assets/${name}`);
    assert.equal(r.status, 200, `/assets/${name} (listed in console.rs?)`);
    const type = TYPES[extname(name)];
    if (type) assert.ok(r.headers.get('content-type').startsWith(type), `/assets/${name}: ${r.headers.get('content-type')}`);
    const body = Buffer.from(await r.arrayBuffer());
    assert.ok(body.equals(readFileSync(join(dir, 'assets', name))), `/assets/${name} is the current file (rebuild the binary)`);
    if (name.endsWith('.js') || name.endsWith('.css')) assert.doesNotMatch(body.toString(), /https?:\/\/(?!www\.w3\.org)/, `${name} names no outside URL`);
  }
});

test('login page, French and English labels (the choice is kept)', async () => {
  const page = await newPage(LAPTOP);
  await page.goto('/');
  await page.locator('[data-test=login-form]').waitFor();
  assert.equal(await page.locator('[data-test=login-submit]').innerText(), 'Sign in');
  await shot(page, '01-login-en-1366x768');
  await page.click('[data-test=lang-toggle]');
  assert.equal(await page.locator('[data-test=login-submit]').innerText(), 'Se connecter');
  await page.reload();
  await page.locator('[data-test=login-form]').waitFor();
  assert.equal(await page.locator('[data-test=login-submit]').innerText(), 'Se connecter', 'kept in localStorage');
  assert.equal(await page.evaluate(() => localStorage.getItem('vigie.lang')), 'fr');
  await shot(page, '02-login-fr');
  // A wrong password is refused with a message.
  await page.fill('#username', 'op1');
  await page.fill('#password', 'not-the-password');
  await page.click('[data-test=login-submit]');
  await page.locator('[data-test=login-error]:not(:empty)').waitFor();
  assert.match(await page.locator('[data-test=login-error]').innerText(), /incorrect|tentatives/);
  await page.click('[data-test=lang-toggle]');
  await page.context().close();
});

test('operator: camera live with boxes, alerts from the footage arrive live, confirm one, dismiss one, log out', async () => {
  const page = await newPage(FHD);
  await login(page, 'op1');
  await page.waitForURL(/#\/live/);
  // Count the alerts that come over the stream (SSE), from now on.
  await page.evaluate(() => {
    window.__sseAlerts = 0;
    window.vigie.bus.addEventListener('alert', () => { window.__sseAlerts++; });
  });

  const tile = page.locator(`[data-test=camera-tile][data-camera="${CAM}"]`);
  await tile.waitFor();
  // The frame refreshes (several frames loaded) and boxes are drawn over it.
  await page.waitForFunction((cam) => Number(document.querySelector(`[data-camera="${cam}"]`)?.dataset.frames) >= 3, CAM, { timeout: 60000 });
  await page.waitForFunction((cam) => Number(document.querySelector(`[data-camera="${cam}"]`)?.dataset.boxes) >= 1, CAM, { timeout: 60000 });
  await page.waitForFunction((cam) => document.querySelector(`[data-camera="${cam}"]`)?.dataset.state === 'streaming', CAM, { timeout: 30000 });
  assert.equal(await tile.locator('[data-test=state-badge]').getAttribute('data-state'), 'streaming');
  const img = await tile.locator('img.frame').evaluate((i) => ({ w: i.naturalWidth, h: i.naturalHeight }));
  assert.ok(img.w > 0 && img.h > 0, 'the frame is shown');
  // Something was painted on the overlay.
  const painted = await tile.locator('canvas.overlay').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(painted > 100, `overlay painted (${painted} pixels)`);
  await shot(page, '03-live-operator-1920x1080');

  // Alerts produced by the real footage arrive over the stream (two zones, two rules: two alerts).
  await page.waitForFunction(() => window.__sseAlerts > 0, null, { timeout: 120000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-test=pending-list] [data-test=alert-card]').length >= 2, null, { timeout: 120000 });
  const card = page.locator('[data-test=pending-list] [data-test=alert-card]').first();
  const id = await card.getAttribute('data-event-id');
  await shot(page, '04-live-with-alerts');
  const ev = await apiGet(page, `/api/events/${encodeURIComponent(id)}`);
  assert.equal(ev.status, 200);
  assert.equal(ev.body.camera, CAM);
  assert.equal(ev.body.status, 'pending');

  // Confirm it: it leaves the pending queue, and the decision is stored with who.
  await card.locator('[data-test=confirm]').click();
  await page.locator(`[data-test=pending-list] [data-event-id="${id}"]`).waitFor({ state: 'detached' });
  const pending = await apiGet(page, '/api/events?status=pending&limit=500');
  assert.ok(!pending.body.some((e) => String(e.id) === id), 'no longer pending');
  const after = await apiGet(page, `/api/events/${encodeURIComponent(id)}`);
  assert.equal(after.body.status, 'confirmed');
  assert.equal(after.body.decided_by, 'op1');

  // Dismiss the other with a reason.
  const other = page.locator('[data-test=pending-list] [data-test=alert-card]').first();
  const id2 = await other.getAttribute('data-event-id');
  await other.locator('[data-test=dismiss]').click();
  await other.locator('[data-test=dismiss-reason]').selectOption('false alarm: shadow');
  await shot(page, '04b-dismiss-with-reason');
  await other.locator('[data-test=dismiss-submit]').click();
  await page.locator(`[data-test=pending-list] [data-event-id="${id2}"]`).waitFor({ state: 'detached' });
  const d = await apiGet(page, `/api/events/${encodeURIComponent(id2)}`);
  assert.equal(d.body.status, 'dismissed');
  assert.equal(d.body.reason, 'false alarm: shadow');
  assert.equal(d.body.decided_by, 'op1');

  // The event's page: snapshot, timeline (and the clip, tested below).
  await page.goto(`/#/events/${encodeURIComponent(id)}`);
  await page.locator('[data-test=timeline]').waitFor();
  if (after.body.snapshot_url) {
    await page.waitForFunction(() => document.querySelector('[data-test=event-snapshot]')?.naturalWidth > 0);
  }
  await shot(page, '05-event-detail');

  // The alerts page, decided tab.
  await page.goto('/#/alerts');
  await page.click('[data-tab=decided]');
  await page.locator(`[data-test=alerts-list] [data-event-id="${id}"]`).waitFor();
  await shot(page, '06-alerts-decided');

  // The laptop screen.
  await page.setViewportSize(LAPTOP);
  await page.goto('/#/live');
  await page.waitForFunction((cam) => Number(document.querySelector(`[data-camera="${cam}"]`)?.dataset.frames) >= 1, CAM, { timeout: 30000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 1366x768 (${overflow}px)`);
  await shot(page, '07-live-operator-1366x768');
  // The labels in French, then back.
  await page.click('[data-test=lang-toggle]');
  await page.locator('nav.main-nav a[data-nav=live]', { hasText: 'Direct' }).waitFor();
  await page.waitForFunction((cam) => Number(document.querySelector(`[data-camera="${cam}"]`)?.dataset.frames) >= 1, CAM);
  assert.equal(await page.locator('[data-test=logout]').innerText(), 'Déconnexion');
  await shot(page, '07b-live-operator-fr-1366x768');
  await page.click('[data-test=lang-toggle]');
  await page.locator('nav.main-nav a[data-nav=live]', { hasText: 'Live' }).waitFor();

  await logout(page);
  await shot(page, '08-logged-out');
  await page.context().close();
});

test('event clip plays from the recordings', async (t) => {
  const page = await newPage(FHD);
  await login(page, 'op1');
  const list = await apiGet(page, '/api/events?status=all&limit=1');
  if (!list.body || !list.body.length) { t.skip('no event yet'); await page.context().close(); return; }
  const ev = await apiGet(page, `/api/events/${encodeURIComponent(list.body[0].id)}`);
  if (!ev.body.clip_url) {
    t.skip('FIXME: the API serves no clip yet (GET /api/events/{id}/clip.mp4 not built; clip_url is null)');
    await page.context().close();
    return;
  }
  await page.goto(`/#/events/${encodeURIComponent(ev.body.id)}`);
  await page.locator('[data-test=event-clip]').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test=event-clip]')?.readyState >= 1, null, { timeout: 30000 });
  const duration = await page.locator('[data-test=event-clip]').evaluate((v) => v.duration);
  assert.ok(duration > 0, `the clip has a duration (${duration} s)`);
  await shot(page, '09-event-clip');
  await page.context().close();
});

test('supervisor: draw a zone on the frame, drag a point, save it; the API validates', async () => {
  const page = await newPage(FHD);
  await login(page, 'sup1');
  await page.goto(`/#/zones/${CAM}`);
  const canvas = page.locator('[data-test=zone-canvas]');
  await canvas.waitFor();
  await page.waitForFunction(() => document.querySelector('.editor-stage')?.dataset.loaded === 'true', null, { timeout: 30000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-test=zone-canvas]')?.dataset.zones) >= 1);
  const before = await apiGet(page, `/api/cameras/${CAM}/zones`);
  assert.equal(before.status, 200);
  // A state change without the X-CSRF-Token header (as a forged cross-site request would be) is refused.
  const forged = await page.request.put(`/api/cameras/${CAM}/zones`, { data: before.body });
  assert.equal(forged.status(), 403, 'PUT without X-CSRF-Token');

  // Draw: click four points, then close on the first one.
  await page.click('[data-test=new-zone]');
  const box = await canvas.boundingBox();
  const at = (x, y) => [box.x + x * box.width, box.y + y * box.height];
  const pts = [[0.05, 0.1], [0.3, 0.1], [0.3, 0.4], [0.05, 0.4]];
  for (const [x, y] of pts) await page.mouse.click(...at(x, y));
  await page.mouse.click(...at(...pts[0]));
  await page.waitForFunction(() => Number(document.querySelector('[data-test=zone-canvas]')?.dataset.drawing) === 0);
  // Drag the third point to (0.35, 0.45).
  await page.mouse.move(...at(0.3, 0.4));
  await page.mouse.down();
  await page.mouse.move(...at(0.33, 0.43), { steps: 3 });
  await page.mouse.move(...at(0.35, 0.45), { steps: 3 });
  await page.mouse.up();
  // Name it.
  const name = page.locator('[data-test=zone-list] li.selected input');
  await name.fill('e2e-entrance');
  // Have the intrusion rule watch it too.
  await page.locator('aside.zone-side label.tick[data-rule="walkway-right-presence"][data-shape="e2e-entrance"] input').check();
  await shot(page, '10-zone-editor-drawn');
  await page.click('[data-test=save-zones]');
  await page.locator('.toast-ok').waitFor();
  const saved = await apiGet(page, `/api/cameras/${CAM}/zones`);
  const z = saved.body.zones.find((zz) => zz.id === 'e2e-entrance');
  assert.ok(z, `GET zones shows the new zone: ${JSON.stringify(saved.body.zones)}`);
  assert.equal(z.polygon.length, 4);
  const near = (a, b) => Math.abs(a - b) < 0.02;
  assert.ok(near(z.polygon[0][0], 0.05) && near(z.polygon[0][1], 0.1), `first point ${z.polygon[0]}`);
  assert.ok(near(z.polygon[2][0], 0.35) && near(z.polygon[2][1], 0.45), `dragged point ${z.polygon[2]}`);
  assert.ok(saved.body.zones.some((zz) => zz.id === 'walkway-right'), 'the other zones are kept');
  const rule = saved.body.rules.find((r) => r.id === 'walkway-right-presence');
  assert.deepEqual(rule.zones, ['walkway-right', 'e2e-entrance'], 'the rule watches the new zone');
  assert.equal(saved.body.rules.length, before.body.rules.length, 'the rules are kept');
  // The live view gets it too.
  const live = await apiGet(page, `/api/cameras/${CAM}/live`);
  assert.ok(live.body.zones.some((zz) => zz.id === 'e2e-entrance'), 'applied to the running camera');

  // Deleting a zone that a rule uses: the API refuses with 400 naming it, and the editor shows the message.
  const items = page.locator('[data-test=zone-list] li[data-shape]');
  let deleted = false;
  for (let i = 0; i < (await items.count()); i++) {
    if ((await items.nth(i).locator('input[data-test=zone-name]').inputValue()) === 'walkway-right') {
      await items.nth(i).locator('[data-test=delete-zone]').click();
      deleted = true;
      break;
    }
  }
  assert.ok(deleted, 'zone walkway-right listed');
  // The rule's tick for it shows it missing.
  await page.locator('aside.zone-side label.tick.missing[data-shape="walkway-right"]').waitFor();
  await page.click('[data-test=save-zones]');
  await page.locator('[data-test=zone-api-error]').waitFor();
  assert.match(await page.locator('[data-test=zone-api-error]').innerText(), /^400 .*walkway-right/s);
  await shot(page, '11-zone-editor-validation-error');
  await page.click('[data-test=discard-zones]');
  await page.setViewportSize(LAPTOP);
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 1366x768 (${overflow}px)`);
  await shot(page, '11b-zone-editor-1366x768');
  await page.setViewportSize(FHD);
  const unchanged = await apiGet(page, `/api/cameras/${CAM}/zones`);
  assert.ok(unchanged.body.zones.some((zz) => zz.id === 'walkway-right'), 'nothing saved on a refusal');

  await page.goto('/#/live');
  await page.waitForFunction((cam) => Number(document.querySelector(`[data-camera="${cam}"]`)?.dataset.frames) >= 2, CAM, { timeout: 30000 });
  await shot(page, '12-live-supervisor-new-zone');
  await logout(page);
  await page.context().close();
});

test('a parking agent is refused the camera; the parking queue shows', async (t) => {
  const page = await newPage(LAPTOP);
  await login(page, 'park1');
  await page.waitForURL(/#\/parking/);
  assert.equal(await page.locator('nav.main-nav a[data-nav=live]').count(), 0, 'no live view in the menu');
  const frame = await page.request.get(`/api/cameras/${CAM}/frame.jpg`);
  assert.equal(frame.status(), 403, 'frame.jpg refused');
  assert.equal((await page.request.get('/api/cameras')).status(), 403, 'camera list refused');
  assert.equal((await page.request.get('/api/events')).status(), 403, 'events refused');
  await page.locator('[data-test=parking-list] > *').first().waitFor();
  const queue = await page.request.get('/api/parking/queue');
  if (queue.status() === 404) {
    t.diagnostic('no parking zone configured on this server (404): the console shows "not available"');
    await page.locator('[data-test=parking-unavailable]').waitFor();
  } else {
    assert.equal(queue.status(), 200);
    assert.equal(await page.locator('[data-test=parking-unavailable]').count(), 0);
  }
  await shot(page, '13-parking-queue');
  // Going to the live page by hand shows no image.
  await page.goto('/#/live');
  await page.locator('[data-test=camera-grid] .form-error').waitFor();
  assert.equal(await page.locator('[data-test=camera-tile]').count(), 0);
  await shot(page, '14-parking-agent-refused-live');
  await logout(page);
  await page.context().close();
});

test('an operator of another camera does not see this one (404, names do not leak)', async () => {
  const page = await newPage(LAPTOP);
  await login(page, 'op-lobby');
  const cams = await apiGet(page, '/api/cameras');
  assert.deepEqual(cams.body.map((c) => c.name), ['lobby']);
  assert.equal((await page.request.get(`/api/cameras/${CAM}/frame.jpg`)).status(), 404);
  assert.equal((await page.request.get(`/api/cameras/${CAM}/live`)).status(), 404);
  await page.locator('[data-test=camera-tile][data-camera=lobby]').waitFor();
  assert.equal(await page.locator(`[data-test=camera-tile][data-camera="${CAM}"]`).count(), 0);
  await shot(page, '15-operator-other-camera');
  await logout(page);
  await page.context().close();
});

test('admin: creates an investigator account in the console; the investigator reviews alerts, without deciding', async () => {
  const page = await newPage(FHD);
  await login(page, 'admin1');
  await page.waitForURL(/#\/live/);
  await page.click('nav.main-nav a[data-nav=users]');
  const form = page.locator('[data-test=user-form]');
  await form.waitFor();
  await form.locator('input[name=new-username]').fill('inv1');
  await form.locator('input[name=new-password]').fill(PASSWORD);
  await form.locator('select[name=new-role]').selectOption('investigator');
  await form.locator('button[type=submit]').click();
  await page.locator('[data-test=users-table] tr[data-user=inv1]').waitFor();
  await shot(page, '16-users-admin');
  await logout(page);

  await login(page, 'inv1');
  await page.waitForURL(/#\/alerts/);
  assert.equal(await page.locator('nav.main-nav a[data-nav=live]').count(), 0, 'no live view for an investigator');
  await page.click('[data-tab=all]');
  await page.locator('[data-test=alerts-list] [data-test=alert-card]').first().waitFor({ timeout: 30000 });
  assert.equal(await page.locator('[data-test=confirm]').count(), 0, 'no decision buttons');
  assert.equal((await page.request.get(`/api/cameras/${CAM}/frame.jpg`)).status(), 403);
  await shot(page, '17-investigator-alerts');
  await logout(page);
  await page.context().close();
});

test('the public register: no login, a camera row with its place and active analytics, French and English', async () => {
  const page = await newPage(FHD, 'fr-FR');
  await page.goto('/register');
  const row = page.locator(`tr[data-camera=${CAM}]`);
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /Passage piéton/);
  assert.match(text, /intrusion/);
  assert.match(text, /arrêté e2e-001/);
  assert.equal(await page.locator('tr[data-camera=lobby]').count(), 1);
  await shot(page, 'register');
  await page.click('#lang');
  await page.locator('h1', { hasText: 'Public CCTV register' }).waitFor();
  const r = await page.request.get('/api/register');
  assert.equal(r.status(), 200);
  const reg = await r.json();
  assert.equal(reg.cameras.find((c) => c.name === CAM).place, 'Passage piéton, rue de la Gare');
  const signage = await page.request.get(`/register/signage/${CAM}`);
  assert.equal(signage.status(), 200);
  assert.match(await signage.text(), /Zone placée sous vidéoprotection/);
  await page.context().close();
});

const CASE = 'E2E-PV-2026-001';
const PLATES_CASE = 'E2E-PV-2026-000';

test('investigator: search in a case, thumbnails, timeline marks, a hit opens the recording at that moment', async () => {
  const page = await newPage(FHD);
  await login(page, 'inv2');
  await page.waitForURL(/#\/alerts/);
  await page.click('nav.main-nav a[data-nav=search]');
  await page.waitForURL(/#\/search/);
  await page.locator('[data-test=case-select] option').first().waitFor({ state: 'attached' });
  assert.equal(await page.locator('[data-test=case-select]').inputValue(), CASE);
  assert.match(await page.locator('[data-test=case-info]').innerText(), /walkway/);
  // No colour for people: the colour field shows for vehicles only.
  const form = page.locator('[data-test=search-form]');
  await form.locator('select[name=class]').selectOption('car');
  assert.equal(await form.locator('select[name=colour]').isVisible(), true, 'colour for vehicles');
  await form.locator('select[name=class]').selectOption('person');
  assert.equal(await form.locator('select[name=colour]').isVisible(), false, 'no colour for people');
  assert.equal(await form.locator('input[name=plate]').count(), 0, 'no plate field: this case does not allow plates');
  // People walking on the walkway: tracks stored by the live analysis, found within the case (the tracks of the
  // footage's first minutes end and get a recording within a segment or two).
  let hits = 0;
  for (let i = 0; i < 30 && hits < 1; i++) {
    await form.locator('[data-test=search-submit]').click();
    await page.locator('[data-test=hit-count]').waitFor();
    hits = await page.locator('[data-test=hit]').count();
    if (hits < 1) await page.waitForTimeout(2000);
  }
  assert.ok(hits >= 1, 'the search finds people on the walkway');
  assert.equal(await page.locator('[data-test=timeline-mark]').count(), hits, 'one timeline mark per hit');
  assert.ok(await page.locator('.search-tl[data-camera=walkway]').count() === 1, 'a timeline for the camera');
  // Thumbnails come from the recording (at least one whose segment is committed already).
  await page.waitForFunction(() => [...document.querySelectorAll('[data-test=hit-thumb]')].some((i) => i.complete && i.naturalWidth > 0), null, { timeout: 60000 });
  await shot(page, '18-search-results');
  // The API refuses a camera outside the case (404) and the moment outside its window (404).
  const cases = await apiGet(page, '/api/cases');
  const c = cases.body.find((x) => x.reference === CASE);
  assert.ok(c, 'the case is listed for inv2');
  assert.equal((await page.request.get(`/api/cases/${CASE}/recording.mp4?camera=lobby&at_unix_ms=${c.from_unix_ms + 1000}`)).status(), 404);
  assert.equal((await page.request.get(`/api/cases/${CASE}/recording.mp4?camera=walkway&at_unix_ms=${c.from_unix_ms - 60000}`)).status(), 404);
  // Click a timeline mark: the player loads the recording at that moment.
  const mark = page.locator('[data-test=timeline-mark]').first();
  await mark.click();
  const player = page.locator('[data-test=search-player]');
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-test=search-player]');
    return v && v.readyState >= 1 && v.duration > 0;
  }, null, { timeout: 60000 });
  const v = await player.evaluate((el) => ({ ready: el.readyState, duration: el.duration, at: Number(el.dataset.at), t: el.currentTime }));
  assert.ok(v.duration > 0, `the recording has a duration (${v.duration} s)`);
  assert.ok(v.at >= c.from_unix_ms && v.at < c.to_unix_ms, 'the moment is inside the case');
  assert.equal(await page.locator('[data-test=hit].selected').count(), 1, 'the hit is selected in the list');
  await page.waitForTimeout(500);
  await shot(page, '19-search-recording');
  // A hit of the list plays too.
  await page.locator('[data-test=hit]').last().click();
  await page.waitForFunction(() => document.querySelector('[data-test=search-player]')?.readyState >= 1, null, { timeout: 60000 });
  // At 1366x768, nothing overflows sideways.
  await page.setViewportSize(LAPTOP);
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 1366x768 (${overflow}px)`);
  await shot(page, '20-search-1366x768');
  // Plates: refused in a case whose order does not allow them; a plate field in the one that does, alone.
  const refused = await page.request.get(`/api/cases/${CASE}/search?plate=AB*`);
  assert.equal(refused.status(), 403, 'no plate search in this case');
  assert.match((await refused.json()).error, /does not allow plate searches/);
  await page.locator('[data-test=case-select]').selectOption(PLATES_CASE);
  const pform = page.locator('[data-test=search-form]');
  await pform.locator('[data-test=plate-input]').waitFor();
  assert.match(await page.locator('[data-test=case-info]').innerText(), /plate searches allowed|recherche de plaques autorisée/);
  await pform.locator('[data-test=plate-input]').fill('ab-1*');
  assert.equal(await pform.locator('select[name=class]').isDisabled(), true, 'a plate search is alone');
  await pform.locator('[data-test=search-submit]').click();
  await page.locator('[data-test=hit-count]').waitFor();
  assert.equal(await page.locator('[data-test=search-error]').innerText(), '', 'the plate search ran');
  await shot(page, '20b-search-plate');
  await logout(page);
  await page.context().close();
});

test('an investigator not on the case finds nothing of it; other roles have no search', async () => {
  const page = await newPage(LAPTOP);
  await login(page, 'inv-other');
  await page.goto('/#/search');
  await page.locator('[data-test=no-case]').waitFor();
  assert.equal((await page.request.get(`/api/cases/${CASE}/search`)).status(), 404, 'not on the case: 404');
  assert.equal((await page.request.get(`/api/cases/${CASE}/tracks/1/1/thumb.jpg`)).status(), 404);
  await shot(page, '21-search-not-on-case');
  await logout(page);
  await login(page, 'op1');
  assert.equal(await page.locator('nav.main-nav a[data-nav=search]').count(), 0, 'no search for an operator');
  assert.equal(await page.locator('nav.main-nav a[data-nav=accuracy]').count(), 0, 'no accuracy for an operator');
  assert.equal(await page.locator('nav.main-nav a[data-nav=authorisations]').count(), 0, 'no authorisations for an operator');
  assert.equal((await page.request.get('/api/cases')).status(), 403);
  assert.equal((await page.request.get(`/api/cases/${CASE}/recording.mp4?camera=${CAM}&at_unix_ms=${Date.now()}`)).status(), 403);
  assert.equal((await page.request.get('/api/accuracy')).status(), 403);
  assert.equal((await page.request.get('/api/authorisations')).status(), 403);
  for (const p of ['search', 'accuracy', 'authorisations']) {
    await page.goto(`/#/${p}`);
    await page.locator('[data-test=page-refused]').waitFor();
  }
  await shot(page, '22-operator-refused-accuracy');
  await logout(page);
  await page.context().close();
});

test('supervisor: the accuracy table has the decisions made earlier (one confirmed, one dismissed), and a trend', async () => {
  const page = await newPage(FHD);
  await login(page, 'sup1');
  await page.click('nav.main-nav a[data-nav=accuracy]');
  await page.waitForURL(/#\/accuracy/);
  const row = page.locator('[data-test=accuracy-by-type] tr[data-key=intrusion]');
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  const [, raised, decided, confirmed, dismissed] = cells.map((x) => Number(x));
  assert.ok(raised >= 2, `raised ${raised}`);
  assert.ok(decided >= 2 && confirmed >= 1 && dismissed >= 1, `decided ${decided}, confirmed ${confirmed}, dismissed ${dismissed}`);
  const acc = await apiGet(page, '/api/accuracy');
  const byType = acc.body.by_type.find((r) => r.key === 'intrusion');
  assert.equal(Number(await row.locator('td[data-precision]').getAttribute('data-precision')), byType.precision);
  assert.match(cells[5], /%/);
  const cam = page.locator(`[data-test=accuracy-by-camera] tr[data-key=${CAM}]`);
  await cam.waitFor();
  assert.ok(Number((await cam.locator('td').nth(7).innerText()).replace(',', '.')) > 0, 'false alarms per camera-day');
  assert.ok(await page.locator('[data-test=accuracy-chart] circle.dot').count() >= 1, 'the weekly trend has a point');
  assert.equal(await page.locator('nav.main-nav a[data-nav=authorisations]').count(), 0, 'no authorisations for a supervisor');
  assert.equal(await page.locator('nav.main-nav a[data-nav=search]').count(), 0, 'no search for a supervisor');
  await shot(page, '23-accuracy-supervisor');
  await page.click('[data-test=lang-toggle]');
  await page.locator('h1', { hasText: 'Fiabilité mesurée' }).waitFor();
  await shot(page, '23b-accuracy-supervisor-fr');
  await page.click('[data-test=lang-toggle]');
  await logout(page);
  await page.context().close();
});

test('admin: records an authorisation, sees it valid, revokes it', async () => {
  const page = await newPage(FHD);
  await login(page, 'admin1');
  await page.click('nav.main-nav a[data-nav=authorisations]');
  await page.waitForURL(/#\/authorisations/);
  await page.locator('[data-test=authorisations-table] tr[data-reference="arrêté e2e-001"]').waitFor();
  assert.equal(await page.locator('[data-test=authorisations-table] tr[data-reference="arrêté e2e-001"]').getAttribute('data-state'), 'valid');
  const form = page.locator('[data-test=authorisation-form]');
  await form.locator('input[name=authority]').fill('Préfecture (e2e)');
  await form.locator('input[name=reference]').fill('arrêté e2e-002');
  await form.locator('input[name=cameras]').fill(CAM);
  await form.locator('input[name=event_type][value=fire_start]').check();
  await form.locator('[data-test=authorisation-add]').click();
  const row = page.locator('[data-test=authorisations-table] tr[data-reference="arrêté e2e-002"]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-state'), 'valid');
  assert.match(await row.innerText(), /walkway/);
  await shot(page, '24-authorisations-added');
  page.once('dialog', (d) => d.accept());
  await row.locator('[data-test=authorisation-revoke]').click();
  await page.locator('[data-test=authorisations-table] tr[data-reference="arrêté e2e-002"][data-state=revoked]').waitFor();
  const list = await apiGet(page, '/api/authorisations');
  const a = list.body.find((x) => x.reference === 'arrêté e2e-002');
  assert.equal(a.revoked_by, 'admin1');
  assert.equal(a.valid_now, false);
  assert.ok(list.body.find((x) => x.reference === 'arrêté e2e-001').valid_now, 'the other one still valid');
  await shot(page, '25-authorisations-revoked');
  // A second revoke is refused (409).
  const me = await apiGet(page, '/api/me');
  const again = await page.request.post(`/api/authorisations/${a.id}/revoke`, { headers: { 'X-CSRF-Token': me.body.csrf_token } });
  assert.equal(again.status(), 409);
  await logout(page);
  await page.context().close();
});

test('auditor: the audit log shows what others did, filters, loads more, exports (logged) and is intact', async () => {
  const page = await newPage(FHD);
  await login(page, 'audit1');
  // The auditor's home is the audit log, and nothing else is in the navigation.
  await page.waitForURL(/#\/audit/);
  assert.deepEqual(await page.locator('nav.main-nav a').evaluateAll((as) => as.map((a) => a.dataset.nav)), ['audit']);
  await page.locator('[data-test=audit-verify][data-intact=true]').waitFor();
  const table = page.locator('[data-test=audit-table]');
  await table.locator('tr[data-seq]').first().waitFor();
  // Other users' actions: the admin's revocation (earlier test), the operator's logins.
  assert.ok(await table.locator('tr[data-actor=admin1][data-action=config_change]').count() >= 1, 'the admin\'s authorisation changes');
  assert.ok(await table.locator('tr[data-actor=op1][data-action=login]').count() >= 1, 'the operator\'s logins');
  const seqs = (await table.locator('tr[data-seq]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.seq))));
  assert.ok(seqs.every((s, i) => i === 0 || seqs[i - 1] > s), 'newest first');
  await shot(page, '26-audit-log');
  // Filters: actor and action.
  await page.fill('[data-test=audit-actor]', 'admin1');
  await page.selectOption('[data-test=audit-action]', 'config_change');
  await page.click('[data-test=audit-apply]');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-test=audit-table] tr[data-seq]')];
    return rows.length > 0 && rows.every((r) => r.dataset.actor === 'admin1' && r.dataset.action === 'config_change');
  });
  await shot(page, '27-audit-filtered');
  // Load more: pages of 100 through the API; here the page is whole when the log is short.
  const all = await apiGet(page, '/api/audit?limit=2');
  assert.equal(all.status, 200);
  assert.equal(all.body.entries.length, 2);
  const next = await apiGet(page, `/api/audit?limit=2&before_seq=${all.body.next_before_seq}`);
  assert.ok(next.body.entries[0].seq < all.body.entries[1].seq, 'the next page continues below');
  // Export: a JSON-lines attachment, and the export is itself in the log.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=audit-export]')]);
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.type === 'entry' && l.actor === 'op1'), 'entries of other users');
  const mine = await apiGet(page, '/api/audit?actor=audit1&action=export');
  assert.ok(mine.body.entries.length >= 1 && mine.body.entries[0].target === 'audit', 'the export is logged');
  const v = await apiGet(page, '/api/audit/verify');
  assert.equal(v.body.intact, true);
  await page.click('[data-test=lang-toggle]');
  await page.locator('h1', { hasText: 'Journal d’audit' }).waitFor();
  await page.locator('[data-test=audit-verify][data-intact=true]').waitFor();
  await shot(page, '26b-audit-log-fr');
  await page.click('[data-test=lang-toggle]');
  await logout(page);
  // Other roles: no audit log.
  await login(page, 'admin1');
  assert.equal(await page.locator('nav.main-nav a[data-nav=audit]').count(), 0, 'no audit log for an admin');
  for (const p of ['/api/audit', '/api/audit/export', '/api/audit/verify']) {
    assert.equal((await page.request.get(p)).status(), 403, `${p} as admin`);
  }
  await page.goto('/#/audit');
  await page.locator('[data-test=page-refused]').waitFor();
  await logout(page);
  await page.context().close();
});

test('no request left the server, no script error', () => {
  assert.deepEqual(outside, [], 'requests outside the server');
  assert.deepEqual(pageErrors, [], 'JavaScript errors');
});
