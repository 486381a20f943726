//! The Raft machine of one controller node: roles, terms, votes, timers and proposals.
//! Log replication (AppendEntries and its answer, commit) lives in `replication.rs`.

use super::types::{
    EntryPayload, LogEntry, PersistentState, QuorumConfig, QuorumMessage, QuorumOutput, SplitMix64,
};
use crate::controller::{CommittedRecord, MetadataLogError, MetadataOffset, MetadataRecord};
use crate::time::{Mono, Now};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A configuration the quorum cannot run with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuorumConfigError {
    /// `voters` is empty.
    #[error("the quorum has no voters")]
    NoVoters,
    /// `node_id` is not among `voters`.
    #[error("node {node_id} is not a voter of the quorum {voters:?}")]
    NotAVoter {
        /// This node.
        node_id: u32,
        /// The voters.
        voters: Vec<u32>,
    },
    /// The election timeout range or heartbeat interval cannot elect a stable leader.
    #[error(
        "timeouts must satisfy 0 < heartbeat ({heartbeat_ms} ms) < election min ({min_ms} ms) <= max ({max_ms} ms)"
    )]
    BadTimeouts {
        /// Heartbeat interval.
        heartbeat_ms: u64,
        /// Election timeout lower bound.
        min_ms: u64,
        /// Election timeout upper bound.
        max_ms: u64,
    },
    /// `max_entries_per_message` or `max_uncommitted_entries` is zero.
    #[error("message and pending-entry limits must be positive")]
    ZeroLimit,
}

/// A node's role in its current term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows whichever leader it hears from in the current term.
    Follower,
    /// Asks for votes; holds the ids that granted one (itself included).
    Candidate {
        /// Voters that granted their vote this term.
        votes: BTreeSet<u32>,
    },
    /// Leads the current term.
    Leader {
        /// Replication progress per other voter.
        peers: BTreeMap<u32, PeerProgress>,
    },
}

/// What a leader knows about one follower's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerProgress {
    /// The next index to send.
    pub next_index: u64,
    /// The highest index known to match the leader's log.
    pub match_index: u64,
    /// When this follower last answered an AppendEntries of the current term (the election
    /// time until it first does).
    pub last_response: Mono,
}

/// One controller node of the metadata quorum, as a pure Raft machine. See the module docs.
#[derive(Clone, Debug)]
pub struct QuorumNode {
    pub(super) config: QuorumConfig,
    pub(super) persistent: PersistentState,
    pub(super) role: Role,
    pub(super) commit_index: u64,
    pub(super) leader_hint: Option<u32>,
    rng: SplitMix64,
    election_deadline: Mono,
    pub(super) heartbeat_deadline: Mono,
    pub(super) outputs: VecDeque<QuorumOutput>,
    last_now: Mono,
}

impl QuorumNode {
    /// A fresh node with an empty log, a follower in term 0.
    pub fn new(config: QuorumConfig, now: Now) -> Result<QuorumNode, QuorumConfigError> {
        QuorumNode::restart(config, PersistentState::default(), now)
    }

    /// A node restarting after a crash: `persisted` (term, vote, log) survived, everything
    /// else (role, commit index, replication progress) is rebuilt. Records committed before
    /// the crash are emitted again as `Committed` once this node learns the commit index.
    pub fn restart(
        mut config: QuorumConfig,
        persisted: PersistentState,
        now: Now,
    ) -> Result<QuorumNode, QuorumConfigError> {
        config.voters.sort_unstable();
        config.voters.dedup();
        validate(&config)?;
        let seed = config.seed ^ u64::from(config.node_id).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let mut node = QuorumNode {
            config,
            persistent: persisted,
            role: Role::Follower,
            commit_index: 0,
            leader_hint: None,
            rng: SplitMix64::new(seed),
            election_deadline: now.mono,
            heartbeat_deadline: now.mono,
            outputs: VecDeque::new(),
            last_now: now.mono,
        };
        node.reset_election_deadline(now.mono);
        Ok(node)
    }

    /// This node's configuration (voters sorted and deduplicated).
    pub fn config(&self) -> &QuorumConfig {
        &self.config
    }

    /// What must survive a crash; the driver stores it after every call.
    pub fn persistent_state(&self) -> PersistentState {
        self.persistent.clone()
    }

    /// The latest term this node has seen.
    pub fn current_term(&self) -> u64 {
        self.persistent.current_term
    }

    /// The role in the current term.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// `Some(term)` while this node leads in `term`.
    pub fn leader_term(&self) -> Option<u64> {
        match self.role {
            Role::Leader { .. } => Some(self.persistent.current_term),
            _ => None,
        }
    }

    /// The node this one believes leads the current term, if any.
    pub fn leader_hint(&self) -> Option<u32> {
        self.leader_hint
    }

    /// The highest log index known committed (0 if none); always ends a batch.
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    /// The log (`log()[i - 1]` is the entry at index `i`).
    pub fn log(&self) -> &[LogEntry] {
        &self.persistent.log
    }

    /// Offset of the last committed metadata record (leader markers carry none).
    pub fn committed_offset(&self) -> Option<MetadataOffset> {
        (1..=self.commit_index)
            .rev()
            .find(|&index| matches!(self.entry(index).payload, EntryPayload::Record(_)))
            .map(|index| MetadataOffset(index - 1))
    }

    /// Committed records from offset `from` on, at most `max_records`.
    pub fn read_committed(&self, from: MetadataOffset, max_records: usize) -> Vec<CommittedRecord> {
        let first = from.0.saturating_add(1).max(1);
        (first..=self.commit_index)
            .filter_map(|index| self.committed_record(index))
            .take(max_records)
            .collect()
    }

    /// Proposes `records` as one batch, appended as consecutive entries that commit
    /// together. Returns the offset of the last record. Refused with `NotLeader` unless this
    /// node leads, and with `Backpressure` when too many entries await commit.
    pub fn propose(
        &mut self,
        now: Now,
        records: Vec<MetadataRecord>,
    ) -> Result<MetadataOffset, MetadataLogError> {
        self.observe(now);
        if self.leader_term().is_none() {
            return Err(MetadataLogError::NotLeader);
        }
        let pending = usize::try_from(self.last_index() - self.commit_index).unwrap_or(usize::MAX);
        let limit = self.config.max_uncommitted_entries;
        if pending.saturating_add(records.len()) > limit {
            return Err(MetadataLogError::Backpressure { pending, limit });
        }
        let count = records.len();
        let term = self.persistent.current_term;
        for (position, record) in records.into_iter().enumerate() {
            self.persistent.log.push(LogEntry {
                term,
                ends_batch: position + 1 == count,
                payload: EntryPayload::Record(record),
            });
        }
        if count > 0 {
            self.broadcast_append();
            self.advance_leader_commit();
        }
        Ok(MetadataOffset(self.last_index().saturating_sub(1)))
    }

    /// A message from node `from`. Messages from unknown nodes or from itself are ignored.
    pub fn handle_message(&mut self, now: Now, from: u32, message: QuorumMessage) {
        self.observe(now);
        if from == self.config.node_id || !self.config.voters.contains(&from) {
            return;
        }
        if message.term() > self.persistent.current_term {
            self.become_follower(now.mono, message.term());
        }
        match message {
            QuorumMessage::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.handle_request_vote(now.mono, from, term, last_log_index, last_log_term),
            QuorumMessage::VoteResponse { term, granted } => {
                self.handle_vote_response(now.mono, from, term, granted)
            }
            QuorumMessage::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => {
                let request = super::replication::AppendRequest {
                    term,
                    prev_log_index,
                    prev_log_term,
                    entries,
                    leader_commit,
                };
                self.handle_append(now.mono, from, request)
            }
            QuorumMessage::AppendResponse {
                term,
                success,
                index,
            } => self.handle_append_response(now.mono, from, term, success, index),
        }
    }

    /// Timers: a leader sends heartbeats, anyone else starts an election after silence.
    /// An early call does nothing.
    pub fn handle_timeout(&mut self, now: Now) {
        self.observe(now);
        match self.role {
            Role::Leader { .. } => {
                if now.mono >= self.heartbeat_deadline {
                    if self.lost_contact_with_majority(now.mono) {
                        self.become_follower(now.mono, self.persistent.current_term);
                        return;
                    }
                    self.broadcast_append();
                }
            }
            _ => {
                if now.mono >= self.election_deadline {
                    self.start_election(now.mono);
                }
            }
        }
    }

    /// The next output (messages, commits, leadership changes), in the order produced.
    pub fn poll_output(&mut self) -> Option<QuorumOutput> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` next has something to do.
    pub fn poll_timeout(&self) -> Option<Mono> {
        match self.role {
            Role::Leader { .. } => Some(self.heartbeat_deadline),
            _ => Some(self.election_deadline),
        }
    }

    fn observe(&mut self, now: Now) {
        self.last_now = self.last_now.max(now.mono);
    }

    pub(super) fn last_index(&self) -> u64 {
        self.persistent.log.len() as u64
    }

    /// Term of the entry at `index`; 0 for index 0 or beyond the log.
    pub(super) fn term_at(&self, index: u64) -> u64 {
        match index {
            0 => 0,
            _ => self
                .persistent
                .log
                .get(index as usize - 1)
                .map_or(0, |entry| entry.term),
        }
    }

    /// The entry at `index`, which must be in `1..=last_index()`.
    pub(super) fn entry(&self, index: u64) -> &LogEntry {
        &self.persistent.log[index as usize - 1]
    }

    pub(super) fn committed_record(&self, index: u64) -> Option<CommittedRecord> {
        match &self.entry(index).payload {
            EntryPayload::Record(record) => Some(CommittedRecord {
                offset: MetadataOffset(index - 1),
                record: record.clone(),
            }),
            EntryPayload::LeaderMarker => None,
        }
    }

    pub(super) fn send(&mut self, to: u32, message: QuorumMessage) {
        self.outputs.push_back(QuorumOutput::Send { to, message });
    }

    pub(super) fn peers(&self) -> Vec<u32> {
        let me = self.config.node_id;
        self.config
            .voters
            .iter()
            .copied()
            .filter(|&id| id != me)
            .collect()
    }

    pub(super) fn reset_election_deadline(&mut self, now: Mono) {
        let timeout = self.rng.in_range(
            self.config.election_timeout_min_ms,
            self.config.election_timeout_max_ms,
        );
        self.election_deadline = now.plus_millis(timeout);
    }

    /// Moves to `term` (if higher) as a follower; a leader reports that it lost leadership.
    pub(super) fn become_follower(&mut self, now: Mono, term: u64) {
        let previous_term = self.persistent.current_term;
        if term > self.persistent.current_term {
            self.persistent.current_term = term;
            self.persistent.voted_for = None;
            self.leader_hint = None;
        }
        let previous = std::mem::replace(&mut self.role, Role::Follower);
        match previous {
            Role::Leader { .. } => {
                let term = previous_term;
                self.outputs
                    .push_back(QuorumOutput::LostLeadership { term });
                self.leader_hint = None;
                self.reset_election_deadline(now);
            }
            Role::Candidate { .. } => self.reset_election_deadline(now),
            Role::Follower => {}
        }
    }

    fn start_election(&mut self, now: Mono) {
        self.persistent.current_term += 1;
        let me = self.config.node_id;
        self.persistent.voted_for = Some(me);
        self.leader_hint = None;
        self.role = Role::Candidate {
            votes: BTreeSet::from([me]),
        };
        self.reset_election_deadline(now);
        if self.config.majority() == 1 {
            self.become_leader(now);
            return;
        }
        let message = QuorumMessage::RequestVote {
            term: self.persistent.current_term,
            last_log_index: self.last_index(),
            last_log_term: self.term_at(self.last_index()),
        };
        for peer in self.peers() {
            self.send(peer, message.clone());
        }
    }

    fn handle_request_vote(
        &mut self,
        now: Mono,
        from: u32,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    ) {
        let my_last_term = self.term_at(self.last_index());
        let up_to_date = last_log_term > my_last_term
            || (last_log_term == my_last_term && last_log_index >= self.last_index());
        let free = self.persistent.voted_for.is_none() || self.persistent.voted_for == Some(from);
        let granted = term == self.persistent.current_term && free && up_to_date;
        if granted {
            self.persistent.voted_for = Some(from);
            self.reset_election_deadline(now);
        }
        let reply = QuorumMessage::VoteResponse {
            term: self.persistent.current_term,
            granted,
        };
        self.send(from, reply);
    }

    fn handle_vote_response(&mut self, now: Mono, from: u32, term: u64, granted: bool) {
        if term != self.persistent.current_term || !granted {
            return;
        }
        let majority = self.config.majority();
        let Role::Candidate { votes } = &mut self.role else {
            return;
        };
        votes.insert(from);
        if votes.len() >= majority {
            self.become_leader(now);
        }
    }

    fn become_leader(&mut self, now: Mono) {
        let next_index = self.last_index() + 1;
        let peers = self
            .peers()
            .into_iter()
            .map(|id| {
                let progress = PeerProgress {
                    next_index,
                    match_index: 0,
                    last_response: now,
                };
                (id, progress)
            })
            .collect();
        self.role = Role::Leader { peers };
        self.leader_hint = Some(self.config.node_id);
        let term = self.persistent.current_term;
        self.persistent.log.push(LogEntry {
            term,
            ends_batch: true,
            payload: EntryPayload::LeaderMarker,
        });
        self.outputs.push_back(QuorumOutput::BecameLeader { term });
        self.heartbeat_deadline = now;
        self.broadcast_append();
        self.advance_leader_commit();
    }

    /// Check-quorum: a leader that has not heard from a majority (itself included) within
    /// the longest election timeout steps down, since a majority may have elected another
    /// leader meanwhile; it then refuses proposals instead of accepting doomed ones.
    fn lost_contact_with_majority(&self, now: Mono) -> bool {
        let Role::Leader { peers } = &self.role else {
            return false;
        };
        let window = self.config.election_timeout_max_ms;
        let heard = peers
            .values()
            .filter(|progress| now.millis_since(progress.last_response) <= window)
            .count();
        1 + heard < self.config.majority()
    }

    /// Sends AppendEntries to every follower and re-arms the heartbeat timer.
    pub(super) fn broadcast_append(&mut self) {
        for peer in self.peers() {
            self.send_append(peer);
        }
        let interval = self.config.heartbeat_interval_ms;
        self.heartbeat_deadline = self.last_now.plus_millis(interval);
    }
}

fn validate(config: &QuorumConfig) -> Result<(), QuorumConfigError> {
    if config.voters.is_empty() {
        return Err(QuorumConfigError::NoVoters);
    }
    if !config.voters.contains(&config.node_id) {
        return Err(QuorumConfigError::NotAVoter {
            node_id: config.node_id,
            voters: config.voters.clone(),
        });
    }
    let (heartbeat_ms, min_ms, max_ms) = (
        config.heartbeat_interval_ms,
        config.election_timeout_min_ms,
        config.election_timeout_max_ms,
    );
    if heartbeat_ms == 0 || heartbeat_ms >= min_ms || min_ms > max_ms {
        return Err(QuorumConfigError::BadTimeouts {
            heartbeat_ms,
            min_ms,
            max_ms,
        });
    }
    if config.max_entries_per_message == 0 || config.max_uncommitted_entries == 0 {
        return Err(QuorumConfigError::ZeroLimit);
    }
    Ok(())
}
