//! The REPL: statements end with `;` and may span lines; client commands (`help`,
//! `exit`, `SPOOL`, `OUTPUT`) are single lines. Like ksqlDB's CLI it keeps `SET`
//! properties and `DEFINE` variables itself and sends them with every statement, and
//! runs `RUN SCRIPT` files statement by statement.
//!
//! [`Repl::handle_line`] is the whole REPL minus the terminal, so it can be driven by
//! a list of lines ([`run_lines`]); [`interactive`] adds rustyline, history,
//! completion and Ctrl-C.

pub mod backend;
pub mod complete;
pub mod interactive;

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sluice_engine::{split_statements, SessionChange, StatementKind};
use sluice_server::ksql::RequestContext;

use crate::entity_render::render_entity;
use crate::render::grid;
use backend::{Backend, QueryEvent};

pub const HELP: &str = "\
Statements end with ';' and may span several lines; ${name} is replaced by a DEFINEd variable.
  CREATE STREAM s (...) WITH (...);  SELECT ... EMIT CHANGES [LIMIT n];  INSERT INTO s VALUES (...);
  SHOW STREAMS | TABLES | QUERIES | TOPICS | FUNCTIONS | PROPERTIES | VARIABLES | TYPES;
  DESCRIBE [EXTENDED] name;  DESCRIBE FUNCTION f;  EXPLAIN query_id;  TERMINATE query_id;  DROP STREAM s;
  SET 'property' = 'value';  UNSET 'property';  DEFINE name = 'value';  UNDEFINE name;
  RUN SCRIPT 'file.sql';     run the statements of a file
Client commands (one line, ';' optional):
  help                       this text
  output [JSON|TABULAR]      show or change how results are printed
  spool FILE | spool off     also write everything printed to FILE
  exit | quit                leave (Ctrl-D too); Ctrl-C cancels a running query or the current input";

/// What the caller should do after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Exit,
}

pub struct Repl<B: Backend> {
    pub backend: B,
    ctx: RequestContext,
    buffer: String,
    json: bool,
    spool: Option<File>,
    cancel: Arc<AtomicBool>,
    names: Arc<Mutex<Vec<String>>>,
}

/// Write to the terminal and to the spool file, if any.
fn emit(out: &mut dyn Write, spool: &mut Option<File>, text: &str) -> io::Result<()> {
    writeln!(out, "{text}")?;
    out.flush()?;
    if let Some(f) = spool {
        writeln!(f, "{text}")?;
    }
    Ok(())
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line of a streamed table: `|a       |b       |`.
fn line_of(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::from("|");
    for (c, w) in cells.iter().zip(widths) {
        s.push_str(&format!("{c:<w$}|"));
    }
    s
}

fn rule(widths: &[usize]) -> String {
    let mut s = String::from("+");
    for w in widths {
        s.push_str(&"-".repeat(*w));
        s.push('+');
    }
    s
}

impl<B: Backend> Repl<B> {
    pub fn new(backend: B) -> Self {
        let mut repl = Repl {
            backend,
            ctx: RequestContext::default(),
            buffer: String::new(),
            json: false,
            spool: None,
            cancel: Arc::new(AtomicBool::new(false)),
            names: Arc::new(Mutex::new(Vec::new())),
        };
        repl.refresh_names();
        repl
    }

    /// Set by Ctrl-C: cancels the running query.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Stream, table, column and function names, for completion.
    pub fn names(&self) -> Arc<Mutex<Vec<String>>> {
        self.names.clone()
    }

    pub fn prompt(&self) -> &'static str {
        if self.buffer.trim().is_empty() {
            "sluice> "
        } else {
            "      > "
        }
    }

    /// Drop a statement being typed (Ctrl-C at the prompt).
    pub fn clear_buffer(&mut self) {
        self.buffer.clear();
    }

    /// Handle one line of input.
    pub fn handle_line(&mut self, line: &str, out: &mut dyn Write) -> io::Result<Control> {
        if self.buffer.trim().is_empty() {
            if let Some(control) = self.command(line.trim(), out)? {
                return Ok(control);
            }
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        let buffer = std::mem::take(&mut self.buffer);
        let mut statements = split_statements(&buffer);
        if statements.last().is_some_and(|s| !s.ends_with(';')) {
            if let Some(rest) = statements.pop() {
                self.buffer = format!("{rest}\n");
            }
        }
        for text in statements {
            self.statement(text, out)?;
        }
        Ok(Control::Continue)
    }

    /// A client command, if the line is one.
    fn command(&mut self, line: &str, out: &mut dyn Write) -> io::Result<Option<Control>> {
        let words: Vec<&str> = line.trim_end_matches(';').split_whitespace().collect();
        let first = words.first().map(|w| w.to_ascii_lowercase());
        let control = match (first.as_deref(), words.len()) {
            (None, _) => Control::Continue,
            (Some("help"), 1) => {
                emit(out, &mut self.spool, HELP)?;
                Control::Continue
            }
            (Some("exit" | "quit"), 1) => Control::Exit,
            (Some("output"), 1) => {
                let mode = if self.json { "JSON" } else { "TABULAR" };
                emit(out, &mut self.spool, &format!("Output format: {mode}"))?;
                Control::Continue
            }
            (Some("output"), 2) => {
                match words[1].to_ascii_uppercase().as_str() {
                    "JSON" => self.json = true,
                    "TABULAR" => self.json = false,
                    other => emit(
                        out,
                        &mut self.spool,
                        &format!("Unknown output format '{other}': use JSON or TABULAR"),
                    )?,
                }
                Control::Continue
            }
            (Some("spool"), 2) if words[1].eq_ignore_ascii_case("off") => {
                self.spool = None;
                emit(out, &mut self.spool, "Spool stopped.")?;
                Control::Continue
            }
            (Some("spool"), 2) => {
                let path = words[1].trim_matches('\'');
                match File::create(path) {
                    Ok(f) => {
                        self.spool = Some(f);
                        emit(out, &mut self.spool, &format!("Spooling to {path}."))?;
                    }
                    Err(e) => emit(
                        out,
                        &mut self.spool,
                        &format!("Cannot spool to {path}: {e}"),
                    )?,
                }
                Control::Continue
            }
            _ => return Ok(None),
        };
        Ok(Some(control))
    }

    /// One `;`-terminated statement.
    fn statement(&mut self, text: &str, out: &mut dyn Write) -> io::Result<()> {
        if let Some(f) = &mut self.spool {
            writeln!(f, "sluice> {text}")?;
        }
        if let Ok(parsed) = self.ctx.session.prepare(text) {
            if let [stmt] = parsed.as_slice() {
                match stmt.kind() {
                    StatementKind::Session => {
                        // the CLI acknowledges property changes; DEFINE and
                        // UNDEFINE say nothing unless they fail
                        let message = match self.ctx.session.apply(stmt) {
                            Some(Ok(
                                change @ (SessionChange::PropertySet { .. }
                                | SessionChange::PropertyUnset { .. }),
                            )) => change.message(),
                            Some(Err(e)) => e.to_string(),
                            _ => String::new(),
                        };
                        if !message.is_empty() {
                            emit(out, &mut self.spool, &message)?;
                        }
                        return Ok(());
                    }
                    StatementKind::RunScript { path } => return self.run_script(&path, out),
                    StatementKind::PushQuery => return self.query(stmt.text(), true, out),
                    StatementKind::PullQuery => return self.query(stmt.text(), false, out),
                    StatementKind::Print => return self.print(stmt.text(), out),
                    _ => {}
                }
            }
        }
        match self.backend.execute(text, &self.ctx) {
            Ok(entities) => {
                for e in &entities {
                    let rendered = if self.json {
                        serde_json::to_string_pretty(e).unwrap_or_default()
                    } else {
                        render_entity(e)
                    };
                    emit(out, &mut self.spool, &rendered)?;
                }
            }
            Err(message) => emit(out, &mut self.spool, &message)?,
        }
        self.refresh_names();
        Ok(())
    }

    fn run_script(&mut self, path: &str, out: &mut dyn Write) -> io::Result<()> {
        match std::fs::read_to_string(path) {
            Ok(sql) => {
                for text in split_statements(&sql) {
                    self.statement(text, out)?;
                }
                Ok(())
            }
            Err(e) => emit(
                out,
                &mut self.spool,
                &format!("Failed to read script '{path}': {e}"),
            ),
        }
    }

    /// Run a SELECT: push queries print rows as they come, pull queries a table.
    fn query(&mut self, sql: &str, push: bool, out: &mut dyn Write) -> io::Result<()> {
        self.cancel.store(false, Ordering::SeqCst);
        let Repl {
            backend,
            ctx,
            spool,
            json,
            cancel,
            ..
        } = self;
        let json = *json;
        let mut header: Vec<String> = Vec::new();
        let mut widths: Vec<usize> = Vec::new();
        let mut collected: Vec<Vec<String>> = Vec::new();
        let mut io_error = None;
        let mut on = |ev: QueryEvent| {
            let mut write = |text: &str| {
                if io_error.is_none() {
                    if let Err(e) = emit(out, spool, text) {
                        io_error = Some(e);
                    }
                }
            };
            match ev {
                QueryEvent::Header(names) => {
                    widths = names.iter().map(|n| n.len().max(12) + 1).collect();
                    if json {
                        write(&json!({ "columnNames": names }).to_string());
                    } else if push {
                        write(&rule(&widths));
                        write(&line_of(&names, &widths));
                        write(&rule(&widths));
                    }
                    header = names;
                }
                QueryEvent::Row(values) => {
                    if json {
                        write(&Value::Array(values).to_string());
                    } else {
                        let cells: Vec<String> = values.iter().map(cell).collect();
                        if push {
                            write(&line_of(&cells, &widths));
                        } else {
                            collected.push(cells);
                        }
                    }
                }
                QueryEvent::End(message) => {
                    if !json && !push {
                        let n = collected.len();
                        write(&grid(header.clone(), std::mem::take(&mut collected)));
                        write(&format!("{n} row(s)"));
                    }
                    if let Some(m) = message {
                        write(&m);
                    }
                    if push {
                        write("Query terminated");
                    }
                }
            }
        };
        let result = backend.query(sql, ctx, cancel, &mut on);
        if let Some(e) = io_error {
            return Err(e);
        }
        if let Err(message) = result {
            emit(out, spool, &message)?;
        }
        Ok(())
    }

    /// Run a PRINT: its lines as they come, until LIMIT or Ctrl-C.
    fn print(&mut self, sql: &str, out: &mut dyn Write) -> io::Result<()> {
        self.cancel.store(false, Ordering::SeqCst);
        let Repl {
            backend,
            spool,
            cancel,
            ..
        } = self;
        let mut io_error = None;
        let result = backend.print(sql, cancel, &mut |line| {
            if io_error.is_none() {
                if let Err(e) = emit(out, spool, &line) {
                    io_error = Some(e);
                }
            }
        });
        if let Some(e) = io_error {
            return Err(e);
        }
        if let Err(message) = result {
            emit(out, spool, &message)?;
        }
        Ok(())
    }

    /// Re-read the names completion offers.
    fn refresh_names(&mut self) {
        let Ok(entities) = self.backend.execute(
            "SHOW FUNCTIONS; DESCRIBE STREAMS; DESCRIBE TABLES;",
            &RequestContext::default(),
        ) else {
            return;
        };
        let mut names = Vec::new();
        for e in &entities {
            for f in e["functions"].as_array().into_iter().flatten() {
                names.extend(f["name"].as_str().map(String::from));
            }
            for d in e["sourceDescriptions"].as_array().into_iter().flatten() {
                names.extend(d["name"].as_str().map(String::from));
                for f in d["fields"].as_array().into_iter().flatten() {
                    names.extend(f["name"].as_str().map(String::from));
                }
            }
        }
        names.sort();
        names.dedup();
        if let Ok(mut n) = self.names.lock() {
            *n = names;
        }
    }
}

/// Feed `lines` to a REPL, writing to `out`, until they run out or one is `exit`.
pub fn run_lines<B, I, S>(repl: &mut Repl<B>, lines: I, out: &mut dyn Write) -> io::Result<()>
where
    B: Backend,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for line in lines {
        if repl.handle_line(line.as_ref(), out)? == Control::Exit {
            break;
        }
    }
    Ok(())
}
