//! [`RaftStorage`]: the directory a metadata quorum node keeps its raft files in, as one
//! Odradek [`Storage`] shared by the log store and the state machine; and the atomic
//! replacement of the small one-frame files (vote, committed id, snapshot).
//!
//! # Contract
//! - Any [`Storage`] can sit underneath: [`FileStorage`] on a real directory in production,
//!   a `SimDisk` directory in simulation. Both obey the storage contract (pending until
//!   `sync`; `create`, `remove` and `rename` durable and atomic on return).
//! - The log store and the state machine share one handle, because a directory is open at
//!   most once ([`FileStorage`] locks it). The handle's lock is always taken last (innermost),
//!   and never held across an `.await`.
//! - [`write_frame_file`] replaces a one-frame file atomically: it writes `{name}.tmp` from
//!   scratch, syncs it, and renames it over `name`. A crash leaves the old or the new file,
//!   whole; nothing is reported written before the rename returned. Opening a
//!   [`RaftStorage`] removes `*.tmp` leftovers of an interrupted replacement (they were never
//!   the truth).
//! - [`read_frame_file`] accepts exactly one intact frame: since the file is replaced
//!   atomically, any damage is corruption ([`LogFileError::Corrupt`]), never a torn write.

use super::log_file::{decode_single_frame, encode_frame, LogFileError};
use crate::storage::FileStorage;
use odradek_core::storage::{Storage, StorageError, StorageProvider};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// The suffix of a file being written before it is renamed into place.
const TEMP_SUFFIX: &str = ".tmp";

/// A directory name for a node's raft files in a [`StorageProvider`] (it cannot clash with
/// a partition log's `{topic}-{partition}`). Not in the provider a broker node manages its
/// partition logs in: the node removes every directory there it does not own.
pub const RAFT_DIRECTORY: &str = "__raft_metadata";

/// A shared handle on the raft directory. Clones share the same [`Storage`].
#[derive(Clone)]
pub struct RaftStorage {
    storage: Arc<Mutex<Box<dyn Storage + Send>>>,
}

impl std::fmt::Debug for RaftStorage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("RaftStorage")
    }
}

impl RaftStorage {
    /// Wraps `storage` (the whole directory belongs to the raft files), removing leftovers
    /// of an interrupted atomic replacement.
    pub fn new(storage: impl Storage + Send + 'static) -> Result<RaftStorage, LogFileError> {
        let raft_storage = RaftStorage {
            storage: Arc::new(Mutex::new(Box::new(storage))),
        };
        {
            let mut disk = raft_storage.lock();
            for name in disk.list()? {
                if name.ends_with(TEMP_SUFFIX) {
                    disk.remove(&name)?;
                }
            }
        }
        Ok(raft_storage)
    }

    /// The raft files in the real directory `dir` (created if absent, locked while open).
    pub fn open_dir(dir: &Path) -> Result<RaftStorage, LogFileError> {
        RaftStorage::new(FileStorage::open(dir)?)
    }

    /// The raft files in directory `name` of `provider` (created if absent); see
    /// [`RAFT_DIRECTORY`] for a name, and where not to put it.
    pub fn from_provider<P>(provider: &mut P, name: &str) -> Result<RaftStorage, LogFileError>
    where
        P: StorageProvider,
        P::Storage: Send + 'static,
    {
        RaftStorage::new(provider.open_directory(name)?)
    }

    /// How many handles share the storage (this one included): a node waits for openraft
    /// to drop its own before reporting shutdown done.
    pub(crate) fn holders(&self) -> usize {
        Arc::strong_count(&self.storage)
    }

    /// The storage, locked. Callers keep the guard for one short, synchronous operation.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Box<dyn Storage + Send>> {
        // A poisoned lock means a panic elsewhere; every storage operation is whole or
        // reports an error, so the storage itself is still consistent.
        self.storage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The whole content of `name`, or `None` if there is no such file.
pub(crate) fn read_whole(
    disk: &mut dyn Storage,
    name: &str,
) -> Result<Option<Vec<u8>>, LogFileError> {
    let len = match disk.len(name) {
        Ok(len) => len,
        Err(StorageError::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let len = usize::try_from(len).map_err(|_| LogFileError::Corrupt {
        file: name.to_string(),
        offset: 0,
        reason: format!("{len} bytes do not fit in memory"),
    })?;
    Ok(Some(disk.read_at(name, 0, len)?))
}

/// Replaces `name` with `bytes` atomically: see the module docs.
pub(crate) fn replace_file(
    disk: &mut dyn Storage,
    name: &str,
    bytes: &[u8],
) -> Result<(), LogFileError> {
    let temp = format!("{name}{TEMP_SUFFIX}");
    // Removed rather than truncated: a failed sync of an earlier attempt is sticky per file.
    match disk.remove(&temp) {
        Ok(()) | Err(StorageError::NotFound { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    disk.create(&temp)?;
    disk.append(&temp, bytes)?;
    disk.sync(&temp)?;
    disk.rename(&temp, name)?;
    Ok(())
}

/// Writes `value` as a one-frame file `name`, atomically (see the module docs).
pub(crate) fn write_frame_file<T: Serialize>(
    disk: &mut dyn Storage,
    name: &str,
    value: &T,
) -> Result<(), LogFileError> {
    let mut frame = Vec::new();
    encode_frame(name, value, &mut frame)?;
    replace_file(disk, name, &frame)
}

/// Reads a one-frame file written by [`write_frame_file`]; `None` if there is no file.
pub(crate) fn read_frame_file<T: DeserializeOwned>(
    disk: &mut dyn Storage,
    name: &str,
) -> Result<Option<T>, LogFileError> {
    match read_whole(disk, name)? {
        Some(bytes) => decode_single_frame(name, &bytes).map(Some),
        None => Ok(None),
    }
}
