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

/// These seeds failed in the multi-broker world (the seed's own draw of brokers); they
/// replay in it.
fn assert_cluster_passes(seed: u64) {
    let options = options_from_seed(seed, &FaultSelection::default());
    let result = run(&options);
    assert!(
        result.passed(),
        "seed {seed}: {}",
        result.failure.map(|f| f.to_string()).unwrap_or_default()
    );
}

/// Postmortem: a failed fsync of a follower's leader-epoch checkpoint left a new epoch in
/// memory only; the batches of that epoch were appended anyway, a crash lost the epoch, and
/// the broker then led with a cache that sent its followers into an endless truncate and
/// refetch loop: the ISR never grew back. The checkpoint is now written again (in a fresh
/// temporary file) before the next append.
#[test]
fn seed_2047_a_failed_epoch_checkpoint_sync_is_retried_before_appending() {
    assert_cluster_passes(2047);
}

/// Postmortem: a broker with three controller requests in flight (Register, FetchMetadata,
/// a forwarded CreateTopics) moved its guess of the active controller once per
/// NotController answer, so with three controllers it came back to the same wrong one every
/// round and never registered; the partition whose last ISR member it was stayed
/// leaderless. Only a NotController from the guessed controller moves the guess now.
#[test]
fn seed_2503_a_broker_finds_the_active_controller_with_several_requests_in_flight() {
    assert_cluster_passes(2503);
}
