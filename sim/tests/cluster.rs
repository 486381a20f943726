//! The multi-broker world: brokers replicating through the controller quorum, under the
//! simulator's faults. Every run must pass its invariants, converge (every partition led,
//! every ISR full) and keep every acknowledged write readable.

use odradek_jepsen::history::jsonl;
use odradek_sim::{options_from_seed, run, FaultKind, FaultSelection, Options};

fn cluster_options(seed: u64, brokers: usize, faults: &[FaultKind]) -> Options {
    let selection = FaultSelection {
        pinned: faults.iter().copied().collect(),
        only: true,
        ..FaultSelection::default()
    };
    let mut options = options_from_seed(seed, &selection);
    options.set_brokers(brokers);
    options
}

/// Runs `options`, asserts it passed with some operation succeeding, and returns its fault
/// counters.
fn assert_passes(options: &Options) -> std::collections::BTreeMap<String, u64> {
    let result = run(options);
    assert!(
        result.failure.is_none(),
        "seed {} with {} brokers failed: {}",
        options.seed,
        options.nodes,
        result.failure.map(|f| f.to_string()).unwrap_or_default()
    );
    assert!(
        result.summary.ok > 0,
        "seed {}: some operation succeeded",
        options.seed
    );
    result.summary.faults
}

#[test]
fn three_brokers_without_faults_replicate_and_every_acknowledged_write_is_read() {
    for seed in 0..3 {
        assert_passes(&cluster_options(seed, 3, &[]));
    }
}

#[test]
fn five_brokers_without_faults_pass_too() {
    assert_passes(&cluster_options(11, 5, &[]));
}

#[test]
fn broker_and_controller_crashes_are_survived() {
    for seed in 0..6 {
        let mut options = cluster_options(seed, 3, &[FaultKind::Crash]);
        options.intensity = 1.0;
        let result = run(&options);
        assert!(
            result.failure.is_none(),
            "seed {seed}: {:?}",
            result.failure
        );
        assert!(
            result.summary.faults.get("crash").copied().unwrap_or(0)
                + result
                    .summary
                    .faults
                    .get("controller-crash")
                    .copied()
                    .unwrap_or(0)
                > 0
        );
    }
}

#[test]
fn partitions_and_message_loss_are_survived() {
    for seed in 0..6 {
        let faults = [
            FaultKind::Partition,
            FaultKind::NetworkDrop,
            FaultKind::NetworkDuplicate,
        ];
        let mut options = cluster_options(seed, 3, &faults);
        options.intensity = 1.0;
        assert_passes(&options);
    }
}

#[test]
fn a_cluster_run_replays_byte_for_byte() {
    let mut options = cluster_options(7, 3, &[FaultKind::Crash, FaultKind::Partition]);
    options.trace = true;
    let first = run(&options);
    let second = run(&options);
    assert!(first.trace.iter().any(|line| line.contains("controller")));
    assert_eq!(first.trace, second.trace);
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(
        jsonl::to_string(&first.history),
        jsonl::to_string(&second.history)
    );
}

#[test]
fn partitions_moved_onto_other_brokers_complete_and_lose_no_acknowledged_write() {
    let mut completed = 0;
    for seed in 0..4 {
        let options = cluster_options(seed, 5, &[FaultKind::MovePartition, FaultKind::Crash]);
        let faults = assert_passes(&options);
        let count = |name: &str| faults.get(name).copied().unwrap_or(0);
        assert_eq!(count("move-partition-still-moving"), 0, "seed {seed}");
        completed += count("move-partition-completed");
    }
    assert!(completed > 0, "no move completed in 4 seeds");
}

#[test]
fn brokers_stopped_by_controlled_shutdown_hand_over_leadership_and_lose_no_acknowledged_write() {
    let mut done = 0;
    for seed in 0..4 {
        let faults = [FaultKind::ControlledShutdown, FaultKind::Crash];
        let counts = assert_passes(&cluster_options(seed, 3, &faults));
        done += counts.get("controlled-shutdown-done").copied().unwrap_or(0);
    }
    assert!(done > 0, "no controlled shutdown finished in 4 seeds");
}
