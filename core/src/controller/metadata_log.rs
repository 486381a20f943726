//! The boundary between the controller and its metadata log.
//!
//! The controller never changes metadata directly: a command yields records, the records are
//! *proposed* to a [`MetadataLog`] as one atomic batch, and only records the log reports as
//! *committed* are applied to images, in offset order. Brokers follow the same committed
//! records (`read_committed`) to learn metadata.
//!
//! Two implementations share this interface:
//! - [`LocalMetadataLog`] (this file): the single-node log of issue 4. A proposal commits the
//!   moment it is appended, because with one node the quorum is that node. Kept in memory;
//!   the node persists metadata by replaying or storing its records.
//! - the replicated log (issue 6: a simulated quorum; later openraft): `append` only hands
//!   the batch to the quorum leader, and `poll_committed` yields it once a majority has it.
//!   A non-leader refuses proposals with [`MetadataLogError::NotLeader`].
//!
//! # Contract for implementations
//! - **Proposals may be refused.** `append` returns `NotLeader` on a node that does not lead
//!   the quorum, `Backpressure` when too much awaits commit; a refused batch is not in the
//!   log, in whole.
//! - **Commit comes later, in order.** `poll_committed` yields every committed record exactly
//!   once, in offset order, offsets strictly increasing (gaps allowed: a quorum may log
//!   entries of its own, such as leader-change markers, that carry no metadata record). A
//!   batch commits whole or not at all. Records of an accepted proposal may never commit if
//!   leadership is lost before they reach a majority; they are then replaced by the new
//!   leader's records at the same offsets.
//! - **Leadership is visible.** `leader_term` is `Some(term)` while this node leads in
//!   `term` (a number that grows with every election) and `None` otherwise. The controller
//!   keeps a *view* (the committed image plus its own proposals) to validate commands
//!   against; it discards that view whenever the term differs from the one its proposals
//!   were made in, or a proposal is refused with `NotLeader`, because uncommitted proposals
//!   of a deposed leader may never commit.
//! - **Catch up before leading.** A node that becomes leader must apply every record
//!   committed before its term (`apply_committed`) before it issues commands, as KRaft's
//!   active controller does; otherwise it validates against a stale image.

use super::error::ControllerError;
use super::ids::MetadataOffset;
use super::record::MetadataRecord;
use std::collections::VecDeque;

/// A record the log has committed, with its offset.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommittedRecord {
    /// Its position in the log.
    pub offset: MetadataOffset,
    /// The record.
    pub record: MetadataRecord,
}

/// The log refused a proposal; nothing was appended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataLogError {
    /// This node does not lead the metadata quorum.
    #[error("not the metadata log leader")]
    NotLeader,
    /// Too many proposed records await commit.
    #[error("{pending} records pending (limit {limit})")]
    Backpressure {
        /// Records awaiting commit.
        pending: usize,
        /// The limit.
        limit: usize,
    },
}

impl From<MetadataLogError> for ControllerError {
    fn from(error: MetadataLogError) -> Self {
        match error {
            MetadataLogError::NotLeader => ControllerError::NotController,
            MetadataLogError::Backpressure { pending, limit } => {
                ControllerError::MetadataLogFull { pending, limit }
            }
        }
    }
}

/// A metadata log: proposals in, committed records out, in offset order.
pub trait MetadataLog {
    /// Proposes `records` as one atomic batch (all commit or none). Returns the offset the
    /// last record will have. An empty batch is accepted and appends nothing.
    fn append(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, MetadataLogError>;

    /// The next committed record not yet polled, in offset order.
    fn poll_committed(&mut self) -> Option<CommittedRecord>;

    /// The offset of the last committed record.
    fn committed_offset(&self) -> Option<MetadataOffset>;

    /// Committed records from `from` on (at most `max_records`), for a broker following the
    /// log or a fresh image replaying it.
    fn read_committed(&self, from: MetadataOffset, max_records: usize) -> Vec<CommittedRecord>;

    /// `Some(term)` while this node leads the log in `term`; `None` while it does not.
    fn leader_term(&self) -> Option<u64>;
}

/// The single-node metadata log: every proposal commits immediately. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct LocalMetadataLog {
    records: Vec<MetadataRecord>,
    unpolled: VecDeque<CommittedRecord>,
}

impl LocalMetadataLog {
    /// An empty log.
    pub fn new() -> LocalMetadataLog {
        LocalMetadataLog::default()
    }

    /// Every committed record, in order (offset = index).
    pub fn records(&self) -> &[MetadataRecord] {
        &self.records
    }
}

impl MetadataLog for LocalMetadataLog {
    fn append(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, MetadataLogError> {
        for record in records {
            let offset = MetadataOffset(self.records.len() as u64);
            self.records.push(record.clone());
            self.unpolled.push_back(CommittedRecord { offset, record });
        }
        Ok(MetadataOffset(self.records.len().saturating_sub(1) as u64))
    }

    fn poll_committed(&mut self) -> Option<CommittedRecord> {
        self.unpolled.pop_front()
    }

    fn committed_offset(&self) -> Option<MetadataOffset> {
        self.records
            .len()
            .checked_sub(1)
            .map(|last| MetadataOffset(last as u64))
    }

    /// The single node always leads, in term 0.
    fn leader_term(&self) -> Option<u64> {
        Some(0)
    }

    fn read_committed(&self, from: MetadataOffset, max_records: usize) -> Vec<CommittedRecord> {
        let start = usize::try_from(from.0).unwrap_or(usize::MAX);
        self.records
            .iter()
            .enumerate()
            .skip(start)
            .take(max_records)
            .map(|(index, record)| CommittedRecord {
                offset: MetadataOffset(index as u64),
                record: record.clone(),
            })
            .collect()
    }
}
