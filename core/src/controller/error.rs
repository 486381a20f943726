//! Errors of the controller. [`ControllerError`] is what a command answers a client with; each
//! variant documents the Kafka error code the `wire` mapping function is meant to give it.
//! [`ApplyError`] is a record that cannot be applied to the image: since the controller only
//! logs records it validated, it means a corrupt log or a bug, and the image is left unchanged.

use super::ids::{BrokerId, MetadataOffset, PartitionIndex, TopicId};

/// Why a topic name is illegal (Kafka's `Topic.validate` rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicNameProblem {
    /// The name is empty.
    Empty,
    /// The name is `.` or `..`.
    DotOrDotDot,
    /// The name is longer than 249 characters.
    TooLong,
    /// The name has a character outside `[a-zA-Z0-9._-]`.
    IllegalCharacter,
}

/// A controller command failed; nothing was logged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControllerError {
    /// → INVALID_TOPIC_EXCEPTION (17).
    #[error("invalid topic name {name:?}: {problem:?}")]
    InvalidTopicName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        problem: TopicNameProblem,
    },
    /// → INVALID_TOPIC_EXCEPTION (17): the name equals a live topic's once '.' and '_' are
    /// treated alike (both become '_' in metric names, so Kafka refuses such pairs).
    #[error("topic {name:?} collides with existing topic {existing:?} ('.' and '_' collide)")]
    TopicNameCollision {
        /// The rejected name.
        name: String,
        /// The live topic it collides with.
        existing: String,
    },
    /// → TOPIC_ALREADY_EXISTS (36).
    #[error("topic {name:?} already exists")]
    TopicAlreadyExists {
        /// The topic's name.
        name: String,
    },
    /// → UNKNOWN_TOPIC_OR_PARTITION (3).
    #[error("unknown topic {name:?}")]
    UnknownTopic {
        /// The name asked for.
        name: String,
    },
    /// → UNKNOWN_TOPIC_ID (100).
    #[error("unknown topic id {topic_id}")]
    UnknownTopicId {
        /// The id asked for.
        topic_id: TopicId,
    },
    /// → UNKNOWN_TOPIC_OR_PARTITION (3): a produce or metadata request named a missing topic
    /// and `auto.create.topics.enable` is off.
    #[error("topic {name:?} does not exist and auto.create.topics.enable is false")]
    AutoCreateDisabled {
        /// The missing topic.
        name: String,
    },
    /// → INVALID_PARTITIONS (37): bad `num_partitions`, or a CreatePartitions that does not
    /// increase the count.
    #[error("invalid partition count {requested}: {reason}")]
    InvalidPartitions {
        /// The count asked for.
        requested: i32,
        /// Why it was refused.
        reason: &'static str,
    },
    /// → INVALID_REPLICATION_FACTOR (38).
    #[error("invalid replication factor {requested}: {available_brokers} brokers available")]
    InvalidReplicationFactor {
        /// The factor asked for.
        requested: i16,
        /// How many brokers can hold replicas.
        available_brokers: usize,
    },
    /// → INVALID_REPLICA_ASSIGNMENT (39).
    #[error("invalid replica assignment for partition {partition:?}: {reason}")]
    InvalidReplicaAssignment {
        /// The partition whose assignment is wrong, if one is to blame.
        partition: Option<PartitionIndex>,
        /// Why it was refused.
        reason: &'static str,
    },
    /// → INVALID_REPLICA_ASSIGNMENT (39): an assignment names a broker that is not registered.
    #[error("replica assignment names unknown broker {broker_id}")]
    UnknownBroker {
        /// The unknown broker.
        broker_id: BrokerId,
    },
    /// → INVALID_CONFIG (40): a config key Odradek does not know.
    #[error("unknown config {key:?}")]
    UnknownConfig {
        /// The unknown key.
        key: String,
    },
    /// → INVALID_CONFIG (40): a known key with a value outside its type or range.
    #[error("invalid value {value:?} for config {key:?}: {reason}")]
    InvalidConfigValue {
        /// The config key.
        key: String,
        /// The rejected value (`None` for a null value).
        value: Option<String>,
        /// What is allowed.
        reason: &'static str,
    },
    /// → INVALID_CONFIG (40): a valid Kafka setting Odradek does not implement yet
    /// (e.g. `cleanup.policy=compact`), refused rather than silently ignored.
    #[error("config {key:?}={value:?} is not supported yet: {reason}")]
    UnsupportedConfigValue {
        /// The config key.
        key: String,
        /// The value.
        value: String,
        /// What is missing.
        reason: &'static str,
    },
    /// → INVALID_REQUEST (42): the request is malformed as a whole, e.g. a topic named twice,
    /// a config key given twice, or explicit assignments together with a partition count.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: &'static str,
    },
    /// → INVALID_REQUEST (42): a broker registration with a negative id or no listener.
    #[error("invalid registration of broker {broker_id}: {reason}")]
    InvalidBrokerRegistration {
        /// The broker.
        broker_id: BrokerId,
        /// What is wrong.
        reason: &'static str,
    },
    /// → NOT_CONTROLLER (41): the metadata log refused the proposal because this node is not
    /// (or no longer) the quorum leader. Never returned by the single-node log.
    #[error("not the active controller")]
    NotController,
    /// → THROTTLING_QUOTA_EXCEEDED (89)-like backpressure: the metadata log has too many
    /// uncommitted records; retry later.
    #[error("metadata log backpressure: {pending} records pending (limit {limit})")]
    MetadataLogFull {
        /// Records awaiting commit.
        pending: usize,
        /// The limit.
        limit: usize,
    },
}

/// A record could not be applied; the image is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Offsets must increase strictly.
    #[error("record offset {offset} is not after the last applied offset {last_applied}")]
    OffsetNotIncreasing {
        /// The record's offset.
        offset: MetadataOffset,
        /// The last applied offset.
        last_applied: MetadataOffset,
    },
    /// A topic record reuses a live topic's name.
    #[error("topic name {name:?} already in use")]
    DuplicateTopicName {
        /// The name.
        name: String,
    },
    /// A topic record reuses a topic id (ids are unique forever, deleted topics included).
    #[error("topic id {topic_id} already used")]
    DuplicateTopicId {
        /// The id.
        topic_id: TopicId,
    },
    /// A topic record carries a reserved id.
    #[error("topic id {topic_id} is reserved")]
    ReservedTopicId {
        /// The id.
        topic_id: TopicId,
    },
    /// A record refers to a topic id that is not live.
    #[error("unknown topic id {topic_id}")]
    UnknownTopicId {
        /// The id.
        topic_id: TopicId,
    },
    /// A config record names a topic that is not live.
    #[error("unknown topic {name:?}")]
    UnknownTopicName {
        /// The name.
        name: String,
    },
    /// Partitions are created densely in index order.
    #[error("partition {partition} of {topic_id} is not the next index {expected}")]
    PartitionNotNext {
        /// The topic.
        topic_id: TopicId,
        /// The partition in the record.
        partition: PartitionIndex,
        /// The index that was expected.
        expected: PartitionIndex,
    },
    /// The partition's replica set, ISR or leader break `leader ∈ isr ⊆ replicas`, or repeat
    /// a broker, or have no replica.
    #[error("partition {partition} of {topic_id}: {reason}")]
    InvalidPartitionState {
        /// The topic.
        topic_id: TopicId,
        /// The partition.
        partition: PartitionIndex,
        /// Which rule is broken.
        reason: &'static str,
    },
    /// A replica is on a broker that is not registered.
    #[error("replica on unregistered broker {broker_id}")]
    UnregisteredBroker {
        /// The broker.
        broker_id: BrokerId,
    },
    /// A broker registration with a negative id.
    #[error("invalid broker id {broker_id}")]
    InvalidBrokerId {
        /// The broker.
        broker_id: BrokerId,
    },
}
