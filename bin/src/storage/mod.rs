//! `FileStorage`: the storage contract ([`odradek_core::storage`]) on a real directory.
//!
//! * `sync(name)` is `fdatasync` of the file (contents and length; the file's other metadata
//!   is not needed to read it back).
//! * `create`, `remove` and `rename` fsync the directory before returning, so they are
//!   durable as the contract promises.
//! * A failed `sync` is sticky ("fsyncgate"): Linux may have dropped the dirty pages and
//!   reports the error once, so this type remembers it and fails every later `sync` of that
//!   file (following renames) for the life of the `FileStorage`. Reopening the directory
//!   (recovery) starts afresh from what is really on disk.
//! * Open handles and lengths are cached (see `handles`): an append is one `pwrite`.
//! * The directory is locked (`flock`, exclusive) while a `FileStorage` is open on it, because
//!   the cached lengths assume a single writer; a second `open` fails with `Io`.
//! * Names are checked with [`is_valid_name`] so nothing escapes the directory; entries with
//!   other names (and subdirectories) are ignored by `list`.

mod error;
mod handles;
mod provider;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use odradek_core::storage::{is_valid_name, Storage, StorageError};

pub use handles::OPEN_FILES_MAX;
use handles::{HandleCache, OpenFile};
pub use provider::FileStorageProvider;

/// A directory of files implementing [`Storage`] with real fsyncs.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    /// Open (and locked) for the lifetime of `self`; fsynced after directory operations.
    dir_handle: File,
    handles: HandleCache,
    /// Files whose sync failed: every later sync of them fails too.
    failed_syncs: BTreeSet<String>,
}

fn check_name(name: &str) -> Result<(), StorageError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(StorageError::InvalidName {
            name: name.to_owned(),
        })
    }
}

impl FileStorage {
    /// Opens the storage in `dir`, creating the directory (and its parents) if missing, and
    /// locks it against a second `FileStorage`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        let dir_name = dir.display().to_string();
        fs::create_dir_all(&dir).map_err(|e| error::from_io(&dir_name, &e))?;
        let dir_handle = File::open(&dir).map_err(|e| error::from_io(&dir_name, &e))?;
        match dir_handle.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StorageError::Io {
                    name: dir_name,
                    detail: "directory is in use by another FileStorage".to_owned(),
                })
            }
            Err(TryLockError::Error(e)) => return Err(error::from_io(&dir_name, &e)),
        }
        Ok(FileStorage {
            dir,
            dir_handle,
            handles: HandleCache::default(),
            failed_syncs: BTreeSet::new(),
        })
    }

    /// The directory this storage keeps its files in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many file handles are open now (at most [`OPEN_FILES_MAX`]).
    pub fn open_handles(&self) -> usize {
        self.handles.len()
    }

    /// The cached handle of `name`, opening the existing file if needed.
    fn handle(&mut self, name: &str) -> Result<&mut OpenFile, StorageError> {
        check_name(name)?;
        // Two lookups because returning the borrow from the first one is not expressible yet.
        if self.handles.get(name).is_some() {
            return self.handles.get(name).ok_or_else(|| not_found(name));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.dir.join(name))
            .map_err(|e| error::from_io(name, &e))?;
        let len = file.metadata().map_err(|e| error::from_io(name, &e))?.len();
        Ok(self.handles.insert(name, file, len))
    }

    /// Makes a directory operation on `name` durable.
    fn sync_dir(&self, name: &str) -> Result<(), StorageError> {
        self.dir_handle
            .sync_all()
            .map_err(|e| error::sync_failed(name, format!("fsync of the directory: {e}")))
    }
}

fn not_found(name: &str) -> StorageError {
    StorageError::NotFound {
        name: name.to_owned(),
    }
}

/// Writes all of `data` at `position`; on error also returns how many bytes were written.
fn write_all_at(file: &File, data: &[u8], position: u64) -> Result<(), (u64, std::io::Error)> {
    let mut written = 0usize;
    while written < data.len() {
        match file.write_at(&data[written..], position + written as u64) {
            Ok(0) => {
                let error = std::io::Error::from(std::io::ErrorKind::WriteZero);
                return Err((written as u64, error));
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err((written as u64, e)),
        }
    }
    Ok(())
}

/// Reads into all of `buffer` from `position`, stopping early only at end of file; returns
/// how many bytes were read.
fn read_up_to(file: &File, buffer: &mut [u8], position: u64) -> std::io::Result<usize> {
    let mut read = 0usize;
    while read < buffer.len() {
        match file.read_at(&mut buffer[read..], position + read as u64) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}

impl Storage for FileStorage {
    fn create(&mut self, name: &str) -> Result<(), StorageError> {
        check_name(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(self.dir.join(name))
            .map_err(|e| error::from_io(name, &e))?;
        self.handles.insert(name, file, 0);
        self.failed_syncs.remove(name);
        self.sync_dir(name)
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<u64, StorageError> {
        let handle = self.handle(name)?;
        let position = handle.len;
        match write_all_at(&handle.file, data, position) {
            Ok(()) => {
                handle.len += data.len() as u64;
                Ok(position)
            }
            Err((written, e)) => {
                handle.len += written;
                Err(error::from_io(name, &e))
            }
        }
    }

    fn read_at(&mut self, name: &str, position: u64, len: usize) -> Result<Vec<u8>, StorageError> {
        let handle = self.handle(name)?;
        let available = handle.len.saturating_sub(position);
        let len = usize::try_from(available).map_or(len, |available| available.min(len));
        let mut buffer = vec![0; len];
        let read = read_up_to(&handle.file, &mut buffer, position)
            .map_err(|e| error::from_io(name, &e))?;
        buffer.truncate(read);
        Ok(buffer)
    }

    fn len(&mut self, name: &str) -> Result<u64, StorageError> {
        Ok(self.handle(name)?.len)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        let handle = self.handle(name)?;
        if len > handle.len {
            return Err(StorageError::TruncatePastEnd {
                name: name.to_owned(),
                len,
                file_len: handle.len,
            });
        }
        handle
            .file
            .set_len(len)
            .map_err(|e| error::from_io(name, &e))?;
        handle.len = len;
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        check_name(name)?;
        if self.failed_syncs.contains(name) {
            let detail = "an earlier fsync of this file failed (sticky)".to_owned();
            return Err(error::sync_failed(name, detail));
        }
        let result = self.handle(name)?.file.sync_data();
        result.map_err(|e| {
            self.failed_syncs.insert(name.to_owned());
            error::sync_failed(name, e.to_string())
        })
    }

    fn list(&mut self) -> Result<Vec<String>, StorageError> {
        list_valid_names(&self.dir, |kind| kind.is_file())
    }

    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        check_name(name)?;
        fs::remove_file(self.dir.join(name)).map_err(|e| error::from_io(name, &e))?;
        self.handles.remove(name);
        self.failed_syncs.remove(name);
        self.sync_dir(name)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        check_name(from)?;
        check_name(to)?;
        fs::rename(self.dir.join(from), self.dir.join(to)).map_err(|e| error::from_io(from, &e))?;
        if from != to {
            self.handles.remove(to);
            if let Some(moved) = self.handles.remove(from) {
                self.handles.insert(to, moved.file, moved.len);
            }
            self.failed_syncs.remove(to);
            if self.failed_syncs.remove(from) {
                self.failed_syncs.insert(to.to_owned());
            }
        }
        self.sync_dir(to)
    }
}

/// The entries of `dir` whose type passes `wanted` and whose names are valid storage names,
/// sorted; others (foreign files, subdirectories, non-UTF-8 names) are left out.
pub(crate) fn list_valid_names(
    dir: &std::path::Path,
    wanted: impl Fn(&fs::FileType) -> bool,
) -> Result<Vec<String>, StorageError> {
    let dir_name = dir.display().to_string();
    let entries = fs::read_dir(dir).map_err(|e| error::from_io(&dir_name, &e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| error::from_io(&dir_name, &e))?;
        let is_wanted = entry.file_type().is_ok_and(|kind| wanted(&kind));
        if let (true, Ok(name)) = (is_wanted, entry.file_name().into_string()) {
            if is_valid_name(&name) {
                names.push(name);
            }
        }
    }
    names.sort_unstable();
    Ok(names)
}
