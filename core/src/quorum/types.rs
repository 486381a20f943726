//! The plain data of the controller quorum: configuration, log entries, messages between
//! controller nodes, outputs, the state a node keeps on disk, and the deterministic
//! generator behind randomized election timeouts.
//!
//! Log indices are Raft's: 1-based, with 0 meaning "before the first entry". The entry at
//! index `i` is metadata offset `i - 1`, so offsets start at 0 as in the local log.

use crate::controller::{CommittedRecord, MetadataRecord};

/// How one controller node takes part in the quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumConfig {
    /// This node's id; must be one of `voters`.
    pub node_id: u32,
    /// Every voting controller node, this one included. A majority of them commits.
    pub voters: Vec<u32>,
    /// Lower bound of the randomized election timeout, in milliseconds.
    pub election_timeout_min_ms: u64,
    /// Upper bound (inclusive) of the randomized election timeout, in milliseconds.
    pub election_timeout_max_ms: u64,
    /// How often a leader sends AppendEntries to every follower, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// At most this many entries travel in one AppendEntries. A batch may span messages;
    /// no node ever commits part of one (the commit index rests only on batch ends).
    pub max_entries_per_message: usize,
    /// A leader refuses proposals (`Backpressure`) once this many entries await commit.
    pub max_uncommitted_entries: usize,
    /// Seeds the election-timeout generator (mixed with `node_id`).
    pub seed: u64,
}

impl QuorumConfig {
    /// A configuration with Raft's usual proportions: elections after 150–300 ms of
    /// silence, heartbeats every 50 ms.
    pub fn new(node_id: u32, voters: Vec<u32>, seed: u64) -> QuorumConfig {
        QuorumConfig {
            node_id,
            voters,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            max_entries_per_message: 64,
            max_uncommitted_entries: 1024,
            seed,
        }
    }

    /// The number of voters that makes a majority.
    pub fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryPayload {
    /// A metadata record proposed by the controller.
    Record(MetadataRecord),
    /// The empty entry a new leader appends at the start of its term, so that entries of
    /// earlier terms commit with it (Raft §5.4.2, §8). It carries no metadata record and
    /// leaves a gap in the committed offsets.
    LeaderMarker,
}

/// One entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The term of the leader that created it.
    pub term: u64,
    /// True for the last entry of a proposal (and for every leader marker). The commit
    /// index only ever rests on such an entry, so a proposal commits whole or not at all.
    pub ends_batch: bool,
    /// What it carries.
    pub payload: EntryPayload,
}

/// A message between two controller nodes (Raft's RPCs and their replies, as data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuorumMessage {
    /// A candidate asks for a vote.
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// Index of the candidate's last log entry (0 if empty).
        last_log_index: u64,
        /// Term of the candidate's last log entry (0 if empty).
        last_log_term: u64,
    },
    /// The answer to `RequestVote`.
    VoteResponse {
        /// The voter's current term.
        term: u64,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// A leader replicates entries (or just asserts leadership when `entries` is empty).
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// Index of the entry just before `entries` (0 if none).
        prev_log_index: u64,
        /// Term of that entry (0 if none).
        prev_log_term: u64,
        /// Entries to store from `prev_log_index + 1` on.
        entries: Vec<LogEntry>,
        /// The leader's commit index.
        leader_commit: u64,
    },
    /// The answer to `AppendEntries`.
    AppendResponse {
        /// The follower's current term.
        term: u64,
        /// Whether the consistency check passed and the entries are stored.
        success: bool,
        /// On success, the index through which the follower's log matches the leader's.
        /// On failure, the index the leader should retry from (`next_index` hint).
        index: u64,
    },
}

impl QuorumMessage {
    /// The sender's term, carried by every message.
    pub fn term(&self) -> u64 {
        match self {
            QuorumMessage::RequestVote { term, .. }
            | QuorumMessage::VoteResponse { term, .. }
            | QuorumMessage::AppendEntries { term, .. }
            | QuorumMessage::AppendResponse { term, .. } => *term,
        }
    }
}

/// What a node asks its driver to do, or tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuorumOutput {
    /// Deliver `message` to node `to` (it may be lost, delayed, duplicated or reordered).
    Send {
        /// The destination node.
        to: u32,
        /// The message.
        message: QuorumMessage,
    },
    /// A metadata record is committed; emitted once per node incarnation, in offset order.
    Committed(CommittedRecord),
    /// This node now leads in `term`.
    BecameLeader {
        /// The term.
        term: u64,
    },
    /// This node stopped leading (it led in `term`).
    LostLeadership {
        /// The term it led in.
        term: u64,
    },
}

/// What a node keeps across a crash: Raft's persistent state. The driver must store it
/// after every call that changed it and before delivering the messages that call sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersistentState {
    /// The latest term this node has seen.
    pub current_term: u64,
    /// The candidate this node voted for in `current_term`.
    pub voted_for: Option<u32>,
    /// The log; `log[i - 1]` is the entry at index `i`.
    pub log: Vec<LogEntry>,
}

/// SplitMix64: a tiny, deterministic generator, good enough to spread election timeouts.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `low..=high` (`low` if the range is empty).
    pub(crate) fn in_range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        let span = high - low + 1;
        low + self.next_u64() % span
    }
}
