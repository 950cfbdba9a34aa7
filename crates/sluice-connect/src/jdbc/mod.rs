//! Confluent's JDBC connectors (`io.confluent.connect.jdbc.JdbcSourceConnector`,
//! `JdbcSinkConnector`) on `sqlx`: PostgreSQL, MySQL/MariaDB and SQLite by
//! their `jdbc:` URLs, with Connect's config keys.
//!
//! Each task owns a small single-threaded tokio runtime and a connection pool
//! (the worker's tasks are threads); every database call is `block_on`.
//! Values cross as Connect data ([`crate::data::Value`]) typed by a column's
//! [`Kind`], read from the driver's type names and, for the sink, from the
//! target table's columns, so a value binds as the column's type.

mod db;
mod pg_wire;
mod sink;
mod source;

pub use sink::{validate as validate_sink, JdbcSinkTask};
pub use source::{tables_listed, validate as validate_source, JdbcSourceTask};

use crate::config::ConnectorConfig;
use crate::error::{ConnectError, Result};

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// An identifier quoted as the database quotes it (Connect's
    /// `quote.sql.identifiers=ALWAYS`).
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// The `n`th (1-based) bind parameter.
    pub fn param(self, n: usize) -> String {
        let mut out = String::new();
        self.push_param(&mut out, n);
        out
    }

    /// [`Dialect::param`] written onto `out`.
    pub fn push_param(self, out: &mut String, n: usize) {
        use std::fmt::Write;
        match self {
            Dialect::Postgres => {
                let _ = write!(out, "${n}");
            }
            _ => out.push('?'),
        }
    }
}

/// A column's type as the connectors handle it: the Connect type it reads
/// as, and how a value binds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// NUMERIC/DECIMAL with this scale (of the column, or of the value read).
    Decimal(u32),
    Text,
    Bytes,
    Date,
    Time,
    Timestamp,
}

/// `connection.url` (+ `connection.user`, `connection.password`) as sqlx's
/// URL: `jdbc:postgresql://h:p/db?user=..` → `postgres://u:pw@h:p/db`,
/// `jdbc:mysql://` and `jdbc:mariadb://` → `mysql://`, `jdbc:sqlite:path` →
/// `sqlite://path`.
pub fn connection(config: &ConnectorConfig, create_sqlite: bool) -> Result<(Dialect, String)> {
    let raw = config.required("connection.url")?.trim();
    let bad = |why: &str| {
        ConnectError::config(
            "connection.url",
            format!("Invalid value {raw} for configuration connection.url: {why}"),
        )
    };
    if let Some(path) = raw.strip_prefix("jdbc:sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(bad("no database file"));
        }
        let mode = if create_sqlite { "rwc" } else { "rw" };
        return Ok((Dialect::Sqlite, format!("sqlite://{path}?mode={mode}")));
    }
    let (dialect, scheme, rest) = if let Some(rest) = raw.strip_prefix("jdbc:postgresql://") {
        (Dialect::Postgres, "postgres", rest)
    } else if let Some(rest) = raw
        .strip_prefix("jdbc:mysql://")
        .or_else(|| raw.strip_prefix("jdbc:mariadb://"))
    {
        (Dialect::MySql, "mysql", rest)
    } else {
        return Err(bad("Sluice's JDBC connectors take jdbc:postgresql://, jdbc:mysql://, jdbc:mariadb:// and jdbc:sqlite: URLs"));
    };
    let mut url =
        url::Url::parse(&format!("{scheme}://{rest}")).map_err(|e| bad(&e.to_string()))?;
    // user and password: the URL's query parameters, then the config's keys
    let params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut user = params
        .iter()
        .find(|(k, _)| k == "user")
        .map(|(_, v)| v.clone());
    let mut password = params
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone());
    if let Some(u) = config.get("connection.user") {
        user = Some(u.to_string());
    }
    if let Some(p) = config.get("connection.password") {
        password = Some(p.to_string());
    }
    let kept: Vec<(String, String)> = params
        .into_iter()
        // JDBC's other parameters mean nothing to sqlx; PostgreSQL's sslmode does
        .filter(|(k, _)| dialect == Dialect::Postgres && k == "sslmode")
        .collect();
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    if let Some(u) = user {
        url.set_username(&u).map_err(|_| bad("bad user name"))?;
    }
    if let Some(p) = password {
        url.set_password(Some(&p))
            .map_err(|_| bad("bad password"))?;
    }
    Ok((dialect, url.to_string()))
}

/// A task's runtime for its database calls: one thread of its own, so a
/// sink's transaction runs while the task reads and converts the next batch.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("jdbc-io")
        .enable_all()
        .build()
        .map_err(|e| ConnectError::task(format!("starting the JDBC task's runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdbc_urls_become_sqlx_urls() {
        let (d, url) = connection(
            &ConnectorConfig::from_pairs(&[(
                "connection.url",
                "jdbc:postgresql://127.0.0.1:5432/shop?user=a&password=b",
            )]),
            false,
        )
        .unwrap();
        assert_eq!(
            (d, url.as_str()),
            (Dialect::Postgres, "postgres://a:b@127.0.0.1:5432/shop")
        );
        let (d, url) = connection(
            &ConnectorConfig::from_pairs(&[
                ("connection.url", "jdbc:mariadb://db:3306/shop"),
                ("connection.user", "u"),
                ("connection.password", "p@ss"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            (d, url.as_str()),
            (Dialect::MySql, "mysql://u:p%40ss@db:3306/shop")
        );
        let (d, url) = connection(
            &ConnectorConfig::from_pairs(&[("connection.url", "jdbc:sqlite:/tmp/x.db")]),
            true,
        )
        .unwrap();
        assert_eq!(
            (d, url.as_str()),
            (Dialect::Sqlite, "sqlite:///tmp/x.db?mode=rwc")
        );
        let e = connection(
            &ConnectorConfig::from_pairs(&[("connection.url", "jdbc:oracle:thin:@x")]),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("connection.url - ") && e.contains("jdbc:oracle"),
            "{e}"
        );
    }
}
