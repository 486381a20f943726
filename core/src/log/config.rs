//! Partition log configuration, with Kafka's names and defaults where Kafka has them.

use crate::bugs::PlantedBugs;

/// When the log asks for its data to be made durable (Kafka's `flush.messages`/`flush.ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Request a sync after every appended batch (`flush.messages=1`).
    EveryBatch,
    /// Request a sync when unsynced data is at least this many milliseconds old
    /// (`flush.ms`); the log exposes the deadline through `poll_timeout`.
    IntervalMs(u64),
    /// Never request syncs on its own (Kafka's default: durability comes from replication).
    /// Segments are still synced when they are rolled, so recovery only scans the tail.
    Never,
}

/// Configuration of one partition log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// Roll to a new segment when the active one would exceed this size (`segment.bytes`).
    pub segment_bytes: u64,
    /// Roll when the active segment is older than this (`segment.ms`), on the next append.
    pub segment_ms: u64,
    /// Add an offset-index entry every this many bytes (`index.interval.bytes`).
    pub index_interval_bytes: u64,
    /// Delete old segments while the log is larger than this (`retention.bytes`); `None` = ∞.
    pub retention_bytes: Option<u64>,
    /// Delete segments whose newest record is older than this (`retention.ms`); `None` = ∞.
    pub retention_ms: Option<u64>,
    /// When to ask for fsyncs.
    pub flush_policy: FlushPolicy,
    /// Deliberate mistakes for the simulator ([`crate::bugs`]); always empty in `serve`.
    pub planted_bugs: PlantedBugs,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            index_interval_bytes: 4096,
            retention_bytes: None,
            retention_ms: Some(7 * 24 * 60 * 60 * 1000),
            flush_policy: FlushPolicy::Never,
            planted_bugs: PlantedBugs::NONE,
        }
    }
}
