//! A partition's commit log: a pure state machine over the [`Storage`] trait.
//!
//! # Contract
//! - [`PartitionLog::append`] takes one RecordBatch v2 exactly as a producer sent it,
//!   validates it (length, magic, CRC-32C), writes the next offset into its header (not
//!   covered by the CRC) and stores the bytes unchanged otherwise. Offsets are dense.
//! - [`PartitionLog::read`] returns whole stored batches, starting with the batch that
//!   contains the requested offset, up to `max_bytes` (but always at least one batch, as
//!   Kafka's KIP-74). Every served batch is CRC-checked and offset-checked first: corrupt
//!   bytes are reported as [`LogError::Corruption`], never served.
//!   [`PartitionLog::read_until`] also stops before any batch ending past a bound (the node
//!   passes [`PartitionLog::high_watermark`]).
//! - High watermark: what consumers may read. Under a syncing [`FlushPolicy`] it is the
//!   durable offset, so a consumer never reads what a crash can take back (consistent with
//!   `acks=all`, which waits for the same offset); under `Never` it is the log end offset.
//! - Durability: the log tracks `durable_offset` (everything below it survived an fsync).
//!   Syncs are *outputs* ([`LogOutput::Sync`]) chosen by the [`FlushPolicy`]; the durable
//!   offset advances only on [`PartitionLog::handle_synced`]. A failed sync fences the log
//!   (fsyncgate: the page cache can no longer be trusted) until it is reopened.
//! - Two rare operations sync synchronously, because their correctness depends on it and
//!   they happen once per segment: rolling a segment syncs the sealed segment and its indexes
//!   (so recovery need only scan the active segment, and sealed segments are always durable),
//!   and `truncate_to` syncs the truncated segment (so truncated data cannot come back after
//!   a crash and diverge from the leader).
//! - Recovery ([`PartitionLog::open`]) scans the active segment batch by batch, cuts a torn or
//!   corrupt tail, keeps (but never serves) a corrupt batch that has valid data after it, and
//!   validates or rebuilds the indexes of sealed segments.
//! - Retention deletes whole sealed segments from the front by size and age and advances
//!   the log start offset; the active segment is never deleted.
//!
//! # Invariants (checked after every operation in debug builds)
//! `log_start_offset <= durable_offset <= log_end_offset`,
//! `log_start_offset <= high_watermark <= log_end_offset`; segments are contiguous
//! (`segment[i].next_offset == segment[i+1].base_offset`); the first segment's base is the
//! log start offset; index entries increase and point inside their segment. The O(1) facts
//! are checked in release builds too; the scans over segments and indexes only in debug.
//!
//! # Planted bugs
//! The log implements the [`crate::bugs::PlantedBug`]s that live in its own code paths, each
//! guarded by `config.planted_bugs`: `FetchBeyondDurable` ([`PartitionLog::high_watermark`]),
//! `FetchSkipsRecord` (`read`), `RecoverWithoutTruncatingTornTail` and
//! `OffsetReusedAfterCrash` (`recovery`).

mod config;
mod error;
pub mod index;
mod invariants;
mod output;
mod read;
mod recovery;
mod retention;
pub mod segment;
mod timestamp;

pub use config::{FlushPolicy, LogConfig};
pub use error::LogError;
pub use output::{LogOutput, SyncId, SyncRequest};
pub use read::LogRead;
pub use recovery::RecoveryReport;
pub use segment::CorruptRange;
pub use timestamp::TimestampOffset;

use crate::bugs::PlantedBug;
use crate::record::{set_base_offset, validate_batch, Offset};
use crate::storage::{Storage, StorageError};
use crate::time::{Mono, Now};
use bytes::BytesMut;
use segment::{log_file_name, offset_index_file_name, time_index_file_name, Segment};
use std::collections::{BTreeMap, VecDeque};

/// Where an appended batch landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset assigned to the first record.
    pub base_offset: Offset,
    /// Offset of the last record.
    pub last_offset: Offset,
    /// The log end offset after the append.
    pub log_end_offset: Offset,
}

/// A partition's segmented, checksummed, crash-recoverable log. See the module docs.
pub struct PartitionLog<S: Storage> {
    storage: S,
    config: LogConfig,
    /// Ascending by base offset; never empty; the last one is active.
    segments: Vec<Segment>,
    durable_offset: Offset,
    outputs: VecDeque<LogOutput>,
    next_sync_id: u64,
    in_flight_syncs: BTreeMap<SyncId, Offset>,
    /// When the oldest unsynced append happened, for `FlushPolicy::IntervalMs`.
    unsynced_since: Option<Mono>,
    next_retention_check: Mono,
    fenced: Option<String>,
    last_now: Mono,
}

/// How often time-based retention is evaluated (Kafka's `log.retention.check.interval.ms`).
pub const RETENTION_CHECK_INTERVAL_MS: u64 = 5 * 60 * 1000;

impl<S: Storage> PartitionLog<S> {
    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> Offset {
        self.segments[0].base_offset
    }

    /// The offset the next appended record will get.
    pub fn log_end_offset(&self) -> Offset {
        self.active().next_offset
    }

    /// Every offset below this survived an fsync.
    pub fn durable_offset(&self) -> Offset {
        self.durable_offset
    }

    /// The offset below which records may be served to consumers: the durable offset when
    /// the flush policy syncs (a consumer must never read what a crash can take back, the same
    /// bound `acks=all` waits for), the log end offset under [`FlushPolicy::Never`] (where
    /// durability comes from replication, not fsync). Never above the log end offset.
    pub fn high_watermark(&self) -> Offset {
        let bug = self.config.planted_bugs.has(PlantedBug::FetchBeyondDurable);
        match self.config.flush_policy {
            FlushPolicy::Never => self.log_end_offset(),
            _ if bug => self.log_end_offset(),
            FlushPolicy::EveryBatch | FlushPolicy::IntervalMs(_) => {
                self.durable_offset.min(self.log_end_offset())
            }
        }
    }

    /// Total bytes in all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    /// Number of segments (at least one).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Base offsets of all segments, ascending.
    pub fn segment_base_offsets(&self) -> Vec<Offset> {
        self.segments.iter().map(|s| s.base_offset).collect()
    }

    /// Is the log fenced after a failed fsync?
    pub fn is_fenced(&self) -> bool {
        self.fenced.is_some()
    }

    /// The configuration in force.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The storage the log writes through (for drivers and tests).
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// The next requested effect, if any. Drain after every call.
    pub fn poll_output(&mut self) -> Option<LogOutput> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` next has work (a flush deadline or a retention check).
    pub fn poll_timeout(&self) -> Option<Mono> {
        let flush = match (self.config.flush_policy, self.unsynced_since) {
            (FlushPolicy::IntervalMs(ms), Some(since)) => Some(since.plus_millis(ms)),
            _ => None,
        };
        let retention = (self.config.retention_ms.is_some()
            || self.config.retention_bytes.is_some())
        .then_some(self.next_retention_check);
        [flush, retention].into_iter().flatten().min()
    }

    /// Runs due timers: an interval flush and periodic retention.
    pub fn handle_timeout(&mut self, now: Now) -> Result<(), LogError> {
        self.observe(now);
        if let (FlushPolicy::IntervalMs(ms), Some(since)) =
            (self.config.flush_policy, self.unsynced_since)
        {
            if now.mono >= since.plus_millis(ms) {
                self.request_sync();
            }
        }
        if now.mono >= self.next_retention_check {
            self.next_retention_check = now.mono.plus_millis(RETENTION_CHECK_INTERVAL_MS);
            self.enforce_retention(now)?;
        }
        self.check_invariants();
        Ok(())
    }

    /// Validates and appends one batch, assigning it the next offsets. See the module docs.
    pub fn append(&mut self, now: Now, mut batch: BytesMut) -> Result<AppendInfo, LogError> {
        self.observe(now);
        self.ensure_not_fenced()?;
        let header = validate_batch(&batch)?;
        let base_offset = self.log_end_offset();
        let last_offset = base_offset.plus(u64::try_from(header.last_offset_delta).unwrap_or(0));
        if self.should_roll(now, batch.len() as u64, last_offset) {
            self.roll(now)?;
        }
        set_base_offset(&mut batch, base_offset);
        let position = self.write_to_active(&batch)?;
        let interval = self.config.index_interval_bytes;
        let active = self.active_mut();
        let relative_last = active
            .relative(last_offset)
            .expect("roll keeps offsets in range");
        let position32 = u32::try_from(position).expect("roll keeps positions in range");
        let len = batch.len() as u64;
        active.index.on_batch(
            position32,
            len,
            relative_last,
            header.max_timestamp,
            interval,
        );
        active.size = position + len;
        active.next_offset = last_offset.plus(1);
        self.after_append(now);
        self.check_invariants();
        Ok(AppendInfo {
            base_offset,
            last_offset,
            log_end_offset: last_offset.plus(1),
        })
    }

    /// Reports the outcome of a [`SyncRequest`]. Success advances the durable offset; failure
    /// fences the log (see [`LogError::Fenced`]).
    pub fn handle_synced(&mut self, now: Now, id: SyncId, result: Result<(), StorageError>) {
        self.observe(now);
        let through = self.in_flight_syncs.remove(&id);
        match result {
            Ok(()) => {
                if let Some(through) = through {
                    let through = through.min(self.log_end_offset());
                    self.durable_offset = self.durable_offset.max(through);
                }
            }
            Err(error) => self.fence(&error),
        }
        self.check_invariants();
    }

    /// Performs a sync request against this log's own storage and reports it: for drivers
    /// that may block (tests, tools). Returns the storage error, if any.
    pub fn perform_sync(&mut self, now: Now, request: &SyncRequest) -> Result<(), StorageError> {
        let result = request
            .files
            .iter()
            .try_for_each(|file| self.storage.sync(file));
        self.handle_synced(now, request.id, result.clone());
        result
    }

    /// Removes every batch whose last offset is `>= offset`, durably, and returns the new log
    /// end offset (`<= offset`; equal when `offset` is a batch boundary).
    pub fn truncate_to(&mut self, now: Now, offset: Offset) -> Result<Offset, LogError> {
        self.observe(now);
        self.ensure_not_fenced()?;
        if offset < self.log_start_offset() || offset > self.log_end_offset() {
            return Err(LogError::TruncateOutOfRange {
                requested: offset,
                log_start_offset: self.log_start_offset(),
                log_end_offset: self.log_end_offset(),
            });
        }
        if offset == self.log_end_offset() {
            return Ok(offset);
        }
        while self.segments.len() > 1 && self.active().base_offset >= offset {
            let doomed = self.segments.pop().expect("more than one segment");
            self.remove_segment_files(doomed.base_offset)?;
        }
        let new_end = self.truncate_active(offset)?;
        // Syncs in flight were requested for data that may now be gone; their completion
        // must not vouch for whatever is appended next at the same offsets.
        self.in_flight_syncs.clear();
        self.durable_offset = self.durable_offset.min(new_end);
        self.check_invariants();
        Ok(new_end)
    }

    fn truncate_active(&mut self, offset: Offset) -> Result<Offset, LogError> {
        let (position, new_end) = self.truncation_point(offset)?;
        let file = self.active().log_file().to_owned();
        let synced = self
            .storage
            .truncate(&file, position)
            .and_then(|()| self.storage.sync(&file));
        if let Err(error) = synced {
            self.fence(&error);
            return Err(error.into());
        }
        let interval = self.config.index_interval_bytes;
        let active = self.segments.last().expect("a log always has a segment");
        let rebuilt = recovery::scan_index_until(&mut self.storage, active, position, interval)?;
        let active = self.active_mut();
        active.index = rebuilt;
        active.size = position;
        active.next_offset = new_end;
        Ok(new_end)
    }

    fn should_roll(&self, now: Now, len: u64, last_offset: Offset) -> bool {
        let active = self.active();
        if active.size == 0 {
            return false;
        }
        let too_big = active.size + len > self.config.segment_bytes;
        let too_old = now.mono.millis_since(active.created) >= self.config.segment_ms;
        let position_overflow = active.size + len > u64::from(u32::MAX);
        let offset_overflow = active.relative(last_offset).is_none();
        too_big || too_old || position_overflow || offset_overflow
    }

    /// Seals the active segment (indexes written, everything synced) and starts a new one.
    fn roll(&mut self, now: Now) -> Result<(), LogError> {
        let base = self.active().base_offset;
        self.active_mut().index.maybe_add_time_entry();
        let offsets = index::encode_offset_index(&self.active().index.offsets);
        let times = index::encode_time_index(&self.active().index.times);
        let files = [
            (offset_index_file_name(base), Some(offsets)),
            (time_index_file_name(base), Some(times)),
            (log_file_name(base), None),
        ];
        for (file, contents) in files {
            let written = match contents {
                Some(bytes) => write_whole_file(&mut self.storage, &file, &bytes),
                None => Ok(()),
            };
            if let Err(error) = written.and_then(|()| self.storage.sync(&file)) {
                self.fence(&error);
                return Err(error.into());
            }
        }
        self.durable_offset = self.durable_offset.max(self.log_end_offset());
        let next = Segment::new(self.log_end_offset(), now.mono);
        self.storage.create(next.log_file())?;
        self.segments.push(next);
        Ok(())
    }

    /// Appends to the active segment's file; on failure cuts back what may have been written.
    fn write_to_active(&mut self, batch: &[u8]) -> Result<u64, LogError> {
        let active = self.segments.last().expect("a log always has a segment");
        let expected = active.size;
        let appended = self.storage.append(active.log_file(), batch);
        match appended {
            Ok(position) if position == expected => Ok(position),
            Ok(position) => {
                let error = StorageError::Io {
                    name: self.active().log_file().to_owned(),
                    detail: format!("append landed at {position}, expected {expected}"),
                };
                self.fence(&error);
                Err(error.into())
            }
            Err(error) => {
                let file = self.active().log_file().to_owned();
                if let Err(undo) = self.storage.truncate(&file, expected) {
                    self.fence(&undo);
                }
                Err(error.into())
            }
        }
    }

    fn after_append(&mut self, now: Now) {
        match self.config.flush_policy {
            FlushPolicy::EveryBatch => self.request_sync(),
            FlushPolicy::IntervalMs(_) => {
                self.unsynced_since.get_or_insert(now.mono);
            }
            FlushPolicy::Never => {}
        }
    }

    /// Asks the driver to sync the active segment (sealed ones were synced when rolled).
    pub fn request_sync(&mut self) {
        self.unsynced_since = None;
        if self.durable_offset >= self.log_end_offset() {
            return;
        }
        let id = SyncId(self.next_sync_id);
        self.next_sync_id += 1;
        let through = self.log_end_offset();
        self.in_flight_syncs.insert(id, through);
        self.outputs.push_back(LogOutput::Sync(SyncRequest {
            id,
            files: vec![self.active().log_file().to_owned()],
            through,
        }));
    }

    fn remove_segment_files(&mut self, base: Offset) -> Result<(), LogError> {
        self.storage.remove(&log_file_name(base))?;
        for file in [offset_index_file_name(base), time_index_file_name(base)] {
            match self.storage.remove(&file) {
                Ok(()) | Err(StorageError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    fn fence(&mut self, error: &StorageError) {
        let file = match error {
            StorageError::SyncFailed { name, .. } | StorageError::Io { name, .. } => name.clone(),
            other => other.to_string(),
        };
        self.fenced.get_or_insert(file);
    }

    fn ensure_not_fenced(&self) -> Result<(), LogError> {
        match &self.fenced {
            Some(file) => Err(LogError::Fenced { file: file.clone() }),
            None => Ok(()),
        }
    }

    fn observe(&mut self, now: Now) {
        assert!(now.mono >= self.last_now, "monotonic time went backwards");
        self.last_now = now.mono;
    }

    fn active(&self) -> &Segment {
        self.segments.last().expect("a log always has a segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .last_mut()
            .expect("a log always has a segment")
    }
}

/// Replaces a file's contents (creating it if needed). Not durable until synced.
fn write_whole_file<S: Storage>(
    storage: &mut S,
    name: &str,
    bytes: &[u8],
) -> Result<(), StorageError> {
    match storage.create(name) {
        Ok(()) => {}
        Err(StorageError::AlreadyExists { .. }) => storage.truncate(name, 0)?,
        Err(error) => return Err(error),
    }
    storage.append(name, bytes).map(|_| ())
}
