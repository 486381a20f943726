//! The real controller over the openraft metadata log: the leader's controller issues
//! commands back to back (each validated against its view of the proposals before), and
//! every node's controller that applies what commits ends with the same image.

mod raft_support;

use odradek_core::controller::{
    BrokerId, Controller, ControllerConfig, ControllerError, CreateTopicRequest, IncarnationId,
    MetadataImage,
};
use odradek_core::time::{Mono, Now};
use raft_support::{fast_timings, registration, Cluster, WAIT_MAX};
use std::time::Duration;

fn controller() -> Controller {
    Controller::new(ControllerConfig {
        seed: 7,
        ..ControllerConfig::default()
    })
    .expect("valid config")
}

/// Applies node `id`'s committed records to `controller` until `done` holds of its image.
async fn apply_until(
    cluster: &mut Cluster,
    id: u64,
    controller: &mut Controller,
    done: impl Fn(&MetadataImage) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    loop {
        let log = cluster.node(id).metadata_log_mut();
        controller
            .apply_committed(log)
            .expect("committed records apply");
        if done(controller.image()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node {id} never got there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn controllers_on_every_node_apply_the_leaders_commands_to_the_same_image() {
    let mut cluster = Cluster::start(3, fast_timings).await;
    let leader = cluster.wait_for_leader().await;
    let mut controllers: Vec<Controller> = (0..3).map(|_| controller()).collect();
    let now = Now {
        mono: Mono(0),
        wall_ms: 0,
    };

    let active = &mut controllers[(leader - 1) as usize];
    let log = cluster.node(leader).metadata_log_mut();
    active
        .apply_committed(log)
        .expect("catch up before leading");
    let registered = active.register_broker(registration(0, 11)).expect("valid");
    active.propose(log, registered).expect("leader");
    let unfenced = active
        .handle_heartbeat(now, BrokerId(0), IncarnationId(11))
        .expect("registered in the view");
    active.propose(log, unfenced).expect("leader");
    let created = active
        .create_topics(&[CreateTopicRequest::new("t", 2, 1)], false)
        .remove(0)
        .result
        .expect("the view has an unfenced broker");
    active.propose(log, created.records).expect("leader");
    let again = active.create_topics(&[CreateTopicRequest::new("t", 1, 1)], false);
    assert!(
        matches!(
            again[0].result,
            Err(ControllerError::TopicAlreadyExists { .. })
        ),
        "the uncommitted topic is in the leader's view"
    );

    for id in 1..=3 {
        let controller = &mut controllers[(id - 1) as usize];
        apply_until(&mut cluster, id, controller, |image| {
            image.topic_by_name("t").is_some()
        })
        .await;
        controller.check_invariants();
    }
    assert!(!controllers[(leader - 1) as usize].has_uncommitted());
    assert_eq!(controllers[0].image(), controllers[1].image());
    assert_eq!(controllers[1].image(), controllers[2].image());
    cluster.stop_all().await;
}
