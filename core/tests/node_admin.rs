//! ApiVersions, Metadata, topic administration, partition moves and ListOffsets through the
//! node.

mod node_support;

use node_support::*;
use odradek_core::node::{ConnectionId, NodeConfig, NodeInput};
use odradek_core::wire::kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use odradek_core::wire::kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use odradek_core::wire::kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use odradek_core::wire::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use odradek_core::wire::kafka_protocol::messages::{
    ApiVersionsRequest, BrokerId, CreatePartitionsRequest, DeleteTopicsRequest,
    DescribeClusterRequest, DescribeConfigsRequest, ListOffsetsRequest, MetadataRequest,
};
use odradek_core::wire::{decode_request, ResponseBody, SUPPORTED_APIS};

fn metadata_topics(
    h: &mut Harness,
    version: i16,
    request: MetadataRequest,
) -> Vec<(String, i16, usize)> {
    let ResponseBody::Metadata(response) = h.call(version, request) else {
        panic!()
    };
    response
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
                t.error_code,
                t.partitions.len(),
            )
        })
        .collect()
}

#[test]
fn api_versions_advertises_the_supported_table_at_every_version() {
    let mut h = Harness::new();
    for version in 0..=4 {
        let ResponseBody::ApiVersions(response) = h.call(version, ApiVersionsRequest::default())
        else {
            panic!()
        };
        assert_eq!(response.error_code, 0);
        assert_eq!(response.api_keys.len(), SUPPORTED_APIS.len());
    }
}

#[test]
fn a_too_new_api_versions_request_gets_the_kip_511_answer() {
    let mut h = Harness::new();
    let mut frame = Vec::new();
    frame.extend_from_slice(&18i16.to_be_bytes());
    frame.extend_from_slice(&99i16.to_be_bytes());
    frame.extend_from_slice(&77i32.to_be_bytes());
    frame.extend_from_slice(&(-1i16).to_be_bytes());
    let error = decode_request(bytes::Bytes::from(frame)).unwrap_err();
    h.node.handle(
        h.now,
        NodeInput::Undecodable {
            connection: ConnectionId(3),
            error,
        },
    );
    let drained = h.drain();
    let ResponseBody::ApiVersions(response) = &drained.answers[0].body else {
        panic!()
    };
    assert_eq!(
        (drained.answers[0].correlation_id, response.error_code),
        (77, 35)
    );
    assert_eq!(response.api_keys.len(), SUPPORTED_APIS.len());
    assert!(drained.closed.is_empty());
}

#[test]
fn an_undecodable_request_closes_the_connection() {
    let mut h = Harness::new();
    let error =
        decode_request(bytes::Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 9, 0xff])).unwrap_err();
    h.node.handle(
        h.now,
        NodeInput::Undecodable {
            connection: ConnectionId(4),
            error,
        },
    );
    assert_eq!(h.drain().closed, vec![ConnectionId(4)]);
}

#[test]
fn a_created_topic_shows_in_metadata_led_by_this_node_at_old_and_new_versions() {
    let mut h = Harness::new();
    h.create_topic("orders", 3, &[]);
    for version in [0, 1, 4, 9, 12] {
        let ResponseBody::Metadata(response) = h.call(version, metadata_request(&["orders"]))
        else {
            panic!()
        };
        assert_eq!(response.brokers.len(), 1);
        assert_eq!(
            (response.brokers[0].node_id, response.brokers[0].port),
            (BrokerId(0), 9092)
        );
        let topic = &response.topics[0];
        assert_eq!((topic.error_code, topic.partitions.len()), (0, 3));
        for (index, partition) in topic.partitions.iter().enumerate() {
            assert_eq!(partition.partition_index, index as i32);
            assert_eq!(partition.leader_id, BrokerId(0));
            assert_eq!(partition.replica_nodes, vec![BrokerId(0)]);
            assert_eq!(partition.isr_nodes, vec![BrokerId(0)]);
        }
    }
    assert_eq!(
        metadata_topics(&mut h, 12, MetadataRequest::default().with_topics(None)),
        vec![("orders".into(), 0, 3)]
    );
}

#[test]
fn metadata_and_produce_auto_create_missing_topics_when_allowed() {
    let mut h = Harness::new();
    assert_eq!(
        metadata_topics(&mut h, 12, metadata_request(&["auto"])),
        vec![("auto".into(), 0, 1)]
    );
    h.call(9, produce_request("by-produce", 0, 1, batch(0, &["x"])));
    let names: Vec<String> =
        metadata_topics(&mut h, 12, MetadataRequest::default().with_topics(None))
            .into_iter()
            .map(|t| t.0)
            .collect();
    assert_eq!(names, vec!["auto".to_owned(), "by-produce".to_owned()]);
}

#[test]
fn unknown_topics_are_errors_when_auto_create_is_off() {
    let mut config = NodeConfig::default();
    config.controller.auto_create_topics_enable = false;
    let mut h = Harness::with_config(config);
    assert_eq!(
        metadata_topics(&mut h, 12, metadata_request(&["missing"])),
        vec![("missing".into(), 3, 0)]
    );
    let ResponseBody::Produce(response) =
        h.call(9, produce_request("missing", 0, 1, batch(0, &["x"])))
    else {
        panic!()
    };
    assert_eq!(response.responses[0].partition_responses[0].error_code, 3);
}

#[test]
fn creating_an_existing_topic_or_a_bad_config_is_refused_with_kafka_codes() {
    let mut h = Harness::new();
    h.create_topic("t", 1, &[]);
    use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
        CreatableTopic, CreatableTopicConfig,
    };
    let request = odradek_core::wire::kafka_protocol::messages::CreateTopicsRequest::default()
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(name("t"))
                .with_num_partitions(1)
                .with_replication_factor(1),
            CreatableTopic::default()
                .with_name(name("u"))
                .with_num_partitions(1)
                .with_replication_factor(1)
                .with_configs(vec![CreatableTopicConfig::default()
                    .with_name(text("no.such"))
                    .with_value(Some(text("1")))]),
            CreatableTopic::default()
                .with_name(name("__cluster_metadata"))
                .with_num_partitions(1)
                .with_replication_factor(1),
        ]);
    let ResponseBody::CreateTopics(response) = h.call(7, request) else {
        panic!()
    };
    let codes: Vec<i16> = response.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![36, 40, 17]);
}

#[test]
fn a_deleted_topic_is_gone_from_metadata_and_its_partitions() {
    let mut h = Harness::new();
    h.create_topic("doomed", 2, &[]);
    h.call(9, produce_request("doomed", 1, 1, batch(0, &["x"])));
    let request =
        DeleteTopicsRequest::default().with_topic_names(vec![name("doomed"), name("never")]);
    let ResponseBody::DeleteTopics(response) = h.call(5, request) else {
        panic!()
    };
    let codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, 3]);
    assert!(h.node.partition_names().is_empty());
    let mut config = NodeConfig::default();
    config.controller.auto_create_topics_enable = false;
    let request = DeleteTopicsRequest::default().with_topics(vec![
        DeleteTopicState::default().with_name(Some(name("doomed")))
    ]);
    let ResponseBody::DeleteTopics(response) = h.call(6, request) else {
        panic!()
    };
    assert_eq!(response.responses[0].error_code, 3);
    let ResponseBody::Fetch(fetch) = h.call(12, fetch_request("doomed", 1, 0, 0, 1)) else {
        panic!()
    };
    assert_eq!(fetch.responses[0].partitions[0].error_code, 3);
}

#[test]
fn create_partitions_adds_partitions_that_take_produce() {
    let mut h = Harness::new();
    h.create_topic("grow", 1, &[]);
    let request =
        CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name("grow"))
            .with_count(3)]);
    let ResponseBody::CreatePartitions(response) = h.call(3, request) else {
        panic!()
    };
    assert_eq!(response.results[0].error_code, 0);
    assert_eq!(
        metadata_topics(&mut h, 12, metadata_request(&["grow"])),
        vec![("grow".into(), 0, 3)]
    );
    let ResponseBody::Produce(produced) =
        h.call(9, produce_request("grow", 2, 1, batch(0, &["x"])))
    else {
        panic!()
    };
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);
}

#[test]
fn describe_configs_reports_topic_overrides_and_defaults() {
    let mut h = Harness::new();
    h.create_topic("cfg", 1, &[("retention.ms", "1000")]);
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(text("cfg"))
            .with_configuration_keys(Some(vec![text("retention.ms"), text("segment.bytes")]))]);
    let ResponseBody::DescribeConfigs(response) = h.call(4, request) else {
        panic!()
    };
    let configs: Vec<(String, String, i8)> = response.results[0]
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.value.as_ref().unwrap().to_string(),
                c.config_source,
            )
        })
        .collect();
    assert_eq!(
        configs,
        vec![
            ("retention.ms".into(), "1000".into(), 1),
            ("segment.bytes".into(), "1073741824".into(), 5)
        ]
    );
    let log = h
        .node
        .partition_log(&odradek_core::node::TopicPartition::new("cfg", 0))
        .unwrap();
    assert_eq!(log.config().retention_ms, Some(1000));
}

#[test]
fn describe_cluster_lists_this_broker() {
    let mut h = Harness::new();
    let ResponseBody::DescribeCluster(response) = h.call(1, DescribeClusterRequest::default())
    else {
        panic!()
    };
    assert_eq!(
        (response.error_code, response.cluster_id.to_string()),
        (0, "odradek".to_owned())
    );
    assert_eq!(response.brokers[0].broker_id, BrokerId(0));
}

#[test]
fn describe_cluster_for_controllers_is_a_mismatch_and_an_unknown_type_unsupported() {
    let mut h = Harness::new();
    let mut codes = Vec::new();
    for endpoint_type in [1, 2, 0, 7] {
        let request = DescribeClusterRequest::default().with_endpoint_type(endpoint_type);
        let ResponseBody::DescribeCluster(response) = h.call(1, request) else {
            panic!()
        };
        codes.push(response.error_code);
    }
    // NONE, MISMATCHED_ENDPOINT_TYPE, UNSUPPORTED_ENDPOINT_TYPE twice (Kafka's AuthHelper).
    assert_eq!(codes, vec![0, 114, 115, 115]);
}

#[test]
fn list_offsets_answers_earliest_latest_and_by_timestamp() {
    let mut h = Harness::new();
    h.create_topic("times", 1, &[]);
    h.call(9, produce_request("times", 0, 1, batch(1_000, &["a", "b"])));
    h.call(9, produce_request("times", 0, 1, batch(5_000, &["c"])));
    let ask = |timestamp: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name("times"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp)])])
    };
    let mut answers = Vec::new();
    for (version, timestamp) in [(1, -2), (7, -1), (4, 1_001), (7, 2_000), (7, 9_000)] {
        let ResponseBody::ListOffsets(response) = h.call(version, ask(timestamp)) else {
            panic!()
        };
        let p = &response.topics[0].partitions[0];
        answers.push((p.error_code, p.offset, p.timestamp));
    }
    assert_eq!(
        answers,
        vec![
            (0, 0, -1),
            (0, 3, -1),
            (0, 1, 1_001),
            (0, 2, 5_000),
            (0, -1, -1)
        ]
    );
}

#[test]
fn list_offsets_max_timestamp_answers_the_newest_record_or_minus_one_when_empty() {
    let mut h = Harness::new();
    h.create_topic("newest", 1, &[]);
    let ask = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name("newest"))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-3)])]);
    let answer = |h: &mut Harness| {
        let ResponseBody::ListOffsets(response) = h.call(7, ask.clone()) else {
            panic!()
        };
        let p = &response.topics[0].partitions[0];
        (p.error_code, p.offset, p.timestamp)
    };
    let empty = answer(&mut h);
    h.call(
        9,
        produce_request("newest", 0, 1, batch(1_000, &["a", "b"])),
    );
    h.call(
        9,
        produce_request("newest", 0, 1, batch(5_000, &["c", "d"])),
    );
    h.call(9, produce_request("newest", 0, 1, batch(2_000, &["e"])));
    assert_eq!((empty, answer(&mut h)), ((0, -1, -1), (0, 3, 5_001)));
}

#[test]
fn topic_configs_become_the_partition_log_configuration() {
    use odradek_core::log::FlushPolicy;
    let mut h = Harness::new();
    let configs = [
        ("retention.ms", "-1"),
        ("retention.bytes", "1000000"),
        ("segment.bytes", "2000"),
        ("segment.ms", "5000"),
        ("flush.ms", "250"),
    ];
    h.create_topic("tuned", 1, &configs);
    h.create_topic("plain", 1, &[]);
    let tuned = h
        .node
        .partition_log(&odradek_core::node::TopicPartition::new("tuned", 0))
        .unwrap()
        .config()
        .clone();
    assert_eq!(tuned.retention_ms, None);
    assert_eq!(tuned.retention_bytes, Some(1_000_000));
    assert_eq!((tuned.segment_bytes, tuned.segment_ms), (2000, 5000));
    assert_eq!(tuned.flush_policy, FlushPolicy::IntervalMs(250));
    let plain = h
        .node
        .partition_log(&odradek_core::node::TopicPartition::new("plain", 0))
        .unwrap()
        .config()
        .clone();
    assert_eq!(plain.retention_ms, Some(604_800_000));
    assert_eq!(plain.retention_bytes, None);
    assert_eq!(plain.flush_policy, FlushPolicy::Never);
}

#[test]
fn list_offsets_latest_is_the_durable_offset_when_the_topic_syncs() {
    let mut h = Harness::new();
    h.create_topic("synced", 1, &[("flush.messages", "1")]);
    let ask = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name("synced"))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let latest = |h: &mut Harness| {
        let ResponseBody::ListOffsets(response) = h.call(7, ask.clone()) else {
            panic!()
        };
        response.topics[0].partitions[0].offset
    };
    h.send(1, 9, produce_request("synced", 0, 1, batch(0, &["a", "b"])));
    let syncs = h.drain().syncs;
    assert_eq!(syncs.len(), 1);
    assert_eq!(latest(&mut h), 0, "nothing is durable before the sync");
    h.perform_syncs(&syncs);
    assert_eq!(latest(&mut h), 2);
}

/// The per-partition error code and message of an AlterPartitionReassignments v1 moving
/// partition 0 of `topic` onto `replicas`.
fn move_v1(h: &mut Harness, topic: &str, replicas: &[i32], allow_change: bool) -> (i16, String) {
    use odradek_core::wire::kafka_protocol::messages::alter_partition_reassignments_request::{
        ReassignablePartition, ReassignableTopic,
    };
    use odradek_core::wire::kafka_protocol::messages::AlterPartitionReassignmentsRequest;
    let partition = ReassignablePartition::default()
        .with_partition_index(0)
        .with_replicas(Some(replicas.iter().map(|b| BrokerId(*b)).collect()));
    let request = AlterPartitionReassignmentsRequest::default()
        .with_allow_replication_factor_change(allow_change)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![partition])]);
    let ResponseBody::AlterPartitionReassignments(response) = h.call(1, request) else {
        panic!()
    };
    assert_eq!(response.allow_replication_factor_change, allow_change);
    let answer = &response.responses[0].partitions[0];
    let message = answer.error_message.as_ref().map(|m| m.to_string());
    (answer.error_code, message.unwrap_or_default())
}

#[test]
fn alter_partition_reassignments_v1_refuses_a_replication_factor_change_unless_allowed() {
    let mut h = Harness::new();
    h.create_topic("moved", 1, &[]);
    let (code, message) = move_v1(&mut h, "moved", &[0, 1], false);
    assert_eq!(code, 38, "INVALID_REPLICATION_FACTOR: {message}");
    assert!(message.contains("does not allow"), "{message}");
    let (code, message) = move_v1(&mut h, "moved", &[0, 1], true);
    assert_eq!(
        code, 39,
        "allowed, then INVALID_REPLICA_ASSIGNMENT: {message}"
    );
    assert!(message.contains("unknown broker 1"), "{message}");
    assert_eq!(move_v1(&mut h, "moved", &[0], false).0, 0);
}
