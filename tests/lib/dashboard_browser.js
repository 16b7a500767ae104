// Drive `nrun dashboard` in headless Chromium (Debian's, through
// playwright-core; no browser download).  Usage:
//   node dashboard_browser.js ui  URL CONTAINER SHOT.png   reload + log level
//   node dashboard_browser.js xss URL CONTAINER SHOT.png   a <script> log line stays text
// Prints one JSON line of what it saw; exits non-zero on any failure.
'use strict';
const { chromium } = require('playwright-core');

// Poll f() (in Node: the page's CSP forbids the eval waitForFunction needs)
// until it returns a truthy value.
async function until(f, ms, what) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const v = await f();
    if (v) return v;
  }
  throw new Error('timed out waiting for ' + what);
}

async function main() {
  const [mode, url, name, shot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const out = {};
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => d.accept());
    await page.goto(url);
    out.url = page.url(); // the token left the address for a cookie
    await page.locator(`#containers tr[data-name="${name}"] button`).click();
    await page.waitForSelector('#workers tr.worker');
    const pids = () => page.$$eval('#workers td.pid', (tds) => tds.map((t) => t.textContent).sort());
    out.rows = await page.$$eval('#containers tbody tr', (trs) => trs.map((t) => t.dataset.name));
    if (mode === 'ui') {
      out.before = await pids();
      await page.click('#reload');
      await until(async () => {
        const now = await pids();
        return now.length === out.before.length && now.every((p) => !out.before.includes(p));
      }, 120000, 'new worker PIDs');
      out.after = await pids();
      await page.selectOption('#level', 'warn');
      await page.click('#set-level');
      await until(async () => (await page.textContent('#action-result')) === 'loglevel: ok', 20000, 'loglevel: ok');
      out.result = await page.textContent('#action-result');
    } else {
      await until(async () => (await page.textContent('#logs')).includes('<script>'), 20000, 'the <script> log line');
      out.logs = await page.textContent('#logs');
      out.pwned = await page.evaluate(() => window.pwned === undefined ? null : window.pwned);
      out.scripts = await page.$$eval('#logs script, #logs img', (e) => e.length);
    }
    out.errors = errors;
    await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
