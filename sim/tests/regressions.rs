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
/// replay in it, with the `min.insync.replicas` 2 every run had before it was drawn and
/// without partition moves or controlled shutdowns (drawn after them too).
fn assert_cluster_passes(seed: u64) {
    let mut options = options_from_seed(seed, &FaultSelection::default());
    options.min_insync_replicas = 2;
    options
        .faults
        .remove(&odradek_sim::FaultKind::MovePartition);
    without_controlled_shutdowns(&mut options);
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

/// Postmortem: after the liveness phase restarted every controller, a restarted controller
/// (commit index back at 0) answered a broker's metadata fetch with no records; the broker
/// took that for "caught up" with an empty image and deleted every partition directory.
/// Only the active controller answers metadata fetches now.
#[test]
fn seed_1_without_faults_a_broker_never_deletes_logs_on_a_short_metadata_answer() {
    let selection = FaultSelection {
        only: true,
        ..FaultSelection::default()
    };
    let mut options = options_from_seed(1, &selection);
    options.set_brokers(3);
    let result = run(&options);
    assert!(result.passed(), "{:?}", result.failure);
}

/// Postmortem: a leader whose ISR shrank to itself through a *new leader epoch* (not an
/// AlterPartition) still completed a waiting acks=all produce once its own log passed it;
/// completion now also needs the ISR to hold min.insync.replicas members (Kafka's
/// checkEnoughReplicasReachOffset), else NOT_ENOUGH_REPLICAS_AFTER_APPEND.
#[test]
fn seed_7_acks_all_completes_only_with_min_insync_replicas_in_the_isr() {
    assert_cluster_passes(7);
}

/// Postmortem: a broker restarted after a power loss led again in its old leader epoch with
/// a log that had lost its unsynced tail, and appended new records at offsets its followers
/// held other records at in the same epoch: records a consumer had read were replaced. A
/// broker now leads only once the image holds its current registration, unfenced.
#[test]
fn seed_78_a_restarted_broker_never_leads_in_its_previous_runs_epoch() {
    assert_cluster_passes(78);
}

/// Postmortem: a leader paused while its follower's connection was reset answered the
/// follower's fetch on resume; the world no longer knew the stream as a broker-to-broker
/// one and checked the follower fetch as a consumer's (beyond the durable offset). The
/// world now remembers every broker-to-broker stream.
#[test]
fn seed_556_a_follower_fetch_answered_after_a_reset_is_not_a_consumer_fetch() {
    assert_cluster_passes(556);
}

/// Postmortem: a NotController answer hid an AlterPartition (ISR expansion) that the next
/// controller committed anyway; the leader had dropped the pending expansion, advanced its
/// high watermark without that member, then applied the committed ISR and broke its own
/// invariant. A refused expansion now stays pending until newer controller state arrives.
/// Seed 2758: the end of the safety phase restarted broker 0 (an ISR member holding the
/// acks-all records durably) before it resumed the paused leader, whose held acknowledgment
/// then met a broker that had not reopened the partition yet and counted it as holding
/// nothing. The replication check now counts what a restarted broker's disk kept.
#[test]
fn seed_2758_a_restarted_isr_member_still_holds_what_it_synced_before_reopening() {
    assert_cluster_passes(2758);
}

#[test]
fn seed_2818_a_refused_isr_expansion_keeps_counting_until_the_controller_answers() {
    assert_cluster_passes(2818);
}

/// Postmortem (found when `min.insync.replicas` began to be drawn per seed; this seed draws
/// 3): a follower restarted twice in quick succession reopened its log, which counts only
/// sealed segments durable until its recovery sync completes; the leader rightly counted the
/// follower's fetch position from before the crash, and the replication check saw the
/// follower holding nothing durably although its disk still held what it had synced. A
/// reopened log now counts, in the check, what its disk kept at the last crash.
#[test]
fn seed_1108_a_reopened_follower_still_holds_what_it_synced_before_the_crash() {
    let mut options = options_from_seed(1108, &FaultSelection::default());
    assert_eq!(options.min_insync_replicas, 3);
    without_controlled_shutdowns(&mut options);
    let result = run(&options);
    assert!(result.passed(), "{:?}", result.failure);
}

/// Postmortem (the first 10,000-seed sweep with partition moves): a move added brokers 2
/// and 0 to a partition, crashes shrank its ISR to broker 2 alone, and a second move whose
/// target left broker 2 out replaced the first: the ISR became empty and the partition never
/// had a leader again (liveness). The controller now refuses a replacement that drops every
/// in-sync replica.
#[test]
fn seed_6500_a_move_may_not_drop_every_in_sync_replica() {
    let mut options = options_from_seed(6500, &FaultSelection::default());
    assert!(options.has(odradek_sim::FaultKind::MovePartition));
    without_controlled_shutdowns(&mut options);
    let result = run(&options);
    assert!(result.passed(), "{:?}", result.failure);
}

/// Replays a seed as it failed: controlled shutdowns were added (drawn last) after it.
fn without_controlled_shutdowns(options: &mut odradek_sim::Options) {
    options
        .faults
        .remove(&odradek_sim::FaultKind::ControlledShutdown);
}
