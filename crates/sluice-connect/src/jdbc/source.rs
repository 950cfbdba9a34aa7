//! The JDBC source: each poll reads the rows of its tables (or its `query`)
//! that are new by `mode` — `bulk` (every row, every time), `incrementing`
//! (a strictly increasing column above the stored offset), `timestamp` (a
//! column later than the stored one and before now), `timestamp+incrementing`
//! (both, ties on the timestamp broken by the column) — up to
//! `batch.max.rows` at a time, every `poll.interval.ms`. A row becomes a
//! struct named after its table (columns as fields, NUMERIC as DECIMAL, or by
//! `numeric.mapping=best_fit` as the narrowest integer or a double) into
//! topic `topic.prefix` + table; its source offset is Connect JDBC's
//! (`incrementing`, `timestamp`, `timestamp_nanos`) per `{"protocol": "1",
//! "table": ...}`, stored with the records, so a restarted task reads on
//! after the last row written.

use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::db::{Param, Pool, Rows};
use super::{connection, runtime, Kind};
use crate::config::ConnectorConfig;
use crate::data::{Field, Schema, SchemaType, Value, DATE, TIME, TIMESTAMP};
use crate::error::{ConnectError, Result};
use crate::record::{ConnectRecord, SourceRecord};
use crate::task::{SourceTask, TaskContext};

const MODES: [&str; 4] = [
    "bulk",
    "incrementing",
    "timestamp",
    "timestamp+incrementing",
];

pub fn validate(config: &ConnectorConfig) -> Result<()> {
    connection(config, false)?;
    let mode = config.choice("mode", &MODES, "")?;
    if mode.contains("incrementing")
        && config
            .get("incrementing.column.name")
            .is_none_or(|c| c.trim().is_empty())
    {
        return Err(ConnectError::config(
            "incrementing.column.name",
            format!("Query mode must be specified: {mode} needs incrementing.column.name"),
        ));
    }
    if mode.contains("timestamp") && config.list("timestamp.column.name").is_empty() {
        return Err(ConnectError::config(
            "timestamp.column.name",
            format!("Query mode must be specified: {mode} needs timestamp.column.name"),
        ));
    }
    let tables = tables_listed(config);
    if config.get("query").is_some_and(|q| !q.trim().is_empty()) && !tables.is_empty() {
        return Err(ConnectError::config(
            "query",
            "Do not specify table filtering (table.whitelist) with a query",
        ));
    }
    config.long("poll.interval.ms", 5000)?;
    config.long("batch.max.rows", 100)?;
    config.long("timestamp.delay.interval.ms", 0)?;
    config.choice(
        "numeric.mapping",
        &[
            "none",
            "best_fit",
            "best_fit_eager_double",
            "precision_only",
        ],
        "none",
    )?;
    Ok(())
}

/// `table.include.list` (or the older `table.whitelist`).
pub fn tables_listed(config: &ConnectorConfig) -> Vec<String> {
    let listed = config.list("table.include.list");
    if listed.is_empty() {
        config.list("table.whitelist")
    } else {
        listed
    }
}

/// What one task reads: a table, or the connector's query.
struct Reader {
    /// The table name (or `None` in query mode).
    table: Option<String>,
    topic: String,
    partition: std::sync::Arc<Json>,
    incrementing: Option<i64>,
    /// The last timestamp read, epoch ms, and its nanoseconds of the second.
    timestamp: Option<(i64, i64)>,
    next_poll: Instant,
}

pub struct JdbcSourceTask {
    rt: tokio::runtime::Runtime,
    pool: Pool,
    mode: String,
    incrementing_column: Option<String>,
    timestamp_column: Option<String>,
    query: Option<String>,
    batch: i64,
    interval: Duration,
    delay_ms: i64,
    best_fit: bool,
    readers: Vec<Reader>,
    /// Without a table list: the tables are listed again every
    /// `table.poll.interval.ms`, new ones read from then on.
    discovery: Option<Discovery>,
    /// After a full batch, the next one of that reader, read while the
    /// worker writes this one.
    prefetched: Option<(usize, tokio::task::JoinHandle<Result<Rows>>)>,
}

struct Discovery {
    excluded: Vec<String>,
    interval: Duration,
    next: Instant,
    prefix: String,
    task: usize,
    tasks: usize,
}

/// Whether task `task` of `tasks` reads `table`: by a stable hash of its
/// name, so tables found later do not move the others.
fn mine(table: &str, task: usize, tasks: usize) -> bool {
    let hash = table.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    (hash % tasks as u64) as usize == task
}

impl JdbcSourceTask {
    pub fn start(
        config: &ConnectorConfig,
        task: usize,
        tasks: usize,
        ctx: &TaskContext,
    ) -> Result<Self> {
        validate(config)?;
        let (dialect, url) = connection(config, false)?;
        let rt = runtime()?;
        let pool = rt.block_on(Pool::connect(dialect, &url))?;
        let query = config
            .get("query")
            .filter(|q| !q.trim().is_empty())
            .map(str::to_string);
        let prefix = config.string_or("topic.prefix", "").to_string();
        let listed = tables_listed(config);
        let excluded = {
            let e = config.list("table.exclude.list");
            if e.is_empty() {
                config.list("table.blacklist")
            } else {
                e
            }
        };
        let discovery = (query.is_none() && listed.is_empty()).then(|| Discovery {
            excluded: excluded.clone(),
            interval: Duration::from_millis(
                config
                    .long("table.poll.interval.ms", 60_000)
                    .unwrap_or(60_000)
                    .max(1) as u64,
            ),
            next: Instant::now(),
            prefix: prefix.clone(),
            task,
            tasks,
        });
        let readers = if query.is_some() {
            vec![reader(None, &prefix, ctx)]
        } else {
            // a listed table per task in turn; discovered ones by name (below)
            listed
                .into_iter()
                .filter(|t| !excluded.contains(t))
                .enumerate()
                .filter(|(i, _)| i % tasks == task)
                .map(|(_, t)| reader(Some(t), &prefix, ctx))
                .collect()
        };
        Ok(JdbcSourceTask {
            rt,
            pool,
            mode: config.choice("mode", &MODES, "")?,
            incrementing_column: config
                .get("incrementing.column.name")
                .map(|c| c.trim().to_string()),
            timestamp_column: config.list("timestamp.column.name").into_iter().next(),
            query,
            batch: config.long("batch.max.rows", 100)?.max(1),
            interval: Duration::from_millis(config.long("poll.interval.ms", 5000)?.max(1) as u64),
            delay_ms: config.long("timestamp.delay.interval.ms", 0)?.max(0),
            best_fit: config
                .string_or("numeric.mapping", "none")
                .to_ascii_lowercase()
                .starts_with("best_fit"),
            readers,
            discovery,
            prefetched: None,
        })
    }

    /// Lists the tables again when it is time, adding readers of new ones.
    fn discover(&mut self, ctx: &TaskContext) -> Result<()> {
        let Some(d) = &mut self.discovery else {
            return Ok(());
        };
        if Instant::now() < d.next {
            return Ok(());
        }
        d.next = Instant::now() + d.interval;
        let tables = self.rt.block_on(self.pool.tables())?;
        for t in tables {
            let known = self
                .readers
                .iter()
                .any(|r| r.table.as_deref() == Some(t.as_str()));
            if !known && !d.excluded.contains(&t) && mine(&t, d.task, d.tasks) {
                self.readers.push(reader(Some(t), &d.prefix, ctx));
            }
        }
        Ok(())
    }

    /// The statement reading what is new for `reader`, and its parameters.
    fn statement(&self, reader: &Reader) -> (String, Vec<Param>) {
        let d = self.pool.dialect();
        let from = match (&reader.table, &self.query) {
            (Some(t), _) => format!("SELECT * FROM {}", d.quote(t)),
            (None, Some(q)) => format!("SELECT * FROM ({q}) AS sluice_query"),
            (None, None) => unreachable!("a reader reads a table or the query"),
        };
        let inc = self.incrementing_column.as_deref().map(|c| d.quote(c));
        let ts = self.timestamp_column.as_deref().map(|c| d.quote(c));
        let int = |v: i64| Param {
            value: Value::Int(v),
            kind: Kind::Int64,
        };
        let time = |v: i64| Param {
            value: Value::Int(v),
            kind: Kind::Timestamp,
        };
        let until = now_ms() - self.delay_ms;
        let since = reader.timestamp.map_or(0, |(ms, _)| ms);
        let limit = format!(" LIMIT {}", self.batch);
        match self.mode.as_str() {
            "incrementing" => {
                let inc = inc.expect("validated");
                let mut params = vec![int(reader.incrementing.unwrap_or(-1))];
                let sql = format!(
                    "{from} WHERE {inc} > {} ORDER BY {inc} ASC{limit}",
                    d.param(1)
                );
                (sql, std::mem::take(&mut params))
            }
            "timestamp" => {
                let ts = ts.expect("validated");
                let sql = format!(
                    "{from} WHERE {ts} > {} AND {ts} < {} ORDER BY {ts} ASC{limit}",
                    d.param(1),
                    d.param(2)
                );
                (sql, vec![time(since), time(until)])
            }
            "timestamp+incrementing" => {
                let (ts, inc) = (ts.expect("validated"), inc.expect("validated"));
                let sql = format!(
                    "{from} WHERE {ts} < {} AND (({ts} = {} AND {inc} > {}) OR {ts} > {}) ORDER BY {ts}, {inc} ASC{limit}",
                    d.param(1),
                    d.param(2),
                    d.param(3),
                    d.param(4)
                );
                (
                    sql,
                    vec![
                        time(until),
                        time(since),
                        int(reader.incrementing.unwrap_or(-1)),
                        time(since),
                    ],
                )
            }
            _ => (from, Vec::new()),
        }
    }

    fn schema(&self, name: &str, rows: &Rows) -> Schema {
        let fields = rows
            .columns
            .iter()
            .map(|(c, kind)| Field::new(c, self.field_schema(*kind).optional()))
            .collect();
        Schema::structure(fields).named(name)
    }

    fn field_schema(&self, kind: Kind) -> Schema {
        let logical = |ty, name: &str| {
            let mut s = Schema::of(ty).named(name);
            s.version = Some(1);
            s
        };
        match kind {
            Kind::Bool => Schema::of(SchemaType::Boolean),
            Kind::Int8 => Schema::of(SchemaType::Int8),
            Kind::Int16 => Schema::of(SchemaType::Int16),
            Kind::Int32 => Schema::of(SchemaType::Int32),
            Kind::Int64 => Schema::of(SchemaType::Int64),
            Kind::Float32 => Schema::of(SchemaType::Float32),
            Kind::Float64 => Schema::of(SchemaType::Float64),
            Kind::Decimal(0) if self.best_fit => Schema::of(SchemaType::Int64),
            Kind::Decimal(_) if self.best_fit => Schema::of(SchemaType::Float64),
            Kind::Decimal(scale) => Schema::decimal(scale),
            Kind::Text => Schema::of(SchemaType::String),
            Kind::Bytes => Schema::of(SchemaType::Bytes),
            Kind::Date => logical(SchemaType::Int32, DATE),
            Kind::Time => logical(SchemaType::Int32, TIME),
            Kind::Timestamp => logical(SchemaType::Int64, TIMESTAMP),
        }
    }

    /// A value as its field's schema carries it (best-fit decimals).
    fn field_value(&self, kind: Kind, value: Value) -> Value {
        match (kind, value) {
            (Kind::Decimal(0), Value::Decimal(u, s)) if self.best_fit => {
                Value::Int(i64::try_from(u / 10i128.pow(s)).unwrap_or(i64::MAX))
            }
            (Kind::Decimal(_), Value::Decimal(u, s)) if self.best_fit => Value::Float(
                crate::data::decimal_string(u, s)
                    .parse()
                    .unwrap_or(f64::NAN),
            ),
            // a column's values at its scale
            (Kind::Decimal(scale), Value::Decimal(u, s)) if s < scale => {
                Value::Decimal(u * 10i128.pow(scale - s), scale)
            }
            (_, v) => v,
        }
    }
}

impl SourceTask for JdbcSourceTask {
    fn poll(&mut self, ctx: &TaskContext) -> Result<Vec<SourceRecord>> {
        self.discover(ctx)?;
        let Some(index) = (0..self.readers.len()).min_by_key(|i| self.readers[*i].next_poll) else {
            // no table (yet): wait for discovery
            ctx.sleep(self.interval.min(Duration::from_secs(1)));
            return Ok(Vec::new());
        };
        let wait = self.readers[index]
            .next_poll
            .saturating_duration_since(Instant::now());
        if !wait.is_zero() && !ctx.sleep(wait) {
            return Ok(Vec::new());
        }
        let rows = match self.prefetched.take() {
            Some((at, read)) if at == index => self.rt.block_on(read).map_err(|e| {
                ConnectError::task(format!("the JDBC source's read stopped: {e}"))
            })??,
            other => {
                if let Some((_, read)) = other {
                    read.abort();
                }
                let (sql, params) = self.statement(&self.readers[index]);
                self.rt.block_on(self.pool.fetch(&sql, &params))?
            }
        };
        let full = rows.rows.len() as i64 >= self.batch && self.mode != "bulk";
        let reader = &self.readers[index];
        let name = reader.table.clone().unwrap_or_else(|| "query".to_string());
        let schema = std::sync::Arc::new(self.schema(&name, &rows));
        let position = |column: &Option<String>| {
            column.as_ref().and_then(|c| {
                rows.columns
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case(c))
            })
        };
        let (inc_at, ts_at) = (
            position(&self.incrementing_column),
            position(&self.timestamp_column),
        );
        if self.mode.contains("incrementing") && inc_at.is_none() && !rows.rows.is_empty() {
            return Err(ConnectError::config(
                "incrementing.column.name",
                format!(
                    "Cannot find incrementing column {} in table {name}",
                    self.incrementing_column.as_deref().unwrap_or("")
                ),
            ));
        }
        let mut out = Vec::with_capacity(rows.rows.len());
        let (mut inc, mut ts) = (reader.incrementing, reader.timestamp);
        for row in rows.rows {
            if let Some(Value::Int(v)) = inc_at.map(|i| &row[i]) {
                inc = Some(*v);
            }
            if let Some(Value::Int(v)) = ts_at.map(|i| &row[i]) {
                ts = Some((*v, (v.rem_euclid(1000)) * 1_000_000));
            }
            let fields = rows
                .columns
                .iter()
                .zip(row)
                .map(|((c, kind), v)| (c.clone(), self.field_value(*kind, v)))
                .collect();
            out.push(SourceRecord {
                partition: reader.partition.clone(),
                // the batch's last record carries the offset (below)
                offset: Json::Null,
                record: ConnectRecord::new(
                    &reader.topic,
                    Some(schema.clone()),
                    Value::Struct(fields),
                ),
            });
        }
        if let Some(last) = out.last_mut() {
            let mut offset = serde_json::Map::new();
            if let Some(i) = inc.filter(|_| self.mode.contains("incrementing")) {
                offset.insert("incrementing".into(), json!(i));
            }
            if let Some((ms, nanos)) = ts.filter(|_| self.mode.contains("timestamp")) {
                offset.insert("timestamp".into(), json!(ms));
                offset.insert("timestamp_nanos".into(), json!(nanos));
            }
            last.offset = Json::Object(offset);
        }
        let reader = &mut self.readers[index];
        reader.incrementing = inc;
        reader.timestamp = ts;
        // a full batch: more may be waiting, read again at once
        reader.next_poll = if full {
            Instant::now()
        } else {
            Instant::now() + self.interval
        };
        if full {
            let (sql, params) = self.statement(&self.readers[index]);
            let pool = self.pool.clone();
            self.prefetched = Some((
                index,
                self.rt
                    .spawn(async move { pool.fetch(&sql, &params).await }),
            ));
        }
        Ok(out)
    }
}

/// A reader of `table` (the query when `None`) from its stored offset.
fn reader(table: Option<String>, prefix: &str, ctx: &TaskContext) -> Reader {
    let partition = match &table {
        Some(t) => json!({"protocol": "1", "table": t}),
        None => json!({"query": "query"}),
    };
    let partition = std::sync::Arc::new(partition);
    let stored = ctx.offset(&partition);
    Reader {
        topic: format!("{prefix}{}", table.as_deref().unwrap_or("")),
        incrementing: stored.and_then(|o| o["incrementing"].as_i64()),
        timestamp: stored.and_then(|o| {
            Some((
                o["timestamp"].as_i64()?,
                o["timestamp_nanos"].as_i64().unwrap_or(0),
            ))
        }),
        table,
        partition,
        next_poll: Instant::now(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
