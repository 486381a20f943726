//! One test group per fault knob, plus latency.

use odradek_core::storage::{Storage, StorageError};

use super::{content, create_with, pattern};
use crate::disk::{
    DiskLatency, DiskOperation, FaultKind, LatencyDistribution, SimDisk, SimDiskFaults,
    SECTOR_BYTES,
};

fn disk_with(seed: u64, faults: SimDiskFaults) -> SimDisk {
    SimDisk::with_faults(seed, faults)
}

/// The positions and bits where `a` and `b` (same length) differ.
fn flipped_bits(a: &[u8], b: &[u8]) -> Vec<(usize, u32)> {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .enumerate()
        .flat_map(|(i, (x, y))| {
            let diff = x ^ y;
            (0..8)
                .filter(move |bit| diff & (1 << bit) != 0)
                .map(move |bit| (i, bit))
        })
        .collect()
}

#[test]
fn all_faults_are_off_by_default() {
    let mut disk = SimDisk::new(11);
    for round in 0..50u8 {
        let name = format!("f{round}");
        create_with(&mut disk, &name, &pattern(round, 3000));
        assert_eq!(disk.read_at(&name, 0, 3000).unwrap(), pattern(round, 3000));
        disk.sync(&name).unwrap();
    }
    assert!(disk.fault_log().is_empty());
    assert_eq!(SimDisk::new(0).faults(), SimDiskFaults::default());
}

#[test]
fn read_corruption_flips_one_bit_of_the_returned_bytes_only() {
    let faults = SimDiskFaults {
        read_corruption_probability: 1.0,
        ..SimDiskFaults::default()
    };
    let mut disk = disk_with(3, faults);
    let data = pattern(1, 1000);
    create_with(&mut disk, "a", &data);
    let read = disk.read_at("a", 200, 500).unwrap();
    let flips = flipped_bits(&read, &data[200..700]);
    assert_eq!(flips.len(), 1);
    let (index, bit) = flips[0];
    assert_eq!(content(&disk, "a"), data, "stored bytes must stay intact");
    let position = 200 + index as u64;
    let log = disk.fault_log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].kind,
        FaultKind::ReadCorruption {
            position,
            bit: bit as u8
        }
    );
    assert!(disk.is_corruption_injected("a", position..position + 1));
    assert!(!disk.is_corruption_injected("a", 0..position));
    assert!(!disk.is_corruption_injected("a", position + 1..1000));
}

#[test]
fn an_empty_read_is_never_corrupted() {
    let faults = SimDiskFaults {
        read_corruption_probability: 1.0,
        ..SimDiskFaults::default()
    };
    let mut disk = disk_with(3, faults);
    create_with(&mut disk, "a", b"abc");
    assert!(disk.read_at("a", 3, 10).unwrap().is_empty());
    assert!(disk.fault_log().is_empty());
}

#[test]
fn write_corruption_stores_one_flipped_bit_inside_the_appended_range() {
    let faults = SimDiskFaults {
        write_corruption_probability: 1.0,
        ..SimDiskFaults::default()
    };
    let mut disk = disk_with(4, faults);
    disk.create("a").unwrap();
    let data = pattern(2, 800);
    assert_eq!(disk.append("a", &data[..300]).unwrap(), 0);
    assert_eq!(disk.append("a", &data[300..]).unwrap(), 300);
    let stored = content(&disk, "a");
    let flips = flipped_bits(&stored, &data);
    assert_eq!(flips.len(), 2);
    assert!(flips[0].0 < 300 && flips[1].0 >= 300, "{flips:?}");
    assert_eq!(
        disk.read_at("a", 0, 800).unwrap(),
        stored,
        "damage is stable"
    );
    let logged: Vec<FaultKind> = disk.fault_log().into_iter().map(|f| f.kind).collect();
    let expected: Vec<FaultKind> = flips
        .iter()
        .map(|&(i, bit)| FaultKind::WriteCorruption {
            position: i as u64,
            bit: bit as u8,
        })
        .collect();
    assert_eq!(logged, expected);
    disk.sync("a").unwrap();
    assert_eq!(disk.durable_files()["a"], stored);
}

#[test]
fn a_misdirected_append_leaves_zeros_and_lands_at_another_aligned_position() {
    for seed in 0..40 {
        let mut disk = SimDisk::new(seed);
        let synced = pattern(5, 1100);
        create_with(&mut disk, "a", &synced);
        disk.sync("a").unwrap();
        disk.set_faults(SimDiskFaults {
            misdirected_write_probability: 1.0,
            ..SimDiskFaults::default()
        });
        let data = pattern(6, 300);
        assert_eq!(disk.append("a", &data).unwrap(), 1100);
        let log = disk.fault_log();
        assert_eq!(log.len(), 1, "seed {seed}");
        let FaultKind::MisdirectedWrite {
            intended,
            landed,
            len,
        } = log[0].kind
        else {
            panic!("seed {seed}: {:?}", log[0]);
        };
        assert_eq!((intended, len), (1100, 300));
        assert!(
            landed == 0 || landed == 512 || landed == 1024,
            "seed {seed}: {landed}"
        );
        let stored = content(&disk, "a");
        let landed = landed as usize;
        let mut expected = synced.clone();
        expected.resize(1400, 0);
        expected[landed..landed + 300].copy_from_slice(&data);
        assert_eq!(stored, expected, "seed {seed}");
        // Landing in synced data damages it durably (it was the disk's fault, not pending).
        assert_eq!(disk.durable_files()["a"], expected[..1100]);
        assert!(disk.is_corruption_injected("a", 1100..1101));
        assert!(disk.is_corruption_injected("a", landed as u64..landed as u64 + 1));
    }
}

#[test]
fn an_append_is_not_misdirected_when_no_other_aligned_position_exists() {
    let faults = SimDiskFaults {
        misdirected_write_probability: 1.0,
        ..SimDiskFaults::default()
    };
    let mut disk = disk_with(1, faults);
    create_with(&mut disk, "a", &pattern(1, SECTOR_BYTES));
    assert_eq!(content(&disk, "a"), pattern(1, SECTOR_BYTES));
    assert!(disk.fault_log().is_empty());
}

#[test]
fn an_append_past_capacity_writes_a_prefix_and_fails_with_no_space() {
    let mut prefixes = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let faults = SimDiskFaults {
            capacity_bytes: Some(1000),
            ..SimDiskFaults::default()
        };
        let mut disk = disk_with(seed, faults);
        let data = pattern(7, 600);
        create_with(&mut disk, "a", &data);
        disk.create("b").unwrap();
        let error = disk.append("b", &data).unwrap_err();
        assert_eq!(
            error,
            StorageError::NoSpace {
                name: "b".to_owned()
            }
        );
        let written = disk.len("b").unwrap();
        assert!(written <= 400, "seed {seed}: {written}");
        assert_eq!(content(&disk, "b"), data[..written as usize]);
        let expected = FaultKind::NoSpace {
            position: 0,
            requested: 600,
            written,
        };
        assert_eq!(disk.fault_log()[0].kind, expected);
        prefixes.insert(written);
        disk.truncate("b", 0).unwrap();
        disk.remove("a").unwrap();
        assert_eq!(disk.append("b", &data).unwrap(), 0, "freed space is usable");
    }
    assert!(
        prefixes.len() > 1,
        "the written prefix is drawn from the seed"
    );
}

#[test]
fn a_failed_sync_is_sticky_and_its_pending_data_is_lost_at_the_next_crash() {
    let mut disk = SimDisk::new(8);
    let data = pattern(8, 3000);
    create_with(&mut disk, "a", &data[..1000]);
    disk.sync("a").unwrap();
    disk.append("a", &data[1000..]).unwrap();
    disk.set_faults(SimDiskFaults {
        sync_failure_probability: 1.0,
        ..SimDiskFaults::default()
    });
    assert!(matches!(
        disk.sync("a"),
        Err(StorageError::SyncFailed { .. })
    ));
    assert_eq!(
        disk.read_at("a", 0, 3000).unwrap(),
        data,
        "reads still see the data"
    );
    disk.set_faults(SimDiskFaults::default());
    assert!(matches!(
        disk.sync("a"),
        Err(StorageError::SyncFailed { .. })
    ));
    assert!(disk.has_failed_sync("a"));
    disk.rename("a", "b").unwrap();
    assert!(matches!(
        disk.sync("b"),
        Err(StorageError::SyncFailed { .. })
    ));
    let expected = FaultKind::SyncFailure {
        durable_len: 1000,
        len: 3000,
    };
    assert_eq!(disk.fault_log()[0].kind, expected);
    assert_eq!(
        disk.fault_log().len(),
        1,
        "the sticky repeats are not new faults"
    );
    disk.crash();
    assert_eq!(content(&disk, "b"), data[..1000]);
    assert!(!disk.has_failed_sync("b"));
    disk.sync("b").unwrap();
}

#[test]
fn a_sync_failure_on_one_file_leaves_other_files_syncable() {
    let mut disk = SimDisk::with_faults(
        9,
        SimDiskFaults {
            sync_failure_probability: 1.0,
            ..SimDiskFaults::default()
        },
    );
    create_with(&mut disk, "a", b"a");
    create_with(&mut disk, "b", b"b");
    assert!(disk.sync("a").is_err());
    disk.set_faults(SimDiskFaults::default());
    disk.sync("b").unwrap();
}

#[test]
fn probabilities_out_of_range_are_clamped_instead_of_panicking() {
    let faults = SimDiskFaults {
        read_corruption_probability: f64::NAN,
        write_corruption_probability: -1.0,
        sync_failure_probability: 7.0,
        ..SimDiskFaults::default()
    };
    let mut disk = disk_with(2, faults);
    create_with(&mut disk, "a", b"abc");
    assert_eq!(disk.read_at("a", 0, 3).unwrap(), b"abc");
    assert_eq!(content(&disk, "a"), b"abc");
    assert!(disk.sync("a").is_err());
}

fn latency_disk(distribution: LatencyDistribution) -> SimDisk {
    SimDisk::with_faults(
        1,
        SimDiskFaults {
            latency: DiskLatency {
                sync: distribution,
                ..DiskLatency::default()
            },
            ..SimDiskFaults::default()
        },
    )
}

#[test]
fn latency_is_drawn_from_the_distribution_of_the_operation() {
    let disk = latency_disk(LatencyDistribution::Constant { ns: 5_000 });
    assert_eq!(disk.draw_latency_ns(DiskOperation::Sync), 5_000);
    assert_eq!(disk.draw_latency_ns(DiskOperation::Read), 0);
    let disk = latency_disk(LatencyDistribution::Uniform {
        min_ns: 10,
        max_ns: 20,
    });
    let draws: Vec<u64> = (0..200)
        .map(|_| disk.draw_latency_ns(DiskOperation::Sync))
        .collect();
    assert!(draws.iter().all(|ns| (10..=20).contains(ns)));
    assert_eq!(
        (draws.iter().min(), draws.iter().max()),
        (Some(&10), Some(&20))
    );
}

#[test]
fn a_latency_tail_produces_rare_stalls_within_bounds() {
    let disk = latency_disk(LatencyDistribution::WithTail {
        min_ns: 100,
        max_ns: 200,
        tail_probability: 0.1,
        tail_max_ns: 1_000_000,
    });
    let draws: Vec<u64> = (0..1000)
        .map(|_| disk.draw_latency_ns(DiskOperation::Sync))
        .collect();
    let stalls = draws.iter().filter(|&&ns| ns > 200).count();
    assert!(draws.iter().all(|ns| (100..=1_000_000).contains(ns)));
    assert!((30..300).contains(&stalls), "{stalls} stalls");
}

#[test]
fn drawing_latencies_does_not_change_which_faults_are_injected() {
    let faults = SimDiskFaults {
        write_corruption_probability: 0.5,
        latency: DiskLatency {
            write: LatencyDistribution::Uniform {
                min_ns: 0,
                max_ns: 100,
            },
            ..DiskLatency::default()
        },
        ..SimDiskFaults::default()
    };
    let mut quiet = disk_with(6, faults.clone());
    let mut drawing = disk_with(6, faults);
    for disk in [&mut quiet, &mut drawing] {
        disk.create("a").unwrap();
    }
    for round in 0..20u8 {
        quiet.append("a", &pattern(round, 100)).unwrap();
        drawing.draw_latency_ns(DiskOperation::Write);
        drawing.append("a", &pattern(round, 100)).unwrap();
    }
    assert!(!quiet.fault_log().is_empty());
    assert_eq!(quiet.fault_log(), drawing.fault_log());
    assert_eq!(quiet.files(), drawing.files());
}

#[test]
fn corruption_is_tracked_across_renames_but_not_onto_a_new_file_with_the_old_name() {
    let faults = SimDiskFaults {
        write_corruption_probability: 1.0,
        ..SimDiskFaults::default()
    };
    let mut disk = disk_with(1, faults);
    create_with(&mut disk, "a.tmp", &[0; 10]);
    disk.rename("a.tmp", "a").unwrap();
    assert!(disk.is_corruption_injected("a", 0..10));
    disk.set_faults(SimDiskFaults::default());
    create_with(&mut disk, "a.tmp", &[0; 10]);
    assert!(!disk.is_corruption_injected("a.tmp", 0..10));
    assert!(!disk.is_corruption_injected("missing", 0..10));
}
