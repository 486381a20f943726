//! The metadata log's entries, KRaft-style: every change to the cluster's metadata is one of
//! these records, and the [`MetadataImage`](super::MetadataImage) is what applying them in
//! log order gives. Records carry every decided value (topic ids, replica lists, epochs) so
//! that applying them is a pure function: replay never re-decides anything.
//!
//! The enum is `#[non_exhaustive]`. Issue 6 added partition changes (leader and ISR updates
//! from AlterPartition and elections) and broker fencing and unfencing. Heartbeats themselves
//! are never logged: only the fencing decisions they lead to are.

use super::ids::{BrokerId, IncarnationId, LeaderEpoch, PartitionEpoch, PartitionIndex, TopicId};

/// One entry of the metadata log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum MetadataRecord {
    /// A broker (re-)registers; a new incarnation replaces the previous registration and
    /// starts fenced (it leads nothing until its first heartbeat unfences it).
    RegisterBroker(BrokerRegistration),
    /// A topic comes into existence, with no partitions yet (they follow in the same batch).
    Topic(TopicRecord),
    /// A partition of an existing topic comes into existence, with its assignment.
    Partition(PartitionRecord),
    /// A topic config is set (`value: Some`) or removed (`value: None`).
    Config(ConfigRecord),
    /// A topic, its partitions and its configs go away.
    RemoveTopic(RemoveTopicRecord),
    /// A partition's leader or ISR changes (Kafka's `PartitionChangeRecord`).
    PartitionChange(PartitionChangeRecord),
    /// A broker is fenced: it stopped heartbeating (Kafka's `FenceBrokerRecord`).
    FenceBroker(BrokerFencingRecord),
    /// A fenced broker heartbeats again and may lead and join ISRs (Kafka's
    /// `UnfenceBrokerRecord`).
    UnfenceBroker(BrokerFencingRecord),
    /// A partition's replica set changes: a reassignment starts, completes or is cancelled
    /// (Kafka's `PartitionChangeRecord` with `replicas`, `addingReplicas` and
    /// `removingReplicas`).
    PartitionReassignment(PartitionReassignmentRecord),
}

/// A partition's new leader and ISR with the epochs that go with them. Carries the whole
/// new state (not a diff) so that applying it decides nothing. Rules checked on apply: the
/// partition epoch is the current one plus one; the leader epoch is the current one plus one
/// if the leader changes (to another broker or to none) and unchanged otherwise; the leader
/// is an unfenced member of the ISR.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionChangeRecord {
    /// The topic.
    pub topic_id: TopicId,
    /// The partition.
    pub partition: PartitionIndex,
    /// The new leader; `None` when no eligible replica exists.
    pub leader: Option<BrokerId>,
    /// The new in-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The new leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The new partition epoch.
    pub partition_epoch: PartitionEpoch,
}

/// Fences or unfences one incarnation of a broker (Kafka's `FenceBrokerRecord` and
/// `UnfenceBrokerRecord`, whose broker epoch is our incarnation).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerFencingRecord {
    /// The broker.
    pub broker_id: BrokerId,
    /// The registered incarnation it applies to; a record for another incarnation is refused.
    pub incarnation: IncarnationId,
}

/// One listener a broker accepts clients on (Kafka's `Endpoint`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Listener {
    /// Listener name, e.g. `PLAINTEXT`.
    pub name: String,
    /// Host clients connect to (the advertised host).
    pub host: String,
    /// Port clients connect to.
    pub port: u16,
}

/// A broker's registration (Kafka's `RegisterBrokerRecord`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerRegistration {
    /// The broker's id.
    pub broker_id: BrokerId,
    /// This run of the broker process.
    pub incarnation: IncarnationId,
    /// Where clients reach it.
    pub listeners: Vec<Listener>,
    /// Its rack (`broker.rack`), used to spread replicas.
    pub rack: Option<String>,
}

/// A topic comes into existence (Kafka's `TopicRecord`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicRecord {
    /// The topic's name, unique among live topics.
    pub name: String,
    /// The topic's id, unique forever.
    pub topic_id: TopicId,
}

/// A partition comes into existence (Kafka's `PartitionRecord`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionRecord {
    /// The topic it belongs to.
    pub topic_id: TopicId,
    /// Its index; partitions of a topic are created in index order, densely from 0.
    pub partition: PartitionIndex,
    /// The brokers holding a replica, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas; a subset of `replicas`.
    pub isr: Vec<BrokerId>,
    /// The leader, a member of `isr`; `None` when no replica can lead.
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch.
    pub partition_epoch: PartitionEpoch,
}

/// A topic config changes (Kafka's `ConfigRecord` for resource type TOPIC).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConfigRecord {
    /// The topic's name.
    pub topic: String,
    /// The config key, e.g. `retention.ms`; validated by the controller before it is logged.
    pub key: String,
    /// The new value, or `None` to return to the default.
    pub value: Option<String>,
}

/// A topic is deleted (Kafka's `RemoveTopicRecord`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoveTopicRecord {
    /// The topic's id.
    pub topic_id: TopicId,
}

/// A partition's whole new state when its replica set changes (KIP-455). While a
/// reassignment runs, `replicas` is the target followed by the replicas being removed, so
/// every broker that holds or will hold a copy hosts one. Rules checked on apply: the
/// partition epoch is the current one plus one; the leader epoch too (a new replica set
/// starts a new leader epoch, so every replica takes its new role even when the leader
/// stays); the usual shape (leader in ISR, ISR within replicas); `adding_replicas` and
/// `removing_replicas` are disjoint subsets of `replicas`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionReassignmentRecord {
    /// The topic.
    pub topic_id: TopicId,
    /// The partition.
    pub partition: PartitionIndex,
    /// The new replica set, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// Target replicas not yet in the ISR when the reassignment started (empty when none runs).
    pub adding_replicas: Vec<BrokerId>,
    /// Replicas to drop once every target replica is in sync (empty when none runs).
    pub removing_replicas: Vec<BrokerId>,
    /// The new in-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The new leader.
    pub leader: Option<BrokerId>,
    /// The new leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The new partition epoch.
    pub partition_epoch: PartitionEpoch,
}
