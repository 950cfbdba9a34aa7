//! Producing with delivery reports: [`Log::produce`](crate::Log::produce)
//! answers with each record's partition and offset, so a call waits until the
//! broker has acknowledged (or refused) every record it sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use crate::{LogError, Record};

/// Where one produce call collects its records' delivery reports.
#[derive(Default)]
pub struct Deliveries {
    state: Mutex<DeliveryState>,
}

#[derive(Default)]
struct DeliveryState {
    results: Vec<Option<Result<(i32, i64), LogError>>>,
    pending: usize,
}

impl Deliveries {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Deliveries {
            state: Mutex::new(DeliveryState {
                results: (0..n).map(|_| None).collect(),
                pending: n,
            }),
        })
    }

    fn report(&self, index: usize, result: Result<(i32, i64), LogError>) {
        let mut s = self.state.lock();
        if s.results[index].is_none() {
            s.pending -= 1;
        }
        s.results[index] = Some(result);
    }

    fn is_done(&self) -> bool {
        self.state.lock().pending == 0
    }
}

/// The opaque a record carries to its delivery report.
pub struct Slot {
    deliveries: Arc<Deliveries>,
    index: usize,
}

/// Routes librdkafka's delivery reports to the produce call that sent them.
pub struct DeliveryContext;

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<Slot>;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(m) => Ok((m.partition(), m.offset())),
            // Kafka refuses keyless records in compacted topics; say so, in
            // the broker's own words, as the embedded log does
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord), m))
                if m.key().is_none() =>
            {
                Err(LogError::keyless_in_compacted_topic(
                    m.topic(),
                    m.partition(),
                ))
            }
            Err((e, m)) => Err(broker_error(m.topic(), &e.to_string())),
        };
        slot.deliveries.report(slot.index, outcome);
    }
}

/// Sends `records` (each with its partition already chosen) and waits for
/// every delivery report, up to `timeout`. `offsets_required`: the producer
/// waits for acknowledgements from all replicas (`acks=all`), so every
/// record stored has an offset.
pub fn send_all(
    producer: &BaseProducer<DeliveryContext>,
    records: &[(&str, i32, &Record)],
    timeout: Duration,
    offsets_required: bool,
) -> Result<Vec<(i32, i64)>, LogError> {
    let deliveries = Deliveries::new(records.len());
    let deadline = Instant::now() + timeout;
    for (i, (topic, partition, r)) in records.iter().enumerate() {
        let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
        for h in &r.headers {
            headers = headers.insert(KafkaHeader {
                key: &h.key,
                value: h.value.as_deref(),
            });
        }
        let mut record = BaseRecord::with_opaque_to(
            topic,
            Box::new(Slot {
                deliveries: deliveries.clone(),
                index: i,
            }),
        )
        .partition(*partition)
        .timestamp(r.timestamp)
        .headers(headers);
        if let Some(k) = &r.key {
            record = record.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            record = record.payload(v.as_slice());
        }
        // a full local queue drains as reports are served
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::UnknownPartition), back))
                    if Instant::now() < deadline =>
                {
                    // partitions added since the producer last read the
                    // topic's metadata: read it again
                    let _ = producer
                        .client()
                        .fetch_metadata(Some(topic), Duration::from_secs(5));
                    record = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if Instant::now() > deadline {
                        return Err(broker_error(topic, "the producer queue stayed full"));
                    }
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(broker_error(topic, &e.to_string())),
            }
        }
    }
    while !deliveries.is_done() {
        if Instant::now() > deadline {
            return Err(broker_error(
                records.first().map_or("", |r| r.0),
                "no delivery report before the timeout (is the broker reachable?)",
            ));
        }
        producer.poll(Duration::from_millis(5));
    }
    let mut state = deliveries.state.lock();
    std::mem::take(&mut state.results)
        .into_iter()
        .zip(records)
        .map(|(r, (topic, _, _))| match r {
            // an idempotent producer acknowledges a batch the broker calls a
            // duplicate without an offset; librdkafka has been seen to do so
            // for records that were never stored, so it is not taken as
            // written: the caller retries (at least once, never lost)
            Some(Ok((_, offset))) if offset < 0 && offsets_required => Err(broker_error(
                topic,
                "the broker acknowledged a record without its offset (a duplicate \
                 sequence): it may not be stored",
            )),
            Some(result) => result,
            None => Err(broker_error(topic, "no delivery report")),
        })
        .collect()
}

pub(crate) fn broker_error(topic: &str, message: &str) -> LogError {
    LogError::Broker {
        context: format!("producing to topic '{topic}'"),
        message: message.to_string(),
    }
}

/// Flushes what is queued, for a clean shutdown.
pub fn flush(producer: &BaseProducer<DeliveryContext>) {
    let _ = producer.flush(Duration::from_secs(5));
}
