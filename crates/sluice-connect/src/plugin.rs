//! The connector classes Sluice builds in, found by Kafka Connect's class
//! names (or their simple names, as Connect's plugin aliases), and the
//! checks every connector's configuration passes before it runs.

use crate::config::ConnectorConfig;
use crate::convert::{converter_for, JSON_CONVERTER, STRING_CONVERTER};
use crate::error::{ConnectError, Result};
use crate::task::{SinkTask, SourceTask, TaskContext};
use crate::{datagen, file, jdbc, transform};

/// Source or sink (ksqlDB's `ConnectorType`, lower case on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorType {
    Source,
    Sink,
}

impl ConnectorType {
    pub fn name(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// A built-in connector class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    Datagen,
    FileSource,
    FileSink,
    JdbcSource,
    JdbcSink,
}

impl Plugin {
    pub const ALL: [Plugin; 5] = [
        Plugin::Datagen,
        Plugin::FileSource,
        Plugin::FileSink,
        Plugin::JdbcSource,
        Plugin::JdbcSink,
    ];

    /// Kafka Connect's class name.
    pub fn class(self) -> &'static str {
        match self {
            Plugin::Datagen => "io.confluent.kafka.connect.datagen.DatagenConnector",
            Plugin::FileSource => "org.apache.kafka.connect.file.FileStreamSourceConnector",
            Plugin::FileSink => "org.apache.kafka.connect.file.FileStreamSinkConnector",
            Plugin::JdbcSource => "io.confluent.connect.jdbc.JdbcSourceConnector",
            Plugin::JdbcSink => "io.confluent.connect.jdbc.JdbcSinkConnector",
        }
    }

    pub fn kind(self) -> ConnectorType {
        match self {
            Plugin::Datagen | Plugin::FileSource | Plugin::JdbcSource => ConnectorType::Source,
            Plugin::FileSink | Plugin::JdbcSink => ConnectorType::Sink,
        }
    }

    /// The version `GET /connector-plugins` reports: Sluice's own.
    pub fn version(self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// The class `name` means: its full name, its simple name, or the simple
    /// name without `Connector` (Connect's aliases).
    pub fn find(name: &str) -> Option<Plugin> {
        let name = name.trim();
        Plugin::ALL.into_iter().find(|p| {
            let class = p.class();
            let simple = class.rsplit('.').next().unwrap_or(class);
            name == class || name == simple || Some(name) == simple.strip_suffix("Connector")
        })
    }

    /// How many tasks the connector runs for `tasks.max`: Kafka's file
    /// source reads its one file in one task, a JDBC source no more tasks
    /// than the tables it lists (one for a `query`).
    pub fn tasks(self, config: &ConnectorConfig) -> Result<usize> {
        let max = config.long("tasks.max", 1)?;
        if max < 1 {
            return Err(ConnectError::config(
                "tasks.max",
                format!(
                    "Invalid value {max} for configuration tasks.max: Value must be at least 1"
                ),
            ));
        }
        Ok(match self {
            Plugin::FileSource => 1,
            Plugin::JdbcSource if config.get("query").is_some_and(|q| !q.trim().is_empty()) => 1,
            Plugin::JdbcSource => match jdbc::tables_listed(config).len() {
                0 => max as usize,
                n => n.min(max as usize),
            },
            _ => max as usize,
        })
    }

    /// The topics a source connector writes that its config names (datagen's
    /// `kafka.topic`, the file source's `topic`, a JDBC source's prefixed
    /// tables or query topic): the worker creates them with the connector,
    /// so a stream declared over one right after finds it.
    pub fn known_topics(self, config: &ConnectorConfig) -> Vec<String> {
        match self {
            Plugin::Datagen => config
                .get("kafka.topic")
                .map(str::to_string)
                .into_iter()
                .collect(),
            Plugin::FileSource => config
                .get("topic")
                .map(str::to_string)
                .into_iter()
                .collect(),
            Plugin::JdbcSource => {
                let prefix = config.string_or("topic.prefix", "");
                if config.get("query").is_some_and(|q| !q.trim().is_empty()) {
                    vec![prefix.to_string()]
                } else {
                    jdbc::tables_listed(config)
                        .into_iter()
                        .map(|t| format!("{prefix}{t}"))
                        .collect()
                }
            }
            Plugin::FileSink | Plugin::JdbcSink => Vec::new(),
        }
    }

    fn validate_own(self, config: &ConnectorConfig) -> Result<()> {
        match self {
            Plugin::Datagen => datagen::validate(config),
            Plugin::FileSource => file::validate_source(config),
            Plugin::FileSink => file::validate_sink(config),
            Plugin::JdbcSource => jdbc::validate_source(config),
            Plugin::JdbcSink => jdbc::validate_sink(config),
        }
    }

    /// Starts source task `task` of `tasks`.
    pub fn start_source(
        self,
        config: &ConnectorConfig,
        task: usize,
        tasks: usize,
        ctx: &TaskContext,
    ) -> Result<Box<dyn SourceTask>> {
        Ok(match self {
            Plugin::Datagen => Box::new(datagen::DatagenTask::start(config, task, ctx)?),
            Plugin::FileSource => Box::new(file::FileSourceTask::start(config, ctx)?),
            Plugin::JdbcSource => Box::new(jdbc::JdbcSourceTask::start(config, task, tasks, ctx)?),
            Plugin::FileSink | Plugin::JdbcSink => unreachable!("a sink has no source task"),
        })
    }

    pub fn start_sink(self, config: &ConnectorConfig) -> Result<Box<dyn SinkTask>> {
        Ok(match self {
            Plugin::FileSink => Box::new(file::FileSinkTask::start(config)?),
            Plugin::JdbcSink => Box::new(jdbc::JdbcSinkTask::start(config)?),
            _ => unreachable!("a source has no sink task"),
        })
    }
}

/// The converters a connector runs with when neither it nor the worker names
/// one: keys as strings, values as plain JSON (`schemas.enable=false`), what
/// a `VALUE_FORMAT='JSON'` stream reads (see [`worker_defaults`]).
pub fn default_converter(side: &str) -> &'static str {
    if side == "key" {
        STRING_CONVERTER
    } else {
        JSON_CONVERTER
    }
}

/// Checks `config` as Connect's validation does before a connector is
/// created: the class, the keys every connector has, its converters and
/// transforms, and the class's own keys. The error names the first key
/// that is wrong.
pub fn validate(config: &ConnectorConfig, worker: &ConnectorConfig) -> Result<Plugin> {
    let class = config
        .get("connector.class")
        .map(str::trim)
        .ok_or_else(|| {
            ConnectError::config(
                "connector.class",
                "Missing required configuration \"connector.class\" which has no default value.",
            )
        })?;
    if class.is_empty() {
        return Err(ConnectError::config(
            "connector.class",
            "Connector type cannot be empty",
        ));
    }
    let plugin =
        Plugin::find(class).ok_or_else(|| ConnectError::UnknownClass(class.to_string()))?;
    plugin.tasks(config)?;
    for side in ["key", "value"] {
        converter_for(side, config, worker, default_converter(side), None)?;
    }
    transform::transforms(config)?;
    config.choice("errors.tolerance", &["none", "all"], "none")?;
    if plugin.kind() == ConnectorType::Sink {
        let topics = config.list("topics");
        let regex = config.get("topics.regex").filter(|r| !r.trim().is_empty());
        match (topics.is_empty(), regex) {
            (true, None) => {
                return Err(ConnectError::config(
                    "topics",
                    "Must configure one of topics or topics.regex",
                ))
            }
            (false, Some(_)) => {
                return Err(ConnectError::config(
                    "topics",
                    "topics and topics.regex are mutually exclusive options, but both are set.",
                ))
            }
            (true, Some(r)) => {
                regex_lite(r).map_err(|e| ConnectError::config("topics.regex", e))?;
            }
            _ => {}
        }
    }
    plugin.validate_own(config)?;
    Ok(plugin)
}

/// `topics.regex` as a matcher: Java's regex syntax, the common part
/// (`.*`, alternatives, classes) through `regex`.
pub fn regex_lite(pattern: &str) -> std::result::Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| format!("Invalid regex {pattern}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_found_by_full_and_simple_names() {
        assert_eq!(Plugin::find("FileStreamSource"), Some(Plugin::FileSource));
        assert_eq!(
            Plugin::find("FileStreamSinkConnector"),
            Some(Plugin::FileSink)
        );
        assert_eq!(
            Plugin::find("io.confluent.kafka.connect.datagen.DatagenConnector"),
            Some(Plugin::Datagen)
        );
        assert_eq!(
            Plugin::find("io.debezium.connector.postgresql.PostgresConnector"),
            None
        );
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let none = ConnectorConfig::default();
        let e = validate(
            &ConnectorConfig::from_pairs(&[(
                "connector.class",
                "io.debezium.connector.mysql.MySqlConnector",
            )]),
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("io.debezium.connector.mysql.MySqlConnector"),
            "{e}"
        );
        let e = validate(
            &ConnectorConfig::from_pairs(&[
                ("connector.class", "FileStreamSink"),
                ("file", "/tmp/x"),
            ]),
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("topics"), "{e}");
        let e = validate(
            &ConnectorConfig::from_pairs(&[
                ("connector.class", "FileStreamSource"),
                ("topic", "t"),
            ]),
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("file - Missing required configuration"),
            "{e}"
        );
        let e = validate(
            &ConnectorConfig::from_pairs(&[
                ("connector.class", "DatagenConnector"),
                ("kafka.topic", "t"),
                ("quickstart", "clicks"),
            ]),
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("clicks"), "{e}");
        assert!(validate(
            &ConnectorConfig::from_pairs(&[
                ("connector.class", "DatagenConnector"),
                ("kafka.topic", "t"),
                ("quickstart", "orders")
            ]),
            &none
        )
        .is_ok());
    }
}
