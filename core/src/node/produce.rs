//! Produce: validate and append each partition's batches through its leader replica
//! ([`crate::replication::PartitionReplica::append_as_leader`]), then answer by `acks`:
//! 0 — never; 1 — after the append; all (-1) — when the replica decides it
//! (`ReplicaOutput::AckCompleted`: the high watermark passed the batch, i.e. the whole ISR has
//! it, durably under a syncing flush policy; or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the
//! ISR shrank below `min.insync.replicas`). `acks=all` with an ISR already below
//! `min.insync.replicas` appends nothing and answers NOT_ENOUGH_REPLICAS; a partition this
//! broker does not lead answers NOT_LEADER_OR_FOLLOWER.
//! An `acks=all` produce still waiting when its `timeout_ms` passes is answered with
//! REQUEST_TIMED_OUT for the partitions not yet durable (the others keep their answers), as
//! Kafka's delayed produce does on expiry: the records stay in the log and may still become
//! durable and readable later, so a timed-out produce is *indeterminate*, not failed.
//! Missing topics are auto-created when allowed. Every batch of a partition's record set is
//! validated before any is appended, so a bad batch appends nothing for that partition. A
//! storage failure part way through a record set answers the whole set with the error (the
//! batches already appended stay: a retry may duplicate them, an acknowledgment never lies).

use super::cluster::topic_name;
use super::errors::{controller_error_code, log_error_code, replication_error_code};
use super::io::TopicPartition;
use super::{Node, RequestContext};
use crate::bugs::PlantedBug;
use crate::record::{split_batches, validate_batch, BatchError, TIMESTAMP_TYPE_LOG_APPEND_TIME};
use crate::replication::{AckId, AckStatus, Acks};
use crate::storage::StorageProvider;
use crate::time::{Mono, Now};
use crate::wire::{KafkaErrorCode, ResponseBody};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

/// The topic configs the produce path applies, cached per topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ProduceSettings {
    /// `max.message.bytes`: larger batches get MESSAGE_TOO_LARGE.
    pub(super) max_message_bytes: usize,
    /// `message.timestamp.type=LogAppendTime`: the broker stamps each batch (see
    /// [`stamp_log_append_time`]).
    pub(super) log_append_time: bool,
}

const UNLIMITED: ProduceSettings = ProduceSettings {
    max_message_bytes: usize::MAX,
    log_append_time: false,
};

/// A produce request with `acks=all` waiting for its replicas' decisions.
pub(super) struct PendingProduce {
    pub(super) ctx: RequestContext,
    /// When the request's `timeout_ms` passes: then the partitions still waiting are
    /// answered with REQUEST_TIMED_OUT.
    pub(super) deadline: Mono,
    /// The response, complete except for partitions still waiting.
    response: ProduceResponse,
    /// (topic index, partition index in the response, partition, the replica's ack id of
    /// the partition's last batch).
    waits: Vec<(usize, usize, TopicPartition, AckId)>,
}

impl<P: StorageProvider> Node<P> {
    /// Appends and answers (returns the body) unless `acks` says to wait or not answer.
    pub(super) fn handle_produce(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: ProduceRequest,
    ) -> Option<ResponseBody> {
        let acks = Acks::from_kafka(request.acks);
        let timeout_ms = u64::try_from(request.timeout_ms).unwrap_or(0);
        let mut waits = Vec::new();
        let mut responses = Vec::new();
        for (topic_index, topic) in request.topic_data.into_iter().enumerate() {
            let name = topic.name.0.to_string();
            let known = match acks {
                Some(_) => self.ensure_topic_for_produce(now, &name),
                None => Err(KafkaErrorCode::InvalidRequiredAcks.code()),
            };
            let mut partitions = Vec::new();
            for (index, data) in topic.partition_data.into_iter().enumerate() {
                let tp = TopicPartition::new(&name, data.index);
                let result = match known {
                    Err(code) => error_partition(data.index, code),
                    Ok(settings) => {
                        let acks = acks.unwrap_or(Acks::All);
                        let (result, wait) = self.append_partition(now, &tp, data, settings, acks);
                        if let Some(id) = wait {
                            waits.push((topic_index, index, tp, id));
                        }
                        result
                    }
                };
                partitions.push(result);
            }
            responses.push(
                TopicProduceResponse::default()
                    .with_name(topic_name(&name))
                    .with_partition_responses(partitions),
            );
        }
        let response = ProduceResponse::default().with_responses(responses);
        if acks == Some(Acks::None) {
            return None;
        }
        if waits.is_empty() {
            return Some(ResponseBody::Produce(response));
        }
        self.pending_produces.push(PendingProduce {
            ctx,
            deadline: now.mono.plus_millis(timeout_ms),
            response,
            waits,
        });
        None
    }

    /// Makes sure the topic exists (auto-creating it if allowed) and returns its produce
    /// settings.
    fn ensure_topic_for_produce(&mut self, now: Now, name: &str) -> Result<ProduceSettings, i16> {
        if self.controller.image().topic_by_name(name).is_none() {
            self.auto_create(now, name)
                .map_err(|error| controller_error_code(&error))?;
        }
        Ok(self
            .produce_settings
            .get(name)
            .copied()
            .unwrap_or(UNLIMITED))
    }

    /// Validates and appends one partition's record set. Returns the partition's answer and
    /// the ack id to wait for, if the answer must wait.
    fn append_partition(
        &mut self,
        now: Now,
        tp: &TopicPartition,
        data: PartitionProduceData,
        settings: ProduceSettings,
        acks: Acks,
    ) -> (PartitionProduceResponse, Option<AckId>) {
        if let Err(code) = self.check_leader(tp, -1) {
            return (error_partition(tp.partition, code), None);
        }
        let Some(replica) = self.partitions.get_mut(tp) else {
            let code = self.missing_partition_code(tp);
            return (error_partition(tp.partition, code), None);
        };
        let batches = match data.records.map(split_batches) {
            Some(Ok(batches)) if !batches.is_empty() => batches,
            Some(Err(error)) => {
                return (
                    error_partition(tp.partition, batch_error_code(&error)),
                    None,
                )
            }
            _ => {
                return (
                    error_partition(tp.partition, KafkaErrorCode::InvalidRecord.code()),
                    None,
                )
            }
        };
        if batches.iter().any(|b| b.len() > settings.max_message_bytes) {
            let code = KafkaErrorCode::MessageTooLarge.code();
            return (error_partition(tp.partition, code), None);
        }
        if let Some(error) = batches.iter().find_map(|b| validate_batch(b).err()) {
            return (
                error_partition(tp.partition, batch_error_code(&error)),
                None,
            );
        }
        let mut first = None;
        let mut wait = None;
        for batch in batches {
            let mut batch = BytesMut::from(Bytes::as_ref(&batch));
            if settings.log_append_time {
                stamp_log_append_time(&mut batch, now.wall_ms);
            }
            match replica.append_as_leader(now, batch, acks) {
                Ok(outcome) => {
                    first.get_or_insert(outcome.info.base_offset);
                    wait = match outcome.ack {
                        AckStatus::Waiting(id) => Some(id),
                        AckStatus::Done => None,
                    };
                }
                Err(error) => {
                    // Earlier batches of this record set may be in the log already; the
                    // producer is told the whole set failed (it retries: at-least-once), never
                    // that it all succeeded.
                    if first.is_some() {
                        self.changed_partitions.insert(tp.clone());
                    }
                    self.drain_replica(now, tp);
                    let code = replication_error_code(&error);
                    return (error_partition(tp.partition, code), None);
                }
            }
        }
        let log_start_offset = replica.log_start_offset().0 as i64;
        // Planted bug: answer acks=all without waiting for the replica (durability).
        let bug = replica.log().config().planted_bugs;
        if bug.has(PlantedBug::AckBeforeDurable) {
            wait = None;
        }
        if first.is_some() {
            self.changed_partitions.insert(tp.clone());
        }
        self.drain_replica(now, tp);
        let response = PartitionProduceResponse::default()
            .with_index(tp.partition)
            .with_base_offset(first.map_or(-1, |o| o.0 as i64))
            .with_log_append_time_ms(if settings.log_append_time {
                now.wall_ms
            } else {
                -1
            })
            .with_log_start_offset(log_start_offset);
        (response, wait)
    }

    /// Answers every waiting produce whose deadline has passed: REQUEST_TIMED_OUT for the
    /// partitions still waiting. Call after [`Node::complete_produces`], so a produce that
    /// became durable in the same step is answered with success.
    pub(super) fn expire_produces(&mut self, now: Now) {
        let (expired, waiting) = std::mem::take(&mut self.pending_produces)
            .into_iter()
            .partition(|pending| now.mono >= pending.deadline);
        self.pending_produces = waiting;
        for mut pending in expired {
            for (topic, slot, _, _) in std::mem::take(&mut pending.waits) {
                let partition = &mut pending.response.responses[topic].partition_responses[slot];
                *partition =
                    error_partition(partition.index, KafkaErrorCode::RequestTimedOut.code());
            }
            self.respond(pending.ctx, ResponseBody::Produce(pending.response));
        }
    }

    /// The earliest deadline of a waiting produce.
    pub(super) fn next_produce_deadline(&self) -> Option<Mono> {
        self.pending_produces.iter().map(|p| p.deadline).min()
    }

    /// Answers every waiting produce whose partitions are now decided (or failed).
    pub(super) fn complete_produces(&mut self) {
        let completed = std::mem::take(&mut self.completed_acks);
        let mut index = 0;
        while index < self.pending_produces.len() {
            let pending = &mut self.pending_produces[index];
            let partitions = &self.partitions;
            pending.waits.retain(|(topic, slot, tp, id)| {
                let decided = completed
                    .iter()
                    .find(|(done, done_id, _)| done == tp && done_id == id)
                    .map(|(_, _, result)| {
                        result.as_ref().map_or_else(replication_error_code, |()| 0)
                    });
                let outcome = match partitions.get(tp) {
                    None => Some(KafkaErrorCode::UnknownTopicOrPartition.code()),
                    Some(_) if decided.is_some() => decided,
                    Some(replica) if replica.log().is_fenced() => {
                        Some(KafkaErrorCode::KafkaStorageError.code())
                    }
                    Some(_) => None,
                };
                if let Some(code) = outcome.filter(|code| *code != 0) {
                    let partition =
                        &mut pending.response.responses[*topic].partition_responses[*slot];
                    *partition = error_partition(partition.index, code);
                }
                outcome.is_none()
            });
            if pending.waits.is_empty() {
                let done = self.pending_produces.remove(index);
                self.respond(done.ctx, ResponseBody::Produce(done.response));
            } else {
                index += 1;
            }
        }
    }

    /// Fails the waits on a partition that is going away (its topic was deleted), so a
    /// re-created partition's syncs can never vouch for the old partition's records.
    pub(super) fn fail_waits_on(&mut self, tp: &TopicPartition) {
        for pending in &mut self.pending_produces {
            let response = &mut pending.response;
            pending.waits.retain(|(topic, slot, waiting, _)| {
                if waiting != tp {
                    return true;
                }
                let partition = &mut response.responses[*topic].partition_responses[*slot];
                // The batch was appended: the answer must not say "not written". Kafka
                // completes a waiting produce whose leader replica went away with
                // NOT_LEADER_OR_FOLLOWER, which clients treat as "may have been written".
                // (UNKNOWN_TOPIC_OR_PARTITION here once made the simulator's checker see a
                // consumer read a record whose send had "failed": G1a.)
                *partition =
                    error_partition(partition.index, KafkaErrorCode::NotLeaderOrFollower.code());
                false
            });
        }
    }
}

/// Kafka's LogAppendTime: the batch's timestamp type bit (attributes bit 3) is set and its
/// max timestamp becomes the broker's wall clock; readers then use that for every record.
/// Both fields are covered by the CRC-32C, which is recomputed. `batch` was validated.
fn stamp_log_append_time(batch: &mut BytesMut, wall_ms: i64) {
    const CRC_AT: usize = 17;
    const ATTRIBUTES_AT: usize = 21;
    const MAX_TIMESTAMP_AT: usize = 35;
    batch[ATTRIBUTES_AT + 1] |= TIMESTAMP_TYPE_LOG_APPEND_TIME as u8;
    batch[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&wall_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

fn error_partition(index: i32, code: i16) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
}

/// A malformed batch: CORRUPT_MESSAGE for a CRC mismatch, UNSUPPORTED_FOR_MESSAGE_FORMAT for
/// an old magic, INVALID_RECORD otherwise.
fn batch_error_code(error: &BatchError) -> i16 {
    log_error_code(&crate::log::LogError::InvalidBatch(error.clone()))
}
