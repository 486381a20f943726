//! The controller quorum as a cluster of 3 and 5 Raft nodes in a deterministic world with
//! message loss, delay, reordering, duplication, partitions and crashes. After every event
//! the harness checks election safety, log matching, leader completeness, state-machine
//! safety and durability of committed entries; after healing, a leader must be elected and
//! a proposal committed on every node within a bounded simulated time.

mod quorum_support;

use proptest::prelude::*;
use quorum_support::{Cluster, NetFaults};
use std::collections::BTreeSet;

/// After faults heal, a proposal commits everywhere within this much simulated time.
const LIVENESS_BOUND_MS: u64 = 10_000;

#[derive(Clone, Debug)]
struct Schedule {
    size: u32,
    seed: u64,
    faults: NetFaults,
    crash_per_mille: u64,
    partition_per_mille: u64,
    propose_per_mille: u64,
    events: u64,
}

fn schedules() -> impl Strategy<Value = Schedule> {
    (
        prop_oneof![Just(3u32), Just(5u32)],
        any::<u64>(),
        (0u64..300, 0u64..200, 1u64..120),
        (0u64..20, 0u64..20, 50u64..400),
        500u64..4_000,
    )
        .prop_map(
            |(size, seed, (drop, duplicate, delay), (crash, partition, propose), events)| {
                Schedule {
                    size,
                    seed,
                    faults: NetFaults {
                        drop_per_mille: drop,
                        duplicate_per_mille: duplicate,
                        max_delay_ms: delay,
                    },
                    crash_per_mille: crash,
                    partition_per_mille: partition,
                    propose_per_mille: propose,
                    events,
                }
            },
        )
}

/// One random fault or proposal, drawn from the world's generator.
fn perturb(cluster: &mut Cluster, schedule: &Schedule) {
    let voters = cluster.voters.clone();
    let pick = voters[cluster.rng.below(voters.len() as u64) as usize];
    if cluster.rng.chance(schedule.crash_per_mille) {
        if cluster.is_up(pick) {
            cluster.crash(pick);
        } else {
            cluster.restart(pick);
        }
    }
    if cluster.rng.chance(schedule.partition_per_mille) {
        cluster.partition = if cluster.partition.is_some() {
            None
        } else {
            let group: BTreeSet<u32> = voters
                .iter()
                .copied()
                .filter(|_| cluster.rng.chance(500))
                .collect();
            Some(group)
        };
    }
    if cluster.rng.chance(schedule.propose_per_mille) {
        if let Some(leader) = cluster.leader() {
            let size = 1 + cluster.rng.below(3) as usize;
            cluster.propose(leader, size);
        }
    }
}

fn run(schedule: &Schedule) -> Cluster {
    let mut cluster = Cluster::new(schedule.size, schedule.seed);
    cluster.faults = schedule.faults;
    for _ in 0..schedule.events {
        perturb(&mut cluster, schedule);
        if !cluster.step() {
            // Every node is down and nothing is in flight: bring one back.
            let down = cluster
                .voters
                .iter()
                .copied()
                .find(|&id| !cluster.is_up(id));
            cluster.restart(down.expect("a node is down when nothing is scheduled"));
        }
    }
    cluster.heal();
    let elapsed = cluster.commit_everywhere(LIVENESS_BOUND_MS);
    assert!(
        elapsed.is_some(),
        "liveness: no proposal committed everywhere within {LIVENESS_BOUND_MS} ms of healing \
         (leaders {:?}, {schedule:?})",
        cluster.leaders()
    );
    cluster
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_fault_schedules_keep_raft_safe_and_live_after_healing(schedule in schedules()) {
        run(&schedule);
    }
}

#[test]
fn a_clean_three_node_cluster_elects_one_leader_and_commits_everywhere() {
    let mut cluster = Cluster::new(3, 1);
    let elapsed = cluster.commit_everywhere(2_000).expect("commits");
    assert!(elapsed <= 2_000);
    assert_eq!(cluster.leaders().len(), 1);
}

#[test]
fn the_quorum_survives_the_loss_of_its_leader() {
    let mut cluster = Cluster::new(5, 2);
    cluster.commit_everywhere(2_000).expect("first commit");
    let first = cluster.leader().expect("a leader");
    let before = cluster.committed_count();
    cluster.crash(first);
    let until = cluster.now.plus_millis(1_000);
    cluster.run_until(until);
    let second = cluster.leader().expect("a new leader among the four left");
    assert_ne!(second, first);
    let index = cluster.propose(second, 1).expect("the new leader accepts");
    let until = cluster.now.plus_millis(500);
    cluster.run_until(until);
    assert!(cluster.node(second).unwrap().commit_index() >= index);
    assert!(cluster.committed_count() > before);
    cluster.restart(first);
    cluster
        .commit_everywhere(2_000)
        .expect("the old leader catches up");
}

#[test]
fn a_minority_partition_cannot_commit_and_the_majority_can() {
    let mut cluster = Cluster::new(5, 3);
    cluster.commit_everywhere(2_000).expect("first commit");
    let leader = cluster.leader().unwrap();
    let minority: BTreeSet<u32> = [leader, leader % 5 + 1].into_iter().collect();
    cluster.partition = Some(minority.clone());
    let stranded = cluster
        .propose(leader, 1)
        .expect("the old leader still accepts");
    let until = cluster.now.plus_millis(2_000);
    cluster.run_until(until);
    assert!(cluster.node(leader).unwrap().commit_index() < stranded);
    let cut_off = cluster.node(leader).unwrap();
    assert_eq!(
        cut_off.leader_term(),
        None,
        "check-quorum: the minority leader stepped down"
    );
    let majority_leader = cluster
        .leaders()
        .into_iter()
        .filter(|(id, _)| !minority.contains(id))
        .max_by_key(|&(_, term)| term)
        .map(|(id, _)| id)
        .expect("the majority elects a leader");
    let index = cluster.propose(majority_leader, 1).unwrap();
    let until = cluster.now.plus_millis(500);
    cluster.run_until(until);
    assert!(cluster.node(majority_leader).unwrap().commit_index() >= index);
    cluster.heal();
    cluster.commit_everywhere(3_000).expect("heals");
    let committed = cluster.node(leader).unwrap().commit_index();
    assert!(
        committed >= index,
        "the old leader learns the majority's commits"
    );
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let schedule = Schedule {
        size: 5,
        seed: 99,
        faults: NetFaults {
            drop_per_mille: 100,
            duplicate_per_mille: 50,
            max_delay_ms: 60,
        },
        crash_per_mille: 5,
        partition_per_mille: 5,
        propose_per_mille: 200,
        events: 2_000,
    };
    let a = run(&schedule);
    let b = run(&schedule);
    assert_eq!(a.now, b.now);
    assert_eq!(a.events, b.events);
    for id in 1..=5 {
        let (x, y) = (a.node(id).unwrap(), b.node(id).unwrap());
        assert_eq!(x.persistent_state(), y.persistent_state());
    }
}
