// How long the console takes to load in a real browser (Debian's Chromium via
// playwright-core), each time in a fresh browser context (nothing cached):
// the page's load event and the editor being ready, against a baseline in the
// same run: the server's own /info (a small JSON answer) loaded the same way.
//
// usage: node load-time.js URL TIMES   (CHROMIUM names the browser)
'use strict';

const { chromium } = require('playwright-core');

const [url, times] = [process.argv[2], Number(process.argv[3] || 20)];

function summary(name, values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  console.log(`${name.padEnd(34)} p50 ${at(50).toFixed(0).padStart(5)} ms   p90 ${at(90).toFixed(0).padStart(5)} ms   max ${sorted[sorted.length - 1].toFixed(0).padStart(5)} ms`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const baseline = [];
  const load = [];
  const ready = [];
  let bytes = 0;
  for (let i = 0; i < times; i += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${url}/info`, { waitUntil: 'load' });
    baseline.push(await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd));
    await page.close();
    const console_ = await context.newPage();
    let transferred = 0;
    console_.on('response', async (r) => { transferred += (await r.body().catch(() => Buffer.alloc(0))).length; });
    const started = Date.now();
    await console_.goto(`${url}/`, { waitUntil: 'load' });
    await console_.waitForSelector('.cm-content');
    ready.push(Date.now() - started);
    load.push(await console_.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd));
    bytes = Math.max(bytes, transferred);
    await context.close();
  }
  await browser.close();
  console.log(`${times} loads, each in a fresh browser context (nothing cached), loopback`);
  summary('baseline: GET /info, load event', baseline);
  summary('console: load event', load);
  summary('console: editor ready', ready);
  console.log(`console bytes loaded (page, script, style, catalogue answers): ${bytes}`);
})().catch((e) => { console.error(e); process.exit(1); });
