//! What the log asks its driver to do. Syncs are effects, not calls, so the node never
//! blocks on fsync: the driver performs the [`SyncRequest`] (on any handle to the same
//! storage) and reports back with `PartitionLog::handle_synced`.

use crate::record::Offset;

/// Identifies one sync request so its completion can be matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SyncId(pub u64);

/// Make these files durable; afterwards every offset below `through` is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRequest {
    /// Matches the completion to the request.
    pub id: SyncId,
    /// Files to `sync`, in order.
    pub files: Vec<String>,
    /// The log end offset when the request was made.
    pub through: Offset,
}

/// An effect requested by the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogOutput {
    /// Perform these syncs, then call `handle_synced`.
    Sync(SyncRequest),
}
