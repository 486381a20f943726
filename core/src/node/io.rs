//! The node's inputs, outputs, configuration and errors: plain data, so the simulator and the
//! tokio adapter route exactly the same values.

use crate::controller::{
    ApplyError, BrokerId, ControllerConfig, ControllerEnvelope, ControllerError, ControllerRequest,
    ControllerResponse, IncarnationId, Listener,
};
use crate::log::{LogConfig, LogError, SyncId, SyncRequest};
use crate::replication::ReplicationError;
use crate::storage::StorageError;
use crate::wire::{encode_response, DecodedRequest, ResponseBody, WireError};
use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;

/// One client connection, numbered by the driver. Responses on a connection leave the node in
/// the order its requests arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub u64);

/// A partition of a topic: the key of a partition log (its directory is `{topic}-{partition}`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// The topic's name.
    pub topic: String,
    /// The partition's index.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_owned(),
            partition,
        }
    }

    /// Kafka's directory name for the partition's log: `{topic}-{partition}`.
    pub fn directory_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses a directory name made by [`TopicPartition::directory_name`].
    pub fn from_directory_name(name: &str) -> Option<TopicPartition> {
        let (topic, partition) = name.rsplit_once('-')?;
        let partition: i32 = partition.parse().ok()?;
        let canonical = partition.to_string() == name[topic.len() + 1..];
        (!topic.is_empty() && partition >= 0 && canonical)
            .then(|| TopicPartition::new(topic, partition))
    }
}

/// Something that happened to the node.
#[derive(Clone, Debug)]
pub enum NodeInput {
    /// A decoded request arrived on `connection`.
    Request {
        /// The connection it arrived on.
        connection: ConnectionId,
        /// The request.
        request: DecodedRequest,
    },
    /// A request frame on `connection` could not be decoded. The node answers an ApiVersions
    /// request of a too-new version with the KIP-511 fallback and closes the connection for
    /// anything else (as Kafka does), after the responses already owed on it.
    Undecodable {
        /// The connection it arrived on.
        connection: ConnectionId,
        /// What was wrong.
        error: WireError,
    },
    /// A [`NodeOutput::Sync`] was performed.
    Synced {
        /// The partition whose log asked for it.
        partition: TopicPartition,
        /// The request's id.
        id: SyncId,
        /// How it went.
        result: Result<(), StorageError>,
    },
    /// The client went away: nothing more is sent on this connection.
    ConnectionClosed {
        /// The connection.
        connection: ConnectionId,
    },
    /// Cluster mode: the controller's answer to a [`NodeOutput::ToController`] (matched by
    /// correlation id; unknown or stale ids are ignored).
    FromController(ControllerEnvelope<ControllerResponse>),
    /// Cluster mode: a peer broker's answer to a [`NodeOutput::ToBroker`] request, routed
    /// back by the driver (matched by correlation id; stale answers are ignored).
    FromBroker {
        /// The broker that answered.
        broker: BrokerId,
        /// Its response.
        response: NodeResponse,
    },
}

/// A response ready to be encoded and written.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeResponse {
    /// The api of the request answered.
    pub api_key: ApiKey,
    /// The version to encode at (the request's, or 0 for the KIP-511 fallback).
    pub api_version: i16,
    /// The request's correlation id.
    pub correlation_id: i32,
    /// The body.
    pub body: ResponseBody,
}

impl NodeResponse {
    /// The size-prefixed frame to write to the connection.
    pub fn encode(&self) -> Result<BytesMut, WireError> {
        encode_response(
            self.api_key,
            self.api_version,
            self.correlation_id,
            &self.body,
        )
    }
}

/// Something the node asks its driver to do.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeOutput {
    /// Write this response to the connection.
    Response {
        /// The connection.
        connection: ConnectionId,
        /// The response.
        response: NodeResponse,
    },
    /// Close the connection (after writing every response output before this).
    Close {
        /// The connection.
        connection: ConnectionId,
        /// Why, for the log.
        reason: String,
    },
    /// Cluster mode: deliver to the active controller; its answer comes back as
    /// [`NodeInput::FromController`]. Unanswered requests are sent again after
    /// `controller_request_timeout_ms` under a new correlation id.
    ToController(ControllerEnvelope<ControllerRequest>),
    /// Cluster mode: deliver to `broker` as a [`NodeInput::Request`] on the connection the
    /// driver keeps for (this broker, `broker`), in order; route its response back as
    /// [`NodeInput::FromBroker`]. These are a follower's Fetch (with its replica id) and
    /// OffsetForLeaderEpoch requests to the partition leader.
    ToBroker {
        /// The leader asked.
        broker: BrokerId,
        /// The request.
        request: DecodedRequest,
    },
    /// Make these files of the partition's directory durable, then report
    /// [`NodeInput::Synced`] (or call `Node::perform_sync`). File names are relative to the
    /// partition's directory ([`TopicPartition::directory_name`] under the provider's root).
    /// Group commit: a driver may answer several requests of one partition with a single
    /// fsync performed after the last of them was emitted, reporting every id; one failed
    /// fsync must be reported as failed for every request it covered.
    Sync {
        /// The partition whose log asks.
        partition: TopicPartition,
        /// What to sync.
        request: SyncRequest,
    },
}

/// Static configuration of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// The host clients are told to connect to.
    pub advertised_host: String,
    /// The port clients are told to connect to.
    pub advertised_port: u16,
    /// The cluster id reported in Metadata and DescribeCluster.
    pub cluster_id: String,
    /// Broker-level controller settings (auto-create, default partitions, topic defaults).
    pub controller: ControllerConfig,
    /// The settings of the partition logs that topic configs do not cover
    /// (`index_interval_bytes`); topic configs override the rest.
    pub log: LogConfig,
    /// `None`: a standalone broker with its own controller (broker 0 of a one-broker
    /// cluster). `Some`: one broker of a cluster whose metadata comes from a controller quorum.
    pub cluster: Option<BrokerClusterConfig>,
}

/// The settings of a broker in cluster mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerClusterConfig {
    /// This broker's id.
    pub broker_id: BrokerId,
    /// This process run (Kafka's broker epoch); the driver gives a fresh one per start.
    pub incarnation: IncarnationId,
    /// The broker's rack, registered with the controller.
    pub rack: Option<String>,
    /// How often a registered broker heartbeats (Kafka: 2000; sim-friendly 200).
    pub heartbeat_interval_ms: u64,
    /// How often the broker fetches committed metadata records.
    pub metadata_fetch_interval_ms: u64,
    /// Unanswered controller requests are sent again after this long.
    pub controller_request_timeout_ms: u64,
    /// A follower fetch's `max_wait_ms` (Kafka's `replica.fetch.wait.max.ms`, 500).
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.lag.time.max.ms` of every partition this broker leads.
    pub replica_lag_time_max_ms: u64,
    /// Listeners registered after the client one (which stays first: Metadata advertises
    /// the first listener), e.g. the inter-broker listener peers replicate through.
    pub extra_listeners: Vec<Listener>,
}

impl BrokerClusterConfig {
    /// Defaults for `broker_id` in run `incarnation`.
    pub fn new(broker_id: BrokerId, incarnation: IncarnationId) -> BrokerClusterConfig {
        BrokerClusterConfig {
            broker_id,
            incarnation,
            rack: None,
            heartbeat_interval_ms: 200,
            metadata_fetch_interval_ms: 100,
            controller_request_timeout_ms: 1000,
            replica_fetch_wait_max_ms: 100,
            replica_lag_time_max_ms: 3000,
            extra_listeners: Vec::new(),
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            advertised_host: "127.0.0.1".to_owned(),
            advertised_port: 9092,
            cluster_id: "odradek".to_owned(),
            controller: ControllerConfig::default(),
            log: LogConfig::default(),
            cluster: None,
        }
    }
}

/// The node could not start (or its metadata store failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The data directory could not be listed, opened or changed.
    #[error("storage error: {0}")]
    Storage(#[from] StorageError),
    /// A partition log (or the metadata log) could not be opened or written.
    #[error("log {directory}: {error}")]
    Log {
        /// The log's directory.
        directory: String,
        /// What went wrong.
        error: LogError,
    },
    /// A partition replica could not be opened (its log, or its leader-epoch checkpoint).
    #[error("replica {directory}: {error}")]
    Replication {
        /// The replica's directory.
        directory: String,
        /// What went wrong.
        error: ReplicationError,
    },
    /// The static controller configuration is invalid, or registration failed.
    #[error("controller: {0}")]
    Controller(#[from] ControllerError),
    /// A stored metadata record could not be decoded or applied: the metadata log is
    /// corrupt; the node refuses to guess.
    #[error("corrupt metadata log: {detail}")]
    CorruptMetadata {
        /// What was wrong.
        detail: String,
    },
}

impl From<ApplyError> for NodeError {
    fn from(error: ApplyError) -> Self {
        NodeError::CorruptMetadata {
            detail: error.to_string(),
        }
    }
}
