//! Partition reassignment at the controller (KIP-455): the exact records of a start, of the
//! AlterPartition that completes it, of a move off the leader, of a cancellation; the
//! refusals (a replication factor change only when allowed, KIP-860); and that every record applies (committed through the image's own checks).

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    AlterPartitionRequest, BrokerId, Controller, ControllerConfig, ControllerError, LeaderEpoch,
    LocalMetadataLog, MetadataRecord, PartitionEpoch, PartitionImage, PartitionIndex,
    PartitionReassignment, PartitionReassignmentRecord, TopicId,
};

/// Brokers 0..4 and topic "t" with one partition on [0, 1, 2]: leader 0, epochs 0.
fn setup() -> (Controller, LocalMetadataLog, TopicId) {
    let brokers = (0..4).map(|b| broker(b, None)).collect();
    let (mut controller, mut log) = cluster_with(ControllerConfig::default(), brokers);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1, 2]], &[]);
    (controller, log, t)
}

fn partition(controller: &Controller, t: TopicId) -> PartitionImage {
    controller
        .image()
        .partition(t, PartitionIndex(0))
        .unwrap()
        .clone()
}

fn reassign(
    controller: &Controller,
    t: TopicId,
    target: Option<&[i32]>,
) -> Result<Vec<MetadataRecord>, ControllerError> {
    let target = target.map(ids);
    controller.reassign_partition(t, PartitionIndex(0), target.as_deref())
}

#[allow(clippy::too_many_arguments)]
fn reassignment(
    t: TopicId,
    replicas: &[i32],
    adding: &[i32],
    removing: &[i32],
    isr: &[i32],
    leader: i32,
    epochs: (i32, i32),
) -> MetadataRecord {
    MetadataRecord::PartitionReassignment(PartitionReassignmentRecord {
        topic_id: t,
        partition: PartitionIndex(0),
        replicas: ids(replicas),
        adding_replicas: ids(adding),
        removing_replicas: ids(removing),
        isr: ids(isr),
        leader: Some(BrokerId(leader)),
        leader_epoch: LeaderEpoch(epochs.0),
        partition_epoch: PartitionEpoch(epochs.1),
    })
}

fn expand(t: TopicId, leader: i32, epochs: (i32, i32), isr: &[i32]) -> AlterPartitionRequest {
    AlterPartitionRequest {
        broker_id: BrokerId(leader),
        incarnation: broker(leader, None).incarnation,
        topic_id: t,
        partition: PartitionIndex(0),
        leader_epoch: LeaderEpoch(epochs.0),
        partition_epoch: PartitionEpoch(epochs.1),
        new_isr: ids(isr),
    }
}

#[test]
fn a_move_onto_a_new_broker_adds_it_then_completes_when_the_leader_puts_it_in_sync() {
    let (mut controller, mut log, t) = setup();
    let started = reassign(&controller, t, Some(&[1, 2, 3])).unwrap();
    assert_eq!(
        started,
        vec![reassignment(
            t,
            &[1, 2, 3, 0],
            &[3],
            &[0],
            &[0, 1, 2],
            0,
            (1, 1)
        )]
    );
    commit(&mut controller, &mut log, started);
    let running = partition(&controller, t);
    assert!(running.is_reassigning());
    assert_eq!(running.target_replicas(), ids(&[1, 2, 3]));
    let records = controller
        .alter_partition(&expand(t, 0, (1, 1), &[0, 1, 2, 3]))
        .unwrap();
    assert_eq!(
        records,
        vec![
            change(t, 0, Some(0), &[0, 1, 2, 3], 1, 2),
            reassignment(t, &[1, 2, 3], &[], &[], &[1, 2, 3], 1, (2, 3)),
        ],
        "the leader (being removed) hands over to the first target replica in sync"
    );
    commit(&mut controller, &mut log, records);
    let done = partition(&controller, t);
    assert!(!done.is_reassigning());
    assert_eq!(
        (done.replicas, done.leader),
        (ids(&[1, 2, 3]), Some(BrokerId(1)))
    );
}

#[test]
fn a_target_already_in_sync_completes_in_the_same_batch() {
    let (mut controller, mut log, t) = setup();
    let records = reassign(&controller, t, Some(&[2, 1])).unwrap();
    assert_eq!(
        records,
        vec![
            reassignment(t, &[2, 1, 0], &[], &[0], &[0, 1, 2], 0, (1, 1)),
            reassignment(t, &[2, 1], &[], &[], &[1, 2], 2, (2, 2)),
        ]
    );
    commit(&mut controller, &mut log, records);
    assert_eq!(partition(&controller, t).isr, ids(&[1, 2]));
}

#[test]
fn the_same_replicas_change_nothing_and_a_cancel_returns_to_the_original_replicas() {
    let (mut controller, mut log, t) = setup();
    assert_eq!(reassign(&controller, t, Some(&[0, 1, 2])), Ok(vec![]));
    assert!(matches!(
        reassign(&controller, t, None),
        Err(ControllerError::NoReassignmentInProgress { .. })
    ));
    let started = reassign(&controller, t, Some(&[3, 1, 2])).unwrap();
    commit(&mut controller, &mut log, started);
    let cancelled = reassign(&controller, t, None).unwrap();
    assert_eq!(
        cancelled,
        vec![reassignment(t, &[1, 2, 0], &[], &[], &[0, 1, 2], 0, (2, 2))]
    );
    commit(&mut controller, &mut log, cancelled);
    assert!(!partition(&controller, t).is_reassigning());
}

#[test]
fn a_new_target_replaces_a_running_reassignment_counted_from_the_original_replicas() {
    let (mut controller, mut log, t) = setup();
    let first = reassign(&controller, t, Some(&[0, 1, 3])).unwrap();
    commit(&mut controller, &mut log, first);
    let second = reassign(&controller, t, Some(&[0, 3, 2])).unwrap();
    assert_eq!(
        second,
        vec![reassignment(
            t,
            &[0, 3, 2, 1],
            &[3],
            &[1],
            &[0, 1, 2],
            0,
            (2, 2)
        )]
    );
    commit(&mut controller, &mut log, second);
}

#[test]
fn bad_targets_are_refused_with_invalid_replica_assignment_or_unknown_partition() {
    let (controller, _log, t) = setup();
    for target in [&[][..], &[1, 1][..]] {
        assert!(matches!(
            reassign(&controller, t, Some(target)),
            Err(ControllerError::InvalidReplicaAssignment { .. })
        ));
    }
    assert_eq!(
        reassign(&controller, t, Some(&[0, 9])),
        Err(ControllerError::UnknownBroker {
            broker_id: BrokerId(9)
        })
    );
    assert!(matches!(
        controller.reassign_partition(t, PartitionIndex(5), Some(&ids(&[0]))),
        Err(ControllerError::UnknownPartition { .. })
    ));
}

/// Seed 6500: a move added a broker, the ISR shrank to that added broker alone, and a new
/// target left it out: the partition lost its only in-sync copy and never had a leader
/// again. A replacement that drops every in-sync replica is now refused.
#[test]
fn a_new_target_that_drops_every_in_sync_replica_is_refused() {
    let (mut controller, mut log, t) = setup();
    let started = reassign(&controller, t, Some(&[3, 1])).unwrap();
    assert_eq!(
        started,
        vec![reassignment(
            t,
            &[3, 1, 0, 2],
            &[3],
            &[0, 2],
            &[0, 1, 2],
            0,
            (1, 1)
        )]
    );
    commit(&mut controller, &mut log, started);
    // Elections leave the added broker 3 as the only replica in sync.
    commit(
        &mut controller,
        &mut log,
        vec![change(t, 0, Some(3), &[3], 2, 2)],
    );
    assert!(partition(&controller, t).is_reassigning());
    assert_eq!(
        reassign(&controller, t, Some(&[0, 2])),
        Err(ControllerError::InvalidReplicaAssignment {
            partition: Some(PartitionIndex(0)),
            reason: "the new replica set drops every in-sync replica".into(),
        })
    );
    let keeps_three = reassign(&controller, t, Some(&[3, 2])).unwrap();
    commit(&mut controller, &mut log, keeps_three);
    assert_eq!(partition(&controller, t).leader, Some(BrokerId(3)));
}

fn by_name(target: Option<&[i32]>, allow_change: bool) -> PartitionReassignment {
    PartitionReassignment {
        topic: "t".to_owned(),
        partition: 0,
        target: target.map(ids),
        allow_replication_factor_change: allow_change,
    }
}

#[test]
fn a_move_that_changes_the_replication_factor_is_refused_unless_the_request_allows_it() {
    let (mut controller, mut log, t) = setup();
    assert_eq!(
        controller.reassign_by_name(&by_name(Some(&[0, 1, 2, 3]), false)),
        Err(ControllerError::ReplicationFactorChangeNotAllowed {
            partition: PartitionIndex(0),
            current: 3,
            requested: 4,
        })
    );
    assert!(controller
        .reassign_by_name(&by_name(Some(&[0, 1, 2, 3]), true))
        .is_ok_and(|records| !records.is_empty()));
    let same_size = controller
        .reassign_by_name(&by_name(Some(&[3, 1, 2]), false))
        .expect("three replicas for three");
    commit(&mut controller, &mut log, same_size);
    assert_eq!(partition(&controller, t).adding_replicas, ids(&[3]));
    // While it runs, the factor is the original replicas' (3): a 2-replica target is a
    // change, and a cancel is never one.
    assert!(matches!(
        controller.reassign_by_name(&by_name(Some(&[1, 2]), false)),
        Err(ControllerError::ReplicationFactorChangeNotAllowed {
            current: 3,
            requested: 2,
            ..
        })
    ));
    assert!(controller.reassign_by_name(&by_name(None, false)).is_ok());
}
