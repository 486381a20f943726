//! `SimDisk`: an in-memory [`Storage`] whose every behaviour is a pure function of a seed and
//! the sequence of operations, with the faults a real disk has.
//!
//! # Model
//!
//! * Each file has a current content (what reads return) and a durable content (what
//!   survives a crash). `sync(name)` makes the current content durable; appends and
//!   truncates after it are pending. `create`, `remove` and `rename` are durable at once.
//! * [`SimDisk::crash`] is a power loss followed by a restart: each file keeps its durable
//!   content plus none, all, or a 512-byte-boundary-cut prefix of its pending appends, and
//!   pending truncates may or may not have happened (details in the `crash` module). The disk
//!   is usable right after; the caller drops its in-memory state and recovers from the files.
//! * Faults ([`SimDiskFaults`], all off by default): read corruption, write corruption,
//!   misdirected writes, a capacity (ENOSPC), fsync failure with fsyncgate semantics, and a
//!   latency the simulator draws per operation. Every injected fault is logged
//!   ([`SimDisk::fault_log`]) so a checker can tell injected damage from a bug.
//!
//! # Handle
//!
//! `SimDisk` is a cheap handle (`Arc<Mutex<_>>`): clones share one disk. The partition log
//! owns one clone through the `Storage` trait while the simulator keeps another to crash the
//! disk, change its faults and inspect it. It is `Send` so it can sit behind an async runtime
//! too; under the single-threaded simulator the lock is never contended.

mod crash;
mod faults;
mod file;
mod provider;
mod state;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use odradek_core::storage::{Storage, StorageError};

pub use crash::SECTOR_BYTES;
pub use faults::{
    uniform_ns, DiskLatency, DiskOperation, FaultKind, InjectedFault, LatencyDistribution,
    SimDiskFaults,
};
pub use provider::{SimDirectory, SimDiskProvider};
use state::DiskState;

/// A simulated disk: a shared handle onto one in-memory directory of files.
#[derive(Debug, Clone)]
pub struct SimDisk {
    state: Arc<Mutex<DiskState>>,
}

impl SimDisk {
    /// An empty disk with every fault off, whose crash outcomes are drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_faults(seed, SimDiskFaults::default())
    }

    /// An empty disk injecting `faults`, drawn from `seed`.
    pub fn with_faults(seed: u64, faults: SimDiskFaults) -> Self {
        SimDisk {
            state: Arc::new(Mutex::new(DiskState::new(seed, faults))),
        }
    }

    /// The state, even if a panicking test poisoned the lock (the state stays consistent:
    /// no operation panics halfway).
    fn lock(&self) -> MutexGuard<'_, DiskState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The seed this disk was made with.
    pub fn seed(&self) -> u64 {
        self.lock().seed
    }

    /// The fault knobs in force.
    pub fn faults(&self) -> SimDiskFaults {
        self.lock().faults.clone()
    }

    /// Replaces the fault knobs from now on (e.g. healing everything for a liveness phase).
    /// A sync failure already injected stays sticky until the next crash.
    pub fn set_faults(&self, faults: SimDiskFaults) {
        self.lock().faults = faults;
    }

    /// Power loss and restart: drops pending changes as described in the module docs.
    pub fn crash(&self) {
        self.lock().crash();
    }

    /// A process crash (the machine stays up): unsynced writes survive in the page cache,
    /// except those of files whose sync failed (fsyncgate), which are lost.
    pub fn process_crash(&self) {
        self.lock().process_crash();
    }

    /// Draws the latency of one `operation` in nanoseconds from the configured distribution.
    /// Uses its own random stream: drawing latencies never changes which faults are injected.
    pub fn draw_latency_ns(&self, operation: DiskOperation) -> u64 {
        self.lock().draw_latency_ns(operation)
    }

    /// Every fault injected so far, oldest first.
    pub fn fault_log(&self) -> Vec<InjectedFault> {
        self.lock().fault_log.clone()
    }

    /// Was corruption (read, write or misdirected) injected into any byte of `range` of the
    /// file now called `name`? Follows the file across renames. Conservative: a fault in a
    /// range that was later truncated away and rewritten still counts.
    pub fn is_corruption_injected(&self, name: &str, range: Range<u64>) -> bool {
        self.lock().is_corruption_injected(name, &range)
    }

    /// The current content of every file (what reads return, pending changes included).
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let state = self.lock();
        state
            .files
            .iter()
            .map(|(name, file)| (name.clone(), file.data.clone()))
            .collect()
    }

    /// The content every file would have after a crash that drops all pending changes.
    pub fn durable_files(&self) -> BTreeMap<String, Vec<u8>> {
        let state = self.lock();
        state
            .files
            .iter()
            .map(|(name, file)| (name.clone(), file.durable_content()))
            .collect()
    }

    /// Does `name` have changes that a crash could drop?
    pub fn has_pending(&self, name: &str) -> bool {
        self.lock()
            .files
            .get(name)
            .is_some_and(|file| file.has_pending())
    }

    /// Did a sync of `name` fail since the last crash (so its later syncs fail too)?
    pub fn has_failed_sync(&self, name: &str) -> bool {
        self.lock()
            .files
            .get(name)
            .is_some_and(|file| file.sync_failed)
    }

    /// Total bytes held by all files (current lengths), as counted against the capacity.
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes
    }
}

impl Storage for SimDisk {
    fn create(&mut self, name: &str) -> Result<(), StorageError> {
        self.lock().create(name)
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<u64, StorageError> {
        self.lock().append(name, data)
    }

    fn read_at(&mut self, name: &str, position: u64, len: usize) -> Result<Vec<u8>, StorageError> {
        self.lock().read_at(name, position, len)
    }

    fn len(&mut self, name: &str) -> Result<u64, StorageError> {
        self.lock().len(name)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        self.lock().truncate(name, len)
    }

    fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        self.lock().sync(name)
    }

    fn list(&mut self) -> Result<Vec<String>, StorageError> {
        Ok(self.lock().list())
    }

    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.lock().remove(name)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        self.lock().rename(from, to)
    }
}
