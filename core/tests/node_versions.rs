//! Every supported api answers at every version it advertises, with a response that encodes
//! at that version (kafka-protocol refuses fields a version lacks) and decodes back.

mod node_support;

use node_support::*;
use odradek_core::wire::kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use odradek_core::wire::kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use odradek_core::wire::kafka_protocol::messages::create_topics_request::CreatableTopic;
use odradek_core::wire::kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use odradek_core::wire::kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use odradek_core::wire::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use odradek_core::wire::kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, ApiKey, ApiVersionsRequest, BrokerId,
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeClusterRequest,
    DescribeConfigsRequest, ListOffsetsRequest, ListPartitionReassignmentsRequest,
};
use odradek_core::wire::{RequestBody, ResponseBody, SUPPORTED_APIS};

fn request_for(api_key: ApiKey, version: i16, topic: &str) -> RequestBody {
    match api_key {
        ApiKey::Produce => produce_request(topic, 0, 1, batch(0, &["v"])).into(),
        ApiKey::Fetch => fetch_request(topic, 0, 0, 0, 1).into(),
        ApiKey::ListOffsets => ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    ListOffsetsPartition::default().with_timestamp(-1)
                ])])
            .into(),
        ApiKey::Metadata => metadata_request(&[topic]).into(),
        ApiKey::ApiVersions => ApiVersionsRequest::default().into(),
        ApiKey::CreateTopics => CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(name(&format!("{topic}-new")))
                .with_num_partitions(1)
                .with_replication_factor(1)])
            .into(),
        ApiKey::DeleteTopics if version >= 6 => DeleteTopicsRequest::default()
            .with_topics(vec![
                DeleteTopicState::default().with_name(Some(name(topic)))
            ])
            .into(),
        ApiKey::DeleteTopics => DeleteTopicsRequest::default()
            .with_topic_names(vec![name(topic)])
            .into(),
        ApiKey::DescribeConfigs => DescribeConfigsRequest::default()
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(text(topic))
                .with_configuration_keys(None)])
            .into(),
        ApiKey::CreatePartitions => CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name(topic))
                .with_count(2)
                .with_assignments(None)])
            .into(),
        ApiKey::AlterPartitionReassignments => AlterPartitionReassignmentsRequest::default()
            .with_topics(vec![ReassignableTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![ReassignablePartition::default()
                    .with_partition_index(0)
                    .with_replicas(Some(vec![BrokerId(0)]))])])
            .into(),
        ApiKey::ListPartitionReassignments => ListPartitionReassignmentsRequest::default().into(),
        ApiKey::DescribeCluster => DescribeClusterRequest::default().into(),
        other => panic!("no request for {other:?}"),
    }
}

#[test]
fn every_supported_api_answers_without_error_at_every_advertised_version() {
    for api in SUPPORTED_APIS {
        for version in api.min_version..=api.max_version {
            let mut h = Harness::new();
            h.create_topic("v", 1, &[]);
            let body = h.call(version, request_for(api.api_key, version, "v"));
            assert_eq!(body.api_key(), api.api_key);
            let codes = error_codes(&body);
            assert!(
                codes.iter().all(|code| *code == 0),
                "{:?} v{version}: {codes:?} in {body:?}",
                api.api_key
            );
        }
    }
}

/// Every error code in a response body (top-level and per topic/partition/resource).
fn error_codes(body: &ResponseBody) -> Vec<i16> {
    match body {
        ResponseBody::Produce(r) => r
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter().map(|p| p.error_code))
            .collect(),
        ResponseBody::Fetch(r) => std::iter::once(r.error_code)
            .chain(
                r.responses
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        ResponseBody::ListOffsets(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseBody::Metadata(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseBody::ApiVersions(r) => vec![r.error_code],
        ResponseBody::CreateTopics(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseBody::DeleteTopics(r) => r.responses.iter().map(|t| t.error_code).collect(),
        ResponseBody::DescribeConfigs(r) => r.results.iter().map(|t| t.error_code).collect(),
        ResponseBody::CreatePartitions(r) => r.results.iter().map(|t| t.error_code).collect(),
        ResponseBody::AlterPartitionReassignments(r) => std::iter::once(r.error_code)
            .chain(
                r.responses
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        ResponseBody::ListPartitionReassignments(r) => vec![r.error_code],
        ResponseBody::DescribeCluster(r) => vec![r.error_code],
        ResponseBody::OffsetForLeaderEpoch(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
    }
}
