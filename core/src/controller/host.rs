//! [`ControllerHost`]: the active-controller logic a controller process runs over *any*
//! [`MetadataLog`] — serving brokers' typed controller requests, answering commands only after
//! their records commit, and running the broker-session timer. Production drives it over the
//! openraft log (`bin/src/serve/controller.rs`), the simulator over its Raft quorum log
//! (`sim/src/controllers`); it is pure (no clock, no OS, ordered maps only).
//!
//! # Contract
//! - **Shape.** `handle_*` in, [`ControllerHost::poll_reply`] and
//!   [`ControllerHost::poll_timeout`] out. The log is passed to every call (the host does not
//!   own it: the driver may share it with the quorum's own machinery). After every call, and
//!   whenever the log may have committed records or changed leadership, the driver calls
//!   [`ControllerHost::settle`] (every `handle_*` settles first and last) and drains the
//!   replies.
//! - **Active** means `log.leader_term()` is `Some`. The log must report a term only once it
//!   has made available every record committed before that term (the [`MetadataLog`]
//!   contract's "catch up before leading"; openraft's log reports it after applying the
//!   term's blank entry).
//! - **Every committed record is applied**, in offset order, to the host's Controller (a
//!   follower keeps an image too) and kept in a committed list. Only the active host answers
//!   `FetchMetadata` (from that list) and `ListPartitionReassignments` (from its committed
//!   image); others answer `NotController`, because a follower may
//!   know only a prefix of the log and a broker taking a short answer for the whole log would
//!   delete the logs of topics it has not heard of yet.
//! - **Leadership changes.** When the reported term changes, every pending command is
//!   answered `NotController` (its records may or may not commit; the broker's retry is
//!   idempotent); on becoming active the Controller is rebuilt from the committed records, so
//!   heartbeat sessions of an earlier leadership never fence a broker that heartbeated to
//!   someone else.
//! - **Commands** (Register, Heartbeat, AlterPartition, CreateTopics) are served only when
//!   active. Their records are proposed and the answer waits until the batch's last offset is
//!   applied; a command yielding no records is answered at once unless this leader's earlier
//!   proposals are still unapplied (the answer was computed from a view including them), in
//!   which case it waits for them. At most [`PENDING_ANSWERS_MAX`] commands wait; beyond that
//!   a command is refused with `MetadataLogFull`.
//! - **Broker sessions.** While active, the Controller's session timer runs; expired sessions
//!   yield fencing records, proposed like a command (nobody waits). A refused fencing
//!   proposal is retried after [`FENCING_RETRY_MS`].
//! - **A record that does not apply** (a bug upstream) stops the host from applying more and
//!   from serving commands ([`ControllerHost::apply_error`] says which).
//!
//! Replies are addressed to a driver-chosen `client` number (a connection, a broker), so
//! the driver routes them without the host knowing about sockets.

use super::{
    AlterPartitionResult, ApplyError, BrokerId, CommittedRecord, Controller, ControllerConfig,
    ControllerEnvelope, ControllerError, ControllerRequest, ControllerResponse,
    CreatePartitionsResult, CreatePartitionsTopic, CreateTopicRequest, CreateTopicResult,
    DeleteTopicResult, MetadataLog, MetadataOffset, MetadataRecord, PartitionIndex,
    PartitionReassignment, TopicId, TopicRef,
};
use crate::time::{Mono, Now};
use std::collections::VecDeque;

/// At most this many commands wait for their records to commit.
pub const PENDING_ANSWERS_MAX: usize = 4096;
/// After a refused fencing proposal (backpressure), wait this long before trying again.
pub const FENCING_RETRY_MS: u64 = 50;

/// An answer for the driver to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostReply {
    /// Who asked (the number the driver gave with the request).
    pub client: u64,
    /// The answer, with the request's correlation id.
    pub envelope: ControllerEnvelope<ControllerResponse>,
}

/// A command whose answer waits for its records (or the ones it depends on) to apply.
#[derive(Clone, Debug)]
struct PendingAnswer {
    client: u64,
    correlation_id: u64,
    end_offset: MetadataOffset,
    awaited: Awaited,
}

/// What the answer will say once the records commit.
#[derive(Clone, Debug)]
enum Awaited {
    Registered,
    Heartbeat {
        broker_id: BrokerId,
        want_shut_down: bool,
    },
    AlterPartition {
        topic_id: TopicId,
        partition: PartitionIndex,
    },
    CreateTopics(Vec<CreateTopicResult>),
    DeleteTopics(Vec<DeleteTopicResult>),
    CreatePartitions(Vec<CreatePartitionsResult>),
    Reassignments(Vec<Result<(), ControllerError>>),
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
            Awaited::DeleteTopics(results) => ControllerResponse::DeleteTopics(
                results
                    .into_iter()
                    .map(|result| DeleteTopicResult {
                        topic: result.topic,
                        result: result.result.and(Err(error.clone())),
                    })
                    .collect(),
            ),
            Awaited::CreatePartitions(results) => ControllerResponse::CreatePartitions(
                results
                    .into_iter()
                    .map(|result| CreatePartitionsResult {
                        topic: result.topic,
                        result: result.result.and(Err(error.clone())),
                    })
                    .collect(),
            ),
            Awaited::Reassignments(results) => ControllerResponse::AlterPartitionReassignments(
                results
                    .into_iter()
                    .map(|result| result.and(Err(error.clone())))
                    .collect(),
            ),
        }
    }
}

/// The controller logic of one controller process. See the module docs.
#[derive(Clone, Debug)]
pub struct ControllerHost {
    controller: Controller,
    /// Every committed record applied, in offset order.
    committed: Vec<CommittedRecord>,
    pending: Vec<PendingAnswer>,
    /// The offset of this leader's last proposed record while it may be unapplied.
    last_proposed: Option<MetadataOffset>,
    fencing_retry_at: Option<Mono>,
    apply_error: Option<(MetadataOffset, ApplyError)>,
    /// The leader term the log reported at the last settle.
    term: Option<u64>,
    replies: VecDeque<HostReply>,
}

impl ControllerHost {
    /// A host with an empty image. Fails if the controller configuration is invalid.
    pub fn new(config: ControllerConfig) -> Result<ControllerHost, ControllerError> {
        Ok(ControllerHost {
            controller: Controller::new(config)?,
            committed: Vec::new(),
            pending: Vec::new(),
            last_proposed: None,
            fencing_retry_at: None,
            apply_error: None,
            term: None,
            replies: VecDeque::new(),
        })
    }

    /// The Controller (its image is the committed metadata this host applied).
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Every committed record applied, in offset order.
    pub fn committed_records(&self) -> &[CommittedRecord] {
        &self.committed
    }

    /// Whether this host serves commands: the log reports a leader term and every record
    /// applied so far applied cleanly.
    pub fn is_active<L: MetadataLog>(&self, log: &L) -> bool {
        self.apply_error.is_none() && log.leader_term().is_some()
    }

    /// The first committed record that did not apply, if any.
    pub fn apply_error(&self) -> Option<&(MetadataOffset, ApplyError)> {
        self.apply_error.as_ref()
    }

    /// How many commands wait for their records.
    pub fn pending_answers(&self) -> usize {
        self.pending.len()
    }

    /// The next reply, in the order produced.
    pub fn poll_reply(&mut self) -> Option<HostReply> {
        self.replies.pop_front()
    }

    /// When [`ControllerHost::handle_timeout`] next has work: the broker-session timer while
    /// active as of the last settle (after a refused fencing proposal, not before its retry
    /// time).
    pub fn poll_timeout(&self) -> Option<Mono> {
        if self.term.is_none() || self.apply_error.is_some() {
            return None;
        }
        let due = self.controller.poll_timeout()?;
        Some(self.fencing_retry_at.map_or(due, |retry| retry.max(due)))
    }

    /// Reacts to what the log did since the last call: a leadership change, then committed
    /// records (answering the commands they complete).
    pub fn settle<L: MetadataLog>(&mut self, log: &mut L) {
        let term = log.leader_term();
        let changed = term != self.term;
        if changed {
            self.fail_pending();
            self.controller.discard_uncommitted();
            self.term = term;
        }
        self.apply_commits(log);
        if changed && term.is_some() {
            self.rebuild_controller();
        }
        self.answer_applied();
    }

    /// A broker's request from `client`: a fetch is answered at once when active; a command
    /// is proposed (when active) and answered once its records apply.
    pub fn handle_request<L: MetadataLog>(
        &mut self,
        now: Now,
        log: &mut L,
        client: u64,
        envelope: ControllerEnvelope<ControllerRequest>,
    ) {
        self.settle(log);
        let correlation_id = envelope.correlation_id;
        if !self.is_active(log) {
            self.reply(client, correlation_id, ControllerResponse::NotController);
            return;
        }
        match envelope.body {
            ControllerRequest::FetchMetadata { after, max_records } => {
                let records = self.committed_after(after, max_records);
                let response = ControllerResponse::Metadata { records };
                self.reply(client, correlation_id, response);
            }
            ControllerRequest::CreateTopics(requests) => {
                self.create_topics(log, client, correlation_id, &requests);
            }
            ControllerRequest::DeleteTopics(topics) => {
                let results = self.delete_topics(log, &topics);
                self.await_batches(client, correlation_id, Awaited::DeleteTopics(results));
            }
            ControllerRequest::CreatePartitions(topics) => {
                let results = self.create_partitions(log, &topics);
                self.await_batches(client, correlation_id, Awaited::CreatePartitions(results));
            }
            ControllerRequest::AlterPartitionReassignments(partitions) => {
                let results = self.reassign_partitions(log, &partitions);
                self.await_batches(client, correlation_id, Awaited::Reassignments(results));
            }
            ControllerRequest::ListPartitionReassignments(query) => {
                let image = self.controller.image();
                let ongoing = image.ongoing_reassignments(query.as_deref());
                let response = ControllerResponse::ListPartitionReassignments(ongoing);
                self.reply(client, correlation_id, response);
            }
            command => self.handle_command(now, log, client, correlation_id, command),
        }
        self.settle(log);
    }

    /// The broker-session timer: fences brokers whose sessions expired by `now`. Early
    /// calls and calls on a host that is not active only settle.
    pub fn handle_timeout<L: MetadataLog>(&mut self, now: Now, log: &mut L) {
        self.settle(log);
        if self.poll_timeout().is_none_or(|due| due > now.mono) {
            return;
        }
        let records = self.controller.handle_timeout(now);
        if records.is_empty() {
            self.fencing_retry_at = None;
            return;
        }
        self.fencing_retry_at = match self.propose(log, records) {
            Ok(_) => None,
            Err(_) => Some(now.mono.plus_millis(FENCING_RETRY_MS)),
        };
        self.settle(log);
    }

    fn handle_command<L: MetadataLog>(
        &mut self,
        now: Now,
        log: &mut L,
        client: u64,
        correlation_id: u64,
        body: ControllerRequest,
    ) {
        let (result, awaited) = match body {
            ControllerRequest::Register(registration) => (
                self.controller.register_broker(registration),
                Awaited::Registered,
            ),
            ControllerRequest::Heartbeat {
                broker_id,
                incarnation,
                want_shut_down,
                ..
            } => {
                let result = if want_shut_down {
                    (self.controller).handle_controlled_shutdown(now, broker_id, incarnation)
                } else {
                    (self.controller).handle_heartbeat(now, broker_id, incarnation)
                };
                let awaited = Awaited::Heartbeat {
                    broker_id,
                    want_shut_down,
                };
                (result, awaited)
            }
            ControllerRequest::AlterPartition(request) => (
                self.controller.alter_partition(&request),
                Awaited::AlterPartition {
                    topic_id: request.topic_id,
                    partition: request.partition,
                },
            ),
            ControllerRequest::FetchMetadata { .. }
            | ControllerRequest::CreateTopics(_)
            | ControllerRequest::DeleteTopics(_)
            | ControllerRequest::CreatePartitions(_)
            | ControllerRequest::AlterPartitionReassignments(_)
            | ControllerRequest::ListPartitionReassignments(_) => return,
        };
        if self.pending.len() >= PENDING_ANSWERS_MAX {
            let error = self.pending_full();
            return self.reply(client, correlation_id, awaited.refusal(error));
        }
        let records = match result {
            Ok(records) => records,
            Err(error) => return self.reply(client, correlation_id, awaited.refusal(error)),
        };
        let end_offset = match records.is_empty() {
            true => self.last_proposed,
            false => match self.propose(log, records) {
                Ok(offset) => Some(offset),
                Err(error) => return self.reply(client, correlation_id, awaited.refusal(error)),
            },
        };
        self.await_commit(client, correlation_id, end_offset, awaited);
    }

    /// CreateTopics: each created topic's records are one batch; a topic whose batch the log
    /// refuses gets that error.
    fn create_topics<L: MetadataLog>(
        &mut self,
        log: &mut L,
        client: u64,
        correlation_id: u64,
        requests: &[CreateTopicRequest],
    ) {
        let mut results = self.controller.create_topics(requests, false);
        if self.pending.len() >= PENDING_ANSWERS_MAX {
            let refusal = Awaited::CreateTopics(results).refusal(self.pending_full());
            return self.reply(client, correlation_id, refusal);
        }
        let mut end_offset = None;
        for result in &mut results {
            let records = match &result.result {
                Ok(created) if !created.records.is_empty() => created.records.clone(),
                _ => continue,
            };
            match self.propose(log, records) {
                Ok(offset) => end_offset = Some(offset),
                Err(error) => result.result = Err(error),
            }
        }
        let end_offset = end_offset.or(self.last_proposed);
        let awaited = Awaited::CreateTopics(results);
        self.await_commit(client, correlation_id, end_offset, awaited);
    }

    /// DeleteTopics: each deleted topic's records are one batch (a topic whose batch the log
    /// refuses gets that error); the answers carry no records.
    fn delete_topics<L: MetadataLog>(
        &mut self,
        log: &mut L,
        topics: &[TopicRef],
    ) -> Vec<DeleteTopicResult> {
        let mut results = self.controller.delete_topics(topics);
        for result in &mut results {
            let proposed = match &mut result.result {
                Ok(deleted) => self.propose(log, std::mem::take(&mut deleted.records)),
                Err(_) => continue,
            };
            if let Err(error) = proposed {
                result.result = Err(error);
            }
        }
        results
    }

    /// CreatePartitions: each topic's new partitions are one batch, validated against the
    /// view (so after the batches proposed before it in the same request).
    fn create_partitions<L: MetadataLog>(
        &mut self,
        log: &mut L,
        topics: &[CreatePartitionsTopic],
    ) -> Vec<CreatePartitionsResult> {
        topics
            .iter()
            .map(|wanted| {
                let result = self
                    .controller
                    .create_partitions(
                        &wanted.topic,
                        wanted.new_total,
                        wanted.assignments.as_deref(),
                        false,
                    )
                    .and_then(|records| self.propose(log, records).map(|_| ()));
                CreatePartitionsResult {
                    topic: wanted.topic.clone(),
                    result,
                }
            })
            .collect()
    }

    /// AlterPartitionReassignments: each partition's records are one batch.
    fn reassign_partitions<L: MetadataLog>(
        &mut self,
        log: &mut L,
        partitions: &[PartitionReassignment],
    ) -> Vec<Result<(), ControllerError>> {
        partitions
            .iter()
            .map(|wanted| {
                let records = self.controller.reassign_by_name(wanted)?;
                if !records.is_empty() {
                    self.propose(log, records)?;
                }
                Ok(())
            })
            .collect()
    }

    /// Answers a multi-batch command once everything this leader proposed so far applied
    /// (at once when that is nothing), or refuses it whole when too many answers wait.
    fn await_batches(&mut self, client: u64, correlation_id: u64, awaited: Awaited) {
        if self.pending.len() >= PENDING_ANSWERS_MAX {
            let refusal = awaited.refusal(self.pending_full());
            return self.reply(client, correlation_id, refusal);
        }
        let end_offset = self.last_proposed;
        self.await_commit(client, correlation_id, end_offset, awaited);
    }

    fn propose<L: MetadataLog>(
        &mut self,
        log: &mut L,
        records: Vec<MetadataRecord>,
    ) -> Result<MetadataOffset, ControllerError> {
        let offset = self.controller.propose(log, records)?;
        self.last_proposed = Some(offset);
        Ok(offset)
    }

    fn pending_full(&self) -> ControllerError {
        ControllerError::MetadataLogFull {
            pending: self.pending.len(),
            limit: PENDING_ANSWERS_MAX,
        }
    }

    fn await_commit(
        &mut self,
        client: u64,
        correlation_id: u64,
        end_offset: Option<MetadataOffset>,
        awaited: Awaited,
    ) {
        match end_offset {
            None => {
                let response = self.answer(awaited);
                self.reply(client, correlation_id, response);
            }
            Some(end_offset) => self.pending.push(PendingAnswer {
                client,
                correlation_id,
                end_offset,
                awaited,
            }),
        }
    }

    fn apply_commits<L: MetadataLog>(&mut self, log: &mut L) {
        while let Some(committed) = log.poll_committed() {
            if self.apply_error.is_some() {
                continue;
            }
            match self.controller.apply(committed.offset, &committed.record) {
                Ok(()) => self.committed.push(committed),
                Err(error) => self.apply_error = Some((committed.offset, error)),
            }
        }
        let applied = self.last_applied();
        if self.last_proposed.is_some_and(|last| Some(last) <= applied) {
            self.last_proposed = None;
        }
    }

    /// A fresh Controller with every committed record applied: no view, no sessions.
    fn rebuild_controller(&mut self) {
        let config = self.controller.config().clone();
        let Ok(mut controller) = Controller::new(config) else {
            return; // the same config was valid at `new`
        };
        for committed in &self.committed {
            if controller
                .apply(committed.offset, &committed.record)
                .is_err()
            {
                return; // these records applied before; keep the current controller
            }
        }
        self.controller = controller;
        self.last_proposed = None;
        self.fencing_retry_at = None;
    }

    fn last_applied(&self) -> Option<MetadataOffset> {
        self.committed.last().map(|c| c.offset)
    }

    /// Answers every pending command whose records are applied.
    fn answer_applied(&mut self) {
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
            let response = self.answer(pending.awaited);
            self.reply(pending.client, pending.correlation_id, response);
        }
    }

    /// Every pending command is answered NotController: leadership changed, so its records
    /// may or may not commit.
    fn fail_pending(&mut self) {
        for pending in std::mem::take(&mut self.pending) {
            let response = ControllerResponse::NotController;
            self.reply(pending.client, pending.correlation_id, response);
        }
        self.last_proposed = None;
    }

    /// The answer to a command whose records are applied, from the committed image.
    fn answer(&self, awaited: Awaited) -> ControllerResponse {
        let image = self.controller.image();
        match awaited {
            Awaited::Registered => ControllerResponse::Registered,
            Awaited::Heartbeat {
                broker_id,
                want_shut_down,
            } => ControllerResponse::Heartbeat {
                fenced: image.is_fenced(broker_id),
                should_shut_down: want_shut_down && image.is_fenced(broker_id),
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
            Awaited::DeleteTopics(results) => ControllerResponse::DeleteTopics(results),
            Awaited::CreatePartitions(results) => ControllerResponse::CreatePartitions(results),
            Awaited::Reassignments(results) => {
                ControllerResponse::AlterPartitionReassignments(results)
            }
        }
    }

    fn committed_after(
        &self,
        after: Option<MetadataOffset>,
        max_records: usize,
    ) -> Vec<CommittedRecord> {
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

    fn reply(&mut self, client: u64, correlation_id: u64, body: ControllerResponse) {
        let envelope = ControllerEnvelope {
            correlation_id,
            body,
        };
        self.replies.push_back(HostReply { client, envelope });
    }
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
