// kisgate operator dashboard: polls v1/budget and v1/jobs every second, keeps ~2 minutes of
// history in this tab and draws it with Chart.js (embedded in the binary, no CDN).
//
// Only named fields of the replies are shown, each through textContent: whatever else a reply
// carries (and any markup in a name) never reaches the page.
'use strict';

(() => {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 2500;
  const HISTORY_MS = 120 * 1000;
  const MIN_WINDOW_MS = 30 * 1000;
  const ERROR_WINDOW_MS = 60 * 1000;
  const LANES = ['interactive', 'batch', 'background'];
  const LANE_COLORS = { interactive: '#2457c5', batch: '#1b9e77', background: '#d08c00' };
  const KEY_COLORS = ['#2457c5', '#c2185b', '#1b9e77', '#7b4fc4', '#d08c00', '#00838f'];

  // What each error code means, for the operator reading the table (kis-api.md §6).
  const ERROR_MEANINGS = {
    EGW00201: 'over the per-second call limit',
    EGW00123: 'token expired',
    EGW00121: 'invalid token',
    EGW00122: 'token not found',
    EGW00133: 'token requested more than once a minute',
    EGW00103: 'invalid app key',
    EGW00105: 'invalid app secret',
    EGW00205: 'malformed authorization',
    EGW00206: 'API not subscribed',
    EGW00001: 'temporary KIS error',
    EGW00002: 'KIS server error',
    EGW02004: 'mock key on the real host',
    EGW02006: 'not a mock-trading TR',
    EGW02007: 'real key on the mock host',
    OPSQ2001: 'invalid market code',
    OPSQ2002: 'invalid field length',
    timeout: 'no reply before the deadline',
    connection: 'connection refused, reset or closed',
    http: 'unexpected HTTP status',
  };

  const state = {
    // One entry per poll: {t, ok, budget} (ok false marks an outage, drawn as a gap).
    history: [],
    lastBudget: null,
    lastOkAt: null,
    polls: 0,
    keyViews: new Map(),
    keyColors: new Map(),
    zoneOffsetMin: null,
  };

  // ---------- formatting ----------

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function isNum(v) { return typeof v === 'number' && Number.isFinite(v); }

  function num(v, digits = 0) {
    if (!isNum(v)) return '—';
    return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function duration(seconds) {
    if (!isNum(seconds)) return '—';
    const s = Math.abs(seconds);
    if (s < 10) return `${seconds.toFixed(1)} s`;
    if (s < 120) return `${Math.round(seconds)} s`;
    if (s < 7200) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    if (s < 172800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  // "2026-11-24T09:10:00.123+09:00" -> "09:10:00": the wall time as kisgate states it (KST),
  // whatever zone the browser is in.
  function wallTime(iso) {
    if (typeof iso !== 'string') return '—';
    const m = /T(\d\d:\d\d:\d\d)/.exec(iso);
    return m ? m[1] : iso;
  }

  // Clock times on this page are in kisgate's zone (the UTC offset of its replies, KST in
  // practice), so chart axes agree with the job times; the browser's zone until the first reply.
  function clock(ms) {
    if (state.zoneOffsetMin === null) return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
    return new Date(ms + state.zoneOffsetMin * 60000).toISOString().slice(11, 19);
  }

  function zoneOffsetMinutes(iso) {
    const m = typeof iso === 'string' ? /(Z|([+-])(\d\d):(\d\d))$/.exec(iso) : null;
    if (!m) return null;
    if (m[1] === 'Z') return 0;
    return (m[2] === '-' ? -1 : 1) * (Number(m[3]) * 60 + Number(m[4]));
  }

  // Seconds from `from` to `to`, two ISO timestamps; null when either does not parse.
  function secondsBetween(from, to) {
    const a = Date.parse(from);
    const b = Date.parse(to);
    return Number.isNaN(a) || Number.isNaN(b) ? null : (b - a) / 1000;
  }

  function keyColor(name) {
    if (!state.keyColors.has(name)) {
      state.keyColors.set(name, KEY_COLORS[state.keyColors.size % KEY_COLORS.length]);
    }
    return state.keyColors.get(name);
  }

  function fade(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  // ---------- charts ----------

  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.color = '#5b6475';

  function timeChart(canvas, { yTitle, stacked = false, type = 'line' }) {
    return new Chart(canvas, {
      type,
      data: { datasets: [] },
      options: {
        // Redrawn every second: animation would only blur the values.
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0, hitRadius: 6 }, line: { borderWidth: 2, tension: 0 } },
        scales: {
          x: {
            type: 'linear',
            ticks: { callback: (v) => clock(v), maxTicksLimit: 7, maxRotation: 0 },
            grid: { display: false },
          },
          y: { beginAtZero: true, stacked, title: { display: true, text: yTitle } },
        },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 14 } },
          tooltip: { callbacks: { title: (items) => (items.length ? clock(items[0].parsed.x) : '') } },
        },
      },
    });
  }

  // Replaces a chart's datasets in place (keeping Chart.js's legend state) and sets the window.
  function setSeries(chart, series, now) {
    const byLabel = new Map(chart.data.datasets.map((d) => [d.label, d]));
    chart.data.datasets = series.map((s) => Object.assign(byLabel.get(s.label) || {}, s));
    // The window grows to HISTORY_MS as history accumulates, instead of a freshly opened page
    // squeezing its first seconds against the right edge.
    const first = state.history.length ? state.history[0].t : now;
    chart.options.scales.x.min = Math.max(now - HISTORY_MS, Math.min(first, now - MIN_WINDOW_MS));
    chart.options.scales.x.max = now;
    chart.update('none');
  }

  // Points of one value over the history; null (a gap) during outages and missing values.
  function points(pick) {
    return state.history.map((h) => {
      let y = null;
      if (h.ok) {
        const v = pick(h.budget);
        if (isNum(v)) y = v;
      }
      return { x: h.t, y };
    });
  }

  function keyOf(budget, name) {
    return (budget.keys || []).find((k) => k.name === name);
  }

  // ---------- per-key panels ----------

  function keyView(name) {
    let view = state.keyViews.get(name);
    if (view) return view;
    const keys = $('keys');
    if (state.keyViews.size === 0) keys.replaceChildren();
    const facts = el('dl', { class: 'facts' });
    const lanes = el('table', { class: 'data lanes' },
      el('thead', null, el('tr', null,
        el('th', { text: 'lane' }), el('th', { class: 'num', text: 'calls/s' }),
        el('th', { class: 'num', text: 'queued' }), el('th', { class: 'num', text: 'admitted' }),
        el('th', { class: 'num', text: 'expired' }), el('th', { class: 'num', text: 'wait p50' }),
        el('th', { class: 'num', text: 'wait p99' }))),
      el('tbody'));
    const canvas = el('canvas', { 'data-chart': 'calls', 'data-key': name,
      'aria-label': `calls per second of key ${name}` });
    const node = el('div', { class: 'key', 'data-key': name },
      el('div', null, el('h3', { text: `key ${name}` }), facts),
      el('div', null, el('div', { class: 'chart' }, canvas), lanes));
    keys.append(node);
    view = { node, facts, lanes, chart: timeChart(canvas, { yTitle: 'calls/s', stacked: true }) };
    state.keyViews.set(name, view);
    return view;
  }

  function fact(dl, label, value, cls) {
    dl.append(el('dt', { text: label }), el('dd', { class: cls, text: value }));
  }

  function renderKeyFacts(view, key) {
    const dl = view.facts;
    dl.replaceChildren();
    fact(dl, 'calls/s now', `${num(key.calls_per_second, 1)} of ${num(key.rate_limit, 0)} allowed`,
      isNum(key.calls_per_second) && key.calls_per_second > key.rate_limit ? 'bad' : undefined);
    fact(dl, 'gate rate', `${num(key.current_rate, 2)}/s now, ${num(key.planned_rate, 2)}/s planned`,
      isNum(key.current_rate) && key.current_rate < key.planned_rate ? 'warn' : undefined);

    const inFlight = el('dd', null, `${num(key.in_flight)} of ${num(key.in_flight_limit)}`);
    const share = isNum(key.in_flight) && key.in_flight_limit > 0
      ? Math.min(1, key.in_flight / key.in_flight_limit) : 0;
    const meter = el('div', { class: share >= 1 ? 'meter full' : 'meter',
      role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': key.in_flight_limit, 'aria-valuenow': key.in_flight });
    meter.append(el('div', { style: `width: ${(share * 100).toFixed(0)}%` }));
    inFlight.append(meter);
    dl.append(el('dt', { text: 'in flight' }), inFlight);

    fact(dl, 'cooldown', key.cooling_down ? `cooling down (${num(key.cooldowns)} so far)`
      : `no (${num(key.cooldowns)} so far)`, key.cooling_down ? 'bad' : undefined);
    const token = key.token || {};
    fact(dl, 'token', token.valid ? `valid, expires in ${duration(token.expires_in_s)}` : 'no valid token',
      token.valid ? undefined : 'bad');
    const stream = key.stream;
    if (stream && typeof stream === 'object') {
      // kisgate's names (stream::Streams::KeyStatus); the older draft's as a fallback.
      const registered = stream.registrations ?? stream.registrations_used;
      const allowed = stream.max_registrations ?? stream.registrations_max;
      const used = isNum(registered) ? `${num(registered)} of ${num(allowed)} registered` : '';
      fact(dl, 'stream session', [stream.state || '?', used,
        `${num(stream.reconnects)} reconnects`, `${num(stream.gaps)} gaps`].filter(Boolean).join(', '),
        stream.state === 'connected' ? undefined : 'warn');
      if (isNum(stream.streamed) || isNum(stream.polled)) {
        fact(dl, 'real-time', `${num(stream.streamed)} streamed, ${num(stream.polled)} polled`
          + (isNum(stream.poll_every_s) ? ` every ${num(stream.poll_every_s, 1)} s` : ''));
      }
    }
    fact(dl, 'calls', `${num(key.calls)} (${num(key.upstream)} upstream)`);
    fact(dl, 'results', `${num(key.ok)} ok, ${num(key.retries)} retried, ${num(key.failed)} failed`,
      key.failed > 0 ? 'warn' : undefined);
  }

  function renderLaneTable(view, key) {
    const rows = LANES.map((lane) => {
      const l = (key.lanes || {})[lane] || {};
      return el('tr', { 'data-lane': lane },
        el('td', null, el('span', { style: `color: ${LANE_COLORS[lane]}`, text: '■ ' }), lane),
        el('td', { class: 'num', text: num(l.calls_per_second, 1) }),
        el('td', { class: 'num', text: num(l.queued) }),
        el('td', { class: 'num', text: num(l.admitted) }),
        el('td', { class: l.expired > 0 ? 'num warn' : 'num', text: num(l.expired) }),
        el('td', { class: 'num', text: isNum(l.wait_p50_ms) ? `${num(l.wait_p50_ms, 1)} ms` : '—' }),
        el('td', { class: 'num', text: isNum(l.wait_p99_ms) ? `${num(l.wait_p99_ms, 1)} ms` : '—' }));
    });
    view.lanes.tBodies[0].replaceChildren(...rows);
  }

  function renderKeys(budget, now) {
    const seen = new Set();
    for (const key of budget.keys || []) {
      seen.add(key.name);
      const view = keyView(key.name);
      renderKeyFacts(view, key);
      renderLaneTable(view, key);
      const name = key.name;
      const series = LANES.map((lane, i) => ({
        label: lane,
        stack: 'lanes',
        data: points((b) => ((keyOf(b, name) || {}).lanes || {})[lane]?.calls_per_second),
        borderColor: LANE_COLORS[lane],
        backgroundColor: fade(LANE_COLORS[lane], 0.35),
        fill: i === 0 ? 'origin' : '-1',
      }));
      // Separate stacks, so these two lines are drawn at their own values.
      series.push({
        label: 'upstream (all calls)',
        stack: 'upstream',
        data: points((b) => (keyOf(b, name) || {}).calls_per_second),
        borderColor: '#1d2330',
        borderWidth: 1,
        borderDash: [2, 2],
        fill: false,
      });
      series.push({
        label: 'rate limit',
        stack: 'limit',
        data: points((b) => (keyOf(b, name) || {}).rate_limit),
        borderColor: '#b3261e',
        borderDash: [6, 4],
        fill: false,
      });
      setSeries(view.chart, series, now);
    }
    for (const [name, view] of state.keyViews) {
      if (!seen.has(name)) {
        view.chart.destroy();
        view.node.remove();
        state.keyViews.delete(name);
      }
    }
    if (state.keyViews.size === 0) {
      $('keys').replaceChildren(el('p', { class: 'empty', text: 'kisgate reports no app keys.' }));
    }
  }

  // ---------- shared charts ----------

  const waitChart = timeChart($('wait-chart'), { yTitle: 'wait (ms)' });
  const inFlightChart = timeChart($('inflight-chart'), { yTitle: 'calls in flight' });
  const errorsChart = new Chart($('errors-chart'), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'errors since start' } } },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 14 } } },
    },
  });

  function keyNames(budget) { return (budget.keys || []).map((k) => k.name); }

  function renderWait(budget, now) {
    const many = keyNames(budget).length > 1;
    const series = [];
    for (const name of keyNames(budget)) {
      for (const lane of LANES) {
        for (const [pct, dash] of [['p50', []], ['p99', [6, 4]]]) {
          series.push({
            label: `${many ? `${name} · ` : ''}${lane} ${pct}`,
            data: points((b) => ((keyOf(b, name) || {}).lanes || {})[lane]?.[`wait_${pct}_ms`]),
            borderColor: LANE_COLORS[lane],
            borderDash: dash,
            spanGaps: false,
            fill: false,
          });
        }
      }
    }
    setSeries(waitChart, series, now);
  }

  function renderInFlight(budget, now) {
    const series = [];
    for (const name of keyNames(budget)) {
      const color = keyColor(name);
      series.push({
        label: `${name} in flight`,
        data: points((b) => (keyOf(b, name) || {}).in_flight),
        borderColor: color,
        backgroundColor: fade(color, 0.15),
        fill: 'origin',
        stepped: true,
      });
      series.push({
        label: `${name} limit`,
        data: points((b) => (keyOf(b, name) || {}).in_flight_limit),
        borderColor: color,
        borderDash: [6, 4],
        fill: false,
        stepped: true,
      });
    }
    setSeries(inFlightChart, series, now);
  }

  // The budget of the last successful poll at least ERROR_WINDOW_MS ago (or the oldest one).
  function budgetAgo(now) {
    let found = null;
    for (const h of state.history) {
      if (!h.ok) continue;
      if (h.t <= now - ERROR_WINDOW_MS || found === null) found = h.budget;
      if (h.t > now - ERROR_WINDOW_MS) break;
    }
    return found;
  }

  function renderErrors(budget, now) {
    const keys = budget.keys || [];
    const codes = [...new Set(keys.flatMap((k) => Object.keys(k.errors || {})))].sort();
    errorsChart.data.labels = codes;
    errorsChart.data.datasets = keys.map((k) => ({
      label: `key ${k.name}`,
      data: codes.map((c) => (k.errors || {})[c] || 0),
      backgroundColor: fade(keyColor(k.name), 0.75),
    }));
    errorsChart.update('none');

    const before = budgetAgo(now);
    const rows = [];
    for (const code of codes) {
      for (const k of keys) {
        const total = (k.errors || {})[code];
        if (!isNum(total)) continue;
        // A code missing from the older reply had not happened yet then.
        const beforeKey = before ? keyOf(before, k.name) : null;
        const then = beforeKey ? ((beforeKey.errors || {})[code] ?? 0) : null;
        const recent = isNum(then) ? total - then : null;
        rows.push(el('tr', { 'data-code': code },
          el('td', { class: total > 0 ? 'bad' : 'zero', text: code }),
          el('td', { text: ERROR_MEANINGS[code] || '' }),
          el('td', { text: k.name }),
          el('td', { class: total > 0 ? 'num' : 'num zero', text: num(total) }),
          el('td', { class: recent > 0 ? 'num bad' : 'num zero', text: recent === null ? '—' : num(recent) })));
      }
    }
    if (rows.length === 0) {
      rows.push(el('tr', null, el('td', { colspan: 5, class: 'empty', text: 'No errors reported.' })));
    }
    $('errors-table').tBodies[0].replaceChildren(...rows);
  }

  // ---------- jobs and freshness ----------

  function recentBlocks(recent) {
    const box = el('span', { class: 'recent' });
    for (const c of (recent || []).slice(-20)) {
      const bad = (c.failed || 0) + (c.dropped || 0);
      const cls = bad === 0 ? '' : (c.ok > 0 ? 'partial' : 'failed');
      box.append(el('span', { class: cls || undefined,
        title: `${wallTime(c.cycle_time)}: ${num(c.ok)} ok, ${num(c.failed)} failed, ${num(c.dropped)} dropped, ${duration(c.seconds)}` }));
    }
    return box;
  }

  function failureText(failures) {
    const parts = Object.entries(failures || {}).filter(([, n]) => n > 0).map(([c, n]) => `${c} ×${n}`);
    return parts.length ? parts.join(', ') : '—';
  }

  function renderJobs(jobs) {
    const now = jobs.time;
    const rows = (jobs.jobs || []).map((job) => {
      const last = job.last;
      const ago = last ? secondsBetween(last.cycle_time, now) : null;
      const until = secondsBetween(now, job.next_run);
      const cell = (field, text, cls) => el('td', { 'data-field': field, class: cls, text });
      return el('tr', { 'data-job': job.name },
        cell('name', job.name),
        cell('dataset', job.dataset),
        cell('lane', job.lane),
        cell('every', isNum(job.every_s) ? `${num(job.every_s)} s` : '—', 'num'),
        cell('codes', num(job.codes), 'num'),
        cell('state', job.running ? 'running' : 'idle', job.running ? 'good' : undefined),
        cell('cycles', num(job.cycles), 'num'),
        cell('cycle_time', last ? `${wallTime(last.cycle_time)}${isNum(ago) ? ` (${duration(ago)} ago)` : ''}` : 'not yet'),
        cell('seconds', last ? duration(last.seconds) : '—', 'num'),
        cell('planned', last ? num(last.planned) : '—', 'num'),
        cell('ok', last ? num(last.ok) : '—', 'num'),
        cell('failed', last ? num(last.failed) : '—', last && last.failed > 0 ? 'num bad' : 'num'),
        cell('dropped', last ? num(last.dropped) : '—', last && last.dropped > 0 ? 'num warn' : 'num'),
        cell('rows', last ? num(last.rows) : '—', 'num'),
        cell('failures', last ? failureText(last.failures) : '—'),
        el('td', { 'data-field': 'recent' }, recentBlocks(job.recent)),
        cell('next_run', job.next_run ? `${wallTime(job.next_run)}${isNum(until) ? ` (in ${duration(Math.max(0, until))})` : ''}` : '—'));
    });
    if (rows.length === 0) {
      rows.push(el('tr', null, el('td', { colspan: 17, class: 'empty', text: 'No jobs configured.' })));
    }
    $('jobs-table').tBodies[0].replaceChildren(...rows);
  }

  function renderFreshness(jobs) {
    // A data set is stale when its oldest value is more than twice its most frequent job's interval.
    const interval = new Map();
    for (const job of jobs.jobs || []) {
      if (!isNum(job.every_s)) continue;
      interval.set(job.dataset, Math.min(interval.get(job.dataset) ?? Infinity, job.every_s));
    }
    const rows = (jobs.freshness || []).map((f) => {
      const every = interval.get(f.dataset);
      let verdict = 'no values yet';
      let cls = 'zero';
      if (f.values > 0) {
        const stale = isNum(every) && isNum(f.oldest_age_s) && f.oldest_age_s > 2 * every;
        verdict = stale ? `stale (interval ${num(every)} s)` : 'fresh';
        cls = stale ? 'warn' : 'good';
      }
      return el('tr', { 'data-dataset': f.dataset },
        el('td', { text: f.dataset }),
        el('td', { class: 'num', text: num(f.values) }),
        el('td', { class: 'num', text: duration(f.oldest_age_s) }),
        el('td', { class: 'num', text: duration(f.median_age_s) }),
        el('td', { class: 'num', text: duration(f.newest_age_s) }),
        el('td', { class: cls, text: verdict }));
    });
    if (rows.length === 0) {
      rows.push(el('tr', null, el('td', { colspan: 6, class: 'empty', text: 'Nothing stored yet.' })));
    }
    $('freshness-table').tBodies[0].replaceChildren(...rows);
  }

  // ---------- status ----------

  function renderStatus(error) {
    const status = $('status');
    const now = Date.now();
    if (state.lastOkAt !== null) {
      $('last-update').textContent = `${clock(state.lastOkAt)} (${duration((now - state.lastOkAt) / 1000)} ago)`;
    }
    if (!error) {
      status.className = 'status status-live';
      status.textContent = 'live';
      $('unreachable').hidden = true;
      document.body.classList.remove('unreachable');
      return;
    }
    status.className = 'status status-down';
    status.textContent = 'cannot reach kisgate';
    const since = state.lastOkAt === null ? 'No reply since this page was opened.'
      : `Last reply at ${clock(state.lastOkAt)}.`;
    $('unreachable-detail').textContent = `${error} ${since}`;
    $('unreachable').hidden = false;
    document.body.classList.add('unreachable');
  }

  function renderSummary(budget) {
    $('server-time').textContent = typeof budget.time === 'string'
      ? budget.time.replace('T', ' ').replace(/\.\d+/, '') : '—';
    $('uptime').textContent = duration(budget.uptime_s);
    $('coalesced').textContent = num(budget.coalesced);
  }

  // ---------- polling ----------

  // With server.api_token set, /v1/* needs it: open the page as /#token=... (a fragment is never
  // sent to the server, so the token stays out of its logs) and every request carries it.
  const apiToken = () => new URLSearchParams(window.location.hash.slice(1)).get('token');

  async function getJson(path) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      let response;
      try {
        const token = apiToken();
        const headers = token ? { Authorization: `Bearer ${token}` } : {};
        response = await fetch(path, { cache: 'no-store', signal: abort.signal, headers });
      } catch (e) {
        throw new Error(abort.signal.aborted ? `GET ${path}: no reply within ${TIMEOUT_MS / 1000} s.`
          : `GET ${path}: network error.`);
      }
      if (response.status === 401) {
        throw new Error(`GET ${path}: this kisgate requires its API token (server.api_token); open the page as /#token=YOUR_TOKEN.`);
      }
      if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}.`);
      try {
        return await response.json();
      } catch (e) {
        throw new Error(`GET ${path}: the reply is not JSON.`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  function record(entry) {
    state.history.push(entry);
    const cutoff = entry.t - HISTORY_MS - 5000;
    while (state.history.length && state.history[0].t < cutoff) state.history.shift();
  }

  function renderTimeCharts(budget, now) {
    renderKeys(budget, now);
    renderWait(budget, now);
    renderInFlight(budget, now);
  }

  // ---------- live ticker ----------

  // Without ?codes= on the page: the largest KRX stocks.
  const DEFAULT_TICKER_CODES = ['005930', '000660', '373220', '207940', '005380', '035420', '000270', '068270'];
  const MAX_TICKER_CODES = 20;
  const ticker = { source: null, rows: new Map(), events: 0, started: false };

  function tickerCodes() {
    const asked = new URLSearchParams(window.location.search).get('codes')
      || new URLSearchParams(window.location.hash.slice(1)).get('codes') || '';
    const codes = [...new Set(asked.split(',').map((c) => c.trim().toUpperCase())
      .filter((c) => /^[0-9A-Z]{6}$/.test(c)))];
    return (codes.length ? codes : DEFAULT_TICKER_CODES).slice(0, MAX_TICKER_CODES);
  }

  function tickerState(text, cls) {
    const state = $('ticker-state');
    state.textContent = text;
    state.className = `ticker-state ${cls || ''}`;
  }

  function tickerRows(codes) {
    const body = $('ticker-table').tBodies[0];
    body.replaceChildren();
    for (const code of codes) {
      const cells = {
        price: el('td', { class: 'num', text: '—' }),
        change: el('td', { class: 'num', text: '—' }),
        pct: el('td', { class: 'num', text: '—' }),
        volume: el('td', { class: 'num', text: '—' }),
        time: el('td', { text: '—' }),
        via: el('td', { text: '—' }),
      };
      const row = el('tr', { 'data-code': code, 'data-updates': '0' }, el('td', { text: code }),
        cells.price, cells.change, cells.pct, cells.volume, cells.time, cells.via);
      body.append(row);
      ticker.rows.set(code, { row, cells, price: null });
    }
  }

  function onTrade(message) {
    let e;
    try {
      e = JSON.parse(message.data);
    } catch (err) {
      console.error('kisgate dashboard: an event that is not JSON:', message.data);
      return;
    }
    const entry = ticker.rows.get(e.code);
    if (!entry || !isNum(e.price)) return;
    const { row, cells } = entry;
    const direction = e.change > 0 ? 'up' : e.change < 0 ? 'down' : '';
    cells.price.textContent = num(e.price);
    cells.change.textContent = isNum(e.change) ? (e.change > 0 ? '+' : '') + num(e.change) : '—';
    cells.pct.textContent = isNum(e.change_pct) ? `${e.change_pct > 0 ? '+' : ''}${e.change_pct.toFixed(2)}%` : '—';
    for (const c of [cells.price, cells.change, cells.pct]) c.className = `num ${direction}`;
    cells.volume.textContent = num(e.volume);
    cells.time.textContent = typeof e.time === 'string' ? e.time.slice(11, 19) : '—';
    cells.via.textContent = e.event === 'price' ? 'polled' : 'stream';
    if (entry.price !== null && entry.price !== e.price) {
      const cls = e.price > entry.price ? 'flash-up' : 'flash-down';
      row.classList.remove('flash-up', 'flash-down');
      void row.offsetWidth;  // restart the animation
      row.classList.add(cls);
    }
    entry.price = e.price;
    row.dataset.updates = String(Number(row.dataset.updates) + 1);
    ticker.events += 1;
    document.body.dataset.tickerEvents = String(ticker.events);
  }

  // Opens the event stream once kisgate says it has one (/v1/budget's `stream`): EventSource
  // cannot read an error reply, so it is not pointed at a kisgate without real-time data.
  function startTicker(budget) {
    if (ticker.started) return;
    if (!budget.stream) {
      tickerState('no real-time data in this kisgate', 'bad');
      return;
    }
    ticker.started = true;
    const codes = tickerCodes();
    tickerRows(codes);
    const params = new URLSearchParams({ codes: codes.join(','), data: 'trades' });
    const token = apiToken();
    if (token) params.set('token', token);  // EventSource cannot send an Authorization header
    const source = new EventSource(`v1/stream?${params}`);
    ticker.source = source;
    tickerState('connecting…');
    source.addEventListener('open', () => tickerState('live', 'live'));
    source.addEventListener('trade', onTrade);
    source.addEventListener('price', onTrade);
    source.addEventListener('gap', () => tickerState('live (some trades were missed)', 'live'));
    source.addEventListener('status', (message) => {
      try {
        const status = JSON.parse(message.data);
        if (status.state === 'closed') tickerState(`closed: ${status.reason}`, 'bad');
      } catch (err) {
        console.error('kisgate dashboard: a status event that is not JSON:', message.data);
      }
    });
    // EventSource reconnects by itself (retry: 3 s), resuming from the last event id.
    source.addEventListener('error', () => tickerState(
      source.readyState === EventSource.CLOSED ? 'stream closed' : 'reconnecting…', 'bad'));
  }

  async function poll() {
    const started = Date.now();
    let budget = null;
    let jobs = null;
    let error = null;
    try {
      [budget, jobs] = await Promise.all([getJson('v1/budget'), getJson('v1/jobs')]);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const now = Date.now();
    try {
      if (error === null) {
        state.lastOkAt = now;
        state.lastBudget = budget;
        state.zoneOffsetMin = zoneOffsetMinutes(budget.time) ?? state.zoneOffsetMin;
        record({ t: now, ok: true, budget });
        renderSummary(budget);
        startTicker(budget);
        renderTimeCharts(budget, now);
        renderErrors(budget, now);
        renderJobs(jobs);
        renderFreshness(jobs);
      } else {
        // The charts keep moving during an outage, so the gap shows how long it lasts.
        record({ t: now, ok: false });
        if (state.lastBudget) renderTimeCharts(state.lastBudget, now);
      }
    } catch (e) {
      // A reply this page cannot draw is a bug here or in the API, not an outage: say so in the
      // console (the browser test fails on console errors) and keep polling.
      console.error('kisgate dashboard: cannot draw the reply:', e);
    }
    state.polls += 1;
    document.body.dataset.polls = String(state.polls);
    renderStatus(error);
    // One poll at a time: a slow kisgate is not sent a second request before the first returns.
    setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
  }

  poll();
})();
