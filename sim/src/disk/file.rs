//! One simulated file: what reads see now, and what would survive a crash.
//!
//! Pending changes to a file are appends and truncates only (the contract has no overwrite),
//! so the durable content is always `data[..stable_len] ++ durable_tail`:
//! * `stable_len` is the longest prefix that was synced and not truncated since;
//! * `durable_tail` holds the synced bytes past `stable_len` that a pending truncate cut away
//!   (the disk still has them until the truncate is synced).
//!
//! This costs O(pending bytes) per sync or crash, never O(file), so a simulated segment can be
//! synced after every batch without copying it. Faults that overwrite bytes below
//! `stable_len` (misdirected writes) therefore damage the durable content at once, which is
//! the point of them: synced data must be checksummed.

/// A file's content and durability state.
#[derive(Debug, Clone)]
pub(super) struct SimFile {
    /// Identity that survives renames and is never reused: see `InjectedFault::file_id`.
    pub(super) id: u64,
    /// What reads return, pending changes included.
    pub(super) data: Vec<u8>,
    /// Length of the prefix of `data` that is durable.
    pub(super) stable_len: usize,
    /// Durable bytes past `stable_len` that a pending truncate removed from `data`.
    pub(super) durable_tail: Vec<u8>,
    /// A sync failed since the last crash: pending data is doomed, later syncs fail.
    pub(super) sync_failed: bool,
}

impl SimFile {
    /// An empty file; empty is durable (creation is a durable directory operation).
    pub(super) fn new(id: u64) -> Self {
        SimFile {
            id,
            data: Vec::new(),
            stable_len: 0,
            durable_tail: Vec::new(),
            sync_failed: false,
        }
    }

    /// The current length, pending data included.
    pub(super) fn len(&self) -> u64 {
        self.data.len() as u64
    }

    /// Does the file have changes a crash could drop?
    pub(super) fn has_pending(&self) -> bool {
        self.data.len() != self.stable_len || !self.durable_tail.is_empty()
    }

    /// The content that survives a crash that drops every pending change.
    pub(super) fn durable_content(&self) -> Vec<u8> {
        let mut content = self.data[..self.stable_len].to_vec();
        content.extend_from_slice(&self.durable_tail);
        content
    }

    /// Cuts the current content to `len` bytes (`len <= self.data.len()`), remembering any
    /// durable bytes the cut removes so a crash can bring them back.
    pub(super) fn truncate(&mut self, len: usize) {
        debug_assert!(len <= self.data.len());
        if len < self.stable_len {
            let mut tail = self.data[len..self.stable_len].to_vec();
            tail.append(&mut self.durable_tail);
            self.durable_tail = tail;
            self.stable_len = len;
        }
        self.data.truncate(len);
    }

    /// Makes the current content durable.
    pub(super) fn mark_synced(&mut self) {
        self.stable_len = self.data.len();
        self.durable_tail.clear();
    }

    /// Crash outcome "no pending change reached the disk": back to the durable content.
    pub(super) fn revert_to_durable(&mut self) {
        self.data.truncate(self.stable_len);
        let tail = std::mem::take(&mut self.durable_tail);
        self.data.extend_from_slice(&tail);
        self.stable_len = self.data.len();
        self.sync_failed = false;
    }

    /// Crash outcome "pending truncates happened and the pending appends survived up to
    /// `len`" (`stable_len <= len <= data.len()`).
    pub(super) fn keep_pending_prefix(&mut self, len: usize) {
        debug_assert!(self.stable_len <= len && len <= self.data.len());
        self.data.truncate(len);
        self.stable_len = len;
        self.durable_tail.clear();
        self.sync_failed = false;
    }
}
