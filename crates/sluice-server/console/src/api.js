// The server's REST API, as the console uses it: /ksql for statements,
// /query-stream for push and pull queries, /close-query to stop one, /query
// for PRINT. Same origin, so the browser's basic-auth credentials go along.

/** An error the server answered, with where in the statement it points. */
export class StatementError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
    // ksqlDB's messages name the place as "line L:C:" (syntax) or
    // "Line: L, Col: C:" (semantics)
    const at = /line:? (\d+)(?::|, col:) ?(\d+)/i.exec(message);
    this.line = at ? Number(at[1]) : null;
    this.column = at ? Number(at[2]) : null;
  }
}

async function failure(response) {
  const text = await response.text();
  let message = text || `HTTP ${response.status}`;
  try {
    const body = JSON.parse(text);
    if (body && body.message) message = body.message;
  } catch (_) { /* not JSON: the text as it came */ }
  return new StatementError(message, response.status);
}

/** Runs statements over /ksql; resolves to ksqlDB's entities. */
export async function ksql(statements, properties = {}) {
  const response = await fetch('/ksql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.ksql.v1+json', Accept: 'application/vnd.ksql.v1+json' },
    body: JSON.stringify({ ksql: statements, streamsProperties: properties }),
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * Starts a push or pull query over /query-stream. `onHeader({queryId,
 * columnNames, columnTypes})`, `onRow(values)` as rows arrive; resolves when
 * the query ends (a pull query, a LIMIT, a stop). Returns {done, stop}.
 */
export function streamQuery(sql, properties, { onHeader, onRow }) {
  const controller = new AbortController();
  let queryId = null;
  const done = (async () => {
    const response = await fetch('/query-stream', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/vnd.ksqlapi.delimited.v1' },
      body: JSON.stringify({ sql, properties }),
      signal: controller.signal,
    });
    if (!response.ok) throw await failure(response);
    await readLines(response, (line) => {
      const value = JSON.parse(line);
      if (Array.isArray(value)) {
        onRow(value);
      } else if (value.queryId !== undefined || value.columnNames) {
        queryId = value.queryId;
        onHeader(value);
      } else if (value.message) {
        throw new StatementError(value.message, 200);
      }
    });
  })().catch((e) => {
    if (e.name === 'AbortError') return;
    throw e;
  });
  const stop = async () => {
    if (queryId) {
      await fetch('/close-query', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ queryId }),
      }).catch(() => {});
    }
    controller.abort();
  };
  return { done, stop };
}

/** PRINT over /query: calls `onLine` per line of text until it ends. */
export async function print(sql, onLine, signal) {
  const response = await fetch('/query', {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.ksql.v1+json' },
    body: JSON.stringify({ ksql: sql }),
    signal,
  });
  if (!response.ok) throw await failure(response);
  await readLines(response, onLine);
}

async function readLines(response, onLine) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) onLine(line);
    }
  }
  if (buffered.trim()) onLine(buffered.trim());
}

/**
 * The statements of a script with where each starts and ends: split at
 * semicolons outside quotes ('...', `...`, "...") and comments (--, /* *\/).
 */
export function splitStatements(text) {
  const out = [];
  let start = 0;
  let i = 0;
  const push = (end) => {
    const raw = text.slice(start, end);
    const code = withoutComments(raw).replace(/;$/, '').trim();
    if (code) {
      const lead = raw.length - raw.trimStart().length;
      out.push({ text: raw.trim(), from: start + lead, to: end });
    }
  };
  while (i < text.length) {
    const c = text[i];
    if (c === "'" || c === '`' || c === '"') {
      i += 1;
      while (i < text.length) {
        if (text[i] === c) {
          if (text[i + 1] === c) { i += 2; continue; }
          break;
        }
        i += 1;
      }
      i += 1;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === ';') {
      push(i + 1);
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  push(text.length);
  return out;
}

/** A statement's text without its comments. */
function withoutComments(text) {
  return text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '');
}

/** A statement's first word, upper-cased, comments skipped. */
export function firstWord(text) {
  return withoutComments(text).trim().split(/\s/)[0].toUpperCase();
}

/** What a statement is, by its first word: 'query', 'print' or 'statement'. */
export function statementKind(text) {
  const word = firstWord(text);
  if (word === 'SELECT') return 'query';
  if (word === 'PRINT') return 'print';
  return 'statement';
}
