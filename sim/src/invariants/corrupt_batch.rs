//! No corrupt batch reaches a client (source: KIP-98 defines the RecordBatch v2 CRC-32C over
//! attributes..records; Kafka clients check it, so a broker that serves bytes failing it is
//! serving damage). A disk that corrupts data is allowed to make a batch unreadable, but the
//! broker must detect it (recovery truncates, reads report KAFKA_STORAGE_ERROR), never pass
//! it on — unless the run injected corruption the log cannot detect in time, in which case
//! the world excuses it and says so.
//!
//! The simulated clients verify every batch they fetch (CRC-32C and framing) exactly as
//! librdkafka and the Java client do, and count failures; the world checks that count after
//! every event ([`check_clients_saw_no_damage`]), so the check costs no second CRC pass.
//! [`find_corrupt_batch`] does the same check on a response, for tests and tools.

use crate::options::Options;
use odradek_core::record::{complete_batches, validate_batch};
use odradek_core::wire::ResponseBody;

/// Fails when a simulated client received a corrupt batch in a run without corruption faults.
pub fn check_clients_saw_no_damage(
    corrupt_batches_seen: u64,
    options: &Options,
) -> Result<(), String> {
    if corrupt_batches_seen > 0 && options.unsurvivable_faults().is_empty() {
        return Err(format!(
            "a client received a corrupt record batch ({corrupt_batches_seen} so far) although \
             no corruption was injected: the broker served damaged bytes"
        ));
    }
    Ok(())
}

/// The first batch in a fetch response that fails validation, described.
pub fn find_corrupt_batch(response: &ResponseBody) -> Option<String> {
    let ResponseBody::Fetch(fetch) = response else {
        return None;
    };
    for topic in &fetch.responses {
        for partition in &topic.partitions {
            let Some(records) = partition.records.as_ref() else {
                continue;
            };
            for (header, batch) in complete_batches(records) {
                if let Err(error) = validate_batch(batch) {
                    return Some(format!(
                        "fetch from {}-{} served a corrupt batch at offset {}: {error}",
                        topic.topic.0, partition.partition_index, header.base_offset
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};
    use odradek_core::record::RecordBatchBuilder;
    use odradek_core::wire::kafka_protocol::messages::fetch_response::{
        FetchableTopicResponse, PartitionData,
    };
    use odradek_core::wire::kafka_protocol::messages::{FetchResponse, TopicName};
    use odradek_core::wire::kafka_protocol::protocol::StrBytes;

    fn fetch_of(records: Bytes) -> ResponseBody {
        let partition = PartitionData::default().with_records(Some(records));
        let topic = FetchableTopicResponse::default()
            .with_topic(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(vec![partition]);
        ResponseBody::Fetch(FetchResponse::default().with_responses(vec![topic]))
    }

    #[test]
    fn a_clean_batch_passes_and_a_flipped_bit_is_found() {
        let batch: BytesMut = RecordBatchBuilder::new(0).value(0, b"v").build();
        assert_eq!(find_corrupt_batch(&fetch_of(batch.clone().freeze())), None);
        let mut damaged = batch;
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        let found = find_corrupt_batch(&fetch_of(damaged.freeze())).expect("damage found");
        assert!(found.contains("t-0"), "{found}");
    }

    #[test]
    fn client_seen_damage_fails_only_without_corruption_faults() {
        let mut options = crate::options_from_seed(1, &crate::FaultSelection::default());
        options.faults.clear();
        assert!(check_clients_saw_no_damage(0, &options).is_ok());
        assert!(check_clients_saw_no_damage(1, &options).is_err());
        options.faults.insert(crate::FaultKind::ReadCorruption);
        assert!(check_clients_saw_no_damage(1, &options).is_ok());
    }
}
