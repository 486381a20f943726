//! Cluster mode: Kafka's leader-epoch checks on client and follower requests, the admin
//! writes not forwarded yet, and the standalone mode left as it was.

mod node_cluster_support;
mod node_support;

use node_cluster_support::*;
use node_support::{batch, fetch_request, name, produce_request, Harness};
use odradek_core::controller::BrokerId;
use odradek_core::node::{TopicPartition, FOLLOWER_FETCH_VERSION};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::CreatableTopic;
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use odradek_core::wire::kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, FetchRequest, ListOffsetsRequest, MetadataRequest,
};
use odradek_core::wire::{KafkaErrorCode, ResponseBody};

const TOPIC: &str = "epochs";

fn create_topic(cluster: &mut Cluster) {
    let request = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name(TOPIC))
        .with_num_partitions(1)
        .with_replication_factor(3)]);
    let response = cluster.call(0, 7, request, 100);
    let ResponseBody::CreateTopics(created) = response.body else {
        panic!("{response:?}")
    };
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
    let tp = TopicPartition::new(TOPIC, 0);
    cluster.run_until(1_000, |c| {
        let leader = c.partition(TOPIC, 0).leader;
        (0..3).all(|i| c.replica_state(i, &tp).is_some_and(|s| s.0 == leader))
    });
}

fn leader_and_epoch(cluster: &Cluster) -> (usize, i32) {
    let partition = cluster.partition(TOPIC, 0);
    (
        index_of(partition.leader.unwrap()),
        partition.leader_epoch.0,
    )
}

fn consumer_fetch_code(cluster: &mut Cluster, node: usize, current_leader_epoch: i32) -> i16 {
    let mut request = fetch_request(TOPIC, 0, 0, 0, 1);
    request.topics[0].partitions[0].current_leader_epoch = current_leader_epoch;
    let response = cluster.call(node, 12, request, 10);
    let ResponseBody::Fetch(fetch) = response.body else {
        panic!()
    };
    fetch.responses[0].partitions[0].error_code
}

fn list_offsets_code(cluster: &mut Cluster, node: usize, current_leader_epoch: i32) -> i16 {
    let request = ListOffsetsRequest::default()
        .with_replica_id(odradek_core::wire::kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(TOPIC))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_current_leader_epoch(current_leader_epoch)
                .with_timestamp(-1)])]);
    let response = cluster.call(node, 7, request, 10);
    let ResponseBody::ListOffsets(list) = response.body else {
        panic!()
    };
    list.topics[0].partitions[0].error_code
}

#[test]
fn consumer_fetch_and_list_offsets_check_the_current_leader_epoch() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster);
    let (leader, epoch) = leader_and_epoch(&cluster);
    let follower = (leader + 1) % 3;
    assert_eq!(consumer_fetch_code(&mut cluster, leader, epoch), 0);
    assert_eq!(consumer_fetch_code(&mut cluster, leader, -1), 0);
    assert_eq!(
        consumer_fetch_code(&mut cluster, leader, epoch + 1),
        KafkaErrorCode::UnknownLeaderEpoch.code()
    );
    assert_eq!(
        consumer_fetch_code(&mut cluster, follower, epoch),
        KafkaErrorCode::NotLeaderOrFollower.code()
    );
    assert_eq!(list_offsets_code(&mut cluster, leader, epoch), 0);
    assert_eq!(
        list_offsets_code(&mut cluster, leader, epoch + 1),
        KafkaErrorCode::UnknownLeaderEpoch.code()
    );
    assert_eq!(
        list_offsets_code(&mut cluster, follower, -1),
        KafkaErrorCode::NotLeaderOrFollower.code()
    );
}

#[test]
fn an_older_current_leader_epoch_is_fenced_after_a_leader_change() {
    let mut cluster = Cluster::start(500);
    create_topic(&mut cluster);
    let (old, first_epoch) = leader_and_epoch(&cluster);
    cluster.isolate(old);
    cluster.run_until(3_000, |c| {
        c.partition(TOPIC, 0)
            .leader
            .is_some_and(|l| l != broker(old))
    });
    let (new, epoch) = leader_and_epoch(&cluster);
    assert_eq!(epoch, first_epoch + 1);
    let tp = TopicPartition::new(TOPIC, 0);
    cluster.run_until(1_000, |c| {
        c.replica_state(new, &tp).unwrap().1 == Some(epoch)
    });
    assert_eq!(
        consumer_fetch_code(&mut cluster, new, first_epoch),
        KafkaErrorCode::FencedLeaderEpoch.code()
    );
    assert_eq!(
        list_offsets_code(&mut cluster, new, first_epoch),
        KafkaErrorCode::FencedLeaderEpoch.code()
    );
}

/// A follower fetch as a peer broker would send it, delivered as a client request.
fn follower_fetch(replica: BrokerId, current_leader_epoch: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(odradek_core::wire::kafka_protocol::messages::BrokerId(
            replica.0,
        ))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(TOPIC))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(current_leader_epoch)
                .with_fetch_offset(0)
                .with_last_fetched_epoch(-1)
                .with_partition_max_bytes(1 << 20)])])
}

fn follower_fetch_code(cluster: &mut Cluster, node: usize, replica: BrokerId, epoch: i32) -> i16 {
    let request = follower_fetch(replica, epoch);
    let response = cluster.call(node, FOLLOWER_FETCH_VERSION, request, 10);
    let ResponseBody::Fetch(fetch) = response.body else {
        panic!()
    };
    fetch.responses[0].partitions[0].error_code
}

#[test]
fn the_leader_answers_follower_fetches_with_kafka_epoch_errors() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster);
    let (leader, epoch) = leader_and_epoch(&cluster);
    let follower = (leader + 1) % 3;
    let answered = cluster.call(
        leader,
        9,
        produce_request(TOPIC, 0, 1, batch(0, &["x"])),
        10,
    );
    let ResponseBody::Produce(_) = answered.body else {
        panic!()
    };
    assert_eq!(
        follower_fetch_code(&mut cluster, leader, broker(follower), epoch - 1),
        KafkaErrorCode::FencedLeaderEpoch.code()
    );
    assert_eq!(
        follower_fetch_code(&mut cluster, leader, broker(follower), epoch + 1),
        KafkaErrorCode::UnknownLeaderEpoch.code()
    );
    assert_eq!(
        follower_fetch_code(&mut cluster, follower, broker(leader), epoch),
        KafkaErrorCode::NotLeaderOrFollower.code()
    );
    let response = cluster.call(
        leader,
        FOLLOWER_FETCH_VERSION,
        follower_fetch(broker(follower), epoch),
        10,
    );
    let ResponseBody::Fetch(fetch) = response.body else {
        panic!()
    };
    let partition = &fetch.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    assert!(!partition.records.as_ref().unwrap().is_empty());
}

#[test]
fn delete_topics_v4_by_name_is_forwarded_and_answered_by_name() {
    let mut cluster = Cluster::start(3_000);
    create_topic(&mut cluster);
    let request = DeleteTopicsRequest::default().with_topic_names(vec![name(TOPIC)]);
    let response = cluster.call(1, 4, request, 200);
    let ResponseBody::DeleteTopics(deleted) = response.body else {
        panic!()
    };
    assert_eq!(deleted.responses[0].error_code, 0, "{deleted:?}");
    assert_eq!(
        deleted.responses[0].name.as_ref().map(|n| n.0.as_str()),
        Some(TOPIC)
    );
    assert!(cluster.image().topic_by_name(TOPIC).is_none());
}

#[test]
fn a_cluster_broker_does_not_auto_create_topics() {
    let mut cluster = Cluster::start(3_000);
    let request = MetadataRequest::default()
        .with_topics(Some(vec![
            odradek_core::wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                .with_name(Some(name("missing"))),
        ]))
        .with_allow_auto_topic_creation(true);
    let response = cluster.call(0, 9, request, 10);
    let ResponseBody::Metadata(metadata) = response.body else {
        panic!()
    };
    assert_eq!(
        metadata.topics[0].error_code,
        KafkaErrorCode::UnknownTopicOrPartition.code()
    );
    cluster.run_ms(50);
    assert!(cluster.image().topic_by_name("missing").is_none());
}

#[test]
fn a_standalone_node_still_leads_every_partition_alone_and_answers_acks_all_after_the_append() {
    let mut h = Harness::new();
    h.create_topic("solo", 1, &[]);
    let answer = h.call(9, produce_request("solo", 0, -1, batch(0, &["a", "b"])));
    let ResponseBody::Produce(produce) = answer else {
        panic!()
    };
    let partition = &produce.responses[0].partition_responses[0];
    assert_eq!((partition.error_code, partition.base_offset), (0, 0));
    let tp = TopicPartition::new("solo", 0);
    let replica = h.node.partition_replica(&tp).unwrap();
    assert!(replica.is_leader());
    assert_eq!(
        replica.leader(),
        Some(BrokerId(odradek_core::node::NODE_ID))
    );
    assert_eq!(replica.high_watermark().0, 2);
    let epoch = replica.leader_epoch().unwrap().0;
    let metadata = h.call(9, node_support::metadata_request(&["solo"]));
    let ResponseBody::Metadata(metadata) = metadata else {
        panic!()
    };
    let partition = &metadata.topics[0].partitions[0];
    assert_eq!(partition.leader_id.0, 0);
    assert_eq!(partition.leader_epoch, epoch);
    assert_eq!(partition.isr_nodes.len(), 1);
    assert!(h.node.is_unfenced());
}
