//! The leader side of replication: answering followers' OffsetForLeaderEpoch and Fetch
//! requests from the leader replica.
//!
//! - OffsetForLeaderEpoch: where the largest epoch `<=` the asked one ends in the leader's
//!   log ([`crate::replication::PartitionReplica::handle_offsets_for_leader_epoch`]).
//! - Follower Fetch (a Fetch with a replica id, [`crate::wire::is_follower_fetch`]): records
//!   from the fetch offset, or a diverging epoch (KIP-320), with the leader's high watermark
//!   and log start offset ([`crate::replication::PartitionReplica::handle_follower_fetch`],
//!   which also records the follower's progress: ISR changes and high watermark advances).
//!   With nothing to send it long-polls like a consumer fetch (module `fetch`): it is
//!   answered when records arrive, when the high watermark moves (so followers learn it
//!   promptly), or at `max_wait_ms`.
//! - Errors, per partition: not the leader, NOT_LEADER_OR_FOLLOWER (6); a current leader
//!   epoch older than the leader's, FENCED_LEADER_EPOCH (74); newer, UNKNOWN_LEADER_EPOCH
//!   (75); a broker that is not a replica, NOT_LEADER_OR_FOLLOWER.

use super::cluster::topic_name;
use super::errors::replication_error_code;
use super::io::TopicPartition;
use super::Node;
use crate::controller::{BrokerId, LeaderEpoch};
use crate::record::Offset;
use crate::replication::{EpochQuery, FollowerFetch};
use crate::storage::StorageProvider;
use crate::time::Now;
use crate::wire::ResponseBody;
use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{
    EpochEndOffset as DivergingEpoch, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    FetchRequest, FetchResponse, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
};

/// A follower fetch evaluated now.
pub(super) struct FollowerFetchAnswer {
    pub(super) response: FetchResponse,
    pub(super) bytes: usize,
    /// An error or a diverging epoch: answer at once.
    pub(super) urgent: bool,
    /// Each partition's high watermark in the answer.
    pub(super) high_watermarks: Vec<(TopicPartition, i64)>,
}

impl<P: StorageProvider> Node<P> {
    pub(super) fn handle_offset_for_leader_epoch(
        &self,
        request: &OffsetForLeaderEpochRequest,
    ) -> ResponseBody {
        let replica_id = BrokerId(request.replica_id.0);
        let topics = request
            .topics
            .iter()
            .map(|topic| {
                let name = topic.topic.0.to_string();
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|p| {
                        let tp = TopicPartition::new(&name, p.partition);
                        let query = EpochQuery {
                            replica: replica_id,
                            current_leader_epoch: LeaderEpoch(p.current_leader_epoch),
                            leader_epoch: LeaderEpoch(p.leader_epoch),
                        };
                        let answer = match self.partitions.get(&tp) {
                            None => Err(self.missing_partition_code(&tp)),
                            Some(replica) => replica
                                .handle_offsets_for_leader_epoch(&query)
                                .map_err(|e| replication_error_code(&e)),
                        };
                        let entry = EpochEndOffset::default().with_partition(p.partition);
                        match answer {
                            Ok(end) => entry
                                .with_leader_epoch(end.leader_epoch.0)
                                .with_end_offset(end.end_offset.0 as i64),
                            Err(code) => entry
                                .with_error_code(code)
                                .with_leader_epoch(-1)
                                .with_end_offset(-1),
                        }
                    })
                    .collect();
                OffsetForLeaderTopicResult::default()
                    .with_topic(topic_name(&name))
                    .with_partitions(partitions)
            })
            .collect();
        ResponseBody::OffsetForLeaderEpoch(
            OffsetForLeaderEpochResponse::default().with_topics(topics),
        )
    }

    /// Serves a follower's fetch now (see the module docs).
    pub(super) fn evaluate_follower_fetch(
        &mut self,
        now: Now,
        replica_id: i32,
        request: &FetchRequest,
    ) -> FollowerFetchAnswer {
        let mut bytes = 0usize;
        let mut urgent = false;
        let mut high_watermarks = Vec::new();
        let mut topics = Vec::new();
        for topic in &request.topics {
            let name = topic.topic.0.to_string();
            let mut partitions = Vec::new();
            for wanted in &topic.partitions {
                let tp = TopicPartition::new(&name, wanted.partition);
                let fetch = FollowerFetch {
                    replica: BrokerId(replica_id),
                    current_leader_epoch: LeaderEpoch(wanted.current_leader_epoch),
                    fetch_offset: Offset(u64::try_from(wanted.fetch_offset).unwrap_or(u64::MAX)),
                    last_fetched_epoch: (wanted.last_fetched_epoch >= 0)
                        .then_some(LeaderEpoch(wanted.last_fetched_epoch)),
                    max_bytes: usize::try_from(wanted.partition_max_bytes).unwrap_or(0),
                };
                let data = self.serve_follower_partition(now, &tp, &fetch);
                urgent |= data.error_code != 0 || data.diverging_epoch.epoch >= 0;
                bytes += data.records.as_ref().map_or(0, Bytes::len);
                high_watermarks.push((tp, data.high_watermark));
                partitions.push(data.with_partition_index(wanted.partition));
            }
            topics.push(
                FetchableTopicResponse::default()
                    .with_topic(topic_name(&name))
                    .with_topic_id(topic.topic_id)
                    .with_partitions(partitions),
            );
        }
        FollowerFetchAnswer {
            response: FetchResponse::default().with_responses(topics),
            bytes,
            urgent,
            high_watermarks,
        }
    }

    fn serve_follower_partition(
        &mut self,
        now: Now,
        tp: &TopicPartition,
        fetch: &FollowerFetch,
    ) -> PartitionData {
        let error = |code: i16| {
            PartitionData::default()
                .with_error_code(code)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1)
                .with_records(Some(Bytes::new()))
        };
        let Some(replica) = self.partitions.get_mut(tp) else {
            return error(self.missing_partition_code(tp));
        };
        let before = replica.high_watermark();
        let served = replica.handle_follower_fetch(now, fetch);
        let moved = replica.high_watermark() != before;
        if moved {
            self.changed_partitions.insert(tp.clone());
        }
        self.drain_replica(now, tp);
        let answer = match served {
            Ok(answer) => answer,
            Err(e) => return error(replication_error_code(&e)),
        };
        let high_watermark = answer.high_watermark.0 as i64;
        let mut data = PartitionData::default()
            .with_high_watermark(high_watermark)
            .with_last_stable_offset(high_watermark)
            .with_log_start_offset(answer.log_start_offset.0 as i64)
            .with_records(Some(answer.records));
        if let Some(diverging) = answer.diverging_epoch {
            data = data.with_diverging_epoch(
                DivergingEpoch::default()
                    .with_epoch(diverging.leader_epoch.0)
                    .with_end_offset(diverging.end_offset.0 as i64),
            );
        }
        data
    }
}
