// The console in a real browser (Debian's Chromium driven by playwright-core):
// types statements into the editor and runs them, watches a push query's rows
// arrive, sees a completion offered and an error marked at its line, opens a
// query's view and finds its graph and live charts, and takes a screenshot.
//
// usage: node console-test.js URL ARTIFACT_DIR   (CHROMIUM names the browser)
'use strict';

const { chromium } = require('playwright-core');
const path = require('path');

const [url, artifacts] = process.argv.slice(2);
const TIMEOUT = 30000;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

async function typeInto(page, text) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // typed as a user would (completion popups closed by the Escape after)
  await page.keyboard.insertText(text);
  await page.keyboard.press('Escape');
}

async function runAndWait(page, text) {
  await typeInto(page, text);
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => ['Done', 'Streaming…', 'Error'].some((s) => document.getElementById('status').textContent.startsWith(s)) && document.getElementById('status').textContent !== 'Running…', null, { timeout: TIMEOUT });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  try {
    const started = Date.now();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('.cm-content');
    const loadMs = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
    console.log(`page loaded in ${loadMs.toFixed(0)} ms (editor ready after ${Date.now() - started} ms)`);

    // a stream, created from the editor
    await runAndWait(page, "CREATE STREAM clicks (id INT KEY, url STRING, ms BIGINT)\n  WITH (kafka_topic='clicks', value_format='JSON', partitions=1);");
    check((await page.textContent('#status')) === 'Done', 'CREATE STREAM ran');
    await page.waitForSelector('details[data-kind="streams"] li:has-text("CLICKS")');
    check(true, 'the new stream is in the catalogue');

    // completion: a stream's name, then one of its columns
    await page.click('.cm-content');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('SELECT * FROM CLI');
    await page.keyboard.press('Control+Space');
    await page.waitForSelector('.cm-tooltip-autocomplete li:has-text("CLICKS")');
    check(true, 'completion offers the stream CLICKS');
    await page.keyboard.press('Escape');
    await page.keyboard.type('CKS WHERE CLICKS.U');
    await page.keyboard.press('Control+Space');
    await page.waitForSelector('.cm-tooltip-autocomplete li:has-text("URL")');
    check(true, 'completion offers the column URL');
    await page.keyboard.press('Escape');

    // a push query: rows appear as they are inserted
    await page.check('#earliest');
    await runAndWait(page, 'SELECT id, url FROM clicks EMIT CHANGES;');
    check((await page.textContent('#status')).startsWith('Streaming'), 'the push query streams');
    await runAndWait(page, "INSERT INTO clicks (id, url, ms) VALUES (1, '/home', 10);\nINSERT INTO clicks (id, url, ms) VALUES (2, '/cart', 20);");
    await page.waitForFunction(() => document.querySelectorAll('#live tbody tr').length >= 2, null, { timeout: TIMEOUT });
    const rows = await page.$$eval('#live tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    check(JSON.stringify(rows) === JSON.stringify([['1', '/home'], ['2', '/cart']]), `the inserted rows arrived: ${JSON.stringify(rows)}`);
    check((await page.textContent('#row-count')) === '2 rows', 'the row counter counts them');
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('stop').disabled);
    check(true, 'the stop button ends the push query');

    // an error marked at its line
    await runAndWait(page, 'SHOW STREAMS;\nSELECT * FROMM clicks EMIT CHANGES;');
    const status = await page.textContent('#status');
    check(status === 'Error at line 2', `the error names line 2 (${status})`);
    const marked = await page.$$eval('.cm-line', (lines) => lines.findIndex((l) => l.querySelector('.cm-lintRange-error')));
    check(marked === 1, `the editor marks the error on line 2 (marked line index ${marked})`);

    // a persistent query and its view: graph and live charts
    await runAndWait(page, "CREATE STREAM shouted AS SELECT id, UCASE(url) AS loud FROM clicks WHERE id > 0 EMIT CHANGES;");
    check((await page.textContent('#status')) === 'Done', 'CREATE STREAM AS SELECT ran');
    const query = 'details[data-kind="queries"] li:has-text("CSAS_SHOUTED")';
    await page.click(query);
    await page.waitForSelector('svg.graph g.node[data-kind="SOURCE"]');
    const kinds = await page.$$eval('svg.graph g.node', (nodes) => nodes.map((n) => n.dataset.kind));
    check(JSON.stringify(kinds) === JSON.stringify(['SOURCE', 'FILTER', 'PROJECT', 'SINK']), `the graph shows the query's steps: ${kinds}`);
    check((await page.$$('svg.graph path.edge')).length === 3, 'the graph links them');
    await runAndWait(page, "INSERT INTO clicks (id, url, ms) VALUES (3, '/pay', 30);");
    await page.click(query);
    await page.waitForFunction(() => {
      const charts = [...document.querySelectorAll('.chart polyline')];
      return charts.length === 3 && charts.every((p) => p.getAttribute('points').split(' ').length >= 3);
    }, null, { timeout: TIMEOUT });
    check(true, 'the query view draws its live charts');
    const state = await page.textContent('.query-view');
    check(state.includes('RUNNING') && state.includes('3 records in'), `the query view shows its state and counts`);

    await page.screenshot({ path: path.join(artifacts, 'console.png') });
    console.log(`screenshot: ${path.join(artifacts, 'console.png')}`);
    check(problems.length === 0, `no page errors ${problems.join('; ')}`);
    console.log('console checks passed');
  } catch (e) {
    await page.screenshot({ path: path.join(artifacts, 'console-failure.png') }).catch(() => {});
    console.log(`FAILED: ${e.stack || e}\n${problems.join('\n')}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
