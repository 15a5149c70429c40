// Issue 14: the status page and playground at /, driven in headless
// Chromium (Debian's `chromium`, installed by scripts/setup.sh) with
// puppeteer-core. Screenshots go to $MODELD_ARTIFACTS_DIR (CTest sets
// build/e2e-artifacts), else build/e2e-artifacts.
// No sleeps: every wait is on DOM state, with a timeout only as a hang guard.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer from 'puppeteer-core';

import { metric, metricOr0, Modeld } from './lib/modeld.js';

const repo = resolve(import.meta.dirname, '..', '..');
const artifacts = process.env.MODELD_ARTIFACTS_DIR || join(repo, 'build', 'e2e-artifacts');
const chromiumPath = process.env.MODELD_CHROMIUM || '/usr/bin/chromium';
// Hang guard for every DOM wait; 'mutation' re-checks on every DOM change
// (not once per animation frame, which a busy headless browser may delay).
const WAIT = { timeout: 20000, polling: 'mutation' };

async function launch(userDataDir) {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/setup.sh (Debian package chromium)`);
  }
  return puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    userDataDir,
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}

async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `web_page-${name}.png`), fullPage: true });
}

// Sends a message from the playground with the keyboard (Enter).
async function sendMessage(page, text) {
  await page.focus('#prompt');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

// The last assistant reply's data-state, once it is one of `states`.
async function replyState(page, states) {
  await page.waitForFunction((wanted) => {
    const el = document.querySelector('#chat .msg.assistant:last-of-type');
    return el && wanted.includes(el.dataset.state);
  }, WAIT, states);
  return page.$eval('#chat .msg.assistant:last-of-type', (el) => ({
    state: el.dataset.state,
    chunks: Number(el.dataset.chunks),
    text: el.firstChild.data,
    stats: el.querySelector('.stats').textContent,
  }));
}

describe('status page in headless Chromium', () => {
  let server;
  let browser;
  let page;
  let userDataDir;
  const consoleErrors = [];

  before(async () => {
    server = await Modeld.start();
    userDataDir = mkdtempSync(join(tmpdir(), 'modeld-chromium-'));
    browser = await launch(userDataDir);
    page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.setViewport({ width: 1280, height: 900 });
  });
  after(async () => {
    if (browser) await browser.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (server) await server.stop();
  });

  test('loads with no console errors and lists the registry\'s models', async () => {
    const res = await page.goto(server.baseURL + '/', { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
    // The snapshot from /events has arrived: the connection is live.
    await page.waitForFunction(() => document.querySelector('#conn').textContent === 'live', WAIT);
    await page.waitForSelector('#models tbody tr[data-model="tiny-b"]', WAIT);
    const rows = await page.$$eval('#models tbody tr', (trs) =>
      trs.map((tr) => ({ id: tr.dataset.model, state: tr.lastChild.dataset.state })));
    assert.deepEqual(rows, [{ id: 'tiny', state: 'ready' }, { id: 'tiny-b', state: 'unloaded' }]);
    const options = await page.$$eval('#model option', (os) => os.map((o) => o.value));
    assert.deepEqual(options, ['tiny', 'tiny-b']);
    assert.equal(await page.$eval('#current', (el) => el.textContent), 'tiny');
    assert.equal(await page.$eval('#state', (el) => el.dataset.state), 'ready');
    await screenshot(page, 'loaded');
    assert.deepEqual(consoleErrors, []);
  });

  test('a reply streams in, with its TTFT and tok/s', async () => {
    await page.$eval('#max-tokens', (el) => { el.value = '64'; });
    await sendMessage(page, 'Tell me a story.');
    const reply = await replyState(page, ['done', 'error', 'stopped']);
    assert.equal(reply.state, 'done', reply.text);
    assert.ok(reply.text.length > 0);
    assert.ok(reply.chunks >= 2, `the reply came in ${reply.chunks} chunk(s); it should stream`);
    assert.match(reply.stats, /TTFT \d+ ms/);
    assert.match(reply.stats, /[\d.]+ tok\/s/);
    assert.match(reply.stats, /64 tokens/);
    // The finished request reaches the status figures through /events.
    await page.waitForFunction(() => Number(document.querySelector('#requests').textContent) >= 1, WAIT);
    await screenshot(page, 'reply');
  });

  test('Escape stops a reply and the server cancels it, as /metrics shows', async () => {
    const key = 'modeld_cancellations_total{reason="disconnect"}';
    const before = await server.metrics();
    // As long as the context allows: the reply must still run when we stop it.
    await page.$eval('#max-tokens', (el) => { el.value = '4000'; });
    await page.click('#clear');
    await sendMessage(page, 'Count to a thousand.');
    await page.waitForFunction(() => {
      const el = document.querySelector('#chat .msg.assistant:last-of-type');
      return el && (Number(el.dataset.chunks) >= 1 || el.dataset.state !== 'waiting');
    }, WAIT);
    await page.keyboard.press('Escape');
    const reply = await replyState(page, ['done', 'error', 'stopped']);
    assert.equal(reply.state, 'stopped',
        `the reply ended ${reply.state} after ${reply.chunks} chunks (${reply.stats}) before Escape`);
    const m = await server.waitForMetrics(
        (s) => metric(s, key) > metricOr0(before, key) && metric(s, 'modeld_inflight_requests') === 0,
        20000);
    assert.equal(metric(m, key), metricOr0(before, key) + 1);
    assert.equal(metric(m, 'modeld_inflight_requests'), 0);
    assert.equal(await page.$eval('#send', (b) => b.disabled), false);
    await screenshot(page, 'stopped');
  });

  test('choosing another model shows the switch: loading, then ready', async () => {
    await page.select('#model', 'tiny-b');
    await page.$eval('#max-tokens', (el) => { el.value = '8'; });
    await sendMessage(page, 'Hello from the other model.');
    const reply = await replyState(page, ['done', 'error', 'stopped']);
    assert.equal(reply.state, 'done', reply.text);
    // The activity list shows the switch as /events reported it, in order.
    await page.waitForSelector('#activity li[data-kind="switch"]', WAIT);
    const events = await page.$$eval('#activity li', (lis) =>
      lis.map((li) => `${li.dataset.kind} ${li.dataset.state || ''} ${li.dataset.model || ''}`.trim()));
    const loading = events.indexOf('state loading tiny-b');
    const ready = events.indexOf('state ready tiny-b');
    assert.ok(loading >= 0, events.join('\n'));
    assert.ok(ready > loading, events.join('\n'));
    await page.waitForFunction(() => {
      const row = document.querySelector('#models tbody tr[data-model="tiny-b"]');
      return row && row.lastChild.dataset.state === 'ready' &&
          document.querySelector('#current').textContent === 'tiny-b';
    }, WAIT);
    const sw = await page.$eval('#switches tbody tr', (tr) => ({
      outcome: tr.dataset.outcome, what: tr.firstChild.textContent }));
    assert.deepEqual(sw, { outcome: 'ok', what: 'tiny → tiny-b' });
    await screenshot(page, 'switched');
    assert.deepEqual(consoleErrors, []);
  });
});

describe('status page with API keys', () => {
  let server;
  let browser;
  let dir;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'modeld-e2e-keys-'));
    const keyFile = join(dir, 'keys');
    writeFileSync(keyFile, 'sk-web-page\n');
    server = await Modeld.start({ args: ['--api-key-file', keyFile] });
    browser = await launch(join(dir, 'chromium'));
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the page loads without a key, asks for one, then shows the models', async () => {
    const page = await browser.newPage();
    const res = await page.goto(server.baseURL + '/', { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    await page.waitForSelector('#auth:not([hidden])', WAIT);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'key');
    await page.keyboard.type('sk-web-page');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#conn').textContent === 'live', WAIT);
    await page.waitForSelector('#models tbody tr[data-model="tiny-b"]', WAIT);
    assert.equal(await page.$eval('#auth', (el) => el.hidden), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('modeld-key')), 'sk-web-page');
    await screenshot(page, 'with-key');
  });
});
