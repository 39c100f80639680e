// spillway dashboard: reads /admin/events (server-sent events; polling /admin/state if those fail)
// and redraws the figures in place. Plain JS, no build step.
'use strict';

const key = new URLSearchParams(location.search).get('key');
const withKey = (path) => (key ? `${path}?key=${encodeURIComponent(key)}` : path);
const $ = (id) => document.getElementById(id);

const fmt = {
  int: (n) => Math.round(n).toLocaleString('en-US'),
  compact: (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : Math.round(n).toLocaleString('en-US')),
  pct: (share) => (share === null || share === undefined ? '–' : `${(share * 100).toFixed(share < 0.1 && share > 0 ? 1 : 0)}%`),
  usd: (n) => (n >= 100 ? `$${n.toFixed(0)}` : n >= 1 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`),
  ms: (n) => (n >= 10000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`),
  time: (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false }),
};

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'class') node.className = value;
    else if (name === 'style') node.setAttribute('style', value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function renderKpis(s) {
  const t = s.totals;
  setText('kpi-requests', fmt.int(t.requests));
  const perMin = s.series.slice(-12).reduce((sum, p) => sum + p.requests, 0);
  setText('kpi-requests-note', `${fmt.int(perMin)} in the last minute`);
  setText('kpi-client429', fmt.int(t.client429));
  setText('kpi-upstream429', fmt.int(t.upstream429));
  setText('kpi-upstream429-note', t.upstream > 0 ? `${fmt.pct(t.upstream429 / t.upstream)} of ${fmt.int(t.upstream)} upstream` : 'prediction misses');
  setText('kpi-queue', fmt.int(s.queueDepth));
  setText('kpi-cache', fmt.pct(s.rates.cacheHit));
  setText('kpi-spill', `${fmt.pct(s.rates.spill)} / ${fmt.pct(s.rates.fallback)}`);
  setText('kpi-tokens', `${fmt.compact(t.inputTokens)} / ${fmt.compact(t.outputTokens)}`);
  setText('kpi-cost', fmt.usd(t.costUsd));
}

function renderAlerts(s) {
  const box = $('alerts');
  box.hidden = s.alerts.length === 0;
  box.replaceChildren(...s.alerts.map((a) => el('div', {}, a.summary)));
}

const DIM_NAMES = { rpm: 'requests/min', rpd: 'requests/day', itpm: 'input tok/min', otpm: 'output tok/min', tpm: 'tokens/min', concurrency: 'in flight' };

function renderKeys(s) {
  const box = $('keys');
  if (s.keys.length === 0) return;
  box.replaceChildren(
    ...s.keys.map((k) => {
      const state = !k.healthy ? ['down', 'resting, refused'] : k.cooling ? ['cooling', 'cooling down'] : k.learning ? ['', 'learning'] : ['', 'in service'];
      const probe = k.nextProbeAt ? ` (next probe in ${Math.max(0, Math.ceil((k.nextProbeAt - s.now) / 1000))} s)` : '';
      const gauges = k.dimensions.map((d) => {
        const share = Math.max(0, d.utilisation);
        const level = share >= 0.9 ? 'hot' : share >= 0.7 ? 'warn' : '';
        return el(
          'div',
          { class: 'gauge', 'data-dimension': d.dimension },
          el('span', { class: 'dim' }, DIM_NAMES[d.dimension] || d.dimension),
          el('div', { class: 'bar' }, el('div', { class: `fill ${level}`, style: `width:${Math.min(100, share * 100).toFixed(1)}%` })),
          el('span', { class: 'fig' }, `${fmt.pct(share)} of ${fmt.compact(d.limit)}`),
        );
      });
      return el(
        'div',
        { class: 'key', 'data-key': `${k.provider}/${k.id}` },
        el('div', { class: 'head' }, el('span', {}, `${k.provider} / ${k.id}`), el('span', { class: `state ${state[0]}`, title: k.disabledReason ? k.disabledReason + probe : '' }, state[1])),
        ...(gauges.length > 0 ? gauges : [el('div', { class: 'muted' }, 'no limits known yet')]),
      );
    }),
  );
}

// The day ahead: forecast demand (next hour, until the reset) against what each daily cap holds.
function renderForecasts(s) {
  const list = s.forecasts || [];
  $('forecast-panel').hidden = list.length === 0;
  if (list.length === 0) return;
  const amount = (f, n) => (f.unit === 'usd' ? fmt.usd(n) : fmt.compact(n));
  const gauge = (f, label, demand, capacity) => {
    const share = capacity > 0 ? demand / capacity : demand > 0 ? 2 : 0;
    const level = share >= 1 ? 'hot' : share >= 0.8 ? 'warn' : '';
    return el(
      'div',
      { class: 'gauge', 'data-horizon': label },
      el('span', { class: 'dim' }, label),
      el('div', { class: 'bar' }, el('div', { class: `fill ${level}`, style: `width:${Math.min(100, share * 100).toFixed(1)}%` })),
      el('span', { class: 'fig' }, `${amount(f, demand)} of ${amount(f, capacity)}`),
    );
  };
  $('forecasts').replaceChildren(
    ...list.map((f) => {
      const verdict = f.exhaustAt ? ['down', `runs out ${fmt.time(f.exhaustAt)}`] : f.batchPerMinute !== undefined ? ['cooling', 'paced to last'] : ['', `lasts to ${fmt.time(f.resetAt)}`];
      const paced = f.batchPerMinute !== undefined && f.kind === 'pool' ? `batch paced to ${f.batchPerMinute.toFixed(1)}/min` : '';
      return el(
        'div',
        { class: 'key', 'data-forecast': `${f.kind}/${f.name}` },
        el('div', { class: 'head' }, el('span', {}, `${f.kind === 'pool' ? f.name : `tenant ${f.name}`} · ${f.unit === 'usd' ? 'daily budget' : 'requests/day'}`), el('span', { class: `state ${verdict[0]}` }, verdict[1])),
        gauge(f, 'next hour', f.demandNextHour, f.capacityNextHour),
        gauge(f, 'until reset', f.demandUntilReset, f.capacityUntilReset),
        el('div', { class: 'muted' }, [f.seasonal ? 'time-of-day profile + ARIMA' : 'ARIMA on recent hours', paced].filter(Boolean).join(' · ')),
      );
    }),
  );
}

function renderRecent(s) {
  if (s.recent.length === 0) return;
  $('recent').replaceChildren(
    ...s.recent.slice(0, 20).map((r) => {
      const statusClass = r.status < 400 ? 'ok' : r.status === 429 ? 'r429' : 'err';
      const tokens = r.inputTokens !== undefined ? `${fmt.int(r.inputTokens)} / ${fmt.int(r.outputTokens || 0)}` : '–';
      return el(
        'tr',
        {},
        el('td', {}, fmt.time(r.at)),
        el('td', {}, r.model || '–'),
        el('td', {}, r.provider || (r.rejected ? `refused (${r.rejected})` : '–')),
        el('td', {}, r.keyId || '–'),
        el('td', {}, el('span', { class: `status ${statusClass}` }, r.status)),
        el('td', {}, el('span', { class: `tag ${r.cache}` }, r.cache)),
        el('td', { class: 'num' }, fmt.ms(r.queueMs)),
        el('td', { class: 'num' }, fmt.ms(r.durationMs)),
        el('td', { class: 'num' }, tokens),
        el('td', { class: 'num' }, r.costUsd !== undefined ? fmt.usd(r.costUsd) : '–'),
      );
    }),
  );
}

function bar(share, text, level) {
  return el(
    'div',
    { class: 'gauge' },
    el('div', { class: 'bar' }, el('div', { class: `fill ${level || ''}`, style: `width:${Math.min(100, Math.max(0, share * 100)).toFixed(1)}%` })),
    el('span', { class: 'fig' }, text),
  );
}

// Per tenant: its share of admissions (what fair share gives it), its queue and wait, its spend against its budgets.
function renderTenants(s) {
  const tenants = s.tenants || [];
  $('tenants-panel').hidden = tenants.length === 0;
  if (tenants.length === 0) return;
  $('tenants').replaceChildren(
    ...tenants.map((t) => {
      const m = t.lastMinute;
      const limits = Object.entries(t.limits).map(([d, v]) => `${DIM_NAMES[d] || d} ${fmt.compact(v)}`).join(', ') || '–';
      const spend = t.budgets.length === 0
        ? el('span', { class: 'muted' }, m.costUsd > 0 ? `${fmt.usd(m.costUsd)} (no budget)` : 'no budget')
        : el('div', {}, ...t.budgets.map((b) => {
            const used = b.limitUsd > 0 ? b.spentUsd / b.limitUsd : 0;
            return bar(used, `${b.window} ${fmt.usd(b.spentUsd)} of ${fmt.usd(b.limitUsd)}`, used >= 1 ? 'hot' : used >= 0.8 ? 'warn' : '');
          }));
      const changed = t.overridden.length > 0 ? ` (changed: ${t.overridden.join(', ')})` : '';
      return el(
        'tr',
        { 'data-tenant': t.name },
        el('td', { title: changed }, t.name + (changed ? ' *' : '')),
        el('td', { class: 'num' }, t.weight),
        el('td', {}, t.priority),
        el('td', { class: 'share' }, bar(m.share || 0, fmt.pct(m.share))),
        el('td', { class: 'num' }, fmt.int(m.requests)),
        el('td', { class: 'num queue' }, t.waiting > 0 ? `${fmt.int(t.waiting)} (${fmt.ms(t.longestWaitMs)})` : '0'),
        el('td', { class: 'num' }, m.meanWaitMs === null ? '–' : fmt.ms(m.meanWaitMs)),
        el('td', { class: 'num' }, fmt.int(m.refused)),
        el('td', {}, limits),
        el('td', { class: 'spend' }, spend),
      );
    }),
  );
}

// Queue depth is sampled by the page itself (the server keeps counts, not depth history).
const queueSamples = [];

function renderChart(s) {
  const canvas = $('chart');
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== width * dpr) canvas.width = width * dpr;
  if (canvas.height !== height * dpr) canvas.height = height * dpr;
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const points = s.series;
  const pad = { left: 36, right: 36, top: 8, bottom: 20 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const max = Math.max(4, ...points.map((p) => p.requests));
  const top = niceCeil(max);
  // grid and axis labels
  g.strokeStyle = '#1f2a44';
  g.fillStyle = color('--muted');
  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  for (let i = 0; i <= 5; i++) {
    const y = pad.top + h - (h * i) / 5;
    g.beginPath();
    g.moveTo(pad.left, y + 0.5);
    g.lineTo(pad.left + w, y + 0.5);
    g.stroke();
    g.textAlign = 'right';
    g.fillText(fmt.compact((top * i) / 5), pad.left - 6, y + 4);
  }
  g.textAlign = 'center';
  for (const [i, label] of [[0, '-5 min'], [points.length / 2, '-2.5 min'], [points.length - 1, 'now']]) {
    g.fillText(label, pad.left + (w * (i + 0.5)) / points.length, height - 4);
  }
  // bars: requests, with client 429s over them
  const slot = w / points.length;
  const bar = Math.max(1, slot - 2);
  points.forEach((p, i) => {
    const x = pad.left + i * slot + 1;
    const hr = (p.requests / top) * h;
    g.fillStyle = color('--blue');
    g.fillRect(x, pad.top + h - hr, bar, hr);
    const h429 = (p.client429 / top) * h;
    g.fillStyle = color('--red');
    g.fillRect(x, pad.top + h - h429, bar, h429);
  });
  // upstream 429s as a line on the same scale
  g.strokeStyle = color('--amber');
  g.lineWidth = 2;
  g.beginPath();
  points.forEach((p, i) => {
    const x = pad.left + (i + 0.5) * slot;
    const y = pad.top + h - (p.upstream429 / top) * h;
    i === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
  });
  g.stroke();
  // queue depth on its own right-hand scale
  queueSamples.push({ t: s.now, depth: s.queueDepth });
  while (queueSamples.length > 0 && queueSamples[0].t < s.now - points.length * s.slotMs) queueSamples.shift();
  const qTop = niceCeil(Math.max(4, ...queueSamples.map((q) => q.depth)));
  const start = points[0].t;
  const span = points.length * s.slotMs;
  g.strokeStyle = color('--violet');
  g.beginPath();
  queueSamples.forEach((q, i) => {
    const x = pad.left + ((q.t - start) / span) * w;
    const y = pad.top + h - (q.depth / qTop) * h;
    i === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = color('--violet');
  g.textAlign = 'left';
  g.fillText(`q ${fmt.compact(qTop)}`, pad.left + w + 4, pad.top + 4);
}

function niceCeil(n) {
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

function render(s) {
  renderKpis(s);
  renderAlerts(s);
  renderKeys(s);
  renderTenants(s);
  renderForecasts(s);
  renderRecent(s);
  renderChart(s);
  document.body.dataset.updated = String(s.now);
}

function connection(state, text) {
  const box = $('connection');
  box.dataset.state = state;
  box.textContent = text;
}

let polling = false;
async function poll() {
  polling = true;
  for (;;) {
    try {
      const response = await fetch(withKey('/admin/state'), { cache: 'no-store' });
      if (!response.ok) throw new Error(String(response.status));
      render(await response.json());
      connection('live', `live (polling) · ${fmt.time(Date.now())}`);
    } catch (error) {
      connection('down', `cannot reach spillway (${error.message})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function listen() {
  const events = new EventSource(withKey('/admin/events'));
  let opened = false;
  events.addEventListener('state', (event) => {
    opened = true;
    render(JSON.parse(event.data));
    connection('live', `live · updated ${fmt.time(Date.now())}`);
  });
  events.onerror = () => {
    // EventSource reconnects by itself; fall back to polling only if it never worked.
    if (!opened && !polling) {
      events.close();
      poll();
    } else {
      connection('down', 'reconnecting…');
    }
  };
}

listen();
