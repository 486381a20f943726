//! Cluster mode: three brokers replicate a topic, with a controller standing in for the
//! quorum (see `node_cluster_support`). Exact offsets, epochs and ISRs throughout.

mod node_cluster_support;
mod node_support;

use node_cluster_support::*;
use node_support::{batch, fetch_request, metadata_request, name, produce_request, text};
use odradek_core::controller::BrokerId;
use odradek_core::node::TopicPartition;
use odradek_core::storage::StorageProvider;
use odradek_core::wire::kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use odradek_core::wire::kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    ListPartitionReassignmentsRequest,
};
use odradek_core::wire::{KafkaErrorCode, ResponseBody};

const TOPIC: &str = "replicated";

/// Creates `TOPIC` (one partition, RF 3) through broker `via` with these configs, and runs
/// until every broker hosts a replica in the leader's epoch.
fn create_topic(cluster: &mut Cluster, via: usize, configs: &[(&str, &str)]) {
    let configs = configs
        .iter()
        .map(|(k, v)| {
            CreatableTopicConfig::default()
                .with_name(text(k))
                .with_value(Some(text(v)))
        })
        .collect();
    let request = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name(TOPIC))
        .with_num_partitions(1)
        .with_replication_factor(3)
        .with_configs(configs)]);
    let response = cluster.call(via, 7, request, 100);
    let ResponseBody::CreateTopics(created) = response.body else {
        panic!("{response:?}")
    };
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
    let tp = tp();
    cluster.run_until(1_000, |c| {
        let leader = c.partition(TOPIC, 0).leader;
        (0..3).all(|i| c.replica_state(i, &tp).is_some_and(|s| s.0 == leader))
    });
}

fn tp() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

fn leader_index(cluster: &Cluster) -> usize {
    index_of(cluster.partition(TOPIC, 0).leader.expect("a leader"))
}

fn produce_error_and_offset(response: &odradek_core::node::NodeResponse) -> (i16, i64) {
    let ResponseBody::Produce(produce) = &response.body else {
        panic!("not a produce answer: {response:?}")
    };
    let partition = &produce.responses[0].partition_responses[0];
    (partition.error_code, partition.base_offset)
}

#[test]
fn a_forwarded_create_topics_puts_a_replica_on_every_broker() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 2, &[]);
    let partition = cluster.partition(TOPIC, 0);
    assert_eq!(partition.replicas.len(), 3);
    assert_eq!(partition.isr.len(), 3);
    let leader = partition.leader.unwrap();
    for index in 0..3 {
        let (known_leader, epoch, high_watermark, log_end) =
            cluster.replica_state(index, &tp()).unwrap();
        assert_eq!(known_leader, Some(leader));
        assert_eq!(epoch, Some(partition.leader_epoch.0));
        assert_eq!((high_watermark, log_end), (0, 0));
    }
    cluster.check_invariants();
}

#[test]
fn acks_all_is_answered_only_after_the_followers_fetched_and_the_high_watermark_passed_it() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let leader = leader_index(&cluster);
    let records = batch(1_000, &["a", "b", "c"]);
    let correlation = cluster.send(leader, 1, 9, produce_request(TOPIC, 0, -1, records));
    assert!(
        cluster.take_response(correlation).is_none(),
        "not before the followers fetched"
    );
    let (leader_hw, leader_end) = {
        let s = cluster.replica_state(leader, &tp()).unwrap();
        (s.2, s.3)
    };
    assert_eq!((leader_hw, leader_end), (0, 3));
    let waited = cluster.run_until(500, |c| {
        c.responses
            .iter()
            .any(|(_, _, r)| r.correlation_id == correlation)
    });
    assert!(waited >= 2, "at least a follower round trip: {waited} ms");
    let response = cluster.take_response(correlation).unwrap();
    assert_eq!(produce_error_and_offset(&response), (0, 0));
    assert_eq!(cluster.replica_state(leader, &tp()).unwrap().2, 3);
    cluster.run_until(500, |c| {
        (0..3).all(|i| c.replica_state(i, &tp()).unwrap().2 == 3)
    });
    for index in 0..3 {
        assert_eq!(cluster.replica_state(index, &tp()).unwrap().3, 3);
    }
    cluster.check_invariants();
}

#[test]
fn produce_to_a_follower_gets_not_leader_or_follower() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let follower = (leader_index(&cluster) + 1) % 3;
    let response = cluster.call(
        follower,
        9,
        produce_request(TOPIC, 0, 1, batch(0, &["x"])),
        10,
    );
    assert_eq!(
        produce_error_and_offset(&response),
        (KafkaErrorCode::NotLeaderOrFollower.code(), -1)
    );
    let fetched = cluster.call(follower, 12, fetch_request(TOPIC, 0, 0, 0, 1), 10);
    let ResponseBody::Fetch(fetch) = fetched.body else {
        panic!()
    };
    assert_eq!(
        fetch.responses[0].partitions[0].error_code,
        KafkaErrorCode::NotLeaderOrFollower.code()
    );
}

#[test]
fn a_consumer_fetch_sees_records_only_below_the_high_watermark() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let leader = leader_index(&cluster);
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    // The followers cannot fetch: the leader has the batch, the ISR does not.
    for &f in &followers {
        cluster.cut_both(leader, f);
    }
    let answer = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, 1, batch(0, &["x", "y"])),
        10,
    );
    assert_eq!(produce_error_and_offset(&answer), (0, 0));
    let fetched = cluster.call(leader, 12, fetch_request(TOPIC, 0, 0, 0, 1), 10);
    let ResponseBody::Fetch(fetch) = &fetched.body else {
        panic!()
    };
    let partition = &fetch.responses[0].partitions[0];
    assert_eq!((partition.error_code, partition.high_watermark), (0, 0));
    assert!(partition.records.as_ref().unwrap().is_empty());
    cluster.heal();
    cluster.run_until(1_000, |c| c.replica_state(leader, &tp()).unwrap().2 == 2);
    let fetched = cluster.call(leader, 12, fetch_request(TOPIC, 0, 0, 0, 1), 10);
    let ResponseBody::Fetch(fetch) = &fetched.body else {
        panic!()
    };
    let partition = &fetch.responses[0].partitions[0];
    assert_eq!(partition.high_watermark, 2);
    assert!(!partition.records.as_ref().unwrap().is_empty());
}

#[test]
fn metadata_lists_the_unfenced_brokers_and_the_partition_state() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let response = cluster.call(1, 9, metadata_request(&[TOPIC]), 10);
    let ResponseBody::Metadata(metadata) = response.body else {
        panic!()
    };
    let mut brokers: Vec<(i32, String)> = metadata
        .brokers
        .iter()
        .map(|b| (b.node_id.0, b.host.to_string()))
        .collect();
    brokers.sort();
    assert_eq!(
        brokers,
        vec![
            (1, "broker1.test".to_owned()),
            (2, "broker2.test".to_owned()),
            (3, "broker3.test".to_owned())
        ]
    );
    let image = cluster.partition(TOPIC, 0);
    let partition = &metadata.topics[0].partitions[0];
    assert_eq!(partition.leader_id.0, image.leader.unwrap().0);
    assert_eq!(partition.leader_epoch, image.leader_epoch.0);
    let ids = |list: &[BrokerId]| list.iter().map(|b| b.0).collect::<Vec<_>>();
    let wire = |list: &[odradek_core::wire::kafka_protocol::messages::BrokerId]| {
        list.iter().map(|b| b.0).collect::<Vec<_>>()
    };
    assert_eq!(wire(&partition.replica_nodes), ids(&image.replicas));
    assert_eq!(wire(&partition.isr_nodes), ids(&image.isr));
    assert!(partition.offline_replicas.is_empty());
}

fn isr_of(cluster: &Cluster) -> Vec<i32> {
    let mut isr: Vec<i32> = cluster
        .partition(TOPIC, 0)
        .isr
        .iter()
        .map(|b| b.0)
        .collect();
    isr.sort_unstable();
    isr
}

#[test]
fn a_restarted_broker_holds_metadata_until_its_image_lists_brokers_then_answers_it() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    cluster.restart(2);
    let correlation = cluster.send(2, 1, 9, metadata_request(&[TOPIC]));
    assert!(
        cluster.take_response(correlation).is_none(),
        "not from an image that has not caught up yet"
    );
    cluster.run_until(500, |c| {
        c.responses
            .iter()
            .any(|(_, _, r)| r.correlation_id == correlation)
    });
    let response = cluster.take_response(correlation).unwrap();
    let ResponseBody::Metadata(metadata) = response.body else {
        panic!("{response:?}")
    };
    let listed: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id.0).collect();
    assert!(!listed.is_empty());
    assert!(
        listed.contains(&metadata.controller_id.0),
        "the controller named is a listed broker: {} of {listed:?}",
        metadata.controller_id.0
    );
    assert_eq!(metadata.topics[0].error_code, 0, "{:?}", metadata.topics[0]);
}

#[test]
fn a_follower_cut_off_past_the_lag_limit_leaves_the_isr_and_acks_all_then_needs_more_replicas() {
    let mut cluster = Cluster::start(500);
    create_topic(&mut cluster, 0, &[("min.insync.replicas", "3")]);
    let leader = leader_index(&cluster);
    let lagging = (leader + 1) % 3;
    let healthy = (leader + 2) % 3;
    cluster.cut_both(leader, lagging);
    let waiting = cluster.send(
        leader,
        1,
        9,
        produce_request(TOPIC, 0, -1, batch(0, &["a"])),
    );
    let partition_epoch = cluster.partition(TOPIC, 0).partition_epoch;
    let shrunk_after = cluster.run_until(2_000, |c| c.partition(TOPIC, 0).isr.len() == 2);
    assert!(
        shrunk_after >= 500,
        "not before replica.lag.time.max.ms: {shrunk_after} ms"
    );
    let mut expected = vec![broker(leader).0, broker(healthy).0];
    expected.sort_unstable();
    assert_eq!(isr_of(&cluster), expected, "the AlterPartition committed");
    assert_eq!(
        cluster.partition(TOPIC, 0).partition_epoch,
        partition_epoch.next()
    );
    cluster.run_ms(5);
    let response = cluster
        .take_response(waiting)
        .expect("answered when the ISR shrank");
    assert_eq!(
        produce_error_and_offset(&response).0,
        KafkaErrorCode::NotEnoughReplicasAfterAppend.code()
    );
    let refused = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, -1, batch(1, &["b"])),
        10,
    );
    assert_eq!(
        produce_error_and_offset(&refused),
        (KafkaErrorCode::NotEnoughReplicas.code(), -1)
    );
    let (_, _, _, log_end) = cluster.replica_state(leader, &tp()).unwrap();
    assert_eq!(log_end, 1, "NOT_ENOUGH_REPLICAS appends nothing");
    let accepted = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, 1, batch(2, &["c"])),
        10,
    );
    assert_eq!(
        produce_error_and_offset(&accepted),
        (0, 1),
        "acks=1 still works"
    );
    cluster.check_invariants();
}

#[test]
fn a_leader_that_stops_heartbeating_is_fenced_replaced_and_truncated_when_it_rejoins() {
    let mut cluster = Cluster::start(500);
    create_topic(&mut cluster, 0, &[]);
    let old = leader_index(&cluster);
    let first_epoch = cluster.partition(TOPIC, 0).leader_epoch;
    let replicated = cluster.call(
        old,
        9,
        produce_request(TOPIC, 0, -1, batch(0, &["a", "b"])),
        500,
    );
    assert_eq!(produce_error_and_offset(&replicated), (0, 0));
    cluster.isolate(old);
    // Accepted by the isolated leader, which still believes it leads: never replicated.
    let lost = cluster.call(
        old,
        9,
        produce_request(TOPIC, 0, 1, batch(1, &["lost"])),
        10,
    );
    assert_eq!(produce_error_and_offset(&lost), (0, 2));
    assert_eq!(cluster.replica_state(old, &tp()).unwrap().3, 3);
    let failover = cluster.run_until(3_000, |c| {
        c.partition(TOPIC, 0)
            .leader
            .is_some_and(|l| l != broker(old))
    });
    // The session began at its last heartbeat, at most one interval (200 ms) before.
    assert!(
        (SESSION_TIMEOUT_MS - 200..=SESSION_TIMEOUT_MS + 10).contains(&failover),
        "fenced at the session timeout: {failover} ms"
    );
    let partition = cluster.partition(TOPIC, 0);
    assert_eq!(partition.leader_epoch, first_epoch.next());
    assert!(!partition.isr.contains(&broker(old)));
    assert!(cluster.image().is_fenced(broker(old)));
    let new = leader_index(&cluster);
    cluster.run_until(1_000, |c| {
        c.replica_state(new, &tp()).unwrap().1 == Some(first_epoch.next().0)
    });
    let after = cluster.call(
        new,
        9,
        produce_request(TOPIC, 0, -1, batch(2, &["new"])),
        500,
    );
    assert_eq!(
        produce_error_and_offset(&after),
        (0, 2),
        "the new leader writes at 2"
    );
    cluster.heal();
    cluster.run_until(3_000, |c| {
        c.partition(TOPIC, 0).isr.len() == 3
            && (0..3).all(|i| c.replica_state(i, &tp()).unwrap().2 == 3)
    });
    let (leader, epoch, high_watermark, log_end) = cluster.replica_state(old, &tp()).unwrap();
    assert_eq!(leader, Some(broker(new)));
    assert_eq!(epoch, Some(first_epoch.next().0));
    assert_eq!(
        (high_watermark, log_end),
        (3, 3),
        "the unreplicated batch was truncated"
    );
    assert!(cluster.image().is_unfenced(broker(old)));
    let on_old = cluster.nodes[old]
        .partition_replica(&tp())
        .unwrap()
        .epochs()
        .entries()
        .to_vec();
    let on_new = cluster.nodes[new]
        .partition_replica(&tp())
        .unwrap()
        .epochs()
        .entries()
        .to_vec();
    assert_eq!(on_old, on_new, "the same epochs at the same offsets");
    let read = cluster.nodes[old]
        .partition_log(&tp())
        .unwrap()
        .read(odradek_core::record::Offset(2), 4096)
        .unwrap();
    let expected = cluster.nodes[new]
        .partition_log(&tp())
        .unwrap()
        .read(odradek_core::record::Offset(2), 4096)
        .unwrap();
    assert_eq!(
        read.records, expected.records,
        "offset 2 holds the new leader's batch"
    );
    cluster.check_invariants();
}

#[test]
fn a_restarted_follower_recovers_its_log_and_catches_up() {
    let mut cluster = Cluster::start(500);
    create_topic(&mut cluster, 0, &[]);
    let leader = leader_index(&cluster);
    let follower = (leader + 1) % 3;
    let first = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, -1, batch(0, &["a"])),
        500,
    );
    assert_eq!(produce_error_and_offset(&first), (0, 0));
    cluster.restart(follower);
    assert!(
        cluster.replica_state(follower, &tp()).is_none(),
        "no metadata yet"
    );
    cluster.run_until(1_000, |c| c.replica_state(follower, &tp()).is_some());
    let (_, _, high_watermark, log_end) = cluster.replica_state(follower, &tp()).unwrap();
    assert_eq!(
        (high_watermark, log_end),
        (0, 1),
        "its log recovered from disk"
    );
    let second = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, -1, batch(1, &["b"])),
        500,
    );
    assert_eq!(produce_error_and_offset(&second), (0, 1));
    cluster.run_until(1_000, |c| c.replica_state(follower, &tp()).unwrap().2 == 2);
    assert_eq!(isr_of(&cluster).len(), 3);
    cluster.check_invariants();
}

#[test]
fn a_lost_follower_fetch_is_given_up_and_sent_again() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let leader = leader_index(&cluster);
    let follower = (leader + 1) % 3;
    let first = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, -1, batch(0, &["a"])),
        500,
    );
    assert_eq!(produce_error_and_offset(&first), (0, 0));
    // Every message between the leader and one follower is lost for a while.
    cluster.cut_both(leader, follower);
    let waiting = cluster.send(
        leader,
        1,
        9,
        produce_request(TOPIC, 0, -1, batch(1, &["b"])),
    );
    cluster.run_ms(300);
    assert!(
        cluster.take_response(waiting).is_none(),
        "the follower has not fetched it"
    );
    cluster.heal();
    let recovered = cluster.run_until(2_000, |c| {
        c.responses
            .iter()
            .any(|(_, _, r)| r.correlation_id == waiting)
    });
    // The lost request is given up after replica_fetch_wait_max_ms +
    // controller_request_timeout_ms (1100 ms after it was sent), then sent again.
    assert!(recovered <= 1_100, "answered after {recovered} ms");
    let response = cluster.take_response(waiting).unwrap();
    assert_eq!(produce_error_and_offset(&response), (0, 1));
    assert_eq!(isr_of(&cluster).len(), 3);
    cluster.check_invariants();
}

#[test]
fn a_topic_deleted_at_the_controller_is_closed_and_its_directories_removed_everywhere() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let leader = leader_index(&cluster);
    let answer = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, -1, batch(0, &["x"])),
        500,
    );
    assert_eq!(produce_error_and_offset(&answer), (0, 0));
    let directory = tp().directory_name();
    for index in 0..3 {
        let dirs = cluster.nodes[index]
            .provider_mut()
            .list_directories()
            .unwrap();
        assert!(
            dirs.contains(&directory),
            "broker {index} has the partition's directory"
        );
    }
    cluster.delete_topic_at_controller(TOPIC);
    cluster.run_until(500, |c| (0..3).all(|i| c.replica_state(i, &tp()).is_none()));
    for index in 0..3 {
        let dirs = cluster.nodes[index]
            .provider_mut()
            .list_directories()
            .unwrap();
        assert!(
            !dirs.contains(&directory),
            "broker {index} removed {directory}"
        );
    }
    let refused = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, 1, batch(1, &["y"])),
        10,
    );
    assert_eq!(
        produce_error_and_offset(&refused),
        (KafkaErrorCode::UnknownTopicOrPartition.code(), -1)
    );
    cluster.check_invariants();
}

#[test]
fn a_forwarded_delete_topics_removes_the_topic_everywhere_and_a_retry_finds_it_unknown() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let follower = (leader_index(&cluster) + 1) % 3;
    let topic_id = cluster.image().topic_by_name(TOPIC).unwrap().topic_id;
    let delete = || {
        DeleteTopicsRequest::default().with_topics(vec![
            DeleteTopicState::default().with_name(Some(name(TOPIC)))
        ])
    };
    let answer = cluster.call(follower, 6, delete(), 200);
    let ResponseBody::DeleteTopics(deleted) = answer.body else {
        panic!("{answer:?}")
    };
    let result = &deleted.responses[0];
    assert_eq!(result.error_code, 0, "{deleted:?}");
    assert_eq!(result.name.as_ref().map(|n| n.0.as_str()), Some(TOPIC));
    assert_eq!(*result.topic_id.as_bytes(), topic_id.to_bytes());
    assert!(cluster.image().topic_by_name(TOPIC).is_none());
    cluster.run_until(500, |c| (0..3).all(|i| c.replica_state(i, &tp()).is_none()));
    let again = cluster.call(follower, 6, delete(), 200);
    let ResponseBody::DeleteTopics(again) = again.body else {
        panic!("{again:?}")
    };
    assert_eq!(
        again.responses[0].error_code,
        KafkaErrorCode::UnknownTopicOrPartition.code()
    );
    cluster.check_invariants();
}

#[test]
fn a_forwarded_create_partitions_adds_replicated_partitions_that_get_leaders_everywhere() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let grow = |count: i32| {
        CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name(TOPIC))
                .with_count(count)])
            .with_timeout_ms(1_000)
    };
    let answer = cluster.call(2, 3, grow(3), 200);
    let ResponseBody::CreatePartitions(grown) = answer.body else {
        panic!("{answer:?}")
    };
    assert_eq!(grown.results[0].error_code, 0, "{grown:?}");
    let topic = cluster.image().topic_by_name(TOPIC).unwrap().clone();
    assert_eq!(topic.partitions.len(), 3);
    cluster.run_until(1_000, |c| {
        (1..3).all(|p| {
            let leader = c.partition(TOPIC, p).leader;
            let tp = TopicPartition::new(TOPIC, p);
            leader.is_some()
                && (0..3).all(|i| c.replica_state(i, &tp).is_some_and(|s| s.0 == leader))
        })
    });
    assert_eq!(cluster.partition(TOPIC, 2).replicas.len(), 3);
    let shrink = cluster.call(2, 3, grow(2), 200);
    let ResponseBody::CreatePartitions(refused) = shrink.body else {
        panic!("{shrink:?}")
    };
    assert_eq!(
        refused.results[0].error_code,
        KafkaErrorCode::InvalidPartitions.code()
    );
    cluster.check_invariants();
}

#[test]
fn a_partition_moved_off_its_leader_keeps_every_acknowledged_record_and_the_old_replica_is_removed()
{
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[("min.insync.replicas", "2")]);
    let old_leader = leader_index(&cluster);
    let answer = cluster.call(
        old_leader,
        9,
        produce_request(TOPIC, 0, -1, batch(0, &["x", "y"])),
        500,
    );
    assert_eq!(produce_error_and_offset(&answer), (0, 0));
    let target: Vec<i32> = (0..3)
        .filter(|i| *i != old_leader)
        .map(|i| broker(i).0)
        .collect();
    cluster.reassign_at_controller(TOPIC, 0, &target);
    let moved = cluster.partition(TOPIC, 0);
    assert!(
        !moved.is_reassigning(),
        "the target was in sync: done at once"
    );
    assert_eq!(
        moved.replicas,
        target.iter().map(|b| BrokerId(*b)).collect::<Vec<_>>()
    );
    let new_leader = leader_index(&cluster);
    assert_ne!(new_leader, old_leader);
    cluster.run_until(500, |c| {
        c.replica_state(old_leader, &tp()).is_none()
            && c.replica_state(new_leader, &tp())
                .is_some_and(|s| s.0 == moved.leader)
    });
    let dirs = cluster.nodes[old_leader]
        .provider_mut()
        .list_directories()
        .unwrap();
    assert!(!dirs.contains(&tp().directory_name()), "{dirs:?}");
    let answer = cluster.call(
        new_leader,
        9,
        produce_request(TOPIC, 0, -1, batch(2, &["z"])),
        500,
    );
    assert_eq!(produce_error_and_offset(&answer), (0, 2));
    let fetched = cluster.call(new_leader, 12, fetch_request(TOPIC, 0, 0, 0, 1), 10);
    let ResponseBody::Fetch(fetch) = &fetched.body else {
        panic!("{fetched:?}")
    };
    assert_eq!(fetch.responses[0].partitions[0].high_watermark, 3);
    cluster.check_invariants();
}

/// Lists every running move through broker `via`, as (partition, replicas, adding).
fn list_moves_via(cluster: &mut Cluster, via: usize) -> Vec<(i32, Vec<i32>, Vec<i32>)> {
    let request = ListPartitionReassignmentsRequest::default().with_topics(None);
    let correlation = cluster.send(via, 1, 0, request);
    assert!(
        cluster.take_response(correlation).is_none(),
        "answered by the controller, not at once from the broker's image"
    );
    cluster.run_until(100, |c| {
        c.responses
            .iter()
            .any(|(_, _, r)| r.correlation_id == correlation)
    });
    let response = cluster.take_response(correlation).unwrap();
    let ResponseBody::ListPartitionReassignments(list) = response.body else {
        panic!("{response:?}")
    };
    let ids = |list: &[odradek_core::wire::kafka_protocol::messages::BrokerId]| {
        list.iter().map(|b| b.0).collect::<Vec<i32>>()
    };
    list.topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| (p.partition_index, ids(&p.replicas), ids(&p.adding_replicas)))
        .collect()
}

#[test]
fn a_forwarded_list_partition_reassignments_shows_the_running_move_until_it_completes() {
    let mut cluster = Cluster::start(3_000);
    let request = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("pair"))
        .with_num_partitions(1)
        .with_replication_factor(2)]);
    cluster.call(0, 7, request, 100);
    let tp = TopicPartition::new("pair", 0);
    cluster.run_until(1_000, |c| {
        let leader = c.partition("pair", 0).leader;
        leader.is_some_and(|l| {
            c.replica_state(index_of(l), &tp)
                .is_some_and(|s| s.0 == leader)
        })
    });
    let replicas = cluster.partition("pair", 0).replicas;
    let outsider = (0..3).find(|i| !replicas.contains(&broker(*i))).unwrap();
    let (kept, dropped) = (replicas[0].0, replicas[1].0);
    let asked = index_of(replicas[0]);
    assert_eq!(list_moves_via(&mut cluster, asked), vec![]);
    cluster.isolate(outsider);
    let target = [kept, broker(outsider).0];
    cluster.reassign_at_controller("pair", 0, &target);
    assert_eq!(
        list_moves_via(&mut cluster, asked),
        vec![(
            0,
            vec![kept, broker(outsider).0, dropped],
            vec![broker(outsider).0]
        )],
        "the new replica cannot catch up while it is cut off"
    );
    cluster.heal();
    cluster.run_until(5_000, |c| !c.partition("pair", 0).is_reassigning());
    assert_eq!(list_moves_via(&mut cluster, asked), vec![]);
}

#[test]
fn a_controlled_shutdown_hands_leadership_over_long_before_the_session_would_expire() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster, 0, &[]);
    let stopping = leader_index(&cluster);
    let now = cluster.now;
    cluster.nodes[stopping].begin_controlled_shutdown(now);
    assert!(!cluster.nodes[stopping].controlled_shutdown_done());
    let took = cluster.run_until(SESSION_TIMEOUT_MS, |c| {
        c.nodes[stopping].controlled_shutdown_done()
    });
    assert!(took < SESSION_TIMEOUT_MS / 10, "took {took} ms");
    let partition = cluster.partition(TOPIC, 0);
    assert!(cluster.image().is_fenced(broker(stopping)));
    assert_ne!(partition.leader, Some(broker(stopping)));
    assert!(!partition.isr.contains(&broker(stopping)));
    let (known_leader, ..) = cluster.replica_state(stopping, &tp()).unwrap();
    assert_eq!(
        known_leader, partition.leader,
        "the stopping broker knows it"
    );
    let new_leader = leader_index(&cluster);
    cluster.run_until(100, |c| {
        c.replica_state(new_leader, &tp())
            .is_some_and(|s| s.0 == partition.leader)
    });
    let records = batch(1_000, &["after"]);
    let response = cluster.call(new_leader, 9, produce_request(TOPIC, 0, -1, records), 500);
    assert_eq!(produce_error_and_offset(&response), (0, 0));
    cluster.run_ms(50);
    assert!(
        cluster.nodes[stopping].controlled_shutdown_done(),
        "its heartbeats keep asking, so it stays fenced"
    );
    assert!(cluster.image().is_fenced(broker(stopping)));
    cluster.check_invariants();
}

#[test]
fn a_standalone_broker_may_stop_at_once() {
    let mut harness = node_support::Harness::new();
    let now = harness.now;
    harness.node.begin_controlled_shutdown(now);
    assert!(harness.node.controlled_shutdown_done());
}
