// The console's page: the editor, running statements and queries, the
// catalogue, the history and the query view.

import { ksql, streamQuery, print, splitStatements, statementKind, firstWord, StatementError } from './api.js';
import { el, entityBlock, errorBlock, objectTable, rowTable, fieldRows } from './render.js';
import { graphSvg, sparkline } from './graph.js';
import { createEditor } from './editor.js';

const $ = (id) => document.getElementById(id);
const output = $('output');
const liveArea = $('live');
const status = $('status');
const rowCount = $('row-count');
const HISTORY_KEY = 'sluice.console.history';
let live = null; // the running push query or PRINT: {stop}
let queryView = 0; // the open query view's generation (a newer one stops the older)
const MAX_ROWS = 1000; // a push query's table keeps its last rows

const START = `-- Ctrl-Enter runs the selection, or everything.
SHOW STREAMS;
`;

const editor = createEditor($('editor'), START, run);

function setStatus(text, kind = '') {
  status.textContent = text;
  status.className = kind;
}

function properties() {
  return $('earliest').checked ? { 'auto.offset.reset': 'earliest' } : {};
}

async function stopLive() {
  if (live) {
    const current = live;
    live = null;
    await current.stop();
  }
  $('stop').disabled = true;
}

/** Stops the open query view's polling. */
function closeQueryView() {
  queryView += 1;
}

/** Runs the selection (or everything), statement by statement. */
async function run() {
  const { text, offset } = editor.selection();
  const statements = splitStatements(text);
  if (!statements.length) return;
  editor.mark(0, 0, null);
  closeQueryView();
  output.replaceChildren();
  rememberHistory(text.trim());
  let changedCatalogue = false;
  for (const st of statements) {
    const at = offset + st.from;
    try {
      const kind = statementKind(st.text);
      if (kind === 'query') {
        await runQuery(st.text);
      } else if (kind === 'print') {
        await runPrint(st.text);
      } else {
        setStatus('Running…');
        const entities = await ksql(st.text, properties());
        entities.forEach((e) => output.append(entityBlock(e)));
        setStatus('Done', 'ok');
        changedCatalogue ||= !['SHOW', 'LIST', 'DESCRIBE', 'EXPLAIN', 'INSERT', 'PRINT'].includes(firstWord(st.text));
      }
    } catch (e) {
      markError(e, at, offset + st.to, st.text);
      break;
    }
  }
  if (changedCatalogue) refreshCatalogue();
}

function markError(e, at, end, text) {
  const message = e.message || String(e);
  if (e instanceof StatementError && e.line) {
    const from = editor.offsetOf(at, e.line, e.column);
    editor.mark(from, from + 1, message);
  } else {
    editor.mark(at, end, message);
  }
  output.append(errorBlock(text, message));
  setStatus(e.line ? `Error at line ${editor.view.state.doc.lineAt(editor.offsetOf(at, e.line, e.column)).number}` : 'Error', 'error');
}

/** A push or pull query: its rows go into a table as they come. */
async function runQuery(sql) {
  await stopLive();
  let table = null;
  let rows = 0;
  const block = el('div', { class: 'result live-query' }, el('h3', {}, sql));
  // a push query's rows stay in view while other statements run
  liveArea.replaceChildren(block);
  rowCount.textContent = '0 rows';
  setStatus('Running…');
  const push = /\bEMIT\s+CHANGES\b/i.test(sql);
  const query = streamQuery(sql, properties(), {
    onHeader(header) {
      table = rowTable(header.columnNames || []);
      block.append(table.table);
    },
    onRow(values) {
      table?.add(values);
      const body = table?.table.tBodies[0];
      if (body && body.rows.length > MAX_ROWS) body.deleteRow(0);
      rows += 1;
      rowCount.textContent = `${rows} row${rows === 1 ? '' : 's'}`;
    },
  });
  if (push) {
    // a refusal comes at once: it is the statement's error (marked by run)
    const settled = await Promise.race([
      query.done.then(() => 'ended'),
      new Promise((r) => setTimeout(() => r('streaming'), 300)),
    ]);
    if (settled === 'ended') {
      setStatus('Query ended', 'ok');
      return;
    }
    live = query;
    $('stop').disabled = false;
    setStatus('Streaming…', 'ok');
    query.done.then(() => {
      if (live === query) { live = null; $('stop').disabled = true; setStatus('Query ended', 'ok'); }
    }, (e) => {
      if (live === query) { live = null; $('stop').disabled = true; }
      block.append(errorBlock('The query failed', e.message));
      setStatus('Error', 'error');
    });
  } else {
    await query.done;
    setStatus('Done', 'ok');
  }
}

async function runPrint(sql) {
  await stopLive();
  const pre = el('pre');
  liveArea.replaceChildren(el('div', { class: 'result' }, el('h3', {}, sql), pre));
  const controller = new AbortController();
  const printing = { stop: async () => controller.abort() };
  live = printing;
  $('stop').disabled = false;
  setStatus('Printing…', 'ok');
  let lines = 0;
  print(sql, (line) => {
    pre.append(`${line}\n`);
    lines += 1;
    rowCount.textContent = `${lines} lines`;
  }, controller.signal).then(() => setStatus('Done', 'ok'), (e) => {
    if (e.name === 'AbortError') return;
    pre.append(`Error: ${e.message}\n`);
    setStatus('Error', 'error');
  }).finally(() => {
    // a push query or PRINT started since then keeps its Stop
    if (live === printing) { live = null; $('stop').disabled = true; }
  });
}

// ---- history

function history() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch (_) { return []; }
}

function rememberHistory(text) {
  const list = [text, ...history().filter((t) => t !== text)].slice(0, 50);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(list));
  showHistory();
}

function showHistory() {
  $('history').replaceChildren(...history().map((t) => el('li', { title: t, onclick: () => editor.setText(t) }, t.split('\n').find((l) => l.trim() && !l.startsWith('--')) || t)));
}

// ---- catalogue

function item(text, tag, onclick, title) {
  return el('li', { onclick, title: title || text }, text, tag ? el('span', { class: 'tag muted' }, tag) : null);
}

function fill(kind, items) {
  document.querySelector(`details[data-kind="${kind}"] ul`).replaceChildren(...items);
}

async function show(sql) {
  closeQueryView();
  output.replaceChildren();
  try {
    (await ksql(sql)).forEach((e) => output.append(entityBlock(e)));
  } catch (e) {
    output.append(errorBlock(sql, e.message));
  }
}

async function refreshCatalogue() {
  let entities;
  try {
    entities = await ksql('DESCRIBE STREAMS; DESCRIBE TABLES; SHOW QUERIES; SHOW TOPICS; SHOW TYPES; SHOW FUNCTIONS;');
  } catch (e) {
    setStatus(`Catalogue: ${e.message}`, 'error');
    return;
  }
  let connectors = [];
  try { connectors = (await ksql('SHOW CONNECTORS;'))[0]?.connectors || []; } catch (_) { /* none configured */ }
  const [streams, tables, queries, topics, types, functions] = entities;
  const sources = {};
  const described = (e) => e?.sourceDescriptions || [];
  for (const d of [...described(streams), ...described(tables)]) sources[d.name] = (d.fields || []).map((f) => f.name);
  fill('streams', described(streams).map((d) => item(d.name, d.topic, () => show(`DESCRIBE ${quote(d.name)} EXTENDED;`))));
  fill('tables', described(tables).map((d) => item(d.name, d.topic, () => show(`DESCRIBE ${quote(d.name)} EXTENDED;`))));
  fill('queries', (queries?.queries || []).map((q) => item(q.id, q.state, () => openQuery(q.id), q.queryString)));
  fill('topics', (topics?.topics || []).map((t) => item(t.name, `${(t.replicaInfo || []).length}p`, () => browseTopic(t.name))));
  fill('connectors', connectors.map((c) => item(c.name, c.state || c.type, () => show(`DESCRIBE CONNECTOR ${quote(c.name)};`))));
  fill('types', Object.keys(types?.types || {}).map((name) => item(name, '', () => show('SHOW TYPES;'))));
  const fns = functions?.functions || [];
  fill('functions', fns.map((f) => item(f.name, (f.type || '').toLowerCase(), () => show(`DESCRIBE FUNCTION ${f.name};`))));
  editor.setCatalogue(sources, fns);
}

function quote(name) {
  return /^[A-Z_][A-Z0-9_]*$/.test(name) ? name : `\`${name.replace(/`/g, '``')}\``;
}

function browseTopic(name) {
  show(`DESCRIBE TOPIC ${quote(name)};`);
  runPrint(`PRINT '${name.replace(/'/g, "''")}' FROM BEGINNING LIMIT 50;`);
}

// ---- query view

async function openQuery(id) {
  closeQueryView();
  const generation = queryView;
  await stopLive();
  output.replaceChildren();
  liveArea.replaceChildren();
  const head = el('h3', {}, id);
  const stateLine = el('div');
  const graph = el('div');
  const charts = el('div', { class: 'charts' });
  const plan = el('pre');
  output.append(el('div', { class: 'result query-view', 'data-query': id }, head, stateLine, charts, graph, plan));
  const inRate = sparkline('records in/s');
  const outRate = sparkline('records out/s');
  const lag = sparkline('lag', 'records');
  charts.append(inRate.box, outRate.box, lag.box);
  let last = null;
  let drawn = false;
  const tick = async () => {
    let d;
    try {
      d = (await ksql(`EXPLAIN ${id};`))[0].queryDescription;
    } catch (e) {
      stateLine.replaceChildren(el('span', { class: 'state-ERROR' }, e.message));
      return false;
    }
    const m = d.metrics || {};
    const now = performance.now();
    if (last) {
      const secs = Math.max(0.001, (now - last.at) / 1000);
      inRate.push(Math.max(0, (m.recordsIn - last.recordsIn) / secs));
      outRate.push(Math.max(0, (m.recordsOut - last.recordsOut) / secs));
    } else {
      inRate.push(m.recordsPerSec || 0);
      outRate.push(0);
    }
    lag.push(m.lag ?? 0);
    last = { at: now, recordsIn: m.recordsIn || 0, recordsOut: m.recordsOut || 0 };
    stateLine.replaceChildren(
      el('span', { class: `state-${d.state}` }, d.state), ` · ${m.recordsIn ?? 0} records in · ${m.recordsOut ?? 0} out · sink ${(d.sinks || []).join(', ')}`,
      ...(d.queryErrors || []).slice(-1).map((e) => el('div', { class: 'state-ERROR' }, e.errorMessage)),
    );
    if (!drawn) {
      graph.replaceChildren(graphSvg(d.graph || []));
      plan.textContent = d.statementText;
      drawn = true;
    }
    return true;
  };
  // one poll at a time, each a second after the last answer, until another
  // view or statement takes the page
  const poll = async () => {
    if (generation !== queryView) return;
    if (await tick() && generation === queryView) setTimeout(poll, 1000);
  };
  await poll();
}

// ---- start

$('run').addEventListener('click', run);
$('stop').addEventListener('click', async () => { await stopLive(); setStatus('Stopped'); });
$('refresh').addEventListener('click', refreshCatalogue);
showHistory();
refreshCatalogue();
fetch('/info').then((r) => r.json()).then((info) => {
  const i = info.KsqlServerInfo || {};
  $('server-info').textContent = `${i.version || ''} · service ${i.ksqlServiceId || ''} · ${i.serverStatus || ''}`;
}).catch(() => {});
window.sluiceConsole = { editor, run, openQuery, refreshCatalogue };
