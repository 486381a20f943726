//! Topic administration: CreateTopics, DeleteTopics, CreatePartitions (through the
//! controller, made durable before the answer, partition logs created or removed with the
//! metadata), and DescribeConfigs for topics.
//!
//! Cluster mode: CreateTopics, DeleteTopics and CreatePartitions are forwarded to the
//! controller quorum (KIP-590, module `broker`) and answered with its outcome, in the same
//! shapes as standalone answers (`delete_topics_response`, `create_partitions_response`);
//! DescribeConfigs answers from the metadata image.

use super::cluster::{str_bytes, topic_name, uuid_of};
use super::errors::controller_error_code;
use super::partitions::is_reserved_topic;
use super::{Node, RequestContext};
use crate::controller::{
    BrokerId, ConfigSource, ConfigType, ControllerError, CreatePartitionsResult,
    CreatePartitionsTopic, CreateTopicRequest, CreatedTopic, DeleteTopicResult, DescribedConfig,
    PartitionIndex, ReplicaAssignment, TopicId, TopicRef,
};
use crate::storage::StorageProvider;
use crate::time::Now;
use crate::wire::{KafkaErrorCode, ResponseBody};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic as CreatePartitionsTopicRequest;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
};

/// DescribeConfigs resource type TOPIC.
const RESOURCE_TOPIC: i8 = 2;
/// DescribeConfigs resource type BROKER.
const RESOURCE_BROKER: i8 = 4;

pub(super) fn storage_failure() -> ControllerError {
    ControllerError::InvalidRequest {
        reason: "the metadata log could not be written".into(),
    }
}

fn reserved(name: &str) -> ControllerError {
    ControllerError::InvalidTopicName {
        name: name.to_owned(),
        problem: crate::controller::TopicNameProblem::IllegalCharacter,
    }
}

impl<P: StorageProvider> Node<P> {
    /// Standalone: creates through the local controller, durably, and answers (returns the
    /// body). Cluster mode: forwards to the controller (KIP-590) and answers later; a
    /// `validate_only` request is not forwarded and answers NOT_CONTROLLER.
    pub(super) fn handle_create_topics(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: &CreateTopicsRequest,
    ) -> Option<ResponseBody> {
        let wanted: Vec<CreateTopicRequest> = request.topics.iter().map(create_request).collect();
        if self.cluster.is_some() {
            if let Some(name) = wanted.iter().find(|t| is_reserved_topic(&t.name)) {
                let results = wanted
                    .iter()
                    .map(|t| {
                        let error = reserved(&name.name);
                        creatable_topic_result(&t.name, Err(&error), ctx.api_version)
                    })
                    .collect();
                let response = CreateTopicsResponse::default().with_topics(results);
                return Some(ResponseBody::CreateTopics(response));
            }
            if request.validate_only {
                let error = ControllerError::NotController;
                let results = wanted
                    .iter()
                    .map(|t| creatable_topic_result(&t.name, Err(&error), ctx.api_version))
                    .collect();
                let response = CreateTopicsResponse::default().with_topics(results);
                return Some(ResponseBody::CreateTopics(response));
            }
            self.forward_create_topics(now, ctx, wanted);
            return None;
        }
        let results = self
            .controller
            .create_topics(&wanted, request.validate_only);
        let mut topics = Vec::new();
        for result in results {
            let outcome = match result.result {
                Ok(_) if is_reserved_topic(&result.name) => Err(reserved(&result.name)),
                Ok(created) => self
                    .commit_metadata(now, created.records.clone())
                    .map(|()| created)
                    .map_err(|_| storage_failure()),
                Err(error) => Err(error),
            };
            topics.push(creatable_topic_result(
                &result.name,
                outcome.as_ref(),
                ctx.api_version,
            ));
        }
        Some(ResponseBody::CreateTopics(
            CreateTopicsResponse::default().with_topics(topics),
        ))
    }

    /// Standalone: deletes through the local controller, durably, and answers. Cluster
    /// mode: forwards to the controller (KIP-590) and answers when it does.
    pub(super) fn handle_delete_topics(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: &DeleteTopicsRequest,
    ) -> Option<ResponseBody> {
        let refs = delete_topic_refs(request, ctx.api_version);
        if self.cluster.is_some() {
            self.forward_delete_topics(now, ctx, refs);
            return None;
        }
        let mut results = self.controller.delete_topics(&refs);
        for result in &mut results {
            if let Ok(deleted) = &result.result {
                if self.commit_metadata(now, deleted.records.clone()).is_err() {
                    result.result = Err(storage_failure());
                }
            }
        }
        Some(delete_topics_response(&results, ctx.api_version))
    }

    /// Standalone: grows the topics through the local controller, durably. Cluster mode:
    /// forwards to the controller (KIP-590) and answers when it does; `validate_only` is
    /// answered here, from this broker's metadata image.
    pub(super) fn handle_create_partitions(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: &CreatePartitionsRequest,
    ) -> Option<ResponseBody> {
        let wanted: Vec<CreatePartitionsTopic> =
            request.topics.iter().map(create_partitions_topic).collect();
        let cluster = self.cluster.is_some();
        if cluster && !request.validate_only {
            self.forward_create_partitions(now, ctx, wanted);
            return None;
        }
        let mut results = Vec::new();
        for topic in wanted {
            let result = self
                .controller
                .create_partitions(
                    &topic.topic,
                    topic.new_total,
                    topic.assignments.as_deref(),
                    request.validate_only,
                )
                .and_then(|records| match cluster || request.validate_only {
                    true => Ok(()),
                    false => self
                        .commit_metadata(now, records)
                        .map_err(|_| storage_failure()),
                });
            results.push(CreatePartitionsResult {
                topic: topic.topic,
                result,
            });
        }
        Some(create_partitions_response(&results))
    }

    pub(super) fn handle_describe_configs(
        &self,
        request: &DescribeConfigsRequest,
        version: i16,
    ) -> ResponseBody {
        let results = request
            .resources
            .iter()
            .map(|resource| {
                let name = resource.resource_name.to_string();
                let entry = DescribeConfigsResult::default()
                    .with_resource_type(resource.resource_type)
                    .with_resource_name(resource.resource_name.clone());
                let keys: Option<Vec<String>> = resource
                    .configuration_keys
                    .as_ref()
                    .map(|keys| keys.iter().map(|k| k.to_string()).collect());
                match resource.resource_type {
                    RESOURCE_TOPIC => {
                        match self.controller.describe_configs(&name, keys.as_deref()) {
                            Ok(configs) => entry.with_configs(
                                configs
                                    .iter()
                                    .map(|c| described_config(c, version))
                                    .collect(),
                            ),
                            Err(error) => entry
                                .with_error_code(controller_error_code(&error))
                                .with_error_message(Some(str_bytes(&error.to_string()))),
                        }
                    }
                    RESOURCE_BROKER if name == super::NODE_ID.to_string() || name.is_empty() => {
                        entry
                    }
                    _ => entry
                        .with_error_code(KafkaErrorCode::InvalidRequest.code())
                        .with_error_message(Some(str_bytes("unsupported resource"))),
                }
            })
            .collect();
        ResponseBody::DescribeConfigs(DescribeConfigsResponse::default().with_results(results))
    }
}

/// One topic's CreateTopics answer.
pub(super) fn creatable_topic_result(
    name: &str,
    outcome: Result<&CreatedTopic, &ControllerError>,
    version: i16,
) -> CreatableTopicResult {
    let mut entry = CreatableTopicResult::default().with_name(topic_name(name));
    match outcome {
        Ok(created) => {
            entry = entry.with_topic_id(created.topic_id.map(uuid_of).unwrap_or_default());
            if version >= 5 {
                entry = entry
                    .with_num_partitions(created.num_partitions)
                    .with_replication_factor(created.replication_factor)
                    .with_configs(Some(created.configs.iter().map(topic_config).collect()));
            }
        }
        Err(error) => {
            entry = entry
                .with_error_code(controller_error_code(error))
                .with_error_message(Some(str_bytes(&error.to_string())));
        }
    }
    entry
}

fn create_request(
    topic: &kafka_protocol::messages::create_topics_request::CreatableTopic,
) -> CreateTopicRequest {
    CreateTopicRequest {
        name: topic.name.0.to_string(),
        num_partitions: topic.num_partitions,
        replication_factor: topic.replication_factor,
        assignments: topic
            .assignments
            .iter()
            .map(|a| ReplicaAssignment {
                partition: PartitionIndex(a.partition_index),
                broker_ids: a.broker_ids.iter().map(|b| BrokerId(b.0)).collect(),
            })
            .collect(),
        configs: topic
            .configs
            .iter()
            .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
            .collect(),
    }
}

/// Kafka's ConfigSource number.
fn source_code(source: ConfigSource) -> i8 {
    match source {
        ConfigSource::TopicConfig => 1,
        ConfigSource::StaticBrokerConfig => 4,
        ConfigSource::DefaultConfig => 5,
    }
}

/// Kafka's ConfigType number (DescribeConfigs v3+).
fn type_code(config_type: ConfigType) -> i8 {
    match config_type {
        ConfigType::Boolean => 1,
        ConfigType::String => 2,
        ConfigType::Int => 3,
        ConfigType::Long => 5,
        ConfigType::List => 7,
    }
}

fn topic_config(config: &DescribedConfig) -> CreatableTopicConfigs {
    CreatableTopicConfigs::default()
        .with_name(str_bytes(&config.name))
        .with_value(Some(str_bytes(&config.value)))
        .with_read_only(config.is_read_only)
        .with_config_source(source_code(config.source))
        .with_is_sensitive(config.is_sensitive)
}

fn described_config(config: &DescribedConfig, version: i16) -> DescribeConfigsResourceResult {
    let mut result = DescribeConfigsResourceResult::default()
        .with_name(str_bytes(&config.name))
        .with_value(Some(str_bytes(&config.value)))
        .with_read_only(config.is_read_only)
        .with_config_source(source_code(config.source))
        .with_is_sensitive(config.is_sensitive);
    if version >= 3 {
        result = result.with_config_type(type_code(config.config_type));
    }
    result
}

/// The topics a DeleteTopics names: by name or id from v6, by name before.
fn delete_topic_refs(request: &DeleteTopicsRequest, version: i16) -> Vec<TopicRef> {
    if version >= 6 {
        return request
            .topics
            .iter()
            .map(|t| match &t.name {
                Some(name) => TopicRef::Name(name.0.to_string()),
                None => TopicRef::Id(TopicId::from_bytes(*t.topic_id.as_bytes())),
            })
            .collect();
    }
    request
        .topic_names
        .iter()
        .map(|name| TopicRef::Name(name.0.to_string()))
        .collect()
}

/// The DeleteTopics answer for these outcomes (a topic is named as the client named it,
/// plus its name and id once deleted).
pub(super) fn delete_topics_response(results: &[DeleteTopicResult], version: i16) -> ResponseBody {
    let responses = results
        .iter()
        .map(|result| {
            let mut entry = DeletableTopicResult::default();
            match (&result.topic, &result.result) {
                (_, Ok(deleted)) => {
                    entry = entry
                        .with_name(Some(topic_name(&deleted.name)))
                        .with_topic_id(uuid_of(deleted.topic_id));
                }
                (TopicRef::Name(name), Err(_)) => entry = entry.with_name(Some(topic_name(name))),
                (TopicRef::Id(id), Err(_)) => entry = entry.with_topic_id(uuid_of(*id)),
            }
            if let Err(error) = &result.result {
                entry = entry.with_error_code(controller_error_code(error));
                if version >= 5 {
                    entry = entry.with_error_message(Some(str_bytes(&error.to_string())));
                }
            }
            entry
        })
        .collect();
    ResponseBody::DeleteTopics(DeleteTopicsResponse::default().with_responses(responses))
}

/// One topic of a CreatePartitions, as the controller takes it.
fn create_partitions_topic(topic: &CreatePartitionsTopicRequest) -> CreatePartitionsTopic {
    let assignments = topic
        .assignments
        .as_ref()
        .filter(|list| !list.is_empty())
        .map(|list| {
            list.iter()
                .map(|a| a.broker_ids.iter().map(|b| BrokerId(b.0)).collect())
                .collect()
        });
    CreatePartitionsTopic {
        topic: topic.name.0.to_string(),
        new_total: topic.count,
        assignments,
    }
}

/// The CreatePartitions answer for these outcomes.
pub(super) fn create_partitions_response(results: &[CreatePartitionsResult]) -> ResponseBody {
    let results = results
        .iter()
        .map(|result| {
            let entry = CreatePartitionsTopicResult::default().with_name(topic_name(&result.topic));
            match &result.result {
                Ok(()) => entry,
                Err(error) => entry
                    .with_error_code(controller_error_code(error))
                    .with_error_message(Some(str_bytes(&error.to_string()))),
            }
        })
        .collect();
    ResponseBody::CreatePartitions(CreatePartitionsResponse::default().with_results(results))
}
