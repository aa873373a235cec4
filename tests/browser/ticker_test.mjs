// The dashboard's live ticker in a real browser (Debian's headless Chromium via playwright-core):
// its rows fill and update from /v1/stream's trade events, a row flashes when its price moves, and
// each key's KIS WebSocket session shows from /v1/budget; no console errors.
//
//   node ticker_test.mjs                  the page from web/ behind a small stand-in for kisgate's
//                                         /v1/budget, /v1/jobs and /v1/stream (trades it makes up)
//   node ticker_test.mjs path/to/kisgate  `kisgate demo`'s dashboard, once the demo streams trades
//
// Environment: KISGATE_TEST_OUTPUT (screenshot; default tests/browser/output), KISGATE_CHROMIUM
// (default /usr/bin/chromium), KISGATE_CHARTJS (default Debian's libjs-chart.js file).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEB = resolve(HERE, '../../web');
const TOTAL_TIMEOUT_MS = 100_000;
const CHROMIUM = process.env.KISGATE_CHROMIUM || '/usr/bin/chromium';
const CHARTJS = process.env.KISGATE_CHARTJS || '/usr/share/javascript/chart.js/chart.min.js';
const OUTPUT = resolve(process.env.KISGATE_TEST_OUTPUT || join(HERE, 'output'));
const CODES = ['005930', '000660'];

class TestFailure extends Error {}
function fail(message) { throw new TestFailure(message); }
const started = Date.now();
function log(message) {
  process.stdout.write(`[ticker_test +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

// ---------- the stand-in kisgate ----------

// Serves web/ and the three /v1/ routes the page reads; /v1/stream sends a trade of each code
// asked for every 150 ms, its price alternating up and down, numbered like kisgate's events.
function startStandIn() {
  let nextId = 1;
  const files = {
    '/': ['index.html', 'text/html; charset=utf-8'],
    '/dashboard.js': ['dashboard.js', 'text/javascript'],
    '/dashboard.css': ['dashboard.css', 'text/css'],
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const json = (body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (files[url.pathname]) {
      const [file, type] = files[url.pathname];
      res.writeHead(200, { 'content-type': type });
      res.end(readFileSync(join(WEB, file)));
    } else if (url.pathname === '/vendor/chart.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(CHARTJS));
    } else if (url.pathname === '/v1/budget') {
      json({
        time: new Date().toISOString(), uptime_s: (Date.now() - started) / 1000, coalesced: 0,
        stream: { subscribers: 1, events_published: nextId - 1, events_delivered: 0, clients_cut: 0 },
        keys: [{
          name: 'main', rate_limit: 18, planned_rate: 15, current_rate: 15, calls_per_second: 0,
          in_flight: 0, in_flight_limit: 4, cooling_down: false, cooldowns: 0,
          token: { valid: true, expires_in_s: 80000, issued: 1 }, calls: 0, upstream: 0, ok: 0,
          retries: 0, failed: 0, lanes: [], errors: [],
          stream: { state: 'connected', registrations: 3, max_registrations: 41, reconnects: 1,
            gaps: 0, streamed: 3, polled: 0 },
        }],
      });
    } else if (url.pathname === '/v1/jobs') {
      json({ time: new Date().toISOString(), jobs: [], freshness: [] });
    } else if (url.pathname === '/v1/stream') {
      const codes = (url.searchParams.get('codes') || '').split(',').filter(Boolean);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(`retry: 3000\n\nevent: status\ndata: ${JSON.stringify({ event: 'status', state: 'subscribed', codes })}\n\n`);
      let n = 0;
      const timer = setInterval(() => {
        n += 1;
        for (const code of codes) {
          const id = nextId++;
          const change = n % 2 === 0 ? 100 : -100;
          const event = { id, event: 'trade', code, time: '2026-11-27T10:00:00+09:00', price: 70000 + change,
            change, change_sign: change > 0 ? 'up' : 'down', change_pct: change / 700, volume: 1000 * n };
          res.write(`id: ${id}\nevent: trade\ndata: ${JSON.stringify(event)}\n\n`);
        }
      }, 150);
      req.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"status":404}}');
    }
  });
  return new Promise((resolveUrl) => {
    server.listen(0, '127.0.0.1', () => resolveUrl({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

// ---------- kisgate demo ----------

let demo = null;
function startDemo(kisgatePath) {
  if (!existsSync(kisgatePath)) fail(`kisgate binary not found at ${kisgatePath}`);
  demo = spawn(kisgatePath, ['demo', '--cycles', '0', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolveUrl, rejectUrl) => {
    let stdout = '';
    const timer = setTimeout(() => rejectUrl(new TestFailure('kisgate demo printed no dashboard line in 30 s')), 30_000);
    demo.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\s*$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    demo.on('exit', () => rejectUrl(new TestFailure('kisgate demo exited before printing its dashboard address')));
  });
}

// ---------- the page ----------

function observe() {
  const rows = [...document.querySelectorAll('#ticker-table tbody tr[data-code]')].map((row) => ({
    code: row.dataset.code,
    updates: Number(row.dataset.updates || 0),
    price: row.cells[1].textContent,
    flashing: row.classList.contains('flash-up') || row.classList.contains('flash-down'),
  }));
  return {
    state: document.getElementById('ticker-state').textContent,
    rows,
    text: document.body.innerText,
  };
}

async function waitFor(page, what, predicate, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const seen = await page.evaluate(observe);
    if (predicate(seen)) return seen;
    if (Date.now() >= until) {
      delete seen.text;
      fail(`timed out waiting for ${what}; the page showed ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

let browser = null;
let standIn = null;

async function run() {
  if (!existsSync(CHROMIUM)) fail(`Chromium not found at ${CHROMIUM}: run scripts/bootstrap.sh`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    fail(`playwright-core is not installed: run tests/browser/install.sh (${e.message})`);
  }
  const kisgatePath = process.argv[2];
  let base;
  if (kisgatePath) {
    base = await startDemo(kisgatePath);
  } else {
    standIn = await startStandIn();
    base = standIn.url;
  }
  const url = `${base}?codes=${CODES.join(',')}`;
  log(`opening ${url}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--disable-dev-shm-usage', '--disable-gpu'], timeout: 30_000 });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });

  const first = await waitFor(page, 'a ticker row per code asked for, each updated', (s) =>
    s.rows.length === CODES.length && s.rows.every((r) => r.updates >= 1), 60_000);
  if (JSON.stringify(first.rows.map((r) => r.code)) !== JSON.stringify(CODES)) {
    fail(`the ticker shows ${first.rows.map((r) => r.code)}, not ${CODES}`);
  }
  // Rows keep updating, and a price that moves makes its row flash.
  let flashed = false;
  const later = await waitFor(page, 'further updates and a flash', (s) => {
    flashed = flashed || s.rows.some((r) => r.flashing);
    return flashed && s.rows.every((r, i) => r.updates >= first.rows[i].updates + 3);
  }, 30_000);
  log(`ticker ${later.state}: ${later.rows.map((r) => `${r.code} ${r.price} (${r.updates} updates)`).join(', ')}`);
  if (!/live/.test(later.state)) fail(`the ticker says "${later.state}", not live`);
  if (!/[0-9],[0-9]{3}/.test(later.rows[0].price)) fail(`price cell "${later.rows[0].price}" is not a price`);
  if (!kisgatePath && !/connected, 3 of 41 registered, 1 reconnects, 0 gaps/.test(later.text)) {
    fail('the key\'s stream session (connected, 3 of 41 registered, ...) is not shown');
  }
  if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, 'ticker.png'), fullPage: true });
}

async function cleanUp() {
  if (browser) await browser.close().catch(() => {});
  if (standIn) standIn.server.close();
  if (standIn) standIn.server.closeAllConnections();
  if (demo && demo.exitCode === null) demo.kill('SIGTERM');
}

const overall = setTimeout(async () => {
  process.stderr.write(`ticker_test: FAILED: not finished within ${TOTAL_TIMEOUT_MS / 1000} s\n`);
  await cleanUp();
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

try {
  await run();
  await cleanUp();
  clearTimeout(overall);
  log('PASSED');
} catch (e) {
  await cleanUp();
  clearTimeout(overall);
  process.stderr.write(`ticker_test: FAILED: ${e instanceof TestFailure ? e.message : e.stack || e}\n`);
  process.exitCode = 1;
}
