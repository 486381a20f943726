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
//!
//! A running broker that has not (yet) opened the partition — a restarted one waiting for
//! its metadata — still holds on disk what its previous process had durable: the world
//! remembers that at each crash ([`durable_at_crash`]) and the check counts it, since
//! nothing touches a closed partition's files (the simulated workloads delete no topic).

use std::collections::BTreeMap;

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
/// offset; otherwise its log end offset). A running broker without the partition open holds
/// what `closed` (see [`durable_at_crash`]) remembers its disk kept, or nothing.
pub fn holding<P: StorageProvider>(
    node: Option<&mut Node<P>>,
    closed: &BTreeMap<TopicPartition, u64>,
    tp: &TopicPartition,
) -> ReplicaHolding {
    let Some(node) = node else {
        return ReplicaHolding::Unknown;
    };
    let kept_before = closed.get(tp).copied();
    match node.partition_log(tp) {
        None => ReplicaHolding::Holds(kept_before.unwrap_or(0)),
        Some(log) => ReplicaHolding::Holds(durable_end(log, kept_before, false)),
    }
}

/// The end of what an open log keeps through a crash now (`power_loss`: the machine's too).
///
/// A reopened log counts only its sealed segments durable until its recovery sync
/// completes (it cannot know what its previous process synced), but its disk still holds
/// what was durable at the last crash (`kept_before`, only ever synced data under a syncing
/// policy): that much counts too, as far as the
/// log still reaches (a truncation since cuts it). Caveat: records truncated and appended
/// again before the recovery sync are counted as that older durable data was.
fn durable_end<S: odradek_core::storage::Storage>(
    log: &odradek_core::log::PartitionLog<S>,
    kept_before: Option<u64>,
    power_loss: bool,
) -> u64 {
    let log_end = log.log_end_offset().0;
    if log.config().flush_policy == FlushPolicy::Never {
        // Durability comes from replication: a process crash keeps the page cache, a power
        // loss keeps only what happened to be synced.
        return if power_loss {
            log.durable_offset().0
        } else {
            log_end
        };
    }
    let recovered = kept_before.map_or(0, |kept| kept.min(log_end));
    log.durable_offset().0.max(recovered)
}

/// Records, as a broker's process dies, what its disk keeps of each open partition: the
/// durable offset under a syncing flush policy (at least what the previous crash kept, see
/// `durable_end`); otherwise the log end offset, unless the machine loses power (then only
/// what was synced). Partitions not open keep the entry an earlier crash left, since a
/// process that never reopened them never changed their files.
pub fn durable_at_crash<P: StorageProvider>(
    node: &mut Node<P>,
    power_loss: bool,
    closed: &mut BTreeMap<TopicPartition, u64>,
) {
    for tp in node.partition_names() {
        let Some(log) = node.partition_log(&tp) else {
            continue;
        };
        let kept = durable_end(log, closed.get(&tp).copied(), power_loss);
        closed.insert(tp, kept);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::{SimDisk, SimDiskProvider};
    use odradek_core::node::NodeConfig;
    use odradek_core::{Mono, Now};

    fn running_node_without_partitions() -> Node<SimDiskProvider> {
        let now = Now {
            mono: Mono(0),
            wall_ms: 0,
        };
        Node::open(
            SimDiskProvider::new(SimDisk::new(7)),
            NodeConfig::default(),
            now,
        )
        .expect("a node opens on an empty disk")
    }

    fn held(holding: ReplicaHolding) -> Option<u64> {
        match holding {
            ReplicaHolding::Unknown => None,
            ReplicaHolding::Holds(end) => Some(end),
        }
    }

    #[test]
    fn a_restarted_broker_that_has_not_reopened_a_partition_holds_what_its_crash_kept() {
        let mut node = running_node_without_partitions();
        let tp = TopicPartition::new("acks-all", 0);
        let mut closed = BTreeMap::new();
        closed.insert(tp.clone(), 315);
        assert_eq!(held(holding(Some(&mut node), &closed, &tp)), Some(315));
        let other = TopicPartition::new("acks-all", 1);
        assert_eq!(held(holding(Some(&mut node), &closed, &other)), Some(0));
        assert_eq!(held(holding::<SimDiskProvider>(None, &closed, &tp)), None);
    }

    #[test]
    fn a_crash_keeps_the_memory_of_partitions_its_process_never_reopened() {
        let mut node = running_node_without_partitions();
        let tp = TopicPartition::new("acks-all", 0);
        let mut closed = BTreeMap::new();
        closed.insert(tp.clone(), 223);
        durable_at_crash(&mut node, true, &mut closed);
        assert_eq!(closed.get(&tp), Some(&223));
    }
}
