//! The leader-epoch cache (KIP-101): for every leader epoch that appended to this log, the
//! offset of its first record, persisted in a small checkpoint file next to the segments.
//!
//! # Contract
//! - Entries are strictly increasing by epoch with non-decreasing start offsets.
//! - [`LeaderEpochCache::end_offset_for`] answers OffsetsForLeaderEpoch: the end offset of the
//!   largest epoch `<=` the one asked (the next epoch's start, or the log end offset).
//! - The checkpoint is written before any batch of a new epoch is appended (so every batch
//!   that survives a crash has its epoch in the cache), and again after a truncation.
//!   Recovery drops entries that start at or past the recovered log end offset.
//! - Writes are atomic: a temporary file is written and synced, then renamed over the
//!   checkpoint (rename is durable and atomic by the storage contract). Epoch changes are
//!   rare (once per leader change), so these writes are synchronous, like the log's own
//!   segment rolls and truncations.
//!
//! Format (Kafka's text checkpoint): a version line `0`, a count line, then one
//! `epoch start_offset` line per entry.

use super::output::EpochEndOffset;
use super::ReplicationError;
use crate::controller::LeaderEpoch;
use crate::record::Offset;
use crate::storage::{Storage, StorageError};

/// The checkpoint file's name in the partition's storage directory.
pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";
const CHECKPOINT_TMP_FILE: &str = "leader-epoch-checkpoint.tmp";
const CHECKPOINT_VERSION: &str = "0";

/// One epoch and the offset of its first record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEntry {
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// Offset of the first record appended in that epoch (or the log end offset when the
    /// leader was elected, before it appended anything).
    pub start_offset: Offset,
}

/// See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// The entries, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The newest epoch, if any.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.last().map(|entry| entry.leader_epoch)
    }

    /// Records that `leader_epoch` starts at `start_offset`; returns whether anything changed
    /// (an epoch not newer than the latest is already known).
    pub fn assign(&mut self, leader_epoch: LeaderEpoch, start_offset: Offset) -> bool {
        if self
            .latest_epoch()
            .is_some_and(|latest| latest >= leader_epoch)
        {
            return false;
        }
        debug_assert!(self
            .entries
            .last()
            .is_none_or(|e| e.start_offset <= start_offset));
        self.entries.push(EpochEntry {
            leader_epoch,
            start_offset,
        });
        true
    }

    /// The end offset of the largest epoch `<= leader_epoch` (KIP-101's OffsetsForLeaderEpoch
    /// answer) in a log ending at `log_end_offset`. When every known epoch is larger, the
    /// answer is the asked epoch ending where the first known epoch starts: nothing before
    /// that can be shared with a replica that only knows older epochs.
    pub fn end_offset_for(
        &self,
        leader_epoch: LeaderEpoch,
        log_end_offset: Offset,
    ) -> EpochEndOffset {
        let position = self
            .entries
            .partition_point(|entry| entry.leader_epoch <= leader_epoch);
        if position == 0 {
            let end_offset = self
                .entries
                .first()
                .map_or(log_end_offset, |e| e.start_offset);
            return EpochEndOffset {
                leader_epoch,
                end_offset: end_offset.min(log_end_offset),
            };
        }
        let end_offset = self
            .entries
            .get(position)
            .map_or(log_end_offset, |next| next.start_offset);
        EpochEndOffset {
            leader_epoch: self.entries[position - 1].leader_epoch,
            end_offset: end_offset.min(log_end_offset),
        }
    }

    /// Drops every epoch starting at or after `end` (after the log was truncated to `end`);
    /// returns whether anything changed.
    pub fn truncate_from_end(&mut self, end: Offset) -> bool {
        let keep = self
            .entries
            .partition_point(|entry| entry.start_offset < end);
        let changed = keep < self.entries.len();
        self.entries.truncate(keep);
        changed
    }

    /// Forgets epochs wholly before `start` (the log start offset after retention); the epoch
    /// containing `start` now starts there. Returns whether anything changed.
    pub fn truncate_from_start(&mut self, start: Offset) -> bool {
        let covering = self
            .entries
            .partition_point(|entry| entry.start_offset <= start);
        let Some(containing) = covering.checked_sub(1) else {
            return false;
        };
        let changed = containing > 0 || self.entries[containing].start_offset < start;
        self.entries.drain(..containing);
        self.entries[0].start_offset = start;
        changed
    }

    /// Loads the checkpoint from `storage`; a missing file is an empty cache.
    pub fn load<S: Storage>(storage: &mut S) -> Result<LeaderEpochCache, ReplicationError> {
        let len = match storage.len(CHECKPOINT_FILE) {
            Ok(len) => len,
            Err(StorageError::NotFound { .. }) => return Ok(LeaderEpochCache::default()),
            Err(error) => return Err(error.into()),
        };
        let bytes = storage.read_at(CHECKPOINT_FILE, 0, len as usize)?;
        decode(&bytes)
    }

    /// Writes the checkpoint durably and atomically (see the module docs). A temporary file
    /// left by an earlier attempt is removed and created anew rather than reused: if that
    /// attempt's sync failed, every later sync of the same file fails too (fsyncgate), and
    /// reusing it would keep the checkpoint from ever being written again.
    pub fn persist<S: Storage>(&self, storage: &mut S) -> Result<(), ReplicationError> {
        match storage.create(CHECKPOINT_TMP_FILE) {
            Ok(()) => {}
            Err(StorageError::AlreadyExists { .. }) => {
                storage.remove(CHECKPOINT_TMP_FILE)?;
                storage.create(CHECKPOINT_TMP_FILE)?;
            }
            Err(error) => return Err(error.into()),
        }
        storage.append(CHECKPOINT_TMP_FILE, self.encode().as_bytes())?;
        storage.sync(CHECKPOINT_TMP_FILE)?;
        storage.rename(CHECKPOINT_TMP_FILE, CHECKPOINT_FILE)?;
        Ok(())
    }

    fn encode(&self) -> String {
        let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", self.entries.len());
        for entry in &self.entries {
            text.push_str(&format!(
                "{} {}\n",
                entry.leader_epoch.0, entry.start_offset.0
            ));
        }
        text
    }
}

fn decode(bytes: &[u8]) -> Result<LeaderEpochCache, ReplicationError> {
    let corrupt = |detail: &str| ReplicationError::CorruptCheckpoint {
        detail: detail.to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8"))?;
    let mut lines = text.lines();
    if lines.next() != Some(CHECKPOINT_VERSION) {
        return Err(corrupt("unknown version"));
    }
    let count: usize = lines
        .next()
        .and_then(|line| line.parse().ok())
        .ok_or_else(|| corrupt("bad entry count"))?;
    let mut cache = LeaderEpochCache::default();
    for line in lines {
        let mut fields = line.split(' ');
        let epoch = fields.next().and_then(|f| f.parse::<i32>().ok());
        let start = fields.next().and_then(|f| f.parse::<u64>().ok());
        let (Some(epoch), Some(start), None) = (epoch, start, fields.next()) else {
            return Err(corrupt(&format!("bad entry line {line:?}")));
        };
        let ordered = cache
            .entries
            .last()
            .is_none_or(|last| last.leader_epoch.0 < epoch && last.start_offset.0 <= start);
        if !ordered {
            return Err(corrupt(&format!("entry {line:?} out of order")));
        }
        cache.assign(LeaderEpoch(epoch), Offset(start));
    }
    if cache.entries.len() != count {
        return Err(corrupt("entry count does not match"));
    }
    Ok(cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, u64)]) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::default();
        for &(epoch, start) in entries {
            assert!(cache.assign(LeaderEpoch(epoch), Offset(start)));
        }
        cache
    }

    fn answer(epoch: i32, end: u64) -> EpochEndOffset {
        EpochEndOffset {
            leader_epoch: LeaderEpoch(epoch),
            end_offset: Offset(end),
        }
    }

    #[test]
    fn end_offset_is_the_next_epochs_start_or_the_log_end() {
        let cache = cache(&[(1, 0), (3, 5), (4, 9)]);
        assert_eq!(
            cache.end_offset_for(LeaderEpoch(1), Offset(12)),
            answer(1, 5)
        );
        assert_eq!(
            cache.end_offset_for(LeaderEpoch(2), Offset(12)),
            answer(1, 5)
        );
        assert_eq!(
            cache.end_offset_for(LeaderEpoch(3), Offset(12)),
            answer(3, 9)
        );
        assert_eq!(
            cache.end_offset_for(LeaderEpoch(7), Offset(12)),
            answer(4, 12)
        );
        assert_eq!(
            cache.end_offset_for(LeaderEpoch(0), Offset(12)),
            answer(0, 0)
        );
    }

    #[test]
    fn truncation_drops_epochs_starting_at_or_after_the_new_end() {
        let mut cache = cache(&[(1, 0), (3, 5), (4, 9)]);
        assert!(cache.truncate_from_end(Offset(9)));
        assert_eq!(cache.latest_epoch(), Some(LeaderEpoch(3)));
        assert!(!cache.truncate_from_end(Offset(6)));
    }

    #[test]
    fn retention_forgets_epochs_before_the_log_start_and_moves_the_containing_one() {
        let mut cache = cache(&[(1, 0), (3, 5), (4, 9)]);
        assert!(!cache.truncate_from_start(Offset(0)));
        assert!(cache.truncate_from_start(Offset(7)));
        assert_eq!(cache, super::tests::cache(&[(3, 7), (4, 9)]));
        assert!(cache.truncate_from_start(Offset(9)));
        assert_eq!(cache, super::tests::cache(&[(4, 9)]));
        assert!(!cache.truncate_from_start(Offset(9)));
    }

    #[test]
    fn an_older_or_equal_epoch_is_not_assigned_again() {
        let mut cache = cache(&[(2, 3)]);
        assert!(!cache.assign(LeaderEpoch(2), Offset(7)));
        assert!(!cache.assign(LeaderEpoch(1), Offset(7)));
        assert_eq!(cache.entries().len(), 1);
    }

    #[test]
    fn the_checkpoint_text_round_trips_and_bad_text_is_a_typed_error() {
        let original = cache(&[(1, 0), (3, 5)]);
        assert_eq!(original.encode(), "0\n2\n1 0\n3 5\n");
        assert_eq!(decode(original.encode().as_bytes()), Ok(original));
        for bad in [
            "1\n0\n",
            "0\n2\n1 0\n",
            "0\n2\n3 5\n1 0\n",
            "0\n1\nx y\n",
            "",
        ] {
            assert!(matches!(
                decode(bad.as_bytes()),
                Err(ReplicationError::CorruptCheckpoint { .. })
            ));
        }
    }
}
