//! AlterPartition and preferred-replica election: the exact record of an accepted change,
//! each refusal with its Kafka error, and the zombie leader whose stale request is refused —
//! unless the `StaleAlterPartitionAccepted` bug is planted.

mod controller_support;

use controller_support::*;
use odradek_core::bugs::{PlantedBug, PlantedBugs};
use odradek_core::controller::{
    AlterPartitionRequest, BrokerId, Controller, ControllerConfig, ControllerError, IncarnationId,
    LeaderEpoch, LocalMetadataLog, PartitionEpoch, PartitionIndex, TopicId,
};

/// Brokers 0..3 and topic "t" with one partition on [0, 1, 2]: leader 0, epochs 0.
fn setup(config: ControllerConfig) -> (Controller, LocalMetadataLog, TopicId) {
    let (mut controller, mut log) = cluster_with(config, (0..3).map(|b| broker(b, None)).collect());
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1, 2]], &[]);
    (controller, log, t)
}

fn request(t: TopicId, sender: i32, epochs: (i32, i32), isr: &[i32]) -> AlterPartitionRequest {
    AlterPartitionRequest {
        broker_id: BrokerId(sender),
        incarnation: broker(sender, None).incarnation,
        topic_id: t,
        partition: PartitionIndex(0),
        leader_epoch: LeaderEpoch(epochs.0),
        partition_epoch: PartitionEpoch(epochs.1),
        new_isr: ids(isr),
    }
}

#[test]
fn the_leader_shrinks_the_isr_with_the_current_epochs_and_the_partition_epoch_grows() {
    let (mut controller, mut log, t) = setup(ControllerConfig::default());
    let records = controller
        .alter_partition(&request(t, 0, (0, 0), &[0, 2]))
        .expect("ok");
    assert_eq!(records, vec![change(t, 0, Some(0), &[0, 2], 0, 1)]);
    commit(&mut controller, &mut log, records);
    let records = controller
        .alter_partition(&request(t, 0, (0, 1), &[0, 2, 1]))
        .expect("ok");
    assert_eq!(records, vec![change(t, 0, Some(0), &[0, 2, 1], 0, 2)]);
    commit(&mut controller, &mut log, records);
    let unchanged = controller.alter_partition(&request(t, 0, (0, 2), &[0, 2, 1]));
    assert_eq!(
        unchanged,
        Ok(vec![]),
        "the ISR already is the requested one"
    );
}

#[test]
fn alter_partition_refusals_carry_kafkas_errors() {
    let (controller, _log, t) = setup(ControllerConfig::default());
    let refuse = |r: AlterPartitionRequest| controller.alter_partition(&r).expect_err("refused");
    assert_eq!(
        refuse(request(t, 0, (1, 0), &[0])),
        ControllerError::FencedLeaderEpoch {
            requested: LeaderEpoch(1),
            current: LeaderEpoch(0)
        }
    );
    assert_eq!(
        refuse(request(t, 1, (0, 0), &[0, 1])),
        ControllerError::NotLeaderOrFollower {
            broker_id: BrokerId(1),
            leader: Some(BrokerId(0))
        }
    );
    assert_eq!(
        refuse(request(t, 0, (0, 3), &[0])),
        ControllerError::InvalidUpdateVersion {
            requested: PartitionEpoch(3),
            current: PartitionEpoch(0)
        }
    );
    assert!(matches!(
        refuse(request(t, 0, (0, 0), &[0, 7])),
        ControllerError::IneligibleReplica {
            broker_id: BrokerId(7),
            ..
        }
    ));
    assert!(matches!(
        refuse(request(t, 0, (0, 0), &[1, 2])),
        ControllerError::InvalidRequest { .. }
    ));
    assert!(matches!(
        refuse(request(t, 0, (0, 0), &[0, 0])),
        ControllerError::InvalidRequest { .. }
    ));
    let mut stale = request(t, 0, (0, 0), &[0]);
    stale.incarnation = IncarnationId(1);
    assert!(matches!(
        refuse(stale),
        ControllerError::StaleBrokerEpoch { .. }
    ));
    let mut missing = request(t, 0, (0, 0), &[0]);
    missing.partition = PartitionIndex(4);
    assert!(matches!(
        refuse(missing),
        ControllerError::UnknownPartition { .. }
    ));
}

#[test]
fn a_fenced_broker_cannot_be_put_back_into_the_isr() {
    let (mut controller, mut log, t) = setup(ControllerConfig::default());
    heartbeat(&mut controller, &mut log, 5000, &[0, 1]);
    let fenced = controller.handle_timeout(at_millis(9000));
    assert_eq!(
        fenced,
        vec![change(t, 0, Some(0), &[0, 1], 0, 1), fencing(2, true)]
    );
    commit(&mut controller, &mut log, fenced);
    assert!(matches!(
        controller.alter_partition(&request(t, 0, (0, 1), &[0, 1, 2])),
        Err(ControllerError::IneligibleReplica {
            broker_id: BrokerId(2),
            ..
        })
    ));
}

/// Broker 0 leads at epoch 0, misses its session and is replaced by 1 (epoch 1); it comes
/// back (same incarnation) and sends the AlterPartition it prepared at epoch 0, putting
/// itself in the ISR although it is not caught up.
fn zombie_request(config: ControllerConfig) -> (Controller, Result<usize, ControllerError>) {
    let (mut controller, mut log, t) = setup(config);
    heartbeat(&mut controller, &mut log, 5000, &[1, 2]);
    let fenced = controller.handle_timeout(at_millis(9000));
    assert_eq!(
        fenced,
        vec![change(t, 0, Some(1), &[1, 2], 1, 1), fencing(0, true)]
    );
    commit(&mut controller, &mut log, fenced);
    heartbeat(&mut controller, &mut log, 9100, &[0]);
    let result = controller
        .alter_partition(&request(t, 0, (0, 0), &[0, 1]))
        .map(|records| {
            let count = records.len();
            commit(&mut controller, &mut log, records);
            count
        });
    (controller, result)
}

#[test]
fn a_zombie_leaders_stale_alter_partition_is_fenced_by_its_leader_epoch() {
    let (controller, result) = zombie_request(ControllerConfig::default());
    assert_eq!(
        result,
        Err(ControllerError::FencedLeaderEpoch {
            requested: LeaderEpoch(0),
            current: LeaderEpoch(1)
        })
    );
    let t = controller
        .image()
        .topic_by_name("t")
        .expect("exists")
        .topic_id;
    assert_eq!(
        controller
            .image()
            .partition(t, PartitionIndex(0))
            .expect("p")
            .isr,
        ids(&[1, 2])
    );
}

#[test]
fn with_the_planted_bug_a_zombie_leader_rewrites_the_isr() {
    let config = ControllerConfig {
        planted_bugs: PlantedBugs::only(PlantedBug::StaleAlterPartitionAccepted),
        ..ControllerConfig::default()
    };
    let (controller, result) = zombie_request(config);
    assert_eq!(result, Ok(1));
    let t = controller
        .image()
        .topic_by_name("t")
        .expect("exists")
        .topic_id;
    let partition = controller
        .image()
        .partition(t, PartitionIndex(0))
        .expect("p");
    assert_eq!(
        partition.isr,
        ids(&[0, 1]),
        "the out-of-date replica is back in the ISR"
    );
    controller.check_invariants();
}

#[test]
fn preferred_election_moves_leadership_back_to_the_first_replica_once_it_is_in_sync() {
    let (mut controller, mut log, t) = setup(ControllerConfig::default());
    heartbeat(&mut controller, &mut log, 5000, &[1, 2]);
    let fenced = controller.handle_timeout(at_millis(9000));
    commit(&mut controller, &mut log, fenced);
    heartbeat(&mut controller, &mut log, 9100, &[0]);
    let p0 = PartitionIndex(0);
    assert_eq!(
        controller.elect_preferred_leader(t, p0),
        Err(ControllerError::PreferredLeaderNotAvailable {
            preferred: BrokerId(0)
        })
    );
    let rejoin = controller
        .alter_partition(&request(t, 1, (1, 1), &[1, 2, 0]))
        .expect("ok");
    commit(&mut controller, &mut log, rejoin);
    let records = controller.elect_preferred_leader(t, p0).expect("available");
    assert_eq!(records, vec![change(t, 0, Some(0), &[1, 2, 0], 2, 3)]);
    commit(&mut controller, &mut log, records);
    assert_eq!(
        controller.elect_preferred_leader(t, p0),
        Err(ControllerError::ElectionNotNeeded)
    );
    assert!(matches!(
        controller.elect_preferred_leader(t, PartitionIndex(9)),
        Err(ControllerError::UnknownPartition { .. })
    ));
}
