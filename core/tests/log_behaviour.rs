//! Behaviour of the partition log on a fault-free `SimDisk`: offsets, reads, rolling,
//! indexes, retention, truncation, flush policies and recovery.

mod common;

use common::*;
use odradek_core::log::{FlushPolicy, LogConfig, LogError, LogOutput, PartitionLog};
use odradek_core::record::{split_batches, validate_batch, Offset};
use odradek_core::time::Now;
use odradek_sim::disk::SimDisk;

#[test]
fn appends_get_dense_offsets_and_reads_return_the_same_bytes() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    let first = log.append(Now::ZERO, batch(3, 10, 5)).unwrap();
    let second = log.append(Now::ZERO, batch(2, 10, 6)).unwrap();
    assert_eq!(
        (first.base_offset, first.last_offset),
        (Offset(0), Offset(2))
    );
    assert_eq!(
        (second.base_offset, second.last_offset),
        (Offset(3), Offset(4))
    );
    assert_eq!(log.log_end_offset(), Offset(5));
    let read = log.read(Offset(4), 1 << 20).unwrap();
    assert_eq!(read.first_offset, Offset(3));
    assert_eq!(read.next_offset, Offset(5));
    let batches = split_batches(read.records).unwrap();
    assert_eq!(batches.len(), 1);
    let header = validate_batch(&batches[0]).unwrap();
    assert_eq!(header.base_offset, 3);
}

#[test]
fn a_read_returns_at_least_one_batch_even_if_larger_than_max_bytes() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    log.append(Now::ZERO, batch(1, 1000, 0)).unwrap();
    log.append(Now::ZERO, batch(1, 1000, 0)).unwrap();
    let read = log.read(Offset(0), 10).unwrap();
    assert_eq!(split_batches(read.records).unwrap().len(), 1);
    let read = log.read(Offset(0), 1 << 20).unwrap();
    assert_eq!(split_batches(read.records).unwrap().len(), 2);
}

#[test]
fn reads_outside_the_log_are_typed_errors_and_the_end_is_empty() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    log.append(Now::ZERO, batch(2, 10, 0)).unwrap();
    assert!(log.read(Offset(2), 100).unwrap().records.is_empty());
    assert_eq!(
        log.read(Offset(3), 100),
        Err(LogError::OffsetOutOfRange {
            requested: Offset(3),
            log_start_offset: Offset(0),
            log_end_offset: Offset(2),
        })
    );
}

#[test]
fn segments_roll_by_size_and_are_named_by_base_offset() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, small_segments(1000), Now::ZERO);
    for _ in 0..10 {
        log.append(Now::ZERO, batch(2, 200, 0)).unwrap();
    }
    assert!(log.segment_count() > 3);
    let names: Vec<String> = disk.files().keys().cloned().collect();
    assert!(names.contains(&"00000000000000000000.log".to_string()));
    assert!(names.contains(&"00000000000000000000.index".to_string()));
    assert!(names.contains(&"00000000000000000000.timeindex".to_string()));
    for offset in 0..20 {
        let read = log.read(Offset(offset), 1).unwrap();
        assert!(read.first_offset.0 <= offset && offset < read.next_offset.0);
    }
}

#[test]
fn segments_roll_by_age() {
    let disk = SimDisk::new(1);
    let config = LogConfig {
        segment_ms: 100,
        ..LogConfig::default()
    };
    let mut log = open(&disk, config, at_ms(0));
    log.append(at_ms(0), batch(1, 10, 0)).unwrap();
    log.append(at_ms(50), batch(1, 10, 0)).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(at_ms(150), batch(1, 10, 0)).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![Offset(0), Offset(2)]);
}

#[test]
fn size_retention_deletes_whole_old_segments_and_advances_the_log_start() {
    let disk = SimDisk::new(1);
    let config = LogConfig {
        retention_bytes: Some(1500),
        ..small_segments(1000)
    };
    let mut log = open(&disk, config, Now::ZERO);
    for _ in 0..20 {
        log.append(Now::ZERO, batch(1, 300, 0)).unwrap();
    }
    let deleted = log.enforce_retention(Now::ZERO).unwrap();
    assert!(deleted > 0);
    assert!(log.size_bytes() >= 1500 && log.size_bytes() < 1500 + 1000);
    let start = log.log_start_offset();
    assert_eq!(start, log.segment_base_offsets()[0]);
    assert!(matches!(
        log.read(Offset(start.0 - 1), 10),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(!disk.files().contains_key("00000000000000000000.log"));
}

#[test]
fn time_retention_deletes_segments_whose_newest_record_is_too_old() {
    let disk = SimDisk::new(1);
    let config = LogConfig {
        retention_ms: Some(1_000),
        ..small_segments(500)
    };
    let mut log = open(&disk, config, at_ms(0));
    for ts in [0, 10, 20, 5_000, 5_010] {
        log.append(at_ms(0), batch(1, 400, ts)).unwrap();
    }
    assert_eq!(log.segment_count(), 5);
    assert_eq!(log.enforce_retention(at_ms(5_500)).unwrap(), 3);
    assert_eq!(log.log_start_offset(), Offset(3));
}

#[test]
fn retention_runs_from_handle_timeout() {
    let disk = SimDisk::new(1);
    let config = LogConfig {
        retention_bytes: Some(1),
        ..small_segments(500)
    };
    let mut log = open(&disk, config, at_ms(0));
    for _ in 0..4 {
        log.append(at_ms(0), batch(1, 400, 0)).unwrap();
    }
    let deadline = log.poll_timeout().expect("retention timer");
    let later = Now {
        mono: deadline,
        wall_ms: 0,
    };
    log.handle_timeout(later).unwrap();
    assert_eq!(log.segment_count(), 1);
}

#[test]
fn truncation_cuts_whole_batches_across_segments_durably() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, small_segments(600), Now::ZERO);
    for _ in 0..6 {
        log.append(Now::ZERO, batch(2, 200, 0)).unwrap();
    }
    assert_eq!(log.truncate_to(Now::ZERO, Offset(5)).unwrap(), Offset(4));
    assert_eq!(log.log_end_offset(), Offset(4));
    let appended = log.append(Now::ZERO, batch(1, 10, 0)).unwrap();
    assert_eq!(appended.base_offset, Offset(4));
    disk.crash();
    let (mut reopened, _) =
        PartitionLog::open(disk.clone(), small_segments(600), Now::ZERO).unwrap();
    assert!(reopened.log_end_offset() >= Offset(4));
    assert!(reopened.log_end_offset() <= Offset(5));
    assert!(reopened.read(Offset(3), 1 << 20).is_ok());
}

#[test]
fn every_batch_flush_policy_asks_for_a_sync_and_durability_waits_for_it() {
    let disk = SimDisk::new(1);
    let config = LogConfig {
        flush_policy: FlushPolicy::EveryBatch,
        ..LogConfig::default()
    };
    let mut log = open(&disk, config, Now::ZERO);
    log.append(Now::ZERO, batch(1, 10, 0)).unwrap();
    let Some(LogOutput::Sync(request)) = log.poll_output() else {
        panic!("expected a sync request");
    };
    assert_eq!(request.through, Offset(1));
    assert_eq!(log.durable_offset(), Offset(0), "not durable before Synced");
    log.perform_sync(Now::ZERO, &request).unwrap();
    assert_eq!(log.durable_offset(), Offset(1));
}

#[test]
fn interval_flush_policy_syncs_when_the_deadline_passes() {
    let disk = SimDisk::new(1);
    let config = LogConfig {
        flush_policy: FlushPolicy::IntervalMs(50),
        retention_ms: None,
        ..LogConfig::default()
    };
    let mut log = open(&disk, config, at_ms(0));
    log.append(at_ms(10), batch(1, 10, 0)).unwrap();
    assert_eq!(log.poll_output(), None);
    assert_eq!(log.poll_timeout(), Some(at_ms(60).mono));
    log.handle_timeout(at_ms(60)).unwrap();
    assert!(matches!(log.poll_output(), Some(LogOutput::Sync(_))));
}

#[test]
fn synced_batches_survive_a_crash_and_unsynced_ones_may_not() {
    let disk = SimDisk::new(7);
    let config = LogConfig {
        flush_policy: FlushPolicy::EveryBatch,
        ..LogConfig::default()
    };
    let mut log = open(&disk, config.clone(), Now::ZERO);
    for _ in 0..5 {
        log.append(Now::ZERO, batch(3, 700, 0)).unwrap();
    }
    sync_all(&mut log, Now::ZERO);
    for _ in 0..5 {
        log.append(Now::ZERO, batch(3, 700, 0)).unwrap();
    }
    drop(log);
    disk.crash();
    let (mut log, report) = PartitionLog::open(disk.clone(), config, Now::ZERO).unwrap();
    let end = log.log_end_offset();
    assert!(
        end >= Offset(15) && end <= Offset(30) && end.0 % 3 == 0,
        "{end:?} {report:?}"
    );
    let read = log.read(Offset(0), 1 << 20).unwrap();
    assert_eq!(read.first_offset, Offset(0));
}

#[test]
fn recovery_cuts_a_segment_truncated_mid_batch() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    log.append(Now::ZERO, batch(1, 100, 0)).unwrap();
    log.append(Now::ZERO, batch(1, 100, 0)).unwrap();
    drop(log);
    let mut storage = disk.clone();
    use odradek_core::storage::Storage;
    let len = storage.len("00000000000000000000.log").unwrap();
    storage
        .truncate("00000000000000000000.log", len - 7)
        .unwrap();
    let (mut log, report) =
        PartitionLog::open(disk.clone(), LogConfig::default(), Now::ZERO).unwrap();
    assert_eq!(log.log_end_offset(), Offset(1));
    let (file, _, cut) = report.truncated.expect("a cut");
    assert_eq!(file, "00000000000000000000.log");
    assert!(cut > 0);
    assert_eq!(
        log.append(Now::ZERO, batch(1, 5, 0)).unwrap().base_offset,
        Offset(1)
    );
}

#[test]
fn a_reopened_log_keeps_sealed_segments_and_their_indexes() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, small_segments(2000), Now::ZERO);
    for _ in 0..30 {
        log.append(Now::ZERO, batch(4, 100, 0)).unwrap();
    }
    let segments = log.segment_base_offsets();
    drop(log);
    let (mut log, report) =
        PartitionLog::open(disk.clone(), small_segments(2000), Now::ZERO).unwrap();
    assert_eq!(log.segment_base_offsets(), segments);
    assert!(report.rebuilt_indexes.is_empty(), "{report:?}");
    assert_eq!(log.log_end_offset(), Offset(120));
    for offset in (0..120).step_by(7) {
        let read = log.read(Offset(offset), 1).unwrap();
        assert!(read.first_offset.0 <= offset && offset < read.next_offset.0);
    }
}

#[test]
fn missing_or_stale_indexes_are_rebuilt() {
    use odradek_core::storage::Storage;
    let disk = SimDisk::new(1);
    let mut log = open(&disk, small_segments(2000), Now::ZERO);
    for _ in 0..30 {
        log.append(Now::ZERO, batch(4, 100, 0)).unwrap();
    }
    drop(log);
    let mut storage = disk.clone();
    storage.remove("00000000000000000000.index").unwrap();
    storage
        .truncate("00000000000000000000.timeindex", 5)
        .unwrap();
    let (mut log, report) =
        PartitionLog::open(disk.clone(), small_segments(2000), Now::ZERO).unwrap();
    assert_eq!(report.rebuilt_indexes, vec![Offset(0)]);
    assert!(log.read(Offset(9), 1).is_ok());
    assert_eq!(disk.files()["00000000000000000000.timeindex"].len() % 12, 0);
}

/// Regression (found by `log_matches_model_under_crash_faults`): truncating to exactly the
/// base offset of the newest segment pops it, and the previous (sealed) segment must become
/// active again with nothing cut; it failed with "offset not found".
#[test]
fn truncating_to_the_newest_segment_base_reactivates_the_previous_segment() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, small_segments(600), Now::ZERO);
    for _ in 0..3 {
        log.append(Now::ZERO, batch(2, 200, 0)).unwrap();
    }
    let segments = log.segment_base_offsets();
    let newest = *segments.last().unwrap();
    assert!(segments.len() > 1);
    assert_eq!(log.truncate_to(Now::ZERO, newest).unwrap(), newest);
    assert_eq!(
        log.segment_base_offsets(),
        segments[..segments.len() - 1].to_vec()
    );
    assert_eq!(log.log_end_offset(), newest);
    assert_eq!(
        log.append(Now::ZERO, batch(1, 10, 0)).unwrap().base_offset,
        newest
    );
    assert!(log.read(Offset(0), 1 << 20).is_ok());
}
