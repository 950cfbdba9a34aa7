//! Exactly-once: a transactional producer that writes a task's records and
//! commits its input offsets in one Kafka transaction (`sendOffsetsToTransaction`),
//! as Kafka Streams does under `processing.guarantee=exactly_once_v2`.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};

use super::config;
use super::producer::{self, DeliveryContext};
use crate::{LogError, Record};

/// A transactional producer for the task committing as `group`, initialized.
/// Its `transactional.id` is the group and this server's `group.instance.id`
/// (or `txn` when it has none), stable across restarts: initializing it
/// fences the producer of the task's previous incarnation and aborts the
/// transaction that one left open, as Kafka Streams' per-thread producers do
/// under exactly_once_v2. Servers sharing a query differ by instance id, so
/// they never fence each other.
pub fn producer(
    settings: &BTreeMap<String, String>,
    group: &str,
    instance_id: Option<&str>,
) -> Result<BaseProducer<DeliveryContext>, LogError> {
    let id = format!("{group}-{}", instance_id.unwrap_or("txn"));
    let producer: BaseProducer<DeliveryContext> = config::client_config(
        settings,
        &[
            ("transactional.id", id.as_str()),
            ("enable.idempotence", "true"),
        ],
    )
    .create_with_context(DeliveryContext)
    .map_err(|e| txn_error("creating the transactional producer", &e))?;
    producer
        .init_transactions(Duration::from_secs(30))
        .map_err(|e| txn_error("initializing transactions", &e))?;
    Ok(producer)
}

/// One transaction: the records, the offsets, commit. On failure the
/// transaction is aborted; the bool says whether the producer is unusable
/// (fatal error or fencing) rather than just this transaction.
pub fn run(
    producer: &BaseProducer<DeliveryContext>,
    routed: &[(&str, i32, &Record)],
    consumer: Option<&BaseConsumer<super::Member>>,
    offsets: &[(String, i32, i64)],
    timeout: Duration,
) -> Result<Vec<(i32, i64)>, (LogError, bool)> {
    let failed = |what: &str, e: &KafkaError| {
        let fatal = matches!(e, KafkaError::Transaction(t) if t.is_fatal());
        (txn_error(what, e), fatal)
    };
    producer
        .begin_transaction()
        .map_err(|e| failed("beginning a transaction", &e))?;
    let outcome = (|| {
        let at = producer::send_all(producer, routed, timeout, true).map_err(|e| (e, false))?;
        if let Some(consumer) = consumer {
            let mut tpl = TopicPartitionList::new();
            for (topic, p, offset) in offsets {
                tpl.add_partition_offset(topic, *p, Offset::Offset(*offset))
                    .map_err(|e| failed("listing offsets", &e))?;
            }
            let metadata = consumer.group_metadata().ok_or_else(|| {
                (
                    LogError::Broker {
                        context: "committing offsets in a transaction".into(),
                        message: "the consumer has no group metadata".into(),
                    },
                    false,
                )
            })?;
            producer
                .send_offsets_to_transaction(&tpl, &metadata, timeout)
                .map_err(|e| failed("sending offsets to the transaction", &e))?;
        }
        producer
            .commit_transaction(timeout)
            .map_err(|e| failed("committing the transaction", &e))?;
        Ok(at)
    })();
    if let Err((_, fatal)) = &outcome {
        if !fatal {
            let _ = producer.abort_transaction(timeout);
        }
    }
    outcome
}

fn txn_error(what: &str, e: &KafkaError) -> LogError {
    LogError::Broker {
        context: what.to_string(),
        message: e.to_string(),
    }
}
