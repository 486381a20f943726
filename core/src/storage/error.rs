//! Errors of the storage contract. Each carries the file name so an operator can find it.

/// A storage operation failed. None of these is a programmer error: all can happen on a
/// healthy system (a full disk, a failing device) and callers must handle them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The file does not exist.
    #[error("file {name} not found")]
    NotFound {
        /// The file name.
        name: String,
    },
    /// `create` of a file that already exists.
    #[error("file {name} already exists")]
    AlreadyExists {
        /// The file name.
        name: String,
    },
    /// A name with characters outside `[A-Za-z0-9._-]`, or empty, `.` or `..`.
    #[error("invalid file name {name:?}")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// The device is full (ENOSPC). A failed append may have written a prefix.
    #[error("no space left on device while writing {name}")]
    NoSpace {
        /// The file being written.
        name: String,
    },
    /// fsync failed. Unsynced data of the file may be lost; later syncs keep failing.
    #[error("fsync of {name} failed: {detail}")]
    SyncFailed {
        /// The file being synced.
        name: String,
        /// What the OS said.
        detail: String,
    },
    /// `truncate` to a length past the end of the file.
    #[error("cannot truncate {name} to {len} bytes: file is only {file_len} bytes")]
    TruncatePastEnd {
        /// The file name.
        name: String,
        /// The requested length.
        len: u64,
        /// The file's actual length.
        file_len: u64,
    },
    /// Any other I/O error, with the OS's description.
    #[error("I/O error on {name}: {detail}")]
    Io {
        /// The file name (or the directory for `list`).
        name: String,
        /// What the OS said.
        detail: String,
    },
}
