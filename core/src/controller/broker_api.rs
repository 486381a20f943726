//! The messages between a broker and the controller quorum, as plain data.
//!
//! # Contract
//! - A broker sends [`ControllerRequest`]s to the *active* controller (the quorum leader);
//!   the driver (the simulator, or the tokio adapter) carries them and brings back one
//!   [`ControllerResponse`] per request, matched by `correlation_id`. A controller that is
//!   not active answers [`ControllerResponse::NotController`] (Kafka's NOT_CONTROLLER), and
//!   the broker tries again later, possibly elsewhere. Requests and responses may be lost:
//!   every broker request is retried on a timer, and every controller answer is idempotent
//!   for a retried request (the controller's commands yield no records for a change already
//!   made).
//! - **A controller answers a command only after its records commit** in the metadata log,
//!   so a broker acting on an answer (a new ISR, an unfencing) acts on durable metadata.
//! - **Brokers learn metadata by following the log.** [`ControllerRequest::FetchMetadata`]
//!   asks for the committed records from an offset on; the answer carries them in offset
//!   order (offsets may have gaps). Any controller node may answer a fetch with what *it*
//!   knows to be committed (never more); the broker applies records strictly after the last
//!   offset it applied, so a duplicated or stale answer changes nothing.
//! - These are the KRaft APIs (BrokerRegistration, BrokerHeartbeat, AlterPartition, the
//!   metadata log fetch, CreateTopics, DeleteTopics and CreatePartitions forwarded per
//!   KIP-590) with their Kafka meanings, kept
//!   typed because the controller is reached through the driver; production encodes the
//!   broker-facing ones with `crate::wire`'s inter-broker codec.
//!
//! Why a separate message set: the controller machine sits on any [`super::MetadataLog`]
//! (the simulated quorum here, openraft in production), and brokers must not care which.

use super::{
    AlterPartitionRequest, BrokerId, BrokerRegistration, CommittedRecord, ControllerError,
    CreateTopicRequest, CreateTopicResult, DeleteTopicResult, IncarnationId, LeaderEpoch,
    MetadataOffset, OngoingReassignment, PartitionEpoch, ReassignmentQuery, TopicRef,
};

/// A broker's request to the controller.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ControllerRequest {
    /// Register this run of the broker (BrokerRegistration). A registered broker starts
    /// fenced; its heartbeats unfence it.
    Register(BrokerRegistration),
    /// Renew the broker's session (BrokerHeartbeat).
    Heartbeat {
        /// The broker.
        broker_id: BrokerId,
        /// Its run.
        incarnation: IncarnationId,
        /// The last metadata offset the broker applied (Kafka's `current_metadata_offset`).
        applied_offset: Option<MetadataOffset>,
        /// The broker is stopping and asks to be taken out of every ISR and leadership
        /// first (KRaft's controlled shutdown, `want_shut_down`): the controller fences it
        /// now instead of when its session expires, and keeps it fenced while it asks.
        #[serde(default)]
        want_shut_down: bool,
    },
    /// A leader asks for a new ISR (AlterPartition).
    AlterPartition(AlterPartitionRequest),
    /// Committed metadata records after `after` (all of them when `None`).
    FetchMetadata {
        /// The last offset the broker applied.
        after: Option<MetadataOffset>,
        /// At most this many records in the answer.
        max_records: usize,
    },
    /// CreateTopics forwarded from a client (KIP-590).
    CreateTopics(Vec<CreateTopicRequest>),
    /// DeleteTopics forwarded from a client (KIP-590), topics in request order.
    DeleteTopics(Vec<TopicRef>),
    /// CreatePartitions forwarded from a client (KIP-590), topics in request order.
    CreatePartitions(Vec<CreatePartitionsTopic>),
    /// AlterPartitionReassignments (KIP-455): start, replace or cancel the reassignment of
    /// each named partition, in request order.
    AlterPartitionReassignments(Vec<PartitionReassignment>),
    /// ListPartitionReassignments forwarded from a client (KIP-590): the running moves of
    /// the named topics and partitions (`None`: all), from the controller's committed image.
    ListPartitionReassignments(Option<Vec<ReassignmentQuery>>),
}

/// One partition of an AlterPartitionReassignments.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionReassignment {
    /// The topic's name.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The target replicas, preferred leader first; `None` cancels a running reassignment.
    pub target: Option<Vec<BrokerId>>,
    /// Whether the target may have another replication factor than the partition's
    /// (KIP-860, AlterPartitionReassignments v1; always allowed in v0).
    #[serde(default = "allowed")]
    pub allow_replication_factor_change: bool,
}

fn allowed() -> bool {
    true
}

/// One topic of a forwarded CreatePartitions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatePartitionsTopic {
    /// The topic's name.
    pub topic: String,
    /// The partition count wanted (only increases).
    pub new_total: i32,
    /// The replicas of each new partition, if the client chose them.
    pub assignments: Option<Vec<Vec<BrokerId>>>,
}

/// One topic's outcome of a forwarded CreatePartitions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatePartitionsResult {
    /// The topic's name.
    pub topic: String,
    /// Committed, or why not.
    pub result: Result<(), ControllerError>,
}

/// The controller's answer to one [`ControllerRequest`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ControllerResponse {
    /// This controller is not the active one; try again (elsewhere).
    NotController,
    /// The registration committed.
    Registered,
    /// The heartbeat was taken; `fenced` is the broker's state once its records committed.
    Heartbeat {
        /// Whether the broker is still fenced.
        fenced: bool,
        /// A controlled shutdown is done: the broker asked for it and is now fenced, so it
        /// leads nothing and is in no ISR it could leave short (KRaft's `should_shut_down`).
        #[serde(default)]
        should_shut_down: bool,
    },
    /// The AlterPartition's outcome: the partition's committed leader epoch, partition
    /// epoch and ISR after the change, or why it was refused.
    AlterPartition(Result<AlterPartitionResult, ControllerError>),
    /// Committed records after the requested offset, in offset order.
    Metadata {
        /// The records.
        records: Vec<CommittedRecord>,
    },
    /// The outcome of each forwarded topic creation.
    CreateTopics(Vec<CreateTopicResult>),
    /// The outcome of each forwarded topic deletion (records left out).
    DeleteTopics(Vec<DeleteTopicResult>),
    /// The outcome of each forwarded partition creation.
    CreatePartitions(Vec<CreatePartitionsResult>),
    /// The outcome of each partition of an AlterPartitionReassignments, in request order
    /// (`Ok` once the start, replacement or cancellation committed).
    AlterPartitionReassignments(Vec<Result<(), ControllerError>>),
    /// The running moves asked about.
    ListPartitionReassignments(Vec<OngoingReassignment>),
    /// A registration or heartbeat refused (stale incarnation, unknown broker, …).
    Refused(ControllerError),
}

/// The state of a partition after an accepted AlterPartition.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlterPartitionResult {
    /// The leader epoch (unchanged by an ISR change).
    pub leader_epoch: LeaderEpoch,
    /// The new partition epoch.
    pub partition_epoch: PartitionEpoch,
    /// The new ISR.
    pub isr: Vec<BrokerId>,
}

/// A request with the id that matches its response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ControllerEnvelope<T> {
    /// Chosen by the broker, unique among its outstanding requests.
    pub correlation_id: u64,
    /// The request or response.
    pub body: T,
}
