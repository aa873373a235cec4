// The dashboard in a real browser: starts `kisgate demo` (the built-in simulator and the demo jobs
// through the gate), opens its dashboard in Debian's headless Chromium and waits until the charts
// and tables show live data; no console errors, no secrets on the page, and a clear "cannot reach
// kisgate" state once kisgate is stopped. Leaves screenshots for a human to look at.
//
//   node dashboard_test.mjs path/to/kisgate
//
// Environment: KISGATE_TEST_OUTPUT (screenshots; default tests/browser/output),
// KISGATE_CHROMIUM (default /usr/bin/chromium).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const TOTAL_TIMEOUT_MS = 110_000;
const STOP_TIMEOUT_MS = 20_000;
const CHROMIUM = process.env.KISGATE_CHROMIUM || '/usr/bin/chromium';
const OUTPUT = resolve(process.env.KISGATE_TEST_OUTPUT || join(HERE, 'output'));
// The simulator's built-in demo key (src/sim/sim_options.hpp): public, but the dashboard must
// still never show an app key, and no reply it reads may carry a secret or a token.
const SECRET_MARKERS = ['PSkisgateDEMOsimulatorAppKey00000001', 'appsecret', 'access_token', 'Bearer '];

class TestFailure extends Error {}

function fail(message) { throw new TestFailure(message); }

function log(message) {
  process.stdout.write(`[dashboard_test +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

const started = Date.now();
const deadline = started + TOTAL_TIMEOUT_MS;
function remaining() { return Math.max(0, deadline - Date.now()); }

const kisgatePath = process.argv[2];
let demo = null;
let demoOutput = '';
let browser = null;

// ---------- kisgate demo ----------

function startDemo() {
  if (!kisgatePath) fail('usage: node dashboard_test.mjs path/to/kisgate');
  if (!existsSync(kisgatePath)) fail(`kisgate binary not found at ${kisgatePath}`);
  // Exactly what `make demo` runs but for the port, so the screenshot shows the demo as users see
  // it (docs/dashboard.png is this test's screenshot).
  const args = ['demo', '--cycles', '0', '--listen', '127.0.0.1:0'];
  log(`starting ${kisgatePath} ${args.join(' ')}`);
  demo = spawn(kisgatePath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  demo.exited = new Promise((resolveExit) => {
    demo.on('exit', (code, signal) => resolveExit({ code, signal }));
  });
  demo.on('error', (e) => { demoOutput += `\n(spawn failed: ${e.message})\n`; });
  demo.stderr.on('data', (chunk) => { demoOutput += chunk; });

  return new Promise((resolveUrl, rejectUrl) => {
    let stdout = '';
    const timer = setTimeout(() => rejectUrl(new TestFailure(
      'kisgate demo printed no "dashboard: http://127.0.0.1:PORT/" line within 30 s (its stdout is a ' +
      'pipe here: is the line flushed?)')), Math.min(30_000, remaining()));
    demo.stdout.on('data', (chunk) => {
      stdout += chunk;
      demoOutput += chunk;
      const match = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\s*$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    demo.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rejectUrl(new TestFailure(
        `kisgate demo exited (code ${code}, signal ${signal}) before printing its dashboard address`));
    });
  });
}

async function stopDemo() {
  if (!demo || demo.exitCode !== null || demo.signalCode !== null) return demo ? demo.exited : null;
  demo.kill('SIGTERM');
  let timer;
  const result = await Promise.race([
    demo.exited,
    new Promise((r) => { timer = setTimeout(() => r(null), STOP_TIMEOUT_MS); }),
  ]);
  clearTimeout(timer);
  if (result === null) {
    demo.kill('SIGKILL');
    fail(`kisgate demo did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM`);
  }
  return result;
}

// ---------- the page ----------

// What the page shows, read in the page: the calls/s chart's points (one per poll) and the jobs.
function observe() {
  const canvas = document.querySelector('canvas[data-chart="calls"]');
  const chart = canvas && window.Chart ? window.Chart.getChart(canvas) : null;
  let callPoints = 0;
  let nonzeroCallPoints = 0;
  if (chart) {
    const lanes = chart.data.datasets.filter((d) => d.stack === 'lanes');
    const length = Math.max(0, ...lanes.map((d) => d.data.length));
    for (let i = 0; i < length; i += 1) {
      const values = lanes.map((d) => d.data[i] && d.data[i].y).filter((y) => typeof y === 'number');
      if (values.length === 0) continue;
      callPoints += 1;
      if (values.some((y) => y > 0)) nonzeroCallPoints += 1;
    }
  }
  const jobs = [...document.querySelectorAll('#jobs-table tbody tr[data-job]')].map((row) => ({
    name: row.dataset.job,
    ok: Number((row.querySelector('[data-field="ok"]')?.textContent || '').replace(/,/g, '')),
  }));
  return {
    status: document.getElementById('status').textContent.trim(),
    bannerVisible: !document.getElementById('unreachable').hidden,
    bannerText: document.getElementById('unreachable').innerText.trim(),
    polls: Number(document.body.dataset.polls || 0),
    keys: [...document.querySelectorAll('#keys [data-key].key')].map((k) => k.dataset.key),
    callPoints,
    nonzeroCallPoints,
    jobs,
    jobsWithOk: jobs.filter((j) => j.ok > 0).length,
    waitDatasets: window.Chart ? (window.Chart.getChart(document.getElementById('wait-chart'))?.data.datasets.length ?? 0) : 0,
    freshnessRows: document.querySelectorAll('#freshness-table tbody tr[data-dataset]').length,
    text: document.body.innerText,
  };
}

async function waitFor(page, what, predicate, timeoutMs) {
  const until = Date.now() + Math.min(timeoutMs, remaining());
  let seen = null;
  for (;;) {
    seen = await page.evaluate(observe);
    if (predicate(seen)) return seen;
    if (Date.now() >= until) {
      delete seen.text;
      fail(`timed out waiting for ${what}; the page showed ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function run() {
  if (!existsSync(CHROMIUM)) {
    fail(`Chromium not found at ${CHROMIUM}: run scripts/bootstrap.sh (Debian package chromium)`);
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    fail(`playwright-core is not installed: run tests/browser/install.sh (${e.message})`);
  }

  const url = await startDemo();
  log(`kisgate demo serves the dashboard at ${url}`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers give /dev/shm a few MB, too little for Chromium's renderer.
    args: ['--disable-dev-shm-usage', '--disable-gpu'],
    timeout: 30_000,
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });

  const problems = [];
  let kisgateRunning = true;
  page.on('console', (message) => {
    if (message.type() === 'error' && kisgateRunning) problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
  page.on('requestfailed', (request) => {
    if (kisgateRunning) problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
  });
  const replies = [];
  page.on('response', (response) => {
    if (!kisgateRunning) return;
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
    // Every /v1/ reply is read for secrets, but the ticker's event stream, which never ends.
    const path = new URL(response.url()).pathname;
    if (path.startsWith('/v1/') && path !== '/v1/stream') {
      replies.push(response.text().then((body) => ({ url: response.url(), body }), () => null));
    }
  });

  const response = await page.goto(url, { waitUntil: 'load', timeout: Math.min(30_000, remaining()) });
  if (!response || !response.ok()) fail(`GET ${url} answered ${response ? response.status() : 'nothing'}`);
  const contentType = response.headers()['content-type'] || '';
  if (!contentType.startsWith('text/html')) fail(`GET ${url} has Content-Type "${contentType}", not text/html`);

  // Every demo job has finished its first cycle (about 15 s at the key's rate) before the shot.
  const live = await waitFor(page, 'live data (calls/s chart with >= 3 nonzero points, every job with ok > 0)',
    (s) => s.status === 'live' && s.nonzeroCallPoints >= 3 && s.jobs.length > 0 &&
      s.jobsWithOk === s.jobs.length, 85_000);
  log(`live: keys ${live.keys.join(', ')}; ${live.nonzeroCallPoints} of ${live.callPoints} calls/s ` +
      `points nonzero; jobs ${live.jobs.map((j) => `${j.name} ok=${j.ok}`).join(', ')}; ` +
      `${live.waitDatasets} wait series; ${live.freshnessRows} data sets in the freshness table`);

  if (live.bannerVisible) fail(`the "cannot reach kisgate" banner is shown while kisgate runs: ${live.bannerText}`);
  for (const marker of SECRET_MARKERS) {
    if (live.text.includes(marker)) fail(`the page shows "${marker}"`);
  }
  for (const reply of (await Promise.all(replies)).filter(Boolean)) {
    for (const marker of SECRET_MARKERS) {
      if (reply.body.includes(marker)) fail(`${reply.url} carries "${marker}"`);
    }
  }
  if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);

  mkdirSync(OUTPUT, { recursive: true });
  const shot = join(OUTPUT, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot: ${shot}`);

  // Stopped kisgate: the page must say so, not freeze on the last figures.
  kisgateRunning = false;
  const { code, signal } = await stopDemo();
  // What matters here is that it handled SIGTERM; its exit code says whether every cycle completed.
  if (signal !== null) fail(`kisgate demo was ended by ${signal} instead of handling SIGTERM and exiting`);
  log(`kisgate demo stopped on SIGTERM (exit code ${code})`);
  const down = await waitFor(page, 'the "cannot reach kisgate" state after stopping kisgate',
    (s) => s.bannerVisible && /cannot reach kisgate/i.test(s.status), 15_000);
  if (!/cannot reach kisgate/i.test(down.bannerText)) fail(`unexpected banner text: ${down.bannerText}`);
  await page.screenshot({ path: join(OUTPUT, 'dashboard-unreachable.png'), fullPage: true });
  if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);
}

async function cleanUp() {
  if (browser) await browser.close().catch(() => {});
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGKILL');
    await demo.exited;
  }
}

const overall = setTimeout(async () => {
  process.stderr.write(`dashboard_test: FAILED: not finished within ${TOTAL_TIMEOUT_MS / 1000} s\n`);
  if (demoOutput) process.stderr.write(`--- kisgate demo output (last 40 lines) ---\n${tail(demoOutput)}\n`);
  await cleanUp();
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

function tail(text) { return text.split('\n').slice(-40).join('\n'); }

try {
  await run();
  await cleanUp();
  clearTimeout(overall);
  log('PASSED');
} catch (e) {
  await cleanUp();
  clearTimeout(overall);
  process.stderr.write(`dashboard_test: FAILED: ${e instanceof TestFailure ? e.message : e.stack || e}\n`);
  if (demoOutput) process.stderr.write(`--- kisgate demo output (last 40 lines) ---\n${tail(demoOutput)}\n`);
  process.exitCode = 1;
}
