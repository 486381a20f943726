//! A [`StorageProvider`] hands out one [`Storage`] directory per partition log.
//!
//! A node keeps each partition's log in its own directory named like Kafka's
//! `{topic}-{partition}` (and its metadata log in `__cluster_metadata-0`). The provider is the
//! root of those directories: it opens (creating if missing) a named directory as a
//! `Storage`, lists the directories that exist, and removes one with everything in it.
//!
//! # Contract
//! - Names are valid [`is_valid_name`](super::is_valid_name) names; others are refused with
//!   [`StorageError::InvalidName`].
//! - `open_directory` creates the directory durably if it is missing; opening an existing one
//!   sees exactly the files in it (after a crash: with the storage contract's guarantees).
//!   A directory may be open at most once at a time.
//! - `list_directories` returns every directory, sorted ascending, including empty ones that
//!   were created durably.
//! - `remove_directory` removes the directory and all its files durably: after it returns, a
//!   crash does not bring any of them back. Removing a missing directory is
//!   [`StorageError::NotFound`]. The caller must have dropped its `Storage` of it first.
//!
//! Why a trait: the node is a pure machine; the simulator backs every directory with one
//! `SimDisk` (so one crash hits every partition), the binary with real subdirectories.

use super::{Storage, StorageError};

/// A root of named [`Storage`] directories. See the module docs.
pub trait StorageProvider {
    /// The storage of one directory.
    type Storage: Storage;

    /// Opens the directory `name`, creating it durably if it does not exist.
    fn open_directory(&mut self, name: &str) -> Result<Self::Storage, StorageError>;

    /// Every directory name, sorted ascending.
    fn list_directories(&mut self) -> Result<Vec<String>, StorageError>;

    /// Removes the directory `name` and every file in it, durably.
    fn remove_directory(&mut self, name: &str) -> Result<(), StorageError>;
}
