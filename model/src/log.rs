//! Reference model of a partition log: a `Vec` of batches with dense offsets.
//!
//! What a partition log must do, and nothing about how: append assigns the next offsets;
//! reads return whole batches starting with the one that contains the requested offset;
//! truncation removes every batch whose last offset is at or past the cut; retention removes
//! whole batches from the front; a crash keeps at least every batch below the durable offset
//! and may keep any prefix of the rest.

/// One batch as the model remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelBatch {
    /// Offset of the first record.
    pub base_offset: u64,
    /// Number of offsets the batch occupies (`lastOffsetDelta + 1`).
    pub offset_count: u64,
    /// The stored bytes, base offset included.
    pub bytes: Vec<u8>,
}

impl ModelBatch {
    /// The offset after the batch.
    pub fn next_offset(&self) -> u64 {
        self.base_offset + self.offset_count
    }
}

/// A read or truncation outside the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// The first offset in the log.
    pub log_start_offset: u64,
    /// The offset the next record gets.
    pub log_end_offset: u64,
}

/// The model log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelLog {
    batches: Vec<ModelBatch>,
    log_start_offset: u64,
    durable_offset: u64,
}

impl ModelLog {
    /// An empty log starting at offset 0.
    pub fn new() -> ModelLog {
        ModelLog::default()
    }

    /// The first offset in the log.
    pub fn log_start_offset(&self) -> u64 {
        self.log_start_offset
    }

    /// The offset the next record gets.
    pub fn log_end_offset(&self) -> u64 {
        self.batches
            .last()
            .map_or(self.log_start_offset, ModelBatch::next_offset)
    }

    /// Everything below this offset survives a crash.
    pub fn durable_offset(&self) -> u64 {
        self.durable_offset
    }

    /// All batches, in order.
    pub fn batches(&self) -> &[ModelBatch] {
        &self.batches
    }

    /// Appends a batch occupying `offset_count` offsets; returns its base offset. `bytes`
    /// must already carry that base offset (the model does not parse bytes).
    pub fn append(&mut self, offset_count: u64, bytes: Vec<u8>) -> u64 {
        assert!(offset_count > 0, "a batch occupies at least one offset");
        let base_offset = self.log_end_offset();
        self.batches.push(ModelBatch {
            base_offset,
            offset_count,
            bytes,
        });
        base_offset
    }

    /// The batches a read from `from` may return, in order: starting with the batch that
    /// contains `from`. Empty at the log end.
    pub fn read_candidates(&self, from: u64) -> Result<&[ModelBatch], OutOfRange> {
        self.check_range(from)?;
        let first = self.batches.partition_point(|b| b.next_offset() <= from);
        Ok(&self.batches[first..])
    }

    /// Everything below `through` is now durable.
    pub fn mark_durable(&mut self, through: u64) {
        let through = through.min(self.log_end_offset());
        self.durable_offset = self.durable_offset.max(through);
    }

    /// Removes every batch whose last offset is `>= offset`; returns the new log end.
    pub fn truncate_to(&mut self, offset: u64) -> Result<u64, OutOfRange> {
        self.check_range(offset)?;
        self.batches.retain(|b| b.next_offset() <= offset);
        let end = self.log_end_offset();
        self.durable_offset = self.durable_offset.min(end);
        Ok(end)
    }

    /// Retention: the log now starts at `new_start`, which must be a batch boundary at or
    /// below the log end. Returns false (changing nothing) if it is not.
    pub fn delete_before(&mut self, new_start: u64) -> bool {
        let boundary = new_start == self.log_end_offset()
            || self.batches.iter().any(|b| b.base_offset == new_start);
        if !boundary || new_start < self.log_start_offset {
            return false;
        }
        self.batches.retain(|b| b.base_offset >= new_start);
        self.log_start_offset = new_start;
        self.durable_offset = self.durable_offset.max(new_start);
        true
    }

    /// After a crash, recovery found the log ending at `recovered_end`. Legal iff the
    /// durable prefix survived and the end is a batch boundary of what was written; the model
    /// then forgets the lost suffix. Returns false (changing nothing) if illegal.
    pub fn recover_to(&mut self, recovered_end: u64) -> bool {
        let boundary = recovered_end == self.log_start_offset
            || self
                .batches
                .iter()
                .any(|b| b.next_offset() == recovered_end);
        if !boundary || recovered_end < self.durable_offset {
            return false;
        }
        self.batches.retain(|b| b.next_offset() <= recovered_end);
        true
    }

    fn check_range(&self, offset: u64) -> Result<(), OutOfRange> {
        if offset < self.log_start_offset || offset > self.log_end_offset() {
            return Err(OutOfRange {
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_dense_and_reads_start_at_the_containing_batch() {
        let mut log = ModelLog::new();
        assert_eq!(log.append(3, vec![1]), 0);
        assert_eq!(log.append(2, vec![2]), 3);
        let from_four = log.read_candidates(4).unwrap();
        assert_eq!(from_four.len(), 1);
        assert_eq!(from_four[0].base_offset, 3);
        assert!(log.read_candidates(5).unwrap().is_empty());
        assert!(log.read_candidates(6).is_err());
    }

    #[test]
    fn truncation_removes_the_batch_containing_the_cut() {
        let mut log = ModelLog::new();
        log.append(3, vec![1]);
        log.append(2, vec![2]);
        assert_eq!(log.truncate_to(4), Ok(3));
        assert_eq!(log.log_end_offset(), 3);
    }

    #[test]
    fn recovery_may_not_lose_durable_batches() {
        let mut log = ModelLog::new();
        log.append(1, vec![1]);
        log.append(1, vec![2]);
        log.mark_durable(1);
        assert!(!log.recover_to(0), "offset 0 was durable");
        assert!(log.recover_to(1));
        assert_eq!(log.log_end_offset(), 1);
    }

    #[test]
    fn retention_only_cuts_at_batch_boundaries() {
        let mut log = ModelLog::new();
        log.append(3, vec![1]);
        log.append(2, vec![2]);
        assert!(!log.delete_before(1));
        assert!(log.delete_before(3));
        assert_eq!(log.log_start_offset(), 3);
        assert!(log.read_candidates(2).is_err());
    }
}
