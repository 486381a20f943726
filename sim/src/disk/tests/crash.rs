//! Crash semantics: synced data survives byte for byte; pending data is lost, kept, or torn
//! at a 512-byte boundary; nothing that was never written appears.

use std::collections::BTreeSet;

use odradek_core::storage::Storage;

use super::{content, create_with, pattern};
use crate::disk::{FaultKind, SimDisk, SECTOR_BYTES};

const SEEDS: u64 = 300;

/// How a crash treated a file's pending appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Lost,
    Torn,
    Kept,
}

/// Syncs `synced` bytes, appends `pending` more in two writes, crashes, and classifies what
/// survived, asserting that it is one of the outcomes the contract allows.
fn crash_with_pending(seed: u64, synced: usize, pending: usize) -> Outcome {
    let mut disk = SimDisk::new(seed);
    let written = pattern(seed as u8, synced + pending);
    create_with(&mut disk, "segment", &written[..synced]);
    disk.sync("segment").unwrap();
    let middle = synced + pending / 2;
    disk.append("segment", &written[synced..middle]).unwrap();
    disk.append("segment", &written[middle..]).unwrap();
    disk.crash();
    let survived = content(&disk, "segment");
    assert!(survived.len() >= synced, "seed {seed}: synced bytes lost");
    assert_eq!(
        survived,
        written[..survived.len()],
        "seed {seed}: not a prefix"
    );
    match survived.len() {
        len if len == synced => Outcome::Lost,
        len if len == written.len() => Outcome::Kept,
        len => {
            assert_eq!(
                len % SECTOR_BYTES,
                0,
                "seed {seed}: torn off a sector boundary"
            );
            Outcome::Torn
        }
    }
}

#[test]
fn synced_data_survives_and_pending_appends_are_lost_kept_or_torn_at_a_sector() {
    let outcomes: BTreeSet<Outcome> = (0..SEEDS)
        .map(|seed| crash_with_pending(seed, 700, 3000))
        .collect();
    let all = [Outcome::Lost, Outcome::Torn, Outcome::Kept];
    assert_eq!(outcomes, all.into_iter().collect());
}

#[test]
fn a_pending_append_inside_one_sector_is_lost_or_kept_whole() {
    for seed in 0..SEEDS {
        let outcome = crash_with_pending(seed, 600, 300);
        assert_ne!(outcome, Outcome::Torn, "seed {seed}");
    }
}

#[test]
fn a_crash_with_nothing_pending_changes_nothing_and_logs_nothing() {
    for seed in 0..50 {
        let mut disk = SimDisk::new(seed);
        create_with(&mut disk, "a", &pattern(1, 5000));
        disk.sync("a").unwrap();
        disk.create("empty").unwrap();
        let before = disk.files();
        disk.crash();
        assert_eq!(disk.files(), before);
        assert!(disk.fault_log().is_empty());
    }
}

#[test]
fn a_pending_truncate_may_or_may_not_survive_a_crash() {
    let mut truncated = 0;
    let mut undone = 0;
    for seed in 0..SEEDS {
        let mut disk = SimDisk::new(seed);
        let original = pattern(9, 2000);
        create_with(&mut disk, "a", &original);
        disk.sync("a").unwrap();
        disk.truncate("a", 100).unwrap();
        disk.append("a", &[0xEE; 1000]).unwrap();
        let after_truncate = content(&disk, "a");
        disk.crash();
        let survived = content(&disk, "a");
        if survived == original {
            undone += 1;
        } else {
            assert!(survived.len() >= 100, "seed {seed}");
            assert_eq!(survived, after_truncate[..survived.len()], "seed {seed}");
            truncated += 1;
        }
    }
    assert!(
        truncated > 0 && undone > 0,
        "{truncated} truncated, {undone} undone"
    );
}

#[test]
fn created_renamed_and_removed_files_are_durable_without_sync() {
    let mut disk = SimDisk::new(5);
    disk.create("kept").unwrap();
    create_with(&mut disk, "gone", b"x");
    disk.remove("gone").unwrap();
    create_with(&mut disk, "old", b"y");
    disk.sync("old").unwrap();
    disk.rename("old", "new").unwrap();
    disk.crash();
    assert_eq!(
        disk.list().unwrap(),
        vec!["kept".to_owned(), "new".to_owned()]
    );
    assert_eq!(content(&disk, "new"), b"y");
}

#[test]
fn the_disk_is_usable_after_a_crash_and_appends_continue_at_the_surviving_end() {
    for seed in 0..50 {
        let mut disk = SimDisk::new(seed);
        create_with(&mut disk, "a", &pattern(2, 1500));
        disk.crash();
        let len = disk.len("a").unwrap();
        assert_eq!(disk.append("a", b"after").unwrap(), len);
        disk.sync("a").unwrap();
        disk.crash();
        assert_eq!(disk.len("a").unwrap(), len + 5);
        assert_eq!(disk.used_bytes(), len + 5);
    }
}

#[test]
fn every_crash_that_drops_pending_data_is_logged_with_the_lengths() {
    for seed in 0..100 {
        let mut disk = SimDisk::new(seed);
        create_with(&mut disk, "a", &pattern(4, 3000));
        disk.crash();
        let len_after = disk.len("a").unwrap();
        let log = disk.fault_log();
        if len_after == 3000 {
            assert!(log.is_empty(), "seed {seed}: {log:?}");
            continue;
        }
        assert_eq!(log.len(), 1, "seed {seed}");
        assert_eq!(log[0].file, "a");
        let FaultKind::CrashDroppedPending {
            len_before,
            len_after: logged_after,
            torn,
        } = log[0].kind
        else {
            panic!("seed {seed}: unexpected {:?}", log[0]);
        };
        assert_eq!((len_before, logged_after), (3000, len_after));
        assert_eq!(torn, len_after != 0, "seed {seed}");
    }
}

#[test]
fn a_process_crash_keeps_pending_writes_but_loses_those_of_a_failed_sync() {
    use crate::disk::SimDiskFaults;
    let mut disk = SimDisk::new(21);
    let data = pattern(21, 2000);
    create_with(&mut disk, "kept", &data[..500]);
    disk.sync("kept").unwrap();
    disk.append("kept", &data[500..1000]).unwrap();
    create_with(&mut disk, "failed", &data[..700]);
    disk.sync("failed").unwrap();
    disk.append("failed", &data[700..]).unwrap();
    disk.set_faults(SimDiskFaults {
        sync_failure_probability: 1.0,
        ..SimDiskFaults::default()
    });
    assert!(disk.sync("failed").is_err());
    disk.set_faults(SimDiskFaults::default());
    disk.process_crash();
    assert_eq!(
        content(&disk, "kept"),
        &data[..1000],
        "the page cache survives"
    );
    assert_eq!(
        content(&disk, "failed"),
        &data[..700],
        "fsyncgate: dirty pages dropped"
    );
    assert!(
        !disk.has_failed_sync("failed"),
        "a reopened file syncs again"
    );
    disk.sync("failed").unwrap();
}
