//! Durability at the moment of emission (source: Odradek's rule "no acknowledgment before the
//! durability it promises", DESIGN.md; Kafka's `flush.messages=1` flushes before the append
//! returns, so neither its acks nor its high watermark ever cover unflushed records).
//!
//! - An `acks=all` produce response that reports success for a partition whose log syncs
//!   (`flush.messages` or `flush.ms`) must be emitted when the log's durable offset already
//!   covers every record of the request's batch.
//! - A fetch response from such a partition may carry only records below the durable offset.

use bytes::Bytes;
use odradek_core::log::FlushPolicy;
use odradek_core::node::{Node, TopicPartition};
use odradek_core::record::complete_batches;
use odradek_core::storage::StorageProvider;
use odradek_core::wire::{RequestBody, ResponseBody};
use std::collections::BTreeMap;

/// What the world remembers of an `acks=all` produce request until its response: the number
/// of records sent per partition.
pub type AwaitedRecords = BTreeMap<TopicPartition, u64>;

/// The records per partition of an `acks=all` produce request, or `None` for other requests.
pub fn awaited_records(request: &RequestBody) -> Option<AwaitedRecords> {
    let RequestBody::Produce(produce) = request else {
        return None;
    };
    if produce.acks != -1 {
        return None;
    }
    let mut awaited = AwaitedRecords::new();
    for topic in &produce.topic_data {
        for data in &topic.partition_data {
            let count = data.records.as_ref().map_or(0, count_records);
            let tp = TopicPartition::new(&topic.name.0, data.index);
            *awaited.entry(tp).or_insert(0) += count;
        }
    }
    Some(awaited)
}

fn count_records(bytes: &Bytes) -> u64 {
    complete_batches(bytes)
        .map(|(header, _)| header.next_offset() - header.base_offset)
        .sum()
}

fn syncs<P: StorageProvider>(node: &mut Node<P>, tp: &TopicPartition) -> Option<u64> {
    let log = node.partition_log(tp)?;
    (log.config().flush_policy != FlushPolicy::Never).then(|| log.durable_offset().0)
}

/// Checks an `acks=all` produce response against the durable offsets of `node`'s logs.
pub fn check_produce_ack<P: StorageProvider>(
    node: &mut Node<P>,
    awaited: &AwaitedRecords,
    response: &ResponseBody,
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
            let records = awaited.get(&tp).copied().unwrap_or(0);
            let end = partition.base_offset as u64 + records;
            if let Some(durable) = syncs(node, &tp) {
                if durable < end {
                    return Err(format!(
                        "acks=all produce to {} acknowledged offsets {}..{end} while the \
                         durable offset is {durable}",
                        tp.directory_name(),
                        partition.base_offset
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Checks that a fetch response serves nothing beyond the durable offsets of `node`'s logs.
pub fn check_fetch_durable<P: StorageProvider>(
    node: &mut Node<P>,
    response: &ResponseBody,
) -> Result<(), String> {
    let ResponseBody::Fetch(fetch) = response else {
        return Ok(());
    };
    for topic in &fetch.responses {
        for partition in &topic.partitions {
            let Some(records) = partition.records.as_ref().filter(|r| !r.is_empty()) else {
                continue;
            };
            let tp = TopicPartition::new(&topic.topic.0, partition.partition_index);
            let Some(durable) = syncs(node, &tp) else {
                continue;
            };
            for (header, _) in complete_batches(records) {
                if header.next_offset() > durable {
                    return Err(format!(
                        "fetch from {} served offsets up to {} while the durable offset is \
                         {durable}",
                        tp.directory_name(),
                        header.last_offset()
                    ));
                }
            }
        }
    }
    Ok(())
}
