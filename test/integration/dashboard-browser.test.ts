// The dashboard in a real browser: Debian's chromium driven by playwright-core, in front of a
// repo server driving a real HAProxy. Signs in, sees a unit appear and expire through the live
// event stream, runs a canary and a rollback behind the gate preview (a refused gate disables
// Confirm) and reads the weights HAProxy runs from its runtime API, renders and scrolls 1,000 units, works by
// keyboard and at phone width, shows snapshots/publishes/package detail and uploads by drag
// and drop. Any console error fails the test. Screenshots go to test-output/screenshots/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBackend, type Backend } from '../support/color-backends.js';
import { debFileName, makeDeb } from '../support/deb-fixture.js';
import { TestRepoServer, TEST_NODE_TOKEN, TEST_TOKEN } from '../support/repo-server.js';
import { freePort } from '../support/ports.js';
import { startAll } from '../support/start-all.js';
import { parseServersState, runtimeCommand } from '../../repo-server/colors/lb/haproxy-runtime.js';
import { lbPaths } from '../../repo-server/colors/lb/index.js';

const SHOTS = 'test-output/screenshots';
const TTL_MS = 2000;
/**
 * Rendering and scrolling through 1,000 units must each finish within this, and the median
 * frame while scrolling within FRAME_BOUND_MS. Generous for a loaded shared 2-core host; the
 * DOM bound (rows rendered) is the exact check, these catch a list that renders every unit.
 */
const BIG_BOUND_MS = 10_000;
const FRAME_BOUND_MS = 200;
/**
 * Kept in the page: every focus change (and a focused element's removal) with its time, so a
 * failed focus check says what took the focus instead of only where it ended.
 */
const FOCUS_LOG = `(() => {
  const log = (globalThis.__focusLog = []);
  const name = (el) => !el || el === document.body ? 'body' : el.tagName.toLowerCase() + (el.textContent ? ' "' + el.textContent.slice(0, 30) + '"' : '') + (el.isConnected ? '' : ' (detached)');
  const at = () => performance.now().toFixed(1);
  addEventListener('focusin', (e) => log.push(at() + ' focusin ' + name(e.target)), true);
  addEventListener('focusout', (e) => log.push(at() + ' focusout ' + name(e.target) + ' -> ' + name(e.relatedTarget)), true);
  addEventListener('keydown', (e) => log.push(at() + ' keydown ' + e.key + ' on ' + name(e.target)), true);
  addEventListener('click', (e) => log.push(at() + ' click ' + name(e.target)), true);
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.removedNodes) {
      if (n.nodeType !== 1) continue;
      if (n.matches('button, .backdrop') || n.querySelector('button')) log.push(at() + ' removed ' + name(n) + ', focus on ' + name(document.activeElement));
      // Where the focus is as the dialog leaves the page (before any timer or frame runs).
      if (n.matches('.backdrop')) globalThis.__focusAtClose = name(document.activeElement);
    }
  }).observe(document, { childList: true, subtree: true });
})();`;

const activeText = (p: Page): Promise<string> =>
  p.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent);

/** The focused element's text, and the focus log when `want` is not it. */
async function focusedText(p: Page, want: string): Promise<string> {
  const got = await activeText(p);
  if (got !== want) {
    const log = await p.evaluate(() => (globalThis as unknown as { __focusLog: string[] }).__focusLog);
    process.stderr.write(`focus log (want "${want}"):\n  ${log.slice(-40).join('\n  ')}\n`);
  }
  return got;
}
let server: TestRepoServer;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
let blue: Backend;
let green: Backend;

const beat = (b: Backend, health = 'healthy') =>
  server.api('PUT', `/api/units/web/${b.node}`, { Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1', Package: 'web', Health: health }, TEST_NODE_TOKEN);

/** HAProxy's weight of each server of backend web, read from its runtime API. */
async function haproxyWeights(): Promise<Record<string, number>> {
  const socket = lbPaths({ adapter: 'haproxy', manage: true }, server.dataDir).socket;
  return Object.fromEntries(parseServersState(await runtimeCommand(socket, 'show servers state web')).map((x) => [x.name, x.weight]));
}

async function waitForWeights(what: string, ok: (w: Record<string, number>) => boolean): Promise<Record<string, number>> {
  let w: Record<string, number> = {};
  for (let i = 0; i < 50; i++) {
    w = await haproxyWeights();
    if (ok(w)) return w;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`HAProxy never ran ${what}: ${JSON.stringify(w)}`);
}

test.before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await TestRepoServer.start({ color: { ttlMs: TTL_MS, lb: { adapter: 'haproxy', manage: true } } });
  const cfg = await server.api('PUT', '/api/services/web', { Listen: `127.0.0.1:${await freePort()}` });
  assert.is(cfg.status, 200, cfg.text);
  [blue, green] = await startAll([startBackend('b1', 'blue', '127.0.0.2'), startBackend('g1', 'green', '127.0.0.3')]);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.addInitScript(FOCUS_LOG);
});

test.after(async () => {
  await browser?.close();
  await server?.stop();
  await Promise.all([blue, green].filter(Boolean).map((b) => b.close()));
});

test('sign in: a wrong token is refused, the right one is kept in sessionStorage only', async () => {
  await page.goto(`${server.url}/ui/`);
  await page.screenshot({ path: `${SHOTS}/login.png` });
  await page.fill('input[type=password]', 'wrong');
  await page.click('button[type=submit]');
  await page.waitForSelector('[role=alert]');
  consoleErrors.length = 0; // the browser logs the refused request (401) itself
  await page.fill('input[type=password]', TEST_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('header');
  assert.is(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('debpkg-token')), TEST_TOKEN);
  assert.not.match(page.url(), /token/);
});

test('live: a unit appears; the gate preview refuses, then a canary and a rollback run; the units expire', async () => {
  // No reload and no polling: the page learns of everything below from /api/events.
  const polls: string[] = [];
  page.on('request', (r) => {
    if (/\/api\/services(\/web)?$/.test(r.url()) && r.method() === 'GET') polls.push(r.url());
  });
  assert.is((await beat(blue)).status, 200);
  assert.is((await beat(green, 'unhealthy')).status, 200);
  await page.waitForSelector('nav button:has-text("web")', { timeout: 5000 });
  await page.click('nav button:has-text("web")');
  await page.waitForSelector('[role=row]:has-text("g1")', { timeout: 5000 });
  await page.waitForSelector('text=● live');

  // g1 reports unhealthy: the preview shows the refusal and Confirm stays disabled.
  await page.fill('input[type=number]', '20');
  await page.click('button:has-text("Canary")');
  await page.waitForSelector('[data-gate=refused]', { timeout: 5000 });
  assert.match((await page.textContent('[role=dialog] [role=alert]')) ?? '', /g1: reports unhealthy/);
  assert.ok(await page.isDisabled('[role=dialog] button:has-text("Confirm")'));
  await page.screenshot({ path: `${SHOTS}/confirm-refused.png` });
  await page.keyboard.press('Escape');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  assert.is(await focusedText(page, 'Canary'), 'Canary');
  // Back on the opener by the time the dialog left the page: never a moment on <body>.
  assert.is(await page.evaluate(() => (globalThis as unknown as { __focusAtClose: string }).__focusAtClose), 'button "Canary"');

  const beats = setInterval(() => void Promise.all([beat(blue), beat(green)]).catch(() => undefined), 400);
  await beat(green);
  await page.waitForSelector('[role=row]:has-text("g1") >> text=healthy', { timeout: 5000 });
  await page.click('button:has-text("Canary")');
  await page.waitForSelector('[data-gate=passed]', { timeout: 5000 });
  const plan = (await page.textContent('table.plan')) ?? '';
  assert.match(plan.replace(/\s+/g, ' '), /now100%0%blue→ step 180%20%blue/);
  await page.screenshot({ path: `${SHOTS}/confirm-canary.png` });
  await page.click('[role=dialog] button:has-text("Confirm")');
  await page.waitForSelector('[role=status]:has-text("done")', { timeout: 5000 });
  await page.waitForSelector('text=green 20%', { timeout: 5000 });
  await page.waitForSelector('td:has-text("canary")', { timeout: 5000 });
  // The load balancer itself took the canary: a fifth of the weight on green.
  const canary = await waitForWeights('the canary', (w) => (w['green-g1'] ?? 0) > 0);
  const share = canary['green-g1']! / (canary['green-g1']! + canary['blue-b1']!);
  assert.ok(Math.abs(share - 0.2) < 0.02, `green's share in HAProxy: ${JSON.stringify(canary)}`);
  await page.screenshot({ path: `${SHOTS}/service-canary.png` });
  await page.click('button:has-text("Rollback")');
  await page.waitForSelector('[data-gate=passed]', { timeout: 5000 });
  await page.click('[role=dialog] button:has-text("Confirm")');
  await page.waitForSelector('text=green 0%', { timeout: 5000 });
  const svc = (await server.api('GET', '/api/services/web')).json as { Weights: { green: number } };
  assert.is(svc.Weights.green, 0);
  const back = await waitForWeights('the rollback', (w) => w['green-g1'] === 0);
  assert.ok((back['blue-b1'] ?? 0) > 0, JSON.stringify(back));
  clearInterval(beats);
  await page.waitForSelector('[role=row]:has-text("expired")', { timeout: TTL_MS * 4 });
  await page.screenshot({ path: `${SHOTS}/service-expired.png` });
  assert.equal(polls, [], 'the service view polled');
});

test('keyboard: Tab reaches the actions; the dialog keeps focus inside and closes on Escape', async () => {
  await page.click('header b');
  let reached = '';
  for (let i = 0; i < 30 && reached !== 'Rolling'; i++) {
    await page.keyboard.press('Tab');
    reached = await activeText(page);
  }
  assert.is(reached, 'Rolling');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[role=dialog]');
  const inside = async () => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { closest(s: string): unknown } } }).document.activeElement.closest('[role=dialog]') !== null);
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await inside(), `focus left the dialog after ${i + 1} Tab(s)`);
  }
  await page.keyboard.press('Escape');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
});

test('1,000 units: rendered and scrolled within a bound, with a bounded DOM', async () => {
  for (let i = 0; i < 1000; i += 50) {
    const batch = Array.from({ length: 50 }, (_, j) => server.api('PUT', `/api/units/big/n${String(i + j).padStart(4, '0')}`, { Address: '127.0.0.1', Port: 9, Color: (i + j) % 2 ? 'green' : 'blue', Version: '2.0-1', Package: 'big' }, TEST_NODE_TOKEN));
    for (const r of await Promise.all(batch)) assert.is(r.status, 200);
  }
  await page.waitForSelector('nav button:has-text("big")', { timeout: 5000 });
  const t0 = Date.now();
  await page.click('nav button:has-text("big")');
  await page.waitForSelector('[role=row]:has-text("n0000")', { timeout: BIG_BOUND_MS });
  const renderMs = Date.now() - t0;
  const rows = await page.locator('.scroller [role=row]').count();
  assert.ok(rows > 10 && rows < 100, `${rows} rows in the DOM for 1,000 units`);
  assert.is(await page.getAttribute('[role=table][aria-label=units]', 'aria-rowcount'), '1001');
  const t1 = Date.now();
  // Scrolled in steps, as a wheel does; each frame must keep up.
  const frames = await page.evaluate(async () => {
    const el = (globalThis as unknown as { document: { querySelector(s: string): { scrollTop: number; scrollHeight: number } } }).document.querySelector('.scroller');
    const raf = (globalThis as unknown as { requestAnimationFrame(f: (t: number) => void): void }).requestAnimationFrame;
    const gaps: number[] = [];
    let last = 0;
    for (let i = 0; i <= 40; i++) {
      el.scrollTop = (el.scrollHeight * i) / 40;
      const t = await new Promise<number>((resolve) => raf(resolve));
      if (last) gaps.push(t - last);
      last = t;
    }
    return gaps;
  });
  await page.waitForSelector('[role=row]:has-text("n0999")', { timeout: BIG_BOUND_MS });
  const scrollMs = Date.now() - t1;
  const worst = Math.max(...frames);
  const median = [...frames].sort((a, b) => a - b)[Math.floor(frames.length / 2)]!;
  console.log(`1,000 units: first render ${renderMs} ms, scroll through ${scrollMs} ms, median frame ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms, ${rows} rows in the DOM`);
  assert.ok(scrollMs < BIG_BOUND_MS, `scrolling took ${scrollMs} ms`);
  assert.ok(median < FRAME_BOUND_MS, `the median frame while scrolling took ${median} ms`);
  await page.screenshot({ path: `${SHOTS}/service-1000-units.png` });
});

test('phone width (390 px): no horizontal scroll; screenshot', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => {
    const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
    return d.scrollWidth - d.clientWidth;
  });
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
  await page.screenshot({ path: `${SHOTS}/phone-service.png` });
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('repos: snapshots, publishes, package search and detail, upload by drag and drop', async () => {
  assert.is((await server.api('POST', '/api/repos', { Name: 'main' })).status, 201);
  const form = new FormData();
  form.append('file', new Blob([makeDeb({ name: 'hello-dash' })]), debFileName('hello-dash'));
  assert.is((await server.api('POST', '/api/files/d', form)).status, 200);
  assert.is((await server.api('POST', '/api/repos/main/file/d')).status, 200);
  assert.is((await server.api('POST', '/api/repos/main/snapshots', { Name: 'main-snap', Description: 'first cut' })).status, 201);
  const pub = await server.api('POST', '/api/publish/dash', { SourceKind: 'snapshot', Sources: [{ Name: 'main-snap' }], Signing: { Skip: true }, Distribution: 'stable', Architectures: ['amd64'] });
  assert.is(pub.status, 201, pub.text);
  await page.click('header button:has-text("Repos")');
  await page.waitForSelector('table[aria-label=snapshots] td:has-text("main-snap")');
  await page.waitForSelector('table[aria-label=publishes] td:has-text("stable")');
  const publishes = (await page.textContent('table[aria-label=publishes]')) ?? '';
  assert.match(publishes, /snapshot: main-snap \(main\)/);
  // The publish date: the live generation's Release Date as the API reports it, and its number.
  const own = (pub.json as { 'x-debpkg': { Generation: number; Date: string } })['x-debpkg'];
  assert.match(own.Date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(publishes.includes(`${own.Date.replace('T', ' ').replace('Z', '')} UTC (#${own.Generation})`), publishes);
  assert.ok(await page.isVisible('table[aria-label=publishes] th:has-text("Date")'));
  await page.screenshot({ path: `${SHOTS}/repos.png`, fullPage: true });

  // Upload by dropping a file on the drop zone (a DataTransfer built in the page).
  await page.selectOption('select >> nth=0', 'main');
  const deb = makeDeb({ name: 'dropped-pkg' }).toString('base64');
  const name = debFileName('dropped-pkg');
  const transfer = await page.evaluateHandle(
    ([b64, file]) => {
      const g = globalThis as unknown as { atob(s: string): string; DataTransfer: new () => { items: { add(f: unknown): void } }; File: new (parts: unknown[], name: string) => unknown };
      const bin = g.atob(b64);
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      const dt = new g.DataTransfer();
      dt.items.add(new g.File([bytes], file));
      return dt;
    },
    [deb, name] as const,
  );
  await page.dispatchEvent('[data-testid=drop]', 'drop', { dataTransfer: transfer });
  await page.waitForSelector('[data-testid=upload-status]:has-text("added to main")', { timeout: 5000 });
  const keys = (await server.api('GET', '/api/repos/main/packages')).json as string[];
  assert.ok(keys.some((k) => k.includes('dropped-pkg')), keys.join(','));

  await page.selectOption('form select', 'main');
  await page.fill('input[placeholder]', 'hello-dash');
  await page.click('button:has-text("Search")');
  await page.waitForSelector('ul[aria-label=packages] button:has-text("hello-dash")', { timeout: 5000 });
  await page.screenshot({ path: `${SHOTS}/repos-search.png` });
  await page.click('ul[aria-label=packages] button:has-text("hello-dash")');
  await page.waitForSelector('[role=dialog] dt:has-text("Package")');
  assert.match((await page.textContent('[role=dialog] table[aria-label=files]')) ?? '', /hello-dash.*\.deb/);
  await page.screenshot({ path: `${SHOTS}/package-detail.png` });
  await page.keyboard.press('Escape');
});

test('no console errors', () => {
  assert.equal(consoleErrors, []);
});

test.run();
