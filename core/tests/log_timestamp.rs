//! ListOffsets by timestamp: the earliest offset whose record timestamp is at or after a
//! target, found through the time index and exact to the record for uncompressed batches.

mod common;

use common::*;
use odradek_core::log::{LogConfig, TimestampOffset};
use odradek_core::record::{Offset, RecordBatchBuilder};
use odradek_core::time::Now;
use odradek_sim::disk::SimDisk;

/// Batch `i` holds two records at `1000 * (i + 1)` and `+5` ms.
fn log_with_batches(count: u64, config: LogConfig) -> odradek_core::log::PartitionLog<SimDisk> {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, config, Now::ZERO);
    for i in 0..count {
        let batch = RecordBatchBuilder::new(1000 * (i as i64 + 1))
            .value(0, &[b'a'; 300])
            .value(5, &[b'b'; 300])
            .build();
        log.append(Now::ZERO, batch).unwrap();
    }
    log
}

fn found(offset: u64, timestamp: i64) -> Option<TimestampOffset> {
    Some(TimestampOffset {
        offset: Offset(offset),
        timestamp,
    })
}

#[test]
fn the_answer_is_exact_to_the_record() {
    let mut log = log_with_batches(3, LogConfig::default());
    assert_eq!(log.offset_for_timestamp(0).unwrap(), found(0, 1000));
    assert_eq!(log.offset_for_timestamp(1000).unwrap(), found(0, 1000));
    assert_eq!(log.offset_for_timestamp(1003).unwrap(), found(1, 1005));
    assert_eq!(log.offset_for_timestamp(1006).unwrap(), found(2, 2000));
    assert_eq!(log.offset_for_timestamp(3005).unwrap(), found(5, 3005));
    assert_eq!(log.offset_for_timestamp(3006).unwrap(), None);
}

#[test]
fn the_time_index_finds_the_right_batch_across_many_segments() {
    let config = LogConfig {
        index_interval_bytes: 1000,
        ..small_segments(5_000)
    };
    let mut log = log_with_batches(200, config);
    assert!(log.segment_count() > 10);
    for i in [0u64, 1, 57, 123, 199] {
        let base = 1000 * (i as i64 + 1);
        assert_eq!(log.offset_for_timestamp(base).unwrap(), found(2 * i, base));
        assert_eq!(
            log.offset_for_timestamp(base + 1).unwrap(),
            found(2 * i + 1, base + 5)
        );
    }
}

#[test]
fn compressed_and_log_append_time_batches_answer_with_the_batch() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    let compressed = RecordBatchBuilder::new(1000)
        .attributes(1)
        .value(0, b"x")
        .value(5, b"y")
        .build();
    let log_append_time = RecordBatchBuilder::new(2000)
        .attributes(8)
        .value(0, b"x")
        .value(5, b"y")
        .build();
    log.append(Now::ZERO, compressed).unwrap();
    log.append(Now::ZERO, log_append_time).unwrap();
    assert_eq!(log.offset_for_timestamp(1003).unwrap(), found(0, 1005));
    assert_eq!(log.offset_for_timestamp(2001).unwrap(), found(2, 2005));
}

#[test]
fn an_empty_log_has_no_offset_for_any_timestamp() {
    let mut log = log_with_batches(0, LogConfig::default());
    assert_eq!(log.offset_for_timestamp(i64::MIN).unwrap(), None);
}

/// One batch per entry of `batches`, each the record timestamps it holds.
fn log_with_timestamps(
    batches: &[&[i64]],
    config: LogConfig,
) -> odradek_core::log::PartitionLog<SimDisk> {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, config, Now::ZERO);
    for timestamps in batches {
        let base = timestamps[0];
        let builder = timestamps
            .iter()
            .fold(RecordBatchBuilder::new(base), |b, t| {
                b.value(t - base, &[b'v'; 100])
            });
        log.append(Now::ZERO, builder.build()).unwrap();
    }
    log
}

#[test]
fn max_timestamp_is_the_record_with_the_largest_timestamp_not_the_last() {
    let mut log = log_with_timestamps(
        &[&[1000, 1005], &[2000, 9000, 5000], &[3000, 3001]],
        LogConfig::default(),
    );
    assert_eq!(log.offset_of_max_timestamp().unwrap(), found(3, 9000));
}

#[test]
fn max_timestamp_ties_answer_the_lowest_offset() {
    let mut log = log_with_timestamps(
        &[&[1000], &[7000, 4000, 7000], &[7000]],
        LogConfig::default(),
    );
    assert_eq!(log.offset_of_max_timestamp().unwrap(), found(1, 7000));
}

#[test]
fn max_timestamp_is_found_in_an_earlier_segment() {
    let mut batches: Vec<Vec<i64>> = (0..100).map(|i| vec![1000 + i, 1000 + i]).collect();
    batches[37] = vec![50_000, 60_000, 60_000];
    let refs: Vec<&[i64]> = batches.iter().map(Vec::as_slice).collect();
    let mut log = log_with_timestamps(&refs, small_segments(2_000));
    assert!(log.segment_count() > 5);
    assert_eq!(
        log.offset_of_max_timestamp().unwrap(),
        found(2 * 37 + 1, 60_000)
    );
}

#[test]
fn max_timestamp_of_a_compressed_batch_answers_with_the_batch() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    let plain = RecordBatchBuilder::new(1000).value(0, b"x").build();
    let compressed = RecordBatchBuilder::new(2000)
        .attributes(1)
        .value(0, b"x")
        .value(5, b"y")
        .build();
    log.append(Now::ZERO, plain).unwrap();
    log.append(Now::ZERO, compressed).unwrap();
    assert_eq!(log.offset_of_max_timestamp().unwrap(), found(1, 2005));
}

#[test]
fn an_empty_log_has_no_max_timestamp() {
    let mut log = log_with_batches(0, LogConfig::default());
    assert_eq!(log.offset_of_max_timestamp().unwrap(), None);
}

#[test]
fn max_timestamp_after_truncation_forgets_the_removed_records() {
    let mut log = log_with_timestamps(&[&[1000, 4000], &[9000], &[2000]], LogConfig::default());
    log.truncate_to(Now::ZERO, Offset(2)).unwrap();
    assert_eq!(log.offset_of_max_timestamp().unwrap(), found(1, 4000));
}
