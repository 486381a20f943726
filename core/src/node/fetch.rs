//! Fetch: whole stored batches per partition within `partition_max_bytes` and the response's
//! `max_bytes`, at least one batch for the first partition with data (KIP-74, so a batch
//! bigger than the limits still makes progress). Only batches below the partition's high
//! watermark are served ([`crate::log::PartitionLog::high_watermark`]: the durable offset
//! under a syncing flush policy, else the log end offset; see the `node` module docs), and it
//! is reported as `high_watermark` and `last_stable_offset` (no transactions yet);
//! `log_start_offset` as the log says. An offset outside `[log start, log end]` is
//! OFFSET_OUT_OF_RANGE; one between the high watermark and the log end gets no records and
//! no error, as in Kafka.
//!
//! Long poll: if fewer than `min_bytes` are available and no partition has an error, the fetch
//! waits until enough bytes arrive (re-evaluated whenever one of its partitions changes: an
//! append, a completed sync that moves the high watermark, a timer) or `max_wait_ms` passes,
//! then answers with what there is. Fetch sessions are not kept: the answer's
//! `session_id` is 0, which tells clients to keep sending full fetches.

use super::cluster::topic_name;
use super::errors::replication_error_code;
use super::io::TopicPartition;
use super::{Node, RequestContext, PENDING_FETCHES_MAX};
use crate::record::Offset;
use crate::storage::StorageProvider;
use crate::time::{Mono, Now};
use crate::wire::{is_follower_fetch, KafkaErrorCode, ResponseBody};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};
use std::collections::BTreeSet;

/// A fetch waiting for `min_bytes` or its deadline.
pub(super) struct PendingFetch {
    pub(super) ctx: RequestContext,
    pub(super) deadline: Mono,
    /// Boxed: every input moves each parked fetch out of the list and back in.
    request: Box<FetchRequest>,
    /// A follower's fetch: its replica id and the high watermarks it would have been told
    /// when it parked (a change answers it early).
    follower: Option<(i32, Vec<(TopicPartition, i64)>)>,
}

/// The outcome of evaluating a fetch now.
struct Evaluated {
    response: FetchResponse,
    bytes: usize,
    has_error: bool,
}

impl<P: StorageProvider> Node<P> {
    /// Answers now (returns the body) or parks the fetch until `min_bytes` or its deadline.
    pub(super) fn handle_fetch(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: FetchRequest,
    ) -> Option<ResponseBody> {
        if ctx.api_version >= 7 && request.session_id != 0 {
            let response = FetchResponse::default()
                // The node keeps no fetch sessions, so an incremental fetch naming one is refused
                // and the client falls back to full fetches (session id 0).
                .with_error_code(KafkaErrorCode::FetchSessionIdNotFound.code())
                .with_session_id(0);
            return Some(ResponseBody::Fetch(response));
        }
        if let Some(replica_id) = is_follower_fetch(&request) {
            return self.handle_follower_fetch_request(now, ctx, request, replica_id);
        }
        let evaluated = self.evaluate_fetch(&request);
        let satisfied = evaluated.has_error
            || evaluated.bytes >= usize::try_from(request.min_bytes.max(0)).unwrap_or(0)
            || request.max_wait_ms <= 0
            || self.pending_fetches.len() >= PENDING_FETCHES_MAX;
        if satisfied {
            return Some(ResponseBody::Fetch(evaluated.response));
        }
        let wait = u64::try_from(request.max_wait_ms).unwrap_or(0);
        self.pending_fetches.push(PendingFetch {
            ctx,
            deadline: now.mono.plus_millis(wait),
            request: Box::new(request),
            follower: None,
        });
        None
    }

    /// A follower's fetch: answered now when it carries records, an error or a diverging
    /// epoch, else parked (module `serving`).
    fn handle_follower_fetch_request(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: FetchRequest,
        replica_id: i32,
    ) -> Option<ResponseBody> {
        let answer = self.evaluate_follower_fetch(now, replica_id, &request);
        let satisfied = answer.urgent
            || answer.bytes >= usize::try_from(request.min_bytes.max(0)).unwrap_or(0)
            || request.max_wait_ms <= 0
            || self.pending_fetches.len() >= PENDING_FETCHES_MAX;
        if satisfied {
            return Some(ResponseBody::Fetch(answer.response));
        }
        let wait = u64::try_from(request.max_wait_ms).unwrap_or(0);
        self.pending_fetches.push(PendingFetch {
            ctx,
            deadline: now.mono.plus_millis(wait),
            request: Box::new(request),
            follower: Some((replica_id, answer.high_watermarks)),
        });
        None
    }

    /// Answers every parked fetch that now has `min_bytes`, an error, or a passed deadline.
    pub(super) fn retry_fetches(&mut self, now: Now) {
        let changed = std::mem::take(&mut self.changed_partitions);
        if self.pending_fetches.is_empty() {
            return;
        }
        let parked = std::mem::take(&mut self.pending_fetches);
        for pending in parked {
            let expired = now.mono >= pending.deadline;
            if !expired && !mentions_any(&pending.request, &changed) {
                self.pending_fetches.push(pending);
                continue;
            }
            let min_bytes = usize::try_from(pending.request.min_bytes.max(0)).unwrap_or(0);
            if let Some((replica_id, parked_at)) = &pending.follower {
                let answer = self.evaluate_follower_fetch(now, *replica_id, &pending.request);
                let moved = answer.high_watermarks != *parked_at;
                if expired || answer.urgent || moved || answer.bytes >= min_bytes {
                    self.respond(pending.ctx, ResponseBody::Fetch(answer.response));
                } else {
                    self.pending_fetches.push(pending);
                }
                continue;
            }
            let evaluated = self.evaluate_fetch(&pending.request);
            if expired || evaluated.has_error || evaluated.bytes >= min_bytes {
                self.respond(pending.ctx, ResponseBody::Fetch(evaluated.response));
            } else {
                self.pending_fetches.push(pending);
            }
        }
    }

    fn evaluate_fetch(&mut self, request: &FetchRequest) -> Evaluated {
        let mut budget = usize::try_from(request.max_bytes).unwrap_or(0);
        let mut bytes = 0usize;
        let mut has_error = false;
        let read_committed = request.isolation_level == 1;
        let mut topics = Vec::new();
        for topic in &request.topics {
            let name = topic.topic.0.to_string();
            let mut partitions = Vec::new();
            for wanted in &topic.partitions {
                let tp = TopicPartition::new(&name, wanted.partition);
                let limit = usize::try_from(wanted.partition_max_bytes)
                    .unwrap_or(0)
                    .min(budget);
                let first_data = bytes == 0;
                let data = match self.check_leader(&tp, wanted.current_leader_epoch) {
                    Ok(()) => self.read_partition(
                        &tp,
                        Offset(u64::try_from(wanted.fetch_offset).unwrap_or(u64::MAX)),
                        limit,
                        first_data,
                        wanted.fetch_offset < 0,
                    ),
                    Err(code) => error_data(code, -1, -1),
                };
                let mut data = data.with_partition_index(wanted.partition);
                if read_committed {
                    data = data.with_aborted_transactions(Some(Vec::new()));
                }
                has_error |= data.error_code != 0;
                let len = data.records.as_ref().map_or(0, Bytes::len);
                bytes += len;
                budget = budget.saturating_sub(len);
                partitions.push(data);
            }
            topics.push(
                FetchableTopicResponse::default()
                    .with_topic(topic_name(&name))
                    .with_topic_id(topic.topic_id)
                    .with_partitions(partitions),
            );
        }
        Evaluated {
            response: FetchResponse::default().with_responses(topics),
            bytes,
            has_error,
        }
    }

    /// Reads whole batches from `from` up to `limit` bytes; the first batch is returned even
    /// if larger when `at_least_one` (KIP-74).
    fn read_partition(
        &mut self,
        tp: &TopicPartition,
        from: Offset,
        limit: usize,
        at_least_one: bool,
        negative_offset: bool,
    ) -> PartitionData {
        let Some(replica) = self.partitions.get_mut(tp) else {
            return error_data(self.missing_partition_code(tp), -1, -1);
        };
        let bound = replica.consumer_read_bound();
        let high_watermark = replica.high_watermark().0 as i64;
        let log_start_offset = replica.log_start_offset().0 as i64;
        if negative_offset || from < replica.log_start_offset() || from > replica.log_end_offset() {
            return error_data(
                KafkaErrorCode::OffsetOutOfRange.code(),
                high_watermark,
                log_start_offset,
            );
        }
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut taken = 0usize;
        let mut next = from;
        let result = loop {
            if next >= bound || (taken >= limit && !(at_least_one && taken == 0)) {
                break Ok(());
            }
            let room = limit.saturating_sub(taken);
            match replica.read_for_consumer(next, room) {
                Ok(read) if read.records.is_empty() => break Ok(()),
                Ok(read) => {
                    let too_big = read.records.len() > room;
                    if too_big && !(at_least_one && taken == 0) {
                        break Ok(());
                    }
                    taken += read.records.len();
                    chunks.push(read.records);
                    next = read.next_offset;
                    if too_big {
                        break Ok(());
                    }
                }
                Err(error) => break Err(error),
            }
        };
        match result {
            Err(error) if taken == 0 => error_data(
                replication_error_code(&error),
                high_watermark,
                log_start_offset,
            ),
            // A later batch failed to read: serve what was read; the next fetch reports it.
            _ => PartitionData::default()
                .with_high_watermark(high_watermark)
                .with_last_stable_offset(high_watermark)
                .with_log_start_offset(log_start_offset)
                .with_preferred_read_replica(BrokerId(-1))
                .with_records(Some(concatenate(chunks))),
        }
    }
}

/// One buffer of the chunks read; no copy for the common single chunk.
fn concatenate(mut chunks: Vec<Bytes>) -> Bytes {
    if chunks.len() <= 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut joined = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
    chunks
        .iter()
        .for_each(|chunk| joined.extend_from_slice(chunk));
    joined.freeze()
}

/// Does the fetch ask for any of these partitions? (Compares names in place: this runs for
/// every parked fetch after every input, so it allocates nothing.)
fn mentions_any(request: &FetchRequest, partitions: &BTreeSet<TopicPartition>) -> bool {
    !partitions.is_empty()
        && request.topics.iter().any(|topic| {
            let name = topic.topic.0.as_str();
            topic.partitions.iter().any(|p| {
                partitions
                    .iter()
                    .any(|tp| tp.partition == p.partition && tp.topic == name)
            })
        })
}

fn error_data(code: i16, high_watermark: i64, log_start_offset: i64) -> PartitionData {
    PartitionData::default()
        .with_error_code(code)
        .with_high_watermark(high_watermark)
        .with_last_stable_offset(high_watermark)
        .with_log_start_offset(log_start_offset)
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(Bytes::new()))
}
