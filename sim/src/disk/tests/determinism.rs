//! Same seed and same operations give identical contents and fault log; seeds matter.

use odradek_core::storage::Storage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::pattern;
use crate::disk::{DiskOperation, SimDisk, SimDiskFaults};

fn every_fault() -> SimDiskFaults {
    SimDiskFaults {
        read_corruption_probability: 0.2,
        write_corruption_probability: 0.2,
        misdirected_write_probability: 0.1,
        sync_failure_probability: 0.05,
        capacity_bytes: Some(64 * 1024),
        ..SimDiskFaults::default()
    }
}

/// Runs a fixed workload (from `workload_seed`, independent of the disk's seed) with crashes,
/// ignoring operation errors, and returns everything observable.
fn run(disk_seed: u64, workload_seed: u64) -> (SimDisk, Vec<String>) {
    let mut disk = SimDisk::with_faults(disk_seed, every_fault());
    let mut workload = ChaCha8Rng::seed_from_u64(workload_seed);
    let mut results = Vec::new();
    for step in 0..400u32 {
        let name = format!("f{}", workload.random_range(0..4u8));
        let result = match workload.random_range(0..10u8) {
            0 => format!("{:?}", disk.create(&name)),
            1..=4 => {
                let len = workload.random_range(0..2000);
                format!("{:?}", disk.append(&name, &pattern(step as u8, len)))
            }
            5 => format!(
                "{:?}",
                disk.read_at(&name, workload.random_range(0..4000), 700)
            ),
            6 => format!("{:?}", disk.sync(&name)),
            7 => format!("{:?}", disk.truncate(&name, workload.random_range(0..3000))),
            8 => format!("{:?}", disk.draw_latency_ns(DiskOperation::Write)),
            _ => {
                disk.crash();
                "crash".to_owned()
            }
        };
        results.push(result);
    }
    (disk, results)
}

#[test]
fn the_same_seed_and_operations_give_identical_contents_and_fault_logs() {
    for seed in 0..10 {
        let (first, first_results) = run(seed, 99);
        let (second, second_results) = run(seed, 99);
        assert_eq!(first.files(), second.files(), "seed {seed}");
        assert_eq!(first.durable_files(), second.durable_files(), "seed {seed}");
        assert_eq!(first.fault_log(), second.fault_log(), "seed {seed}");
        assert_eq!(first_results, second_results, "seed {seed}");
        assert!(
            !first.fault_log().is_empty(),
            "seed {seed}: the workload hits faults"
        );
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let runs: std::collections::BTreeSet<String> = (0..5)
        .map(|seed| {
            let (disk, _) = run(seed, 99);
            format!("{:?}{:?}", disk.files(), disk.fault_log())
        })
        .collect();
    assert_eq!(runs.len(), 5);
}
