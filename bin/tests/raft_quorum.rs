//! The openraft metadata quorum with three controller nodes in one process on 127.0.0.1:
//! election, replication in one order, refusals on followers, leader failover, catch-up of
//! a restarted node (from the log and from a snapshot), and recovery from disk.

mod raft_support;

use odradek_core::controller::{MetadataLog, MetadataLogError};
use raft_support::{batch, fast_timings, records_of, Cluster};
use std::collections::BTreeSet;

#[tokio::test]
async fn proposals_through_the_leader_commit_in_the_same_order_on_every_node() {
    let mut cluster = Cluster::start(3, fast_timings).await;
    let leader = cluster.wait_for_leader().await;
    let first = cluster
        .node(leader)
        .metadata_log_mut()
        .append(batch(0, 3))
        .unwrap();
    let second = cluster
        .node(leader)
        .metadata_log_mut()
        .append(batch(3, 2))
        .unwrap();
    let third = cluster
        .node(leader)
        .metadata_log_mut()
        .append(batch(5, 1))
        .unwrap();
    assert!(first < second && second < third);

    let expected = [batch(0, 3), batch(3, 2), batch(5, 1)].concat();
    let mut logs = Vec::new();
    for id in 1..=3 {
        let committed = cluster.poll_records(id, 6).await;
        assert_eq!(records_of(&committed), expected, "node {id}");
        assert!(committed.windows(2).all(|w| w[0].offset < w[1].offset));
        assert_eq!(committed[5].offset, third, "the offset append promised");
        assert_eq!(cluster.node(id).metadata_log_mut().poll_committed(), None);
        logs.push(committed);
    }
    assert!(logs.windows(2).all(|w| w[0] == w[1]), "offsets agree");
    let log = cluster.node(1).metadata_log();
    assert_eq!(log.committed_offset(), Some(third));
    assert_eq!(log.read_committed(first, 2), logs[0][2..4].to_vec());
    cluster.stop_all().await;
}

/// The facade never blocks a runtime thread, and every piece is `Send`: the same flow on a
/// multi-threaded runtime, with the controller side on a spawned task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_log_works_from_a_task_on_a_multi_threaded_runtime() {
    let cluster = tokio::spawn(async {
        let mut cluster = Cluster::start(3, fast_timings).await;
        cluster.propose(batch(0, 2)).await;
        cluster.propose(batch(2, 2)).await;
        for id in 1..=3 {
            let committed = cluster.poll_records(id, 4).await;
            assert_eq!(records_of(&committed), batch(0, 4), "node {id}");
        }
        cluster
    });
    let mut cluster = cluster.await.expect("the task completes");
    cluster.stop_all().await;
}

#[tokio::test]
async fn a_follower_refuses_proposals_as_not_leader() {
    let mut cluster = Cluster::start(3, fast_timings).await;
    let leader = cluster.wait_for_leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let log = cluster.node(follower).metadata_log_mut();
    assert_eq!(log.leader_term(), None);
    assert_eq!(log.append(batch(0, 1)), Err(MetadataLogError::NotLeader));
    cluster.stop_all().await;
}

#[tokio::test]
async fn a_new_leader_takes_over_and_a_restarted_node_catches_up() {
    let mut cluster = Cluster::start(3, fast_timings).await;
    cluster.propose(batch(0, 2)).await;
    for id in 1..=3 {
        cluster.poll_records(id, 2).await;
    }
    let old_leader = cluster.wait_for_leader().await;
    let old_term = cluster.node(old_leader).metadata_log().leader_term();
    cluster.stop(old_leader).await;

    let (new_leader, _) = cluster.propose(batch(2, 3)).await;
    assert_ne!(new_leader, old_leader);
    let new_term = cluster.node(new_leader).metadata_log().leader_term();
    assert!(new_term > old_term, "{new_term:?} after {old_term:?}");
    let survivors: BTreeSet<u64> = (1..=3).filter(|id| *id != old_leader).collect();
    for id in &survivors {
        let committed = cluster.poll_records(*id, 3).await;
        assert_eq!(records_of(&committed), batch(2, 3), "node {id}");
    }

    cluster.restart(old_leader).await.expect("restart");
    let recovered = cluster.poll_records(old_leader, 5).await;
    assert_eq!(records_of(&recovered), batch(0, 5));
    let reference = cluster
        .node(new_leader)
        .metadata_log()
        .read_committed(Default::default(), 10);
    assert_eq!(recovered, reference);
    cluster.stop_all().await;
}

#[tokio::test]
async fn every_node_recovers_the_committed_records_after_a_full_restart() {
    let mut cluster = Cluster::start(3, fast_timings).await;
    cluster.propose(batch(0, 4)).await;
    cluster.propose(batch(4, 1)).await;
    let before = cluster.poll_records(1, 5).await;
    for id in 2..=3 {
        assert_eq!(cluster.poll_records(id, 5).await, before);
    }
    cluster.stop_all().await;

    for id in 1..=3 {
        cluster.restart(id).await.expect("restart");
    }
    for id in 1..=3 {
        assert_eq!(cluster.poll_records(id, 5).await, before, "node {id}");
    }
    // The recovered cluster still takes proposals, numbered after the recovered records.
    let (_, offset) = cluster.propose(batch(5, 1)).await;
    assert!(offset > before[4].offset.0);
    let after = cluster.poll_records(2, 1).await;
    assert_eq!(records_of(&after), batch(5, 1));
    cluster.stop_all().await;
}

/// Snapshots after every few entries and keeps no log behind them, so a node that missed
/// entries can only catch up by installing the leader's snapshot.
fn snapshot_often(config: &mut odradek::raft::ControllerQuorumConfig) {
    fast_timings(config);
    config.snapshot_after_entries = 3;
    config.entries_kept_after_snapshot = 0;
    config.purge_batch_entries = 1;
}

#[tokio::test]
async fn a_node_that_missed_purged_entries_catches_up_from_a_snapshot() {
    let mut cluster = Cluster::start(3, snapshot_often).await;
    let leader = cluster.wait_for_leader().await;
    let lagging = (1..=3).find(|id| *id != leader).unwrap();
    cluster.stop(lagging).await;
    for seq in 0..8 {
        cluster.propose(batch(seq, 1)).await;
        cluster.poll_records(leader, 1).await;
    }
    let mut metrics = cluster.node(leader).raft().metrics();
    // The watch guard `wait_for` returns must not outlive this statement: raft's core
    // cannot publish metrics while it is held.
    let purged = tokio::time::timeout(
        raft_support::WAIT_MAX,
        metrics.wait_for(|m| m.purged.is_some()),
    )
    .await
    .map(|seen| seen.is_ok());
    assert_eq!(
        purged,
        Ok(true),
        "the leader purges its log behind a snapshot"
    );

    cluster.restart(lagging).await.expect("restart");
    let recovered = cluster.poll_records(lagging, 8).await;
    assert_eq!(records_of(&recovered), batch(0, 8));
    let reference = cluster
        .node(leader)
        .metadata_log()
        .read_committed(Default::default(), 10);
    assert_eq!(recovered, reference);
    cluster.stop_all().await;
}
