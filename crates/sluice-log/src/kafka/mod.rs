//! The Kafka backend: [`KafkaLog`] implements [`Log`] on librdkafka (rdkafka)
//! against any Kafka-protocol broker (Apache Kafka, Confluent, MSK, Redpanda, ...).
//!
//! * Records are partitioned here, with Kafka's Java default partitioner
//!   (murmur2 of the key), not librdkafka's (crc32): rows Sluice writes land
//!   in the partitions ksqlDB and Kafka Streams would choose.
//! * Administration goes through the AdminClient; a request the broker does not
//!   implement comes back as an error naming it.
//! * Fetches are served by one streaming consumer per topic ([`reader`]).
//! * Group offsets are committed by a consumer of that group that never joins
//!   it (as Kafka's standalone consumers do).
//! * [`Log::produce_and_commit`] produces, then commits (at-least-once), or
//!   with `processing.guarantee=exactly_once_v2` does both in one Kafka
//!   transaction ([`transactional`]). Either way the records are validated
//!   (topics and partitions exist) before anything is sent, as the trait asks.

mod admin;
pub mod config;
mod members;
mod producer;
mod reader;
mod transactional;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::admin::AdminClient;
use rdkafka::client::ClientContext;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseProducer;
use rdkafka::producer::Producer as _;
use rdkafka::{Offset, TopicPartitionList};

use crate::{
    default_partition, GroupMembers, Log, LogError, Record, StoredRecord, TopicDescription,
    TopicSpec,
};
use producer::DeliveryContext;
use reader::{Fetched, TopicReader};

/// How long a request to the broker may take before it is reported as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fetch waits for records known to be in the partition (this log
/// delivered them, or they lie below the watermark a seek saw) before it
/// reports them late. The wait ends as soon as they arrive, or the consumer
/// shows there is nothing readable to wait for (see `TopicReader::fetch`).
const FETCH_WAIT: Duration = Duration::from_secs(20);

/// A [`Log`] on a Kafka cluster.
pub struct KafkaLog {
    /// The client settings every consumer, producer and admin client gets.
    settings: BTreeMap<String, String>,
    admin: AdminClient<DefaultClientContext>,
    producer: BaseProducer<DeliveryContext>,
    /// Answers metadata and watermark requests.
    meta: BaseConsumer<ErrorCapture>,
    readers: Mutex<HashMap<String, Arc<Mutex<TopicReader>>>>,
    /// A consumer per group: it commits and reads the group's offsets, and,
    /// once [`Log::assigned`] subscribed it, is this process's member of the
    /// group (commits then carry the member's generation).
    groups: Mutex<HashMap<String, Arc<BaseConsumer<Member>>>>,
    /// group → the topics its member subscribed to
    subscriptions: Mutex<HashMap<String, Vec<String>>>,
    /// group → this process's member announcing it to its service
    presence: Mutex<HashMap<String, Arc<BaseConsumer<Member>>>>,
    /// topic → partition count, as last seen
    partitions: Mutex<HashMap<String, i32>>,
    /// (topic, partition) → the end offset deliveries and watermarks showed
    ends: Mutex<HashMap<(String, i32), i64>>,
    /// (topic, partition) → the offset after the last record delivered here:
    /// a fetch below it waits for that record. (Not the watermark: under
    /// read_committed, transaction markers sit below it and never arrive.)
    delivered: Mutex<HashMap<(String, i32), i64>>,
    /// (topic, partition) → the watermark the last seek there saw
    seek_ends: Mutex<HashMap<(String, i32), i64>>,
    /// How long a produce waits for its delivery reports: librdkafka reports
    /// every record within `message.timeout.ms`, retrying until then (a
    /// leader election, say), so waiting less would call a write failed
    /// that may still land.
    delivery_timeout: Duration,
    /// `processing.guarantee=exactly_once_v2`: per committing group, the
    /// transactional producer that makes [`Log::produce_and_commit`] atomic
    /// (made on first use).
    transactional: Option<Mutex<HashMap<String, BaseProducer<DeliveryContext>>>>,
    /// Rotates the partition of keyless records between produce calls.
    sticky: AtomicI32,
    /// The producer waits for every in-sync replica (idempotence or
    /// `acks=all`): a stored record's delivery report has its offset.
    acks_all: bool,
    /// Topics whose metadata (partitions, leaders) the producer has read.
    warmed: Mutex<std::collections::HashSet<String>>,
    /// Each group's members as last described (or why that failed), and
    /// when (see [`Log::group_members`]): shared by the group's tasks,
    /// described again at most every [`members::MEMBERS_TTL`], so a
    /// coordinator that does not answer is waited for once in that time.
    members: Mutex<HashMap<String, (std::time::Instant, Described)>>,
    /// `group.instance.id`: this server's stable name in every group it joins
    /// (Kafka's static membership), so a restarted server takes its
    /// partitions back at once instead of after the session timeout, and its
    /// transactional ids are stable (a restart fences its previous life).
    instance_id: Option<String>,
}

impl KafkaLog {
    /// Connects to the cluster `properties` name (`bootstrap.servers`, plus
    /// the client settings [`config::client_properties`] passes) and checks
    /// that it answers.
    pub fn connect(properties: &BTreeMap<String, String>) -> Result<Self, LogError> {
        let settings = config::client_properties(properties);
        if !settings.contains_key("bootstrap.servers") {
            return Err(LogError::InvalidConfig(
                "The Kafka backend needs 'bootstrap.servers'.".into(),
            ));
        }
        let create_error = |what: &str, e: rdkafka::error::KafkaError| LogError::Broker {
            context: format!("creating the Kafka {what}"),
            message: e.to_string(),
        };
        let admin = config::client_config(&settings, &[])
            .create()
            .map_err(|e| create_error("admin client", e))?;
        let mut producer_config = config::client_config(&settings, &[]);
        if !settings.contains_key("message.timeout.ms") {
            producer_config.set("message.timeout.ms", "30000");
        }
        if !settings.contains_key("linger.ms") {
            producer_config.set("linger.ms", "1");
        }
        // the Java client's default since Kafka 3.0: a retried batch is never
        // written twice nor reordered behind a later one
        if !settings.contains_key("enable.idempotence") {
            producer_config.set("enable.idempotence", "true");
        }
        let producer = producer_config
            .create_with_context(DeliveryContext)
            .map_err(|e| create_error("producer", e))?;
        let meta: BaseConsumer<ErrorCapture> = consumer_config(&settings, "sluice-metadata")
            .create_with_context(ErrorCapture::default())
            .map_err(|e| create_error("consumer", e))?;
        let message_timeout = settings
            .get("message.timeout.ms")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(REQUEST_TIMEOUT, Duration::from_millis);
        let acks_all = settings
            .get("enable.idempotence")
            .is_none_or(|v| v.trim().eq_ignore_ascii_case("true"))
            || settings
                .get("acks")
                .is_some_and(|v| matches!(v.trim(), "all" | "-1"));
        let log = KafkaLog {
            delivery_timeout: message_timeout.max(REQUEST_TIMEOUT) + Duration::from_secs(5),
            settings,
            admin,
            producer,
            meta,
            readers: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
            presence: Mutex::new(HashMap::new()),
            partitions: Mutex::new(HashMap::new()),
            ends: Mutex::new(HashMap::new()),
            delivered: Mutex::new(HashMap::new()),
            seek_ends: Mutex::new(HashMap::new()),
            transactional: exactly_once(properties)?.then(|| Mutex::new(HashMap::new())),
            sticky: AtomicI32::new(0),
            acks_all,
            warmed: Mutex::new(std::collections::HashSet::new()),
            members: Mutex::new(HashMap::new()),
            instance_id: properties
                .get("ksql.streams.group.instance.id")
                .or_else(|| properties.get("group.instance.id"))
                .filter(|id| !id.is_empty())
                .cloned(),
        };
        // fail now, with one clear message, when nothing answers: what the
        // request saw, and why the connection failed (refused, TLS, SASL)
        log.meta
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| LogError::Broker {
                context: format!(
                    "connecting to the Kafka cluster at {}",
                    log.settings["bootstrap.servers"]
                ),
                message: match log.last_error() {
                    Some(why) => format!("{e}: {why}"),
                    None => e.to_string(),
                },
            })?;
        Ok(log)
    }

    /// The last error librdkafka reported for the metadata client (served
    /// from its queue: a consumer reports errors when polled).
    fn last_error(&self) -> Option<String> {
        for _ in 0..10 {
            if self.meta.poll(Duration::from_millis(10)).is_none() {
                break;
            }
        }
        self.meta.context().last_error()
    }

    /// The partition count of `topic` (cached; asked for when unknown).
    fn partition_count(&self, topic: &str) -> Result<i32, LogError> {
        if let Some(n) = self.partitions.lock().get(topic) {
            return Ok(*n);
        }
        let n = self.metadata_partitions(topic)?;
        self.partitions.lock().insert(topic.to_string(), n);
        Ok(n)
    }

    fn forget_topic(&self, topic: &str) {
        self.partitions.lock().remove(topic);
        self.warmed.lock().remove(topic);
        self.readers.lock().remove(topic);
        self.ends.lock().retain(|(t, _), _| t != topic);
        self.delivered.lock().retain(|(t, _), _| t != topic);
        self.seek_ends.lock().retain(|(t, _), _| t != topic);
    }

    fn reader(&self, topic: &str) -> Result<Arc<Mutex<TopicReader>>, LogError> {
        let mut readers = self.readers.lock();
        if let Some(r) = readers.get(topic) {
            return Ok(r.clone());
        }
        // the end of a partition is reported, so a fetch knows when the
        // records below a watermark are all read (see `reader::Fetched`)
        let consumer: BaseConsumer = consumer_config(&self.settings, "sluice-reader")
            .set("enable.partition.eof", "true")
            .create()
            .map_err(|e| LogError::Broker {
                context: format!("creating a consumer of topic '{topic}'"),
                message: e.to_string(),
            })?;
        let reader = Arc::new(Mutex::new(TopicReader::new(consumer, topic)));
        readers.insert(topic.to_string(), reader.clone());
        Ok(reader)
    }

    /// The consumer of `group`: it commits and reads the group's offsets, and
    /// joins the group when [`Log::assigned`] subscribes it.
    fn group(&self, group: &str) -> Result<Arc<BaseConsumer<Member>>, LogError> {
        let mut groups = self.groups.lock();
        if let Some(c) = groups.get(group) {
            return Ok(c.clone());
        }
        let mut config = consumer_config(&self.settings, group);
        if let Some(id) = &self.instance_id {
            config.set("group.instance.id", id);
        }
        let consumer: BaseConsumer<Member> =
            config
                .create_with_context(Member)
                .map_err(|e| LogError::Broker {
                    context: format!("creating a consumer for group '{group}'"),
                    message: e.to_string(),
                })?;
        let consumer = Arc::new(consumer);
        groups.insert(group.to_string(), consumer.clone());
        Ok(consumer)
    }

    /// Choose every record's partition, checking topics and partitions exist.
    fn route<'a>(
        &self,
        records: &'a [(String, Option<i32>, Record)],
    ) -> Result<Vec<(&'a str, i32, &'a Record)>, LogError> {
        let sticky = self.sticky.fetch_add(1, Ordering::Relaxed);
        records
            .iter()
            .map(|(topic, partition, record)| {
                let n = self.partition_count(topic)?;
                let p = match (partition, &record.key) {
                    (Some(p), _) => *p,
                    (None, Some(key)) => default_partition(key, n),
                    (None, None) => sticky.rem_euclid(n),
                };
                if p < 0 || p >= n {
                    return Err(LogError::UnknownPartition {
                        topic: topic.clone(),
                        partition: p,
                    });
                }
                Ok((topic.as_str(), p, record))
            })
            .collect()
    }

    fn send(&self, routed: &[(&str, i32, &Record)]) -> Result<Vec<(i32, i64)>, LogError> {
        self.warm_producer(routed);
        let at = producer::send_all(&self.producer, routed, self.delivery_timeout, self.acks_all)?;
        self.note_delivered(routed, &at);
        Ok(at)
    }

    /// Has the producer read the metadata of the topics it is about to
    /// write first, once per topic: records sent to a partition whose
    /// leader it does not know yet wait in librdkafka's queues and have
    /// been seen acknowledged as duplicates without being stored. A failure
    /// here leaves it to librdkafka's own lookup (and a later write tries
    /// again).
    fn warm_producer(&self, routed: &[(&str, i32, &Record)]) {
        let mut topics: Vec<&str> = routed.iter().map(|(t, _, _)| *t).collect();
        topics.sort_unstable();
        topics.dedup();
        // the metadata is read without the lock: other writers go on meanwhile
        topics.retain(|t| !self.warmed.lock().contains(*t));
        for topic in topics {
            let known = self
                .producer
                .client()
                .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
                .is_ok_and(|m| {
                    m.topics().iter().any(|t| {
                        t.error().is_none()
                            && !t.partitions().is_empty()
                            && t.partitions().iter().all(|p| p.leader() >= 0)
                    })
                });
            if known {
                self.warmed.lock().insert(topic.to_string());
            }
        }
    }

    fn note_delivered(&self, routed: &[(&str, i32, &Record)], at: &[(i32, i64)]) {
        let mut delivered = self.delivered.lock();
        for ((topic, _, _), (p, offset)) in routed.iter().zip(at) {
            let end = delivered.entry((topic.to_string(), *p)).or_insert(0);
            *end = (*end).max(offset + 1);
        }
    }

    /// Produce and commit in one Kafka transaction: the records become visible
    /// to read_committed consumers, and the offsets committed, together or not
    /// at all (an aborted transaction leaves neither).
    fn transaction(
        &self,
        producers: &Mutex<HashMap<String, BaseProducer<DeliveryContext>>>,
        routed: &[(&str, i32, &Record)],
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<Vec<(i32, i64)>, LogError> {
        let mut producers = producers.lock();
        self.transactional_producer(&mut producers, group)?;
        let producer = &producers[group];
        let consumer = if offsets.is_empty() {
            None
        } else {
            Some(self.group(group)?)
        };
        let result = transactional::run(
            producer,
            routed,
            consumer.as_deref(),
            offsets,
            REQUEST_TIMEOUT,
        );
        match result {
            Ok(at) => {
                self.note_delivered(routed, &at);
                Ok(at)
            }
            Err((e, fatal)) => {
                if fatal {
                    // a fenced or failed producer cannot go on: a new one next time
                    producers.remove(group);
                }
                Err(e)
            }
        }
    }

    /// Makes (and initializes) the transactional producer of `group` unless
    /// there is one: initializing fences every earlier producer with the same
    /// transactional id and aborts the transaction it left open.
    fn transactional_producer(
        &self,
        producers: &mut HashMap<String, BaseProducer<DeliveryContext>>,
        group: &str,
    ) -> Result<(), LogError> {
        if !producers.contains_key(group) {
            let p = transactional::producer(&self.settings, group, self.instance_id.as_deref())?;
            producers.insert(group.to_string(), p);
        }
        Ok(())
    }

    /// The end of a partition: the broker's watermark `high`, or further when
    /// a record delivered there says so (a watermark read from a follower's
    /// view of the partition can lag behind a produce just acknowledged).
    fn known_end(&self, topic: &str, partition: i32, high: i64) -> i64 {
        let key = (topic.to_string(), partition);
        let delivered = self.delivered.lock().get(&key).copied().unwrap_or(0);
        let mut ends = self.ends.lock();
        let end = ends.entry(key).or_insert(high);
        *end = (*end).max(high).max(delivered);
        *end
    }

    fn commit_offsets(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<(), LogError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (topic, p, offset) in offsets {
            if *p < 0 || *p >= self.partition_count(topic)? {
                return Err(LogError::UnknownPartition {
                    topic: topic.clone(),
                    partition: *p,
                });
            }
            tpl.add_partition_offset(topic, *p, Offset::Offset(*offset))
                .map_err(|e| group_error(group, &e))?;
        }
        self.group(group)?
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| group_error(group, &e))
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        producer::flush(&self.producer);
    }
}

/// Keeps the last error librdkafka reported for a client (connection refused,
/// SASL authentication failed, TLS handshake failed, ...), which the failed
/// request itself only calls a transport failure.
#[derive(Default)]
pub struct ErrorCapture {
    last: Mutex<Option<String>>,
}

impl ErrorCapture {
    fn last_error(&self) -> Option<String> {
        self.last.lock().clone()
    }
}

impl ClientContext for ErrorCapture {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!("kafka: {error}: {reason}");
        // "all brokers are down" follows the error that says why (refused,
        // SASL, TLS); keep the why
        let summary =
            error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::AllBrokersDown);
        let mut last = self.last.lock();
        if !summary || last.is_none() {
            *last = Some(reason.to_string());
        }
    }
}

impl ConsumerContext for ErrorCapture {}

/// How long a new member of a group waits for its first assignment.
const JOIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The context of a group's consumer: as a member it only learns which
/// partitions are its own; the records are read elsewhere (by offset), so
/// assigned partitions are paused at once and never fetched here.
pub(crate) struct Member;

impl ClientContext for Member {}

impl ConsumerContext for Member {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let _ = consumer.pause(partitions);
        }
    }
}

fn consumer_config(settings: &BTreeMap<String, String>, group: &str) -> ClientConfig {
    let mut config = config::client_config(
        settings,
        &[
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            // a fetch outside the partition is the caller's error, not a reset
            ("auto.offset.reset", "error"),
            ("enable.partition.eof", "false"),
        ],
    );
    if !settings.contains_key("fetch.wait.max.ms") {
        // a streaming engine wants records soon, not full fetches
        config.set("fetch.wait.max.ms", "20");
    }
    config
}

fn group_error(group: &str, e: &rdkafka::error::KafkaError) -> LogError {
    LogError::Broker {
        context: format!("committing offsets of group '{group}'"),
        message: e.to_string(),
    }
}

impl Log for KafkaLog {
    fn create_topic(&self, spec: &TopicSpec) -> Result<(), LogError> {
        admin::create_topic(self, spec)
    }

    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        // stop reading it first: a consumer fetching a topic as it disappears
        // is left with metadata for a topic without a name
        self.forget_topic(name);
        admin::delete_topic(self, name)
    }

    fn list_topics(&self) -> Result<Vec<String>, LogError> {
        admin::list_topics(self)
    }

    fn describe_topic(&self, name: &str) -> Result<TopicDescription, LogError> {
        admin::describe_topic(self, name)
    }

    fn topic_exists(&self, name: &str) -> Result<bool, LogError> {
        match self.metadata_partitions(name) {
            Ok(_) => Ok(true),
            Err(LogError::UnknownTopic(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
    ) -> Result<(), LogError> {
        admin::alter_topic_configs(self, name, set)
    }

    fn add_partitions(&self, name: &str, total: i32) -> Result<(), LogError> {
        admin::add_partitions(self, name, total)?;
        self.partitions.lock().remove(name);
        Ok(())
    }

    fn delete_records(&self, topic: &str, before: &[(i32, i64)]) -> Result<(), LogError> {
        admin::delete_records(self, topic, before)
    }

    fn produce(
        &self,
        topic: &str,
        records: Vec<(Option<i32>, Record)>,
    ) -> Result<Vec<(i32, i64)>, LogError> {
        self.partition_count(topic)?;
        let records: Vec<(String, Option<i32>, Record)> = records
            .into_iter()
            .map(|(p, r)| (topic.to_string(), p, r))
            .collect();
        let routed = self.route(&records)?;
        self.send(&routed)
    }

    fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>, LogError> {
        let n = self.partition_count(topic)?;
        if partition < 0 || partition >= n {
            return Err(LogError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            });
        }
        let reader = self.reader(topic)?;
        let mut reader = reader.lock();
        let key = (topic.to_string(), partition);
        let delivered = self.delivered.lock().get(&key).copied().unwrap_or(0);
        if !reader.continues(partition, offset) {
            // a seek: ask the broker where the partition starts and ends
            let (low, high) = self.watermarks(topic, partition)?;
            if offset < low || offset > high.max(delivered) {
                return Err(LogError::OffsetOutOfRange {
                    topic: topic.to_string(),
                    partition,
                    offset,
                });
            }
            self.seek_ends.lock().insert(key.clone(), high);
        }
        let seek_end = self.seek_ends.lock().get(&key).copied().unwrap_or(0);
        // wait for records known to be there: delivered by this log, or below
        // the watermark seen at the seek (records of other producers arrive
        // as the consumer streams them)
        let (end, ours) = if offset < delivered {
            (delivered, true)
        } else {
            (seek_end, false)
        };
        match reader.fetch(partition, offset, max, end, ours, FETCH_WAIT)? {
            Fetched::Records(got) => Ok(got),
            Fetched::Unreadable => {
                // nothing readable up to the watermark (transaction markers,
                // an open transaction): the next fetch does not wait for it
                self.seek_ends.lock().insert(key, offset);
                Ok(Vec::new())
            }
            // records known to be there are not coming: a failure to read,
            // not an end (a reader taking it for the end would lose them)
            Fetched::Late => Err(LogError::Broker {
                context: format!("reading partition {partition} of topic '{topic}'"),
                message: format!(
                    "no record from offset {offset} arrived within {} s, though the partition holds records up to offset {end}",
                    FETCH_WAIT.as_secs()
                ),
            }),
        }
    }

    fn end_offsets(&self, topic: &str) -> Result<Vec<i64>, LogError> {
        let n = self.partition_count(topic)?;
        (0..n)
            .map(|p| {
                let (_, high) = self.watermarks(topic, p)?;
                Ok(self.known_end(topic, p, high))
            })
            .collect()
    }

    fn commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<(), LogError> {
        self.commit_offsets(group, offsets)
    }

    fn committed(&self, group: &str, topic: &str) -> Result<Vec<Option<i64>>, LogError> {
        let n = self.partition_count(topic)?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..n {
            tpl.add_partition(topic, p);
        }
        let got = self
            .group(group)?
            .committed_offsets(tpl, REQUEST_TIMEOUT)
            .map_err(|e| group_error(group, &e))?;
        Ok((0..n)
            .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            })
            .collect())
    }

    fn produce_and_commit(
        &self,
        produce: Vec<(String, Option<i32>, Record)>,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<Vec<(i32, i64)>, LogError> {
        // validate everything before anything is written
        let routed = self.route(&produce)?;
        for (topic, p, _) in offsets {
            if *p < 0 || *p >= self.partition_count(topic)? {
                return Err(LogError::UnknownPartition {
                    topic: topic.clone(),
                    partition: *p,
                });
            }
        }
        if let Some(slot) = &self.transactional {
            return self.transaction(slot, &routed, group, offsets);
        }
        let at = self.send(&routed)?;
        self.commit_offsets(group, offsets)?;
        Ok(at)
    }

    fn assigned(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Vec<(String, i32)>>, LogError> {
        let consumer = self.group(group)?;
        let failed = |e: KafkaError| LogError::Broker {
            context: format!("joining consumer group '{group}'"),
            message: e.to_string(),
        };
        let joining = {
            let mut subscriptions = self.subscriptions.lock();
            if subscriptions.get(group).map(Vec::as_slice) != Some(topics) {
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                consumer.subscribe(&names).map_err(failed)?;
                subscriptions.insert(group.to_string(), topics.to_vec());
                true
            } else {
                false
            }
        };
        // serve the group's events (join, rebalances); a new member waits
        // for its first assignment, so a query starts with its partitions
        let deadline = std::time::Instant::now()
            + if joining {
                JOIN_TIMEOUT
            } else {
                Duration::ZERO
            };
        loop {
            // partitions are paused as they are assigned (see `Member`): the
            // member fetches nothing; anything polled is dropped
            let _ = consumer.poll(if joining {
                Duration::from_millis(50)
            } else {
                Duration::ZERO
            });
            let assignment = consumer.assignment().map_err(failed)?;
            let owned: Vec<(String, i32)> = assignment
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect();
            if !owned.is_empty() || std::time::Instant::now() >= deadline {
                return Ok(Some(owned));
            }
        }
    }

    fn presence(
        &self,
        group: &str,
        topic: &str,
        name: &str,
    ) -> Result<Option<Vec<String>>, LogError> {
        let failed = |e: KafkaError| LogError::Broker {
            context: format!("listing the members of group '{group}'"),
            message: e.to_string(),
        };
        let consumer = {
            let mut presence = self.presence.lock();
            match presence.get(group) {
                Some(c) => c.clone(),
                None => {
                    let mut config = consumer_config(&self.settings, group);
                    // the name others see: the member's client id
                    config.set("client.id", name);
                    let consumer: BaseConsumer<Member> =
                        config.create_with_context(Member).map_err(failed)?;
                    consumer.subscribe(&[topic]).map_err(failed)?;
                    let consumer = Arc::new(consumer);
                    presence.insert(group.to_string(), consumer.clone());
                    consumer
                }
            }
        };
        // serve the group's events: joining, staying in it
        let _ = consumer.poll(Duration::ZERO);
        let groups = consumer
            .fetch_group_list(Some(group), REQUEST_TIMEOUT)
            .map_err(failed)?;
        let mut names: Vec<String> = groups
            .groups()
            .iter()
            .flat_map(|g| g.members())
            .map(|m| m.client_id().to_string())
            .collect();
        names.sort();
        names.dedup();
        Ok(Some(names))
    }

    fn group_members(&self, group: &str) -> Result<Option<GroupMembers>, LogError> {
        let recent = |described: &Described| match described {
            Ok(members) => Ok(Some(members.clone())),
            Err(message) => Err(LogError::Broker {
                context: format!("describing consumer group '{group}'"),
                message: message.clone(),
            }),
        };
        if let Some((at, described)) = self.members.lock().get(group) {
            if at.elapsed() < members::MEMBERS_TTL {
                return recent(described);
            }
        }
        let described = self
            .group(group)
            .and_then(|consumer| members::describe(consumer.as_ref(), group))
            .map_err(|e| match e {
                LogError::Broker { message, .. } => message,
                other => other.to_string(),
            });
        let answer = recent(&described);
        self.members
            .lock()
            .insert(group.to_string(), (std::time::Instant::now(), described));
        answer
    }

    fn fence(&self, group: &str) -> Result<(), LogError> {
        match &self.transactional {
            Some(producers) => self.transactional_producer(&mut producers.lock(), group),
            None => Ok(()),
        }
    }

    fn leave(&self, group: &str) {
        self.subscriptions.lock().remove(group);
        // dropping the last handle closes the consumer: it leaves the group
        self.groups.lock().remove(group);
    }
}

/// A group's members as described, or the broker's message why not.
type Described = Result<GroupMembers, String>;

/// Whether `processing.guarantee` (or `ksql.streams.processing.guarantee`) asks
/// for exactly-once.
fn exactly_once(properties: &BTreeMap<String, String>) -> Result<bool, LogError> {
    let value = properties
        .get("ksql.streams.processing.guarantee")
        .or_else(|| properties.get("processing.guarantee"));
    match value.map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("at_least_once") => Ok(false),
        Some("exactly_once" | "exactly_once_v2" | "exactly_once_beta") => Ok(true),
        Some(other) => Err(LogError::InvalidConfig(format!(
            "Invalid processing.guarantee '{other}': expected at_least_once or exactly_once_v2."
        ))),
    }
}
