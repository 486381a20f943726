//! Retention: delete whole sealed segments from the front of the log, by total size
//! (`retention.bytes`) and by age of their newest record (`retention.ms`), as Kafka does.
//! The active segment is never deleted. Deleting a segment advances the log start offset.

use super::{LogError, PartitionLog};
use crate::storage::Storage;
use crate::time::Now;

impl<S: Storage> PartitionLog<S> {
    /// Deletes expired sealed segments now; returns how many were deleted.
    pub fn enforce_retention(&mut self, now: Now) -> Result<usize, LogError> {
        self.observe(now);
        let mut deleted = 0;
        while self.segments.len() > 1 && self.oldest_segment_expired(now) {
            let base = self.segments[0].base_offset;
            self.remove_segment_files(base)?;
            self.segments.remove(0);
            deleted += 1;
        }
        self.check_invariants();
        Ok(deleted)
    }

    fn oldest_segment_expired(&self, now: Now) -> bool {
        let oldest = &self.segments[0];
        let over_size = self
            .config
            .retention_bytes
            .is_some_and(|limit| self.size_bytes().saturating_sub(oldest.size) >= limit);
        let too_old = self.config.retention_ms.is_some_and(|ms| {
            let newest = oldest.index.max_timestamp;
            newest != i64::MIN && newest < now.wall_ms.saturating_sub(ms as i64)
        });
        over_size || too_old
    }
}
