//! `/metrics`: the engine's queries and topics in the OpenMetrics text format
//! Prometheus scrapes, encoded by the Prometheus project's own Rust client.
//!
//! Every scrape reads the queries' counters (their tasks keep them), and asks
//! the log where each query stands in its source partitions, for the lag.
//! Series:
//! * per query (`query_id`): `sluice_query_records_consumed_total`,
//!   `sluice_query_records_produced_total`, `sluice_query_processing_errors_total`,
//!   `sluice_query_retries`, `sluice_query_state_bytes`, `sluice_query_store_bytes`,
//!   `sluice_query_changelog_records_restored`, `sluice_query_changelog_records_standby`,
//!   `sluice_query_standby_partitions`,
//!   `sluice_query_records_per_second`, `sluice_query_state` (1 for the state
//!   it is in: `state` label), `sluice_query_lag` (`topic`, `partition`);
//! * per topic (`topic`): `sluice_topic_records_consumed_total`,
//!   `sluice_topic_bytes_consumed_total` over every query reading it;
//! * per table pull queries ran on (`table`):
//!   `sluice_pull_index_records_read_total`.

use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::{with_engine, AppState};

type Labels = Vec<(&'static str, String)>;

/// The families of one scrape.
#[derive(Default)]
struct Families {
    consumed: Family<Labels, Counter>,
    produced: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    retries: Family<Labels, Gauge>,
    state_bytes: Family<Labels, Gauge>,
    store_bytes: Family<Labels, Gauge>,
    restored: Family<Labels, Gauge>,
    standby: Family<Labels, Gauge>,
    standby_partitions: Family<Labels, Gauge>,
    rate: Family<Labels, Gauge<f64, AtomicU64>>,
    state: Family<Labels, Gauge>,
    lag: Family<Labels, Gauge>,
    topic_records: Family<Labels, Counter>,
    topic_bytes: Family<Labels, Counter>,
    pull_index_read: Family<Labels, Counter>,
}

impl Families {
    fn register(&self, registry: &mut Registry) {
        let r = registry;
        r.register(
            "sluice_query_records_consumed",
            "Records a persistent query read",
            self.consumed.clone(),
        );
        r.register(
            "sluice_query_records_produced",
            "Rows a persistent query wrote",
            self.produced.clone(),
        );
        r.register(
            "sluice_query_processing_errors",
            "Records a persistent query could not process (processing log entries)",
            self.errors.clone(),
        );
        r.register(
            "sluice_query_retries",
            "Failed attempts since the query last ran cleanly",
            self.retries.clone(),
        );
        r.register(
            "sluice_query_state_bytes",
            "Bytes the query's operators hold in memory in state",
            self.state_bytes.clone(),
        );
        r.register(
            "sluice_query_store_bytes",
            "Bytes the query's state stores hold (on disk under ksql.streams.state.dir, else in memory)",
            self.store_bytes.clone(),
        );
        r.register(
            "sluice_query_changelog_records_restored",
            "Changelog records the query's tasks read back into their state stores (only the tail after a store's checkpoint)",
            self.restored.clone(),
        );
        r.register(
            "sluice_query_changelog_records_standby",
            "Changelog records the query's tasks read into warm copies of partitions other servers own (num.standby.replicas)",
            self.standby.clone(),
        );
        r.register(
            "sluice_query_standby_partitions",
            "Partitions other servers own that the query's tasks kept warm copies of at their last catch-up (num.standby.replicas)",
            self.standby_partitions.clone(),
        );
        r.register(
            "sluice_query_records_per_second",
            "Input records per second, recent",
            self.rate.clone(),
        );
        r.register(
            "sluice_query_state",
            "1 for the state the query is in",
            self.state.clone(),
        );
        r.register(
            "sluice_query_lag",
            "Records in a source partition the query has not committed",
            self.lag.clone(),
        );
        r.register(
            "sluice_topic_records_consumed",
            "Records persistent queries read from the topic",
            self.topic_records.clone(),
        );
        r.register(
            "sluice_topic_bytes_consumed",
            "Key and value bytes persistent queries read from the topic",
            self.topic_bytes.clone(),
        );
        r.register(
            "sluice_pull_index_records_read",
            "Records of a table's topic its pull-query index read since the server started (with a state directory, only those after the index's checkpoint)",
            self.pull_index_read.clone(),
        );
    }
}

/// The text a scrape answers.
pub fn render(engine: &sluice_engine::Engine) -> String {
    let f = Families::default();
    let mut topics: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for q in engine.queries() {
        let id = || vec![("query_id", q.id.clone())];
        let status = q.status();
        f.consumed.get_or_create(&id()).inc_by(status.records_in);
        f.produced.get_or_create(&id()).inc_by(status.records_out);
        f.errors
            .get_or_create(&id())
            .inc_by(engine.processing_log().errors_of(&q.id));
        f.retries
            .get_or_create(&id())
            .set(i64::from(status.retries));
        f.state_bytes
            .get_or_create(&id())
            .set(status.state_bytes as i64);
        f.store_bytes
            .get_or_create(&id())
            .set(status.stored_bytes as i64);
        f.restored
            .get_or_create(&id())
            .set(status.restored_records as i64);
        f.standby
            .get_or_create(&id())
            .set(status.standby_records as i64);
        f.standby_partitions
            .get_or_create(&id())
            .set(status.standby_partitions.len() as i64);
        f.rate.get_or_create(&id()).set(status.records_per_sec);
        let mut state = id();
        state.push(("state", status.state.name().to_string()));
        f.state.get_or_create(&state).set(1);
        for (topic, c) in &status.topics {
            let t = topics.entry(topic.clone()).or_default();
            t.0 += c.records;
            t.1 += c.bytes;
        }
        for t in engine.query_offsets(q).unwrap_or_default() {
            for p in &t.partitions {
                let mut labels = id();
                labels.push(("topic", t.topic.clone()));
                labels.push(("partition", p.partition.to_string()));
                f.lag.get_or_create(&labels).set(p.lag());
            }
        }
    }
    for (topic, (records, bytes)) in topics {
        let labels = vec![("topic", topic)];
        f.topic_records.get_or_create(&labels).inc_by(records);
        f.topic_bytes.get_or_create(&labels).inc_by(bytes);
    }
    for (table, read) in engine.pull_index_records_read() {
        f.pull_index_read
            .get_or_create(&vec![("table", table)])
            .inc_by(read);
    }
    let mut registry = Registry::default();
    f.register(&mut registry);
    let mut text = String::new();
    // writing into a String cannot fail
    let _ = encode(&mut text, &registry);
    text
}

pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = with_engine(&state, |_, engine| Ok(render(engine))).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
