//! Mapping `std::io::Error` onto the storage contract's [`StorageError`], in one place.
//!
//! The contract's error kinds are the ones a caller reacts to differently: a missing file, a
//! name clash, a full disk (truncate back and back off), a failed fsync (stop trusting the
//! file). Every other OS error keeps its description in `Io` for the operator.

use std::io::{Error, ErrorKind};

use odradek_core::storage::StorageError;

/// Maps an error of a data operation (open, write, read, truncate, rename) on `name`.
pub(super) fn from_io(name: &str, error: &Error) -> StorageError {
    let name = name.to_owned();
    match error.kind() {
        ErrorKind::NotFound => StorageError::NotFound { name },
        ErrorKind::AlreadyExists => StorageError::AlreadyExists { name },
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => StorageError::NoSpace { name },
        _ => StorageError::Io {
            name,
            detail: error.to_string(),
        },
    }
}

/// Maps an error of an fsync of `name` (the file, or the directory after changing `name`).
pub(super) fn sync_failed(name: &str, detail: String) -> StorageError {
    StorageError::SyncFailed {
        name: name.to_owned(),
        detail,
    }
}
