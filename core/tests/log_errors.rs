//! Every error path of the partition log gives a typed error, loses no durable batch, and
//! never panics: bad batches, a full disk, a failed fsync, corrupt bytes on disk.

mod common;

use common::*;
use odradek_core::log::{FlushPolicy, LogConfig, LogError, LogOutput, PartitionLog};
use odradek_core::record::{BatchError, Offset};
use odradek_core::storage::{Storage, StorageError};
use odradek_core::time::Now;
use odradek_sim::disk::{SimDisk, SimDiskFaults};

const SEGMENT: &str = "00000000000000000000.log";

#[test]
fn a_batch_with_a_bad_crc_is_rejected_and_nothing_is_written() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    let mut bad = batch(1, 10, 0);
    let last = bad.len() - 1;
    bad[last] ^= 0x40;
    assert!(matches!(
        log.append(Now::ZERO, bad),
        Err(LogError::InvalidBatch(BatchError::CrcMismatch { .. }))
    ));
    assert_eq!(log.log_end_offset(), Offset(0));
    assert_eq!(disk.files()[SEGMENT].len(), 0);
}

#[test]
fn a_batch_with_a_bad_magic_or_length_is_rejected() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    let mut magic = batch(1, 10, 0);
    magic[16] = 0;
    assert_eq!(
        log.append(Now::ZERO, magic),
        Err(LogError::InvalidBatch(BatchError::UnsupportedMagic {
            magic: 0
        }))
    );
    let mut negative = batch(1, 10, 0);
    negative[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(matches!(
        log.append(Now::ZERO, negative),
        Err(LogError::InvalidBatch(BatchError::InvalidLength {
            batch_length: -5
        }))
    ));
    let empty = bytes::BytesMut::new();
    assert!(matches!(
        log.append(Now::ZERO, empty),
        Err(LogError::InvalidBatch(BatchError::TooShort { len: 0 }))
    ));
}

#[test]
fn a_full_disk_is_a_typed_error_that_leaves_the_log_usable() {
    let faults = SimDiskFaults {
        capacity_bytes: Some(1_000),
        ..SimDiskFaults::default()
    };
    let disk = SimDisk::with_faults(3, faults);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    log.append(Now::ZERO, batch(1, 500, 0)).unwrap();
    let result = log.append(Now::ZERO, batch(1, 500, 0));
    assert!(matches!(
        result,
        Err(LogError::Storage(StorageError::NoSpace { .. }))
    ));
    assert_eq!(log.log_end_offset(), Offset(1));
    let size = log.size_bytes();
    assert_eq!(
        disk.files()[SEGMENT].len() as u64,
        size,
        "partial write cut back"
    );
    assert_eq!(
        log.append(Now::ZERO, batch(1, 10, 0)).unwrap().base_offset,
        Offset(1)
    );
    let read = log.read(Offset(0), 1 << 20).unwrap();
    assert_eq!(read.next_offset, Offset(2));
}

#[test]
fn a_failed_fsync_fences_the_log_until_it_is_reopened() {
    let faults = SimDiskFaults {
        sync_failure_probability: 1.0,
        ..SimDiskFaults::default()
    };
    let disk = SimDisk::with_faults(3, faults);
    let config = LogConfig {
        flush_policy: FlushPolicy::EveryBatch,
        ..LogConfig::default()
    };
    let (mut log, _) = PartitionLog::open(disk.clone(), config.clone(), Now::ZERO).unwrap();
    log.append(Now::ZERO, batch(1, 10, 0)).unwrap();
    let Some(LogOutput::Sync(request)) = log.poll_output() else {
        panic!("expected a sync request");
    };
    assert!(log.perform_sync(Now::ZERO, &request).is_err());
    assert!(log.is_fenced());
    assert_eq!(log.durable_offset(), Offset(0));
    assert!(matches!(
        log.append(Now::ZERO, batch(1, 10, 0)),
        Err(LogError::Fenced { .. })
    ));
    drop(log);
    disk.set_faults(SimDiskFaults::default());
    disk.crash();
    let (mut log, _) = PartitionLog::open(disk.clone(), config, Now::ZERO).unwrap();
    assert!(!log.is_fenced());
    assert_eq!(
        log.log_end_offset(),
        Offset(0),
        "unsynced data is gone after fsyncgate"
    );
    assert!(log.append(Now::ZERO, batch(1, 10, 0)).is_ok());
}

#[test]
fn corruption_in_a_sealed_segment_is_reported_not_served() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, small_segments(600), Now::ZERO);
    for _ in 0..6 {
        log.append(Now::ZERO, batch(1, 250, 0)).unwrap();
    }
    assert!(log.segment_count() > 1);
    flip_byte(&disk, SEGMENT, 100);
    let result = log.read(Offset(0), 1 << 20);
    assert!(
        matches!(result, Err(LogError::Corruption { ref segment, .. }) if segment == SEGMENT),
        "{result:?}"
    );
    assert!(
        log.read(Offset(1), 1 << 20).is_ok(),
        "the next batch is intact"
    );
}

#[test]
fn mid_log_corruption_in_the_active_segment_is_kept_but_never_served() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    for _ in 0..3 {
        log.append(Now::ZERO, batch(1, 100, 0)).unwrap();
    }
    sync_all(&mut log, Now::ZERO);
    drop(log);
    flip_byte(&disk, SEGMENT, 200);
    let (mut log, report) =
        PartitionLog::open(disk.clone(), LogConfig::default(), Now::ZERO).unwrap();
    assert_eq!(report.corrupt.len(), 1, "{report:?}");
    assert_eq!(
        log.log_end_offset(),
        Offset(3),
        "durable batches after the damage kept"
    );
    assert!(log.read(Offset(0), 1).is_ok());
    assert!(matches!(
        log.read(Offset(1), 1),
        Err(LogError::Corruption { .. })
    ));
    assert!(log.read(Offset(2), 1).is_ok());
}

#[test]
fn a_corrupt_tail_is_cut_at_recovery() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    for _ in 0..3 {
        log.append(Now::ZERO, batch(1, 100, 0)).unwrap();
    }
    drop(log);
    let len = disk.files()[SEGMENT].len() as u64;
    flip_byte(&disk, SEGMENT, len - 3);
    let (log, report) = PartitionLog::open(disk.clone(), LogConfig::default(), Now::ZERO).unwrap();
    assert_eq!(log.log_end_offset(), Offset(2));
    assert!(report.truncated.is_some());
}

#[test]
fn garbage_files_and_orphan_indexes_do_not_break_opening() {
    let mut disk = SimDisk::new(1);
    disk.create("00000000000000000042.index").unwrap();
    disk.append("00000000000000000042.index", b"junk").unwrap();
    disk.create("notes.txt").unwrap();
    let (log, report) = PartitionLog::open(disk.clone(), LogConfig::default(), Now::ZERO).unwrap();
    assert_eq!(
        report.removed_orphans,
        vec!["00000000000000000042.index".to_string()]
    );
    assert_eq!(log.log_end_offset(), Offset(0));
    assert!(disk.files().contains_key("notes.txt"));
}

#[test]
fn truncation_outside_the_log_is_a_typed_error() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    log.append(Now::ZERO, batch(2, 10, 0)).unwrap();
    assert!(matches!(
        log.truncate_to(Now::ZERO, Offset(3)),
        Err(LogError::TruncateOutOfRange { .. })
    ));
}

/// Flips one bit of a stored byte, as bit rot would (rewrites the file through the trait).
fn flip_byte(disk: &SimDisk, name: &str, position: u64) {
    let mut storage = disk.clone();
    let mut bytes = disk.files()[name].clone();
    bytes[position as usize] ^= 0x10;
    storage.truncate(name, 0).unwrap();
    storage.append(name, &bytes).unwrap();
    storage.sync(name).unwrap();
}

/// Regression (found by `log_never_serves_corrupt_data_under_corruption_faults`): a flipped
/// bit in the base offset of the batch after a damaged one made recovery accept it as "valid
/// data after corruption", and the log end jumped by 2^60 offsets.
#[test]
fn a_corrupt_base_offset_after_damage_cannot_open_an_offset_gap() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, LogConfig::default(), Now::ZERO);
    let sizes: Vec<u64> = (0..3)
        .map(|_| {
            log.append(Now::ZERO, batch(1, 100, 0)).unwrap();
            log.size_bytes()
        })
        .collect();
    drop(log);
    flip_byte(&disk, SEGMENT, sizes[0] + 100);
    flip_byte(&disk, SEGMENT, sizes[1]);
    let (log, report) = PartitionLog::open(disk.clone(), LogConfig::default(), Now::ZERO).unwrap();
    assert_eq!(log.log_end_offset(), Offset(1), "{report:?}");
    assert!(report.truncated.is_some());
}

/// Regression (found by the same test): a bit flip in a served batch's base offset, which
/// the CRC does not cover, was served because the first batch was only checked to contain
/// the requested offset.
#[test]
fn a_batch_whose_base_offset_was_flipped_is_not_served() {
    let disk = SimDisk::new(1);
    let every_batch_indexed = LogConfig {
        index_interval_bytes: 1,
        ..LogConfig::default()
    };
    let mut log = open(&disk, every_batch_indexed, Now::ZERO);
    log.append(Now::ZERO, batch(3, 100, 0)).unwrap();
    log.append(Now::ZERO, batch(1, 100, 0)).unwrap();
    flip_byte(&disk, SEGMENT, 7);
    assert!(matches!(
        log.read(Offset(1), 1),
        Err(LogError::Corruption { .. })
    ));
    assert!(log.read(Offset(3), 1).is_ok());
}
