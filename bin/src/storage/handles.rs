//! A bounded cache of open file handles with their lengths.
//!
//! Appending 16 KiB batches must cost one `pwrite`, not `open + fstat + pwrite + close`, so
//! handles stay open. The cache is bounded ([`OPEN_FILES_MAX`]) because a partition with many
//! segments would otherwise exhaust file descriptors; the least recently used handle is closed
//! first (closing loses nothing: the page cache belongs to the file, not the descriptor).
//!
//! The cached length is authoritative because [`FileStorage`](super::FileStorage) is the only
//! writer of its directory (it holds an exclusive lock on it).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fs::File;

/// Most handles kept open at once.
pub const OPEN_FILES_MAX: usize = 128;

/// An open file and its length as this process last wrote it.
#[derive(Debug)]
pub(super) struct OpenFile {
    pub(super) file: File,
    pub(super) len: u64,
    last_used: u64,
}

/// Open handles by file name.
#[derive(Debug, Default)]
pub(super) struct HandleCache {
    open: BTreeMap<String, OpenFile>,
    clock: u64,
}

impl HandleCache {
    /// The cached handle of `name`, marked as just used.
    pub(super) fn get(&mut self, name: &str) -> Option<&mut OpenFile> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.open.get_mut(name)?;
        entry.last_used = clock;
        Some(entry)
    }

    /// Caches `file` as `name`'s handle, closing the least recently used one if full.
    pub(super) fn insert(&mut self, name: &str, file: File, len: u64) -> &mut OpenFile {
        if self.open.len() >= OPEN_FILES_MAX && !self.open.contains_key(name) {
            self.evict_least_recently_used();
        }
        self.clock += 1;
        let entry = OpenFile {
            file,
            len,
            last_used: self.clock,
        };
        match self.open.entry(name.to_owned()) {
            Entry::Occupied(mut occupied) => {
                occupied.insert(entry);
                occupied.into_mut()
            }
            Entry::Vacant(vacant) => vacant.insert(entry),
        }
    }

    /// Closes `name`'s handle, if open.
    pub(super) fn remove(&mut self, name: &str) -> Option<OpenFile> {
        self.open.remove(name)
    }

    /// How many handles are open.
    pub(super) fn len(&self) -> usize {
        self.open.len()
    }

    fn evict_least_recently_used(&mut self) {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, entry)| entry.last_used)
            .map(|(name, _)| name.clone());
        if let Some(name) = oldest {
            self.open.remove(&name);
        }
    }
}
