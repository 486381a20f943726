//! Errors of the controller. [`ControllerError`] is what a command answers a client with; each
//! variant documents the Kafka error code the `wire` mapping function is meant to give it.
//! [`ApplyError`] is a record that cannot be applied to the image: since the controller only
//! logs records it validated, it means a corrupt log or a bug, and the image is left unchanged.

use std::borrow::Cow;

/// Why a command or record was refused, in words: a static text where the controller made
/// it, an owned one where it was decoded (it crosses the wire between brokers and
/// controllers in `odradek serve`).
pub type Reason = Cow<'static, str>;

use super::ids::{
    BrokerId, IncarnationId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, TopicId,
};

/// Why a topic name is illegal (Kafka's `Topic.validate` rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
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
        reason: Reason,
    },
    /// → INVALID_REPLICATION_FACTOR (38).
    #[error("invalid replication factor {requested}: {available_brokers} brokers available")]
    InvalidReplicationFactor {
        /// The factor asked for.
        requested: i16,
        /// How many brokers can hold replicas.
        available_brokers: usize,
    },
    /// → INVALID_REPLICATION_FACTOR (38): a move with another replication factor than the
    /// partition's, while the request did not allow that (KIP-860).
    #[error(
        "partition {partition:?} has {current} replicas and the move asks for {requested}, \
         but the request does not allow a replication factor change"
    )]
    ReplicationFactorChangeNotAllowed {
        /// The partition.
        partition: PartitionIndex,
        /// Its replication factor (the original replicas while a move runs).
        current: usize,
        /// The target's.
        requested: usize,
    },
    /// → INVALID_REPLICA_ASSIGNMENT (39).
    #[error("invalid replica assignment for partition {partition:?}: {reason}")]
    InvalidReplicaAssignment {
        /// The partition whose assignment is wrong, if one is to blame.
        partition: Option<PartitionIndex>,
        /// Why it was refused.
        reason: Reason,
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
        reason: Reason,
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
        reason: Reason,
    },
    /// → INVALID_REQUEST (42): the request is malformed as a whole, e.g. a topic named twice,
    /// a config key given twice, or explicit assignments together with a partition count.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: Reason,
    },
    /// → INVALID_REQUEST (42): a broker registration with a negative id or no listener.
    #[error("invalid registration of broker {broker_id}: {reason}")]
    InvalidBrokerRegistration {
        /// The broker.
        broker_id: BrokerId,
        /// What is wrong.
        reason: Reason,
    },
    /// → NOT_CONTROLLER (41): the metadata log refused the proposal because this node is not
    /// (or no longer) the quorum leader. Never returned by the single-node log.
    #[error("not the active controller")]
    NotController,
    /// → BROKER_ID_NOT_REGISTERED (102): a heartbeat or AlterPartition from a broker the
    /// controller does not know.
    #[error("broker {broker_id} is not registered")]
    BrokerNotRegistered {
        /// The broker.
        broker_id: BrokerId,
    },
    /// → STALE_BROKER_EPOCH (77): a heartbeat or AlterPartition from an incarnation that is
    /// not the registered one (a previous run of the broker).
    #[error("broker {broker_id} incarnation {incarnation:?} is not the registered {registered:?}")]
    StaleBrokerEpoch {
        /// The broker.
        broker_id: BrokerId,
        /// The incarnation in the request.
        incarnation: IncarnationId,
        /// The registered incarnation.
        registered: IncarnationId,
    },
    /// → DUPLICATE_BROKER_REGISTRATION (101): a new incarnation registers while the previous
    /// one is unfenced and still heartbeating.
    #[error("broker {broker_id} is already registered by a live incarnation")]
    DuplicateBrokerRegistration {
        /// The broker.
        broker_id: BrokerId,
    },
    /// → UNKNOWN_TOPIC_OR_PARTITION (3): an AlterPartition or election for a partition that
    /// does not exist.
    #[error("unknown partition {partition} of topic {topic_id}")]
    UnknownPartition {
        /// The topic.
        topic_id: TopicId,
        /// The partition.
        partition: PartitionIndex,
    },
    /// → FENCED_LEADER_EPOCH (74): an AlterPartition with a leader epoch that is not the
    /// partition's current one (a zombie leader, or a leader that missed an election).
    #[error("leader epoch {requested} is not the current {current}")]
    FencedLeaderEpoch {
        /// The epoch in the request.
        requested: LeaderEpoch,
        /// The partition's epoch.
        current: LeaderEpoch,
    },
    /// → INVALID_UPDATE_VERSION (95): an AlterPartition with a partition epoch that is not the
    /// partition's current one (the leader's view of the ISR is out of date).
    #[error("partition epoch {requested} is not the current {current}")]
    InvalidUpdateVersion {
        /// The epoch in the request.
        requested: PartitionEpoch,
        /// The partition's epoch.
        current: PartitionEpoch,
    },
    /// → NOT_LEADER_OR_FOLLOWER (6): an AlterPartition from a broker that does not lead the
    /// partition.
    #[error("broker {broker_id} does not lead the partition (leader {leader:?})")]
    NotLeaderOrFollower {
        /// The sender.
        broker_id: BrokerId,
        /// The partition's leader.
        leader: Option<BrokerId>,
    },
    /// → INELIGIBLE_REPLICA (107): a proposed ISR names a fenced broker or a non-replica.
    #[error("broker {broker_id} cannot join the ISR: {reason}")]
    IneligibleReplica {
        /// The ineligible broker.
        broker_id: BrokerId,
        /// Why.
        reason: Reason,
    },
    /// → PREFERRED_LEADER_NOT_AVAILABLE (80): the preferred replica is fenced or out of sync.
    #[error("preferred leader {preferred} is not an unfenced ISR member")]
    PreferredLeaderNotAvailable {
        /// The preferred replica.
        preferred: BrokerId,
    },
    /// → INVALID_REQUEST (42): records proposed to the log do not apply to the controller's
    /// view (a caller proposing records no command of this controller made).
    #[error("proposed records do not apply: {error}")]
    InvalidRecords {
        /// Why the first bad record does not apply.
        error: ApplyError,
    },
    /// → ELECTION_NOT_NEEDED (84): the preferred replica already leads.
    #[error("the preferred replica already leads")]
    ElectionNotNeeded,
    /// → NO_REASSIGNMENT_IN_PROGRESS (85): a cancellation for a partition that is not
    /// being reassigned.
    #[error("no reassignment of partition {partition} of topic {topic_id} is in progress")]
    NoReassignmentInProgress {
        /// The topic.
        topic_id: TopicId,
        /// The partition.
        partition: PartitionIndex,
    },
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
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
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
        reason: Reason,
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
    /// A partition change breaks the epoch rules (partition epoch +1 on every change, leader
    /// epoch +1 exactly when the leader changes) or changes nothing.
    #[error("partition {partition} of {topic_id}: {reason}")]
    InvalidPartitionChange {
        /// The topic.
        topic_id: TopicId,
        /// The partition.
        partition: PartitionIndex,
        /// Which rule is broken.
        reason: Reason,
    },
    /// A fencing record names an unregistered broker or another incarnation, fences a fenced
    /// broker or unfences an unfenced one.
    #[error("broker {broker_id}: {reason}")]
    InvalidBrokerFencing {
        /// The broker.
        broker_id: BrokerId,
        /// Which rule is broken.
        reason: Reason,
    },
    /// A record would leave a fenced broker leading a partition.
    #[error("fenced broker {broker_id} would lead partition {partition} of {topic_id}")]
    FencedLeader {
        /// The broker.
        broker_id: BrokerId,
        /// The topic.
        topic_id: TopicId,
        /// The partition.
        partition: PartitionIndex,
    },
}
