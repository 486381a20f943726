//! [`QuorumMetadataLog`]: the [`MetadataLog`] the controller sits on, over one
//! [`QuorumNode`]. It keeps the node's commits for `poll_committed`, its messages for the
//! driver (`poll_send`) and its leadership changes (`poll_leadership`).
//!
//! `MetadataLog` methods take no time, so the adapter proposes with the latest `Now` it
//! was given through `handle_message` or `handle_timeout` (a proposal needs no timer).

use super::node::QuorumNode;
use super::types::{QuorumMessage, QuorumOutput};
use crate::controller::{
    CommittedRecord, MetadataLog, MetadataLogError, MetadataOffset, MetadataRecord,
};
use crate::time::{Mono, Now};
use std::collections::VecDeque;

/// A change of leadership the quorum reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadershipChange {
    /// This node now leads in `term`; apply every committed record before issuing commands.
    Became {
        /// The term.
        term: u64,
    },
    /// This node no longer leads (it led in `term`); discard the controller's view.
    Lost {
        /// The term.
        term: u64,
    },
}

/// A replicated metadata log: one controller node's view of the quorum.
#[derive(Clone, Debug)]
pub struct QuorumMetadataLog {
    node: QuorumNode,
    now: Now,
    committed: VecDeque<CommittedRecord>,
    sends: VecDeque<(u32, QuorumMessage)>,
    leadership: VecDeque<LeadershipChange>,
}

impl QuorumMetadataLog {
    /// Wraps `node`; `now` is the time of its creation.
    pub fn new(node: QuorumNode, now: Now) -> QuorumMetadataLog {
        let mut log = QuorumMetadataLog {
            node,
            now,
            committed: VecDeque::new(),
            sends: VecDeque::new(),
            leadership: VecDeque::new(),
        };
        log.drain();
        log
    }

    /// The quorum node underneath (for persistence and inspection).
    pub fn node(&self) -> &QuorumNode {
        &self.node
    }

    /// A message from another controller node.
    pub fn handle_message(&mut self, now: Now, from: u32, message: QuorumMessage) {
        self.now = now;
        self.node.handle_message(now, from, message);
        self.drain();
    }

    /// Timers (elections, heartbeats).
    pub fn handle_timeout(&mut self, now: Now) {
        self.now = now;
        self.node.handle_timeout(now);
        self.drain();
    }

    /// When `handle_timeout` next has work.
    pub fn poll_timeout(&self) -> Option<Mono> {
        self.node.poll_timeout()
    }

    /// The next message to deliver: `(destination, message)`.
    pub fn poll_send(&mut self) -> Option<(u32, QuorumMessage)> {
        self.sends.pop_front()
    }

    /// The next leadership change, in order.
    pub fn poll_leadership(&mut self) -> Option<LeadershipChange> {
        self.leadership.pop_front()
    }

    fn drain(&mut self) {
        while let Some(output) = self.node.poll_output() {
            match output {
                QuorumOutput::Send { to, message } => self.sends.push_back((to, message)),
                QuorumOutput::Committed(record) => self.committed.push_back(record),
                QuorumOutput::BecameLeader { term } => {
                    self.leadership.push_back(LeadershipChange::Became { term })
                }
                QuorumOutput::LostLeadership { term } => {
                    self.leadership.push_back(LeadershipChange::Lost { term })
                }
            }
        }
    }
}

impl MetadataLog for QuorumMetadataLog {
    fn append(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, MetadataLogError> {
        let result = self.node.propose(self.now, records);
        self.drain();
        result
    }

    fn poll_committed(&mut self) -> Option<CommittedRecord> {
        self.committed.pop_front()
    }

    fn committed_offset(&self) -> Option<MetadataOffset> {
        self.node.committed_offset()
    }

    fn read_committed(&self, from: MetadataOffset, max_records: usize) -> Vec<CommittedRecord> {
        self.node.read_committed(from, max_records)
    }

    fn leader_term(&self) -> Option<u64> {
        self.node.leader_term()
    }
}
