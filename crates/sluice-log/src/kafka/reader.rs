//! Random-access fetches over Kafka's streaming consumer.
//!
//! [`Log::fetch`](crate::Log::fetch) asks for "records of partition p from
//! offset o"; a Kafka consumer streams an assignment instead. One consumer per
//! topic keeps every partition Sluice reads assigned, and what it streams waits
//! in a buffer per partition until asked for. A fetch from where the previous
//! one stopped is served from the buffer; any other offset re-assigns that
//! partition there (a seek), after checking it lies within the partition.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::{Header, LogError, Record, StoredRecord};

const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

/// The consumer of one topic and what it has streamed but nobody took yet.
pub struct TopicReader {
    consumer: BaseConsumer,
    topic: Arc<str>,
    /// partition → offset after the last record buffered (where its stream is)
    streamed_to: HashMap<i32, i64>,
    /// partition → offset the next in-order fetch asks for
    next: HashMap<i32, i64>,
    buffers: HashMap<i32, VecDeque<StoredRecord>>,
    /// partition → where the consumer stood when it last reached the end of
    /// the partition since the last seek (librdkafka's partition EOF): every
    /// record readable below it has been streamed
    caught_up: HashMap<i32, i64>,
}

/// What a fetch found.
pub enum Fetched {
    /// Records from the offset asked for (none: the offset is the end).
    Records(Vec<StoredRecord>),
    /// Nothing readable at the offset although the partition holds records
    /// past it: the consumer reached the end of what it may read (the rest
    /// are transaction markers, aborted records or an open transaction).
    Unreadable,
    /// Nothing arrived within the wait and the consumer has not reached the
    /// partition's end: the records are there but late.
    Late,
}

impl TopicReader {
    pub fn new(consumer: BaseConsumer, topic: &str) -> Self {
        TopicReader {
            consumer,
            topic: Arc::from(topic),
            streamed_to: HashMap::new(),
            next: HashMap::new(),
            buffers: HashMap::new(),
            caught_up: HashMap::new(),
        }
    }

    /// Up to `max` records of `partition` from `offset`. When the partition is
    /// known to hold records there (`end` is past `offset`) waits up to `wait`
    /// for them to arrive; otherwise returns what is already here. Records
    /// this log delivered up to `end` (`delivered`) are readable: only the
    /// consumer reaching `end` without them (aborted, never stored) ends the
    /// wait early. Below a watermark a seek saw, reaching the end of what the
    /// consumer may read, wherever it is, ends it (the rest are transaction
    /// markers or in an open transaction).
    pub fn fetch(
        &mut self,
        partition: i32,
        offset: i64,
        max: usize,
        end: i64,
        delivered: bool,
        wait: Duration,
    ) -> Result<Fetched, LogError> {
        if self.next.get(&partition) != Some(&offset) {
            self.seek(partition, offset)?;
        }
        self.drain(Duration::ZERO)?;
        let deadline = Instant::now() + wait;
        // where the consumer reached the end since the seek proves `end`
        // unreadable
        let unreadable = |r: &Self| {
            r.caught_up
                .get(&partition)
                .is_some_and(|at| !delivered || *at >= end)
        };
        while offset < end
            && self.buffered(partition) == 0
            && !unreadable(self)
            && Instant::now() < deadline
        {
            self.drain(Duration::from_millis(20))?;
        }
        if offset < end && self.buffered(partition) == 0 {
            return Ok(if unreadable(self) {
                Fetched::Unreadable
            } else {
                Fetched::Late
            });
        }
        let buffer = self.buffers.entry(partition).or_default();
        let n = buffer.len().min(max);
        let out: Vec<StoredRecord> = buffer.drain(..n).collect();
        if let Some(last) = out.last() {
            self.next.insert(partition, last.offset + 1);
        }
        Ok(Fetched::Records(out))
    }

    /// Whether a fetch of `partition` from `offset` continues the last one.
    pub fn continues(&self, partition: i32, offset: i64) -> bool {
        self.next.get(&partition) == Some(&offset)
    }

    fn buffered(&self, partition: i32) -> usize {
        self.buffers.get(&partition).map_or(0, VecDeque::len)
    }

    /// Start streaming `partition` at `offset`, dropping what was buffered.
    fn seek(&mut self, partition: i32, offset: i64) -> Result<(), LogError> {
        if self.streamed_to.contains_key(&partition) {
            // seeking bumps the partition's fetch version: what was in flight
            // is dropped by librdkafka
            self.consumer
                .seek(&self.topic, partition, Offset::Offset(offset), SEEK_TIMEOUT)
                .map_err(|e| self.error(&e))?;
        } else {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&self.topic, partition, Offset::Offset(offset))
                .map_err(|e| self.error(&e))?;
            self.consumer
                .incremental_assign(&tpl)
                .map_err(|e| self.error(&e))?;
        }
        self.streamed_to.insert(partition, offset);
        self.next.insert(partition, offset);
        self.buffers.entry(partition).or_default().clear();
        self.caught_up.remove(&partition);
        Ok(())
    }

    /// Move what the consumer has streamed into the partitions' buffers.
    fn drain(&mut self, first_wait: Duration) -> Result<(), LogError> {
        let mut wait = first_wait;
        loop {
            let polled = self.consumer.poll(wait);
            wait = Duration::ZERO;
            let message = match polled {
                None => return Ok(()),
                Some(Ok(m)) => m,
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    self.reached_end(p);
                    continue;
                }
                Some(Err(e)) => return self.poll_error(e),
            };
            let record = stored(&self.topic, &message);
            drop(message);
            // a first record past a seek's offset is a gap in the partition
            // (compaction, transaction markers, aborted records), not a loss
            let streamed = self.streamed_to.entry(record.partition).or_insert(0);
            // a record from before a seek (still in flight) is not the stream's
            if record.offset < *streamed {
                continue;
            }
            *streamed = record.offset + 1;
            self.buffers
                .entry(record.partition)
                .or_default()
                .push_back(record);
        }
    }

    /// The consumer reached the end of partition `p`: where it stands is
    /// past every record it may read there (transaction markers included).
    fn reached_end(&mut self, p: i32) {
        let streamed = self.streamed_to.get(&p).copied().unwrap_or(0);
        let position = self
            .consumer
            .position()
            .ok()
            .and_then(|tpl| match tpl.find_partition(&self.topic, p)?.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .unwrap_or(streamed);
        self.caught_up.insert(p, position.max(streamed));
    }

    fn poll_error(&self, e: KafkaError) -> Result<(), LogError> {
        match e.rdkafka_error_code() {
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
                Err(LogError::UnknownTopic(self.topic.to_string()))
            }
            Some(
                RDKafkaErrorCode::AutoOffsetReset
                | RDKafkaErrorCode::OffsetOutOfRange
                | RDKafkaErrorCode::Fatal,
            ) => Err(self.error(&e)),
            // transport trouble: librdkafka reconnects by itself; the caller
            // polls again and gets the records once the broker is back
            _ => {
                tracing::warn!(topic = %self.topic, "while fetching: {e}");
                Ok(())
            }
        }
    }

    fn error(&self, e: &KafkaError) -> LogError {
        LogError::Broker {
            context: format!("reading topic '{}'", self.topic),
            message: e.to_string(),
        }
    }
}

/// A consumed message as a [`StoredRecord`].
fn stored(topic: &Arc<str>, m: &BorrowedMessage<'_>) -> StoredRecord {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| Header::new(h.key, h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    StoredRecord {
        topic: topic.clone(),
        partition: m.partition(),
        offset: m.offset(),
        record: Record {
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            // Kafka keeps no timestamp for -1 ("none")
            timestamp: m.timestamp().to_millis().unwrap_or(-1),
            headers,
        },
    }
}
