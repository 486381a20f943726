//! Metadata and DescribeCluster: what the cluster looks like to a client, from the metadata
//! image: brokers are the registered, unfenced ones (their first listener); each partition
//! has its leader (-1 when none), leader epoch, replicas, ISR and offline replicas (fenced
//! or unregistered brokers). Standalone, every partition is led by this node with replicas
//! and ISR `[0]`. Metadata auto-creates missing topics when both the request (v4+; always
//! before) and the broker's `auto.create.topics.enable` allow it, standalone only: in
//! cluster mode a missing topic is UNKNOWN_TOPIC_OR_PARTITION (topics are created with
//! CreateTopics, forwarded to the controller).

use super::errors::controller_error_code;
use super::partitions::is_reserved_topic;
use super::Node;
use crate::controller::{ControllerError, MetadataImage, TopicId, TopicImage};
use crate::storage::StorageProvider;
use crate::time::Now;
use crate::wire::{KafkaErrorCode, ResponseBody};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, MetadataRequest, MetadataResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

/// DescribeCluster v1's endpoint type for brokers (KIP-919), the only one a broker serves.
const BROKER_ENDPOINT_TYPE: i8 = 1;
/// DescribeCluster v1's endpoint type for controllers (KIP-919).
const CONTROLLER_ENDPOINT_TYPE: i8 = 2;

/// A string as kafka-protocol's string type.
pub(super) fn str_bytes(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// A topic name as kafka-protocol's type.
pub(super) fn topic_name(text: &str) -> TopicName {
    TopicName(str_bytes(text))
}

/// A topic id as the wire's UUID.
pub(super) fn uuid_of(topic_id: TopicId) -> Uuid {
    Uuid::from_bytes(topic_id.to_bytes())
}

impl<P: StorageProvider> Node<P> {
    pub(super) fn handle_metadata(
        &mut self,
        now: Now,
        request: &MetadataRequest,
        version: i16,
    ) -> ResponseBody {
        let allow_auto_create = version < 4 || request.allow_auto_topic_creation;
        let topics = match &request.topics {
            None => self.all_topic_names(),
            Some(list) if list.is_empty() && version == 0 => self.all_topic_names(),
            Some(list) => list
                .iter()
                .map(|t| match &t.name {
                    Some(name) => Ok(name.0.to_string()),
                    None => Err(TopicId::from_bytes(*t.topic_id.as_bytes())),
                })
                .collect(),
        };
        let topics = topics
            .into_iter()
            .map(|wanted| match wanted {
                Ok(name) => self.describe_topic_by_name(now, &name, allow_auto_create),
                Err(id) => self.describe_topic_by_id(id),
            })
            .collect();
        let brokers = self
            .registered_brokers()
            .into_iter()
            .map(|(id, host, port, rack)| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(id))
                    .with_host(str_bytes(&host))
                    .with_port(port)
                    .with_rack(rack.as_deref().map(str_bytes))
            })
            .collect();
        ResponseBody::Metadata(
            MetadataResponse::default()
                .with_brokers(brokers)
                .with_cluster_id(Some(str_bytes(&self.config.cluster_id)))
                .with_controller_id(BrokerId(self.controller_id_for_clients()))
                .with_topics(topics),
        )
    }

    fn all_topic_names(&self) -> Vec<Result<String, TopicId>> {
        let image = self.controller.image();
        image.topic_ids_by_name().keys().cloned().map(Ok).collect()
    }

    fn describe_topic_by_name(
        &mut self,
        now: Now,
        name: &str,
        allow_auto_create: bool,
    ) -> MetadataResponseTopic {
        let error = |code: i16| {
            MetadataResponseTopic::default()
                .with_name(Some(topic_name(name)))
                .with_error_code(code)
        };
        if self.controller.image().topic_by_name(name).is_none() {
            if is_reserved_topic(name) {
                return error(KafkaErrorCode::InvalidTopicException.code());
            }
            let created = if allow_auto_create {
                self.auto_create(now, name)
            } else {
                Err(ControllerError::UnknownTopic {
                    name: name.to_owned(),
                })
            };
            if let Err(code) = created.map_err(|e| controller_error_code(&e)) {
                return error(code);
            }
        }
        match self.controller.image().topic_by_name(name) {
            Some(topic) => topic_metadata(self.controller.image(), topic),
            None => error(KafkaErrorCode::UnknownTopicOrPartition.code()),
        }
    }

    fn describe_topic_by_id(&self, topic_id: TopicId) -> MetadataResponseTopic {
        match self.controller.image().topic(topic_id) {
            Some(topic) => topic_metadata(self.controller.image(), topic),
            None => MetadataResponseTopic::default()
                .with_topic_id(uuid_of(topic_id))
                .with_error_code(KafkaErrorCode::UnknownTopicId.code()),
        }
    }

    /// Creates a missing topic with the broker defaults, if `auto.create.topics.enable`.
    pub(super) fn auto_create(&mut self, now: Now, name: &str) -> Result<(), ControllerError> {
        if is_reserved_topic(name) || self.cluster.is_some() {
            return Err(ControllerError::UnknownTopic {
                name: name.to_owned(),
            });
        }
        let created = self.controller.auto_create_topic(name)?;
        self.commit_metadata(now, created.records)
            .map_err(|_| super::admin::storage_failure())
    }

    /// (id, host, port, rack) of every registered, unfenced broker's first listener.
    /// The "controller" Metadata names: admin requests sent there are forwarded to the
    /// real one (KIP-590), so it is any listed broker: this one if it is listed, else the
    /// lowest listed id (clients wait for a controller they can connect to).
    fn controller_id_for_clients(&self) -> i32 {
        let me = self.broker_id();
        let image = self.controller.image();
        if self.cluster.is_none() || image.is_unfenced(me) {
            return me.0;
        }
        let listed = image.brokers().keys().find(|b| image.is_unfenced(**b));
        listed.map_or(me.0, |b| b.0)
    }

    fn registered_brokers(&self) -> Vec<(i32, String, i32, Option<String>)> {
        let image = self.controller.image();
        image
            .brokers()
            .values()
            .filter(|broker| image.is_unfenced(broker.broker_id))
            .filter_map(|broker| {
                let listener = broker.listeners.first()?;
                let rack = broker.rack.clone();
                Some((
                    broker.broker_id.0,
                    listener.host.clone(),
                    i32::from(listener.port),
                    rack,
                ))
            })
            .collect()
    }

    pub(super) fn handle_describe_cluster(
        &self,
        request: &DescribeClusterRequest,
        version: i16,
    ) -> ResponseBody {
        let brokers = self
            .registered_brokers()
            .into_iter()
            .map(|(id, host, port, rack)| {
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(id))
                    .with_host(str_bytes(&host))
                    .with_port(port)
                    .with_rack(rack.as_deref().map(str_bytes))
            })
            .collect();
        let mut response = DescribeClusterResponse::default()
            .with_cluster_id(str_bytes(&self.config.cluster_id))
            .with_controller_id(BrokerId(self.controller_id_for_clients()))
            .with_brokers(brokers);
        if version >= 1 && request.endpoint_type != BROKER_ENDPOINT_TYPE {
            // Kafka: a known endpoint type of another kind (2, controllers) is a mismatch;
            // any other number is unsupported.
            let code = if request.endpoint_type == CONTROLLER_ENDPOINT_TYPE {
                KafkaErrorCode::MismatchedEndpointType
            } else {
                KafkaErrorCode::UnsupportedEndpointType
            };
            response = response
                .with_error_code(code.code())
                .with_error_message(Some(str_bytes("only broker endpoints are served")))
                .with_brokers(Vec::new());
        }
        ResponseBody::DescribeCluster(response)
    }
}

fn topic_metadata(image: &MetadataImage, topic: &TopicImage) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(index, partition)| {
            let ids =
                |list: &[crate::controller::BrokerId]| list.iter().map(|b| BrokerId(b.0)).collect();
            MetadataResponsePartition::default()
                .with_partition_index(index as i32)
                .with_leader_id(BrokerId(partition.leader.map_or(-1, |b| b.0)))
                .with_leader_epoch(partition.leader_epoch.0)
                .with_replica_nodes(ids(&partition.replicas))
                .with_isr_nodes(ids(&partition.isr))
                .with_offline_replicas(
                    partition
                        .replicas
                        .iter()
                        .filter(|b| !image.is_unfenced(**b))
                        .map(|b| BrokerId(b.0))
                        .collect(),
                )
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(uuid_of(topic.topic_id))
        .with_partitions(partitions)
}
