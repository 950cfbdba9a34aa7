// The query view's pictures: the query's steps as a graph (sources on the
// left, its sink on the right) and small live charts of its rates and lag.

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

const W = 230;
const H = 64;
const GAP_X = 60;
const GAP_Y = 18;

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/**
 * The steps `nodes` ({id, kind, label, sql, inputs}) as an SVG: each in the
 * column of its longest path from a source, edges from inputs to readers.
 */
export function graphSvg(nodes) {
  if (!nodes.length) {
    const none = document.createElement('p');
    none.className = 'muted';
    none.textContent = 'No graph for this query.';
    return none;
  }
  const depth = new Map();
  const depthOf = (node) => {
    if (!depth.has(node.id)) {
      depth.set(node.id, node.inputs.length ? 1 + Math.max(...node.inputs.map((i) => depthOf(nodes[i]))) : 0);
    }
    return depth.get(node.id);
  };
  nodes.forEach(depthOf);
  const columns = [];
  for (const node of nodes) (columns[depth.get(node.id)] ||= []).push(node);
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const width = columns.length * (W + GAP_X) - GAP_X + 20;
  const height = rows * (H + GAP_Y) - GAP_Y + 20;
  const at = new Map();
  columns.forEach((column, x) => column.forEach((node, y) => {
    const top = 10 + y * (H + GAP_Y) + ((rows - column.length) * (H + GAP_Y)) / 2;
    at.set(node.id, { x: 10 + x * (W + GAP_X), y: top });
  }));
  const root = svg('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'query graph' });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' },
    svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#98a2b3' }))));
  for (const node of nodes) {
    const to = at.get(node.id);
    for (const input of node.inputs) {
      const from = at.get(input);
      const x1 = from.x + W; const y1 = from.y + H / 2; const x2 = to.x; const y2 = to.y + H / 2;
      root.append(svg('path', { class: 'edge', d: `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}` }));
    }
  }
  for (const node of nodes) {
    const { x, y } = at.get(node.id);
    const title = svg('title');
    title.textContent = `${node.kind}: ${node.label}\n${node.sql}`;
    const kind = svg('text', { class: 'kind', x: x + 8, y: y + 17 });
    kind.textContent = node.kind;
    const label = svg('text', { x: x + 8, y: y + 35 });
    label.textContent = clip(node.label, 32);
    const sql = svg('text', { x: x + 8, y: y + 53, 'font-family': 'monospace' });
    sql.textContent = clip(node.sql, 32);
    root.append(svg('g', { class: `node ${node.kind}`, 'data-kind': node.kind }, svg('rect', { x, y, width: W, height: H }), kind, label, sql, title));
  }
  return root;
}

/** A small live chart: `push(value)` adds a point and redraws. */
export function sparkline(title, unit) {
  const points = [];
  const width = 220;
  const height = 48;
  const line = svg('polyline', { points: '' });
  const value = document.createElement('span');
  value.className = 'value';
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = title;
  const head = document.createElement('div');
  head.append(`${title}: `, value, unit ? ` ${unit}` : '');
  box.append(head, svg('svg', { width, height, viewBox: `0 0 ${width} ${height}` }, line));
  const push = (v) => {
    points.push(v);
    if (points.length > 60) points.shift();
    const max = Math.max(1, ...points);
    line.setAttribute('points', points.map((p, i) => `${(i * width) / 59},${height - 2 - (p / max) * (height - 4)}`).join(' '));
    value.textContent = Number.isInteger(v) ? String(v) : v.toFixed(1);
  };
  return { box, push };
}
