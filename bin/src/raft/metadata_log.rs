//! [`RaftMetadataLog`]: the controller's synchronous [`MetadataLog`] over an openraft node.
//!
//! # Threading
//! The controller calls the [`MetadataLog`] methods synchronously, typically from a tokio
//! task; none of them blocks or awaits:
//! - `append` encodes the batch into one [`MetadataProposal`] and sends it on an unbounded
//!   channel to a *proposer task* (spawned by [`RaftMetadataLog::new`]), which hands
//!   proposals to `Raft::client_write_ff` one at a time, in the order they were appended,
//!   so raft appends them in that order.
//! - `poll_committed`, `committed_offset` and `read_committed` read the [`AppliedRecords`]
//!   the state machine fills as openraft applies committed entries (a short mutex hold).
//! - `leader_term` reads openraft's metrics (a watch channel) and the applied records.
//!
//! # Leadership and offsets
//! `leader_term` is `Some(term)` only while openraft's metrics say this node leads in
//! `term` *and* the state machine has applied an entry of `term` (the blank entry a new
//! leader commits first): from then on every record committed before the term is
//! available to poll — the catch-up the [`MetadataLog`] contract asks for — and offsets for
//! new proposals continue from the applied `next_offset` (see the `raft` module docs). A
//! stale leadership view (metrics lag a deposition) only means an accepted proposal never
//! commits, which the contract allows.

use super::state_machine::AppliedRecords;
use super::{MetadataProposal, MetadataRaft};
use odradek_core::controller::{
    CommittedRecord, MetadataLog, MetadataLogError, MetadataOffset, MetadataRecord,
};
use odradek_core::node::metadata_store::encode_record;
use openraft::{BasicNode, LogId, RaftMetrics, ServerState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, watch};

/// Records proposed but not yet applied beyond which `append` answers `Backpressure`.
pub const PENDING_RECORDS_MAX: usize = 100_000;

/// Where this facade's next proposal goes: the term it proposes in and the next offset.
#[derive(Clone, Copy, Debug)]
struct ProposalCursor {
    term: u64,
    next_offset: u64,
}

/// One controller node's [`MetadataLog`], replicated by openraft. See the module docs.
#[derive(Debug)]
pub struct RaftMetadataLog {
    node_id: u64,
    metrics: watch::Receiver<RaftMetrics<u64, BasicNode>>,
    applied: Arc<Mutex<AppliedRecords>>,
    applied_watch: watch::Receiver<Option<LogId<u64>>>,
    proposals: mpsc::UnboundedSender<MetadataProposal>,
    stopped: Arc<AtomicBool>,
    cursor: Option<ProposalCursor>,
    /// Records at offsets below this have been polled.
    polled_through: u64,
}

impl RaftMetadataLog {
    /// The facade of `raft`, reading the records its state machine applies into `applied`
    /// (announced on `applied_watch`). Spawns the proposer task, so it must be called
    /// within a tokio runtime. `stopped` is set when the node shuts down.
    pub fn new(
        raft: MetadataRaft,
        applied: Arc<Mutex<AppliedRecords>>,
        applied_watch: watch::Receiver<Option<LogId<u64>>>,
        stopped: Arc<AtomicBool>,
    ) -> RaftMetadataLog {
        let (proposals, queue) = mpsc::unbounded_channel();
        let metrics = raft.metrics();
        let node_id = metrics.borrow().id;
        tokio::spawn(propose_in_order(raft, queue));
        RaftMetadataLog {
            node_id,
            metrics,
            applied,
            applied_watch,
            proposals,
            stopped,
            cursor: None,
            polled_through: 0,
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// A receiver that changes whenever the state machine applies entries: a controller
    /// task awaits it (`changed()`) instead of polling `poll_committed` on a timer.
    pub fn subscribe_applied(&self) -> watch::Receiver<Option<LogId<u64>>> {
        self.applied_watch.clone()
    }

    fn lock_applied(&self) -> MutexGuard<'_, AppliedRecords> {
        self.applied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Index in `records` of the first record at or after `offset`.
    fn position_of(records: &[CommittedRecord], offset: u64) -> usize {
        records.partition_point(|record| record.offset.0 < offset)
    }
}

/// The proposer task: hands proposals to raft in order; ends when the facade is dropped or
/// raft has stopped.
async fn propose_in_order(
    raft: MetadataRaft,
    mut queue: mpsc::UnboundedReceiver<MetadataProposal>,
) {
    while let Some(proposal) = queue.recv().await {
        match raft.client_write_ff(proposal).await {
            Ok(response) => {
                // Wait for the outcome only to log it: commit is observed through the
                // state machine, and a refusal means leadership moved.
                tokio::spawn(async move {
                    if let Ok(Err(error)) = response.await {
                        tracing::debug!(%error, "metadata proposal not committed");
                    }
                });
            }
            Err(fatal) => {
                tracing::info!(%fatal, "raft stopped; the metadata proposer exits");
                return;
            }
        }
    }
}

impl MetadataLog for RaftMetadataLog {
    fn append(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, MetadataLogError> {
        let term = self.leader_term().ok_or(MetadataLogError::NotLeader)?;
        let applied_next = self.lock_applied().next_offset();
        let next_offset = match self.cursor {
            Some(cursor) if cursor.term == term => cursor.next_offset.max(applied_next),
            _ => applied_next,
        };
        if records.is_empty() {
            return Ok(MetadataOffset(next_offset.saturating_sub(1)));
        }
        let pending = usize::try_from(next_offset - applied_next).unwrap_or(usize::MAX);
        if pending >= PENDING_RECORDS_MAX {
            return Err(MetadataLogError::Backpressure {
                pending,
                limit: PENDING_RECORDS_MAX,
            });
        }
        let count = records.len() as u64;
        let proposal = MetadataProposal {
            term,
            first_offset: next_offset,
            records: records.iter().map(encode_record).collect(),
        };
        if self.proposals.send(proposal).is_err() {
            return Err(MetadataLogError::NotLeader); // raft has stopped
        }
        self.cursor = Some(ProposalCursor {
            term,
            next_offset: next_offset + count,
        });
        Ok(MetadataOffset(next_offset + count - 1))
    }

    fn poll_committed(&mut self) -> Option<CommittedRecord> {
        let next = {
            let applied = self.lock_applied();
            let records = applied.records();
            records
                .get(Self::position_of(records, self.polled_through))
                .cloned()
        };
        if let Some(record) = &next {
            self.polled_through = record.offset.0 + 1;
        }
        next
    }

    fn committed_offset(&self) -> Option<MetadataOffset> {
        self.lock_applied()
            .records()
            .last()
            .map(|record| record.offset)
    }

    fn read_committed(&self, from: MetadataOffset, max_records: usize) -> Vec<CommittedRecord> {
        let applied = self.lock_applied();
        let records = applied.records();
        let start = Self::position_of(records, from.0);
        records[start..].iter().take(max_records).cloned().collect()
    }

    fn leader_term(&self) -> Option<u64> {
        if self.stopped.load(Ordering::Acquire) {
            return None;
        }
        let term = {
            let metrics = self.metrics.borrow();
            let leads = metrics.state == ServerState::Leader
                && metrics.current_leader == Some(self.node_id)
                && metrics.running_state.is_ok();
            if !leads {
                return None;
            }
            metrics.current_term
        };
        let applied_term = self
            .lock_applied()
            .last_applied()
            .map(|log_id| log_id.leader_id.term);
        (applied_term == Some(term)).then_some(term)
    }
}
