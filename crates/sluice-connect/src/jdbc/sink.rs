//! The JDBC sink: each batch of records becomes rows of table
//! `table.name.format` (`${topic}` the record's topic) in one database
//! transaction per `batch.size` records — `insert.mode` `insert`, `upsert`
//! (the database's own upsert on the primary key) or `update` — with the
//! primary key `pk.mode` says (`none`, `kafka`: topic, partition and offset,
//! `record_key`: the key or its fields, `record_value`: `pk.fields` of the
//! value); with `delete.enabled` a tombstone deletes its key's row. A
//! missing table is created (`auto.create`) and missing columns added
//! (`auto.evolve`) from the record's schema, or from its values when it has
//! none (schemaless JSON). The worker commits the batch's offsets only after
//! the transaction commits: `upsert` writes each record's row exactly once
//! in effect, `insert` at least once.

use std::collections::HashMap;
use std::sync::Arc;

use super::db::{Param, Pool};
use super::{connection, runtime, Dialect, Kind};
use crate::config::ConnectorConfig;
use crate::data::{Schema, SchemaType, Value, DATE, TIME, TIMESTAMP};
use crate::error::{ConnectError, Result};
use crate::record::SinkRecord;
use crate::task::SinkTask;

pub fn validate(config: &ConnectorConfig) -> Result<()> {
    connection(config, true)?;
    let insert = config.choice("insert.mode", &["insert", "upsert", "update"], "insert")?;
    let pk = config.choice(
        "pk.mode",
        &["none", "kafka", "record_key", "record_value"],
        "none",
    )?;
    if insert != "insert" && pk == "none" {
        return Err(ConnectError::config(
            "pk.mode",
            format!(
                "Write mode {} requires a primary key: set pk.mode",
                insert.to_uppercase()
            ),
        ));
    }
    if config.boolean("delete.enabled", false)? && pk != "record_key" {
        return Err(ConnectError::config(
            "pk.mode",
            "Primary key mode must be 'record_key' when delete support is enabled",
        ));
    }
    config.long("batch.size", 3000)?;
    config.boolean("auto.create", false)?;
    config.boolean("auto.evolve", false)?;
    Ok(())
}

/// A column the record brings: name, kind, value.
type Cell = (crate::data::Name, Kind, Value);

pub struct JdbcSinkTask {
    rt: tokio::runtime::Runtime,
    pool: Pool,
    insert_mode: String,
    pk_mode: String,
    pk_fields: Vec<String>,
    auto_create: bool,
    auto_evolve: bool,
    delete_enabled: bool,
    table_format: String,
    batch_size: usize,
    /// The columns of the tables written so far.
    tables: HashMap<String, Columns>,
    /// Each topic's table (`table.name.format`).
    table_names: HashMap<String, String>,
    /// The transactions started and not yet waited for, oldest first, each
    /// with its number: they run one after the other on the task's runtime,
    /// each as soon as the one before is in (see [`JdbcSinkTask::chain`]).
    in_flight: std::collections::VecDeque<(u64, tokio::task::JoinHandle<Result<()>>)>,
    /// The number of the last transaction started.
    started: u64,
    /// Whether the last transaction started succeeded, for the next one to
    /// wait on.
    last_done: Option<tokio::sync::oneshot::Receiver<bool>>,
    /// How a transaction failed: every later wait says so again (until the
    /// task starts anew), so nothing after it counts as written.
    failed: Option<String>,
}

impl JdbcSinkTask {
    pub fn start(config: &ConnectorConfig) -> Result<Self> {
        validate(config)?;
        let (dialect, url) = connection(config, true)?;
        let rt = runtime()?;
        let pool = rt.block_on(Pool::connect(dialect, &url))?;
        Ok(JdbcSinkTask {
            rt,
            pool,
            insert_mode: config.choice("insert.mode", &["insert", "upsert", "update"], "insert")?,
            pk_mode: config.choice(
                "pk.mode",
                &["none", "kafka", "record_key", "record_value"],
                "none",
            )?,
            pk_fields: config.list("pk.fields"),
            auto_create: config.boolean("auto.create", false)?,
            auto_evolve: config.boolean("auto.evolve", false)?,
            delete_enabled: config.boolean("delete.enabled", false)?,
            table_format: config
                .string_or("table.name.format", "${topic}")
                .to_string(),
            batch_size: config.long("batch.size", 3000)?.max(1) as usize,
            tables: HashMap::new(),
            table_names: HashMap::new(),
            in_flight: std::collections::VecDeque::new(),
            started: 0,
            last_done: None,
            failed: None,
        })
    }

    fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    /// Waits for every transaction started, returning a failure.
    fn wait_pending(&mut self) -> Result<()> {
        self.wait_until(self.started)
    }

    /// Waits for the transactions started up to number `upto`, returning
    /// the first failure (and that failure from then on).
    fn wait_until(&mut self, upto: u64) -> Result<()> {
        while let Some((_, handle)) = self.in_flight.pop_front_if(|(n, _)| *n <= upto) {
            let done = self
                .rt
                .block_on(handle)
                .map_err(|e| ConnectError::task(format!("the JDBC sink's write stopped: {e}")))
                .and_then(|r| r);
            if let (Err(e), None) = (&done, &self.failed) {
                self.failed = Some(e.to_string());
            }
        }
        match &self.failed {
            Some(failed) => Err(ConnectError::task(failed.clone())),
            None => Ok(()),
        }
    }

    /// Starts `statements` as a transaction on the task's runtime, run as
    /// soon as the one started before it is in (none of them once one
    /// failed): the database goes from one to the next without waiting for
    /// this thread.
    fn chain(&mut self, statements: Statements) {
        let before = self.last_done.take();
        let (done, last_done) = tokio::sync::oneshot::channel();
        let pool = self.pool.clone();
        let handle = self.rt.spawn(async move {
            if let Some(before) = before {
                if !before.await.unwrap_or(false) {
                    let _ = done.send(false);
                    return Err(ConnectError::task("an earlier transaction failed"));
                }
            }
            let result = pool.execute_all(statements).await;
            let _ = done.send(result.is_ok());
            result
        });
        self.started += 1;
        self.in_flight.push_back((self.started, handle));
        self.last_done = Some(last_done);
    }

    /// Runs DDL once the rows written before it are in.
    fn run_ddl(&mut self, statements: Vec<(String, Vec<Param>)>) -> Result<()> {
        self.wait_pending()?;
        self.rt.block_on(self.pool.execute_all(statements))
    }

    /// The primary key columns of a record, per `pk.mode`.
    fn key_cells(&self, rec: &crate::record::ConnectRecord, offset: i64) -> Result<Vec<Cell>> {
        match self.pk_mode.as_str() {
            "kafka" => {
                let names = if self.pk_fields.len() == 3 {
                    self.pk_fields.clone()
                } else {
                    vec![
                        "__connect_topic".into(),
                        "__connect_partition".into(),
                        "__connect_offset".into(),
                    ]
                };
                Ok(vec![
                    (
                        names[0].as_str().into(),
                        Kind::Text,
                        Value::String(rec.topic.clone()),
                    ),
                    (
                        names[1].as_str().into(),
                        Kind::Int32,
                        Value::Int(rec.partition.unwrap_or(0) as i64),
                    ),
                    (names[2].as_str().into(), Kind::Int64, Value::Int(offset)),
                ])
            }
            "record_key" => {
                if rec.key.is_null() {
                    return Err(ConnectError::conversion(
                        "pk.mode=record_key needs a record key; this record has none",
                    ));
                }
                match (&rec.key, rec.key_schema.as_deref()) {
                    (Value::Struct(_) | Value::Map(_), schema) => {
                        let cells = cells(rec.key.clone(), schema)?;
                        Ok(self.only_named(cells))
                    }
                    (v, schema) => {
                        let name = self
                            .pk_fields
                            .first()
                            .map_or("__connect_key".into(), |f| f.as_str().into());
                        Ok(vec![(name, kind_of(schema, v)?, v.clone())])
                    }
                }
            }
            "record_value" => {
                let cells = cells(rec.value.clone(), rec.value_schema.as_deref())?;
                Ok(self.only_named(cells))
            }
            _ => Ok(Vec::new()),
        }
    }

    fn only_named(&self, cells: Vec<Cell>) -> Vec<Cell> {
        if self.pk_fields.is_empty() {
            return cells;
        }
        self.pk_fields
            .iter()
            .filter_map(|f| cells.iter().find(|(n, ..)| **n == **f).cloned())
            .collect()
    }

    /// Makes sure `table` has every column of `cells` (creating or altering
    /// it as allowed), and returns its columns.
    fn ensure_table(&mut self, table: &str, key: &[Cell], values: &[Cell]) -> Result<Columns> {
        if let Some(known) = self.tables.get(table) {
            // the common case: every column there already
            let has = |(n, ..): &Cell| known.iter().any(|(c, _)| **c == **n);
            if key.iter().all(has) && values.iter().all(has) {
                return Ok(known.clone());
            }
        } else {
            let columns = self.rt.block_on(self.pool.columns(table))?;
            if !columns.is_empty() {
                self.tables.insert(table.to_string(), Arc::new(columns));
            }
        }
        let d = self.dialect();
        let Some(existing) = self.tables.get(table).cloned() else {
            if !self.auto_create {
                return Err(ConnectError::task(format!(
                    "Table {} is missing and auto-creation is disabled",
                    d.quote(table)
                )));
            }
            let mut defs: Vec<String> = key
                .iter()
                .map(|(n, k, _)| format!("{} {} NOT NULL", d.quote(n), sql_type(d, *k, true)))
                .collect();
            defs.extend(
                values
                    .iter()
                    .filter(|(n, ..)| !key.iter().any(|(k, ..)| k == n))
                    .map(|(n, k, _)| format!("{} {} NULL", d.quote(n), sql_type(d, *k, false))),
            );
            if !key.is_empty() {
                let pk: Vec<String> = key.iter().map(|(n, ..)| d.quote(n)).collect();
                defs.push(format!("PRIMARY KEY({})", pk.join(",")));
            }
            let ddl = format!("CREATE TABLE {} (\n{})", d.quote(table), defs.join(",\n"));
            self.run_ddl(vec![(ddl, Vec::new())])?;
            let columns = Arc::new(self.rt.block_on(self.pool.columns(table))?);
            self.tables.insert(table.to_string(), columns.clone());
            return Ok(columns);
        };
        let missing: Vec<&Cell> = key
            .iter()
            .chain(values)
            .filter(|(n, ..)| !existing.iter().any(|(c, _)| **c == **n))
            .collect();
        if missing.is_empty() {
            return Ok(existing);
        }
        if !self.auto_evolve {
            return Err(ConnectError::task(format!(
                "Cannot ALTER TABLE {} to add missing field {}, as auto.evolve is disabled",
                d.quote(table),
                missing[0].0
            )));
        }
        let alters: Vec<(String, Vec<Param>)> = missing
            .iter()
            .map(|(n, k, _)| {
                (
                    format!(
                        "ALTER TABLE {} ADD {} {} NULL",
                        d.quote(table),
                        d.quote(n),
                        sql_type(d, *k, false)
                    ),
                    Vec::new(),
                )
            })
            .collect();
        self.run_ddl(alters)?;
        let columns = Arc::new(self.rt.block_on(self.pool.columns(table))?);
        self.tables.insert(table.to_string(), columns.clone());
        Ok(columns)
    }

    /// What one record asks for: a row to insert (merged with its
    /// neighbours into one multi-row INSERT), or its own statement (an
    /// UPDATE, a DELETE); `None` for a tombstone without `delete.enabled`.
    fn write(&mut self, r: SinkRecord) -> Result<Option<Write>> {
        let SinkRecord {
            offset,
            record: rec,
        } = r;
        let table = match self.table_names.get(&rec.topic) {
            Some(t) => t.clone(),
            None => {
                let t = self.table_format.replace("${topic}", &rec.topic);
                self.table_names.insert(rec.topic.clone(), t.clone());
                t
            }
        };
        let key = self.key_cells(&rec, offset)?;
        if rec.value.is_null() {
            if !self.delete_enabled {
                return Ok(None);
            }
            let columns = self.ensure_table(&table, &key, &[])?;
            let d = self.dialect();
            let (cond, params) = conditions(d, &key, &columns, 1);
            return Ok(Some(Write::Statement(
                format!("DELETE FROM {} WHERE {cond}", d.quote(&table)),
                params,
            )));
        }
        let values = cells(rec.value, rec.value_schema.as_deref())?;
        let values: Vec<Cell> = values
            .into_iter()
            .filter(|(n, ..)| !key.iter().any(|(k, ..)| k == n))
            .collect();
        let columns = self.ensure_table(&table, &key, &values)?;
        let d = self.dialect();
        if self.insert_mode == "update" {
            let sets: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, (n, ..))| format!("{} = {}", d.quote(n), d.param(i + 1)))
                .collect();
            let (cond, key_params) = conditions(d, &key, &columns, values.len() + 1);
            let mut params: Vec<Param> =
                values.iter().map(|c| param(c.clone(), &columns)).collect();
            params.extend(key_params);
            return Ok(Some(Write::Statement(
                format!(
                    "UPDATE {} SET {} WHERE {cond}",
                    d.quote(&table),
                    sets.join(", ")
                ),
                params,
            )));
        }
        Ok(Some(Write::Row {
            table,
            key,
            values,
            columns,
        }))
    }

    /// The statements of `writes` in order: runs of rows of one table with
    /// the same columns become one INSERT of many rows (Connect's JDBC batch;
    /// under `upsert` a key's last row in the run stands, as it would have
    /// one row after the other).
    fn statements(&self, writes: Vec<Write>) -> Vec<(String, Vec<Param>)> {
        let mut out = Vec::new();
        let mut run: Vec<(Vec<Cell>, Vec<Cell>)> = Vec::new();
        let mut shape: Option<RunShape> = None;
        for w in writes {
            match w {
                Write::Statement(sql, params) => {
                    self.flush_run(&mut out, &mut run, &shape);
                    shape = None;
                    out.push((sql, params));
                }
                Write::Row {
                    table,
                    key,
                    values,
                    columns,
                } => {
                    let width = key.len() + values.len();
                    let same = shape.as_ref().is_some_and(|(t, n, _)| {
                        *t == table
                            && n.len() == width
                            && n.iter()
                                .zip(key.iter().chain(&values))
                                .all(|(a, (b, ..))| **a == **b)
                    });
                    // stay within every database's bind parameter limit
                    let full = (run.len() + 1) * width.max(1) > 30_000;
                    if !same || full {
                        self.flush_run(&mut out, &mut run, &shape);
                        let names = key
                            .iter()
                            .chain(&values)
                            .map(|(n, ..)| n.to_string())
                            .collect();
                        shape = Some((table, names, columns));
                    }
                    if self.insert_mode == "upsert" {
                        if let Some(at) = run.iter().position(|(k, _)| *k == key) {
                            run[at].1 = values;
                            continue;
                        }
                    }
                    run.push((key, values));
                }
            }
        }
        self.flush_run(&mut out, &mut run, &shape);
        out
    }

    fn flush_run(
        &self,
        out: &mut Vec<(String, Vec<Param>)>,
        run: &mut Vec<(Vec<Cell>, Vec<Cell>)>,
        shape: &Option<RunShape>,
    ) {
        let (Some((table, names, columns)), Some((key, values))) = (shape, run.first()) else {
            run.clear();
            return;
        };
        let d = self.dialect();
        let quoted: Vec<String> = names.iter().map(|n| d.quote(n)).collect();
        let upsert = (self.insert_mode == "upsert").then(|| upsert_clause(d, key, values));
        let mut params = Vec::with_capacity(run.len() * names.len());
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            d.quote(table),
            quoted.join(",")
        );
        sql.reserve(run.len() * names.len() * 7);
        for (row, (k, v)) in run.drain(..).enumerate() {
            sql.push_str(if row == 0 { "(" } else { ",(" });
            for (i, c) in k.into_iter().chain(v).enumerate() {
                params.push(param(c, columns));
                if i > 0 {
                    sql.push(',');
                }
                d.push_param(&mut sql, params.len());
            }
            sql.push(')');
        }
        if let Some(clause) = upsert {
            sql.push_str(&clause);
        }
        out.push((sql, params));
    }
}

/// What the rows of one multi-row INSERT share: the table, the column
/// names in order, and the table's columns.
type RunShape = (String, Vec<String>, Columns);

/// One record's part of a batch (see [`JdbcSinkTask::write`]).
enum Write {
    Row {
        table: String,
        key: Vec<Cell>,
        values: Vec<Cell>,
        columns: Columns,
    },
    Statement(String, Vec<Param>),
}

/// A cell as a parameter of the column it goes to (its kind from the
/// table, else from the cell).
fn param((n, k, v): Cell, columns: &[(String, Kind)]) -> Param {
    Param {
        kind: columns
            .iter()
            .find(|(c, _)| **c == *n)
            .map_or(k, |(_, kind)| *kind),
        value: v,
    }
}

/// A table's columns and their kinds, shared by the rows written to it.
type Columns = Arc<Vec<(String, Kind)>>;

/// The statements of one transaction.
type Statements = Vec<(String, Vec<Param>)>;

impl JdbcSinkTask {
    /// The transactions that write `records`, `batch.size` records each
    /// (DDL they need, `auto.create` / `auto.evolve`, runs here, after the
    /// transaction in flight).
    fn prepare(&mut self, records: Vec<SinkRecord>) -> Result<Vec<Statements>> {
        let mut transactions = Vec::new();
        let mut rest = records;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(self.batch_size));
            let chunk = std::mem::replace(&mut rest, tail);
            let mut writes = Vec::with_capacity(chunk.len());
            for r in chunk {
                let (topic, partition, offset) = (
                    r.record.topic.clone(),
                    r.record.partition.unwrap_or(0),
                    r.offset,
                );
                let w = self.write(r).map_err(|e| match e {
                    ConnectError::Conversion(m) => ConnectError::Conversion(format!(
                        "{m} (topic {topic}, partition {partition}, offset {offset})"
                    )),
                    other => other,
                })?;
                writes.extend(w);
            }
            transactions.push(self.statements(writes));
        }
        Ok(transactions)
    }

    /// Starts `transactions` one after the other; at most the last of them
    /// and one before it are left running (`flush` waits for them).
    fn begin(&mut self, transactions: Vec<Statements>) -> Result<()> {
        for statements in transactions {
            self.chain(statements);
            self.wait_until(self.started.saturating_sub(2))?;
        }
        Ok(())
    }
}

impl SinkTask for JdbcSinkTask {
    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        let transactions = self.prepare(records)?;
        self.begin(transactions)
    }

    fn flush(&mut self) -> Result<()> {
        self.wait_pending()
    }

    /// The batch's statements are built while the last transaction runs,
    /// and its transaction is started before that one is waited for (it
    /// runs as soon as that one is in): the database is not left idle
    /// meanwhile. `flushed` is called once the earlier ones are in, even
    /// when this batch cannot be written.
    fn flush_and_put(
        &mut self,
        records: Vec<SinkRecord>,
        flushed: &mut dyn FnMut() -> Result<()>,
    ) -> Result<()> {
        let earlier = self.started;
        let prepared = self.prepare(records);
        let failed = match prepared {
            Ok(transactions) => {
                if self.failed.is_none() {
                    for statements in transactions {
                        self.chain(statements);
                    }
                }
                None
            }
            Err(e) => Some(e),
        };
        self.wait_until(earlier)?;
        flushed()?;
        match failed {
            Some(e) => Err(e),
            // at most the last transaction and one before it left running
            None => self.wait_until(self.started.saturating_sub(2)),
        }
    }
}

/// `a = $n AND b = $n+1` over the key cells, and their parameters.
fn conditions(
    d: Dialect,
    key: &[Cell],
    columns: &[(String, Kind)],
    first: usize,
) -> (String, Vec<Param>) {
    let cond: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, (n, ..))| format!("{} = {}", d.quote(n), d.param(first + i)))
        .collect();
    let params = key.iter().map(|c| param(c.clone(), columns)).collect();
    (cond.join(" AND "), params)
}

/// The database's own upsert on the primary key.
fn upsert_clause(d: Dialect, key: &[Cell], values: &[Cell]) -> String {
    let pk: Vec<String> = key.iter().map(|(n, ..)| d.quote(n)).collect();
    match d {
        Dialect::MySql => {
            let sets: Vec<String> = if values.is_empty() {
                pk.iter().map(|c| format!("{c}={c}")).collect()
            } else {
                values
                    .iter()
                    .map(|(n, ..)| format!("{0}=VALUES({0})", d.quote(n)))
                    .collect()
            };
            format!(" ON DUPLICATE KEY UPDATE {}", sets.join(","))
        }
        _ if values.is_empty() => format!(" ON CONFLICT ({}) DO NOTHING", pk.join(",")),
        _ => {
            let sets: Vec<String> = values
                .iter()
                .map(|(n, ..)| format!("{0}=EXCLUDED.{0}", d.quote(n)))
                .collect();
            format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                pk.join(","),
                sets.join(",")
            )
        }
    }
}

/// A struct's (or a schemaless map's) fields as cells, the values moved.
fn cells(value: Value, schema: Option<&Schema>) -> Result<Vec<Cell>> {
    match value {
        Value::Struct(fields) => fields
            .into_iter()
            .map(|(n, v)| {
                let field_schema = schema.and_then(|s| s.field(&n)).map(|f| &f.schema);
                let kind = kind_of(field_schema, &v).map_err(|e| field_error(&n, e))?;
                Ok((n, kind, v))
            })
            .collect(),
        Value::Map(entries) => entries
            .into_iter()
            .map(|(k, v)| {
                let Value::String(n) = k else {
                    return Err(ConnectError::conversion(
                        "a map value's keys must be strings to be columns",
                    ));
                };
                let kind = kind_of(None, &v).map_err(|e| field_error(&n, e))?;
                Ok((n.into(), kind, v))
            })
            .collect(),
        other => Err(ConnectError::conversion(format!(
            "the JDBC sink writes records whose value is a struct (or a JSON object), not {}",
            other.display()
        ))),
    }
}

fn field_error(name: &str, e: ConnectError) -> ConnectError {
    ConnectError::conversion(format!("field {name}: {e}"))
}

/// A field's column kind: from its schema, else from its value.
fn kind_of(schema: Option<&Schema>, value: &Value) -> Result<Kind> {
    if let Some(s) = schema {
        if let Some(scale) = s.decimal_scale() {
            return Ok(Kind::Decimal(scale));
        }
        return Ok(match (s.ty, s.name.as_deref()) {
            (_, Some(DATE)) => Kind::Date,
            (_, Some(TIME)) => Kind::Time,
            (_, Some(TIMESTAMP)) => Kind::Timestamp,
            (SchemaType::Boolean, _) => Kind::Bool,
            (SchemaType::Int8, _) => Kind::Int8,
            (SchemaType::Int16, _) => Kind::Int16,
            (SchemaType::Int32, _) => Kind::Int32,
            (SchemaType::Int64, _) => Kind::Int64,
            (SchemaType::Float32, _) => Kind::Float32,
            (SchemaType::Float64, _) => Kind::Float64,
            (SchemaType::String, _) => Kind::Text,
            (SchemaType::Bytes, _) => Kind::Bytes,
            (other, _) => {
                return Err(ConnectError::conversion(format!(
                    "Unsupported source data type: {}",
                    other.name().to_uppercase()
                )))
            }
        });
    }
    Ok(match value {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int64,
        Value::Float(_) => Kind::Float64,
        Value::Decimal(_, s) => Kind::Decimal(*s),
        Value::Bytes(_) => Kind::Bytes,
        Value::String(_) | Value::Null => Kind::Text,
        Value::Array(_) => {
            return Err(ConnectError::conversion(
                "Unsupported source data type: ARRAY",
            ))
        }
        Value::Map(_) => {
            return Err(ConnectError::conversion(
                "Unsupported source data type: MAP",
            ))
        }
        Value::Struct(_) => {
            return Err(ConnectError::conversion(
                "Unsupported source data type: STRUCT",
            ))
        }
    })
}

/// The column type `auto.create` and `auto.evolve` give a kind.
fn sql_type(d: Dialect, kind: Kind, key: bool) -> String {
    match (d, kind) {
        (Dialect::Sqlite, Kind::Bool | Kind::Decimal(_)) => "NUMERIC".into(),
        (Dialect::Sqlite, Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64) => "INTEGER".into(),
        (Dialect::Sqlite, Kind::Float32 | Kind::Float64) => "REAL".into(),
        (Dialect::Sqlite, Kind::Text) => "TEXT".into(),
        (Dialect::Sqlite, Kind::Bytes) => "BLOB".into(),
        (Dialect::Sqlite, Kind::Timestamp) => "DATETIME".into(),
        (Dialect::Postgres, Kind::Bool) => "BOOLEAN".into(),
        (Dialect::Postgres, Kind::Int8 | Kind::Int16) => "SMALLINT".into(),
        (Dialect::Postgres, Kind::Float32) => "REAL".into(),
        (Dialect::Postgres, Kind::Float64) => "DOUBLE PRECISION".into(),
        (Dialect::Postgres, Kind::Decimal(_)) => "DECIMAL".into(),
        (Dialect::Postgres, Kind::Text) => "TEXT".into(),
        (Dialect::Postgres, Kind::Bytes) => "BYTEA".into(),
        (Dialect::MySql, Kind::Bool) => "TINYINT".into(),
        (Dialect::MySql, Kind::Int8) => "TINYINT".into(),
        (Dialect::MySql, Kind::Int16) => "SMALLINT".into(),
        (Dialect::MySql, Kind::Float32) => "FLOAT".into(),
        (Dialect::MySql, Kind::Float64) => "DOUBLE".into(),
        (Dialect::MySql, Kind::Decimal(s)) => format!("DECIMAL(65,{})", s.min(30)),
        // MySQL keys cannot be TEXT: Connect's JDBC dialect uses VARCHAR(256)
        (Dialect::MySql, Kind::Text) if key => "VARCHAR(256)".into(),
        (Dialect::MySql, Kind::Text) => "TEXT".into(),
        (Dialect::MySql, Kind::Bytes) if key => "VARBINARY(767)".into(),
        (Dialect::MySql, Kind::Bytes) => "BLOB".into(),
        (Dialect::MySql, Kind::Time) => "TIME(3)".into(),
        (Dialect::MySql, Kind::Timestamp) => "DATETIME(3)".into(),
        (_, Kind::Int32) => "INT".into(),
        (_, Kind::Int64) => "BIGINT".into(),
        (_, Kind::Date) => "DATE".into(),
        (_, Kind::Time) => "TIME".into(),
        (_, Kind::Timestamp) => "TIMESTAMP".into(),
    }
}
