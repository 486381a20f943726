//! The state behind a [`SimDisk`](super::SimDisk) handle and the storage operations on it.
//!
//! Randomness comes from three ChaCha8 streams of the one seed, so that turning one knob on
//! does not shift the choices of another: faults on operations, crash outcomes, latencies.
//! A knob that is off consumes no randomness at all.

use std::collections::BTreeMap;
use std::ops::Range;

use odradek_core::storage::{is_valid_name, StorageError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::crash::{crash_file, SECTOR_BYTES};
use super::faults::{clamp_probability, DiskOperation, FaultKind, InjectedFault, SimDiskFaults};
use super::file::SimFile;

const FAULT_STREAM: u64 = 0;
const CRASH_STREAM: u64 = 1;
const LATENCY_STREAM: u64 = 2;

/// Everything a simulated disk knows.
#[derive(Debug)]
pub(super) struct DiskState {
    pub(super) seed: u64,
    pub(super) faults: SimDiskFaults,
    pub(super) files: BTreeMap<String, SimFile>,
    pub(super) fault_log: Vec<InjectedFault>,
    pub(super) used_bytes: u64,
    next_file_id: u64,
    fault_rng: ChaCha8Rng,
    crash_rng: ChaCha8Rng,
    latency_rng: ChaCha8Rng,
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

fn not_found(name: &str) -> StorageError {
    StorageError::NotFound {
        name: name.to_owned(),
    }
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

/// The error for a name not in the map: invalid, or valid and absent.
fn missing(name: &str) -> StorageError {
    match check_name(name) {
        Ok(()) => not_found(name),
        Err(invalid) => invalid,
    }
}

/// `bytes` as an in-memory length; a length no memory can hold saturates.
fn to_usize(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

impl DiskState {
    pub(super) fn new(seed: u64, faults: SimDiskFaults) -> Self {
        DiskState {
            seed,
            faults,
            files: BTreeMap::new(),
            fault_log: Vec::new(),
            used_bytes: 0,
            next_file_id: 1,
            fault_rng: stream(seed, FAULT_STREAM),
            crash_rng: stream(seed, CRASH_STREAM),
            latency_rng: stream(seed, LATENCY_STREAM),
        }
    }

    /// The file named `name`. Only valid names ever enter `files` (`create` and `rename`
    /// check them), so the name is checked only when the lookup misses: the error is the
    /// same as checking first, without scanning the name on every read and append.
    fn file(&self, name: &str) -> Result<&SimFile, StorageError> {
        match self.files.get(name) {
            Some(file) => Ok(file),
            None => Err(missing(name)),
        }
    }

    fn file_mut(&mut self, name: &str) -> Result<&mut SimFile, StorageError> {
        match self.files.get_mut(name) {
            Some(file) => Ok(file),
            None => Err(missing(name)),
        }
    }

    /// Draws `true` with the knob's probability; consumes no randomness when the knob is off.
    fn fault_fires(&mut self, probability: f64) -> bool {
        let probability = clamp_probability(probability);
        probability > 0.0 && self.fault_rng.random_bool(probability)
    }

    fn log_fault(&mut self, name: &str, file_id: u64, kind: FaultKind) {
        self.fault_log.push(InjectedFault {
            file: name.to_owned(),
            file_id,
            kind,
        });
    }

    pub(super) fn create(&mut self, name: &str) -> Result<(), StorageError> {
        check_name(name)?;
        if self.files.contains_key(name) {
            return Err(StorageError::AlreadyExists {
                name: name.to_owned(),
            });
        }
        let id = self.next_file_id;
        self.next_file_id += 1;
        self.files.insert(name.to_owned(), SimFile::new(id));
        Ok(())
    }

    pub(super) fn append(&mut self, name: &str, data: &[u8]) -> Result<u64, StorageError> {
        let file = self.file(name)?;
        let (position, file_id) = (file.len(), file.id);
        if let Some(capacity) = self.faults.capacity_bytes {
            let available = capacity.saturating_sub(self.used_bytes);
            if data.len() as u64 > available {
                return Err(self.append_no_space(name, file_id, position, data, available));
            }
        }
        let landed = self.draw_misdirection(name, data.len());
        let corrupt_at =
            if !data.is_empty() && self.fault_fires(self.faults.write_corruption_probability) {
                Some((
                    self.fault_rng.random_range(0..data.len()),
                    self.fault_rng.random_range(0..8u8),
                ))
            } else {
                None
            };
        let file = self.file_mut(name)?;
        let start = file.data.len();
        match landed {
            None => file.data.extend_from_slice(data),
            Some(landed) => {
                file.data.resize(start + data.len(), 0);
                file.data[landed..landed + data.len()].copy_from_slice(data);
            }
        }
        let stored_at = landed.unwrap_or(start);
        if let Some((index, bit)) = corrupt_at {
            file.data[stored_at + index] ^= 1 << bit;
        }
        self.used_bytes += data.len() as u64;
        if let Some(landed) = landed {
            let kind = FaultKind::MisdirectedWrite {
                intended: position,
                landed: landed as u64,
                len: data.len() as u64,
            };
            self.log_fault(name, file_id, kind);
        }
        if let Some((index, bit)) = corrupt_at {
            let position = (stored_at + index) as u64;
            self.log_fault(name, file_id, FaultKind::WriteCorruption { position, bit });
        }
        Ok(position)
    }

    /// Writes a seeded prefix of what fits, logs the fault and returns the error.
    fn append_no_space(
        &mut self,
        name: &str,
        file_id: u64,
        position: u64,
        data: &[u8],
        available: u64,
    ) -> StorageError {
        let written = self.fault_rng.random_range(0..=available);
        if let Some(file) = self.files.get_mut(name) {
            file.data.extend_from_slice(&data[..to_usize(written)]);
        }
        self.used_bytes += written;
        let kind = FaultKind::NoSpace {
            position,
            requested: data.len() as u64,
            written,
        };
        self.log_fault(name, file_id, kind);
        StorageError::NoSpace {
            name: name.to_owned(),
        }
    }

    /// Decides whether an append of `len` bytes to `name` is misdirected, and where to.
    /// Candidates: every sector-aligned position `q != end` with `q + len <= end + len`.
    fn draw_misdirection(&mut self, name: &str, len: usize) -> Option<usize> {
        if len == 0 || !self.fault_fires(self.faults.misdirected_write_probability) {
            return None;
        }
        let end = self.files.get(name).map_or(0, |file| file.data.len());
        let aligned_positions = end / SECTOR_BYTES + 1; // 0, 512, ..., the last one <= end
        let intended_is_aligned = end.is_multiple_of(SECTOR_BYTES);
        let candidates = aligned_positions - usize::from(intended_is_aligned);
        if candidates == 0 {
            return None;
        }
        // The intended position, if aligned, is the last aligned one: skipping it is free.
        let landed = self.fault_rng.random_range(0..candidates) * SECTOR_BYTES;
        Some(landed)
    }

    pub(super) fn read_at(
        &mut self,
        name: &str,
        position: u64,
        len: usize,
    ) -> Result<Vec<u8>, StorageError> {
        let file = self.file(name)?;
        let file_id = file.id;
        let start = to_usize(position).min(file.data.len());
        let end = start.saturating_add(len).min(file.data.len());
        let mut bytes = file.data[start..end].to_vec();
        if !bytes.is_empty() && self.fault_fires(self.faults.read_corruption_probability) {
            let index = self.fault_rng.random_range(0..bytes.len());
            let bit = self.fault_rng.random_range(0..8u8);
            bytes[index] ^= 1 << bit;
            let position = (start + index) as u64;
            self.log_fault(name, file_id, FaultKind::ReadCorruption { position, bit });
        }
        Ok(bytes)
    }

    pub(super) fn len(&self, name: &str) -> Result<u64, StorageError> {
        Ok(self.file(name)?.len())
    }

    pub(super) fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        let file = self.file_mut(name)?;
        let file_len = file.len();
        if len > file_len {
            return Err(StorageError::TruncatePastEnd {
                name: name.to_owned(),
                len,
                file_len,
            });
        }
        file.truncate(to_usize(len));
        self.used_bytes -= file_len - len;
        Ok(())
    }

    pub(super) fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        let file = self.file(name)?;
        let (file_id, already_failed) = (file.id, file.sync_failed);
        let fails_now = !already_failed && self.fault_fires(self.faults.sync_failure_probability);
        let file = self.file_mut(name)?;
        if !already_failed && !fails_now {
            file.mark_synced();
            return Ok(());
        }
        file.sync_failed = true;
        let kind = FaultKind::SyncFailure {
            durable_len: file.stable_len as u64,
            len: file.len(),
        };
        if fails_now {
            self.log_fault(name, file_id, kind);
        }
        Err(StorageError::SyncFailed {
            name: name.to_owned(),
            detail: if fails_now {
                "simulated EIO".to_owned()
            } else {
                "an earlier fsync of this file failed (sticky)".to_owned()
            },
        })
    }

    pub(super) fn list(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    pub(super) fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        check_name(name)?;
        let file = self.files.remove(name).ok_or_else(|| not_found(name))?;
        self.used_bytes -= file.len();
        Ok(())
    }

    pub(super) fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        check_name(from)?;
        check_name(to)?;
        if !self.files.contains_key(from) {
            return Err(not_found(from));
        }
        if from == to {
            return Ok(());
        }
        if let Some(replaced) = self.files.remove(to) {
            self.used_bytes -= replaced.len();
        }
        if let Some(file) = self.files.remove(from) {
            self.files.insert(to.to_owned(), file);
        }
        Ok(())
    }

    /// Drops pending changes of every file as the crash module decides, in name order.
    pub(super) fn crash(&mut self) {
        let mut dropped = Vec::new();
        for (name, file) in &mut self.files {
            let len_before = file.len();
            if let Some(kind) = crash_file(file, &mut self.crash_rng) {
                dropped.push((name.clone(), file.id, kind));
            }
            self.used_bytes = self.used_bytes - len_before + file.len();
        }
        for (name, file_id, kind) in dropped {
            self.log_fault(&name, file_id, kind);
        }
    }

    /// A process crash without power loss: the OS keeps every pending write, except that a
    /// file whose sync failed has already dropped its dirty pages (Linux marks them clean
    /// after a failed writeback: fsyncgate), so it reverts to its durable content. The sticky
    /// failure clears because the restarted process opens the file anew.
    pub(super) fn process_crash(&mut self) {
        let mut dropped = Vec::new();
        for (name, file) in &mut self.files {
            if !file.sync_failed {
                continue;
            }
            file.sync_failed = false;
            let len_before = file.len();
            if file.has_pending() {
                file.revert_to_durable();
                let kind = FaultKind::CrashDroppedPending {
                    len_before,
                    len_after: file.len(),
                    torn: false,
                };
                dropped.push((name.clone(), file.id, kind));
            }
            self.used_bytes = self.used_bytes - len_before + file.len();
        }
        for (name, file_id, kind) in dropped {
            self.log_fault(&name, file_id, kind);
        }
    }

    pub(super) fn is_corruption_injected(&self, name: &str, range: &Range<u64>) -> bool {
        let Some(file) = self.files.get(name) else {
            return false;
        };
        self.fault_log
            .iter()
            .filter(|fault| fault.file_id == file.id)
            .flat_map(InjectedFault::corrupted_ranges)
            .any(|corrupted| corrupted.start < range.end && range.start < corrupted.end)
    }

    pub(super) fn draw_latency_ns(&mut self, operation: DiskOperation) -> u64 {
        let distribution = self.faults.latency.for_operation(operation);
        distribution.draw_ns(&mut self.latency_rng)
    }
}
