// nrun dashboard: polls /api/containers every second; everything a container
// reports is put into the page with textContent only.
'use strict';
let token = '';
let selected = null;
let opened = false; // the controls got the selected container's values

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fmtBytes(n) {
  if (typeof n !== 'number') return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}
function num(v, digits, suffix) {
  return typeof v === 'number' ? v.toFixed(digits) + (suffix || '') : '-';
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Nrun-Token': token },
    body: JSON.stringify(body),
  };
  const r = await fetch(path, opts);
  const j = await r.json().catch(() => null);
  if (!r.ok) throw new Error((j && j.error) || r.statusText);
  return j;
}

function renderContainers(list) {
  const tb = document.querySelector('#containers tbody');
  tb.replaceChildren();
  for (const c of list) {
    const tr = el('tr');
    tr.dataset.name = c.Name;
    if (c.Name === selected) tr.className = 'selected';
    tr.append(el('td', c.Name), el('td', c.Image), el('td', c.Status),
      el('td', c.Health || '-', c.Health === 'unhealthy' ? 'bad' : ''),
      el('td', c.Workers.length));
    const td = el('td');
    const b = el('button', 'Open');
    b.addEventListener('click', () => { selected = c.Name; opened = false; refresh(); refreshLogs(); });
    td.append(b);
    tr.append(td);
    tb.append(tr);
  }
}

function renderWorkers(c) {
  document.getElementById('detail').hidden = false;
  document.getElementById('detail-name').textContent = c.Name;
  const tb = document.querySelector('#workers tbody');
  tb.replaceChildren();
  for (const w of c.Workers) {
    const tr = el('tr');
    tr.className = 'worker';
    tr.append(el('td', w.worker), el('td', w.pid, 'pid'), el('td', w.state),
      el('td', num(w.cpu, 1)), el('td', fmtBytes(w.rss)), el('td', num(w.lag_ms, 1, ' ms')),
      el('td', num(w.rps, 1)), el('td', num(typeof w.error_rate === 'number' ? w.error_rate * 100 : null, 1, ' %')),
      el('td', num(w.p99_ms, 1, ' ms')), el('td', w.restarts));
    tb.append(tr);
  }
  if (c.StatsError) {
    const tr = el('tr');
    const td = el('td', c.StatsError, 'bad');
    td.colSpan = 10;
    tr.append(td);
    tb.append(tr);
  }
}

async function refresh() {
  try {
    const list = await api('/api/containers');
    renderContainers(list);
    const c = list.find((x) => x.Name === selected);
    if (c) renderWorkers(c);
    if (c && !opened) { // the controls start from what the container has now
      opened = true;
      document.getElementById('scale-n').value = String(Math.max(1, c.Workers.length));
      if (['debug', 'info', 'warn', 'error'].includes(c.LogLevel)) document.getElementById('level').value = c.LogLevel;
    }
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById('status').textContent = 'error: ' + e.message;
  }
}

async function refreshLogs() {
  if (!selected) return;
  const p = new URLSearchParams({ tail: '200' });
  const s = document.getElementById('log-stream').value;
  const w = document.getElementById('log-worker').value;
  const q = document.getElementById('log-q').value;
  if (s) p.set('stream', s);
  if (w !== '') p.set('worker', w);
  if (q) p.set('q', q);
  try {
    const lines = await api('/api/containers/' + encodeURIComponent(selected) + '/logs?' + p);
    const pre = document.getElementById('logs');
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.replaceChildren();
    for (const l of lines) {
      const line = el('div', (l.time || '') + ' [' + (l.worker ?? '-') + '] ' + l.msg, l.stream === 'stderr' ? 'stderr' : 'line');
      pre.append(line);
    }
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  } catch (e) { /* shown by the next refresh */ }
}

async function act(verb, body) {
  const out = document.getElementById('action-result');
  if (!selected) return;
  out.textContent = verb + '…';
  try {
    await api('/api/containers/' + encodeURIComponent(selected) + '/' + verb, body || {});
    out.textContent = verb + ': ok';
  } catch (e) {
    out.textContent = verb + ': ' + e.message;
  }
  refresh();
}

function on(id, f) { document.getElementById(id).addEventListener('click', f); }

async function main() {
  token = (await api('/api/session')).token;
  on('reload', () => act('reload'));
  on('stop', () => { if (confirm('Stop ' + selected + '?')) act('stop'); });
  on('scale', () => act('scale', { workers: Number(document.getElementById('scale-n').value) }));
  on('set-level', () => act('loglevel', { level: document.getElementById('level').value }));
  on('dye-add', () => act('dye', { rules: [{
    type: document.getElementById('dye-type').value,
    key: document.getElementById('dye-key').value,
    value: document.getElementById('dye-value').value }] }));
  on('dye-off', () => act('dye', { off: true }));
  for (const id of ['log-stream', 'log-worker', 'log-q'])
    document.getElementById(id).addEventListener('change', refreshLogs);
  refresh();
  setInterval(refresh, 1000);
  setInterval(refreshLogs, 2000);
}
main();
