//! One connection pool over the three databases, with what the connectors
//! ask of them: rows as Connect values, statements in one transaction, the
//! tables and columns there are.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use rust_decimal::Decimal;
use sqlx::{Column, Row, TypeInfo};

use super::pg_wire::{self, Wire};
use super::{Dialect, Kind};
use crate::data::{decimal_string, Name, Value};
use crate::error::{ConnectError, Result};

#[derive(Clone)]
pub enum Pool {
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
    Sqlite(sqlx::SqlitePool),
}

/// A database error as the connector shows it (the driver's message).
fn db_error(e: sqlx::Error) -> ConnectError {
    ConnectError::task(e.to_string())
}

/// Rows read: their columns' names and kinds, and each row as the fields of
/// the struct it becomes (the names shared by every row).
pub struct Rows {
    pub columns: Vec<(Name, Kind)>,
    pub rows: Vec<Vec<(Name, Value)>>,
}

/// Rows as the driver read them, not decoded yet: what [`Pool::stream`]
/// hands its `make`.
pub enum RawRows {
    Postgres(Vec<sqlx::postgres::PgRow>),
    MySql(Vec<sqlx::mysql::MySqlRow>),
    Sqlite(Vec<sqlx::sqlite::SqliteRow>),
}

impl RawRows {
    /// The rows decoded, with the columns `reading` took from the first.
    pub fn decode(&self, reading: &mut Reading) -> Result<Rows> {
        match self {
            RawRows::Postgres(rows) => {
                if let (true, Some(first)) = (reading.wires.is_empty(), rows.first()) {
                    reading.wires = first
                        .columns()
                        .iter()
                        .map(|c| Wire::of(c.type_info().name()))
                        .collect();
                }
                let wires = reading.wires.clone();
                reading.decode(rows, pg_kind, |row, i, kind| {
                    let raw = row.try_get_raw(i).map_err(err)?;
                    pg_wire::value(wires[i], &raw).unwrap_or_else(|| pg_value(row, i, kind))
                })
            }
            RawRows::MySql(rows) => reading.decode(rows, my_kind, my_value),
            RawRows::Sqlite(rows) => reading.decode(rows, lite_kind, lite_value),
        }
    }
}

/// One bind parameter: the value and the kind of the column it goes to.
#[derive(Debug, Clone)]
pub struct Param {
    pub value: Value,
    pub kind: Kind,
}

impl Pool {
    /// A pool of at most two connections (one for SQLite). A connection is
    /// not pinged again when it is taken (a round trip per batch): sqlx
    /// pings it when it is given back and drops it then if broken, and a
    /// statement that still meets a broken one fails its task, which is
    /// tried again.
    pub async fn connect(dialect: Dialect, url: &str) -> Result<Pool> {
        let timeout = Duration::from_secs(10);
        Ok(match dialect {
            Dialect::Postgres => Pool::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(2)
                    .acquire_timeout(timeout)
                    .connect(url)
                    .await
                    .map_err(db_error)?,
            ),
            Dialect::MySql => Pool::MySql(
                sqlx::mysql::MySqlPoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(2)
                    .acquire_timeout(timeout)
                    .connect(url)
                    .await
                    .map_err(db_error)?,
            ),
            Dialect::Sqlite => Pool::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(1)
                    .acquire_timeout(timeout)
                    .connect(url)
                    .await
                    .map_err(db_error)?,
            ),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
            Pool::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// The rows `sql` returns with `params` bound.
    pub async fn fetch(&self, sql: &str, params: &[Param]) -> Result<Rows> {
        let (to, mut from) = tokio::sync::mpsc::channel(1);
        let mut reading = Reading::default();
        self.stream(sql, params.to_vec(), usize::MAX, to, |raw| {
            raw.decode(&mut reading)
        })
        .await;
        match from.recv().await {
            Some(rows) => rows,
            None => Ok(Rows {
                columns: Vec::new(),
                rows: Vec::new(),
            }),
        }
    }

    /// Sends the rows `sql` returns into `to`, `chunk` rows at a time, each
    /// chunk as `make` makes it of the rows the driver read (see
    /// [`RawRows`]): the database, this reading and whoever takes the chunks
    /// work at once, and a full channel stops the reading (and so the
    /// database) until there is room. A failure is sent as the last item;
    /// the reading stops early when `to` is closed.
    pub async fn stream<T>(
        &self,
        sql: &str,
        params: Vec<Param>,
        chunk: usize,
        to: tokio::sync::mpsc::Sender<Result<T>>,
        mut make: impl FnMut(RawRows) -> Result<T>,
    ) {
        use futures_util::TryStreamExt;
        // the same steps for each database, its binder and rows apart
        macro_rules! stream {
            ($pool:expr, $bind:ident, $raw:path) => {{
                let mut q = sqlx::query(sql);
                for param in params {
                    q = $bind(q, param);
                }
                let mut rows = q.fetch($pool);
                let mut read = Vec::new();
                loop {
                    let done = match rows.try_next().await {
                        Ok(Some(row)) => {
                            read.push(row);
                            false
                        }
                        Ok(None) => true,
                        Err(e) => {
                            let _ = to.send(Err(db_error(e))).await;
                            return;
                        }
                    };
                    if (done && !read.is_empty()) || read.len() >= chunk {
                        let made = make($raw(std::mem::take(&mut read)));
                        let failed = made.is_err();
                        if to.send(made).await.is_err() || failed {
                            return;
                        }
                    }
                    if done {
                        return;
                    }
                }
            }};
        }
        match self {
            Pool::Postgres(p) => stream!(p, bind_pg, RawRows::Postgres),
            Pool::MySql(p) => stream!(p, bind_my, RawRows::MySql),
            Pool::Sqlite(p) => stream!(p, bind_lite, RawRows::Sqlite),
        }
    }

    /// Runs `statements` in one transaction: all or nothing.
    pub async fn execute_all(&self, mut statements: Vec<(String, Vec<Param>)>) -> Result<()> {
        macro_rules! execute_all {
            ($pool:expr, $bind:ident) => {{
                let mut tx = $pool.begin().await.map_err(db_error)?;
                for (sql, params) in statements.iter_mut() {
                    let mut q = sqlx::query(sql.as_str());
                    for param in std::mem::take(params) {
                        q = $bind(q, param);
                    }
                    q.execute(&mut *tx)
                        .await
                        .map_err(|e| statement_error(e, sql))?;
                }
                tx.commit().await.map_err(db_error)
            }};
        }
        match self {
            Pool::Postgres(p) => execute_all!(p, bind_pg),
            Pool::MySql(p) => execute_all!(p, bind_my),
            Pool::Sqlite(p) => execute_all!(p, bind_lite),
        }
    }

    /// The tables of the connection's schema (database).
    pub async fn tables(&self) -> Result<Vec<String>> {
        let sql = match self.dialect() {
            Dialect::Postgres => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
            Dialect::MySql => "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1",
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
        };
        let rows = self.fetch(sql, &[]).await?;
        Ok(rows
            .rows
            .into_iter()
            .filter_map(|r| match r.into_iter().next() {
                Some((_, Value::String(s))) => Some(s),
                _ => None,
            })
            .collect())
    }

    /// The columns of `table` by name, with their kinds; empty when the
    /// table does not exist.
    pub async fn columns(&self, table: &str) -> Result<Vec<(String, Kind)>> {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.display(),
        };
        match self.dialect() {
            Dialect::Sqlite => {
                let sql = format!("PRAGMA table_info({})", self.dialect().quote(table));
                let rows = self.fetch(&sql, &[]).await?;
                Ok(rows
                    .rows
                    .iter()
                    .map(|r| (text(&r[1].1), declared_kind(&text(&r[2].1))))
                    .collect())
            }
            d => {
                let sql = match d {
                    Dialect::Postgres => "SELECT column_name::text, data_type::text, COALESCE(numeric_scale, 0)::bigint FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                    _ => "SELECT CAST(column_name AS CHAR), CAST(column_type AS CHAR), CAST(COALESCE(numeric_scale, 0) AS SIGNED) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
                };
                let rows = self
                    .fetch(
                        sql,
                        &[Param {
                            value: Value::String(table.to_string()),
                            kind: Kind::Text,
                        }],
                    )
                    .await?;
                Ok(rows
                    .rows
                    .iter()
                    .map(|r| {
                        let scale = match r[2].1 {
                            Value::Int(s) => s.max(0) as u32,
                            _ => 0,
                        };
                        let mut kind = declared_kind(&text(&r[1].1));
                        if let Kind::Decimal(_) = kind {
                            kind = Kind::Decimal(scale);
                        }
                        (text(&r[0].1), kind)
                    })
                    .collect())
            }
        }
    }
}

fn statement_error(e: sqlx::Error, sql: &str) -> ConnectError {
    ConnectError::task(format!("{e} (in: {sql})"))
}

/// The columns of a query being read, from its first row: every chunk of
/// its rows is decoded with them.
#[derive(Default)]
pub struct Reading {
    columns: Vec<(Name, Kind)>,
    /// PostgreSQL's: the columns' wire types.
    wires: Vec<Wire>,
}

impl Reading {
    fn decode<R: Row>(
        &mut self,
        rows: &[R],
        kind_of: impl Fn(&str) -> Kind,
        value_of: impl Fn(&R, usize, Kind) -> Result<Value>,
    ) -> Result<Rows> {
        if let (true, Some(first)) = (self.columns.is_empty(), rows.first()) {
            self.columns = first
                .columns()
                .iter()
                .map(|c| (Name::from(c.name()), kind_of(c.type_info().name())))
                .collect();
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(self.columns.len());
            for (i, (name, kind)) in self.columns.iter().enumerate() {
                let value = value_of(row, i, *kind)
                    .map_err(|e| ConnectError::conversion(format!("column {name}: {e}")))?;
                values.push((name.clone(), value));
            }
            out.push(values);
        }
        // a decimal column takes the scale of its values
        let mut columns = self.columns.clone();
        for (i, (_, kind)) in columns.iter_mut().enumerate() {
            if let Kind::Decimal(_) = kind {
                if let Some((_, Value::Decimal(_, s))) =
                    out.iter().map(|r| &r[i]).find(|(_, v)| !v.is_null())
                {
                    *kind = Kind::Decimal(*s);
                }
            }
        }
        Ok(Rows { columns, rows: out })
    }
}

/// A column's kind from its declared SQL type (information_schema, PRAGMA).
pub fn declared_kind(declared: &str) -> Kind {
    let t = declared.trim().to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    match base {
        "boolean" | "bool" => Kind::Bool,
        "tinyint" if t.starts_with("tinyint(1)") => Kind::Bool,
        "tinyint" => Kind::Int8,
        "smallint" | "int2" => Kind::Int16,
        "integer" | "int" | "int4" | "mediumint" | "serial" => {
            if t.contains("unsigned") {
                Kind::Int64
            } else {
                Kind::Int32
            }
        }
        "bigint" | "int8" | "bigserial" => Kind::Int64,
        "real" | "float4" | "float" => Kind::Float32,
        "double" | "float8" => Kind::Float64,
        "numeric" | "decimal" => Kind::Decimal(0),
        "bytea" | "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
            Kind::Bytes
        }
        "date" => Kind::Date,
        "time" => Kind::Time,
        "timestamp" | "datetime" => Kind::Timestamp,
        _ => Kind::Text,
    }
}

pub(super) fn pg_kind(name: &str) -> Kind {
    match name {
        "BOOL" => Kind::Bool,
        "INT2" => Kind::Int16,
        "INT4" | "OID" => Kind::Int32,
        "INT8" => Kind::Int64,
        "FLOAT4" => Kind::Float32,
        "FLOAT8" => Kind::Float64,
        "NUMERIC" => Kind::Decimal(0),
        "BYTEA" => Kind::Bytes,
        "DATE" => Kind::Date,
        "TIME" => Kind::Time,
        "TIMESTAMP" | "TIMESTAMPTZ" => Kind::Timestamp,
        _ => Kind::Text,
    }
}

fn my_kind(name: &str) -> Kind {
    declared_kind(name)
}

fn lite_kind(name: &str) -> Kind {
    match name {
        "INTEGER" => Kind::Int64,
        "REAL" => Kind::Float64,
        "BLOB" => Kind::Bytes,
        "BOOLEAN" => Kind::Bool,
        "DATE" => Kind::Date,
        "DATETIME" => Kind::Timestamp,
        "TIME" => Kind::Time,
        _ => Kind::Text,
    }
}

fn decimal_value(d: Decimal) -> Value {
    Value::Decimal(d.mantissa(), d.scale())
}

fn days(d: NaiveDate) -> Value {
    Value::Int(
        d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
            .num_days(),
    )
}

fn millis_of_day(t: NaiveTime) -> Value {
    Value::Int(t.num_seconds_from_midnight() as i64 * 1000 + (t.nanosecond() / 1_000_000) as i64)
}

fn err(e: sqlx::Error) -> ConnectError {
    ConnectError::conversion(e.to_string())
}

macro_rules! get {
    ($row:expr, $i:expr, $t:ty, $f:expr) => {
        $row.try_get::<Option<$t>, _>($i)
            .map_err(err)?
            .map_or(Value::Null, $f)
    };
}

/// A value of the kinds PostgreSQL and MySQL read alike (everything but
/// integers, whose widths and signs differ): `zoned` when the column is a
/// timestamp with a time zone (`TIMESTAMPTZ`, MySQL's `TIMESTAMP`).
fn shared_value<'r, R>(row: &'r R, i: usize, kind: Kind, zoned: bool) -> Result<Value>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Decimal: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    NaiveTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    NaiveDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(match kind {
        Kind::Bool => get!(row, i, bool, Value::Bool),
        Kind::Float32 => get!(row, i, f32, |v| Value::Float(v as f64)),
        Kind::Float64 => get!(row, i, f64, Value::Float),
        Kind::Decimal(_) => get!(row, i, Decimal, decimal_value),
        Kind::Bytes => get!(row, i, Vec<u8>, Value::Bytes),
        Kind::Date => get!(row, i, NaiveDate, days),
        Kind::Time => get!(row, i, NaiveTime, millis_of_day),
        Kind::Timestamp if zoned => {
            get!(row, i, DateTime<Utc>, |v| Value::Int(v.timestamp_millis()))
        }
        Kind::Timestamp => get!(row, i, NaiveDateTime, |v| Value::Int(
            v.and_utc().timestamp_millis()
        )),
        Kind::Text => get!(row, i, String, Value::String),
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => get!(row, i, i64, Value::Int),
    })
}

pub(super) fn pg_value(row: &sqlx::postgres::PgRow, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int8 | Kind::Int16 => get!(row, i, i16, |v| Value::Int(v as i64)),
        Kind::Int32 => get!(row, i, i32, |v| Value::Int(v as i64)),
        other => {
            let zoned = matches!(other, Kind::Timestamp)
                && row.columns()[i].type_info().name() == "TIMESTAMPTZ";
            return shared_value(row, i, other, zoned);
        }
    })
}

fn my_value(row: &sqlx::mysql::MySqlRow, i: usize, kind: Kind) -> Result<Value> {
    let type_name = row.columns()[i].type_info().name();
    let unsigned = type_name.contains("UNSIGNED");
    Ok(match kind {
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 if unsigned => {
            get!(row, i, u64, |v| Value::Int(v as i64))
        }
        Kind::Int8 => get!(row, i, i8, |v| Value::Int(v as i64)),
        Kind::Int16 => get!(row, i, i16, |v| Value::Int(v as i64)),
        Kind::Int32 => get!(row, i, i32, |v| Value::Int(v as i64)),
        other => return shared_value(row, i, other, type_name == "TIMESTAMP"),
    })
}

fn lite_value(row: &sqlx::sqlite::SqliteRow, i: usize, kind: Kind) -> Result<Value> {
    use sqlx::ValueRef;
    // a column with no declared type (an expression, a PRAGMA's) is read by
    // the storage class of each value
    let kind = match kind {
        Kind::Text => {
            let raw = row.try_get_raw(i).map_err(err)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            match raw.type_info().name() {
                "INTEGER" => Kind::Int64,
                "REAL" => Kind::Float64,
                "BLOB" => Kind::Bytes,
                _ => Kind::Text,
            }
        }
        k => k,
    };
    Ok(match kind {
        Kind::Bool => get!(row, i, bool, Value::Bool),
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => get!(row, i, i64, Value::Int),
        Kind::Float32 | Kind::Float64 | Kind::Decimal(_) => get!(row, i, f64, Value::Float),
        Kind::Bytes => get!(row, i, Vec<u8>, Value::Bytes),
        Kind::Date => get!(row, i, NaiveDate, days),
        Kind::Time => get!(row, i, NaiveTime, millis_of_day),
        Kind::Timestamp => get!(row, i, NaiveDateTime, |v| Value::Int(
            v.and_utc().timestamp_millis()
        )),
        Kind::Text => get!(row, i, String, Value::String),
    })
}

/// A value as the bound type of `kind`: numbers and text converted where
/// the column's type asks for it (a JSON number into a TEXT column, a
/// string into a DATE column is refused).
pub enum Bound {
    Null(Kind),
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    Text(String),
    Bytes(Vec<u8>),
    Date(NaiveDate),
    Time(NaiveTime),
    Timestamp(NaiveDateTime),
}

pub fn bound(param: Param) -> Bound {
    // text and bytes into their own columns move as they are
    let param = match (param.kind, param.value) {
        (Kind::Text, Value::String(s)) => return Bound::Text(s),
        (Kind::Bytes, Value::Bytes(b)) => return Bound::Bytes(b),
        (kind, value) => Param { value, kind },
    };
    let v = &param.value;
    if v.is_null() {
        return Bound::Null(param.kind);
    }
    let as_int = |v: &Value| match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(*b as i64),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::String(s) => s.trim().parse().ok(),
        Value::Decimal(u, s) => i64::try_from(*u / 10i128.pow(*s)).ok(),
        _ => None,
    };
    let text = || match v {
        Value::String(s) => s.clone(),
        other => other.display(),
    };
    match param.kind {
        Kind::Bool => match v {
            Value::Bool(b) => Bound::Bool(*b),
            other => as_int(other).map_or(Bound::Text(text()), |i| Bound::Bool(i != 0)),
        },
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => {
            as_int(v).map_or(Bound::Text(text()), Bound::Int)
        }
        Kind::Float32 | Kind::Float64 => match v {
            Value::Float(f) => Bound::Float(*f),
            Value::Int(i) => Bound::Float(*i as f64),
            Value::Decimal(..) | Value::String(_) => {
                text().parse().map_or(Bound::Text(text()), Bound::Float)
            }
            _ => Bound::Text(text()),
        },
        Kind::Decimal(_) => match v {
            Value::Decimal(u, s) => Decimal::try_from_i128_with_scale(*u, *s)
                .map_or(Bound::Text(decimal_string(*u, *s)), Bound::Decimal),
            other => {
                let t = match other {
                    Value::Float(f) => f.to_string(),
                    _ => text(),
                };
                t.parse::<Decimal>().map_or(Bound::Text(t), Bound::Decimal)
            }
        },
        Kind::Bytes => match v {
            Value::Bytes(b) => Bound::Bytes(b.clone()),
            _ => Bound::Bytes(text().into_bytes()),
        },
        Kind::Date => match v {
            Value::Int(d) => NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(*d)))
                .map_or(Bound::Text(text()), Bound::Date),
            _ => Bound::Text(text()),
        },
        Kind::Time => match v {
            Value::Int(ms) => NaiveTime::from_num_seconds_from_midnight_opt(
                (ms / 1000) as u32,
                ((ms % 1000) * 1_000_000) as u32,
            )
            .map_or(Bound::Text(text()), Bound::Time),
            _ => Bound::Text(text()),
        },
        Kind::Timestamp => match v {
            Value::Int(ms) => DateTime::<Utc>::from_timestamp_millis(*ms)
                .map_or(Bound::Text(text()), |t| Bound::Timestamp(t.naive_utc())),
            _ => Bound::Text(text()),
        },
        Kind::Text => Bound::Text(text()),
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
type MyQuery<'q> = sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>;
type LiteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds a parameter as its bound type; `$dec` turns a DECIMAL into what
/// the database takes (SQLite has no decimal type: text), `$none` is the
/// type of a NULL DECIMAL.
macro_rules! bind_all {
    ($q:expr, $bound:expr, $dec:expr, $none:ty) => {
        match $bound {
            Bound::Null(kind) => match kind {
                Kind::Bool => $q.bind(None::<bool>),
                Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => $q.bind(None::<i64>),
                Kind::Float32 | Kind::Float64 => $q.bind(None::<f64>),
                Kind::Decimal(_) => $q.bind(None::<$none>),
                Kind::Bytes => $q.bind(None::<Vec<u8>>),
                Kind::Date => $q.bind(None::<NaiveDate>),
                Kind::Time => $q.bind(None::<NaiveTime>),
                Kind::Timestamp => $q.bind(None::<NaiveDateTime>),
                Kind::Text => $q.bind(None::<String>),
            },
            Bound::Bool(b) => $q.bind(b),
            Bound::Int(i) => $q.bind(i),
            Bound::Float(f) => $q.bind(f),
            Bound::Decimal(d) => $q.bind($dec(d)),
            Bound::Text(t) => $q.bind(t),
            Bound::Bytes(b) => $q.bind(b),
            Bound::Date(d) => $q.bind(d),
            Bound::Time(t) => $q.bind(t),
            Bound::Timestamp(t) => $q.bind(t),
        }
    };
}

fn bind_pg<'q>(q: PgQuery<'q>, param: Param) -> PgQuery<'q> {
    // PostgreSQL types its parameters: an int goes as the column's width
    let kind = param.kind;
    match (bound(param), kind) {
        (Bound::Int(i), Kind::Int8 | Kind::Int16) => q.bind(i as i16),
        (Bound::Int(i), Kind::Int32) => q.bind(i as i32),
        (Bound::Float(f), Kind::Float32) => q.bind(f as f32),
        (Bound::Null(Kind::Int8 | Kind::Int16), _) => q.bind(None::<i16>),
        (Bound::Null(Kind::Int32), _) => q.bind(None::<i32>),
        (Bound::Null(Kind::Float32), _) => q.bind(None::<f32>),
        (other, _) => bind_all!(q, other, |d: Decimal| d, Decimal),
    }
}

fn bind_my<'q>(q: MyQuery<'q>, param: Param) -> MyQuery<'q> {
    bind_all!(q, bound(param), |d: Decimal| d, Decimal)
}

fn bind_lite<'q>(q: LiteQuery<'q>, param: Param) -> LiteQuery<'q> {
    bind_all!(q, bound(param), |d: Decimal| d.to_string(), String)
}
