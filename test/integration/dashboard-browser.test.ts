// The dashboard in a real browser: Debian's chromium driven by playwright-core. Signs in, sees a
// unit appear and expire, runs a canary and a rollback (registry only, no load balancer here),
// searches packages; any console error fails the test. Screenshots go to test-output/screenshots/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBackend, type Backend } from '../support/color-backends.js';
import { debFileName, makeDeb } from '../support/deb-fixture.js';
import { TestRepoServer, TEST_NODE_TOKEN, TEST_TOKEN } from '../support/repo-server.js';

const SHOTS = 'test-output/screenshots';
const TTL_MS = 2000;
let server: TestRepoServer;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
let blue: Backend;
let green: Backend;

const beat = (b: Backend) => server.api('PUT', `/api/units/web/${b.node}`, { Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1', Package: 'web' }, TEST_NODE_TOKEN);

test.before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await TestRepoServer.start({ color: { ttlMs: TTL_MS } });
  [blue, green] = await Promise.all([startBackend('b1', 'blue', '127.0.0.2'), startBackend('g1', 'green', '127.0.0.3')]);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});

test.after(async () => {
  await browser?.close();
  await server?.stop();
  await Promise.all([blue, green].filter(Boolean).map((b) => b.close()));
});

test('sign in: a wrong token is refused, the right one is kept in sessionStorage only', async () => {
  await page.goto(`${server.url}/ui/`);
  await page.fill('input[type=password]', 'wrong');
  await page.click('button[type=submit]');
  await page.waitForSelector('[role=alert]');
  consoleErrors.length = 0; // the browser logs the refused request (401) itself
  await page.fill('input[type=password]', TEST_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('header');
  assert.is(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('debpkg-token')), TEST_TOKEN);
  assert.not.match(page.url(), /token/);
  await page.screenshot({ path: `${SHOTS}/login-done.png` });
});

test('a unit appears, a canary and a rollback run, then the units expire', async () => {
  assert.is((await beat(blue)).status, 200);
  assert.is((await beat(green)).status, 200);
  // The agents' heartbeats, until the swaps are done; then the leases run out.
  const beats = setInterval(() => void Promise.all([beat(blue), beat(green)]).catch(() => undefined), 400);
  await page.waitForSelector('nav button:has-text("web")', { timeout: 5000 });
  await page.click('nav button:has-text("web")');
  await page.waitForSelector('td:has-text("g1")', { timeout: 5000 });
  page.once('dialog', (d) => void d.accept());
  await page.fill('input[type=number]', '20');
  await page.click('button:has-text("Canary")');
  await page.waitForSelector('[role=status]', { timeout: 5000 });
  const said = (await page.textContent('[role=status]')) ?? '';
  assert.ok(/done/.test(said), said);
  await page.waitForSelector('text=green 20%', { timeout: 5000 });
  await page.screenshot({ path: `${SHOTS}/service-canary.png` });
  page.once('dialog', (d) => void d.accept());
  await page.click('button:has-text("Rollback")');
  await page.waitForSelector('text=green 0%', { timeout: 5000 });
  const svc = (await server.api('GET', '/api/services/web')).json as { Weights: { green: number } };
  assert.is(svc.Weights.green, 0);
  clearInterval(beats);
  await page.waitForSelector('td:has-text("expired")', { timeout: TTL_MS * 4 });
  await page.screenshot({ path: `${SHOTS}/service-expired.png` });
});

test('repos and package search', async () => {
  assert.is((await server.api('POST', '/api/repos', { Name: 'main' })).status, 201);
  const form = new FormData();
  form.append('file', new Blob([makeDeb({ name: 'hello-dash' })]), debFileName('hello-dash'));
  assert.is((await server.api('POST', '/api/files/d', form)).status, 200);
  assert.is((await server.api('POST', '/api/repos/main/file/d')).status, 200);
  await page.click('header button:has-text("Repos")');
  await page.waitForSelector('option:has-text("main")', { state: 'attached' });
  await page.selectOption('select', 'main');
  await page.fill('input[placeholder]', 'hello-dash');
  await page.click('button:has-text("Search")');
  await page.waitForSelector('ul[aria-label=packages] li:has-text("hello-dash")', { timeout: 5000 });
  await page.screenshot({ path: `${SHOTS}/repos-search.png` });
});

test('no console errors', () => {
  assert.equal(consoleErrors, []);
});

test.run();
