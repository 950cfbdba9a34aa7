// ksqlDB's REST entities as HTML: lists as tables, descriptions as their
// fields, status messages as text, anything else as its JSON.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function cellText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A table of `rows` (arrays of values) under `columns`; returns {table, add}. */
export function rowTable(columns) {
  const body = el('tbody');
  const table = el('table', {}, el('thead', {}, el('tr', {}, columns.map((c) => el('th', {}, c)))), body);
  const add = (values) => {
    body.append(el('tr', {}, values.map((v) => el('td', { class: typeof v === 'number' ? 'num' : '' }, cellText(v)))));
  };
  return { table, add };
}

/** A table of objects, one column per key (in first-seen order). */
export function objectTable(objects, onClick) {
  const columns = [];
  for (const o of objects) for (const k of Object.keys(o)) if (!columns.includes(k)) columns.push(k);
  const { table, add } = rowTable(columns);
  objects.forEach((o) => add(columns.map((c) => o[c])));
  if (onClick) {
    [...table.tBodies[0].rows].forEach((row, i) => {
      row.style.cursor = 'pointer';
      row.addEventListener('click', () => onClick(objects[i]));
    });
  }
  return table;
}

function schemaText(schema) {
  if (!schema) return '';
  switch (schema.type) {
    case 'ARRAY': return `ARRAY<${schemaText(schema.memberSchema)}>`;
    case 'MAP': return `MAP<STRING, ${schemaText(schema.memberSchema)}>`;
    case 'STRUCT': return `STRUCT<${(schema.fields || []).map((f) => `${f.name} ${schemaText(f.schema)}`).join(', ')}>`;
    case 'DECIMAL': return `DECIMAL(${schema.parameters?.precision}, ${schema.parameters?.scale})`;
    default: return schema.type;
  }
}

/** A source description's fields as rows of (name, type). */
export function fieldRows(fields) {
  return (fields || []).map((f) => ({
    name: f.name,
    type: schemaText(f.schema) + (f.type === 'KEY' ? ' (key)' : f.type === 'HEADER' ? ' (header)' : ''),
  }));
}

/** The list an entity carries, if it is a list entity. */
const LISTS = {
  streams: 'streams', tables: 'tables', queries: 'queries', kafka_topics: 'topics',
  connector_list: 'connectors', function_names: 'functions', properties: 'properties',
  source_descriptions: 'sourceDescriptions', query_descriptions: 'queryDescriptions',
};

/** One entity of a /ksql answer as a block of HTML. */
export function entityBlock(entity) {
  const type = entity['@type'];
  const title = el('h3', {}, entity.statementText || type);
  const block = el('div', { class: 'result' }, title);
  if (type === 'currentStatus') {
    block.append(el('pre', {}, entity.commandStatus?.message || entity.commandStatus?.status || ''));
  } else if (type === 'sourceDescription') {
    const d = entity.sourceDescription;
    block.append(el('pre', {}, `${d.type} ${d.name} over topic ${d.topic} (key ${d.keyFormat}, value ${d.valueFormat})`));
    block.append(objectTable(fieldRows(d.fields)));
  } else if (type === 'queryDescription') {
    const d = entity.queryDescription;
    block.append(el('pre', {}, `${d.id} ${d.state}\n${d.statementText}\n\n${d.executionPlan || ''}`));
  } else if (type === 'describe_function') {
    block.append(el('pre', {}, `${entity.name}: ${entity.description || ''}`));
    block.append(objectTable((entity.functions || []).map((f) => ({
      signature: `${entity.name}(${(f.arguments || []).map((a) => `${a.name} ${a.type}`).join(', ')})`,
      returns: f.returnType,
      description: f.description,
    }))));
  } else if (type === 'type_list') {
    block.append(objectTable(Object.entries(entity.types || {}).map(([name, schema]) => ({ name, type: schemaText(schema) }))));
  } else if (LISTS[type] && Array.isArray(entity[LISTS[type]])) {
    block.append(objectTable(entity[LISTS[type]].map(flatten)));
  } else if (type === 'properties') {
    block.append(objectTable(entity.properties || []));
  } else {
    block.append(el('pre', {}, JSON.stringify(entity, null, 2)));
  }
  return block;
}

/** An object's nested values as text, for a table cell. */
function flatten(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) out[k] = v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
  return out;
}

export function errorBlock(title, message) {
  return el('div', { class: 'result error' }, el('h3', {}, title), el('pre', {}, message));
}
