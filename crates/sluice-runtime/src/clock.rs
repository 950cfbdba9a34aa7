//! The wall clock operators throttle their work by (not event time).

/// Where an operator reads the wall-clock time from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WallClock {
    /// The system's clock.
    #[default]
    System,
    /// A clock that stays at these epoch milliseconds: ksqlDB's test
    /// driver (Kafka Streams' `TopologyTestDriver`, started at the epoch)
    /// never moves its wall clock, so what is throttled by it happens at
    /// most once. `sluice test` runs queries under it.
    Frozen(i64),
}

impl WallClock {
    pub fn now_ms(&self) -> i64 {
        match self {
            WallClock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            WallClock::Frozen(ms) => *ms,
        }
    }
}
