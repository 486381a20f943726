//! Seeds that once failed, each with a one-line postmortem. They must pass forever.

use odradek_sim::{options_from_seed, run, FaultSelection};

/// These seeds failed in the single-broker world; they replay in it.
fn assert_passes(seed: u64, operations_max: u64) {
    let mut options = options_from_seed(seed, &FaultSelection::default());
    options.set_brokers(1);
    options.operations_max = operations_max;
    let result = run(&options);
    assert!(
        result.passed(),
        "seed {seed}: {}",
        result.failure.map(|f| f.to_string()).unwrap_or_default()
    );
}

/// Postmortem: a restart during a full disk failed to write the broker-registration record
/// and the world called it a recovery bug; a broker that cannot start on a full disk is
/// retried (as an operator would) until the disk has room.
#[test]
fn seed_9_restart_on_a_full_disk_is_retried() {
    assert_passes(9, 2_000);
}

/// Postmortem: as seed 9, the second seed that showed it.
#[test]
fn seed_18_restart_on_a_full_disk_is_retried() {
    assert_passes(18, 2_000);
}

/// Postmortem: an injected fsync error on the metadata log during a restart made the
/// restart fail; the failed process dies (fsyncgate drops its dirty pages) and is retried.
#[test]
fn seed_15_restart_with_a_failing_fsync_is_retried() {
    assert_passes(15, 5_000);
}
