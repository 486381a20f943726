//! A client's metadata cache: which node leads each partition of its topic, under which
//! leader epoch, learned from Metadata answers the way a Kafka client learns it.
//!
//! Contract:
//! - One cache per client, for the one topic the client uses (each worker and reader has
//!   one durability class). Broker id == node index.
//! - In a single-node world ([`LeaderCache::new`] with `nodes == 1`) every partition is led
//!   by node 0 under an unknown epoch (-1), forever: no Metadata is ever needed, so the
//!   requests are exactly those of the single-broker workload.
//! - A partition's entry is usable when it names a leader and is not stale. Errors that say
//!   the client's view is wrong ([`refreshes_metadata`]), connection resets and request
//!   timeouts mark the partitions of the failed request stale; the client then refreshes
//!   before its next request to them.
//! - Like Kafka's `metadata.max.age.ms`, the whole cache is refreshed once it is older than
//!   [`METADATA_MAX_AGE_NS`] (5 min in Kafka; shrunk like the request timeout): without
//!   it an `acks=0` producer, which never hears an error, would write to a deposed leader
//!   forever.
//! - Like Kafka's client (KIP-320), an answer carrying an older leader epoch than the one
//!   already known for a partition is ignored for it (a lagging broker must not send the
//!   client back to a deposed leader); an equal or newer epoch replaces the entry.

use odradek_core::wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use odradek_core::wire::kafka_protocol::messages::{MetadataRequest, TopicName};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{KafkaErrorCode, RequestBody, ResponseBody};
use odradek_core::Mono;
use std::collections::BTreeMap;

/// Metadata version sent: the newest the node supports (see `core::wire::versions`).
pub const METADATA_VERSION: i16 = 12;
/// How long a Metadata answer is trusted before the next request refreshes it.
pub const METADATA_MAX_AGE_NS: u64 = 2_000_000_000;
/// UNKNOWN_LEADER_EPOCH: the request's leader epoch is newer than the broker's.
pub(crate) const UNKNOWN_LEADER_EPOCH: i16 = 75;
/// REPLICA_NOT_AVAILABLE in a Metadata partition: the leader is still valid.
const REPLICA_NOT_AVAILABLE: i16 = 9;

/// What the client knows of one partition's leadership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leadership {
    /// The leading node, if any.
    pub leader: Option<usize>,
    /// The leader epoch (-1: unknown).
    pub epoch: i32,
    /// An error said this is out of date: refresh before using it.
    pub stale: bool,
}

/// A usable leader: where to send, and the epoch to carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leader {
    pub node: usize,
    pub epoch: i32,
}

/// One client's view of its topic's leaders. See the module docs.
#[derive(Clone, Debug)]
pub(crate) struct LeaderCache {
    nodes: usize,
    partitions: BTreeMap<i32, Leadership>,
    /// When the last Metadata answer stops being trusted.
    expires_at: Option<Mono>,
}

impl LeaderCache {
    pub(crate) fn new(nodes: usize) -> LeaderCache {
        LeaderCache {
            nodes: nodes.max(1),
            partitions: BTreeMap::new(),
            expires_at: None,
        }
    }

    /// Is the world a single node (everything goes to node 0, no Metadata)?
    pub(crate) fn is_single_node(&self) -> bool {
        self.nodes == 1
    }

    /// The usable leader of `partition`, if known and not stale.
    pub(crate) fn leader(&self, partition: i32) -> Option<Leader> {
        if self.is_single_node() {
            return Some(Leader { node: 0, epoch: -1 });
        }
        let entry = self.partitions.get(&partition)?;
        match (entry.leader, entry.stale) {
            (Some(node), false) => Some(Leader {
                node,
                epoch: entry.epoch,
            }),
            _ => None,
        }
    }

    /// Do any of `partitions` lack a usable leader at `now`, or is the cache too old?
    pub(crate) fn needs_refresh(&self, partitions: &[i32], now: Mono) -> bool {
        if self.is_single_node() {
            return false;
        }
        let expired = self.expires_at.is_none_or(|at| now >= at);
        expired || partitions.iter().any(|&p| self.leader(p).is_none())
    }

    /// Marks `partitions` stale (no effect in a single-node world).
    pub(crate) fn mark_stale(&mut self, partitions: &[i32]) {
        for partition in partitions {
            if let Some(entry) = self.partitions.get_mut(partition) {
                entry.stale = true;
            }
        }
    }

    /// Takes in a Metadata answer for `topic` at `now`; returns how many partitions it
    /// updated.
    pub(crate) fn learn(&mut self, body: &ResponseBody, topic: &str, now: Mono) -> usize {
        let ResponseBody::Metadata(response) = body else {
            return 0;
        };
        let partitions = response
            .topics
            .iter()
            .filter(|t| t.error_code == 0 && t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
            .flat_map(|t| t.partitions.iter());
        let mut updated = 0;
        for answer in partitions {
            let leader = usize::try_from(answer.leader_id.0)
                .ok()
                .filter(|&node| node < self.nodes)
                .filter(|_| answer.error_code == 0 || answer.error_code == REPLICA_NOT_AVAILABLE);
            let known = self.partitions.get(&answer.partition_index);
            if known.is_some_and(|k| answer.leader_epoch < k.epoch) {
                continue; // an older view than ours: ignored (KIP-320)
            }
            let entry = Leadership {
                leader,
                epoch: answer.leader_epoch,
                stale: false,
            };
            self.partitions.insert(answer.partition_index, entry);
            updated += 1;
        }
        if updated > 0 {
            self.expires_at = Some(Mono(now.0.saturating_add(METADATA_MAX_AGE_NS)));
        }
        updated
    }

    /// Groups `partitions` by their usable leader; partitions without one are left out.
    pub(crate) fn by_leader(&self, partitions: &[i32]) -> BTreeMap<usize, Vec<(i32, i32)>> {
        let mut groups: BTreeMap<usize, Vec<(i32, i32)>> = BTreeMap::new();
        for &partition in partitions {
            if let Some(leader) = self.leader(partition) {
                groups
                    .entry(leader.node)
                    .or_default()
                    .push((partition, leader.epoch));
            }
        }
        groups
    }
}

/// Partition error codes that mean the client's leader view is wrong (Kafka's
/// `InvalidMetadataException` family, plus UNKNOWN_LEADER_EPOCH): refresh before retrying.
pub(crate) fn refreshes_metadata(code: i16) -> bool {
    code == UNKNOWN_LEADER_EPOCH
        || matches!(
            KafkaErrorCode::from_code(code),
            Some(
                KafkaErrorCode::NotLeaderOrFollower
                    | KafkaErrorCode::FencedLeaderEpoch
                    | KafkaErrorCode::LeaderNotAvailable
                    | KafkaErrorCode::UnknownTopicOrPartition
            )
        )
}

/// Metadata for one topic, never creating it.
pub(crate) fn metadata_request(topic: &str) -> RequestBody {
    let name = TopicName(StrBytes::from_string(topic.to_owned()));
    RequestBody::Metadata(
        MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name))
            ]))
            .with_allow_auto_topic_creation(false),
    )
}
