// The SQL editor: CodeMirror with ksqlDB's keywords, completion of keywords,
// streams, tables, their columns and functions (from the server's
// catalogue), errors marked where the server says they are, and Ctrl-Enter.

import { EditorView, basicSetup } from 'codemirror';
import { keymap } from '@codemirror/view';
import { Compartment, Prec } from '@codemirror/state';
import { sql, SQLDialect } from '@codemirror/lang-sql';
import { setDiagnostics } from '@codemirror/lint';

const KEYWORDS = `select from where group by having partition emit changes final limit as and or not
null is in between like case when then else end cast create replace drop stream streams table tables
source sink connector connectors insert into values with window tumbling hopping session size advance
retention grace period within join inner left right full outer on show list describe extended
explain terminate pause resume print topic topics queries query properties functions function
types type set unset define undefine variables assert exists if delete true false array map struct
struct key primary headers header begin interval zone at all distinct returns language`;

const TYPES = 'boolean int integer bigint double decimal varchar string bytes date time timestamp';

const ksqlDialect = SQLDialect.define({
  keywords: KEYWORDS.replace(/\s+/g, ' '),
  types: TYPES,
  identifierQuotes: '`',
  hashComments: false,
  doubleQuotedStrings: false,
});

/** The editor in `parent`; `onRun()` runs on Ctrl-Enter. */
export function createEditor(parent, doc, onRun) {
  let functions = [];
  const functionSource = (context) => {
    const word = context.matchBefore(/\w+/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    return {
      from: word.from,
      options: functions.map((f) => ({ label: f.name, type: 'function', detail: (f.category || 'function').toLowerCase() })),
      validFor: /^\w*$/,
    };
  };
  const language = new Compartment();
  const languageFor = (schema) => sql({ dialect: ksqlDialect, schema, upperCaseKeywords: true });
  const view = new EditorView({
    doc,
    parent,
    extensions: [
      basicSetup,
      Prec.highest(keymap.of([{ key: 'Mod-Enter', run: () => { onRun(); return true; } }])),
      language.of(languageFor({})),
      ksqlDialect.language.data.of({ autocomplete: functionSource }),
      EditorView.lineWrapping,
    ],
  });
  return {
    view,
    /** The selected text (with where it starts), else everything. */
    selection() {
      const range = view.state.selection.main;
      if (!range.empty) return { text: view.state.sliceDoc(range.from, range.to), offset: range.from };
      return { text: view.state.doc.toString(), offset: 0 };
    },
    /** Completion of `sources` ({NAME: [columns]}) and `fns` ([{name, category}]). */
    setCatalogue(sources, fns) {
      functions = fns;
      view.dispatch({ effects: language.reconfigure(languageFor(sources)) });
    },
    /** Marks an error from `from` to `to` (document offsets), or clears them. */
    mark(from, to, message) {
      const end = Math.min(view.state.doc.length, Math.max(to, from + 1));
      const diagnostics = message ? [{ from: Math.min(from, end), to: end, severity: 'error', message }] : [];
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    /** The document offset of `line` (1-based) and `column` (1-based) counted from `offset`. */
    offsetOf(offset, line, column) {
      const first = view.state.doc.lineAt(offset);
      const target = view.state.doc.line(Math.min(view.state.doc.lines, first.number + line - 1));
      const start = line === 1 ? offset : target.from;
      return Math.min(target.to, start + Math.max(0, column - 1));
    },
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    focus() { view.focus(); },
  };
}
