//! The data a replica exchanges: requests between follower and leader (plain structs the node
//! maps onto Kafka's Fetch and OffsetsForLeaderEpoch), produce acknowledgements, and the
//! effects it asks its driver for.

use super::ReplicationError;
use crate::controller::{BrokerId, LeaderEpoch, PartitionEpoch};
use crate::log::{AppendInfo, SyncRequest};
use crate::record::Offset;
use bytes::Bytes;

/// Kafka's `acks` of a produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: no answer at all.
    None,
    /// `acks=1`: answered once the leader appended.
    Leader,
    /// `acks=all` (`-1`): answered once the whole ISR has the records.
    All,
}

impl Acks {
    /// The Kafka wire value (`0`, `1`, `-1`); `None` for any other value.
    pub fn from_kafka(acks: i16) -> Option<Acks> {
        match acks {
            0 => Some(Acks::None),
            1 => Some(Acks::Leader),
            -1 => Some(Acks::All),
            _ => None,
        }
    }
}

/// Identifies an `acks=all` produce waiting for the ISR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AckId(pub u64);

/// Whether a produce can be answered now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckStatus {
    /// Answer now (or, for `acks=0`, never).
    Done,
    /// Wait for [`ReplicaOutput::AckCompleted`] with this id.
    Waiting(AckId),
}

/// What [`super::PartitionReplica::append_as_leader`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Where the batch landed.
    pub info: AppendInfo,
    /// Whether the produce can be answered now.
    pub ack: AckStatus,
}

/// An epoch and where it ends in some replica's log (OffsetsForLeaderEpoch's answer, and
/// KIP-320's diverging epoch in a fetch response).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The largest epoch `<=` the one asked that the answering log has.
    pub leader_epoch: LeaderEpoch,
    /// The offset after that epoch's last record.
    pub end_offset: Offset,
}

/// A follower's fetch (Kafka's Fetch with a replica id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerFetch {
    /// The fetching follower.
    pub replica: BrokerId,
    /// The leader epoch the follower knows (`currentLeaderEpoch`, for fencing).
    pub current_leader_epoch: LeaderEpoch,
    /// The follower's log end offset: where it wants records from.
    pub fetch_offset: Offset,
    /// The epoch of the follower's last record (`lastFetchedEpoch`, KIP-320); `None` for an
    /// empty log.
    pub last_fetched_epoch: Option<LeaderEpoch>,
    /// Bytes wanted (at least one batch is served).
    pub max_bytes: usize,
}

/// A follower asking the leader where one of its epochs ends (OffsetsForLeaderEpoch, KIP-101).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochQuery {
    /// The asking follower.
    pub replica: BrokerId,
    /// The leader epoch the follower knows (for fencing).
    pub current_leader_epoch: LeaderEpoch,
    /// The epoch asked about: the follower's latest.
    pub leader_epoch: LeaderEpoch,
}

/// What a follower wants to send its leader next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowerRequest {
    /// Before fetching after becoming a follower: where does my last epoch end?
    OffsetsForLeaderEpoch(EpochQuery),
    /// Fetch records.
    Fetch(FollowerFetch),
}

/// The leader's answer to a [`FollowerFetch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchResponse {
    /// The leader's epoch.
    pub leader_epoch: LeaderEpoch,
    /// The fetch offset this answers (a follower ignores answers to other offsets).
    pub fetch_offset: Offset,
    /// Whole batches from `fetch_offset` on (empty when diverging).
    pub records: Bytes,
    /// The leader's high watermark after this fetch.
    pub high_watermark: Offset,
    /// The leader's log start offset.
    pub log_start_offset: Offset,
    /// Set when the follower's last fetched epoch and offset are not on the leader's log:
    /// where that epoch ends there (KIP-320); the follower truncates before fetching again.
    pub diverging_epoch: Option<EpochEndOffset>,
}

/// A leader's request to the controller to change the ISR (Kafka's AlterPartition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterPartition {
    /// The requesting leader's epoch.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch the request is based on (the controller rejects a stale one).
    pub partition_epoch: PartitionEpoch,
    /// The ISR wanted, the leader first.
    pub new_isr: Vec<BrokerId>,
}

/// An effect the replica asks its driver for. Drain after every call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaOutput {
    /// Sync these files, then call `handle_synced`.
    Sync(SyncRequest),
    /// Send to the controller; answer with `handle_isr_update` or `handle_alter_partition_rejected`.
    AlterPartition(AlterPartition),
    /// An `acks=all` produce is decided.
    AckCompleted {
        /// The produce.
        id: AckId,
        /// `Ok` (the ISR has the records) or the error to answer with.
        result: Result<(), ReplicationError>,
    },
}
