//! Replicated durability at the moment of acknowledgment (source: Kafka's `acks=all`
//! contract with `min.insync.replicas`: "the leader will wait for the full set of in-sync
//! replicas to acknowledge the record", and the ISR must have at least
//! `min.insync.replicas` members, or the produce fails).
//!
//! When a leader emits a successful `acks=all` response for records `base..end` of a
//! partition whose topic sets `min.insync.replicas = m`, at least `m` brokers must hold those
//! records durably *at that moment*. Brokers whose process is down cannot be inspected; they
//! count as possibly holding them (a crash keeps what was synced), so the check is sound
//! under crashes and only ever fires on a real shortfall: an acknowledgment that a loss of
//! the leader could take back.

use odradek_core::log::FlushPolicy;
use odradek_core::node::{Node, TopicPartition};
use odradek_core::storage::StorageProvider;
use odradek_core::wire::ResponseBody;

use super::durability::AwaitedRecords;

/// One broker's knowledge of a partition, for the check.
pub enum ReplicaHolding {
    /// The broker is down: it may hold the records.
    Unknown,
    /// The broker runs: the end of what it holds durably (0 without the partition).
    Holds(u64),
}

/// What broker `node` durably holds of `tp` (under a syncing flush policy, its durable
/// offset; otherwise its log end offset).
pub fn holding<P: StorageProvider>(
    node: Option<&mut Node<P>>,
    tp: &TopicPartition,
) -> ReplicaHolding {
    let Some(node) = node else {
        return ReplicaHolding::Unknown;
    };
    match node.partition_log(tp) {
        None => ReplicaHolding::Holds(0),
        Some(log) if log.config().flush_policy != FlushPolicy::Never => {
            ReplicaHolding::Holds(log.durable_offset().0)
        }
        Some(log) => ReplicaHolding::Holds(log.log_end_offset().0),
    }
}

/// Checks a successful `acks=all` response: every acknowledged range is held by at least
/// `min_insync` brokers. `holdings(tp)` reports each broker's holding of `tp`.
pub fn check_replicated_ack(
    awaited: &AwaitedRecords,
    response: &ResponseBody,
    min_insync: usize,
    holdings: &mut dyn FnMut(&TopicPartition) -> Vec<ReplicaHolding>,
) -> Result<(), String> {
    let ResponseBody::Produce(produce) = response else {
        return Ok(());
    };
    for topic in &produce.responses {
        for partition in &topic.partition_responses {
            if partition.error_code != 0 || partition.base_offset < 0 {
                continue;
            }
            let tp = TopicPartition::new(&topic.name.0, partition.index);
            let end = partition.base_offset as u64 + awaited.get(&tp).copied().unwrap_or(0);
            let all = holdings(&tp);
            let holders = all
                .iter()
                .filter(|h| match h {
                    ReplicaHolding::Unknown => true,
                    ReplicaHolding::Holds(upto) => *upto >= end,
                })
                .count();
            if holders < min_insync {
                let seen: Vec<String> = all
                    .iter()
                    .map(|h| match h {
                        ReplicaHolding::Unknown => "down".to_owned(),
                        ReplicaHolding::Holds(upto) => upto.to_string(),
                    })
                    .collect();
                return Err(format!(
                    "acks=all produce to {} acknowledged offsets {}..{end} held durably by \
                     {holders} broker(s), fewer than min.insync.replicas={min_insync} \
                     (brokers' durable ends: {})",
                    tp.directory_name(),
                    partition.base_offset,
                    seen.join(", ")
                ));
            }
        }
    }
    Ok(())
}
