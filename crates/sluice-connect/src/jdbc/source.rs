//! The JDBC source: each poll reads the rows of its tables (or its `query`)
//! that are new by `mode` — `bulk` (every row, every time), `incrementing`
//! (a strictly increasing column above the stored offset), `timestamp` (a
//! column later than the stored one and before now), `timestamp+incrementing`
//! (both, ties on the timestamp broken by the column) — every
//! `poll.interval.ms`. As Connect's, one query is read to its end over as
//! many polls as it takes, `batch.max.rows` rows each, the rows streamed
//! and decoded while the worker writes the last batch. A row becomes a
//! struct named after its table (columns as fields, NUMERIC as DECIMAL, or by
//! `numeric.mapping=best_fit` as the narrowest integer or a double) into
//! topic `topic.prefix` + table; its source offset is Connect JDBC's
//! (`incrementing`, `timestamp`, `timestamp_nanos`) per `{"protocol": "1",
//! "table": ...}`, stored with the records, so a restarted task reads on
//! after the last row written.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::db::{Param, Pool, RawRows, Reading, Rows};
use super::{connection, runtime, Kind};
use crate::config::ConnectorConfig;
use crate::data::{Field, Name, Schema, SchemaType, Value, DATE, TIME, TIMESTAMP};
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
    partition: Arc<Json>,
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
    /// The query being read (as Connect's JDBC source reads one result set
    /// over several polls): its reader, and the rows as they come,
    /// `batch.max.rows` at a time, read while the worker writes the last.
    open: Option<Open>,
}

struct Open {
    reader: usize,
    rows: tokio::sync::mpsc::Receiver<Result<RawRows>>,
    reading: Reading,
    builder: Builder,
    /// Stops the read when the task goes first.
    _read: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
            open: None,
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
        match self.mode.as_str() {
            "incrementing" => {
                let inc = inc.expect("validated");
                let mut params = vec![int(reader.incrementing.unwrap_or(-1))];
                let sql = format!("{from} WHERE {inc} > {} ORDER BY {inc} ASC", d.param(1));
                (sql, std::mem::take(&mut params))
            }
            "timestamp" => {
                let ts = ts.expect("validated");
                let sql = format!(
                    "{from} WHERE {ts} > {} AND {ts} < {} ORDER BY {ts} ASC",
                    d.param(1),
                    d.param(2)
                );
                (sql, vec![time(since), time(until)])
            }
            "timestamp+incrementing" => {
                let (ts, inc) = (ts.expect("validated"), inc.expect("validated"));
                let sql = format!(
                    "{from} WHERE {ts} < {} AND (({ts} = {} AND {inc} > {}) OR {ts} > {}) ORDER BY {ts}, {inc} ASC",
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

    /// What turns the rows of `reader`'s next query into records.
    fn builder(&self, reader: &Reader) -> Builder {
        Builder {
            name: reader.table.clone().unwrap_or_else(|| "query".to_string()),
            topic: reader.topic.clone(),
            partition: reader.partition.clone(),
            incrementing_column: self
                .incrementing_column
                .clone()
                .filter(|_| self.mode.contains("incrementing")),
            timestamp_column: self
                .timestamp_column
                .clone()
                .filter(|_| self.mode.contains("timestamp")),
            best_fit: self.best_fit,
            incrementing: reader.incrementing,
            timestamp: reader.timestamp,
            schema: None,
        }
    }
}

/// A query's columns: names and kinds.
type Columns = Vec<(Name, Kind)>;

/// Turns a query's rows into records: the reader's topic, partition and
/// columns, and how far it has read.
struct Builder {
    /// The schema's name: the table's, or `query`.
    name: String,
    topic: String,
    partition: Arc<Json>,
    /// The offset columns (for the mode).
    incrementing_column: Option<String>,
    timestamp_column: Option<String>,
    best_fit: bool,
    incrementing: Option<i64>,
    /// Epoch ms and the nanoseconds of the second.
    timestamp: Option<(i64, i64)>,
    /// The last columns seen and their schema: a query's batches share one
    /// (and so the transforms' and converters' memos of it).
    schema: Option<(Columns, Arc<Schema>)>,
}

impl Builder {
    fn build(&mut self, rows: Rows) -> Result<Vec<SourceRecord>> {
        let schema = match &self.schema {
            Some((columns, schema)) if *columns == rows.columns => schema.clone(),
            _ => {
                let fields = rows
                    .columns
                    .iter()
                    .map(|(c, kind)| Field::new(c, self.field_schema(*kind).optional()))
                    .collect();
                let schema = Arc::new(Schema::structure(fields).named(&self.name));
                self.schema = Some((rows.columns.clone(), schema.clone()));
                schema
            }
        };
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
        if let (Some(column), None, false) =
            (&self.incrementing_column, inc_at, rows.rows.is_empty())
        {
            return Err(ConnectError::config(
                "incrementing.column.name",
                format!(
                    "Cannot find incrementing column {column} in table {}",
                    self.name
                ),
            ));
        }
        // the columns whose values change to fit their schema: decimals
        let adjusted: Vec<(usize, Kind)> = rows
            .columns
            .iter()
            .enumerate()
            .filter(|(_, (_, k))| matches!(k, Kind::Decimal(_)))
            .map(|(i, (_, k))| (i, *k))
            .collect();
        let mut out = Vec::with_capacity(rows.rows.len());
        for mut fields in rows.rows {
            if let Some((_, Value::Int(v))) = inc_at.map(|i| &fields[i]) {
                self.incrementing = Some(*v);
            }
            if let Some((_, Value::Int(v))) = ts_at.map(|i| &fields[i]) {
                self.timestamp = Some((*v, (v.rem_euclid(1000)) * 1_000_000));
            }
            for (i, kind) in &adjusted {
                let v = &mut fields[*i].1;
                *v = self.field_value(*kind, std::mem::replace(v, Value::Null));
            }
            out.push(SourceRecord {
                partition: self.partition.clone(),
                // the batch's last record carries the offset (below)
                offset: Json::Null,
                record: ConnectRecord::new(
                    &self.topic,
                    Some(schema.clone()),
                    Value::Struct(fields),
                ),
            });
        }
        if let Some(last) = out.last_mut() {
            let mut offset = serde_json::Map::new();
            if let (Some(i), Some(_)) = (self.incrementing, &self.incrementing_column) {
                offset.insert("incrementing".into(), json!(i));
            }
            if let (Some((ms, nanos)), Some(_)) = (self.timestamp, &self.timestamp_column) {
                offset.insert("timestamp".into(), json!(ms));
                offset.insert("timestamp_nanos".into(), json!(nanos));
            }
            last.offset = Json::Object(offset);
        }
        Ok(out)
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
        // a query being read goes on to its end first, as Connect's does
        let index = match &self.open {
            Some(open) => open.reader,
            None => {
                let Some(index) =
                    (0..self.readers.len()).min_by_key(|i| self.readers[*i].next_poll)
                else {
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
                let reader = &self.readers[index];
                let (sql, params) = self.statement(reader);
                let builder = self.builder(reader);
                let (to, rows) = tokio::sync::mpsc::channel(1);
                let (pool, chunk) = (self.pool.clone(), self.batch as usize);
                // the driver reads ahead on the runtime's thread; the rows are
                // decoded and built into records on this one (the worker's
                // writer thread converts and writes them)
                let read = self
                    .rt
                    .spawn(async move { pool.stream(&sql, params, chunk, to, Ok).await });
                self.open = Some(Open {
                    reader: index,
                    rows,
                    reading: Reading::default(),
                    builder,
                    _read: AbortOnDrop(read),
                });
                index
            }
        };
        let open = self.open.as_mut().expect("opened above");
        let Some(raw) = self.rt.block_on(open.rows.recv()) else {
            // the query's end: its reader's next one after the interval
            self.open = None;
            self.readers[index].next_poll = Instant::now() + self.interval;
            return Ok(Vec::new());
        };
        let built = raw
            .and_then(|raw| raw.decode(&mut open.reading))
            .and_then(|rows| open.builder.build(rows));
        match built {
            Ok(records) => {
                let reader = &mut self.readers[index];
                reader.incrementing = open.builder.incrementing;
                reader.timestamp = open.builder.timestamp;
                Ok(records)
            }
            Err(e) => {
                self.open = None;
                Err(e)
            }
        }
    }
}

/// A reader of `table` (the query when `None`) from its stored offset.
fn reader(table: Option<String>, prefix: &str, ctx: &TaskContext) -> Reader {
    let partition = match &table {
        Some(t) => json!({"protocol": "1", "table": t}),
        None => json!({"query": "query"}),
    };
    let partition = Arc::new(partition);
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
