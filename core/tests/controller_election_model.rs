//! Property test of the broker lifecycle and leader election: random sequences of broker
//! (re-)registrations, heartbeats (some from stale incarnations), time passing (which fences
//! brokers that missed their sessions), AlterPartition from the leader or another broker with
//! right or stale epochs, preferred-replica elections and topic creations (some allowing
//! unclean election, and config changes that turn it on or off). After every step the controller's invariants hold (`leader ∈ isr ⊆
//! replicas`, no fenced leader, no leaderless partition with a broker able to lead, a fenced
//! broker in an ISR only as its last member); epochs never decrease, a leader change bumps
//! the leader epoch, an ISR change the partition epoch; a clean election never picks a
//! replica outside the ISR; every leader is the one the reference model
//! (`odradek_model::controller::expected_leader`) names; stale AlterPartitions are refused. At the end the committed log
//! replayed into a fresh image gives the same image.

mod controller_support;

use controller_support::*;
use odradek_core::bugs::{PlantedBug, PlantedBugs};
use odradek_core::controller::{
    AlterPartitionRequest, BrokerId, ConfigChange, ConfigOperation, Controller, ControllerConfig,
    ControllerError, CreateTopicRequest, IncarnationId, LeaderEpoch, LocalMetadataLog,
    MetadataImage, MetadataOffset, MetadataRecord, PartitionEpoch, PartitionIndex,
};
use odradek_model::controller::expected_leader;
use proptest::prelude::*;
use std::collections::BTreeMap;

const BROKERS_MAX: i32 = 5;

#[derive(Clone, Debug)]
enum Op {
    Register {
        broker: i32,
        new_incarnation: bool,
    },
    Heartbeat {
        broker: i32,
        stale: bool,
    },
    Advance {
        millis: u64,
    },
    AlterPartition {
        partition: usize,
        sender_is_leader: bool,
        sender: usize,
        stale_leader_epoch: bool,
        stale_partition_epoch: bool,
        isr_mask: u8,
    },
    Preferred {
        partition: usize,
    },
    CreateTopic {
        partitions: i32,
        replication_factor: i16,
        unclean: bool,
    },
    SetUnclean {
        partition: usize,
        enable: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..BROKERS_MAX, prop::bool::weighted(0.7))
            .prop_map(|(broker, new_incarnation)| Op::Register { broker, new_incarnation }),
        6 => (0..BROKERS_MAX, prop::bool::weighted(0.1))
            .prop_map(|(broker, stale)| Op::Heartbeat { broker, stale }),
        3 => (0..7000u64).prop_map(|millis| Op::Advance { millis }),
        4 => (any::<usize>(), prop::bool::weighted(0.8), any::<usize>(),
              prop::bool::weighted(0.2), prop::bool::weighted(0.2), any::<u8>())
            .prop_map(|(partition, sender_is_leader, sender, stale_leader_epoch,
                        stale_partition_epoch, isr_mask)| Op::AlterPartition {
                partition, sender_is_leader, sender, stale_leader_epoch,
                stale_partition_epoch, isr_mask,
            }),
        1 => any::<usize>().prop_map(|partition| Op::Preferred { partition }),
        2 => (1..4i32, 1..4i16, prop::bool::weighted(0.3))
            .prop_map(|(partitions, replication_factor, unclean)| Op::CreateTopic {
                partitions, replication_factor, unclean,
            }),
        1 => (any::<usize>(), any::<bool>())
            .prop_map(|(partition, enable)| Op::SetUnclean { partition, enable }),
    ]
}

/// The test's side of the world: each broker's current incarnation, the clock, topic names.
struct World {
    controller: Controller,
    log: LocalMetadataLog,
    incarnations: BTreeMap<i32, u128>,
    now_millis: u64,
    topics_created: usize,
}

impl World {
    fn new(planted_bugs: PlantedBugs) -> World {
        let config = ControllerConfig {
            seed: 11,
            planted_bugs,
            ..ControllerConfig::default()
        };
        let (controller, log) = cluster_with(config, (0..3).map(|b| broker(b, None)).collect());
        let incarnations = (0..3).map(|b| (b, broker(b, None).incarnation.0)).collect();
        World {
            controller,
            log,
            incarnations,
            now_millis: 0,
            topics_created: 0,
        }
    }

    /// The `index`-th partition of the view (modulo the partition count), if any.
    fn pick_partition(&self, index: usize) -> Option<(odradek_core::controller::TopicId, i32)> {
        let all: Vec<_> = self
            .controller
            .view()
            .partitions()
            .map(|(t, p, _)| (t, p.0))
            .collect();
        (!all.is_empty()).then(|| all[index % all.len()])
    }

    /// Runs `op`; returns the records to commit.
    fn records_of(&mut self, op: &Op) -> Vec<MetadataRecord> {
        let now = at_millis(self.now_millis);
        match *op {
            Op::Register {
                broker: id,
                new_incarnation,
            } => {
                let mut registration = broker(id, None);
                let known = self.incarnations.get(&id).copied();
                registration.incarnation = IncarnationId(match (known, new_incarnation) {
                    (Some(current), true) => current + 1,
                    (Some(current), false) => current,
                    (None, _) => registration.incarnation.0,
                });
                let incarnation = registration.incarnation.0;
                match self.controller.register_broker(registration) {
                    Ok(records) => {
                        self.incarnations.insert(id, incarnation);
                        records
                    }
                    Err(error) => {
                        assert!(matches!(
                            error,
                            ControllerError::DuplicateBrokerRegistration { .. }
                        ));
                        Vec::new()
                    }
                }
            }
            Op::Heartbeat { broker: id, stale } => {
                let current = self.incarnations.get(&id).copied().unwrap_or(1);
                let incarnation = IncarnationId(if stale { current - 1 } else { current });
                match self
                    .controller
                    .handle_heartbeat(now, BrokerId(id), incarnation)
                {
                    Ok(records) => records,
                    Err(error) => {
                        assert!(stale || !self.incarnations.contains_key(&id), "{error}");
                        Vec::new()
                    }
                }
            }
            Op::Advance { millis } => {
                self.now_millis += millis;
                self.controller.handle_timeout(at_millis(self.now_millis))
            }
            Op::AlterPartition { .. } => self.alter_partition(op),
            Op::SetUnclean { partition, enable } => {
                let Some((t, _)) = self.pick_partition(partition) else {
                    return Vec::new();
                };
                let name = self.controller.view().topic(t).expect("live").name.clone();
                let change = ConfigChange {
                    key: "unclean.leader.election.enable".to_owned(),
                    operation: ConfigOperation::Set(enable.to_string()),
                };
                self.controller
                    .alter_configs(&name, &[change], false)
                    .expect("valid config")
            }
            Op::Preferred { partition } => match self.pick_partition(partition) {
                Some((t, p)) => self
                    .controller
                    .elect_preferred_leader(t, PartitionIndex(p))
                    .unwrap_or_default(),
                None => Vec::new(),
            },
            Op::CreateTopic {
                partitions,
                replication_factor,
                unclean,
            } => {
                self.topics_created += 1;
                let name = format!("t{}", self.topics_created);
                let mut request = CreateTopicRequest::new(&name, partitions, replication_factor);
                let value = if unclean { "true" } else { "false" };
                request.configs = vec![(
                    "unclean.leader.election.enable".to_owned(),
                    Some(value.to_owned()),
                )];
                let mut results = self.controller.create_topics(&[request], false);
                results
                    .remove(0)
                    .result
                    .map(|c| c.records)
                    .unwrap_or_default()
            }
        }
    }

    /// Runs `op`, commits its records and checks everything the module docs promise.
    fn step(&mut self, op: &Op) {
        let before = self.controller.image().clone();
        let records = self.records_of(op);
        check_elections(&self.controller, &records);
        commit(&mut self.controller, &mut self.log, records);
        self.controller.check_invariants();
        check_epochs(&before, self.controller.image());
        if !matches!(op, Op::Preferred { .. }) {
            check_leaders_against_the_model(&before, self.controller.image());
        }
    }

    fn alter_partition(&mut self, op: &Op) -> Vec<MetadataRecord> {
        let Op::AlterPartition {
            partition,
            sender_is_leader,
            sender,
            stale_leader_epoch,
            stale_partition_epoch,
            isr_mask,
        } = *op
        else {
            return Vec::new();
        };
        let Some((t, p)) = self.pick_partition(partition) else {
            return Vec::new();
        };
        let current = self
            .controller
            .view()
            .partition(t, PartitionIndex(p))
            .expect("picked")
            .clone();
        let sender = match current.leader {
            Some(leader) if sender_is_leader => leader,
            _ => current.replicas[sender % current.replicas.len()],
        };
        let new_isr: Vec<BrokerId> = current
            .replicas
            .iter()
            .enumerate()
            .filter(|(i, b)| isr_mask & (1 << i) != 0 || Some(**b) == current.leader)
            .map(|(_, b)| *b)
            .collect();
        let request = AlterPartitionRequest {
            broker_id: sender,
            incarnation: IncarnationId(self.incarnations[&sender.0]),
            topic_id: t,
            partition: PartitionIndex(p),
            leader_epoch: LeaderEpoch(current.leader_epoch.0 - i32::from(stale_leader_epoch)),
            partition_epoch: PartitionEpoch(
                current.partition_epoch.0 - i32::from(stale_partition_epoch),
            ),
            new_isr,
        };
        let result = self.controller.alter_partition(&request);
        let stale = stale_leader_epoch || stale_partition_epoch || current.leader != Some(sender);
        if stale {
            assert!(
                result.is_err(),
                "stale AlterPartition accepted: {request:?}"
            );
        }
        result.unwrap_or_default()
    }
}

/// Asserts that every leader a record elects was in the ISR, unless the topic allows
/// unclean election and the ISR shrank to that leader alone.
fn check_elections(controller: &Controller, records: &[MetadataRecord]) {
    let mut scratch = controller.view().clone();
    for record in records {
        if let MetadataRecord::PartitionChange(change) = record {
            let old = scratch
                .partition(change.topic_id, change.partition)
                .expect("exists")
                .clone();
            if let Some(leader) = change.leader.filter(|l| Some(*l) != old.leader) {
                // Read from the topic's own config, not through the controller's logic.
                let name = &scratch.topic(change.topic_id).expect("live").name;
                let unclean = scratch
                    .topic_configs(name)
                    .and_then(|c| c.get("unclean.leader.election.enable"))
                    .is_some_and(|v| v == "true");
                assert!(
                    old.isr.contains(&leader) || (unclean && change.isr == vec![leader]),
                    "{leader} elected from outside the ISR {:?}",
                    old.isr
                );
            }
        }
        let offset = scratch.next_offset();
        scratch.apply(offset, record).expect("valid record");
    }
}

/// Every partition's leader is the one `odradek_model::controller::expected_leader` names.
fn check_leaders_against_the_model(before: &MetadataImage, after: &MetadataImage) {
    for (t, p, partition) in after.partitions() {
        let previous = before.partition(t, p).and_then(|old| old.leader);
        let plain = |list: &[BrokerId]| list.iter().map(|b| b.0).collect::<Vec<_>>();
        let name = &after.topic(t).expect("live").name;
        let unclean = after
            .topic_configs(name)
            .and_then(|c| c.get("unclean.leader.election.enable"))
            .is_some_and(|v| v == "true");
        let expected = expected_leader(
            &plain(&partition.replicas),
            &plain(&partition.isr),
            previous.map(|b| b.0),
            &|b| after.is_unfenced(BrokerId(b)),
            unclean,
        );
        assert_eq!(
            partition.leader.map(|b| b.0),
            expected,
            "{t} {p}: {partition:?}"
        );
    }
}

/// Epochs never decrease; a leader change bumps the leader epoch; an ISR change bumps the
/// partition epoch.
fn check_epochs(before: &MetadataImage, after: &MetadataImage) {
    for (t, p, old) in before.partitions() {
        let Some(new) = after.partition(t, p) else {
            continue;
        };
        assert!(new.leader_epoch >= old.leader_epoch);
        assert!(new.partition_epoch >= old.partition_epoch);
        if new.leader != old.leader {
            assert!(
                new.leader_epoch > old.leader_epoch,
                "leader change kept its epoch"
            );
        }
        if new.isr != old.isr {
            assert!(
                new.partition_epoch > old.partition_epoch,
                "isr change kept its epoch"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn elections_and_isr_changes_keep_the_metadata_invariants(
        ops in prop::collection::vec(op(), 1..60)
    ) {
        let mut world = World::new(PlantedBugs::NONE);
        for op in &ops {
            world.step(op);
        }
        let mut replayed = MetadataImage::new();
        for (offset, record) in world.log.records().iter().enumerate() {
            replayed.apply(MetadataOffset(offset as u64), record).expect("valid log");
        }
        prop_assert_eq!(&replayed, world.controller.image());
    }
}

/// A topic on brokers 0..3 whose ISR the leader shrank to itself; returns its leader.
fn topic_with_isr_of_one(world: &mut World) -> i32 {
    world.step(&Op::CreateTopic {
        partitions: 1,
        replication_factor: 3,
        unclean: false,
    });
    world.step(&Op::AlterPartition {
        partition: 0,
        sender_is_leader: true,
        sender: 0,
        stale_leader_epoch: false,
        stale_partition_epoch: false,
        isr_mask: 0,
    });
    let (_, _, partition) = world
        .controller
        .image()
        .partitions()
        .next()
        .expect("created");
    assert_eq!(partition.isr.len(), 1);
    partition.leader.expect("led").0
}

#[test]
#[should_panic(expected = "elected from outside the ISR")]
fn the_property_catches_the_planted_unclean_election_by_default() {
    let mut world = World::new(PlantedBugs::only(PlantedBug::UncleanElectionByDefault));
    let leader = topic_with_isr_of_one(&mut world);
    world.step(&Op::Advance { millis: 9000 });
    let follower = (0..3).find(|b| *b != leader).expect("three brokers");
    world.step(&Op::Heartbeat {
        broker: follower,
        stale: false,
    });
}

#[test]
fn without_planted_bugs_the_same_steps_leave_the_partition_without_a_leader() {
    let mut world = World::new(PlantedBugs::NONE);
    let leader = topic_with_isr_of_one(&mut world);
    world.step(&Op::Advance { millis: 9000 });
    let follower = (0..3).find(|b| *b != leader).expect("three brokers");
    world.step(&Op::Heartbeat {
        broker: follower,
        stale: false,
    });
    let (_, _, partition) = world
        .controller
        .image()
        .partitions()
        .next()
        .expect("created");
    assert_eq!(partition.leader, None);
}

#[test]
#[should_panic(expected = "stale AlterPartition accepted")]
fn the_property_catches_the_planted_stale_alter_partition() {
    let mut world = World::new(PlantedBugs::only(PlantedBug::StaleAlterPartitionAccepted));
    topic_with_isr_of_one(&mut world);
    world.step(&Op::AlterPartition {
        partition: 0,
        sender_is_leader: true,
        sender: 0,
        stale_leader_epoch: true,
        stale_partition_epoch: false,
        isr_mask: 0xff,
    });
}
