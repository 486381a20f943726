//! No corrupt batch reaches a client (source: KIP-98 defines the RecordBatch v2 CRC-32C over
//! attributes..records; Kafka clients check it, so a broker that serves bytes failing it is
//! serving damage). A disk that corrupts data is allowed to make a batch unreadable, but the
//! broker must detect it (recovery truncates, reads report KAFKA_STORAGE_ERROR), never pass
//! it on — unless the run injected corruption the log cannot detect in time, in which case
//! the world excuses it and says so.

use odradek_core::record::validate_batch;
use odradek_core::record::BatchHeader;
use odradek_core::wire::ResponseBody;

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
            let mut rest: &[u8] = records;
            while let Some(header) = BatchHeader::parse(rest) {
                let Some(len) = header.total_len().filter(|len| *len <= rest.len()) else {
                    break; // a partial batch at the end is allowed (clients skip it)
                };
                if let Err(error) = validate_batch(&rest[..len]) {
                    return Some(format!(
                        "fetch from {}-{} served a corrupt batch at offset {}: {error}",
                        topic.topic.0, partition.partition_index, header.base_offset
                    ));
                }
                rest = &rest[len..];
            }
        }
    }
    None
}
