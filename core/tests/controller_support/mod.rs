//! Shared setup for the controller tests: a controller over a `LocalMetadataLog` with some
//! registered (and, by a first heartbeat at time zero, unfenced) brokers, and helpers that
//! commit a command's records.
#![allow(dead_code)]

use odradek_core::controller::{
    BrokerId, BrokerRegistration, Controller, ControllerConfig, CreateTopicRequest, CreatedTopic,
    IncarnationId, Listener, LocalMetadataLog, MetadataRecord,
};
use odradek_core::Now;

/// A broker registration on `broker-<id>:9092`.
pub fn broker(id: i32, rack: Option<&str>) -> BrokerRegistration {
    BrokerRegistration {
        broker_id: BrokerId(id),
        incarnation: IncarnationId(1000 + u128::from(id.unsigned_abs())),
        listeners: vec![Listener {
            name: "PLAINTEXT".to_owned(),
            host: format!("broker-{id}"),
            port: 9092,
        }],
        rack: rack.map(str::to_owned),
    }
}

/// A controller and its log after registering `registrations`.
pub fn cluster_with(
    config: ControllerConfig,
    registrations: Vec<BrokerRegistration>,
) -> (Controller, LocalMetadataLog) {
    let mut controller = Controller::new(config).expect("valid config");
    let mut log = LocalMetadataLog::new();
    for registration in registrations {
        let (broker_id, incarnation) = (registration.broker_id, registration.incarnation);
        let records = controller.register_broker(registration).expect("valid");
        commit(&mut controller, &mut log, records);
        let records = controller
            .handle_heartbeat(Now::ZERO, broker_id, incarnation)
            .expect("registered incarnation");
        commit(&mut controller, &mut log, records);
    }
    (controller, log)
}

/// A controller with brokers `0..brokers`, no racks, seed 7.
pub fn cluster(brokers: i32) -> (Controller, LocalMetadataLog) {
    let config = ControllerConfig {
        seed: 7,
        ..ControllerConfig::default()
    };
    cluster_with(config, (0..brokers).map(|id| broker(id, None)).collect())
}

/// Proposes `records` and applies what commits (everything, with the local log).
pub fn commit(
    controller: &mut Controller,
    log: &mut LocalMetadataLog,
    records: Vec<MetadataRecord>,
) {
    let count = records.len();
    controller.propose(log, records).expect("local log accepts");
    assert_eq!(controller.apply_committed(log), Ok(count));
}

/// Creates one topic, expecting success, and commits it.
pub fn create(
    controller: &mut Controller,
    log: &mut LocalMetadataLog,
    request: CreateTopicRequest,
) -> CreatedTopic {
    let mut results = controller.create_topics(&[request], false);
    let created = results.remove(0).result.expect("topic is created");
    commit(controller, log, created.records.clone());
    created
}

/// The single error of a one-topic create.
pub fn create_error(
    controller: &Controller,
    request: CreateTopicRequest,
) -> odradek_core::controller::ControllerError {
    let mut results = controller.create_topics(&[request], false);
    results.remove(0).result.expect_err("create fails")
}

/// A `Now` at `millis` milliseconds (monotonic and wall clock).
pub fn at_millis(millis: u64) -> Now {
    Now {
        mono: odradek_core::Mono(millis * 1_000_000),
        wall_ms: millis as i64,
    }
}

/// Creates topic `name` with explicit replica lists (partition i gets `assignments[i]`) and
/// `configs`; returns its id.
pub fn explicit_topic(
    controller: &mut Controller,
    log: &mut LocalMetadataLog,
    name: &str,
    assignments: &[&[i32]],
    configs: &[(&str, &str)],
) -> odradek_core::controller::TopicId {
    let mut request = CreateTopicRequest::new(name, -1, -1);
    request.assignments = assignments
        .iter()
        .enumerate()
        .map(|(i, brokers)| odradek_core::controller::ReplicaAssignment {
            partition: odradek_core::controller::PartitionIndex(i as i32),
            broker_ids: brokers.iter().map(|b| BrokerId(*b)).collect(),
        })
        .collect();
    request.configs = configs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect();
    create(controller, log, request)
        .topic_id
        .expect("created for real")
}

/// Broker ids from plain numbers.
pub fn ids(list: &[i32]) -> Vec<BrokerId> {
    list.iter().map(|b| BrokerId(*b)).collect()
}

/// The partition-change record with these values.
pub fn change(
    topic_id: odradek_core::controller::TopicId,
    partition: i32,
    leader: Option<i32>,
    isr: &[i32],
    leader_epoch: i32,
    partition_epoch: i32,
) -> MetadataRecord {
    MetadataRecord::PartitionChange(odradek_core::controller::PartitionChangeRecord {
        topic_id,
        partition: odradek_core::controller::PartitionIndex(partition),
        leader: leader.map(BrokerId),
        isr: ids(isr),
        leader_epoch: odradek_core::controller::LeaderEpoch(leader_epoch),
        partition_epoch: odradek_core::controller::PartitionEpoch(partition_epoch),
    })
}

/// A fence (`fence = true`) or unfence record for broker `id`'s test incarnation.
pub fn fencing(id: i32, fence: bool) -> MetadataRecord {
    let record = odradek_core::controller::BrokerFencingRecord {
        broker_id: BrokerId(id),
        incarnation: broker(id, None).incarnation,
    };
    if fence {
        MetadataRecord::FenceBroker(record)
    } else {
        MetadataRecord::UnfenceBroker(record)
    }
}

/// Heartbeats `ids` (their test incarnations) at `millis` and commits what it yields.
pub fn heartbeat(
    controller: &mut Controller,
    log: &mut LocalMetadataLog,
    millis: u64,
    ids: &[i32],
) {
    for id in ids {
        let records = controller
            .handle_heartbeat(
                at_millis(millis),
                BrokerId(*id),
                broker(*id, None).incarnation,
            )
            .expect("registered");
        commit(controller, log, records);
    }
}
