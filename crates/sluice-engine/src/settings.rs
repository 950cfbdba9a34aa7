//! The settings with a default, each with its other names and that default,
//! in one table: the code reads each of them through its entry here, and
//! `SHOW PROPERTIES` lists the defaults of those nobody set from the same
//! entries, so what it shows is what runs. (Settings without a default, or
//! whose default is worked out when read, such as the stream threads, the
//! machine's cores, are read where they are used.)
//!
//! A setting is looked up by its name, then its aliases (Kafka Streams'
//! names without ksqlDB's `ksql.streams.` prefix), in a session's overrides,
//! then `ALTER SYSTEM`, then the server's configuration.

use std::str::FromStr;

/// One setting.
#[derive(Debug)]
pub struct Setting {
    pub name: &'static str,
    /// Other names it is read under, after `name`.
    pub aliases: &'static [&'static str],
    /// Its value when none is set (`None`: unset, which the code reading it
    /// says the meaning of).
    pub default: Option<&'static str>,
}

const fn setting(name: &'static str, default: &'static str) -> Setting {
    Setting {
        name,
        aliases: &[],
        default: Some(default),
    }
}

impl Setting {
    const fn or(self, aliases: &'static [&'static str]) -> Setting {
        Setting { aliases, ..self }
    }

    /// The value set under its name or an alias in `lookup`, else the
    /// default.
    pub fn value_in<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
        std::iter::once(self.name)
            .chain(self.aliases.iter().copied())
            .find_map(lookup)
            .or(self.default)
    }

    /// [`Setting::value_in`] parsed; a value set that does not parse counts
    /// as unset (the default).
    pub fn parsed_in<'a, T: FromStr>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> Option<T> {
        std::iter::once(self.name)
            .chain(self.aliases.iter().copied())
            .find_map(lookup)
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| self.default.and_then(|d| d.parse().ok()))
    }

    /// Whether `name` is this setting's name or one of its aliases.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

pub const AUTO_OFFSET_RESET: Setting =
    setting("auto.offset.reset", "latest").or(&["ksql.streams.auto.offset.reset"]);
pub const SERVICE_ID: Setting = setting("ksql.service.id", "default_");
pub const DEFAULT_KEY_FORMAT: Setting = setting("ksql.persistence.default.format.key", "KAFKA");
pub const OUTPUT_TOPIC_PREFIX: Setting = setting("ksql.output.topic.name.prefix", "");
pub const PROCESSING_LOG_AUTO_CREATE: Setting =
    setting("ksql.logging.processing.stream.auto.create", "true");
pub const PROCESSING_LOG_STREAM: Setting =
    setting("ksql.logging.processing.stream.name", "KSQL_PROCESSING_LOG");
pub const PROCESSING_LOG_PARTITIONS: Setting =
    setting("ksql.logging.processing.topic.partitions", "1");
pub const PROCESSING_LOG_REPLICAS: Setting =
    setting("ksql.logging.processing.topic.replication.factor", "1");
pub const PULL_TABLE_SCANS: Setting = setting("ksql.query.pull.table.scan.enabled", "true");
pub const PULL_RANGE_SCANS: Setting = setting("ksql.query.pull.range.scan.enabled", "true");
pub const PUSH_V2: Setting = setting("ksql.query.push.v2.enabled", "false");
pub const NEW_QUERY_PLANNER: Setting = setting("ksql.new.query.planner.enabled", "false");
pub const RETRY_BACKOFF_INITIAL_MS: Setting =
    setting("ksql.query.retry.backoff.initial.ms", "15000");
pub const RETRY_BACKOFF_MAX_MS: Setting = setting("ksql.query.retry.backoff.max.ms", "900000");
pub const TASK_TIMEOUT_MS: Setting =
    setting("ksql.streams.task.timeout.ms", "300000").or(&["task.timeout.ms"]);
pub const STATE_CACHE_BYTES: Setting =
    setting("ksql.streams.statestore.cache.max.bytes", "10485760").or(&[
        "statestore.cache.max.bytes",
        "ksql.streams.cache.max.bytes.buffering",
        "cache.max.bytes.buffering",
    ]);
pub const REPARTITION_PURGE_MS: Setting =
    setting("ksql.streams.repartition.purge.interval.ms", "30000")
        .or(&["repartition.purge.interval.ms"]);
pub const STANDBY_REPLICAS: Setting =
    setting("ksql.streams.num.standby.replicas", "0").or(&["num.standby.replicas"]);
pub const STATE_CLEANUP_DELAY_MS: Setting =
    setting("ksql.streams.state.cleanup.delay.ms", "600000").or(&["state.cleanup.delay.ms"]);
pub const ASSERT_TOPIC_TIMEOUT_MS: Setting =
    setting("ksql.assert.topic.default.timeout.ms", "1000");
pub const ASSERT_SCHEMA_TIMEOUT_MS: Setting =
    setting("ksql.assert.schema.default.timeout.ms", "1000");
pub const WASM_FUEL_PER_CALL: Setting = setting("ksql.udf.wasm.fuel.per.call", "100000000");
pub const WASM_MEMORY_BYTES: Setting = setting("ksql.udf.wasm.memory.bytes", "67108864");
pub const COMMAND_RESPONSE_TIMEOUT_MS: Setting =
    setting("ksql.server.command.response.timeout.ms", "5000");

/// Every setting with a default, as `SHOW PROPERTIES` lists them.
pub const WITH_DEFAULTS: &[&Setting] = &[
    &AUTO_OFFSET_RESET,
    &SERVICE_ID,
    &DEFAULT_KEY_FORMAT,
    &OUTPUT_TOPIC_PREFIX,
    &PROCESSING_LOG_AUTO_CREATE,
    &PROCESSING_LOG_STREAM,
    &PROCESSING_LOG_PARTITIONS,
    &PROCESSING_LOG_REPLICAS,
    &PULL_TABLE_SCANS,
    &PULL_RANGE_SCANS,
    &PUSH_V2,
    &NEW_QUERY_PLANNER,
    &RETRY_BACKOFF_INITIAL_MS,
    &RETRY_BACKOFF_MAX_MS,
    &TASK_TIMEOUT_MS,
    &STATE_CACHE_BYTES,
    &REPARTITION_PURGE_MS,
    &STANDBY_REPLICAS,
    &STATE_CLEANUP_DELAY_MS,
    &ASSERT_TOPIC_TIMEOUT_MS,
    &ASSERT_SCHEMA_TIMEOUT_MS,
    &WASM_FUEL_PER_CALL,
    &WASM_MEMORY_BYTES,
    &COMMAND_RESPONSE_TIMEOUT_MS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_read_by_name_then_alias_then_default() {
        let set = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
        };
        assert_eq!(TASK_TIMEOUT_MS.value_in(set(&[])), Some("300000"));
        assert_eq!(
            TASK_TIMEOUT_MS.value_in(set(&[("task.timeout.ms", "7")])),
            Some("7")
        );
        assert_eq!(
            TASK_TIMEOUT_MS.parsed_in::<u64>(set(&[
                ("task.timeout.ms", "7"),
                ("ksql.streams.task.timeout.ms", "9")
            ])),
            Some(9)
        );
        // a value that does not parse counts as unset: the default, not an
        // alias's value
        assert_eq!(
            TASK_TIMEOUT_MS.parsed_in::<u64>(set(&[("task.timeout.ms", "soon")])),
            Some(300_000)
        );
        assert_eq!(
            TASK_TIMEOUT_MS.parsed_in::<u64>(set(&[
                ("ksql.streams.task.timeout.ms", "soon"),
                ("task.timeout.ms", "7")
            ])),
            Some(300_000)
        );
    }

    #[test]
    fn every_default_parses_as_its_readers_read_it() {
        let limits = sluice_wasm::Limits::default();
        let none = |_: &str| None;
        assert_eq!(WASM_FUEL_PER_CALL.parsed_in::<u64>(none), Some(limits.fuel));
        assert_eq!(
            WASM_MEMORY_BYTES.parsed_in::<usize>(none),
            Some(limits.memory_bytes)
        );
        for s in WITH_DEFAULTS {
            let default = s.default.expect(s.name);
            // the numbers parse as the unsigned numbers their readers take
            let numeric = default.starts_with(|c: char| c.is_ascii_digit());
            assert!(!numeric || default.parse::<u64>().is_ok(), "{}", s.name);
        }
        let names: std::collections::BTreeSet<_> = WITH_DEFAULTS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), WITH_DEFAULTS.len());
    }
}
