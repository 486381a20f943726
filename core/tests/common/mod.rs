//! Helpers shared by the partition-log tests: batches, a log on a `SimDisk`, sync draining.
#![allow(dead_code)]

use bytes::BytesMut;
use odradek_core::log::{LogConfig, LogOutput, PartitionLog};
use odradek_core::record::RecordBatchBuilder;
use odradek_core::time::{Mono, Now};
use odradek_sim::disk::SimDisk;

/// A batch of `records` records of `value_len` bytes each, timestamped `timestamp`.
pub fn batch(records: usize, value_len: usize, timestamp: i64) -> BytesMut {
    let value = vec![b'v'; value_len];
    (0..records)
        .fold(RecordBatchBuilder::new(timestamp), |b, _| {
            b.value(0, &value)
        })
        .build()
}

/// `Now` at `ms` milliseconds on both clocks.
pub fn at_ms(ms: u64) -> Now {
    Now {
        mono: Mono(0).plus_millis(ms),
        wall_ms: ms as i64,
    }
}

/// Opens a log on `disk`, panicking on failure (tests only).
pub fn open(disk: &SimDisk, config: LogConfig, now: Now) -> PartitionLog<SimDisk> {
    PartitionLog::open(disk.clone(), config, now)
        .expect("open")
        .0
}

/// Performs every requested sync against the log's own storage.
pub fn sync_all(log: &mut PartitionLog<SimDisk>, now: Now) {
    while let Some(LogOutput::Sync(request)) = log.poll_output() {
        let _ = log.perform_sync(now, &request);
    }
}

/// A config with small segments so tests roll often.
pub fn small_segments(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}
