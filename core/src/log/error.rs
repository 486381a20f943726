//! Errors of the partition log. Each carries what a client or operator needs to act.

use crate::record::{BatchError, Offset};
use crate::storage::StorageError;

/// A partition log operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The batch offered to `append` is malformed; nothing was written.
    #[error("invalid record batch: {0}")]
    InvalidBatch(#[from] BatchError),
    /// The requested offset is outside `[log_start_offset, log_end_offset]`.
    #[error("offset {requested} out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        requested: Offset,
        /// The first offset still in the log.
        log_start_offset: Offset,
        /// The offset the next record will get.
        log_end_offset: Offset,
    },
    /// Stored bytes failed validation: never served, reported instead.
    #[error("corrupt data in segment {segment} at position {position}: {detail}")]
    Corruption {
        /// The segment file.
        segment: String,
        /// Byte position within it.
        position: u64,
        /// What was wrong.
        detail: String,
    },
    /// The storage failed; the operation had no effect on the log's offsets.
    #[error("storage error: {0}")]
    Storage(#[from] StorageError),
    /// An fsync failed earlier: the log can no longer promise durability and refuses writes
    /// until it is reopened through recovery (fsyncgate semantics).
    #[error("log is fenced after a failed fsync of {file}; reopen it to recover")]
    Fenced {
        /// The file whose sync failed.
        file: String,
    },
    /// `truncate_to` below the durable part's start or above the end.
    #[error("cannot truncate to {requested}: log covers [{log_start_offset}, {log_end_offset}]")]
    TruncateOutOfRange {
        /// The offset asked for.
        requested: Offset,
        /// The first offset still in the log.
        log_start_offset: Offset,
        /// The offset the next record will get.
        log_end_offset: Offset,
    },
}
