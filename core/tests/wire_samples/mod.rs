//! Sample requests and responses for the wire tests: one populated body per supported api and
//! version (nested arrays with two elements each, non-default values in every field that the
//! version has), plus framing helpers.

#![allow(dead_code)]

use bytes::{Buf, Bytes, BytesMut};
use odradek_core::wire::kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use odradek_core::wire::kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use odradek_core::wire::kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use odradek_core::wire::kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use odradek_core::wire::kafka_protocol::messages::fetch_request::{
    FetchPartition, FetchTopic, ForgottenTopic,
};
use odradek_core::wire::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use odradek_core::wire::kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use odradek_core::wire::kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use odradek_core::wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use odradek_core::wire::kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::*;
use odradek_core::wire::kafka_protocol::messages::{
    api_versions_response::SupportedFeatureKey,
    create_partitions_response::CreatePartitionsTopicResult,
    create_topics_response::{CreatableTopicConfigs, CreatableTopicResult},
    delete_topics_response::DeletableTopicResult,
    describe_cluster_response::DescribeClusterBroker,
    describe_configs_response::{
        DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
    },
    fetch_response::{AbortedTransaction, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData},
    list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse},
    produce_response::{PartitionProduceResponse, TopicProduceResponse},
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{
    api_versions_response, encode_request, KafkaErrorCode, RequestBody, ResponseBody,
};

pub fn text(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

pub fn topic(s: &'static str) -> TopicName {
    TopicName(text(s))
}

/// A request header for `api_key` at `version` with a fixed client id.
pub fn header(api_key: ApiKey, version: i16, correlation_id: i32) -> RequestHeader {
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(text("odradek-test")))
}

/// The frame (size prefix removed) of a request encoded with the client helper.
pub fn request_frame(api_key: ApiKey, version: i16, correlation_id: i32) -> Bytes {
    let body = sample_request(api_key, version);
    let framed = encode_request(&header(api_key, version, correlation_id), &body)
        .expect("sample requests encode");
    strip_size_prefix(framed)
}

/// Checks the size prefix of `framed` and returns the frame after it.
pub fn strip_size_prefix(framed: BytesMut) -> Bytes {
    let mut frame = framed.freeze();
    let size = frame.get_i32();
    assert_eq!(
        size as usize,
        frame.len(),
        "size prefix matches the frame length"
    );
    frame
}

/// Lowercase hex of `bytes`, 32 bytes per line (for snapshots).
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(|line| line.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A populated request body of `api_key` valid at `version`.
pub fn sample_request(api_key: ApiKey, v: i16) -> RequestBody {
    match api_key {
        ApiKey::Produce => produce(v).into(),
        ApiKey::Fetch => fetch(v).into(),
        ApiKey::ListOffsets => list_offsets(v).into(),
        ApiKey::Metadata => metadata(v).into(),
        ApiKey::ApiVersions => api_versions(v).into(),
        ApiKey::CreateTopics => create_topics(v).into(),
        ApiKey::DeleteTopics => delete_topics(v).into(),
        ApiKey::DescribeConfigs => describe_configs(v).into(),
        ApiKey::CreatePartitions => create_partitions(v).into(),
        ApiKey::AlterPartitionReassignments => alter_partition_reassignments().into(),
        ApiKey::ListPartitionReassignments => ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(Some(vec![ListPartitionReassignmentsTopics::default()
                .with_name(topic("orders"))
                .with_partition_indexes(vec![0, 2])]))
            .into(),
        ApiKey::DescribeCluster => DescribeClusterRequest::default()
            .with_include_cluster_authorized_operations(true)
            .with_endpoint_type(if v >= 1 { 2 } else { 1 })
            .into(),
        other => panic!("no sample for {other:?}"),
    }
}

/// A move, a cancellation (null replicas) and a second topic.
fn alter_partition_reassignments() -> AlterPartitionReassignmentsRequest {
    let partition = |index: i32, replicas: Option<Vec<i32>>| {
        ReassignablePartition::default()
            .with_partition_index(index)
            .with_replicas(replicas.map(|ids| ids.into_iter().map(BrokerId).collect()))
    };
    AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            ReassignableTopic::default()
                .with_name(topic("orders"))
                .with_partitions(vec![partition(0, Some(vec![2, 3, 1])), partition(1, None)]),
            ReassignableTopic::default()
                .with_name(topic("audit"))
                .with_partitions(vec![partition(0, Some(vec![4]))]),
        ])
}

fn produce(_v: i16) -> ProduceRequest {
    let partition = |index: i32| {
        PartitionProduceData::default()
            .with_index(index)
            .with_records(Some(Bytes::from_static(b"opaque record batch bytes")))
    };
    let topic_data = |name: &'static str| {
        TopicProduceData::default()
            .with_name(topic(name))
            .with_partition_data(vec![partition(0), partition(7)])
    };
    ProduceRequest::default()
        .with_transactional_id(Some(TransactionalId(text("txn-1"))))
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![topic_data("orders"), topic_data("payments")])
}

fn fetch(v: i16) -> FetchRequest {
    let partition = |index: i32| {
        let mut p = FetchPartition::default()
            .with_partition(index)
            .with_fetch_offset(42)
            .with_partition_max_bytes(1 << 20);
        if v >= 9 {
            p = p.with_current_leader_epoch(3);
        }
        if v >= 12 {
            p = p.with_last_fetched_epoch(2);
        }
        if v >= 5 {
            p = p.with_log_start_offset(1);
        }
        p
    };
    let fetch_topic = |name: &'static str| {
        FetchTopic::default()
            .with_topic(topic(name))
            .with_partitions(vec![partition(0), partition(1)])
    };
    let mut request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_isolation_level(1)
        .with_topics(vec![fetch_topic("orders"), fetch_topic("payments")]);
    if v >= 7 {
        let forgotten = ForgottenTopic::default()
            .with_topic(topic("old"))
            .with_partitions(vec![4, 5]);
        request = request
            .with_session_id(9)
            .with_session_epoch(1)
            .with_forgotten_topics_data(vec![forgotten.clone(), forgotten]);
    }
    if v >= 11 {
        request = request.with_rack_id(text("rack-a"));
    }
    if v >= 12 {
        request = request.with_cluster_id(Some(text("cluster-1")));
    }
    request
}

fn list_offsets(v: i16) -> ListOffsetsRequest {
    let partition = |index: i32| {
        let p = ListOffsetsPartition::default()
            .with_partition_index(index)
            .with_timestamp(-1);
        if v >= 4 {
            p.with_current_leader_epoch(5)
        } else {
            p
        }
    };
    let list_topic = |name: &'static str| {
        ListOffsetsTopic::default()
            .with_name(topic(name))
            .with_partitions(vec![partition(0), partition(1)])
    };
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![list_topic("orders"), list_topic("payments")]);
    if v >= 2 {
        request.with_isolation_level(1)
    } else {
        request
    }
}

fn metadata(v: i16) -> MetadataRequest {
    let wanted = |name: &'static str| MetadataRequestTopic::default().with_name(Some(topic(name)));
    let mut request =
        MetadataRequest::default().with_topics(Some(vec![wanted("orders"), wanted("payments")]));
    if v >= 4 {
        request = request.with_allow_auto_topic_creation(false);
    }
    if v >= 8 {
        request = request.with_include_topic_authorized_operations(true);
    }
    if (8..=10).contains(&v) {
        request = request.with_include_cluster_authorized_operations(true);
    }
    request
}

fn api_versions(v: i16) -> ApiVersionsRequest {
    if v >= 3 {
        ApiVersionsRequest::default()
            .with_client_software_name(text("odradek-test"))
            .with_client_software_version(text("0.1.0"))
    } else {
        ApiVersionsRequest::default()
    }
}

fn create_topics(v: i16) -> CreateTopicsRequest {
    let creatable = |name: &'static str| {
        CreatableTopic::default()
            .with_name(topic(name))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(vec![
                CreatableReplicaAssignment::default()
                    .with_partition_index(0)
                    .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                CreatableReplicaAssignment::default()
                    .with_partition_index(1)
                    .with_broker_ids(vec![BrokerId(2), BrokerId(3)]),
            ])
            .with_configs(vec![
                CreatableTopicConfig::default()
                    .with_name(text("retention.ms"))
                    .with_value(Some(text("1000"))),
                CreatableTopicConfig::default()
                    .with_name(text("cleanup.policy"))
                    .with_value(None),
            ])
    };
    let _ = v;
    CreateTopicsRequest::default()
        .with_topics(vec![creatable("orders"), creatable("payments")])
        .with_timeout_ms(10_000)
        .with_validate_only(true)
}

fn delete_topics(v: i16) -> DeleteTopicsRequest {
    let request = DeleteTopicsRequest::default().with_timeout_ms(10_000);
    if v >= 6 {
        let state = |name: &'static str| DeleteTopicState::default().with_name(Some(topic(name)));
        request.with_topics(vec![state("orders"), state("payments")])
    } else {
        request.with_topic_names(vec![topic("orders"), topic("payments")])
    }
}

fn describe_configs(v: i16) -> DescribeConfigsRequest {
    let resource = |name: &'static str| {
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(text(name))
            .with_configuration_keys(Some(vec![text("retention.ms"), text("segment.bytes")]))
    };
    let request = DescribeConfigsRequest::default()
        .with_resources(vec![resource("orders"), resource("payments")])
        .with_include_synonyms(true);
    if v >= 3 {
        request.with_include_documentation(true)
    } else {
        request
    }
}

fn create_partitions(_v: i16) -> CreatePartitionsRequest {
    let assignment = |ids: [i32; 2]| {
        CreatePartitionsAssignment::default().with_broker_ids(ids.map(BrokerId).to_vec())
    };
    let grow = |name: &'static str| {
        CreatePartitionsTopic::default()
            .with_name(topic(name))
            .with_count(4)
            .with_assignments(Some(vec![assignment([1, 2]), assignment([2, 3])]))
    };
    CreatePartitionsRequest::default()
        .with_topics(vec![grow("orders"), grow("payments")])
        .with_timeout_ms(10_000)
        .with_validate_only(false)
}

/// A one-broker, one-topic, one-partition cluster, as the node would describe it.
pub fn one_topic_metadata(version: i16) -> MetadataResponse {
    let broker = MetadataResponseBroker::default()
        .with_node_id(BrokerId(1))
        .with_host(text("localhost"))
        .with_port(9092);
    let partition = MetadataResponsePartition::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(1))
        .with_replica_nodes(vec![BrokerId(1)])
        .with_isr_nodes(vec![BrokerId(1)]);
    let partition = if version >= 7 {
        partition.with_leader_epoch(0)
    } else {
        partition
    };
    let response = MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_controller_id(BrokerId(if version >= 1 { 1 } else { -1 }))
        .with_topics(vec![MetadataResponseTopic::default()
            .with_name(Some(topic("orders")))
            .with_partitions(vec![partition])]);
    if version >= 2 {
        response.with_cluster_id(Some(text("odradek")))
    } else {
        response
    }
}

/// A populated response body of `api_key` valid at `version` (two-element arrays at every
/// level, and known tagged fields set where the version has them).
pub fn sample_response(api_key: ApiKey, v: i16) -> ResponseBody {
    match api_key {
        ApiKey::ApiVersions => {
            let body = api_versions_response(KafkaErrorCode::None);
            if v >= 3 {
                let feature = SupportedFeatureKey::default()
                    .with_name(text("metadata.version"))
                    .with_min_version(1)
                    .with_max_version(20);
                body.with_supported_features(vec![feature.clone(), feature])
                    .into()
            } else {
                body.into()
            }
        }
        ApiKey::Metadata => one_topic_metadata(v).into(),
        ApiKey::Produce => produce_response(v).into(),
        ApiKey::Fetch => fetch_response(v).into(),
        ApiKey::ListOffsets => {
            let partition = ListOffsetsPartitionResponse::default().with_offset(12);
            let topic_result = ListOffsetsTopicResponse::default()
                .with_name(topic("orders"))
                .with_partitions(vec![partition.clone(), partition]);
            ListOffsetsResponse::default()
                .with_topics(vec![topic_result.clone(), topic_result])
                .into()
        }
        ApiKey::CreateTopics => create_topics_response(v).into(),
        ApiKey::DeleteTopics => {
            let result = DeletableTopicResult::default().with_name(Some(topic("orders")));
            DeleteTopicsResponse::default()
                .with_responses(vec![result.clone(), result])
                .into()
        }
        ApiKey::DescribeConfigs => describe_configs_response(v).into(),
        ApiKey::CreatePartitions => {
            let result = CreatePartitionsTopicResult::default()
                .with_name(topic("orders"))
                .with_error_message(Some(text("no")));
            CreatePartitionsResponse::default()
                .with_results(vec![result.clone(), result])
                .into()
        }
        ApiKey::AlterPartitionReassignments => {
            let partition = ReassignablePartitionResponse::default()
                .with_partition_index(1)
                .with_error_code(85)
                .with_error_message(Some(text("no move")));
            let result = ReassignableTopicResponse::default()
                .with_name(topic("orders"))
                .with_partitions(vec![partition.clone(), partition]);
            AlterPartitionReassignmentsResponse::default()
                .with_error_message(Some(text("partly")))
                .with_responses(vec![result.clone(), result])
                .into()
        }
        ApiKey::ListPartitionReassignments => {
            let ids = |list: &[i32]| list.iter().copied().map(BrokerId).collect::<Vec<_>>();
            let partition = OngoingPartitionReassignment::default()
                .with_partition_index(3)
                .with_replicas(ids(&[2, 3, 1]))
                .with_adding_replicas(ids(&[3]))
                .with_removing_replicas(ids(&[1]));
            let result = OngoingTopicReassignment::default()
                .with_name(topic("orders"))
                .with_partitions(vec![partition.clone(), partition]);
            ListPartitionReassignmentsResponse::default()
                .with_topics(vec![result.clone(), result])
                .into()
        }
        ApiKey::DescribeCluster => {
            let broker = DescribeClusterBroker::default()
                .with_host(text("localhost"))
                .with_port(9092);
            DescribeClusterResponse::default()
                .with_cluster_id(text("odradek"))
                .with_brokers(vec![broker.clone(), broker])
                .into()
        }
        other => panic!("no sample response for {other:?}"),
    }
}

fn produce_response(v: i16) -> ProduceResponse {
    let partition = PartitionProduceResponse::default()
        .with_index(0)
        .with_base_offset(41)
        .with_log_start_offset(if v >= 5 { 0 } else { -1 })
        .with_log_append_time_ms(-1);
    let topic_result = TopicProduceResponse::default()
        .with_name(topic("orders"))
        .with_partition_responses(vec![partition.clone(), partition]);
    ProduceResponse::default().with_responses(vec![topic_result.clone(), topic_result])
}

fn fetch_response(v: i16) -> FetchResponse {
    let aborted = AbortedTransaction::default().with_first_offset(3);
    let mut partition = PartitionData::default()
        .with_high_watermark(10)
        .with_aborted_transactions(Some(vec![aborted.clone(), aborted]))
        .with_records(Some(Bytes::from_static(b"opaque batches")));
    if v >= 12 {
        let leader = LeaderIdAndEpoch::default()
            .with_leader_id(BrokerId(1))
            .with_leader_epoch(4);
        partition = partition.with_current_leader(leader);
    }
    let topic_result = FetchableTopicResponse::default()
        .with_topic(topic("orders"))
        .with_partitions(vec![partition.clone(), partition]);
    FetchResponse::default().with_responses(vec![topic_result.clone(), topic_result])
}

fn create_topics_response(v: i16) -> CreateTopicsResponse {
    let mut result = CreatableTopicResult::default()
        .with_name(topic("orders"))
        .with_error_message(Some(text("ok")));
    if v >= 5 {
        let config = CreatableTopicConfigs::default()
            .with_name(text("retention.ms"))
            .with_value(Some(text("1000")));
        result = result
            .with_num_partitions(3)
            .with_replication_factor(1)
            .with_topic_config_error_code(29)
            .with_configs(Some(vec![config.clone(), config]));
    }
    CreateTopicsResponse::default().with_topics(vec![result.clone(), result])
}

fn describe_configs_response(_v: i16) -> DescribeConfigsResponse {
    let synonym = DescribeConfigsSynonym::default()
        .with_name(text("log.retention.ms"))
        .with_value(Some(text("1000")))
        .with_source(5);
    let config = DescribeConfigsResourceResult::default()
        .with_name(text("retention.ms"))
        .with_value(Some(text("1000")))
        .with_synonyms(vec![synonym.clone(), synonym]);
    let result = DescribeConfigsResult::default()
        .with_resource_type(2)
        .with_resource_name(text("orders"))
        .with_configs(vec![config.clone(), config]);
    DescribeConfigsResponse::default().with_results(vec![result.clone(), result])
}
