//! Shared setup for the controller tests: a controller over a `LocalMetadataLog` with some
//! registered brokers, and helpers that commit a command's records.
#![allow(dead_code)]

use odradek_core::controller::{
    BrokerId, BrokerRegistration, Controller, ControllerConfig, CreateTopicRequest, CreatedTopic,
    IncarnationId, Listener, LocalMetadataLog, MetadataRecord,
};

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
        let records = controller.register_broker(registration).expect("valid");
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
