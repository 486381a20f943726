//! The production metadata quorum: the controller's [`MetadataLog`] replicated between
//! controller nodes by openraft (0.9), persisted through Odradek's storage trait (a real
//! directory in production, a `SimDisk` in simulation), over TCP.
//!
//! # Pieces
//! - [`RaftMetadataLog`] (`metadata_log.rs`): the synchronous [`MetadataLog`] facade one
//!   controller uses. `append` hands a batch to a tokio task that proposes it with
//!   `Raft::client_write_ff`; committed records come back through the state machine.
//! - [`RaftStorage`] (`storage.rs`): the node's raft directory as one Odradek
//!   [`Storage`](odradek_core::storage::Storage) (a real directory in production, a
//!   `SimDisk` one in simulation), shared by the log store and the state machine.
//! - [`FileLogStore`] (`log_store.rs`, `log_file.rs`): openraft's log storage: one
//!   append-only file of CRC32C-framed records (entries, truncations, purges), a vote file
//!   and a committed-id file, both replaced atomically; the partition log's crash rules
//!   (nothing acknowledged before a sync, a torn tail cut at open, other damage an error).
//! - [`MetadataStateMachine`] (`state_machine.rs`): applies committed entries into the
//!   shared [`AppliedRecords`] the facade reads; snapshots are the whole applied record list,
//!   persisted atomically.
//! - [`QuorumNetwork`] / [`RaftServer`] (`network.rs`): openraft's RPCs as length-prefixed
//!   JSON frames over TCP.
//! - [`ControllerQuorumNode`] (`node.rs`): config, start (initialising a fresh cluster from
//!   the lowest voter id), shutdown.
//! - `MadsimRuntime` (`runtime.rs`, `--cfg madsim` only): openraft's async runtime on
//!   madsim's tasks, clock and seeded randomness.
//!
//! # Offsets (the contract of [`MetadataLog`] on offsets)
//! A proposal ([`MetadataProposal`]) names the leader term it was made in and the metadata
//! offset of its first record; its records take consecutive offsets from there. The state
//! machine keeps `next_offset` (one past the last committed record) and applies a proposal
//! only if it was appended to the raft log in the term it names and its first offset is not
//! below `next_offset`; otherwise the whole entry is skipped (it carries records validated
//! against a view that no longer holds). Every node applies the same log, so every node
//! skips and numbers identically, and offsets strictly increase in commit order. The rule
//! itself is core's pure [`judge_proposal`](odradek_core::controller::judge_proposal).
//!
//! The leader can name offsets synchronously because [`MetadataLog::leader_term`] is `Some`
//! only once the state machine has applied an entry of the current term (openraft's blank
//! leader entry): by then every earlier entry is applied, and the only entries after it in
//! the leader's log are this facade's own proposals, numbered back to back. So the offset
//! `append` returns is exactly the one its last record gets if it commits.
//!
//! # Why
//! The controller is a deterministic machine over a synchronous log (so the simulator can
//! drive it); openraft is async. The facade keeps the controller synchronous and non-blocking
//! (every method is a channel send, a watch read or a short mutex hold), safe to call from a
//! tokio task. The async runtime is one type alias ([`MetadataRuntime`]), which the madsim
//! build points at its own.
//!
//! [`MetadataLog`]: odradek_core::controller::MetadataLog
//! [`MetadataLog::leader_term`]: odradek_core::controller::MetadataLog::leader_term

mod log_file;
mod log_store;
mod metadata_log;
mod network;
mod node;
#[cfg(madsim)]
mod runtime;
mod state_machine;
mod storage;

pub use log_file::LogFileError;
pub use log_store::FileLogStore;
pub use metadata_log::{RaftMetadataLog, PENDING_RECORDS_MAX};
pub use network::{
    QuorumConnection, QuorumNetwork, RaftServer, RpcEnvelope, RpcRequest, RpcResponse,
    FRAME_LEN_MAX,
};
pub use node::{ControllerQuorumConfig, ControllerQuorumNode, QuorumNodeError};
#[cfg(madsim)]
pub use runtime::{Elapsed, MadsimInstant, MadsimRuntime, MadsimTimeout};
pub use state_machine::{AppliedRecords, MetadataStateMachine};
pub use storage::{RaftStorage, RAFT_DIRECTORY};

use serde::{Deserialize, Serialize};
use std::io::Cursor;

/// A controller node's id in the metadata quorum.
pub type ControllerNodeId = u64;

/// The async runtime openraft runs on: tokio in production.
#[cfg(not(madsim))]
pub type MetadataRuntime = openraft::TokioRuntime;

/// The async runtime openraft runs on: madsim's tasks, clock and seeded randomness under
/// `--cfg madsim` (openraft's own `TokioRuntime` would call the real tokio).
#[cfg(madsim)]
pub type MetadataRuntime = MadsimRuntime;

openraft::declare_raft_types!(
    /// openraft's type configuration for the metadata quorum.
    pub MetadataRaftTypes:
        D = MetadataProposal,
        R = (),
        NodeId = ControllerNodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<MetadataRaftTypes>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = MetadataRuntime,
);

/// The Raft handle of a metadata quorum node.
pub type MetadataRaft = openraft::Raft<MetadataRaftTypes>;

/// One batch of metadata records proposed by a leader: the payload of one raft entry, so a
/// batch commits whole. See the module docs for how `term` and `first_offset` are used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataProposal {
    /// The leader term the proposal was made in.
    pub term: u64,
    /// The metadata offset of the first record.
    pub first_offset: u64,
    /// The records, each encoded with `odradek_core::node::metadata_store::encode_record`.
    pub records: Vec<Vec<u8>>,
}
