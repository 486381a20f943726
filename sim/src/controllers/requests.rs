//! Broker requests on a running controller host, and the broker-session timer.
//!
//! A command's records are proposed as one batch and its answer waits, as a
//! [`PendingAnswer`], until the batch's last offset is applied; the answer is then computed
//! from the committed image (a heartbeat's `fenced`, an AlterPartition's epochs and ISR).
//! A command yielding no records waits for this leader's earlier proposals, if any, because
//! the view it was validated against includes them. A fetch is answered at once from the
//! committed list.

use super::{ControllerHostOutput, Running, FENCING_RETRY_MS};
use odradek_core::controller::{
    AlterPartitionResult, BrokerId, ControllerEnvelope, ControllerError, ControllerRequest,
    ControllerResponse, CreateTopicRequest, CreateTopicResult, MetadataOffset, MetadataRecord,
    PartitionIndex, TopicId,
};
use odradek_core::time::{Mono, Now};

/// At most this many commands wait for their records to commit on one host; beyond it a
/// command is refused with `MetadataLogFull` (the broker retries later).
pub const PENDING_ANSWERS_MAX: usize = 4096;

/// A command whose answer waits for its records (or the records it depends on) to commit.
#[derive(Clone, Debug)]
pub(super) struct PendingAnswer {
    broker: BrokerId,
    correlation_id: u64,
    /// The leader term the command was served in.
    pub(super) term: u64,
    /// The answer is due once the record at this offset is applied.
    end_offset: MetadataOffset,
    awaited: Awaited,
}

/// Who asked, and in which term.
#[derive(Clone, Copy, Debug)]
struct Asker {
    broker: BrokerId,
    correlation_id: u64,
    term: u64,
}

/// What the answer will say once the records commit.
#[derive(Clone, Debug)]
enum Awaited {
    Registered,
    Heartbeat {
        broker_id: BrokerId,
    },
    AlterPartition {
        topic_id: TopicId,
        partition: PartitionIndex,
    },
    CreateTopics(Vec<CreateTopicResult>),
}

impl Awaited {
    /// The answer when the command is refused with `error` (nothing proposed).
    fn refusal(self, error: ControllerError) -> ControllerResponse {
        if error == ControllerError::NotController {
            return ControllerResponse::NotController;
        }
        match self {
            Awaited::Registered | Awaited::Heartbeat { .. } => ControllerResponse::Refused(error),
            Awaited::AlterPartition { .. } => ControllerResponse::AlterPartition(Err(error)),
            Awaited::CreateTopics(results) => ControllerResponse::CreateTopics(
                results
                    .into_iter()
                    .map(|result| CreateTopicResult {
                        name: result.name,
                        result: result.result.and(Err(error.clone())),
                    })
                    .collect(),
            ),
        }
    }
}

impl Running {
    /// One broker request: a fetch is answered at once; a command only when active.
    pub(super) fn handle_request(
        &mut self,
        now: Now,
        broker: BrokerId,
        envelope: ControllerEnvelope<ControllerRequest>,
    ) {
        let ControllerEnvelope {
            correlation_id,
            body,
        } = envelope;
        let active_term = match self.is_active() {
            true => self.log.node().leader_term(),
            false => None,
        };
        let term = match (&body, active_term) {
            // Only the active controller answers metadata fetches: it has applied every
            // committed record, while a follower (or a node restarted a moment ago, whose
            // commit index starts at 0) may know only a prefix, and a broker that takes a
            // short answer for "caught up" would delete the logs of topics it has not heard
            // of yet. The simulator found exactly that: every broker wiped its partitions
            // after all controllers restarted.
            (ControllerRequest::FetchMetadata { after, max_records }, Some(_)) => {
                let records = self.committed_after(*after, *max_records);
                let response = ControllerResponse::Metadata { records };
                return self.reply(broker, correlation_id, response);
            }
            (_, None) => {
                return self.reply(broker, correlation_id, ControllerResponse::NotController)
            }
            (_, Some(term)) => term,
        };
        let asker = Asker {
            broker,
            correlation_id,
            term,
        };
        self.handle_command(now, asker, body);
    }

    fn handle_command(&mut self, now: Now, asker: Asker, body: ControllerRequest) {
        let (result, awaited) = match body {
            ControllerRequest::Register(registration) => (
                self.controller.register_broker(registration),
                Awaited::Registered,
            ),
            ControllerRequest::Heartbeat {
                broker_id,
                incarnation,
                ..
            } => (
                self.controller
                    .handle_heartbeat(now, broker_id, incarnation),
                Awaited::Heartbeat { broker_id },
            ),
            ControllerRequest::AlterPartition(request) => (
                self.controller.alter_partition(&request),
                Awaited::AlterPartition {
                    topic_id: request.topic_id,
                    partition: request.partition,
                },
            ),
            ControllerRequest::CreateTopics(requests) => {
                return self.create_topics(asker, &requests);
            }
            ControllerRequest::FetchMetadata { .. } => return,
        };
        if self.pending.len() >= super::PENDING_ANSWERS_MAX {
            let error = self.pending_full();
            return self.reply_to(asker, awaited.refusal(error));
        }
        let records = match result {
            Ok(records) => records,
            Err(error) => return self.reply_to(asker, awaited.refusal(error)),
        };
        let end_offset = match records.is_empty() {
            true => self.last_proposed,
            false => match self.propose(records) {
                Ok(offset) => Some(offset),
                Err(error) => return self.reply_to(asker, awaited.refusal(error)),
            },
        };
        self.await_commit(asker, end_offset, awaited);
    }

    /// CreateTopics: each created topic's records are one batch (as a single-node broker
    /// commits them); a topic whose batch the log refuses gets that error.
    fn create_topics(&mut self, asker: Asker, requests: &[CreateTopicRequest]) {
        let mut results = self.controller.create_topics(requests, false);
        if self.pending.len() >= super::PENDING_ANSWERS_MAX {
            let error = self.pending_full();
            return self.reply_to(asker, Awaited::CreateTopics(results).refusal(error));
        }
        let mut end_offset = None;
        for result in &mut results {
            let records = match &result.result {
                Ok(created) if !created.records.is_empty() => created.records.clone(),
                _ => continue,
            };
            match self.propose(records) {
                Ok(offset) => end_offset = Some(offset),
                Err(error) => result.result = Err(error),
            }
        }
        let end_offset = end_offset.or(self.last_proposed);
        self.await_commit(asker, end_offset, Awaited::CreateTopics(results));
    }

    fn propose(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, ControllerError> {
        self.controller_version += 1;
        let offset = self.controller.propose(&mut self.log, records)?;
        self.last_proposed = Some(offset);
        Ok(offset)
    }

    fn pending_full(&self) -> ControllerError {
        ControllerError::MetadataLogFull {
            pending: self.pending.len(),
            limit: super::PENDING_ANSWERS_MAX,
        }
    }

    fn await_commit(&mut self, asker: Asker, end_offset: Option<MetadataOffset>, awaited: Awaited) {
        match end_offset {
            None => {
                let response = self.answer(awaited);
                self.reply_to(asker, response);
            }
            Some(end_offset) => self.pending.push(PendingAnswer {
                broker: asker.broker,
                correlation_id: asker.correlation_id,
                term: asker.term,
                end_offset,
                awaited,
            }),
        }
    }

    /// Answers every pending command whose records are applied. Each such offset holds an
    /// entry of the command's term: a leader never loses its own entries while it leads.
    pub(super) fn answer_committed(&mut self) {
        let Some(applied) = self.last_applied() else {
            return;
        };
        if self.pending.is_empty() {
            return;
        }
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|pending| pending.end_offset <= applied);
        self.pending = waiting;
        for pending in due {
            let entry_term = self.log.node().log()[pending.end_offset.0 as usize].term;
            assert_eq!(
                entry_term,
                pending.term,
                "controller {}: the command's offset {:?} committed with an entry of another term",
                self.log.node().config().node_id,
                pending.end_offset
            );
            let response = self.answer(pending.awaited);
            self.reply(pending.broker, pending.correlation_id, response);
        }
    }

    /// Every pending command is answered NotController: leadership was lost, so its
    /// records may or may not commit.
    pub(super) fn fail_pending(&mut self) {
        for pending in std::mem::take(&mut self.pending) {
            let response = ControllerResponse::NotController;
            self.reply(pending.broker, pending.correlation_id, response);
        }
        self.last_proposed = None;
    }

    /// The answer to a command whose records are committed, from the committed image.
    fn answer(&self, awaited: Awaited) -> ControllerResponse {
        let image = self.controller.image();
        match awaited {
            Awaited::Registered => ControllerResponse::Registered,
            Awaited::Heartbeat { broker_id } => ControllerResponse::Heartbeat {
                fenced: image.is_fenced(broker_id),
            },
            Awaited::AlterPartition {
                topic_id,
                partition,
            } => ControllerResponse::AlterPartition(match image.partition(topic_id, partition) {
                Some(current) => Ok(AlterPartitionResult {
                    leader_epoch: current.leader_epoch,
                    partition_epoch: current.partition_epoch,
                    isr: current.isr.clone(),
                }),
                None => Err(ControllerError::UnknownPartition {
                    topic_id,
                    partition,
                }),
            }),
            Awaited::CreateTopics(results) => ControllerResponse::CreateTopics(results),
        }
    }

    fn committed_after(
        &self,
        after: Option<MetadataOffset>,
        max_records: usize,
    ) -> Vec<odradek_core::controller::CommittedRecord> {
        let start = match after {
            None => 0,
            Some(after) => self.committed.partition_point(|c| c.offset <= after),
        };
        self.committed[start..]
            .iter()
            .take(max_records)
            .cloned()
            .collect()
    }

    fn reply_to(&mut self, asker: Asker, response: ControllerResponse) {
        self.reply(asker.broker, asker.correlation_id, response);
    }

    fn reply(&mut self, broker: BrokerId, correlation_id: u64, body: ControllerResponse) {
        let envelope = ControllerEnvelope {
            correlation_id,
            body,
        };
        self.outputs
            .push_back(ControllerHostOutput::Reply { broker, envelope });
    }

    /// When the broker-session timer is due: only while active; after a refused fencing
    /// proposal, not before the retry time.
    pub(super) fn session_timeout(&self) -> Option<Mono> {
        if !self.is_active() {
            return None;
        }
        let due = self.controller.poll_timeout()?;
        Some(self.fencing_retry_at.map_or(due, |retry| retry.max(due)))
    }

    /// Fences brokers whose sessions expired by `now` (proposed like a command, answered to
    /// nobody). Early calls and calls on a non-active host do nothing.
    pub(super) fn handle_session_timeout(&mut self, now: Now) {
        if self.session_timeout().is_none_or(|due| due > now.mono) {
            return;
        }
        let records = self.controller.handle_timeout(now);
        if records.is_empty() {
            self.fencing_retry_at = None;
            return;
        }
        self.fencing_retry_at = match self.propose(records) {
            Ok(_) => None,
            Err(_) => Some(now.mono.plus_millis(FENCING_RETRY_MS)),
        };
    }
}
