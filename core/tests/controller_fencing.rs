//! Broker lifecycle: registrations start fenced, the first heartbeat unfences, a missed
//! session fences (moving leadership and shrinking ISRs, never to empty), stale incarnations
//! are refused, and unclean election happens only when the topic allows it — or when the
//! `UncleanElectionByDefault` bug is planted. Each command's records are asserted exactly.

mod controller_support;

use controller_support::*;
use odradek_core::bugs::{PlantedBug, PlantedBugs};
use odradek_core::controller::{
    AlterPartitionRequest, BrokerId, Controller, ControllerConfig, ControllerError,
    CreateTopicRequest, IncarnationId, LeaderEpoch, LocalMetadataLog, MetadataLog, MetadataRecord,
    PartitionEpoch, PartitionIndex, TopicId,
};
use odradek_core::Mono;

/// Commits the shrink of partition 0 of `topic` to `isr` by its current leader.
fn shrink(controller: &mut Controller, log: &mut LocalMetadataLog, topic: TopicId, isr: &[i32]) {
    let current = controller
        .image()
        .partition(topic, PartitionIndex(0))
        .expect("exists")
        .clone();
    let leader = current.leader.expect("led");
    let records = controller
        .alter_partition(&AlterPartitionRequest {
            broker_id: leader,
            incarnation: broker(leader.0, None).incarnation,
            topic_id: topic,
            partition: PartitionIndex(0),
            leader_epoch: current.leader_epoch,
            partition_epoch: current.partition_epoch,
            new_isr: ids(isr),
        })
        .expect("accepted");
    commit(controller, log, records);
}

#[test]
fn a_new_registration_starts_fenced_and_its_first_heartbeat_unfences_it() {
    let (mut controller, mut log) = cluster(0);
    let records = controller.register_broker(broker(5, None)).expect("valid");
    assert_eq!(
        records,
        vec![MetadataRecord::RegisterBroker(broker(5, None))]
    );
    commit(&mut controller, &mut log, records);
    assert!(controller.image().is_fenced(BrokerId(5)));
    assert!(controller.image().usable_brokers().is_empty());
    let refused = controller.create_topics(&[CreateTopicRequest::new("t", 1, 1)], false);
    assert!(matches!(
        refused[0].result,
        Err(ControllerError::InvalidReplicationFactor {
            available_brokers: 0,
            ..
        })
    ));
    let records = controller
        .handle_heartbeat(at_millis(10), BrokerId(5), broker(5, None).incarnation)
        .expect("registered");
    assert_eq!(records, vec![fencing(5, false)]);
    commit(&mut controller, &mut log, records);
    assert!(!controller.image().is_fenced(BrokerId(5)));
    let again =
        controller.handle_heartbeat(at_millis(20), BrokerId(5), broker(5, None).incarnation);
    assert_eq!(
        again,
        Ok(vec![]),
        "an unfenced broker's heartbeat logs nothing"
    );
}

#[test]
fn heartbeats_from_unknown_brokers_or_stale_incarnations_are_refused() {
    let (mut controller, _log) = cluster(2);
    // A plain heartbeat and a controlled-shutdown one check the broker alike.
    for want_shut_down in [false, true] {
        let mut beat = |broker, incarnation| match want_shut_down {
            false => controller.handle_heartbeat(at_millis(1), BrokerId(broker), incarnation),
            true => {
                controller.handle_controlled_shutdown(at_millis(1), BrokerId(broker), incarnation)
            }
        };
        assert_eq!(
            beat(9, IncarnationId(1)),
            Err(ControllerError::BrokerNotRegistered {
                broker_id: BrokerId(9)
            })
        );
        assert_eq!(
            beat(1, IncarnationId(7)),
            Err(ControllerError::StaleBrokerEpoch {
                broker_id: BrokerId(1),
                incarnation: IncarnationId(7),
                registered: broker(1, None).incarnation,
            })
        );
    }
}

#[test]
fn a_broker_that_misses_its_session_is_fenced_and_loses_leadership_to_the_next_isr_member() {
    let (mut controller, mut log) = cluster(3);
    let t = explicit_topic(
        &mut controller,
        &mut log,
        "t",
        &[&[0, 1, 2], &[1, 0, 2]],
        &[],
    );
    assert_eq!(controller.poll_timeout(), Some(at_millis(9000).mono));
    heartbeat(&mut controller, &mut log, 5000, &[1, 2]);
    assert_eq!(controller.handle_timeout(at_millis(8999)), vec![]);
    let records = controller.handle_timeout(at_millis(9000));
    assert_eq!(
        records,
        vec![
            change(t, 0, Some(1), &[1, 2], 1, 1),
            change(t, 1, Some(1), &[1, 2], 0, 1),
            fencing(0, true),
        ]
    );
    commit(&mut controller, &mut log, records);
    controller.check_invariants();
    assert_eq!(controller.poll_timeout(), Some(at_millis(14_000).mono));
    assert_eq!(
        controller.handle_timeout(at_millis(9001)),
        vec![],
        "fenced once"
    );
}

#[test]
fn fencing_the_last_isr_member_keeps_it_in_the_isr_and_leaves_no_leader_until_it_returns() {
    let (mut controller, mut log) = cluster(2);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1]], &[]);
    shrink(&mut controller, &mut log, t, &[0]);
    heartbeat(&mut controller, &mut log, 5000, &[1]);
    let records = controller.handle_timeout(at_millis(9000));
    assert_eq!(
        records,
        vec![change(t, 0, None, &[0], 1, 2), fencing(0, true)]
    );
    commit(&mut controller, &mut log, records);
    controller.check_invariants();
    let records = controller
        .handle_heartbeat(at_millis(9500), BrokerId(0), broker(0, None).incarnation)
        .expect("same incarnation");
    assert_eq!(
        records,
        vec![fencing(0, false), change(t, 0, Some(0), &[0], 2, 3)]
    );
    commit(&mut controller, &mut log, records);
    controller.check_invariants();
}

/// Fences broker 0, the only ISR member of a partition on [0, 1]; returns the records.
fn fence_sole_isr_member(
    config: ControllerConfig,
    configs: &[(&str, &str)],
) -> Vec<MetadataRecord> {
    let (mut controller, mut log) = cluster_with(config, vec![broker(0, None), broker(1, None)]);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1]], configs);
    shrink(&mut controller, &mut log, t, &[0]);
    heartbeat(&mut controller, &mut log, 5000, &[1]);
    let records = controller.handle_timeout(at_millis(9000));
    commit(&mut controller, &mut log, records.clone());
    controller.check_invariants();
    records
}

#[test]
fn unclean_election_happens_only_when_the_topic_enables_it() {
    let clean = fence_sole_isr_member(ControllerConfig::default(), &[]);
    assert!(matches!(
        &clean[0],
        MetadataRecord::PartitionChange(c) if c.leader.is_none() && c.isr == ids(&[0])
    ));
    let unclean = fence_sole_isr_member(
        ControllerConfig::default(),
        &[("unclean.leader.election.enable", "true")],
    );
    assert!(matches!(
        &unclean[0],
        MetadataRecord::PartitionChange(c) if c.leader == Some(BrokerId(1)) && c.isr == ids(&[1])
    ));
}

#[test]
fn the_planted_unclean_default_elects_an_out_of_sync_replica_although_the_config_is_off() {
    let config = ControllerConfig {
        planted_bugs: PlantedBugs::only(PlantedBug::UncleanElectionByDefault),
        ..ControllerConfig::default()
    };
    let records = fence_sole_isr_member(config, &[("unclean.leader.election.enable", "false")]);
    assert!(matches!(
        &records[0],
        MetadataRecord::PartitionChange(c) if c.leader == Some(BrokerId(1)) && c.isr == ids(&[1])
    ));
}

#[test]
fn a_new_incarnation_is_refused_while_the_old_one_heartbeats_and_accepted_once_it_is_fenced() {
    let (mut controller, mut log) = cluster(2);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1]], &[]);
    let mut restarted = broker(0, None);
    restarted.incarnation = IncarnationId(77);
    assert_eq!(
        controller.register_broker(restarted.clone()),
        Err(ControllerError::DuplicateBrokerRegistration {
            broker_id: BrokerId(0)
        })
    );
    heartbeat(&mut controller, &mut log, 5000, &[1]);
    let fenced = controller.handle_timeout(at_millis(9000));
    commit(&mut controller, &mut log, fenced);
    let records = controller
        .register_broker(restarted.clone())
        .expect("accepted");
    assert_eq!(records, vec![MetadataRecord::RegisterBroker(restarted)]);
    commit(&mut controller, &mut log, records);
    assert!(matches!(
        controller.handle_heartbeat(at_millis(9100), BrokerId(0), broker(0, None).incarnation),
        Err(ControllerError::StaleBrokerEpoch { .. })
    ));
    let records = controller
        .handle_heartbeat(at_millis(9100), BrokerId(0), IncarnationId(77))
        .expect("new incarnation");
    assert_eq!(
        records,
        vec![MetadataRecord::UnfenceBroker(
            odradek_core::controller::BrokerFencingRecord {
                broker_id: BrokerId(0),
                incarnation: IncarnationId(77),
            }
        )]
    );
    commit(&mut controller, &mut log, records);
    let partition = controller
        .image()
        .partition(t, PartitionIndex(0))
        .expect("exists");
    assert_eq!(partition.leader, Some(BrokerId(1)), "no needless election");
}

#[test]
fn a_restart_unknown_to_a_fresh_controller_first_moves_the_brokers_partitions_away() {
    let (mut controller, mut log) = cluster(2);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1]], &[]);
    let mut fresh = Controller::new(controller.config().clone()).expect("valid");
    let mut replayed = LocalMetadataLog::new();
    for record in log.records() {
        commit(&mut fresh, &mut replayed, vec![record.clone()]);
    }
    let mut restarted = broker(0, None);
    restarted.incarnation = IncarnationId(77);
    let records = fresh
        .register_broker(restarted.clone())
        .expect("no session: accepted");
    assert_eq!(
        records,
        vec![
            change(t, 0, Some(1), &[1], 1, 1),
            MetadataRecord::RegisterBroker(restarted),
        ]
    );
    commit(&mut fresh, &mut replayed, records);
    fresh.check_invariants();
}

#[test]
fn a_new_controller_gives_unfenced_brokers_a_full_session_before_fencing_them() {
    let (controller, log) = cluster(2);
    let mut fresh = Controller::new(controller.config().clone()).expect("valid");
    let mut replayed = LocalMetadataLog::new();
    for record in log.read_committed(odradek_core::controller::MetadataOffset(0), 100) {
        commit(&mut fresh, &mut replayed, vec![record.record]);
    }
    assert_eq!(fresh.poll_timeout(), Some(Mono(0)), "sessions to start");
    assert_eq!(fresh.handle_timeout(at_millis(20_000)), vec![]);
    assert_eq!(fresh.poll_timeout(), Some(at_millis(29_000).mono));
    assert_eq!(
        fresh.handle_timeout(at_millis(29_000)).len(),
        2,
        "both fenced"
    );
}

#[test]
fn new_partitions_get_only_unfenced_replicas_in_their_isr() {
    let (mut controller, mut log) = cluster(3);
    heartbeat(&mut controller, &mut log, 5000, &[1, 2]);
    let fenced = controller.handle_timeout(at_millis(9000));
    commit(&mut controller, &mut log, fenced);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1, 2]], &[]);
    let partition = controller
        .image()
        .partition(t, PartitionIndex(0))
        .expect("exists");
    assert_eq!(partition.isr, ids(&[1, 2]));
    assert_eq!(partition.leader, Some(BrokerId(1)));
    assert_eq!(partition.leader_epoch, LeaderEpoch(0));
    assert_eq!(partition.partition_epoch, PartitionEpoch(0));
    let mut request = CreateTopicRequest::new("u", -1, -1);
    request.assignments = vec![odradek_core::controller::ReplicaAssignment {
        partition: PartitionIndex(0),
        broker_ids: ids(&[0]),
    }];
    let refused = controller.create_topics(&[request], false);
    assert!(matches!(
        refused[0].result,
        Err(ControllerError::InvalidReplicaAssignment { .. })
    ));
}

#[test]
fn enabling_unclean_election_on_a_topic_elects_its_leaderless_partitions() {
    let (mut controller, mut log) = cluster(2);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0, 1]], &[]);
    shrink(&mut controller, &mut log, t, &[0]);
    heartbeat(&mut controller, &mut log, 5000, &[1]);
    let fenced = controller.handle_timeout(at_millis(9000));
    commit(&mut controller, &mut log, fenced);
    let enable = [odradek_core::controller::ConfigChange {
        key: "unclean.leader.election.enable".to_owned(),
        operation: odradek_core::controller::ConfigOperation::Set("true".to_owned()),
    }];
    let records = controller
        .alter_configs("t", &enable, false)
        .expect("valid");
    assert_eq!(
        records,
        vec![
            MetadataRecord::Config(odradek_core::controller::ConfigRecord {
                topic: "t".to_owned(),
                key: "unclean.leader.election.enable".to_owned(),
                value: Some("true".to_owned()),
            }),
            change(t, 0, Some(1), &[1], 2, 3),
        ]
    );
    commit(&mut controller, &mut log, records);
    controller.check_invariants();
}
