// Drive `nrun dashboard` in headless Chromium (Debian's, through
// playwright-core; no browser download).  Usage:
//   node dashboard_browser.js ui  URL CONTAINER SHOT.png   reload + log level
//   node dashboard_browser.js xss URL CONTAINER SHOT.png   a <script> log line stays text
// Prints one JSON line of what it saw; exits non-zero on any failure.
'use strict';
const { chromium } = require('playwright-core');

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
      await page.waitForFunction((before) => {
        const now = [...document.querySelectorAll('#workers td.pid')].map((t) => t.textContent);
        return now.length === before.length && now.every((p) => !before.includes(p));
      }, out.before, { timeout: 120000, polling: 200 });
      out.after = await pids();
      await page.selectOption('#level', 'warn');
      await page.click('#set-level');
      await page.waitForFunction(() => document.getElementById('action-result').textContent === 'loglevel: ok',
        null, { timeout: 20000 });
      out.result = await page.textContent('#action-result');
    } else {
      await page.waitForFunction(() => document.getElementById('logs').textContent.includes('<script>'),
        null, { timeout: 20000 });
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
