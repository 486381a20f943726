//! The controller quorum's replicated metadata log, as a pure Raft machine per controller
//! node (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014).
//!
//! Why: the metadata log decides who leads every partition; with one controller node it is
//! a single point of failure. A quorum of controller nodes replicates it so that any
//! majority keeps the cluster's metadata alive. Here the quorum is simulated (the world
//! delivers, drops, delays, duplicates and reorders its messages, partitions and crashes its
//! nodes); production replaces it with openraft behind the same [`MetadataLog`] contract.
//!
//! # Contract
//! - **Shape.** [`QuorumNode`] takes `handle_message(now, from, message)`,
//!   `handle_timeout(now)` and `propose(now, records)`, and gives `poll_output()` (messages
//!   to send, committed records, leadership changes) and `poll_timeout()`. No I/O, no clock;
//!   election timeouts are drawn from a SplitMix64 generator seeded by the configuration.
//! - **Raft.** Leader election with terms and votes, granted only to a candidate whose log
//!   is at least as up to date; AppendEntries with the consistency check and truncation of
//!   conflicting (never of matching) entries; heartbeats; a leader commits only entries of
//!   its own term stored on a majority (§5.4.2), and appends an empty
//!   [`EntryPayload::LeaderMarker`] when elected so earlier entries commit promptly.
//! - **Atomic batches.** A proposal's records are appended as consecutive entries in one
//!   step; only the last carries `ends_batch`, and the commit index only rests on such an
//!   entry, so a batch commits whole or not at all.
//! - **Offsets.** The entry at Raft index `i` (1-based) has metadata offset `i - 1`; leader
//!   markers carry no record, so committed offsets have gaps, as the contract allows.
//! - **Persistence.** [`PersistentState`] (term, vote, log) is what a crash keeps; the
//!   driver stores it after each call before delivering the messages the call sent.
//!   [`QuorumNode::restart`] rebuilds the volatile rest; the commit index restarts at 0 and
//!   committed records are emitted again as the node relearns it.
//! - **Check-quorum.** A leader that has not heard from a majority within the longest
//!   election timeout steps down (`LostLeadership`), so a partitioned controller stops
//!   accepting proposals that cannot commit. Until then its proposals simply never commit,
//!   which the `MetadataLog` contract allows.
//! - **Not here (yet).** Membership changes, snapshots and log compaction, pre-vote (a
//!   node rejoining after a partition may depose a healthy leader with its higher term).
//!
//! [`QuorumMetadataLog`] adapts a node to [`MetadataLog`] so the controller can sit on it.
//!
//! [`MetadataLog`]: crate::controller::MetadataLog

mod adapter;
mod invariants;
mod node;
mod replication;
mod types;

pub use adapter::{LeadershipChange, QuorumMetadataLog};
pub use node::{PeerProgress, QuorumConfigError, QuorumNode, Role};
pub use types::{
    EntryPayload, LogEntry, PersistentState, QuorumConfig, QuorumMessage, QuorumOutput,
};
