//! Errors of a partition replica. Each maps onto one Kafka error code (the node does the
//! mapping) and carries what the client or the peer replica needs to act.

use crate::controller::{BrokerId, LeaderEpoch};
use crate::log::LogError;
use crate::record::{BatchError, Offset};
use crate::storage::StorageError;

/// A replica operation was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicationError {
    /// This replica is not the leader (or not a follower) for the request
    /// (`NOT_LEADER_OR_FOLLOWER`).
    #[error("not the leader (known leader: {leader:?})")]
    NotLeaderOrFollower {
        /// The leader this replica knows of, if any.
        leader: Option<BrokerId>,
    },
    /// The request carries an older leader epoch than this replica's (`FENCED_LEADER_EPOCH`).
    #[error("leader epoch {received} is older than the current epoch {current}")]
    FencedLeaderEpoch {
        /// This replica's epoch.
        current: LeaderEpoch,
        /// The epoch in the request.
        received: LeaderEpoch,
    },
    /// The request carries a newer leader epoch than this replica knows
    /// (`UNKNOWN_LEADER_EPOCH`): the sender learned of a leader change first.
    #[error("leader epoch {received} is newer than the current epoch {current}")]
    UnknownLeaderEpoch {
        /// This replica's epoch.
        current: LeaderEpoch,
        /// The epoch in the request.
        received: LeaderEpoch,
    },
    /// `acks=all` with fewer in-sync replicas than `min.insync.replicas`; nothing was
    /// appended (`NOT_ENOUGH_REPLICAS`).
    #[error("only {isr} in-sync replicas, min.insync.replicas is {min_insync_replicas}")]
    NotEnoughReplicas {
        /// Size of the ISR.
        isr: usize,
        /// The configured minimum.
        min_insync_replicas: usize,
    },
    /// The records were appended but the ISR shrank below `min.insync.replicas` before they
    /// were replicated to it (`NOT_ENOUGH_REPLICAS_AFTER_APPEND`).
    #[error("ISR shrank to {isr} after the append, min.insync.replicas is {min_insync_replicas}")]
    NotEnoughReplicasAfterAppend {
        /// Size of the ISR.
        isr: usize,
        /// The configured minimum.
        min_insync_replicas: usize,
    },
    /// A fetch or ISR names a broker that is not a replica of this partition.
    #[error("broker {replica} is not a replica of this partition")]
    UnknownReplica {
        /// The broker.
        replica: BrokerId,
    },
    /// The ISR or leader given is inconsistent (the leader not in its ISR, an ISR member
    /// outside the replicas, the replica told to follow itself).
    #[error("invalid partition state: {detail}")]
    InvalidPartitionState {
        /// What is wrong.
        detail: String,
    },
    /// A follower fetched outside `[log_start_offset, log_end_offset]`
    /// (`OFFSET_OUT_OF_RANGE`).
    #[error("fetch offset {requested} out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        requested: Offset,
        /// The leader's log start offset.
        log_start_offset: Offset,
        /// The leader's log end offset.
        log_end_offset: Offset,
    },
    /// A batch from the leader carries an epoch older than the newest in this log.
    #[error("batch has leader epoch {batch_epoch}, older than the latest {latest_epoch}")]
    EpochRegression {
        /// The batch's `partitionLeaderEpoch`.
        batch_epoch: LeaderEpoch,
        /// The newest epoch in this replica's log.
        latest_epoch: LeaderEpoch,
    },
    /// A batch from the leader does not start at this replica's log end offset.
    #[error("batch from the leader starts at {base_offset}, log end offset is {log_end_offset}")]
    NonContiguousBatch {
        /// The batch's base offset.
        base_offset: Offset,
        /// This replica's log end offset.
        log_end_offset: Offset,
    },
    /// Too many `acks=all` produces are waiting.
    #[error("{limit} acks=all produces already waiting")]
    Backpressure {
        /// [`super::PENDING_ACKS_MAX`].
        limit: usize,
    },
    /// The leader-epoch checkpoint file cannot be parsed.
    #[error("corrupt leader-epoch checkpoint: {detail}")]
    CorruptCheckpoint {
        /// What was wrong.
        detail: String,
    },
    /// The partition log failed.
    #[error("log: {0}")]
    Log(#[from] LogError),
}

impl From<StorageError> for ReplicationError {
    fn from(error: StorageError) -> Self {
        ReplicationError::Log(LogError::Storage(error))
    }
}

impl From<BatchError> for ReplicationError {
    fn from(error: BatchError) -> Self {
        ReplicationError::Log(LogError::InvalidBatch(error))
    }
}
