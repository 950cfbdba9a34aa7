//! Topic administration from SQL, on whichever log backend the engine runs:
//! `SHOW [ALL] TOPICS [EXTENDED]` as ksqlDB, and — beyond ksqlDB, what Kafka's
//! AdminClient offers — `CREATE TOPIC`, `DESCRIBE TOPIC`, `ALTER TOPIC ... SET` /
//! `ADD PARTITIONS`, `DROP TOPIC`.

use std::collections::BTreeMap;

use sluice_log::{LogError, TopicSpec};
use sluice_planner::Catalog;
use sluice_sql::{Ident, Properties, TopicChange};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::{Listing, StatementResult, TopicListing};

/// The WITH keys of CREATE TOPIC that are not topic configs.
const PARTITIONS: &str = "PARTITIONS";
const REPLICAS: &str = "REPLICAS";

impl Engine {
    /// The topic an identifier names: a quoted name exactly; an unquoted one as
    /// written if such a topic exists, else the one topic that matches it
    /// ignoring case (ksqlDB's PRINT rule), else upper-cased.
    pub(crate) fn topic_name(&self, name: &Ident) -> Result<String> {
        if name.quoted || self.log.topic_exists(&name.value)? {
            return Ok(name.value.clone());
        }
        let matches: Vec<String> = self
            .log
            .list_topics()?
            .into_iter()
            .filter(|t| t.eq_ignore_ascii_case(&name.value))
            .collect();
        Ok(match matches.as_slice() {
            [one] => one.clone(),
            _ => name.value.clone(),
        })
    }

    pub(crate) fn create_topic(
        &mut self,
        name: &Ident,
        if_not_exists: bool,
        properties: &Properties,
    ) -> Result<StatementResult> {
        let name = self.topic_name(name)?;
        let mut spec = TopicSpec::new(&name, 1);
        for (key, value) in properties {
            let text = value.as_property_text();
            let count = |what: &str| {
                text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Invalid value for {what}: '{text}'. It must be a positive integer."
                    ))
                })
            };
            if key.eq_ignore_ascii_case(PARTITIONS) {
                spec.partitions = i32::try_from(count(PARTITIONS)?)
                    .map_err(|_| EngineError::statement("Too many partitions."))?;
            } else if key.eq_ignore_ascii_case(REPLICAS) {
                spec.replicas = i16::try_from(count(REPLICAS)?)
                    .map_err(|_| EngineError::statement("Too many replicas."))?;
            } else {
                spec.configs.insert(key.clone(), text);
            }
        }
        match self.log.create_topic(&spec) {
            Ok(()) => Ok(StatementResult::ack(format!(
                "Created topic '{name}' with {} partition(s) and {} replica(s).",
                spec.partitions, spec.replicas
            ))),
            Err(LogError::TopicExists(_)) if if_not_exists => Ok(StatementResult::ack(format!(
                "Topic '{name}' already exists."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn alter_topic(
        &mut self,
        name: &Ident,
        change: &TopicChange,
    ) -> Result<StatementResult> {
        let name = self.topic_name(name)?;
        match change {
            TopicChange::Set(properties) => {
                let set: BTreeMap<String, String> = properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_property_text()))
                    .collect();
                self.log.alter_topic_configs(&name, &set)?;
                Ok(StatementResult::ack(format!(
                    "Set {} config(s) of topic '{name}'.",
                    set.len()
                )))
            }
            TopicChange::AddPartitions(n) => {
                let now = self.log.describe_topic(&name)?.partitions.len() as i64;
                let total = i32::try_from(now + *n as i64)
                    .map_err(|_| EngineError::statement("Too many partitions."))?;
                self.log.add_partitions(&name, total)?;
                Ok(StatementResult::ack(format!(
                    "Topic '{name}' now has {total} partitions."
                )))
            }
        }
    }

    pub(crate) fn drop_topic(&mut self, name: &Ident, if_exists: bool) -> Result<StatementResult> {
        let name = self.topic_name(name)?;
        // a stream or table still reading or writing it would break
        let users: Vec<&str> = self
            .metastore
            .sources()
            .filter(|s| s.topic == name)
            .map(|s| s.name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(EngineError::statement(format!(
                "Cannot drop topic '{name}': it is used by {}. Drop those first (DROP STREAM|TABLE name DELETE TOPIC).",
                users.join(", ")
            )));
        }
        match self.log.delete_topic(&name) {
            Ok(()) => {
                self.forget_table(&name, None);
                Ok(StatementResult::ack(format!("Dropped topic '{name}'.")))
            }
            Err(LogError::UnknownTopic(_)) if if_exists => Ok(StatementResult::ack(format!(
                "Topic '{name}' does not exist."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn describe_topic(&self, name: &Ident) -> Result<StatementResult> {
        let name = self.topic_name(name)?;
        let d = self.log.describe_topic(&name)?;
        let mut rows: Vec<Vec<String>> = d
            .partitions
            .iter()
            .map(|p| {
                vec![
                    "partition".to_string(),
                    p.id.to_string(),
                    format!("offsets {}..{}", p.start_offset, p.end_offset),
                ]
            })
            .collect();
        rows.push(vec![
            "replicas".into(),
            String::new(),
            d.replicas.to_string(),
        ]);
        for (k, v) in &d.configs {
            rows.push(vec!["config".into(), k.clone(), v.clone()]);
        }
        for (group, lag) in self.topic_consumers(&name)? {
            rows.push(vec!["consumer group".into(), group, format!("lag {lag}")]);
        }
        Ok(StatementResult::Table {
            title: format!("Topic {name}"),
            header: vec!["Kind".into(), "Name".into(), "Value".into()],
            rows,
        })
    }

    /// `SHOW [ALL] TOPICS [EXTENDED]`: ksqlDB's columns, and with EXTENDED the
    /// consumers (one per partition per query), consumer groups and their lag.
    pub(crate) fn show_topics(&self, all: bool, extended: bool) -> Result<Listing> {
        let mut topics = Vec::new();
        for t in self.log.list_topics()? {
            if !all && t.starts_with('_') {
                continue;
            }
            let d = self.log.describe_topic(&t)?;
            let mut listing = TopicListing {
                name: t.clone(),
                partitions: d.partitions.len(),
                replicas: d.replicas as usize,
                consumers: 0,
                consumer_groups: 0,
                lag: 0,
            };
            if extended {
                let groups = self.topic_consumers(&t)?;
                listing.lag = groups.iter().map(|(_, l)| l).sum();
                listing.consumers = groups.len() * d.partitions.len();
                listing.consumer_groups = groups.len();
            }
            topics.push(listing);
        }
        Ok(Listing::Topics { extended, topics })
    }

    /// The consumer groups of the persistent queries reading `topic`, each with
    /// its lag (records not yet processed, over all partitions).
    fn topic_consumers(&self, topic: &str) -> Result<Vec<(String, i64)>> {
        let ends = self.log.end_offsets(topic)?;
        let mut out = Vec::new();
        for q in self.queries.values() {
            let reads = q.sources.iter().any(|s| {
                self.metastore
                    .source(s)
                    .is_some_and(|def| def.topic == topic)
            });
            if !reads {
                continue;
            }
            let group = q.group.clone();
            let committed = self.log.committed(&group, topic)?;
            let lag = ends
                .iter()
                .zip(committed.iter().chain(std::iter::repeat(&None)))
                .map(|(end, c)| end - c.unwrap_or(0))
                .sum();
            out.push((group, lag));
        }
        Ok(out)
    }
}
