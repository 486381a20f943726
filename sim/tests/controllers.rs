//! `ControllerHost` in a three-node (and one-node) controller quorum, driven by a small
//! deterministic pump: election and activation, commands answered after commit, metadata
//! fetched from followers, leader crash and idempotent retries, broker fencing, the
//! AlterPartition epoch check (and its planted bug), restart catch-up.

mod controllers_support;

use controllers_support::{controller_config, heartbeat, registration, Pump, LATENCY_MS};
use odradek_core::bugs::{PlantedBug, PlantedBugs};
use odradek_core::controller::{
    AlterPartitionRequest, BrokerId, ControllerError, ControllerRequest, ControllerResponse,
    CreateTopicRequest, MetadataOffset, MetadataRecord,
};
use odradek_sim::controllers::PENDING_ANSWERS_MAX;

fn create_topic(name: &str, partitions: i32) -> ControllerRequest {
    ControllerRequest::CreateTopics(vec![CreateTopicRequest::new(name, partitions, 3)])
}

fn fetch(after: Option<MetadataOffset>, max_records: usize) -> ControllerRequest {
    ControllerRequest::FetchMetadata { after, max_records }
}

/// A three-node quorum with brokers 1, 2, 3 registered and unfenced.
fn cluster_with_brokers(seed: u64) -> Pump {
    let mut pump = Pump::new(3, controller_config(), seed);
    pump.wait_active(2_000);
    pump.register_and_unfence(&[1, 2, 3]);
    pump
}

fn follower_of(pump: &Pump, leader: u32) -> u32 {
    *pump.hosts.keys().find(|&&id| id != leader).unwrap()
}

fn count(pump: &Pump, id: u32, wanted: impl Fn(&MetadataRecord) -> bool) -> usize {
    pump.records(id)
        .iter()
        .filter(|committed| wanted(&committed.record))
        .count()
}

#[test]
fn a_leader_is_elected_and_becomes_active_and_only_it_serves_commands() {
    let mut pump = Pump::new(3, controller_config(), 1);
    let active = pump.wait_active(2_000);
    let host = &pump.hosts[&active];
    assert_eq!(host.leader_term(), Some(host.current_term()));
    let follower = follower_of(&pump, active);
    assert!(!pump.hosts[&follower].is_active());
    let register = ControllerRequest::Register(registration(1));
    assert_eq!(
        pump.call(follower, 1, register, 100),
        Some(ControllerResponse::NotController)
    );
}

#[test]
fn registrations_and_heartbeats_commit_and_every_node_agrees() {
    let mut pump = cluster_with_brokers(2);
    assert!(pump.converge(1_000));
    let leader = pump.active().unwrap();
    let records = pump.records(leader);
    assert_eq!(
        count(&pump, leader, |r| matches!(
            r,
            MetadataRecord::RegisterBroker(_)
        )),
        3
    );
    assert_eq!(
        count(&pump, leader, |r| matches!(
            r,
            MetadataRecord::UnfenceBroker(_)
        )),
        3
    );
    for (id, host) in &pump.hosts {
        assert_eq!(host.committed_records(), records.as_slice(), "node {id}");
        let image = host.image().unwrap();
        assert!((1..=3).all(|b| image.is_unfenced(BrokerId(b))), "node {id}");
    }
}

#[test]
fn create_topics_commits_the_active_controller_serves_metadata_and_a_follower_refuses() {
    let mut pump = cluster_with_brokers(3);
    let ControllerResponse::CreateTopics(results) = pump.call_active(1, create_topic("t", 3))
    else {
        panic!("a CreateTopics answer");
    };
    let created = results[0].result.as_ref().expect("the topic is created");
    assert_eq!((created.num_partitions, created.replication_factor), (3, 3));
    assert!(pump.converge(1_000));
    let leader = pump.active().unwrap();
    let follower = follower_of(&pump, leader);
    let all = pump.records(leader);
    assert_eq!(
        pump.records(follower),
        all,
        "the follower applied the same records"
    );
    let answer = pump.call(leader, 1, fetch(None, 1_000), 100);
    assert_eq!(
        answer,
        Some(ControllerResponse::Metadata {
            records: all.clone()
        })
    );
    // A follower may know only a prefix of what committed; a broker taking that for the
    // whole log would delete logs of topics it has not heard of, so followers refuse.
    let answer = pump.call(follower, 1, fetch(None, 1_000), 100);
    assert_eq!(answer, Some(ControllerResponse::NotController));
    let image = pump.hosts[&follower].image().unwrap();
    let topic = image
        .topic_by_name("t")
        .expect("the follower has the topic");
    assert!(topic.partitions.iter().all(|p| p.replicas.len() == 3));

    let after = all[2].offset;
    let answer = pump.call(leader, 1, fetch(Some(after), 2), 100);
    let expected = all[3..5].to_vec();
    assert_eq!(
        answer,
        Some(ControllerResponse::Metadata { records: expected })
    );
}

#[test]
fn a_crashed_leader_is_replaced_and_a_retried_registration_is_idempotent() {
    let mut pump = cluster_with_brokers(4);
    let first = pump.active().unwrap();
    let register = ControllerRequest::Register(registration(4));
    let lost = pump.send(first, 4, register.clone());
    let proposed = pump.run_until(100, |pump| pump.hosts[&first].pending_answers() > 0);
    assert!(proposed, "the leader proposes the registration");
    pump.crash(first);

    let second = pump.wait_active(3_000);
    assert_ne!(second, first);
    let answers: Vec<_> = pump.replies_to(lost).iter().map(|r| &r.response).collect();
    assert!(
        answers
            .iter()
            .all(|r| **r == ControllerResponse::NotController),
        "the old leader answers NotController or nothing: {answers:?}"
    );
    for _ in 0..2 {
        let retried = pump.call(second, 4, register.clone(), 1_000);
        assert_eq!(retried, Some(ControllerResponse::Registered));
    }
    let registered_4 =
        |r: &MetadataRecord| matches!(r, MetadataRecord::RegisterBroker(b) if b.broker_id.0 == 4);
    assert_eq!(count(&pump, second, registered_4), 1);
}

#[test]
fn an_isolated_leader_answers_its_pending_commands_not_controller() {
    let mut pump = cluster_with_brokers(5);
    let first = pump.active().unwrap();
    pump.isolated.insert(first);
    let request = pump.send(first, 1, create_topic("t", 1));
    let answered = pump.run_until(2_000, |pump| !pump.replies_to(request).is_empty());
    assert!(answered, "check-quorum deposes the isolated leader");
    let reply = pump.replies_to(request)[0].clone();
    assert_eq!(reply.response, ControllerResponse::NotController);
    assert!(!pump.hosts[&first].is_active());
    let topic = |r: &MetadataRecord| matches!(r, MetadataRecord::Topic(_));
    assert_eq!(count(&pump, first, topic), 0, "nothing of it committed");
}

#[test]
fn a_broker_that_stops_heartbeating_is_fenced_after_the_session_timeout() {
    let mut pump = cluster_with_brokers(6);
    pump.call_active(1, create_topic("t", 3));
    pump.run_with_heartbeats(2_000, &[1, 2, 3], 200);
    let leader = pump.active().unwrap();
    let fenced_3 =
        |r: &MetadataRecord| matches!(r, MetadataRecord::FenceBroker(f) if f.broker_id.0 == 3);
    assert_eq!(count(&pump, leader, fenced_3), 0, "heartbeats keep it in");
    let led_by_3 = pump.hosts[&leader]
        .image()
        .unwrap()
        .partitions()
        .filter(|(_, _, p)| p.leader == Some(BrokerId(3)))
        .count();
    assert!(led_by_3 > 0, "broker 3 leads a partition");

    pump.run_with_heartbeats(1_500, &[1, 2], 200);
    let leader = pump.active().unwrap();
    assert_eq!(count(&pump, leader, fenced_3), 1);
    let moved = |r: &MetadataRecord| matches!(r, MetadataRecord::PartitionChange(c) if c.leader.is_some_and(|b| b.0 != 3));
    assert!(
        count(&pump, leader, moved) >= led_by_3,
        "its partitions get new leaders"
    );
    let image = pump.hosts[&leader].image().unwrap();
    assert!(image.is_fenced(BrokerId(3)));
    assert!(image
        .partitions()
        .all(|(_, _, p)| p.leader != Some(BrokerId(3))));

    let back = pump.call_active(3, heartbeat(3));
    assert_eq!(
        back,
        ControllerResponse::Heartbeat {
            fenced: false,
            should_shut_down: false
        }
    );
}

/// Fences and unfences broker 3 so a partition it led has a newer leader epoch; returns
/// broker 3's stale AlterPartition for that partition (old epochs, ISR back to all three).
fn stale_alter_partition(pump: &mut Pump) -> AlterPartitionRequest {
    pump.call_active(1, create_topic("t", 3));
    let leader = pump.active().unwrap();
    let image = pump.hosts[&leader].image().unwrap();
    let (topic_id, partition, old) = image
        .partitions()
        .find(|(_, _, p)| p.leader == Some(BrokerId(3)))
        .map(|(t, i, p)| (t, i, p.clone()))
        .expect("broker 3 leads a partition");
    pump.run_with_heartbeats(1_500, &[1, 2], 200);
    assert_eq!(
        pump.call_active(3, heartbeat(3)),
        ControllerResponse::Heartbeat {
            fenced: false,
            should_shut_down: false
        }
    );
    let leader = pump.active().unwrap();
    let now = pump.hosts[&leader]
        .image()
        .unwrap()
        .partition(topic_id, partition)
        .unwrap();
    assert!(now.leader_epoch > old.leader_epoch, "the leader changed");
    AlterPartitionRequest {
        broker_id: BrokerId(3),
        incarnation: registration(3).incarnation,
        topic_id,
        partition,
        leader_epoch: old.leader_epoch,
        partition_epoch: old.partition_epoch,
        new_isr: vec![BrokerId(1), BrokerId(2), BrokerId(3)],
    }
}

#[test]
fn alter_partition_with_a_stale_leader_epoch_is_refused() {
    let mut pump = cluster_with_brokers(7);
    let request = stale_alter_partition(&mut pump);
    let answer = pump.call_active(3, ControllerRequest::AlterPartition(request));
    assert!(
        matches!(
            answer,
            ControllerResponse::AlterPartition(Err(ControllerError::FencedLeaderEpoch { .. }))
        ),
        "{answer:?}"
    );
}

#[test]
fn alter_partition_with_a_stale_leader_epoch_is_accepted_under_the_planted_bug() {
    let config = odradek_core::controller::ControllerConfig {
        planted_bugs: PlantedBugs::only(PlantedBug::StaleAlterPartitionAccepted),
        ..controller_config()
    };
    let mut pump = Pump::new(3, config, 7);
    pump.wait_active(2_000);
    pump.register_and_unfence(&[1, 2, 3]);
    let request = stale_alter_partition(&mut pump);
    let (topic_id, partition) = (request.topic_id, request.partition);
    let answer = pump.call_active(3, ControllerRequest::AlterPartition(request));
    let ControllerResponse::AlterPartition(Ok(result)) = answer else {
        panic!("accepted under the planted bug: {answer:?}");
    };
    let leader = pump.active().unwrap();
    let committed = pump.hosts[&leader]
        .image()
        .unwrap()
        .partition(topic_id, partition)
        .unwrap();
    assert_eq!(result.isr, committed.isr);
    assert_eq!(result.partition_epoch, committed.partition_epoch);
}

#[test]
fn a_restarted_node_catches_up_to_the_same_committed_records() {
    let mut pump = cluster_with_brokers(8);
    let leader = pump.active().unwrap();
    let follower = follower_of(&pump, leader);
    pump.crash(follower);
    assert!(pump.hosts[&follower].committed_records().is_empty());
    pump.call_active(1, create_topic("t", 2));
    pump.call_active(1, create_topic("u", 1));
    pump.start(follower);
    assert!(pump.converge(2_000));
    let records = pump.records(pump.active().unwrap());
    assert_eq!(pump.records(follower), records);
    let image = pump.hosts[&follower].image().unwrap();
    assert!(image.topic_by_name("t").is_some() && image.topic_by_name("u").is_some());
}

#[test]
fn a_single_node_quorum_commits_on_its_own() {
    let mut pump = Pump::new(1, controller_config(), 9);
    assert_eq!(pump.wait_active(1_000), 1);
    pump.register_and_unfence(&[1, 2, 3]);
    let ControllerResponse::CreateTopics(results) = pump.call_active(1, create_topic("t", 1))
    else {
        panic!("a CreateTopics answer");
    };
    assert!(results[0].result.is_ok());
    pump.crash(1);
    pump.start(1);
    pump.wait_active(1_000);
    assert!(pump.hosts[&1].image().unwrap().topic_by_name("t").is_some());
}

#[test]
fn a_command_with_no_records_waits_for_the_proposals_it_saw() {
    let mut pump = cluster_with_brokers(10);
    let leader = pump.active().unwrap();
    let register = ControllerRequest::Register(registration(4));
    let first = pump.send(leader, 4, register.clone());
    let retry = pump.send(leader, 4, register);
    pump.run_until(LATENCY_MS + 1, |pump| {
        pump.hosts[&leader].pending_answers() == 2
    });
    assert_eq!(
        pump.hosts[&leader].pending_answers(),
        2,
        "the retry waits too"
    );
    assert!(pump.replies_to(retry).is_empty());
    pump.run_until(500, |pump| !pump.replies_to(retry).is_empty());
    for id in [first, retry] {
        assert_eq!(
            pump.replies_to(id)[0].response,
            ControllerResponse::Registered
        );
    }
}

#[test]
fn a_whole_quorum_restart_keeps_every_committed_record() {
    let mut pump = cluster_with_brokers(11);
    pump.call_active(1, create_topic("t", 2));
    assert!(pump.converge(1_000));
    let before = pump.records(pump.active().unwrap());
    for id in 1..=3 {
        let term = pump.hosts[&id].current_term();
        pump.crash(id);
        let host = &pump.hosts[&id];
        assert!(!host.is_running() && host.image().is_none());
        assert_eq!(
            host.current_term(),
            term,
            "node {id}'s term survives the crash"
        );
    }
    for id in 1..=3 {
        pump.start(id);
    }
    let leader = pump.wait_active(3_000);
    assert!(pump.converge(1_000));
    assert_eq!(
        pump.records(leader),
        before,
        "the durable logs keep what committed"
    );
    let image = pump.hosts[&leader].image().unwrap();
    assert!(image.topic_by_name("t").is_some());
}

#[test]
fn pending_answers_are_bounded_and_the_excess_is_refused() {
    let mut pump = cluster_with_brokers(12);
    let leader = pump.active().unwrap();
    pump.isolated.insert(leader);
    pump.send(leader, 4, ControllerRequest::Register(registration(4)));
    let waiting: Vec<u64> = (0..PENDING_ANSWERS_MAX)
        .map(|_| pump.send(leader, 1, heartbeat(1)))
        .collect();
    let last = *waiting.last().unwrap();
    pump.run_until(LATENCY_MS + 1, |pump| !pump.replies_to(last).is_empty());
    assert_eq!(pump.hosts[&leader].pending_answers(), PENDING_ANSWERS_MAX);
    let refused = pump.replies_to(*waiting.last().unwrap())[0]
        .response
        .clone();
    assert!(
        matches!(
            refused,
            ControllerResponse::Refused(ControllerError::MetadataLogFull { .. })
        ),
        "{refused:?}"
    );
    assert!(
        pump.replies_to(waiting[0]).is_empty(),
        "the first ones wait"
    );
}

#[test]
fn a_node_leading_again_does_not_fence_brokers_on_sessions_from_its_earlier_term() {
    let mut pump = cluster_with_brokers(13);
    pump.run_with_heartbeats(500, &[1, 2, 3], 200);
    let first = pump.active().unwrap();
    let mut isolated = first;
    for _ in 0..10 {
        pump.isolated.clear();
        pump.isolated.insert(isolated);
        pump.run_with_heartbeats(2_000, &[1, 2, 3], 200);
        let active = pump.active().unwrap();
        if active == first {
            break;
        }
        isolated = active;
    }
    assert_eq!(pump.active(), Some(first), "the first leader leads again");
    pump.run_with_heartbeats(500, &[1, 2, 3], 200);
    let fenced = |r: &MetadataRecord| matches!(r, MetadataRecord::FenceBroker(_));
    assert_eq!(
        count(&pump, first, fenced),
        0,
        "heartbeating brokers stay unfenced"
    );
}
