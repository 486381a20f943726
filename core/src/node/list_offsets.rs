//! ListOffsets (answered by the partition's leader only, with Kafka's `current_leader_epoch`
//! checks): `-2` earliest (log start offset), `-1` latest (the replica's high watermark: with
//! one replica the log end offset, or the durable offset when the topic's flush policy syncs,
//! as consumers may read no further), `>= 0` the earliest offset whose timestamp is at or after the target (via the
//! log's time index; offset and timestamp -1 when every record is older), `-3` the lowest
//! offset holding the largest timestamp in the partition, with that timestamp (KIP-734,
//! ListOffsets v7; -1/-1 on an empty log). The tiered-storage specials (`-4`, `-5`, v8+) are
//! outside the advertised versions and answer INVALID_REQUEST, like any other negative.

use super::cluster::topic_name;
use super::errors::log_error_code;
use super::io::TopicPartition;
use super::Node;
use crate::log::{LogError, TimestampOffset};
use crate::storage::StorageProvider;
use crate::wire::{KafkaErrorCode, ResponseBody};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

/// ListOffsets' special timestamp for the earliest offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// ListOffsets' special timestamp for the latest offset.
pub const LATEST_TIMESTAMP: i64 = -1;
/// ListOffsets' special timestamp for the record with the largest timestamp (KIP-734).
pub const MAX_TIMESTAMP: i64 = -3;

impl<P: StorageProvider> Node<P> {
    pub(super) fn handle_list_offsets(
        &mut self,
        request: &ListOffsetsRequest,
        version: i16,
    ) -> ResponseBody {
        let topics = request
            .topics
            .iter()
            .map(|topic| {
                let name = topic.name.0.to_string();
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|p| {
                        let tp = TopicPartition::new(&name, p.partition_index);
                        let checked = self.check_leader(&tp, p.current_leader_epoch);
                        let (code, offset, timestamp) = match checked {
                            Ok(()) => self.list_offset(&tp, p.timestamp),
                            Err(code) => (code, -1, -1),
                        };
                        let mut answer = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(code)
                            .with_offset(offset)
                            .with_timestamp(timestamp);
                        if version >= 4 && code == 0 {
                            let epoch = self.partitions.get(&tp).and_then(|r| r.leader_epoch());
                            answer = answer.with_leader_epoch(epoch.map_or(-1, |e| e.0));
                        }
                        answer
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(topic_name(&name))
                    .with_partitions(partitions)
            })
            .collect();
        ResponseBody::ListOffsets(ListOffsetsResponse::default().with_topics(topics))
    }

    /// (error code, offset, timestamp) for one partition.
    fn list_offset(&mut self, tp: &TopicPartition, target: i64) -> (i16, i64, i64) {
        let Some(replica) = self.partitions.get_mut(tp) else {
            return (self.missing_partition_code(tp), -1, -1);
        };
        let high_watermark = replica.high_watermark().0 as i64;
        let log = replica.log_mut();
        match target {
            EARLIEST_TIMESTAMP => (0, log.log_start_offset().0 as i64, -1),
            LATEST_TIMESTAMP => (0, high_watermark, -1),
            MAX_TIMESTAMP => found_answer(log.offset_of_max_timestamp()),
            t if t < 0 => (KafkaErrorCode::InvalidRequest.code(), -1, -1),
            t => found_answer(log.offset_for_timestamp(t)),
        }
    }
}

/// The (error code, offset, timestamp) answer of a lookup by timestamp: -1/-1 when nothing
/// was found.
fn found_answer(lookup: Result<Option<TimestampOffset>, LogError>) -> (i16, i64, i64) {
    match lookup {
        Ok(Some(found)) => (0, found.offset.0 as i64, found.timestamp),
        Ok(None) => (0, -1, -1),
        Err(error) => (log_error_code(&error), -1, -1),
    }
}
