//! The storage contract: a flat directory of named files that a partition log keeps its
//! segments and indexes in. Two implementations exist: `FileStorage` in the `odradek` binary
//! (std::fs, real fsync) and `SimDisk` in `odradek-sim` (in memory, seeded faults).
//!
//! # Durability semantics (what both implementations promise, and no more)
//!
//! * `append`, `truncate` and file contents are **pending** until `sync(name)` returns `Ok`.
//!   After a crash, pending data of a file may be missing entirely, partially present, or
//!   *torn*: the surviving prefix of a pending write may end at any 512-byte sector boundary
//!   of the file, and bytes past the last synced length may be garbage-free but missing.
//! * Data covered by a successful `sync(name)` survives a crash byte for byte, unless the disk
//!   itself corrupts it (bit rot, misdirected writes): readers must verify checksums.
//! * `create`, `remove` and `rename` are directory operations. Implementations make them durable
//!   before returning (`FileStorage` fsyncs the directory), so after a crash a file that was
//!   created exists (possibly empty) and a removed file is gone.
//! * A failed `sync` ("fsyncgate"): the unsynced data of that file may already be gone even
//!   though reads still return it, and every later `sync` of the file fails too. The only safe
//!   reaction is to stop trusting the file: reopen it through recovery.
//! * Errors never panic and never partially apply silently: an `append` that fails with
//!   [`StorageError::NoSpace`] may have written a prefix, so the caller truncates back.
//!
//! Names are flat (no directories) and consist of ASCII letters, digits, `.`, `-` and `_`.

mod error;
mod provider;

pub use error::StorageError;
pub use provider::StorageProvider;

/// A directory of named files with the durability semantics described in the module docs.
///
/// All operations are synchronous calls into the OS page cache (or its simulation), except
/// that a caller that must not block treats [`Storage::sync`] as an effect to be performed
/// elsewhere: the partition log asks for syncs as outputs and learns their result as input.
pub trait Storage {
    /// Creates an empty file. Fails with [`StorageError::AlreadyExists`] if it exists.
    fn create(&mut self, name: &str) -> Result<(), StorageError>;

    /// Appends `data` at the end of the file and returns the position it was written at.
    /// Appending nothing writes nothing and returns the current length.
    fn append(&mut self, name: &str, data: &[u8]) -> Result<u64, StorageError>;

    /// Reads up to `len` bytes starting at `position`. Returns fewer bytes only at end of file;
    /// a read at or past the end returns no bytes (not an error).
    fn read_at(&mut self, name: &str, position: u64, len: usize) -> Result<Vec<u8>, StorageError>;

    /// The current length of the file, pending data included.
    fn len(&mut self, name: &str) -> Result<u64, StorageError>;

    /// Cuts the file to `len` bytes. `len` past the end is an error.
    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError>;

    /// Makes the file's contents and length durable (see the module docs for failure).
    fn sync(&mut self, name: &str) -> Result<(), StorageError>;

    /// All file names, sorted ascending (bytewise). Directory entries whose names are not
    /// valid (see [`is_valid_name`]) are not listed.
    fn list(&mut self) -> Result<Vec<String>, StorageError>;

    /// Removes a file durably.
    fn remove(&mut self, name: &str) -> Result<(), StorageError>;

    /// Renames `from` to `to` durably and atomically, replacing `to` if it exists. Fails with
    /// [`StorageError::NotFound`] (naming `from`) if `from` does not exist; renaming a file onto
    /// itself does nothing.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError>;
}

/// Is `name` a valid flat file name for [`Storage`]? Implementations reject other names with
/// [`StorageError::InvalidName`] so a bug can never escape the data directory.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}
